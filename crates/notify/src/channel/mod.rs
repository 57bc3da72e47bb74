//! Channels: where messages go. Each kind is one file that reads its own keys and turns a
//! [`Message`] into its receiver's request; every kind is registered once, in [`KINDS`]. What
//! the receiver answers decides what happens next ([`Outcome`]): delivered, worth retrying
//! (a timeout, a 5xx, 408, 429 with its `Retry-After`), or failed for good (any other 4xx, with
//! the receiver's answer kept so a person can see why).

mod alertmanager;
mod discord;
mod email;
mod http;
mod msteams;
mod ntfy;
mod opsgenie;
mod pagerduty;
mod slack;
mod telegram;
mod webhook;

use crate::message::Message;
use crate::retry::{is_transient, retry_after};
use crate::template::Templates;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use upkeep_config::{Diagnostics, TableReader};

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// What became of one attempt.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The receiver took it; its answer (shortened).
    Delivered { answer: String },
    /// Worth trying again: not before `after`, when the receiver said so.
    Retry { error: String, after: Option<Duration> },
    /// The receiver refused it for good.
    Failed { error: String },
}

/// One channel kind's sending.
pub trait Channel: Send + Sync + std::fmt::Debug {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a>;
}

/// A configured `[[channel]]`.
#[derive(Clone, Debug)]
pub struct ChannelConfig {
    pub name: String,
    pub kind: &'static str,
    pub channel: Arc<dyn Channel>,
    /// Whether it hears of resolved alerts too (default yes).
    pub send_resolved: bool,
    /// The least time between two messages to it (Slack takes one a second).
    pub min_gap: Duration,
    /// Where it sends, as shown: scheme and host only, since webhook URLs carry their secret.
    pub target: String,
}

/// How a kind is read: its keys, into a channel, and where it sends (as shown).
type Build = fn(&mut TableReader, &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)>;

/// Every kind: its name, how it is read, and its default least gap between messages.
pub const KINDS: &[(&str, Build, Duration)] = &[
    ("webhook", webhook::build, Duration::ZERO),
    ("alertmanager", alertmanager::build, Duration::ZERO),
    ("slack", slack::build, Duration::from_secs(1)),
    ("discord", discord::build, Duration::from_millis(500)),
    ("msteams", msteams::build, Duration::from_millis(250)),
    ("telegram", telegram::build, Duration::from_secs(1)),
    ("ntfy", ntfy::build, Duration::ZERO),
    ("pagerduty", pagerduty::build, Duration::ZERO),
    ("opsgenie", opsgenie::build, Duration::ZERO),
    ("email", email::build, Duration::ZERO),
    ("http", http::build, Duration::ZERO),
];

/// What every channel sends with: one HTTP client (connections kept alive) and the timeout of
/// one attempt.
#[derive(Clone, Debug)]
pub struct Sender {
    pub http: reqwest::Client,
    pub timeout: Duration,
}

impl Sender {
    pub fn new(timeout: Duration) -> Sender {
        let http = reqwest::Client::builder()
            .user_agent(concat!("upkeep/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .unwrap_or_default();
        Sender { http, timeout }
    }

    /// POSTs `body` as JSON with `headers`, and says what became of it.
    pub async fn post_json(&self, url: &str, headers: &[(String, String)], body: &serde_json::Value) -> Outcome {
        let body = serde_json::to_vec(body).unwrap_or_default();
        self.send(reqwest::Method::POST, url, headers, "application/json", body).await
    }

    /// Sends one request and reads the answer.
    pub async fn send(
        &self,
        method: reqwest::Method,
        url: &str,
        headers: &[(String, String)],
        content_type: &str,
        body: Vec<u8>,
    ) -> Outcome {
        let mut request = self.http.request(method, url).header(reqwest::header::CONTENT_TYPE, content_type);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        match request.body(body).send().await {
            Ok(response) => answer(response).await,
            Err(e) => Outcome::Retry { error: self.describe(e), after: None },
        }
    }
}

impl Sender {
    /// Why a request got no answer, without its URL (it may carry a secret: a Slack webhook's
    /// path, a bot token).
    fn describe(&self, e: reqwest::Error) -> String {
        if e.is_timeout() {
            return format!("no answer within {:?} (timed out)", self.timeout);
        }
        let mut why = Vec::new();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            why.push(s.to_string());
            source = s.source();
        }
        let what = if e.is_connect() { "cannot connect" } else { "the request failed" };
        match why.last() {
            Some(root) => format!("{what}: {root}"),
            None => what.to_string(),
        }
    }
}

/// How much of a receiver's answer is kept.
const ANSWER_KEPT: usize = 2048;

async fn answer(response: reqwest::Response) -> Outcome {
    let status = response.status();
    let after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| retry_after(v, jiff::Timestamp::now()));
    let body = response.text().await.unwrap_or_default();
    let body = shorten(&body);
    if status.is_success() {
        Outcome::Delivered { answer: format!("{} {body}", status.as_u16()).trim_end().to_string() }
    } else if is_transient(status.as_u16()) {
        Outcome::Retry { error: format!("HTTP {}: {body}", status.as_u16()), after }
    } else {
        Outcome::Failed { error: format!("HTTP {}: {body}", status.as_u16()) }
    }
}

