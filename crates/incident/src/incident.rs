//! One incident and its lifecycle: triggered → acknowledged → investigating → identified →
//! monitoring → resolved. Every change is an entry in its timeline with a time and an author.
//! [`Incident::step`] says what is due at a time — the next escalation level, a breached
//! target, a late update, a missing post-mortem — and records it, so the caller sends exactly
//! the pages it returns and saves the incident with them in one transaction: after a crash the
//! saved incident says which pages were already made, and none is skipped or made twice.

use crate::escalation::{Policy, Target};
use crate::severity::Severity;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The author of what Upkeep does by itself.
pub const UNASSIGNED: &str = "upkeep";

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Triggered,
    Acknowledged,
    Investigating,
    Identified,
    Monitoring,
    Resolved,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Triggered,
        Status::Acknowledged,
        Status::Investigating,
        Status::Identified,
        Status::Monitoring,
        Status::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Triggered => "triggered",
            Status::Acknowledged => "acknowledged",
            Status::Investigating => "investigating",
            Status::Identified => "identified",
            Status::Monitoring => "monitoring",
            Status::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Result<Status, String> {
        Status::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| {
            format!("`{text}` is not a status: acknowledged, investigating, identified, monitoring or resolved")
        })
    }
}

/// An alert that joined the incident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertRef {
    pub alertname: String,
    pub severity: String,
    pub firing: bool,
    pub since: Timestamp,
    #[serde(default)]
    pub value: Option<String>,
    #[serde(default)]
    pub summary: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

impl AlertRef {
    /// `check_down (api)`: its name and the check it is about.
    pub fn display(&self) -> String {
        match self.labels.get("check") {
            Some(check) => format!("{} ({check})", self.alertname),
            None => self.alertname.clone(),
        }
    }
}

/// How far escalation went: `next` is the number of the next page of the policy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Climb {
    pub policy: String,
    pub next: u32,
    /// The highest level paged so far.
    #[serde(default)]
    pub highest: Option<usize>,
}

/// A deadline: `respond` (acknowledged by), `resolve`, `regulator` (a data breach's 72 hours).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetClock {
    pub name: String,
    pub due: Timestamp,
    #[serde(default)]
    pub met: Option<Timestamp>,
    #[serde(default)]
    pub breached: bool,
}

impl TargetClock {
    /// Met in time; `None` while it can still go either way.
    pub fn made_it(&self, now: Timestamp) -> Option<bool> {
        match self.met {
            Some(met) => Some(met <= self.due),
            None if self.breached || now > self.due => Some(false),
            None => None,
        }
    }
}

/// One event of the timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub at: Timestamp,
    pub author: String,
    /// `opened`, `alert_fired`, `alert_resolved`, `paged`, `escalated`, `acknowledged`,
    /// `note`, `status`, `target_breached`, `target_met`, `reminder`, `diagnostics`,
    /// `commander`, `postmortem`, `resolved` (and `delivered`, added when shown, from the outbox).
    pub kind: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Postmortem {
    /// Where it is: a path or a URL.
    pub location: String,
    pub by: String,
    pub attached_at: Timestamp,
    #[serde(default)]
    pub follow_up_sent: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// Given by the store.
    #[serde(default)]
    pub id: i64,
    pub severity: String,
    pub status: Status,
    pub title: String,
    /// A type with its own targets: `data-breach`.
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub commander: Option<String>,
    /// The alert group it gathers, for one opened by alerts.
    #[serde(default)]
    pub group: Option<String>,
    pub opened_by: String,
    pub opened_at: Timestamp,
    #[serde(default)]
    pub acknowledged_at: Option<Timestamp>,
    #[serde(default)]
    pub acknowledged_by: Option<String>,
    #[serde(default)]
    pub resolved_at: Option<Timestamp>,
    #[serde(default)]
    pub resolved_by: Option<String>,
    #[serde(default)]
    pub alerts: BTreeMap<String, AlertRef>,
    /// Resolve by itself once every alert resolved.
    #[serde(default)]
    pub auto_resolve: bool,
    #[serde(default)]
    pub escalation: Option<Climb>,
    /// Escalation counts from here rather than the trigger, after a raise.
    #[serde(default)]
    pub escalate_from: Option<Timestamp>,
    #[serde(default)]
    pub targets: Vec<TargetClock>,
    /// The last note or status change, from which the next update is due.
    pub last_update: Timestamp,
    #[serde(default)]
    pub update_reminders: u32,
    #[serde(default)]
    pub postmortem: Option<Postmortem>,
    #[serde(default)]
    pub postmortem_reminders: u32,
    #[serde(default)]
    pub timeline: Vec<Entry>,
    /// Every channel a page went to, told once when it resolves.
    #[serde(default)]
    pub paged: std::collections::BTreeSet<String>,
    #[serde(default)]
    pub resolve_told: bool,
}

