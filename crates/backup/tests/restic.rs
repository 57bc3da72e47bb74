//! Backups that the real `restic` reads back: every source kind is backed up by Upkeep, then
//! listed, checked with `restic check --read-data` and restored by Debian's restic, and the
//! restored data is compared with what was backed up. Seeds 000-38/39 (the SQLite backup script
//! copies the live file with `cp`), 002-61, 004-88.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use upkeep_backup::{Backup, Password, RepositoryConfig};

const NOW: &str = "2026-12-02T02:00:00Z";

/// Whether Debian's restic is here; under `UPKEEP_TEST_SERVICES=required` (CI) it must be.
fn restic_available() -> bool {
    let found = Command::new("restic").arg("version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert_ne!(std::env::var("UPKEEP_TEST_SERVICES").as_deref(), Ok("required"), "restic is not installed");
        eprintln!("skipped: restic is not installed (apt-get install restic)");
    }
    found
}

fn restic(repo: &RepositoryConfig, args: &[&str]) -> String {
    let Password::Given(password) = &repo.password else { panic!("test repositories have a given password") };
    let out = Command::new("restic")
        .arg("--repo")
        .arg(repo.local().unwrap())
        .args(["--no-cache", "--quiet"])
        .args(args)
        .env("RESTIC_PASSWORD", password)
        .output()
        .expect("restic runs");
    assert!(out.status.success(), "restic {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// restic lists exactly `ids`, checks the repository reading every pack, and restores the
/// first into a fresh directory, which it returns.
fn restic_reads(repo: &RepositoryConfig, ids: &[&str], scratch: &Path) -> PathBuf {
    let listed: serde_json::Value = serde_json::from_str(&restic(repo, &["snapshots", "--json"])).unwrap();
    let listed: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids, "restic lists what Upkeep wrote");
    restic(repo, &["check", "--read-data"]);
    let target = scratch.join(format!("restored-{}", &ids[0][..8]));
    restic(repo, &["restore", ids[0], "--target", target.to_str().unwrap()]);
    target
}

#[tokio::test]
async fn sqlite_is_copied_consistently_while_the_app_writes_and_restic_restores_it() {
    if !restic_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.sqlite");
    let url = format!("sqlite://{}?mode=rwc", db.display());
    let pool = sqlx::sqlite::SqlitePoolOptions::new().max_connections(2).connect(&url).await.unwrap();
    sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.unwrap();
    sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, body TEXT NOT NULL)").execute(&pool).await.unwrap();
    for i in 0..500 {
        sqlx::query("INSERT INTO orders (body) VALUES (?)").bind(format!("order {i}")).execute(&pool).await.unwrap();
    }
    // The app keeps writing, in WAL mode, through the backup.
    let writer_pool = pool.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = std::sync::Arc::clone(&stop);
    let writer = tokio::spawn(async move {
        let mut n = 0u64;
        while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
            sqlx::query("INSERT INTO orders (body) VALUES ('more')").execute(&writer_pool).await.unwrap();
            n += 1;
            tokio::task::yield_now().await;
        }
        n
    });
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!("[[backup]]\nname = \"db\"\nsource = {{ kind = \"sqlite\", path = \"{}\" }}\n", db.display()),
    );
    let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(&pool).await.unwrap();
    let scratch = dir.path().join("data/scratch");
    let snapshot = upkeep_backup::run(&backups[0], &repo, &scratch, NOW.parse().unwrap()).await.unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert!(written > 0, "the app wrote during the backup");
    let recorded = snapshot.meta["tables"]["orders"].as_u64().unwrap();
    assert!(recorded >= before as u64, "the copy holds every row committed before it began");
    assert_eq!(snapshot.backup, "db");
    assert_eq!(snapshot.path, "/upkeep/db/app.sqlite");
    assert_eq!(snapshot.time, NOW.parse::<jiff::Timestamp>().unwrap());
    assert!(std::fs::read_dir(&scratch).unwrap().next().is_none(), "the scratch copy is gone");

    let restored = restic_reads(&repo, &[&snapshot.id], dir.path()).join("upkeep/db/app.sqlite");
    let copy = sqlx::sqlite::SqlitePoolOptions::new()
        .connect(&format!("sqlite://{}?mode=ro", restored.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check").fetch_one(&copy).await.unwrap();
    assert_eq!(check, "ok");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(&copy).await.unwrap();
    assert_eq!(rows as u64, recorded, "the restored copy has exactly the rows recorded in the snapshot");
    // Upkeep's own drill says the same.
    let report = upkeep_backup::drill(&backups[0], &repo, &scratch, &snapshot).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checks[1], "integrity_check: ok");
    assert_eq!(report.checks[2], format!("1 tables, {recorded} rows, as recorded"));
}

