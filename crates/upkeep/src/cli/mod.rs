//! Command-line arguments and dispatch. Exit codes: 0 ok/healthy, 1 unhealthy or failed,
//! 2 bad input (config, arguments).

mod access;
mod alert;
mod backup;
mod check;
mod config;
mod incident;
mod maintenance;
mod notifications;
mod oncall;
mod serve;
mod silence;
mod slo;
mod table;
mod task;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub const EXIT_OK: u8 = 0;
pub const EXIT_UNHEALTHY: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

/// Upkeep keeps production web apps healthy: checks, SLOs, alerts, incidents, backups.
#[derive(Parser, Debug)]
#[command(name = "upkeep", version, about, propagate_version = true)]
pub struct Args {
    /// The config file.
    #[arg(short, long, global = true, default_value = "upkeep.toml", env = "UPKEEP_CONFIG")]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run checks once and print a table: the morning health check, or a deploy smoke test.
    Check(check::CheckArgs),
    /// Work with the config file.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// Run the daemon: checks on their schedules, /health, /metrics, the API and the dashboard.
    Serve(serve::ServeArgs),
    /// Service level objectives: where each stands.
    #[command(subcommand)]
    Slo(slo::SloCommand),
    /// Alerts: what is pending, firing or resolved.
    #[command(subcommand)]
    Alert(alert::AlertCommand),
    /// Notifications: the outbox, what was delivered and what failed.
    #[command(subcommand)]
    Notifications(notifications::NotificationsCommand),
    /// Silences: mute the notifications of matching alerts for a while.
    #[command(subcommand)]
    Silence(silence::SilenceCommand),
    /// Incidents: open, acknowledge, work and resolve them; post-mortem drafts; MTTA and MTTR.
    #[command(subcommand)]
    Incident(incident::IncidentCommand),
    /// Who is on call, per schedule and escalation level; overrides; calendar feeds.
    Oncall(oncall::OncallArgs),
    /// Maintenance tasks: list them, or run one now.
    #[command(subcommand)]
    Task(task::TaskCommand),
    /// The app's maintenance mode, and the maintenance windows coming up.
    #[command(subcommand)]
    Maintenance(maintenance::MaintenanceCommand),
    /// Backups: run one now, list the snapshots, restore one.
    #[command(subcommand)]
    Backup(backup::BackupCommand),
    /// Dashboard users.
    #[command(subcommand)]
    User(access::UserCommand),
    /// API tokens.
    #[command(subcommand)]
    Token(access::TokenCommand),
    /// Start a bundled sample app and Upkeep watching it; prints the dashboard URL.
    Demo {
        /// Where the sample app and Upkeep keep their data.
        #[arg(long, default_value = "upkeep-demo")]
        dir: PathBuf,
        /// The dashboard's port on 127.0.0.1 (another is picked if it is taken).
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
}

pub async fn run(args: Args) -> u8 {
    match args.command {
        Command::Check(check) => check::run(&args.config, check).await,
        Command::Config(command) => config::run(&args.config, command),
        Command::Serve(serve) => serve::run(&args.config, serve).await,
        Command::Slo(command) => slo::run(&args.config, command).await,
        Command::Alert(command) => alert::run(&args.config, command).await,
        Command::Silence(command) => silence::run(&args.config, command).await,
        Command::Notifications(command) => notifications::run(&args.config, command).await,
        Command::Incident(command) => incident::run(&args.config, command).await,
        Command::Oncall(command) => oncall::run(&args.config, command).await,
        Command::Task(command) => task::run(&args.config, command).await,
        Command::Maintenance(command) => maintenance::run(&args.config, command).await,
        Command::Backup(command) => backup::run(&args.config, command).await,
        Command::User(command) => access::user(command),
        Command::Token(command) => access::token(command),
        Command::Demo { dir, port } => match crate::demo::run(&dir, port).await {
            Ok(()) => EXIT_OK,
            Err(e) => {
                eprintln!("error: {e:#}");
                EXIT_UNHEALTHY
            }
        },
    }
}

/// Prints a load failure and returns the exit code for it.
fn report_load_error(error: &upkeep_plan::LoadError, json: bool) -> u8 {
    use upkeep_plan::LoadError;
    if json {
        let errors = match error {
            LoadError::Read { .. } => vec![serde_json::json!({"message": error.to_string()})],
            LoadError::Invalid(d) => d
                .to_json()
                .into_iter()
                .map(|(file, line, column, message, hint)| {
                    serde_json::json!({"file": file, "line": line, "column": column, "message": message, "hint": hint})
                })
                .collect(),
        };
        println!("{}", serde_json::json!({"valid": false, "errors": errors}));
    } else {
        match error {
            LoadError::Read { path, source } if source.kind() == std::io::ErrorKind::NotFound => {
                eprintln!("error: there is no config file at {}", path.display());
                eprintln!("  write one (see the README's config reference), or point at it with -c PATH");
            }
            other => eprintln!("{other}"),
        }
    }
    EXIT_BAD_INPUT
}

/// The config at `path` and the store in its `data_dir`, or the exit code after saying why.
async fn plan_and_store(path: &std::path::Path, json: bool) -> Result<(upkeep_plan::Plan, upkeep_store::Store), u8> {
    let plan = upkeep_plan::load_file(path, &upkeep_config::Env::Process).map_err(|e| report_load_error(&e, json))?;
    match upkeep_store::Store::open(&plan.server.data_dir).await {
        Ok(store) => Ok((plan, store)),
        Err(e) => {
            eprintln!("error: {e}");
            Err(EXIT_BAD_INPUT)
        }
    }
}

/// A spinner on stderr while something long runs; hidden when stderr is not a terminal.
fn spinner(message: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(message.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn paint() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}
