//! `upkeep serve`: reads the config, refuses what cannot be served, and runs the daemon (see
//! `serve.rs` at the crate's top) until SIGTERM.

use super::{EXIT_BAD_INPUT, EXIT_OK, report_load_error};
use clap::Args;
use std::path::Path;
use upkeep_config::Env;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Listen on this address instead of the config's `[server] listen` (e.g. 127.0.0.1:0).
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

pub async fn run(path: &Path, args: ServeArgs) -> u8 {
    let loaded = match upkeep_plan::load_file(path, &Env::Process) {
        Ok(loaded) => loaded,
        Err(e) => return report_load_error(&e, false),
    };
    for warning in &loaded.warnings {
        eprintln!("{warning}");
    }
    let listen = args.listen.unwrap_or(loaded.server.listen);
    if let Some(refusal) = upkeep_plan::open_to_network(listen, &loaded.access) {
        eprintln!("error: {refusal}");
        eprintln!("  add a [[user]] (see `upkeep user hash-password`), or listen on 127.0.0.1");
        return EXIT_BAD_INPUT;
    }
    match crate::serve::serve(path.to_path_buf(), loaded, listen).await {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e:#}");
            EXIT_BAD_INPUT
        }
    }
}
