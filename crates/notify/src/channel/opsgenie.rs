//! `opsgenie`: Opsgenie's Alert API. A firing group creates an alert with a stable `alias`
//! (from the group), so repeats add to it; its resolve closes it. Priority by severity:
//! critical P1, warning P3, info P5, else P3. `api_key` is a GenieKey; `url` is
//! https://api.eu.opsgenie.com for the EU instance.

use super::{Channel, SendFuture, Sender, read_templates, read_url, render};
use crate::message::{Message, Status};
use crate::template::{TEXT, TITLE, Templates};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Opsgenie {
    url: String,
    api_key: String,
    templates: Templates,
}

const API: &str = "https://api.opsgenie.com";

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let api_key = t.required_string(d, "api_key", "\"${OPSGENIE_API_KEY}\"");
    let url = if t.has("url") { read_url(t, d, "url", API) } else { Some(API.into()) };
    let templates = read_templates(t, d, &[("title", TITLE), ("text", TEXT)]);
    let (api_key, url) = (api_key?, url?);
    let shown = super::shown(&url);
    let url = url.trim_end_matches('/').to_string();
    Some((Arc::new(Opsgenie { url, api_key: api_key.into_inner(), templates: templates? }), shown))
}

pub fn body(message: &Message, title: &str, text: &str) -> serde_json::Value {
    if message.status == Status::Resolved {
        return serde_json::json!({ "source": "Upkeep", "note": text });
    }
    let priority = match message.severity() {
        "critical" => "P1",
        "info" => "P5",
        _ => "P3",
    };
    // Opsgenie refuses a message over 130 characters.
    let title: String = title.chars().take(130).collect();
    let details: serde_json::Map<String, serde_json::Value> =
        message.common_labels.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect();
    serde_json::json!({
        "message": title, "alias": message.group_id(), "description": text, "priority": priority,
        "source": "Upkeep", "details": details, "tags": [message.severity()],
    })
}

impl Channel for Opsgenie {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let title = render!(self.templates, "title", message);
            let text = render!(self.templates, "text", message);
            let url = match message.status {
                Status::Firing => format!("{}/v2/alerts", self.url),
                Status::Resolved => format!("{}/v2/alerts/{}/close?identifierType=alias", self.url, message.group_id()),
            };
            let headers = [("Authorization".to_string(), format!("GenieKey {}", self.api_key))];
            sender.post_json(&url, &headers, &body(message, &title, &text)).await
        })
    }
}
