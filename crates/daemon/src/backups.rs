//! Backups as the CLI, the API, the dashboard and `/metrics` show them: each backup with its
//! schedule, targets and standing (last run, last success, last drill, RPO, RTO), read from the
//! history alone so no view opens the repository. One implementation for `upkeep backup
//! status`, `/api/v1/backups`, the dashboard's backups panel and the `upkeep_backup_*` metrics.

use jiff::Timestamp;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde_json::{Value, json};
use std::sync::atomic::AtomicU64;
use upkeep_backup::{Backup, HISTORY, Status};
use upkeep_plan::Plan;
use upkeep_store::{Store, StoreError};

/// Where `backup` stands at `now`, from the store.
pub async fn status(backup: &Backup, store: &Store, now: Timestamp) -> Result<Status, StoreError> {
    let runs = store.task_runs(Some(&backup.name), HISTORY).await?;
    let drills = store.task_runs(Some(&upkeep_backup::drill_name(&backup.name)), HISTORY).await?;
    let runs: Vec<_> = runs.into_iter().map(|r| r.run).collect();
    let drills: Vec<_> = drills.into_iter().map(|r| r.run).collect();
    Ok(upkeep_backup::status(&backup.name, &runs, &drills, now))
}

/// Every backup with its standing, in config order.
pub async fn statuses<'a>(
    plan: &'a Plan,
    store: &Store,
    now: Timestamp,
) -> Result<Vec<(&'a Backup, Status)>, StoreError> {
    let mut all = Vec::with_capacity(plan.backups.len());
    for backup in &plan.backups {
        all.push((&**backup, status(backup, store, now).await?));
    }
    Ok(all)
}

/// A backup as `/api/v1/backups` and `upkeep backup status --json` show it.
pub fn view(backup: &Backup, status: &Status, now: Timestamp) -> Value {
    let ms = |d: Option<std::time::Duration>| d.map(|d| d.as_millis() as u64);
    json!({
        "name": backup.name,
        "kind": backup.source.kind(),
        "target": backup.source.target(),
        "schedule": backup.schedule,
        "next_run": backup.cadence.as_ref().and_then(|c| c.next_after(now)),
        "drill": backup.drill_schedule,
        "next_drill": backup.drill.as_ref().and_then(|c| c.next_after(now)),
        "max_age_ms": ms(backup.max_age),
        "rto_target_ms": ms(backup.rto),
        "targets_met": targets_met(backup, status),
        "status": status,
    })
}

