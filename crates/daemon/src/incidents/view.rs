//! Incidents as the CLI, the API and the dashboard show them: the incident with its timeline,
//! into which the deliveries of its pages (from the outbox) are merged; who is on call, per
//! schedule and per escalation level; and the post-mortem draft with the SLO budget each
//! affected SLO spent while the incident was open.

use super::pages;
use jiff::Timestamp;
use serde::Serialize;
use upkeep_incident::{Entry, Impact, Incident, Override};
use upkeep_plan::Plan;
use upkeep_store::{Delivery, NotificationFilter, Store, StoreError};

/// An incident as shown.
#[derive(Clone, Debug, Serialize)]
pub struct IncidentView {
    #[serde(flatten)]
    pub incident: Incident,
    pub severity_name: Option<String>,
    /// Seconds from triggered to resolved (or to now).
    pub duration_seconds: f64,
    pub postmortem_required: bool,
}

/// The incident with its pages' deliveries in its timeline, in time order.
pub async fn view(
    plan: &Plan,
    store: &Store,
    mut incident: Incident,
    now: Timestamp,
) -> Result<IncidentView, StoreError> {
    let filter =
        NotificationFilter { key_prefix: Some(format!("incident:{}:", incident.id)), limit: 500, ..Default::default() };
    for n in store.notifications(&filter).await? {
        let (kind, at) = match (n.state, n.delivered) {
            (Delivery::Delivered, Some(at)) => ("delivered", at),
            (Delivery::Failed | Delivery::Expired, _) => ("delivery_failed", n.due),
            _ => continue,
        };
        let text = match kind {
            "delivered" => format!("page delivered to {}", n.channel),
            _ => format!("page to {} {}: {}", n.channel, n.state.as_str(), n.last_error.clone().unwrap_or_default()),
        };
        incident.timeline.push(Entry { at, author: n.channel.clone(), kind: kind.into(), text, detail: None });
    }
    incident.timeline.sort_by_key(|e| e.at);
    let severity = plan.incidents.severity(&incident.severity);
    let end = incident.resolved_at.unwrap_or(now);
    Ok(IncidentView {
        duration_seconds: incident.opened_at.duration_until(end).as_secs_f64(),
        severity_name: severity.map(|s| s.name.clone()),
        postmortem_required: severity.is_some_and(|s| s.postmortem),
        incident,
    })
}

/// MTTA, MTTR and targets met per severity, over the incidents opened in the last `days`.
pub async fn measures(store: &Store, days: u32, now: Timestamp) -> Result<upkeep_incident::Measures, StoreError> {
    let from = now - jiff::SignedDuration::from_hours(24 * i64::from(days));
    let filter = upkeep_store::IncidentFilter { since: Some(from), limit: 100_000, ..Default::default() };
    let list: Vec<Incident> = super::list(store, &filter).await?.into_iter().map(|(i, _)| i).collect();
    Ok(upkeep_incident::measure(&list, from, now, now))
}

/// A schedule's calendar feed, with its secret token.
pub fn feed_url(plan: &Plan, key: &upkeep_incident::AckKey, schedule: &str) -> String {
    format!("{}/oncall/{schedule}.ics?token={}", plan.server.base_url(), key.feed_token(schedule))
}

/// An override set with the CLI or the API, checked against the config: its schedule and
/// person exist, its times (RFC 3339, or wall-clock in the schedule's zone) make a span.
pub fn new_override(
    plan: &Plan,
    fields: [&str; 4],
    comment: Option<String>,
    author: &str,
    now: Timestamp,
) -> Result<Override, String> {
    let [schedule, person, start, end] = fields;
    let s = plan.incidents.schedule(schedule).ok_or_else(|| format!("there is no schedule `{schedule}`"))?;
    if plan.incidents.person(person).is_none() {
        return Err(format!("there is no person `{person}`: add a [[person]] to the config"));
    }
    let zone = s.layers.first().map(|l| l.zone.clone()).unwrap_or(jiff::tz::TimeZone::UTC);
    let start = upkeep_incident::parse_time(start, &zone).map_err(|e| format!("start: {e}"))?;
    let end = upkeep_incident::parse_time(end, &zone).map_err(|e| format!("end: {e}"))?;
    if end <= start {
        return Err("the end must be after the start".into());
    }
    Ok(Override {
        id: upkeep_notify::short_id(&format!("{schedule}{person}{start}{end}{now}"))[..8].to_string(),
        schedule: schedule.to_string(),
        person: person.to_string(),
        start,
        end,
        author: author.to_string(),
        comment: comment.map(|c| c.chars().take(500).collect()),
        created: now,
    })
}

