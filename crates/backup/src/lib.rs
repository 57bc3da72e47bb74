//! Backups that are proven to restore. A `[[backup]]` names a source — a SQLite database
//! copied consistently while the app writes, a PostgreSQL or MySQL dump, a directory, any
//! command's output — and each run puts a consistent copy of it, with each table's row count,
//! into a restic-compatible repository: encrypted, deduplicated, compressed, and readable by
//! restic itself.
//!
//! ```text
//! [[backup]] ──► source: stage a copy in a scratch dir ──► repository (rustic_core) ──► snapshot
//!                (VACUUM INTO, pg_dump --snapshot, ...)   (one module: repository.rs)   + row counts
//! ```

mod check;
mod drill;
mod repository;
mod restore;
mod run;
mod section;
mod source;
mod status;
mod targets;

pub use check::{
    BACKUP_KIND, DRILL_KIND, Places, backup_check, bytes, drill_check, drill_name, drill_newest, drill_schema,
    record_drill, rows, run_recorded, schema, summary, targets_check,
};
pub use drill::{DrillReport, drill, verify};
pub use repository::{
    Decision, Place, Repo, RepoError, S3Location, Show, Snapshot, Verified, show_progress, snapshot_path,
};
pub use restore::{Failed, PutBack, put_back};
pub use run::{generated_secret, open, password, run};
pub use section::{Backup, DEFAULT_KEEP, Keep, Password, RepositoryConfig, read_backups, read_repository};
pub use source::{Recorded, Source, Staged};
pub use status::{HISTORY, Proved, Run, Status, status};
pub use targets::{TARGETS_KIND, read_status, targets_name, targets_schema};
