//! The maintenance examples run by the real binary: seed 002's cron block and checklist against
//! MariaDB and files (002-08, 002-18..23, 002-30..32, 002-55..58), seed 000's weekly and monthly
//! lists against SQLite and Redis (000-108, 000-110), the app's maintenance mode switched,
//! read back, verified against the app and gated on the checks (000-95, 000-101, 001-61, 001-62),
//! and a second run of a task refused while the first holds its lock.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

fn service(name: &str, addr: &str) -> bool {
    let up = std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), Duration::from_secs(2)).is_ok();
    if !up {
        assert_ne!(
            std::env::var("UPKEEP_TEST_SERVICES").as_deref(),
            Ok("required"),
            "{name} is not reachable at {addr}"
        );
        eprintln!("skipped: {name} is not reachable at {addr}");
    }
    up
}

/// The example copied into a scratch folder (its relative paths land there).
fn scratch(example: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(example);
    let config = dir.path().join(example);
    std::fs::copy(source, &config).unwrap();
    (dir, config)
}

/// `upkeep -c CONFIG ARGS` with `env`: exit code and stdout as JSON.
fn run_upkeep(config: &Path, env: &[(&str, String)], args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(config)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        // Beside the config, as a deploy's cron would run it: the checks' relative paths too.
        .current_dir(config.parent().unwrap())
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!("{args:?}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code(), json)
}

fn old_file(path: &Path, days: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "x").unwrap();
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - Duration::from_secs(days * 86_400)).unwrap();
}

/// Runs every task of the config once; returns each task's JSON outcome by name.
fn run_all(config: &Path, env: &[(&str, String)]) -> std::collections::BTreeMap<String, serde_json::Value> {
    let (code, tasks) = run_upkeep(config, env, &["task", "list", "--json"]);
    assert_eq!(code, Some(0), "{tasks}");
    let mut outcomes = std::collections::BTreeMap::new();
    for task in tasks.as_array().unwrap() {
        let name = task["name"].as_str().unwrap();
        let (code, outcome) = run_upkeep(config, env, &["task", "run", name, "--json"]);
        assert_eq!(code, Some(0), "{name}: {outcome}");
        outcomes.insert(name.to_string(), outcome);
    }
    let (_, listed) = run_upkeep(config, env, &["task", "list", "--json"]);
    for task in listed.as_array().unwrap() {
        assert_eq!(task["last_run"]["ok"], true, "every run is in the history: {task}");
        assert!(task["next_run"].is_string());
    }
    outcomes
}

