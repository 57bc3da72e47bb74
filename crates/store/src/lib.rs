//! Upkeep's store: the one owner of state that must survive a restart.
//!
//! Check results (raw, for the raw retention), rollups in three tiers with latency histograms
//! (kept far longer) for bars, running totals for windows, status transitions, heartbeat pings,
//! log cursors and dashboard sessions. [`Backend`] is the contract a store keeps; [`Store`] is
//! the handle the daemon, the web layer and the probes share, whatever backend is behind it.
//! Today that is SQLite in `data_dir` (`sqlite/`); a PostgreSQL backend for scale-out implements
//! the same trait, and the tests in `tests/` are written against `Store` alone so that they can
//! run against both.

mod backend;
mod probe_state;
pub mod rollup;
mod sqlite;

pub use backend::{Backend, StoreFuture};
pub use rollup::Summary;
pub use sqlite::FINE_TOTALS;
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

/// The store: cheap to clone, shared by every task. Its methods are [`Backend`]'s.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl Store {
    /// Opens (creating if needed) the embedded SQLite store in `data_dir` and migrates it.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        Ok(Store { backend: Arc::new(sqlite::SqliteStore::open(data_dir).await?) })
    }
}

impl std::ops::Deref for Store {
    type Target = dyn Backend;

    fn deref(&self) -> &Self::Target {
        &*self.backend
    }
}

/// A check's current status and since when.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckStatus {
    pub check: String,
    pub ok: bool,
    pub since: jiff::Timestamp,
}

/// What a prune removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    pub results: u64,
    pub rollups: u64,
    pub totals: u64,
}

/// A signed-in user and the CSRF token their forms carry.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub user: String,
    pub csrf: String,
    pub expires: jiff::Timestamp,
}
