//! `[alerts]` (defaults for every alert) and `[[alert]]` (rules), read and resolved against the
//! checks and SLOs: a `when` naming a check that does not exist, or a field its kind does not
//! observe, is an error at its line and column, with the name that was probably meant.

use crate::labels::{Labels, Words};
use crate::rule::{Annotations, Condition, Rule, Rules, key};
use crate::state::{Hold, Timing};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use upkeep_config::{Diagnostics, Sections, Spanned, TableReader};
use upkeep_expr::{Field, History, Schema, Type};
use upkeep_slo::{Slo, Urgency, burn_alerts};

/// What the alert engine needs to know of a check.
#[derive(Clone, Debug)]
pub struct Watched {
    pub name: String,
    /// The fields its kind observes, shared by every check of the kind.
    pub schema: Arc<Schema>,
    pub component: Option<String>,
    /// Consecutive failures before its own down alert fires; 0: no down alert.
    pub alert_after: u32,
    /// Consecutive passing runs before that alert resolves.
    pub recover_after: u32,
    /// While one of these is down, its alerts are muted.
    pub depends_on: Vec<String>,
}

const DEFAULT_SEVERITIES: [&str; 3] = ["critical", "warning", "info"];
const DEFAULT_EVALUATE_EVERY: Duration = Duration::from_secs(15);
const DEFAULT_FLAP_CHANGES: u64 = 10;
const DEFAULT_FLAP_WINDOW: Duration = Duration::from_secs(3600);

/// `[alerts]`.
struct Defaults {
    severities: Vec<String>,
    /// Unset: the notification routes' `repeat_interval` decides.
    repeat: Option<Duration>,
    evaluate_every: Duration,
    check_down_severity: String,
    flap_changes: u64,
    flap_window: Duration,
}

/// Fields every check has in a `when`, whatever its kind.
const RUN_FIELDS: [Field; 3] = [
    Field::new("ok", Type::Bool, "whether its last run passed"),
    Field::new("duration", Type::Duration, "how long its last run took"),
    Field::new("message", Type::String, "why its last run failed"),
];

/// Every rule: the configured ones, then each check's down and flapping alerts and each SLO's
/// burn-rate alerts.
pub fn read_alerts(
    sections: &mut Sections,
    d: &mut Diagnostics,
    checks: &[Watched],
    slos: &[Arc<Slo>],
    zone: &jiff::tz::TimeZone,
) -> Rules {
    let defaults = read_defaults(sections, d);
    let tables = sections.tables(d, "alert");
    let schema = if tables.is_empty() { Schema::default() } else { when_schema(checks, slos) };
    let mut rules: Vec<Rule> = Vec::new();
    for table in tables {
        let start = table.span.start;
        let Some(rule) = read_rule(TableReader::new(table, "an alert"), d, &defaults, &schema, (checks, slos)) else {
            continue;
        };
        if rules.iter().any(|r| r.name == rule.name) {
            d.error(
                start..start + 1,
                format!("two alerts are named `{}`", rule.name),
                Some("give each [[alert]] its own `name`".into()),
            );
        }
        rules.push(rule);
    }
    let mut built = built_in(&defaults, checks, slos, &mut Words::default());
    rules.reserve_exact(built.len());
    rules.append(&mut built);
    let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
    let mut components: Vec<&str> = checks.iter().filter_map(|c| c.component.as_deref()).collect();
    components.sort();
    components.dedup();
    let (windows, inhibits) = crate::mute::read_mutes(sections, d, &names, &components, zone);
    let parents =
        checks.iter().filter(|c| !c.depends_on.is_empty()).map(|c| (c.name.clone(), c.depends_on.clone())).collect();
    let mutes = crate::mute::Mutes { windows, inhibits, parents };
    Rules::new(rules, defaults.severities, defaults.evaluate_every, slos.to_vec(), mutes)
}

