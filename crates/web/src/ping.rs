//! `/ping/{id}` and `/ping/{id}/fail`: heartbeats from cron jobs, workers and scripts, by GET or
//! POST as healthchecks.io accepts them. An unknown id is a 404, so a typo shows up at once. A
//! ping runs its check at once, so it is a result (and on `/health`) right away.

use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use upkeep_store::Ping;

/// Only the start of a ping's body is kept (a script's last lines, say).
const MAX_BODY: usize = 10_000;

pub async fn ok(state: State<AppState>, id: Path<String>, body: String) -> (StatusCode, &'static str) {
    record(state, id, body, true).await
}

pub async fn fail(state: State<AppState>, id: Path<String>, body: String) -> (StatusCode, &'static str) {
    record(state, id, body, false).await
}

async fn record(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: String,
    ok: bool,
) -> (StatusCode, &'static str) {
    let daemon = &state.daemon;
    let plan = daemon.plan();
    let Some(check) = plan.checks.iter().find(|c| c.heartbeat_id() == Some(id.as_str())) else {
        return (StatusCode::NOT_FOUND, "no heartbeat check has this id\n");
    };
    let mut body = body;
    if body.len() > MAX_BODY {
        let cut = (0..=MAX_BODY).rev().find(|&i| body.is_char_boundary(i)).unwrap_or(0);
        body.truncate(cut);
    }
    let ping = Ping { at: daemon.clock().now(), ok };
    match daemon.store().record_ping(&id, &ping, (!body.is_empty()).then_some(body.as_str())).await {
        Ok(()) => {
            // Judged at once, not at the check's next run: a ping is a result right away.
            let _ = daemon.run_now().run(&check.name);
            (StatusCode::OK, "OK\n")
        }
        Err(e) => {
            tracing::error!("cannot record a ping for {id}: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "cannot record the ping now; retry\n")
        }
    }
}
