//! `cleanup`: deletes files older than an age whose names match a pattern, under a folder:
//! temporary files, failed uploads, expired sessions (seed 002's temp-file clean-up, and the
//! session files that Debian's PHP never collects, 002-22). Never follows symlinks out of the
//! folder, never deletes the folder itself.

use crate::task::{Failure, Kind, Outcome, Output, Run, bytes};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use upkeep_config::{Diagnostics, Spanned, TableReader};

#[derive(Clone, Debug)]
pub struct Cleanup {
    path: PathBuf,
    pattern: String,
    matcher: globset::GlobMatcher,
    older_than: Duration,
    recursive: bool,
    remove_empty_dirs: bool,
}

impl Kind for Cleanup {
    const KIND: &'static str = "cleanup";

    fn build(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Self> {
        let path = crate::task::path(t, d, "path", base, "\"/var/www/app/storage/tmp\"");
        let pattern = t.string(d, "pattern");
        let matcher = match &pattern {
            None => globset::Glob::new("*").ok().map(|g| g.compile_matcher()),
            Some(p) => match globset::Glob::new(p.get_ref()) {
                Ok(glob) => Some(glob.compile_matcher()),
                Err(e) => {
                    d.error(
                        p.span(),
                        format!("`pattern` is not a glob: {e}"),
                        Some("for example \"*.tmp\" or \"sess_*\"".into()),
                    );
                    None
                }
            },
        };
        let older_than = t.duration(d, "older_than", Duration::from_secs(60)).map(Spanned::into_inner);
        if older_than.is_none() && !t.has("older_than") {
            d.error(t.span(), format!("{} has no `older_than`", t.context()), Some("older_than = \"7d\"".into()));
        }
        let recursive = t.bool(d, "recursive").unwrap_or(false);
        let remove_empty_dirs = t.bool(d, "remove_empty_dirs").unwrap_or(false);
        Some(Cleanup {
            path: path?,
            pattern: pattern.map_or_else(|| "*".into(), Spanned::into_inner),
            matcher: matcher?,
            older_than: older_than?,
            recursive,
            remove_empty_dirs,
        })
    }

    fn target(&self) -> String {
        format!("{}/{} older than {}", self.path.display(), self.pattern, upkeep_expr::Value::duration(self.older_than))
    }

    async fn run(&self, run: Run) -> Result<Outcome, Failure> {
        let me = self.clone();
        let now = SystemTime::UNIX_EPOCH + Duration::from_millis(run.now.as_millisecond().max(0) as u64);
        tokio::task::spawn_blocking(move || me.sweep(now, run.dry_run))
            .await
            .map_err(|e| Failure::from(e.to_string()))?
    }
}

#[derive(Default)]
struct Swept {
    files: u64,
    bytes: u64,
    dirs: u64,
    errors: Vec<String>,
}

impl Cleanup {
    fn sweep(&self, now: SystemTime, dry_run: bool) -> Result<Outcome, Failure> {
        if !self.path.is_dir() {
            return Err(format!("{} is not a folder", self.path.display()).into());
        }
        let mut swept = Swept::default();
        let mut output = Output::default();
        self.sweep_dir(&self.path, now, dry_run, &mut swept, &mut output);
        let verb = if dry_run { "would delete" } else { "deleted" };
        let summary = format!("{verb} {} files ({})", swept.files, bytes(swept.bytes as f64));
        if !swept.errors.is_empty() {
            for e in &swept.errors {
                output.line(e);
            }
            return Err(Failure {
                message: format!("{summary}; {} could not be deleted, first: {}", swept.errors.len(), swept.errors[0]),
                output: output.into_string(),
            });
        }
        let what = if dry_run { "files_matching" } else { "files_deleted" };
        Ok(Outcome::new(summary)
            .change(what, swept.files as f64)
            .change("bytes_freed", if dry_run { 0.0 } else { swept.bytes as f64 })
            .change("dirs_deleted", swept.dirs as f64)
            .output(output))
    }

    fn sweep_dir(&self, dir: &Path, now: SystemTime, dry_run: bool, swept: &mut Swept, output: &mut Output) {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => return swept.errors.push(format!("cannot read {}: {e}", dir.display())),
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // symlink_metadata: a link is judged as itself, never followed.
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() {
                if self.recursive {
                    self.sweep_dir(&path, now, dry_run, swept, output);
                    if self.remove_empty_dirs
                        && !dry_run
                        && std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none())
                        && std::fs::remove_dir(&path).is_ok()
                    {
                        swept.dirs += 1;
                    }
                }
                continue;
            }
            let name = entry.file_name();
            if !self.matcher.is_match(Path::new(&name)) {
                continue;
            }
            let old =
                meta.modified().ok().and_then(|m| now.duration_since(m).ok()).is_some_and(|age| age > self.older_than);
            if !old {
                continue;
            }
            if !dry_run && let Err(e) = std::fs::remove_file(&path) {
                swept.errors.push(format!("cannot delete {}: {e}", path.display()));
                continue;
            }
            output.line(path.display().to_string());
            swept.files += 1;
            swept.bytes += meta.len();
        }
    }
}
