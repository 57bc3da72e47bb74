//! A backup's targets as a check, `NAME-targets`, every minute: `max_age` (how old the newest
//! backup may be, the RPO target) and `rto` (how long a restore may take, as the last passed
//! drill measured it). It reads only the history, so it fails as soon as a target is missed —
//! a nightly backup that stopped running alerts a few minutes past `max_age`, not at the next
//! night's run.

use crate::section::Backup;
use crate::status::{HISTORY, Status, status};
use jiff::Timestamp;
use std::time::Duration;
use upkeep_expr::{Field, Observations, Schema, Type, Value};
use upkeep_probe::{ProbeError, ProbeState};

pub const TARGETS_KIND: &str = "backup-targets";

/// How often the targets are looked at.
pub const TARGETS_EVERY: Duration = Duration::from_secs(60);

/// The name of a backup's targets check.
pub fn targets_name(backup: &str) -> String {
    format!("{backup}-targets")
}

pub fn targets_schema() -> Schema {
    Schema::new(&[
        Field::new("age", Type::Duration, "age of the newest backup"),
        Field::new("rpo", Type::Duration, "age of the newest backup a drill proved"),
        Field::new("rto", Type::Duration, "how long the last passed drill took"),
    ])
}

/// Where `backup` stands, from the history in `state`.
pub async fn read_status(backup: &str, state: &dyn ProbeState, now: Timestamp) -> Result<Status, String> {
    let runs = state.runs(backup, HISTORY).await?;
    let drills = state.runs(&crate::drill_name(backup), HISTORY).await?;
    Ok(status(backup, &runs, &drills, now))
}

pub(crate) async fn observe(
    backup: &Backup,
    state: Option<&dyn ProbeState>,
    now: Timestamp,
) -> Result<Observations, ProbeError> {
    let state = state.ok_or_else(|| ProbeError::new("the targets are read from the daemon's history"))?;
    let status = read_status(&backup.name, state, now).await.map_err(ProbeError::new)?;
    let mut obs = Observations::new();
    for (field, value) in [("age", status.age), ("rpo", status.rpo), ("rto", status.rto)] {
        if let Some(value) = value {
            obs.insert(field, Value::duration(value));
        }
    }
    let mut missed = Vec::new();
    if let Some(max_age) = backup.max_age {
        let watching = state.watching_since(&targets_name(&backup.name)).await.map_err(ProbeError::new)?;
        missed.extend(age_missed(backup, &status, max_age, watching, now));
    }
    if let (Some(target), Some(rto)) = (backup.rto, status.rto)
        && rto > target
    {
        missed.push(format!(
            "the last passed drill of {} took {}, over its rto of {}: a restore would take as long",
            backup.name,
            shown(rto),
            shown(target)
        ));
    }
    if missed.is_empty() { Ok(obs) } else { Err(ProbeError::new(missed.join("; "))) }
}

/// Why the newest backup is too old, if it is. A backup that never succeeded counts from when
/// watching began, so a fresh install gets one `max_age` to make its first backup.
fn age_missed(
    backup: &Backup,
    status: &Status,
    max_age: Duration,
    watching: Option<Timestamp>,
    now: Timestamp,
) -> Option<String> {
    let since = |t: Timestamp| Duration::try_from(now.duration_since(t)).unwrap_or_default();
    let last =
        status.last_run.as_ref().filter(|r| !r.ok).map(|r| format!("; the last run at {} failed: {}", r.at, r.summary));
    let last = last.unwrap_or_default();
    let fix = format!("; `upkeep backup run {}` makes one now", backup.name);
    match &status.last_success {
        Some(success) => (since(success.at) > max_age).then(|| {
            format!(
                "the newest backup of {} is {} old, over its max_age of {}{last}{fix}",
                backup.name,
                shown(since(success.at)),
                shown(max_age)
            )
        }),
        None => {
            let from = watching.unwrap_or(now);
            (since(from) > max_age).then(|| {
                format!("no backup of {} has succeeded since watching began at {from}{last}{fix}", backup.name)
            })
        }
    }
}

/// `26h`, `4m`: whole units, as a user writes them.
fn shown(d: Duration) -> String {
    Value::duration(Duration::from_secs(d.as_secs())).to_string()
}
