//! `log-rotate`: rotates a log file into numbered copies (`app.log.1`, `app.log.2.gz`, ...),
//! compresses them, and deletes those beyond `rotate` or older than `keep_for` (seed 002's
//! logrotate block: daily, rotate 7, compress, missingok, notifempty).
//!
//! No line is lost, whichever way the app writes:
//! - a writer that reopens the file (PHP per request, or one told to by `postrotate`): the file
//!   is renamed, a new one created, and a rotated copy is compressed only once no process holds
//!   it open any more (read from `/proc`), so lines written to the old file meanwhile are kept;
//! - a writer that keeps the file open (`copy_truncate = true`): the file is copied and
//!   truncated under an exclusive `flock`, which writers that lock (Monolog's `useLocking`) wait
//!   for. A writer that neither reopens nor locks can lose the lines it writes in the
//!   microseconds between the last copy and the truncate; prefer `postrotate` for it.

use crate::task::{Failure, Kind, Outcome, Output, Run, bytes};
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use upkeep_config::{Diagnostics, Spanned, TableReader};

const DEFAULT_ROTATE: i64 = 7;

#[derive(Clone, Debug)]
pub struct LogRotate {
    path: PathBuf,
    rotate: u32,
    max_size: Option<u64>,
    compress: bool,
    copy_truncate: bool,
    postrotate: Option<String>,
    missing_ok: bool,
    not_if_empty: bool,
    keep_for: Option<Duration>,
}

impl Kind for LogRotate {
    const KIND: &'static str = "log-rotate";

    fn build(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Self> {
        let path = crate::task::path(t, d, "path", base, "\"/var/log/php/error.log\"");
        let rotate = t.integer(d, "rotate", 1..1001).unwrap_or(DEFAULT_ROTATE) as u32;
        let max_size = t.size(d, "max_size").map(Spanned::into_inner);
        let compress = t.bool(d, "compress").unwrap_or(true);
        let copy_truncate = t.bool(d, "copy_truncate").unwrap_or(false);
        let postrotate = t.string(d, "postrotate").map(Spanned::into_inner);
        let missing_ok = t.bool(d, "missing_ok").unwrap_or(true);
        let not_if_empty = t.bool(d, "not_if_empty").unwrap_or(true);
        let keep_for = t.duration(d, "keep_for", Duration::from_secs(3600)).map(Spanned::into_inner);
        Some(LogRotate {
            path: path?,
            rotate,
            max_size,
            compress,
            copy_truncate,
            postrotate,
            missing_ok,
            not_if_empty,
            keep_for,
        })
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    async fn run(&self, run: Run) -> Result<Outcome, Failure> {
        let size = match fs::metadata(&self.path) {
            Ok(meta) => meta.len(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.missing_ok => {
                return Ok(Outcome::new(format!("{} does not exist; nothing to rotate", self.path.display())));
            }
            Err(e) => return Err(format!("cannot read {}: {e}", self.path.display()).into()),
        };
        if let Some(reason) = self.skip(size) {
            let mut outcome = Outcome::new(reason).change("bytes_rotated", 0.0);
            outcome.changes.extend(self.tidy(run).await?.changes);
            return Ok(outcome);
        }
        if run.dry_run {
            return Ok(Outcome::new(format!("would rotate {} ({})", self.path.display(), bytes(size as f64))));
        }
        let me = self.clone();
        let rotated = blocking(move || me.rotate_now()).await?;
        let mut output = Output::default();
        output.line(format!("rotated {} ({}) to {}", self.path.display(), bytes(size as f64), rotated.display()));
        if let Some(command) = &self.postrotate {
            let done = tokio::process::Command::new("/bin/sh")
                .args(["-c", command])
                .stdin(std::process::Stdio::null())
                .kill_on_drop(true)
                .output()
                .await
                .map_err(|e| format!("cannot run postrotate `{command}`: {e}"))?;
            output.text(&String::from_utf8_lossy(&done.stdout));
            output.text(&String::from_utf8_lossy(&done.stderr));
            if !done.status.success() {
                return Err(Failure {
                    message: format!(
                        "postrotate `{command}` exited {}: the writer may still write to {}",
                        done.status.code().unwrap_or(-1),
                        rotated.display()
                    ),
                    output: output.into_string(),
                });
            }
        }
        let tidied = self.tidy(run).await?;
        output.text(&tidied.output);
        let mut outcome = Outcome::new(format!("rotated {} ({})", self.path.display(), bytes(size as f64)))
            .change("bytes_rotated", size as f64);
        outcome.changes.extend(tidied.changes);
        Ok(outcome.output(output))
    }
}

impl LogRotate {
    fn skip(&self, size: u64) -> Option<String> {
        if size == 0 && self.not_if_empty {
            return Some(format!("{} is empty; not rotated", self.path.display()));
        }
        match self.max_size {
            Some(max) if size < max => Some(format!(
                "{} is {}, under max_size {}; not rotated",
                self.path.display(),
                bytes(size as f64),
                bytes(max as f64)
            )),
            _ => None,
        }
    }

    /// `app.log.N`, or `app.log.N.gz`.
    fn numbered(&self, n: u32, gz: bool) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}{}", if gz { ".gz" } else { "" }));
        PathBuf::from(name)
    }

    /// Shifts the copies up by one, then moves the live file's content to `.1`.
    fn rotate_now(&self) -> Result<PathBuf, String> {
        for n in (1..=self.rotate).rev() {
            for gz in [false, true] {
                let from = self.numbered(n, gz);
                if !from.exists() {
                    continue;
                }
                if n == self.rotate {
                    fs::remove_file(&from).map_err(|e| format!("cannot delete {}: {e}", from.display()))?;
                } else {
                    let to = self.numbered(n + 1, gz);
                    fs::rename(&from, &to)
                        .map_err(|e| format!("cannot rename {} to {}: {e}", from.display(), to.display()))?;
                }
            }
        }
        let first = self.numbered(1, false);
        if self.copy_truncate {
            copy_truncate(&self.path, &first)?
        } else {
            rename_and_create(&self.path, &first)?
        }
        Ok(first)
    }

    /// Compresses the copies nobody writes to any more and deletes those beyond `rotate` or
    /// older than `keep_for`.
    async fn tidy(&self, run: Run) -> Result<Outcome, Failure> {
        let me = self.clone();
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(run.now.as_millisecond().max(0) as u64);
        blocking(move || me.tidy_now(now, run.dry_run)).await
    }

    fn tidy_now(&self, now: SystemTime, dry_run: bool) -> Result<Outcome, String> {
        let mut outcome = Outcome::default();
        let mut output = Output::default();
        let (mut compressed, mut deleted, mut held) = (0.0, 0.0, 0.0);
        for n in 1..=self.rotate + 1 {
            for gz in [false, true] {
                let file = self.numbered(n, gz);
                let Ok(meta) = fs::metadata(&file) else { continue };
                let old = self.keep_for.is_some_and(|keep| {
                    meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age > keep)
                });
                if n > self.rotate || old {
                    if !dry_run {
                        fs::remove_file(&file).map_err(|e| format!("cannot delete {}: {e}", file.display()))?;
                    }
                    output.line(format!("deleted {}", file.display()));
                    deleted += 1.0;
                } else if self.compress && !gz {
                    if held_open(&file) {
                        output.line(format!("{} is still open by a writer; compressed on a later run", file.display()));
                        held += 1.0;
                    } else if !dry_run {
                        gzip(&file, &self.numbered(n, true))?;
                        compressed += 1.0;
                    }
                }
            }
        }
        outcome.changes.insert("files_compressed".into(), compressed);
        outcome.changes.insert("files_deleted".into(), deleted);
        outcome.changes.insert("files_held_open".into(), held);
        Ok(outcome.output(output))
    }
}

