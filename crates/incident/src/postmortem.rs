//! The post-mortem draft (004-49's template), filled from the incident: the summary with real
//! times, duration and severity; the impact as the error budget each SLO spent while it was
//! open; the timeline as a table; the alerts; and the sections only people can write (root
//! cause, resolution, action items, lessons) left for them, with the follow-up date.

use crate::incident::{Incident, human};
use jiff::Timestamp;
use std::fmt::Write;

/// What one SLO lost while the incident was open.
#[derive(Clone, Debug, PartialEq)]
pub struct Impact {
    pub slo: String,
    /// The SLI over the incident's span.
    pub sli: Option<f64>,
    /// The share of the whole window's error budget spent in that span.
    pub budget_spent: f64,
    /// The SLI over the SLO's window now (the month's availability, for the SLA line).
    pub window_sli: Option<f64>,
    pub window: String,
}

/// The Markdown draft; `now` ends the duration of one still open.
pub fn draft(i: &Incident, impact: &[Impact], follow_up: std::time::Duration, now: Timestamp) -> String {
    let end = i.resolved_at.unwrap_or(now);
    let duration = i.opened_at.duration_until(end).unsigned_abs();
    let mut out = String::new();
    let _ = writeln!(out, "# Incident Post-Mortem: #{} {}\n", i.id, i.title);
    let _ = writeln!(out, "## Incident Summary");
    let _ = writeln!(out, "- **Date**: {}", i.opened_at.strftime("%Y-%m-%d"));
    let _ = writeln!(
        out,
        "- **Duration**: {} (triggered {} UTC, {})",
        hours_minutes(duration),
        hm(i.opened_at),
        match i.resolved_at {
            Some(r) => format!("resolved {} UTC", hm(r)),
            None => "still open".into(),
        }
    );
    let _ = writeln!(
        out,
        "- **Severity**: {}{}",
        i.severity,
        i.kind.as_ref().map(|k| format!(" ({k})")).unwrap_or_default()
    );
    if !i.components.is_empty() {
        let _ = writeln!(out, "- **Affected**: {}", i.components.join(", "));
    }
    if let (Some(at), Some(by)) = (i.acknowledged_at, &i.acknowledged_by) {
        let _ = writeln!(
            out,
            "- **Acknowledged**: by {by} after {}",
            hours_minutes(i.opened_at.duration_until(at).unsigned_abs())
        );
    }
    if let Some(c) = &i.commander {
        let _ = writeln!(out, "- **Incident commander**: {c}");
    }
    let _ = writeln!(out, "- **Impact**: {}", impact_line(impact));
    let _ = writeln!(out, "- **Root Cause**: _to be written_\n");
    let _ = writeln!(out, "## Timeline\n| Time (UTC) | Event | Who |\n|------------|-------|-----|");
    for e in &i.timeline {
        let _ = writeln!(out, "| {} | {} | {} |", e.at.strftime("%Y-%m-%d %H:%M"), cell(&e.text), cell(&e.author));
    }
    let _ = writeln!(out, "\n## Alerts");
    if i.alerts.is_empty() {
        let _ = writeln!(out, "None: the incident was opened by hand.");
    }
    for a in i.alerts.values() {
        let _ = writeln!(
            out,
            "- `{}` ({}) since {} UTC{}{}",
            a.alertname,
            a.severity,
            a.since.strftime("%Y-%m-%d %H:%M"),
            a.value.as_ref().map(|v| format!(", value {v}")).unwrap_or_default(),
            a.summary.as_ref().map(|s| format!(": {s}")).unwrap_or_default()
        );
    }
    let _ = writeln!(out, "\n## Root Cause Analysis\n### What Happened?\n\n### Why Did It Happen?\n");
    let _ = writeln!(out, "### How Was It Detected?\n{}\n", detected(i));
    let _ = writeln!(out, "## Resolution\n### Immediate Actions\n\n### Permanent Fix\n");
    let _ = writeln!(out, "## Impact Assessment");
    for x in impact {
        let _ = writeln!(
            out,
            "- **SLO {}**: {} of the error budget spent during the incident{}{}",
            x.slo,
            percent(x.budget_spent),
            x.sli.map(|s| format!(" (SLI {} while open)", percent(s))).unwrap_or_default(),
            x.window_sli.map(|s| format!("; {} over the last {}", percent(s), x.window)).unwrap_or_default()
        );
    }
    let _ = writeln!(out, "- **Users Affected**: \n- **Revenue Impact**: \n");
    let _ = writeln!(
        out,
        "## Action Items\n| Action | Owner | Due Date | Status |\n|--------|-------|----------|--------|\n| | | | |\n"
    );
    let _ = writeln!(out, "## Lessons Learned\n### What Went Well?\n\n### What Could Be Improved?\n");
    let follow = end.checked_add(jiff::SignedDuration::try_from(follow_up).unwrap_or_default()).unwrap_or(end);
    let _ = writeln!(
        out,
        "## Follow-Up\n- Review the action items on {} ({} after the resolve)\n- Update runbooks and procedures\n- Attach this post-mortem: `upkeep incident postmortem {} --attach PATH_OR_URL`",
        follow.strftime("%Y-%m-%d"),
        human(follow_up),
        i.id
    );
    out
}

