//! The alert engine on hand-made results and history, time moved by hand: rules read from
//! config text exactly as a user writes them, built-in alerts, restarts in every state, burn-rate
//! pairs, flapping, templated annotations, and the config errors of every new key.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use upkeep_alert::{Engine, Event, Fetched, Notice, Rules, Saved, Watched, read_alerts};
use upkeep_config::{Diagnostics, Env, Source};
use upkeep_expr::{Field, Observations, Schema, Type, Value};
use upkeep_result::{CheckResult, Status};
use upkeep_slo::{Kind, Objective, Slo, Window};

fn t(secs: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000 + secs).unwrap()
}

fn disk_schema() -> Schema {
    Schema::new(&[Field::new("used_percent", Type::Percent, ""), Field::new("free", Type::Size, "")])
}

fn http_schema() -> Schema {
    Schema::new(&[Field::new("status", Type::Number, ""), Field::new("latency", Type::Duration, "")])
        .with_dynamic(Field::new("json", Type::Dynamic, ""))
}

fn watched() -> Vec<Watched> {
    vec![
        Watched {
            name: "disk".into(),
            schema: Arc::new(disk_schema()),
            component: None,
            alert_after: 3,
            recover_after: 1,
            depends_on: vec![],
        },
        Watched {
            name: "api".into(),
            schema: Arc::new(http_schema()),
            component: Some("API".into()),
            alert_after: 3,
            recover_after: 2,
            depends_on: vec!["disk".into()],
        },
    ]
}

fn slos() -> Vec<Arc<Slo>> {
    vec![Arc::new(Slo {
        name: "api-availability".into(),
        check: "api".into(),
        objective: Objective::new(0.999).unwrap(),
        window: Window::Rolling(Duration::from_secs(30 * 86_400)),
        kind: Kind::Availability,
    })]
}

fn load(text: &str) -> Result<Rules, Diagnostics> {
    let (sections, mut d) = upkeep_config::parse(Source::new("upkeep.toml", text.to_string()), &Env::Process);
    let mut sections = sections.expect("parses");
    let rules = read_alerts(&mut sections, &mut d, &watched(), &slos(), &jiff::tz::TimeZone::UTC);
    sections.finish(&mut d);
    d.into_result(rules)
}

fn rules(text: &str) -> Arc<Rules> {
    Arc::new(load(text).unwrap_or_else(|d| panic!("{d}")))
}

fn errors(text: &str) -> Vec<String> {
    match load(text) {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(d) => d.summary(),
    }
}

fn result(check: &str, at: jiff::Timestamp, ok: bool, fields: &[(&str, Value)]) -> CheckResult {
    let mut observations = Observations::new();
    for (name, value) in fields {
        observations.insert(*name, value.clone());
    }
    CheckResult {
        check: check.into(),
        at,
        status: if ok { Status::Ok } else { Status::Error },
        latency: Duration::from_millis(20),
        message: (!ok).then(|| "connection refused".to_string()),
        observations,
    }
}

fn disk(at: jiff::Timestamp, used: f64) -> CheckResult {
    result("disk", at, true, &[("used_percent", Value::Percent(used))])
}

/// (key, from, to, notice) of each event.
fn steps(events: &[Event]) -> Vec<(String, String, String, Option<Notice>)> {
    events.iter().map(|e| (e.key.clone(), e.from.clone(), e.to.clone(), e.notice)).collect()
}

fn step(key: &str, from: &str, to: &str, notice: Option<Notice>) -> (String, String, String, Option<Notice>) {
    (key.into(), from.into(), to.into(), notice)
}

const DISK_RULE: &str = r#"
[[alert]]
name = "disk_space_low"
when = 'disk.used_percent > 85'
for = "5m"
severity = "warning"
cooldown = "30m"
runbook = "https://wiki.example.com/runbooks/disk"
summary = "{{ check }} is {{ value }} full"
"#;

