//! Maintenance tasks in the daemon, on a manual clock: a task runs at the time its cron names
//! (in its zone), its run is in the history and its result is a check result, a failing task's
//! alert fires at the first failure, `/health` does not count tasks, and a task bound to a
//! maintenance window is skipped outside it.

use std::time::Duration;
use upkeep_daemon::{Daemon, Options};
use upkeep_probe::Clock;
use upkeep_store::Store;

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

fn load(dir: &std::path::Path, body: &str) -> upkeep_plan::Plan {
    let text = format!("[server]\ndata_dir = \"data\"\n\n[defaults]\nzone = \"UTC\"\n\n{body}");
    upkeep_plan::load_config(upkeep_config::Source::new(dir.join("upkeep.toml"), text), &upkeep_config::Env::Process)
        .unwrap_or_else(|d| panic!("{d}"))
}

/// Waits (at most 30 s of real time) for `task`'s history to hold `n` runs.
async fn runs(store: &Store, task: &str, n: usize) -> Vec<upkeep_store::TaskRun> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let runs = store.task_runs(Some(task), 100).await.unwrap();
        if runs.len() >= n {
            return runs;
        }
        assert!(tokio::time::Instant::now() < deadline, "{task} has {} runs, not {n}", runs.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_task_runs_when_its_cron_says_is_recorded_and_its_failure_alerts() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let loaded = load(
        dir.path(),
        &format!(
            "[[task]]\nname = \"weekly\"\nkind = \"command\"\ncommand = \"echo run >> {}\"\nschedule = \"0 3 * * SUN\"\n\n\
             [[task]]\nname = \"broken\"\nkind = \"command\"\ncommand = \"echo cannot; exit 4\"\nschedule = \"0 3 * * SUN\"\n",
            marker.display()
        ),
    );
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    // Saturday evening: nothing is due until Sunday 03:00.
    let clock = Clock::manual(at("2026-12-05T22:00:00Z"));
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), Options::default()).await.unwrap();
    // Through Sunday 02:00, then to 03:00: a run before its time would be the first run, and
    // start at 02:00 or earlier.
    clock.advance(Duration::from_secs(4 * 3600));
    clock.advance(Duration::from_secs(3600)); // Sunday 03:00
    let weekly = runs(&store, "weekly", 1).await;
    assert_eq!(weekly.len(), 1, "{weekly:?}");
    assert!(weekly[0].run.ok && weekly[0].run.trigger == "schedule", "{weekly:?}");
    assert_eq!(weekly[0].run.started, at("2026-12-06T03:00:00Z"));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "run\n");
    let broken = runs(&store, "broken", 1).await;
    assert!(!broken[0].run.ok);
    assert_eq!(broken[0].run.summary, "`echo cannot; exit 4` exited 4");
    assert_eq!(broken[0].run.output, "cannot\n");

    // Its result is a check result, and its own alert fires at the first failure.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let alerts = daemon.alerting().list().await;
        let firing = alerts.iter().any(|a| a["labels"]["check"] == "broken" && a["state"] == "firing");
        if firing {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no firing alert for the broken task: {alerts:?}");
        daemon.alerting().tick().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!daemon.live().get("broken").unwrap().result.is_ok());
    // The app's health is not a maintenance task's.
    let health = upkeep_daemon::health(&daemon.plan().checks, daemon.live());
    assert!(health.checks.is_empty(), "tasks are not in /health");
    assert_eq!(health.overall.as_str(), "healthy");

    // Next Sunday, again, and nothing in the week between.
    clock.advance(Duration::from_secs(6 * 86_400));
    clock.advance(Duration::from_secs(86_400));
    let weekly = runs(&store, "weekly", 2).await;
    let started: Vec<_> = weekly.iter().map(|r| r.run.started).collect();
    assert_eq!(started, [at("2026-12-13T03:00:00Z"), at("2026-12-06T03:00:00Z")]);
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "run\nrun\n");
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_task_bound_to_a_window_is_skipped_outside_it() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("vacuumed");
    // The window is the first Sunday of the month, 02:00-04:00 (seed 003); the task is due
    // every Sunday at 02:30, so it runs on the first and is skipped on the others.
    let loaded = load(
        dir.path(),
        &format!(
            "[[maintenance]]\nname = \"monthly\"\nschedule = \"0 2 * * SUN#1\"\nduration = \"2h\"\n\n\
             [[task]]\nname = \"vacuum\"\nkind = \"command\"\ncommand = \"echo x >> {}\"\nschedule = \"30 2 * * SUN\"\nwindow = \"monthly\"\n",
            marker.display()
        ),
    );
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    let clock = Clock::manual(at("2026-12-05T23:00:00Z"));
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), Options::default()).await.unwrap();
    clock.advance(Duration::from_secs(4 * 3600)); // Sunday 6 December, 03:00: the first Sunday
    runs(&store, "vacuum", 1).await;
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "x\n");
    clock.advance(Duration::from_secs(7 * 86_400)); // the second Sunday
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let skipped = loop {
        if let Some(live) = daemon.live().get("vacuum")
            && live.result.at >= at("2026-12-13T02:30:00Z")
        {
            break live.result;
        }
        assert!(tokio::time::Instant::now() < deadline, "no run on the second Sunday");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(skipped.is_ok());
    assert_eq!(skipped.observations.get("skipped"), Some(&upkeep_expr::Value::Bool(true)));
    assert_eq!(std::fs::read_to_string(&marker).unwrap(), "x\n", "nothing ran outside the window");
    assert_eq!(store.task_runs(Some("vacuum"), 10).await.unwrap().len(), 1);
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_run_missed_while_the_daemon_was_down_is_reported_and_the_next_run_resolves_it() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load(
        dir.path(),
        "[[task]]\nname = \"nightly\"\nkind = \"command\"\ncommand = \"true\"\nschedule = \"0 3 * * *\"\n",
    );
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    let clock = Clock::manual(at("2026-12-06T02:00:00Z"));
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), Options::default()).await.unwrap();
    clock.advance(Duration::from_secs(3600));
    runs(&store, "nightly", 1).await;
    daemon.shutdown().await;

    // Down from Sunday 03:00 until Monday 05:00: Monday's 03:00 run did not happen.
    let clock = Clock::manual(at("2026-12-07T05:00:00Z"));
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), Options::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let missed = loop {
        if let Some(live) = daemon.live().get("nightly")
            && live.result.at == at("2026-12-07T05:00:00Z")
        {
            break live.result;
        }
        assert!(tokio::time::Instant::now() < deadline, "the missed run was not reported");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!missed.is_ok());
    assert!(
        missed
            .message
            .as_deref()
            .unwrap()
            .starts_with("missed its run due at 2026-12-07T03:00:00Z (Upkeep was not running)"),
        "{missed:?}"
    );
    // Tuesday 03:00 runs, and passes.
    clock.advance(Duration::from_secs(22 * 3600));
    runs(&store, "nightly", 2).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !daemon.live().get("nightly").unwrap().result.is_ok() {
        assert!(tokio::time::Instant::now() < deadline, "the next run did not pass");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    daemon.shutdown().await;
}

