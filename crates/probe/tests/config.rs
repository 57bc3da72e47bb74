//! Whole-file validation, kind keys included: every mistake at its exact line and column.

mod support;

use support::errors;

#[test]
fn unknown_kind_key_and_field_each_get_a_suggestion() {
    let toml = r#"[[check]]
name = "api"
kind = "http"
url = "http://127.0.0.1:8080/health"
timout = "5s"
expect = ['status == 200', 'lantency < 200ms']

[[check]]
name = "db"
kind = "postgress"
url = "postgres://localhost/app"
"#;
    assert_eq!(
        errors(toml),
        [
            "upkeep.toml:5:1: unknown key `timout` in check \"api\"",
            "upkeep.toml:6:29: in `expect` of a http check: unknown field `lantency`",
            "upkeep.toml:10:8: unknown check kind `postgress`",
        ]
    );
}

#[test]
fn hints_say_what_would_be_right() {
    let toml =
        "[[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"http://x/\"\ntimout = \"5s\"\nexpect = 'lantency < 200'\n";
    let d =
        match upkeep_plan::load_config(upkeep_config::Source::new("upkeep.toml", toml), &upkeep_config::Env::Process) {
            Err(d) => d,
            Ok(_) => panic!("should be invalid"),
        };
    let hints: Vec<_> = d.items().iter().map(|i| i.hint.clone().unwrap_or_default()).collect();
    assert_eq!(hints, ["did you mean `timeout`?", "did you mean `latency`?"]);
    let shown = d.to_string();
    assert!(shown.contains("    timout = \"5s\"\n    ^^^^^^ did you mean `timeout`?"), "{shown}");
}

#[test]
fn expect_type_errors_point_into_the_string() {
    let toml = "[[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"http://x/\"\nexpect = 'latency < 200'\n";
    assert_eq!(
        errors(toml),
        ["upkeep.toml:5:21: in `expect` of a http check: `latency` is a duration, but this number has no unit"]
    );
    let toml = "[[check]]\nname = \"disk\"\nkind = \"disk\"\nexpect = 'free < 10'\n";
    assert_eq!(
        errors(toml),
        ["upkeep.toml:4:18: in `expect` of a disk check: `free` is a size, but this number has no unit"]
    );
}

#[test]
fn each_kind_declares_its_own_fields() {
    // `json` belongs to http and command, not to disk.
    let toml = "[[check]]\nname = \"disk\"\nkind = \"disk\"\nexpect = 'json.status == 1'\n";
    assert_eq!(errors(toml), ["upkeep.toml:4:11: in `expect` of a disk check: unknown field `json.status`"]);
    let toml = "[[check]]\nname = \"disk\"\nkind = \"disk\"\nexpect = 'used_percent > 85'\n";
    assert!(errors(toml).is_empty());
}

#[test]
fn kinds_refuse_bad_settings() {
    let toml = r#"[[check]]
name = "a"
kind = "http"
url = "ftp://example.com"

[[check]]
name = "b"
kind = "tcp"
address = "localhost"

[[check]]
name = "c"
kind = "postgres"
url = "postgres://localhost/app"
query = "DELETE FROM failed_jobs"

[[check]]
name = "d"
kind = "heartbeat"

[[check]]
name = "e"
kind = "sqlite"
"#;
    assert_eq!(
        errors(toml),
        [
            "upkeep.toml:4:7: `url` is not an http(s) URL: `ftp://example.com`",
            "upkeep.toml:9:11: `address` needs a port: `localhost`",
            "upkeep.toml:15:9: `query` must read, not write (start with SELECT, WITH, SHOW, PRAGMA, VALUES or EXPLAIN)",
            "upkeep.toml:17:1: check \"d\" needs `every` (how often pings come) or `schedule` (when, as cron)",
            "upkeep.toml:21:1: check \"e\" has no `path`",
        ]
    );
}

#[test]
fn two_heartbeats_cannot_share_an_id() {
    let toml = r#"[[check]]
name = "nightly"
kind = "heartbeat"
every = "1d"

[[check]]
name = "backup"
kind = "heartbeat"
id = "nightly"
every = "1d"
"#;
    assert_eq!(errors(toml), ["upkeep.toml:7:8: heartbeat id `nightly` is already used by check `nightly`"]);
}

#[test]
fn a_bad_header_points_at_its_value() {
    let toml = "[[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"http://127.0.0.1/\"\nheaders = { \"X-Token\" = \"a\\nb\" }\n";
    assert_eq!(errors(toml), ["upkeep.toml:5:25: header `X-Token` is not a valid HTTP header"]);
}

/// Issue 22: what `config validate` accepted but the daemon could not live with, each refused
/// at its line and column.
#[test]
fn values_that_would_break_the_daemon_are_refused() {
    let toml = r#"[[check]]
name = "spin"
kind = "tcp"
address = "127.0.0.1:1"
every = "0.0000000000000000001s"
timeout = "0.0000001s"

[[check]]
name = "never"
kind = "heartbeat"
schedule = "0 0 30 2 *"

[[check]]
name = "disk"
kind = "disk"
path = "/"
expect = ['used_percent > -5%', 'used_percent in []']
"#;
    assert_eq!(
        errors(toml),
        [
            "upkeep.toml:5:9: `every` in check \"spin\" must be at least 1s",
            "upkeep.toml:6:11: `timeout` in check \"spin\" must be at least 1ms",
            "upkeep.toml:11:12: `schedule`: `0 0 30 2 *` never fires (no time matches it in the next 5 years)",
            "upkeep.toml:17:27: in `expect` of a disk check: a percentage cannot be negative",
            "upkeep.toml:17:50: in `expect` of a disk check: `in []` is never true",
        ]
    );
}

