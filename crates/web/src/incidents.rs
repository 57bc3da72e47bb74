//! `/api/v1/incidents` and `/api/v1/oncall`: viewers read; responders and admins open, acknowledge,
//! note, move on, resolve, name a commander, attach a post-mortem and set overrides (each change
//! audited). A change wakes the daemon's incident timer, so an acknowledgement stops escalation
//! at once.

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
use upkeep_daemon::incidents::{self, ChangeError};
use upkeep_incident::{Incident, Opening, Override, Refusal, Status};
use upkeep_store::IncidentFilter;

type ApiResult = Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)>;
type Problem = (StatusCode, Json<Value>);

fn unavailable(e: impl std::fmt::Display) -> Problem {
    problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

fn responder(principal: &Principal, headers: &HeaderMap, what: &str) -> Result<String, Problem> {
    crate::auth::author(principal, headers, Role::Responder, "incidents are worked by responders and admins", what)
        .map_err(|(status, message)| problem(status, message))
}

fn id(path: Result<Path<i64>, PathRejection>) -> Result<i64, Problem> {
    path.map(|Path(id)| id).map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))
}

fn body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, Problem> {
    body.map(|Json(b)| b).map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))
}

#[derive(Deserialize)]
pub struct ListQuery {
    /// `open` (default) or `all`.
    status: Option<String>,
    limit: Option<u32>,
}

pub async fn list(State(state): State<AppState>, query: Result<Query<ListQuery>, QueryRejection>) -> ApiResult {
    let Query(q) = query.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let open = match q.status.as_deref() {
        None | Some("open") => true,
        Some("all") => false,
        Some(other) => return Err(problem(StatusCode::BAD_REQUEST, format!("`status` is open or all, not `{other}`"))),
    };
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(problem(StatusCode::BAD_REQUEST, "`limit` is 1 to 1000"));
    }
    let list = incidents::list(state.daemon.store(), &IncidentFilter { open, limit, ..Default::default() })
        .await
        .map_err(unavailable)?;
    let docs: Vec<Value> = list.iter().map(|(i, _)| serde_json::to_value(i).unwrap_or_default()).collect();
    Ok((StatusCode::OK, Json(json!({ "incidents": docs }))))
}

async fn load(state: &AppState, id: i64) -> Result<Incident, Problem> {
    match incidents::load(state.daemon.store(), id).await.map_err(unavailable)? {
        Some((i, _)) => Ok(i),
        None => Err(problem(StatusCode::NOT_FOUND, format!("there is no incident #{id}"))),
    }
}

pub async fn show(State(state): State<AppState>, path: Result<Path<i64>, PathRejection>) -> ApiResult {
    let incident = load(&state, id(path)?).await?;
    let view = incidents::view(&state.daemon.plan(), state.daemon.store(), incident, state.daemon.clock().now())
        .await
        .map_err(unavailable)?;
    Ok((StatusCode::OK, Json(serde_json::to_value(&view).unwrap_or_default())))
}

