//! Dashboard sessions: kept in the store so a restart does not sign everyone out.

use super::SqliteStore;
use crate::{Session, StoreError};

impl SqliteStore {
    pub(crate) async fn create_session(&self, token_sha256: &str, session: &Session) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (token_sha256, user, csrf, expires_ms) VALUES (?, ?, ?, ?)")
            .bind(token_sha256)
            .bind(&session.user)
            .bind(&session.csrf)
            .bind(session.expires.as_millisecond())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The session for a token hash, unless it has expired.
    pub(crate) async fn session(
        &self,
        token_sha256: &str,
        now: jiff::Timestamp,
    ) -> Result<Option<Session>, StoreError> {
        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT user, csrf, expires_ms FROM sessions WHERE token_sha256 = ? AND expires_ms > ?")
                .bind(token_sha256)
                .bind(now.as_millisecond())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|(user, csrf, expires_ms)| Session {
            user,
            csrf,
            expires: jiff::Timestamp::from_millisecond(expires_ms).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        }))
    }

    pub(crate) async fn delete_session(&self, token_sha256: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_sha256 = ?").bind(token_sha256).execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) async fn delete_expired_sessions(&self, now: jiff::Timestamp) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE expires_ms <= ?")
            .bind(now.as_millisecond())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
