//! The incidents pages: the open incidents and the latest resolved ones with who is on call now
//! in each schedule, MTTA and MTTR over 30 days; and one incident with its targets and its
//! timeline (pages, deliveries, escalations, acknowledgements, notes, diagnostics).

use super::{nav_page, unavailable};
use crate::AppState;
use crate::auth::Principal;
use crate::html::{ago, escape};
use axum::Extension;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use upkeep_daemon::incidents;
use upkeep_incident::Incident;
use upkeep_store::IncidentFilter;

fn row(i: &Incident, now: jiff::Timestamp) -> String {
    format!(
        "<tr class=\"{class}\"><td><a href=\"/incidents/{id}\">#{id}</a></td><td>{sev}</td><td>{status}</td><td>{title}</td>\
         <td>{opened}</td><td>{ack}</td></tr>",
        class = if i.is_open() { "failing" } else { "" },
        id = i.id,
        sev = escape(&i.severity),
        status = escape(i.status.as_str()),
        title = escape(&i.title),
        opened = escape(&ago(i.opened_at, now)),
        ack = escape(i.acknowledged_by.as_deref().unwrap_or("—")),
    )
}

pub async fn list(State(state): State<AppState>, Extension(principal): Extension<Principal>) -> Response {
    let (daemon, now) = (&state.daemon, state.daemon.clock().now());
    let plan = daemon.plan();
    let recent = match incidents::list(daemon.store(), &IncidentFilter { limit: 50, ..Default::default() }).await {
        Ok(l) => l,
        Err(e) => return unavailable(e),
    };
    let rows: String = recent.iter().map(|(i, _)| row(i, now)).collect();
    let open = recent.iter().filter(|(i, _)| i.is_open()).count();
    let banner = match open {
        0 => "<p class=\"summary\">No open incident.</p>".to_string(),
        n => format!("<p class=\"banner\">{n} open incident{}</p>", if n == 1 { "" } else { "s" }),
    };
    let table = if recent.is_empty() {
        "<p>No incidents yet. A critical alert opens one (see <code>[incidents] open_on</code>), or <code>upkeep incident open</code>.</p>".to_string()
    } else {
        format!(
            "<table><thead><tr><th>#</th><th>Severity</th><th>Status</th><th>Title</th><th>Opened</th><th>Acknowledged by</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let stored = incidents::stored_overrides(daemon.store(), now).await.unwrap_or_default();
    let (schedules, _) = incidents::oncall(&plan, &stored, now);
    let oncall: String = schedules
        .iter()
        .map(|s| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&s.schedule),
                escape(s.person.as_deref().unwrap_or("nobody")),
                escape(&s.until.map(|t| t.strftime("%a %Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default())
            )
        })
        .collect();
    let oncall = if schedules.is_empty() {
        String::new()
    } else {
        format!(
            "<h2>On call now</h2><table><thead><tr><th>Schedule</th><th>On call</th><th>Until</th></tr></thead><tbody>{oncall}</tbody></table>"
        )
    };
    let m = match incidents::measures(daemon.store(), 30, now).await {
        Ok(m) => m,
        Err(e) => return unavailable(e),
    };
    let minutes = |s: Option<f64>| s.map_or("—".into(), |s| format!("{:.0} min", s / 60.0));
    let measures: String = m
        .by_severity
        .iter()
        .map(|(sev, x)| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(sev),
                x.incidents,
                minutes(x.mtta_seconds),
                minutes(x.mttr_seconds),
                x.targets_met_ratio.map_or("—".into(), |r| format!("{:.0}%", r * 100.0))
            )
        })
        .collect();
    let measures = if measures.is_empty() {
        String::new()
    } else {
        format!(
            "<h2>Last 30 days</h2><table><thead><tr><th>Severity</th><th>Incidents</th><th>MTTA</th><th>MTTR</th><th>Targets met</th></tr></thead><tbody>{measures}</tbody></table>"
        )
    };
    nav_page("Incidents", &principal, &format!("<h1>Incidents</h1>{banner}{table}{oncall}{measures}"))
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    error: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<i64>, PathRejection>,
    query: axum::extract::Query<PageQuery>,
) -> Response {
    let Ok(Path(id)) = id else { return (StatusCode::BAD_REQUEST, "not an incident id").into_response() };
    let (daemon, now) = (&state.daemon, state.daemon.clock().now());
    let plan = daemon.plan();
    let incident = match incidents::load(daemon.store(), id).await {
        Ok(Some((i, _))) => i,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such incident").into_response(),
        Err(e) => return unavailable(e),
    };
    let view = match incidents::view(&plan, daemon.store(), incident, now).await {
        Ok(v) => v,
        Err(e) => return unavailable(e),
    };
    let i = &view.incident;
    let targets: String = i
        .targets
        .iter()
        .map(|t| {
            let state = match t.made_it(now) {
                Some(true) => "met",
                Some(false) => "missed",
                None => "running",
            };
            format!(
                "<li class=\"{}\">{} — due {} ({state})</li>",
                if state == "missed" { "failing" } else { "" },
                escape(&t.name),
                escape(&t.due.strftime("%Y-%m-%d %H:%M UTC").to_string())
            )
        })
        .collect();
    let timeline: String = i
        .timeline
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}{}</td></tr>",
                escape(&e.at.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()),
                escape(&e.kind),
                escape(&e.author),
                escape(&e.text),
                captured(e)
            )
        })
        .collect();
    let ack = match (&i.acknowledged_by, i.acknowledged_at) {
        (Some(by), Some(at)) => format!("acknowledged by {} {}", escape(by), escape(&ago(at, now))),
        _ => "<b>not acknowledged</b>: escalation is climbing".into(),
    };
    let body = format!(
        "<h1>#{id} {title}</h1><p class=\"{class}\">{sev} {name} · {status} · opened {opened} by {by} · {ack}</p>\
         <h2>Targets</h2><ul>{targets}</ul><h2>Timeline</h2><table><thead><tr><th>Time</th><th>Event</th><th>Who</th><th>What</th></tr></thead>\
         <tbody>{timeline}</tbody></table>{actions}<p><small>Post-mortem draft: <code>upkeep incident postmortem {id}</code></small></p>",
        actions = actions(&principal, i, query.error.as_deref()),
        id = i.id,
        title = escape(&i.title),
        class = if i.is_open() { "banner" } else { "summary" },
        sev = escape(&i.severity),
        name = escape(view.severity_name.as_deref().unwrap_or("")),
        status = escape(i.status.as_str()),
        opened = escape(&ago(i.opened_at, now)),
        by = escape(&i.opened_by),
    );
    nav_page(&format!("Incident #{}", i.id), &principal, &body)
}