/// Every announcement in the outbox, oldest first: `(phase, created at)`.
async fn announced(store: &Store) -> Vec<(String, jiff::Timestamp)> {
    let filter = upkeep_store::NotificationFilter { limit: 100, ..Default::default() };
    let mut rows: Vec<(String, jiff::Timestamp)> = store
        .notifications(&filter)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|n| Some((n.message["maintenance"]["phase"].as_str()?.to_string(), n.created)))
        .collect();
    rows.sort_by_key(|(_, at)| *at);
    rows
}

/// Waits (at most 30 s of real time) for `want` announcements and the flag file to be `on`.
async fn settled(store: &Store, want: usize, flag: &std::path::Path, on: bool) -> Vec<(String, jiff::Timestamp)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let rows = announced(store).await;
        if rows.len() >= want && flag.exists() == on {
            return rows;
        }
        assert!(tokio::time::Instant::now() < deadline, "{rows:?}, flag {}", flag.exists());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_window_is_announced_at_its_notice_start_and_end_and_holds_the_app_in_maintenance_mode() {
    let dir = tempfile::tempdir().unwrap();
    let flag = dir.path().join("maintenance.flag");
    let body = format!(
        "[maintenance_mode]\nkind = \"file\"\npath = \"{}\"\n\n\
         [[channel]]\nname = \"team\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/hook\"\n\n\
         [[maintenance]]\nname = \"upgrade\"\nstart = \"2026-12-06 02:00\"\nend = \"2026-12-06 04:00\"\n\
         notice = \"48h\"\nannounce = [\"team\"]\nmode = true\n",
        flag.display()
    );
    let loaded = load(dir.path(), &body);
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    let clock = Clock::manual(at("2026-12-03T12:00:00Z"));
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), Options::default()).await.unwrap();
    // 003-55: the notice goes out 48 hours ahead, at Friday 02:00, not before.
    clock.advance(Duration::from_secs(13 * 3600)); // Friday 01:00
    clock.advance(Duration::from_secs(3600)); // Friday 02:00
    let rows = settled(&store, 1, &flag, false).await;
    assert_eq!(rows, [("scheduled".to_string(), at("2026-12-04T02:00:00Z"))]);
    // At the start: announced, and the app is in maintenance mode.
    clock.advance(Duration::from_secs(48 * 3600));
    let rows = settled(&store, 2, &flag, true).await;
    assert_eq!(rows[1], ("started".to_string(), at("2026-12-06T02:00:00Z")));
    // A restart inside the window says nothing again and switches nothing.
    daemon.shutdown().await;
    std::fs::remove_file(&flag).unwrap(); // someone lifts it by hand
    clock.advance(Duration::from_secs(1800));
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), Options::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while store.consumer_cursor("windows").await.unwrap() != Some(at("2026-12-06T02:30:00Z").as_millisecond() as u64) {
        assert!(tokio::time::Instant::now() < deadline, "no pass after the restart");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(announced(&store).await.len(), 2, "the start is not announced twice");
    assert!(!flag.exists(), "the mode is not switched on again");
    std::fs::write(&flag, "").unwrap();
    // At the end (04:00): announced, and the mode is off (the gate has no failing check).
    clock.advance(Duration::from_secs(5400));
    let rows = settled(&store, 3, &flag, false).await;
    assert_eq!(rows[2], ("ended".to_string(), at("2026-12-06T04:00:00Z")));
    let audit = store.audit_log(10).await.unwrap();
    let actions: Vec<(&str, &str)> = audit.iter().map(|e| (e.actor.as_str(), e.action.as_str())).collect();
    assert_eq!(actions, [("upkeep", "maintenance.off"), ("upkeep", "maintenance.on")], "newest first");
    assert!(audit[0].detail.contains("maintenance window \"upgrade\" ended"), "{:?}", audit[0]);
    daemon.shutdown().await;
}

