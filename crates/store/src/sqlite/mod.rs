//! The embedded store: SQLite in `data_dir` (WAL mode, migrations in `migrations/`), written by
//! the daemon's one writer task. Each concept has its file: results and bars (results.rs),
//! compaction and retention (compact.rs), running totals for windows (totals.rs), sessions
//! (sessions.rs); heartbeat pings and log cursors are here.

mod compact;
mod results;
mod sessions;
mod totals;

pub use totals::FINE as FINE_TOTALS;

use crate::{Backend, CheckResult, CheckStatus, LogCursor, Ping, Pruned, Session, StoreError, StoreFuture, Summary};
use jiff::Timestamp;
use sqlx::sqlite::{
    SqliteAutoVacuum, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Check name → id, and each check's current status: derived from the tables at open.
    cache: std::sync::Mutex<results::Cache>,
}

impl SqliteStore {
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
        let cache = results::Cache::load(&pool).await?;
        Ok(SqliteStore { pool, cache: std::sync::Mutex::new(cache) })
    }

    async fn record_ping(&self, id: &str, ping: &Ping, body: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO pings (id, at_ms, ok, body) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(ping.at.as_millisecond())
            .bind(ping.ok)
            .bind(body)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn last_ping(&self, id: &str) -> Result<Option<Ping>, StoreError> {
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

    async fn log_cursor(&self, check: &str) -> Result<Option<LogCursor>, StoreError> {
        let row: Option<(i64, i64, Option<String>)> =
            sqlx::query_as("SELECT inode, offset, last_match FROM log_cursors WHERE check_name = ?")
                .bind(check)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(inode, offset, last_match)| LogCursor { inode: inode as u64, offset: offset as u64, last_match }))
    }

    async fn save_log_cursor(&self, check: &str, cursor: &LogCursor) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO log_cursors (check_name, inode, offset, last_match) VALUES (?, ?, ?, ?)
             ON CONFLICT (check_name) DO UPDATE
             SET inode = excluded.inode, offset = excluded.offset, last_match = excluded.last_match",
        )
        .bind(check)
        .bind(cursor.inode as i64)
        .bind(cursor.offset as i64)
        .bind(cursor.last_match.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

impl Backend for SqliteStore {
    fn write<'a>(&'a self, batch: &'a [CheckResult]) -> StoreFuture<'a, ()> {
        Box::pin(SqliteStore::write(self, batch))
    }

    fn statuses(&self) -> Vec<CheckStatus> {
        SqliteStore::statuses(self)
    }

    fn results<'a>(
        &'a self,
        check: &'a str,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> StoreFuture<'a, Vec<CheckResult>> {
        Box::pin(SqliteStore::results(self, check, from, to, limit))
    }

    fn latest_results(&self) -> StoreFuture<'_, Vec<CheckResult>> {
        Box::pin(SqliteStore::latest_results(self))
    }

    fn transitions<'a>(
        &'a self,
        check: &'a str,
        from: Timestamp,
        to: Timestamp,
    ) -> StoreFuture<'a, Vec<(Timestamp, bool, Option<String>)>> {
        Box::pin(SqliteStore::transitions(self, check, from, to))
    }

    fn summaries<'a>(
        &'a self,
        from: Timestamp,
        to: Timestamp,
        only: Option<&'a str>,
    ) -> StoreFuture<'a, HashMap<String, Summary>> {
        Box::pin(SqliteStore::summaries(self, from, to, only))
    }

    fn bars<'a>(
        &'a self,
        span: i64,
        from: Timestamp,
        to: Timestamp,
        only: Option<&'a str>,
    ) -> StoreFuture<'a, HashMap<String, Vec<(Timestamp, Summary)>>> {
        Box::pin(SqliteStore::bars(self, span, from, to, only))
    }

    fn compact(&self, now: Timestamp, grace: Duration) -> StoreFuture<'_, ()> {
        Box::pin(SqliteStore::compact(self, now, grace))
    }

    fn prune(&self, now: Timestamp, raw: Duration, rollups: Duration) -> StoreFuture<'_, Pruned> {
        Box::pin(SqliteStore::prune(self, now, raw, rollups))
    }

    fn record_ping<'a>(&'a self, id: &'a str, ping: &'a Ping, body: Option<&'a str>) -> StoreFuture<'a, ()> {
        Box::pin(SqliteStore::record_ping(self, id, ping, body))
    }

    fn last_ping<'a>(&'a self, id: &'a str) -> StoreFuture<'a, Option<Ping>> {
        Box::pin(SqliteStore::last_ping(self, id))
    }

    fn log_cursor<'a>(&'a self, check: &'a str) -> StoreFuture<'a, Option<LogCursor>> {
        Box::pin(SqliteStore::log_cursor(self, check))
    }

    fn save_log_cursor<'a>(&'a self, check: &'a str, cursor: &'a LogCursor) -> StoreFuture<'a, ()> {
        Box::pin(SqliteStore::save_log_cursor(self, check, cursor))
    }

    fn create_session<'a>(&'a self, token_sha256: &'a str, session: &'a Session) -> StoreFuture<'a, ()> {
        Box::pin(SqliteStore::create_session(self, token_sha256, session))
    }

    fn session<'a>(&'a self, token_sha256: &'a str, now: Timestamp) -> StoreFuture<'a, Option<Session>> {
        Box::pin(SqliteStore::session(self, token_sha256, now))
    }

    fn delete_session<'a>(&'a self, token_sha256: &'a str) -> StoreFuture<'a, ()> {
        Box::pin(SqliteStore::delete_session(self, token_sha256))
    }
}