#[test]
fn a_rule_goes_pending_then_fires_after_for_then_resolves() {
    let (mut engine, _) = Engine::new(rules(DISK_RULE), Vec::new(), t(0));
    assert!(engine.on_results(&[disk(t(0), 50.0)], t(0), false).is_empty());
    let events = engine.on_results(&[disk(t(30), 91.5)], t(30), false);
    assert_eq!(steps(&events), [step("disk_space_low", "inactive", "pending", None)]);
    assert!(engine.on_results(&[disk(t(300), 92.0)], t(300), false).is_empty(), "for is 5m from t=30");
    // Time passing alone fires it: the last decision still holds.
    let events = engine.on_tick(Fetched::default(), t(330));
    assert_eq!(steps(&events), [step("disk_space_low", "pending", "firing", Some(Notice::Firing))]);
    let event = &events[0];
    assert_eq!(event.annotations["summary"], "disk is 92% full");
    assert_eq!(event.annotations["runbook"], "https://wiki.example.com/runbooks/disk");
    assert_eq!(event.labels["check"], "disk");
    assert_eq!(event.labels["severity"], "warning");
    assert_eq!(event.cause.as_ref().unwrap().at, t(300));
    let events = engine.on_results(&[disk(t(360), 70.0)], t(360), false);
    assert_eq!(steps(&events), [step("disk_space_low", "firing", "resolved", Some(Notice::Resolved))]);
}

#[test]
fn a_check_alerts_on_its_own_after_three_failures_and_recovers_after_its_passes() {
    let (mut engine, _) = Engine::new(rules(""), Vec::new(), t(0));
    let api = |i: i64, ok: bool| result("api", t(i * 30), ok, &[]);
    assert_eq!(steps(&engine.on_results(&[api(0, true)], t(0), false)), []);
    let events = engine.on_results(&[api(1, false), api(2, false)], t(60), false);
    assert_eq!(steps(&events), [step("check_down{check=\"api\"}", "inactive", "pending", None)]);
    let events = engine.on_results(&[api(3, false)], t(90), false);
    assert_eq!(steps(&events), [step("check_down{check=\"api\"}", "pending", "firing", Some(Notice::Firing))]);
    assert_eq!(events[0].annotations["summary"], "api is down: connection refused");
    assert_eq!(events[0].labels["component"], "API");
    assert_eq!(events[0].severity, "critical");
    // recover_after = 2 for api.
    assert!(engine.on_results(&[api(4, true)], t(120), false).is_empty());
    let events = engine.on_results(&[api(5, true)], t(150), false);
    assert_eq!(steps(&events), [step("check_down{check=\"api\"}", "firing", "resolved", Some(Notice::Resolved))]);
}

#[test]
fn a_restart_in_any_state_forgets_nothing_and_sends_nothing_again() {
    let rules = rules(DISK_RULE);
    let restart = |engine: &mut Engine, saved: &mut HashMap<String, Saved>| {
        for s in engine.take_changed() {
            saved.insert(s.key.clone(), s);
        }
        let (again, events) = Engine::new(Arc::clone(&rules), saved.values().cloned().collect(), t(0));
        assert!(events.is_empty(), "a restart itself changes nothing");
        again
    };
    let mut saved = HashMap::new();
    let (mut engine, _) = Engine::new(Arc::clone(&rules), Vec::new(), t(0));
    engine.on_results(&[disk(t(0), 90.0)], t(0), false);
    // Pending: the `for` clock keeps running from t=0 across the restart.
    let mut engine = restart(&mut engine, &mut saved);
    assert_eq!(engine.alert("disk_space_low").unwrap().memory.state.name(), "pending");
    let events = engine.on_tick(Fetched::default(), t(300));
    assert_eq!(steps(&events), [step("disk_space_low", "pending", "firing", Some(Notice::Firing))]);
    // Firing: after a restart it is still firing and is not notified again.
    let mut engine = restart(&mut engine, &mut saved);
    assert!(engine.alert("disk_space_low").unwrap().memory.state.is_firing());
    assert!(engine.on_results(&[disk(t(400), 95.0)], t(400), false).is_empty());
    assert!(engine.on_tick(Fetched::default(), t(500)).is_empty());
    // Resolved, then firing again within the cooldown: shown as firing, not notified.
    engine.on_results(&[disk(t(600), 10.0)], t(600), false);
    let mut engine = restart(&mut engine, &mut saved);
    engine.on_results(&[disk(t(700), 99.0)], t(700), false);
    let events = engine.on_tick(Fetched::default(), t(1000));
    assert_eq!(steps(&events), [step("disk_space_low", "pending", "firing", None)], "cooldown: 30m from t=300");
    let mut engine = restart(&mut engine, &mut saved);
    let events = engine.on_tick(Fetched::default(), t(2100));
    assert_eq!(steps(&events), [step("disk_space_low", "firing", "firing", Some(Notice::Firing))]);
}

