//! `/health`: the watched system's health in the shape seed 000's HealthController promised —
//! done right: 200 when healthy or degraded, 503 when unhealthy, times as numbers.

use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};
use upkeep_daemon::Overall;

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
    let health = upkeep_daemon::health(&daemon.plan().checks, daemon.live());
    let mut checks = Map::new();
    for (check, live) in &health.checks {
        let Some(live) = live else { continue };
        let r = &live.result;
        checks.insert(
            check.name.clone(),
            json!({
                "status": r.status,
                "response_time_ms": upkeep_result::latency_ms(r.latency),
                "message": r.message,
            }),
        );
    }
    let code = match health.overall {
        Overall::Unhealthy => StatusCode::SERVICE_UNAVAILABLE,
        Overall::Degraded | Overall::Healthy => StatusCode::OK,
    };
    let body =
        json!({"status": health.overall.as_str(), "timestamp": daemon.clock().now().to_string(), "checks": checks});
    (code, body)
}
