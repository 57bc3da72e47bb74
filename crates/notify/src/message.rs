//! One notification, as it is kept in the outbox and as every channel receives it: a group's
//! firing and newly resolved alerts, with labels, annotations, values and links. The webhook
//! channel sends it as it is (its JSON is the documented schema); the others format it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Firing,
    Resolved,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Firing => "firing",
            Status::Resolved => "resolved",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The idempotency key: the group, whether it fires or resolved, and the group's sequence
    /// number. One key is delivered once.
    pub key: String,
    /// Firing while any of its alerts fires.
    pub status: Status,
    /// The route it took and the group it belongs to.
    pub route: String,
    pub group_key: String,
    pub group_labels: BTreeMap<String, String>,
    /// Labels every alert in it shares.
    pub common_labels: BTreeMap<String, String>,
    pub alerts: Vec<AlertItem>,
    pub created_at: Timestamp,
    /// Until when its firing alerts stand if no later message renews them (Alertmanager's
    /// `endsAt`): past the next repeat, so a live Upkeep keeps them firing and a dead one lets
    /// them lapse.
    pub keep_until: Timestamp,
    /// The dashboard's page of the group's alerts.
    pub link: String,
    /// Sent by `upkeep alert test`.
    #[serde(default)]
    pub test: bool,
    /// A maintenance window's announcement rather than alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<Announcement>,
    /// A page about an incident rather than alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<IncidentNotice>,
}

/// What a page about an incident says: which incident, why it pages now, and the links to
/// acknowledge it in one click and to open it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentNotice {
    pub id: i64,
    /// `P1`.
    pub severity: String,
    pub status: String,
    pub title: String,
    /// `escalation`, `target_breached`, `update_due`, `postmortem_due`, `follow_up`, or
    /// `resolved` (sent once to every channel a page went to).
    pub reason: String,
    /// The escalation level it pages (from 1), when it is one.
    pub level: Option<u32>,
    /// Whom it pages, when a person.
    pub person: Option<String>,
    /// One sentence.
    pub text: String,
    /// Signed, for this incident only; absent once it cannot be acknowledged.
    pub ack_url: Option<String>,
    /// The incident on the dashboard.
    pub url: String,
}

/// What a maintenance announcement says: which window, which moment of it, and when it lasts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Announcement {
    pub window: String,
    /// `scheduled` (its notice), `started` or `ended`.
    pub phase: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub components: Vec<String>,
    pub description: Option<String>,
}

/// 32 hex digits of the SHA-256 of `text`: an id that is the same for the same text.
pub fn short_id(text: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..16])
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertItem {
    pub key: String,
    pub alertname: String,
    pub status: Status,
    pub severity: String,
    /// What it was decided on: `disk.used_percent = 91%`, a burn rate.
    pub value: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Timestamp,
    pub ends_at: Option<Timestamp>,
    /// The alert on the dashboard.
    pub link: String,
    pub runbook: Option<String>,
}

impl Message {
    pub fn firing(&self) -> impl Iterator<Item = &AlertItem> {
        self.alerts.iter().filter(|a| a.status == Status::Firing)
    }

    pub fn resolved(&self) -> impl Iterator<Item = &AlertItem> {
        self.alerts.iter().filter(|a| a.status == Status::Resolved)
    }

    /// The most severe of its alerts' severities (critical, then warning, then info).
    pub fn severity(&self) -> &str {
        let rank = |s: &str| match s {
            "critical" => 0,
            "warning" => 1,
            "info" => 3,
            _ => 2,
        };
        self.alerts.iter().map(|a| a.severity.as_str()).min_by_key(|s| rank(s)).unwrap_or("info")
    }

    /// The first runbook any of its alerts names.
    pub fn runbook(&self) -> Option<&str> {
        self.alerts.iter().find_map(|a| a.runbook.as_deref())
    }

    /// A short stable id of its group (32 hex digits), for receivers that deduplicate by one:
    /// PagerDuty's `dedup_key`, Opsgenie's `alias`.
    pub fn group_id(&self) -> String {
        short_id(&self.group_key)
    }

    /// The labels all `alerts` share.
    pub fn common(alerts: &[AlertItem]) -> BTreeMap<String, String> {
        let Some(first) = alerts.first() else { return BTreeMap::new() };
        let mut common = first.labels.clone();
        common.retain(|name, value| alerts.iter().all(|a| a.labels.get(name) == Some(value)));
        common
    }

    /// The message `upkeep alert test` sends to `channel`.
    pub fn test(channel: &str, now: Timestamp, link: &str) -> Message {
        let labels = BTreeMap::from([
            ("alertname".to_string(), "upkeep_test".to_string()),
            ("severity".to_string(), "info".to_string()),
        ]);
        let annotations = BTreeMap::from([(
            "summary".to_string(),
            format!("A test notification from Upkeep to channel `{channel}`"),
        )]);
        let alert = AlertItem {
            key: "upkeep_test".into(),
            alertname: "upkeep_test".into(),
            status: Status::Firing,
            severity: "info".into(),
            value: None,
            labels: labels.clone(),
            annotations,
            starts_at: now,
            ends_at: None,
            link: link.to_string(),
            runbook: None,
        };
        Message {
            key: format!("test:{channel}:{}", now.as_millisecond()),
            status: Status::Firing,
            route: "test".into(),
            group_key: format!("test:{channel}"),
            group_labels: BTreeMap::new(),
            common_labels: labels,
            alerts: vec![alert],
            created_at: now,
            keep_until: now + jiff::SignedDuration::from_mins(5),
            link: link.to_string(),
            test: true,
            maintenance: None,
            incident: None,
        }
    }

