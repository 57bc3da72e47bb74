//! Where each log check stopped reading.

use super::SqliteStore;
use crate::{LogCursor, StoreError};

impl SqliteStore {
    pub(crate) async fn log_cursor(&self, check: &str) -> Result<Option<LogCursor>, StoreError> {
        let row: Option<(i64, i64, Option<String>)> =
            sqlx::query_as("SELECT inode, offset, last_match FROM log_cursors WHERE check_name = ?")
                .bind(check)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(inode, offset, last_match)| LogCursor { inode: inode as u64, offset: offset as u64, last_match }))
    }

    pub(crate) async fn save_log_cursor(&self, check: &str, cursor: &LogCursor) -> Result<(), StoreError> {
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