#[test]
fn seed_002s_cron_block_and_checklist_run_against_mariadb_and_files() {
    if !service("MariaDB", "127.0.0.1:3306") {
        return;
    }
    let (dir, config) = scratch("seed-002-maintenance.toml");
    let db = format!("seed002_{}", std::process::id());
    let sql = |statement: &str| {
        let out = Command::new("mariadb")
            .args(["-h", "127.0.0.1", "-u", "root", "-e", statement])
            .output()
            .expect("mariadb client");
        assert!(out.status.success(), "{statement}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    sql(&format!(
        "CREATE DATABASE {db}; USE {db};
         CREATE TABLE audit_logs (id INT AUTO_INCREMENT PRIMARY KEY, action VARCHAR(50), created_at DATETIME);
         CREATE TABLE audit_logs_archive LIKE audit_logs;
         CREATE TABLE analytics_events (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50), created_at DATETIME);
         CREATE TABLE analytics_events_archive LIKE analytics_events;
         CREATE TABLE cases (id INT PRIMARY KEY); CREATE TABLE case_documents (id INT PRIMARY KEY);
         CREATE TABLE messages (id INT PRIMARY KEY); CREATE TABLE users (id INT PRIMARY KEY);
         INSERT INTO audit_logs (action, created_at) VALUES ('old', NOW() - INTERVAL 200 DAY), ('old', NOW() - INTERVAL 91 DAY), ('new', NOW());
         INSERT INTO analytics_events (name, created_at) VALUES ('old', NOW() - INTERVAL 400 DAY), ('new', NOW());"
    ));
    let env = [
        ("APP_DB", format!("mysql://root@127.0.0.1:3306/{db}")),
        ("UPKEEP_DATA", dir.path().join("data").display().to_string()),
    ];
    std::fs::create_dir_all(dir.path().join("logs")).unwrap();
    std::fs::write(dir.path().join("logs/php_errors.log"), "PHP Warning: one\n").unwrap();
    std::fs::write(dir.path().join("logs/app.log"), "line\n").unwrap();
    old_file(&dir.path().join("storage/tmp/upload-1.part"), 3);
    old_file(&dir.path().join("storage/tmp/nested/upload-2.part"), 3);
    std::fs::write(dir.path().join("storage/tmp/fresh.part"), "x").unwrap();
    old_file(&dir.path().join("storage/sessions/sess_abc"), 2);

    let outcomes = run_all(&config, &env);
    assert_eq!(outcomes["audit-archive"]["changes"]["rows_archived"], 2.0);
    assert_eq!(outcomes["analytics-archive"]["changes"]["rows_deleted"], 1.0);
    assert_eq!(outcomes["db-optimize"]["summary"], "analyzed 4 tables; checked 4 tables: all OK; optimized 4 tables");
    assert_eq!(outcomes["temp-cleanup"]["changes"]["files_deleted"], 2.0);
    assert_eq!(outcomes["session-cleanup"]["changes"]["files_deleted"], 1.0);
    assert!(dir.path().join("logs/php_errors.log.1.gz").exists() && dir.path().join("storage/tmp/fresh.part").exists());
    let counts =
        sql(&format!("SELECT (SELECT count(*) FROM {db}.audit_logs), (SELECT count(*) FROM {db}.audit_logs_archive)"));
    assert!(counts.lines().nth(1).unwrap().split_whitespace().eq(["1", "2"]), "{counts}");
    sql(&format!("DROP DATABASE {db}"));
}

