//! Grouping, as Alertmanager groups: alerts that take one route and share the values of its
//! `group_by` labels form a group, and a group sends one message listing them all. A new group
//! waits `group_wait` for more alerts before its first message; after a message it looks again
//! every `group_interval` and sends what changed (a new alert firing, one resolved); while its
//! alerts fire and nothing changes, it says so again every `repeat_interval`. An alert whose rule
//! sets its own `repeat` is repeated on that instead: the rule wins, sooner or later. Pure: the caller saves the groups with the messages they
//! produce and the events they took in, in one transaction, so a restart resumes each group.

use crate::message::{AlertItem, Message, Status};
use crate::route::Route;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;
use upkeep_alert::{Event, Notice};

/// One alert in a group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// Its latest notified event.
    pub event: Event,
    pub firing: bool,
    /// Since when it fires (this episode).
    pub since: Timestamp,
    /// Whether a message has said it fires.
    pub told: bool,
    /// Its rule repeats it (so the route's `repeat_interval` does not).
    #[serde(default)]
    pub own_repeat: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub key: String,
    pub route: String,
    pub labels: Vec<(String, String)>,
    pub members: BTreeMap<String, Member>,
    /// When it next looks at its members (`None`: nothing left to say).
    pub next: Option<Timestamp>,
    pub last_sent: Option<Timestamp>,
    /// Messages sent so far; the next one's sequence number.
    pub seq: u64,
    /// An alert's rule asked to repeat.
    #[serde(default)]
    pub repeat: bool,
}

/// Dashboard links, from `[server] url`.
pub trait Links {
    fn alert(&self, key: &str) -> String;
    fn group(&self, labels: &[(String, String)]) -> String;
}

impl Group {
    fn new(key: String, route: &Route, labels: Vec<(String, String)>, now: Timestamp) -> Group {
        let next = Some(now + signed(route.timing.group_wait));
        Group {
            key,
            route: route.id.clone(),
            labels,
            members: BTreeMap::new(),
            next,
            last_sent: None,
            seq: 0,
            repeat: false,
        }
    }

    /// Takes in one event of an alert that took this group's route.
    pub fn take(&mut self, event: &Event, route: &Route, now: Timestamp) {
        let Some(notice) = event.notice else { return };
        let muted = !event.muted_by.is_empty();
        match (notice, self.members.get_mut(&event.key)) {
            // Silenced, in maintenance, inhibited: nobody is told it fires.
            (Notice::Firing | Notice::Repeat, member) if muted => {
                if member.is_some_and(|m| !m.told) {
                    self.members.remove(&event.key);
                }
            }
            (Notice::Firing, Some(member)) => {
                member.event = event.clone();
                member.firing = true;
                member.own_repeat = event.own_repeat;
            }
            (Notice::Firing, None) | (Notice::Repeat, None) => {
                let member = Member {
                    event: event.clone(),
                    firing: true,
                    since: event.at,
                    told: false,
                    own_repeat: event.own_repeat,
                };
                self.members.insert(event.key.clone(), member);
            }
            (Notice::Repeat, Some(member)) => {
                member.event = event.clone();
                member.own_repeat = event.own_repeat;
                self.repeat |= member.told;
            }
            // A resolve of a firing nobody was told of is not news.
            (Notice::Resolved, Some(member)) if muted || !member.told => {
                self.members.remove(&event.key);
            }
            (Notice::Resolved, Some(member)) => {
                member.event = event.clone();
                member.firing = false;
            }
            (Notice::Resolved, None) => {}
        }
        if self.next.is_none() && !self.members.is_empty() {
            let earliest = self.last_sent.map_or(now, |sent| sent + signed(route.timing.group_interval));
            self.next = Some(earliest.max(now));
        }
    }

