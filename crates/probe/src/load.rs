//! Loading `upkeep.toml` into runnable checks: the common shape from `upkeep-config`, then each
//! kind's own keys and the type-checking of every `expect`, all problems reported together.

use crate::check::Check;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use upkeep_config::{Access, Diagnostics, Env, Retention, Server, Source, parse_config};

/// A validated config, ready to run.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub server: Server,
    pub access: Access,
    pub retention: Retention,
    pub checks: Vec<Arc<Check>>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(Diagnostics),
}

/// Reads and validates the file at `path`.
pub fn load_file(path: &Path, env: &Env) -> Result<Loaded, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read { path: path.to_path_buf(), source })?;
    load_config(Source::new(path, text), env).map_err(LoadError::Invalid)
}

/// Validates a config held in memory.
pub fn load_config(source: Source, env: &Env) -> Result<Loaded, Diagnostics> {
    let (config, mut d) = parse_config(source, env);
    let mut checks: Vec<Arc<Check>> = Vec::with_capacity(config.checks.len());
    for section in config.checks {
        let span = section.name.span();
        let Some(check) = Check::build(section, &config.server, &mut d) else { continue };
        // Two heartbeats on one id would silently share every ping.
        if let Some(id) = check.heartbeat_id()
            && let Some(other) = checks.iter().find(|c| c.heartbeat_id() == Some(id))
        {
            d.error(
                span,
                format!("heartbeat id `{id}` is already used by check `{}`", other.name),
                Some("give each heartbeat its own `id` (by default it is the check's name)".into()),
            );
        }
        checks.push(Arc::new(check));
    }
    d.into_result(Loaded { server: config.server, access: config.access, retention: config.retention, checks })
}
