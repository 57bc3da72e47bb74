//! A repository on S3-compatible storage: a local S3 server (moto's, from PyPI) the test starts,
//! a SQLite database backed up into it, read back by the real restic over S3 (`restic check
//! --read-data`, restore), drilled and pruned by Upkeep. Seed 001 keeps its media on S3; seed 004
//! runs on Kubernetes, with no local disk to keep backups on.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// moto's S3 server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    port: u16,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn required() -> bool {
    std::env::var("UPKEEP_TEST_SERVICES").as_deref() == Ok("required")
}

fn moto() -> Option<Moto> {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new("python3")
        .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    let Ok(child) = child else {
        assert!(!required(), "python3 is not installed");
        return None;
    };
    let mut moto = Moto { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if moto.child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            assert!(!required(), "moto's S3 server did not start (pip install 'moto[server]')");
            eprintln!("skipped: moto's S3 server is not installed (pip install 'moto[server]')");
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(moto)
}

/// Makes a bucket (moto takes unsigned requests).
fn make_bucket(port: u16, bucket: &str) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

fn restic(port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new("restic")
        .args(["--no-cache", "--quiet", "-r", &format!("s3:http://127.0.0.1:{port}/upkeep-test/backups")])
        .args(args)
        .env("RESTIC_PASSWORD", "correct horse")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .output();
    let Ok(out) = out else {
        assert!(!required(), "restic is not installed");
        return None;
    };
    assert!(out.status.success(), "restic {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn a_repository_on_s3_is_written_by_upkeep_and_read_by_restic() {
    let Some(moto) = moto() else { return };
    make_bucket(moto.port, "upkeep-test");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.sqlite");
    let pool =
        sqlx::sqlite::SqlitePoolOptions::new().connect(&format!("sqlite://{}?mode=rwc", db.display())).await.unwrap();
    sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, body TEXT)").execute(&pool).await.unwrap();
    sqlx::query("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) INSERT INTO orders (body) SELECT 'order ' || i FROM n")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (backups, repo) = support::load(
        dir.path(),
        &format!(
            "[repository]\nurl = \"s3://upkeep-test/backups\"\nendpoint = \"http://127.0.0.1:{}\"\n\
             access_key_id = \"test\"\nsecret_access_key = \"test\"\npassword = \"correct horse\"\n\n\
             [[backup]]\nname = \"db\"\nsource = {{ kind = \"sqlite\", path = \"app.sqlite\" }}\nkeep = {{ last = 1 }}\n",
            moto.port
        ),
    );
    assert_eq!(repo.place.shown(), "s3://upkeep-test/backups");
    let place = repo.place.clone();
    let exists = tokio::task::spawn_blocking(move || place.exists().unwrap()).await.unwrap();
    assert!(!exists, "nothing there before the first backup");
    let scratch = dir.path().join("scratch");
    let first =
        upkeep_backup::run(&backups[0], &repo, &scratch, "2026-12-02T02:00:00Z".parse().unwrap()).await.unwrap();
    assert_eq!(first.meta["tables"]["orders"], 3000);

    // The real restic, over S3: lists it, reads every pack back, restores every row.
    let Some(listed) = restic(moto.port, &["snapshots", "--json"]) else { return };
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["id"], first.id.as_str());
    restic(moto.port, &["check", "--read-data"]);
    let target = dir.path().join("restored");
    restic(moto.port, &["restore", &first.id, "--target", target.to_str().unwrap()]);
    let restored = sqlx::sqlite::SqlitePoolOptions::new()
        .connect(&format!("sqlite://{}?mode=ro", target.join("upkeep/db/app.sqlite").display()))
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(&restored).await.unwrap();
    assert_eq!(rows, 3000);
    restored.close().await;

    // Upkeep's own drill reads it back from S3 too; a second run deduplicates against the first.
    let report = upkeep_backup::drill(&backups[0], &repo, &scratch, &first).await;
    assert!(report.ok, "{report:?}");
    let second =
        upkeep_backup::run(&backups[0], &repo, &scratch, "2026-12-03T02:00:00Z".parse().unwrap()).await.unwrap();
    assert!(second.added < first.added, "{} then {}", first.added, second.added);

    // `keep = { last = 1 }`: the first goes, and restic agrees.
    let opened = upkeep_backup::open(&repo).await.unwrap();
    let keep = backups[0].keep.clone();
    let gone = tokio::task::spawn_blocking(move || {
        let decisions = opened.retention("db", &keep, "2026-12-03T03:00:00Z".parse().unwrap()).unwrap();
        let gone: Vec<String> = decisions.iter().filter(|d| !d.keep).map(|d| d.snapshot.id.clone()).collect();
        opened.forget(&gone).unwrap();
        opened.prune().unwrap();
        gone
    })
    .await
    .unwrap();
    assert_eq!(gone, vec![first.id.clone()]);
    let listed: serde_json::Value =
        serde_json::from_str(&restic(moto.port, &["snapshots", "--json"]).unwrap()).unwrap();
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.id.as_str()]);
    restic(moto.port, &["check"]);
}
