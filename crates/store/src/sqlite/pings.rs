//! Heartbeat pings, newest looked up by id.

use super::SqliteStore;
use crate::{Ping, StoreError};

impl SqliteStore {
    pub(crate) async fn record_ping(&self, id: &str, ping: &Ping, body: Option<&str>) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO pings (id, at_ms, ok, body) VALUES (?, ?, ?, ?)")
            .bind(id)
            .bind(ping.at.as_millisecond())
            .bind(ping.ok)
            .bind(body)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn last_ping(&self, id: &str) -> Result<Option<Ping>, StoreError> {
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
}
