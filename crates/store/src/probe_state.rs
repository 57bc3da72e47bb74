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