fn read_defaults(sections: &mut Sections, d: &mut Diagnostics) -> Defaults {
    let mut defaults = Defaults {
        severities: DEFAULT_SEVERITIES.map(String::from).to_vec(),
        repeat: None,
        evaluate_every: DEFAULT_EVALUATE_EVERY,
        check_down_severity: DEFAULT_SEVERITIES[0].to_string(),
        flap_changes: DEFAULT_FLAP_CHANGES,
        flap_window: DEFAULT_FLAP_WINDOW,
    };
    let Some(mut t) = sections.table(d, "alerts") else { return defaults };
    t.set_context("[alerts]");
    if let Some(names) = t.strings(d, "severities") {
        if names.is_empty() {
            d.error(
                t.span(),
                "`severities` is empty",
                Some("severities = [\"critical\", \"warning\", \"info\"]".into()),
            );
        } else {
            defaults.severities = names.into_iter().map(Spanned::into_inner).collect();
        }
    }
    defaults.check_down_severity = defaults.severities[0].clone();
    if let Some(s) = t.string(d, "check_down_severity")
        && let Some(s) = known_severity(&s, &defaults.severities, d)
    {
        defaults.check_down_severity = s;
    }
    if let Some(repeat) = t.duration(d, "repeat", Duration::from_secs(60)) {
        defaults.repeat = Some(repeat.into_inner());
    }
    if let Some(every) = t.duration(d, "evaluate_every", Duration::from_secs(1)) {
        defaults.evaluate_every = every.into_inner();
    }
    if let Some(n) = t.integer(d, "flapping_changes", 0..1_000_001) {
        defaults.flap_changes = n as u64;
    }
    if let Some(window) = t.duration(d, "flapping_window", Duration::from_secs(60)) {
        defaults.flap_window = window.into_inner();
    }
    t.finish(d);
    defaults
}

/// The severity as written, when it is one of the configured ones.
fn known_severity(s: &Spanned<String>, severities: &[String], d: &mut Diagnostics) -> Option<String> {
    if severities.contains(s.get_ref()) {
        return Some(s.get_ref().clone());
    }
    let hint = upkeep_expr::closest_name(s.get_ref(), severities.iter().cloned())
        .map(|m| format!("did you mean `{m}`?"))
        .unwrap_or_else(|| format!("severities: {} (set them in [alerts] severities)", severities.join(", ")));
    d.error(s.span(), format!("`{}` is not a severity", s.get_ref()), Some(hint));
    None
}

/// What a `when` may read: every check's fields under its name, and history.
fn when_schema(checks: &[Watched], slos: &[Arc<Slo>]) -> Schema {
    let history = History {
        checks: checks.iter().map(|c| c.name.clone()).collect(),
        slos: slos.iter().map(|s| s.name.clone()).collect(),
    };
    // One extended schema per kind's schema, not per check: 10,000 checks share a handful.
    let mut extended: Vec<(Arc<Schema>, Arc<Schema>)> = Vec::new();
    checks.iter().fold(Schema::default().with_history(history), |schema, check| {
        let scope = match extended.iter().find(|(kind, _)| Arc::ptr_eq(kind, &check.schema)) {
            Some((_, scope)) => Arc::clone(scope),
            None => {
                let fields: Vec<Field> =
                    RUN_FIELDS.iter().filter(|f| check.schema.field(f.name).is_none()).copied().collect();
                let scope = Arc::new((*check.schema).clone().with_fields(&fields));
                extended.push((Arc::clone(&check.schema), Arc::clone(&scope)));
                scope
            }
        };
        schema.with_scope(check.name.clone(), scope)
    })
}

