//! `file`: does a file or directory exist, how old and big is it, and can the app write there
//! (a real write test, as seed 000's storage check does, not a permission-bit guess).

use crate::error::{ProbeError, describe_io};
use crate::kind::{Kind, Run, Spec};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};

#[derive(Debug)]
pub struct File {
    path: PathBuf,
    test_write: bool,
}

impl Kind for File {
    const KIND: &'static str = "file";

    const DEFAULT_EXPECT: &'static [&'static str] = &["exists"];

    fn schema() -> Schema {
        Schema::new(&[
            Field::new("exists", Type::Bool, "whether the path exists"),
            Field::new("age", Type::Duration, "time since it was last modified"),
            Field::new("size", Type::Size, "its size (for a directory, the directory entry's)"),
            Field::new("is_dir", Type::Bool, "whether it is a directory"),
            Field::new(
                "writable",
                Type::Bool,
                "a directory: a file can be created, written, read back and removed; a file: it opens for appending",
            ),
            Field::new("write_error", Type::String, "why the write test failed"),
        ])
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Self> {
        let path = t.required_string(d, "path", "\"/var/www/app/storage\"")?;
        Some(File { path: PathBuf::from(path.into_inner()), test_write: spec.reads("writable") })
    }

    fn target(&self) -> String {
        self.path.display().to_string()
    }

    async fn observe(&self, run: &Run<'_>) -> Result<Observations, ProbeError> {
        let path = self.path.clone();
        let test_write = self.test_write;
        let now = run.ctx.clock.now();
        tokio::task::spawn_blocking(move || inspect(&path, test_write, now))
            .await
            .map_err(|e| ProbeError::new(format!("file probe failed: {e}")))?
    }
}

fn inspect(path: &Path, test_write: bool, now: jiff::Timestamp) -> Result<Observations, ProbeError> {
    let mut obs = Observations::new();
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            obs.insert("exists", Value::Bool(false));
            for field in ["age", "size", "is_dir", "writable"] {
                obs.mark_missing(field, format!("{} does not exist", path.display()));
            }
            return Ok(obs);
        }
        Err(e) => {
            return Err(ProbeError::new(describe_io(&e, &path.display().to_string())));
        }
    };
    obs.insert("exists", Value::Bool(true));
    obs.insert("size", Value::size(meta.len()));
    obs.insert("is_dir", Value::Bool(meta.is_dir()));
    if let Ok(modified) = meta.modified()
        && let Ok(modified) = jiff::Timestamp::try_from(modified)
    {
        let age = now.duration_since(modified).as_secs_f64().max(0.0);
        obs.insert("age", Value::Duration(age));
    }
    if test_write {
        match write_test(path, meta.is_dir()) {
            Ok(()) => obs.insert("writable", Value::Bool(true)),
            Err(e) => {
                obs.insert("writable", Value::Bool(false));
                obs.insert("write_error", Value::String(e.to_string()));
            }
        }
    }
    Ok(obs)
}

/// In a directory: create a uniquely named file, write, sync, read back, remove.
fn write_test(path: &Path, is_dir: bool) -> std::io::Result<()> {
    if !is_dir {
        std::fs::OpenOptions::new().append(true).open(path)?;
        return Ok(());
    }
    let probe =
        path.join(format!(".upkeep-write-test-{}-{}", std::process::id(), jiff::Timestamp::now().as_nanosecond()));
    let payload = b"upkeep write test";
    let result = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&probe)?;
        file.write_all(payload)?;
        file.sync_all()?;
        let mut back = Vec::new();
        std::fs::File::open(&probe)?.read_to_end(&mut back)?;
        if back != payload {
            return Err(std::io::Error::other("read back different bytes than were written"));
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&probe);
    result
}
