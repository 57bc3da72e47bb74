//! Where a backup's data comes from: one file per kind, registered in `KINDS` below. A source
//! writes a consistent copy of its data into a scratch directory (or names a directory to back
//! up in place) and says what it recorded of it: each table's row count and the schema's
//! version, kept in the snapshot so a drill can compare. A source that fails — a non-zero exit,
//! a dump cut short — is an error, and no snapshot is made of what it left.

mod command;
mod files;
mod mysql;
mod postgres;
mod sqlite;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use upkeep_config::{Diagnostics, TableReader};

/// What a source staged.
#[derive(Debug, Default)]
pub struct Staged {
    /// What to back up: a file or directory in the scratch directory, or the source's own
    /// directory (`files`).
    pub path: PathBuf,
    /// Each table's row count, in the copy that is backed up.
    pub tables: BTreeMap<String, u64>,
    /// The schema's version: the last migration applied (Laravel's `migrations`), else
    /// SQLite's `user_version`.
    pub schema_version: Option<String>,
    /// gitignore-style patterns of what under `path` is left out (`files`).
    pub excludes: Vec<String>,
}

pub type StageFuture<'a> = Pin<Box<dyn Future<Output = Result<Staged, String>> + Send + 'a>>;

/// What a snapshot recorded at backup time, for a drill to compare with.
#[derive(Debug, Default)]
pub struct Recorded {
    pub tables: BTreeMap<String, u64>,
    /// Bytes and files backed up.
    pub size: u64,
    pub files: u64,
}

/// A drill's checks that passed, in words; or the first that failed.
pub type DrillFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>, String>> + Send + 'a>>;

/// A safety copy of the live data (`None`: there is none to copy), or why it cannot be taken.
pub type SafetyFuture<'a> = Pin<Box<dyn Future<Output = Result<Option<PathBuf>, String>> + Send + 'a>>;

/// What putting a restored copy back did, in words.
pub type PutBackFuture<'a> = Pin<Box<dyn Future<Output = Result<Vec<String>, String>> + Send + 'a>>;

pub trait Source: Send + Sync + Debug {
    fn kind(&self) -> &'static str;
    /// What it backs up, as shown (a URL without its password, a path).
    fn target(&self) -> String;
    /// Writes the copy to back up into `scratch`, an empty directory of its own.
    fn stage<'a>(&'a self, scratch: &'a Path) -> StageFuture<'a>;

    /// What identifies the data as it is now, cheaply (a file's size and times), for a source
    /// that can tell: a run that finds the same fingerprint as the last snapshot's makes a new
    /// snapshot of the same data without copying it again. `None`: always copy.
    fn fingerprint(&self) -> Option<String> {
        None
    }
    /// Proves a restored copy (`restored`: the file or directory as it was backed up) usable:
    /// opens or loads it the way the app would, somewhere scratch, and compares what is in it
    /// with what was recorded.
    fn drill<'a>(&'a self, restored: &'a Path, recorded: &'a Recorded) -> DrillFuture<'a>;

    /// Whether a restore can put its data back in place (all of it, or the one table or file
    /// `only` names); `Err` says why not, and what to do instead.
    fn can_put_back(&self, only: Option<&str>) -> Result<(), String>;

    /// Copies the live data (all of it, or what `only` names) into `dir` before a restore
    /// overwrites it: by default as a backup stages it (a consistent copy, or a dump).
    fn safety_copy<'a>(&'a self, dir: &'a Path, _only: Option<&'a str>) -> SafetyFuture<'a> {
        Box::pin(async move { self.stage(dir).await.map(|staged| Some(staged.path)) })
    }

    /// What of a snapshot's `path` a restore of `only` needs: all of it, except where `only`
    /// names a file inside it.
    fn part(&self, path: &str, _only: Option<&str>) -> String {
        path.to_string()
    }

    /// Puts `restored` (the file or directory as it was backed up) back in place of the live
    /// data: all of it, or the one table or file `only` names.
    fn put_back<'a>(&'a self, restored: &'a Path, only: Option<&'a str>) -> PutBackFuture<'a>;
}

/// Compares each table's rows in a restored copy with those recorded at backup time.
fn same_rows(found: &BTreeMap<String, u64>, recorded: &BTreeMap<String, u64>) -> Result<String, String> {
    for (table, want) in recorded {
        match found.get(table) {
            Some(got) if got == want => {}
            Some(got) => return Err(format!("table {table} has {got} rows, {want} were backed up")),
            None => return Err(format!("table {table} is missing from the restored copy")),
        }
    }
    let rows: u64 = recorded.values().sum();
    Ok(format!("{} tables, {rows} rows, as recorded", recorded.len()))
}

