//! `sqlite`: `VACUUM INTO` a scratch file — one read transaction, so the copy is consistent
//! while the app keeps writing (in WAL mode, without blocking it). Seed 000's `cp` of the live
//! file can copy a page half-written, or miss what is still in the `-wal` file.

use super::{DrillFuture, Recorded, Source, StageFuture, Staged};
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
            Ok(Staged { path: copy, tables, schema_version })
        })
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
