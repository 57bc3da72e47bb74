//! `retention` against the real SQLite, PostgreSQL and MariaDB: exactly the old rows go (into
//! the archive when asked), in batches, while another connection keeps writing (002-21, 002-32,
//! 004-17).

mod support;

use sqlx::{Connection, Executor};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use support::*;

const OLD: i64 = 2_500;
const NEW: i64 = 100;

fn now() -> jiff::Timestamp {
    "2026-12-02T12:00:00Z".parse().unwrap()
}

/// `created_at` values: OLD rows a year old, NEW rows a day old.
fn stamps() -> Vec<String> {
    let year = (0..OLD).map(|i| format!("2025-11-{:02} 10:00:{:02}", 1 + i % 28, i % 60));
    let day = (0..NEW).map(|i| format!("2026-12-01 10:{:02}:00", i % 60));
    year.chain(day).collect()
}

#[tokio::test]
async fn sqlite_rows_older_than_the_cutoff_move_to_the_archive_in_batches_while_the_app_writes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.sqlite");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(30));
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await.unwrap();
    conn.execute("CREATE TABLE audit_logs (id INTEGER PRIMARY KEY, action TEXT, created_at TEXT)").await.unwrap();
    conn.execute("CREATE TABLE audit_logs_archive (id INTEGER PRIMARY KEY, action TEXT, created_at TEXT)")
        .await
        .unwrap();
    let mut tx = conn.begin().await.unwrap();
    for stamp in stamps() {
        sqlx::query("INSERT INTO audit_logs (action, created_at) VALUES ('seed', ?)")
            .bind(stamp)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    // The app keeps writing new rows through its own connection.
    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writer = {
        let (stop, written, options) = (stop.clone(), written.clone(), options.clone());
        tokio::spawn(async move {
            let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await.unwrap();
            while !stop.load(Ordering::Relaxed) {
                sqlx::query("INSERT INTO audit_logs (action, created_at) VALUES ('app', '2026-12-02 11:59:59')")
                    .execute(&mut conn)
                    .await
                    .expect("the app's write must not fail");
                written.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        })
    };
    let task = task(&format!(
        "[[task]]\nname = \"audit\"\nkind = \"retention\"\ndatabase = \"sqlite://{}\"\ntable = \"audit_logs\"\ncolumn = \"created_at\"\nolder_than = \"90d\"\narchive_to = \"audit_logs_archive\"\nbatch = 500\npause = \"1ms\"\nschedule = \"0 3 * * 0\"\n",
        db.display()
    ));
    let dry = run_at(&task, now(), true).await;
    assert_eq!(dry.changes["rows_matching"], OLD as f64);
    let outcome = run_at(&task, now(), false).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();

    assert_eq!(outcome.changes["rows_deleted"], OLD as f64, "{}", outcome.summary);
    assert_eq!(outcome.changes["rows_archived"], OLD as f64);
    assert_eq!(outcome.changes["batches"], (OLD / 500) as f64);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM audit_logs").fetch_one(&mut conn).await.unwrap();
    assert_eq!(left, NEW + written.load(Ordering::Relaxed) as i64, "new rows and every row the app wrote remain");
    let archived: Vec<(String,)> =
        sqlx::query_as("SELECT created_at FROM audit_logs_archive").fetch_all(&mut conn).await.unwrap();
    assert_eq!(archived.len() as i64, OLD);
    assert!(archived.iter().all(|(at,)| at.as_str() < "2026-09-03"), "only rows older than 90 days were archived");
    assert!(written.load(Ordering::Relaxed) > 0, "the app wrote during the run");
}

#[tokio::test]
async fn postgres_rows_older_than_the_cutoff_move_to_the_archive_in_batches_while_the_app_writes() {
    if !service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let table = unique("audit");
    let mut conn = sqlx::postgres::PgConnection::connect(POSTGRES).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (id bigserial PRIMARY KEY, action text, created_at timestamp)"
    )))
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table}_archive (id bigint PRIMARY KEY, action text, created_at timestamp)"
    )))
    .await
    .unwrap();
    let stamps = stamps();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (action, created_at) SELECT 'seed', unnest($1::text[])::timestamp"
    )))
    .bind(&stamps)
    .execute(&mut conn)
    .await
    .unwrap();
    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writer = {
        let (stop, written, table) = (stop.clone(), written.clone(), table.clone());
        tokio::spawn(async move {
            let mut conn = sqlx::postgres::PgConnection::connect(POSTGRES).await.unwrap();
            while !stop.load(Ordering::Relaxed) {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (action, created_at) VALUES ('app', '2026-12-02 11:59:59')"
                )))
                .execute(&mut conn)
                .await
                .unwrap();
                written.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let task = task(&format!(
        "[[task]]\nname = \"audit\"\nkind = \"retention\"\ndatabase = \"{POSTGRES}\"\ntable = \"{table}\"\ncolumn = \"created_at\"\nolder_than = \"90d\"\narchive_to = \"{table}_archive\"\nbatch = 500\npause = \"1ms\"\nschedule = \"0 3 * * 0\"\n"
    ));
    let outcome = run_at(&task, now(), false).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert_eq!(outcome.changes["rows_deleted"], OLD as f64, "{}", outcome.summary);
    assert_eq!(outcome.changes["batches"], (OLD / 500) as f64);
    let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, NEW + written.load(Ordering::Relaxed) as i64);
    let (archived, newest): (i64, Option<String>) =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT count(*), max(created_at)::text FROM {table}_archive")))
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!(archived, OLD);
    assert!(newest.unwrap().as_str() < "2026-09-03");
    conn.execute(sqlx::AssertSqlSafe(format!("DROP TABLE {table}, {table}_archive"))).await.unwrap();
}

