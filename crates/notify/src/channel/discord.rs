//! `discord`: a Discord webhook; one embed coloured by severity, linking to the dashboard.

use super::{Channel, chat, colour};
use crate::message::Message;
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    chat(t, d, "\"${DISCORD_WEBHOOK_URL}\"", body)
}

pub fn body(message: &Message, title: &str, text: &str) -> serde_json::Value {
    // Discord refuses an embed title over 256 characters and a description over 4096.
    let title: String = title.chars().take(256).collect();
    let text: String = text.chars().take(4096).collect();
    serde_json::json!({
        "username": "Upkeep",
        "embeds": [{ "title": title, "description": text, "url": message.link, "color": colour(message) }],
    })
}