#[test]
fn repeat_renotifies_a_firing_alert() {
    let rules = rules(&format!("{DISK_RULE}repeat = \"1h\"\n"));
    let (mut engine, _) = Engine::new(rules, Vec::new(), t(0));
    engine.on_results(&[disk(t(0), 90.0)], t(0), false);
    engine.on_tick(Fetched::default(), t(300));
    assert!(engine.on_tick(Fetched::default(), t(3899)).is_empty());
    let events = engine.on_tick(Fetched::default(), t(3900));
    assert_eq!(steps(&events), [step("disk_space_low", "firing", "firing", Some(Notice::Repeat))]);
}

#[test]
fn keep_firing_for_holds_a_flapping_value() {
    let rules = rules(
        "[[alert]]\nname = \"slow\"\nwhen = 'api.latency > 500ms'\nkeep_firing_for = \"10m\"\nseverity = \"critical\"\n",
    );
    let (mut engine, _) = Engine::new(rules, Vec::new(), t(0));
    let api = |at, ms| {
        result("api", at, true, &[("status", Value::Number(200.0)), ("latency", Value::Duration(ms / 1000.0))])
    };
    let events = engine.on_results(&[api(t(0), 900.0)], t(0), false);
    assert_eq!(steps(&events), [step("slow", "inactive", "firing", Some(Notice::Firing))]);
    assert!(engine.on_results(&[api(t(30), 100.0)], t(30), false).is_empty());
    assert!(engine.on_results(&[api(t(60), 950.0)], t(60), false).is_empty());
    assert!(engine.on_results(&[api(t(90), 100.0)], t(90), false).is_empty());
    let events = engine.on_tick(Fetched::default(), t(660));
    assert_eq!(steps(&events), [step("slow", "firing", "resolved", Some(Notice::Resolved))]);
}

#[test]
fn history_functions_read_what_was_fetched() {
    let rules = rules("[[alert]]\nname = \"api_errors\"\nwhen = 'error_rate(api, 5m) > 5% and count(api, 5m) >= 10'\n");
    let calls = match &rules.rules[0].condition {
        upkeep_alert::Condition::When(program) => program.calls().to_vec(),
        _ => unreachable!(),
    };
    assert_eq!(calls.iter().map(ToString::to_string).collect::<Vec<_>>(), ["error_rate(api, 5m)", "count(api, 5m)"]);
    let (mut engine, _) = Engine::new(Arc::clone(&rules), Vec::new(), t(0));
    let fetched = |rate: f64| Fetched {
        calls: HashMap::from([(calls[0].clone(), Value::Percent(rate)), (calls[1].clone(), Value::Number(20.0))]),
        ..Fetched::default()
    };
    assert!(engine.on_tick(fetched(2.0), t(0)).is_empty());
    let events = engine.on_tick(fetched(7.5), t(15));
    assert_eq!(steps(&events), [step("api_errors", "inactive", "firing", Some(Notice::Firing))]);
    assert_eq!(events[0].value.as_deref(), Some("7.5%"));
    // No runs in the window is no value: the condition cannot hold.
    let empty = Fetched { calls: HashMap::from([(calls[0].clone(), Value::Null)]), ..Fetched::default() };
    let events = engine.on_tick(empty, t(30));
    assert_eq!(steps(&events), [step("api_errors", "firing", "resolved", Some(Notice::Resolved))]);
}