/// A diagnostics entry's outputs, folded.
fn captured(e: &upkeep_incident::Entry) -> String {
    let Some(detail) = e.detail.as_ref().filter(|_| e.kind == "diagnostics") else { return String::new() };
    let mut out = String::new();
    for c in detail["commands"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "<details><summary>{}</summary><pre>{}</pre></details>",
            escape(c["name"].as_str().unwrap_or("")),
            escape(c["output"].as_str().unwrap_or(""))
        ));
    }
    if let Some(lines) = detail["log"]["lines"].as_str() {
        out.push_str(&format!("<details><summary>app log</summary><pre>{}</pre></details>", escape(lines)));
    }
    out
}

/// For a signed-in responder: acknowledge, a note, a status, resolve.
fn actions(principal: &Principal, i: &Incident, error: Option<&str>) -> String {
    let Some(csrf) = super::responder_token(principal).filter(|_| i.is_open()) else { return String::new() };
    let error = error.map(|e| format!("<p class=\"message\">{}</p>", escape(e))).unwrap_or_default();
    let form = |action: &str, fields: &str, label: &str| {
        format!(
            "<form method=\"post\" action=\"/incidents/{id}/act\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"action\" value=\"{action}\">{fields}<button type=\"submit\">{label}</button></form>",
            id = i.id,
            csrf = escape(csrf)
        )
    };
    let ack = if i.acknowledged_at.is_none() { form("ack", "", "Acknowledge") } else { String::new() };
    let statuses: String = ["investigating", "identified", "monitoring"]
        .iter()
        .map(|s| {
            format!("<option value=\"{s}\"{}>{s}</option>", if i.status.as_str() == *s { " selected" } else { "" })
        })
        .collect();
    format!(
        "<h2>Work it</h2>{error}{ack}{}{}{}",
        form("note", "<input name=\"text\" required placeholder=\"what you found or did\" size=\"50\">", "Add note"),
        form(
            "status",
            &format!("<select name=\"status\">{statuses}</select><input name=\"text\" placeholder=\"optional\">"),
            "Set status"
        ),
        form("resolve", "<input name=\"text\" placeholder=\"how it was fixed\">", "Resolve"),
    )
}

#[derive(serde::Deserialize)]
pub struct ActForm {
    csrf: String,
    action: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    status: String,
}

/// A form of the incident page: the change goes through the API's path (audited, wakes the timer).
pub async fn act(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    id: Result<Path<i64>, PathRejection>,
    axum::Form(form): axum::Form<ActForm>,
) -> Response {
    let Ok(Path(id)) = id else { return (StatusCode::BAD_REQUEST, "not an incident id").into_response() };
    let back = |error: Option<String>| {
        let to = match error {
            Some(e) => format!("/incidents/{id}?error={}", crate::html::url_encode(&e)),
            None => format!("/incidents/{id}"),
        };
        axum::response::Redirect::to(&to).into_response()
    };
    let author = match super::signed_responder(&principal, &form.csrf, "incidents are worked by responders and admins")
    {
        Ok(name) => name.to_string(),
        Err(why) => return back(Some(why.into())),
    };
    let now = state.daemon.clock().now();
    let text = Some(form.text.trim()).filter(|t| !t.is_empty() && t.len() <= 10_000);
    let done = match form.action.as_str() {
        "ack" => {
            crate::incidents::changed(&state, &author, id, "incident.ack", "", |i| i.acknowledge(&author, now, None))
                .await
        }
        "note" => match text {
            Some(t) => {
                crate::incidents::changed(&state, &author, id, "incident.note", t, |i| {
                    i.note(&author, now, t);
                    Ok(())
                })
                .await
            }
            None => return back(Some("a note needs 1 to 10000 characters".into())),
        },
        "status" => match upkeep_incident::Status::parse(&form.status) {
            Ok(s) => {
                crate::incidents::changed(&state, &author, id, "incident.status", s.as_str(), |i| {
                    i.set_status(s, &author, now, text)
                })
                .await
            }
            Err(e) => return back(Some(e)),
        },
        "resolve" => {
            crate::incidents::changed(&state, &author, id, "incident.resolve", "", |i| i.resolve(&author, now, text))
                .await
        }
        _ => return back(Some("unknown action".into())),
    };
    match done {
        Ok(_) => back(None),
        Err((_, body)) => back(Some(body["error"].as_str().unwrap_or("cannot change the incident").to_string())),
    }
}