/// An idle database (no write since the last backup) is not copied again: the new snapshot holds
/// the same tree, adds nothing, and restic and a drill read it; one write, and it is copied.
#[tokio::test]
async fn an_unchanged_sqlite_database_is_not_copied_again() {
    if !restic_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("app.sqlite");
    let pool =
        sqlx::sqlite::SqlitePoolOptions::new().connect(&format!("sqlite://{}?mode=rwc", db.display())).await.unwrap();
    sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await.unwrap();
    sqlx::query("CREATE TABLE orders (id INTEGER PRIMARY KEY, body TEXT)").execute(&pool).await.unwrap();
    sqlx::query("INSERT INTO orders (body) VALUES ('a'), ('b')").execute(&pool).await.unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!("[[backup]]\nname = \"db\"\nsource = {{ kind = \"sqlite\", path = \"{}\" }}\n", db.display()),
    );
    let scratch = dir.path().join("scratch");
    let at = |t: &str| t.parse::<jiff::Timestamp>().unwrap();
    let first = upkeep_backup::run(&backups[0], &repo, &scratch, at("2026-12-01T02:00:00Z")).await.unwrap();
    let second = upkeep_backup::run(&backups[0], &repo, &scratch, at("2026-12-02T02:00:00Z")).await.unwrap();
    assert_ne!(second.id, first.id);
    assert_eq!(second.meta["fingerprint"], first.meta["fingerprint"]);
    assert_eq!((second.added, second.size, second.time), (0, first.size, at("2026-12-02T02:00:00Z")));
    assert_eq!(second.meta, first.meta, "the same data: the same row counts and fingerprint");
    let listed: serde_json::Value = serde_json::from_str(&restic(&repo, &["snapshots", "--json"])).unwrap();
    assert_eq!(listed[0]["tree"], listed[1]["tree"], "one tree, two snapshots");
    assert_eq!(listed[1]["parent"], first.id.as_str());
    restic(&repo, &["check", "--read-data"]);
    let report = upkeep_backup::drill(&backups[0], &repo, &scratch, &second).await;
    assert!(report.ok, "{report:?}");

    sqlx::query("INSERT INTO orders (body) VALUES ('c')").execute(&pool).await.unwrap();
    let third = upkeep_backup::run(&backups[0], &repo, &scratch, at("2026-12-03T02:00:00Z")).await.unwrap();
    assert_eq!(third.meta["tables"]["orders"], 3, "a write: copied again");
    assert_ne!(third.meta["fingerprint"], first.meta["fingerprint"]);
    pool.close().await;
}

/// A repository that vanished (an unmounted disk, an emptied bucket) and is made again by a
/// process that still knows the old one's key gets a key file of its own: restic opens it
/// with the password.
#[tokio::test]
async fn a_repository_made_again_gets_a_key_file() {
    if !restic_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.txt"), "a").unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!(
            "[[backup]]\nname = \"a\"\nsource = {{ kind = \"command\", command = \"cat {}\" }}\n",
            dir.path().join("a.txt").display()
        ),
    );
    let scratch = dir.path().join("scratch");
    upkeep_backup::run(&backups[0], &repo, &scratch, NOW.parse().unwrap()).await.unwrap();
    std::fs::remove_dir_all(repo.local().unwrap()).unwrap();
    let again = upkeep_backup::run(&backups[0], &repo, &scratch, NOW.parse().unwrap()).await.unwrap();
    let listed: serde_json::Value = serde_json::from_str(&restic(&repo, &["snapshots", "--json"])).unwrap();
    assert_eq!(listed[0]["id"], again.id.as_str());
}

