//! `sqlite`: `VACUUM INTO` a scratch file — one read transaction, so the copy is consistent
//! while the app keeps writing (in WAL mode, without blocking it). Seed 000's `cp` of the live
//! file can copy a page half-written, or miss what is still in the `-wal` file.

use super::{DrillFuture, PutBackFuture, Recorded, SafetyFuture, Source, StageFuture, Staged};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{ConnectOptions, Connection, Row};
use std::path::{Path, PathBuf};
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Sqlite {
    path: PathBuf,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Box<dyn Source>> {
    let path = super::path(t, d, "path", base, "\"/var/www/app/database/database.sqlite\"")?;
    Some(Box::new(Sqlite { path }))
}

impl Source for Sqlite {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    fn stage<'a>(&'a self, scratch: &'a Path) -> StageFuture<'a> {
        Box::pin(async move {
            if !self.path.is_file() {
                return Err(format!("{} does not exist", self.path.display()));
            }
            let name = self.path.file_name().map_or("database.sqlite".into(), |n| n.to_string_lossy().to_string());
            let copy = scratch.join(name);
            let mut source = open(&self.path, true).await?;
            sqlx::query("VACUUM INTO ?")
                .bind(copy.to_string_lossy().to_string())
                .execute(&mut source)
                .await
                .map_err(|e| format!("VACUUM INTO failed: {e}"))?;
            let _ = source.close().await;
            let mut copied = open(&copy, true).await?;
            let (tables, schema_version) = describe(&mut copied).await?;
            let _ = copied.close().await;
            Ok(Staged { path: copy, tables, schema_version, ..Staged::default() })
        })
    }

    /// The database file's size, inode, and change and modification times, and its `-wal`
    /// file's size, inode and modification time: every committed write changes one of them
    /// (SQLite writes with `write()`), and a checkpoint changes both files. Not the `-wal` file's
    /// change time: SQLite running as root `fchown`s it on every open, read-only ones too.
    fn fingerprint(&self) -> Option<String> {
        use std::os::unix::fs::MetadataExt;
        let main = std::fs::metadata(&self.path).ok()?;
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let wal = std::fs::metadata(&wal)
            .ok()
            .map_or_else(|| "-".to_string(), |m| format!("{}:{}:{}.{}", m.len(), m.ino(), m.mtime(), m.mtime_nsec()));
        Some(format!(
            "sqlite {}:{}:{}.{}:{}.{}; wal {wal}",
            main.len(),
            main.ino(),
            main.mtime(),
            main.mtime_nsec(),
            main.ctime(),
            main.ctime_nsec()
        ))
    }

    fn drill<'a>(&'a self, restored: &'a Path, recorded: &'a Recorded) -> DrillFuture<'a> {
        Box::pin(async move {
            let mut conn = open(restored, true).await?;
            let check: String =
                sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&mut conn).await.map_err(|e| e.to_string())?;
            if check != "ok" {
                return Err(format!("integrity_check: {check}"));
            }
            let (tables, _) = describe(&mut conn).await?;
            let _ = conn.close().await;
            Ok(vec!["integrity_check: ok".into(), super::same_rows(&tables, &recorded.tables)?])
        })
    }

    fn can_put_back(&self, _only: Option<&str>) -> Result<(), String> {
        Ok(())
    }

    /// The live database copied as a backup copies it (`VACUUM INTO`); none when it is gone.
    fn safety_copy<'a>(&'a self, dir: &'a Path, _only: Option<&'a str>) -> SafetyFuture<'a> {
        Box::pin(async move {
            if !self.path.exists() {
                return Ok(None);
            }
            self.stage(dir).await.map(|staged| Some(staged.path))
        })
    }

    /// Into the live database, in one transaction, so the app's connections see the old data
    /// or the restored data and nothing in between (a file copied over a database in use, as
    /// the manuals do, corrupts it). A database that is gone is put back as a file.
    fn put_back<'a>(&'a self, restored: &'a Path, only: Option<&'a str>) -> PutBackFuture<'a> {
        Box::pin(async move {
            if !self.path.exists() {
                if only.is_some() {
                    return Err(format!("{} does not exist: restore the whole database first", self.path.display()));
                }
                super::put_file(restored, &self.path)?;
                return Ok(vec![format!("{} was gone: put back whole", self.path.display())]);
            }
            let mut live = open(&self.path, false).await?;
            let result = replace(&mut live, restored, only).await;
            let _ = sqlx::query("DETACH DATABASE restored").execute(&mut live).await;
            let _ = live.close().await;
            result
        })
    }
}

fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

async fn exec(conn: &mut SqliteConnection, sql: String) -> Result<(), String> {
    sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| format!("{sql}: {e}"))
}

/// Replaces the live database's content (or one table's) with the restored copy's, in one
/// `BEGIN IMMEDIATE` transaction; foreign keys are not enforced while the tables are refilled.
async fn replace(live: &mut SqliteConnection, restored: &Path, only: Option<&str>) -> Result<Vec<String>, String> {
    exec(live, "PRAGMA foreign_keys = OFF".into()).await?;
    sqlx::query("ATTACH DATABASE ? AS restored")
        .bind(restored.to_string_lossy().to_string())
        .execute(&mut *live)
        .await
        .map_err(|e| format!("cannot open the restored copy: {e}"))?;
    exec(live, "BEGIN IMMEDIATE".into()).await?;
    let done = match only {
        Some(table) => replace_table(live, table).await,
        None => replace_all(live).await,
    };
    match done {
        Ok(done) => {
            exec(live, "COMMIT".into()).await?;
            Ok(done)
        }
        Err(e) => {
            let _ = exec(live, "ROLLBACK".into()).await;
            Err(format!("{e} (nothing was changed)"))
        }
    }
}

/// A schema's shadow tables (a virtual table's own storage, made and dropped with it).
async fn shadow_tables(conn: &mut SqliteConnection, schema: &str) -> Result<Vec<String>, String> {
    sqlx::query_scalar("SELECT name FROM pragma_table_list WHERE schema = ? AND type = 'shadow'")
        .bind(schema)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| e.to_string())
}

async fn replace_all(live: &mut SqliteConnection) -> Result<Vec<String>, String> {
    let live_shadows = shadow_tables(live, "main").await?;
    let existing: Vec<(String, String)> = sqlx::query_as(
        "SELECT type, name FROM main.sqlite_master WHERE type IN ('view', 'trigger', 'table') \
         AND name NOT LIKE 'sqlite_%' ORDER BY CASE type WHEN 'table' THEN 1 ELSE 0 END",
    )
    .fetch_all(&mut *live)
    .await
    .map_err(|e| e.to_string())?;
    for (kind, name) in existing.iter().filter(|(_, name)| !live_shadows.contains(name)) {
        exec(live, format!("DROP {} IF EXISTS {}", kind.to_uppercase(), quote(name))).await?;
    }
    let shadows = shadow_tables(live, "restored").await?;
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM restored.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND sql IS NOT NULL ORDER BY rowid",
    )
    .fetch_all(&mut *live)
    .await
    .map_err(|e| e.to_string())?;
    let mut rows = 0u64;
    let mut count = 0;
    // A virtual table makes its shadow tables itself, and refills them from its own rows.
    for (name, sql) in tables.iter().filter(|(name, _)| !shadows.contains(name)) {
        exec(live, sql.clone()).await?;
        let copied = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO main.{q} SELECT * FROM restored.{q}",
            q = quote(name)
        )))
        .execute(&mut *live)
        .await
        .map_err(|e| format!("cannot refill {name}: {e}"))?;
        rows += copied.rows_affected();
        count += 1;
    }
    let sequences: Option<String> =
        sqlx::query_scalar("SELECT name FROM restored.sqlite_master WHERE name = 'sqlite_sequence'")
            .fetch_optional(&mut *live)
            .await
            .map_err(|e| e.to_string())?;
    if sequences.is_some() {
        exec(live, "DELETE FROM main.sqlite_sequence".into()).await?;
        exec(live, "INSERT INTO main.sqlite_sequence SELECT * FROM restored.sqlite_sequence".into()).await?;
    }
    // Indexes, views and triggers after the rows, so no trigger fires on the refill.
    let rest: Vec<(String, String)> = sqlx::query_as(
        "SELECT tbl_name, sql FROM restored.sqlite_master WHERE type IN ('index', 'view', 'trigger') \
         AND sql IS NOT NULL ORDER BY CASE type WHEN 'index' THEN 0 WHEN 'view' THEN 1 ELSE 2 END, rowid",
    )
    .fetch_all(&mut *live)
    .await
    .map_err(|e| e.to_string())?;
    for (_, sql) in rest.into_iter().filter(|(table, _)| !shadows.contains(table)) {
        exec(live, sql).await?;
    }
    let version: i64 = sqlx::query_scalar("PRAGMA restored.user_version").fetch_one(&mut *live).await.unwrap_or(0);
    exec(live, format!("PRAGMA main.user_version = {version}")).await?;
    Ok(vec![format!("{count} tables, {rows} rows put back in one transaction")])
}

