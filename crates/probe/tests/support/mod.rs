//! Shared by the probe integration tests: load a config from text, run one check, and decide
//! whether a real service is reachable (skip with a reason, or fail under
//! `UPKEEP_TEST_SERVICES=required` as CI sets it).
#![allow(dead_code)]

pub mod certs;

use std::net::TcpStream;
use std::time::Duration;
use upkeep_config::{Env, Source};
use upkeep_plan::{Plan as Loaded, load_config};
use upkeep_probe::{CheckResult, Clock, Context};

/// Validates `toml` as an `upkeep.toml`, panicking with the diagnostics if it is invalid.
pub fn load(toml: &str) -> Loaded {
    load_config(Source::new("upkeep.toml", toml), &Env::Process)
        .unwrap_or_else(|d| panic!("config should be valid:\n{d}"))
}

/// The `file:line:col: message` lines for an invalid config.
pub fn errors(toml: &str) -> Vec<String> {
    match load_config(Source::new("upkeep.toml", toml), &Env::Process) {
        Ok(_) => Vec::new(),
        Err(d) => d.summary(),
    }
}

/// Runs the check named `name` once with `ctx`.
pub async fn run_with(loaded: &Loaded, name: &str, ctx: &Context) -> CheckResult {
    let check = loaded.checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no check {name}"));
    check.run(ctx).await
}

/// Runs the check named `name` once, with no store and the system clock.
pub async fn run(loaded: &Loaded, name: &str) -> CheckResult {
    run_with(loaded, name, &Context::new(None, Clock::System)).await
}

/// Loads a config holding exactly one check and runs it.
pub async fn run_one(toml: &str) -> CheckResult {
    let loaded = load(toml);
    assert_eq!(loaded.checks.len(), 1, "run_one wants a config with one check");
    loaded.checks[0].run(&Context::new(None, Clock::System)).await
}

/// Whether a real service (PostgreSQL, MariaDB, Redis) answers at `addr`. When it does not,
/// the test is skipped with a printed reason — or fails, when `UPKEEP_TEST_SERVICES=required`.
pub fn service(name: &str, addr: &str) -> bool {
    let reachable =
        addr.parse().ok().and_then(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).ok()).is_some();
    if !reachable {
        if std::env::var("UPKEEP_TEST_SERVICES").as_deref() == Ok("required") {
            panic!("{name} is not reachable at {addr}, and UPKEEP_TEST_SERVICES=required");
        }
        eprintln!("skipped: {name} is not reachable at {addr} (set UPKEEP_TEST_SERVICES=required to fail instead)");
    }
    reachable
}

/// The observation `name` of a result, as JSON, for terse assertions.
pub fn obs(result: &CheckResult, name: &str) -> serde_json::Value {
    result.observations.to_json().get(name).cloned().unwrap_or(serde_json::Value::Null)
}
