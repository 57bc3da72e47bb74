//! `pagerduty`: PagerDuty's Events API v2. A firing group triggers an incident and its resolve
//! resolves it, both with one stable `dedup_key` (from the group), so repeats update the same
//! incident instead of opening new ones. Severity maps critical → critical, warning → warning,
//! info → info, anything else → error. `routing_key` is the integration key of a service.

use super::{Channel, SendFuture, Sender, read_templates, read_url, render};
use crate::message::{Message, Status};
use crate::template::{TITLE, Templates};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct PagerDuty {
    url: String,
    routing_key: String,
    templates: Templates,
}

const EVENTS_API: &str = "https://events.pagerduty.com/v2/enqueue";

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let routing_key = t.required_string(d, "routing_key", "\"${PAGERDUTY_ROUTING_KEY}\"");
    let url = if t.has("url") { read_url(t, d, "url", EVENTS_API) } else { Some(EVENTS_API.into()) };
    let templates = read_templates(t, d, &[("title", TITLE)]);
    let (routing_key, url) = (routing_key?, url?);
    let shown = super::shown(&url);
    Some((Arc::new(PagerDuty { url, routing_key: routing_key.into_inner(), templates: templates? }), shown))
}

pub fn severity(message: &Message) -> &'static str {
    match message.severity() {
        "critical" => "critical",
        "warning" => "warning",
        "info" => "info",
        _ => "error",
    }
}

pub fn body(message: &Message, routing_key: &str, summary: &str) -> serde_json::Value {
    let dedup_key = message.group_id();
    if message.status == Status::Resolved {
        return serde_json::json!({ "routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key });
    }
    let mut links = vec![serde_json::json!({ "href": message.link, "text": "Upkeep dashboard" })];
    if let Some(runbook) = message.runbook() {
        links.push(serde_json::json!({ "href": runbook, "text": "Runbook" }));
    }
    let source = message.common_labels.get("check").cloned().unwrap_or_else(|| "upkeep".into());
    // PagerDuty refuses a summary over 1024 characters.
    let summary: String = summary.chars().take(1024).collect();
    serde_json::json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": summary,
            "source": source,
            "severity": severity(message),
            "timestamp": message.created_at.to_string(),
            "component": message.common_labels.get("component"),
            "group": message.common_labels.get("alertname"),
            "class": message.common_labels.get("severity"),
            "custom_details": { "alerts": message.alerts },
        },
        "links": links,
        "client": "Upkeep",
        "client_url": message.link,
    })
}

impl Channel for PagerDuty {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let summary = render!(self.templates, "title", message);
            sender.post_json(&self.url, &[], &body(message, &self.routing_key, &summary)).await
        })
    }
}
