//! The backup repository: restic's format, through `rustic_core` — the only file that uses it,
//! since its API changes every few months. Blocking (rustic runs rayon inside): call it from
//! `tokio::task::spawn_blocking`.
//!
//! What rustic leaves to us, and this module does: repository files get restic's modes (keys
//! 0400, folders 0700); a wrong password is told apart from a broken repository; a snapshot
//! names its backup in its `label`, its tags (`upkeep`, `backup=NAME`) and its one path
//! (`/upkeep/NAME`), so restic's default grouping (host and paths) is one group per backup.

mod keys;
mod progress;
mod s3;

pub use progress::{Show, show_progress};
use s3::S3Backend;
pub use s3::S3Location;

use crate::section::Keep;
use jiff::Timestamp;
use rustic_backend::BackendOptions;
use rustic_core::repofile::{Node, SnapshotFile, SnapshotId};
use rustic_core::{
    BackupOptions, CheckOptions, ConfigOptions, Credentials, KeepOptions, KeyOptions, LocalDestination, LsOptions,
    OpenStatus, PathList, PruneOptions, Repository, RepositoryBackends, RepositoryOptions, RestoreOptions,
    SnapshotOptions,
};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("the backup repository's password is wrong (it was set when {0} was created)")]
    WrongPassword(String),
    #[error("{what}: {detail}")]
    Failed { what: String, detail: String },
}

fn failed(what: impl Into<String>) -> impl FnOnce(Box<rustic_core::RusticError>) -> RepoError {
    let what = what.into();
    move |e| RepoError::Failed { what, detail: detail(&e) }
}

/// What went wrong, in words: a full disk said as such (rustic's own first line says only
/// "an error related to input/output operations"), else rustic's first line.
fn detail(e: &rustic_core::RusticError) -> String {
    let text = e.to_string();
    let mut cause: Option<&dyn std::error::Error> = Some(e);
    let mut full = text.contains("No space left on device") || text.contains("os error 28");
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            full |= io.kind() == std::io::ErrorKind::StorageFull || io.raw_os_error() == Some(28);
        }
        full |= c.to_string().contains("No space left on device");
        cause = c.source();
    }
    if full {
        return "no space left on the repository's disk: free some, or remove old snapshots with `upkeep backup prune` \
                (the repository is not damaged: what was half written is not part of any snapshot)"
            .into();
    }
    let first = text.lines().next().unwrap_or("").to_string();
    // rustic's first line is often generic ("an error related to the backend"): the cause says more.
    let mut root: Option<String> = None;
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        root = Some(c.to_string().lines().next().unwrap_or("").to_string());
        cause = c.source();
    }
    match root {
        Some(root) if !root.is_empty() && !first.contains(&root) => format!("{first}: {root}"),
        _ => first,
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> RepoError {
    let what = what.into();
    move |e| RepoError::Failed { what, detail: e.to_string() }
}

/// One snapshot, as Upkeep shows it.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Snapshot {
    /// restic's id: 64 hex digits (the first 8 are enough to name it).
    pub id: String,
    pub backup: String,
    pub time: Timestamp,
    /// Bytes backed up, and of those, new to the repository (before compression).
    pub size: u64,
    pub added: u64,
    pub files: u64,
    pub duration_ms: u64,
    /// Where the data sits in the snapshot (`/upkeep/NAME/database.sqlite`).
    pub path: String,
    /// What Upkeep recorded at backup time (the source's kind, tables' row counts).
    pub meta: serde_json::Value,
}

/// Where a repository is.
#[derive(Clone, Debug, PartialEq)]
pub enum Place {
    Local(PathBuf),
    S3(S3Location),
}

impl Place {
    /// As the user wrote it: a path, or `s3://bucket/prefix`.
    pub fn shown(&self) -> String {
        match self {
            Place::Local(path) => path.display().to_string(),
            Place::S3(s3) => s3.shown(),
        }
    }

    /// Whether a repository is there yet (so that looking does not make one).
    pub fn exists(&self) -> Result<bool, RepoError> {
        match self {
            Place::Local(path) => Ok(path.join("config").exists()),
            Place::S3(s3) => {
                S3Backend::new(s3).and_then(|b| b.exists()).map_err(failed(format!("cannot reach {}", s3.shown())))
            }
        }
    }
}

