//! The alerts page: what is firing or pending now (muted ones say what mutes them), what
//! resolved lately, the silences, and the latest state changes and notifications.

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

pub async fn page(State(state): State<AppState>, Extension(principal): Extension<Principal>) -> Response {
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
    alerting.refresh_silences().await;
    let silences: String = alerting
        .silences()
        .await
        .iter()
        .filter(|s| text(s, "state") != "expired")
        .map(|s| {
            let matchers: Vec<String> = s["matchers"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|m| format!("<code>{}</code>", escape(m)))
                .collect();
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(text(s, "id")),
                matchers.join(" "),
                escape(text(s, "ends_at")),
                escape(text(s, "created_by")),
                escape(text(s, "comment"))
            )
        })
        .collect();
    let silences = if silences.is_empty() {
        "<p class=\"summary\">No silence is pending or active. Set one with <code>upkeep silence add</code>.</p>"
            .to_string()
    } else {
        format!(
            "<table><thead><tr><th>Silence</th><th>Matchers</th><th>Ends</th><th>By</th><th>Comment</th></tr></thead><tbody>{silences}</tbody></table>"
        )
    };
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
        "<h1>Alerts</h1><p class=\"summary{fail}\">{firing} firing · {pending} pending · {total} alerts configured</p>{active_table}\
         <section><h2>Resolved</h2>{resolved}</section>\
         <section><h2>Silences</h2>{silences}</section>\
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
