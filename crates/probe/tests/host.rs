//! The host probes against the real machine: files and directories made in the test, logs
//! that rotate and truncate under the follower, commands, heartbeats on a manual clock, and
//! the machine's own disk, memory and load.

mod support;

use std::io::Write;
use std::time::Duration;
use support::{load, obs, run_one, run_with};
use upkeep_probe::{Clock, Context, Status};
use upkeep_store::{Ping, Store};

fn append(path: &std::path::Path, text: &str) {
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn file_observes_existence_age_size_and_a_real_write() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    std::fs::create_dir(&storage).unwrap();
    std::fs::write(storage.join("app.log"), "0123456789").unwrap();
    let toml = format!(
        "[[check]]\nname = \"storage\"\nkind = \"file\"\npath = \"{}\"\nexpect = ['writable', 'is_dir']\n\n[[check]]\nname = \"log-file\"\nkind = \"file\"\npath = \"{}\"\nexpect = ['size == 10B', 'age < 1h']\n",
        storage.display(),
        storage.join("app.log").display()
    );
    let loaded = load(&toml);
    let ctx = Context::default();
    let result = run_with(&loaded, "storage", &ctx).await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    // The write test cleans up after itself.
    assert_eq!(std::fs::read_dir(&storage).unwrap().count(), 1);
    let result = run_with(&loaded, "log-file", &ctx).await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
}

