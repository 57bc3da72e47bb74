//! `disk`: how full the filesystem holding `path` is, by blocks and by inodes (`df` and `df -i`).

use crate::error::{ProbeError, describe_io};
use crate::kind::{Kind, Run, Spec};
use std::path::PathBuf;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct Disk {
    path: PathBuf,
}

impl Kind for Disk {
    const KIND: &'static str = "disk";

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("used_percent", Type::Percent, "space used, as df reports it (reserved blocks count as used)"),
            Field::new("free", Type::Size, "space available to unprivileged users"),
            Field::new("total", Type::Size, "size of the filesystem"),
            Field::new("inodes_used_percent", Type::Percent, "inodes used"),
        ])
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, _spec: &Spec<'_>) -> Option<Self> {
        let path = t.string(d, "path").map_or_else(|| "/".to_string(), |p| p.into_inner());
        Some(Disk { path: PathBuf::from(path) })
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    async fn observe(&self, _run: &Run<'_>) -> Result<Observations, ProbeError> {
        let path = self.path.clone();
        // statvfs can block for a long time on a hung network mount: keep it off the runtime.
        let stat = tokio::task::spawn_blocking(move || rustix::fs::statvfs(&path))
            .await
            .map_err(|e| ProbeError::new(format!("disk probe failed: {e}")))?
            .map_err(|e| ProbeError::new(describe_io(&e.into(), &self.target())))?;
        let block = stat.f_frsize as f64;
        let used = (stat.f_blocks - stat.f_bfree) as f64;
        let available = stat.f_bavail as f64;
        let mut obs = Observations::new();
        obs.insert("used_percent", Value::Percent(percent(used, used + available)));
        obs.insert("free", Value::Size(available * block));
        obs.insert("total", Value::Size(stat.f_blocks as f64 * block));
        if stat.f_files > 0 {
            let inodes_used = (stat.f_files - stat.f_ffree) as f64;
            obs.insert("inodes_used_percent", Value::Percent(percent(inodes_used, stat.f_files as f64)));
        } else {
            obs.mark_missing("inodes_used_percent", "this filesystem has no inode limit");
        }
        Ok(obs)
    }
}

fn percent(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole * 100.0 } else { 0.0 }
}
