//! Proving a snapshot restores: every blob it needs is read back and checked against its hash,
//! its data is restored into a scratch directory, and its source opens or loads the copy the
//! way the app would (SQLite's `integrity_check`, `pg_restore` or the MySQL client into a
//! scratch database) and counts each table's rows against those recorded at backup time. The
//! time it all took is the backup's RTO. The manuals' "the file exists, so it is verified" is
//! not a restore test; this is.

use crate::repository::Snapshot;
use crate::section::{Backup, RepositoryConfig};
use crate::source::Recorded;
use std::path::Path;
use std::time::Instant;

/// How a drill went.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DrillReport {
    pub backup: String,
    pub snapshot: String,
    /// When the snapshot was taken.
    pub snapshot_time: jiff::Timestamp,
    pub ok: bool,
    /// How long the restore and its checks took: the RTO this drill measured.
    pub duration_ms: u64,
    /// What passed, in words.
    pub checks: Vec<String>,
    /// What failed.
    pub error: Option<String>,
}

/// Drills `snapshot` of `backup`; `scratch` is where the copy is restored (under `data_dir`).
pub async fn drill(backup: &Backup, repository: &RepositoryConfig, scratch: &Path, snapshot: &Snapshot) -> DrillReport {
    let started = Instant::now();
    let dir = scratch.join(format!("drill-{}-{}", backup.name, jiff::Timestamp::now().as_nanosecond()));
    let result = restore_and_check(backup, repository, &dir, snapshot).await;
    let _ = std::fs::remove_dir_all(&dir);
    report(backup, snapshot, started, result)
}

/// Every blob `snapshot` needs read back and checked against its hash, without restoring it.
pub async fn verify(backup: &Backup, repository: &RepositoryConfig, snapshot: &Snapshot) -> DrillReport {
    let started = Instant::now();
    let read_back = async {
        let repo = crate::open(repository).await?;
        let id = snapshot.id.clone();
        let verified = tokio::task::spawn_blocking(move || repo.verify(&[id]).map_err(|e| e.to_string()))
            .await
            .map_err(|e| e.to_string())??;
        undamaged(&verified)
    };
    let result = read_back.await;
    report(backup, snapshot, started, result)
}

/// What a drill that read every blob back says it did.
const READ_BACK: &str = "every blob read back and its hash checked";

/// The checks a read-back passed (with what it noted), or the damage it found.
fn undamaged(verified: &crate::repository::Verified) -> Result<Vec<String>, String> {
    if !verified.damage.is_empty() {
        return Err(format!("the repository is damaged: {}", verified.damage.join("; ")));
    }
    let mut checks = vec![READ_BACK.to_string()];
    checks.extend(verified.notes.iter().map(|n| format!("note: {n}")));
    Ok(checks)
}

fn report(backup: &Backup, snapshot: &Snapshot, started: Instant, result: Result<Vec<String>, String>) -> DrillReport {
    let (ok, checks, error) = match result {
        Ok(checks) => (true, checks, None),
        Err(e) => (false, Vec::new(), Some(e)),
    };
    DrillReport {
        backup: backup.name.clone(),
        snapshot: snapshot.id.clone(),
        snapshot_time: snapshot.time,
        ok,
        duration_ms: started.elapsed().as_millis() as u64,
        checks,
        error,
    }
}

async fn restore_and_check(
    backup: &Backup,
    repository: &RepositoryConfig,
    dir: &Path,
    snapshot: &Snapshot,
) -> Result<Vec<String>, String> {
    let repo = crate::open(repository).await?;
    let (id, path, to) = (snapshot.id.clone(), snapshot.path.clone(), dir.to_path_buf());
    let (verified, restored) = tokio::task::spawn_blocking(move || {
        let verified = repo.verify(std::slice::from_ref(&id)).map_err(|e| e.to_string())?;
        if !verified.damage.is_empty() {
            return Ok((verified, to));
        }
        repo.restore(&id, &path, &to).map(|restored| (verified, restored)).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())??;
    let mut checks = undamaged(&verified)?;
    let recorded = Recorded {
        tables: serde_json::from_value(snapshot.meta["tables"].clone()).unwrap_or_default(),
        size: snapshot.size,
        files: snapshot.files,
    };
    checks.extend(backup.source.drill(&restored, &recorded).await?);
    Ok(checks)
}
