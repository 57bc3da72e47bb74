//! `ntfy`: publishes to a topic of an ntfy server (`url`, default https://ntfy.sh) as JSON,
//! with priority by severity (critical 5, warning 4, else 3), a tag, and a click-through to
//! the dashboard; `token` for a protected topic.

use super::{Channel, SendFuture, Sender, read_templates, read_url, render};
use crate::message::{Message, Status};
use crate::template::{TEXT, TITLE, Templates};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Ntfy {
    url: String,
    topic: String,
    token: Option<String>,
    templates: Templates,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let url = if t.has("url") { read_url(t, d, "url", "\"https://ntfy.sh\"") } else { Some("https://ntfy.sh".into()) };
    let topic = t.required_string(d, "topic", "\"upkeep-alerts\"");
    let token = t.string(d, "token").map(|s| s.into_inner());
    let templates = read_templates(t, d, &[("title", TITLE), ("text", TEXT)]);
    let (url, topic) = (url?, topic?);
    let shown = super::shown(&url);
    Some((Arc::new(Ntfy { url, topic: topic.into_inner(), token, templates: templates? }), shown))
}

pub fn body(message: &Message, topic: &str, title: &str, text: &str) -> serde_json::Value {
    let (priority, tag) = match (message.status, message.severity()) {
        (Status::Resolved, _) => (3, "white_check_mark"),
        (_, "critical") => (5, "rotating_light"),
        (_, "warning") => (4, "warning"),
        _ => (3, "information_source"),
    };
    serde_json::json!({
        "topic": topic, "title": title, "message": text, "priority": priority, "tags": [tag], "click": message.link,
    })
}

impl Channel for Ntfy {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let title = render!(self.templates, "title", message);
            let text = render!(self.templates, "text", message);
            let headers: Vec<(String, String)> =
                self.token.iter().map(|t| ("Authorization".to_string(), format!("Bearer {t}"))).collect();
            sender.post_json(&self.url, &headers, &body(message, &self.topic, &title, &text)).await
        })
    }
}
