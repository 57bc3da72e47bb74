//! `files`: a directory, backed up in place (files, symlinks, modes and times kept), less what
//! `exclude` names: gitignore-style patterns (`*.tmp` and `cache` match at any depth,
//! `**/framework/cache/**` a path).

use super::{DrillFuture, PutBackFuture, Recorded, SafetyFuture, Source, StageFuture, Staged};
use std::path::{Path, PathBuf};
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Files {
    path: PathBuf,
    exclude: Vec<String>,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Box<dyn Source>> {
    let path = super::path(t, d, "path", base, "\"/var/www/app/storage/app\"");
    let mut exclude = Vec::new();
    for pattern in t.strings(d, "exclude").unwrap_or_default() {
        match pattern.get_ref().trim() {
            "" => {
                d.error(pattern.span(), "an empty `exclude` pattern", Some("exclude = [\"*.tmp\", \"cache\"]".into()))
            }
            p if p.starts_with('!') => d.error(
                pattern.span(),
                format!("`{p}`: exclude patterns name what is left out, without `!`"),
                Some("exclude = [\"*.tmp\"]".into()),
            ),
            p => exclude.push(p.to_string()),
        }
    }
    Some(Box::new(Files { path: path?, exclude }))
}

impl Source for Files {
    fn kind(&self) -> &'static str {
        "files"
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    fn stage<'a>(&'a self, _scratch: &'a Path) -> StageFuture<'a> {
        Box::pin(async move {
            if !self.path.is_dir() {
                return Err(format!("{} is not a directory", self.path.display()));
            }
            Ok(Staged { path: self.path.clone(), excludes: self.exclude.clone(), ..Staged::default() })
        })
    }

    /// Every file and link is back, with as many bytes as were backed up (each blob's hash was
    /// checked as it was read).
    fn drill<'a>(&'a self, restored: &'a Path, recorded: &'a Recorded) -> DrillFuture<'a> {
        Box::pin(async move {
            let (files, bytes) = count(restored).map_err(|e| format!("cannot read {}: {e}", restored.display()))?;
            if (files, bytes) != (recorded.files, recorded.size) {
                return Err(format!(
                    "{files} files of {bytes} bytes restored, {} of {} were backed up",
                    recorded.files, recorded.size
                ));
            }
            Ok(vec![format!("{files} files, {bytes} bytes, as backed up")])
        })
    }

    fn part(&self, path: &str, only: Option<&str>) -> String {
        match only {
            Some(rel) => format!("{}/{}", path.trim_end_matches('/'), rel.trim_start_matches('/')),
            None => path.to_string(),
        }
    }

    fn can_put_back(&self, only: Option<&str>) -> Result<(), String> {
        match only {
            Some(rel) if rel.is_empty() || Path::new(rel).is_absolute() || rel.split('/').any(|part| part == "..") => {
                Err(format!("`{rel}` must be a path inside {}, such as `avatars/1.png`", self.path.display()))
            }
            _ => Ok(()),
        }
    }

    /// The directory (or the one file) copied as it is now; none when it is gone.
    fn safety_copy<'a>(&'a self, dir: &'a Path, only: Option<&'a str>) -> SafetyFuture<'a> {
        Box::pin(async move {
            let live = only.map_or_else(|| self.path.clone(), |rel| self.path.join(rel));
            if std::fs::symlink_metadata(&live).is_err() {
                return Ok(None);
            }
            let copy = dir.join(live.file_name().unwrap_or_else(|| "data".as_ref()));
            super::copy_tree(&live, &copy).map_err(|e| format!("cannot copy {}: {e}", live.display()))?;
            Ok(Some(copy))
        })
    }

    /// Copied beside the live directory (or file), then swapped in by renames.
    fn put_back<'a>(&'a self, restored: &'a Path, only: Option<&'a str>) -> PutBackFuture<'a> {
        Box::pin(async move {
            let live = only.map_or_else(|| self.path.clone(), |rel| self.path.join(rel));
            if let Some(parent) = live.parent() {
                std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
            let staging = super::beside(&live, "restoring");
            let _ = std::fs::remove_dir_all(&staging).or_else(|_| std::fs::remove_file(&staging));
            super::copy_tree(restored, &staging).map_err(|e| format!("cannot copy the restored data: {e}"))?;
            let remove = |path: &Path| {
                let _ = std::fs::remove_dir_all(path).or_else(|_| std::fs::remove_file(path));
            };
            let old = super::beside(&live, "before");
            let had = match std::fs::rename(&live, &old) {
                Ok(()) => true,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
                Err(e) => {
                    remove(&staging);
                    return Err(format!("cannot move {} aside: {e} (nothing was changed)", live.display()));
                }
            };
            if let Err(e) = std::fs::rename(&staging, &live) {
                if had {
                    let _ = std::fs::rename(&old, &live);
                }
                remove(&staging);
                return Err(format!("cannot put {} back: {e} (it is as it was)", live.display()));
            }
            if had {
                let _ = std::fs::remove_dir_all(&old).or_else(|_| std::fs::remove_file(&old));
            }
            let (files, bytes) = count(&live).unwrap_or((1, 0));
            Ok(vec![format!("{}: {files} files, {bytes} bytes put back", live.display())])
        })
    }
}

/// Files and links under `root`, and the bytes of the files.
fn count(root: &Path) -> std::io::Result<(u64, u64)> {
    let (mut files, mut bytes) = (0, 0);
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else {
                files += 1;
                if kind.is_file() {
                    bytes += entry.metadata()?.len();
                }
            }
        }
    }
    Ok((files, bytes))
}
