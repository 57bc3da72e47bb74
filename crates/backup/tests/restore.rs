//! Restores in place on the real databases: a PostgreSQL and a MariaDB database of their own
//! (a full restore puts the whole database back, so not the shared `test` one) lose rows and
//! gain a table, and come back whole or one table at a time, with a safety copy of what they
//! held; a directory gets back a deleted file alone, or all of itself. Seeds 000-39, 001-57
//! (`backup:restore`), 003's recovery procedure.

mod support;

use std::path::Path;
use upkeep_backup::{Backup, Places, RepositoryConfig};

const PG: &str = "postgres://postgres@127.0.0.1:5432/test";
const MY: &str = "mysql://root@127.0.0.1:3306/test";

fn unreachable(what: &str) {
    assert_ne!(std::env::var("UPKEEP_TEST_SERVICES").as_deref(), Ok("required"), "{what} is not running");
}

async fn put_back(
    backup: &Backup,
    repo: &RepositoryConfig,
    dir: &Path,
    snapshot: &upkeep_backup::Snapshot,
    only: Option<&str>,
) -> upkeep_backup::PutBack {
    let places = Places::under(&dir.join("data"));
    upkeep_backup::put_back(backup, repo, &places, snapshot, only, false, jiff::Timestamp::now())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn postgres_comes_back_whole_in_one_transaction_or_one_table_at_a_time() {
    let Ok(admin) = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(PG).await else {
        return unreachable("PostgreSQL");
    };
    let name = format!("upkeep_inplace_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
        .execute(&admin)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    let url = PG.replace("/test", &format!("/{name}"));
    let app = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    for sql in [
        "CREATE TABLE users (id serial PRIMARY KEY, email text UNIQUE)",
        "CREATE TABLE posts (id serial PRIMARY KEY, user_id int REFERENCES users (id))",
        "INSERT INTO users (email) SELECT 'u' || g FROM generate_series(1, 1500) g",
        "INSERT INTO posts (user_id) SELECT g FROM generate_series(1, 300) g",
    ] {
        sqlx::query(sql).execute(&app).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!("[[backup]]\nname = \"pg\"\nsource = {{ kind = \"postgres\", url = \"{url}\" }}\n"),
    );
    let snapshot =
        upkeep_backup::run(&backups[0], &repo, &dir.path().join("scratch"), jiff::Timestamp::now()).await.unwrap();

    let count = |sql: &'static str| {
        let app = app.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&app).await.unwrap() }
    };
    sqlx::query("DELETE FROM posts").execute(&app).await.unwrap();
    sqlx::query("DELETE FROM users WHERE id > 1000").execute(&app).await.unwrap();
    let done = put_back(&backups[0], &repo, dir.path(), &snapshot, None).await;
    assert_eq!(done.done, vec!["pg_restore --clean in one transaction: ok"]);
    assert_eq!((count("SELECT COUNT(*) FROM users").await, count("SELECT COUNT(*) FROM posts").await), (1500, 300));
    let safety = done.safety_copy.expect("a dump of the database as it was");
    assert!(std::fs::metadata(&safety).unwrap().len() > 0, "{}", safety.display());

    // One table: emptied and refilled; the other keeps what was written since.
    sqlx::query("INSERT INTO users (email) VALUES ('new')").execute(&app).await.unwrap();
    sqlx::query("DELETE FROM posts WHERE id > 100").execute(&app).await.unwrap();
    let done = put_back(&backups[0], &repo, dir.path(), &snapshot, Some("posts")).await;
    assert!(done.done[0].starts_with("table posts:"), "{:?}", done.done);
    assert_eq!((count("SELECT COUNT(*) FROM users").await, count("SELECT COUNT(*) FROM posts").await), (1501, 300));
    // A table the snapshot does not have is refused, and not emptied.
    sqlx::query("CREATE TABLE added_since (id int)").execute(&app).await.unwrap();
    sqlx::query("INSERT INTO added_since VALUES (1)").execute(&app).await.unwrap();
    let places = Places::under(&dir.path().join("data"));
    let refused = upkeep_backup::put_back(
        &backups[0],
        &repo,
        &places,
        &snapshot,
        Some("added_since"),
        false,
        jiff::Timestamp::now(),
    )
    .await
    .unwrap_err();
    assert!(refused.message.contains("the snapshot has no table `added_since`"), "{refused}");
    assert_eq!(count("SELECT COUNT(*) FROM added_since").await, 1);
    app.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"))).execute(&admin).await.unwrap();
}

