//! `discord`: a Discord webhook; one embed coloured by severity, linking to the dashboard.

use super::{Channel, SendFuture, Sender, colour, read_templates, read_url, render};
use crate::message::Message;
use crate::template::{TEXT, TITLE, Templates};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Discord {
    url: String,
    templates: Templates,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let url = read_url(t, d, "url", "\"${DISCORD_WEBHOOK_URL}\"");
    let templates = read_templates(t, d, &[("title", TITLE), ("text", TEXT)]);
    let url = url?;
    let shown = super::shown(&url);
    Some((Arc::new(Discord { url, templates: templates? }), shown))
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

impl Channel for Discord {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let title = render!(self.templates, "title", message);
            let text = render!(self.templates, "text", message);
            sender.post_json(&self.url, &[], &body(message, &title, &text)).await
        })
    }
}
