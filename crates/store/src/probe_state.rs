//! The store keeps what probes remember between runs: it is their [`ProbeState`].

use crate::{LogCursor, Ping, Store};
use upkeep_probe::{ProbeState, RunRecord, StateFuture};

impl ProbeState for Store {
    fn last_ping<'a>(&'a self, id: &'a str) -> StateFuture<'a, Option<Ping>> {
        Box::pin(async move { Store::last_ping(self, id).await.map_err(|e| e.to_string()) })
    }

    fn watching_since<'a>(&'a self, check: &'a str) -> StateFuture<'a, Option<jiff::Timestamp>> {
        Box::pin(async move {
            let changes = self.transitions(check, jiff::Timestamp::UNIX_EPOCH, jiff::Timestamp::MAX).await;
            Ok(changes.map_err(|e| e.to_string())?.first().map(|(at, _, _)| *at))
        })
    }

    fn log_cursor<'a>(&'a self, check: &'a str) -> StateFuture<'a, Option<LogCursor>> {
        Box::pin(async move { Store::log_cursor(self, check).await.map_err(|e| e.to_string()) })
    }

    fn save_log_cursor<'a>(&'a self, check: &'a str, cursor: &'a LogCursor) -> StateFuture<'a, ()> {
        Box::pin(async move { Store::save_log_cursor(self, check, cursor).await.map_err(|e| e.to_string()) })
    }

    fn record_run<'a>(&'a self, check: &'a str, run: &'a RunRecord) -> StateFuture<'a, ()> {
        Box::pin(async move { self.record_task_run(check, run).await.map(|_| ()).map_err(|e| e.to_string()) })
    }

    fn runs<'a>(&'a self, check: &'a str, limit: u32) -> StateFuture<'a, Vec<RunRecord>> {
        Box::pin(async move {
            let runs = self.task_runs(Some(check), limit).await.map_err(|e| e.to_string())?;
            Ok(runs.into_iter().map(|r| r.run).collect())
        })
    }
}

/// What a one-shot `upkeep check` remembers: the daemon's state as it is, and log positions of
/// its own (`cli:NAME`), so a look from the command line never moves the position the daemon
/// reads from. Otherwise the daemon's next run would find no new lines and call a failing app
/// healthy: a false recovery, which would resolve its alerts. A one-shot run reads from the
/// further of the two positions in the same file, so it neither misses what is new since the
/// daemon's last run nor repeats what it showed before.
#[derive(Clone, Debug)]
pub struct OneShot(pub Store);

fn own(check: &str) -> String {
    format!("cli:{check}")
}

impl ProbeState for OneShot {
    fn last_ping<'a>(&'a self, id: &'a str) -> StateFuture<'a, Option<Ping>> {
        ProbeState::last_ping(&self.0, id)
    }

    fn watching_since<'a>(&'a self, check: &'a str) -> StateFuture<'a, Option<jiff::Timestamp>> {
        ProbeState::watching_since(&self.0, check)
    }

    fn log_cursor<'a>(&'a self, check: &'a str) -> StateFuture<'a, Option<LogCursor>> {
        Box::pin(async move {
            let daemon = Store::log_cursor(&self.0, check).await.map_err(|e| e.to_string())?;
            let mine = Store::log_cursor(&self.0, &own(check)).await.map_err(|e| e.to_string())?;
            Ok(match (daemon, mine) {
                (Some(d), Some(m)) if m.inode == d.inode && m.offset > d.offset => Some(m),
                (Some(d), _) => Some(d),
                (None, m) => m,
            })
        })
    }

    fn save_log_cursor<'a>(&'a self, check: &'a str, cursor: &'a LogCursor) -> StateFuture<'a, ()> {
        Box::pin(async move { Store::save_log_cursor(&self.0, &own(check), cursor).await.map_err(|e| e.to_string()) })
    }

    fn record_run<'a>(&'a self, check: &'a str, run: &'a RunRecord) -> StateFuture<'a, ()> {
        ProbeState::record_run(&self.0, check, run)
    }

    fn runs<'a>(&'a self, check: &'a str, limit: u32) -> StateFuture<'a, Vec<RunRecord>> {
        ProbeState::runs(&self.0, check, limit)
    }
}