#[tokio::test]
async fn mysql_comes_back_whole_or_one_table_swapped_in_atomically() {
    let Ok(admin) = sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect(MY).await else {
        return unreachable("MariaDB");
    };
    let name = format!("upkeep_inplace_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}"))).execute(&admin).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    let url = MY.replace("/test", &format!("/{name}"));
    let app = sqlx::mysql::MySqlPoolOptions::new().max_connections(1).connect(&url).await.unwrap();
    sqlx::query("CREATE TABLE users (id INT AUTO_INCREMENT PRIMARY KEY, email TEXT) ENGINE=InnoDB")
        .execute(&app)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE jobs (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB").execute(&app).await.unwrap();
    let values = vec!["('u')"; 700].join(",");
    sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO users (email) VALUES {values}"))).execute(&app).await.unwrap();
    sqlx::query("INSERT INTO jobs VALUES (), (), ()").execute(&app).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!("[[backup]]\nname = \"my\"\nsource = {{ kind = \"mysql\", url = \"{url}\" }}\n"),
    );
    let snapshot =
        upkeep_backup::run(&backups[0], &repo, &dir.path().join("scratch"), jiff::Timestamp::now()).await.unwrap();
    let count = |table: &'static str| {
        let app = app.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(&app)
                .await
                .unwrap()
        }
    };

    sqlx::query("DELETE FROM users").execute(&app).await.unwrap();
    let done = put_back(&backups[0], &repo, dir.path(), &snapshot, None).await;
    assert_eq!(done.done, vec![format!("the dump loaded into {name}: ok")]);
    assert_eq!((count("users").await, count("jobs").await), (700, 3));

    sqlx::query("DELETE FROM users WHERE id > 100").execute(&app).await.unwrap();
    sqlx::query("INSERT INTO jobs VALUES ()").execute(&app).await.unwrap();
    let done = put_back(&backups[0], &repo, dir.path(), &snapshot, Some("users")).await;
    assert_eq!(done.done, vec!["table users: 700 rows swapped in by one RENAME TABLE"]);
    assert_eq!((count("users").await, count("jobs").await), (700, 4), "the other table keeps its new row");
    // A table other tables refer to is not swapped alone.
    sqlx::query("CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, FOREIGN KEY (user_id) REFERENCES users (id)) ENGINE=InnoDB")
        .execute(&app)
        .await
        .unwrap();
    let places = Places::under(&dir.path().join("data"));
    let refused =
        upkeep_backup::put_back(&backups[0], &repo, &places, &snapshot, Some("users"), false, jiff::Timestamp::now())
            .await
            .unwrap_err();
    assert!(refused.message.contains("other tables have foreign keys to `users`"), "{refused}");
    assert_eq!(count("users").await, 700);
    app.close().await;
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {name}"))).execute(&admin).await.unwrap();
}

