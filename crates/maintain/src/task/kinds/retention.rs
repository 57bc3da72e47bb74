//! `retention`: deletes rows older than an age by a timestamp column — or first copies them to
//! an archive table, in the same transaction — in batches of short transactions, so the app
//! keeps writing while it runs. The cutoff is computed once per run: seed 002's archive script
//! evaluates `NOW()` twice, so rows crossing the cutoff between its INSERT and its DELETE are
//! deleted without being archived, and it deletes everything in one long statement.

use crate::task::{Failure, Kind, Outcome, Run, identifier, quote};
use sqlx::{Connection, Executor};
use std::path::{Path, PathBuf};
use std::time::Duration;
use upkeep_config::{Diagnostics, Spanned, TableReader};

const DEFAULT_BATCH: i64 = 1000;
/// Between batches, so the app's writers waiting for a lock get it before the next batch does.
const DEFAULT_PAUSE: Duration = Duration::from_millis(20);

#[derive(Debug)]
pub struct Retention {
    database: Database,
    table: String,
    column: String,
    older_than: Duration,
    archive_to: Option<String>,
    /// The column batches are taken in order of, on MySQL (PostgreSQL and SQLite use the row's
    /// physical id).
    key: String,
    format: Format,
    batch: i64,
    pause: Duration,
}

#[derive(Debug)]
enum Database {
    Sqlite(PathBuf),
    Postgres(String),
    Mysql(String),
}

/// How the column stores time.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    /// `DATETIME`, `TIMESTAMP`, or SQLite's `YYYY-MM-DD HH:MM:SS` text (Laravel's), in UTC.
    Datetime,
    /// Seconds since 1970.
    Unix,
    UnixMs,
}

/// The cutoff as the column compares it.
enum Cutoff {
    Text(String),
    Number(i64),
}

/// Binds the cutoff as the column compares it (both arms give the query's own type).
macro_rules! bind {
    ($query:expr, $cutoff:expr) => {
        match $cutoff {
            Cutoff::Text(text) => $query.bind(text.clone()),
            Cutoff::Number(n) => $query.bind(*n),
        }
    };
}

impl Kind for Retention {
    const KIND: &'static str = "retention";

    fn build(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Self> {
        let database = t.required_string(d, "database", "\"sqlite:///var/www/app/database/database.sqlite\"");
        let database = database.and_then(|url| match parse_database(url.get_ref(), base) {
            Some(db) => Some(db),
            None => {
                d.error(
                    url.span(),
                    "`database` must be a sqlite://, postgres:// or mysql:// URL",
                    Some("for example sqlite:///var/www/app/database/database.sqlite".into()),
                );
                None
            }
        });
        let table = identifier(t, d, "table");
        let table = required(t, d, "table", table);
        let column = identifier(t, d, "column");
        let column = required(t, d, "column", column);
        let older_than = t.duration(d, "older_than", Duration::from_secs(60)).map(Spanned::into_inner);
        if older_than.is_none() && !t.has("older_than") {
            d.error(t.span(), format!("{} has no `older_than`", t.context()), Some("older_than = \"90d\"".into()));
        }
        let archive_to = identifier(t, d, "archive_to");
        let key = identifier(t, d, "key").unwrap_or_else(|| "id".into());
        let format = match t.string(d, "format") {
            None => Format::Datetime,
            Some(f) => match f.get_ref().as_str() {
                "datetime" => Format::Datetime,
                "unix" => Format::Unix,
                "unix_ms" => Format::UnixMs,
                other => {
                    d.error(f.span(), format!("unknown format `{other}`"), Some("datetime, unix or unix_ms".into()));
                    Format::Datetime
                }
            },
        };
        let batch = t.integer(d, "batch", 1..100_001).unwrap_or(DEFAULT_BATCH);
        let pause = t.duration(d, "pause", Duration::ZERO).map_or(DEFAULT_PAUSE, Spanned::into_inner);
        Some(Retention {
            database: database?,
            table: table?,
            column: column?,
            older_than: older_than?,
            archive_to,
            key,
            format,
            batch,
            pause,
        })
    }

    fn target(&self) -> String {
        let db = match &self.database {
            Database::Sqlite(path) => path.display().to_string(),
            Database::Postgres(url) | Database::Mysql(url) => upkeep_config::redact_url(url, &[]),
        };
        format!("{}.{} older than {}", db, self.table, upkeep_expr::Value::duration(self.older_than))
    }

    async fn run(&self, run: Run) -> Result<Outcome, Failure> {
        let cutoff_at =
            run.now.checked_sub(jiff::SignedDuration::try_from(self.older_than).unwrap_or_default()).unwrap_or(run.now);
        let cutoff = match self.format {
            Format::Datetime => {
                Cutoff::Text(cutoff_at.to_zoned(jiff::tz::TimeZone::UTC).strftime("%Y-%m-%d %H:%M:%S").to_string())
            }
            Format::Unix => Cutoff::Number(cutoff_at.as_second()),
            Format::UnixMs => Cutoff::Number(cutoff_at.as_millisecond()),
        };
        let shown = match &cutoff {
            Cutoff::Text(text) => text.clone(),
            Cutoff::Number(n) => n.to_string(),
        };
        let fail = |e: sqlx::Error| Failure::from(format!("{}: {e}", self.target()));
        let (rows, batches) = match &self.database {
            Database::Sqlite(path) => self.sqlite(path, &cutoff, run.dry_run).await.map_err(fail)?,
            Database::Postgres(url) => self.postgres(url, &cutoff, run.dry_run).await.map_err(fail)?,
            Database::Mysql(url) => self.mysql(url, &cutoff, run.dry_run).await.map_err(fail)?,
        };
        let verb = match (run.dry_run, &self.archive_to) {
            (true, Some(to)) => format!("would archive to {to} and delete"),
            (true, None) => "would delete".into(),
            (false, Some(to)) => format!("archived to {to} and deleted"),
            (false, None) => "deleted".into(),
        };
        let what = if run.dry_run { "rows_matching" } else { "rows_deleted" };
        let mut outcome =
            Outcome::new(format!("{verb} {rows} rows of {} older than {shown} in {batches} batches", self.table))
                .change(what, rows as f64)
                .change("batches", batches as f64);
        if self.archive_to.is_some() && !run.dry_run {
            outcome = outcome.change("rows_archived", rows as f64);
        }
        Ok(outcome)
    }
}

impl Retention {
    fn progress(&self) -> Progress {
        Progress { size: self.batch as u64, pause: self.pause, rows: 0, batches: 0 }
    }

