//! The alert engine: holds every alert's state and moves it on. A committed result re-evaluates
//! the rules that read its check (and counts a run for its down alert); a tick re-evaluates the
//! rules over history with freshly fetched values and lets time pass over the rest (`for`,
//! `keep_firing_for`, repeats, cooldowns). Every change is an [`Event`]; the caller stores the
//! events and the changed alerts in one transaction, so a restart resumes exactly where it was.

use crate::history::Fetched;
use crate::rule::{Condition, Rule, Rules};
use crate::state::{Memory, Notice, Step};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use upkeep_expr::{Env, EvalError, FieldRef, Value};
use upkeep_result::CheckResult;

/// One alert: a rule's state and what it last saw.
#[derive(Clone, Debug)]
pub struct Alert {
    pub rule: Arc<Rule>,
    pub memory: Memory,
    /// Whether the condition held at the last evaluation.
    pub holds: bool,
    /// The value it was decided on (`disk.used_percent`, a burn rate), as shown.
    pub value: Option<String>,
    /// The annotations, rendered when it last changed.
    pub annotations: BTreeMap<String, String>,
    /// The result that last changed it.
    pub cause: Option<Cause>,
    /// Its last firing notification was muted: nobody has heard that it fires.
    pub unheard: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cause {
    pub check: String,
    pub at: Timestamp,
}

/// An alert as kept in the store.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub key: String,
    pub memory: Memory,
    pub holds: bool,
    pub value: Option<String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub cause: Option<Cause>,
    #[serde(default)]
    pub unheard: bool,
    /// Its rule's, so that a resolve after its rule is removed still routes.
    #[serde(default)]
    pub severity: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A change of an alert's state, or a notification that is due: the stream notifications,
/// the API and the dashboard read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: Timestamp,
    pub key: String,
    pub alertname: String,
    pub from: String,
    pub to: String,
    pub notice: Option<Notice>,
    pub severity: String,
    pub value: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub cause: Option<Cause>,
    /// What keeps this notification from being sent: `silence:ID`, `maintenance:NAME`,
    /// `depends_on:CHECK`, `inhibited_by:KEY`, a flapping alert's key, or `unnotified` (a
    /// resolve of a firing nobody was told of).
    #[serde(default)]
    pub muted_by: Vec<String>,
    /// Its rule sets its own `repeat`, which wins over a route's `repeat_interval`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_repeat: bool,
}

/// A check's latest run, as `when` reads it.
#[derive(Clone, Debug)]
struct Latest {
    result: CheckResult,
}

pub struct Engine {
    rules: Arc<Rules>,
    /// Boxed: B-tree nodes are half empty after in-order inserts, and an empty slot of a
    /// boxed alert costs 8 bytes rather than 200.
    alerts: BTreeMap<Arc<str>, Box<Alert>>,
    latest: HashMap<String, Latest>,
    history: Fetched,
    /// Each check's recent status changes, for flapping.
    flips: HashMap<String, VecDeque<Timestamp>>,
    /// Keys changed since [`Engine::take_changed`].
    changed: Vec<String>,
    silences: Vec<crate::mute::Silence>,
}

impl Engine {
    /// An engine for `rules`, resuming the saved alerts. Saved alerts whose rule is gone
    /// resolve (with a notice, if their firing was notified).
    pub fn new(rules: Arc<Rules>, saved: Vec<Saved>, now: Timestamp) -> (Engine, Vec<Event>) {
        let mut engine = Engine {
            rules: Arc::new(Rules::default()),
            alerts: BTreeMap::new(),
            latest: HashMap::new(),
            history: Fetched::default(),
            flips: HashMap::new(),
            changed: Vec::new(),
            silences: Vec::new(),
        };
        let saved: BTreeMap<String, Saved> = saved.into_iter().map(|s| (s.key.clone(), s)).collect();
        let events = engine.put_in_force(rules, saved, now);
        (engine, events)
    }

    /// Puts new rules in force. Alerts of rules that stay keep their state.
    pub fn reload(&mut self, rules: Arc<Rules>, now: Timestamp) -> Vec<Event> {
        let saved =
            std::mem::take(&mut self.alerts).into_iter().map(|(key, alert)| (key.to_string(), saved(&alert))).collect();
        self.put_in_force(rules, saved, now)
    }

