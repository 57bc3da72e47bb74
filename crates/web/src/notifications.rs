//! `/api/v1/notifications` (the outbox: attempts, last error, delivered at) and
//! `/api/v1/channels` (each channel, and whether it is failing) for viewers;
//! `POST /api/v1/channels/{name}/test` sends a test notification through the outbox (admins).

use crate::AppState;
use crate::api::problem;
use crate::auth::Principal;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use upkeep_access::Role;
use upkeep_store::{Delivery, NotificationFilter};

type ApiResult = Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// pending, delivered, failed or expired.
    state: Option<String>,
    channel: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

pub async fn list(State(state): State<AppState>, query: Result<Query<ListQuery>, QueryRejection>) -> ApiResult {
    let Query(query) = query.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(problem(StatusCode::BAD_REQUEST, "`limit` must be between 1 and 1000"));
    }
    let wanted = match query.state.as_deref() {
        None => None,
        Some(s) => Some(
            Delivery::parse(s)
                .ok_or_else(|| problem(StatusCode::BAD_REQUEST, "`state` is pending, delivered, failed or expired"))?,
        ),
    };
    let filter = NotificationFilter {
        state: wanted,
        channel: query.channel,
        before: query.before,
        limit,
        key: None,
        key_prefix: None,
    };
    let rows = state
        .daemon
        .store()
        .notifications(&filter)
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let next = (rows.len() == limit as usize).then(|| rows.last().map(|r| r.id)).flatten();
    let shown: Vec<Value> = rows.iter().map(upkeep_daemon::notify::view).collect();
    Ok((StatusCode::OK, Json(json!({"notifications": shown, "next_before": next}))))
}

pub async fn channels(State(state): State<AppState>) -> ApiResult {
    let plan = state.daemon.plan();
    let channels = upkeep_daemon::notify::channel_states(state.daemon.store(), &plan.notifications)
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok((StatusCode::OK, Json(serde_json::to_value(channels).unwrap_or_default())))
}

pub async fn test(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let Path(name) = name.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let author = crate::auth::author(
        &principal,
        &headers,
        Role::Admin,
        "test notifications are sent by admins",
        "sending a test notification",
    )
    .map_err(|(status, message)| problem(status, message))?;
    let key = state.daemon.notifying().test(&name).await.map_err(|e| problem(StatusCode::NOT_FOUND, e))?;
    tracing::info!(channel = %name, %author, "test notification queued");
    Ok((StatusCode::ACCEPTED, Json(json!({"channel": name, "key": key, "state": "pending"}))))
}
