//! `upkeep config validate`: every problem in the file at once, with line, column and fix.

use super::{EXIT_OK, report_load_error};
use clap::Subcommand;
use std::path::Path;
use upkeep_config::Env;

#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Check the config file without running anything.
    Validate {
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(path: &Path, command: ConfigCommand) -> u8 {
    match command {
        ConfigCommand::Validate { json } => match upkeep_plan::load_file(path, &Env::Process) {
            Ok(loaded) => {
                let (checks, tasks) = (loaded.checks.len() - loaded.tasks.len(), loaded.tasks.len());
                if json {
                    let doc = serde_json::json!({"valid": true, "checks": checks, "tasks": tasks, "warnings": loaded.warnings});
                    println!("{doc}");
                } else {
                    for warning in &loaded.warnings {
                        eprintln!("{warning}");
                    }
                    let plural = |n: usize| if n == 1 { "" } else { "s" };
                    let tasks = if tasks > 0 { format!(", {tasks} task{}", plural(tasks)) } else { String::new() };
                    println!("{} is valid: {checks} check{}{tasks}", path.display(), plural(checks));
                }
                EXIT_OK
            }
            Err(e) => report_load_error(&e, json),
        },
    }
}
