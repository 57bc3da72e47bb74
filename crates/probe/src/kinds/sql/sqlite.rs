//! `sqlite`: the app's own SQLite file, opened read-only so a probe can never create, lock or
//! change it — `SELECT 1` latency, size, journal mode, WAL size, and an optional `quick_check`.

use super::{self as database, decode_any};
use crate::error::ProbeError;
use crate::kind::{Kind, Run, Spec};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Sqlite {
    path: PathBuf,
    query: Option<String>,
    quick_check: bool,
    timeout: Duration,
}

impl Kind for Sqlite {
    const KIND: &'static str = "sqlite";

    fn schema() -> Schema {
        Schema::new(database::FIELDS)
            .with_fields(&[
                Field::new("journal_mode", Type::String, "wal, delete, truncate, ..."),
                Field::new("wal_size", Type::Size, "size of the -wal file (0 when there is none)"),
                Field::new(
                    "quick_check",
                    Type::String,
                    "\"ok\" (any problem fails the check and is named in its message)",
                ),
            ])
            .with_dynamic(database::ROW)
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Self> {
        let path = t.required_string(d, "path", "\"/var/www/app/database/database.sqlite\"");
        let query = database::read_query(t, d);
        let quick_check = t.bool(d, "quick_check").unwrap_or(false) || spec.reads("quick_check");
        Some(Sqlite { path: PathBuf::from(path?.into_inner()), query, quick_check, timeout: spec.timeout })
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    async fn observe(&self, _run: &Run<'_>) -> Result<Observations, ProbeError> {
        let target = self.target();
        let fail = |e: sqlx::Error| ProbeError::new(database::describe(&e, &target, self.timeout));
        if let Err(e) = tokio::fs::metadata(&self.path).await {
            return Err(ProbeError::new(crate::error::describe_io(&e, &format!("database file {target}"))));
        }
        let started = Instant::now();
        let options = SqliteConnectOptions::new()
            .filename(&self.path)
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(self.timeout);
        let mut conn = SqliteConnection::connect_with(&options).await.map_err(fail)?;
        let connect_time = started.elapsed();
        let started = Instant::now();
        sqlx::query("SELECT 1").execute(&mut conn).await.map_err(fail)?;
        let latency = started.elapsed();
        let (pages, page_size): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT page_count FROM pragma_page_count), (SELECT page_size FROM pragma_page_size)",
        )
        .fetch_one(&mut conn)
        .await
        .map_err(fail)?;
        let journal_mode: String =
            sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.map_err(fail)?;
        let mut obs = Observations::new();
        obs.insert("latency", Value::duration(latency));
        obs.insert("connect_time", Value::duration(connect_time));
        obs.insert("database_size", Value::size((pages * page_size).max(0) as u64));
        obs.insert("journal_mode", Value::String(journal_mode.to_ascii_lowercase()));
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let wal_size = tokio::fs::metadata(&wal).await.map(|m| m.len()).unwrap_or(0);
        obs.insert("wal_size", Value::size(wal_size));
        if self.quick_check {
            let problems: Vec<String> =
                sqlx::query_scalar("PRAGMA quick_check(5)").fetch_all(&mut conn).await.map_err(fail)?;
            let verdict = problems.join("; ");
            if verdict != "ok" {
                return Err(ProbeError::new(format!("PRAGMA quick_check of {target} found corruption: {verdict}")));
            }
            obs.insert("quick_check", Value::String(verdict));
        }
        if let Some(query) = &self.query {
            // The query comes from the operator's own config file, not from outside input.
            let rows = sqlx::query(sqlx::AssertSqlSafe(query.as_str())).fetch_all(&mut conn).await.map_err(fail)?;
            database::observe_rows(&rows, |row, i| decode_any!(row, i, [i64, f64, bool, String]), &mut obs);
        }
        let _ = conn.close().await;
        Ok(obs)
    }
}