/// A 3,600-term `or` chain overflowed the stack of `config validate`, of `serve` at start and
/// of the daemon on SIGHUP. Now it is a config error at its place, for all of them alike (they
/// share this loader), and the longest accepted chain loads.
#[test]
fn an_overlong_expression_is_a_config_error_not_a_crash() {
    let chain = |n: usize| vec!["status == 200"; n].join(" or ");
    let toml = format!(
        "[[check]]\nname = \"api\"\nkind = \"http\"\nurl = \"http://127.0.0.1:1/\"\nexpect = ['{}']\n",
        chain(3600)
    );
    assert_eq!(
        errors(&toml),
        ["upkeep.toml:5:12: in `expect` of a http check: the expression is 61196 bytes long; at most 4096 are allowed"]
    );
    let fits = toml.replace(&chain(3600), &chain(240));
    assert_eq!(errors(&fits), Vec::<String>::new());
}

#[test]
fn extreme_names_and_nesting_are_refused_with_short_messages() {
    let name = "a".repeat(100_000);
    let toml = format!("[[check]]\nname = \"{name}\"\nkind = \"disk\"\npath = \"/\"\n");
    let found = errors(&toml);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("upkeep.toml:2:8: a check name is at most 128 characters"), "{}", &found[0][..200]);
    // Printed with its line, the message stays short enough to read.
    let shown = upkeep_plan::load_config(upkeep_config::Source::new("upkeep.toml", toml), &upkeep_config::Env::Process)
        .unwrap_err()
        .to_string();
    assert!(shown.len() < 2_000, "{} bytes", shown.len());
    // Deeply nested TOML is refused by the parser, not by the stack.
    let deep = format!("x = {}1{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert!(!errors(&deep).is_empty());
}

/// Issue 22, defect 5: a config error never prints a password, whether it was written in the
/// file or came from the environment.
#[test]
fn config_errors_mask_secrets() {
    let toml = r#"[[check]]
name = "files"
kind = "http"
url = "ftp://app:hunter2-in-file@127.0.0.1/app"

[[check]]
name = "api"
kind = "http"
url = "${API_URL}"
"#;
    let env = upkeep_config::Env::fixed([("API_URL", "ftp://example.com/from-the-env")]);
    let shown = match upkeep_plan::load_config(upkeep_config::Source::new("upkeep.toml", toml), &env) {
        Err(d) => d.to_string(),
        Ok(_) => panic!("should be invalid"),
    };
    assert!(!shown.contains("hunter2-in-file") && !shown.contains("from-the-env"), "{shown}");
    assert!(shown.contains("url = \"ftp://app:***@127.0.0.1/app\""), "{shown}");
    assert!(shown.contains("`url` is not an http(s) URL: `${API_URL}`"), "{shown}");
}

mod never_panics {
    use proptest::prelude::*;

    /// A config that uses every common key and several kinds, to mutate.
    const BASE: &str = r#"[server]
listen = "127.0.0.1:8080"
concurrency = 8

[retention]
raw = "7d"

[[check]]
name = "api"
kind = "http"
url = "https://app.example.com/health?token=x"
every = "30s"
timeout = "5s"
expect = ['status == 200', 'json.status == "healthy"', 'latency < 200ms']
depends_on = ["db"]

[[check]]
name = "db"
kind = "postgres"
url = "postgres://u:p@127.0.0.1/app"
expect = 'connections < 80'

[[check]]
name = "nightly"
kind = "heartbeat"
schedule = "0 2 * * *"
grace = "1h"
"#;

    fn load(text: &str) {
        let _ = upkeep_plan::load_config(upkeep_config::Source::new("upkeep.toml", text), &upkeep_config::Env::Process)
            .map_err(|d| d.to_string());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Any byte-level mutation of a real config: an error, never a panic.
        #[test]
        fn mutated_configs_never_panic(edits in proptest::collection::vec((0usize..2000, "\\PC{0,3}"), 1..8)) {
            let mut text = BASE.to_string();
            for (at, insert) in edits {
                let mut at = at % (text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let end = (at + insert.len().min(2)).min(text.len());
                let end = (end..=text.len()).find(|&e| text.is_char_boundary(e)).unwrap_or(text.len());
                text.replace_range(at..end, &insert);
            }
            load(&text);
        }

        /// Values of extreme size and nesting in every place a value goes.
        #[test]
        fn extreme_values_never_panic(size in 0usize..200_000, which in 0usize..6) {
            let big = "9".repeat(size);
            let text = match which {
                0 => BASE.replace("\"30s\"", &format!("\"{big}s\"")),
                1 => BASE.replace("\"api\"", &format!("\"{big}\"")),
                2 => BASE.replace("'connections < 80'", &format!("'connections < {big}'")),
                3 => format!("{BASE}\nx = {}{}", "[".repeat(size), "]".repeat(size)),
                4 => format!("{BASE}\ny = {}1{}", "{a=".repeat(size / 4), "}".repeat(size / 4)),
                _ => BASE.replace("concurrency = 8", &format!("concurrency = {big}")),
            };
            load(&text);
        }
    }
}
