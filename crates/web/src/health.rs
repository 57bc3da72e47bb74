//! `/health`: the watched system's health in the shape seed 000's HealthController promised —
//! done right: 200 when healthy or degraded, 503 when unhealthy, times as numbers.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

pub async fn health(State(state): State<AppState>) -> impl IntoResponse {
    let version = state.daemon.live().version();
    let (status, body) = state.rendered.get_or_render("health", version, || {
        let (status, body) = render(&state);
        (status, serde_json::to_vec(&body).unwrap_or_default())
    });
    (status, [(header::CONTENT_TYPE, "application/json")], body)
}

fn render(state: &AppState) -> (StatusCode, Value) {
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
    (code, body)
}
