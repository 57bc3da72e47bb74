//! `upkeep check [NAME...]`: run checks once, concurrently, and print what a person on call
//! needs — the `ops:check` smoke test and the morning health check in one command.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY, paint, report_load_error, table};
use clap::Args;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use upkeep_config::Env;
use upkeep_probe::{Check, Clock, Context};

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Only these checks (default: all).
    pub names: Vec<String>,
    /// Print results as JSON: [{"name","kind","status","latency_ms","message","observations"}].
    #[arg(long)]
    pub json: bool,
}

pub async fn run(path: &Path, args: CheckArgs) -> u8 {
    let loaded = match upkeep_plan::load_file(path, &Env::Process) {
        Ok(loaded) => loaded,
        Err(e) => return report_load_error(&e, args.json),
    };
    let checks = match select(&loaded.checks, &args.names) {
        Ok(checks) => checks,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_BAD_INPUT;
        }
    };
    let state: Option<Arc<dyn upkeep_probe::ProbeState>> = if checks.iter().any(|c| c.keeps_state()) {
        match upkeep_store::Store::open(&loaded.server.data_dir).await {
            // Its own log positions: a look from here never moves the daemon's.
            Ok(store) => Some(Arc::new(upkeep_store::OneShot(store))),
            Err(e) => {
                eprintln!("warning: {e}; log positions will not be kept and heartbeats cannot be judged");
                None
            }
        }
    } else {
        None
    };
    let ctx = Context::new(state, Clock::System);
    let started = Instant::now();
    let results = upkeep_probe::run_checks(&checks, &ctx, loaded.server.concurrency).await;
    let kinds: Vec<&str> = checks.iter().map(|c| c.kind).collect();
    if args.json {
        let list: Vec<serde_json::Value> = results.iter().zip(&kinds).map(|(r, kind)| json(r, kind)).collect();
        println!("{}", serde_json::Value::Array(list));
    } else {
        print!("{}", table::render(&results, &kinds, started.elapsed(), paint()));
    }
    if results.iter().all(|r| r.is_ok()) { EXIT_OK } else { EXIT_UNHEALTHY }
}

/// `{"name", "kind", "status", "latency_ms", "message", "observations", "at"}`: the result's one
/// JSON shape, named as the check command's contract says.
fn json(result: &upkeep_probe::CheckResult, kind: &str) -> serde_json::Value {
    let mut json = result.to_json();
    if let Some(fields) = json.as_object_mut() {
        fields.remove("check");
        fields.insert("name".into(), result.check.clone().into());
        fields.insert("kind".into(), kind.into());
    }
    json
}

/// The named checks, in the order given; all checks when no names are given.
fn select(checks: &[Arc<Check>], names: &[String]) -> Result<Vec<Arc<Check>>, String> {
    // Tasks and backups are checks too, but running one is `upkeep task run` or `upkeep backup
    // run`, not a smoke test.
    if names.is_empty() {
        return Ok(checks.iter().filter(|c| c.is_probe()).cloned().collect());
    }
    if let Some(job) = names.iter().find_map(|n| checks.iter().find(|c| &c.name == n && !c.is_probe())) {
        let how = match job.kind {
            upkeep_maintain::TASK_KIND => format!("a maintenance task: run it with `upkeep task run {}`", job.name),
            upkeep_backup::DRILL_KIND => "a backup's restore drill: run it with `upkeep backup verify --drill`".into(),
            upkeep_backup::TARGETS_KIND => {
                "a backup's targets (max_age, rto): `upkeep backup status` shows them".into()
            }
            _ => format!("a backup: run it with `upkeep backup run {}`", job.name),
        };
        return Err(format!("`{}` is {how}", job.name));
    }
    names
        .iter()
        .map(|name| {
            checks.iter().find(|c| &c.name == name).cloned().ok_or_else(|| {
                let known = checks.iter().map(|c| c.name.clone());
                match upkeep_expr::closest_name(name, known) {
                    Some(s) => format!("there is no check named `{name}`; did you mean `{s}`?"),
                    None => format!("there is no check named `{name}`; `upkeep check` with no names runs them all"),
                }
            })
        })
        .collect()
}