/// Why a page goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PageReason {
    Escalation,
    TargetBreached,
    UpdateDue,
    PostmortemDue,
    FollowUp,
}

/// A page that is due: the caller resolves its targets to channels and puts it in the outbox
/// under `key`, which is the same if it is made again.
#[derive(Clone, Debug, PartialEq)]
pub struct Page {
    pub key: String,
    pub reason: PageReason,
    /// The escalation level (from 0) it pages, when it is one.
    pub level: Option<usize>,
    pub targets: Vec<Target>,
    /// Whom to page when none of `targets` reaches anyone.
    pub fallback: Vec<Target>,
    pub text: String,
}

/// A change that cannot be made, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    Resolved,
    AlreadyAcknowledged { by: String, at: Timestamp },
    Backwards(Status),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Resolved => write!(f, "the incident is resolved"),
            Refusal::AlreadyAcknowledged { by, at } => write!(f, "already acknowledged by {by} at {at}"),
            Refusal::Backwards(s) => write!(f, "an incident cannot go back to {}", s.as_str()),
        }
    }
}

/// What a new incident is.
#[derive(Clone, Debug, Default)]
pub struct Opening {
    pub severity: String,
    pub title: String,
    pub kind: Option<String>,
    pub components: Vec<String>,
    pub group: Option<String>,
    pub auto_resolve: bool,
    pub by: String,
}

/// What [`Incident::step`] needs of the config.
pub struct Rules<'a> {
    pub severity: Option<&'a Severity>,
    pub policy: Option<&'a Policy>,
    /// The first post-mortem reminder comes this long after the resolve, then as often again.
    pub postmortem_after: Duration,
    /// The follow-up of a post-mortem's action items (004-49: two weeks).
    pub follow_up: Duration,
}

/// Post-mortem reminders after the first.
const POSTMORTEM_REMINDERS: u32 = 3;

fn later(at: Timestamp, by: Duration) -> Timestamp {
    at.checked_add(SignedDuration::try_from(by).unwrap_or(SignedDuration::MAX)).unwrap_or(Timestamp::MAX)
}

impl Incident {
    /// A new incident, triggered now, with its severity's targets (and a data breach's
    /// regulator deadline, 003-19).
    pub fn open(
        o: Opening,
        at: Timestamp,
        severity: Option<&Severity>,
        policy: Option<&str>,
        breach: Duration,
    ) -> Self {
        let mut targets = Vec::new();
        if let Some(s) = severity {
            for (name, within) in [("respond", s.respond), ("resolve", s.resolve)] {
                if let Some(within) = within {
                    targets.push(TargetClock { name: name.into(), due: later(at, within), met: None, breached: false });
                }
            }
        }
        if o.kind.as_deref() == Some("data-breach") {
            targets.push(TargetClock { name: "regulator".into(), due: later(at, breach), met: None, breached: false });
        }
        let text = format!("{} opened: {}", o.severity, o.title);
        let mut incident = Incident {
            id: 0,
            severity: o.severity,
            status: Status::Triggered,
            title: o.title,
            kind: o.kind,
            components: o.components,
            commander: None,
            group: o.group,
            opened_by: o.by.clone(),
            opened_at: at,
            acknowledged_at: None,
            acknowledged_by: None,
            resolved_at: None,
            resolved_by: None,
            alerts: BTreeMap::new(),
            auto_resolve: o.auto_resolve,
            escalation: policy.map(|p| Climb { policy: p.to_string(), next: 0, highest: None }),
            escalate_from: None,
            targets,
            last_update: at,
            update_reminders: 0,
            postmortem: None,
            postmortem_reminders: 0,
            timeline: Vec::new(),
            paged: Default::default(),
            resolve_told: false,
        };
        incident.record(at, &o.by, "opened", text, None);
        incident
    }

    /// A note, a status change or an acknowledgement: the next update is due from now.
    fn updated(&mut self, at: Timestamp) {
        self.last_update = at;
        self.update_reminders = 0;
    }

    pub fn is_open(&self) -> bool {
        self.status != Status::Resolved
    }

    pub fn record(&mut self, at: Timestamp, author: &str, kind: &str, text: String, detail: Option<serde_json::Value>) {
        self.timeline.push(Entry { at, author: author.to_string(), kind: kind.to_string(), text, detail });
    }

    fn meet(&mut self, name: &str, at: Timestamp) {
        let mut met = Vec::new();
        for t in self.targets.iter_mut().filter(|t| t.name == name && t.met.is_none()) {
            t.met = Some(at);
            met.push(if t.breached || at > t.due { "late" } else { "in time" });
        }
        for how in met {
            self.record(at, UNASSIGNED, "target_met", format!("target `{name}` met ({how})"), None);
        }
    }