#[tokio::test]
async fn a_directory_keeps_its_bytes_symlinks_modes_and_odd_names() {
    if !restic_available() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir_all(media.join("sub dir/ünïcödé")).unwrap();
    let binary: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    std::fs::write(media.join("photo.bin"), &binary).unwrap();
    std::fs::write(media.join("sub dir/ünïcödé/a file with spaces.txt"), "hello\n").unwrap();
    std::fs::write(media.join("script.sh"), "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(media.join("script.sh"), std::fs::Permissions::from_mode(0o750)).unwrap();
    std::os::unix::fs::symlink("photo.bin", media.join("latest")).unwrap();
    // Left out: what `exclude` names, at any depth.
    std::fs::create_dir_all(media.join("sub dir/cache")).unwrap();
    std::fs::write(media.join("sub dir/cache/page.html"), "cached").unwrap();
    std::fs::write(media.join("upload.tmp"), "partial").unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!(
            "[[backup]]\nname = \"media\"\nsource = {{ kind = \"files\", path = \"{}\", exclude = [\"*.tmp\", \"cache\"] }}\n",
            media.display()
        ),
    );
    let snapshot =
        upkeep_backup::run(&backups[0], &repo, &dir.path().join("scratch"), NOW.parse().unwrap()).await.unwrap();
    assert_eq!(snapshot.files, 4, "three files and a symlink");
    let restored = restic_reads(&repo, &[&snapshot.id], dir.path()).join("upkeep/media");
    assert_eq!(std::fs::read(restored.join("photo.bin")).unwrap(), binary);
    assert_eq!(std::fs::read_to_string(restored.join("sub dir/ünïcödé/a file with spaces.txt")).unwrap(), "hello\n");
    assert_eq!(std::fs::read_link(restored.join("latest")).unwrap(), PathBuf::from("photo.bin"));
    assert!(!restored.join("upload.tmp").exists() && !restored.join("sub dir/cache").exists(), "excluded");
    let mode = std::fs::metadata(restored.join("script.sh")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o750);
    // The repository's own files have restic's modes.
    let key = std::fs::read_dir(repo.local().unwrap().join("keys")).unwrap().next().unwrap().unwrap().path();
    assert_eq!(std::fs::metadata(key).unwrap().permissions().mode() & 0o777, 0o400);
    assert_eq!(std::fs::metadata(repo.local().unwrap().join("data")).unwrap().permissions().mode() & 0o777, 0o700);
    let report = upkeep_backup::drill(&backups[0], &repo, &dir.path().join("scratch"), &snapshot).await;
    assert_eq!(report.checks.get(1).map(String::as_str), Some("4 files, 200016 bytes, as backed up"), "{report:?}");
}

#[tokio::test]
async fn a_command_that_fails_leaves_no_snapshot_and_one_that_succeeds_restores_whole() {
    if !restic_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        "[[backup]]\nname = \"broken\"\nsource = { kind = \"command\", command = \"echo partial; echo dump failed >&2; exit 3\" }\n\n\
         [[backup]]\nname = \"export\"\nsource = { kind = \"command\", command = \"seq 1 100000\", filename = \"export.txt\" }\n",
    );
    let scratch = dir.path().join("scratch");
    let failed = upkeep_backup::run(&backups[0], &repo, &scratch, NOW.parse().unwrap()).await.unwrap_err();
    assert_eq!(failed, "`echo partial; echo dump failed >&2; exit 3` exited 3: dump failed");
    let good = upkeep_backup::run(&backups[1], &repo, &scratch, NOW.parse().unwrap()).await.unwrap();
    let repo_open = upkeep_backup::open(&repo).await.unwrap();
    let listed: Vec<String> = repo_open.snapshots().unwrap().into_iter().map(|s| s.backup).collect();
    assert_eq!(listed, ["export"], "the failed command left nothing");
    // restic restores the file with its real size (a streamed one would come back empty).
    let restored = restic_reads(&repo, &[&good.id], dir.path()).join("upkeep/export/export.txt");
    let text = std::fs::read_to_string(restored).unwrap();
    assert_eq!(text.lines().count(), 100_000);
    assert!(text.ends_with("99999\n100000\n"));
}