#[tokio::test]
async fn a_directory_gets_back_one_deleted_file_or_all_of_itself() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("avatars")).unwrap();
    std::fs::write(media.join("avatars/1.png"), b"one").unwrap();
    std::fs::write(media.join("avatars/2.png"), b"two").unwrap();
    std::os::unix::fs::symlink("avatars/1.png", media.join("latest")).unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!("[[backup]]\nname = \"media\"\nsource = {{ kind = \"files\", path = \"{}\" }}\n", media.display()),
    );
    let snapshot =
        upkeep_backup::run(&backups[0], &repo, &dir.path().join("scratch"), jiff::Timestamp::now()).await.unwrap();

    std::fs::remove_file(media.join("avatars/2.png")).unwrap();
    std::fs::write(media.join("avatars/1.png"), b"changed since").unwrap();
    let done = put_back(&backups[0], &repo, dir.path(), &snapshot, Some("avatars/2.png")).await;
    assert_eq!(std::fs::read(media.join("avatars/2.png")).unwrap(), b"two");
    assert_eq!(std::fs::read(media.join("avatars/1.png")).unwrap(), b"changed since", "only the one file");
    assert!(done.safety_copy.is_none(), "the file was gone: nothing to copy first");

    std::fs::write(media.join("stray.tmp"), b"x").unwrap();
    let done = put_back(&backups[0], &repo, dir.path(), &snapshot, None).await;
    assert_eq!(std::fs::read(media.join("avatars/1.png")).unwrap(), b"one");
    assert!(!media.join("stray.tmp").exists(), "the directory is as it was backed up");
    assert_eq!(std::fs::read_link(media.join("latest")).unwrap(), Path::new("avatars/1.png"));
    let safety = done.safety_copy.expect("the directory as it was");
    assert_eq!(std::fs::read(safety.join("avatars/1.png")).unwrap(), b"changed since");
    assert!(safety.join("stray.tmp").exists());

    let places = Places::under(&dir.path().join("data"));
    let refused = upkeep_backup::put_back(
        &backups[0],
        &repo,
        &places,
        &snapshot,
        Some("../etc/passwd"),
        false,
        jiff::Timestamp::now(),
    )
    .await
    .unwrap_err();
    assert!(refused.message.contains("must be a path inside") && !refused.touched, "{refused}");
}

/// A full-text index (a virtual table and the shadow tables it keeps itself) comes back with
/// the database, and so do a table whose name starts like it and the triggers that feed it.
#[tokio::test]
async fn sqlite_with_a_full_text_index_comes_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.sqlite");
    let app = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{}?mode=rwc", db.display()))
        .await
        .unwrap();
    for sql in [
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT)",
        "CREATE VIRTUAL TABLE search USING fts5(body)",
        "CREATE TABLE search_history (q TEXT)",
        "CREATE TRIGGER posts_ai AFTER INSERT ON posts BEGIN INSERT INTO search (rowid, body) VALUES (new.id, new.body); END",
        "INSERT INTO posts (body) VALUES ('backups that restore'), ('drills that prove')",
        "INSERT INTO search_history VALUES ('restore'), ('drill')",
    ] {
        sqlx::query(sql).execute(&app).await.unwrap();
    }
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!("[[backup]]\nname = \"db\"\nsource = {{ kind = \"sqlite\", path = \"{}\" }}\n", db.display()),
    );
    let snapshot =
        upkeep_backup::run(&backups[0], &repo, &dir.path().join("scratch"), jiff::Timestamp::now()).await.unwrap();
    sqlx::query("DELETE FROM search_history").execute(&app).await.unwrap();
    sqlx::query("DELETE FROM search").execute(&app).await.unwrap();
    put_back(&backups[0], &repo, dir.path(), &snapshot, None).await;
    let count = |sql: &'static str| {
        let app = app.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&app).await.unwrap() }
    };
    assert_eq!(count("SELECT COUNT(*) FROM search_history").await, 2);
    assert_eq!(count("SELECT COUNT(*) FROM search WHERE search MATCH 'restore'").await, 1);
    sqlx::query("INSERT INTO posts (body) VALUES ('a trigger still feeds the index')").execute(&app).await.unwrap();
    assert_eq!(count("SELECT COUNT(*) FROM search WHERE search MATCH 'trigger'").await, 1);
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&app).await.unwrap();
    assert_eq!(integrity, "ok");
    app.close().await;
}
