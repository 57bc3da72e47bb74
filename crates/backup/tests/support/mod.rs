//! Shared by the backup tests: the backups and repository a config text gives.
#![allow(dead_code)]

use std::path::Path;
use upkeep_backup::{Backup, RepositoryConfig};

/// The `[[backup]]`s and `[repository]` of `text`, as if it were `dir/upkeep.toml`, with
/// `dir/data` as `data_dir`; the config must be valid.
pub fn load(dir: &Path, text: &str) -> (Vec<Backup>, RepositoryConfig) {
    let source = upkeep_config::Source::new(dir.join("upkeep.toml"), text.to_string());
    let (sections, mut d) = upkeep_config::parse(source, &upkeep_config::Env::Process);
    let mut sections = sections.expect("parses");
    let repository = upkeep_backup::read_repository(&mut sections, &mut d, &dir.join("data"));
    let backups = upkeep_backup::read_backups(&mut sections, &mut d, &jiff::tz::TimeZone::UTC);
    assert!(d.is_empty(), "{d}");
    (backups, repository)
}

/// [`load`] with a local repository `dir/repo` and a given password before `body`.
pub fn load_local(dir: &Path, body: &str) -> (Vec<Backup>, RepositoryConfig) {
    load(dir, &format!("[repository]\nurl = \"repo\"\npassword = \"correct horse\"\n\n{body}"))
}