    /// At `now`, past `next`: the message it sends, if there is news or a repeat is due, and when
    /// it looks again. A muted route keeps its news for later.
    pub fn flush(&mut self, route: &Route, now: Timestamp, links: &dyn Links) -> Option<Message> {
        if self.next.is_none_or(|next| next > now) {
            return None;
        }
        let news = self.repeat || self.members.values().any(|m| m.firing != m.told);
        let route_repeats = self.members.values().any(|m| m.firing && !m.own_repeat);
        let repeat_due = route_repeats
            && self.last_sent.is_none_or(|sent| now.duration_since(sent) >= signed(route.timing.repeat_interval));
        let send = (news || repeat_due) && !route.is_muted(now);
        let message = send.then(|| self.message(route, now, links));
        if send {
            self.seq += 1;
            self.last_sent = Some(now);
            self.repeat = false;
            self.members.retain(|_, m| m.firing);
            for member in self.members.values_mut() {
                member.told = true;
            }
        }
        self.next = (!self.members.is_empty()).then(|| now + signed(route.timing.group_interval));
        message
    }

    fn message(&self, route: &Route, now: Timestamp, links: &dyn Links) -> Message {
        let alerts: Vec<AlertItem> =
            self.members.values().filter(|m| m.firing || m.told).map(|m| item(m, links)).collect();
        let status = if alerts.iter().any(|a| a.status == Status::Firing) { Status::Firing } else { Status::Resolved };
        let keep = route.timing.repeat_interval + route.timing.group_interval + Duration::from_secs(60);
        Message {
            key: format!("{}:{}:{}", self.key, status.as_str(), self.seq + 1),
            status,
            route: route.id.clone(),
            group_key: self.key.clone(),
            group_labels: self.labels.iter().cloned().collect(),
            common_labels: Message::common(&alerts),
            alerts,
            created_at: now,
            keep_until: now + signed(keep),
            link: links.group(&self.labels),
            test: false,
            maintenance: None,
            incident: None,
        }
    }
}

fn item(member: &Member, links: &dyn Links) -> AlertItem {
    let e = &member.event;
    AlertItem {
        key: e.key.clone(),
        alertname: e.alertname.clone(),
        status: if member.firing { Status::Firing } else { Status::Resolved },
        severity: e.severity.clone(),
        value: e.value.clone(),
        labels: e.labels.clone(),
        annotations: e
            .annotations
            .iter()
            .filter(|(k, _)| *k != "runbook")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        starts_at: member.since,
        ends_at: (!member.firing).then_some(e.at),
        link: links.alert(&e.key),
        runbook: e.annotations.get("runbook").cloned(),
    }
}

fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// Every group, by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Groups {
    pub groups: BTreeMap<String, Group>,
    /// Keys of groups changed since [`Groups::take_changed`], to save.
    changed: Vec<String>,
}

impl Groups {
    pub fn resume(groups: Vec<Group>) -> Groups {
        Groups { groups: groups.into_iter().map(|g| (g.key.clone(), g)).collect(), changed: Vec::new() }
    }

    /// Takes in one alert event, into the group of every route it takes.
    pub fn take(&mut self, event: &Event, routes: &[&Route], now: Timestamp) {
        if event.notice.is_none() {
            return;
        }
        let labels: upkeep_alert::Labels = event.labels.clone().into();
        for route in routes {
            let (key, pairs) = route.group_of(&labels);
            let group = self.groups.entry(key.clone()).or_insert_with(|| Group::new(key.clone(), route, pairs, now));
            group.take(event, route, now);
            self.changed.push(key);
        }
    }

    /// Every message due at `now`; a group whose route is gone says nothing more and is dropped.
    pub fn flush(&mut self, route: impl Fn(&str) -> Option<Route>, now: Timestamp, links: &dyn Links) -> Vec<Message> {
        let mut messages = Vec::new();
        let due: Vec<String> =
            self.groups.values().filter(|g| g.next.is_some_and(|n| n <= now)).map(|g| g.key.clone()).collect();
        for key in due {
            let Some(group) = self.groups.get_mut(&key) else { continue };
            match route(&group.route) {
                Some(route) => messages.extend(group.flush(&route, now, links)),
                None => group.members.clear(),
            }
            if group.members.is_empty() {
                group.next = None;
            }
            self.changed.push(key);
        }
        messages
    }