/// Every burn-rate pair of a 30-day 99.9% SLO fires exactly when both its windows burn faster
/// than its threshold, and not when only one does.
#[test]
fn each_burn_rate_pair_fires_only_when_both_windows_burn() {
    let rules = rules("");
    let pairs = [
        (3600, 300, 14.4, "critical"),
        (21_600, 1800, 6.0, "critical"),
        (86_400, 7200, 3.0, "warning"),
        (259_200, 21_600, 1.0, "warning"),
    ];
    for (long, short, threshold, severity) in pairs {
        let key = format!(
            "slo_burn{{slo=\"api-availability\",window=\"{}/{}\"}}",
            Value::duration(Duration::from_secs(long)),
            Value::duration(Duration::from_secs(short))
        );
        for (long_rate, short_rate, fires) in [
            (threshold + 0.1, threshold + 0.1, true),
            (threshold + 0.1, threshold - 0.1, false),
            (threshold - 0.1, threshold + 5.0, false),
        ] {
            let (mut engine, _) = Engine::new(Arc::clone(&rules), Vec::new(), t(0));
            let mut burn = HashMap::new();
            burn.insert(("api-availability".to_string(), Duration::from_secs(long)), Some(long_rate));
            burn.insert(("api-availability".to_string(), Duration::from_secs(short)), Some(short_rate));
            let events = engine.on_tick(Fetched { burn, ..Fetched::default() }, t(0));
            let fired: Vec<&Event> = events.iter().filter(|e| e.key == key).collect();
            assert_eq!(!fired.is_empty(), fires, "{key} at {long_rate}/{short_rate}");
            if fires {
                assert_eq!(fired[0].severity, severity);
                assert_eq!(fired[0].notice, Some(Notice::Firing));
            }
        }
    }
}

#[test]
fn a_flapping_check_raises_one_flapping_alert_and_its_down_alert_is_muted() {
    let rules = rules("[alerts]\nflapping_changes = 4\nflapping_window = \"10m\"\n");
    let (mut engine, _) = Engine::new(rules, Vec::new(), t(0));
    let mut events = Vec::new();
    // Down for one run, up for one, over and over: with alert_after = 1 it would page each time.
    for i in 0..12 {
        let ok = i % 2 == 0;
        events.extend(engine.on_results(&[result("api", t(i * 10), ok, &[])], t(i * 10), false));
    }
    let flapping: Vec<&Event> = events.iter().filter(|e| e.alertname == "check_flapping").collect();
    assert_eq!(flapping.len(), 1, "{:?}", steps(&events));
    assert_eq!(flapping[0].notice, Some(Notice::Firing));
    assert_eq!(flapping[0].annotations["summary"], "api is flapping: it changed state 5 times");
    engine.forget_old_flips(t(2000));
    let events = engine.on_tick(Fetched::default(), t(2000));
    assert_eq!(steps(&events), [step("check_flapping{check=\"api\"}", "firing", "resolved", Some(Notice::Resolved))]);
}

#[test]
fn the_down_alert_of_a_flapping_check_is_shown_muted() {
    let rules = rules("[alerts]\nflapping_changes = 2\n\n");
    let (mut engine, _) = Engine::new(rules, Vec::new(), t(0));
    for (i, ok) in [true, false, true, false, true, false].into_iter().enumerate() {
        engine.on_results(&[result("api", t(i as i64), ok, &[])], t(i as i64), false);
    }
    let events = engine.on_results(&[result("api", t(10), false, &[]), result("api", t(11), false, &[])], t(11), false);
    let down: Vec<&Event> = events.iter().filter(|e| e.alertname == "check_down").collect();
    assert_eq!(down.len(), 1);
    assert_eq!(down[0].to, "firing", "the state is never hidden");
    assert_eq!(down[0].muted_by, ["check_flapping{check=\"api\"}"]);
}