#[tokio::test]
async fn mysql_rows_older_than_the_cutoff_move_to_the_archive_in_batches_while_the_app_writes() {
    if !service("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let table = unique("audit");
    let mut conn = sqlx::mysql::MySqlConnection::connect(MYSQL).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE TABLE {table} (id BIGINT AUTO_INCREMENT PRIMARY KEY, action VARCHAR(20), created_at DATETIME, INDEX (created_at)) ENGINE=InnoDB"))).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table}_archive (id BIGINT PRIMARY KEY, action VARCHAR(20), created_at DATETIME) ENGINE=InnoDB"
    )))
    .await
    .unwrap();
    let mut tx = conn.begin().await.unwrap();
    for chunk in stamps().chunks(500) {
        let values = chunk.iter().map(|s| format!("('seed', '{s}')")).collect::<Vec<_>>().join(",");
        tx.execute(sqlx::AssertSqlSafe(format!("INSERT INTO {table} (action, created_at) VALUES {values}")))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
    let writer = {
        let (stop, written, table) = (stop.clone(), written.clone(), table.clone());
        tokio::spawn(async move {
            let mut conn = sqlx::mysql::MySqlConnection::connect(MYSQL).await.unwrap();
            while !stop.load(Ordering::Relaxed) {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (action, created_at) VALUES ('app', '2026-12-02 11:59:59')"
                )))
                .execute(&mut conn)
                .await
                .unwrap();
                written.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    let task = task(&format!(
        "[[task]]\nname = \"audit\"\nkind = \"retention\"\ndatabase = \"{MYSQL}\"\ntable = \"{table}\"\ncolumn = \"created_at\"\nolder_than = \"90d\"\narchive_to = \"{table}_archive\"\nbatch = 500\npause = \"1ms\"\nschedule = \"0 3 * * 0\"\n"
    ));
    let outcome = run_at(&task, now(), false).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert_eq!(outcome.changes["rows_deleted"], OLD as f64, "{}", outcome.summary);
    let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, NEW + written.load(Ordering::Relaxed) as i64);
    let archived: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table}_archive WHERE created_at < '2026-09-03'"
    )))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(archived, OLD);
    conn.execute(sqlx::AssertSqlSafe(format!("DROP TABLE {table}, {table}_archive"))).await.unwrap();
}