    /// The announcement of one phase of one occurrence of a maintenance window: one `info` item
    /// (`alertname` `maintenance`) whose summary says it in a sentence, so every channel's
    /// format shows it; firing until it ends, then resolved. Its key names the window, the
    /// occurrence and the phase, so the outbox takes it once.
    pub fn maintenance(a: Announcement, zone: &jiff::tz::TimeZone, now: Timestamp, link: &str) -> Message {
        let status = if a.phase == "ended" { Status::Resolved } else { Status::Firing };
        let labels = BTreeMap::from([
            ("alertname".to_string(), "maintenance".to_string()),
            ("severity".to_string(), "info".to_string()),
            ("window".to_string(), a.window.clone()),
            ("phase".to_string(), a.phase.clone()),
        ]);
        let mut annotations = BTreeMap::from([("summary".to_string(), a.sentence(zone))]);
        if let Some(description) = &a.description {
            annotations.insert("description".into(), description.clone());
        }
        let item = AlertItem {
            key: format!("maintenance{{window=\"{}\"}}", a.window),
            alertname: "maintenance".into(),
            status,
            severity: "info".into(),
            value: None,
            labels: labels.clone(),
            annotations,
            starts_at: a.starts_at,
            ends_at: (status == Status::Resolved).then_some(a.ends_at),
            link: link.to_string(),
            runbook: None,
        };
        Message {
            key: format!("maintenance:{}:{}:{}", a.window, a.starts_at.as_millisecond(), a.phase),
            status,
            route: "maintenance".into(),
            group_key: format!("maintenance:{}", a.window),
            group_labels: BTreeMap::from([("window".to_string(), a.window.clone())]),
            common_labels: labels,
            alerts: vec![item],
            created_at: now,
            keep_until: a.ends_at,
            link: link.to_string(),
            test: false,
            maintenance: Some(a),
            incident: None,
        }
    }

    /// A page about an incident: one item (`alertname` `incident`) whose summary is the
    /// notice's sentence, so every channel's format shows it, grouped by incident (PagerDuty
    /// and Opsgenie fold every page of one incident into one of theirs). `key` is the page's
    /// own, so the outbox takes it once.
    pub fn incident(n: IncidentNotice, key: String, alert_severity: &str, now: Timestamp) -> Message {
        // Resolved, it closes what the pages opened (PagerDuty's and Opsgenie's incident too).
        let status = if n.reason == "resolved" { Status::Resolved } else { Status::Firing };
        let labels = BTreeMap::from([
            ("alertname".to_string(), "incident".to_string()),
            ("severity".to_string(), alert_severity.to_string()),
            ("incident".to_string(), n.id.to_string()),
            ("incident_severity".to_string(), n.severity.clone()),
        ]);
        let mut annotations = BTreeMap::from([("summary".to_string(), n.text.clone())]);
        if let Some(ack) = &n.ack_url {
            annotations.insert("acknowledge".into(), ack.clone());
        }
        let item = AlertItem {
            key: format!("incident{{id=\"{}\"}}", n.id),
            alertname: "incident".into(),
            status,
            severity: alert_severity.to_string(),
            value: None,
            labels: labels.clone(),
            annotations,
            starts_at: now,
            ends_at: (status == Status::Resolved).then_some(now),
            link: n.url.clone(),
            runbook: None,
        };
        Message {
            key,
            status,
            route: "incident".into(),
            group_key: format!("incident:{}", n.id),
            group_labels: BTreeMap::from([("incident".to_string(), n.id.to_string())]),
            common_labels: labels,
            alerts: vec![item],
            created_at: now,
            keep_until: now + jiff::SignedDuration::from_hours(4),
            link: n.url.clone(),
            test: false,
            maintenance: None,
            incident: Some(n),
        }
    }
}

impl Announcement {
    /// `Maintenance "monthly" is scheduled for Sun 2026-12-06 02:00–04:00 UTC (API, Billing)`.
    pub fn sentence(&self, zone: &jiff::tz::TimeZone) -> String {
        let (start, end) = (self.starts_at.to_zoned(zone.clone()), self.ends_at.to_zoned(zone.clone()));
        let end_format = if start.date() == end.date() { "%H:%M %Z" } else { "%a %Y-%m-%d %H:%M %Z" };
        let span = format!("{}–{}", start.strftime("%a %Y-%m-%d %H:%M"), end.strftime(end_format));
        let affected =
            if self.components.is_empty() { String::new() } else { format!(" ({})", self.components.join(", ")) };
        match self.phase.as_str() {
            "scheduled" => format!("Maintenance \"{}\" is scheduled for {span}{affected}", self.window),
            "started" => {
                format!("Maintenance \"{}\" has started, until {}{affected}", self.window, end.strftime(end_format))
            }
            _ => format!("Maintenance \"{}\" has ended{affected}", self.window),
        }
    }
}
