//! The dashboard in a real headless Chromium: it loads, shows a failing check as failing, and
//! the browser reports no console errors (a CSP violation would be one).

mod support;

use std::process::Command;
use support::{Daemon, app, eventually, http_check, write_config};

fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| Command::new(b).arg("--version").output().is_ok_and(|o| o.status.success()));
    if found.is_none() {
        if std::env::var("UPKEEP_TEST_SERVICES").as_deref() == Ok("required") {
            panic!("no headless browser: install the Debian package chromium (UPKEEP_TEST_SERVICES=required)");
        }
        eprintln!("skipped: no chromium installed (Debian package chromium)");
    }
    found
}

/// Loads `url` in headless Chromium; returns the rendered DOM and the browser's log.
fn render(browser: &str, url: &str) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Console messages and security refusals in Chromium's log (its own D-Bus noise aside).
fn console_problems(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains("CONSOLE") || l.contains("Refused to") || l.contains("Uncaught")).collect()
}

#[tokio::test]
async fn dashboard_shows_a_failing_check_as_failing_without_console_errors() {
    let Some(browser) = chromium() else { return };
    let (healthy, broken) = (app(), app());
    broken.healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let config =
        write_config(dir.path(), &(http_check("api", &healthy.addr, "") + &http_check("admin", &broken.addr, "")));
    let daemon = Daemon::start(&config);
    eventually("both checks judged", async || {
        let checks = daemon.json("/api/v1/checks").await;
        checks.as_array()?.iter().all(|c| c["status"] != "pending").then_some(())
    })
    .await;

    let (dom, log) = render(browser, &format!("{}/", daemon.url));
    assert!(dom.contains("<h1>Checks</h1>"), "{dom}");
    assert!(dom.contains("2 checks · 1 ok · 1 failing"), "{dom}");
    let admin_row = dom.split("data-check=\"admin\"").nth(1).expect("a row for admin");
    let admin_row = &admin_row[..admin_row.find("</tr>").unwrap()];
    assert!(admin_row.contains("badge error\">failing"), "{admin_row}");
    assert!(admin_row.contains("expected status &gt;= 200 and status &lt; 300, got 503"), "{admin_row}");
    let api_row = dom.split("data-check=\"api\"").nth(1).expect("a row for api");
    assert!(api_row[..api_row.find("</tr>").unwrap()].contains("badge ok\">ok"));
    assert!(dom.contains("<svg class=\"bars\""), "uptime bars are drawn");
    assert_eq!(console_problems(&log), Vec::<&str>::new());

    let (page, log) = render(browser, &format!("{}/checks/admin", daemon.url));
    assert!(page.contains("Recent runs") && page.contains("Status changes, last 7 days"), "{page}");
    assert_eq!(console_problems(&log), Vec::<&str>::new());
}

/// The alerts page shows a firing down alert with what it says; the SLO page draws the
/// budget's burn-down; neither makes the browser complain.
#[tokio::test]
async fn alerts_and_slo_pages_show_a_firing_alert_and_a_burn_down() {
    let Some(browser) = chromium() else { return };
    let broken = app();
    broken.healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    let dir = tempfile::tempdir().unwrap();
    let slo = "[[slo]]\nname = \"admin-availability\"\ncheck = \"admin\"\nobjective = \"99.9%\"\nwindow = \"1d\"\n";
    let config = write_config(dir.path(), &(http_check("admin", &broken.addr, "alert_after = 1") + slo));
    let daemon = Daemon::start(&config);
    eventually("the down alert fires", async || {
        let alerts = daemon.json("/api/v1/alerts").await;
        alerts.as_array()?.iter().any(|a| a["alertname"] == "check_down" && a["state"] == "firing").then_some(())
    })
    .await;

    let (dom, log) = render(browser, &format!("{}/alerts", daemon.url));
    assert!(dom.contains("<h1>Alerts</h1>"), "{dom}");
    let row = dom.split("data-alert=\"check_down{check=&quot;admin&quot;}\"").nth(1).expect("a row for the down alert");
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("badge error\">firing") && row.contains("admin is down: expected status"), "{row}");
    assert_eq!(console_problems(&log), Vec::<&str>::new());

    // Windows are read from the running totals, which compaction brings up to date.
    eventually("the SLO has runs", async || {
        let slos = daemon.json("/api/v1/slos").await;
        (slos[0]["events"]["valid"].as_u64()? > 0).then_some(())
    })
    .await;
    let (dom, log) = render(browser, &format!("{}/slos", daemon.url));
    let section = dom.split("data-slo=\"admin-availability\"").nth(1).expect("a section for the SLO");
    assert!(section.contains("<svg class=\"burn\""), "{section}");
    assert!(section.contains("of the error budget left"), "{section}");
    assert_eq!(console_problems(&log), Vec::<&str>::new());
}
