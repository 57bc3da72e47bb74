//! A one-shot `upkeep check` beside the daemon, on one store: looking at the app's log from the
//! command line must not move the position the daemon reads from, or the daemon's next run finds
//! no new lines and records a failing app as recovered (a false recovery that would resolve its
//! alerts).

mod support;

use std::io::Write;
use std::process::Command;
use support::{Daemon, eventually, write_config};

async fn after(daemon: &Daemon, since: jiff::Timestamp) -> serde_json::Value {
    eventually("a run of app-log", async || {
        let check = daemon.json("/api/v1/checks/app-log").await;
        let at: Option<jiff::Timestamp> = check["last_run"].as_str().and_then(|t| t.parse().ok());
        at.is_some_and(|at| at > since).then_some(check)
    })
    .await
}

#[tokio::test]
async fn a_one_shot_check_of_the_log_leaves_the_daemon_s_position_alone() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("laravel.log");
    std::fs::write(&log, "[2026-12-03 10:00:00] production.INFO: started\n").unwrap();
    let config = write_config(
        dir.path(),
        &format!("[[check]]\nname = \"app-log\"\nkind = \"log\"\npath = \"{}\"\nevery = \"1s\"\n", log.display()),
    );
    let daemon = Daemon::start(&config);
    let first = after(&daemon, jiff::Timestamp::UNIX_EPOCH).await;
    assert_eq!(first["status"], "ok", "{first}");
    drop(daemon);

    // The app fails while the daemon is away; someone looks from the command line.
    let mut file = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(file, "[2026-12-03 10:01:00] production.ERROR: payment gateway timed out").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["check", "app-log", "--json"])
        .output()
        .unwrap();
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(seen[0]["status"], "error", "the command line sees the error: {seen}");
    // Looking again shows what is new since its own last look: nothing.
    let again = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["check", "app-log", "--json"])
        .output()
        .unwrap();
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again[0]["observations"]["matched"], 0.0, "{again}");

    // The daemon, back, still reads the error: no false recovery.
    let restarted = jiff::Timestamp::now();
    let daemon = Daemon::start(&config);
    let next = after(&daemon, restarted).await;
    assert_eq!(next["status"], "error", "the daemon's run after the command line's: {next}");
}
