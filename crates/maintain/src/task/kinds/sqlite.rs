//! `sqlite-maintenance`: `PRAGMA integrity_check`, `PRAGMA optimize`, `ANALYZE`, `VACUUM`
//! (reporting the space reclaimed, and refused when the disk has less free space than the
//! database takes, since VACUUM writes a whole new copy), and a WAL checkpoint. It also verifies
//! the pragmas that persist in the file (`journal_mode = "wal"`, seed 000's tuning): the others
//! (`synchronous`, `cache_size`, ...) live only in the app's own connections, and a check from
//! outside cannot see them, so asking for them is refused at load with that reason.

use crate::task::{Failure, Kind, Outcome, Output, Run, bytes, path, steps};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use std::path::{Path, PathBuf};
use std::time::Duration;
use upkeep_config::{Diagnostics, TableReader};

const STEPS: &[&str] = &["integrity_check", "quick_check", "optimize", "analyze", "vacuum", "wal_checkpoint"];
const DEFAULT_STEPS: &[&str] = &["integrity_check", "optimize", "wal_checkpoint"];
/// Pragmas stored in the database file, so what another connection set can be read back.
const PERSISTENT: &[&str] = &["journal_mode", "auto_vacuum", "page_size", "user_version", "application_id"];
/// How long a step waits for the app's own writers before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct SqliteMaintenance {
    path: PathBuf,
    steps: Vec<&'static str>,
    pragmas: Vec<(String, String)>,
}

impl Kind for SqliteMaintenance {
    const KIND: &'static str = "sqlite-maintenance";

