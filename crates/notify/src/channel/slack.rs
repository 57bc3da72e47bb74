//! `slack`: an incoming webhook. A Block Kit message in an attachment coloured by severity
//! (red critical, amber warning, blue info, green resolved): the title, each alert with its
//! value, and buttons to the dashboard and the runbook. `text` is the fallback for
//! notifications on phones.

use super::{Channel, chat, colour};
use crate::message::Message;
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    chat(t, d, "\"${SLACK_WEBHOOK_URL}\"", body)
}

pub fn body(message: &Message, title: &str, text: &str) -> serde_json::Value {
    let mut buttons = vec![serde_json::json!({
        "type": "button", "text": { "type": "plain_text", "text": "Dashboard" }, "url": message.link,
    })];
    if let Some(ack) = message.incident.as_ref().and_then(|i| i.ack_url.as_ref()) {
        buttons.insert(0, serde_json::json!({
            "type": "button", "text": { "type": "plain_text", "text": "Acknowledge" }, "url": ack, "style": "danger",
        }));
    }
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