#[test]
fn a_removed_rule_resolves_and_is_forgotten() {
    let (mut engine, _) = Engine::new(rules(DISK_RULE.replace("for = \"5m\"\n", "").as_str()), Vec::new(), t(0));
    engine.on_results(&[disk(t(0), 99.0)], t(0), false);
    let saved = engine.take_changed();
    let (mut engine, events) = Engine::new(rules(""), saved, t(10));
    assert_eq!(steps(&events), [step("disk_space_low", "firing", "resolved", Some(Notice::Resolved))]);
    assert_eq!(events[0].labels["check"], "disk", "the resolve still carries its labels, to be routed");
    assert_eq!(events[0].severity, "warning");
    let forgotten = engine.take_changed();
    assert_eq!(forgotten.len(), 1);
    assert_eq!(forgotten[0].memory, upkeep_alert::Memory::default());
}

#[test]
fn configured_severities_and_labels() {
    let rules = rules(
        "[alerts]\nseverities = [\"P1\", \"P2\", \"P3\", \"P4\"]\ncheck_down_severity = \"P2\"\n\n\
         [[alert]]\nname = \"api_5xx\"\nwhen = 'api.status >= 500'\nseverity = \"P1\"\nlabels = { team = \"payments\" }\n",
    );
    let rule = rules.get("api_5xx").unwrap();
    assert_eq!(rule.labels.get("team"), Some("payments"));
    assert_eq!(rule.labels.get("component"), Some("API"));
    assert_eq!(&*rules.get("check_down{check=\"api\"}").unwrap().severity, "P2");
    let burn: Vec<&str> = rules.rules.iter().filter(|r| &*r.name == "slo_burn").map(|r| &*r.severity).collect();
    assert_eq!(burn, ["P1", "P1", "P2", "P2"]);
}

#[test]
fn mistakes_in_alerts_point_at_themselves() {
    let cases: &[(&str, &str)] = &[
        (
            "[[alert]]\nname = \"a\"\nwhen = 'dsk.used_percent > 85'\n",
            "3:9: in `when`: unknown check or field `dsk.used_percent`",
        ),
        (
            "[[alert]]\nname = \"a\"\nwhen = 'disk.used_procent > 85'\n",
            "3:9: in `when`: check `disk` does not observe `used_procent`",
        ),
        ("[[alert]]\nname = \"a\"\nwhen = 'disk > 85'\n", "3:9: in `when`: `disk` is a check; name one of its fields"),
        ("[[alert]]\nname = \"a\"\nwhen = 'availability(ap, 1h) < 99%'\n", "3:22: in `when`: no check is named `ap`"),
        (
            "[[alert]]\nname = \"a\"\nwhen = 'burn_rate(api-avail, 1h) > 2'\n",
            "3:19: in `when`: no SLO is named `api-avail`",
        ),
        (
            "[[alert]]\nname = \"a\"\nwhen = 'budget_remaining(api-availability, 1h) < 10%'\n",
            "3:9: in `when`: `budget_remaining` takes 1 argument(s), got 2",
        ),
        (
            "[[alert]]\nname = \"a\"\nwhen = 'disk.used_percent > 85'\nseverity = \"warn\"\n",
            "4:12: `warn` is not a severity",
        ),
        ("[[alert]]\nname = \"a\"\nwhen = 'disk.used_percent > 85'\nfor = \"5\"\n", "4:7: `for`"),
        (
            "[[alert]]\nname = \"a\"\nwhen = 'disk.used_percent > 85'\nsummary = \"{{ value\"\n",
            "4:11: `summary` is not a valid template",
        ),
        ("[[alert]]\nname = \"a\"\nwhen = 'disk.used_percent > 85'\nrepeet = \"1h\"\n", "4:1: unknown key `repeet`"),
        ("[[alert]]\nwhen = 'disk.used_percent > 85'\n", "1:1: an alert has no `name`"),
        ("[alerts]\nseverities = []\n", "1:1: `severities` is empty"),
        ("[alerts]\ncheck_down_severity = \"page\"\n", "2:23: `page` is not a severity"),
        ("[alerts]\nrepeat = \"10s\"\n", "2:10: `repeat` in [alerts] must be at least 1m"),
        ("[alerts]\nevaluate_every = \"5\"\n", "2:18: `evaluate_every`"),
        ("[alerts]\nflapping_changes = -1\n", "2:20: `flapping_changes` in [alerts] is -1"),
        ("[alerts]\nflapping_window = \"1s\"\n", "2:19: `flapping_window` in [alerts] must be at least 1m"),
        ("[alerts]\nseverity = \"P1\"\n", "2:1: unknown key `severity`"),
        (
            "[[alert]]\nname = \"a\"\nwhen = 'disk.used_percent > 85'\nkeep_firing_for = \"0.5s\"\n",
            "4:19: `keep_firing_for`",
        ),
        (
            "[[alert]]\nname = \"a\"\nwhen = 'disk.used_percent > 85'\nlabels = { team = 1 }\n",
            "4:19: `labels.team` in alert \"a\" must be a string",
        ),
    ];
    for (text, expected) in cases {
        let found = errors(text);
        assert!(found.iter().any(|e| e.contains(expected)), "{text}\nexpected {expected}\ngot {found:#?}");
    }
    let hint = load("[[alert]]\nname = \"a\"\nwhen = 'disk.used_procent > 85'\n").unwrap_err().to_string();
    assert!(hint.contains("did you mean `disk.used_percent`?"), "{hint}");
}

