//! Putting a snapshot back where its data came from: all of it, or one table or file. The
//! snapshot is restored into scratch first (from S3 that can take a while); then a safety copy
//! of the live data is taken (a consistent copy or a dump, as a backup takes it), kept under
//! `data_dir/safety-copies` — a restore that cannot take one changes nothing unless forced — and
//! at once the source puts the restored data back its own way (SQLite in one transaction,
//! `pg_restore --single-transaction`, an atomic `RENAME TABLE`, renames for files). It holds the
//! backup's run lock, so no backup of the same data runs meanwhile.

use crate::check::Places;
use crate::repository::Snapshot;
use crate::section::{Backup, RepositoryConfig};
use jiff::Timestamp;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Safety copies kept per backup; older ones go after a restore succeeds.
const SAFETY_COPIES_KEPT: usize = 3;

/// What a restore in place did.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PutBack {
    pub backup: String,
    pub snapshot: String,
    /// The table or file restored, when not all of it.
    pub only: Option<String>,
    /// Where the data it overwrote was copied first; `None` when there was none.
    pub safety_copy: Option<PathBuf>,
    pub done: Vec<String>,
    pub duration_ms: u64,
}

/// Why a restore in place failed, and whether the live data may have been changed by then.
#[derive(Clone, Debug)]
pub struct Failed {
    pub message: String,
    /// The put-back itself failed: the data may be half put back.
    pub touched: bool,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

fn untouched(message: String) -> Failed {
    Failed { message, touched: false }
}

/// Restores `snapshot` of `backup` in place (or only the table or file `only`). `force`:
/// overwrite even when no safety copy of the live data could be taken.
pub async fn put_back(
    backup: &Backup,
    repository: &RepositoryConfig,
    places: &Places,
    snapshot: &Snapshot,
    only: Option<&str>,
    force: bool,
    now: Timestamp,
) -> Result<PutBack, Failed> {
    let started = Instant::now();
    backup.source.can_put_back(only).map_err(untouched)?;
    let lock = format!("backup-{}", backup.name);
    let _lock = upkeep_maintain::task::RunLock::acquire(&places.locks, &lock, now)
        .map_err(|busy| untouched(busy.to_string()))?;
    let scratch = places.scratch.join(format!("restore-{}-{}", backup.name, now.as_nanosecond()));
    let result = async {
        let restored = restore_into(backup, repository, snapshot, only, &scratch).await.map_err(untouched)?;
        let safety_copy = safety_copy(backup, places, only, force, now).await.map_err(untouched)?;
        match backup.source.put_back(&restored, only).await {
            Ok(done) => Ok((safety_copy, done)),
            Err(e) => {
                let kept = safety_copy.as_ref().map(|c| format!("; the data as it was is in {}", c.display()));
                Err(Failed { message: format!("{e}{}", kept.unwrap_or_default()), touched: true })
            }
        }
    }
    .await;
    let _ = std::fs::remove_dir_all(&scratch);
    let (safety_copy, done) = result?;
    prune_safety_copies(&places.safety, &backup.name);
    Ok(PutBack {
        backup: backup.name.clone(),
        snapshot: snapshot.id.clone(),
        only: only.map(str::to_string),
        safety_copy,
        done,
        duration_ms: started.elapsed().as_millis() as u64,
    })
}

async fn safety_copy(
    backup: &Backup,
    places: &Places,
    only: Option<&str>,
    force: bool,
    now: Timestamp,
) -> Result<Option<PathBuf>, String> {
    let dir = places.safety.join(format!("{}-{}", backup.name, now.strftime("%Y%m%dT%H%M%S%.9fZ")));
    let taken = crate::run::create_private_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()));
    let taken = match taken {
        Ok(()) => backup.source.safety_copy(&dir, only).await,
        Err(e) => Err(e),
    };
    match taken {
        Ok(Some(copy)) => Ok(Some(copy)),
        Ok(None) => {
            let _ = std::fs::remove_dir_all(&dir);
            Ok(None)
        }
        Err(e) if force => {
            let _ = std::fs::remove_dir_all(&dir);
            tracing::warn!(backup = %backup.name, error = %e, "restoring without a safety copy (forced)");
            Ok(None)
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            Err(format!(
                "cannot take a safety copy of {}: {e}; nothing was changed: fix that, or pass --force to overwrite it without one",
                backup.source.target()
            ))
        }
    }
}

/// The part of `snapshot` a restore of `only` needs, restored into `scratch`.
async fn restore_into(
    backup: &Backup,
    repository: &RepositoryConfig,
    snapshot: &Snapshot,
    only: Option<&str>,
    scratch: &Path,
) -> Result<PathBuf, String> {
    crate::run::create_private_dir(scratch).map_err(|e| format!("cannot create {}: {e}", scratch.display()))?;
    let repo = crate::open(repository).await?;
    let (id, part, to) = (snapshot.id.clone(), backup.source.part(&snapshot.path, only), scratch.to_path_buf());
    tokio::task::spawn_blocking(move || repo.restore(&id, &part, &to).map_err(|e| e.to_string()))
        .await
        .map_err(|e| e.to_string())?
}

/// `20261203T021500.123456789Z`, as the safety copies' names end.
fn is_stamp(rest: &str) -> bool {
    rest.len() == 26 && rest.as_bytes()[8] == b'T' && rest.ends_with('Z')
}

/// Keeps the newest few safety copies of `backup` (their names sort by time).
fn prune_safety_copies(safety: &Path, backup: &str) {
    let Ok(entries) = std::fs::read_dir(safety) else { return };
    let prefix = format!("{backup}-");
    let mut copies: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().strip_prefix(&prefix).is_some_and(is_stamp))
        .map(|e| e.path())
        .collect();
    copies.sort();
    let excess = copies.len().saturating_sub(SAFETY_COPIES_KEPT);
    for old in &copies[..excess] {
        let _ = std::fs::remove_dir_all(old);
    }
}
