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
    /// Send a test notification to a channel, through the outbox; prints whether and when it
    /// was delivered, and the receiver's answer when it was not.
    Test {
        /// A `[[channel]]`'s name.
        channel: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(path: &Path, command: AlertCommand) -> u8 {
    let (all, json) = match command {
        AlertCommand::List { all, json } => (all, json),
        AlertCommand::Test { channel, json } => return test(path, &channel, json).await,
    };
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

/// `upkeep alert test`: writes the test notification into the outbox already taken (due in an
/// hour, so a running daemon leaves it alone), makes the first attempt here, and records it
/// there. One the receiver could not take yet stays in the outbox for the daemon to retry.
async fn test(path: &Path, channel: &str, json: bool) -> u8 {
    let (plan, store) = match super::plan_and_store(path, json).await {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let notify = upkeep_daemon::notify::NotifyPlan::new(&plan);
    let now = jiff::Timestamp::now();
    let taken = now + jiff::SignedDuration::from_hours(1);
    let key = match upkeep_daemon::notify::enqueue_test(&store, &notify, channel, now, taken).await {
        Ok(key) => key,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    let stored = match upkeep_daemon::notify::find(&store, &key, channel).await {
        Ok(Some(n)) => n,
        Ok(None) | Err(_) => {
            eprintln!("error: the test notification was not written to the outbox");
            return EXIT_UNHEALTHY;
        }
    };
    let outcome = upkeep_daemon::notify::attempt(&notify, &stored).await;
    let attempted = upkeep_daemon::notify::settle(&stored, outcome.clone(), jiff::Timestamp::now());
    if let Err(e) = store.record_attempts(std::slice::from_ref(&attempted)).await {
        eprintln!("warning: the attempt could not be recorded: {e}");
    }
    let state = attempted.state;
    if json {
        let doc = serde_json::json!({
            "channel": channel, "key": key, "state": state, "at": attempted.at.to_string(),
            "answer": attempted.answer, "error": attempted.error,
            "next_attempt_at": (state == upkeep_store::Delivery::Pending).then(|| attempted.due.to_string()),
        });
        println!("{doc}");
    } else {
        match &outcome {
            upkeep_notify::Outcome::Delivered { answer } => {
                println!("delivered to `{channel}` at {} (answer: {answer})", attempted.at.strftime("%H:%M:%S"))
            }
            upkeep_notify::Outcome::Retry { error, .. } => println!(
                "not delivered to `{channel}` yet: {error}\n  the daemon retries it from {} (`upkeep notifications list --pending`)",
                attempted.due.strftime("%H:%M:%S")
            ),
            upkeep_notify::Outcome::Failed { error } => {
                println!("refused by `{channel}`: {error}\n  check the channel's settings in the config")
            }
        }
    }
    if state == upkeep_store::Delivery::Delivered { EXIT_OK } else { EXIT_UNHEALTHY }
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