/// A fake `php artisan down|up` (Laravel writes storage/framework/down) and `composer`.
fn fake_tools(dir: &Path) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let php = format!(
        "#!/bin/sh\ncase \"$2\" in\n  down) mkdir -p {0}/storage/framework && echo down > {0}/storage/framework/down ;;\n  up) rm -f {0}/storage/framework/down ;;\nesac\n",
        dir.display()
    );
    for (name, script) in
        [("php", php.as_str()), ("composer", "#!/bin/sh\necho 'No security vulnerability advisories found'\n")]
    {
        let path = bin.join(name);
        std::fs::write(&path, script).unwrap();
        std::os::unix::fs::PermissionsExt::set_mode(&mut std::fs::metadata(&path).unwrap().permissions(), 0o755);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn seed_000s_weekly_and_monthly_lists_run_against_sqlite_and_redis() {
    if !service("Redis", "127.0.0.1:6379") {
        return;
    }
    let (dir, config) = scratch("seed-000-maintenance.toml");
    let db = dir.path().join("database/database.sqlite");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    let out = Command::new("sqlite3")
        .arg(&db)
        .arg(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, deleted_at TEXT);
             CREATE TABLE password_reset_tokens (email TEXT PRIMARY KEY, token TEXT, created_at TEXT);
             INSERT INTO users (email, deleted_at) VALUES ('gone@example.com', '2023-01-01 00:00:00'), ('kept@example.com', NULL), ('recent@example.com', datetime('now', '-30 days'));
             INSERT INTO password_reset_tokens VALUES ('a@example.com', 't', '2024-01-01 00:00:00');",
        )
        .output()
        .expect("sqlite3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    old_file(&dir.path().join("storage/logs/laravel-2026-01-01.log"), 30);
    std::fs::write(dir.path().join("storage/logs/laravel.log"), "today\n").unwrap();
    let env = [("UPKEEP_DATA", dir.path().join("data").display().to_string()), ("PATH", fake_tools(dir.path()))];

    let outcomes = run_all(&config, &env);
    assert_eq!(outcomes["gdpr-retention"]["changes"]["rows_deleted"], 1.0, "only the user deleted over two years ago");
    assert_eq!(outcomes["reset-tokens"]["changes"]["rows_deleted"], 1.0);
    assert_eq!(outcomes["laravel-logs"]["changes"]["files_deleted"], 1.0);
    assert!(outcomes["sqlite-weekly"]["summary"].as_str().unwrap().contains("integrity check ok"));
    assert!(outcomes["redis-weekly"]["changes"]["used_memory"].as_f64().unwrap() > 0.0);
    assert!(outcomes["composer-audit"]["output"].as_str().unwrap().contains("No security vulnerability"));
    assert!(dir.path().join("storage/logs/laravel.log").exists());

    // The app's maintenance mode: `php artisan down`, read back from Laravel's flag file.
    let (code, status) = run_upkeep(&config, &env, &["maintenance", "status", "--json"]);
    assert_eq!((code, status["on"].clone()), (Some(0), serde_json::json!(false)));
    let (code, on) = run_upkeep(&config, &env, &["maintenance", "on", "--reason", "monthly window", "--json"]);
    assert_eq!(code, Some(0), "{on}");
    assert!(dir.path().join("storage/framework/down").exists());
    let (code, status) = run_upkeep(&config, &env, &["maintenance", "status", "--json"]);
    assert_eq!((code, status["on"].clone()), (Some(1), serde_json::json!(true)));
    // Off is gated on the database check, which passes.
    let (code, off) = run_upkeep(&config, &env, &["maintenance", "off", "--json"]);
    assert_eq!(code, Some(0), "{off}");
    assert!(!dir.path().join("storage/framework/down").exists());
    // The window the monthly VACUUM is bound to, with its 48-hour notice.
    let (_, windows) = run_upkeep(&config, &env, &["maintenance", "windows", "--days", "40", "--json"]);
    let first = &windows[0];
    let (start, notice) = (
        first["starts_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(),
        first["notice_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap(),
    );
    assert_eq!(start.duration_since(notice), jiff::SignedDuration::from_hours(48));
}

#[test]
fn maintenance_mode_is_verified_against_the_app_and_off_waits_for_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("down");
    // The app answers 503 while the flag exists, as Laravel does in maintenance mode.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let served = flag.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = std::io::Read::read(&mut stream, &mut buf);
            let status = if served.exists() { "503 Service Unavailable" } else { "200 OK" };
            let _ = std::io::Write::write_all(
                &mut stream,
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
            );
        }
    });
    let gate_file = dir.path().join("db-ok");
    let config = dir.path().join("upkeep.toml");
    let write = |on: &str| {
        std::fs::write(
            &config,
            format!(
                "[server]\ndata_dir = \"data\"\n\n[[check]]\nname = \"db\"\nkind = \"file\"\npath = \"{}\"\n\n\
                 [maintenance_mode]\nkind = \"command\"\non = \"{on}\"\noff = \"rm -f {flag}\"\nflag = \"{flag}\"\n\
                 check_url = \"http://127.0.0.1:{port}/\"\nsettle = \"2s\"\n",
                gate_file.display(),
                flag = flag.display()
            ),
        )
        .unwrap()
    };
    // A `down` that does nothing (000-95: `--message` makes Laravel's `down` fail) is caught.
    write("true");
    let (code, refused) = run_upkeep(&config, &[], &["maintenance", "on", "--json"]);
    assert_eq!(code, Some(1));
    assert!(refused["error"].as_str().unwrap().contains("but the app does not show it"), "{refused}");
    write(&format!("touch {}", flag.display()));
    let (code, on) = run_upkeep(&config, &[], &["maintenance", "on", "--reason", "restore", "--json"]);
    assert_eq!(code, Some(0), "{on}");
    assert!(on["done"].as_str().unwrap().contains("answered 503"), "{on}");
    // The gate check (a file that stands for the database) fails: `off` is refused.
    let (code, refused) = run_upkeep(&config, &[], &["maintenance", "off", "--json"]);
    assert_eq!(code, Some(1));
    assert!(
        refused["error"].as_str().unwrap().starts_with("maintenance mode stays on: a gate check is failing (db:"),
        "{refused}"
    );
    assert!(flag.exists());
    std::fs::write(&gate_file, "").unwrap();
    let (code, off) = run_upkeep(&config, &[], &["maintenance", "off", "--json"]);
    assert_eq!(code, Some(0), "{off}");
    assert!(off["done"].as_str().unwrap().contains("answered 200"), "{off}");
}

