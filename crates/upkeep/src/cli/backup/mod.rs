//! `upkeep backup run [NAME] | list | status | inspect ID | restore ID [--to DIR] [--only X]
//! | verify [ID] [--drill] | prune [--dry-run]`: back up now (under the lock the daemon takes,
//! recorded in the backup's history), the snapshots and where each backup stands, a snapshot's
//! data put back in place or elsewhere, proven, and each backup's `keep` policy applied.
//! Long steps show rustic's progress: bars on a terminal, plain lines otherwise.

mod restore;
mod show;

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
    /// The snapshots in the repository, oldest first, and which a drill proved good.
    List {
        /// Only this backup's.
        #[arg(long)]
        backup: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Where each backup stands: last run, last good drill, RPO and RTO against the targets.
    /// Exit 1 when a backup's last run or drill failed or a target is missed.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// One snapshot in full: what it holds, each table's rows at backup time, its drills.
    Inspect {
        id: String,
        #[arg(long)]
        json: bool,
    },
    /// Put a snapshot (its id, or the first 8 digits of it) back where its data came from,
    /// after a safety copy of the live data; or, with `--to`, into a directory.
    Restore {
        id: String,
        /// Restore into this directory instead (it must not exist yet, or be empty).
        #[arg(long)]
        to: Option<PathBuf>,
        /// Only this table (a database) or file (relative to the backed-up directory).
        #[arg(long)]
        only: Option<String>,
        /// Overwrite the live data even when no safety copy of it could be taken.
        #[arg(long)]
        force: bool,
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

impl BackupCommand {
    fn json(&self) -> bool {
        match self {
            BackupCommand::Run { json, .. }
            | BackupCommand::List { json, .. }
            | BackupCommand::Status { json }
            | BackupCommand::Inspect { json, .. }
            | BackupCommand::Restore { json, .. }
            | BackupCommand::Verify { json, .. }
            | BackupCommand::Prune { json, .. } => *json,
        }
    }
}

pub async fn run(path: &Path, command: BackupCommand) -> u8 {
    let json = command.json();
    use std::io::IsTerminal;
    upkeep_backup::show_progress(match (json, std::io::stderr().is_terminal()) {
        (true, _) => upkeep_backup::Show::Hidden,
        (false, true) => upkeep_backup::Show::Bars,
        (false, false) => upkeep_backup::Show::Lines,
    });
    let (plan, store) = match super::plan_and_store(path, json).await {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    match command {
        BackupCommand::Run { name, json } => run_backups(&plan, &store, name.as_deref(), json).await,
        BackupCommand::List { backup, json } => show::list(&plan, &store, backup.as_deref(), json).await,
        BackupCommand::Status { json } => show::status(&plan, &store, json).await,
        BackupCommand::Inspect { id, json } => show::inspect(&plan, &store, &id, json).await,
        BackupCommand::Restore { id, to, only, force, json } => {
            restore::restore(&plan, &store, &id, restore::Where { to, only, force }, json).await
        }
        BackupCommand::Prune { dry_run, json } => prune(&plan, dry_run, json).await,
        BackupCommand::Verify { id, drill, json } => verify(&plan, &store, id.as_deref(), drill, json).await,
    }
}

/// A step of a long command, on stderr (the data goes to stdout).
fn step(json: bool, message: &str) {
    if !json {
        eprintln!("{message}");
    }
}

/// Who runs this, for histories and the audit log.
fn actor() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
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
    let trigger = actor();
    // Two at a time: a database's copy waits on the disk while another backup chunks and
    // compresses. The repository is made first, by one of them alone.
    if let Err(e) = upkeep_backup::open(&plan.repository).await {
        eprintln!("error: {e}");
        return EXIT_UNHEALTHY;
    }
    let runs = futures_util::stream::iter(chosen.iter().map(|backup| {
        step(json, &format!("backing up {} ({})", backup.name, backup.source.target()));
        let (places, trigger) = (&places, &trigger);
        async move {
            let now = jiff::Timestamp::now();
            (backup, upkeep_backup::run_recorded(backup, &plan.repository, places, Some(store), trigger, now).await)
        }
    }));
    let results: Vec<_> =
        futures_util::StreamExt::collect(futures_util::StreamExt::buffered(runs, BACKUPS_AT_ONCE)).await;
    let mut failed = false;
    let mut out = Vec::new();
    for (backup, result) in results {
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

/// Backups `upkeep backup run` runs at once.
const BACKUPS_AT_ONCE: usize = 2;

/// Every snapshot in the repository, oldest first; none before the first backup.
async fn snapshots(plan: &upkeep_plan::Plan) -> Result<Vec<Snapshot>, String> {
    if !repository_exists(plan).await? {
        return Ok(Vec::new());
    }
    let repo = upkeep_backup::open(&plan.repository).await?;
    tokio::task::spawn_blocking(move || repo.snapshots()).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}

/// Whether the repository has been made yet (looking does not make one).
async fn repository_exists(plan: &upkeep_plan::Plan) -> Result<bool, String> {
    let place = plan.repository.place.clone();
    tokio::task::spawn_blocking(move || place.exists()).await.map_err(|e| e.to_string())?.map_err(|e| e.to_string())
}

/// The one snapshot `id` (or a prefix of it) names.
fn one(all: Vec<Snapshot>, id: &str) -> Result<Snapshot, String> {
    let mut found: Vec<Snapshot> = all.into_iter().filter(|s| s.id.starts_with(id)).collect();
    match found.len() {
        0 => Err(format!("no snapshot {id}: `upkeep backup list` shows them")),
        1 => Ok(found.remove(0)),
        n => Err(format!("{id} names {n} snapshots: give more of its id")),
    }
}

/// `2026-12-02 02:00 UTC`, in this machine's zone.
fn local(t: jiff::Timestamp) -> String {
    t.to_zoned(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M %Z").to_string()
}

/// `4cf08786`: enough of an id to name it.
fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

async fn prune(plan: &upkeep_plan::Plan, dry_run: bool, json: bool) -> u8 {
    match repository_exists(plan).await {
        Ok(true) => {}
        Ok(false) => {
            println!("{}", if json { "[]".to_string() } else { "no repository yet: nothing to prune".into() });
            return EXIT_OK;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
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
    step(json, if dry_run { "working out what would go" } else { "pruning" });
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
                short(&d.snapshot.id).to_string(),
                d.snapshot.backup.clone(),
                local(d.snapshot.time),
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
        Some(id) => one(all, id).map(|s| vec![s]),
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
    let trigger = actor();
    let mut reports = Vec::new();
    for snapshot in &snapshots {
        let Some(backup) = plan.backups.iter().find(|b| b.name == snapshot.backup) else {
            eprintln!("{}: skipped: its backup `{}` is no longer configured", short(&snapshot.id), snapshot.backup);
            continue;
        };
        let what = if drill { "drilling" } else { "verifying" };
        step(json, &format!("{what} {} of {}", short(&snapshot.id), backup.name));
        let now = jiff::Timestamp::now();
        let report = if drill {
            let report = upkeep_backup::drill(backup, &plan.repository, &places.scratch, snapshot).await;
            let name = upkeep_backup::drill_name(&backup.name);
            upkeep_backup::record_drill(Some(store), &name, &report, &trigger, now).await;
            report
        } else {
            upkeep_backup::verify(backup, &plan.repository, snapshot).await
        };
        if !json {
            match &report.error {
                None => println!(
                    "{} {}: ok in {:.1}s: {}",
                    backup.name,
                    short(&snapshot.id),
                    report.duration_ms as f64 / 1000.0,
                    report.checks.join("; ")
                ),
                Some(e) => eprintln!("{} {}: FAILED: {e}", backup.name, short(&snapshot.id)),
            }
        }
        reports.push(report);
    }
    if json {
        println!("{}", serde_json::to_value(&reports).unwrap_or_default());
    }
    if reports.iter().all(|r| r.ok) { EXIT_OK } else { EXIT_UNHEALTHY }
}
