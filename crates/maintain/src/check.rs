//! A task as a check: each run takes the task's lock, keeps to its maintenance window, is
//! recorded in the task's history, and ends in a check result under the task's name — so a
//! failing task shows, alerts and counts like a failing check, through the same pipeline.

use crate::task::{RunLock, Task};
use crate::{Outcome, Run};
use jiff::Timestamp;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use upkeep_expr::{Field, Observations, Schema, Type, Value};
use upkeep_probe::{Check, Custom, CustomCheck, ProbeError, ProbeState, RunRecord};

/// Beyond the task's own timeout, so a run that timed out is still recorded.
const RECORD_MARGIN: Duration = Duration::from_secs(60);

/// The kind of a task's check: what tells tasks from probes in tables, `/health` and
/// `upkeep check`.
pub const TASK_KIND: &str = "task";

/// Whether the task's window lasts at a time.
pub type Window = Arc<dyn Fn(Timestamp) -> bool + Send + Sync>;

/// The check that runs `task`; `locks` is the folder of run locks (in `data_dir`).
pub fn task_check(task: Arc<Task>, locks: PathBuf, window: Option<Window>) -> Check {
    Check::custom(CustomCheck {
        name: task.name.clone(),
        kind: TASK_KIND,
        schedule: task.schedule.clone(),
        cadence: task.cadence.clone(),
        timeout: task.timeout + RECORD_MARGIN,
        component: task.component.clone(),
        work: Arc::new(TaskWork { task, locks, window }),
    })
}

struct TaskWork {
    task: Arc<Task>,
    locks: PathBuf,
    window: Option<Window>,
}

impl std::fmt::Debug for TaskWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskWork").field("task", &self.task.name).finish()
    }
}

/// The fields of a task's check result.
pub fn schema() -> Schema {
    Schema::new(&[
        Field::new("latency", Type::Duration, "how long the run took"),
        Field::new("summary", Type::String, "what the run did"),
        Field::new("skipped", Type::Bool, "the run was skipped: outside its maintenance window"),
    ])
    .with_dynamic(Field::new(
        "changes",
        Type::Dynamic,
        "what changed, by name: changes.rows_deleted, changes.bytes_reclaimed",
    ))
}

impl Custom for TaskWork {
    fn target(&self) -> String {
        self.task.target()
    }

    fn schema(&self) -> Schema {
        schema()
    }

    fn observe<'a>(
        &'a self,
        run: &'a upkeep_probe::Run<'a>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Observations, ProbeError>> + Send + 'a>> {
        Box::pin(async move {
            let now = run.ctx.clock.now();
            if let Some(window) = &self.window
                && !window(now)
            {
                let mut obs = Observations::new();
                obs.insert("skipped", Value::Bool(true));
                obs.insert(
                    "summary",
                    Value::String(format!("skipped: outside its window {}", self.task.window_name())),
                );
                return Ok(obs);
            }
            let state = run.ctx.state.as_deref();
            match run_recorded(&self.task, &self.locks, state, "schedule", now).await {
                Ok((outcome, record)) => Ok(observations(&outcome, &record)),
                Err(message) => Err(ProbeError::new(message)),
            }
        })
    }
}

/// One real run of `task` under its lock, recorded in `state` (when there is one) as started
/// by `trigger`. `Err` says why it failed or did not start.
pub async fn run_recorded(
    task: &Task,
    locks: &std::path::Path,
    state: Option<&dyn ProbeState>,
    trigger: &str,
    now: Timestamp,
) -> Result<(Outcome, RunRecord), String> {
    let _lock = RunLock::acquire(locks, &task.name, now).map_err(|busy| busy.to_string())?;
    let started = Instant::now();
    let result = task.run(Run { dry_run: false, now }).await;
    let duration = started.elapsed();
    let (ok, summary, output, changes) = match &result {
        Ok(outcome) => (true, outcome.summary.clone(), outcome.output.clone(), serde_json::json!(outcome.changes)),
        Err(failure) => (false, failure.message.clone(), failure.output.clone(), serde_json::json!({})),
    };
    let record = RunRecord { started: now, duration, ok, trigger: trigger.to_string(), summary, output, changes };
    if let Some(state) = state
        && let Err(e) = state.record_run(&task.name, &record).await
    {
        tracing::warn!(task = %task.name, error = %e, "cannot record the task's run");
    }
    match result {
        Ok(outcome) => Ok((outcome, record)),
        Err(failure) => Err(failure.message),
    }
}

fn observations(outcome: &Outcome, record: &RunRecord) -> Observations {
    let mut obs = Observations::new();
    obs.insert("latency", Value::duration(record.duration));
    obs.insert("summary", Value::String(outcome.summary.clone()));
    obs.insert("skipped", Value::Bool(false));
    obs.insert("changes", Value::Json(serde_json::json!(outcome.changes)));
    obs
}