#[test]
fn a_second_run_of_a_task_is_refused_while_the_first_holds_its_lock() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("upkeep.toml");
    let started = dir.path().join("started");
    std::fs::write(
        &config,
        format!(
            "[server]\ndata_dir = \"data\"\n\n[[task]]\nname = \"slow\"\nkind = \"command\"\n\
             command = \"touch {}; sleep 30\"\nschedule = \"0 3 * * *\"\ntimeout = \"1m\"\n",
            started.display()
        ),
    )
    .unwrap();
    let mut first = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["task", "run", "slow"])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !started.exists() {
        assert!(std::time::Instant::now() < deadline, "the first run did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (code, second) = run_upkeep(&config, &[], &["task", "run", "slow", "--json"]);
    assert_eq!(code, Some(1));
    assert!(second["error"].as_str().unwrap().starts_with("task slow is already running (pid "), "{second}");
    first.kill().unwrap();
    let _ = first.wait();
}

#[tokio::test]
async fn the_api_lists_tasks_runs_one_for_an_admin_and_audits_it() {
    let dir = tempfile::tempdir().unwrap();
    let token = |role: &str| {
        let (token, stderr) = support::upkeep(&["token", "new", "--name", role, "--role", role], "");
        (token, support::token_sha(&stderr))
    };
    let ((viewer, viewer_sha), (admin, admin_sha)) = (token("viewer"), token("admin"));
    let marker = dir.path().join("ran");
    let config = support::write_config(
        dir.path(),
        &format!(
            "[[token]]\nname = \"viewer\"\nsha256 = \"{viewer_sha}\"\nrole = \"viewer\"\n\n\
             [[token]]\nname = \"admin\"\nsha256 = \"{admin_sha}\"\nrole = \"admin\"\n\n\
             [[task]]\nname = \"queue-restart\"\nkind = \"command\"\ncommand = \"echo restarted >> {}\"\nschedule = \"0 3 * * *\"\n",
            marker.display()
        ),
    );
    let daemon = support::Daemon::start(&config);
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, token: &str| {
        client.request(method, format!("{}{path}", daemon.url)).bearer_auth(token).send()
    };
    let tasks: serde_json::Value =
        call(reqwest::Method::GET, "/api/v1/tasks", &viewer).await.unwrap().json().await.unwrap();
    assert_eq!(tasks["tasks"][0]["name"], "queue-restart");
    assert_eq!(tasks["tasks"][0]["last_run"], serde_json::Value::Null);
    let refused = call(reqwest::Method::POST, "/api/v1/tasks/queue-restart/run", &viewer).await.unwrap();
    assert_eq!(refused.status(), 403, "a viewer cannot run a task");
    assert_eq!(call(reqwest::Method::GET, "/api/v1/audit", &viewer).await.unwrap().status(), 403);
    let queued = call(reqwest::Method::POST, "/api/v1/tasks/queue-restart/run", &admin).await.unwrap();
    assert_eq!(queued.status(), 202);
    let runs = support::eventually("the queued run", async || {
        let runs: serde_json::Value =
            call(reqwest::Method::GET, "/api/v1/tasks/queue-restart/runs", &viewer).await.ok()?.json().await.ok()?;
        (runs["runs"].as_array()?.len() == 1).then_some(runs)
    })
    .await;
    assert_eq!(runs["runs"][0]["ok"], true);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "restarted\n");
    let audit: serde_json::Value =
        call(reqwest::Method::GET, "/api/v1/audit", &admin).await.unwrap().json().await.unwrap();
    assert_eq!(audit["entries"][0]["action"], "task.run");
    assert_eq!(audit["entries"][0]["actor"], "token:admin");
    assert_eq!(call(reqwest::Method::GET, "/api/v1/tasks/nope/runs", &viewer).await.unwrap().status(), 404);
    // No [maintenance_mode]: nothing to switch.
    let switch = client
        .post(format!("{}/api/v1/maintenance", daemon.url))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"on": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(switch.status(), 409);
}
