//! `/api/v1/checks...`: the same facts the dashboard shows, as JSON for scripts.

use crate::AppState;
use crate::auth::{Principal, target_for};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{Value, json};
use upkeep_daemon::Daemon;
use upkeep_probe::Check;

type ApiResult = Result<Json<Value>, (StatusCode, Json<Value>)>;

/// A JSON error answer: `{"error": message}`.
pub(crate) fn problem(status: StatusCode, message: impl Into<String>) -> (StatusCode, Json<Value>) {
    (status, Json(json!({"error": message.into()})))
}

use upkeep_result::latency_ms as ms;

/// A path parameter, or a JSON 400 saying what is wrong with it.
pub(crate) fn path(path: Result<Path<String>, PathRejection>) -> Result<String, (StatusCode, Json<Value>)> {
    path.map(|Path(name)| name).map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))
}

fn summary_json(daemon: &Daemon, check: &Check, principal: &Principal) -> Value {
    let live = daemon.live().get(&check.name);
    json!({
        "name": check.name,
        "kind": check.kind,
        "target": target_for(check, principal),
        "component": check.component,
        "critical": check.critical,
        "depends_on": check.depends_on,
        "status": upkeep_daemon::CheckState::of(live.as_ref()).as_str(),
        "since": live.as_ref().map(|l| l.since.to_string()),
        "last_run": live.as_ref().map(|l| l.result.at.to_string()),
        "latency_ms": live.as_ref().map(|l| ms(l.result.latency)),
        "message": live.as_ref().and_then(|l| l.result.message.clone()),
    })
}

pub async fn checks(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
) -> impl axum::response::IntoResponse {
    let daemon = &state.daemon;
    // Viewers and responders see different targets (heartbeat ids), so each has its own copy.
    let key = if principal.role() >= upkeep_access::Role::Responder { "checks" } else { "checks-viewer" };
    let (status, body) = state.rendered.get_or_render(key, daemon.live().version(), || {
        let list = Value::Array(daemon.plan().checks.iter().map(|c| summary_json(daemon, c, &principal)).collect());
        (StatusCode::OK, serde_json::to_vec(&list).unwrap_or_default())
    });
    (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body)
}

pub async fn check(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    name: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let name = path(name)?;
    let daemon = &state.daemon;
    let plan = daemon.plan();
    let checks = &plan.checks;
    let check = checks
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| problem(StatusCode::NOT_FOUND, format!("no check named {name}")))?;
    let mut body = summary_json(daemon, check, &principal);
    let now = daemon.clock().now();
    let mut windows = serde_json::Map::new();
    for (label, secs) in [("24h", 86_400), ("7d", 7 * 86_400), ("30d", 30 * 86_400)] {
        let from = now - jiff::SignedDuration::from_secs(secs);
        let summary = daemon
            .store()
            .latencies(from, now, Some(&check.name))
            .await
            .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?
            .remove(&check.name)
            .unwrap_or_default();
        windows.insert(
            label.into(),
            json!({
                "runs": summary.total,
                "availability": summary.availability(),
                "p95_ms": summary.quantile(0.95).map(ms),
                "p99_ms": summary.quantile(0.99).map(ms),
            }),
        );
    }
    body["windows"] = Value::Object(windows);
    body["observations"] =
        daemon.live().get(&check.name).map_or(Value::Null, |l| l.result.to_json()["observations"].take());
    body["expect"] = check.expect.iter().map(|p| Value::String(p.source().to_string())).collect();
    Ok(Json(body))
}

#[derive(Deserialize)]
pub struct Range {
    from: Option<String>,
    to: Option<String>,
    limit: Option<u32>,
}

/// Every SLO: its SLI and error budget over its window, and its burn rates.
pub async fn slos(State(state): State<AppState>) -> ApiResult {
    let reports = state.daemon.slo_reports().await.map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e))?;
    Ok(Json(Value::Array(reports.iter().map(upkeep_slo::Report::to_json).collect())))
}

/// Every alert: configured rules, each check's down and flapping alerts, each SLO's burn-rate
/// alerts, with state, since, value, labels and annotations.
pub async fn alerts(State(state): State<AppState>) -> ApiResult {
    Ok(Json(Value::Array(state.daemon.alerting().list().await)))
}

#[derive(Deserialize)]
pub struct EventsQuery {
    before: Option<i64>,
    key: Option<String>,
    limit: Option<u32>,
}

