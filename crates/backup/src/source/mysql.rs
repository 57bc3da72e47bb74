//! `mysql` (MySQL and MariaDB): `mariadb-dump` (or `mysqldump`) with `--single-transaction`
//! (a consistent read without locking InnoDB tables), `--routines --triggers --events`. The
//! password goes to the tool in its environment, never on its command line. Row counts are
//! taken in a consistent-snapshot transaction begun just before the dump: under concurrent
//! writes they may differ from the dump by what committed in between.

use super::{DrillFuture, PutBackFuture, Recorded, Source, StageFuture, Staged};
use sqlx::mysql::MySqlConnection;
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use std::path::Path;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Mysql {
    url: url::Url,
    raw: String,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics, _base: &Path) -> Option<Box<dyn Source>> {
    let raw = t.required_string(d, "url", "\"mysql://backup:${MYSQL_PASSWORD}@127.0.0.1/app\"")?;
    match url::Url::parse(raw.get_ref()) {
        Ok(url) if url.path().trim_start_matches('/').is_empty() => {
            d.error(
                raw.span(),
                "`url` names no database",
                Some("end it with the database: mysql://user@host/app".into()),
            );
            None
        }
        Ok(url) => Some(Box::new(Mysql { url, raw: raw.into_inner() })),
        Err(e) => {
            d.error(raw.span(), format!("`url` is not a URL: {e}"), Some("mysql://user:password@host:3306/app".into()));
            None
        }
    }
}

impl Source for Mysql {
    fn kind(&self) -> &'static str {
        "mysql"
    }

    fn target(&self) -> String {
        upkeep_config::redact_url(&self.raw, &[])
    }

    fn stage<'a>(&'a self, scratch: &'a Path) -> StageFuture<'a> {
        Box::pin(async move {
            let shown = self.target();
            let database = self.url.path().trim_start_matches('/').to_string();
            let mut conn =
                MySqlConnection::connect(&self.raw).await.map_err(|e| format!("cannot connect to {shown}: {e}"))?;
            sqlx::query("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            let tables = counts(&mut conn, &database).await?;
            let _ = sqlx::query("COMMIT").execute(&mut conn).await;
            let dump = scratch.join("database.sql");
            let (mut args, env) = self.tool_args();
            args.extend([
                "--single-transaction".to_string(),
                "--routines".into(),
                "--triggers".into(),
                "--events".into(),
                format!("--result-file={}", dump.display()),
                database,
            ]);
            let tool = if which("mariadb-dump") { "mariadb-dump" } else { "mysqldump" };
            super::run_tool(tool, &args, &env, None).await?;
            Ok(Staged { path: dump, tables, ..Staged::default() })
        })
    }

    /// The dump loaded into a scratch database on the same server, rows counted, dropped.
    fn drill<'a>(&'a self, restored: &'a Path, recorded: &'a Recorded) -> DrillFuture<'a> {
        Box::pin(async move {
            let mut admin = MySqlConnection::connect(&self.raw).await.map_err(|e| format!("cannot connect: {e}"))?;
            let scratch = create_scratch(&mut admin).await?;
            let result = self.load_and_count(&scratch, restored, recorded).await;
            drop_scratch(&mut admin, &scratch).await;
            result
        })
    }

    fn can_put_back(&self, _only: Option<&str>) -> Result<(), String> {
        Ok(())
    }

    /// All of it: the dump loaded into the live database (table by table: MySQL's DDL is not
    /// transactional, which is why the app goes into maintenance mode around a restore). One
    /// table: loaded into a scratch database, then swapped in by one atomic `RENAME TABLE`.
    fn put_back<'a>(&'a self, restored: &'a Path, only: Option<&'a str>) -> PutBackFuture<'a> {
        Box::pin(async move {
            let database = self.url.path().trim_start_matches('/').to_string();
            let client = if which("mariadb") { "mariadb" } else { "mysql" };
            let Some(table) = only else {
                let (mut args, env) = self.tool_args();
                args.push(database.clone());
                super::run_tool_with_input(client, &args, &env, Some(restored), None).await?;
                return Ok(vec![format!("the dump loaded into {database}: ok")]);
            };
            let mut admin = MySqlConnection::connect(&self.raw).await.map_err(|e| format!("cannot connect: {e}"))?;
            let scratch = create_scratch(&mut admin).await?;
            let result = self.swap_table(&mut admin, client, &scratch, &database, table, restored).await;
            drop_scratch(&mut admin, &scratch).await;
            result
        })
    }
}