fn read_rule(
    mut t: TableReader,
    d: &mut Diagnostics,
    defaults: &Defaults,
    schema: &Schema,
    (checks, slos): (&[Watched], &[Arc<Slo>]),
) -> Option<Rule> {
    let name = t.required_string(d, "name", "\"disk_space_low\"");
    if let Some(name) = &name {
        t.set_context(format!("alert \"{}\"", name.get_ref()));
    }
    let when = t.required_string(d, "when", "'disk.used_percent > 85'");
    let pending = t.duration(d, "for", Duration::from_secs(1)).map_or(Duration::ZERO, Spanned::into_inner);
    let keep = t.duration(d, "keep_firing_for", Duration::from_secs(1)).map_or(Duration::ZERO, Spanned::into_inner);
    let repeat = t.duration(d, "repeat", Duration::from_secs(60)).map(Spanned::into_inner).or(defaults.repeat);
    let cooldown = t.duration(d, "cooldown", Duration::from_secs(1)).map_or(Duration::ZERO, Spanned::into_inner);
    let severity = match t.string(d, "severity") {
        Some(s) => known_severity(&s, &defaults.severities, d)?,
        None => default_severity(&defaults.severities),
    };
    let extra = t.string_map(d, "labels").unwrap_or_default();
    let annotations = Annotations {
        summary: template(&mut t, d, "summary"),
        description: template(&mut t, d, "description"),
        runbook: template(&mut t, d, "runbook"),
    };
    t.finish(d);
    let (name, when) = (name?, when?);
    let program = compile_when(&when, schema, d)?;
    let mut read: Vec<String> = program.fields().iter().map(|f| f.root.clone()).collect();
    let mut read_slos: Vec<&Slo> = Vec::new();
    for call in program.calls() {
        match call.function.target() {
            upkeep_expr::Target::Check => read.push(call.target.clone()),
            upkeep_expr::Target::Slo => read_slos.extend(slos.iter().find(|s| s.name == call.target).map(|s| &**s)),
        }
    }
    read.sort();
    read.dedup();
    read_slos.dedup_by(|a, b| a.name == b.name);
    let mut labels = BTreeMap::new();
    if let [slo] = read_slos.as_slice() {
        labels.insert("slo".to_string(), slo.name.clone());
    }
    // The check it is about: the one it reads, directly or through its one SLO.
    let mut about: Vec<&str> =
        read.iter().map(String::as_str).chain(read_slos.iter().map(|s| s.check.as_str())).collect();
    about.sort();
    about.dedup();
    if let [only] = about.as_slice() {
        let only = only.to_string();
        labels.insert("check".to_string(), only.clone());
        if let Some(component) = checks.iter().find(|c| c.name == only).and_then(|c| c.component.clone()) {
            labels.insert("component".to_string(), component);
        }
    }
    for (k, v) in extra {
        labels.insert(k, v.into_inner());
    }
    labels.insert("alertname".into(), name.get_ref().clone());
    labels.insert("severity".into(), severity.clone());
    let timing = Timing { pending: Hold::Time(pending), keep_firing: Hold::Time(keep), repeat, cooldown };
    Some(Rule {
        key: name.get_ref().as_str().into(),
        name: name.into_inner().into(),
        condition: Condition::When(Box::new(program)),
        timing,
        severity: severity.into(),
        labels: Labels::from(labels),
        annotations: Arc::new(annotations),
        checks: read.into_iter().map(Arc::from).collect(),
    })
}

/// The middle severity ("warning" of the defaults): a rule that does not say is not a page.
fn default_severity(severities: &[String]) -> String {
    severities.get(severities.len() / 2).cloned().unwrap_or_else(|| "warning".into())
}

fn template(t: &mut TableReader, d: &mut Diagnostics, key: &'static str) -> Option<String> {
    let text = t.string(d, key)?;
    if let Err(e) = minijinja::Environment::new().template_from_str(text.get_ref()) {
        d.error(
            text.span(),
            format!("`{key}` is not a valid template: {}", e.detail().unwrap_or("syntax error")),
            Some("values are written {{ value }}, {{ check }}, {{ labels.severity }}".into()),
        );
        return None;
    }
    Some(text.into_inner())
}

fn compile_when(when: &Spanned<String>, schema: &Schema, d: &mut Diagnostics) -> Option<upkeep_expr::Program> {
    upkeep_expr::compile(when.get_ref(), schema).map_err(|errors| d.expression_errors(when, errors, "in `when`")).ok()
}

