//! Upkeep's store: the one owner of state that must survive a restart.
//!
//! SQLite in `data_dir` (WAL mode, migrations in `migrations/`): check results (raw, for the
//! raw retention), rollups in three tiers with latency histograms (kept far longer) for bars,
//! running totals for windows, status transitions, heartbeat pings and log cursors. The API is small and async so that a
//! PostgreSQL implementation can satisfy the same tests.

mod compact;
mod results;
pub mod rollup;
mod sessions;
mod totals;

pub use compact::Pruned;
pub use results::{CheckStatus, ResultRecord};
pub use rollup::Summary;
pub use sessions::Session;
pub use totals::FINE as FINE_TOTALS;

use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// A heartbeat ping: when it arrived and whether it reported success.
#[derive(Clone, Debug, PartialEq)]
pub struct Ping {
    pub at: jiff::Timestamp,
    pub ok: bool,
}

/// Where a log follower stopped: the file's inode and the byte offset after the last full line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogCursor {
    pub inode: u64,
    pub offset: u64,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    /// Check name → id, and each check's current status: derived from the tables at open.
    cache: std::sync::Arc<std::sync::Mutex<results::Cache>>,
}

impl Store {
    /// Opens (creating if needed) the store in `data_dir` and applies migrations.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
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
        let cache = results::Cache::load(&pool).await?;
        Ok(Store { pool, cache: std::sync::Arc::new(std::sync::Mutex::new(cache)) })
    }

    pub async fn record_ping(&self, id: &str, ping: &Ping, body: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO pings (id, at_ms, ok, body) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(ping.at.as_millisecond())
            .bind(ping.ok)
            .bind(body)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn last_ping(&self, id: &str) -> Result<Option<Ping>, StoreError> {
        let row: Option<(i64, bool)> =
            sqlx::query_as("SELECT at_ms, ok FROM pings WHERE id = ? ORDER BY at_ms DESC LIMIT 1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(at_ms, ok)| Ping {
            at: jiff::Timestamp::from_millisecond(at_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
            ok,
        }))
    }

    pub async fn log_cursor(&self, check: &str) -> Result<Option<LogCursor>, StoreError> {
        let row: Option<(i64, i64)> = sqlx::query_as("SELECT inode, offset FROM log_cursors WHERE check_name = ?")
            .bind(check)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(inode, offset)| LogCursor { inode: inode as u64, offset: offset as u64 }))
    }

    pub async fn save_log_cursor(&self, check: &str, cursor: LogCursor) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO log_cursors (check_name, inode, offset) VALUES (?, ?, ?)
             ON CONFLICT (check_name) DO UPDATE SET inode = excluded.inode, offset = excluded.offset",
        )
        .bind(check)
        .bind(cursor.inode as i64)
        .bind(cursor.offset as i64)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn keeps_pings_and_cursors_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let early = Ping { at: jiff::Timestamp::from_second(1_000).unwrap(), ok: true };
        let late = Ping { at: jiff::Timestamp::from_second(2_000).unwrap(), ok: false };
        store.record_ping("nightly", &late, Some("exit 3")).await.unwrap();
        store.record_ping("nightly", &early, None).await.unwrap();
        store.save_log_cursor("app-log", LogCursor { inode: 7, offset: 10 }).await.unwrap();
        store.save_log_cursor("app-log", LogCursor { inode: 7, offset: 42 }).await.unwrap();
        drop(store);

        let store = Store::open(dir.path()).await.unwrap();
        assert_eq!(store.last_ping("nightly").await.unwrap(), Some(late));
        assert_eq!(store.last_ping("other").await.unwrap(), None);
        assert_eq!(store.log_cursor("app-log").await.unwrap(), Some(LogCursor { inode: 7, offset: 42 }));
    }
}
