//! The database probes — `postgres`, `mysql`, `sqlite` and `redis` — against the real services
//! on this machine: what each observes on a healthy database, how a query's first row becomes
//! `row.<column>`, and the words a failure is reported in.

mod support;

use serde_json::json;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode};
use upkeep_probe::Status;

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const MYSQL: &str = "mysql://root@127.0.0.1:3306/test";
const REDIS: &str = "redis://127.0.0.1:6379";

/// A table name no other test (or concurrent test run) uses.
fn unique(prefix: &str) -> String {
    format!("upkeep_{prefix}_{}", std::process::id())
}

/// A one-check config of `kind` with the given extra lines.
fn check(kind: &str, lines: &str) -> String {
    format!("[[check]]\nname = \"db\"\nkind = \"{kind}\"\n{lines}\n")
}

// PostgreSQL

#[tokio::test]
async fn postgres_reports_size_connections_and_query_row() {
    if !support::service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let table = unique("pg_failed_jobs");
    let pool = sqlx::PgPool::connect(POSTGRES).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE TABLE {table} (id serial PRIMARY KEY, job text NOT NULL)")))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {table} (job) VALUES ('mail'), ('invoice'), ('export')")))
        .execute(&pool)
        .await
        .unwrap();

    let query = format!("SELECT count(*) AS failed, 'jobs' AS source FROM {table}");
    let passing = support::run_one(&check(
        "postgres",
        &format!("url = \"{POSTGRES}\"\nquery = \"{query}\"\nexpect = [\"row.failed == 3\", \"latency < 5s\"]"),
    ))
    .await;
    let failing = support::run_one(&check(
        "postgres",
        &format!("url = \"{POSTGRES}\"\nquery = \"{query}\"\nexpect = [\"row.failed == 0\"]"),
    ))
    .await;

    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&pool).await.unwrap();
    pool.close().await;

    assert_eq!(passing.status, Status::Ok, "{:?}", passing.message);
    assert_eq!(passing.message, None);
    assert!(support::obs(&passing, "database_size").as_f64().unwrap() > 0.0);
    // At least the probe's own connection; the setup pool above is another.
    assert!(support::obs(&passing, "connections").as_f64().unwrap() >= 1.0);
    assert!(support::obs(&passing, "latency").as_f64().unwrap() >= 0.0);
    assert_eq!(support::obs(&passing, "rows"), json!(1.0));
    assert_eq!(support::obs(&passing, "row"), json!({"failed": 3, "source": "jobs"}));

    assert_eq!(failing.status, Status::Error);
    assert_eq!(failing.message.as_deref(), Some("expected row.failed == 0, got 3"));
    // A failed condition still keeps what was observed, for the dashboard and history.
    assert_eq!(support::obs(&failing, "row"), json!({"failed": 3, "source": "jobs"}));
}

#[tokio::test]
async fn postgres_reports_an_unknown_database_by_name() {
    if !support::service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let result =
        support::run_one(&check("postgres", "url = \"postgres://postgres@127.0.0.1:5432/upkeep_no_such_db\"")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(
        result.message.as_deref(),
        Some("127.0.0.1:5432/upkeep_no_such_db: database \"upkeep_no_such_db\" does not exist")
    );
    assert!(result.observations.is_empty());
}

#[tokio::test]
async fn postgres_reports_an_unknown_role_by_name() {
    if !support::service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    // Trust auth accepts any password, so the way to be refused is a role that does not exist.
    let result =
        support::run_one(&check("postgres", "url = \"postgres://upkeep_no_such_role@127.0.0.1:5432/test\"")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.as_deref(), Some("127.0.0.1:5432/test: role \"upkeep_no_such_role\" does not exist"));
}

#[tokio::test]
async fn postgres_reports_a_refused_connection_not_a_timeout() {
    // Nothing listens on port 1: the kernel refuses at once, and the probe should say so rather
    // than retry until the check's timeout and report that instead.
    let result =
        support::run_one(&check("postgres", "url = \"postgres://postgres@127.0.0.1:1/test\"\ntimeout = \"3s\"")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.as_deref(), Some("connection refused to 127.0.0.1:1/test"));
}

#[tokio::test]
async fn postgres_query_that_writes_is_a_config_error() {
    let text = check("postgres", &format!("url = \"{POSTGRES}\"\nquery = \"DELETE FROM failed_jobs\""));
    assert_eq!(
        support::errors(&text),
        ["upkeep.toml:5:9: `query` must read, not write (start with SELECT, WITH, SHOW, PRAGMA, VALUES or EXPLAIN)"]
    );
}

#[tokio::test]
async fn a_write_hidden_in_a_query_is_refused_by_the_database() {
    if !support::service("PostgreSQL", "127.0.0.1:5432") {
        return;
    }
    let table = unique("hidden_write");
    let pool = sqlx::PgPool::connect(POSTGRES).await.unwrap();
    for setup in [format!("CREATE TABLE {table} (id int)"), format!("INSERT INTO {table} VALUES (1), (2)")] {
        sqlx::query(sqlx::AssertSqlSafe(setup)).execute(&pool).await.unwrap();
    }
    // It starts with WITH, so it passes the config check; the database refuses the statement.
    let query = format!("WITH gone AS (DELETE FROM {table} RETURNING id) SELECT count(*) AS n FROM gone");
    let result = support::run_one(&check("postgres", &format!("url = \"{POSTGRES}\"\nquery = \"{query}\""))).await;
    let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&pool).await.unwrap();
    pool.close().await;

    assert_eq!(result.status, Status::Error);
    assert_eq!(
        result.message.as_deref(),
        Some("127.0.0.1:5432/test: cannot execute SELECT in a read-only transaction")
    );
    assert_eq!(left, 2, "the rows are still there");
}

