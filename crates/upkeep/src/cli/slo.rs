//! `upkeep slo report`: where every SLO stands (and `upkeep slo export prometheus`: the same
//! SLOs as Prometheus rules), from the store in `data_dir` — its SLI and
//! error budget over its window (what is left, as a share and as time), how fast it burns over
//! the long windows of its default alerts, and when, at the last hour's rate, the budget is gone. Exit 1 when
//! a budget is overspent, so cron can tell.

use super::{EXIT_OK, EXIT_UNHEALTHY, report_load_error};
use clap::Subcommand;
use std::path::Path;
use std::time::Duration;
use upkeep_config::Env;
use upkeep_expr::Value;
use upkeep_slo::Report;

#[derive(Subcommand, Debug)]
pub enum SloCommand {
    /// Every SLO's SLI, error budget and burn rates, from the stored history.
    Report {
        /// Print one JSON document: the same objects as `/api/v1/slos`.
        #[arg(long)]
        json: bool,
    },
    /// Rules equivalent to the SLOs for another system to evaluate.
    Export {
        /// `prometheus`: recording and alerting rules over upkeep_check_runs_total, for
        /// Prometheus' `rule_files` (check them with `promtool check rules`).
        #[arg(value_enum)]
        format: ExportFormat,
        /// Write here instead of to stdout.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ExportFormat {
    Prometheus,
}

pub async fn run(path: &Path, command: SloCommand) -> u8 {
    let json = match command {
        SloCommand::Report { json } => json,
        SloCommand::Export { format: ExportFormat::Prometheus, output } => return export(path, output.as_deref()),
    };
    let (plan, store) = match super::plan_and_store(path, json).await {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let now = jiff::Timestamp::now();
    let mut reports = Vec::new();
    for slo in &plan.slos {
        match upkeep_slo::report(slo, &store, now).await {
            Ok(report) => reports.push(report),
            Err(e) => {
                eprintln!("error: cannot read the history of SLO `{}`: {e}", slo.name);
                return EXIT_UNHEALTHY;
            }
        }
    }
    if json {
        println!("{}", serde_json::Value::Array(reports.iter().map(Report::to_json).collect()));
    } else if reports.is_empty() {
        println!("no [[slo]] is configured in {}", path.display());
    } else {
        print!("{}", table(&reports));
    }
    let overspent = reports.iter().any(|r| r.budget.is_some_and(|b| b.remaining < 0.0));
    if overspent { EXIT_UNHEALTHY } else { EXIT_OK }
}

/// Writes the Prometheus rules for the configured SLOs.
fn export(path: &Path, output: Option<&Path>) -> u8 {
    let plan = match upkeep_plan::load_file(path, &Env::Process) {
        Ok(plan) => plan,
        Err(e) => return report_load_error(&e, false),
    };
    let severities = &plan.alerts.severities;
    let page = severities.first().map_or("critical", String::as_str);
    let ticket = severities.get(1).map_or(page, String::as_str);
    let rules = upkeep_slo::prometheus_rules(&plan.slos, page, ticket, jiff::Timestamp::now());
    match output {
        None => print!("{rules}"),
        Some(file) => {
            if let Err(e) = std::fs::write(file, rules) {
                eprintln!("error: cannot write {}: {e}", file.display());
                return EXIT_UNHEALTHY;
            }
        }
    }
    EXIT_OK
}

fn table(reports: &[Report]) -> String {
    let percent = |ratio: f64| format!("{}", Value::Percent(ratio * 100.0));
    // The long windows of the default alerts (1h, 6h, 1d, 3d for a 30-day SLO).
    let burn = |r: &Report| {
        let length = r.budget.map_or(Duration::from_secs(30 * 86_400), |b| b.window);
        let cells: Vec<String> = upkeep_slo::burn_alerts(length)
            .iter()
            .map(|a| {
                let rate = r.burn.get(&a.window.long).copied().flatten();
                format!("{} {}", Value::duration(a.window.long), rate.map_or("–".into(), |b| format!("{b:.2}×")))
            })
            .collect();
        cells.join(" · ")
    };
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let budget = r.budget;
            vec![
                r.slo.name.clone(),
                r.slo.check.clone(),
                r.slo.promise(),
                r.slo.window.describe(),
                budget.map_or("no runs".into(), |b| percent(b.sli)),
                budget.map_or("–".into(), |b| {
                    format!("{} ({} of {})", percent(b.remaining), time(b.remaining_time()), time(b.budget_time()))
                }),
                burn(r),
                r.exhausted_in().map_or("–".into(), time),
            ]
        })
        .collect();
    let header = ["SLO", "CHECK", "OBJECTIVE", "WINDOW", "SLI", "BUDGET LEFT", "BURN RATES", "GONE IN"];
    super::table::columns(&header, &rows)
}

fn time(d: Duration) -> String {
    Value::duration(Duration::from_secs(d.as_secs())).to_string()
}