    fn count_sql(&self, mark: char, placeholder: &str) -> String {
        format!("SELECT COUNT(*) FROM {} WHERE {} < {placeholder}", quote(&self.table, mark), quote(&self.column, mark))
    }

    /// SQLite: one writer at a time, so each batch is a short IMMEDIATE transaction; the
    /// archive copy and the delete pick the same rows (the same query in one transaction).
    async fn sqlite(&self, path: &Path, cutoff: &Cutoff, dry_run: bool) -> Result<(u64, u64), sqlx::Error> {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(false)
            .busy_timeout(Duration::from_secs(30));
        let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await?;
        let (table, column) = (quote(&self.table, '"'), quote(&self.column, '"'));
        if dry_run {
            let n: i64 = bind!(sqlx::query_scalar(sqlx::AssertSqlSafe(self.count_sql('"', "?"))), cutoff)
                .fetch_one(&mut conn)
                .await?;
            return Ok((n as u64, 0));
        }
        let pick = format!("SELECT rowid FROM {table} WHERE {column} < ?1 ORDER BY rowid LIMIT ?2");
        let archive = self
            .archive_to
            .as_ref()
            .map(|a| format!("INSERT INTO {} SELECT * FROM {table} WHERE rowid IN ({pick})", quote(a, '"')));
        let delete = format!("DELETE FROM {table} WHERE rowid IN ({pick})");
        let mut progress = self.progress();
        loop {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
            if let Some(archive) = &archive {
                bind!(sqlx::query(sqlx::AssertSqlSafe(archive.as_str())), cutoff)
                    .bind(self.batch)
                    .execute(&mut *tx)
                    .await?;
            }
            let n = bind!(sqlx::query(sqlx::AssertSqlSafe(delete.as_str())), cutoff)
                .bind(self.batch)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            if !progress.record(n).await {
                return Ok(progress.totals());
            }
        }
    }