    /// Someone acknowledged it: escalation stops, the response target is met.
    pub fn acknowledge(&mut self, by: &str, at: Timestamp, via: Option<&str>) -> Result<(), Refusal> {
        if !self.is_open() {
            return Err(Refusal::Resolved);
        }
        if let (Some(at), Some(by)) = (self.acknowledged_at, &self.acknowledged_by) {
            return Err(Refusal::AlreadyAcknowledged { by: by.clone(), at });
        }
        self.acknowledged_at = Some(at);
        self.acknowledged_by = Some(by.to_string());
        if self.status == Status::Triggered {
            self.status = Status::Acknowledged;
        }
        self.updated(at);
        let how = via.map(|v| format!(" ({v})")).unwrap_or_default();
        self.record(at, by, "acknowledged", format!("acknowledged by {by}{how}"), None);
        self.meet("respond", at);
        Ok(())
    }

    /// Moves it on (acknowledging it too, if nobody had); it never goes back to triggered.
    pub fn set_status(&mut self, status: Status, by: &str, at: Timestamp, text: Option<&str>) -> Result<(), Refusal> {
        if !self.is_open() {
            return Err(Refusal::Resolved);
        }
        match status {
            Status::Triggered => return Err(Refusal::Backwards(status)),
            Status::Resolved => return self.resolve(by, at, text),
            Status::Acknowledged if self.acknowledged_at.is_some() => return Err(Refusal::Backwards(status)),
            _ => {}
        }
        if self.acknowledged_at.is_none() {
            self.acknowledge(by, at, None)?;
        }
        self.status = status;
        self.updated(at);
        let said = text.map(|t| format!(": {t}")).unwrap_or_default();
        self.record(at, by, "status", format!("status {}{said}", status.as_str()), None);
        Ok(())
    }

    pub fn resolve(&mut self, by: &str, at: Timestamp, text: Option<&str>) -> Result<(), Refusal> {
        if !self.is_open() {
            return Err(Refusal::Resolved);
        }
        self.status = Status::Resolved;
        self.resolved_at = Some(at);
        self.resolved_by = Some(by.to_string());
        self.updated(at);
        let said = text.map(|t| format!(": {t}")).unwrap_or_default();
        self.record(at, by, "resolved", format!("resolved by {by}{said}"), None);
        // Over before anyone answered: the resolution answered it (a flap is not a missed response).
        self.meet("respond", at);
        self.meet("resolve", at);
        Ok(())
    }

    /// A more severe alert joined: it becomes that severity, with its targets from now, and
    /// escalates again from the first level of its policy (whoever acknowledged the lesser
    /// incident did not acknowledge this one).
    pub fn raise(&mut self, severity: &str, s: Option<&Severity>, policy: Option<&str>, why: &str, at: Timestamp) {
        let from = std::mem::replace(&mut self.severity, severity.to_string());
        self.targets.retain(|t| !(["respond", "resolve"].contains(&t.name.as_str()) && t.met.is_none()));
        if let Some(s) = s {
            for (name, within) in [("respond", s.respond), ("resolve", s.resolve)] {
                if let Some(within) = within {
                    self.targets.push(TargetClock {
                        name: name.into(),
                        due: later(at, within),
                        met: None,
                        breached: false,
                    });
                }
            }
        }
        self.escalate_from = Some(at);
        self.escalation = policy.map(|p| Climb { policy: p.to_string(), next: 0, highest: None });
        self.acknowledged_at = None;
        self.acknowledged_by = None;
        if self.status == Status::Acknowledged {
            self.status = Status::Triggered;
        }
        self.record(
            at,
            UNASSIGNED,
            "severity",
            format!("raised from {from} to {severity}: {why}; escalation starts again"),
            None,
        );
    }

    /// When escalation counts from: the trigger, or the last raise.
    fn escalation_start(&self) -> Timestamp {
        self.escalate_from.unwrap_or(self.opened_at)
    }

    pub fn note(&mut self, by: &str, at: Timestamp, text: &str) {
        self.updated(at);
        self.record(at, by, "note", text.to_string(), None);
    }

    pub fn set_commander(&mut self, person: &str, by: &str, at: Timestamp) {
        self.commander = Some(person.to_string());
        self.record(at, by, "commander", format!("{person} is the incident commander"), None);
    }

