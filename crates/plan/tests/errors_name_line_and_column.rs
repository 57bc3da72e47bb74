//! Config mistakes are reported all at once, each at its exact line and column, with a fix.

use upkeep_config::{Env, Source};
use upkeep_plan::load_config;

fn errors(text: &str, env: Env) -> Vec<String> {
    load_config(Source::new("upkeep.toml", text), &env).map(|_| Vec::new()).unwrap_or_else(|d| d.summary())
}

fn hints(text: &str) -> Vec<Option<String>> {
    match load_config(Source::new("upkeep.toml", text), &Env::fixed([])) {
        Ok(_) => Vec::new(),
        Err(d) => d.items().iter().map(|i| i.hint.clone()).collect(),
    }
}

#[test]
fn reports_every_mistake_in_one_pass() {
    let text = r#"[server]
listen = "localhost"

[[check]]
name = "api"
kind = "memory"
every = "30"

[[check]]
name = "api"
kind = "memory"
depends_on = ["dbb"]
"#;
    assert_eq!(
        errors(text, Env::fixed([])),
        [
            "upkeep.toml:2:10: `listen` is not an address and port: `localhost`",
            "upkeep.toml:7:9: `every` in check \"api\": `30` has no unit; write e.g. \"30s\" or \"30m\"",
            "upkeep.toml:10:8: two checks are named `api`",
            "upkeep.toml:12:15: `depends_on` names `dbb`, which is not a check",
        ]
    );
}

#[test]
fn suggests_the_key_that_was_meant() {
    // A check's own keys are judged by its probe kind; see the probe crate's tests.
    let text = "[server]\nlisten = \"127.0.0.1:9\"\ndata_dri = \"x\"\n";
    assert_eq!(hints(text), [Some("did you mean `data_dir`?".to_string())]);
}

#[test]
fn names_a_missing_environment_variable_where_it_is_used() {
    let text = "[[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"http://${APP_HOST}/health\"\n";
    assert_eq!(errors(text, Env::fixed([])), ["upkeep.toml:4:15: environment variable `APP_HOST` is not set"]);
    let plan = load_config(Source::new("upkeep.toml", text), &Env::fixed([("APP_HOST", "app.internal")])).unwrap();
    assert_eq!(plan.checks[0].target(), "http://app.internal/health");
}

#[test]
fn reports_toml_syntax_errors_with_position() {
    let found = errors("[[check]]\nname = \"api\nkind = \"http\"\n", Env::fixed([]));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("upkeep.toml:2:"), "{found:?}");
}

#[test]
fn refuses_dependency_cycles_and_bad_names() {
    let text = r#"[[check]]
name = "a"
kind = "memory"
depends_on = ["b"]

[[check]]
name = "b"
kind = "memory"
depends_on = ["a"]

[[check]]
name = "9 lives"
kind = "memory"
"#;
    assert_eq!(
        errors(text, Env::fixed([])),
        [
            "upkeep.toml:2:8: `depends_on` forms a cycle: a → b → a",
            "upkeep.toml:12:8: check name `9 lives` cannot be used in expressions and URLs",
        ]
    );
}

#[test]
fn refuses_a_timeout_longer_than_the_interval() {
    let text = "[[check]]\nname = \"api\"\nkind = \"memory\"\nevery = \"10s\"\ntimeout = \"30s\"\n";
    assert_eq!(errors(text, Env::fixed([])), ["upkeep.toml:5:11: `timeout` (30s) is longer than `every` (10s)"]);
}

#[test]
fn applies_defaults_and_resolves_data_dir_next_to_the_file() {
    let text = "[defaults]\nevery = \"1m\"\ntimeout = \"3s\"\n[server]\ndata_dir = \"state\"\n[[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"http://x/\"\n";
    let config =
        load_config(Source::new("/etc/upkeep/upkeep.toml", text), &Env::fixed([])).unwrap_or_else(|d| panic!("{d}"));
    assert_eq!(config.server.data_dir, std::path::Path::new("/etc/upkeep/state"));
    assert_eq!(config.checks[0].every, std::time::Duration::from_secs(60));
    assert_eq!(config.checks[0].timeout, std::time::Duration::from_secs(3));
}

