//! `heartbeat`: a job that should check in — a cron job, a queue worker, a backup script — pings
//! `/ping/{id}` when it runs; the check fails when a ping is late or reported a failure.
//!
//! Pings arrive through the daemon and are kept in the store; this probe only judges them.
//! The id is a secret (whoever knows it can ping), so messages, which viewers and `/health`
//! show, never contain it; only the target does, shown to responders and admins.
//!
//! Due times come from `every` (a ping at least that often) or `schedule` (a cron expression:
//! a ping after each scheduled time), each with `grace` for the job to finish.

use crate::error::ProbeError;
use crate::kind::{Kind, Run, Spec};
use std::time::Duration;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Field, Observations, Schema, Type, Value};
use upkeep_schedule::Cadence;

#[derive(Debug)]
pub struct Heartbeat {
    id: String,
    grace: Duration,
    /// When pings are due: at least every interval, or after each time a cron names.
    due: Cadence,
}

/// Heartbeats are judged at least this often, whenever their pings are due.
const JUDGE_EVERY: Duration = Duration::from_secs(60);

impl Kind for Heartbeat {
    const KIND: &'static str = "heartbeat";

    fn schema() -> Schema {
        Schema::new(&[Field::new(
            "age",
            Type::Duration,
            "time since the last ping (in the daemon, before the first ping: since it began watching)",
        )])
    }

    fn build(t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Self> {
        let id = t.string(d, "id");
        let grace = t.duration(d, "grace", Duration::from_secs(1)).map_or(Duration::from_secs(300), |g| g.into_inner());
        let id = match id {
            Some(id) if valid_id(id.get_ref()) => id.into_inner(),
            Some(id) => {
                d.error(
                    id.span(),
                    format!("heartbeat id `{}` cannot be used in a URL", id.get_ref()),
                    Some("use letters, digits, `-` and `_`; a long random id keeps strangers from pinging".into()),
                );
                return None;
            }
            None => spec.name.to_string(),
        };
        let due = match spec.cadence {
            Cadence::Every(_) if !t.has("every") => {
                d.error(
                    t.span(),
                    format!("{} needs `every` (how often pings come) or `schedule` (when, as cron)", t.context()),
                    Some("for example: every = \"1h\" or schedule = \"0 2 * * *\"".into()),
                );
                return None;
            }
            cadence => cadence.clone(),
        };
        Some(Heartbeat { id, grace, due })
    }

    /// `every`/`schedule` say when pings are due, so the check is judged every minute (or every
    /// `every` when that is shorter).
    fn cadence(&self, _configured: Cadence) -> Cadence {
        match &self.due {
            Cadence::Every(every) => Cadence::Every((*every).min(JUDGE_EVERY)),
            Cadence::Cron(_) => Cadence::Every(JUDGE_EVERY),
        }
    }

    fn keeps_state(&self) -> bool {
        true
    }

    fn heartbeat_id(&self) -> Option<&str> {
        Some(&self.id)
    }

    fn target(&self) -> String {
        format!("/ping/{}", self.id)
    }

    async fn observe(&self, run: &Run<'_>) -> Result<Observations, ProbeError> {
        let Some(state) = &run.ctx.state else {
            return Err(ProbeError::new("heartbeats need the store in data_dir, which is not open"));
        };
        let now = run.ctx.clock.now();
        let ping = state.last_ping(&self.id).await.map_err(|e| ProbeError::new(format!("cannot read pings: {e}")))?;
        // Until the first ping, the daemon counts from when it began watching the check, as if
        // it had pinged then: a new nightly job is not late before its first night. A one-shot
        // `upkeep check` has watched nothing, so there the missing ping is the answer.
        let (last, since) = match ping {
            Some(ping) if !ping.ok => {
                return Err(ProbeError::new(format!(
                    "the last ping, {} ago, reported a failure (/fail)",
                    age(now, ping.at)
                )));
            }
            Some(ping) => (ping.at, format!("last ping {} ago", age(now, ping.at))),
            None if run.ctx.long_running => {
                let watching = state
                    .watching_since(run.check)
                    .await
                    .map_err(|e| ProbeError::new(format!("cannot read the check's history: {e}")))?
                    .unwrap_or(now);
                let since = format!("no ping received yet; watching since {} ago", age(now, watching));
                (watching, since)
            }
            None => return Err(ProbeError::new("no ping received yet")),
        };
        match &self.due {
            Cadence::Every(period) => {
                if now.duration_since(last).as_secs_f64() > (*period + self.grace).as_secs_f64() {
                    return Err(ProbeError::new(format!(
                        "{since}; expected every {} (grace {})",
                        Value::duration(*period),
                        Value::duration(self.grace)
                    )));
                }
            }
            Cadence::Cron(cron) => {
                let grace = jiff::SignedDuration::try_from(self.grace).unwrap_or_default();
                let cutoff = now.checked_sub(grace).unwrap_or(now);
                if let Some(due) = self.due.previous_at_or_before(cutoff)
                    && last < due
                {
                    return Err(ProbeError::new(format!(
                        "no ping since the run due at {} (schedule {}, grace {}); {since}",
                        due.to_zoned(cron.zone().clone()).strftime("%Y-%m-%d %H:%M %Z"),
                        self.due.describe(),
                        Value::duration(self.grace)
                    )));
                }
            }
        }
        let mut obs = Observations::new();
        obs.insert("age", age(now, last));
        Ok(obs)
    }
}

/// Time from `then` to `now`, never negative.
fn age(now: jiff::Timestamp, then: jiff::Timestamp) -> Value {
    Value::Duration(now.duration_since(then).as_secs_f64().max(0.0))
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