    /// A target met by hand (`regulator`: the supervisory authority was told).
    pub fn met(&mut self, target: &str, by: &str, at: Timestamp) -> Result<(), String> {
        if !self.targets.iter().any(|t| t.name == target && t.met.is_none()) {
            let open: Vec<&str> = self.targets.iter().filter(|t| t.met.is_none()).map(|t| t.name.as_str()).collect();
            return Err(format!("no open target `{target}`; open targets: {}", open.join(", ")));
        }
        self.record(at, by, "note", format!("target `{target}` marked met by {by}"), None);
        self.meet(target, at);
        Ok(())
    }

    pub fn attach_postmortem(&mut self, location: &str, by: &str, at: Timestamp) {
        self.postmortem = Some(Postmortem {
            location: location.to_string(),
            by: by.to_string(),
            attached_at: at,
            follow_up_sent: false,
        });
        self.record(at, by, "postmortem", format!("post-mortem attached: {location}"), None);
    }

    /// An alert of its group fired (again).
    pub fn alert_fired(&mut self, key: &str, alert: AlertRef, at: Timestamp) {
        let text = format!(
            "alert {} fired{}",
            alert.display(),
            alert.value.as_ref().map(|v| format!(" ({v})")).unwrap_or_default()
        );
        self.alerts.insert(key.to_string(), alert);
        self.record(at, UNASSIGNED, "alert_fired", text, Some(serde_json::json!({ "key": key })));
    }

    /// An alert resolved; the incident resolves too when it was the last and it may.
    pub fn alert_resolved(&mut self, key: &str, at: Timestamp) {
        let Some(alert) = self.alerts.get_mut(key) else { return };
        alert.firing = false;
        let name = alert.display();
        self.record(
            at,
            UNASSIGNED,
            "alert_resolved",
            format!("alert {name} resolved"),
            Some(serde_json::json!({ "key": key })),
        );
        if self.auto_resolve && self.is_open() && self.alerts.values().all(|a| !a.firing) {
            let _ = self.resolve(UNASSIGNED, at, Some("all its alerts resolved"));
        }
    }

    /// Makes what is due at `now` (escalation pages, breached targets, reminders), records it,
    /// and returns the pages with when the next thing is due.
    pub fn step(&mut self, now: Timestamp, rules: &Rules) -> (Vec<Page>, Option<Timestamp>) {
        let mut pages = Vec::new();
        let mut next = Vec::new();
        self.escalate(now, rules.policy, &mut pages, &mut next);
        self.breaches(now, rules.policy, &mut pages, &mut next);
        self.update_due(now, rules, &mut pages, &mut next);
        self.postmortem_due(now, rules, &mut pages, &mut next);
        (pages, next.into_iter().min())
    }

    fn level_targets(policy: Option<&Policy>, level: usize) -> Vec<Target> {
        policy.and_then(|p| p.levels.get(level)).map(|l| l.notify.clone()).unwrap_or_default()
    }

    fn escalate(&mut self, now: Timestamp, policy: Option<&Policy>, pages: &mut Vec<Page>, next: &mut Vec<Timestamp>) {
        let (Some(policy), true, None) = (policy, self.is_open(), self.acknowledged_at) else { return };
        let Some(mut climb) = self.escalation.clone() else { return };
        let start = self.escalation_start();
        while let Some((level, after)) = policy.page(climb.next) {
            let due = later(start, after);
            if due > now {
                next.push(due);
                break;
            }
            let repeat = climb.next as usize >= policy.levels.len();
            // Repeats missed while Upkeep was down are one page, not a burst.
            let next_due = policy.page(climb.next + 1).map(|(_, a)| later(start, a));
            if repeat && next_due.is_some_and(|d| d <= now) {
                climb.next += 1;
                continue;
            }
            let (kind, text) = match (level, repeat) {
                (0, false) => ("paged", format!("paged level 1 ({})", list(&policy.levels[0].notify))),
                (_, false) => (
                    "escalated",
                    format!(
                        "not acknowledged: escalated to level {} ({})",
                        level + 1,
                        list(&policy.levels[level].notify)
                    ),
                ),
                (_, true) => ("escalated", format!("not acknowledged: level {} paged again", level + 1)),
            };
            self.record(due.min(now), UNASSIGNED, kind, text.clone(), Some(serde_json::json!({ "level": level + 1 })));
            pages.push(Page {
                key: format!("incident:{}:page:{}", self.id, climb.next),
                reason: PageReason::Escalation,
                level: Some(level),
                targets: policy.levels[level].notify.clone(),
                fallback: Vec::new(),
                text: format!("{} incident #{}: {}", self.severity, self.id, self.title),
            });
            climb.highest = Some(climb.highest.map_or(level, |h| h.max(level)));
            climb.next += 1;
        }
        self.escalation = Some(climb);
    }