#[test]
fn access_and_store_mistakes_point_at_themselves() {
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$2m7cVfG6Wm0nJ7fWcG1w0bJ3y0CwZ4nB5K2c7VQ1xQk";
    let text = format!(
        "[server]\nstore = \"mysql://db/upkeep\"\n\n[[user]]\nname = \"alice\"\npassword_hash = \"{hash}\"\n\n[[user]]\nname = \"alice\"\npassword_hash = \"{hash}\"\n"
    );
    assert_eq!(
        errors(&text, Env::fixed([])),
        ["upkeep.toml:2:9: `store` must be a postgres:// URL", "upkeep.toml:8:1: two users are named `alice`"]
    );
}

#[test]
fn wrong_types_name_the_key_and_what_it_must_be() {
    let text = "[[check]]\nname = \"api\"\nkind = \"memory\"\ncritical = \"yes\"\nevery = 30\n";
    assert_eq!(
        errors(text, Env::fixed([])),
        [
            "upkeep.toml:4:12: `critical` in check \"api\" must be true or false, not a string",
            "upkeep.toml:5:9: `every` in check \"api\" must be a duration in quotes, not an integer",
        ]
    );
}

/// Issue 22: verifying a sign-in takes the memory its hash asks for, so a hash that asks for a
/// gigabyte is refused at load, not discovered under a burst of sign-ins.
#[test]
fn a_password_hash_with_an_unbounded_cost_is_refused() {
    let zeros = "A".repeat(43);
    let costly =
        format!("[[user]]\nname = \"alice\"\npassword_hash = '$argon2id$v=19$m=1048576,t=2,p=1$c29tZXNhbHQ${zeros}'\n");
    assert_eq!(
        errors(&costly, Env::fixed([])),
        [
            "upkeep.toml:3:17: `password_hash` asks for 1024 MiB, 2 passes and 1 lanes per sign-in; at most 64 MiB, 16 and 8"
        ]
    );
    let usual = costly.replace("m=1048576", "m=19456");
    assert_eq!(errors(&usual, Env::fixed([])), Vec::<String>::new());
}

/// `[[slo]]`: every mistake at its place, references to checks resolved with a did-you-mean.
#[test]
fn slo_mistakes_point_at_themselves() {
    let text = r#"[[check]]
name = "api"
kind = "memory"

[[slo]]
name = "api-availability"
check = "apii"
objective = "99.9%"

[[slo]]
name = "perfect"
check = "api"
objective = "100%"

[[slo]]
name = "fast"
check = "api"
kind = "latency"
objective = "95%"

[[slo]]
name = "brief"
check = "api"
objective = "99%"
window = "10m"

[[slo]]
name = "brief"
check = "api"

[[slo]]
name = "slow"
check = "api"
objective = "99%"
threshold = "200ms"

[[slo]]
name = "quick"
check = "api"
kind = "speed"
objective = "99%"

[[slo]]
name = "p95"
check = "api"
kind = "latency"
threshold = "fast"
objective = "95%"
"#;
    assert_eq!(
        errors(text, Env::fixed([])),
        [
            "upkeep.toml:7:9: `check` names `apii`, which is not a check",
            "upkeep.toml:13:13: an objective must be above 0% and below 100%",
            "upkeep.toml:18:8: a latency SLO needs a `threshold`",
            "upkeep.toml:25:10: `window` must be at least 1h",
            "upkeep.toml:27:1: SLO \"brief\" has no `objective`",
            "upkeep.toml:35:13: `threshold` belongs to a latency SLO",
            "upkeep.toml:40:8: `kind` of an SLO is \"availability\" or \"latency\", not \"speed\"",
            "upkeep.toml:47:13: `threshold` in SLO \"p95\": `fast` is not a duration (units: ms, s, m, h, d, w)",
        ]
    );
    assert_eq!(hints(text)[0].as_deref(), Some("did you mean `api`?"));
    let good = "[[check]]\nname = \"api\"\nkind = \"memory\"\n\n[[slo]]\nname = \"a\"\ncheck = \"api\"\nobjective = \"99.9%\"\nwindow = \"month\"\n";
    let plan = load_config(Source::new("upkeep.toml", good), &Env::fixed([])).unwrap();
    assert_eq!(plan.slos[0].window.describe(), "month");
    let latency =
        good.replace("objective = \"99.9%\"", "kind = \"latency\"\nthreshold = \"200ms\"\nobjective = \"95%\"");
    let plan = load_config(Source::new("upkeep.toml", latency), &Env::fixed([])).unwrap();
    assert_eq!(plan.slos[0].kind, upkeep_slo::Kind::Latency { threshold: std::time::Duration::from_millis(200) });
}

