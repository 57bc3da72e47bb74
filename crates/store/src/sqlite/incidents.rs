//! Incidents and on-call overrides.

use super::SqliteStore;
use crate::incidents::{IncidentColumns, IncidentFilter, IncidentRow};
use crate::{NewNotification, StoreError};

fn row((id, version, doc): (i64, i64, String)) -> IncidentRow {
    IncidentRow { id, version, doc: serde_json::from_str(&doc).unwrap_or_default() }
}

impl SqliteStore {
    pub(crate) async fn insert_incident(
        &self,
        c: &IncidentColumns,
        doc: &serde_json::Value,
        cursor: Option<(&str, i64)>,
    ) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO incidents (severity, status, group_key, opened_ms, resolved_ms, watched, doc) \
             VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&c.severity)
        .bind(&c.status)
        .bind(&c.group)
        .bind(c.opened.as_millisecond())
        .bind(c.resolved.map(|t| t.as_millisecond()))
        .bind(c.watched)
        .bind(doc.to_string())
        .fetch_one(&mut *tx)
        .await?;
        if let Some((name, seq)) = cursor {
            super::outbox::save_cursor(&mut tx, name, seq).await?;
        }
        tx.commit().await?;
        Ok(id)
    }

    pub(crate) async fn update_incident(
        &self,
        id: i64,
        version: i64,
        c: &IncidentColumns,
        doc: &serde_json::Value,
        new: &[NewNotification],
        cursor: Option<(&str, i64)>,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE incidents SET version = version + 1, severity = ?, status = ?, group_key = ?, resolved_ms = ?, \
             watched = ?, doc = ? WHERE id = ? AND version = ?",
        )
        .bind(&c.severity)
        .bind(&c.status)
        .bind(&c.group)
        .bind(c.resolved.map(|t| t.as_millisecond()))
        .bind(c.watched)
        .bind(doc.to_string())
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        for n in new {
            super::outbox::insert(&mut tx, n).await?;
        }
        if let Some((name, seq)) = cursor {
            super::outbox::save_cursor(&mut tx, name, seq).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(crate) async fn incident(&self, id: i64) -> Result<Option<IncidentRow>, StoreError> {
        let r: Option<(i64, i64, String)> = sqlx::query_as("SELECT id, version, doc FROM incidents WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(row))
    }

    pub(crate) async fn incidents(&self, f: &IncidentFilter) -> Result<Vec<IncidentRow>, StoreError> {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT id, version, doc FROM incidents WHERE id < ? AND (? = 0 OR resolved_ms IS NULL) \
             AND (? = 0 OR watched = 1) AND opened_ms >= ? ORDER BY id DESC LIMIT ?",
        )
        .bind(f.before_id.unwrap_or(i64::MAX))
        .bind(f.open)
        .bind(f.watched)
        .bind(f.since.map_or(i64::MIN, |t| t.as_millisecond()))
        .bind(i64::from(f.limit.max(1)))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(row).collect())
    }

    pub(crate) async fn save_override(
        &self,
        id: &str,
        schedule: &str,
        starts: jiff::Timestamp,
        ends: jiff::Timestamp,
        doc: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT OR REPLACE INTO oncall_overrides (id, schedule, starts_ms, ends_ms, doc) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(schedule)
        .bind(starts.as_millisecond())
        .bind(ends.as_millisecond())
        .bind(doc.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub(crate) async fn overrides(&self, after: jiff::Timestamp) -> Result<Vec<serde_json::Value>, StoreError> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT doc FROM oncall_overrides WHERE ends_ms > ? ORDER BY starts_ms, id")
                .bind(after.as_millisecond())
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().filter_map(|(doc,)| serde_json::from_str(&doc).ok()).collect())
    }

    pub(crate) async fn delete_override(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM oncall_overrides WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }
}
