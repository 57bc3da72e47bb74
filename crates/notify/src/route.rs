//! Routes: which channels hear of an alert. Routes are tried in order; the first whose matchers
//! all match takes the alert, and the ones after it only if it says `continue = true`. An alert
//! no route takes goes to the default route (`[notifications] channels`).

use crate::interval::TimeInterval;
use jiff::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use upkeep_alert::{Labels, Matcher};

/// How a route groups and repeats (Alertmanager's defaults, but a 5 s first wait).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How long a new group waits for more alerts before its first message.
    pub group_wait: Duration,
    /// How long a group waits after a message before sending what changed.
    pub group_interval: Duration,
    /// How long before a group whose alerts still fire says so again.
    pub repeat_interval: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            group_wait: Duration::from_secs(5),
            group_interval: Duration::from_secs(300),
            repeat_interval: Duration::from_secs(4 * 3600),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Route {
    /// `route-1`, or its `name`: groups and idempotency keys carry it.
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub channels: Vec<String>,
    /// Whether routes after this one are tried too when it matches.
    pub proceed: bool,
    /// Labels whose values tell its groups apart; `...` groups by every label (one alert per group).
    pub group_by: Vec<String>,
    pub timing: Timing,
    pub active_during: Vec<Arc<TimeInterval>>,
    pub mute_during: Vec<Arc<TimeInterval>>,
}

impl Route {
    pub fn matches(&self, labels: &Labels) -> bool {
        self.matchers.iter().all(|m| m.matches(labels))
    }

    /// Whether its messages wait at `now`: outside every `active_during`, or inside a `mute_during`.
    pub fn is_muted(&self, now: Timestamp) -> bool {
        let inactive = !self.active_during.is_empty() && !self.active_during.iter().any(|i| i.contains(now));
        inactive || self.mute_during.iter().any(|i| i.contains(now))
    }

    /// The group an alert with `labels` joins: its key and its labels.
    pub fn group_of(&self, labels: &Labels) -> (String, Vec<(String, String)>) {
        let all = self.group_by.iter().any(|l| l == "...");
        let pairs: Vec<(String, String)> = if all {
            labels.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect()
        } else {
            self.group_by.iter().map(|l| (l.clone(), labels.get(l).unwrap_or("").to_string())).collect()
        };
        let inner: Vec<String> = pairs.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
        (format!("{}{{{}}}", self.id, inner.join(",")), pairs)
    }
}

/// Every route, and the default one last.
#[derive(Clone, Debug, Default)]
pub struct Routes {
    pub routes: Vec<Route>,
    /// Takes what no route takes; it has no matchers, and no channels unless configured.
    pub default: Option<Route>,
}

impl Routes {
    /// The routes an alert with `labels` takes, in order.
    pub fn matching(&self, labels: &Labels) -> Vec<&Route> {
        let mut taken = Vec::new();
        for route in &self.routes {
            if route.matches(labels) {
                taken.push(route);
                if !route.proceed {
                    break;
                }
            }
        }
        if taken.is_empty() {
            taken.extend(self.default.iter());
        }
        taken
    }

    /// Whether an alert with `labels` reaches any channel.
    pub fn reaches_a_channel(&self, labels: &Labels) -> bool {
        self.matching(labels).iter().any(|r| !r.channels.is_empty())
    }

    pub fn get(&self, id: &str) -> Option<&Route> {
        self.routes.iter().chain(self.default.iter()).find(|r| r.id == id)
    }

    pub fn is_empty(&self) -> bool {
        self.routes.is_empty() && self.default.as_ref().is_none_or(|d| d.channels.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn route(id: &str, matchers: &[&str], channels: &[&str], proceed: bool) -> Route {
        Route {
            id: id.into(),
            matchers: matchers.iter().map(|m| Matcher::parse(m).unwrap()).collect(),
            channels: channels.iter().map(|c| c.to_string()).collect(),
            proceed,
            group_by: vec!["alertname".into()],
            timing: Timing::default(),
            active_during: Vec::new(),
            mute_during: Vec::new(),
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect::<BTreeMap<_, _>>().into()
    }

    #[test]
    fn first_match_wins_unless_it_continues_and_the_rest_fall_to_the_default() {
        // 000-50: critical → Slack and SMS, warning → Slack, the rest → email.
        let routes = Routes {
            routes: vec![
                route("critical", &["severity=critical"], &["slack", "sms"], true),
                route("audit", &["severity=~critical|warning"], &["audit-log"], false),
                route("warning", &["severity=warning"], &["slack"], false),
            ],
            default: Some(route("default", &[], &["email"], false)),
        };
        let ids = |l: &Labels| routes.matching(l).iter().map(|r| r.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&labels(&[("severity", "critical")])), ["critical", "audit"]);
        assert_eq!(ids(&labels(&[("severity", "warning")])), ["audit"], "audit matched first and does not continue");
        assert_eq!(ids(&labels(&[("severity", "info")])), ["default"]);
        let (key, pairs) = routes.routes[0].group_of(&labels(&[("alertname", "check_down"), ("check", "db")]));
        assert_eq!(key, "critical{alertname=\"check_down\"}");
        assert_eq!(pairs, [("alertname".to_string(), "check_down".to_string())]);
        let none = Routes { routes: vec![route("r", &["severity=critical"], &["slack"], false)], default: None };
        assert!(!none.reaches_a_channel(&labels(&[("severity", "info")])));
    }
}