/// For writers that reopen: rename is atomic, so every line lands in the old or the new file.
fn rename_and_create(path: &Path, to: &Path) -> Result<(), String> {
    let meta = fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    fs::rename(path, to).map_err(|e| format!("cannot rename {} to {}: {e}", path.display(), to.display()))?;
    let created = fs::OpenOptions::new().write(true).create_new(true).open(path);
    match created {
        Ok(file) => {
            let _ = file.set_permissions(meta.permissions());
            let _ = std::os::unix::fs::chown(
                path,
                Some(std::os::unix::fs::MetadataExt::uid(&meta)),
                Some(std::os::unix::fs::MetadataExt::gid(&meta)),
            );
            Ok(())
        }
        // The writer reopened first and created it: that is fine.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("cannot create a new {}: {e}", path.display())),
    }
}

/// For writers that keep the file open: copy, then truncate, holding `flock` throughout.
fn copy_truncate(path: &Path, to: &Path) -> Result<(), String> {
    let mut live = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    live.lock().map_err(|e| format!("cannot lock {}: {e}", path.display()))?;
    let mut copy = File::create(to).map_err(|e| format!("cannot create {}: {e}", to.display()))?;
    let mut buffer = vec![0u8; 64 * 1024];
    live.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    loop {
        let n = live.read(&mut buffer).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        copy.write_all(&buffer[..n]).map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    }
    copy.sync_all().map_err(|e| format!("cannot write {}: {e}", to.display()))?;
    live.set_len(0).map_err(|e| format!("cannot truncate {}: {e}", path.display()))?;
    let _ = live.unlock();
    Ok(())
}

/// Writes `from` gzipped to `to` (under a temporary name until complete), then deletes `from`.
fn gzip(from: &Path, to: &Path) -> Result<(), String> {
    let mut partial = to.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let mut input = File::open(from).map_err(|e| format!("cannot open {}: {e}", from.display()))?;
    let output = File::create(&partial).map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let mut encoder = flate2::write::GzEncoder::new(output, flate2::Compression::default());
    std::io::copy(&mut input, &mut encoder).map_err(|e| format!("cannot compress {}: {e}", from.display()))?;
    let file = encoder.finish().map_err(|e| format!("cannot compress {}: {e}", from.display()))?;
    file.sync_all().map_err(|e| e.to_string())?;
    fs::rename(&partial, to).map_err(|e| format!("cannot rename {}: {e}", partial.display()))?;
    fs::remove_file(from).map_err(|e| format!("cannot delete {}: {e}", from.display()))
}

/// Whether any process has `file` open, from `/proc/*/fd`. Unreadable processes (another
/// user's, without privilege) are skipped: run Upkeep as the writer's user or root for this to
/// see them.
fn held_open(file: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = fs::metadata(file) else { return false };
    let (dev, ino) = (meta.dev(), meta.ino());
    let Ok(procs) = fs::read_dir("/proc") else { return false };
    for proc in procs.flatten() {
        let Ok(fds) = fs::read_dir(proc.path().join("fd")) else { continue };
        for fd in fds.flatten() {
            if fs::metadata(fd.path()).is_ok_and(|m| m.dev() == dev && m.ino() == ino) {
                return true;
            }
        }
    }
    false
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, String> + Send + 'static) -> Result<T, Failure> {
    tokio::task::spawn_blocking(work).await.map_err(|e| Failure::from(e.to_string()))?.map_err(Failure::from)
}