#[tokio::test]
async fn a_wrong_password_is_said_plainly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        "[[backup]]\nname = \"db\"\nsource = { kind = \"command\", command = \"echo hi\" }\n",
    );
    upkeep_backup::run(&backups[0], &repo, &dir.path().join("scratch"), NOW.parse().unwrap()).await.unwrap();
    let before = walk(repo.local().unwrap());
    let wrong = RepositoryConfig { password: Password::Given("wrong".into()), ..repo.clone() };
    let err =
        upkeep_backup::run(&backups[0], &wrong, &dir.path().join("scratch"), NOW.parse().unwrap()).await.unwrap_err();
    assert_eq!(
        err,
        format!(
            "the backup repository's password is wrong (it was set when {} was created)",
            repo.local().unwrap().display()
        )
    );
    assert_eq!(walk(repo.local().unwrap()), before, "nothing was written");
}

fn walk(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Runs `program` and returns its stdout; panics with its stderr when it fails.
fn tool(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const PG: &str = "postgres://postgres@127.0.0.1:5432/test";
const MY: &str = "mysql://root@127.0.0.1:3306/test";

#[tokio::test]
async fn postgres_is_dumped_from_the_snapshot_its_row_counts_come_from_and_pg_restore_reads_it() {
    if !restic_available() {
        return;
    }
    let Ok(pool) = sqlx::postgres::PgPoolOptions::new().max_connections(2).connect(PG).await else {
        assert_ne!(std::env::var("UPKEEP_TEST_SERVICES").as_deref(), Ok("required"), "PostgreSQL is not running");
        return;
    };
    let table = format!("backup_orders_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}"))).execute(&pool).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE TABLE {table} (id serial PRIMARY KEY, body text)")))
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO {table} (body) SELECT 'o' || g FROM generate_series(1, 2500) g"
    )))
    .execute(&pool)
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!("[[backup]]\nname = \"pg\"\nsource = {{ kind = \"postgres\", url = \"{PG}\" }}\n"),
    );
    let snapshot =
        upkeep_backup::run(&backups[0], &repo, &dir.path().join("scratch"), NOW.parse().unwrap()).await.unwrap();
    assert_eq!(snapshot.meta["tables"][&table], 2500);
    assert_eq!(snapshot.meta["kind"], "postgres");
    let dump = restic_reads(&repo, &[&snapshot.id], dir.path()).join("upkeep/pg/database.dump");
    // Into a scratch database, as a drill does: the rows are all there.
    let scratch_db = format!("upkeep_restore_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {scratch_db}"))).execute(&pool).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {scratch_db}"))).execute(&pool).await.unwrap();
    let target = PG.replace("/test", &format!("/{scratch_db}"));
    tool("pg_restore", &["--no-owner", "--dbname", &target, "--table", &table, dump.to_str().unwrap()]);
    let restored = sqlx::postgres::PgPoolOptions::new().connect(&target).await.unwrap();
    let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(&restored)
        .await
        .unwrap();
    assert_eq!(rows, 2500);
    restored.close().await;
    let report = upkeep_backup::drill(&backups[0], &repo, &dir.path().join("scratch"), &snapshot).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checks[1], "pg_restore into a scratch database: ok");
    assert!(report.checks[2].ends_with("rows, as recorded"), "{report:?}");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE {scratch_db}"))).execute(&pool).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&pool).await.unwrap();
}