    fn build(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Self> {
        let path = path(t, d, "path", base, "\"/var/www/app/database/database.sqlite\"");
        let steps = steps(t, d, STEPS, DEFAULT_STEPS);
        let mut pragmas = Vec::new();
        for (name, value) in t.string_map(d, "pragmas").unwrap_or_default() {
            if PERSISTENT.contains(&name.as_str()) {
                pragmas.push((name, value.into_inner().to_ascii_lowercase()));
            } else {
                d.error(
                    value.span(),
                    format!("pragma `{name}` cannot be verified from outside the app"),
                    Some(format!(
                        "only pragmas stored in the file can be read back ({}); `{name}` lasts only for the \
                         connection that set it, so set it in the app's database config",
                        PERSISTENT.join(", ")
                    )),
                );
            }
        }
        Some(SqliteMaintenance { path: path?, steps, pragmas })
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    async fn run(&self, run: Run) -> Result<Outcome, Failure> {
        let fail = |e: sqlx::Error| Failure::from(format!("{}: {e}", self.path.display()));
        let options = SqliteConnectOptions::new()
            .filename(&self.path)
            .create_if_missing(false)
            .read_only(run.dry_run)
            .busy_timeout(BUSY_TIMEOUT);
        let mut conn = SqliteConnection::connect_with(&options).await.map_err(fail)?;
        let mut output = Output::default();
        let mut outcome = Outcome::default();
        let mut done = Vec::new();
        for (name, want) in &self.pragmas {
            let got = pragma(&mut conn, name).await.map_err(fail)?;
            output.line(format!("pragma {name} = {got}"));
            if &got != want {
                return Err(Failure {
                    message: format!("pragma {name} is {got}, not {want}"),
                    output: output.into_string(),
                });
            }
        }
        for step in &self.steps {
            let summary = match *step {
                "integrity_check" | "quick_check" => check(&mut conn, step, &mut output)
                    .await
                    .map_err(|e| Failure { message: format!("{}: {e}", self.path.display()), output: String::new() })?,
                "optimize" | "analyze" if run.dry_run => format!("would run {step}"),
                "optimize" => {
                    exec(&mut conn, "PRAGMA optimize").await.map_err(fail).map(|_| "optimized".to_string())?
                }
                "analyze" => exec(&mut conn, "ANALYZE").await.map_err(fail).map(|_| "analyzed".to_string())?,
                "vacuum" => self.vacuum(&mut conn, run, &mut outcome).await?,
                "wal_checkpoint" => checkpoint(&mut conn, run, &mut outcome).await.map_err(fail)?,
                _ => continue,
            };
            output.line(format!("{step}: {summary}"));
            done.push(summary);
        }
        outcome.summary = done.join("; ");
        Ok(outcome.output(output))
    }
}

impl SqliteMaintenance {
    /// VACUUM rewrites the whole file, so it needs about the database's size free on its disk;
    /// with less it would fail half-way, having filled the disk the app writes to.
    async fn vacuum(&self, conn: &mut SqliteConnection, run: Run, outcome: &mut Outcome) -> Result<String, Failure> {
        let fail = |e: sqlx::Error| Failure::from(format!("{}: {e}", self.path.display()));
        let (pages, free_pages, page_size): (i64, i64, i64) = sqlx::query_as(
            "SELECT (SELECT page_count FROM pragma_page_count), (SELECT freelist_count FROM pragma_freelist_count), \
             (SELECT page_size FROM pragma_page_size)",
        )
        .fetch_one(&mut *conn)
        .await
        .map_err(fail)?;
        let size = (pages * page_size) as f64;
        let reclaimable = (free_pages * page_size) as f64;
        if run.dry_run {
            outcome.changes.insert("bytes_reclaimable".into(), reclaimable);
            return Ok(format!("would reclaim about {} of {}", bytes(reclaimable), bytes(size)));
        }
        let free = free_space(&self.path).await?;
        if free < size {
            return Err(format!(
                "VACUUM refused: {} free on the disk of {}, and VACUUM needs about the database's size ({}); free some space first",
                bytes(free),
                self.path.display(),
                bytes(size)
            )
            .into());
        }
        exec(conn, "VACUUM").await.map_err(fail)?;
        let (after_pages,): (i64,) =
            sqlx::query_as("SELECT page_count FROM pragma_page_count").fetch_one(&mut *conn).await.map_err(fail)?;
        let reclaimed = ((pages - after_pages) * page_size) as f64;
        outcome.changes.insert("bytes_reclaimed".into(), reclaimed);
        outcome.changes.insert("database_size".into(), (after_pages * page_size) as f64);
        Ok(format!(
            "vacuumed: reclaimed {} ({} → {})",
            bytes(reclaimed),
            bytes(size),
            bytes((after_pages * page_size) as f64)
        ))
    }
}

/// A pragma's value as text, whether SQLite answers a word or a number.
async fn pragma(conn: &mut SqliteConnection, name: &str) -> Result<String, sqlx::Error> {
    use sqlx::Row;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA {name}"))).fetch_one(conn).await?;
    Ok(match row.try_get::<String, _>(0) {
        Ok(text) => text.to_ascii_lowercase(),
        Err(_) => row.try_get::<i64, _>(0)?.to_string(),
    })
}

async fn exec(conn: &mut SqliteConnection, sql: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(conn).await.map(|_| ())
}

/// `integrity_check` answers one row `ok`, or up to a hundred rows naming what is wrong.
async fn check(conn: &mut SqliteConnection, step: &str, output: &mut Output) -> Result<String, String> {
    let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("PRAGMA {step}")))
        .fetch_all(conn)
        .await
        .map_err(|e| e.to_string())?;
    if rows.len() == 1 && rows[0] == "ok" {
        return Ok(format!("{} ok", step.replace('_', " ")));
    }
    for row in &rows {
        output.line(row);
    }
    Err(format!("{step} found {} problem(s), first: {}", rows.len(), rows.first().map_or("", String::as_str)))
}

/// Moves the WAL's pages into the database and truncates it; a WAL that only grows is what
/// seed 000's long-running workers leave behind.
async fn checkpoint(conn: &mut SqliteConnection, run: Run, outcome: &mut Outcome) -> Result<String, sqlx::Error> {
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut *conn).await?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Ok(format!("no WAL (journal mode {mode})"));
    }
    if run.dry_run {
        return Ok("would checkpoint the WAL".into());
    }
    let (busy, log, checkpointed): (i64, i64, i64) =
        sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&mut *conn).await?;
    outcome.changes.insert("wal_pages_checkpointed".into(), checkpointed.max(0) as f64);
    Ok(if busy != 0 {
        format!("checkpoint partly done ({checkpointed} of {log} pages): a reader held the WAL")
    } else {
        format!("checkpointed {checkpointed} WAL pages and truncated the WAL")
    })
}

/// Free bytes for unprivileged writers on the disk holding `path`.
pub(crate) async fn free_space(path: &Path) -> Result<f64, Failure> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let stat = tokio::task::spawn_blocking(move || rustix::fs::statvfs(&dir))
        .await
        .map_err(|e| Failure::from(e.to_string()))?
        .map_err(|e| Failure::from(format!("cannot read the free space of {}: {e}", path.display())))?;
    Ok(stat.f_bavail as f64 * stat.f_frsize as f64)
}
