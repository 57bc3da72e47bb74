//! What pages link to, for people without a dashboard login: `/ack/{token}`, the one-click
//! acknowledgement, and `/oncall/{schedule}.ics?token=`, a schedule's calendar feed. The
//! signed token is the credential. Opening an acknowledge link shows the incident and one
//! button; only the button's POST acknowledges, so a mail scanner or a chat app that fetches
//! links to preview them cannot acknowledge anything by accident.

use crate::AppState;
use crate::html::{escape, page};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use upkeep_daemon::incidents::{self, ChangeError};

fn answer(status: StatusCode, title: &str, body: &str) -> Response {
    (status, Html(page(title, 0, "", &format!("<h1>{}</h1>{body}", escape(title))))).into_response()
}

pub async fn confirm(State(state): State<AppState>, token: Result<Path<String>, PathRejection>) -> Response {
    let Ok(Path(token)) = token else { return answer(StatusCode::BAD_REQUEST, "Not an acknowledge link", "") };
    let now = state.daemon.clock().now();
    let verified = match state.daemon.incidents().key().verify(&token, now) {
        Ok(t) => t,
        Err(e) => {
            return answer(
                StatusCode::FORBIDDEN,
                "This link does not work",
                &format!("<p>{}</p>", escape(&e.to_string())),
            );
        }
    };
    let Ok(Some((i, _))) = incidents::load(state.daemon.store(), verified.incident).await else {
        return answer(StatusCode::NOT_FOUND, "No such incident", "");
    };
    let about = format!(
        "<p><b>{} #{}</b> {} — {}</p><p>Opened {}.</p>",
        escape(&i.severity),
        i.id,
        escape(&i.title),
        escape(i.status.as_str()),
        escape(&i.opened_at.strftime("%Y-%m-%d %H:%M UTC").to_string())
    );
    if let (Some(at), Some(by)) = (i.acknowledged_at, &i.acknowledged_by) {
        let when = at.strftime("%H:%M UTC").to_string();
        return answer(
            StatusCode::OK,
            "Already acknowledged",
            &format!("{about}<p>By {} at {}.</p>", escape(by), escape(&when)),
        );
    }
    let form = format!(
        "{about}<form method=\"post\" action=\"/ack/{}\"><button type=\"submit\">Acknowledge as {}</button></form>",
        escape(&token),
        escape(verified.person.as_deref().unwrap_or("the on-call person"))
    );
    answer(StatusCode::OK, &format!("Acknowledge incident #{}", i.id), &form)
}

pub async fn acknowledge(State(state): State<AppState>, token: Result<Path<String>, PathRejection>) -> Response {
    let Ok(Path(token)) = token else { return answer(StatusCode::BAD_REQUEST, "Not an acknowledge link", "") };
    let (plan, now) = (state.daemon.plan(), state.daemon.clock().now());
    let key = state.daemon.incidents().key().clone();
    match incidents::acknowledge_by_link(state.daemon.store(), &plan, &key, &token, now).await {
        Ok(i) => {
            let by = i.acknowledged_by.clone().unwrap_or_default();
            let entry = upkeep_store::AuditEntry {
                at: now,
                actor: format!("link:{by}"),
                action: "incident.ack".into(),
                target: format!("incident #{}", i.id),
                detail: "acknowledge link".into(),
            };
            if let Err(e) = state.daemon.store().audit(&entry).await {
                tracing::warn!("cannot audit an acknowledgement: {e}");
            }
            state.daemon.incidents().poke();
            let link = format!("{}/incidents/{}", plan.server.base_url(), i.id);
            answer(
                StatusCode::OK,
                &format!("Incident #{} acknowledged", i.id),
                &format!(
                    "<p>{} acknowledged it; escalation has stopped.</p><p><a href=\"{}\">Open the incident</a></p>",
                    escape(&by),
                    escape(&link)
                ),
            )
        }
        Err(ChangeError::Refused(why)) => {
            answer(StatusCode::CONFLICT, "Not acknowledged", &format!("<p>{}</p>", escape(&why)))
        }
        Err(ChangeError::NotFound(_)) => answer(StatusCode::NOT_FOUND, "No such incident", ""),
        Err(ChangeError::Store(e)) => {
            answer(StatusCode::SERVICE_UNAVAILABLE, "Try again", &format!("<p>{}</p>", escape(&e.to_string())))
        }
    }
}

#[derive(Deserialize)]
pub struct FeedQuery {
    token: Option<String>,
}

/// The past week and the next 60 days of a schedule's shifts.
pub async fn feed(
    State(state): State<AppState>,
    file: Result<Path<String>, PathRejection>,
    query: Result<Query<FeedQuery>, QueryRejection>,
) -> Response {
    let (Ok(Path(file)), Ok(Query(q))) = (file, query) else { return StatusCode::BAD_REQUEST.into_response() };
    let Some(name) = file.strip_suffix(".ics") else { return StatusCode::NOT_FOUND.into_response() };
    let plan = state.daemon.plan();
    let key = state.daemon.incidents().key();
    // The same answer for a wrong token and an unknown schedule: names are not given away.
    let Some(schedule) =
        plan.incidents.schedule(name).filter(|_| q.token.as_deref().is_some_and(|t| key.feed_token_matches(name, t)))
    else {
        return (StatusCode::NOT_FOUND, "no such feed; get its URL from `upkeep oncall feed SCHEDULE`").into_response();
    };
    let now = state.daemon.clock().now();
    let (from, to) = (now - jiff::SignedDuration::from_hours(24 * 7), now + jiff::SignedDuration::from_hours(24 * 60));
    let stored = incidents::stored_overrides(state.daemon.store(), from).await.unwrap_or_default();
    let shifts = schedule.shifts(from, to, &stored);
    let body = upkeep_incident::oncall::feed(schedule, &shifts, &plan.incidents.people, now);
    ([(header::CONTENT_TYPE, "text/calendar; charset=utf-8"), (header::CACHE_CONTROL, "private, max-age=300")], body)
        .into_response()
}