#[tokio::test]
async fn mysql_is_dumped_in_one_transaction_with_routines_and_its_row_counts() {
    if !restic_available() {
        return;
    }
    let Ok(pool) = sqlx::mysql::MySqlPoolOptions::new().max_connections(2).connect(MY).await else {
        assert_ne!(std::env::var("UPKEEP_TEST_SERVICES").as_deref(), Ok("required"), "MariaDB is not running");
        return;
    };
    let table = format!("backup_orders_{}", std::process::id());
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE IF EXISTS {table}"))).execute(&pool).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE TABLE {table} (id INT AUTO_INCREMENT PRIMARY KEY, body TEXT) ENGINE=InnoDB"
    )))
    .execute(&pool)
    .await
    .unwrap();
    for _ in 0..4 {
        let values = vec!["('o')"; 300].join(",");
        sqlx::query(sqlx::AssertSqlSafe(format!("INSERT INTO {table} (body) VALUES {values}")))
            .execute(&pool)
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!("[[backup]]\nname = \"my\"\nsource = {{ kind = \"mysql\", url = \"{MY}\" }}\n"),
    );
    let snapshot =
        upkeep_backup::run(&backups[0], &repo, &dir.path().join("scratch"), NOW.parse().unwrap()).await.unwrap();
    assert_eq!(snapshot.meta["tables"][&table], 1200);
    let dump = restic_reads(&repo, &[&snapshot.id], dir.path()).join("upkeep/my/database.sql");
    let sql = std::fs::read_to_string(dump).unwrap();
    assert!(sql.contains(&format!("CREATE TABLE `{table}`")), "the dump holds the table");
    assert!(sql.contains("-- Dump completed on"), "the dump is whole");
    let report = upkeep_backup::drill(&backups[0], &repo, &dir.path().join("scratch"), &snapshot).await;
    assert!(report.ok, "{report:?}");
    assert_eq!(report.checks[1], "loaded into a scratch database: ok");
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&pool).await.unwrap();
}

/// A backup made at each of `times`, of a file that changes each time.
async fn snapshots_at(dir: &Path, backup: &Backup, repo: &RepositoryConfig, times: &[jiff::Timestamp]) -> Vec<String> {
    let mut ids = Vec::new();
    for (i, at) in times.iter().enumerate() {
        std::fs::write(dir.join("export/data.txt"), format!("version {i}\n")).unwrap();
        ids.push(upkeep_backup::run(backup, repo, &dir.join("scratch"), *at).await.unwrap().id);
    }
    ids
}