/// An open repository.
pub struct Repo {
    repo: Repository<OpenStatus>,
    place: Place,
}

impl Repo {
    /// Opens the repository at `place`, creating it first if there is none.
    pub fn open_or_init(place: &Place, password: &str) -> Result<Repo, RepoError> {
        let shown = place.shown();
        // Two backups starting at once on a new repository must not both make one.
        static MAKING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let existed = place.exists()?;
        let _making = (!existed).then(|| MAKING.lock().unwrap_or_else(|e| e.into_inner()));
        // Looked at again under the lock: another backup may have just made it.
        let fresh = !existed && !place.exists()?;
        let backends = match place {
            Place::Local(path) => {
                if fresh {
                    std::fs::create_dir_all(path).map_err(io(format!("cannot create {shown}")))?;
                }
                BackendOptions::default()
                    .repository(path.to_string_lossy())
                    .to_backends()
                    .map_err(failed(format!("cannot use {shown}")))?
            }
            Place::S3(s3) => {
                let backend = S3Backend::new(s3).map_err(failed(format!("cannot use {shown}")))?;
                RepositoryBackends::new(std::sync::Arc::new(backend), None)
            }
        };
        let options = RepositoryOptions::default().no_cache(true);
        // A new repository is made with the password, so that it gets a key file; a cached key
        // is only for opening one that exists (and is dropped when it no longer opens it).
        let known = if fresh { None } else { keys::known(place, password) };
        let repo = Repository::new_with_progress(&options, &backends, progress::Bars)
            .map_err(failed(format!("cannot use {shown}")))?;
        let repo = if fresh {
            let repo = repo
                .init(&Credentials::password(password), &KeyOptions::default(), &config_options())
                .map_err(failed(format!("cannot create a repository in {shown}")))?;
            if let Place::Local(path) = place {
                restic_modes(path).map_err(io(format!("cannot set the modes of {shown}")))?;
            }
            repo
        } else {
            let opened = match known {
                Some(key) => repo.clone().open(&Credentials::Masterkey(key)).or_else(|_| {
                    keys::forget(place);
                    repo.open(&Credentials::password(password))
                }),
                None => repo.open(&Credentials::password(password)),
            };
            opened.map_err(|e| {
                if e.is_incorrect_password() {
                    RepoError::WrongPassword(shown.clone())
                } else {
                    failed(format!("cannot open {shown}"))(e)
                }
            })?
        };
        keys::remember(place, password, repo.key());
        Ok(Repo { repo, place: place.clone() })
    }

    /// Backs up the directory or file `from` (less what the gitignore-style `excludes` name) as
    /// backup `name`'s snapshot, at `time`, with `meta`. Saved whole or not at all: rustic writes
    /// packs and the index first and the snapshot file last. Takes the repository: its index is
    /// read for the backup.
    pub fn backup(
        self,
        name: &str,
        from: &Path,
        excludes: &[String],
        time: Timestamp,
        meta: &serde_json::Value,
    ) -> Result<Snapshot, RepoError> {
        let what = format!("cannot back up {}", from.display());
        let zoned = zoned(time).map_err(|detail| RepoError::Failed { what: what.clone(), detail })?;
        let snapshot = SnapshotOptions::default()
            .label(name.to_string())
            .description(meta.to_string())
            .time(zoned)
            .add_tags(&format!("upkeep,backup={name}"))
            .and_then(|o| o.to_snapshot())
            .map_err(failed(what.clone()))?;
        let source = PathList::from_string(&from.to_string_lossy())
            .map_err(failed(what.clone()))?
            .sanitize()
            .map_err(|e| RepoError::Failed { what: what.clone(), detail: e.to_string() })?;
        let globs: Vec<String> = excludes.iter().map(|p| format!("!{p}")).collect();
        let options = BackupOptions::default()
            .as_path(Some(snapshot_path(name, from)))
            .excludes(rustic_core::Excludes::default().globs(globs));
        let repo = self.repo.to_indexed_ids().map_err(failed(what.clone()))?;
        let saved = repo.backup(&options, &source, snapshot).map_err(failed(what))?;
        if let Place::Local(path) = &self.place {
            let _ = restic_modes(path);
        }
        Ok(view(&saved))
    }

