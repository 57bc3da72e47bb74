//! `/api/v1/tasks` (each task with its next and last run), `/api/v1/tasks/{name}/runs` (its
//! history) and `/api/v1/maintenance` (the app's mode and the windows coming up) for viewers;
//! `POST /api/v1/tasks/{name}/run` and `POST /api/v1/maintenance` for admins; `/api/v1/audit`
//! (who switched what, and why) for admins.

use crate::AppState;
use crate::api::problem;
use crate::auth::Principal;
use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use upkeep_access::Role;

type ApiResult = Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)>;

fn unavailable(e: impl std::fmt::Display) -> (StatusCode, Json<Value>) {
    problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

pub async fn tasks(State(state): State<AppState>) -> ApiResult {
    let (plan, now) = (state.daemon.plan(), state.daemon.clock().now());
    let tasks = upkeep_daemon::maintenance::tasks(&plan, state.daemon.store(), now).await.map_err(unavailable)?;
    Ok((StatusCode::OK, Json(json!({"tasks": tasks}))))
}

pub async fn runs(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<crate::api::Limit>, QueryRejection>,
) -> ApiResult {
    let name = crate::api::path(name)?;
    let limit = crate::api::limit(query, 50)?;
    if !state.daemon.plan().tasks.iter().any(|t| t.name == name) {
        return Err(problem(StatusCode::NOT_FOUND, format!("there is no task named `{name}`")));
    }
    let runs = state.daemon.store().task_runs(Some(&name), limit).await.map_err(unavailable)?;
    Ok((StatusCode::OK, Json(json!({"task": name, "runs": runs}))))
}

/// Queues a run on the daemon's scheduler (after a run in progress); its result arrives as the
/// task's next check result and history entry.
pub async fn run(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let name = crate::api::path(name)?;
    let author = crate::auth::author(&principal, &headers, Role::Admin, "tasks are run by admins", "running a task")
        .map_err(|(status, message)| problem(status, message))?;
    if !state.daemon.plan().tasks.iter().any(|t| t.name == name) {
        return Err(problem(StatusCode::NOT_FOUND, format!("there is no task named `{name}`")));
    }
    if state.daemon.run_now().run(&name).is_none() {
        return Err(problem(StatusCode::CONFLICT, format!("a run of `{name}` is already waiting to start")));
    }
    let entry = upkeep_store::AuditEntry {
        at: state.daemon.clock().now(),
        actor: author,
        action: "task.run".into(),
        target: name.clone(),
        detail: "queued from the API".into(),
    };
    state.daemon.store().audit(&entry).await.map_err(unavailable)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"task": name, "state": "queued"}))))
}

pub async fn status(State(state): State<AppState>) -> ApiResult {
    let (plan, now) = (state.daemon.plan(), state.daemon.clock().now());
    let mode = match &plan.mode {
        Some(mode) => {
            let seen = mode.state().await;
            json!({"configured": true, "on": seen.on, "detail": seen.detail})
        }
        None => json!({"configured": false}),
    };
    let until = now.checked_add(jiff::SignedDuration::from_hours(24 * 30)).unwrap_or(now);
    let windows = upkeep_daemon::maintenance::upcoming_windows(&plan, now, until);
    Ok((StatusCode::OK, Json(json!({"mode": mode, "windows": windows}))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    on: bool,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    force: bool,
}

/// Switches the app's mode in the background (the gate checks and the verification can take
/// longer than a request may): the outcome is in `/api/v1/audit`, and in `GET` once it shows.
pub async fn switch(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Result<Json<Switch>, JsonRejection>,
) -> ApiResult {
    let author = crate::auth::author(
        &principal,
        &headers,
        Role::Admin,
        "maintenance mode is switched by admins",
        "switching maintenance mode",
    )
    .map_err(|(status, message)| problem(status, message))?;
    let Json(request) = body.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let plan = state.daemon.plan();
    if plan.mode.is_none() {
        return Err(problem(StatusCode::CONFLICT, upkeep_daemon::maintenance::SwitchError::NotConfigured.to_string()));
    }
    let daemon = state.daemon.clone();
    tokio::spawn(async move {
        let now = daemon.clock().now();
        let result = upkeep_daemon::maintenance::switch(
            &plan,
            daemon.store(),
            request.on,
            &author,
            &request.reason,
            request.force,
            now,
        )
        .await;
        match result {
            Ok(done) => tracing::info!(%author, %done, "maintenance mode switched"),
            Err(e) => tracing::warn!(%author, error = %e, "maintenance mode switch"),
        }
    });
    Ok((StatusCode::ACCEPTED, Json(json!({"on": request.on, "state": "switching", "see": "/api/v1/audit"}))))
}

pub async fn audit(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<crate::api::Limit>, QueryRejection>,
) -> ApiResult {
    if principal.role() < Role::Admin {
        return Err(problem(StatusCode::FORBIDDEN, "the audit log is for admins"));
    }
    let limit = crate::api::limit(query, 100)?;
    let entries = state.daemon.store().audit_log(limit).await.map_err(unavailable)?;
    Ok((StatusCode::OK, Json(json!({"entries": entries}))))
}
