//! The database kinds against the real SQLite, PostgreSQL, MariaDB and Redis, each beside the
//! manual's broken version of the same job (004-17, 004-18, 004-52, 004-58, 002-18, 002-20).

mod support;

use sqlx::{Connection, Executor};
use support::*;

#[tokio::test]
async fn sqlite_vacuum_reclaims_the_space_of_a_large_delete_and_verifies_persistent_pragmas() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.sqlite");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db)
        .create_if_missing(true)
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await.unwrap();
    conn.execute("CREATE TABLE cache (key TEXT PRIMARY KEY, value BLOB)").await.unwrap();
    conn.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO cache SELECT 'k' || i, randomblob(1024) FROM n").await.unwrap();
    conn.execute("DELETE FROM cache WHERE rowid % 10 != 0").await.unwrap();
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").await.unwrap();
    let before = std::fs::metadata(&db).unwrap().len();

    let toml = |pragma: &str| {
        format!(
            "[[task]]\nname = \"sqlite-weekly\"\nkind = \"sqlite-maintenance\"\npath = \"{}\"\nschedule = \"0 4 * * 0\"\n\
         steps = [\"integrity_check\", \"optimize\", \"analyze\", \"vacuum\", \"wal_checkpoint\"]\npragmas = {{ journal_mode = \"{pragma}\" }}\n",
            db.display()
        )
    };
    let task = task(&toml("wal"));
    let dry = run_at(&task, jiff::Timestamp::now(), true).await;
    assert!(dry.changes["bytes_reclaimable"] > 10e6, "{:?}", dry.changes);
    assert_eq!(std::fs::metadata(&db).unwrap().len(), before, "a dry run changes nothing");

    let outcome = run(&task).await;
    assert!(outcome.summary.contains("integrity check ok"), "{}", outcome.summary);
    assert!(outcome.changes["bytes_reclaimed"] > 10e6, "{:?}", outcome.changes);
    drop(conn);
    let after = std::fs::metadata(&db).unwrap().len();
    assert!(after < before / 3, "the file shrank: {before} → {after}");
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM cache").fetch_one(&mut conn).await.unwrap();
    assert_eq!(rows, 2000, "no row was lost");

    // A database not in WAL mode fails the pragma verification (000-67).
    let wrong = task_from(&toml("delete"));
    let failure = wrong.run(upkeep_maintain::Run { dry_run: false, now: jiff::Timestamp::now() }).await.unwrap_err();
    assert_eq!(failure.message, "pragma journal_mode is wal, not delete");
}

fn task_from(toml: &str) -> upkeep_maintain::Task {
    task(toml)
}

#[test]
fn pragmas_that_live_only_in_the_apps_connections_are_refused_with_the_reason() {
    let errors = errors(
        "[[task]]\nname = \"s\"\nkind = \"sqlite-maintenance\"\npath = \"db.sqlite\"\nschedule = \"0 4 * * 0\"\npragmas = { synchronous = \"normal\" }\n",
    );
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("6:27: pragma `synchronous` cannot be verified from outside the app"), "{errors:?}");
}

#[tokio::test]
async fn postgres_vacuum_runs_outside_a_transaction_where_the_manuals_psql_c_rolls_everything_back() {
    if !service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let table = unique("sessions");
    let mut conn = sqlx::postgres::PgConnection::connect(POSTGRES).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("CREATE TABLE {table} (id serial PRIMARY KEY, expires_at timestamp)")))
        .await
        .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (expires_at) SELECT now() - interval '60 days' FROM generate_series(1, 5000)"
    )))
    .await
    .unwrap();

    // 004-17, as written: one `psql -c` with the deletes and VACUUM. PostgreSQL refuses VACUUM
    // inside the implicit transaction, and the deletes roll back with it.
    let manual = std::process::Command::new("psql")
        .args([
            POSTGRES,
            "-c",
            &format!("DELETE FROM {table} WHERE expires_at < now() - interval '30 days'; VACUUM ANALYZE;"),
        ])
        .output()
        .expect("psql (postgresql-client) is installed");
    assert!(!manual.status.success());
    assert!(String::from_utf8_lossy(&manual.stderr).contains("cannot run inside a transaction block"));
    let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 5000, "the manual's delete was rolled back: nothing happened");

    let tasks = tasks(&format!(
        "[[task]]\nname = \"sessions\"\nkind = \"retention\"\ndatabase = \"{POSTGRES}\"\ntable = \"{table}\"\ncolumn = \"expires_at\"\nolder_than = \"30d\"\nschedule = \"0 18 * * *\"\n\n\
         [[task]]\nname = \"vacuum\"\nkind = \"postgres-maintenance\"\nurl = \"{POSTGRES}\"\ntables = [\"{table}\"]\nreindex = [\"{table}_pkey\"]\nschedule = \"0 18 * * *\"\n"
    ));
    let deleted = run(&tasks[0]).await;
    assert_eq!(deleted.changes["rows_deleted"], 5000.0);
    let vacuumed = run(&tasks[1]).await;
    assert!(vacuumed.summary.contains(&format!("ran VACUUM (ANALYZE) \"{table}\"")), "{}", vacuumed.summary);
    assert!(vacuumed.summary.contains(&format!("reindexed {table}_pkey concurrently")), "{}", vacuumed.summary);
    let (vacuumed_at, analyzed_at): (Option<String>, Option<String>) = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT last_vacuum::text, last_analyze::text FROM pg_stat_user_tables WHERE relname = '{table}'"
    )))
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert!(vacuumed_at.is_some() && analyzed_at.is_some(), "VACUUM and ANALYZE ran");
    let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(left, 0, "and the delete before it stayed done");
    conn.execute(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).await.unwrap();
}