    /// A missed target is a timeline event and pages the level above the highest paged so
    /// far (which, while escalation still climbs, counts as that level's page).
    fn breaches(&mut self, now: Timestamp, policy: Option<&Policy>, pages: &mut Vec<Page>, next: &mut Vec<Timestamp>) {
        for i in 0..self.targets.len() {
            let t = &self.targets[i];
            if t.met.is_some() || t.breached {
                continue;
            }
            if t.due > now {
                next.push(t.due);
                continue;
            }
            let (name, due) = (t.name.clone(), t.due);
            self.targets[i].breached = true;
            self.record(due, UNASSIGNED, "target_breached", format!("target `{name}` missed (due {due})"), None);
            let levels = policy.map_or(0, |p| p.levels.len());
            let waiting = self.acknowledged_at.is_none();
            if !self.is_open() {
                // Resolved with a deadline still open (a breach's regulator): tell the responders.
                let (targets, fallback) = self.responders(policy);
                pages.push(Page {
                    key: format!("incident:{}:breach:{name}", self.id),
                    reason: PageReason::TargetBreached,
                    level: None,
                    targets,
                    fallback,
                    text: format!("Incident #{} missed its `{name}` target: {}", self.id, self.title),
                });
                continue;
            }
            // While it climbs, the page just made is the next level: that is the notice.
            if levels == 0 || (waiting && pages.iter().any(|p| p.reason == PageReason::Escalation)) {
                continue;
            }
            let climb = self.escalation.get_or_insert_with(|| Climb {
                policy: policy.map(|p| p.name.clone()).unwrap_or_default(),
                next: 0,
                highest: None,
            });
            // Unacknowledged, the next page of the policy comes now instead of later; otherwise
            // the level above the highest paged so far.
            let early = if waiting { policy.and_then(|p| p.page(climb.next)) } else { None };
            let level = match early {
                Some((level, _)) => {
                    climb.next += 1;
                    level
                }
                None => climb.highest.map_or(0, |h| (h + 1).min(levels - 1)),
            };
            climb.highest = Some(climb.highest.map_or(level, |h| h.max(level)));
            self.record(
                now,
                UNASSIGNED,
                "escalated",
                format!("target `{name}` missed: level {} paged", level + 1),
                Some(serde_json::json!({ "level": level + 1 })),
            );
            pages.push(Page {
                key: format!("incident:{}:breach:{name}", self.id),
                reason: PageReason::TargetBreached,
                level: Some(level),
                targets: Self::level_targets(policy, level),
                fallback: Vec::new(),
                text: format!("{} incident #{} missed its `{name}` target: {}", self.severity, self.id, self.title),
            });
        }
    }

    /// Whom a reminder goes to: the commander and whoever acknowledged, else the first level.
    fn responders(&self, policy: Option<&Policy>) -> (Vec<Target>, Vec<Target>) {
        let people = [&self.commander, &self.acknowledged_by].into_iter().flatten().map(|p| Target::Person(p.clone()));
        let mut targets: Vec<Target> = people.collect();
        targets.dedup();
        (targets, Self::level_targets(policy, 0))
    }

    fn update_due(&mut self, now: Timestamp, rules: &Rules, pages: &mut Vec<Page>, next: &mut Vec<Timestamp>) {
        let Some(every) = rules.severity.and_then(|s| s.update_every) else { return };
        // Before anyone acknowledged, escalation is what reminds.
        if !self.is_open() || self.acknowledged_at.is_none() {
            return;
        }
        let due = later(self.last_update, every * (self.update_reminders + 1));
        if due > now {
            next.push(due);
            return;
        }
        // One reminder for however many were missed while Upkeep was down.
        let elapsed = self.last_update.duration_until(now).unsigned_abs();
        self.update_reminders = (elapsed.as_secs() / every.as_secs().max(1)).max(1) as u32;
        let n = self.update_reminders;
        self.record(now, UNASSIGNED, "reminder", format!("an update is due (every {})", human(every)), None);
        let (targets, fallback) = self.responders(rules.policy);
        pages.push(Page {
            key: format!("incident:{}:update:{}:{n}", self.id, self.last_update.as_millisecond()),
            reason: PageReason::UpdateDue,
            level: None,
            targets,
            fallback,
            text: format!(
                "{} incident #{} needs an update (every {}): {}",
                self.severity,
                self.id,
                human(every),
                self.title
            ),
        });
        next.push(later(self.last_update, every * (n + 1)));
    }

