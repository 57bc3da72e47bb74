//! The history of maintenance-task runs, and the audit log of changes made by hand (the app's
//! maintenance mode switched on, by whom and why).

use crate::{Store, StoreError};
pub use upkeep_probe::RunRecord;

/// A stored run, with its id.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TaskRun {
    pub id: i64,
    pub task: String,
    #[serde(flatten)]
    pub run: RunRecord,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub at: jiff::Timestamp,
    /// The user or token that did it, or `cli:<unix user>`.
    pub actor: String,
    /// `maintenance.on`, `maintenance.off`, `task.run`.
    pub action: String,
    pub target: String,
    pub detail: String,
}

impl Store {
    pub async fn record_task_run(&self, task: &str, run: &RunRecord) -> Result<i64, StoreError> {
        match self {
            Store::Sqlite(s) => s.record_task_run(task, run).await,
        }
    }

    /// The latest `limit` runs of `task` (every task when `None`), newest first.
    pub async fn task_runs(&self, task: Option<&str>, limit: u32) -> Result<Vec<TaskRun>, StoreError> {
        match self {
            Store::Sqlite(s) => s.task_runs(task, limit).await,
        }
    }

    /// The latest run of each task.
    pub async fn last_task_runs(&self) -> Result<Vec<TaskRun>, StoreError> {
        match self {
            Store::Sqlite(s) => s.last_task_runs().await,
        }
    }

    pub async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.audit(entry).await,
        }
    }

    /// The latest `limit` entries, newest first.
    pub async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        match self {
            Store::Sqlite(s) => s.audit_log(limit).await,
        }
    }
}