#[tokio::test]
async fn mysql_analyze_check_and_optimize_after_a_free_space_check() {
    if !service("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let table = unique("cases");
    let mut conn = sqlx::mysql::MySqlConnection::connect(MYSQL).await.unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, title VARCHAR(100)) ENGINE=InnoDB"
    )))
    .await
    .unwrap();
    conn.execute(sqlx::AssertSqlSafe(format!("INSERT INTO {table} (title) VALUES ('a'), ('b'), ('c')"))).await.unwrap();
    let task = task(&format!(
        "[[task]]\nname = \"db-monthly\"\nkind = \"mysql-maintenance\"\nurl = \"{MYSQL}\"\ntables = [\"{table}\"]\nsteps = [\"analyze\", \"check\", \"optimize\"]\nschedule = \"0 4 1 * *\"\n"
    ));
    let outcome = run(&task).await;
    assert_eq!(
        outcome.summary, "analyzed 1 tables; checked 1 tables: all OK; optimized 1 tables",
        "{}",
        outcome.output
    );
    assert_eq!(outcome.changes["tables_not_ok"], 0.0);
    assert!(outcome.output.contains(&format!("test.{table}: status: OK")), "{}", outcome.output);
    conn.execute(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).await.unwrap();
}

#[tokio::test]
async fn redis_clean_up_deletes_only_the_keys_it_names_where_the_manual_flushes_the_database() {
    if !service("Redis", "127.0.0.1:6379") {
        return;
    }
    let prefix = unique("t");
    let client = redis::Client::open(REDIS).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for i in 0..250 {
        let _: () = redis::cmd("SET").arg(format!("{prefix}:cache:{i}")).arg("v").query_async(&mut conn).await.unwrap();
    }
    for i in 0..5 {
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}:session:{i}"))
            .arg("s")
            .arg("EX")
            .arg(3600)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let _: () = redis::cmd("RPUSH").arg(format!("{prefix}:queue")).arg("job").query_async(&mut conn).await.unwrap();
    let task = task(&format!(
        "[[task]]\nname = \"cache\"\nkind = \"redis-maintenance\"\nurl = \"{REDIS}\"\ndelete_matching = \"{prefix}:cache:*\"\nschedule = \"0 18 * * *\"\n"
    ));
    let dry = run_at(&task, jiff::Timestamp::now(), true).await;
    assert_eq!(dry.changes["keys_matching"], 250.0);
    let outcome = run(&task).await;
    assert_eq!(outcome.changes["keys_deleted"], 250.0, "{}", outcome.summary);
    assert!(outcome.changes["keys_without_ttl"] >= 1.0, "the queue has no expiry");
    assert!(outcome.output.contains("memory: "), "{}", outcome.output);
    let sessions: Vec<String> =
        redis::cmd("KEYS").arg(format!("{prefix}:session:*")).query_async(&mut conn).await.unwrap();
    assert_eq!(sessions.len(), 5, "sessions survive (004-18's FLUSHDB would take them)");
    let queued: i64 = redis::cmd("LLEN").arg(format!("{prefix}:queue")).query_async(&mut conn).await.unwrap();
    assert_eq!(queued, 1, "and the queue");
    let _: i64 = redis::cmd("DEL")
        .arg(format!("{prefix}:queue"))
        .arg((0..5).map(|i| format!("{prefix}:session:{i}")).collect::<Vec<_>>())
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[test]
fn a_clean_up_of_every_key_is_refused() {
    let errors = errors(
        "[[task]]\nname = \"c\"\nkind = \"redis-maintenance\"\nurl = \"redis://127.0.0.1/\"\ndelete_matching = \"*\"\nschedule = \"0 18 * * *\"\n",
    );
    assert!(errors.iter().any(|e| e.contains("5:19: `delete_matching` would delete every key")), "{errors:?}");
}
