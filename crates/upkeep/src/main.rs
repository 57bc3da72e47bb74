//! The `upkeep` command: thin glue that parses arguments, calls the library crates and renders.
//! One file per subcommand under `cli/`.

mod cli;
mod demo;
mod serve;

use clap::Parser;
use std::process::ExitCode;

/// Warnings and errors; rustic's own log is off: it logs a missing restore target as an error,
/// and every failure of its that matters comes back to Upkeep as an error, said plainly.
const QUIET: &str = "warn,rustic_core=off";

fn main() -> ExitCode {
    let args = cli::Args::parse();
    // Problems the daemon meets while running (a store write retried, compaction failing) go to
    // stderr; RUST_LOG=debug shows more.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| QUIET.into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(cli::EXIT_BAD_INPUT);
        }
    };
    ExitCode::from(runtime.block_on(cli::run(args)))
}