fn impact_line(impact: &[Impact]) -> String {
    if impact.is_empty() {
        return "no SLO covers the affected checks; describe the user impact".into();
    }
    let parts: Vec<String> =
        impact.iter().map(|x| format!("{} of the `{}` error budget", percent(x.budget_spent), x.slo)).collect();
    format!("{} spent", parts.join(", "))
}

fn detected(i: &Incident) -> String {
    match i.alerts.values().min_by_key(|a| a.since) {
        Some(a) => format!("Alert `{}` fired at {} UTC and opened the incident.", a.alertname, hm(a.since)),
        None => format!("Opened by hand by {} at {} UTC.", i.opened_by, hm(i.opened_at)),
    }
}

fn hm(t: Timestamp) -> String {
    t.strftime("%H:%M").to_string()
}

fn hours_minutes(d: std::time::Duration) -> String {
    let m = d.as_secs() / 60;
    format!("{} hours {} minutes", m / 60, m % 60)
}

fn percent(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

/// Text for a Markdown table cell: no pipes, no line breaks.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Opening;
    use std::time::Duration;

    #[test]
    fn the_draft_reads_like_the_template_with_real_times() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let o = Opening { severity: "P1".into(), title: "api down".into(), by: "upkeep".into(), ..Default::default() };
        let mut i = Incident::open(o, at("2026-12-01T10:00:00Z"), None, None, Duration::ZERO);
        i.id = 3;
        i.acknowledge("ops-1", at("2026-12-01T10:04:00Z"), None).unwrap();
        i.note("ops-1", at("2026-12-01T10:20:00Z"), "rolled back | deploy 42");
        i.resolve("ops-1", at("2026-12-01T11:35:00Z"), None).unwrap();
        let impact = [Impact {
            slo: "api-availability".into(),
            sli: Some(0.5),
            budget_spent: 0.0725,
            window_sli: Some(0.9975),
            window: "30d".into(),
        }];
        let md = draft(&i, &impact, Duration::from_secs(14 * 86_400), at("2026-12-02T00:00:00Z"));
        assert!(md.starts_with("# Incident Post-Mortem: #3 api down\n"), "{md}");
        assert!(md.contains("- **Duration**: 1 hours 35 minutes (triggered 10:00 UTC, resolved 11:35 UTC)"), "{md}");
        assert!(md.contains("- **Impact**: 7.25% of the `api-availability` error budget spent"), "{md}");
        assert!(md.contains("| 2026-12-01 10:20 | rolled back \\| deploy 42 | ops-1 |"), "{md}");
        assert!(md.contains("## Root Cause Analysis") && md.contains("## Action Items"), "{md}");
        assert!(md.contains("Review the action items on 2026-12-15"), "{md}");
    }
}