#[tokio::test]
async fn file_write_test_fails_on_a_read_only_directory() {
    if rustix::process::geteuid().is_root() {
        // Root writes through permission bits; use a read-only bind instead: /proc is not writable.
        let result =
            run_one("[[check]]\nname = \"ro\"\nkind = \"file\"\npath = \"/proc/1\"\nexpect = 'writable'\n").await;
        assert_eq!(result.status, Status::Error);
        assert_eq!(result.message.as_deref(), Some("expected writable, got false"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut perms = std::fs::metadata(dir.path()).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(dir.path(), perms).unwrap();
    let result = run_one(&format!(
        "[[check]]\nname = \"ro\"\nkind = \"file\"\npath = \"{}\"\nexpect = 'writable'\n",
        dir.path().display()
    ))
    .await;
    assert_eq!(result.message.as_deref(), Some("expected writable, got false"));
}

#[tokio::test]
async fn file_that_is_missing_fails_the_default_expectation() {
    let result = run_one("[[check]]\nname = \"env\"\nkind = \"file\"\npath = \"/nonexistent/.env\"\n").await;
    assert_eq!(result.status, Status::Error);
    assert_eq!(result.message.as_deref(), Some("expected exists, got false"));
    // ...and a flag file that must not exist can say so.
    let result =
        run_one("[[check]]\nname = \"down\"\nkind = \"file\"\npath = \"/nonexistent/down\"\nexpect = 'not exists'\n")
            .await;
    assert_eq!(result.status, Status::Ok);
}

async fn log_fixture() -> (tempfile::TempDir, std::path::PathBuf, upkeep_plan::Plan, Context) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("laravel.log");
    append(&path, "[2026-11-24 23:59:00] production.ERROR: old news\n");
    let loaded = load(&format!("[[check]]\nname = \"app-log\"\nkind = \"log\"\npath = \"{}\"\n", path.display()));
    let store = Store::open(&dir.path().join("data")).await.unwrap();
    (dir, path, loaded, Context::new(Some(std::sync::Arc::new(store)), Clock::System))
}

#[tokio::test]
async fn log_counts_only_new_laravel_errors_since_the_last_run() {
    let (_dir, path, loaded, ctx) = log_fixture().await;
    // The first run reads the recent tail: the old error is reported once.
    let first = run_with(&loaded, "app-log", &ctx).await;
    assert_eq!(obs(&first, "matched"), 1.0);
    assert_eq!(first.message.as_deref(), Some("expected matched == 0, got 1"));
    // Nothing new: healthy.
    let second = run_with(&loaded, "app-log", &ctx).await;
    assert_eq!(second.status, Status::Ok, "{:?}", second.message);
    assert_eq!(obs(&second, "lines"), 0.0);

    append(&path, "[2026-11-25 08:00:00] production.INFO: user logged in\n");
    append(
        &path,
        "[2026-11-25 08:00:01] production.ERROR: SQLSTATE[HY000]: General error: 5 database is locked\n#0 /var/www/vendor/...\n",
    );
    append(&path, "[2026-11-25 08:00:02] production.CRITICAL: fopen(/var/www/storage/x): Failed to open stream\n");
    append(&path, "[2026-11-25 08:00:03] production.ERROR: half a line"); // still being written
    let third = run_with(&loaded, "app-log", &ctx).await;
    assert_eq!(obs(&third, "lines"), 4.0);
    assert_eq!(obs(&third, "matched"), 2.0);
    assert_eq!(
        obs(&third, "last_match"),
        "[2026-11-25 08:00:02] production.CRITICAL: fopen(/var/www/storage/x): Failed to open stream"
    );

    append(&path, " finished\n");
    let fourth = run_with(&loaded, "app-log", &ctx).await;
    assert_eq!(obs(&fourth, "matched"), 1.0);
    assert_eq!(obs(&fourth, "last_match"), "[2026-11-25 08:00:03] production.ERROR: half a line finished");

    // A quiet run matches nothing new but still shows the last error it saw.
    append(&path, "[2026-11-25 08:00:04] production.INFO: all quiet\n");
    let fifth = run_with(&loaded, "app-log", &ctx).await;
    assert_eq!((fifth.status, obs(&fifth, "matched")), (Status::Ok, 0.0.into()));
    assert_eq!(obs(&fifth, "last_match"), "[2026-11-25 08:00:03] production.ERROR: half a line finished");
}

#[tokio::test]
async fn log_follows_rename_rotation_without_losing_lines() {
    let (_dir, path, loaded, ctx) = log_fixture().await;
    run_with(&loaded, "app-log", &ctx).await;
    append(&path, "production.ERROR: written just before rotation\n");
    // logrotate: rename to .1, the app opens a new file.
    let mut rotated = path.clone().into_os_string();
    rotated.push(".1");
    std::fs::rename(&path, &rotated).unwrap();
    append(&path, "production.ERROR: first in the new file\nall good\n");
    let result = run_with(&loaded, "app-log", &ctx).await;
    assert_eq!(obs(&result, "matched"), 2.0);
    assert_eq!(obs(&result, "lines"), 3.0);
}

#[tokio::test]
async fn log_starts_over_when_truncated_under_the_follower() {
    let (_dir, path, loaded, ctx) = log_fixture().await;
    append(&path, "a long line that makes the file bigger than what comes after truncation\n");
    run_with(&loaded, "app-log", &ctx).await;
    // copytruncate: same inode, shorter file.
    std::fs::OpenOptions::new().write(true).truncate(true).open(&path).unwrap();
    append(&path, "CRITICAL boom\n");
    let result = run_with(&loaded, "app-log", &ctx).await;
    assert_eq!(obs(&result, "matched"), 1.0);
    assert_eq!(obs(&result, "last_match"), "CRITICAL boom");
}

#[tokio::test]
async fn log_position_survives_a_restart_through_the_store() {
    let (dir, path, loaded, ctx) = log_fixture().await;
    run_with(&loaded, "app-log", &ctx).await;
    drop(ctx);
    append(&path, "CRITICAL after restart\n");
    let store = Store::open(&dir.path().join("data")).await.unwrap();
    let restarted = Context::new(Some(std::sync::Arc::new(store)), Clock::System);
    let result = run_with(&loaded, "app-log", &restarted).await;
    assert_eq!(obs(&result, "lines"), 1.0);
    assert_eq!(obs(&result, "matched"), 1.0);
}

#[tokio::test]
async fn log_custom_patterns_and_regexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nginx.log");
    append(&path, "GET / 200\nGET /admin 502\nGET /x 504\n");
    let toml = format!(
        "[[check]]\nname = \"nginx\"\nkind = \"log\"\npath = \"{}\"\nregex = [' 50[24]$']\nexpect = 'matched < 2'\n",
        path.display()
    );
    let result = run_one(&toml).await;
    assert_eq!(result.message.as_deref(), Some("expected matched < 2, got 2"));
}

#[tokio::test]
async fn command_judges_exit_code_and_json_output() {
    let ok = run_one("[[check]]\nname = \"queue\"\nkind = \"command\"\ncommand = 'echo \"{\\\"size\\\": 3}\"'\nexpect = 'json.size < 100'\n").await;
    assert_eq!(ok.status, Status::Ok, "{:?}", ok.message);
    let failed =
        run_one("[[check]]\nname = \"script\"\nkind = \"command\"\ncommand = ['sh', '-c', 'echo nope >&2; exit 3']\n")
            .await;
    assert_eq!(failed.message.as_deref(), Some("expected exit_code == 0, got 3"));
    assert_eq!(obs(&failed, "stderr"), "nope\n");
}

#[tokio::test]
async fn command_is_killed_at_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // `exec` makes the shell become `sleep`, so the pid written is the process that must die.
    let check = format!(
        "[[check]]\nname = \"hang\"\nkind = \"command\"\ncommand = 'echo $$ > {} && exec sleep 30'\ntimeout = \"200ms\"\n",
        pid_file.display()
    );
    let result = run_one(&check).await;
    assert_eq!(result.status, Status::Error);
    assert!(result.message.as_deref().unwrap().ends_with("within 200ms (timeout)"), "{:?}", result.message);
    let pid: i32 = std::fs::read_to_string(&pid_file).unwrap().trim().parse().unwrap();
    // Killed and reaped: the process is gone, not left sleeping (or a zombie) behind the check.
    let gone = |pid: i32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_or(true, |stat| stat.split(") ").nth(1).is_some_and(|rest| rest.starts_with('Z')))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !gone(pid) {
        assert!(std::time::Instant::now() < deadline, "process {pid} outlived its check's timeout");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn command_that_cannot_start_says_why() {
    let result = run_one("[[check]]\nname = \"x\"\nkind = \"command\"\ncommand = ['/nonexistent/artisan']\n").await;
    assert_eq!(result.message.as_deref(), Some("command `/nonexistent/artisan` does not exist"));
}

fn num(result: &upkeep_probe::CheckResult, name: &str) -> f64 {
    obs(result, name).as_f64().unwrap_or_else(|| panic!("{name} is not a number"))
}

fn at(rfc3339: &str) -> jiff::Timestamp {
    rfc3339.parse().unwrap()
}

#[tokio::test]
async fn heartbeat_goes_late_after_period_plus_grace() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let clock = Clock::manual(at("2026-11-25T10:00:00Z"));
    let ctx = Context::new(Some(std::sync::Arc::new(store.clone())), clock.clone());
    let loaded = load("[[check]]\nname = \"worker\"\nkind = \"heartbeat\"\nevery = \"1h\"\ngrace = \"10m\"\n");

    let result = run_with(&loaded, "worker", &ctx).await;
    assert_eq!(result.message.as_deref(), Some("no ping received yet"));

    store.record_ping("worker", &Ping { at: clock.now(), ok: true }, None).await.unwrap();
    clock.advance(Duration::from_secs(70 * 60));
    let result = run_with(&loaded, "worker", &ctx).await;
    assert_eq!(result.status, Status::Ok, "{:?}", result.message);
    assert_eq!(obs(&result, "age"), 4200.0);

    clock.advance(Duration::from_secs(60));
    let result = run_with(&loaded, "worker", &ctx).await;
    assert_eq!(result.message.as_deref(), Some("last ping 1h11m ago; expected every 1h (grace 10m)"));

    store.record_ping("worker", &Ping { at: clock.now(), ok: false }, None).await.unwrap();
    let result = run_with(&loaded, "worker", &ctx).await;
    assert_eq!(result.message.as_deref(), Some("the last ping, 0ms ago, reported a failure (/fail)"));
}

#[tokio::test]
async fn a_new_heartbeat_in_the_daemon_is_late_only_a_period_after_watching_began() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let clock = Clock::manual(at("2026-11-25T10:00:00Z"));
    let ctx = Context::new(Some(std::sync::Arc::new(store.clone())), clock.clone()).long_running();
    let loaded = load("[[check]]\nname = \"worker\"\nkind = \"heartbeat\"\nevery = \"1h\"\ngrace = \"10m\"\n");

    // The daemon's first run: nothing to be late for yet. Its result starts the history.
    let first = run_with(&loaded, "worker", &ctx).await;
    assert_eq!(first.status, Status::Ok, "{:?}", first.message);
    assert_eq!(obs(&first, "age"), 0.0);
    store.write(std::slice::from_ref(&first)).await.unwrap();

    clock.advance(Duration::from_secs(70 * 60));
    let waiting = run_with(&loaded, "worker", &ctx).await;
    assert_eq!(waiting.status, Status::Ok, "{:?}", waiting.message);
    assert_eq!(obs(&waiting, "age"), 4200.0);

    clock.advance(Duration::from_secs(60));
    let late = run_with(&loaded, "worker", &ctx).await;
    assert_eq!(
        late.message.as_deref(),
        Some("no ping received yet; watching since 1h11m ago; expected every 1h (grace 10m)")
    );

    // A one-shot `upkeep check` watched nothing: no ping is simply no ping.
    let once =
        run_with(&loaded, "worker", &Context::new(Some(std::sync::Arc::new(store.clone())), clock.clone())).await;
    assert_eq!(once.message.as_deref(), Some("no ping received yet"));
}

