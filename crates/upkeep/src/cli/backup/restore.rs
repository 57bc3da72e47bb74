//! `upkeep backup restore ID [--to DIR] [--only TABLE|FILE] [--force]`: in place by default —
//! a safety copy of the live data first, the app in maintenance mode around it when
//! `[maintenance_mode]` is configured — or into an empty directory with `--to`.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY, actor, one, short, snapshots, step};
use std::path::{Path, PathBuf};
use upkeep_backup::{Backup, Snapshot};

/// Where a restore goes, and what of the snapshot.
pub struct Where {
    pub to: Option<PathBuf>,
    pub only: Option<String>,
    pub force: bool,
}

pub async fn restore(plan: &upkeep_plan::Plan, store: &upkeep_store::Store, id: &str, place: Where, json: bool) -> u8 {
    let snapshot = match snapshots(plan).await.and_then(|all| one(all, id)) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let backup = plan.backups.iter().find(|b| b.name == snapshot.backup).map(|b| &**b);
    match (&place.to, backup) {
        (Some(to), _) => into(plan, &snapshot, backup, to, place.only.as_deref(), json).await,
        (None, Some(backup)) => in_place(plan, store, &snapshot, backup, &place, json).await,
        (None, None) => {
            eprintln!(
                "error: the backup `{}` is no longer configured, so its place is unknown: restore with --to DIR",
                snapshot.backup
            );
            EXIT_BAD_INPUT
        }
    }
}

async fn in_place(
    plan: &upkeep_plan::Plan,
    store: &upkeep_store::Store,
    snapshot: &Snapshot,
    backup: &Backup,
    place: &Where,
    json: bool,
) -> u8 {
    let what = place.only.as_deref().map(|o| format!("{o} of ")).unwrap_or_default();
    step(
        json,
        &format!(
            "restoring {what}{} ({}) over {}: a safety copy first",
            short(&snapshot.id),
            backup.name,
            backup.source.target()
        ),
    );
    let only = place.only.as_deref();
    match upkeep_daemon::backups::restore(plan, store, backup, snapshot, only, place.force, &actor()).await {
        Ok(restored) => {
            if json {
                println!("{}", serde_json::json!({"ok": true, "restored": restored}));
                return EXIT_OK;
            }
            for line in &restored.maintenance_mode {
                println!("maintenance mode: {line}");
            }
            println!(
                "restored {} of {} in place: {}",
                short(&snapshot.id),
                backup.name,
                restored.put_back.done.join("; ")
            );
            match &restored.put_back.safety_copy {
                Some(copy) => println!("the data it replaced is in {}", copy.display()),
                None => println!("there was no live data to copy first"),
            }
            EXIT_OK
        }
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({"ok": false, "error": e}));
            } else {
                eprintln!("error: {e}");
            }
            EXIT_UNHEALTHY
        }
    }
}

async fn into(
    plan: &upkeep_plan::Plan,
    snapshot: &Snapshot,
    backup: Option<&Backup>,
    to: &Path,
    only: Option<&str>,
    json: bool,
) -> u8 {
    if to.exists() && std::fs::read_dir(to).is_ok_and(|mut d| d.next().is_some()) {
        eprintln!("error: {} is not empty: restore into a new directory, then move what you need", to.display());
        return EXIT_BAD_INPUT;
    }
    let part = match (only, backup) {
        (None, _) => snapshot.path.clone(),
        (Some(only), Some(b)) if b.source.kind() == "files" => b.source.part(&snapshot.path, Some(only)),
        (Some(_), _) => {
            eprintln!(
                "error: --only with --to picks a file of a `files` backup; a table is restored in place (without --to)"
            );
            return EXIT_BAD_INPUT;
        }
    };
    step(json, &format!("restoring {} of {} into {}", short(&snapshot.id), snapshot.backup, to.display()));
    let result = match upkeep_backup::open(&plan.repository).await {
        Ok(repo) => {
            let (id, to) = (snapshot.id.clone(), to.to_path_buf());
            tokio::task::spawn_blocking(move || repo.restore(&id, &part, &to))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string()))
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(restored) => {
            if json {
                println!("{}", serde_json::json!({"ok": true, "snapshot": snapshot.id, "restored": restored}));
            } else {
                println!(
                    "restored {} ({}, {}) as {}",
                    short(&snapshot.id),
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
