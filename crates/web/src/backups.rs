//! `/api/v1/backups` (each backup with its schedule, targets and standing: last run, last
//! success, last drill, RPO, RTO) and `/api/v1/backups/{name}/runs` (its runs and its drills)
//! for viewers; `POST /api/v1/backups/{name}/run` and `/drill` for admins queue a run or a
//! drill on the daemon's scheduler. Read from the history: no request opens the repository.

use crate::AppState;
use crate::api::problem;
use crate::auth::Principal;
use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use upkeep_access::Role;

type ApiResult = Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)>;

fn unavailable(e: impl std::fmt::Display) -> (StatusCode, Json<Value>) {
    problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

fn not_found(name: &str) -> (StatusCode, Json<Value>) {
    problem(StatusCode::NOT_FOUND, format!("there is no backup named `{name}`"))
}

pub async fn list(State(state): State<AppState>) -> ApiResult {
    let (plan, now) = (state.daemon.plan(), state.daemon.clock().now());
    let statuses = upkeep_daemon::backups::statuses(&plan, state.daemon.store(), now).await.map_err(unavailable)?;
    let backups: Vec<Value> = statuses.iter().map(|(b, s)| upkeep_daemon::backups::view(b, s, now)).collect();
    Ok((StatusCode::OK, Json(json!({"backups": backups}))))
}

pub async fn runs(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    query: Result<Query<crate::api::Limit>, QueryRejection>,
) -> ApiResult {
    let name = crate::api::path(name)?;
    let limit = crate::api::limit(query, 50)?;
    if !state.daemon.plan().backups.iter().any(|b| b.name == name) {
        return Err(not_found(&name));
    }
    let store = state.daemon.store();
    let runs = store.task_runs(Some(&name), limit).await.map_err(unavailable)?;
    let drills = store.task_runs(Some(&upkeep_backup::drill_name(&name)), limit).await.map_err(unavailable)?;
    Ok((StatusCode::OK, Json(json!({"backup": name, "runs": runs, "drills": drills}))))
}

pub async fn run(
    state: State<AppState>,
    principal: Extension<Principal>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
) -> ApiResult {
    queue(state, principal, headers, name, false).await
}

pub async fn drill(
    state: State<AppState>,
    principal: Extension<Principal>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
) -> ApiResult {
    queue(state, principal, headers, name, true).await
}

/// Queues the backup's scheduled check (or its drill's) to run now, after a run in progress;
/// its outcome arrives as that check's next result and history entry.
async fn queue(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    name: Result<Path<String>, PathRejection>,
    drill: bool,
) -> ApiResult {
    let name = crate::api::path(name)?;
    let what = if drill { "drilling a backup" } else { "running a backup" };
    let author = crate::auth::author(&principal, &headers, Role::Admin, "backups are run by admins", what)
        .map_err(|(status, message)| problem(status, message))?;
    let plan = state.daemon.plan();
    let Some(backup) = plan.backups.iter().find(|b| b.name == name) else { return Err(not_found(&name)) };
    let (check, scheduled, cli) = match drill {
        false => (backup.name.clone(), backup.cadence.is_some(), format!("upkeep backup run {name}")),
        true => (upkeep_backup::drill_name(&name), backup.drill.is_some(), "upkeep backup verify --drill".into()),
    };
    if !scheduled {
        let key = if drill { "drill" } else { "schedule" };
        return Err(problem(
            StatusCode::CONFLICT,
            format!("`{name}` has no `{key}`, so the daemon does not run it: use `{cli}`, or give it a `{key}`"),
        ));
    }
    if state.daemon.run_now().run(&check).is_none() {
        return Err(problem(StatusCode::CONFLICT, format!("a run of `{check}` is already waiting to start")));
    }
    let entry = upkeep_store::AuditEntry {
        at: state.daemon.clock().now(),
        actor: author,
        action: if drill { "backup.drill" } else { "backup.run" }.into(),
        target: name.clone(),
        detail: "queued from the API".into(),
    };
    state.daemon.store().audit(&entry).await.map_err(unavailable)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"backup": name, "check": check, "state": "queued"}))))
}