#[tokio::test]
async fn heartbeat_on_a_cron_schedule_wants_a_ping_after_each_due_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    // Cron is read in the machine's time zone; pick times far from any day boundary.
    let tz = jiff::tz::TimeZone::system();
    let local = |s: &str| s.parse::<jiff::civil::DateTime>().unwrap().to_zoned(tz.clone()).unwrap().timestamp();
    let clock = Clock::manual(local("2026-11-25T02:30:00"));
    let ctx = Context::new(Some(std::sync::Arc::new(store.clone())), clock.clone());
    let loaded = load(
        "[[check]]\nname = \"backup\"\nkind = \"heartbeat\"\nid = \"nightly-backup-7f3a\"\nschedule = \"0 2 * * *\"\ngrace = \"1h\"\n",
    );
    // Yesterday's run pinged; today's 02:00 run is still within its grace.
    store.record_ping("nightly-backup-7f3a", &Ping { at: local("2026-11-24T02:05:00"), ok: true }, None).await.unwrap();
    assert_eq!(run_with(&loaded, "backup", &ctx).await.status, Status::Ok);
    clock.advance(Duration::from_secs(31 * 60));
    let late = run_with(&loaded, "backup", &ctx).await;
    assert_eq!(late.status, Status::Error);
    assert!(
        late.message.as_deref().unwrap().starts_with("no ping since the run due at 2026-11-25 02:00"),
        "{:?}",
        late.message
    );
    store.record_ping("nightly-backup-7f3a", &Ping { at: clock.now(), ok: true }, None).await.unwrap();
    assert_eq!(run_with(&loaded, "backup", &ctx).await.status, Status::Ok);
}

