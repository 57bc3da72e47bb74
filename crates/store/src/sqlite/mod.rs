//! The embedded store: SQLite in `data_dir` (WAL mode, migrations in `migrations/`), written by
//! the daemon's one writer task. One file per concept, as in the crate above: results and bars
//! (results.rs), compaction and retention (compact.rs), running totals for windows (totals.rs),
//! heartbeat pings (pings.rs), log cursors (cursors.rs), sessions (sessions.rs), alert state
//! and events (alerts.rs), the outbox of notifications (outbox.rs).

mod alerts;
mod compact;
mod cursors;
mod incidents;
mod latency;
mod outbox;
mod pings;
mod results;
mod sessions;
mod task_runs;
mod totals;
mod upgrade;

pub use totals::FINE as FINE_TOTALS;

use crate::StoreError;
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Check name → id, and each check's current status: derived from the tables at open.
    cache: std::sync::Mutex<results::Cache>,
    /// The sequence number of the last committed batch.
    last_commit: std::sync::atomic::AtomicU64,
    /// Check name → the latency thresholds (µs) its runs are counted against as they are
    /// rolled up: those of its latency SLOs.
    thresholds: std::sync::RwLock<std::collections::HashMap<String, Vec<u64>>>,
}

impl SqliteStore {
    pub(crate) fn track_thresholds(&self, thresholds: std::collections::HashMap<String, Vec<u64>>) {
        *self.thresholds.write().unwrap_or_else(|e| e.into_inner()) = thresholds;
    }

    /// Check id → its tracked thresholds, for the checks that have any.
    fn thresholds_by_id(&self) -> std::collections::HashMap<i64, Vec<u64>> {
        let thresholds = self.thresholds.read().unwrap_or_else(|e| e.into_inner());
        thresholds.iter().filter_map(|(name, t)| Some((self.known_id(name)?, t.clone()))).collect()
    }

    /// Opens (creating if needed) the store in `data_dir` and applies migrations.
    pub async fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|source| StoreError::CreateDir { path: data_dir.to_path_buf(), source })?;
        let path = data_dir.join("upkeep.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .auto_vacuum(SqliteAutoVacuum::Incremental)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options)
            .await
            .map_err(|source| StoreError::Open { path: path.clone(), source })?;
        sqlx::migrate!("./migrations").run(&pool).await.map_err(|source| StoreError::Migrate { path, source })?;
        upgrade::fine_histograms(&pool).await?;
        let cache = results::Cache::load(&pool).await?;
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM commits").fetch_one(&pool).await?;
        Ok(SqliteStore {
            pool,
            cache: std::sync::Mutex::new(cache),
            last_commit: std::sync::atomic::AtomicU64::new(last.unwrap_or(0) as u64),
            thresholds: Default::default(),
        })
    }
}
