//! SLOs end to end: a store with a known history, then `upkeep slo report`, `/api/v1/slos` and
//! the `upkeep_slo_*` metrics all say what the design's math says about it.

mod support;

use std::process::Command;
use std::time::Duration;
use support::{Daemon, app, http_check, write_config};
use upkeep_result::{CheckResult, Status};

/// 600 runs of `api` over the last 100 minutes, one every 10 s; the 6 of the last 10 minutes'
/// runs that fall on a whole minute failed.
async fn history(data_dir: &std::path::Path) -> jiff::Timestamp {
    let store = upkeep_store::Store::open(data_dir).await.unwrap();
    let now = jiff::Timestamp::now();
    let results: Vec<CheckResult> = (1..=600)
        .map(|i| {
            let ago = i * 10;
            let failed = ago <= 600 && ago % 60 == 0 && ago / 60 <= 6;
            CheckResult {
                check: "api".into(),
                at: now - jiff::SignedDuration::from_secs(ago),
                status: Status::from_ok(!failed),
                latency: Duration::from_millis(5),
                message: failed.then(|| "down".into()),
                observations: Default::default(),
            }
        })
        .collect();
    store.write(&results).await.unwrap();
    store.compact(now, Duration::ZERO).await.unwrap();
    now
}

const SLO: &str = "[[slo]]\nname = \"api-availability\"\ncheck = \"api\"\nobjective = \"99%\"\nwindow = \"30d\"\n";

#[tokio::test]
async fn slo_report_follows_the_design_math() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("[[check]]\nname = \"api\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\n\n{SLO}"),
    );
    history(&dir.path().join("data")).await;
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["slo", "report", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let reports: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &reports[0];
    assert_eq!(r["name"], "api-availability");
    assert_eq!(r["events"]["valid"], 600);
    assert_eq!(r["events"]["good"], 594);
    // SLI 0.99; a 1% budget: consumed (1 - 0.99) / 0.01 = 1.0, nothing left.
    assert!((r["sli"].as_f64().unwrap() - 0.99).abs() < 1e-12);
    assert!((r["budget_consumed"].as_f64().unwrap() - 1.0).abs() < 1e-9, "{r}");
    assert!(r["budget_remaining"].as_f64().unwrap().abs() < 1e-9, "{r}");
    assert_eq!(r["error_budget_seconds"], 25_920.0);
    // The last hour: 360 runs (up to 6 more, from the minute the window starts in), 6 failed:
    // burn (6/360) / 0.01 = 1.67.
    let hour = r["burn_rates"]["1h"].as_f64().unwrap();
    assert!((6.0 / 366.0 / 0.01..=6.0 / 360.0 / 0.01 + 1e-9).contains(&hour), "{r}");

    let table =
        Command::new(env!("CARGO_BIN_EXE_upkeep")).arg("-c").arg(&config).args(["slo", "report"]).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.starts_with("SLO "), "{text}");
    assert!(text.contains("api-availability  api    99%"), "{text}");
}

#[tokio::test]
async fn the_api_and_metrics_show_every_slo() {
    let api = app();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &(http_check("api", &api.addr, "") + SLO));
    history(&dir.path().join("data")).await;
    let daemon = Daemon::start(&config);
    let slos = daemon.json("/api/v1/slos").await;
    assert_eq!(slos[0]["name"], "api-availability");
    assert!(slos[0]["events"]["valid"].as_u64().unwrap() >= 600, "{slos}");
    let (_, metrics) = daemon.get("/metrics").await;
    assert!(metrics.contains("upkeep_slo_objective_ratio{slo=\"api-availability\"} 0.99"), "{metrics}");
    assert!(metrics.contains("upkeep_slo_burn_rate{"), "{metrics}");
    assert!(metrics.contains("upkeep_slo_error_budget_remaining_ratio{slo=\"api-availability\"}"), "{metrics}");
    assert!(metrics.contains("upkeep_slo_sli_ratio{") && metrics.contains("window=\"30d\""), "{metrics}");
}

/// A directory for promtool's files, or `None` (the test skipped) where promtool is missing and
/// the services are not required.
fn promtool_dir() -> Option<tempfile::TempDir> {
    if Command::new("promtool").arg("--version").output().is_err() {
        assert!(
            std::env::var("UPKEEP_TEST_SERVICES").as_deref() != Ok("required"),
            "promtool (Debian package prometheus) is not installed"
        );
        eprintln!("skipped: promtool is not installed (Debian package prometheus)");
        return None;
    }
    Some(tempfile::tempdir().unwrap())
}

