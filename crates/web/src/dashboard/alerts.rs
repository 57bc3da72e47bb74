//! The alerts page: channels that cannot deliver first (a monitor whose alerts cannot get out
//! is itself down), what is firing or pending now (muted ones say what mutes them), what
//! resolved lately, the silences, the channels with a test button (admins), and the latest
//! state changes and notifications.

use super::{nav_page, unavailable};
use crate::AppState;
use crate::auth::Principal;
use crate::html::{ago, escape};
use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or("")
}

fn since(v: &Value, now: jiff::Timestamp) -> String {
    v.as_str().and_then(|t| t.parse().ok()).map_or("–".to_string(), |t| format!("{} ago", ago(t, now)))
}

fn badge(state: &str) -> String {
    let class = match state {
        "firing" => "error",
        "resolved" | "inactive" => "ok",
        _ => "pending",
    };
    format!("<span class=\"badge {class}\">{state}</span>")
}

fn alert_row(a: &Value, now: jiff::Timestamp) -> String {
    let muted: Vec<String> =
        a["muted_by"].as_array().into_iter().flatten().filter_map(Value::as_str).map(escape).collect();
    let muted =
        if muted.is_empty() { String::new() } else { format!("<br><small>muted by {}</small>", muted.join(", ")) };
    let runbook = match a["annotations"]["runbook"].as_str() {
        Some(url) if url.starts_with("https://") || url.starts_with("http://") => {
            format!(" <a href=\"{}\" rel=\"noopener noreferrer\">runbook</a>", escape(url))
        }
        _ => String::new(),
    };
    format!(
        "<tr class=\"{row}\" data-alert=\"{key}\"><td>{key}</td><td>{badge}{muted}</td><td>{since}</td><td>{severity}</td><td>{value}</td><td>{summary}{runbook}</td></tr>",
        row = if text(a, "state") == "firing" { "failing" } else { "" },
        key = escape(text(a, "key")),
        badge = badge(text(a, "state")),
        since = since(&a["since"], now),
        severity = escape(text(a, "severity")),
        value = escape(a["value"].as_str().unwrap_or("–")),
        summary = escape(a["annotations"]["summary"].as_str().unwrap_or("")),
    )
}

