//! One backup run: the source stages a consistent copy in a scratch directory of its own, the
//! copy goes into the repository as one snapshot with what was recorded of it, and the scratch
//! directory goes, whatever happened. A run that fails leaves no snapshot.

use crate::repository::{Repo, RepoError, Snapshot};
use crate::section::{Backup, Password, RepositoryConfig};
use jiff::Timestamp;
use std::path::Path;

/// Backs `backup` up into the repository, at `now`; `scratch` is where sources stage their
/// copies (under `data_dir`).
pub async fn run(
    backup: &Backup,
    repository: &RepositoryConfig,
    scratch: &Path,
    now: Timestamp,
) -> Result<Snapshot, String> {
    let dir = scratch.join(format!("{}-{}", backup.name, now.as_nanosecond()));
    clear_leftovers(scratch, &backup.name);
    create_private_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let result = stage_and_save(backup, repository, &dir, now).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn stage_and_save(
    backup: &Backup,
    repository: &RepositoryConfig,
    dir: &Path,
    now: Timestamp,
) -> Result<Snapshot, String> {
    // Taken before the copy: a write during the copy makes the next run copy again.
    let fingerprint = backup.source.fingerprint();
    let repo = open(repository).await?;
    let (repo, unchanged) = match fingerprint.clone() {
        Some(fingerprint) => repeat_if_unchanged(repo, &backup.name, fingerprint, now).await?,
        None => (repo, None),
    };
    if let Some(snapshot) = unchanged {
        return Ok(snapshot);
    }
    let staged = tokio::time::timeout(backup.timeout, backup.source.stage(dir))
        .await
        .map_err(|_| format!("the source took longer than its timeout ({}s)", backup.timeout.as_secs()))??;
    let meta = serde_json::json!({
        "kind": backup.source.kind(),
        "target": backup.source.target(),
        "tables": staged.tables,
        "schema_version": staged.schema_version,
        "fingerprint": fingerprint,
    });
    let (name, from, excludes) = (backup.name.clone(), staged.path, staged.excludes);
    tokio::task::spawn_blocking(move || repo.backup(&name, &from, &excludes, now, &meta))
        .await
        .map_err(|e| format!("the backup stopped: {e}"))?
        .map_err(|e: RepoError| e.to_string())
}

/// When the newest snapshot of `name` has the source's current `fingerprint`, a new snapshot of
/// the same data, saved without copying it again; the repository is handed back either way.
async fn repeat_if_unchanged(
    repo: Repo,
    name: &str,
    fingerprint: String,
    now: Timestamp,
) -> Result<(Repo, Option<Snapshot>), String> {
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        let newest = repo.snapshots().map_err(|e| e.to_string())?.into_iter().rfind(|s| s.backup == name);
        let repeated = match newest {
            Some(parent) if parent.meta["fingerprint"] == fingerprint.as_str() => {
                Some(repo.repeat(&parent, now).map_err(|e| e.to_string())?)
            }
            _ => None,
        };
        Ok((repo, repeated))
    })
    .await
    .map_err(|e| format!("the backup stopped: {e}"))?
}

/// Opens the repository (creating it on first use), on a blocking thread.
pub async fn open(repository: &RepositoryConfig) -> Result<Repo, String> {
    let password = password(&repository.password)?;
    let place = repository.place.clone();
    tokio::task::spawn_blocking(move || Repo::open_or_init(&place, &password))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())
}

/// The repository's password: as given, from its file, or generated into its file on first use.
pub fn password(password: &Password) -> Result<String, String> {
    match password {
        Password::Given(p) => Ok(p.clone()),
        Password::File(path) => first_line(path),
        Password::Generated(path) if path.exists() => first_line(path),
        Password::Generated(path) => {
            let (secret, made) = generated_secret(path)?;
            if made {
                tracing::warn!(
                    "made a password for the backup repository in {}: keep a copy somewhere safe, without it no backup can be read",
                    path.display()
                );
            }
            Ok(secret)
        }
    }
}

/// The secret in the file at `path`, made (32 random bytes as hex, mode 0400) if there is none;
/// whether this call made it. Whoever writes the file first, this process or another at the
/// same moment, sets it.
pub fn generated_secret(path: &Path) -> Result<(String, bool), String> {
    if path.exists() {
        return Ok((first_line(path)?, false));
    }
    let mut bytes = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut bytes);
    let made =
        write_key(path, &hex::encode(bytes)).map_err(|e| format!("cannot write the key {}: {e}", path.display()))?;
    Ok((first_line(path)?, made))
}

fn first_line(path: &Path) -> Result<String, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("cannot read the secret in {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or("").trim_end().to_string();
    if line.is_empty() {
        return Err(format!("{} holds no password", path.display()));
    }
    Ok(line)
}

/// Written whole under a name of its own, mode 0400, then linked into place unless a key is
/// there already (two first backups at once must not each make one): whether this one was.
fn write_key(path: &Path, secret: &str) -> std::io::Result<bool> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let tmp = path.with_extension(format!("tmp-{}-{nanos}", std::process::id()));
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o400).open(&tmp)?;
    file.write_all(format!("{secret}\n").as_bytes())?;
    file.sync_all()?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Scratch directories a killed run of this backup left behind.
fn clear_leftovers(scratch: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(scratch) else { return };
    let prefix = format!("{name}-");
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().to_string();
        let rest = file_name.strip_prefix(&prefix);
        if rest.is_some_and(|r| r.chars().all(|c| c.is_ascii_digit())) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_runs_at_once_agree_on_one_generated_password() {
        let dir = tempfile::tempdir().unwrap();
        let key = Password::Generated(dir.path().join("backup.key"));
        let runs: Vec<_> = (0..8)
            .map(|_| {
                let key = key.clone();
                std::thread::spawn(move || password(&key).unwrap())
            })
            .collect();
        let passwords: Vec<String> = runs.into_iter().map(|r| r.join().unwrap()).collect();
        assert!(passwords.iter().all(|p| p == &passwords[0] && p.len() == 64), "{passwords:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "one key file, no leftovers");
    }
}