// MariaDB / MySQL

#[tokio::test]
async fn mysql_reports_size_connections_and_query_row() {
    if !support::service("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let table = unique("my_orders");
    let pool = sqlx::MySqlPool::connect(MYSQL).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, status VARCHAR(16) NOT NULL) ENGINE=InnoDB"
    )))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (status) VALUES ('paid'), ('failed'), ('failed'), ('paid'), ('failed')"
    )))
    .execute(&pool)
    .await
    .unwrap();

    let query = format!("SELECT count(*) AS failed, 'orders' AS source FROM {table} WHERE status = 'failed'");
    let passing = support::run_one(&check(
        "mysql",
        &format!("url = \"{MYSQL}\"\nquery = \"{query}\"\nexpect = [\"row.failed == 3\", \"connections >= 1\"]"),
    ))
    .await;
    let failing = support::run_one(&check(
        "mysql",
        &format!("url = \"{MYSQL}\"\nquery = \"{query}\"\nexpect = [\"row.failed == 0\"]"),
    ))
    .await;

    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&pool).await.unwrap();
    pool.close().await;

    assert_eq!(passing.status, Status::Ok, "{:?}", passing.message);
    assert_eq!(passing.message, None);
    // The table created above has at least one InnoDB page.
    assert!(support::obs(&passing, "database_size").as_f64().unwrap() > 0.0);
    assert!(support::obs(&passing, "connections").as_f64().unwrap() >= 1.0);
    assert_eq!(support::obs(&passing, "rows"), json!(1.0));
    assert_eq!(support::obs(&passing, "row"), json!({"failed": 3, "source": "orders"}));

    assert_eq!(failing.status, Status::Error);
    assert_eq!(failing.message.as_deref(), Some("expected row.failed == 0, got 3"));
}

#[tokio::test]
async fn mysql_reports_a_wrong_password_as_access_denied() {
    if !support::service("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let result =
        support::run_one(&check("mysql", "url = \"mysql://root:upkeep-wrong-password@127.0.0.1:3306/test\"")).await;
    assert_eq!(result.status, Status::Error);
    let message = result.message.unwrap();
    // The server names the client host as it resolved it (`localhost` or `127.0.0.1`).
    assert!(message.starts_with("127.0.0.1:3306/test: Access denied for user 'root'@"), "{message}");
    assert!(message.ends_with("(using password: YES)"), "{message}");
}

#[tokio::test]
async fn mysql_reports_an_unknown_database_by_name() {
    if !support::service("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let result = support::run_one(&check("mysql", "url = \"mysql://root@127.0.0.1:3306/upkeep_no_such_db\"")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(
        result.message.as_deref(),
        Some("127.0.0.1:3306/upkeep_no_such_db: Unknown database 'upkeep_no_such_db'")
    );
}

#[tokio::test]
async fn mysql_reports_a_refused_connection_not_a_timeout() {
    let result = support::run_one(&check("mysql", "url = \"mysql://root@127.0.0.1:1/test\"\ntimeout = \"3s\"")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.as_deref(), Some("connection refused to 127.0.0.1:1/test"));
}

// SQLite

/// A WAL-mode database at `path` with three orders, left open so its `-wal` file stays.
async fn wal_database(path: &std::path::Path) -> SqliteConnection {
    let options =
        SqliteConnectOptions::new().filename(path).create_if_missing(true).journal_mode(SqliteJournalMode::Wal);
    let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
    sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL NOT NULL, status TEXT NOT NULL)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO orders (total, status) VALUES (9.5, 'paid'), (20.0, 'failed'), (12.25, 'paid')")
        .execute(&mut conn)
        .await
        .unwrap();
    conn
}