    /// When a group next looks at its members.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.groups.values().filter_map(|g| g.next).min()
    }

    /// The groups changed since the last call: `(key, Some(group))` to save, `(key, None)` to
    /// delete (a group with nothing left to say).
    pub fn take_changed(&mut self) -> Vec<(String, Option<Group>)> {
        let mut keys = std::mem::take(&mut self.changed);
        keys.sort();
        keys.dedup();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let done = self.groups.get(&key).is_none_or(|g| g.members.is_empty() && g.next.is_none());
            if done {
                self.groups.remove(&key);
                out.push((key, None));
            } else {
                out.push((key.clone(), self.groups.get(&key).cloned()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route::Timing;

    struct NoLinks;
    impl Links for NoLinks {
        fn alert(&self, key: &str) -> String {
            format!("http://upkeep/alerts?key={key}")
        }
        fn group(&self, _: &[(String, String)]) -> String {
            "http://upkeep/alerts".into()
        }
    }

    fn route() -> Route {
        Route {
            id: "critical".into(),
            matchers: Vec::new(),
            channels: vec!["hook".into()],
            proceed: false,
            group_by: vec!["alertname".into()],
            timing: Timing::default(),
            active_during: Vec::new(),
            mute_during: Vec::new(),
        }
    }

    fn event(check: &str, notice: Notice, at: Timestamp) -> Event {
        Event {
            at,
            key: format!("check_down{{check=\"{check}\"}}"),
            alertname: "check_down".into(),
            from: "pending".into(),
            to: if notice == Notice::Resolved { "resolved" } else { "firing" }.into(),
            notice: Some(notice),
            severity: "critical".into(),
            value: None,
            labels: [("alertname", "check_down"), ("check", check), ("severity", "critical")]
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .into(),
            annotations: BTreeMap::new(),
            cause: None,
            muted_by: Vec::new(),
            own_repeat: false,
        }
    }

    /// When (seconds after `from`) a group of one alert firing for `hours` sends, looked at each
    /// minute; `own`: its rule's own `repeat`, in seconds, with the `Repeat` notices it brings.
    fn sent_at(own: Option<i64>, from: Timestamp, hours: i64) -> Vec<i64> {
        let r = route();
        let mut groups = Groups::default();
        let mut firing = event("db", Notice::Firing, from);
        firing.own_repeat = own.is_some();
        groups.take(&firing, &[&r], from);
        let mut sent = Vec::new();
        for s in (0..=hours * 3600).step_by(60) {
            let now = from + SignedDuration::from_secs(s);
            if let Some(every) = own
                && s > 0
                && s % every == 0
            {
                let mut repeat = event("db", Notice::Repeat, now);
                repeat.own_repeat = true;
                groups.take(&repeat, &[&r], now);
            }
            sent.extend(
                groups
                    .flush(|_| Some(route()), now, &NoLinks)
                    .iter()
                    .map(|m| m.created_at.duration_since(from).as_secs()),
            );
        }
        sent
    }

    #[test]
    fn the_rules_own_repeat_wins_over_the_routes_repeat_interval() {
        let t0: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        // The first message at the first look past group_wait (60 s), then a look every 5 min.
        // 000-55: no `repeat` on the rule: the route's 4 h.
        assert_eq!(sent_at(None, t0, 13), [60, 60 + 4 * 3600, 60 + 8 * 3600, 60 + 12 * 3600]);
        // `repeat = "12h"`: later than the route's 4 h, and it wins.
        assert_eq!(sent_at(Some(12 * 3600), t0, 25), [60, 60 + 12 * 3600, 60 + 24 * 3600]);
        // `repeat = "1h"`: sooner, sent at the group's next look after each repeat.
        assert_eq!(sent_at(Some(3600), t0, 4), [60, 60 + 3600, 60 + 2 * 3600, 60 + 3 * 3600]);
    }

    #[test]
    fn alerts_firing_within_group_wait_arrive_as_one_message_then_changes_each_group_interval() {
        let t0: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let at = |s: i64| t0 + SignedDuration::from_secs(s);
        let r = route();
        let mut groups = Groups::default();
        let lookup = |_: &str| Some(route());
        for (i, check) in (0..10).map(|i| (i, format!("c{i}"))) {
            groups.take(&event(&check, Notice::Firing, at(i / 3)), &[&r], at(i / 3));
        }
        assert_eq!(groups.next_due(), Some(at(5)), "group_wait is 5 s from the first");
        assert!(groups.flush(lookup, at(4), &NoLinks).is_empty());
        let first = groups.flush(lookup, at(5), &NoLinks);
        assert_eq!(first.len(), 1, "ten alerts, one message");
        assert_eq!(first[0].alerts.len(), 10);
        assert_eq!(first[0].key, "critical{alertname=\"check_down\"}:firing:1");
        assert_eq!(first[0].common_labels.get("check"), None);
        // One resolves at +60 s: said at the next group interval (+305 s), not before.
        groups.take(&event("c3", Notice::Resolved, at(60)), &[&r], at(60));
        assert!(groups.flush(lookup, at(60), &NoLinks).is_empty());
        let second = groups.flush(lookup, at(305), &NoLinks);
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].resolved().count(), 1);
        assert_eq!(second[0].firing().count(), 9);
        assert_eq!(second[0].key, "critical{alertname=\"check_down\"}:firing:2");
        // Nothing changes: nothing is sent until repeat_interval (4 h) after the last message.
        assert!(groups.flush(lookup, at(605), &NoLinks).is_empty());
        let repeat = groups.flush(lookup, at(305 + 4 * 3600), &NoLinks);
        assert_eq!(repeat.len(), 1, "the 4 h repeat");
        // All resolve: one resolved message, and the group is gone.
        for i in (0..10).filter(|i| *i != 3) {
            groups.take(&event(&format!("c{i}"), Notice::Resolved, at(20_000)), &[&r], at(20_000));
        }
        let last = groups.flush(lookup, at(20_000 + 300), &NoLinks);
        assert_eq!(last[0].status, Status::Resolved);
        assert_eq!(last[0].alerts.len(), 9);
        assert!(groups.take_changed().iter().any(|(_, g)| g.is_none()), "the empty group is deleted");
        assert!(groups.groups.is_empty());
    }

    #[test]
    fn muted_or_unheard_alerts_are_not_news() {
        let t0: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let r = route();
        let mut groups = Groups::default();
        let mut silenced = event("db", Notice::Firing, t0);
        silenced.muted_by = vec!["silence:1".into()];
        groups.take(&silenced, &[&r], t0);
        // Fires and resolves within group_wait: nobody was told, so nothing is sent.
        groups.take(&event("api", Notice::Firing, t0), &[&r], t0);
        groups.take(&event("api", Notice::Resolved, t0 + SignedDuration::from_secs(2)), &[&r], t0);
        assert!(groups.flush(|_| Some(route()), t0 + SignedDuration::from_secs(5), &NoLinks).is_empty());
    }

    #[test]
    fn a_muted_route_keeps_its_news_until_the_interval_ends() {
        let t0: Timestamp = "2026-12-06T10:00:00Z".parse().unwrap(); // a Sunday
        let mut r = route();
        r.active_during = vec![std::sync::Arc::new(crate::interval::TimeInterval {
            name: "weekdays".into(),
            weekdays: crate::interval::parse_weekdays("monday:friday").unwrap(),
            times: Vec::new(),
            zone: jiff::tz::TimeZone::UTC,
        })];
        let mut groups = Groups::default();
        groups.take(&event("db", Notice::Firing, t0), &[&r], t0);
        let lookup = |_: &str| Some(r.clone());
        assert!(groups.flush(lookup, t0 + SignedDuration::from_secs(5), &NoLinks).is_empty(), "Sunday: held");
        let monday = "2026-12-07T00:01:00Z".parse::<Timestamp>().unwrap();
        let mut sent = Vec::new();
        let mut now = t0 + SignedDuration::from_secs(5);
        while now <= monday + SignedDuration::from_secs(300) {
            sent.extend(groups.flush(lookup, now, &NoLinks));
            now += SignedDuration::from_secs(300);
        }
        assert_eq!(sent.len(), 1, "sent once, on Monday");
        assert!(sent[0].created_at >= "2026-12-07T00:00:00Z".parse::<Timestamp>().unwrap());
    }
}