fn silence(matchers: &[&str], from: i64, to: i64) -> upkeep_alert::Silence {
    let matchers = matchers.iter().map(|m| upkeep_alert::Matcher::parse(m).unwrap()).collect();
    upkeep_alert::Silence::new(matchers, t(from), t(to), "alice", "deploying", t(from)).unwrap()
}

/// (key, notice, muted_by) of each event that notifies.
fn notices(events: &[Event]) -> Vec<(String, Notice, Vec<String>)> {
    events.iter().filter_map(|e| Some((e.key.clone(), e.notice?, e.muted_by.clone()))).collect()
}

#[test]
fn a_silence_mutes_without_hiding_and_its_end_notifies_what_still_fires() {
    let (mut engine, _) = Engine::new(rules(DISK_RULE.replace("for = \"5m\"\n", "").as_str()), Vec::new(), t(0));
    let s = silence(&["alertname=disk_space_low"], 0, 600);
    let id = s.id.clone();
    assert!(engine.set_silences(vec![s.clone()], t(0)).is_empty());
    let events = engine.on_results(&[disk(t(10), 95.0)], t(10), false);
    assert_eq!(notices(&events), [("disk_space_low".into(), Notice::Firing, vec![format!("silence:{id}")])]);
    assert!(engine.alert("disk_space_low").unwrap().memory.state.is_firing(), "muted, never hidden");
    let views = engine.views(t(20));
    let view = views.iter().find(|v| v["key"] == "disk_space_low").unwrap();
    assert_eq!(view["muted_by"][0], format!("silence:{id}"));
    // A silence of another alert mutes nothing here.
    let other = silence(&["alertname=api_slow"], 0, 600);
    assert!(engine.set_silences(vec![s, other], t(100)).is_empty());
    // The silence ends while the alert fires: it is notified then.
    let events = engine.on_tick(Fetched::default(), t(600));
    assert_eq!(notices(&events), [("disk_space_low".into(), Notice::Firing, vec![])]);
    let events = engine.on_results(&[disk(t(700), 10.0)], t(700), false);
    assert_eq!(notices(&events), [("disk_space_low".into(), Notice::Resolved, vec![])]);
}

#[test]
fn a_resolve_nobody_heard_the_firing_of_is_muted_too() {
    let (mut engine, _) = Engine::new(rules(DISK_RULE.replace("for = \"5m\"\n", "").as_str()), Vec::new(), t(0));
    engine.set_silences(vec![silence(&["check=disk"], 0, 50)], t(0));
    engine.on_results(&[disk(t(10), 95.0)], t(10), false);
    // The silence is over, but the alert resolves before anyone was told it fired.
    let events = engine.on_results(&[disk(t(60), 10.0)], t(60), false);
    assert_eq!(notices(&events), [("disk_space_low".into(), Notice::Resolved, vec!["unnotified".to_string()])]);
}