#[tokio::test]
async fn sqlite_reports_wal_mode_sizes_and_query_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    let writer = wal_database(&path).await;

    let result = support::run_one(&check(
        "sqlite",
        &format!(
            "path = \"{}\"\nquery = \"SELECT count(*) AS orders, max(total) AS biggest, min(status) AS first_status FROM orders\"\nexpect = [\"row.orders == 3\", \"journal_mode == 'wal'\"]",
            path.display()
        ),
    ))
    .await;
    // The WAL is checkpointed on close, so it must be measured while the writer holds it open.
    let wal_on_disk = std::fs::metadata(format!("{}-wal", path.display())).unwrap().len();
    writer.close().await.unwrap();

    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    assert_eq!(support::obs(&result, "journal_mode"), json!("wal"));
    assert!(wal_on_disk > 0);
    assert_eq!(support::obs(&result, "wal_size"), json!(wal_on_disk as f64));
    assert!(support::obs(&result, "database_size").as_f64().unwrap() > 0.0);
    assert_eq!(support::obs(&result, "rows"), json!(1.0));
    assert_eq!(support::obs(&result, "row"), json!({"orders": 3, "biggest": 20.0, "first_status": "failed"}));
    // `quick_check` is only run when asked for.
    assert_eq!(support::obs(&result, "quick_check"), serde_json::Value::Null);
}

#[tokio::test]
async fn sqlite_failed_condition_names_the_row_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    let writer = wal_database(&path).await;
    let result = support::run_one(&check(
        "sqlite",
        &format!(
            "path = \"{}\"\nquery = \"SELECT count(*) AS failed FROM orders WHERE status = 'failed'\"\nexpect = [\"row.failed == 0\"]",
            path.display()
        ),
    ))
    .await;
    writer.close().await.unwrap();
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.as_deref(), Some("expected row.failed == 0, got 1"));
}

#[tokio::test]
async fn sqlite_quick_check_reports_ok_on_a_sound_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.sqlite");
    let writer = wal_database(&path).await;
    let by_key =
        support::run_one(&check("sqlite", &format!("path = \"{}\"\nquick_check = true", path.display()))).await;
    // Reading `quick_check` in a condition turns it on without the key.
    let by_expect = support::run_one(&check(
        "sqlite",
        &format!("path = \"{}\"\nexpect = [\"quick_check == 'ok'\"]", path.display()),
    ))
    .await;
    writer.close().await.unwrap();

    assert_eq!(by_key.status, Status::Ok, "{:?}", by_key.message);
    assert_eq!(support::obs(&by_key, "quick_check"), json!("ok"));
    assert_eq!(by_expect.status, Status::Ok, "{:?}", by_expect.message);
    assert_eq!(support::obs(&by_expect, "quick_check"), json!("ok"));
}

#[tokio::test]
async fn sqlite_missing_file_is_an_error_and_is_not_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.sqlite");
    let result = support::run_one(&check("sqlite", &format!("path = \"{}\"", path.display()))).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message, Some(format!("database file {} does not exist", path.display())));
    assert!(!path.exists(), "the probe must never create the database it watches");
}

// Redis

/// A connection for setting up what the probe should then see.
async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(REDIS).unwrap().get_multiplexed_async_connection().await.unwrap()
}

