//! Backups run by the real binary: the app's SQLite database backed up, listed, deleted, and
//! restored with every row (the manuals' restore scripts, 000-38/39 and 001-55..58); a failed
//! run exits 1 and leaves no snapshot; `upkeep check` points a backup's name at `upkeep backup
//! run`.

mod support;

use std::path::Path;
use std::process::Command;

/// `upkeep -c CONFIG ARGS`: exit code, stdout and stderr.
fn upkeep(config: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep")).arg("-c").arg(config).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test]
async fn a_deleted_database_comes_back_with_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("database.sqlite");
    let pool =
        sqlx::sqlite::SqlitePoolOptions::new().connect(&format!("sqlite://{}?mode=rwc", db.display())).await.unwrap();
    sqlx::query("CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT)").execute(&pool).await.unwrap();
    sqlx::query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1234) INSERT INTO users (email) SELECT 'u' || i || '@example.com' FROM n")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let config = dir.path().join("upkeep.toml");
    std::fs::write(
        &config,
        "[server]\ndata_dir = \"data\"\n\n[[backup]]\nname = \"db\"\nsource = { kind = \"sqlite\", path = \"database.sqlite\" }\nschedule = \"0 2 * * *\"\n\n\
         [[backup]]\nname = \"broken\"\nsource = { kind = \"command\", command = \"exit 5\" }\n",
    )
    .unwrap();

    let (code, out, err) = upkeep(&config, &["backup", "run", "db", "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let run = json(&out);
    assert_eq!(run[0]["snapshot"]["meta"]["tables"]["users"], 1234);
    let id = run[0]["snapshot"]["id"].as_str().unwrap().to_string();
    assert!(dir.path().join("data/backup.key").exists(), "a password was made on first use");

    let (code, out, _) = upkeep(&config, &["backup", "run", "broken"]);
    assert_eq!(code, Some(1));
    let (_, tasks_out, _) = upkeep(&config, &["backup", "list", "--json"]);
    let listed = json(&tasks_out);
    assert_eq!(listed.as_array().unwrap().len(), 1, "the failed run left no snapshot: {listed}");
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(out.is_empty());

    // The app's database is lost; the backup brings every row back.
    std::fs::remove_file(&db).unwrap();
    let restore_dir = dir.path().join("restore");
    let (code, out, err) = upkeep(&config, &["backup", "restore", &id[..8], "--to", restore_dir.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("as "), "{out}");
    let restored = sqlx::sqlite::SqlitePoolOptions::new()
        .connect(&format!("sqlite://{}?mode=ro", restore_dir.join("database.sqlite").display()))
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&restored).await.unwrap();
    assert_eq!(rows, 1234);
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&restored).await.unwrap();
    assert_eq!(check, "ok");
    restored.close().await;
    // And in place: the database is gone, so there is nothing to copy first; it is put back whole.
    let (code, out, err) = upkeep(&config, &["backup", "restore", &id[..8], "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let put_back = json(&out);
    assert_eq!(put_back["restored"]["safety_copy"], serde_json::Value::Null, "{put_back}");
    assert_eq!(put_back["restored"]["done"][0], format!("{} was gone: put back whole", db.display()));
    let app =
        sqlx::sqlite::SqlitePoolOptions::new().connect(&format!("sqlite://{}?mode=ro", db.display())).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&app).await.unwrap();
    assert_eq!(rows, 1234, "every row is back where the app reads it");
    app.close().await;

    // A drill proves it (the database itself is gone: the drill needs only the repository).
    let (code, out, err) = upkeep(&config, &["backup", "verify", "--drill", "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let drills = json(&out);
    assert_eq!(drills[0]["ok"], true, "{drills}");
    assert_eq!(drills[0]["snapshot"], id.as_str());
    assert_eq!(drills[0]["checks"][2], "1 tables, 1234 rows, as recorded");
    let (code, out, _) = upkeep(&config, &["backup", "verify", &id[..8]]);
    assert_eq!(code, Some(0));
    assert!(out.contains("every blob read back and its hash checked"), "{out}");

    // Restoring over something is refused.
    let (code, _, err) = upkeep(&config, &["backup", "restore", &id[..8], "--to", restore_dir.to_str().unwrap()]);
    assert_eq!(code, Some(2));
    assert!(err.contains("is not empty"), "{err}");
    // A backup is not a smoke test.
    let (code, _, err) = upkeep(&config, &["check", "db"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("`db` is a backup: run it with `upkeep backup run db`"), "{err}");
}

async fn count(pool: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string())).fetch_one(pool).await.unwrap()
}

/// Restore in place while the app keeps its connection open (WAL): a safety copy of the live
/// data first, the app in maintenance mode around it, the whole database or one table put back
/// in one transaction the app's connection sees at once; drills mark snapshots good, and the
/// status shows RPO and RTO against the targets.
#[tokio::test]
async fn restore_in_place_keeps_a_safety_copy_and_the_app_in_maintenance_mode() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("database.sqlite");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let app = sqlx::sqlite::SqlitePoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    sqlx::query("PRAGMA journal_mode = WAL").execute(&app).await.unwrap();
    sqlx::query("CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT UNIQUE)")
        .execute(&app)
        .await
        .unwrap();
    sqlx::query("CREATE INDEX users_email ON users (email)").execute(&app).await.unwrap();
    sqlx::query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1234) INSERT INTO users (email) SELECT 'u' || i || '@example.com' FROM n")
        .execute(&app)
        .await
        .unwrap();
    let at = |name: &str| dir.path().join(name).display().to_string();
    let (db_path, on_count, off_count) = (at("database.sqlite"), at("count-at-on"), at("count-at-off"));
    let config = dir.path().join("upkeep.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = \"data\"\n\n[maintenance_mode]\nkind = \"command\"\n\
             on = \"sqlite3 {db_path} 'SELECT COUNT(*) FROM users' > {on_count}\"\n\
             off = \"sqlite3 {db_path} 'SELECT COUNT(*) FROM users' > {off_count}\"\n\n\
             [[backup]]\nname = \"db\"\nsource = {{ kind = \"sqlite\", path = \"database.sqlite\" }}\n\
             schedule = \"0 2 * * *\"\ndrill = \"0 5 * * 0\"\nmax_age = \"26h\"\nrto = \"1h\"\n"
        ),
    )
    .unwrap();
    let (code, out, err) = upkeep(&config, &["backup", "run", "db", "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let id = json(&out)[0]["snapshot"]["id"].as_str().unwrap().to_string();

    // Not good until a drill passes on it; then listed good, and the status has an RPO and RTO.
    let (_, out, _) = upkeep(&config, &["backup", "list", "--json"]);
    assert_eq!(json(&out)[0]["good"], false);
    let (code, out, err) = upkeep(&config, &["backup", "verify", "--drill"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let (_, out, _) = upkeep(&config, &["backup", "list", "--json"]);
    assert_eq!(json(&out)[0]["good"], true, "{out}");
    let (code, out, _) = upkeep(&config, &["backup", "status", "--json"]);
    assert_eq!(code, Some(0), "{out}");
    let status = &json(&out)[0];
    assert_eq!(status["targets_met"], true, "{status}");
    assert_eq!(status["status"]["newest_good"]["snapshot"], id.as_str());
    assert!(status["status"]["rpo"].as_u64().unwrap() < 60_000, "{status}");
    assert!(status["status"]["rto"].as_u64().is_some(), "{status}");
    let (_, out, _) = upkeep(&config, &["backup", "inspect", &id[..8], "--json"]);
    let inspected = json(&out);
    assert_eq!((inspected["good"].clone(), inspected["meta"]["tables"]["users"].clone()), (true.into(), 1234.into()));

    // The app loses rows and gains a table; the whole database comes back, in place.
    sqlx::query("DELETE FROM users WHERE id > 1000").execute(&app).await.unwrap();
    sqlx::query("CREATE TABLE junk (x)").execute(&app).await.unwrap();
    let (code, out, err) = upkeep(&config, &["backup", "restore", &id[..8], "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let restored = json(&out);
    assert_eq!(restored["restored"]["maintenance_mode"].as_array().unwrap().len(), 2, "{restored}");
    assert_eq!(std::fs::read_to_string(&on_count).unwrap().trim(), "1000", "the mode went on before the restore");
    assert_eq!(std::fs::read_to_string(&off_count).unwrap().trim(), "1234", "and off after it");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 1234, "the app's open connection sees it");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'junk'").await, 0);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'users_email'").await, 1);
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&app).await.unwrap();
    assert_eq!(integrity, "ok");
    let safety = restored["restored"]["safety_copy"].as_str().unwrap();
    let copy = sqlx::sqlite::SqlitePoolOptions::new().connect(&format!("sqlite://{safety}?mode=ro")).await.unwrap();
    assert_eq!(count(&copy, "SELECT COUNT(*) FROM users").await, 1000, "the safety copy holds the data it replaced");
    copy.close().await;

    // One table: the others keep what was written since the backup.
    sqlx::query("CREATE TABLE posts (id INTEGER PRIMARY KEY)").execute(&app).await.unwrap();
    sqlx::query("INSERT INTO posts VALUES (1), (2)").execute(&app).await.unwrap();
    sqlx::query("DELETE FROM users").execute(&app).await.unwrap();
    let (code, out, err) = upkeep(&config, &["backup", "restore", &id[..8], "--only", "users"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("table users: 1234 rows put back in one transaction"), "{out}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 1234);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM posts").await, 2);
    let (code, _, err) = upkeep(&config, &["backup", "restore", &id[..8], "--only", "nope"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("the snapshot has no table `nope` (nothing was changed)"), "{err}");

    // No safety copy can be taken: nothing changes unless forced.
    let safety_dir = dir.path().join("data/safety-copies");
    std::fs::remove_dir_all(&safety_dir).unwrap();
    std::fs::write(&safety_dir, "in the way").unwrap();
    sqlx::query("DELETE FROM users").execute(&app).await.unwrap();
    let (code, _, err) = upkeep(&config, &["backup", "restore", &id[..8]]);
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot take a safety copy") && err.contains("--force"), "{err}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 0, "nothing was changed");
    let (code, out, err) = upkeep(&config, &["backup", "restore", &id[..8], "--force"]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM users").await, 1234);
    app.close().await;
}

/// `/api/v1/backups` shows each backup's standing; a viewer cannot queue a drill, an admin can,
/// and the drill is audited and proves the snapshot good; `/metrics` carries the backup metrics.
#[tokio::test]
async fn the_api_shows_backups_and_queues_a_drill_for_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("database.sqlite");
    let pool =
        sqlx::sqlite::SqlitePoolOptions::new().connect(&format!("sqlite://{}?mode=rwc", db.display())).await.unwrap();
    sqlx::query("CREATE TABLE users (id INTEGER PRIMARY KEY)").execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO users VALUES (1), (2), (3)").execute(&pool).await.unwrap();
    pool.close().await;
    let token = |role: &str| {
        let (token, stderr) = support::upkeep(&["token", "new", "--name", role, "--role", role], "");
        (token, support::token_sha(&stderr))
    };
    let ((viewer, viewer_sha), (admin, admin_sha)) = (token("viewer"), token("admin"));
    let config = support::write_config(
        dir.path(),
        &format!(
            "[[token]]\nname = \"viewer\"\nsha256 = \"{viewer_sha}\"\nrole = \"viewer\"\n\n\
             [[token]]\nname = \"admin\"\nsha256 = \"{admin_sha}\"\nrole = \"admin\"\n\n\
             [[backup]]\nname = \"db\"\nsource = {{ kind = \"sqlite\", path = \"database.sqlite\" }}\n\
             schedule = \"0 2 * * *\"\ndrill = \"0 5 * * 0\"\nmax_age = \"26h\"\n"
        ),
    );
    let (code, out, err) = upkeep(&config, &["backup", "run", "db", "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let id = json(&out)[0]["snapshot"]["id"].as_str().unwrap().to_string();
    let daemon = support::Daemon::start(&config);
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str| {
        client.request(method, format!("{}{path}", daemon.url)).bearer_auth(token).send()
    };
    let backups: serde_json::Value =
        call(reqwest::Method::GET, "/api/v1/backups", &viewer).await.unwrap().json().await.unwrap();
    let db_backup = &backups["backups"][0];
    assert_eq!(db_backup["name"], "db");
    assert_eq!(db_backup["status"]["last_success"]["snapshot"], id.as_str());
    assert_eq!(db_backup["status"]["newest_good"], serde_json::Value::Null, "not drilled yet");
    assert_eq!(db_backup["max_age_ms"], 26 * 3600 * 1000);

    let refused = call(reqwest::Method::POST, "/api/v1/backups/db/drill", &viewer).await.unwrap();
    assert_eq!(refused.status(), 403, "a viewer cannot drill");
    let queued = call(reqwest::Method::POST, "/api/v1/backups/db/drill", &admin).await.unwrap();
    assert_eq!(queued.status(), 202);
    let good = support::eventually("the queued drill", async || {
        let backups: serde_json::Value =
            call(reqwest::Method::GET, "/api/v1/backups", &viewer).await.ok()?.json().await.ok()?;
        let good = backups["backups"][0]["status"]["newest_good"]["snapshot"].as_str()?.to_string();
        Some(good)
    })
    .await;
    assert_eq!(good, id);
    let runs: serde_json::Value =
        call(reqwest::Method::GET, "/api/v1/backups/db/runs", &viewer).await.unwrap().json().await.unwrap();
    assert_eq!((runs["runs"].as_array().unwrap().len(), runs["drills"][0]["ok"].clone()), (1, true.into()));
    let audit: serde_json::Value =
        call(reqwest::Method::GET, "/api/v1/audit", &admin).await.unwrap().json().await.unwrap();
    assert_eq!(
        (audit["entries"][0]["action"].as_str(), audit["entries"][0]["actor"].as_str()),
        (Some("backup.drill"), Some("token:admin"))
    );
    assert_eq!(call(reqwest::Method::GET, "/api/v1/backups/nope/runs", &viewer).await.unwrap().status(), 404);

    let metrics = client.get(format!("{}/metrics", daemon.url)).send().await.unwrap().text().await.unwrap();
    for name in [
        "upkeep_backup_last_success_timestamp_seconds{backup=\"db\"}",
        "upkeep_backup_last_drill_success_timestamp_seconds{backup=\"db\"}",
        "upkeep_backup_size_bytes{backup=\"db\"}",
    ] {
        assert!(metrics.contains(name), "{name} not in {metrics}");
    }
}

/// `upkeep backup run` with no name runs every backup, two at a time, into one repository made
/// once (two backups starting together on a new repository must not both make one).
#[tokio::test]
async fn every_backup_runs_at_once_into_one_repository() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("database.sqlite");
    let pool =
        sqlx::sqlite::SqlitePoolOptions::new().connect(&format!("sqlite://{}?mode=rwc", db.display())).await.unwrap();
    sqlx::query("CREATE TABLE users (id INTEGER PRIMARY KEY)").execute(&pool).await.unwrap();
    pool.close().await;
    std::fs::create_dir(dir.path().join("uploads")).unwrap();
    std::fs::write(dir.path().join("uploads/a.png"), b"png").unwrap();
    let config = dir.path().join("upkeep.toml");
    std::fs::write(
        &config,
        "[server]\ndata_dir = \"data\"\n\n[[backup]]\nname = \"db\"\nsource = { kind = \"sqlite\", path = \"database.sqlite\" }\n\n\
         [[backup]]\nname = \"uploads\"\nsource = { kind = \"files\", path = \"uploads\" }\n",
    )
    .unwrap();
    let (code, out, err) = upkeep(&config, &["backup", "run", "--json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let runs = json(&out);
    let names: Vec<&str> = runs.as_array().unwrap().iter().map(|r| r["backup"].as_str().unwrap()).collect();
    assert_eq!(names, ["db", "uploads"], "reported in config order");
    let keys = std::fs::read_dir(dir.path().join("data/backups/keys")).unwrap().count();
    assert_eq!(keys, 1, "one repository, made once");
    let (_, out, _) = upkeep(&config, &["backup", "list", "--json"]);
    assert_eq!(json(&out).as_array().unwrap().len(), 2);
    let (code, out, err) = upkeep(&config, &["backup", "verify"]);
    assert_eq!(code, Some(0), "{out}{err}");
}