#[test]
fn maintenance_windows_mute_what_they_cover_while_they_last() {
    let text = "[[maintenance]]\nname = \"db-upgrade\"\nstart = \"2027-01-15T08:00:00Z\"\nend = \"2027-01-15T10:00:00Z\"\ncomponents = [\"API\"]\n\n\
                [[maintenance]]\nname = \"sunday\"\nschedule = \"0 2 * * SUN\"\nduration = \"2h\"\nchecks = [\"disk\"]\n";
    let rules = rules(text);
    let (engine, _) = Engine::new(Arc::clone(&rules), Vec::new(), t(0));
    let api = rules.get("check_down{check=\"api\"}").unwrap();
    let disk = rules.get("check_down{check=\"disk\"}").unwrap();
    let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    assert_eq!(engine.muted_by(api, at("2027-01-15T09:59:59Z")), ["maintenance:db-upgrade"]);
    assert!(engine.muted_by(api, at("2027-01-15T10:00:00Z")).is_empty());
    assert!(engine.muted_by(disk, at("2027-01-15T09:00:00Z")).is_empty(), "covers only the API component");
    // 2027-01-17 is a Sunday: 02:00–04:00 UTC.
    assert_eq!(engine.muted_by(disk, at("2027-01-17T03:59:00Z")), ["maintenance:sunday"]);
    assert!(engine.muted_by(disk, at("2027-01-17T04:00:00Z")).is_empty());
    assert!(engine.muted_by(disk, at("2027-01-18T03:00:00Z")).is_empty());
}

#[test]
fn a_check_whose_parent_is_down_does_not_page() {
    // api depends_on disk (see `watched`).
    let (mut engine, _) = Engine::new(rules(""), Vec::new(), t(0));
    let down = |check: &str, i: i64| result(check, t(i), false, &[]);
    let events = engine.on_results(
        &[down("disk", 0), down("api", 0), down("disk", 1), down("api", 1), down("disk", 2), down("api", 2)],
        t(2),
        false,
    );
    let fired = notices(&events);
    assert_eq!(fired.len(), 2, "{fired:?}");
    assert_eq!(fired[0], ("check_down{check=\"disk\"}".into(), Notice::Firing, vec![]));
    assert_eq!(fired[1], ("check_down{check=\"api\"}".into(), Notice::Firing, vec!["depends_on:disk".to_string()]));
}

#[test]
fn inhibit_rules_mute_targets_with_equal_labels() {
    let text = "[[alert]]\nname = \"api_slow\"\nwhen = 'api.latency > 1s'\nseverity = \"warning\"\n\n\
                [[inhibit]]\nsource_matchers = [\"alertname=check_down\"]\ntarget_matchers = [\"severity=warning\"]\nequal = [\"check\"]\n";
    let rules = rules(text);
    let (mut engine, _) = Engine::new(Arc::clone(&rules), Vec::new(), t(0));
    let slow =
        |i: i64| result("api", t(i), false, &[("status", Value::Number(200.0)), ("latency", Value::Duration(2.0))]);
    let events = engine.on_results(&[slow(0)], t(0), false);
    assert_eq!(notices(&events), [("api_slow".into(), Notice::Firing, vec![])], "fires before the down alert does");
    let events = engine.on_results(&[slow(1), slow(2)], t(2), false);
    assert_eq!(notices(&events), [("check_down{check=\"api\"}".into(), Notice::Firing, vec![])]);
    // While check_down{api} fires, api_slow's notifications are muted by it.
    assert_eq!(engine.muted_by(rules.get("api_slow").unwrap(), t(3)), ["inhibited_by:check_down{check=\"api\"}"]);
    assert!(engine.muted_by(rules.get("check_down{check=\"disk\"}").unwrap(), t(3)).is_empty());
}

