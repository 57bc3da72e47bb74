//! `email`: SMTP through lettre, as plain text and HTML parts. `smtp` is `host:port`; `tls` is
//! `starttls` (the default, port 587), `tls` (implicit TLS, port 465) or `none` (a relay on
//! localhost); `username` and `password` log in. The subject is the title template, the parts
//! the `text` and `html` templates.

use super::{Channel, Outcome, SendFuture, Sender, read_templates, render};
use crate::message::Message;
use crate::template::{HTML, TEXT, TITLE, Templates};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

struct Email {
    /// Built at the first send: its connection pool needs the runtime, and a config is also
    /// loaded where there is none (`upkeep config validate`).
    builder: lettre::transport::smtp::AsyncSmtpTransportBuilder,
    transport: std::sync::OnceLock<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
    to: Vec<Mailbox>,
    templates: Templates,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let smtp = t.required_string(d, "smtp", "\"smtp.example.com:587\"");
    let tls = t.string(d, "tls");
    let username = t.string(d, "username").map(|s| s.into_inner());
    let password = t.string(d, "password").map(|s| s.into_inner());
    let from = t.required_string(d, "from", "\"Upkeep <upkeep@example.com>\"");
    let to = t.strings(d, "to");
    if to.is_none() && !t.has("to") {
        d.error(t.span(), format!("{} has no `to`", t.context()), Some("add to = [\"oncall@example.com\"]".into()));
    }
    let templates = read_templates(t, d, &[("title", TITLE), ("text", TEXT), ("html", HTML)]);
    let mailbox = |d: &mut Diagnostics, s: &upkeep_config::Spanned<String>| match s.get_ref().parse::<Mailbox>() {
        Ok(m) => Some(m),
        Err(e) => {
            d.error(
                s.span(),
                format!("`{}` is not an email address: {e}", s.get_ref()),
                Some("write \"Name <name@example.com>\" or \"name@example.com\"".into()),
            );
            None
        }
    };
    let from = from.and_then(|f| mailbox(d, &f));
    let to: Option<Vec<Mailbox>> = to.map(|list| list.iter().filter_map(|s| mailbox(d, s)).collect());
    let smtp = smtp?;
    let (host, port) = match smtp.get_ref().rsplit_once(':') {
        Some((h, p)) => match p.parse::<u16>() {
            Ok(port) => (h.to_string(), Some(port)),
            Err(_) => {
                d.error(
                    smtp.span(),
                    "`smtp` is host:port, with a port number",
                    Some("\"smtp.example.com:587\"".into()),
                );
                return None;
            }
        },
        None => (smtp.get_ref().clone(), None),
    };
    let mode = tls.as_ref().map_or("starttls", |t| t.get_ref().as_str());
    let builder = match mode {
        "starttls" => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host).map(|b| b.port(port.unwrap_or(587))),
        "tls" => AsyncSmtpTransport::<Tokio1Executor>::relay(&host).map(|b| b.port(port.unwrap_or(465))),
        "none" => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host).port(port.unwrap_or(25))),
        other => {
            let span = tls.as_ref().map_or(smtp.span(), |t| t.span());
            d.error(span, format!("`tls` is \"starttls\", \"tls\" or \"none\", not `{other}`"), None);
            return None;
        }
    };
    let mut builder = match builder {
        Ok(b) => b,
        Err(e) => {
            d.error(smtp.span(), format!("cannot use `{host}` for SMTP: {e}"), None);
            return None;
        }
    };
    if let (Some(user), Some(pass)) = (username, password) {
        builder = builder.credentials(Credentials::new(user, pass));
    }
    let builder = builder.timeout(Some(std::time::Duration::from_secs(30)));
    let to = to?;
    if to.is_empty() {
        return None;
    }
    let email = Email { builder, transport: std::sync::OnceLock::new(), from: from?, to, templates: templates? };
    Some((Arc::new(email), format!("smtp://{host}")))
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email").field("from", &self.from).field("to", &self.to).finish_non_exhaustive()
    }
}

impl Channel for Email {
    fn send<'a>(&'a self, message: &'a Message, _sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let title = render!(self.templates, "title", message);
            let text = render!(self.templates, "text", message);
            let html = match self.templates.render("html", message, &[("title", &title)]) {
                Ok(html) => html,
                Err(error) => return Outcome::Failed { error },
            };
            let mut email = lettre::Message::builder().from(self.from.clone()).subject(title);
            for to in &self.to {
                email = email.to(to.clone());
            }
            // The idempotency key as Message-ID: a mail system that sees it twice knows.
            let id = format!("<{}@upkeep>", crate::message::short_id(&message.key));
            let email = match email.message_id(Some(id)).multipart(MultiPart::alternative_plain_html(text, html)) {
                Ok(email) => email,
                Err(e) => return Outcome::Failed { error: e.to_string() },
            };
            let transport = self.transport.get_or_init(|| self.builder.clone().build());
            match transport.send(email).await {
                Ok(response) => Outcome::Delivered { answer: response.message().collect::<Vec<_>>().join(" ") },
                Err(e) if e.is_permanent() => Outcome::Failed { error: e.to_string() },
                Err(e) => Outcome::Retry { error: e.to_string(), after: None },
            }
        })
    }
}
