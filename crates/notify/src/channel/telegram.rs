//! `telegram`: a bot's `sendMessage` to `chat_id`, as plain text (title, then the text). The
//! bot `token` is a secret: write it as `${TELEGRAM_BOT_TOKEN}`.

use super::{Channel, SendFuture, Sender, read_templates, read_url, render};
use crate::message::Message;
use crate::template::{TEXT, TITLE, Templates};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Telegram {
    url: String,
    chat_id: String,
    templates: Templates,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let token = t.required_string(d, "token", "\"${TELEGRAM_BOT_TOKEN}\"");
    let chat_id = t.required_string(d, "chat_id", "\"-1001234567890\"");
    let api = if t.has("api_url") {
        read_url(t, d, "api_url", "\"https://api.telegram.org\"")
    } else {
        Some("https://api.telegram.org".into())
    };
    let templates = read_templates(t, d, &[("title", TITLE), ("text", TEXT)]);
    let (token, chat_id, api) = (token?, chat_id?, api?);
    let shown = super::shown(&api);
    let url = format!("{}/bot{}/sendMessage", api.trim_end_matches('/'), token.get_ref());
    Some((Arc::new(Telegram { url, chat_id: chat_id.into_inner(), templates: templates? }), shown))
}

pub fn body(chat_id: &str, title: &str, text: &str) -> serde_json::Value {
    // Telegram refuses a message over 4096 characters.
    let text: String = format!("{title}\n\n{text}").chars().take(4096).collect();
    serde_json::json!({ "chat_id": chat_id, "text": text, "disable_web_page_preview": true })
}

impl Channel for Telegram {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let title = render!(self.templates, "title", message);
            let text = render!(self.templates, "text", message);
            sender.post_json(&self.url, &[], &body(&self.chat_id, &title, &text)).await
        })
    }
}