async fn replace_table(live: &mut SqliteConnection, table: &str) -> Result<Vec<String>, String> {
    let sql: Option<String> =
        sqlx::query_scalar("SELECT sql FROM restored.sqlite_master WHERE type = 'table' AND name = ?")
            .bind(table)
            .fetch_optional(&mut *live)
            .await
            .map_err(|e| e.to_string())?;
    let Some(sql) = sql else { return Err(format!("the snapshot has no table `{table}`")) };
    let exists: Option<String> =
        sqlx::query_scalar("SELECT name FROM main.sqlite_master WHERE type = 'table' AND name = ?")
            .bind(table)
            .fetch_optional(&mut *live)
            .await
            .map_err(|e| e.to_string())?;
    if exists.is_none() {
        exec(live, sql).await?;
    }
    let columns: Vec<String> = sqlx::query_scalar("SELECT name FROM pragma_table_info(?, 'restored')")
        .bind(table)
        .fetch_all(&mut *live)
        .await
        .map_err(|e| e.to_string())?;
    let columns = columns.iter().map(|c| quote(c)).collect::<Vec<_>>().join(", ");
    let q = quote(table);
    exec(live, format!("DELETE FROM main.{q}")).await?;
    let copied = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO main.{q} ({columns}) SELECT {columns} FROM restored.{q}"
    )))
    .execute(&mut *live)
    .await
    .map_err(|e| format!("cannot refill {table}: {e}"))?;
    Ok(vec![format!("table {table}: {} rows put back in one transaction", copied.rows_affected())])
}

pub(crate) async fn open(path: &Path, read_only: bool) -> Result<SqliteConnection, String> {
    SqliteConnectOptions::new()
        .filename(path)
        .read_only(read_only)
        .busy_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// Each table's row count, and the schema's version: the last Laravel migration, else
/// `PRAGMA user_version`.
pub(crate) async fn describe(
    conn: &mut SqliteConnection,
) -> Result<(std::collections::BTreeMap<String, u64>, Option<String>), String> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| e.to_string())?;
    let mut tables = std::collections::BTreeMap::new();
    for name in &names {
        let quoted = format!("\"{}\"", name.replace('"', "\"\""));
        let count: i64 = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {quoted}")))
            .fetch_one(&mut *conn)
            .await
            .and_then(|row| row.try_get(0))
            .map_err(|e| format!("cannot count {name}: {e}"))?;
        tables.insert(name.clone(), count as u64);
    }
    let version = if names.iter().any(|n| n == "migrations") {
        sqlx::query_scalar("SELECT migration FROM migrations ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await
            .ok()
            .flatten()
    } else {
        let v: i64 = sqlx::query_scalar("PRAGMA user_version").fetch_one(&mut *conn).await.unwrap_or(0);
        (v != 0).then(|| v.to_string())
    };
    Ok((tables, version))
}
