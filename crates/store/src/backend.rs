//! The contract a store keeps. The daemon, the web layer and the probes reach the store only
//! through this trait (via [`crate::Store`]), so a second backend (PostgreSQL, for several
//! nodes) is one more implementation that must pass the same tests.
//!
//! Methods return boxed futures so that the trait can sit behind `dyn`: one allocation per call,
//! nothing next to the query it stands for.

use crate::{CheckResult, CheckStatus, LogCursor, Ping, Pruned, Session, StoreError, Summary};
use jiff::Timestamp;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

pub trait Backend: Send + Sync + std::fmt::Debug {
    /// Writes a batch of results atomically. A result whose status differs from its check's
    /// previous one records a transition; failures and transitions keep their message and
    /// observations.
    fn write<'a>(&'a self, batch: &'a [CheckResult]) -> StoreFuture<'a, ()>;

    /// Every check's current status, as of the last write (no I/O: kept in memory, rebuilt from
    /// the store at open).
    fn statuses(&self) -> Vec<CheckStatus>;

    /// Raw results of one check in `[from, to)`, newest first, at most `limit`.
    fn results<'a>(
        &'a self,
        check: &'a str,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> StoreFuture<'a, Vec<CheckResult>>;

    /// The latest stored result of each check, for rebuilding in-memory state at start.
    fn latest_results(&self) -> StoreFuture<'_, Vec<CheckResult>>;

    /// Status changes of one check in `[from, to)`, oldest first: (when, ok, message).
    fn transitions<'a>(
        &'a self,
        check: &'a str,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreFuture<'a, Vec<(Timestamp, bool, Option<String>)>>;

    /// Aggregates over `[from, to)` for every check (or one), to the minute: every minute that
    /// overlaps the window counts. A window that starts more than [`crate::FINE_TOTALS`] ago is
    /// widened back to the start of its hour; one that starts before retention counts from
    /// where retention starts. Checks without runs in the window are absent.
    fn summaries<'a>(
        &'a self,
        from: Timestamp,
        to: Timestamp,
        only: Option<&'a str>,
    ) -> StoreFuture<'a, HashMap<String, Summary>>;

    /// Aggregates per period of `span` (60, 3600 or 86400 s) in `[from, to)`, for every check
    /// (or one): uptime bars and sparklines. Periods without results are absent.
    fn bars<'a>(
        &'a self,
        span: i64,
        from: Timestamp,
        to: Timestamp,
        only: Option<&'a str>,
    ) -> StoreFuture<'a, HashMap<String, Vec<(Timestamp, Summary)>>>;

    /// Rolls results up to `now` into rollups and running totals. Results younger than `grace`
    /// stay provisional and are counted again on the next call. Idempotent.
    fn compact(&self, now: Timestamp, grace: Duration) -> StoreFuture<'_, ()>;

    /// Deletes what retention no longer keeps: raw results older than `raw`, rollups and
    /// transitions older than `rollups`; thins old running totals.
    fn prune(&self, now: Timestamp, raw: Duration, rollups: Duration) -> StoreFuture<'_, Pruned>;

    fn record_ping<'a>(&'a self, id: &'a str, ping: &'a Ping, body: Option<&'a str>) -> StoreFuture<'a, ()>;

    fn last_ping<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Ping>>;

    fn log_cursor<'a>(&'a self, check: &'a str) -> StoreFuture<'a, Option<LogCursor>>;

    fn save_log_cursor<'a>(&'a self, check: &'a str, cursor: &'a LogCursor) -> StoreFuture<'a, ()>;

    fn create_session<'a>(&'a self, token_sha256: &'a str, session: &'a Session) -> StoreFuture<'a, ()>;

    /// The session for a token hash, unless it has expired by `now`.
    fn session<'a>(&'a self, token_sha256: &'a str, now: Timestamp) -> StoreFuture<'a, Option<Session>>;

    fn delete_session<'a>(&'a self, token_sha256: &'a str) -> StoreFuture<'a, ()>;
}