    /// Each rule's alert, resumed from `saved` when it is there; saved alerts whose rule is gone
    /// resolve (notified if their firing was) and are forgotten.
    fn put_in_force(&mut self, rules: Arc<Rules>, mut saved: BTreeMap<String, Saved>, now: Timestamp) -> Vec<Event> {
        for rule in &rules.rules {
            // A rule that is new starts inactive.
            let s = saved.remove(&*rule.key).unwrap_or_default();
            let alert = Alert {
                rule: Arc::clone(rule),
                memory: s.memory,
                holds: s.holds,
                value: s.value,
                annotations: s.annotations,
                cause: s.cause,
                unheard: s.unheard,
            };
            self.alerts.insert(Arc::clone(&rule.key), Box::new(alert));
        }
        self.rules = rules;
        let mut events = Vec::new();
        for (key, gone) in saved {
            if let crate::state::State::Firing { notified, .. } = gone.memory.state {
                let step = Step { from: "firing", to: "resolved", notice: notified.map(|_| Notice::Resolved) };
                events.push(Event {
                    at: now,
                    alertname: key.split('{').next().unwrap_or(&key).to_string(),
                    key: key.clone(),
                    from: step.from.into(),
                    to: step.to.into(),
                    notice: step.notice,
                    severity: gone.severity,
                    value: gone.value,
                    labels: gone.labels,
                    annotations: gone.annotations,
                    cause: gone.cause,
                    muted_by: Vec::new(),
                    own_repeat: false,
                });
            }
            self.changed.push(key);
        }
        events
    }

    pub fn rules(&self) -> &Arc<Rules> {
        &self.rules
    }

    /// The latest run of each check, as the daemon restored them at start.
    pub fn restore_latest(&mut self, results: impl IntoIterator<Item = CheckResult>) {
        for mut result in results {
            if !self.rules.reads_fields(&result.check) {
                result.observations = upkeep_expr::Observations::default();
            }
            self.latest.insert(result.check.clone(), Latest { result });
        }
    }

    /// Seeds a check's recent status changes (from the store), for flapping.
    pub fn restore_flips(&mut self, check: &str, at: impl IntoIterator<Item = Timestamp>) {
        self.flips.insert(check.to_string(), at.into_iter().collect());
    }

