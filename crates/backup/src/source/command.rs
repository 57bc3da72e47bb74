//! `command`: any command's stdout, spooled to a file first so that a command that fails leaves
//! no snapshot (rustic would save a streamed snapshot before the exit status is known) and the
//! file in the snapshot has its real size (`restic restore` writes streamed nodes empty).

use super::{DrillFuture, PutBackFuture, Recorded, Source, StageFuture, Staged};
use std::path::Path;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Command {
    command: String,
    filename: String,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics, _base: &Path) -> Option<Box<dyn Source>> {
    let command = t.required_string(d, "command", "\"php artisan backup:export\"")?;
    let filename = match t.string(d, "filename") {
        Some(name) if name.get_ref().is_empty() || name.get_ref().contains('/') => {
            d.error(
                name.span(),
                "`filename` must be a file name, not a path",
                Some("filename = \"export.json\"".into()),
            );
            return None;
        }
        Some(name) => name.into_inner(),
        None => "stdout".into(),
    };
    Some(Box::new(Command { command: command.into_inner(), filename }))
}

impl Source for Command {
    fn kind(&self) -> &'static str {
        "command"
    }

    fn target(&self) -> String {
        self.command.clone()
    }

    fn stage<'a>(&'a self, scratch: &'a Path) -> StageFuture<'a> {
        Box::pin(async move {
            let out = scratch.join(&self.filename);
            let args = vec!["-c".to_string(), self.command.clone()];
            super::run_tool("sh", &args, &[], Some(&out))
                .await
                .map_err(|e| e.replacen("`sh`", &format!("`{}`", self.command), 1))?;
            Ok(Staged { path: out, ..Staged::default() })
        })
    }

    fn drill<'a>(&'a self, restored: &'a Path, recorded: &'a Recorded) -> DrillFuture<'a> {
        Box::pin(async move { super::same_size(restored, recorded) })
    }

    fn can_put_back(&self, _only: Option<&str>) -> Result<(), String> {
        Err("a command's output has no place to go back to: restore it with --to DIR and load it as the app does"
            .into())
    }

    fn put_back<'a>(&'a self, _restored: &'a Path, only: Option<&'a str>) -> PutBackFuture<'a> {
        Box::pin(async move { self.can_put_back(only).map(|()| Vec::new()) })
    }
}
