//! `upkeep backup list | status | inspect ID`: the snapshots (which a drill proved good), where
//! each backup stands (RPO and RTO against its targets), and one snapshot in full.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY, local, one, short, snapshots};
use std::collections::BTreeSet;
use std::time::Duration;
use upkeep_backup::Snapshot;
use upkeep_daemon::backups;
use upkeep_expr::Value;

/// Whole seconds, or milliseconds under ten seconds (a small database's RTO).
fn shown(d: Option<Duration>) -> String {
    let round = |d: Duration| {
        if d < Duration::from_secs(10) {
            Duration::from_millis(d.as_millis() as u64)
        } else {
            Duration::from_secs(d.as_secs())
        }
    };
    d.map_or("–".into(), |d| Value::duration(round(d)).to_string())
}

/// Every snapshot a drill proved, whichever backup it belongs to.
async fn good(plan: &upkeep_plan::Plan, store: &upkeep_store::Store) -> Result<BTreeSet<String>, String> {
    let statuses = backups::statuses(plan, store, jiff::Timestamp::now()).await.map_err(|e| e.to_string())?;
    Ok(statuses.into_iter().flat_map(|(_, s)| s.good).collect())
}

pub async fn list(plan: &upkeep_plan::Plan, store: &upkeep_store::Store, backup: Option<&str>, json: bool) -> u8 {
    let found = async { Ok::<_, String>((snapshots(plan).await?, good(plan, store).await?)) };
    let (snapshots, good): (Vec<Snapshot>, BTreeSet<String>) = match found.await {
        Ok((all, good)) => (all.into_iter().filter(|s| backup.is_none_or(|b| s.backup == b)).collect(), good),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if json {
        let out: Vec<serde_json::Value> = snapshots
            .iter()
            .map(|s| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["good"] = good.contains(&s.id).into();
                v
            })
            .collect();
        println!("{}", serde_json::Value::Array(out));
        return EXIT_OK;
    }
    if snapshots.is_empty() {
        println!("no snapshots yet: `upkeep backup run` makes one");
        return EXIT_OK;
    }
    let rows: Vec<Vec<String>> = snapshots
        .iter()
        .map(|s| {
            let rows = upkeep_backup::rows(s);
            vec![
                short(&s.id).to_string(),
                s.backup.clone(),
                local(s.time),
                upkeep_backup::bytes(s.size),
                upkeep_backup::bytes(s.added),
                if rows > 0 { rows.to_string() } else { String::new() },
                if good.contains(&s.id) { "good (drilled)".into() } else { String::new() },
                s.path.clone(),
            ]
        })
        .collect();
    let header = ["ID", "BACKUP", "TIME", "SIZE", "ADDED", "ROWS", "PROVED", "PATH"];
    print!("{}", super::super::table::columns(&header, &rows));
    EXIT_OK
}

