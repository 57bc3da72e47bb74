//! The record every check run ends in.

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
}

/// `(check, time, status, latency, observations)`, plus the message that explains a failure.
#[derive(Clone, Debug)]
pub struct CheckResult {
    pub check: String,
    pub kind: &'static str,
    pub at: jiff::Timestamp,
    pub status: Status,
    pub latency: Duration,
    pub message: Option<String>,
    pub observations: Observations,
}

impl CheckResult {
    pub fn is_ok(&self) -> bool {
        self.status == Status::Ok
    }

    /// The `--json` shape of `upkeep check`: name, kind, status, latency_ms, message, observations.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.check,
            "kind": self.kind,
            "status": self.status,
            "latency_ms": (self.latency.as_secs_f64() * 1e6).round() / 1e3,
            "message": self.message,
            "observations": self.observations.to_json(),
        })
    }
}