/// `alert_after` and `recover_after`, in a check and in `[defaults]`, are counts in range.
#[test]
fn check_alert_counts_point_at_themselves() {
    let text = "[defaults]\nrecover_after = 0\n\n[[check]]\nname = \"api\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\nalert_after = \"3\"\n\n\
                [[check]]\nname = \"db\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\nalert_after = 20000\n";
    let found = errors(text, Env::fixed([]));
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("upkeep.toml:2:17: `recover_after` in "), "{found:#?}");
    assert!(found[1].starts_with("upkeep.toml:8:15: `alert_after`"), "{found:#?}");
    assert!(found[2].starts_with("upkeep.toml:14:15: `alert_after` in check \"db\" is 20000"), "{found:#?}");
}

#[test]
fn tasks_refer_to_real_windows_and_checks_and_keep_their_own_names() {
    let text = "[[check]]\nname = \"db\"\nkind = \"memory\"\n\n\
                [[maintenance]]\nname = \"monthly\"\nschedule = \"0 2 * * SUN#1\"\nduration = \"2h\"\n\n\
                [[task]]\nname = \"db\"\nkind = \"command\"\ncommand = \"true\"\nschedule = \"0 3 * * *\"\n\n\
                [[task]]\nname = \"vacuum\"\nkind = \"command\"\ncommand = \"true\"\nschedule = \"0 3 * * *\"\nwindow = \"montly\"\n\n\
                [maintenance_mode]\nkind = \"file\"\npath = \"down\"\ngate = [\"dbb\"]\n";
    let errors = errors(text, Env::fixed([]));
    assert_eq!(
        errors,
        [
            "upkeep.toml:11:8: task `db` has the name of a check",
            "upkeep.toml:21:10: there is no maintenance window named `montly`",
            "upkeep.toml:23:1: `gate` names `dbb`, which is not a check",
        ],
        "{errors:#?}"
    );
    assert!(hints(text).contains(&Some("did you mean `monthly`?".into())));
}

#[test]
fn windows_announce_to_channels_that_exist_and_do_not_page_and_switch_a_mode_that_exists() {
    let text = "[[channel]]\nname = \"team\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\n\n\
                [[channel]]\nname = \"pager\"\nkind = \"pagerduty\"\nrouting_key = \"k\"\n\n\
                [[maintenance]]\nname = \"monthly\"\nschedule = \"0 2 * * SUN#1\"\nduration = \"2h\"\n\
                announce = [\"tem\", \"pager\"]\nmode = true\n";
    let errors = errors(text, Env::fixed([]));
    assert_eq!(
        errors,
        [
            "upkeep.toml:15:13: there is no channel named `tem`",
            "upkeep.toml:15:20: channel `pager` is a pagerduty channel: a maintenance announcement would page",
            "upkeep.toml:16:8: maintenance window \"monthly\" switches the app's maintenance mode, but none is configured",
        ],
        "{errors:#?}"
    );
    assert!(hints(text).contains(&Some("did you mean `team`?".into())));
}