pub async fn postmortem(State(state): State<AppState>, path: Result<Path<i64>, PathRejection>) -> ApiResult {
    let incident = load(&state, id(path)?).await?;
    let md =
        incidents::postmortem(&state.daemon.plan(), state.daemon.store(), &incident, state.daemon.clock().now()).await;
    Ok((StatusCode::OK, Json(json!({ "incident": incident.id, "markdown": md }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewIncident {
    severity: String,
    title: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    components: Vec<String>,
}

pub async fn open(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    new: Result<Json<NewIncident>, JsonRejection>,
) -> ApiResult {
    let author = responder(&principal, &headers, "opening an incident")?;
    let new = body(new)?;
    let plan = state.daemon.plan();
    if plan.incidents.severity(&new.severity).is_none() {
        return Err(problem(StatusCode::BAD_REQUEST, format!("`{}` is not a severity", new.severity)));
    }
    if new.title.trim().is_empty() || new.title.len() > 500 {
        return Err(problem(StatusCode::BAD_REQUEST, "`title` must be 1 to 500 characters"));
    }
    let opening = Opening {
        severity: new.severity,
        title: new.title,
        kind: new.kind,
        components: new.components,
        group: None,
        auto_resolve: false,
        by: author.clone(),
    };
    let now = state.daemon.clock().now();
    let incident = incidents::open(state.daemon.store(), &plan, opening, now).await.map_err(unavailable)?;
    audit(&state, &author, "incident.open", incident.id, &incident.title).await?;
    state.daemon.incidents().poke();
    Ok((StatusCode::CREATED, Json(serde_json::to_value(&incident).unwrap_or_default())))
}

/// Makes a change, audits it and wakes the incident timer: for the API and the dashboard's forms.
pub(crate) async fn changed<F>(state: &AppState, author: &str, id: i64, action: &str, detail: &str, f: F) -> ApiResult
where
    F: FnMut(&mut Incident) -> Result<(), Refusal>,
{
    let plan = state.daemon.plan();
    match incidents::change(state.daemon.store(), &plan, id, f).await {
        Ok(incident) => {
            audit(state, author, action, id, detail).await?;
            state.daemon.incidents().poke();
            Ok((StatusCode::OK, Json(serde_json::to_value(&incident).unwrap_or_default())))
        }
        Err(ChangeError::NotFound(id)) => Err(problem(StatusCode::NOT_FOUND, format!("there is no incident #{id}"))),
        Err(ChangeError::Refused(why)) => Err(problem(StatusCode::CONFLICT, why)),
        Err(ChangeError::Store(e)) => Err(unavailable(e)),
    }
}

async fn audit(state: &AppState, actor: &str, action: &str, id: i64, detail: &str) -> Result<(), Problem> {
    let entry = upkeep_store::AuditEntry {
        at: state.daemon.clock().now(),
        actor: actor.to_string(),
        action: action.into(),
        target: format!("incident #{id}"),
        detail: detail.chars().take(500).collect(),
    };
    state.daemon.store().audit(&entry).await.map_err(unavailable)
}

pub async fn ack(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    path: Result<Path<i64>, PathRejection>,
) -> ApiResult {
    let author = responder(&principal, &headers, "acknowledging an incident")?;
    let (id, now) = (id(path)?, state.daemon.clock().now());
    changed(&state, &author, id, "incident.ack", "", |i| i.acknowledge(&author, now, None)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    text: String,
}

pub async fn note(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    path: Result<Path<i64>, PathRejection>,
    text: Result<Json<Text>, JsonRejection>,
) -> ApiResult {
    let author = responder(&principal, &headers, "adding a note")?;
    let (id, text, now) = (id(path)?, body(text)?.text, state.daemon.clock().now());
    if text.trim().is_empty() || text.len() > 10_000 {
        return Err(problem(StatusCode::BAD_REQUEST, "`text` must be 1 to 10000 characters"));
    }
    changed(&state, &author, id, "incident.note", &text, |i| {
        i.note(&author, now, &text);
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewStatus {
    status: String,
    text: Option<String>,
}

pub async fn status(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    path: Result<Path<i64>, PathRejection>,
    new: Result<Json<NewStatus>, JsonRejection>,
) -> ApiResult {
    let author = responder(&principal, &headers, "changing an incident's status")?;
    let (id, new, now) = (id(path)?, body(new)?, state.daemon.clock().now());
    let status = Status::parse(&new.status).map_err(|e| problem(StatusCode::BAD_REQUEST, e))?;
    changed(&state, &author, id, "incident.status", status.as_str(), |i| {
        i.set_status(status, &author, now, new.text.as_deref())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaybeText {
    text: Option<String>,
}

pub async fn resolve(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    path: Result<Path<i64>, PathRejection>,
    bytes: axum::body::Bytes,
) -> ApiResult {
    let author = responder(&principal, &headers, "resolving an incident")?;
    let (id, now) = (id(path)?, state.daemon.clock().now());
    // The body is optional: `{"text": "..."}` or nothing.
    let text = match bytes.is_empty() {
        true => None,
        false => {
            serde_json::from_slice::<MaybeText>(&bytes)
                .map_err(|e| problem(StatusCode::BAD_REQUEST, e.to_string()))?
                .text
        }
    };
    changed(&state, &author, id, "incident.resolve", "", |i| i.resolve(&author, now, text.as_deref())).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commander {
    person: String,
}

pub async fn commander(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    path: Result<Path<i64>, PathRejection>,
    who: Result<Json<Commander>, JsonRejection>,
) -> ApiResult {
    let author = responder(&principal, &headers, "naming a commander")?;
    let (id, who, now) = (id(path)?, body(who)?.person, state.daemon.clock().now());
    if who.trim().is_empty() || who.len() > 200 {
        return Err(problem(StatusCode::BAD_REQUEST, "`person` must be 1 to 200 characters"));
    }
    changed(&state, &author, id, "incident.commander", &who, |i| {
        i.set_commander(&who, &author, now);
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attach {
    location: String,
}

pub async fn attach_postmortem(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    path: Result<Path<i64>, PathRejection>,
    attach: Result<Json<Attach>, JsonRejection>,
) -> ApiResult {
    let author = responder(&principal, &headers, "attaching a post-mortem")?;
    let (id, location, now) = (id(path)?, body(attach)?.location, state.daemon.clock().now());
    if location.trim().is_empty() || location.len() > 2000 {
        return Err(problem(StatusCode::BAD_REQUEST, "`location` must be 1 to 2000 characters"));
    }
    changed(&state, &author, id, "incident.postmortem", &location, |i| {
        i.attach_postmortem(&location, &author, now);
        Ok(())
    })
    .await
}

#[derive(Deserialize)]
pub struct Days {
    days: Option<u32>,
}

pub async fn measures(State(state): State<AppState>, query: Result<Query<Days>, QueryRejection>) -> ApiResult {
    let Query(q) = query.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let days = q.days.unwrap_or(30);
    if !(1..=3660).contains(&days) {
        return Err(problem(StatusCode::BAD_REQUEST, "`days` is 1 to 3660"));
    }
    let m = incidents::measures(state.daemon.store(), days, state.daemon.clock().now()).await.map_err(unavailable)?;
    Ok((StatusCode::OK, Json(serde_json::to_value(m).unwrap_or_default())))
}

#[derive(Deserialize)]
pub struct At {
    at: Option<String>,
}

pub async fn oncall(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    query: Result<Query<At>, QueryRejection>,
) -> ApiResult {
    let Query(q) = query.map_err(|e| problem(StatusCode::BAD_REQUEST, e.body_text()))?;
    let plan = state.daemon.plan();
    let at = match q.at {
        Some(text) => upkeep_incident::parse_time(&text, &jiff::tz::TimeZone::UTC)
            .map_err(|e| problem(StatusCode::BAD_REQUEST, e))?,
        None => state.daemon.clock().now(),
    };
    let stored = incidents::stored_overrides(state.daemon.store(), at).await.map_err(unavailable)?;
    let (schedules, levels) = incidents::oncall(&plan, &stored, at);
    // The feed URLs carry their secret: responders and admins only.
    let feeds: Vec<Value> = if principal.role() >= Role::Responder {
        let key = state.daemon.incidents().key();
        plan.incidents
            .schedules
            .iter()
            .map(|s| json!({"schedule": s.name, "url": incidents::feed_url(&plan, key, &s.name)}))
            .collect()
    } else {
        Vec::new()
    };
    let current: Vec<&Override> = stored.iter().filter(|o| o.end > at).collect();
    Ok((
        StatusCode::OK,
        Json(
            json!({"at": at.to_string(), "schedules": schedules, "levels": levels, "overrides": current, "feeds": feeds}),
        ),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOverride {
    schedule: String,
    person: String,
    start: String,
    end: String,
    comment: Option<String>,
}

pub async fn add_override(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    new: Result<Json<NewOverride>, JsonRejection>,
) -> ApiResult {
    let author = responder(&principal, &headers, "setting an on-call override")?;
    let new = body(new)?;
    let (plan, now) = (state.daemon.plan(), state.daemon.clock().now());
    let fields = [new.schedule.as_str(), new.person.as_str(), new.start.as_str(), new.end.as_str()];
    let o = incidents::new_override(&plan, fields, new.comment, &author, now)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, e))?;
    let doc = serde_json::to_value(&o).unwrap_or_default();
    state.daemon.store().save_override(&o.id, &o.schedule, o.start, o.end, &doc).await.map_err(unavailable)?;
    let entry = upkeep_store::AuditEntry {
        at: now,
        actor: author,
        action: "oncall.override".into(),
        target: o.schedule.clone(),
        detail: format!("{} from {} to {}", o.person, o.start, o.end),
    };
    state.daemon.store().audit(&entry).await.map_err(unavailable)?;
    Ok((StatusCode::CREATED, Json(doc)))
}

pub async fn remove_override(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> ApiResult {
    let author = responder(&principal, &headers, "removing an on-call override")?;
    let id = crate::api::path(path)?;
    if !state.daemon.store().delete_override(&id).await.map_err(unavailable)? {
        return Err(problem(StatusCode::NOT_FOUND, format!("there is no override {id}")));
    }
    let entry = upkeep_store::AuditEntry {
        at: state.daemon.clock().now(),
        actor: author,
        action: "oncall.override.remove".into(),
        target: id.clone(),
        detail: String::new(),
    };
    state.daemon.store().audit(&entry).await.map_err(unavailable)?;
    Ok((StatusCode::OK, Json(json!({"removed": id}))))
}
