//! The outbox and notification groups.

use super::SqliteStore;
use crate::outbox::{Attempted, Delivery, NewNotification, Notification, NotificationFilter};
use crate::{AlertEventRow, StoreError};

type Row = (i64, String, String, i64, i64, i64, i64, String, Option<String>, Option<String>, Option<i64>, String);

const COLUMNS: &str =
    "id, key, channel, created_ms, due_ms, expires_ms, attempts, state, last_error, answer, delivered_ms, message";

fn ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or_default()
}

fn notification(row: Row) -> Notification {
    let (id, key, channel, created, due, expires, attempts, state, last_error, answer, delivered, message) = row;
    Notification {
        id,
        key,
        channel,
        created: ts(created),
        due: ts(due),
        expires: ts(expires),
        attempts: attempts as u32,
        state: Delivery::parse(&state).unwrap_or(Delivery::Pending),
        last_error,
        answer,
        delivered: delivered.map(ts),
        message: serde_json::from_str(&message).unwrap_or_default(),
    }
}

/// Writes one notification unless its key was written for its channel before.
pub(super) async fn insert(tx: &mut sqlx::SqliteConnection, n: &NewNotification) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT OR IGNORE INTO outbox (key, channel, created_ms, due_ms, expires_ms, message) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&n.key)
    .bind(&n.channel)
    .bind(n.created.as_millisecond())
    .bind(n.due.as_millisecond())
    .bind(n.expires.as_millisecond())
    .bind(n.message.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Moves a consumer's cursor.
pub(super) async fn save_cursor(tx: &mut sqlx::SqliteConnection, name: &str, seq: i64) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT OR REPLACE INTO consumer_cursors (name, seq) VALUES (?, ?)")
        .bind(name)
        .bind(seq)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

impl SqliteStore {
    pub(crate) async fn save_notify(
        &self,
        groups: &[(String, Option<serde_json::Value>)],
        new: &[NewNotification],
        cursor: Option<(&str, i64)>,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for (key, doc) in groups {
            match doc {
                Some(doc) => {
                    sqlx::query("INSERT OR REPLACE INTO notify_groups (key, doc) VALUES (?, ?)")
                        .bind(key)
                        .bind(doc.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                None => {
                    sqlx::query("DELETE FROM notify_groups WHERE key = ?").bind(key).execute(&mut *tx).await?;
                }
            }
        }
        for n in new {
            insert(&mut tx, n).await?;
        }
        if let Some((name, id)) = cursor {
            save_cursor(&mut tx, name, id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn notify_groups(&self) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT doc FROM notify_groups ORDER BY key").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().filter_map(|(doc,)| serde_json::from_str(&doc).ok()).collect())
    }

    pub(crate) async fn alert_events_after(&self, after: i64, limit: u32) -> Result<Vec<AlertEventRow>, StoreError> {
        let rows: Vec<(i64, i64, String, String)> =
            sqlx::query_as("SELECT id, at_ms, key, event FROM alert_events WHERE id > ? ORDER BY id LIMIT ?")
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, at_ms, key, event)| AlertEventRow {
                id,
                at: ts(at_ms),
                key,
                // An event this version cannot read still moves the cursor past it.
                event: serde_json::from_str(&event).unwrap_or_default(),
            })
            .collect())
    }

    pub(crate) async fn last_alert_event(&self) -> Result<i64, StoreError> {
        let id: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM alert_events").fetch_one(&self.pool).await?;
        Ok(id.unwrap_or(0))
    }

    pub(crate) async fn due_notifications(
        &self,
        now: jiff::Timestamp,
        limit: u32,
    ) -> Result<Vec<Notification>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE state = 'pending' AND due_ms <= ? ORDER BY due_ms, id LIMIT ?"
        )))
        .bind(now.as_millisecond())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(notification).collect())
    }

    pub(crate) async fn next_notification_due(&self) -> Result<Option<jiff::Timestamp>, StoreError> {
        let due: Option<i64> =
            sqlx::query_scalar("SELECT MIN(due_ms) FROM outbox WHERE state = 'pending'").fetch_one(&self.pool).await?;
        Ok(due.map(ts))
    }

    pub(crate) async fn record_attempts(&self, attempts: &[Attempted]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for a in attempts {
            let delivered = (a.state == Delivery::Delivered).then(|| a.at.as_millisecond());
            sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, state = ?, due_ms = ?, \
                 last_error = COALESCE(?, last_error), answer = COALESCE(?, answer), delivered_ms = ? WHERE id = ?",
            )
            .bind(a.state.as_str())
            .bind(a.due.as_millisecond())
            .bind(&a.error)
            .bind(&a.answer)
            .bind(delivered)
            .bind(a.id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn defer_notifications(&self, ids: &[i64], due: jiff::Timestamp) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for id in ids {
            sqlx::query("UPDATE outbox SET due_ms = MAX(due_ms, ?) WHERE id = ? AND state = 'pending'")
                .bind(due.as_millisecond())
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn notifications(&self, f: &NotificationFilter) -> Result<Vec<Notification>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM outbox WHERE id < ? AND (? IS NULL OR state = ?) AND (? IS NULL OR channel = ?) \
             AND (? IS NULL OR key = ?) AND (? IS NULL OR substr(key, 1, length(?)) = ?) ORDER BY id DESC LIMIT ?"
        )))
        .bind(f.before.unwrap_or(i64::MAX))
        .bind(f.state.map(Delivery::as_str))
        .bind(f.state.map(Delivery::as_str))
        .bind(&f.channel)
        .bind(&f.channel)
        .bind(&f.key)
        .bind(&f.key)
        .bind(&f.key_prefix)
        .bind(&f.key_prefix)
        .bind(&f.key_prefix)
        .bind(i64::from(f.limit.max(1)))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(notification).collect())
    }

    pub(crate) async fn pending_notifications(&self) -> Result<u64, StoreError> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'pending'").fetch_one(&self.pool).await?;
        Ok(n as u64)
    }

    pub(crate) async fn notification_counts(&self) -> Result<Vec<(String, Delivery, u64)>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT channel, state, COUNT(*) FROM outbox GROUP BY channel, state ORDER BY channel, state",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(channel, state, n)| Some((channel, Delivery::parse(&state)?, n as u64)))
            .collect())
    }
}