    fn postmortem_due(&mut self, now: Timestamp, rules: &Rules, pages: &mut Vec<Page>, next: &mut Vec<Timestamp>) {
        let Some(resolved) = self.resolved_at else { return };
        if !self.needs_postmortem(rules) {
            return;
        }
        let (targets, fallback) = self.responders(rules.policy);
        match &self.postmortem {
            None if self.postmortem_reminders <= POSTMORTEM_REMINDERS => {
                let due = later(resolved, rules.postmortem_after * (self.postmortem_reminders + 1));
                if due > now {
                    next.push(due);
                    return;
                }
                let elapsed = resolved.duration_until(now).unsigned_abs().as_secs();
                let missed = (elapsed / rules.postmortem_after.as_secs().max(1)) as u32;
                self.postmortem_reminders = missed.clamp(self.postmortem_reminders + 1, POSTMORTEM_REMINDERS + 1);
                self.record(now, UNASSIGNED, "reminder", "a post-mortem is required and not attached yet".into(), None);
                pages.push(Page {
                    key: format!("incident:{}:postmortem:{}", self.id, self.postmortem_reminders),
                    reason: PageReason::PostmortemDue,
                    level: None,
                    targets,
                    fallback,
                    text: format!(
                        "{} incident #{} needs its post-mortem (`upkeep incident postmortem {}`): {}",
                        self.severity, self.id, self.id, self.title
                    ),
                });
            }
            Some(pm) if !pm.follow_up_sent => {
                let due = later(pm.attached_at, rules.follow_up);
                if due > now {
                    next.push(due);
                    return;
                }
                let (location, attached) = (pm.location.clone(), pm.attached_at);
                if let Some(pm) = &mut self.postmortem {
                    pm.follow_up_sent = true;
                }
                self.record(
                    now,
                    UNASSIGNED,
                    "reminder",
                    "the post-mortem's action items are due for review".into(),
                    None,
                );
                pages.push(Page {
                    key: format!("incident:{}:follow-up:{}", self.id, attached.as_millisecond()),
                    reason: PageReason::FollowUp,
                    level: None,
                    targets,
                    fallback,
                    text: format!(
                        "Review the action items of the post-mortem of incident #{} ({location}): {}",
                        self.id, self.title
                    ),
                });
            }
            _ => {}
        }
    }

    /// Whether [`Incident::step`] may still have something to do for it.
    pub fn watched(&self, rules: &Rules) -> bool {
        if self.is_open() || self.targets.iter().any(|t| t.met.is_none() && !t.breached) {
            return true;
        }
        self.needs_postmortem(rules)
            && match &self.postmortem {
                None => self.postmortem_reminders <= POSTMORTEM_REMINDERS,
                Some(pm) => !pm.follow_up_sent,
            }
    }
}

fn list(targets: &[Target]) -> String {
    targets.iter().map(Target::to_string).collect::<Vec<_>>().join(", ")
}

impl Incident {
    /// Its severity requires one, unless it was over before anyone acknowledged it (a flap that
    /// resolved by itself).
    fn needs_postmortem(&self, rules: &Rules) -> bool {
        let flap = self.acknowledged_at.is_none() && self.resolved_by.as_deref() == Some(UNASSIGNED);
        rules.severity.is_some_and(|s| s.postmortem) && !flap
    }
}