/// A file restored with the size it was backed up with.
fn same_size(restored: &Path, recorded: &Recorded) -> Result<Vec<String>, String> {
    let size = std::fs::metadata(restored).map_err(|e| format!("cannot read {}: {e}", restored.display()))?.len();
    if size != recorded.size {
        return Err(format!("{} has {size} bytes, {} were backed up", restored.display(), recorded.size));
    }
    Ok(vec![format!("{size} bytes, as backed up")])
}

/// Copies `from` to `to` whole or not at all: written beside it under a temporary name, synced,
/// then renamed over it.
fn put_file(from: &Path, to: &Path) -> Result<(), String> {
    let tmp = beside(to, "restoring");
    let copied = std::fs::copy(from, &tmp)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, to));
    copied.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot put {} back: {e}", to.display())
    })
}

/// `to`'s sibling `.NAME.upkeep-WHAT-PID`: on the same file system, so a rename is atomic.
fn beside(to: &Path, what: &str) -> PathBuf {
    let name = to.file_name().map_or("data".into(), |n| n.to_string_lossy().to_string());
    to.with_file_name(format!(".{name}.upkeep-{what}-{}", std::process::id()))
}

/// Copies the tree at `from` to `to` (which must not exist): files with their modes, symlinks
/// as symlinks.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    let meta = std::fs::symlink_metadata(from)?;
    if meta.file_type().is_symlink() {
        return std::os::unix::fs::symlink(std::fs::read_link(from)?, to);
    }
    if meta.is_file() {
        std::fs::copy(from, to)?;
        return Ok(());
    }
    std::fs::create_dir(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        copy_tree(&entry.path(), &to.join(entry.file_name()))?;
    }
    std::fs::set_permissions(to, meta.permissions())
}

/// A scratch database's name for a drill: unique, and plain enough to need no quoting.
fn scratch_database() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("upkeep_drill_{}_{nanos}", std::process::id())
}

type Build = fn(&mut TableReader, &mut Diagnostics, &Path) -> Option<Box<dyn Source>>;

/// Every kind: its name, and how its table is read (`base`: the config file's folder).
const KINDS: &[(&str, Build)] = &[
    ("sqlite", sqlite::build),
    ("postgres", postgres::build),
    ("mysql", mysql::build),
    ("files", files::build),
    ("command", command::build),
];

/// `source = { kind = "...", ... }`.
pub fn read_source(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Box<dyn Source>> {
    let kind = t.required_string(d, "kind", "\"sqlite\"")?;
    let Some((_, build)) = KINDS.iter().find(|(name, _)| *name == kind.get_ref()) else {
        let names = KINDS.iter().map(|(name, _)| name.to_string());
        let hint = upkeep_expr::closest_name(kind.get_ref(), names.clone())
            .map(|s| format!("did you mean `{s}`?"))
            .unwrap_or_else(|| format!("kinds: {}", names.collect::<Vec<_>>().join(", ")));
        d.error(kind.span(), format!("unknown backup source kind `{}`", kind.get_ref()), Some(hint));
        return None;
    };
    build(t, d, base)
}

/// Runs `program` with `args` (and `env`), its stdout to `out` when given; an error unless it
/// exits 0, with the end of what it printed on stderr.
async fn run_tool(program: &str, args: &[String], env: &[(&str, String)], out: Option<&Path>) -> Result<(), String> {
    run_tool_with_input(program, args, env, None, out).await
}

/// [`run_tool`], with `input` (a file) on its stdin.
async fn run_tool_with_input(
    program: &str,
    args: &[String],
    env: &[(&str, String)],
    input: Option<&Path>,
    out: Option<&Path>,
) -> Result<(), String> {
    let mut command = tokio::process::Command::new(program);
    command.args(args).kill_on_drop(true);
    match input {
        Some(path) => {
            command.stdin(std::fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?)
        }
        None => command.stdin(std::process::Stdio::null()),
    };
    for (k, v) in env {
        command.env(k, v);
    }
    match out {
        Some(path) => {
            let file = std::fs::File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            command.stdout(file);
        }
        None => {
            command.stdout(std::process::Stdio::null());
        }
    }
    // Not `output()`: tokio's pipes stdout over whatever was set.
    let child = command.stderr(std::process::Stdio::piped()).spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("`{program}` is not installed (or not on PATH)"),
        _ => format!("cannot run `{program}`: {e}"),
    })?;
    let output = child.wait_with_output().await.map_err(|e| format!("`{program}` failed: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail: Vec<&str> = stderr.lines().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
    let status = output.status.code().map_or("was killed".to_string(), |c| format!("exited {c}"));
    Err(format!("`{program}` {status}: {}", tail.join(" / ")))
}

/// A path from config, relative to the config file's folder.
fn path(t: &mut TableReader, d: &mut Diagnostics, key: &'static str, base: &Path, example: &str) -> Option<PathBuf> {
    let value = t.required_string(d, key, example)?;
    Some(base.join(value.get_ref()))
}