#[tokio::test]
async fn a_backup_runs_on_its_schedule_and_its_result_is_a_check_result() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("export");
    std::fs::create_dir(&source).unwrap();
    std::fs::write(source.join("export.txt"), "rows\n").unwrap();
    let loaded = load(
        dir.path(),
        &format!(
            "[[backup]]\nname = \"export\"\nsource = {{ kind = \"files\", path = \"{}\" }}\nschedule = \"0 2 * * *\"\n\
             drill = \"0 3 * * *\"\nmax_age = \"26h\"\n",
            source.display()
        ),
    );
    assert_eq!(loaded.checks.iter().filter(|c| c.kind == upkeep_backup::BACKUP_KIND).count(), 1);
    let store = Store::open(&loaded.server.data_dir).await.unwrap();
    let clock = Clock::manual(at("2026-12-02T01:59:00Z"));
    let daemon = Daemon::start(&loaded, store.clone(), clock.clone(), Options::default()).await.unwrap();
    clock.advance(Duration::from_secs(60));
    let history = runs(&store, "export", 1).await;
    assert!(history[0].run.ok, "{history:?}");
    assert_eq!(history[0].run.started, at("2026-12-02T02:00:00Z"));
    assert!(history[0].run.summary.starts_with("snapshot "), "{}", history[0].run.summary);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while daemon.live().get("export").is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no check result for the backup");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let result = daemon.live().get("export").unwrap().result;
    assert!(result.is_ok());
    let Some(upkeep_expr::Value::String(snapshot)) = result.observations.get("snapshot").cloned() else {
        panic!("no snapshot id in {:?}", result.observations)
    };
    let repo = upkeep_backup::open(&loaded.repository).await.unwrap();
    let listed = tokio::task::spawn_blocking(move || repo.snapshots()).await.unwrap().unwrap();
    assert_eq!(listed.iter().map(|s| s.id.clone()).collect::<Vec<_>>(), [snapshot]);
    assert_eq!(listed[0].time, at("2026-12-02T02:00:00Z"), "the snapshot is dated by the controllable clock");
    // 002-62: the drill at 03:00 restores the newest snapshot and proves it.
    clock.advance(Duration::from_secs(3600));
    let drills = runs(&store, "export-drill", 1).await;
    assert!(drills[0].run.ok, "{drills:?}");
    assert_eq!(drills[0].run.started, at("2026-12-02T03:00:00Z"));
    assert!(
        drills[0].run.summary.starts_with(&format!("snapshot {}: every blob read back", &listed[0].id[..8])),
        "{drills:?}"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while daemon.live().get("export-drill").is_none() {
        assert!(tokio::time::Instant::now() < deadline, "no check result for the drill");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(daemon.live().get("export-drill").unwrap().result.is_ok());
    let health = upkeep_daemon::health(&daemon.plan().checks, daemon.live());
    assert!(health.checks.is_empty(), "a backup is not the app's health");

    // The metrics of the contract, from the history.
    daemon.refresh_backup_metrics().await.unwrap();
    let metrics = daemon.metrics().encode();
    let seconds = |t: &str| at(t).as_second();
    for line in [
        format!(
            "upkeep_backup_last_success_timestamp_seconds{{backup=\"export\"}} {}.0",
            seconds("2026-12-02T02:00:00Z")
        ),
        format!(
            "upkeep_backup_last_drill_success_timestamp_seconds{{backup=\"export\"}} {}.0",
            seconds("2026-12-02T03:00:00Z")
        ),
        format!("upkeep_backup_size_bytes{{backup=\"export\"}} {}", listed[0].size),
    ] {
        assert!(metrics.contains(&line), "{line} not in {metrics}");
    }

    // 000-36/37: the backup stops working; its targets check fails once the newest backup is
    // older than max_age (26h), not at the next night's run.
    std::fs::remove_dir_all(&source).unwrap();
    clock.advance(Duration::from_secs(23 * 3600)); // 02:00 the next day: the run fails
    assert!(!runs(&store, "export", 2).await[0].run.ok);
    let targets = |daemon: &Daemon| daemon.live().get("export-targets").map(|l| l.result);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while targets(&daemon).is_none_or(|r| r.at < at("2026-12-03T02:00:00Z")) {
        assert!(tokio::time::Instant::now() < deadline, "the targets check did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(targets(&daemon).unwrap().is_ok(), "24h old: within max_age");
    clock.advance(Duration::from_secs(2 * 3600 + 120)); // 04:02: 26h02m since the last success
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while targets(&daemon).is_some_and(|r| r.is_ok()) {
        assert!(tokio::time::Instant::now() < deadline, "the targets check did not fail");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let message = targets(&daemon).unwrap().message.unwrap();
    assert!(
        message.starts_with(
            "the newest backup of export is 1d2h2m old, over its max_age of 1d2h; the last run at 2026-12-03T02:00:00Z failed: "
        ),
        "{message}"
    );
    daemon.shutdown().await;
}
