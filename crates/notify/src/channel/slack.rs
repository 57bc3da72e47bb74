//! `slack`: an incoming webhook. A Block Kit message in an attachment coloured by severity
//! (red critical, amber warning, blue info, green resolved): the title, each alert with its
//! value, and buttons to the dashboard and the runbook. `text` is the fallback for
//! notifications on phones.

use super::{Channel, SendFuture, Sender, colour, read_templates, read_url, render};
use crate::message::Message;
use crate::template::{TEXT, TITLE, Templates};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Slack {
    url: String,
    templates: Templates,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let url = read_url(t, d, "url", "\"${SLACK_WEBHOOK_URL}\"");
    let templates = read_templates(t, d, &[("title", TITLE), ("text", TEXT)]);
    let url = url?;
    let shown = super::shown(&url);
    Some((Arc::new(Slack { url, templates: templates? }), shown))
}

/// The body Slack takes.
pub fn body(message: &Message, title: &str, text: &str) -> serde_json::Value {
    let mut buttons = vec![serde_json::json!({
        "type": "button", "text": { "type": "plain_text", "text": "Dashboard" }, "url": message.link,
    })];
    if let Some(runbook) = message.runbook() {
        buttons.push(serde_json::json!({
            "type": "button", "text": { "type": "plain_text", "text": "Runbook" }, "url": runbook, "style": "primary",
        }));
    }
    serde_json::json!({
        "text": title,
        "attachments": [{
            "color": format!("#{:06x}", colour(message)),
            "fallback": title,
            "blocks": [
                { "type": "header", "text": { "type": "plain_text", "text": title } },
                { "type": "section", "text": { "type": "mrkdwn", "text": text } },
                { "type": "actions", "elements": buttons },
            ],
        }],
    })
}

impl Channel for Slack {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let title = render!(self.templates, "title", message);
            let text = render!(self.templates, "text", message);
            sender.post_json(&self.url, &[], &body(message, &title, &text)).await
        })
    }
}
