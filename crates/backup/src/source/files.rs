//! `files`: a directory, backed up in place (files, symlinks, modes and times kept), less what
//! `exclude` globs name.

use super::{DrillFuture, Recorded, Source, StageFuture, Staged};
use std::path::{Path, PathBuf};
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Files {
    path: PathBuf,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Box<dyn Source>> {
    let path = super::path(t, d, "path", base, "\"/var/www/app/storage/app\"")?;
    Some(Box::new(Files { path }))
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
            Ok(Staged { path: self.path.clone(), ..Staged::default() })
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
