//! `/api/v1/silences`: list (viewers), add and expire (responders and admins, never anonymous:
//! with no users and tokens configured the API reads but changes nothing). A signed-in browser
//! must send its session's form token in `X-CSRF-Token` to change anything; a bearer token
//! needs none.

use crate::AppState;
use crate::api::problem;
use crate::auth::Principal;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Extension, Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use upkeep_access::Role;
use upkeep_alert::{Matcher, Silence};

type ApiResult = Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)>;

/// A responder or admin; a browser session also proves it sent the form token.
fn may_change(principal: &Principal, headers: &HeaderMap) -> Result<String, (StatusCode, Json<Value>)> {
    crate::auth::author(
        principal,
        headers,
        Role::Responder,
        "silences are set by responders and admins",
        "changing silences",
    )
    .map_err(|(status, message)| problem(status, message))
}

pub async fn list(State(state): State<AppState>) -> ApiResult {
    // As stored: a read changes nothing, and shows what the CLI set before the engine takes it up.
    let silences = upkeep_daemon::stored_silences(state.daemon.store())
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let now = state.daemon.clock().now();
    Ok((StatusCode::OK, Json(silences.iter().map(|s| s.to_json(now)).collect())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSilence {
    matchers: Vec<String>,
    starts_at: Option<jiff::Timestamp>,
    ends_at: Option<jiff::Timestamp>,
    /// Instead of `ends_at`: how long from its start, as `2h`.
    duration: Option<String>,
    comment: String,
}

pub async fn add(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Json<NewSilence>, JsonRejection>,
) -> ApiResult {
    let author = may_change(&principal, &headers)?;
    let Json(body) = body.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let ends = match (body.ends_at, body.duration) {
        (Some(end), None) => Ends::At(end),
        (None, Some(text)) => Ends::After(text),
        _ => return Err(problem(StatusCode::BAD_REQUEST, "give either `ends_at` or `duration`")),
    };
    let silence = create(&state, &author, &body.matchers, body.starts_at, ends, &body.comment).await?;
    // Its state as of after it was made (it starts when it is made, unless told otherwise).
    Ok((StatusCode::CREATED, Json(silence.to_json(state.daemon.clock().now()))))
}

/// When a new silence ends.
pub enum Ends {
    At(jiff::Timestamp),
    /// A duration from its start, as `2h`.
    After(String),
}

/// Sets a silence in the store and in force: for the API and the dashboard's form alike.
pub async fn create(
    state: &AppState,
    author: &str,
    matchers: &[String],
    starts_at: Option<jiff::Timestamp>,
    ends: Ends,
    comment: &str,
) -> Result<Silence, (StatusCode, Json<Value>)> {
    let bad = |e: String| problem(StatusCode::BAD_REQUEST, e);
    let matchers = matchers.iter().map(|m| Matcher::parse(m)).collect::<Result<Vec<_>, _>>().map_err(bad)?;
    let now = state.daemon.clock().now();
    let starts = starts_at.unwrap_or(now);
    let ends = match ends {
        Ends::At(end) => end,
        Ends::After(text) => {
            let length = upkeep_config::parse_duration(&text).map_err(bad)?;
            let length = jiff::SignedDuration::try_from(length).map_err(|e| bad(e.to_string()))?;
            starts.checked_add(length).map_err(|e| bad(e.to_string()))?
        }
    };
    let silence = Silence::new(matchers, starts, ends, author, comment, now).map_err(bad)?;
    let doc = serde_json::to_value(&silence).unwrap_or_default();
    let store = state.daemon.store();
    store
        .save_silence(&silence.id, silence.ends_at, &doc)
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    state.daemon.alerting().refresh_silences().await;
    Ok(silence)
}

pub async fn expire(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    id: Result<Path<String>, PathRejection>,
) -> ApiResult {
    may_change(&principal, &headers)?;
    let Path(id) = id.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let silence = end(&state, &id).await?;
    Ok((StatusCode::OK, Json(silence.to_json(state.daemon.clock().now()))))
}

/// Ends a silence now (one that has ended stays as it was).
pub async fn end(state: &AppState, id: &str) -> Result<Silence, (StatusCode, Json<Value>)> {
    let store = state.daemon.store();
    let unavailable = |e: upkeep_store::StoreError| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
    let stored = upkeep_daemon::stored_silences(store).await.map_err(unavailable)?;
    let found = stored.into_iter().find(|s| s.id == id);
    let mut silence = found.ok_or_else(|| problem(StatusCode::NOT_FOUND, format!("no silence has id {id}")))?;
    if silence.expire(state.daemon.clock().now()) {
        let doc = serde_json::to_value(&silence).unwrap_or_default();
        store.save_silence(&silence.id, silence.ends_at, &doc).await.map_err(unavailable)?;
        state.daemon.alerting().refresh_silences().await;
    }
    Ok(silence)
}