pub async fn status(plan: &upkeep_plan::Plan, store: &upkeep_store::Store, json: bool) -> u8 {
    let now = jiff::Timestamp::now();
    let statuses = match backups::statuses(plan, store, now).await {
        Ok(statuses) => statuses,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let troubled = statuses.iter().any(|(b, s)| {
        s.last_run.as_ref().is_some_and(|r| !r.ok)
            || s.last_drill.as_ref().is_some_and(|r| !r.ok)
            || backups::targets_met(b, s) == Some(false)
    });
    let code = if troubled { EXIT_UNHEALTHY } else { EXIT_OK };
    if json {
        let out: Vec<serde_json::Value> = statuses.iter().map(|(b, s)| backups::view(b, s, now)).collect();
        println!("{}", serde_json::Value::Array(out));
        return code;
    }
    if statuses.is_empty() {
        println!("no [[backup]] is configured (see the README's Backups section)");
        return EXIT_OK;
    }
    let rows: Vec<Vec<String>> = statuses
        .iter()
        .map(|(b, s)| {
            let last = match &s.last_run {
                None => "not run yet".to_string(),
                Some(r) if r.ok => format!("ok {}", local(r.at)),
                Some(r) => format!("FAILED {}: {}", local(r.at), r.summary),
            };
            let drill = match (&s.last_drill, &s.newest_good) {
                (Some(d), _) if !d.ok => format!("FAILED {}", local(d.at)),
                (_, Some(good)) => format!("{} taken {}", short(&good.snapshot), local(good.taken)),
                _ => "none passed yet".into(),
            };
            let targets = match backups::targets_met(b, s) {
                None => "–".into(),
                Some(true) => "met".into(),
                Some(false) => "MISSED".into(),
            };
            let target = |d: Option<Duration>| d.map(|d| format!(" (≤ {})", shown(Some(d)))).unwrap_or_default();
            vec![
                b.name.clone(),
                last,
                s.last_success.as_ref().and_then(|r| r.size).map(upkeep_backup::bytes).unwrap_or_default(),
                s.dedup_ratio.map(|r| format!("{r:.1}×")).unwrap_or_default(),
                format!("{}{}", shown(s.age), target(b.max_age)),
                drill,
                shown(s.rpo),
                format!("{}{}", shown(s.rto), target(b.rto)),
                targets,
            ]
        })
        .collect();
    let header = ["BACKUP", "LAST RUN", "SIZE", "DEDUP", "AGE", "NEWEST GOOD", "RPO", "RTO", "TARGETS"];
    print!("{}", super::super::table::columns(&header, &rows));
    code
}

pub async fn inspect(plan: &upkeep_plan::Plan, store: &upkeep_store::Store, id: &str, json: bool) -> u8 {
    let snapshot = match snapshots(plan).await.and_then(|all| one(all, id)) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let drill = upkeep_backup::drill_name(&snapshot.backup);
    let drills: Vec<upkeep_store::TaskRun> = match store.task_runs(Some(&drill), upkeep_backup::HISTORY).await {
        Ok(runs) => runs.into_iter().filter(|r| r.run.changes["snapshot"] == snapshot.id.as_str()).collect(),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if json {
        let mut v = serde_json::to_value(&snapshot).unwrap_or_default();
        v["good"] = drills.iter().any(|d| d.run.ok).into();
        v["drills"] = serde_json::to_value(&drills).unwrap_or_default();
        println!("{v}");
        return EXIT_OK;
    }
    let meta = &snapshot.meta;
    println!("snapshot   {}", snapshot.id);
    println!(
        "backup     {} ({} {})",
        snapshot.backup,
        meta["kind"].as_str().unwrap_or("?"),
        meta["target"].as_str().unwrap_or("")
    );
    println!("taken      {} in {:.1}s", local(snapshot.time), snapshot.duration_ms as f64 / 1000.0);
    println!(
        "holds      {} in {} files ({} new to the repository), at {}",
        upkeep_backup::bytes(snapshot.size),
        snapshot.files,
        upkeep_backup::bytes(snapshot.added),
        snapshot.path
    );
    if let Some(version) = meta["schema_version"].as_str() {
        println!("schema     {version}");
    }
    match drills.iter().find(|d| d.run.ok) {
        Some(d) => println!("proved     good: a drill passed at {} ({})", local(d.run.started), d.run.summary),
        None if drills.is_empty() => {
            println!("proved     not yet: `upkeep backup verify {} --drill`", short(&snapshot.id))
        }
        None => println!("proved     NO: every drill of it failed, the last: {}", drills[0].run.summary),
    }
    if let Some(tables) = meta["tables"].as_object().filter(|t| !t.is_empty()) {
        let rows: Vec<Vec<String>> =
            tables.iter().map(|(name, n)| vec![name.clone(), n.as_u64().unwrap_or(0).to_string()]).collect();
        println!();
        print!("{}", super::super::table::columns(&["TABLE", "ROWS AT BACKUP"], &rows));
    }
    EXIT_OK
}
