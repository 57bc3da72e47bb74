//! `msteams`: a Microsoft Teams workflow webhook ("Post to a channel when a webhook request is
//! received"), which takes an Adaptive Card: the title, the text, a button to the dashboard and
//! one to the runbook.

use super::{Channel, chat};
use crate::message::{Message, Status};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    chat(t, d, "\"${TEAMS_WORKFLOW_URL}\"", body)
}

pub fn body(message: &Message, title: &str, text: &str) -> serde_json::Value {
    let colour = match (message.status, message.severity()) {
        (Status::Resolved, _) => "Good",
        (_, "critical") => "Attention",
        (_, "warning") => "Warning",
        _ => "Accent",
    };
    let mut actions = vec![serde_json::json!({ "type": "Action.OpenUrl", "title": "Dashboard", "url": message.link })];
    if let Some(runbook) = message.runbook() {
        actions.push(serde_json::json!({ "type": "Action.OpenUrl", "title": "Runbook", "url": runbook }));
    }
    serde_json::json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    { "type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "color": colour, "wrap": true },
                    { "type": "TextBlock", "text": text, "wrap": true },
                ],
                "actions": actions,
            },
        }],
    })
}
