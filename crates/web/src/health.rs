//! `/health`: the watched system's health in the shape seed 000's HealthController promised —
//! done right: 200 when healthy or degraded, 503 when unhealthy, times as numbers.

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let daemon = &state.daemon;
    let mut checks = Map::new();
    let (mut critical_down, mut other_down) = (false, false);
    for check in daemon.checks().iter() {
        let Some(live) = daemon.live().get(&check.name) else { continue };
        let r = &live.result;
        if !r.ok {
            if check.critical { critical_down = true } else { other_down = true }
        }
        checks.insert(
            check.name.clone(),
            json!({
                "status": if r.ok { "ok" } else { "error" },
                "response_time_ms": (r.latency.as_secs_f64() * 1e4).round() / 10.0,
                "message": r.message,
            }),
        );
    }
    let (status, code) = match (critical_down, other_down) {
        (true, _) => ("unhealthy", StatusCode::SERVICE_UNAVAILABLE),
        (false, true) => ("degraded", StatusCode::OK),
        _ => ("healthy", StatusCode::OK),
    };
    let body = json!({"status": status, "timestamp": daemon.clock().now().to_string(), "checks": checks});
    (code, Json(body))
}
