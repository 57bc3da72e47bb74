//! `upkeep task list | run NAME [--dry-run]`: the maintenance tasks, when each runs next and how
//! its last run ended; and one run now, under the same lock the daemon takes (a run already in
//! progress refuses the second), recorded in the task's history.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY};
use clap::Subcommand;
use std::path::Path;
use upkeep_maintain::Run;

#[derive(Subcommand, Debug)]
pub enum TaskCommand {
    /// Every task: kind, schedule, next run, and how its last run ended.
    List {
        /// Print the same objects as `/api/v1/tasks`.
        #[arg(long)]
        json: bool,
    },
    /// Run a task now. Exit 1 when it fails or another run of it is in progress.
    Run {
        name: String,
        /// Report what it would change, and change nothing (not recorded).
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(path: &Path, command: TaskCommand) -> u8 {
    let json = matches!(command, TaskCommand::List { json: true } | TaskCommand::Run { json: true, .. });
    let (plan, store) = match super::plan_and_store(path, json).await {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let now = jiff::Timestamp::now();
    match command {
        TaskCommand::List { json } => list(&plan, &store, now, json).await,
        TaskCommand::Run { name, dry_run, json } => {
            let Some(task) = plan.tasks.iter().find(|t| t.name == name) else {
                let hint = upkeep_expr::closest_name(&name, plan.tasks.iter().map(|t| t.name.clone()))
                    .map(|s| format!("; did you mean `{s}`?"))
                    .unwrap_or_else(|| "; `upkeep task list` shows them".into());
                eprintln!("error: there is no task named `{name}`{hint}");
                return EXIT_BAD_INPUT;
            };
            run_one(&plan, &store, task, dry_run, json, now).await
        }
    }
}

async fn list(plan: &upkeep_plan::Plan, store: &upkeep_store::Store, now: jiff::Timestamp, json: bool) -> u8 {
    let views = match upkeep_daemon::maintenance::tasks(plan, store, now).await {
        Ok(views) => views,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if json {
        println!("{}", serde_json::Value::Array(views));
        return EXIT_OK;
    }
    if views.is_empty() {
        println!("no tasks: add a [[task]] (see the README's task kinds)");
        return EXIT_OK;
    }
    let rows: Vec<Vec<String>> = views
        .iter()
        .map(|v| {
            let last = &v["last_run"];
            let last_text = if last.is_null() {
                "never".to_string()
            } else {
                let ok = if last["ok"].as_bool() == Some(true) { "ok" } else { "FAILED" };
                format!("{ok} {}: {}", short_time(&last["started"]), last["summary"].as_str().unwrap_or(""))
            };
            vec![
                v["name"].as_str().unwrap_or("").to_string(),
                v["kind"].as_str().unwrap_or("").to_string(),
                v["schedule"].as_str().unwrap_or("").to_string(),
                short_time(&v["next_run"]),
                last_text,
            ]
        })
        .collect();
    print!("{}", super::table::columns(&["NAME", "KIND", "SCHEDULE", "NEXT RUN", "LAST RUN"], &rows));
    let failed = views.iter().any(|v| v["last_run"]["ok"].as_bool() == Some(false));
    if failed { EXIT_UNHEALTHY } else { EXIT_OK }
}

fn short_time(value: &serde_json::Value) -> String {
    value
        .as_str()
        .and_then(|s| s.parse::<jiff::Timestamp>().ok())
        .map_or("–".into(), |t| t.to_zoned(jiff::tz::TimeZone::system()).strftime("%Y-%m-%d %H:%M").to_string())
}

async fn run_one(
    plan: &upkeep_plan::Plan,
    store: &upkeep_store::Store,
    task: &upkeep_maintain::Task,
    dry_run: bool,
    json: bool,
    now: jiff::Timestamp,
) -> u8 {
    let spinner = super::spinner(&format!(
        "{} {} ({})",
        if dry_run { "dry run of" } else { "running" },
        task.name,
        task.target()
    ));
    let result = if dry_run {
        task.run(Run { dry_run: true, now }).await.map_err(|f| (f.message, f.output))
    } else {
        let locks = plan.server.data_dir.join("locks");
        let trigger = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
        upkeep_maintain::run_recorded(task, &locks, Some(store), &trigger, now)
            .await
            .map(|(outcome, _)| outcome)
            .map_err(|m| (m, String::new()))
    };
    spinner.finish_and_clear();
    match result {
        Ok(outcome) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"task": task.name, "ok": true, "dry_run": dry_run, "summary": outcome.summary, "changes": outcome.changes, "output": outcome.output})
                );
            } else {
                println!("{}: {}", task.name, outcome.summary);
                for (what, value) in &outcome.changes {
                    println!("  {what}: {value}");
                }
                if !outcome.output.is_empty() {
                    println!("{}", outcome.output.trim_end());
                }
            }
            EXIT_OK
        }
        Err((message, output)) => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"task": task.name, "ok": false, "dry_run": dry_run, "error": message, "output": output})
                );
            } else {
                eprintln!("error: {}: {message}", task.name);
                if !output.is_empty() {
                    eprintln!("{}", output.trim_end());
                }
            }
            EXIT_UNHEALTHY
        }
    }
}