fn shorten(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(ANSWER_KEPT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// A URL as it may be shown: its scheme and host, nothing that could be a secret.
pub fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}://{}", u.scheme(), u.host_str().unwrap_or("")),
        Err(_) => "(not a URL)".to_string(),
    }
}

/// Reads `url`, which must be http(s).
fn read_url(t: &mut TableReader, d: &mut Diagnostics, key: &'static str, example: &str) -> Option<String> {
    let url = t.required_string(d, key, example)?;
    match reqwest::Url::parse(url.get_ref()) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => Some(url.into_inner()),
        _ => {
            d.error(
                url.span(),
                format!("`{key}` must be an http:// or https:// URL"),
                Some(format!("for example {example}")),
            );
            None
        }
    }
}

/// Reads the overrides of `defaults` (`title = "..."`, `text = "..."`) and compiles them.
fn read_templates(t: &mut TableReader, d: &mut Diagnostics, defaults: &[(&'static str, &str)]) -> Option<Templates> {
    let mut sources = Vec::new();
    let mut spans = Vec::new();
    for (name, default) in defaults {
        match t.string(d, name) {
            Some(written) => {
                spans.push((*name, written.span()));
                sources.push((name.to_string(), written.into_inner()));
            }
            None => sources.push((name.to_string(), default.to_string())),
        }
    }
    match Templates::new(sources) {
        Ok(templates) => Some(templates),
        Err((name, error)) => {
            let span = spans.iter().find(|(n, _)| *n == name).map_or(t.span(), |(_, s)| s.clone());
            d.error(
                span,
                format!("template `{name}` does not compile: {error}"),
                Some("templates are minijinja (Jinja2): {{ status }}, {% for a in alerts %}...{% endfor %}".into()),
            );
            None
        }
    }
}

/// Reads `headers = { Name = "value" }`.
fn read_headers(t: &mut TableReader, d: &mut Diagnostics) -> Vec<(String, String)> {
    let headers = t.string_map(d, "headers").unwrap_or_default();
    let mut out = Vec::new();
    for (name, value) in headers {
        if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
            d.error(value.span(), format!("`{name}` is not an HTTP header name"), None);
            continue;
        }
        out.push((name, value.into_inner()));
    }
    out
}

/// The colour of a severity, for chat messages: red, amber, blue; green when resolved.
fn colour(message: &Message) -> u32 {
    match (message.status, message.severity()) {
        (crate::Status::Resolved, _) => 0x2e7d32,
        (_, "critical") => 0xd32f2f,
        (_, "warning") => 0xf9a825,
        _ => 0x1976d2,
    }
}

/// A rendered template, or the notification fails with why.
macro_rules! render {
    ($templates:expr, $name:expr, $message:expr) => {
        match $templates.render($name, $message, &[]) {
            Ok(text) => text,
            Err(error) => return $crate::channel::Outcome::Failed { error },
        }
    };
}
use render;

/// A chat webhook (Slack, Discord, Teams): a URL, the title and text templates, and the kind's
/// body around them; the kinds differ only in `body`.
struct Chat {
    url: String,
    templates: Templates,
    body: fn(&Message, &str, &str) -> serde_json::Value,
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chat").field("url", &shown(&self.url)).finish_non_exhaustive()
    }
}

/// Reads a chat webhook's `url` (`example` in hints) and templates.
fn chat(
    t: &mut TableReader,
    d: &mut Diagnostics,
    example: &str,
    body: fn(&Message, &str, &str) -> serde_json::Value,
) -> Option<(Arc<dyn Channel>, String)> {
    use crate::template::{TEXT, TITLE};
    let url = read_url(t, d, "url", example);
    let templates = read_templates(t, d, &[("title", TITLE), ("text", TEXT)]);
    let url = url?;
    let target = shown(&url);
    Some((Arc::new(Chat { url, templates: templates?, body }), target))
}

impl Channel for Chat {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let title = render!(self.templates, "title", message);
            let text = render!(self.templates, "text", message);
            sender.post_json(&self.url, &[], &(self.body)(message, &title, &text)).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_registered_once() {
        let mut names: Vec<&str> = KINDS.iter().map(|k| k.0).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), KINDS.len());
        assert_eq!(shown("https://hooks.slack.com/services/T0/B0/secret"), "https://hooks.slack.com");
    }
}