#[tokio::test]
async fn disk_memory_and_load_read_the_real_machine() {
    let loaded = load(
        "[[check]]\nname = \"disk\"\nkind = \"disk\"\npath = \"/\"\nexpect = ['used_percent <= 100%', 'free > 0', 'total >= free']\n\n\
         [[check]]\nname = \"mem\"\nkind = \"memory\"\nexpect = ['used_percent < 100', 'available > 1MiB', 'total > available']\n\n\
         [[check]]\nname = \"load\"\nkind = \"load\"\nexpect = ['load1 >= 0', 'cpus >= 1', 'cpu_percent <= 100%']\n",
    );
    let ctx = Context::default();
    for name in ["disk", "mem", "load"] {
        let result = run_with(&loaded, name, &ctx).await;
        assert_eq!(result.status, Status::Ok, "{name}: {:?}", result.message);
    }
    // Each figure is the machine's own, read here independently.
    let disk = run_with(&loaded, "disk", &ctx).await;
    let statvfs = rustix::fs::statvfs("/").unwrap();
    assert_eq!(obs(&disk, "total"), (statvfs.f_blocks * statvfs.f_frsize) as f64);
    let used = (statvfs.f_blocks - statvfs.f_bfree) as f64;
    let expected = used / (used + statvfs.f_bavail as f64) * 100.0;
    assert!((num(&disk, "used_percent") - expected).abs() < 1.0, "{} vs {expected}", num(&disk, "used_percent"));

    let mem = run_with(&loaded, "mem", &ctx).await;
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let kb = |key: &str| -> f64 {
        let line = meminfo.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() * 1024.0
    };
    assert_eq!(obs(&mem, "total"), kb("MemTotal:"));
    let available = kb("MemAvailable:");
    assert!((num(&mem, "available") - available).abs() < available * 0.1, "{} vs {available}", num(&mem, "available"));

    let load = run_with(&loaded, "load", &ctx).await;
    assert_eq!(obs(&load, "cpus"), std::thread::available_parallelism().unwrap().get() as f64);
    let loadavg: f64 = std::fs::read_to_string("/proc/loadavg").unwrap().split(' ').next().unwrap().parse().unwrap();
    assert!((num(&load, "load1") - loadavg).abs() < 2.0, "{} vs {loadavg}", num(&load, "load1"));
}

#[tokio::test]
async fn disk_on_a_missing_path_says_so() {
    let result = run_one("[[check]]\nname = \"d\"\nkind = \"disk\"\npath = \"/nonexistent/mount\"\n").await;
    assert_eq!(result.message.as_deref(), Some("/nonexistent/mount does not exist"));
}