/// `upkeep slo export prometheus -o rules.yml` for one tcp check `api` and `slo`, then `promtool
/// check rules` on the file.
fn export_checked_rules(dir: &std::path::Path, slo: &str) {
    let config =
        write_config(dir, &format!("[[check]]\nname = \"api\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\n\n{slo}"));
    let rules = dir.join("rules.yml");
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["slo", "export", "prometheus", "-o"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let checked = Command::new("promtool").arg("check").arg("rules").arg(&rules).output().unwrap();
    let said = |o: &std::process::Output| {
        format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
    };
    assert!(checked.status.success(), "{}", said(&checked));
}

/// `promtool test rules` on `tests` (YAML over `rules.yml` in `dir`).
fn promtool_test(dir: &std::path::Path, tests: &str) {
    std::fs::write(dir.join("tests.yml"), tests).unwrap();
    let tested = Command::new("promtool").current_dir(dir).args(["test", "rules", "tests.yml"]).output().unwrap();
    assert!(
        tested.status.success(),
        "{}{}",
        String::from_utf8_lossy(&tested.stdout),
        String::from_utf8_lossy(&tested.stderr)
    );
}

/// `upkeep slo export prometheus` writes rules promtool accepts, and on a synthetic series its
/// burn-rate alerts fire exactly as Upkeep's own do: 2% of runs failing burns a 0.1% budget at
/// 20×, past every pair's threshold; 0.5% (5×) fires only the two ticket pairs (3× and 1×).
#[test]
fn exported_rules_pass_promtool_and_their_burn_rate_alerts_fire() {
    let Some(dir) = promtool_dir() else { return };
    export_checked_rules(dir.path(), &SLO.replace("99%", "99.9%"));

    let alert = |window: &str, severity: &str, factor: &str| {
        format!(
            "          - exp_labels: {{slo: api-availability, check: api, window: \"{window}\", severity: {severity}}}\n            \
             exp_annotations: {{summary: \"SLO api-availability burns its error budget faster than {factor}x over {window}\"}}\n"
        )
    };
    let case = |errors_per_min: u32, expected: &str| {
        format!(
            "  - interval: 1m\n    input_series:\n      - series: 'upkeep_check_runs_total{{check=\"api\",status=\"ok\"}}'\n        values: '0+{}x400'\n      \
             - series: 'upkeep_check_runs_total{{check=\"api\",status=\"error\"}}'\n        values: '0+{errors_per_min}x400'\n    alert_rule_test:\n      \
             - eval_time: 6h\n        alertname: UpkeepSloBurn\n        exp_alerts:\n{expected}",
            1000 - errors_per_min
        )
    };
    let all_four = [
        alert("1h/5m", "critical", "14.4"),
        alert("6h/30m", "critical", "6"),
        alert("1d/2h", "warning", "3"),
        alert("3d/6h", "warning", "1"),
    ]
    .concat();
    let tickets = [alert("1d/2h", "warning", "3"), alert("3d/6h", "warning", "1")].concat();
    let tests = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n{}{}",
        case(20, &all_four),
        case(5, &tickets)
    );
    promtool_test(dir.path(), &tests);
}

const LATENCY_SLO: &str = "[[slo]]\nname = \"api-latency\"\ncheck = \"api\"\nkind = \"latency\"\nthreshold = \"200ms\"\nobjective = \"95%\"\n";