impl Mysql {
    /// The connection arguments of the command-line tools, and the password for their
    /// environment.
    fn tool_args(&self) -> (Vec<String>, Vec<(&'static str, String)>) {
        let mut args = vec![
            format!("--host={}", self.url.host_str().unwrap_or("127.0.0.1")),
            format!("--port={}", self.url.port().unwrap_or(3306)),
        ];
        if !self.url.username().is_empty() {
            args.push(format!("--user={}", self.url.username()));
        }
        let password =
            self.url.password().map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().to_string());
        (args, password.into_iter().map(|p| ("MYSQL_PWD", p)).collect())
    }

    async fn swap_table(
        &self,
        admin: &mut MySqlConnection,
        client: &str,
        scratch: &str,
        database: &str,
        table: &str,
        dump: &Path,
    ) -> Result<Vec<String>, String> {
        // The swap moves the live table away: other tables' foreign keys would follow it.
        let referenced: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND REFERENCED_TABLE_NAME = ? AND TABLE_NAME <> ?",
        )
        .bind(database)
        .bind(table)
        .bind(table)
        .fetch_one(&mut *admin)
        .await
        .map_err(|e| e.to_string())?;
        if referenced > 0 {
            return Err(format!(
                "other tables have foreign keys to `{table}`: restoring it alone would leave them pointing at the old \
                 copy; restore the whole database (without --only), or load `{table}` from `backup restore ID --to DIR`"
            ));
        }
        let (mut args, env) = self.tool_args();
        args.push(scratch.to_string());
        super::run_tool_with_input(client, &args, &env, Some(dump), None).await?;
        let loaded = counts(admin, scratch).await?;
        let Some(rows) = loaded.get(table) else { return Err(format!("the snapshot has no table `{table}`")) };
        let q = |name: &str| format!("`{}`", name.replace('`', "``"));
        let live = counts(admin, database).await?;
        let swap = if live.contains_key(table) {
            format!(
                "RENAME TABLE {db}.{t} TO {scratch}.{old}, {scratch}.{t} TO {db}.{t}",
                db = q(database),
                t = q(table),
                old = q(&format!("{table}_before_restore"))
            )
        } else {
            format!("RENAME TABLE {scratch}.{t} TO {db}.{t}", db = q(database), t = q(table))
        };
        sqlx::query(sqlx::AssertSqlSafe(swap))
            .execute(&mut *admin)
            .await
            .map_err(|e| format!("cannot swap {table} in: {e}"))?;
        Ok(vec![format!("table {table}: {rows} rows swapped in by one RENAME TABLE")])
    }

    async fn load_and_count(&self, scratch: &str, dump: &Path, recorded: &Recorded) -> Result<Vec<String>, String> {
        let (mut args, env) = self.tool_args();
        args.push(scratch.to_string());
        let client = if which("mariadb") { "mariadb" } else { "mysql" };
        super::run_tool_with_input(client, &args, &env, Some(dump), None).await?;
        let mut target = self.url.clone();
        target.set_path(&format!("/{scratch}"));
        let mut conn = MySqlConnection::connect(target.as_str()).await.map_err(|e| e.to_string())?;
        let tables = counts(&mut conn, scratch).await?;
        let _ = conn.close().await;
        Ok(vec!["loaded into a scratch database: ok".into(), super::same_rows(&tables, &recorded.tables)?])
    }
}

/// A new scratch database on the server, for a drill or a one-table restore.
async fn create_scratch(admin: &mut MySqlConnection) -> Result<String, String> {
    let scratch = super::scratch_database();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {scratch}")))
        .execute(admin)
        .await
        .map_err(|e| format!("cannot create a scratch database: {e}"))?;
    Ok(scratch)
}

async fn drop_scratch(admin: &mut MySqlConnection, scratch: &str) {
    let dropped = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {scratch}"))).execute(admin).await;
    if let Err(e) = dropped {
        tracing::warn!(database = %scratch, error = %e, "cannot drop a scratch database");
    }
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Each base table's row count in `database`.
pub(crate) async fn counts(conn: &mut MySqlConnection, database: &str) -> Result<BTreeMap<String, u64>, String> {
    let rows = sqlx::query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .bind(database)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for row in rows {
        let table: String = row.try_get(0).map_err(|e| e.to_string())?;
        let quoted = format!("`{}`.`{}`", database.replace('`', "``"), table.replace('`', "``"));
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {quoted}")))
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| format!("cannot count {table}: {e}"))?;
        out.insert(table, n as u64);
    }
    Ok(out)
}
