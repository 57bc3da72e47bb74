//! The examples are config a user copies: each loads, and the seed examples give exactly the
//! alerts and SLOs their manuals describe (000-51..54: four rules with their severities and
//! cooldowns; 004-02..06: the SLO table; 004-31..36: the alert rules).

use std::path::Path;
use std::process::Command;

/// Runs `upkeep -c <a copy of the example> ARGS` in a scratch directory, so the example's
/// relative `data_dir` lands there; returns the exit code and stdout as JSON.
fn run(example: &str, args: &[&str]) -> (Option<i32>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("examples");
    std::fs::create_dir(&copy).unwrap();
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(example);
    std::fs::copy(&source, copy.join(example)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_upkeep")).arg("-c").arg(copy.join(example)).args(args).output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!("{example}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    });
    (out.status.code(), json)
}

fn alerts(example: &str) -> Vec<serde_json::Value> {
    let (code, json) = run(example, &["alert", "list", "--all", "--json"]);
    assert_eq!(code, Some(0), "{example}: nothing fires on a new store");
    json.as_array().unwrap().clone()
}

fn find<'a>(alerts: &'a [serde_json::Value], key: &str) -> &'a serde_json::Value {
    alerts.iter().find(|a| a["key"] == key).unwrap_or_else(|| panic!("no alert {key}"))
}

#[test]
fn every_example_is_valid() {
    for example in ["upkeep.toml", "seed-000-alerts.toml", "seed-004-slos.toml"] {
        let (code, json) = run(example, &["config", "validate", "--json"]);
        assert_eq!(code, Some(0), "{example}: {json}");
    }
    // 000-50: its severity → channel table, copied in, routes every alert somewhere.
    let (_, json) = run("seed-000-alerts.toml", &["config", "validate", "--json"]);
    assert_eq!(json["warnings"], serde_json::json!([]), "{json}");
    let (_, json) = run("seed-004-slos.toml", &["config", "validate", "--json"]);
    assert!(
        json["warnings"][0].as_str().unwrap().contains("reach no channel (no [[channel]] is configured)"),
        "{json}"
    );
}

#[test]
fn seed_000_has_its_four_rules_and_a_burning_budget_pages() {
    let alerts = alerts("seed-000-alerts.toml");
    for (key, severity) in [
        ("availability_breach", "critical"),
        ("response_time_breach", "warning"),
        ("error_rate_high", "warning"),
        ("disk_space_low", "warning"),
        ("check_down{check=\"app\"}", "critical"),
        ("slo_burn{slo=\"app-availability\",window=\"1h/5m\"}", "critical"),
        ("slo_burn{slo=\"app-availability\",window=\"3d/6h\"}", "warning"),
    ] {
        let alert = find(&alerts, key);
        assert_eq!(alert["severity"], severity, "{key}");
        assert_eq!(alert["state"], "inactive", "{key}");
    }
    assert_eq!(find(&alerts, "disk_space_low")["labels"]["check"], "disk");
    assert_eq!(find(&alerts, "availability_breach")["labels"]["check"], "app");
}

#[test]
fn seed_004_has_its_slo_table_and_alert_rules() {
    let (code, slos) = run("seed-004-slos.toml", &["slo", "report", "--json"]);
    assert_eq!(code, Some(0));
    let objectives: Vec<(String, f64, Option<f64>)> = slos
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let name = s["name"].as_str().unwrap().to_string();
            (name, s["objective"].as_f64().unwrap(), s["threshold_seconds"].as_f64())
        })
        .collect();
    let slo = |name: &str, objective: f64, threshold: Option<f64>| (name.to_string(), objective, threshold);
    // The table's availability column, then its p95 column as latency SLOs (004-02..06).
    assert_eq!(
        objectives,
        [
            slo("web-wallet-availability", 0.999, None),
            slo("api-gateway-availability", 0.9995, None),
            slo("database-availability", 0.9999, None),
            slo("blockchain-availability", 0.999, None),
            slo("auth-availability", 0.9995, None),
            slo("web-wallet-latency", 0.95, Some(1.0)),
            slo("api-gateway-latency", 0.95, Some(0.2)),
            slo("database-latency", 0.95, Some(0.05)),
            slo("blockchain-latency", 0.95, Some(6.0)),
            slo("auth-latency", 0.95, Some(0.1)),
        ]
    );
    // 99.99% over 30 days leaves 4m19s.
    assert!((slos[2]["error_budget"].as_f64().unwrap() - 0.0001).abs() < 1e-12);
    let alerts = alerts("seed-004-slos.toml");
    assert_eq!(find(&alerts, "CertificateExpiringSoon")["labels"]["team"], "security");
    assert_eq!(find(&alerts, "HighResponseTime")["labels"]["team"], "sre");
    assert_eq!(find(&alerts, "check_down{check=\"database\"}")["labels"]["component"], "Database");
    let burn = alerts.iter().filter(|a| a["alertname"] == "slo_burn").count();
    assert_eq!(burn, 10 * 4, "four burn-rate alerts per SLO");
}
