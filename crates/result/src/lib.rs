//! The record every run ends in — a probe, and later a backup, a restore drill or a task:
//! `(check, time, status, latency, observations)`, plus the message that explains a failure.
//! It flows unchanged from the probe through the writer to the store and to every consumer of
//! committed results (live state, metrics, and the SLOs, alerts and status page to come), and is
//! turned into JSON in one place.

mod bound;

pub use bound::{MAX_DOCUMENT, MAX_MESSAGE, MAX_STRING, MAX_TOTAL, bound, bound_message, shorten};

use serde::Serialize;
use std::time::Duration;
use upkeep_expr::Observations;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
        }
    }

    pub fn from_ok(ok: bool) -> Status {
        if ok { Status::Ok } else { Status::Error }
    }
}

/// One run of a check.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckResult {
    pub check: String,
    /// When the run started.
    pub at: jiff::Timestamp,
    pub status: Status,
    pub latency: Duration,
    pub message: Option<String>,
    /// What the run saw. Read back from the store, these are JSON values (kept only for failures
    /// and status changes, and bounded: see [`bound`]).
    pub observations: Observations,
}

impl CheckResult {
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// The observations as kept: bounded JSON, `None` when there are none.
    pub fn kept_observations(&self) -> Option<serde_json::Value> {
        (!self.observations.is_empty()).then(|| bound(self.observations.to_json()))
    }

    /// This result as it is kept in memory and in the store: message and observations bounded.
    /// Most results are small already and are simply copied.
    pub fn kept(&self) -> CheckResult {
        if !self.may_need_bounding() {
            return self.clone();
        }
        CheckResult {
            message: bound_message(self.message.clone()),
            observations: self.kept_observations().map(Observations::from_json).unwrap_or_default(),
            ..self.clone()
        }
    }

    /// Whether bounding could change anything: a long message or string, or a document.
    fn may_need_bounding(&self) -> bool {
        use upkeep_expr::Value;
        self.message.as_ref().is_some_and(|m| m.len() > MAX_MESSAGE)
            || self.observations.iter().any(|(_, value)| match value {
                Value::String(text) => text.len() > MAX_STRING,
                Value::List(_) | Value::Json(_) => true,
                _ => false,
            })
    }

    /// The one JSON shape of a result, for the CLI's `--json` and the API:
    /// `{"check", "at", "status", "latency_ms", "message", "observations"}` (observations `null`
    /// when there are none).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "check": self.check,
            "at": self.at.to_string(),
            "status": self.status,
            "latency_ms": latency_ms(self.latency),
            "message": self.message,
            "observations": (!self.observations.is_empty()).then(|| self.observations.to_json()),
        })
    }
}

/// A latency in milliseconds as every JSON answer shows it: to the microsecond.
pub fn latency_ms(latency: Duration) -> f64 {
    (latency.as_secs_f64() * 1e6).round() / 1e3
}

#[cfg(test)]
mod tests {
    use super::*;
    use upkeep_expr::Value;

    #[test]
    fn one_json_shape_with_microsecond_latency() {
        let mut observations = Observations::new();
        observations.insert("status", Value::Number(503.0));
        let result = CheckResult {
            check: "api".into(),
            at: "2026-12-01T10:00:00Z".parse().unwrap(),
            status: Status::Error,
            latency: Duration::from_micros(12_345),
            message: Some("expected status == 200, got 503".into()),
            observations,
        };
        assert_eq!(
            result.to_json(),
            serde_json::json!({"check": "api", "at": "2026-12-01T10:00:00Z", "status": "error", "latency_ms": 12.345,
                "message": "expected status == 200, got 503", "observations": {"status": 503.0}})
        );
        let kept = result.kept();
        assert_eq!(kept.to_json(), result.to_json());
        let quiet = CheckResult { observations: Observations::new(), ..result };
        assert_eq!(quiet.to_json()["observations"], serde_json::Value::Null);
    }
}