    /// Takes in committed results, in commit order. Results `replayed` from the store after a
    /// crash carry no observations when they passed, so only what counts runs (down and
    /// flapping alerts) takes them in; `when` rules wait for the next live result.
    pub fn on_results(&mut self, results: &[CheckResult], now: Timestamp, replayed: bool) -> Vec<Event> {
        let mut events = Vec::new();
        let mut touched: Vec<&str> = Vec::new();
        let mut seen_checks = std::collections::HashSet::new();
        let rules = Arc::clone(&self.rules);
        for result in results {
            let previous = self.latest.remove(&result.check);
            if previous.as_ref().is_some_and(|l| l.result.is_ok() != result.is_ok()) {
                self.flips.entry(result.check.clone()).or_default().push_back(result.at);
            }
            // Only `when` rules read observations; a replayed passing run has none, so the last
            // ones stand.
            let observations = match (rules.reads_fields(&result.check), previous) {
                (false, _) => upkeep_expr::Observations::default(),
                (true, Some(previous)) if replayed && result.observations.is_empty() => previous.result.observations,
                (true, _) => result.observations.clone(),
            };
            let kept =
                CheckResult { observations, message: result.message.clone(), check: result.check.clone(), ..*result };
            self.latest.insert(result.check.clone(), Latest { result: kept });
            for rule in rules.reading(&result.check) {
                if let Condition::CheckDown { .. } = rule.condition {
                    self.evaluate(rule, true, now, &mut events);
                }
            }
            if seen_checks.insert(result.check.as_str()) {
                touched.push(&result.check);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for check in touched {
            for rule in rules.reading(check) {
                let counts_runs = matches!(rule.condition, Condition::Flapping { .. });
                if matches!(rule.condition, Condition::CheckDown { .. }) || (replayed && !counts_runs) {
                    continue;
                }
                if seen.insert(Arc::as_ptr(rule)) {
                    self.evaluate(rule, true, now, &mut events);
                }
            }
        }
        events
    }

    /// Re-evaluates the rules over history with `fetched`, and lets time pass over the rest.
    pub fn on_tick(&mut self, fetched: Fetched, now: Timestamp) -> Vec<Event> {
        self.history = fetched;
        let mut events = Vec::new();
        let rules = Arc::clone(&self.rules);
        for rule in &rules.rules {
            if rule.reads_history() {
                self.evaluate(rule, false, now, &mut events);
            } else if let Some(alert) = self.alerts.get(&*rule.key)
                && !matches!(alert.memory.state, crate::state::State::Inactive | crate::state::State::Resolved { .. })
            {
                let holds = alert.holds;
                self.advance(rule, holds, false, now, &mut events);
            }
        }
        self.unmuted(now, &mut events);
        events
    }

    /// Puts the silences in force (all of them, as stored); firing alerts a silence no longer
    /// mutes, and nobody has been told of, are notified now.
    pub fn set_silences(&mut self, silences: Vec<crate::mute::Silence>, now: Timestamp) -> Vec<Event> {
        self.silences = silences;
        let mut events = Vec::new();
        self.unmuted(now, &mut events);
        events
    }

    pub fn silences(&self) -> &[crate::mute::Silence] {
        &self.silences
    }

    /// A firing alert whose notification was muted, and is muted no more, is notified.
    fn unmuted(&mut self, now: Timestamp, events: &mut Vec<Event>) {
        let unheard: Vec<Arc<Rule>> = self
            .alerts
            .values()
            .filter(|a| a.unheard && a.memory.state.is_firing())
            .map(|a| Arc::clone(&a.rule))
            .collect();
        for rule in unheard {
            if !self.muted_by(&rule, now).is_empty() {
                continue;
            }
            let Some(alert) = self.alerts.get_mut(&*rule.key) else { continue };
            alert.unheard = false;
            alert.memory.last_fired = Some(now);
            if let crate::state::State::Firing { notified, .. } = &mut alert.memory.state {
                *notified = Some(now);
            }
            let step = Step { from: "firing", to: "firing", notice: Some(Notice::Firing) };
            events.push(event(alert, step, now, Vec::new()));
            self.changed.push(rule.key.to_string());
        }
    }

    fn evaluate(&mut self, rule: &Arc<Rule>, run: bool, now: Timestamp, events: &mut Vec<Event>) {
        let (holds, value) = self.decide(rule, now);
        if let Some(alert) = self.alerts.get_mut(&*rule.key)
            && (value.is_some() || run)
        {
            alert.value = value;
        }
        self.advance(rule, holds, run, now, events);
    }

    fn advance(&mut self, rule: &Arc<Rule>, holds: bool, run: bool, now: Timestamp, events: &mut Vec<Event>) {
        let Some(alert) = self.alerts.get_mut(&*rule.key) else { return };
        let held_before = alert.holds;
        alert.holds = holds;
        let Some(step) = alert.memory.advance(holds, run, now, &rule.timing) else {
            if held_before != holds {
                self.changed.push(rule.key.to_string());
            }
            return;
        };
        // Only a change costs more: what mutes it, the cause, the annotations.
        let muted_by = self.muted_by(rule, now);
        let context = self.context(rule);
        let cause = rule
            .check()
            .and_then(|c| self.latest.get(c))
            .map(|l| Cause { check: l.result.check.clone(), at: l.result.at });
        let Some(alert) = self.alerts.get_mut(&*rule.key) else { return };
        alert.cause = cause;
        alert.annotations = render(&rule.annotations, &context, alert.value.as_deref());
        let muted_by = match step.notice {
            None => Vec::new(),
            Some(Notice::Resolved) if alert.unheard && muted_by.is_empty() => vec!["unnotified".to_string()],
            Some(_) => muted_by,
        };
        if let Some(notice) = step.notice {
            alert.unheard = notice != Notice::Resolved && !muted_by.is_empty();
        }
        events.push(event(alert, step, now, muted_by));
        self.changed.push(rule.key.to_string());
    }

    /// Whether the rule's condition holds now, and the value it was decided on.
    fn decide(&self, rule: &Rule, now: Timestamp) -> (bool, Option<String>) {
        match &rule.condition {
            Condition::When(program) => {
                let env = WhenEnv { latest: &self.latest, history: &self.history };
                let holds = program.eval_in(&env).unwrap_or(false);
                (holds, program.first_value(&env).map(|v| v.to_string()))
            }
            Condition::CheckDown { check } => {
                let latest = self.latest.get(&**check);
                (latest.is_some_and(|l| !l.result.is_ok()), latest.and_then(|l| l.result.message.clone()))
            }
            Condition::SloBurn { slo, alert } => {
                let burn = |w| self.history.burn.get(&(slo.name.clone(), w)).copied().flatten();
                let (long, short) = (burn(alert.window.long), burn(alert.window.short));
                (alert.fires(long, short), long.map(|b| format!("{b:.1}")))
            }
            Condition::Flapping { check, changes, window } => {
                let since = now.checked_sub(jiff::SignedDuration::try_from(*window).unwrap_or_default()).unwrap_or(now);
                let n = self.flips.get(&**check).map_or(0, |f| f.iter().filter(|at| **at >= since).count() as u64);
                (n > *changes, Some(n.to_string()))
            }
        }
    }

    /// What mutes the rule's notifications now; empty when nothing does.
    pub fn muted_by(&self, rule: &Rule, now: Timestamp) -> Vec<String> {
        let mut by = Vec::new();
        let labels = &rule.labels;
        for silence in self.silences.iter().filter(|s| s.is_active(now) && s.matches(labels)) {
            by.push(format!("silence:{}", silence.id));
        }
        let mutes = &self.rules.mutes;
        for window in mutes.windows.iter().filter(|w| w.is_active(now) && w.covers(labels)) {
            by.push(format!("maintenance:{}", window.name));
        }
        if let Some(check) = rule.check() {
            for parent in mutes.parents.get(check).into_iter().flatten() {
                if self.latest.get(parent).is_some_and(|l| !l.result.is_ok()) {
                    by.push(format!("depends_on:{parent}"));
                }
            }
        }
        if !mutes.inhibits.is_empty() {
            let firing = self.alerts.values().filter(|a| a.memory.state.is_firing() && a.rule.key != rule.key);
            for source in firing {
                if mutes.inhibits.iter().any(|i| i.mutes(&source.rule.labels, labels)) {
                    by.push(format!("inhibited_by:{}", source.rule.key));
                }
            }
        }
        // A flapping check's down alert notifies nobody: its flapping alert does, once.
        if let Condition::CheckDown { check } = &rule.condition {
            let key = crate::rule::key("check_flapping", &[("check", check)]);
            if self.alerts.get(key.as_str()).is_some_and(|a| a.memory.state.is_firing()) {
                by.push(key);
            }
        }
        by
    }

    /// Values for the rule's annotation templates.
    fn context(&self, rule: &Rule) -> serde_json::Value {
        let mut context = serde_json::Map::new();
        for check in &rule.checks {
            if let Some(latest) = self.latest.get(&**check) {
                context.insert(check.to_string(), latest.result.observations.to_json());
            }
        }
        if let Some(latest) = rule.check().and_then(|c| self.latest.get(c)) {
            context.insert("message".into(), latest.result.message.clone().into());
        }
        context.insert("check".into(), rule.check().into());
        context.insert("alertname".into(), (*rule.name).into());
        context.insert("severity".into(), (*rule.severity).into());
        context.insert("labels".into(), serde_json::to_value(&rule.labels).unwrap_or_default());
        serde_json::Value::Object(context)
    }

    /// Drops status changes older than the longest flapping window.
    pub fn forget_old_flips(&mut self, now: Timestamp) {
        let longest = self.rules.rules.iter().filter_map(|r| match r.condition {
            Condition::Flapping { window, .. } => Some(window),
            _ => None,
        });
        let Some(longest) = longest.max() else { return };
        let since = now.checked_sub(jiff::SignedDuration::try_from(longest).unwrap_or_default()).unwrap_or(now);
        for flips in self.flips.values_mut() {
            while flips.front().is_some_and(|at| *at < since) {
                flips.pop_front();
            }
        }
    }

    /// The alerts changed since the last call, as they are to be saved.
    pub fn take_changed(&mut self) -> Vec<Saved> {
        let mut keys = std::mem::take(&mut self.changed);
        keys.sort();
        keys.dedup();
        keys.into_iter()
            .map(|key| match self.alerts.get(key.as_str()) {
                Some(alert) => saved(alert),
                // Its rule is gone: saved as inactive, so it is forgotten.
                None => Saved { key, ..Saved::default() },
            })
            .collect()
    }

    /// Every alert, in key order.
    pub fn alerts(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values().map(|a| &**a)
    }

    /// Every alert as shown, with what mutes it now.
    pub fn views(&self, now: Timestamp) -> Vec<serde_json::Value> {
        self.alerts.values().map(|a| self.view(a, now)).collect()
    }

    /// The alert as `upkeep alert list --json` and `/api/v1/alerts` show it.
    pub fn view(&self, alert: &Alert, now: Timestamp) -> serde_json::Value {
        serde_json::json!({
            "key": &*alert.rule.key,
            "alertname": &*alert.rule.name,
            "state": alert.memory.state.name(),
            "since": alert.memory.state.since().map(|t| t.to_string()),
            "severity": &*alert.rule.severity,
            "value": alert.value,
            "labels": alert.rule.labels,
            "annotations": alert.annotations,
            "last_notified": alert.memory.last_fired.map(|t| t.to_string()),
            "cause": alert.cause,
            "muted_by": self.muted_by(&alert.rule, now),
        })
    }

    pub fn alert(&self, key: &str) -> Option<&Alert> {
        self.alerts.get(key).map(|a| &**a)
    }
}

fn saved(alert: &Alert) -> Saved {
    Saved {
        key: alert.rule.key.to_string(),
        memory: alert.memory.clone(),
        holds: alert.holds,
        value: alert.value.clone(),
        annotations: alert.annotations.clone(),
        cause: alert.cause.clone(),
        unheard: alert.unheard,
        severity: alert.rule.severity.to_string(),
        labels: alert.rule.labels.to_map(),
    }
}

fn event(alert: &Alert, step: Step, at: Timestamp, muted_by: Vec<String>) -> Event {
    Event {
        at,
        key: alert.rule.key.to_string(),
        alertname: alert.rule.name.to_string(),
        from: step.from.to_string(),
        to: step.to.to_string(),
        notice: step.notice,
        severity: alert.rule.severity.to_string(),
        value: alert.value.clone(),
        labels: alert.rule.labels.to_map(),
        annotations: alert.annotations.clone(),
        cause: alert.cause.clone(),
        muted_by,
        own_repeat: alert.rule.timing.repeat.is_some(),
    }
}

/// The annotations with their values filled in; a template that fails shows as written.
fn render(
    annotations: &crate::rule::Annotations,
    context: &serde_json::Value,
    value: Option<&str>,
) -> BTreeMap<String, String> {
    let mut context = context.clone();
    if let serde_json::Value::Object(map) = &mut context {
        map.insert("value".into(), value.into());
    }
    let env = minijinja::Environment::new();
    [("summary", &annotations.summary), ("description", &annotations.description), ("runbook", &annotations.runbook)]
        .into_iter()
        .filter_map(|(name, template)| {
            let template = template.as_ref()?;
            let text = env.render_str(template, &context).unwrap_or_else(|_| template.clone());
            Some((name.to_string(), text))
        })
        .collect()
}

/// What a `when` reads: `CHECK.FIELD` from each check's latest run, and the fetched history.
struct WhenEnv<'a> {
    latest: &'a HashMap<String, Latest>,
    history: &'a Fetched,
}

impl Env for WhenEnv<'_> {
    fn field(&self, field: &FieldRef) -> Result<Value, EvalError> {
        let Some(latest) = self.latest.get(&field.root) else {
            return Err(EvalError { message: format!("{} has not run yet", field.root) });
        };
        let Some((upkeep_expr::Segment::Key(first), rest)) = field.segments.split_first() else {
            return Err(EvalError { message: format!("{} names a check, not a field", field.text) });
        };
        let inner = FieldRef { text: field.text.clone(), root: first.clone(), segments: rest.to_vec() };
        let result = &latest.result;
        if rest.is_empty() && result.observations.get(first).is_none() {
            match first.as_str() {
                "ok" => return Ok(Value::Bool(result.is_ok())),
                "duration" => return Ok(Value::duration(result.latency)),
                "message" => return Ok(result.message.clone().map_or(Value::Null, Value::String)),
                _ => {}
            }
        }
        result.observations.field(&inner)
    }

    fn call(&self, call: &upkeep_expr::Call) -> Result<Value, EvalError> {
        self.history
            .calls
            .get(call)
            .cloned()
            .ok_or_else(|| EvalError { message: format!("{call} has not been read yet") })
    }
}