#[derive(serde::Deserialize)]
pub struct PageQuery {
    error: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Query(query): axum::extract::Query<PageQuery>,
) -> Response {
    let daemon = &state.daemon;
    let now = daemon.clock().now();
    let alerting = daemon.alerting();
    let alerts = alerting.list().await;
    let events = match daemon.store().alert_events(None, None, 50).await {
        Ok(events) => events,
        Err(e) => return unavailable(e),
    };
    let active: Vec<&Value> = alerts.iter().filter(|a| matches!(text(a, "state"), "firing" | "pending")).collect();
    let resolved: Vec<&Value> = alerts.iter().filter(|a| text(a, "state") == "resolved").collect();
    let firing = active.iter().filter(|a| text(a, "state") == "firing").count();
    let header = "<thead><tr><th>Alert</th><th>State</th><th>Since</th><th>Severity</th><th>Value</th><th>Summary</th></tr></thead>";
    let rows = |list: &[&Value]| list.iter().map(|a| alert_row(a, now)).collect::<String>();
    let active_table = if active.is_empty() {
        "<p class=\"summary\">Nothing is firing or pending.</p>".to_string()
    } else {
        format!("<table>{header}<tbody>{}</tbody></table>", rows(&active))
    };
    let stored = match upkeep_daemon::stored_silences(daemon.store()).await {
        Ok(stored) => stored,
        Err(e) => return unavailable(e),
    };
    let silences: String = stored
        .iter()
        .filter(|s| s.ends_at > now)
        .map(|s| {
            let matchers: Vec<String> =
                s.matchers.iter().map(|m| format!("<code>{}</code>", escape(&m.to_text()))).collect();
            let end = may_silence(&principal).map(|csrf| expire_button(csrf, &s.id)).unwrap_or_default();
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{end}</td></tr>",
                escape(&s.id),
                matchers.join(" "),
                s.ends_at,
                escape(&s.created_by),
                escape(&s.comment)
            )
        })
        .collect();
    let silences = if silences.is_empty() {
        "<p class=\"summary\">No silence is pending or active. Set one below (responders and admins), with <code>upkeep silence add</code> or the API.</p>"
            .to_string()
    } else {
        format!(
            "<table><thead><tr><th>Silence</th><th>Matchers</th><th>Ends</th><th>By</th><th>Comment</th><th></th></tr></thead><tbody>{silences}</tbody></table>"
        )
    };
    let form = may_silence(&principal).map(|csrf| silence_form(csrf, query.error.as_deref())).unwrap_or_default();
    let plan = daemon.plan();
    let channels = match upkeep_daemon::notify::channel_states(daemon.store(), &plan.notifications).await {
        Ok(channels) => channels,
        Err(e) => return unavailable(e),
    };
    let (failing_banner, channel_table) = channels_panel(&channels, &principal);
    let history: String = events
        .iter()
        .map(|row| {
            let e = &row.event;
            let notice = e["notice"].as_str().map(|n| format!(" · notify {n}")).unwrap_or_default();
            let muted = e["muted_by"].as_array().filter(|m| !m.is_empty()).map(|_| " (muted)").unwrap_or("");
            format!(
                "<li>{} <b>{}</b> {} → {}{}{}</li>",
                row.at.strftime("%Y-%m-%d %H:%M:%S"),
                escape(&row.key),
                escape(text(e, "from")),
                escape(text(e, "to")),
                escape(&notice),
                muted
            )
        })
        .collect();
    let body = format!(
        "<h1>Alerts</h1>{failing_banner}<p class=\"summary{fail}\">{firing} firing · {pending} pending · {total} alerts configured</p>{active_table}\
         <section><h2>Resolved</h2>{resolved}</section>\
         <section><h2>Silences</h2>{silences}{form}</section>\
         <section><h2>Channels</h2>{channel_table}</section>\
         <section><h2>Latest changes</h2><ul class=\"timeline\">{history}</ul></section>",
        fail = if firing > 0 { " failing" } else { "" },
        pending = active.len() - firing,
        total = alerts.len(),
        resolved = if resolved.is_empty() {
            "<p class=\"summary\">Nothing resolved yet.</p>".into()
        } else {
            format!("<table>{header}<tbody>{}</tbody></table>", rows(&resolved))
        },
    );
    nav_page("Alerts", &principal, &body)
}

/// A banner naming the failing channels, and the table of every channel.
pub fn channels_panel(channels: &[upkeep_daemon::notify::ChannelState], principal: &Principal) -> (String, String) {
    let failing: Vec<&upkeep_daemon::notify::ChannelState> = channels.iter().filter(|c| c.failing).collect();
    let banner = if failing.is_empty() {
        String::new()
    } else {
        let items: String = failing
            .iter()
            .map(|c| {
                format!(
                    "<li><b>{}</b>: {}</li>",
                    escape(&c.name),
                    escape(c.last_error.as_deref().unwrap_or("retrying"))
                )
            })
            .collect();
        format!(
            "<div class=\"banner failing\" role=\"alert\"><b>Notifications are not getting out.</b><ul>{items}</ul>\
                 See <code>upkeep notifications list --failed</code>.</div>"
        )
    };
    if channels.is_empty() {
        let none = "<p class=\"summary\">No channel is configured: alerts are shown here and nowhere else. Add a <code>[[channel]]</code> and a <code>[[route]]</code>.</p>";
        return (banner, none.to_string());
    }
    let csrf = match principal {
        Principal::User { role, csrf, .. } if *role >= upkeep_access::Role::Admin => Some(csrf.as_str()),
        _ => None,
    };
    let rows: String = channels
        .iter()
        .map(|c| {
            let state = if c.failing { "<span class=\"badge error\">failing</span>" } else { "<span class=\"badge ok\">ok</span>" };
            let button = csrf.map(|csrf| format!(
                "<form method=\"post\" action=\"/alerts/channels/{name}/test\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">Send a test</button></form>",
                name = crate::html::url_encode(&c.name)
            )).unwrap_or_default();
            format!(
                "<tr class=\"{row}\"><td>{name}</td><td>{kind}</td><td>{target}</td><td>{state}</td><td>{delivered}</td><td>{pending}</td><td>{failed}</td><td>{last}</td><td>{button}</td></tr>",
                row = if c.failing { "failing" } else { "" },
                name = escape(&c.name),
                kind = c.kind,
                target = escape(&c.target),
                delivered = c.delivered,
                pending = c.pending,
                failed = c.failed,
                last = escape(c.last_delivered_at.as_deref().unwrap_or("–")),
            )
        })
        .collect();
    let table = format!(
        "<table><thead><tr><th>Channel</th><th>Kind</th><th>Sends to</th><th>State</th><th>Delivered</th><th>Pending</th><th>Failed</th><th>Last delivered</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
    );
    (banner, table)
}

