//! `log`: follows a log file from where the previous run stopped and counts new lines that
//! match — by default the lines a Laravel/PHP app writes when something is wrong.
//!
//! The position is kept in the store, so a restart resumes rather than rereads. Rotation by
//! rename (logrotate's `app.log` → `app.log.1`) is followed: the rest of the old file is read
//! before the new one. Truncation (`copytruncate`) restarts from the top. Only whole lines are
//! consumed; a line still being written is read on the next run.

use crate::error::{ProbeError, describe_io};
use crate::kind::{Kind, Run, Spec};
use crate::state::LogCursor;
use regex::RegexSet;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

/// Substrings that mean trouble in a Laravel/PHP log (seed 000, 003).
pub const DEFAULT_PATTERNS: &[&str] = &["production.ERROR", "CRITICAL", "SQLSTATE[HY000]", "Failed to open stream"];

#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    matcher: RegexSet,
    max_read: u64,
    /// How much of the file's end to read on the very first run.
    initial: u64,
    /// The cursor when there is no store (`upkeep check` without a data dir).
    cursor: Mutex<Option<LogCursor>>,
}

impl Kind for Log {
    const KIND: &'static str = "log";

    const DEFAULT_EXPECT: &'static [&'static str] = &["matched == 0"];

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("matched", Type::Number, "new lines matching a pattern since the previous run"),
            Field::new("lines", Type::Number, "new lines read"),
            Field::new("last_match", Type::String, "the last matching line"),
            Field::new("bytes_read", Type::Size, "bytes read this run"),
        ])
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, _spec: &Spec<'_>) -> Option<Self> {
        let path = t.required_string(d, "path", "\"/var/www/app/storage/logs/laravel.log\"");
        let patterns = t.strings(d, "patterns");
        let regexes = t.strings(d, "regex").unwrap_or_default();
        let max_read = t.size(d, "max_read").map_or(16 << 20, |s| s.into_inner());
        let initial = t.size(d, "initial_read").map_or(1 << 20, |s| s.into_inner());
        let mut sources: Vec<String> = match patterns {
            Some(list) => list.iter().map(|p| regex::escape(p.get_ref())).collect(),
            None if regexes.is_empty() => DEFAULT_PATTERNS.iter().map(|p| regex::escape(p)).collect(),
            None => Vec::new(),
        };
        for r in &regexes {
            if let Err(e) = regex::Regex::new(r.get_ref()) {
                let detail = e.to_string();
                d.error(
                    r.span(),
                    format!("invalid regular expression: {}", detail.lines().last().unwrap_or("").trim()),
                    Some("`patterns` takes plain text; `regex` takes regular expressions".into()),
                );
            }
            sources.push(r.get_ref().clone());
        }
        let matcher = RegexSet::new(&sources).ok()?;
        Some(Log { path: PathBuf::from(path?.into_inner()), matcher, max_read, initial, cursor: Mutex::new(None) })
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    fn keeps_state(&self) -> bool {
        true
    }

    async fn observe(&self, run: &Run<'_>) -> Result<Observations, ProbeError> {
        let state_error = |e: String| ProbeError::new(format!("cannot read the log position: {e}"));
        let cursor = match &run.ctx.state {
            Some(state) => state.log_cursor(run.check).await.map_err(state_error)?,
            None => self.cursor.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        };
        let path = self.path.clone();
        let matcher = self.matcher.clone();
        let (max_read, initial) = (self.max_read, self.initial);
        let (scan, cursor) = tokio::task::spawn_blocking(move || follow(&path, cursor, &matcher, max_read, initial))
            .await
            .map_err(|e| ProbeError::new(format!("log probe failed: {e}")))??;
        match &run.ctx.state {
            Some(state) => state.save_log_cursor(run.check, &cursor).await.map_err(state_error)?,
            None => *self.cursor.lock().unwrap_or_else(|e| e.into_inner()) = Some(cursor.clone()),
        }
        let mut obs = Observations::new();
        obs.insert("matched", Value::Number(scan.matches as f64));
        obs.insert("lines", Value::Number(scan.lines as f64));
        obs.insert("bytes_read", Value::size(scan.bytes));
        match cursor.last_match {
            Some(line) => obs.insert("last_match", Value::String(line)),
            None => obs.mark_missing("last_match", "no line has matched yet"),
        }
        Ok(obs)
    }
}

