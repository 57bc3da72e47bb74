//! Shared by the task tests: a task from config text, one run of it, and whether a real service
//! is reachable (skipped with a reason, or failed under `UPKEEP_TEST_SERVICES=required`).
#![allow(dead_code)]

use std::time::Duration;
use upkeep_config::{Env, Source};
use upkeep_maintain::{Outcome, Run, Task};

pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
pub const MYSQL: &str = "mysql://root@127.0.0.1:3306/test";
pub const REDIS: &str = "redis://127.0.0.1:6379/";

/// The tasks in `toml`, panicking with the diagnostics if it is invalid.
pub fn tasks(toml: &str) -> Vec<Task> {
    let (sections, mut d) = upkeep_config::parse(Source::new("upkeep.toml", toml), &Env::Process);
    let mut sections = sections.unwrap_or_else(|| panic!("syntax:\n{d}"));
    let tasks = upkeep_maintain::read_tasks(&mut sections, &mut d, &jiff::tz::TimeZone::UTC);
    sections.finish(&mut d);
    d.into_result(tasks).unwrap_or_else(|d| panic!("config should be valid:\n{d}"))
}

/// The `file:line:col: message (hint)` errors of an invalid config.
pub fn errors(toml: &str) -> Vec<String> {
    let (sections, mut d) = upkeep_config::parse(Source::new("upkeep.toml", toml), &Env::Process);
    let mut sections = sections.expect("valid TOML");
    let _ = upkeep_maintain::read_tasks(&mut sections, &mut d, &jiff::tz::TimeZone::UTC);
    sections.finish(&mut d);
    d.to_json()
        .into_iter()
        .map(|(file, line, column, message, hint)| match hint {
            Some(hint) => format!("{file}:{line}:{column}: {message} ({hint})"),
            None => format!("{file}:{line}:{column}: {message}"),
        })
        .collect()
}

pub fn task(toml: &str) -> Task {
    tasks(toml).pop().expect("one task")
}

pub async fn run(task: &Task) -> Outcome {
    run_at(task, jiff::Timestamp::now(), false).await
}

pub async fn run_at(task: &Task, now: jiff::Timestamp, dry_run: bool) -> Outcome {
    match task.run(Run { dry_run, now }).await {
        Ok(outcome) => outcome,
        Err(failure) => panic!("{} failed: {}\n{}", task.name, failure.message, failure.output),
    }
}

/// Whether a real service answers at `addr`.
pub fn service(name: &str, addr: &str) -> bool {
    let reachable =
        addr.parse().ok().and_then(|a| std::net::TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok()).is_some();
    if !reachable {
        if std::env::var("UPKEEP_TEST_SERVICES").as_deref() == Ok("required") {
            panic!("{name} is not reachable at {addr}, and UPKEEP_TEST_SERVICES=required");
        }
        eprintln!("skipped: {name} is not reachable at {addr}");
    }
    reachable
}

/// A table name no other test run uses.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}_{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64
}
