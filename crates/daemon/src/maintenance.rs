//! Maintenance as the CLI and the API show it: each task with its next and last run, the
//! upcoming maintenance windows with their notice times, and switching the app's maintenance
//! mode with verification, a gate on the checks, and an audit entry — one implementation for
//! `upkeep task`, `upkeep maintenance` and `/api/v1/tasks`, `/api/v1/maintenance`.

use jiff::Timestamp;
use serde_json::{Value, json};
use std::sync::Arc;
use upkeep_alert::MaintenanceWindow;
use upkeep_maintain::{Mode, Task};
use upkeep_plan::Plan;
use upkeep_probe::{Check, Clock, Context};
use upkeep_store::{AuditEntry, Store, TaskRun};

/// A task as `/api/v1/tasks` and `upkeep task list --json` show it.
pub fn task_view(task: &Task, last: Option<&TaskRun>, now: Timestamp) -> Value {
    json!({
        "name": task.name,
        "kind": task.kind,
        "target": task.target(),
        "schedule": task.schedule,
        "window": task.window.as_ref().map(|w| w.get_ref()),
        "timeout_ms": task.timeout.as_millis() as u64,
        "next_run": task.next_after(now),
        "last_run": last.map(|r| serde_json::to_value(r).unwrap_or_default()),
    })
}

/// Every task with its latest run, in config order.
pub async fn tasks(plan: &Plan, store: &Store, now: Timestamp) -> Result<Vec<Value>, upkeep_store::StoreError> {
    let last = store.last_task_runs().await?;
    Ok(plan.tasks.iter().map(|t| task_view(t, last.iter().find(|r| r.task == t.name), now)).collect())
}

/// One occurrence of a window, as the API, the CLI and the status page show it.
pub fn occurrence_view(window: &MaintenanceWindow, start: Timestamp, end: Timestamp, now: Timestamp) -> Value {
    let notice_at = window.notice_at(start);
    let announce: Vec<&String> = window.announce.iter().map(|c| c.get_ref()).collect();
    json!({
        "name": window.name,
        "description": window.description,
        "starts_at": start,
        "ends_at": end,
        "notice_at": notice_at,
        "active": start <= now && now < end,
        "checks": window.checks,
        "components": window.components,
        "announce": announce,
        "mode": window.mode.is_some(),
    })
}

/// When and to which channels an occurrence (as [`occurrence_view`] shows it) is announced, in
/// words: `Fri 2026-12-04 02:00 → team`, `in progress → team`, `not announced`.
pub fn announced(occurrence: &Value, notice_at: &str) -> String {
    let to: Vec<&str> = occurrence["announce"].as_array().into_iter().flatten().filter_map(|c| c.as_str()).collect();
    let when = if occurrence["active"] == true { "in progress" } else { notice_at };
    match to.is_empty() {
        true if occurrence["active"] == true => "in progress".into(),
        true => "not announced".into(),
        false => format!("{when} → {}", to.join(", ")),
    }
}

/// Occurrences of every window from `now` to `until`, soonest first.
pub fn upcoming_windows(plan: &Plan, now: Timestamp, until: Timestamp) -> Vec<Value> {
    let mut all: Vec<(Timestamp, Value)> = plan
        .alerts
        .mutes
        .windows
        .iter()
        .flat_map(|w| w.upcoming(now, until).into_iter().map(move |(s, e)| (s, occurrence_view(w, s, e, now))))
        .collect();
    all.sort_by_key(|(start, _)| *start);
    all.into_iter().map(|(_, v)| v).collect()
}

/// Why a switch of the app's maintenance mode did not happen, or did not take effect.
#[derive(Debug)]
pub enum SwitchError {
    /// No `[maintenance_mode]` in the config.
    NotConfigured,
    /// `off` refused: these gate checks fail.
    Gate(Vec<String>),
    /// The switch itself failed.
    Failed(String),
    /// It switched, but the app does not show it.
    Unverified { done: String, why: String },
}

impl std::fmt::Display for SwitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SwitchError::NotConfigured => f.write_str(
                "there is no [maintenance_mode] in the config: add one (kind = \"command\", \"file\" or \"env\"; see the README)",
            ),
            SwitchError::Gate(failing) => write!(
                f,
                "maintenance mode stays on: {} failing ({}); fix them first, or pass --force",
                if failing.len() == 1 { "a gate check is" } else { "gate checks are" },
                failing.join("; ")
            ),
            SwitchError::Failed(why) => write!(f, "the switch failed: {why}"),
            SwitchError::Unverified { done, why } => write!(f, "{done}, but the app does not show it: {why}"),
        }
    }
}

/// The checks `off` waits on: `gate`, or every critical check that does not ask the app's own
/// front door (which answers 503 until the mode is off).
pub fn gate_checks(plan: &Plan, mode: &Mode) -> Vec<Arc<Check>> {
    let front_door = ["http", "tcp", "tls", upkeep_maintain::TASK_KIND];
    plan.checks
        .iter()
        .filter(|c| {
            if mode.gate.is_empty() { c.critical && !front_door.contains(&c.kind) } else { mode.gate.contains(&c.name) }
        })
        .cloned()
        .collect()
}

/// Switches the app's maintenance mode `on` or off as `actor`, for `reason`: `off` first runs
/// the gate checks (unless `force`), and after switching the app is asked whether it shows it.
/// Every switch that happened is audited, verified or not. `Ok` says what was done and seen.
pub async fn switch(
    plan: &Plan,
    store: &Store,
    on: bool,
    actor: &str,
    reason: &str,
    force: bool,
    now: Timestamp,
) -> Result<String, SwitchError> {
    let mode = plan.mode.as_deref().ok_or(SwitchError::NotConfigured)?;
    if !on && !force {
        let gate = gate_checks(plan, mode);
        let ctx = Context::new(Some(Arc::new(store.clone())), Clock::System);
        let results = upkeep_probe::run_checks(&gate, &ctx, plan.server.concurrency).await;
        let failing: Vec<String> = results
            .iter()
            .filter(|r| !r.is_ok())
            .map(|r| format!("{}: {}", r.check, r.message.as_deref().unwrap_or("failed")))
            .collect();
        if !failing.is_empty() {
            return Err(SwitchError::Gate(failing));
        }
    }
    let done = mode.switch(on, reason).await.map_err(SwitchError::Failed)?;
    let verified = mode.verify(on).await;
    let action = if on { "maintenance.on" } else { "maintenance.off" };
    let mut detail = done.clone();
    if !reason.is_empty() {
        detail = format!("{detail} — {reason}");
    }
    if let Err(why) = &verified {
        detail = format!("{detail} (not verified: {why})");
    }
    let entry = AuditEntry { at: now, actor: actor.to_string(), action: action.into(), target: "app".into(), detail };
    if let Err(e) = store.audit(&entry).await {
        tracing::warn!(error = %e, "cannot write the audit log");
    }
    match verified {
        Ok(seen) => Ok(format!("{done}; {seen}")),
        Err(why) => Err(SwitchError::Unverified { done, why }),
    }
}
