//! `upkeep alert list`: every alert that is pending, firing or recently resolved — state, since
//! when, value, severity, what it says — from the store in `data_dir`, the state the daemon
//! saved, and what mutes each (a silence, a maintenance window, a parent that is down). `--all`
//! includes the inactive ones. Exit 1 while any alert fires, so cron can tell.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY, report_load_error};
use clap::Subcommand;
use std::path::Path;
use std::sync::Arc;
use upkeep_alert::{Alert, Engine, Saved, Silence, State};
use upkeep_config::Env;
use upkeep_store::CheckResult;

#[derive(Subcommand, Debug)]
pub enum AlertCommand {
    /// Alerts that are pending, firing or resolved, with what they say.
    List {
        /// Also the inactive ones (every rule and built-in alert).
        #[arg(long)]
        all: bool,
        /// Print one JSON document: the same objects as `/api/v1/alerts`.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(path: &Path, command: AlertCommand) -> u8 {
    let AlertCommand::List { all, json } = command;
    let plan = match upkeep_plan::load_file(path, &Env::Process) {
        Ok(plan) => plan,
        Err(e) => return report_load_error(&e, json),
    };
    let (saved, silences, latest) = match read_saved(&plan.server.data_dir).await {
        Ok(read) => read,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let now = jiff::Timestamp::now();
    let (mut engine, _) = Engine::new(Arc::clone(&plan.alerts), saved, now);
    engine.restore_latest(latest);
    engine.set_silences(silences, now);
    let shown: Vec<&Alert> = engine.alerts().filter(|a| all || a.memory.state != State::Inactive).collect();
    if json {
        println!("{}", serde_json::Value::Array(shown.iter().map(|a| engine.view(a, now)).collect()));
    } else if shown.is_empty() {
        println!("no alert is pending or firing ({} rules; --all lists them)", plan.alerts.rules.len());
    } else {
        print!("{}", table(&engine, &shown, now));
    }
    if engine.alerts().any(|a| a.memory.state.is_firing()) { EXIT_UNHEALTHY } else { EXIT_OK }
}

/// The saved alerts, the silences, and each check's latest result (a parent that is down mutes).
async fn read_saved(data_dir: &Path) -> Result<(Vec<Saved>, Vec<Silence>, Vec<CheckResult>), upkeep_store::StoreError> {
    let store = upkeep_store::Store::open(data_dir).await?;
    let saved = upkeep_daemon::stored_alerts(&store).await?;
    let silences = upkeep_daemon::stored_silences(&store).await?;
    Ok((saved, silences, store.latest_results().await?))
}

fn table(engine: &Engine, alerts: &[&Alert], now: jiff::Timestamp) -> String {
    let rows: Vec<Vec<String>> = alerts
        .iter()
        .map(|a| {
            let since = a.memory.state.since().map_or("–".into(), |t| ago(now, t));
            vec![
                a.rule.key.to_string(),
                a.memory.state.name().to_string(),
                since,
                a.rule.severity.to_string(),
                a.value.clone().unwrap_or_else(|| "–".into()),
                engine.muted_by(&a.rule, now).join(" "),
                a.annotations.get("summary").cloned().unwrap_or_default(),
            ]
        })
        .collect();
    super::table::columns(&["ALERT", "STATE", "SINCE", "SEVERITY", "VALUE", "MUTED BY", "SUMMARY"], &rows)
}

/// `5m ago`, to the second.
fn ago(now: jiff::Timestamp, then: jiff::Timestamp) -> String {
    let secs = now.duration_since(then).as_secs().max(0) as u64;
    format!("{} ago", upkeep_expr::Value::duration(std::time::Duration::from_secs(secs)))
}
