//! Backups run by the real binary: the app's SQLite database backed up, listed, deleted, and
//! restored with every row (the manuals' restore scripts, 000-38/39 and 001-55..58); a failed
//! run exits 1 and leaves no snapshot; `upkeep check` points a backup's name at `upkeep backup
//! run`.

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