/// The alerts nobody has to write: each check's down and flapping alerts, each SLO's four
/// burn-rate alerts (pages at the first severity, tickets at the second).
fn built_in(defaults: &Defaults, checks: &[Watched], slos: &[Arc<Slo>], words: &mut Words) -> Vec<Rule> {
    let mut rules = Vec::with_capacity(2 * checks.len() + 4 * slos.len());
    let down = Family::new("check_down", &defaults.check_down_severity, "{{ check }} is down: {{ message }}", words);
    let flapping = Family::new(
        "check_flapping",
        &default_severity(&defaults.severities),
        "{{ check }} is flapping: it changed state {{ value }} times",
        words,
    );
    for check in checks.iter().filter(|c| c.alert_after > 0) {
        let name = words.word(&check.name);
        let timing = Timing {
            pending: Hold::Runs(check.alert_after),
            keep_firing: Hold::Runs(check.recover_after.max(1)),
            repeat: defaults.repeat,
            cooldown: Duration::ZERO,
        };
        rules.push(down.rule(check, &name, timing, Condition::CheckDown { check: Arc::clone(&name) }, words));
        if defaults.flap_changes > 0 {
            let condition = Condition::Flapping {
                check: Arc::clone(&name),
                changes: defaults.flap_changes,
                window: defaults.flap_window,
            };
            let timing = Timing { repeat: defaults.repeat, ..Timing::default() };
            rules.push(flapping.rule(check, &name, timing, condition, words));
        }
    }
    let page = defaults.severities[0].clone();
    let ticket = defaults.severities.get(1).unwrap_or(&page).clone();
    for slo in slos {
        let length = slo.window.span(jiff::Timestamp::now()).1;
        for alert in burn_alerts(length) {
            let severity = if alert.window.urgency == Urgency::Page { &page } else { &ticket };
            let window = format!(
                "{}/{}",
                upkeep_expr::Value::duration(alert.window.long),
                upkeep_expr::Value::duration(alert.window.short)
            );
            let labels = Labels::new(
                [
                    ("alertname", "slo_burn"),
                    ("severity", severity.as_str()),
                    ("slo", slo.name.as_str()),
                    ("check", slo.check.as_str()),
                    ("window", window.as_str()),
                ]
                .map(|(n, v)| (words.word(n), words.word(v))),
            );
            let summary = format!(
                "SLO {} is burning its error budget at {{{{ value }}}}x over {window} (threshold {}x)",
                slo.name, alert.window.threshold
            );
            rules.push(Rule {
                key: key("slo_burn", &[("slo", &slo.name), ("window", &window)]).into(),
                name: words.word("slo_burn"),
                condition: Condition::SloBurn { slo: Arc::clone(slo), alert },
                timing: Timing { repeat: defaults.repeat, ..Timing::default() },
                severity: words.word(severity),
                labels,
                annotations: Arc::new(Annotations { summary: Some(summary), ..Annotations::default() }),
                checks: Box::new([]),
            });
        }
    }
    rules
}

/// What every check's alert of one kind (down, flapping) shares: made once, not per check.
struct Family {
    name: Arc<str>,
    severity: Arc<str>,
    annotations: Arc<Annotations>,
}

impl Family {
    fn new(name: &str, severity: &str, summary: &str, words: &mut Words) -> Family {
        let annotations = Annotations { summary: Some(summary.to_string()), ..Annotations::default() };
        Family { name: words.word(name), severity: words.word(severity), annotations: Arc::new(annotations) }
    }

    fn rule(&self, check: &Watched, name: &Arc<str>, timing: Timing, condition: Condition, words: &mut Words) -> Rule {
        let mut labels = vec![
            (words.word("alertname"), Arc::clone(&self.name)),
            (words.word("severity"), Arc::clone(&self.severity)),
            (words.word("check"), Arc::clone(name)),
        ];
        if let Some(component) = &check.component {
            labels.push((words.word("component"), words.word(component)));
        }
        Rule {
            key: key(&self.name, &[("check", name)]).into(),
            name: Arc::clone(&self.name),
            condition,
            timing,
            severity: Arc::clone(&self.severity),
            labels: Labels::new(labels),
            annotations: Arc::clone(&self.annotations),
            checks: Box::new([Arc::clone(name)]),
        }
    }
}