pub async fn test_channel(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(name): axum::extract::Path<String>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    let admin = matches!(&principal, Principal::User { role, csrf, .. } if *role >= upkeep_access::Role::Admin && upkeep_access::same(&form.csrf, csrf));
    if !admin {
        return back(Some("test notifications are sent by admins".into()));
    }
    match state.daemon.notifying().test(&name).await {
        Ok(_) => back(None),
        Err(e) => back(Some(e)),
    }
}

/// Responders and admins who signed in may set and end silences here; the form carries the
/// session's token.
fn may_silence(principal: &Principal) -> Option<&str> {
    super::responder_token(principal)
}

fn silence_form(csrf: &str, error: Option<&str>) -> String {
    let error = error.map(|e| format!("<p class=\"message\">{}</p>", escape(e))).unwrap_or_default();
    format!(
        "{error}<form class=\"silence\" method=\"post\" action=\"/alerts/silences\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label>Matchers <input name=\"matchers\" required placeholder=\"alertname=disk_space_low check=disk\"></label>\
         <label>For <input name=\"duration\" value=\"2h\" required size=\"6\"></label>\
         <label>Comment <input name=\"comment\" required placeholder=\"why\"></label>\
         <button type=\"submit\">Silence</button></form>"
    )
}

fn expire_button(csrf: &str, id: &str) -> String {
    format!(
        "<form method=\"post\" action=\"/alerts/silences/{id}/expire\"><input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><button type=\"submit\">End now</button></form>",
        id = escape(id)
    )
}

#[derive(serde::Deserialize)]
pub struct SilenceForm {
    csrf: String,
    matchers: String,
    duration: String,
    comment: String,
}

#[derive(serde::Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// The form's answer: back to the alerts page, with what went wrong if anything did.
fn back(error: Option<String>) -> Response {
    use axum::response::IntoResponse;
    let to = match error {
        Some(e) => format!("/alerts?error={}", crate::html::url_encode(&e)),
        None => "/alerts".to_string(),
    };
    axum::response::Redirect::to(&to).into_response()
}

/// The signed-in responder who sent the form, or why the form is refused.
fn checked<'a>(principal: &'a Principal, csrf: &str) -> Result<&'a str, &'static str> {
    super::signed_responder(principal, csrf, "silences are set by responders and admins")
}

pub async fn add_silence(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::Form(form): axum::Form<SilenceForm>,
) -> Response {
    let author = match checked(&principal, &form.csrf) {
        Ok(name) => name.to_string(),
        Err(why) => return back(Some(why.into())),
    };
    let matchers: Vec<String> = form.matchers.split_whitespace().map(String::from).collect();
    let ends = crate::silences::Ends::After(form.duration);
    match crate::silences::create(&state, &author, &matchers, None, ends, &form.comment).await {
        Ok(_) => back(None),
        Err((_, body)) => back(Some(body["error"].as_str().unwrap_or("cannot set the silence").to_string())),
    }
}

pub async fn expire_silence(
    State(state): State<AppState>,
    Extension(principal): Extension<Principal>,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::Form(form): axum::Form<CsrfForm>,
) -> Response {
    if let Err(why) = checked(&principal, &form.csrf) {
        return back(Some(why.into()));
    }
    match crate::silences::end(&state, &id).await {
        Ok(_) => back(None),
        Err((_, body)) => back(Some(body["error"].as_str().unwrap_or("cannot end the silence").to_string())),
    }
}