#[derive(Debug, Default)]
struct Scan {
    matches: u64,
    lines: u64,
    bytes: u64,
    last_match: Option<String>,
}

/// Reads what is new since `cursor` and returns what it found and where to start next time.
fn follow(
    path: &Path,
    cursor: Option<LogCursor>,
    matcher: &RegexSet,
    max_read: u64,
    initial: u64,
) -> Result<(Scan, LogCursor), ProbeError> {
    let mut file =
        std::fs::File::open(path).map_err(|e| ProbeError::new(describe_io(&e, &path.display().to_string())))?;
    let meta = file.metadata().map_err(|e| ProbeError::new(describe_io(&e, &path.display().to_string())))?;
    let (inode, len) = (meta.ino(), meta.len());
    let mut scan = Scan::default();
    let earlier_match = cursor.as_ref().and_then(|c| c.last_match.clone());
    let (start, skip_partial) = match cursor {
        None => (len.saturating_sub(initial), len > initial),
        Some(c) if c.inode != inode => {
            finish_rotated(path, &c, matcher, max_read, &mut scan);
            (0, false)
        }
        Some(c) if c.offset > len => (0, false),
        Some(c) => (c.offset, false),
    };
    let end = read_lines(&mut file, start, len, skip_partial, matcher, max_read, &mut scan)
        .map_err(|e| ProbeError::new(describe_io(&e, &path.display().to_string())))?;
    let last_match = scan.last_match.clone().or(earlier_match);
    Ok((scan, LogCursor { inode, offset: end, last_match }))
}

/// After a rename rotation, the unread end of the old file is still at `path.1`.
fn finish_rotated(path: &Path, cursor: &LogCursor, matcher: &RegexSet, max_read: u64, scan: &mut Scan) {
    let mut rotated = path.as_os_str().to_owned();
    rotated.push(".1");
    if let Ok(mut old) = std::fs::File::open(&rotated)
        && let Ok(meta) = old.metadata()
        && meta.ino() == cursor.inode
        && meta.len() >= cursor.offset
    {
        let _ = read_lines(&mut old, cursor.offset, meta.len(), false, matcher, max_read, scan);
    }
}

/// Scans whole lines in `start..len` (at most `max_read` bytes) and returns the offset after
/// the last whole line.
fn read_lines(
    file: &mut std::fs::File,
    start: u64,
    len: u64,
    skip_partial: bool,
    matcher: &RegexSet,
    max_read: u64,
    scan: &mut Scan,
) -> std::io::Result<u64> {
    let want = len.saturating_sub(start).min(max_read);
    if want == 0 {
        return Ok(start);
    }
    file.seek(SeekFrom::Start(start))?;
    let mut buf = Vec::with_capacity(want as usize);
    file.take(want).read_to_end(&mut buf)?;
    scan.bytes += buf.len() as u64;
    let Some(last_newline) = buf.iter().rposition(|&b| b == b'\n') else {
        // One line longer than max_read: skip it rather than stall on it forever.
        return Ok(if buf.len() as u64 == max_read { start + max_read } else { start });
    };
    let mut lines = buf[..last_newline].split(|&b| b == b'\n');
    if skip_partial {
        lines.next(); // we started mid-line
    }
    for line in lines {
        scan.lines += 1;
        let text = String::from_utf8_lossy(line);
        if matcher.is_match(&text) {
            scan.matches += 1;
            scan.last_match = Some(truncate(text.trim_end(), 500));
        }
    }
    Ok(start + last_newline as u64 + 1)
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}