    /// A new snapshot at `time` of what `parent` holds, for a source that has not changed since:
    /// the same tree, so nothing is read or stored but the snapshot file itself.
    pub fn repeat(&self, parent: &Snapshot, time: Timestamp) -> Result<Snapshot, RepoError> {
        let what = format!("cannot save a snapshot of {} (unchanged since {})", parent.backup, &parent.id[..8]);
        let found = self.repo.get_snapshots(std::slice::from_ref(&parent.id)).map_err(failed(what.clone()))?;
        let Some(mut snapshot) = found.into_iter().next() else {
            return Err(RepoError::Failed { what, detail: "the parent snapshot is gone".into() });
        };
        let zoned = zoned(time).map_err(|detail| RepoError::Failed { what: what.clone(), detail })?;
        snapshot.parent = Some(snapshot.id);
        snapshot.time = zoned.clone();
        if let Some(summary) = &mut snapshot.summary {
            summary.files_unmodified = summary.total_files_processed;
            (summary.files_new, summary.files_changed) = (0, 0);
            (summary.dirs_new, summary.dirs_changed) = (0, 0);
            summary.dirs_unmodified = summary.total_dirs_processed;
            (summary.data_added, summary.data_added_packed) = (0, 0);
            (summary.data_added_files, summary.data_added_files_packed) = (0, 0);
            (summary.data_added_trees, summary.data_added_trees_packed) = (0, 0);
            (summary.backup_start, summary.backup_end) = (zoned.clone(), zoned);
            (summary.backup_duration, summary.total_duration) = (0.0, 0.0);
        }
        let tree = snapshot.tree;
        self.repo.save_snapshots(vec![snapshot]).map_err(failed(what.clone()))?;
        let saved = self.repo.get_all_snapshots().map_err(failed(what.clone()))?;
        let time = time.as_millisecond();
        let mine = saved
            .iter()
            .find(|s| s.label == parent.backup && s.tree == tree && s.time.timestamp().as_millisecond() == time);
        mine.map(view).ok_or(RepoError::Failed { what, detail: "the saved snapshot is not listed".into() })
    }