#[tokio::test]
async fn retention_keeps_what_restic_forget_keeps_and_prune_frees_the_rest() {
    if !restic_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("export")).unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        &format!(
            "[[backup]]\nname = \"export\"\nsource = {{ kind = \"files\", path = \"{}\" }}\n\
             keep = {{ last = 2, daily = 3, weekly = 2, monthly = 2 }}\n",
            dir.path().join("export").display()
        ),
    );
    // 002-61: every 3 days from 1 October, at 02:00, plus a second one on the last day.
    let start: jiff::Timestamp = "2026-10-01T02:00:00Z".parse().unwrap();
    let mut times: Vec<jiff::Timestamp> = (0..20).map(|i| start + jiff::SignedDuration::from_hours(72 * i)).collect();
    times.push(*times.last().unwrap() + jiff::SignedDuration::from_hours(6));
    let ids = snapshots_at(dir.path(), &backups[0], &repo, &times).await;
    let now: jiff::Timestamp = "2026-12-01T12:00:00Z".parse().unwrap();
    let opened = upkeep_backup::open(&repo).await.unwrap();
    let decisions = opened.retention("export", &backups[0].keep, now).unwrap();
    let ours: Vec<(String, bool)> = decisions.iter().map(|d| (d.snapshot.id.clone(), d.keep)).collect();
    assert_eq!(ours.len(), ids.len());
    // restic's own forget, with the same policy over the same repository, agrees exactly.
    let restic_json = restic(
        &repo,
        &[
            "forget",
            "--dry-run",
            "--json",
            "--keep-last",
            "2",
            "--keep-daily",
            "3",
            "--keep-weekly",
            "2",
            "--keep-monthly",
            "2",
        ],
    );
    let groups: serde_json::Value = serde_json::from_str(&restic_json).unwrap();
    assert_eq!(groups.as_array().unwrap().len(), 1, "one group: one backup");
    let ids_of = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = groups[0][key]
            .as_array()
            .map_or(Vec::new(), |a| a.iter().map(|s| s["id"].as_str().unwrap().to_string()).collect());
        v.sort();
        v
    };
    let mut kept: Vec<String> = ours.iter().filter(|(_, k)| *k).map(|(id, _)| id.clone()).collect();
    let mut removed: Vec<String> = ours.iter().filter(|(_, k)| !*k).map(|(id, _)| id.clone()).collect();
    kept.sort();
    removed.sort();
    assert_eq!(kept, ids_of("keep"));
    assert_eq!(removed, ids_of("remove"));
    // The expected set, worked out by hand: the last 2, the last of each of 3 days, of 2 weeks,
    // of 2 months.
    let kept_times: Vec<String> = decisions.iter().filter(|d| d.keep).map(|d| d.snapshot.time.to_string()).collect();
    assert_eq!(
        kept_times,
        [
            "2026-11-27T08:00:00Z", // last, daily, weekly, monthly
            "2026-11-27T02:00:00Z", // last
            "2026-11-24T02:00:00Z", // daily
            "2026-11-21T02:00:00Z", // daily, weekly
            "2026-10-31T02:00:00Z", // monthly
        ]
    );
    // Forget and prune: the removed snapshots and their data go; restic checks the rest.
    let size_before = du(repo.local().unwrap());
    let gone: Vec<String> = decisions.iter().filter(|d| !d.keep).map(|d| d.snapshot.id.clone()).collect();
    opened.forget(&gone).unwrap();
    opened.prune().unwrap();
    restic(&repo, &["check", "--read-data"]);
    let left: serde_json::Value = serde_json::from_str(&restic(&repo, &["snapshots", "--json"])).unwrap();
    assert_eq!(left.as_array().unwrap().len(), 5);
    assert!(du(repo.local().unwrap()) <= size_before);
}

fn du(root: &Path) -> u64 {
    walk(root).iter().filter(|p| p.is_file()).map(|p| std::fs::metadata(p).unwrap().len()).sum()
}

#[tokio::test]
async fn a_drill_finds_a_damaged_pack_and_a_good_one_passes() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (backups, repo) = support::load_local(
        dir.path(),
        "[[backup]]\nname = \"export\"\nsource = { kind = \"command\", command = \"seq 1 50000\", filename = \"export.txt\" }\n",
    );
    let scratch = dir.path().join("scratch");
    let snapshot = upkeep_backup::run(&backups[0], &repo, &scratch, NOW.parse().unwrap()).await.unwrap();
    let good = upkeep_backup::drill(&backups[0], &repo, &scratch, &snapshot).await;
    assert!(good.ok, "{good:?}");
    assert_eq!(good.checks[1], format!("{} bytes, as backed up", snapshot.size));
    // Flip bytes in the middle of every data pack.
    for pack in walk(&repo.local().unwrap().join("data")).into_iter().filter(|p| p.is_file()) {
        std::fs::set_permissions(&pack, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut bytes = std::fs::read(&pack).unwrap();
        let middle = bytes.len() / 2;
        for b in &mut bytes[middle..middle + 16] {
            *b ^= 0xff;
        }
        std::fs::write(&pack, bytes).unwrap();
    }
    let bad = upkeep_backup::drill(&backups[0], &repo, &scratch, &snapshot).await;
    assert!(!bad.ok);
    let error = bad.error.unwrap();
    assert!(error.starts_with("the repository is damaged"), "{error}");
    assert!(std::fs::read_dir(&scratch).unwrap().next().is_none(), "the drill's scratch copy is gone");
}
