//! Pages into outbox rows: each target resolved at the time of the page (a schedule to whoever
//! is on call, a person to their channels, a channel as it is), one message per channel with
//! a signed acknowledge link naming the person it went to. Whom each page reached is written
//! into the timeline; a page that reaches nobody says so there.

use jiff::{SignedDuration, Timestamp};
use upkeep_incident::{AckKey, AckToken, Incident, Override, Page, Target, UNASSIGNED};
use upkeep_notify::{IncidentNotice, Message};
use upkeep_plan::Plan;
use upkeep_store::NewNotification;

/// A channel to send to, and the person it reaches (none for a channel named directly).
#[derive(Clone, Debug, PartialEq)]
pub struct Recipient {
    pub channel: String,
    pub person: Option<String>,
}

/// Whom `targets` reach at `now`; schedules with nobody on call are listed in `empty`.
pub fn resolve(
    plan: &Plan,
    targets: &[Target],
    overrides: &[Override],
    now: Timestamp,
    empty: &mut Vec<String>,
) -> Vec<Recipient> {
    let incidents = &plan.incidents;
    let mut out: Vec<Recipient> = Vec::new();
    let person = |name: &str, out: &mut Vec<Recipient>| {
        if let Some(p) = incidents.person(name) {
            out.extend(p.channels.iter().map(|c| Recipient { channel: c.clone(), person: Some(p.name.clone()) }));
        }
    };
    for target in targets {
        match target {
            Target::Schedule(name) => match incidents.schedule(name).and_then(|s| s.on_call(now, overrides)) {
                Some(who) => person(&who.person, &mut out),
                None => empty.push(name.clone()),
            },
            Target::Person(name) => person(name, &mut out),
            Target::Channel(name) => out.push(Recipient { channel: name.clone(), person: None }),
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.channel.clone()));
    out
}

/// Once resolved, one message to every channel a page went to that hears of resolves, so a
/// PagerDuty or Opsgenie incident the pages opened closes with it.
pub fn resolved(plan: &Plan, incident: &mut Incident, now: Timestamp) -> Vec<NewNotification> {
    if incident.is_open() || incident.resolve_told || incident.paged.is_empty() {
        return Vec::new();
    }
    incident.resolve_told = true;
    let base = plan.server.base_url();
    let notice = IncidentNotice {
        id: incident.id,
        severity: incident.severity.clone(),
        status: incident.status.as_str().into(),
        title: incident.title.clone(),
        reason: "resolved".into(),
        level: None,
        person: None,
        text: format!("{} incident #{} resolved: {}", incident.severity, incident.id, incident.title),
        ack_url: None,
        url: format!("{base}/incidents/{}", incident.id),
    };
    let key = format!("incident:{}:resolved", incident.id);
    let message = Message::incident(notice, key.clone(), plan.incidents.alert_severity(&incident.severity), now);
    let doc = serde_json::to_value(&message).unwrap_or_default();
    let expires = now + SignedDuration::try_from(plan.notifications.expire).unwrap_or_default();
    incident
        .paged
        .iter()
        .filter(|c| plan.notifications.channel(c).is_some_and(|c| c.send_resolved))
        .map(|c| NewNotification {
            key: key.clone(),
            channel: c.clone(),
            created: now,
            due: now,
            expires,
            message: doc.clone(),
        })
        .collect()
}

/// The outbox rows of `pages`, recording in the incident whom each reached.
pub fn notifications(
    plan: &Plan,
    key: &AckKey,
    incident: &mut Incident,
    pages: &[Page],
    overrides: &[Override],
    now: Timestamp,
) -> Vec<NewNotification> {
    let mut out = Vec::new();
    let base = plan.server.base_url();
    let expires = now + SignedDuration::try_from(plan.notifications.expire).unwrap_or_default();
    let ack_expires = now + SignedDuration::try_from(plan.incidents.ack_valid).unwrap_or_default();
    for page in pages {
        let mut empty = Vec::new();
        let mut recipients = resolve(plan, &page.targets, overrides, now, &mut empty);
        if recipients.is_empty() {
            recipients = resolve(plan, &page.fallback, overrides, now, &mut empty);
        }
        for schedule in &empty {
            incident.record(now, UNASSIGNED, "note", format!("nobody is on call in schedule {schedule}"), None);
        }
        if recipients.is_empty() {
            incident.record(
                now,
                UNASSIGNED,
                "notified",
                "this page reached nobody: check the escalation policy".into(),
                None,
            );
            continue;
        }
        let reached: Vec<String> = recipients
            .iter()
            .map(|r| match &r.person {
                Some(p) => format!("{p} via {}", r.channel),
                None => r.channel.clone(),
            })
            .collect();
        incident.record(
            now,
            UNASSIGNED,
            "notified",
            format!("paged {}", reached.join(", ")),
            Some(serde_json::json!({ "key": page.key })),
        );
        for r in recipients {
            let ack_url = incident.acknowledged_at.is_none().then(|| {
                let token = AckToken {
                    incident: incident.id,
                    level: page.level.map(|l| l as u32),
                    person: r.person.clone(),
                    expires: ack_expires,
                };
                format!("{base}/ack/{}", key.sign(&token))
            });
            let notice = IncidentNotice {
                id: incident.id,
                severity: incident.severity.clone(),
                status: incident.status.as_str().into(),
                title: incident.title.clone(),
                reason: serde_json::to_value(page.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                level: page.level.map(|l| l as u32 + 1),
                person: r.person.clone(),
                text: page.text.clone(),
                ack_url,
                url: format!("{base}/incidents/{}", incident.id),
            };
            let severity = plan.incidents.alert_severity(&incident.severity);
            let message = Message::incident(notice, page.key.clone(), severity, now);
            incident.paged.insert(r.channel.clone());
            out.push(NewNotification {
                key: page.key.clone(),
                channel: r.channel,
                created: now,
                due: now,
                expires,
                message: serde_json::to_value(&message).unwrap_or_default(),
            });
        }
    }
    out
}