    /// PostgreSQL: one statement per batch, the archive copy taken from the DELETE's own
    /// `RETURNING`, so exactly the deleted rows are archived.
    async fn postgres(&self, url: &str, cutoff: &Cutoff, dry_run: bool) -> Result<(u64, u64), sqlx::Error> {
        let mut conn = sqlx::postgres::PgConnection::connect(url).await?;
        conn.execute("SET TIME ZONE 'UTC'").await?;
        let (table, column) = (quote(&self.table, '"'), quote(&self.column, '"'));
        let value = match cutoff {
            Cutoff::Text(_) => "CAST($1 AS timestamp)",
            Cutoff::Number(_) => "$1",
        };
        if dry_run {
            let n: i64 = bind!(sqlx::query_scalar(sqlx::AssertSqlSafe(self.count_sql('"', value))), cutoff)
                .fetch_one(&mut conn)
                .await?;
            return Ok((n as u64, 0));
        }
        let pick = format!("ctid = ANY(ARRAY(SELECT ctid FROM {table} WHERE {column} < {value} LIMIT $2))");
        let sql = match &self.archive_to {
            Some(archive) => format!(
                "WITH moved AS (DELETE FROM {table} WHERE {pick} RETURNING *) INSERT INTO {} SELECT * FROM moved",
                quote(archive, '"')
            ),
            None => format!("DELETE FROM {table} WHERE {pick}"),
        };
        let mut progress = self.progress();
        loop {
            let n = bind!(sqlx::query(sqlx::AssertSqlSafe(sql.as_str())), cutoff)
                .bind(self.batch)
                .execute(&mut conn)
                .await?
                .rows_affected();
            if !progress.record(n).await {
                return Ok(progress.totals());
            }
        }
    }

    /// MySQL: `INSERT ... SELECT` and `DELETE` with the same `ORDER BY key LIMIT`, in one
    /// transaction: InnoDB locks the rows the copy read, so the delete takes the same ones.
    async fn mysql(&self, url: &str, cutoff: &Cutoff, dry_run: bool) -> Result<(u64, u64), sqlx::Error> {
        let mut conn = sqlx::mysql::MySqlConnection::connect(url).await?;
        conn.execute("SET time_zone = '+00:00'").await?;
        let (table, column, key) = (quote(&self.table, '`'), quote(&self.column, '`'), quote(&self.key, '`'));
        if dry_run {
            let n: i64 = bind!(sqlx::query_scalar(sqlx::AssertSqlSafe(self.count_sql('`', "?"))), cutoff)
                .fetch_one(&mut conn)
                .await?;
            return Ok((n as u64, 0));
        }
        let rest = format!("FROM {table} WHERE {column} < ? ORDER BY {key} LIMIT ?");
        let archive = self.archive_to.as_ref().map(|a| format!("INSERT INTO {} SELECT * {rest}", quote(a, '`')));
        let delete = format!("DELETE {rest}");
        let mut progress = self.progress();
        loop {
            let mut tx = conn.begin().await?;
            if let Some(archive) = &archive {
                bind!(sqlx::query(sqlx::AssertSqlSafe(archive.as_str())), cutoff)
                    .bind(self.batch)
                    .execute(&mut *tx)
                    .await?;
            }
            let n = bind!(sqlx::query(sqlx::AssertSqlSafe(delete.as_str())), cutoff)
                .bind(self.batch)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            if !progress.record(n).await {
                return Ok(progress.totals());
            }
        }
    }
}

/// Rows and batches so far; whether to go on.
struct Progress {
    size: u64,
    pause: Duration,
    rows: u64,
    batches: u64,
}

impl Progress {
    /// Counts a batch of `n` rows; `false` once a batch comes back short (nothing is left),
    /// else pauses so the app's writers get the lock before the next batch.
    async fn record(&mut self, n: u64) -> bool {
        if n > 0 {
            self.rows += n;
            self.batches += 1;
        }
        if n < self.size {
            return false;
        }
        if !self.pause.is_zero() {
            tokio::time::sleep(self.pause).await;
        }
        true
    }

    fn totals(&self) -> (u64, u64) {
        (self.rows, self.batches)
    }
}

fn required<T>(t: &TableReader, d: &mut Diagnostics, key: &str, value: Option<T>) -> Option<T> {
    if value.is_none() && !t.has(key) {
        d.error(t.span(), format!("{} has no `{key}`", t.context()), Some(format!("{key} = \"...\"")));
    }
    value
}

/// `sqlite:///abs/path`, `sqlite://relative/path` (to the config's folder), `postgres://...`,
/// `postgresql://...`, `mysql://...`, `mariadb://...`.
fn parse_database(url: &str, base: &Path) -> Option<Database> {
    if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        let path = path.split('?').next().unwrap_or(path);
        return (!path.is_empty()).then(|| Database::Sqlite(base.join(path)));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Some(Database::Postgres(url.to_string()));
    }
    if let Some(rest) = url.strip_prefix("mariadb://") {
        return Some(Database::Mysql(format!("mysql://{rest}")));
    }
    url.starts_with("mysql://").then(|| Database::Mysql(url.to_string()))
}
