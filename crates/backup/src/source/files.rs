//! `files`: a directory, backed up in place (files, symlinks, modes and times kept), less what
//! `exclude` globs name.

use super::{Source, StageFuture, Staged};
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
}