/// A latency SLO's good events are the passing runs at or under its threshold, counted exactly
/// as results roll up (000-02: "95% of requests under 200 ms"): of 600 runs, 60 took 350 ms and
/// 12 failed fast, so 528 are good and the SLI is 88%.
#[tokio::test]
async fn a_latency_slo_counts_passing_runs_at_or_under_its_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("[[check]]\nname = \"api\"\nkind = \"tcp\"\naddress = \"127.0.0.1:9\"\n\n{LATENCY_SLO}"),
    );
    let store = upkeep_store::Store::open(&dir.path().join("data")).await.unwrap();
    // What the daemon tells the store at start.
    store.track_thresholds([("api".to_string(), vec![Duration::from_millis(200)])].into());
    let now = jiff::Timestamp::now();
    let results: Vec<CheckResult> = (1..=600)
        .map(|i| CheckResult {
            check: "api".into(),
            at: now - jiff::SignedDuration::from_secs(i * 10),
            status: Status::from_ok(i % 50 != 1),
            latency: Duration::from_millis(match i {
                _ if i % 50 == 1 => 5,
                _ if i % 10 == 0 => 350,
                _ => 50,
            }),
            message: None,
            observations: Default::default(),
        })
        .collect();
    store.write(&results).await.unwrap();
    store.compact(now, Duration::ZERO).await.unwrap();
    drop(store);
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .arg("-c")
        .arg(&config)
        .args(["slo", "report", "--json"])
        .output()
        .unwrap();
    // Overspent: exit 1, as for any SLO whose budget is gone.
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let r = &serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()[0];
    assert_eq!((r["kind"].as_str(), r["threshold_seconds"].as_f64()), (Some("latency"), Some(0.2)), "{r}");
    assert_eq!((r["events"]["good"].as_u64(), r["events"]["valid"].as_u64()), (Some(528), Some(600)), "{r}");
    assert!((r["sli"].as_f64().unwrap() - 0.88).abs() < 1e-12, "{r}");
    // 12% bad against a 5% budget: 2.4 budgets spent.
    assert!((r["budget_consumed"].as_f64().unwrap() - 2.4).abs() < 1e-9, "{r}");
    let table =
        Command::new(env!("CARGO_BIN_EXE_upkeep")).arg("-c").arg(&config).args(["slo", "report"]).output().unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(text.contains("api-latency  api    95% ≤ 200ms  30d     88%"), "{text}");
}

/// In the daemon, a latency SLO whose threshold no run meets burns its budget at 1/(1 − 95%) =
/// 20×, and its page-level burn-rate alert fires; /metrics counts the runs within the threshold
/// for Prometheus' own rules.
#[tokio::test]
async fn a_latency_slo_no_run_meets_pages() {
    let api = app();
    let dir = tempfile::tempdir().unwrap();
    let slo = LATENCY_SLO.replace("200ms", "0.001ms");
    let config = write_config(
        dir.path(),
        &format!("[alerts]\nevaluate_every = \"1s\"\n\n{}{slo}", http_check("api", &api.addr, "")),
    );
    let daemon = Daemon::start(&config);
    let page = "slo_burn{slo=\"api-latency\",window=\"1h/5m\"}";
    let burn = support::eventually("the latency SLO's page-level alert fires", async || {
        let alerts = daemon.json("/api/v1/alerts").await;
        alerts.as_array()?.iter().find(|a| a["key"] == page && a["state"] == "firing").cloned()
    })
    .await;
    assert_eq!(burn["value"], "20.0", "{burn}");
    let slos = daemon.json("/api/v1/slos").await;
    assert_eq!(slos[0]["events"]["good"], 0, "{slos}");
    let (_, metrics) = daemon.get("/metrics").await;
    assert!(
        metrics.contains("upkeep_check_runs_within_threshold_total{check=\"api\",threshold=\"0.000001\"} 0"),
        "{metrics}"
    );
}

/// A latency SLO exports over `upkeep_check_runs_within_threshold_total`: half the runs over the
/// threshold burns a 5% budget at 10×, past every pair's factor but the page-level 14.4×.
#[test]
fn exported_latency_rules_fire_on_slow_runs() {
    let Some(dir) = promtool_dir() else { return };
    export_checked_rules(dir.path(), LATENCY_SLO);
    let alert = |window: &str, severity: &str, factor: &str| {
        format!(
            "          - exp_labels: {{slo: api-latency, check: api, window: \"{window}\", severity: {severity}}}\n            \
             exp_annotations: {{summary: \"SLO api-latency burns its error budget faster than {factor}x over {window}\"}}\n"
        )
    };
    let expected =
        [alert("6h/30m", "critical", "6"), alert("1d/2h", "warning", "3"), alert("3d/6h", "warning", "1")].concat();
    let tests = format!(
        "rule_files: [rules.yml]\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n      \
         - series: 'upkeep_check_runs_total{{check=\"api\",status=\"ok\"}}'\n        values: '0+1000x400'\n      \
         - series: 'upkeep_check_runs_within_threshold_total{{check=\"api\",threshold=\"0.2\"}}'\n        values: '0+500x400'\n    \
         alert_rule_test:\n      - eval_time: 6h\n        alertname: UpkeepSloBurn\n        exp_alerts:\n{expected}"
    );
    promtool_test(dir.path(), &tests);
}
