//! A backup as a check: each scheduled run takes the backup's run lock (the one `upkeep backup
//! run` takes), is recorded in its history, and ends in a check result under the backup's name,
//! so a failed backup shows and alerts like a failing check. Its restore drill is a second
//! check, `NAME-drill`, on the `drill` schedule: it drills the newest snapshot.

use crate::repository::Snapshot;
use crate::section::{Backup, RepositoryConfig};
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use upkeep_expr::{Field, Observations, Schema, Type, Value};
use upkeep_probe::{Check, Custom, CustomCheck, ProbeError, ProbeState, RunRecord};

/// The kind of a backup's check, and of its drill's.
pub const BACKUP_KIND: &str = "backup";
pub const DRILL_KIND: &str = "drill";

/// The name of a backup's drill check and of its drills in the history.
pub fn drill_name(backup: &str) -> String {
    format!("{backup}-drill")
}

/// Beyond the backup's own timeout, so a run that timed out is still recorded.
const RECORD_MARGIN: Duration = Duration::from_secs(60);

/// Where backups keep their run locks and scratch copies, under `data_dir`.
#[derive(Clone, Debug)]
pub struct Places {
    pub locks: PathBuf,
    pub scratch: PathBuf,
    /// Where a restore keeps its safety copy of the data it overwrites.
    pub safety: PathBuf,
}

impl Places {
    pub fn under(data_dir: &Path) -> Places {
        Places {
            locks: data_dir.join("locks"),
            scratch: data_dir.join("backup-scratch"),
            safety: data_dir.join("safety-copies"),
        }
    }
}

/// The check that runs `backup` on its schedule, or `None` for a backup run only by hand.
pub fn backup_check(backup: Arc<Backup>, repository: Arc<RepositoryConfig>, places: Places) -> Option<Check> {
    let cadence = backup.cadence.clone()?;
    Some(Check::custom(CustomCheck {
        name: backup.name.clone(),
        kind: BACKUP_KIND,
        schedule: backup.schedule.clone().unwrap_or_default(),
        cadence,
        timeout: backup.timeout + RECORD_MARGIN,
        component: None,
        work: Arc::new(Work { job: Job::Backup, backup, repository, places }),
    }))
}

/// The check that drills `backup`'s newest snapshot on its `drill` schedule, if it has one.
pub fn drill_check(backup: Arc<Backup>, repository: Arc<RepositoryConfig>, places: Places) -> Option<Check> {
    let cadence = backup.drill.clone()?;
    Some(Check::custom(CustomCheck {
        name: drill_name(&backup.name),
        kind: DRILL_KIND,
        schedule: backup.drill_schedule.clone().unwrap_or_default(),
        cadence,
        timeout: backup.timeout + RECORD_MARGIN,
        component: None,
        work: Arc::new(Work { job: Job::Drill, backup, repository, places }),
    }))
}

/// The check that watches `backup`'s `max_age` and `rto`, when it has either.
pub fn targets_check(backup: Arc<Backup>, repository: Arc<RepositoryConfig>, places: Places) -> Option<Check> {
    if backup.max_age.is_none() && backup.rto.is_none() {
        return None;
    }
    let mut check = Check::custom(CustomCheck {
        name: crate::targets::targets_name(&backup.name),
        kind: crate::targets::TARGETS_KIND,
        schedule: format!("every {}s", crate::targets::TARGETS_EVERY.as_secs()),
        cadence: upkeep_schedule::Cadence::Every(crate::targets::TARGETS_EVERY),
        timeout: Duration::from_secs(30),
        component: None,
        work: Arc::new(Work { job: Job::Targets, backup, repository, places }),
    });
    check.every = crate::targets::TARGETS_EVERY;
    Some(check)
}

/// The fields of a drill's check result.
pub fn drill_schema() -> Schema {
    Schema::new(&[
        Field::new("latency", Type::Duration, "how long the drill took: the restore time it measured (RTO)"),
        Field::new("summary", Type::String, "what the drill checked"),
        Field::new("snapshot", Type::String, "the id of the snapshot it proved"),
    ])
}

/// Drills the newest snapshot of `backup` under its drill lock and records the drill in the
/// history as a run of `NAME-drill`. `Err`: there was nothing to drill, or it could not start.
pub async fn drill_newest(
    backup: &Backup,
    repository: &RepositoryConfig,
    places: &Places,
    state: Option<&dyn ProbeState>,
    trigger: &str,
    now: Timestamp,
) -> Result<crate::DrillReport, String> {
    let name = drill_name(&backup.name);
    let _lock = upkeep_maintain::task::RunLock::acquire(&places.locks, &name, now).map_err(|busy| busy.to_string())?;
    let repo = crate::open(repository).await?;
    let all = tokio::task::spawn_blocking(move || repo.snapshots())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let Some(newest) = all.into_iter().rfind(|s| s.backup == backup.name) else {
        return Err(format!("there is no snapshot of {} to drill yet", backup.name));
    };
    let report = crate::drill(backup, repository, &places.scratch, &newest).await;
    record_drill(state, &name, &report, trigger, now).await;
    Ok(report)
}

/// A drill in the history: its summary names the snapshot it proved.
pub async fn record_drill(
    state: Option<&dyn ProbeState>,
    name: &str,
    report: &crate::DrillReport,
    trigger: &str,
    now: Timestamp,
) {
    let Some(state) = state else { return };
    let what = report.error.clone().unwrap_or_else(|| report.checks.join("; "));
    let record = RunRecord {
        started: now,
        duration: Duration::from_millis(report.duration_ms),
        ok: report.ok,
        trigger: trigger.to_string(),
        summary: format!("snapshot {}: {what}", short(&report.snapshot)),
        output: String::new(),
        changes: crate::status::drilled(&report.snapshot, report.snapshot_time),
    };
    if let Err(e) = state.record_run(name, &record).await {
        tracing::warn!(drill = %name, error = %e, "cannot record the drill");
    }
}

fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

/// A backup's scheduled work: the backup itself, or its drill.
struct Work {
    job: Job,
    backup: Arc<Backup>,
    repository: Arc<RepositoryConfig>,
    places: Places,
}

#[derive(Clone, Copy, Debug)]
enum Job {
    Backup,
    Drill,
    Targets,
}

impl std::fmt::Debug for Work {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Work").field("job", &self.job).field("backup", &self.backup.name).finish()
    }
}

/// The fields of a backup's check result.
pub fn schema() -> Schema {
    Schema::new(&[
        Field::new("latency", Type::Duration, "how long the run took"),
        Field::new("summary", Type::String, "what the run did"),
        Field::new("snapshot", Type::String, "the id of the snapshot it made"),
        Field::new("size", Type::Size, "bytes backed up"),
        Field::new("added", Type::Size, "of those, bytes new to the repository"),
        Field::new("files", Type::Number, "files backed up"),
        Field::new("rows", Type::Number, "rows in the database's tables, at backup time"),
    ])
}

impl Custom for Work {
    fn target(&self) -> String {
        self.backup.source.target()
    }

    fn schema(&self) -> Schema {
        match self.job {
            Job::Backup => schema(),
            Job::Drill => drill_schema(),
            Job::Targets => crate::targets::targets_schema(),
        }
    }

    fn observe<'a>(
        &'a self,
        run: &'a upkeep_probe::Run<'a>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Observations, ProbeError>> + Send + 'a>> {
        Box::pin(async move {
            let now = run.ctx.clock.now();
            let state = run.ctx.state.as_deref();
            let (backup, repository, places) = (&self.backup, &self.repository, &self.places);
            match self.job {
                Job::Backup => {
                    let (snapshot, record) = run_recorded(backup, repository, places, state, "schedule", now)
                        .await
                        .map_err(ProbeError::new)?;
                    Ok(observations(&snapshot, &record))
                }
                Job::Drill => {
                    let report = drill_newest(backup, repository, places, state, "schedule", now)
                        .await
                        .map_err(ProbeError::new)?;
                    if let Some(error) = report.error {
                        return Err(ProbeError::new(format!("snapshot {}: {error}", short(&report.snapshot))));
                    }
                    let mut obs = Observations::new();
                    obs.insert("latency", Value::duration(Duration::from_millis(report.duration_ms)));
                    obs.insert("summary", Value::String(report.checks.join("; ")));
                    obs.insert("snapshot", Value::String(report.snapshot));
                    Ok(obs)
                }
                Job::Targets => crate::targets::observe(backup, state, now).await,
            }
        })
    }
}

/// One run of `backup` under its lock, recorded in `state` (when there is one) as started by
/// `trigger`. `Err` says why it failed or did not start.
pub async fn run_recorded(
    backup: &Backup,
    repository: &RepositoryConfig,
    places: &Places,
    state: Option<&dyn ProbeState>,
    trigger: &str,
    now: Timestamp,
) -> Result<(Snapshot, RunRecord), String> {
    let lock_name = format!("backup-{}", backup.name);
    let _lock =
        upkeep_maintain::task::RunLock::acquire(&places.locks, &lock_name, now).map_err(|busy| busy.to_string())?;
    let started = Instant::now();
    let result = crate::run(backup, repository, &places.scratch, now).await;
    let duration = started.elapsed();
    let (ok, summary, changes) = match &result {
        Ok(s) => (true, summary(s), crate::status::made(s)),
        Err(message) => (false, message.clone(), serde_json::json!({})),
    };
    let record =
        RunRecord { started: now, duration, ok, trigger: trigger.to_string(), summary, output: String::new(), changes };
    if let Some(state) = state
        && let Err(e) = state.record_run(&backup.name, &record).await
    {
        tracing::warn!(backup = %backup.name, error = %e, "cannot record the backup's run");
    }
    result.map(|snapshot| (snapshot, record))
}

/// `snapshot 4cf08786: 12.4 MB (1.2 MB new), 3 files`.
pub fn summary(s: &Snapshot) -> String {
    let rows = rows(s);
    let rows = if rows > 0 { format!(", {rows} rows") } else { String::new() };
    format!(
        "snapshot {}: {} ({} new), {} files{rows}",
        &s.id[..8.min(s.id.len())],
        bytes(s.size),
        bytes(s.added),
        s.files
    )
}

/// Rows in every table the snapshot recorded.
pub fn rows(s: &Snapshot) -> u64 {
    s.meta["tables"].as_object().map_or(0, |t| t.values().filter_map(|v| v.as_u64()).sum())
}

/// `12.4 MB`, in powers of 1000.
pub fn bytes(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{value:.1} {}", units[unit]) }
}

fn observations(s: &Snapshot, record: &RunRecord) -> Observations {
    let mut obs = Observations::new();
    obs.insert("latency", Value::duration(record.duration));
    obs.insert("summary", Value::String(record.summary.clone()));
    obs.insert("snapshot", Value::String(s.id.clone()));
    obs.insert("size", Value::Size(s.size as f64));
    obs.insert("added", Value::Size(s.added as f64));
    obs.insert("files", Value::Number(s.files as f64));
    obs.insert("rows", Value::Number(rows(s) as f64));
    obs
}
