//! A task never overlaps itself (the manuals' `withoutOverlapping`, 000's scheduler): not on the
//! daemon's schedule, not when `upkeep task run` starts it by hand beside the daemon. An OS file
//! lock in the data directory does both, and a process that dies lets go of it with the kernel,
//! so a crash never leaves a task locked for good.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::Path;

/// Held while a run lasts; dropping it lets the next run in.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
}

/// Another run holds the lock.
#[derive(Debug)]
pub struct Busy {
    pub task: String,
    /// Who holds it, as they wrote it: "pid 4121 since 2026-12-02T03:00:00Z".
    pub holder: String,
}

impl std::fmt::Display for Busy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "task {} is already running ({}); this run was refused, not queued", self.task, self.holder)
    }
}

impl RunLock {
    /// Takes the lock of task `name` under `dir`, or says who holds it.
    pub fn acquire(dir: &Path, name: &str, now: jiff::Timestamp) -> Result<RunLock, Busy> {
        let busy = |holder: String| Busy { task: name.to_string(), holder };
        std::fs::create_dir_all(dir).map_err(|e| busy(format!("cannot create {}: {e}", dir.display())))?;
        let path = dir.join(format!("task-{name}.lock"));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| busy(format!("cannot open {}: {e}", path.display())))?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.set_len(0);
                let _ = file.rewind();
                let _ =
                    write!(file, "pid {} since {}", std::process::id(), now.round(jiff::Unit::Second).unwrap_or(now));
                Ok(RunLock { _file: file })
            }
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                Err(busy(if holder.is_empty() { "another process holds its lock".into() } else { holder }))
            }
            Err(TryLockError::Error(e)) => Err(busy(format!("cannot lock {}: {e}", path.display()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let now = jiff::Timestamp::UNIX_EPOCH;
        let first = RunLock::acquire(dir.path(), "vacuum", now).unwrap();
        let busy = RunLock::acquire(dir.path(), "vacuum", now).unwrap_err();
        assert!(busy.to_string().contains(&format!("pid {}", std::process::id())), "{busy}");
        // Another task is not held up.
        assert!(RunLock::acquire(dir.path(), "retention", now).is_ok());
        drop(first);
        assert!(RunLock::acquire(dir.path(), "vacuum", now).is_ok());
    }
}
