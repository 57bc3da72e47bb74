//! `upkeep oncall [--at TIME]`: who is on call in each schedule (until when, by which layer or
//! override) and whom each escalation level would page; `override add | list | remove` for
//! cover set by hand; `feed SCHEDULE` prints the calendar feed's URL with its secret token.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY, report_load_error};
use clap::{Args, Subcommand};
use std::path::Path;
use upkeep_config::Env;
use upkeep_daemon::incidents;
use upkeep_incident::Override;
use upkeep_store::Store;

#[derive(Args, Debug)]
pub struct OncallArgs {
    #[command(subcommand)]
    command: Option<OncallCommand>,
    /// When to ask about (RFC 3339, or "2026-12-08 18:00" in UTC); default: now.
    #[arg(long)]
    at: Option<String>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum OncallCommand {
    /// Cover set by hand: someone on call instead of the rotation for a span.
    #[command(subcommand)]
    Override(OverrideCommand),
    /// The URL of a schedule's iCalendar feed, for people's calendars.
    Feed { schedule: String },
}

#[derive(Subcommand, Debug)]
enum OverrideCommand {
    Add {
        #[arg(long)]
        schedule: String,
        #[arg(long)]
        person: String,
        /// RFC 3339, or a wall-clock time in the schedule's zone: "2026-12-08 18:00".
        #[arg(long)]
        start: String,
        #[arg(long)]
        end: String,
        #[arg(long)]
        comment: Option<String>,
        #[arg(long)]
        json: bool,
    },
    List {
        #[arg(long)]
        json: bool,
    },
    Remove {
        id: String,
    },
}

pub async fn run(path: &Path, args: OncallArgs) -> u8 {
    let plan = match upkeep_plan::load_file(path, &Env::Process) {
        Ok(plan) => plan,
        Err(e) => return report_load_error(&e, args.json),
    };
    let store = match Store::open(&plan.server.data_dir).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNHEALTHY;
        }
    };
    let now = jiff::Timestamp::now();
    let result = match args.command {
        None => show(&plan, &store, args.at.as_deref(), args.json, now).await,
        Some(OncallCommand::Feed { schedule }) => feed(&plan, &schedule),
        Some(OncallCommand::Override(OverrideCommand::Add { schedule, person, start, end, comment, json })) => {
            add(&plan, &store, [schedule, person, start, end], comment, json, now).await
        }
        Some(OncallCommand::Override(OverrideCommand::List { json })) => list(&store, json, now).await,
        Some(OncallCommand::Override(OverrideCommand::Remove { id })) => match store.delete_override(&id).await {
            Ok(true) => {
                println!("override {id} removed");
                Ok(())
            }
            Ok(false) => Err(format!("there is no override {id} (see `upkeep oncall override list`)")),
            Err(e) => Err(e.to_string()),
        },
    };
    match result {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_BAD_INPUT
        }
    }
}

async fn show(
    plan: &upkeep_plan::Plan,
    store: &Store,
    at: Option<&str>,
    json: bool,
    now: jiff::Timestamp,
) -> Result<(), String> {
    let at = match at {
        Some(text) => upkeep_incident::parse_time(text, &jiff::tz::TimeZone::UTC).map_err(|e| format!("--at: {e}"))?,
        None => now,
    };
    let stored = incidents::stored_overrides(store, at).await.map_err(|e| e.to_string())?;
    let (schedules, levels) = incidents::oncall(plan, &stored, at);
    if json {
        println!("{}", serde_json::json!({ "at": at.to_string(), "schedules": schedules, "levels": levels }));
        return Ok(());
    }
    if schedules.is_empty() {
        println!("no schedules: add a [[schedule]] (and [[person]]s) to the config");
        return Ok(());
    }
    println!("on call at {at}");
    let rows: Vec<Vec<String>> = schedules
        .iter()
        .map(|s| {
            vec![
                s.schedule.clone(),
                s.person.clone().unwrap_or_else(|| "nobody".into()),
                s.until.map_or("-".into(), |t| t.to_string()),
                s.by.clone().unwrap_or_default(),
            ]
        })
        .collect();
    print!("{}", super::table::columns(&["SCHEDULE", "ON CALL", "UNTIL", "BY"], &rows));
    if !levels.is_empty() {
        let rows: Vec<Vec<String>> = levels
            .iter()
            .map(|l| {
                vec![
                    l.policy.clone(),
                    l.level.to_string(),
                    upkeep_incident::human(std::time::Duration::from_secs(l.after_seconds)),
                    l.targets.join(", "),
                    l.reaches.join(", "),
                ]
            })
            .collect();
        println!();
        print!("{}", super::table::columns(&["ESCALATION", "LEVEL", "AFTER", "NOTIFIES", "REACHES"], &rows));
    }
    Ok(())
}

fn feed(plan: &upkeep_plan::Plan, schedule: &str) -> Result<(), String> {
    if plan.incidents.schedule(schedule).is_none() {
        let names: Vec<&str> = plan.incidents.schedules.iter().map(|s| s.name.as_str()).collect();
        return Err(format!("there is no schedule `{schedule}`; schedules: {}", names.join(", ")));
    }
    let key = incidents::ack_key(plan)?;
    println!("{}", incidents::feed_url(plan, &key, schedule));
    Ok(())
}

async fn add(
    plan: &upkeep_plan::Plan,
    store: &Store,
    [schedule, person, start, end]: [String; 4],
    comment: Option<String>,
    json: bool,
    now: jiff::Timestamp,
) -> Result<(), String> {
    let author = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    let o = incidents::new_override(plan, [&schedule, &person, &start, &end], comment, &author, now)?;
    store
        .save_override(&o.id, &o.schedule, o.start, o.end, &serde_json::to_value(&o).unwrap_or_default())
        .await
        .map_err(|e| e.to_string())?;
    if json {
        println!("{}", serde_json::to_value(&o).unwrap_or_default());
    } else {
        println!("override {}: {} covers {} from {} to {}", o.id, o.person, o.schedule, o.start, o.end);
    }
    Ok(())
}

async fn list(store: &Store, json: bool, now: jiff::Timestamp) -> Result<(), String> {
    let all = incidents::stored_overrides(store, now).await.map_err(|e| e.to_string())?;
    let current: Vec<&Override> = all.iter().filter(|o| o.end > now).collect();
    if json {
        println!("{}", serde_json::to_value(&current).unwrap_or_default());
        return Ok(());
    }
    if current.is_empty() {
        println!("no overrides set by hand (those in the config are in `upkeep oncall`)");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = current
        .iter()
        .map(|o| {
            vec![
                o.id.clone(),
                o.schedule.clone(),
                o.person.clone(),
                o.start.to_string(),
                o.end.to_string(),
                o.author.clone(),
            ]
        })
        .collect();
    print!("{}", super::table::columns(&["ID", "SCHEDULE", "PERSON", "START", "END", "BY"], &rows));
    Ok(())
}