    /// Every snapshot Upkeep wrote (tagged `upkeep`), oldest first.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>, RepoError> {
        let mut all: Vec<Snapshot> = self
            .repo
            .get_all_snapshots()
            .map_err(failed("cannot list the snapshots"))?
            .iter()
            .filter(|s| s.tags.contains("upkeep"))
            .map(view)
            .collect();
        all.sort_by_key(|s| s.time);
        Ok(all)
    }

    /// Restores `path` of snapshot `id` (an unambiguous prefix will do) into the directory `to`:
    /// a directory's contents, or the one file under its own name. Takes the repository: its
    /// index is read.
    pub fn restore(self, id: &str, path: &str, to: &Path) -> Result<PathBuf, RepoError> {
        let what = format!("cannot restore snapshot {id}");
        let repo = self.repo.to_indexed().map_err(failed(what.clone()))?;
        let node = repo.node_from_snapshot_path(&format!("{id}:{path}"), |_| true).map_err(failed(what.clone()))?;
        let ls = repo.ls(&node, &LsOptions::default()).map_err(failed(what.clone()))?;
        let target = match Path::new(path).file_name() {
            Some(name) if !node.is_dir() => to.join(name),
            _ => to.to_path_buf(),
        };
        std::fs::create_dir_all(to).map_err(io(format!("cannot create {}", to.display())))?;
        let mut dest = target.to_string_lossy().to_string();
        if node.is_dir() && !dest.ends_with('/') {
            dest.push('/');
        }
        let dest = LocalDestination::new(&dest, true, !node.is_dir()).map_err(failed(what.clone()))?;
        let options = RestoreOptions::default();
        let nodes: Vec<(PathBuf, Node)> = ls.collect::<Result<_, _>>().map_err(failed(what.clone()))?;
        for slice in slices(nodes, RESTORE_SLICE) {
            let stream = || slice.iter().cloned().map(Ok);
            let plan = repo.prepare_restore(&options, stream(), &dest, false).map_err(failed(what.clone()))?;
            repo.restore(plan, &options, stream(), &dest).map_err(failed(what.clone()))?;
        }
        Ok(target)
    }

    /// Reads back every blob the snapshots `ids` need, checking each against its hash: the
    /// damage found (none when all is well), and what is odd but harmless — a pack no index
    /// names, left by a backup that was killed or ran out of space, which the next prune removes.
    pub fn verify(&self, ids: &[String]) -> Result<Verified, RepoError> {
        let what = "cannot verify the repository";
        let snapshots = self.repo.get_snapshots(ids).map_err(failed(what))?;
        let trees = snapshots.iter().map(|s| s.tree).collect();
        let options = CheckOptions::default().read_data(true);
        let results = self.repo.check_with_trees(options, trees).map_err(failed(what))?;
        let mut verified = Verified::default();
        for (level, finding) in &results.0 {
            // rustic does not export the level's type: `Error` is damage, `Warn` is not.
            let list = if format!("{level:?}") == "Warn" { &mut verified.notes } else { &mut verified.damage };
            list.push(finding.to_string().replace("'rustic repair index'", "`upkeep backup prune`"));
        }
        Ok(verified)
    }

    /// What `keep` keeps of backup `name`'s snapshots at `now`, newest first, with restic's
    /// reasons ("daily", "weekly", "last"...): restic's `forget` policy, applied to this one
    /// backup's snapshots (the group restic's default grouping makes of them).
    pub fn retention(&self, name: &str, keep: &Keep, now: Timestamp) -> Result<Vec<Decision>, RepoError> {
        let what = "cannot apply the retention policy";
        let snapshots: Vec<SnapshotFile> = self
            .repo
            .get_all_snapshots()
            .map_err(failed(what))?
            .into_iter()
            .filter(|s| s.tags.contains("upkeep") && s.label == name)
            .collect();
        let count = |n: Option<u32>| n.map(|n| n as i32);
        let mut options = KeepOptions::default()
            .keep_last(count(keep.last))
            .keep_hourly(count(keep.hourly))
            .keep_daily(count(keep.daily))
            .keep_weekly(count(keep.weekly))
            .keep_monthly(count(keep.monthly))
            .keep_yearly(count(keep.yearly));
        if let Some(within) = keep.within {
            options = options.keep_within(rustic_core::jiff::Span::new().seconds(within.as_secs() as i64));
        }
        let now = zoned(now).map_err(|detail| RepoError::Failed { what: what.into(), detail })?;
        let decided = options.apply(snapshots, &now).map_err(failed(what))?;
        Ok(decided
            .into_iter()
            .map(|d| Decision { snapshot: view(&d.snapshot), keep: d.keep, reasons: d.reasons })
            .collect())
    }

    /// Removes the data no snapshot refers to any more, at once (rustic's default waits 23 h).
    pub fn prune(&self) -> Result<(), RepoError> {
        let options = PruneOptions::default().instant_delete(true);
        let plan = self.repo.prune_plan(&options).map_err(failed("cannot plan the prune"))?;
        self.repo.prune(&options, plan).map_err(failed("cannot prune the repository"))
    }

    /// Removes snapshots (their data stays until a prune).
    pub fn forget(&self, ids: &[String]) -> Result<(), RepoError> {
        let ids: Vec<SnapshotId> =
            self.repo.get_snapshots(ids).map_err(failed("cannot find the snapshots"))?.iter().map(|s| s.id).collect();
        self.repo.delete_snapshots(&ids).map_err(failed("cannot remove the snapshots"))
    }
}

/// What reading a repository back found.
#[derive(Clone, Debug, Default)]
pub struct Verified {
    pub damage: Vec<String>,
    pub notes: Vec<String>,
}

/// A new repository's settings: rustic's, but data packs of at most 16 MiB as restic makes
/// them (rustic's grow with the repository, and a restore holds up to 20 packs in memory).
fn config_options() -> ConfigOptions {
    const PACK: bytesize::ByteSize = bytesize::ByteSize::mib(16);
    ConfigOptions::default().set_datapack_size(Some(PACK)).set_datapack_size_limit(Some(PACK))
}

/// How many bytes of files one restore pass takes on: rustic restores with 20 readers, each
/// holding up to a pack's range, so a restore of everything at once held 0.7 GB.
const RESTORE_SLICE: u64 = 64 << 20;

