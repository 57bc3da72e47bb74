//! Task runs and the audit log.

use super::SqliteStore;
use crate::StoreError;
use crate::task_runs::{AuditEntry, RunRecord, TaskRun};
use std::time::Duration;

type Row = (i64, String, i64, i64, bool, String, String, String, String);

const COLUMNS: &str = "id, task, started_ms, duration_ms, ok, trigger, summary, output, changes";

fn ts(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(ms).unwrap_or_default()
}

fn task_run(row: Row) -> TaskRun {
    let (id, task, started, duration, ok, trigger, summary, output, changes) = row;
    TaskRun {
        id,
        task,
        run: RunRecord {
            started: ts(started),
            duration: Duration::from_millis(duration.max(0) as u64),
            ok,
            trigger,
            summary,
            output,
            changes: serde_json::from_str(&changes).unwrap_or_default(),
        },
    }
}

impl SqliteStore {
    pub(crate) async fn record_task_run(&self, task: &str, run: &RunRecord) -> Result<i64, StoreError> {
        let done = sqlx::query(
            "INSERT INTO task_runs (task, started_ms, duration_ms, ok, trigger, summary, output, changes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(task)
        .bind(run.started.as_millisecond())
        .bind(run.duration.as_millis() as i64)
        .bind(run.ok)
        .bind(&run.trigger)
        .bind(&run.summary)
        .bind(&run.output)
        .bind(run.changes.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.last_insert_rowid())
    }

    pub(crate) async fn task_runs(&self, task: Option<&str>, limit: u32) -> Result<Vec<TaskRun>, StoreError> {
        let rows: Vec<Row> = match task {
            Some(task) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM task_runs WHERE task = ? ORDER BY started_ms DESC, id DESC LIMIT ?"
                )))
                .bind(task)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM task_runs ORDER BY started_ms DESC, id DESC LIMIT ?"
                )))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        Ok(rows.into_iter().map(task_run).collect())
    }

    pub(crate) async fn last_task_runs(&self) -> Result<Vec<TaskRun>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM task_runs WHERE id IN (SELECT max(id) FROM task_runs GROUP BY task) ORDER BY task"
        )))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(task_run).collect())
    }

    pub(crate) async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO audit (at_ms, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)")
            .bind(entry.at.as_millisecond())
            .bind(&entry.actor)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(&entry.detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) async fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows: Vec<(i64, String, String, String, String)> = sqlx::query_as(
            "SELECT at_ms, actor, action, target, detail FROM audit ORDER BY at_ms DESC, id DESC LIMIT ?",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(at, actor, action, target, detail)| AuditEntry { at: ts(at), actor, action, target, detail })
            .collect())
    }
}
