//! Where a backup stands, from its history: its last run and last success, its last drill, the
//! snapshots drills proved (a snapshot is *good* once a drill passed on it), the RPO (the age of
//! the newest good snapshot) and the RTO (how long the last passed drill took). One derivation
//! for the API, the dashboard, the metrics, `upkeep backup list` and the `NAME-targets` check.

use crate::repository::Snapshot;
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::time::Duration;
use upkeep_probe::RunRecord;

/// How many runs of a backup, and of its drill, the history is read for.
pub const HISTORY: u32 = 200;

/// One backup's standing at a moment.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Status {
    pub backup: String,
    pub last_run: Option<Run>,
    pub last_success: Option<Run>,
    pub last_drill: Option<Run>,
    pub last_passed_drill: Option<Run>,
    /// The newest snapshot a drill proved, and when it was taken.
    pub newest_good: Option<Proved>,
    /// Every snapshot a drill proved (full ids).
    pub good: BTreeSet<String>,
    /// Age of the newest good snapshot.
    #[serde(serialize_with = "millis")]
    pub rpo: Option<Duration>,
    /// How long the last passed drill took.
    #[serde(serialize_with = "millis")]
    pub rto: Option<Duration>,
    /// Age of the newest snapshot, drilled or not.
    #[serde(serialize_with = "millis")]
    pub age: Option<Duration>,
    /// Bytes read over bytes newly stored, over the runs read: how much deduplication saves
    /// (at least 1: a first run stores its metadata besides the data).
    pub dedup_ratio: Option<f64>,
}

/// A run, as the status shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Run {
    pub at: Timestamp,
    pub ok: bool,
    #[serde(serialize_with = "millis_one")]
    pub duration: Duration,
    pub summary: String,
    /// The snapshot it made or drilled (full id), when it names one.
    pub snapshot: Option<String>,
    pub size: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Proved {
    pub snapshot: String,
    pub taken: Timestamp,
}

/// `runs` and `drills`: the backup's runs and its drill's, newest first.
pub fn status(backup: &str, runs: &[RunRecord], drills: &[RunRecord], now: Timestamp) -> Status {
    let passed: Vec<&RunRecord> = drills.iter().filter(|d| d.ok).collect();
    let newest_good = passed
        .iter()
        .filter_map(|d| Some(Proved { snapshot: snapshot_of(d)?, taken: taken_of(d)? }))
        .max_by_key(|p| p.taken);
    let last_success = runs.iter().find(|r| r.ok).map(view);
    let (read, stored) = runs.iter().filter(|r| r.ok).fold((0u64, 0u64), |(read, stored), r| {
        (read + number(r, "size_bytes").unwrap_or(0), stored + number(r, "added_bytes").unwrap_or(0))
    });
    Status {
        backup: backup.to_string(),
        last_run: runs.first().map(view),
        last_drill: drills.first().map(view),
        last_passed_drill: passed.first().map(|d| view(d)),
        good: passed.iter().filter_map(|d| snapshot_of(d)).collect(),
        rpo: newest_good.as_ref().map(|p| since(p.taken, now)),
        rto: passed.first().map(|d| d.duration),
        age: last_success.as_ref().map(|r| since(r.at, now)),
        dedup_ratio: (stored > 0).then(|| (read as f64 / stored as f64).max(1.0)),
        newest_good,
        last_success,
    }
}

/// What a backup's run records of the snapshot it made, in its `changes`.
pub fn made(s: &Snapshot) -> serde_json::Value {
    serde_json::json!({
        "snapshot": s.id,
        "snapshot_time": s.time,
        "size_bytes": s.size,
        "added_bytes": s.added,
        "files": s.files,
    })
}

/// What a drill records of the snapshot it drilled.
pub fn drilled(snapshot: &str, taken: Timestamp) -> serde_json::Value {
    serde_json::json!({"snapshot": snapshot, "snapshot_time": taken})
}

fn view(r: &RunRecord) -> Run {
    Run {
        at: r.started,
        ok: r.ok,
        duration: r.duration,
        summary: r.summary.clone(),
        snapshot: snapshot_of(r),
        size: number(r, "size_bytes"),
    }
}

fn snapshot_of(r: &RunRecord) -> Option<String> {
    r.changes["snapshot"].as_str().map(str::to_string)
}

fn taken_of(r: &RunRecord) -> Option<Timestamp> {
    r.changes["snapshot_time"].as_str()?.parse().ok()
}

fn number(r: &RunRecord, key: &str) -> Option<u64> {
    r.changes[key].as_u64()
}

fn since(then: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(then)).unwrap_or_default()
}

fn millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_u64(d.as_millis() as u64),
        None => s.serialize_none(),
    }
}

fn millis_one<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn run(started: &str, ok: bool, secs: u64, changes: serde_json::Value) -> RunRecord {
        RunRecord {
            started: at(started),
            duration: Duration::from_secs(secs),
            ok,
            trigger: "schedule".into(),
            summary: String::new(),
            output: String::new(),
            changes,
        }
    }

    fn backup(id: &str, taken: &str, size: u64, added: u64) -> serde_json::Value {
        let s = Snapshot {
            id: id.into(),
            backup: "db".into(),
            time: at(taken),
            size,
            added,
            files: 1,
            duration_ms: 0,
            path: String::new(),
            meta: serde_json::Value::Null,
        };
        made(&s)
    }

    #[test]
    fn good_rpo_and_rto_come_from_passed_drills_only() {
        let runs = vec![
            run("2026-12-03T02:00:00Z", false, 5, serde_json::json!({})),
            run("2026-12-02T02:00:00Z", true, 60, backup("cccc", "2026-12-02T02:00:00Z", 1000, 100)),
            run("2026-12-01T02:00:00Z", true, 60, backup("bbbb", "2026-12-01T02:00:00Z", 1000, 900)),
        ];
        // The newest drill failed: the RTO is the last passed one's, the newest good is bbbb.
        let drills = vec![
            run("2026-12-02T05:00:00Z", false, 99, drilled("cccc", at("2026-12-02T02:00:00Z"))),
            run("2026-12-01T05:00:00Z", true, 42, drilled("bbbb", at("2026-12-01T02:00:00Z"))),
        ];
        let s = status("db", &runs, &drills, at("2026-12-03T03:00:00Z"));
        assert_eq!(s.last_run.as_ref().map(|r| r.ok), Some(false));
        assert_eq!(s.last_success.as_ref().and_then(|r| r.snapshot.clone()).as_deref(), Some("cccc"));
        assert_eq!(s.age, Some(Duration::from_secs(25 * 3600)));
        assert_eq!(s.newest_good.as_ref().map(|p| p.snapshot.as_str()), Some("bbbb"));
        assert_eq!(s.rpo, Some(Duration::from_secs(49 * 3600)));
        assert_eq!(s.rto, Some(Duration::from_secs(42)));
        assert_eq!(s.good, BTreeSet::from(["bbbb".to_string()]));
        assert_eq!(s.dedup_ratio, Some(2.0));
    }

    #[test]
    fn a_backup_never_run_or_drilled_has_no_figures() {
        let s = status("db", &[], &[], at("2026-12-03T03:00:00Z"));
        assert_eq!((s.age, s.rpo, s.rto, s.dedup_ratio), (None, None, None, None));
        assert!(s.good.is_empty());
    }
}