/// The history of alert state changes and notifications, newest first; `next_before` pages on.
pub async fn alert_events(
    State(state): State<AppState>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(problem(StatusCode::BAD_REQUEST, "`limit` must be between 1 and 1000"));
    }
    let rows = state
        .daemon
        .store()
        .alert_events(query.before, query.key.as_deref(), limit)
        .await
        .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    let next = (rows.len() == limit as usize).then(|| rows.last().map(|r| r.id)).flatten();
    let events: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            let mut event = row.event;
            event["id"] = json!(row.id);
            event
        })
        .collect();
    Ok(Json(json!({"events": events, "next_before": next})))
}

/// The most results one request returns.
const MAX_LIMIT: u32 = 10_000;
/// A response stops growing at about this size; `next_to` says where the next page starts.
const MAX_RESPONSE_BYTES: usize = 4 << 20;
/// Results read from the store at a time, so one request never holds more than a page of rows.
const PAGE: u32 = 200;

/// Raw results, newest first. `from`/`to` are RFC 3339 times (default: the last hour). A
/// response holds at most `limit` results and about 4 MiB; when it stops short, `next_to` is
/// the `to` of the next page.
pub async fn results(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    range: Result<Query<Range>, QueryRejection>,
) -> ApiResult {
    let name = path(name)?;
    let Query(range) = range.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let daemon = &state.daemon;
    if !daemon.plan().checks.iter().any(|c| c.name == name) {
        return Err(problem(StatusCode::NOT_FOUND, format!("no check named {name}")));
    }
    let now = daemon.clock().now();
    let parse = |text: &Option<String>, default: jiff::Timestamp, what: &str| match text {
        None => Ok(default),
        Some(t) => t.parse::<jiff::Timestamp>().map_err(|_| {
            problem(StatusCode::BAD_REQUEST, format!("`{what}` must be an RFC 3339 time such as 2026-11-25T10:00:00Z"))
        }),
    };
    let to = parse(&range.to, now, "to")?;
    let from = parse(&range.from, to - jiff::SignedDuration::from_hours(1), "from")?;
    if from > to {
        return Err(problem(StatusCode::BAD_REQUEST, "`from` is after `to`"));
    }
    let limit = match range.limit {
        None => 1000,
        Some(n @ 1..=MAX_LIMIT) => n,
        Some(n) => {
            return Err(problem(StatusCode::BAD_REQUEST, format!("`limit` is {n}; it must be 1 to {MAX_LIMIT}")));
        }
    };
    let (list, next_to) = results_page(daemon, &name, from, to, limit).await?;
    Ok(Json(json!({
        "check": name,
        "from": from.to_string(),
        "to": to.to_string(),
        "results": Value::Array(list),
        "next_to": next_to.map(|t| t.to_string()),
    })))
}

/// Up to `limit` results of `[from, to)` within the response budget, and where the rest begin.
async fn results_page(
    daemon: &Daemon,
    name: &str,
    from: jiff::Timestamp,
    mut to: jiff::Timestamp,
    limit: u32,
) -> Result<(Vec<Value>, Option<jiff::Timestamp>), (StatusCode, Json<Value>)> {
    let (mut list, mut bytes) = (Vec::new(), 0usize);
    while (list.len() as u32) < limit {
        let want = PAGE.min(limit - list.len() as u32);
        let rows = daemon
            .store()
            .results(name, from, to, want)
            .await
            .map_err(|e| problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
        let exhausted = (rows.len() as u32) < want;
        for r in rows {
            let mut item = r.to_json();
            if let Some(fields) = item.as_object_mut() {
                fields.remove("check");
            }
            bytes += item.to_string().len();
            if bytes > MAX_RESPONSE_BYTES && !list.is_empty() {
                return Ok((list, Some(to)));
            }
            to = r.at;
            list.push(item);
        }
        if exhausted {
            return Ok((list, None));
        }
    }
    Ok((list, Some(to)))
}

/// `?limit=N` of a history route: 1 to 1000, `default` when absent.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    limit: Option<u32>,
}

pub fn limit(
    query: Result<axum::extract::Query<Limit>, axum::extract::rejection::QueryRejection>,
    default: u32,
) -> Result<u32, (StatusCode, Json<Value>)> {
    let axum::extract::Query(query) = query.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let limit = query.limit.unwrap_or(default);
    if !(1..=1000).contains(&limit) {
        return Err(problem(StatusCode::BAD_REQUEST, "`limit` must be between 1 and 1000"));
    }
    Ok(limit)
}
