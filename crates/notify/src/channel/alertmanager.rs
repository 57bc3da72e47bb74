//! `alertmanager`: pushes the alerts to an Alertmanager's `/api/v2/alerts`, so its receivers,
//! silences and HA pairs work with Upkeep. Firing alerts carry `endsAt` past the group's next
//! repeat, so while Upkeep runs they stay firing (each repeat renews them) and if it dies they
//! lapse rather than fire forever; resolved ones carry the time they resolved.

use super::{Channel, SendFuture, Sender, read_url};
use crate::message::{Message, Status};
use std::sync::Arc;
use upkeep_config::{Diagnostics, TableReader};

#[derive(Debug)]
struct Alertmanager {
    url: String,
}

pub fn build(t: &mut TableReader, d: &mut Diagnostics) -> Option<(Arc<dyn Channel>, String)> {
    let url = read_url(t, d, "url", "\"http://127.0.0.1:9093\"")?;
    let shown = super::shown(&url);
    let url = format!("{}/api/v2/alerts", url.trim_end_matches('/'));
    Some((Arc::new(Alertmanager { url }), shown))
}

/// The alerts as Alertmanager's API takes them.
pub fn body(message: &Message) -> serde_json::Value {
    let alerts: Vec<serde_json::Value> = message
        .alerts
        .iter()
        .map(|a| {
            let mut annotations = a.annotations.clone();
            if let Some(value) = &a.value {
                annotations.insert("value".into(), value.clone());
            }
            if let Some(runbook) = &a.runbook {
                annotations.insert("runbook_url".into(), runbook.clone());
            }
            let ends = match a.status {
                Status::Firing => message.keep_until,
                Status::Resolved => a.ends_at.unwrap_or(message.created_at),
            };
            serde_json::json!({
                "labels": a.labels,
                "annotations": annotations,
                "startsAt": a.starts_at.to_string(),
                "endsAt": ends.to_string(),
                "generatorURL": a.link,
            })
        })
        .collect();
    serde_json::Value::Array(alerts)
}

impl Channel for Alertmanager {
    fn send<'a>(&'a self, message: &'a Message, sender: &'a Sender) -> SendFuture<'a> {
        Box::pin(async move { sender.post_json(&self.url, &[], &body(message)).await })
    }
}
