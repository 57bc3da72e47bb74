//! `postgres`: `pg_dump -Fc` (custom format: compressed, restorable table by table with
//! `pg_restore`). The row counts come from the very snapshot the dump reads: a repeatable-read
//! transaction exports its snapshot, `pg_dump --snapshot` dumps from it, and the counts are
//! taken inside it, so they match the dump exactly while the app keeps writing.

use super::{DrillFuture, PutBackFuture, Recorded, Source, StageFuture, Staged};
use sqlx::postgres::PgConnection;
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use std::path::Path;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Postgres {
    url: String,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics, _base: &Path) -> Option<Box<dyn Source>> {
    let url = t.required_string(d, "url", "\"postgres://backup:${PGPASSWORD}@127.0.0.1/app\"")?;
    Some(Box::new(Postgres { url: url.into_inner() }))
}

impl Source for Postgres {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn target(&self) -> String {
        upkeep_config::redact_url(&self.url, &[])
    }

    fn stage<'a>(&'a self, scratch: &'a Path) -> StageFuture<'a> {
        Box::pin(async move {
            let shown = self.target();
            let mut conn =
                PgConnection::connect(&self.url).await.map_err(|e| format!("cannot connect to {shown}: {e}"))?;
            let mut tx = conn.begin().await.map_err(|e| e.to_string())?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| e.to_string())?;
            let dump = scratch.join("database.dump");
            let args = vec![
                "--format=custom".to_string(),
                format!("--snapshot={snapshot}"),
                format!("--file={}", dump.display()),
                format!("--dbname={}", self.url),
            ];
            super::run_tool("pg_dump", &args, &[], None).await?;
            let tables = counts(&mut tx).await?;
            let schema_version = last_migration(&mut tx, &tables).await;
            let _ = tx.commit().await;
            Ok(Staged { path: dump, tables, schema_version, ..Staged::default() })
        })
    }

    /// `pg_restore` into a scratch database on the same server, rows counted, database dropped.
    fn drill<'a>(&'a self, restored: &'a Path, recorded: &'a Recorded) -> DrillFuture<'a> {
        Box::pin(async move {
            let mut admin = PgConnection::connect(&self.url).await.map_err(|e| format!("cannot connect: {e}"))?;
            let scratch = super::scratch_database();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {scratch}")))
                .execute(&mut admin)
                .await
                .map_err(|e| format!("cannot create a scratch database: {e}"))?;
            let result = restore_and_count(&self.url, &scratch, restored, recorded).await;
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)")))
                .execute(&mut admin)
                .await;
            result
        })
    }

    fn can_put_back(&self, _only: Option<&str>) -> Result<(), String> {
        Ok(())
    }

    /// All of it with `pg_restore --clean --single-transaction`: the app sees the old database
    /// or the restored one. One table: its rows from the dump, after a `TRUNCATE`, in one
    /// transaction.
    fn put_back<'a>(&'a self, restored: &'a Path, only: Option<&'a str>) -> PutBackFuture<'a> {
        Box::pin(async move {
            let Some(table) = only else {
                let args = vec![
                    "--clean".to_string(),
                    "--if-exists".into(),
                    "--no-owner".into(),
                    "--no-privileges".into(),
                    "--single-transaction".into(),
                    "--exit-on-error".into(),
                    format!("--dbname={}", self.url),
                    restored.display().to_string(),
                ];
                super::run_tool("pg_restore", &args, &[], None).await?;
                return Ok(vec!["pg_restore --clean in one transaction: ok".into()]);
            };
            let (schema, name) = table.split_once('.').unwrap_or(("public", table));
            let rows = restored.with_extension("table.sql");
            let args = vec![
                "--data-only".to_string(),
                format!("--schema={schema}"),
                format!("--table={name}"),
                format!("--file={}", rows.display()),
                restored.display().to_string(),
            ];
            super::run_tool("pg_restore", &args, &[], None).await?;
            // pg_restore exits 0 for a table the dump does not have: never empty a table then.
            let extracted =
                std::fs::read_to_string(&rows).map_err(|e| format!("cannot read {}: {e}", rows.display()))?;
            if !extracted.lines().any(|line| line.starts_with("COPY ")) {
                return Err(format!("the snapshot has no table `{table}` (nothing was changed)"));
            }
            let quoted = format!("\"{}\".\"{}\"", schema.replace('"', "\"\""), name.replace('"', "\"\""));
            let args = vec![
                "--single-transaction".to_string(),
                "--no-psqlrc".into(),
                "--quiet".into(),
                "--set=ON_ERROR_STOP=1".into(),
                format!("--dbname={}", self.url),
                format!("--command=TRUNCATE ONLY {quoted}"),
                format!("--file={}", rows.display()),
            ];
            super::run_tool("psql", &args, &[], None).await?;
            Ok(vec![format!("table {table}: emptied and refilled from the dump in one transaction")])
        })
    }
}

async fn restore_and_count(url: &str, scratch: &str, dump: &Path, recorded: &Recorded) -> Result<Vec<String>, String> {
    let mut target = url::Url::parse(url).map_err(|e| e.to_string())?;
    target.set_path(&format!("/{scratch}"));
    let args = vec![
        "--no-owner".to_string(),
        "--no-privileges".into(),
        "--exit-on-error".into(),
        format!("--dbname={target}"),
        dump.display().to_string(),
    ];
    super::run_tool("pg_restore", &args, &[], None).await?;
    let mut conn = PgConnection::connect(target.as_str()).await.map_err(|e| e.to_string())?;
    let tables = counts(&mut conn).await?;
    let _ = conn.close().await;
    Ok(vec!["pg_restore into a scratch database: ok".into(), super::same_rows(&tables, &recorded.tables)?])
}

/// Each user table's row count, as `table` (in `public`) or `schema.table`.
pub(crate) async fn counts(conn: &mut PgConnection) -> Result<BTreeMap<String, u64>, String> {
    let rows = sqlx::query(
        "SELECT table_schema, table_name FROM information_schema.tables \
         WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') \
         ORDER BY 1, 2",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (schema, table): (String, String) = (row.get(0), row.get(1));
        let quoted = format!("\"{}\".\"{}\"", schema.replace('"', "\"\""), table.replace('"', "\"\""));
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {quoted}")))
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| format!("cannot count {schema}.{table}: {e}"))?;
        let name = if schema == "public" { table } else { format!("{schema}.{table}") };
        out.insert(name, n as u64);
    }
    Ok(out)
}

async fn last_migration(conn: &mut PgConnection, tables: &BTreeMap<String, u64>) -> Option<String> {
    if !tables.contains_key("migrations") {
        return None;
    }
    sqlx::query_scalar("SELECT migration FROM migrations ORDER BY id DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .ok()
        .flatten()
}
