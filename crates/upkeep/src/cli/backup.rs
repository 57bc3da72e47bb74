//! `upkeep backup run [NAME] | list | restore ID --to DIR | verify [ID] [--drill] | prune
//! [--dry-run]`: back up now (under the lock the daemon takes, recorded in the backup's
//! history), the snapshots in the repository, a snapshot's data put back, proven, and each
//! backup's `keep` policy applied.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use upkeep_backup::Snapshot;

#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Back up now: one backup by name, or every one. Exit 1 when one fails.
    Run {
        name: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// The snapshots in the repository, oldest first.
    List {
        /// Only this backup's.
        #[arg(long)]
        backup: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Restore a snapshot (its id, or the first 8 digits of it) into a directory.
    Restore {
        id: String,
        /// Where to put it; it must not exist yet, or be empty.
        #[arg(long)]
        to: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Read back every blob of a snapshot (the newest of each backup when no ID is given); with
    /// `--drill`, also restore it into a scratch place and check it as the app would use it.
    /// Exit 1 when one fails.
    Verify {
        id: Option<String>,
        #[arg(long)]
        drill: bool,
        #[arg(long)]
        json: bool,
    },
    /// Apply each backup's `keep`: show what goes and why, then remove it and the data no
    /// snapshot needs any more.
    Prune {
        /// Show what would go; remove nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(path: &Path, command: BackupCommand) -> u8 {
    let json = matches!(
        command,
        BackupCommand::Run { json: true, .. }
            | BackupCommand::List { json: true, .. }
            | BackupCommand::Restore { json: true, .. }
    );
    let (plan, store) = match super::plan_and_store(path, json).await {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    match command {
        BackupCommand::Run { name, json } => run_backups(&plan, &store, name.as_deref(), json).await,
        BackupCommand::List { backup, json } => list(&plan, backup.as_deref(), json).await,
        BackupCommand::Restore { id, to, json } => restore(&plan, &id, &to, json).await,
        BackupCommand::Prune { dry_run, json } => prune(&plan, dry_run, json).await,
        BackupCommand::Verify { id, drill, json } => verify(&plan, &store, id.as_deref(), drill, json).await,
    }
}

async fn run_backups(plan: &upkeep_plan::Plan, store: &upkeep_store::Store, name: Option<&str>, json: bool) -> u8 {
    let chosen: Vec<_> = plan.backups.iter().filter(|b| name.is_none_or(|n| b.name == n)).collect();
    if chosen.is_empty() {
        match name {
            Some(name) => {
                let hint = upkeep_expr::closest_name(name, plan.backups.iter().map(|b| b.name.clone()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| "; `upkeep backup list` shows the snapshots".into());
                eprintln!("error: there is no backup named `{name}`{hint}");
            }
            None => eprintln!("error: no [[backup]] is configured (see the README's Backups section)"),
        }
        return EXIT_BAD_INPUT;
    }
    let places = upkeep_backup::Places::under(&plan.server.data_dir);
    let trigger = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    let mut failed = false;
    let mut out = Vec::new();
    for backup in chosen {
        let spinner = super::spinner(&format!("backing up {} ({})", backup.name, backup.source.target()));
        let now = jiff::Timestamp::now();
        let result = upkeep_backup::run_recorded(backup, &plan.repository, &places, Some(store), &trigger, now).await;
        spinner.finish_and_clear();
        match result {
            Ok((snapshot, record)) => {
                if !json {
                    println!(
                        "{}: {} in {:.1}s",
                        backup.name,
                        upkeep_backup::summary(&snapshot),
                        record.duration.as_secs_f64()
                    );
                }
                out.push(serde_json::json!({"backup": backup.name, "ok": true, "snapshot": snapshot}));
            }
            Err(message) => {
                failed = true;
                if !json {
                    eprintln!("{}: FAILED: {message}", backup.name);
                }
                out.push(serde_json::json!({"backup": backup.name, "ok": false, "error": message}));
            }
        }
    }
    if json {
        println!("{}", serde_json::Value::Array(out));
    }
    if failed { EXIT_UNHEALTHY } else { EXIT_OK }
}

async fn list(plan: &upkeep_plan::Plan, backup: Option<&str>, json: bool) -> u8 {
    let snapshots: Vec<Snapshot> = match snapshots(plan).await {
        Ok(all) => all.into_iter().filter(|s| backup.is_none_or(|b| s.backup == b)).collect(),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if json {
        println!("{}", serde_json::to_value(&snapshots).unwrap_or_default());
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
                s.id[..8.min(s.id.len())].to_string(),
                s.backup.clone(),
                s.time.to_zoned(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M").to_string(),
                upkeep_backup::bytes(s.size),
                upkeep_backup::bytes(s.added),
                if rows > 0 { rows.to_string() } else { String::new() },
                s.path.clone(),
            ]
        })
        .collect();
    print!("{}", super::table::columns(&["ID", "BACKUP", "TIME", "SIZE", "ADDED", "ROWS", "PATH"], &rows));
    EXIT_OK
}

async fn snapshots(plan: &upkeep_plan::Plan) -> Result<Vec<Snapshot>, String> {
    if !plan.repository.path.join("config").exists() {
        return Ok(Vec::new());
    }
    let repo = upkeep_backup::open(&plan.repository).await?;
    tokio::task::spawn_blocking(move || repo.snapshots()).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}

async fn restore(plan: &upkeep_plan::Plan, id: &str, to: &Path, json: bool) -> u8 {
    if to.exists() && std::fs::read_dir(to).is_ok_and(|mut d| d.next().is_some()) {
        eprintln!("error: {} is not empty: restore into a new directory, then move what you need", to.display());
        return EXIT_BAD_INPUT;
    }
    let found = match snapshots(plan).await {
        Ok(all) => all.into_iter().filter(|s| s.id.starts_with(id)).collect::<Vec<_>>(),
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let snapshot = match found.as_slice() {
        [one] => one.clone(),
        [] => {
            eprintln!("error: no snapshot {id}: `upkeep backup list` shows them");
            return EXIT_BAD_INPUT;
        }
        _ => {
            eprintln!("error: {id} names {} snapshots: give more of its id", found.len());
            return EXIT_BAD_INPUT;
        }
    };
    let spinner =
        super::spinner(&format!("restoring {} of {} into {}", &snapshot.id[..8], snapshot.backup, to.display()));
    let result = match upkeep_backup::open(&plan.repository).await {
        Ok(repo) => {
            let (id, path, to) = (snapshot.id.clone(), snapshot.path.clone(), to.to_path_buf());
            tokio::task::spawn_blocking(move || repo.restore(&id, &path, &to))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        }
        Err(e) => Err(e),
    };
    spinner.finish_and_clear();
    match result {
        Ok(restored) => {
            if json {
                println!("{}", serde_json::json!({"ok": true, "snapshot": snapshot.id, "restored": restored}));
            } else {
                println!(
                    "restored {} ({}, {}) as {}",
                    &snapshot.id[..8],
                    snapshot.backup,
                    snapshot.path,
                    restored.display()
                );
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_UNHEALTHY
        }
    }
}

async fn prune(plan: &upkeep_plan::Plan, dry_run: bool, json: bool) -> u8 {
    if !plan.repository.path.join("config").exists() {
        println!("{}", if json { "[]".to_string() } else { "no repository yet: nothing to prune".into() });
        return EXIT_OK;
    }
    let repo = match upkeep_backup::open(&plan.repository).await {
        Ok(repo) => repo,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let backups: Vec<(String, upkeep_backup::Keep)> =
        plan.backups.iter().map(|b| (b.name.clone(), b.keep.clone())).collect();
    let now = jiff::Timestamp::now();
    let spinner = super::spinner(if dry_run { "working out what would go" } else { "pruning" });
    let result = tokio::task::spawn_blocking(move || -> Result<Vec<upkeep_backup::Decision>, String> {
        let mut all = Vec::new();
        for (name, keep) in &backups {
            all.extend(repo.retention(name, keep, now).map_err(|e| e.to_string())?);
        }
        if !dry_run {
            let gone: Vec<String> = all.iter().filter(|d| !d.keep).map(|d| d.snapshot.id.clone()).collect();
            if !gone.is_empty() {
                repo.forget(&gone).map_err(|e| e.to_string())?;
                repo.prune().map_err(|e| e.to_string())?;
            }
        }
        Ok(all)
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    spinner.finish_and_clear();
    let decisions = match result {
        Ok(decisions) => decisions,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNHEALTHY;
        }
    };
    if json {
        println!("{}", serde_json::to_value(&decisions).unwrap_or_default());
        return EXIT_OK;
    }
    let rows: Vec<Vec<String>> = decisions
        .iter()
        .map(|d| {
            vec![
                d.snapshot.id[..8.min(d.snapshot.id.len())].to_string(),
                d.snapshot.backup.clone(),
                d.snapshot.time.to_zoned(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M").to_string(),
                if d.keep {
                    "keep".into()
                } else if dry_run {
                    "would remove".into()
                } else {
                    "removed".into()
                },
                d.reasons.join(", "),
            ]
        })
        .collect();
    print!("{}", super::table::columns(&["ID", "BACKUP", "TIME", "ACTION", "WHY KEPT"], &rows));
    let gone = decisions.iter().filter(|d| !d.keep).count();
    println!(
        "{gone} of {} snapshots {}",
        decisions.len(),
        if dry_run { "would go" } else { "removed, and the data only they needed" }
    );
    EXIT_OK
}

/// The snapshots `verify` looks at: the one named, or the newest of each backup.
fn chosen(all: Vec<Snapshot>, id: Option<&str>) -> Result<Vec<Snapshot>, String> {
    match id {
        Some(id) => {
            let found: Vec<Snapshot> = all.into_iter().filter(|s| s.id.starts_with(id)).collect();
            match found.len() {
                0 => Err(format!("no snapshot {id}: `upkeep backup list` shows them")),
                1 => Ok(found),
                n => Err(format!("{id} names {n} snapshots: give more of its id")),
            }
        }
        None => {
            let mut newest: std::collections::BTreeMap<String, Snapshot> = std::collections::BTreeMap::new();
            for s in all {
                newest.insert(s.backup.clone(), s);
            }
            Ok(newest.into_values().collect())
        }
    }
}

async fn verify(
    plan: &upkeep_plan::Plan,
    store: &upkeep_store::Store,
    id: Option<&str>,
    drill: bool,
    json: bool,
) -> u8 {
    let snapshots = match snapshots(plan).await.and_then(|all| chosen(all, id)) {
        Ok(found) if found.is_empty() => {
            eprintln!("error: no snapshots yet: `upkeep backup run` makes one");
            return EXIT_BAD_INPUT;
        }
        Ok(found) => found,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let places = upkeep_backup::Places::under(&plan.server.data_dir);
    let trigger = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    let mut reports = Vec::new();
    for snapshot in &snapshots {
        let Some(backup) = plan.backups.iter().find(|b| b.name == snapshot.backup) else {
            eprintln!("{}: skipped: its backup `{}` is no longer configured", &snapshot.id[..8], snapshot.backup);
            continue;
        };
        let what = if drill { "drilling" } else { "verifying" };
        let spinner = super::spinner(&format!("{what} {} of {}", &snapshot.id[..8], backup.name));
        let now = jiff::Timestamp::now();
        let report = if drill {
            let report = upkeep_backup::drill(backup, &plan.repository, &places.scratch, snapshot).await;
            let name = upkeep_backup::drill_name(&backup.name);
            upkeep_backup::record_drill(Some(store), &name, &report, &trigger, now).await;
            report
        } else {
            upkeep_backup::verify(backup, &plan.repository, snapshot).await
        };
        spinner.finish_and_clear();
        if !json {
            match &report.error {
                None => println!(
                    "{} {}: ok in {:.1}s: {}",
                    backup.name,
                    &snapshot.id[..8],
                    report.duration_ms as f64 / 1000.0,
                    report.checks.join("; ")
                ),
                Some(e) => eprintln!("{} {}: FAILED: {e}", backup.name, &snapshot.id[..8]),
            }
        }
        reports.push(report);
    }
    if json {
        println!("{}", serde_json::to_value(&reports).unwrap_or_default());
    }
    if reports.iter().all(|r| r.ok) { EXIT_OK } else { EXIT_UNHEALTHY }
}