/// `30m`, `4h`, `1d`.
pub fn human(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::Level;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn policy() -> Policy {
        let level = |mins: u64, who: &str| Level {
            after: Duration::from_secs(mins * 60),
            notify: vec![Target::parse(who).unwrap()],
        };
        Policy {
            name: "default".into(),
            levels: vec![level(0, "schedule:primary"), level(15, "schedule:secondary"), level(30, "person:ops-lead")],
            repeat: 1,
            repeat_every: Duration::from_secs(15 * 60),
        }
    }

    fn p1() -> Severity {
        crate::severity::defaults().remove(0)
    }

    fn opened(sev: &Severity) -> Incident {
        let o = Opening { severity: "P1".into(), title: "api down".into(), by: "upkeep".into(), ..Default::default() };
        let mut i =
            Incident::open(o, at("2026-12-01T10:00:00Z"), Some(sev), Some("default"), Duration::from_secs(72 * 3600));
        i.id = 7;
        i
    }

    fn rules<'a>(sev: &'a Severity, policy: &'a Policy) -> Rules<'a> {
        Rules {
            severity: Some(sev),
            policy: Some(policy),
            postmortem_after: Duration::from_secs(86_400),
            follow_up: Duration::from_secs(14 * 86_400),
        }
    }

    fn levels(pages: &[Page]) -> Vec<Option<usize>> {
        pages.iter().map(|p| p.level).collect()
    }

    #[test]
    fn unacknowledged_it_climbs_then_repeats_the_last_level() {
        let (sev, policy) = (p1(), policy());
        let mut i = opened(&sev);
        let r = rules(&sev, &policy);
        let (pages, next) = i.step(at("2026-12-01T10:00:00Z"), &r);
        assert_eq!(levels(&pages), vec![Some(0)]);
        assert_eq!(pages[0].key, "incident:7:page:0");
        assert_eq!(next, Some(at("2026-12-01T10:15:00Z")));
        // Nothing more until then; stepping again makes nothing twice.
        assert!(i.step(at("2026-12-01T10:14:59Z"), &r).0.is_empty());
        // At 10:15 the respond target (15 min) is missed as level 2 is due: one page for both.
        let (pages, _) = i.step(at("2026-12-01T10:15:00Z"), &r);
        assert_eq!(levels(&pages), vec![Some(1)], "{pages:?}");
        assert!(i.targets.iter().any(|t| t.name == "respond" && t.breached));
        let (pages, _) = i.step(at("2026-12-01T10:30:00Z"), &r);
        assert_eq!(levels(&pages), vec![Some(2)]);
        let (pages, next) = i.step(at("2026-12-01T10:45:00Z"), &r);
        assert_eq!(levels(&pages), vec![Some(2)], "the last level once more");
        assert_eq!(pages[0].key, "incident:7:page:3");
        assert!(next.is_some_and(|n| n > at("2026-12-01T10:45:00Z")), "then only targets and reminders");
        assert!(i.step(at("2026-12-01T10:59:00Z"), &r).0.is_empty());
    }

    #[test]
    fn acknowledging_stops_escalation_and_meets_the_response_target() {
        let (sev, policy) = (p1(), policy());
        let mut i = opened(&sev);
        let r = rules(&sev, &policy);
        i.step(at("2026-12-01T10:00:00Z"), &r);
        i.acknowledge("ops-1", at("2026-12-01T10:05:00Z"), Some("link")).unwrap();
        assert_eq!(i.status, Status::Acknowledged);
        let (pages, _) = i.step(at("2026-12-01T10:29:00Z"), &r);
        assert!(pages.is_empty(), "{pages:?}");
        let respond = i.targets.iter().find(|t| t.name == "respond").unwrap();
        assert_eq!(respond.made_it(at("2026-12-01T11:00:00Z")), Some(true));
        assert!(matches!(
            i.acknowledge("ops-2", at("2026-12-01T10:06:00Z"), None),
            Err(Refusal::AlreadyAcknowledged { .. })
        ));
    }

    #[test]
    fn a_missed_resolution_target_pages_the_next_level_and_updates_are_reminded() {
        let (sev, policy) = (p1(), policy());
        let mut i = opened(&sev);
        let r = rules(&sev, &policy);
        i.step(at("2026-12-01T10:00:00Z"), &r);
        i.acknowledge("ops-1", at("2026-12-01T10:05:00Z"), None).unwrap();
        // 004-46: an update every 30 minutes for a P1; the acknowledgement was the last one.
        let (pages, _) = i.step(at("2026-12-01T10:35:00Z"), &r);
        assert_eq!(pages.len(), 1);
        assert_eq!(pages[0].reason, PageReason::UpdateDue);
        assert_eq!(pages[0].targets, vec![Target::Person("ops-1".into())]);
        i.note("ops-1", at("2026-12-01T10:40:00Z"), "rolling back");
        assert!(i.step(at("2026-12-01T11:09:00Z"), &r).0.is_empty(), "the note was an update");
        // 003-01: resolve within 4 h. Missed, it pages level 2 (the level above the highest).
        let pages: Vec<Page> = i.step(at("2026-12-01T14:00:00Z"), &r).0;
        let breach = pages.iter().find(|p| p.reason == PageReason::TargetBreached).unwrap();
        assert_eq!(breach.level, Some(1));
        assert_eq!(breach.key, "incident:7:breach:resolve");
    }

    #[test]
    fn statuses_move_forward_and_auto_resolve_follows_the_alerts() {
        let sev = p1();
        let mut i = opened(&sev);
        i.auto_resolve = true;
        let alert = |firing| AlertRef {
            alertname: "check_down".into(),
            severity: "critical".into(),
            firing,
            since: at("2026-12-01T10:00:00Z"),
            value: None,
            summary: None,
            labels: BTreeMap::new(),
        };
        i.alert_fired("a", alert(true), at("2026-12-01T10:00:00Z"));
        i.alert_fired("b", alert(true), at("2026-12-01T10:01:00Z"));
        i.set_status(Status::Investigating, "ops-1", at("2026-12-01T10:02:00Z"), None).unwrap();
        assert_eq!(i.acknowledged_by.as_deref(), Some("ops-1"), "working it acknowledges it");
        assert_eq!(
            i.set_status(Status::Triggered, "x", at("2026-12-01T10:03:00Z"), None),
            Err(Refusal::Backwards(Status::Triggered))
        );
        i.alert_resolved("a", at("2026-12-01T10:10:00Z"));
        assert!(i.is_open(), "one alert still fires");
        i.alert_resolved("b", at("2026-12-01T10:20:00Z"));
        assert_eq!(i.status, Status::Resolved);
        assert_eq!(i.resolved_at, Some(at("2026-12-01T10:20:00Z")));
        assert_eq!(i.resolve("x", at("2026-12-01T10:22:00Z"), None), Err(Refusal::Resolved));
    }

    #[test]
    fn a_p1_wants_its_postmortem_then_a_follow_up_two_weeks_on() {
        let (sev, policy) = (p1(), policy());
        let mut i = opened(&sev);
        let r = rules(&sev, &policy);
        i.acknowledge("ops-1", at("2026-12-01T10:05:00Z"), None).unwrap();
        i.resolve("ops-1", at("2026-12-01T11:00:00Z"), None).unwrap();
        assert!(i.watched(&r));
        let (pages, _) = i.step(at("2026-12-02T11:00:00Z"), &r);
        assert_eq!(pages.iter().map(|p| p.reason).collect::<Vec<_>>(), vec![PageReason::PostmortemDue]);
        i.attach_postmortem("docs/pm-7.md", "ops-1", at("2026-12-02T12:00:00Z"));
        assert!(i.step(at("2026-12-15T12:00:00Z"), &r).0.is_empty());
        let (pages, _) = i.step(at("2026-12-16T12:00:00Z"), &r);
        assert_eq!(pages[0].reason, PageReason::FollowUp);
        assert!(!i.watched(&r), "nothing left to do");
    }

    #[test]
    fn a_more_severe_alert_raises_it_and_escalation_starts_again() {
        let (sev, policy) = (p1(), policy());
        let p3 = crate::severity::defaults().remove(2);
        let o = Opening { severity: "P3".into(), title: "slow".into(), by: "upkeep".into(), ..Default::default() };
        let mut i = Incident::open(o, at("2026-12-01T10:00:00Z"), Some(&p3), Some("default"), Duration::ZERO);
        i.acknowledge("ops-1", at("2026-12-01T10:01:00Z"), None).unwrap();
        i.raise("P1", Some(&sev), Some("default"), "check_down (api) is critical", at("2026-12-01T11:00:00Z"));
        assert_eq!((i.severity.as_str(), i.status, i.acknowledged_at), ("P1", Status::Triggered, None));
        let r = rules(&sev, &policy);
        assert_eq!(levels(&i.step(at("2026-12-01T11:00:00Z"), &r).0), vec![Some(0)]);
        assert_eq!(levels(&i.step(at("2026-12-01T11:15:00Z"), &r).0), vec![Some(1)], "15 minutes after the raise");
        let respond = i.targets.iter().filter(|t| t.name == "respond" && t.met.is_none()).map(|t| t.due).max();
        assert_eq!(respond, Some(at("2026-12-01T11:15:00Z")));
    }

    #[test]
    fn after_a_long_outage_one_reminder_not_a_burst() {
        let (sev, policy) = (p1(), policy());
        let mut i = opened(&sev);
        let r = rules(&sev, &policy);
        i.acknowledge("ops-1", at("2026-12-01T10:05:00Z"), None).unwrap();
        // Down for 8 hours: one update reminder, then the next one 30 minutes on.
        let (pages, next) = i.step(at("2026-12-01T18:05:00Z"), &r);
        assert_eq!(pages.iter().filter(|p| p.reason == PageReason::UpdateDue).count(), 1);
        assert!(next.is_some_and(|n| n > at("2026-12-01T18:05:00Z")), "{next:?}");
        // A flap that resolved itself unacknowledged wants no post-mortem.
        let mut flap = opened(&sev);
        flap.resolve(UNASSIGNED, at("2026-12-01T10:02:00Z"), None).unwrap();
        assert!(flap.targets.iter().all(|t| t.made_it(at("2026-12-02T00:00:00Z")) == Some(true)), "{:?}", flap.targets);
        assert!(!flap.watched(&r));
    }

    #[test]
    fn a_data_breach_carries_the_regulator_deadline() {
        let sev = p1();
        let o = Opening {
            severity: "P1".into(),
            title: "exported records".into(),
            kind: Some("data-breach".into()),
            by: "alice".into(),
            ..Default::default()
        };
        let mut i = Incident::open(o, at("2026-12-01T10:00:00Z"), Some(&sev), None, Duration::from_secs(72 * 3600));
        let regulator = i.targets.iter().find(|t| t.name == "regulator").unwrap();
        assert_eq!(regulator.due, at("2026-12-04T10:00:00Z"));
        i.met("regulator", "alice", at("2026-12-03T09:00:00Z")).unwrap();
        assert!(i.met("regulator", "alice", at("2026-12-03T09:00:00Z")).is_err());
    }
}
