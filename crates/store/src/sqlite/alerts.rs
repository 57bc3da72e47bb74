//! Alert state, alert events, silences and consumer cursors.

use super::SqliteStore;
use crate::{AlertEventRow, AlertRow, StoreError};

impl SqliteStore {
    pub(crate) async fn save_alerts(
        &self,
        rows: &[AlertRow],
        events: &[(jiff::Timestamp, String, serde_json::Value)],
        cursor: Option<(&str, u64)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for row in rows {
            match &row.saved {
                Some(saved) => {
                    sqlx::query("INSERT OR REPLACE INTO alerts (key, state, saved) VALUES (?, ?, ?)")
                        .bind(&row.key)
                        .bind(&row.state)
                        .bind(saved.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                None => {
                    sqlx::query("DELETE FROM alerts WHERE key = ?").bind(&row.key).execute(&mut *tx).await?;
                }
            }
        }
        for (at, key, event) in events {
            sqlx::query("INSERT INTO alert_events (at_ms, key, event) VALUES (?, ?, ?)")
                .bind(at.as_millisecond())
                .bind(key)
                .bind(event.to_string())
                .execute(&mut *tx)
                .await?;
        }
        if let Some((name, seq)) = cursor {
            sqlx::query("INSERT OR REPLACE INTO consumer_cursors (name, seq) VALUES (?, ?)")
                .bind(name)
                .bind(seq as i64)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn load_alerts(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT saved FROM alerts ORDER BY key").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().filter_map(|(saved,)| serde_json::from_str(&saved).ok()).collect())
    }

    pub(crate) async fn alert_events(
        &self,
        before: Option<i64>,
        key: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AlertEventRow>, StoreError> {
        let rows: Vec<(i64, i64, String, String)> = sqlx::query_as(
            "SELECT id, at_ms, key, event FROM alert_events WHERE id < ? AND (? IS NULL OR key = ?) \
             ORDER BY id DESC LIMIT ?",
        )
        .bind(before.unwrap_or(i64::MAX))
        .bind(key)
        .bind(key)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(id, at_ms, key, event)| {
                Some(AlertEventRow {
                    id,
                    at: jiff::Timestamp::from_millisecond(at_ms).ok()?,
                    key,
                    event: serde_json::from_str(&event).ok()?,
                })
            })
            .collect())
    }

    pub(crate) async fn save_silence(
        &self,
        id: &str,
        ends: jiff::Timestamp,
        silence: &serde_json::Value,
    ) -> Result<(), StoreError> {
        // An upsert, not a replace: the row keeps its place, so silences list in the order they were set.
        sqlx::query(
            "INSERT INTO silences (id, ends_ms, silence) VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET ends_ms = excluded.ends_ms, silence = excluded.silence",
        )
        .bind(id)
        .bind(ends.as_millisecond())
        .bind(silence.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn silences(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT silence FROM silences ORDER BY rowid").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().filter_map(|(s,)| serde_json::from_str(&s).ok()).collect())
    }

    pub(crate) async fn consumer_cursor(&self, consumer: &str) -> Result<Option<u64>, StoreError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT seq FROM consumer_cursors WHERE name = ?")
            .bind(consumer)
            .fetch_optional(&self.pool)
            .await?;
        Ok(seq.map(|s| s as u64))
    }
}