/// A schedule now: who, by which layer or override, until when.
#[derive(Clone, Debug, Serialize)]
pub struct OnCallSchedule {
    pub schedule: String,
    pub person: Option<String>,
    pub by: Option<String>,
    pub until: Option<Timestamp>,
    pub channels: Vec<String>,
}

/// One level of an escalation policy: whom it would page at the time.
#[derive(Clone, Debug, Serialize)]
pub struct OnCallLevel {
    pub policy: String,
    /// From 1.
    pub level: usize,
    pub after_seconds: u64,
    pub targets: Vec<String>,
    /// The people (or channels) those targets reach.
    pub reaches: Vec<String>,
}

/// Who is on call at `at`: every schedule, then every level of every policy.
pub fn oncall(plan: &Plan, stored: &[Override], at: Timestamp) -> (Vec<OnCallSchedule>, Vec<OnCallLevel>) {
    let incidents = &plan.incidents;
    let schedules = incidents
        .schedules
        .iter()
        .map(|s| {
            let who = s.on_call(at, stored);
            let channels =
                who.as_ref().and_then(|w| incidents.person(&w.person)).map(|p| p.channels.clone()).unwrap_or_default();
            OnCallSchedule {
                schedule: s.name.clone(),
                person: who.as_ref().map(|w| w.person.clone()),
                by: who.map(|w| w.by),
                until: s.next_change(at, stored),
                channels,
            }
        })
        .collect();
    let mut levels = Vec::new();
    for p in &incidents.policies {
        for (i, level) in p.levels.iter().enumerate() {
            let mut empty = Vec::new();
            let reached = pages::resolve(plan, &level.notify, stored, at, &mut empty);
            let mut reaches: Vec<String> = reached.into_iter().map(|r| r.person.unwrap_or(r.channel)).collect();
            reaches.dedup();
            reaches.extend(empty.into_iter().map(|s| format!("nobody ({s})")));
            levels.push(OnCallLevel {
                policy: p.name.clone(),
                level: i + 1,
                after_seconds: level.after.as_secs(),
                targets: level.notify.iter().map(|t| t.to_string()).collect(),
                reaches,
            });
        }
    }
    (schedules, levels)
}

/// What each SLO of the incident's checks lost while it was open: the SLOs of the checks its
/// alerts name, or of its components' checks for one opened by hand.
pub async fn impact(plan: &Plan, store: &Store, incident: &Incident, now: Timestamp) -> Vec<Impact> {
    let mut checks: Vec<String> = incident.alerts.values().filter_map(|a| a.labels.get("check").cloned()).collect();
    if checks.is_empty() {
        checks = plan
            .checks
            .iter()
            .filter(|c| c.component.as_ref().is_some_and(|comp| incident.components.contains(comp)))
            .map(|c| c.name.clone())
            .collect();
    }
    let end = incident.resolved_at.unwrap_or(now);
    let mut out = Vec::new();
    for slo in plan.slos.iter().filter(|s| checks.contains(&s.check)) {
        use upkeep_slo::SliSource;
        let (from, length) = slo.window.span(now);
        let (Ok(span), Ok(window)) =
            (store.events(slo, incident.opened_at, end).await, store.events(slo, from, now).await)
        else {
            continue;
        };
        let allowed = slo.objective.budget() * window.valid as f64;
        let bad = span.valid.saturating_sub(span.good) as f64;
        out.push(Impact {
            slo: slo.name.clone(),
            sli: span.sli(),
            budget_spent: if allowed > 0.0 { bad / allowed } else { 0.0 },
            window_sli: window.sli(),
            window: upkeep_incident::human(length),
        });
    }
    out
}

/// The post-mortem draft of `incident`.
pub async fn postmortem(plan: &Plan, store: &Store, incident: &Incident, now: Timestamp) -> String {
    let impact = impact(plan, store, incident, now).await;
    upkeep_incident::draft(incident, &impact, plan.incidents.follow_up, now)
}