#[tokio::test]
async fn redis_reports_latency_roundtrip_memory_and_clients() {
    if !support::service("Redis", "127.0.0.1:6379") {
        return;
    }
    let result = support::run_one(&check(
        "redis",
        &format!("url = \"{REDIS}\"\nexpect = [\"latency < 5s\", \"roundtrip < 5s\"]"),
    ))
    .await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    assert!(support::obs(&result, "latency").as_f64().unwrap() >= 0.0);
    assert!(support::obs(&result, "roundtrip").as_f64().unwrap() > 0.0);
    assert!(support::obs(&result, "used_memory").as_f64().unwrap() > 0.0);
    // The probe's own connection is one.
    assert!(support::obs(&result, "connected_clients").as_f64().unwrap() >= 1.0);
    assert!(support::obs(&result, "evicted_keys").as_f64().unwrap() >= 0.0);
    // `queue` was not configured.
    assert_eq!(support::obs(&result, "queue_length"), serde_json::Value::Null);
}

#[tokio::test]
async fn redis_skips_the_roundtrip_when_turned_off() {
    if !support::service("Redis", "127.0.0.1:6379") {
        return;
    }
    let result = support::run_one(&check("redis", &format!("url = \"{REDIS}\"\nroundtrip = false"))).await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    assert_eq!(support::obs(&result, "roundtrip"), serde_json::Value::Null);
    assert!(support::obs(&result, "used_memory").as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn redis_reports_queue_length_of_a_list() {
    if !support::service("Redis", "127.0.0.1:6379") {
        return;
    }
    let key = format!("upkeep:test:queue:{}", std::process::id());
    let mut conn = redis().await;
    let _: i64 = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.unwrap();
    let pushed: i64 =
        redis::cmd("RPUSH").arg(&key).arg(&["a", "b", "c", "d", "e"]).query_async(&mut conn).await.unwrap();
    assert_eq!(pushed, 5);

    let result = support::run_one(&check(
        "redis",
        &format!("url = \"{REDIS}\"\nqueue = \"{key}\"\nexpect = [\"queue_length < 5\"]"),
    ))
    .await;
    let _: i64 = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.unwrap();

    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.as_deref(), Some("expected queue_length < 5, got 5"));
    assert_eq!(support::obs(&result, "queue_length"), json!(5.0));
}

#[tokio::test]
async fn redis_reports_hit_ratio_once_the_cache_is_read() {
    if !support::service("Redis", "127.0.0.1:6379") {
        return;
    }
    let key = format!("upkeep:test:hit:{}", std::process::id());
    let mut conn = redis().await;
    let _: () = redis::cmd("SET").arg(&key).arg("cached").query_async(&mut conn).await.unwrap();
    let hit: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
    let miss: Option<String> =
        redis::cmd("GET").arg(format!("upkeep:test:miss:{}", std::process::id())).query_async(&mut conn).await.unwrap();
    let _: i64 = redis::cmd("DEL").arg(&key).query_async(&mut conn).await.unwrap();
    assert_eq!((hit.as_deref(), miss), (Some("cached"), None));

    let result = support::run_one(&check("redis", &format!("url = \"{REDIS}\"\nexpect = [\"hit_ratio > 0%\"]"))).await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    // Counted since the server started: at least one hit and one miss, so strictly between.
    let ratio = support::obs(&result, "hit_ratio").as_f64().unwrap();
    assert!(ratio > 0.0 && ratio < 100.0, "hit_ratio = {ratio}");
}

#[tokio::test]
async fn redis_reports_a_refused_connection() {
    let result = support::run_one(&check("redis", "url = \"redis://127.0.0.1:1\"\ntimeout = \"3s\"")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.as_deref(), Some("connection refused to 127.0.0.1:1"));
}

#[tokio::test]
async fn redis_url_that_is_not_redis_is_a_config_error() {
    let errors = support::errors(&check("redis", "url = \"http://x\""));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("upkeep.toml:4:7: `url` is not a Redis URL: "), "{errors:?}");
}

#[tokio::test]
async fn redis_reports_a_refused_password() {
    if !support::service("Redis", "127.0.0.1:6379") {
        return;
    }
    // The machine's Redis has no password, so any password is refused at AUTH.
    let result = support::run_one(&check("redis", "url = \"redis://:wrong@127.0.0.1:6379\"")).await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(
        result.message.as_deref(),
        Some(
            "authentication to Redis at 127.0.0.1:6379 failed: the password was refused (check the URL's user and password)"
        )
    );
}
