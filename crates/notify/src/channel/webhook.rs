//! `webhook`: the message as JSON (the documented schema, `"version": "1"`), POSTed to `url`
//! with `Idempotency-Key` (the message's key) and custom `headers`. With a `secret`, it is
//! signed: `X-Upkeep-Timestamp` is the Unix time of the attempt and `X-Upkeep-Signature` is
//! `v1=` and the hex HMAC-SHA256 of `TIMESTAMP.BODY` under the secret, so a receiver can check
//! that it came from Upkeep and refuse an old one replayed.

use super::{Channel, SendFuture, Sender, read_headers, read_url};
use crate::message::Message;
use hmac::{KeyInit, Mac};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Webhook {
    url: String,
    secret: Option<String>,
    headers: Vec<(String, String)>,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let url = read_url(t, d, "url", "\"https://hooks.example.com/upkeep\"");
    let secret = t.string(d, "secret").map(|s| s.into_inner());
    let headers = read_headers(t, d);
    let url = url?;
    let shown = super::shown(&url);
    Some((Arc::new(Webhook { url, secret, headers }), shown))
}

/// The body: the message with a schema version first.
pub fn body(message: &Message) -> serde_json::Value {
    let mut doc = serde_json::json!({ "version": "1" });
    if let (Some(map), serde_json::Value::Object(m)) =
        (doc.as_object_mut(), serde_json::to_value(message).unwrap_or_default())
    {
        map.extend(m);
    }
    doc
}

/// `v1=HEX` over `timestamp.body`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

impl Channel for Webhook {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move {
            let body = serde_json::to_vec(&body(message)).unwrap_or_default();
            let mut headers = self.headers.clone();
            headers.push(("Idempotency-Key".into(), message.key.clone()));
            if let Some(secret) = &self.secret {
                let now = jiff::Timestamp::now().as_second();
                headers.push(("X-Upkeep-Timestamp".into(), now.to_string()));
                headers.push(("X-Upkeep-Signature".into(), signature(secret, now, &body)));
            }
            sender.send(reqwest::Method::POST, &self.url, &headers, "application/json", body).await
        })
    }
}