/// Whether the backup meets its `max_age` and `rto`; `None` without targets (or before there
/// is anything to judge).
pub fn targets_met(backup: &Backup, status: &Status) -> Option<bool> {
    let age = backup.max_age.zip(status.age).map(|(max, age)| age <= max);
    let rto = backup.rto.zip(status.rto).map(|(max, rto)| rto <= max);
    match (age, rto) {
        (None, None) => None,
        (a, r) => Some(a.unwrap_or(true) && r.unwrap_or(true)),
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BackupLabel {
    backup: String,
}

type Seconds = Gauge<f64, AtomicU64>;

/// `upkeep_backup_last_success_timestamp_seconds{backup}`,
/// `upkeep_backup_last_drill_success_timestamp_seconds{backup}` and
/// `upkeep_backup_size_bytes{backup}`, brought up to date when `/metrics` is scraped.
#[derive(Debug)]
pub struct BackupMetrics {
    last_success: Family<BackupLabel, Seconds>,
    last_drill_success: Family<BackupLabel, Seconds>,
    size: Family<BackupLabel, Gauge>,
}

impl BackupMetrics {
    pub fn register(registry: &mut Registry) -> BackupMetrics {
        let metrics = BackupMetrics {
            last_success: Family::default(),
            last_drill_success: Family::default(),
            size: Family::default(),
        };
        registry.register(
            "backup_last_success_timestamp_seconds",
            "When the backup's newest snapshot was taken (its last successful run)",
            metrics.last_success.clone(),
        );
        registry.register(
            "backup_last_drill_success_timestamp_seconds",
            "When a restore drill of the backup last passed",
            metrics.last_drill_success.clone(),
        );
        registry.register("backup_size_bytes", "Bytes the backup's newest snapshot holds", metrics.size.clone());
        metrics
    }

    /// Replaces every series with those of `statuses` (so a removed backup's series go).
    pub fn set(&self, statuses: &[(&Backup, Status)]) {
        self.last_success.clear();
        self.last_drill_success.clear();
        self.size.clear();
        let seconds = |t: Timestamp| t.as_millisecond() as f64 / 1000.0;
        for (backup, status) in statuses {
            let label = BackupLabel { backup: backup.name.clone() };
            if let Some(run) = &status.last_success {
                self.last_success.get_or_create(&label).set(seconds(run.at));
                if let Some(size) = run.size {
                    self.size.get_or_create(&label).set(size as i64);
                }
            }
            if let Some(drill) = &status.last_passed_drill {
                self.last_drill_success.get_or_create(&label).set(seconds(drill.at));
            }
        }
    }
}

/// What a restore in place did, with the app's maintenance mode around it.
#[derive(Debug, serde::Serialize)]
pub struct Restored {
    #[serde(flatten)]
    pub put_back: upkeep_backup::PutBack,
    /// What switching the app's maintenance mode on and off said, when it was switched.
    pub maintenance_mode: Vec<String>,
}

/// Restores `snapshot` of `backup` in place (or only `only`) as `actor`: with the app in
/// maintenance mode around it when `[maintenance_mode]` is configured and the backup allows it,
/// audited. After a restore the mode goes off only once its gate checks pass; if they fail,
/// it stays on and the error says so (the data is back either way).
pub async fn restore(
    plan: &Plan,
    store: &Store,
    backup: &Backup,
    snapshot: &upkeep_backup::Snapshot,
    only: Option<&str>,
    force: bool,
    actor: &str,
) -> Result<Restored, String> {
    use crate::maintenance::{SwitchError, switch};
    let now = Timestamp::now();
    let places = upkeep_backup::Places::under(&plan.server.data_dir);
    let short = &snapshot.id[..8.min(snapshot.id.len())];
    let reason = format!("restoring snapshot {short} of {}", backup.name);
    let with_mode = plan.mode.is_some() && backup.maintenance_mode;
    let mut mode = Vec::new();
    if with_mode {
        backup.source.can_put_back(only)?;
        match switch(plan, store, true, actor, &reason, true, now).await {
            Ok(done) => mode.push(done),
            // It switched; the app just does not show it (yet): the restore goes on.
            Err(SwitchError::Unverified { done, why }) => mode.push(format!("{done} (not verified: {why})")),
            Err(e) => {
                return Err(format!(
                    "{e}; nothing was restored (maintenance_mode = false on the backup restores with the app up)"
                ));
            }
        }
    }
    let result = upkeep_backup::put_back(backup, &plan.repository, &places, snapshot, only, force, now).await;
    let detail = match &result {
        Ok(done) => format!("snapshot {short}: {}", done.done.join("; ")),
        Err(e) => format!("snapshot {short} failed: {e}"),
    };
    let entry = upkeep_store::AuditEntry {
        at: now,
        actor: actor.to_string(),
        action: "backup.restore".into(),
        target: backup.name.clone(),
        detail,
    };
    if let Err(e) = store.audit(&entry).await {
        tracing::warn!(error = %e, "cannot write the audit log");
    }
    if with_mode {
        if let Err(failed) = &result
            && failed.touched
        {
            // Half put back, perhaps: the app is not let back onto it.
            return Err(format!(
                "{failed}; the app stays in maintenance mode: check the data, then `upkeep maintenance off`"
            ));
        }
        let after = format!("{reason}: done");
        match switch(plan, store, false, actor, &after, false, Timestamp::now()).await {
            Ok(done) => mode.push(done),
            Err(SwitchError::Unverified { done, why }) => mode.push(format!("{done} (not verified: {why})")),
            Err(e) => {
                return Err(match result {
                    Ok(put_back) => {
                        let kept =
                            put_back.safety_copy.map(|c| format!("; the data it replaced is in {}", c.display()));
                        format!("the data is back{}, but {e} (`upkeep maintenance off`)", kept.unwrap_or_default())
                    }
                    Err(failed) => format!("{failed}; {e} (`upkeep maintenance off`)"),
                });
            }
        }
    }
    result.map(|put_back| Restored { put_back, maintenance_mode: mode }).map_err(|failed| failed.message)
}
