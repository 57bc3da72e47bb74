//! Alert rules: the configured `[[alert]]`s, and the alerts every check and SLO has without a
//! rule being written — a check's own down alert, an SLO's four burn-rate alerts and a check's
//! flapping alert. Every alert has labels (`alertname`, `severity`, `check`, `component`, `slo`
//! and the rule's own), by which silences, inhibit rules and routes match it.

use crate::Labels;
use crate::state::Timing;
use std::collections::BTreeMap;
use std::sync::Arc;
use upkeep_expr::Program;
use upkeep_slo::{BurnAlert, Slo};

/// What decides whether an alert's condition holds.
#[derive(Clone, Debug)]
pub enum Condition {
    /// A configured `when` (boxed: most rules are built in, and small).
    When(Box<Program>),
    /// The check's last run failed (counted in runs: `alert_after`, `recover_after`).
    CheckDown { check: Arc<str> },
    /// Both windows of one of the SLO's burn-rate pairs burn faster than its threshold.
    SloBurn { slo: Arc<Slo>, alert: BurnAlert },
    /// The check changed state more than `changes` times in `window`.
    Flapping { check: Arc<str>, changes: u64, window: std::time::Duration },
}

/// Annotations, as templates (minijinja): `{{ value }}`, `{{ check }}`, `{{ labels.x }}`, and
/// the observations of the checks a rule reads (`{{ disk.used_percent }}`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Annotations {
    pub summary: Option<String>,
    pub description: Option<String>,
    pub runbook: Option<String>,
}

/// One alert rule; each yields one alert, keyed by its name and labels. Strings are shared:
/// the built-in alerts of 10,000 checks have the same name, severity and annotations.
#[derive(Clone, Debug)]
pub struct Rule {
    /// `alertname`.
    pub name: Arc<str>,
    pub condition: Condition,
    pub timing: Timing,
    pub severity: Arc<str>,
    /// Every label, `alertname` and `severity` included, sorted.
    pub labels: Labels,
    pub annotations: Arc<Annotations>,
    /// The checks it reads: a committed result of one of them re-evaluates it.
    pub checks: Box<[Arc<str>]>,
    /// Its key: `alertname{label="value",...}` over the labels that tell it from other alerts
    /// of the same name.
    pub key: Arc<str>,
}

impl Rule {
    /// Whether a timer must re-evaluate it: its condition reads history, or it counts time.
    pub fn reads_history(&self) -> bool {
        match &self.condition {
            Condition::When(program) => !program.calls().is_empty(),
            Condition::SloBurn { .. } | Condition::Flapping { .. } => true,
            Condition::CheckDown { .. } => false,
        }
    }

    /// The check a notification is about, when there is one.
    pub fn check(&self) -> Option<&str> {
        self.labels.get("check")
    }
}

/// `alertname{k="v",...}` over `identifying` labels.
pub fn key(name: &str, identifying: &[(&str, &str)]) -> String {
    if identifying.is_empty() {
        return name.to_string();
    }
    let parts: Vec<String> = identifying.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", parts.join(","))
}

/// All rules, with an index from a check to the rules that read it.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub rules: Vec<Arc<Rule>>,
    by_check: BTreeMap<Arc<str>, Vec<usize>>,
    /// The checks whose observations a `when` reads (`disk.used_percent`).
    observed: std::collections::BTreeSet<String>,
    /// The severities, most urgent first.
    pub severities: Vec<String>,
    /// How often the timer re-evaluates rules over history and time.
    pub evaluate_every: std::time::Duration,
    /// The SLOs `burn_rate` and `budget_remaining` read.
    pub slos: Vec<Arc<Slo>>,
    /// Maintenance windows, inhibit rules and `depends_on`.
    pub mutes: crate::mute::Mutes,
}

impl Rules {
    pub fn new(
        rules: Vec<Rule>,
        severities: Vec<String>,
        evaluate_every: std::time::Duration,
        slos: Vec<Arc<Slo>>,
        mutes: crate::mute::Mutes,
    ) -> Rules {
        // Collected into a new vector: collected in place, it would keep the capacity of the
        // rules it was made from (200 bytes a rule, 4 MB at 10,000 checks).
        let mut shared: Vec<Arc<Rule>> = Vec::with_capacity(rules.len());
        shared.extend(rules.into_iter().map(Arc::new));
        let rules = shared;
        let mut by_check: BTreeMap<Arc<str>, Vec<usize>> = BTreeMap::new();
        for (i, rule) in rules.iter().enumerate() {
            for check in &rule.checks {
                by_check.entry(Arc::clone(check)).or_default().push(i);
            }
        }
        let observed = rules
            .iter()
            .filter_map(|r| match &r.condition {
                Condition::When(program) => Some(program.fields().iter().map(|f| f.root.clone())),
                _ => None,
            })
            .flatten()
            .collect();
        Rules { rules, by_check, observed, severities, evaluate_every, slos, mutes }
    }

    /// Whether a `when` reads the observations of `check`: only then are they kept.
    pub fn reads_fields(&self, check: &str) -> bool {
        self.observed.contains(check)
    }

    /// The rules a committed result of `check` re-evaluates.
    pub fn reading<'a>(&'a self, check: &str) -> impl Iterator<Item = &'a Arc<Rule>> + 'a {
        self.by_check.get(check).into_iter().flatten().map(|&i| &self.rules[i])
    }

    pub fn get(&self, key: &str) -> Option<&Arc<Rule>> {
        self.rules.iter().find(|r| &*r.key == key)
    }
}
