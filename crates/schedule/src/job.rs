//! A job: anything that runs on a cadence and ends in a check result — a check's probe today;
//! a backup, a restore drill or a maintenance task next. One trait, so the scheduler, run-now,
//! and every consumer of results treat them alike.

use crate::Cadence;
use std::future::Future;
use std::pin::Pin;
use upkeep_result::CheckResult;

pub type JobFuture<'a> = Pin<Box<dyn Future<Output = CheckResult> + Send + 'a>>;

pub trait Job: Send + Sync + 'static {
    /// The job's name; its results are the results of the check of this name.
    fn name(&self) -> &str;

    fn cadence(&self) -> Cadence;

    /// Work that one node does for all (alert evaluation, backups, tasks), as opposed to work
    /// every node shares out (probes). Only the leader runs it once several daemons share a
    /// store; alone, a daemon is its own leader.
    fn singleton(&self) -> bool {
        false
    }

    /// One run. Once started it is not cancelled: it is bounded by its own timeout, so its
    /// result is never lost to a shutdown.
    fn run(&self) -> JobFuture<'_>;
}
