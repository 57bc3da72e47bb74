//! Upkeep's store: the one owner of state that must survive a restart.
//!
//! One file per concept, each with its records and the [`Store`] methods for it: check results
//! and the batches they were committed in (`results.rs`), history — rollups, running totals,
//! windows, bars, compaction and retention (`history.rs`, with the summaries in `rollup.rs` and
//! the latency histogram in `histogram.rs`) — heartbeat pings (`pings.rs`), log cursors (`cursors.rs`), dashboard sessions
//! (`sessions.rs`), what probes keep between runs (`probe_state.rs`), alert state and events (`alerts.rs`), the outbox of notifications (`outbox.rs`), incidents and on-call overrides (`incidents.rs`), and
//! maintenance-task runs with the audit log (`task_runs.rs`). [`Store`] is an enum
//! over the backends, so each method is one `match`: SQLite in `data_dir` today (`sqlite/`, one
//! file per concept again); a PostgreSQL backend is one more variant and one more folder, written
//! concept by concept, and must pass the same tests in `tests/`, which use `Store` alone.

mod alerts;
mod cursors;
pub mod histogram;
mod history;
mod incidents;
mod outbox;
mod pings;
mod probe_state;
mod results;
pub mod rollup;
mod sessions;
mod sli;
mod sqlite;
mod task_runs;

pub use alerts::{AlertEventRow, AlertRow};
pub use history::Pruned;
pub use incidents::{IncidentColumns, IncidentFilter, IncidentRow};
pub use outbox::{Attempted, Delivery, NewNotification, Notification, NotificationFilter};
pub use probe_state::OneShot;
pub use results::CheckStatus;
pub use rollup::Summary;
pub use sessions::Session;
pub use sli::events as slo_events;
pub use sqlite::FINE_TOTALS;
pub use task_runs::{AuditEntry, RunRecord, TaskRun};
pub use upkeep_probe::{LogCursor, Ping};
pub use upkeep_result::CheckResult;

use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir { path: PathBuf, source: std::io::Error },
    #[error("cannot open the store at {path}: {source}")]
    Open { path: PathBuf, source: sqlx::Error },
    #[error("cannot migrate the store at {path}: {source}")]
    Migrate { path: PathBuf, source: sqlx::migrate::MigrateError },
    #[error("store query failed: {0}")]
    Query(#[from] sqlx::Error),
}

/// The store: cheap to clone, shared by every task.
#[derive(Clone, Debug)]
pub enum Store {
    /// The embedded store in `data_dir`.
    Sqlite(Arc<sqlite::SqliteStore>),
}

impl Store {
    /// Opens (creating if needed) the embedded SQLite store in `data_dir` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Ok(Store::Sqlite(Arc::new(sqlite::SqliteStore::open(data_dir).await?)))
    }
}
