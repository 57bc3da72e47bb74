//! What a probe remembers between runs — a log's read position, a heartbeat's pings and when
//! watching it began — kept by whoever runs the probe (the daemon's store, or `upkeep check`'s
//! store in `data_dir`) behind this narrow interface, so probes never reach into the store.

use std::future::Future;
use std::pin::Pin;

pub type StateFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, String>> + Send + 'a>>;

/// A heartbeat ping: when it arrived and whether it reported success.
#[derive(Clone, Debug, PartialEq)]
pub struct Ping {
    pub at: jiff::Timestamp,
    pub ok: bool,
}

/// Where a log follower stopped: the file's inode and the byte offset after the last full line,
/// and the last line it matched (in this run or an earlier one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogCursor {
    pub inode: u64,
    pub offset: u64,
    pub last_match: Option<String>,
}

/// One run of custom work (a maintenance task), for its history.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RunRecord {
    pub started: jiff::Timestamp,
    #[serde(serialize_with = "millis")]
    pub duration: std::time::Duration,
    pub ok: bool,
    /// `schedule`, or who ran it by hand (`cli`, a user's name).
    pub trigger: String,
    /// What it did, or why it failed.
    pub summary: String,
    /// The tail of what it printed.
    pub output: String,
    /// What changed, by name (numbers).
    pub changes: serde_json::Value,
}

fn millis<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

pub trait ProbeState: Send + Sync + std::fmt::Debug {
    /// The latest ping received for heartbeat `id`.
    fn last_ping<'a>(&'a self, id: &'a str) -> StateFuture<'a, Option<Ping>>;

    /// When watching `check` began: its first recorded run, if it has run before.
    fn watching_since<'a>(&'a self, check: &'a str) -> StateFuture<'a, Option<jiff::Timestamp>>;

    fn log_cursor<'a>(&'a self, check: &'a str) -> StateFuture<'a, Option<LogCursor>>;

    fn save_log_cursor<'a>(&'a self, check: &'a str, cursor: &'a LogCursor) -> StateFuture<'a, ()>;

    /// Keeps a run of custom work in its history.
    fn record_run<'a>(&'a self, check: &'a str, run: &'a RunRecord) -> StateFuture<'a, ()>;

    /// The latest `limit` runs of `check`'s custom work, newest first.
    fn runs<'a>(&'a self, check: &'a str, limit: u32) -> StateFuture<'a, Vec<RunRecord>>;
}
