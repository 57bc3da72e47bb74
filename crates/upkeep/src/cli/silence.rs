//! `upkeep silence add | list | expire`: silences in the store in `data_dir`, which the daemon
//! reads on its next evaluation (within `[alerts] evaluate_every`). A silence mutes the
//! notifications of the alerts it matches; `alert list` still shows them, muted.

use super::{EXIT_BAD_INPUT, EXIT_OK, report_load_error};
use clap::Subcommand;
use std::path::Path;
use std::sync::Arc;
use upkeep_alert::{Engine, Matcher, Silence};
use upkeep_config::Env;
use upkeep_store::Store;

#[derive(Subcommand, Debug)]
pub enum SilenceCommand {
    /// Mute the alerts whose labels match, for a while.
    Add {
        /// A label matcher: label=value, label!=value, label=~regex or label!~regex (labels:
        /// alertname, check, severity, component, slo and a rule's own). Repeat for several.
        #[arg(long = "match", required = true, value_name = "MATCHER")]
        matchers: Vec<String>,
        /// How long it lasts, from its start: 30m, 2h, 1d.
        #[arg(long = "for", value_name = "DURATION")]
        duration: String,
        /// When it starts (RFC 3339); default: now.
        #[arg(long)]
        start: Option<String>,
        /// Why: shown wherever the silence is.
        #[arg(long)]
        comment: String,
        /// Who sets it; default: $USER.
        #[arg(long)]
        author: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Silences that are pending or active (with --all, expired ones too).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// End a silence now.
    Expire {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(path: &Path, command: SilenceCommand) -> u8 {
    let json = match &command {
        SilenceCommand::Add { json, .. } | SilenceCommand::List { json, .. } | SilenceCommand::Expire { json, .. } => {
            *json
        }
    };
    let plan = match upkeep_plan::load_file(path, &Env::Process) {
        Ok(plan) => plan,
        Err(e) => return report_load_error(&e, json),
    };
    let store = match Store::open(&plan.server.data_dir).await {
        Ok(store) => store,
        Err(e) => return fail(&e.to_string()),
    };
    let now = jiff::Timestamp::now();
    let outcome = match command {
        SilenceCommand::Add { matchers, duration, start, comment, author, json } => {
            add(&store, &plan, now, (matchers, duration, start, comment, author), json).await
        }
        SilenceCommand::List { all, json } => list(&store, now, all, json).await,
        SilenceCommand::Expire { id, json } => expire(&store, now, &id, json).await,
    };
    match outcome {
        Ok(()) => EXIT_OK,
        Err(e) => fail(&e),
    }
}

fn fail(message: &str) -> u8 {
    eprintln!("error: {message}");
    EXIT_BAD_INPUT
}

type AddArgs = (Vec<String>, String, Option<String>, String, Option<String>);

async fn add(
    store: &Store,
    plan: &upkeep_plan::Plan,
    now: jiff::Timestamp,
    args: AddArgs,
    json: bool,
) -> Result<(), String> {
    let (texts, duration, start, comment, author) = args;
    let matchers = texts.iter().map(|t| Matcher::parse(t)).collect::<Result<Vec<_>, _>>()?;
    let length = upkeep_config::parse_duration(&duration).map_err(|e| format!("--for: {e}"))?;
    let starts = match start {
        Some(text) => text.parse().map_err(|_| format!("--start: `{text}` is not an RFC 3339 time"))?,
        None => now,
    };
    let ends = starts
        .checked_add(jiff::SignedDuration::try_from(length).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let author = author.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "unknown".into());
    let silence = Silence::new(matchers, starts, ends, &author, &comment, now)?;
    store
        .save_silence(&silence.id, silence.ends_at, &serde_json::to_value(&silence).unwrap_or_default())
        .await
        .map_err(|e| e.to_string())?;
    let muted = muted_now(store, plan, &silence, now).await;
    if json {
        let mut doc = silence.to_json(now);
        doc["mutes"] = serde_json::json!(muted);
        println!("{doc}");
    } else {
        println!(
            "silence {} until {}; mutes now: {}",
            silence.id,
            silence.ends_at,
            if muted.is_empty() { "nothing".into() } else { muted.join(", ") }
        );
    }
    Ok(())
}

/// The alerts (pending, firing or resolved) the silence matches now, by key.
async fn muted_now(store: &Store, plan: &upkeep_plan::Plan, silence: &Silence, now: jiff::Timestamp) -> Vec<String> {
    let saved = upkeep_daemon::stored_alerts(store).await.unwrap_or_default();
    let (engine, _) = Engine::new(Arc::clone(&plan.alerts), saved, now);
    engine
        .alerts()
        .filter(|a| {
            a.memory.state != upkeep_alert::State::Inactive && silence.is_active(now) && silence.matches(&a.rule.labels)
        })
        .map(|a| a.rule.key.to_string())
        .collect()
}

async fn read(store: &Store) -> Result<Vec<Silence>, String> {
    upkeep_daemon::stored_silences(store).await.map_err(|e| e.to_string())
}

async fn list(store: &Store, now: jiff::Timestamp, all: bool, json: bool) -> Result<(), String> {
    let silences: Vec<Silence> = read(store).await?.into_iter().filter(|s| all || s.ends_at > now).collect();
    if json {
        println!("{}", serde_json::Value::Array(silences.iter().map(|s| s.to_json(now)).collect()));
        return Ok(());
    }
    if silences.is_empty() {
        println!("no silence is pending or active (--all lists expired ones too)");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = silences
        .iter()
        .map(|s| {
            let matchers: Vec<String> = s.matchers.iter().map(Matcher::to_text).collect();
            vec![
                s.id.clone(),
                s.state(now).into(),
                matchers.join(" "),
                s.ends_at.to_string(),
                s.created_by.clone(),
                s.comment.clone(),
            ]
        })
        .collect();
    print!("{}", super::table::columns(&["ID", "STATE", "MATCHERS", "ENDS", "BY", "COMMENT"], &rows));
    Ok(())
}

async fn expire(store: &Store, now: jiff::Timestamp, id: &str, json: bool) -> Result<(), String> {
    let mut silence = read(store)
        .await?
        .into_iter()
        .find(|s| s.id == id)
        .ok_or_else(|| format!("no silence has id {id} (see `upkeep silence list --all`)"))?;
    if silence.expire(now) {
        store
            .save_silence(&silence.id, silence.ends_at, &serde_json::to_value(&silence).unwrap_or_default())
            .await
            .map_err(|e| e.to_string())?;
    }
    if json {
        println!("{}", silence.to_json(now));
    } else {
        println!("silence {id} expired");
    }
    Ok(())
}
