//! A task whose scheduled run passed while the daemon was not running did not run; at start,
//! each one is reported as a failed run of its check ("missed its run due at ..."), so the
//! task's alert fires as for a failed run, and its next run on schedule resolves it. A task
//! that never ran is new, not missed; a run due outside the task's window was never meant to
//! happen.

use jiff::Timestamp;
use std::time::Duration;
use upkeep_plan::Plan;
use upkeep_result::{CheckResult, Status};
use upkeep_store::{Store, StoreError};

pub(crate) async fn missed_runs(plan: &Plan, store: &Store, now: Timestamp) -> Result<Vec<CheckResult>, StoreError> {
    let last = store.last_task_runs().await?;
    let mut missed = Vec::new();
    for task in &plan.tasks {
        let Some(last) = last.iter().find(|r| r.task == task.name) else { continue };
        let Some(due) = task.cadence.previous_at_or_before(now) else { continue };
        let in_window = match &task.window {
            None => true,
            Some(name) => plan.alerts.mutes.windows.iter().any(|w| w.name == *name.get_ref() && w.is_active(due)),
        };
        if due <= last.run.started || !in_window {
            continue;
        }
        let next = task.next_after(now).map_or_else(|| "never".to_string(), |t| t.to_string());
        missed.push(CheckResult {
            check: task.name.clone(),
            at: now,
            status: Status::Error,
            latency: Duration::ZERO,
            message: Some(format!(
                "missed its run due at {due} (Upkeep was not running); the last run was at {}; the next is at {next}, \
                 or run it now with `upkeep task run {}`",
                last.run.started, task.name
            )),
            observations: Default::default(),
        });
    }
    Ok(missed)
}