#[test]
fn mistakes_in_mutes_point_at_themselves() {
    let cases: &[(&str, &str)] = &[
        (
            "[[maintenance]]\nstart = \"2027-01-15 08:00\"\nend = \"2027-01-15 07:00\"\n",
            "3:7: `end` must be after `start`",
        ),
        ("[[maintenance]]\nstart = \"tomorrow\"\nend = \"2027-01-15 07:00\"\n", "2:9: `tomorrow` is not a time"),
        ("[[maintenance]]\nschedule = \"0 2 * * SUN\"\n", "1:1: maintenance window \"maintenance-1\" needs either"),
        (
            "[[maintenance]]\nschedule = \"0 2 * * SUN\"\nduration = \"2h\"\nchecks = [\"dsk\"]\n",
            "4:11: no check is named `dsk`",
        ),
        (
            "[[maintenance]]\nschedule = \"0 2 * * SUN\"\nduration = \"2h\"\ncomponents = [\"Api\"]\n",
            "4:15: no component is named `Api`",
        ),
        (
            "[[maintenance]]\nschedule = \"0 2 * * SUN\"\nduration = \"2h\"\nexclude_from_slo = true\n",
            "4:20: `exclude_from_slo = true` is not supported",
        ),
        (
            "[[inhibit]]\nsource_matchers = [\"severity\"]\ntarget_matchers = [\"severity=warning\"]\n",
            "2:20: `severity` is not a matcher",
        ),
        (
            "[[inhibit]]\ntarget_matchers = [\"severity=warning\"]\n",
            "1:1: an inhibit rule needs `source_matchers` and `target_matchers`",
        ),
    ];
    for (text, expected) in cases {
        let found = errors(text);
        assert!(found.iter().any(|e| e.contains(expected)), "{text}\nexpected {expected}\ngot {found:#?}");
    }
}

#[test]
fn a_reload_keeps_the_state_of_rules_that_stay_and_starts_new_ones_inactive() {
    let rule = DISK_RULE.replace("for = \"5m\"\n", "");
    let (mut engine, _) = Engine::new(rules(&rule), Vec::new(), t(0));
    engine.on_results(&[disk(t(0), 99.0)], t(0), false);
    let more = format!("{rule}\n[[alert]]\nname = \"disk_nearly_full\"\nwhen = 'disk.used_percent > 95'\n");
    let events = engine.reload(rules(&more), t(10));
    assert!(events.is_empty(), "nothing changes by reloading: {:?}", steps(&events));
    assert!(engine.alert("disk_space_low").unwrap().memory.state.is_firing());
    assert_eq!(engine.alert("disk_nearly_full").unwrap().memory.state.name(), "inactive");
    // The next result evaluates the new rule with what it reads.
    let events = engine.on_results(&[disk(t(20), 99.0)], t(20), false);
    assert_eq!(steps(&events), [step("disk_nearly_full", "inactive", "firing", Some(Notice::Firing))]);
}

#[test]
fn a_maintenance_window_that_ends_while_an_alert_fires_notifies_it_then() {
    let text = format!(
        "{}\n[[maintenance]]\nname = \"resize\"\nstart = \"2027-01-15T08:00:00Z\"\nend = \"2027-01-15T10:00:00Z\"\nchecks = [\"disk\"]\n",
        DISK_RULE.replace("for = \"5m\"\n", "")
    );
    let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
    let (mut engine, _) = Engine::new(rules(&text), Vec::new(), at("2027-01-15T08:00:00Z"));
    let events = engine.on_results(&[disk(at("2027-01-15T09:00:00Z"), 95.0)], at("2027-01-15T09:00:00Z"), false);
    assert_eq!(notices(&events), [("disk_space_low".into(), Notice::Firing, vec!["maintenance:resize".to_string()])]);
    assert!(engine.on_tick(Fetched::default(), at("2027-01-15T09:59:59Z")).is_empty(), "still in the window");
    let events = engine.on_tick(Fetched::default(), at("2027-01-15T10:00:00Z"));
    assert_eq!(notices(&events), [("disk_space_low".into(), Notice::Firing, vec![])]);
}
