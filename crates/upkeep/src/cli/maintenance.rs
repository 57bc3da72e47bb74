//! `upkeep maintenance on|off|status|windows`: the app's own maintenance (or read-only) mode,
//! switched and then verified from outside; `off` waits on the gate checks first (seed 000
//! brings the app up "if all tests pass", without running any). Every switch is audited. And
//! the maintenance windows coming up, with when each is announced.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY};
use clap::Subcommand;
use std::path::Path;
use upkeep_daemon::maintenance::{self, SwitchError};

#[derive(Subcommand, Debug)]
pub enum MaintenanceCommand {
    /// Switch the app's maintenance mode on, then check that the app shows it.
    On {
        /// Why: kept in the audit log (and in the flag file, for kind = "file").
        #[arg(long, default_value = "")]
        reason: String,
        #[arg(long)]
        json: bool,
    },
    /// Switch it off once the gate checks pass, then check that the app answers again.
    Off {
        #[arg(long, default_value = "")]
        reason: String,
        /// Switch off even when gate checks fail.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        json: bool,
    },
    /// Whether the app is in maintenance mode now. Exit 1 when it is.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Maintenance windows in the coming days, with their notice times.
    Windows {
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(path: &Path, command: MaintenanceCommand) -> u8 {
    let json = match &command {
        MaintenanceCommand::On { json, .. }
        | MaintenanceCommand::Off { json, .. }
        | MaintenanceCommand::Status { json }
        | MaintenanceCommand::Windows { json, .. } => *json,
    };
    let (plan, store) = match super::plan_and_store(path, json).await {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let now = jiff::Timestamp::now();
    let actor = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    match command {
        MaintenanceCommand::On { reason, json } => {
            report(maintenance::switch(&plan, &store, true, &actor, &reason, false, now).await, json)
        }
        MaintenanceCommand::Off { reason, force, json } => {
            let spinner = super::spinner("running the gate checks");
            let result = maintenance::switch(&plan, &store, false, &actor, &reason, force, now).await;
            spinner.finish_and_clear();
            report(result, json)
        }
        MaintenanceCommand::Status { json } => {
            let Some(mode) = &plan.mode else { return report(Err(SwitchError::NotConfigured), json) };
            let state = mode.state().await;
            if json {
                println!("{}", serde_json::to_value(&state).unwrap_or_default());
            } else {
                let word = match state.on {
                    Some(true) => "on",
                    Some(false) => "off",
                    None => "unknown",
                };
                println!("maintenance mode is {word} ({})", state.detail);
            }
            if state.on == Some(true) { EXIT_UNHEALTHY } else { EXIT_OK }
        }
        MaintenanceCommand::Windows { days, json } => {
            let until = now.checked_add(jiff::SignedDuration::from_hours(24 * i64::from(days))).unwrap_or(now);
            let windows = maintenance::upcoming_windows(&plan, now, until);
            if json {
                println!("{}", serde_json::Value::Array(windows));
            } else if windows.is_empty() {
                println!("no maintenance window in the next {days} days");
            } else {
                let local = |v: &serde_json::Value| {
                    v.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok()).map_or("–".into(), |t| {
                        t.to_zoned(jiff::tz::TimeZone::system()).strftime("%a %Y-%m-%d %H:%M").to_string()
                    })
                };
                let rows: Vec<Vec<String>> = windows
                    .iter()
                    .map(|w| {
                        let covers: Vec<String> = w["components"]
                            .as_array()
                            .into_iter()
                            .chain(w["checks"].as_array())
                            .flatten()
                            .filter_map(|c| c.as_str().map(String::from))
                            .collect();
                        vec![
                            w["name"].as_str().unwrap_or("").to_string(),
                            local(&w["starts_at"]),
                            local(&w["ends_at"]),
                            upkeep_daemon::maintenance::announced(w, &local(&w["notice_at"])),
                            if covers.is_empty() { "everything".into() } else { covers.join(", ") },
                            if w["mode"] == true { "on".into() } else { String::new() },
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    super::table::columns(&["WINDOW", "STARTS", "ENDS", "ANNOUNCED", "COVERS", "APP MODE"], &rows)
                );
            }
            EXIT_OK
        }
    }
}

fn report(result: Result<String, SwitchError>, json: bool) -> u8 {
    match result {
        Ok(done) => {
            if json {
                println!("{}", serde_json::json!({"ok": true, "done": done}));
            } else {
                println!("{done}");
            }
            EXIT_OK
        }
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({"ok": false, "error": e.to_string()}));
            } else {
                eprintln!("error: {e}");
            }
            if matches!(e, SwitchError::NotConfigured) { EXIT_BAD_INPUT } else { EXIT_UNHEALTHY }
        }
    }
}
