//! `http`: any HTTP API, from templates: `method` (default POST), `url`, `headers` and `body`
//! are minijinja templates over the message, and `content_type` says what the body is. SMS
//! gateways such as Twilio need config only:
//!
//! ```toml
//! [[channel]]
//! name = "sms"
//! kind = "http"
//! url = "https://api.twilio.com/2010-04-01/Accounts/${TWILIO_SID}/Messages.json"
//! headers = { Authorization = "Basic ${TWILIO_BASIC_AUTH}" }
//! content_type = "application/x-www-form-urlencoded"
//! body = "To=%2B15550100&From=%2B15550199&Body={{ title | urlencode }}"
//! ```

use super::{Channel, SendFuture, Sender, read_templates, render};
use crate::message::Message;
use crate::template::{TEXT, TITLE, Templates};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Http {
    method: reqwest::Method,
    content_type: String,
    headers: Vec<String>,
    templates: Templates,
}

/// The default body: the title and the text as JSON.
const BODY: &str = "{{ {'title': title, 'text': text} | tojson }}";

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let method = match t.string(d, "method") {
        None => Some(reqwest::Method::POST),
        Some(m) => match m.get_ref().to_ascii_uppercase().as_str() {
            "POST" => Some(reqwest::Method::POST),
            "PUT" => Some(reqwest::Method::PUT),
            "PATCH" => Some(reqwest::Method::PATCH),
            "GET" => Some(reqwest::Method::GET),
            other => {
                d.error(m.span(), format!("`method` is POST, PUT, PATCH or GET, not `{other}`"), None);
                None
            }
        },
    };
    let url = t.required_string(d, "url", "\"https://sms.example.com/send?to=...\"");
    let content_type = t.string(d, "content_type").map_or("application/json".into(), |c| c.into_inner());
    let headers = super::read_headers(t, d);
    let header_names: Vec<String> = headers.iter().map(|(n, _)| n.clone()).collect();
    let mut sources: Vec<(String, String)> = headers.into_iter().map(|(n, v)| (format!("header:{n}"), v)).collect();
    let url = url?;
    let shown = super::shown(url.get_ref());
    sources.push(("url".into(), url.into_inner()));
    let mut templates = read_templates(t, d, &[("title", TITLE), ("text", TEXT), ("body", BODY)])?;
    // The URL and headers are templates too; what they render from is checked at load.
    for (name, source) in sources {
        if let Err((_, e)) = templates.add(name.clone(), source) {
            d.error(t.span(), format!("`{name}` does not compile as a template: {e}"), None);
            return None;
        }
    }
    Some((Arc::new(Http { method: method?, content_type, headers: header_names, templates }), shown))
}

impl Channel for Http {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let title = render!(self.templates, "title", message);
            let text = render!(self.templates, "text", message);
            let extra = [("title", title.as_str()), ("text", text.as_str())];
            let rendered = |name: &str| self.templates.render(name, message, &extra);
            let (url, body) = match (rendered("url"), rendered("body")) {
                (Ok(url), Ok(body)) => (url, body),
                (Err(error), _) | (_, Err(error)) => return super::Outcome::Failed { error },
            };
            let mut headers = Vec::new();
            for name in &self.headers {
                match rendered(&format!("header:{name}")) {
                    Ok(value) => headers.push((name.clone(), value)),
                    Err(error) => return super::Outcome::Failed { error },
                }
            }
            headers.push(("Idempotency-Key".into(), message.key.clone()));
            sender.send(self.method.clone(), url.trim(), &headers, &self.content_type, body.into_bytes()).await
        })
    }
}