/// `nodes` in passes of at most `limit` bytes of files each (a file bigger than that alone):
/// every pass has every folder (so each file's folder is there, and the last pass sets the
/// folders' times after their last file), the first has the links and other special files.
fn slices(nodes: Vec<(PathBuf, Node)>, limit: u64) -> Vec<Vec<(PathBuf, Node)>> {
    let (files, rest): (Vec<_>, Vec<_>) = nodes.into_iter().partition(|(_, n)| n.is_file());
    let dirs: Vec<(PathBuf, Node)> = rest.iter().filter(|(_, n)| n.is_dir()).cloned().collect();
    let mut passes = vec![rest];
    let mut bytes = 0;
    for file in files {
        let size = file.1.meta.size;
        if bytes > 0 && bytes + size > limit {
            passes.push(dirs.clone());
            bytes = 0;
        }
        bytes += size;
        passes.last_mut().expect("a first pass").push(file);
    }
    passes
}

/// One snapshot's fate under a retention policy.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Decision {
    pub snapshot: Snapshot,
    pub keep: bool,
    /// Why it is kept (`daily`, `weekly`, `last`, ...); empty when it goes.
    pub reasons: Vec<String>,
}

fn zoned(t: Timestamp) -> Result<rustic_core::jiff::Zoned, String> {
    rustic_core::jiff::Timestamp::from_millisecond(t.as_millisecond())
        .map(|t| t.to_zoned(rustic_core::jiff::tz::TimeZone::UTC))
        .map_err(|e| e.to_string())
}

/// Where a backup's data sits in its snapshots, the same every run (so each run deduplicates
/// against the last, and restic groups them together): `/upkeep/NAME` for a directory,
/// `/upkeep/NAME/FILE` for a file.
pub fn snapshot_path(name: &str, from: &Path) -> PathBuf {
    let root = PathBuf::from(format!("/upkeep/{name}"));
    match from.file_name() {
        Some(file) if from.is_file() => root.join(file),
        _ => root,
    }
}

fn view(s: &SnapshotFile) -> Snapshot {
    let summary = s.summary.as_ref();
    Snapshot {
        id: s.id.to_hex().as_str().to_string(),
        backup: s.label.clone(),
        time: Timestamp::from_millisecond(s.time.timestamp().as_millisecond()).unwrap_or_default(),
        size: summary.map_or(0, |m| m.total_bytes_processed),
        added: summary.map_or(0, |m| m.data_added),
        files: summary.map_or(0, |m| m.total_files_processed),
        duration_ms: summary.map_or(0, |m| (m.backup_duration * 1000.0) as u64),
        path: s.paths.iter().next().cloned().unwrap_or_default(),
        meta: s.description.as_deref().and_then(|d| serde_json::from_str(d).ok()).unwrap_or_default(),
    }
}

/// restic's modes: directories 0700, files 0400 (keys, packs, snapshots are written once).
fn restic_modes(root: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))?;
    for entry in walk(root)? {
        let mode = if entry.is_dir() { 0o700 } else { 0o400 };
        std::fs::set_permissions(&entry, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

fn walk(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path.clone());
            }
            out.push(path);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustic_core::repofile::{Metadata, NodeType};

    fn node(name: &str, kind: NodeType, size: u64) -> (PathBuf, Node) {
        let meta = Metadata { size, ..Metadata::default() };
        (PathBuf::from(name), Node::new_node(name.as_ref(), kind, meta))
    }

    #[test]
    fn a_restore_goes_in_passes_of_at_most_the_slice_each_with_every_folder() {
        let link = NodeType::Symlink { linktarget: "a".into(), linktarget_raw: None };
        let nodes = vec![
            node("d", NodeType::Dir, 0),
            node("d/a", NodeType::File, 40),
            node("d/b", NodeType::File, 40),
            node("d/l", link, 0),
            node("d/big", NodeType::File, 500),
            node("d/c", NodeType::File, 10),
        ];
        let passes = slices(nodes, 100);
        let names: Vec<Vec<&str>> =
            passes.iter().map(|p| p.iter().map(|(path, _)| path.to_str().unwrap()).collect()).collect();
        assert_eq!(names, [vec!["d", "d/l", "d/a", "d/b"], vec!["d", "d/big"], vec!["d", "d/c"]]);
    }
}
