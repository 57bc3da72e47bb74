//! `upkeep incident list | show | open | ack | note | status | resolve | commander | met |
//! postmortem | measures`: incidents in the store in `data_dir`. A change is saved at once;
//! the running daemon re-reads an incident before each page, so an acknowledgement here stops
//! its escalation, and an incident opened here is paged within 15 seconds.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY, report_load_error};
use clap::Subcommand;
use std::path::{Path, PathBuf};
use upkeep_config::Env;
use upkeep_daemon::incidents::{self, ChangeError};
use upkeep_incident::{Incident, Opening, Status};
use upkeep_store::{IncidentFilter, Store};

#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// Open incidents (with --all, the latest 50 of any status).
    List {
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
    /// One incident with its timeline.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Open an incident by hand.
    Open {
        #[arg(long)]
        severity: String,
        #[arg(long)]
        title: String,
        /// A type with its own targets: data-breach (the regulator's 72 hours).
        #[arg(long = "type")]
        kind: Option<String>,
        /// An affected component; repeat for several.
        #[arg(long = "component")]
        components: Vec<String>,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Acknowledge: escalation stops.
    Ack {
        id: i64,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Add a note to the timeline (an update: it resets the update reminder).
    Note {
        id: i64,
        text: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Move it on: investigating, identified, monitoring or resolved.
    Status {
        id: i64,
        status: String,
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    Resolve {
        id: i64,
        #[arg(long)]
        text: Option<String>,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Name the incident commander.
    Commander {
        id: i64,
        person: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Mark a target met by hand (regulator: the supervisory authority was told).
    Met {
        id: i64,
        target: String,
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Print the post-mortem draft, or record where the final one is.
    Postmortem {
        id: i64,
        /// Write the draft to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where the finished post-mortem lives (a path or URL): stops the reminders.
        #[arg(long)]
        attach: Option<String>,
        #[arg(long)]
        by: Option<String>,
    },
    /// MTTA, MTTR and targets met per severity.
    Measures {
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long)]
        json: bool,
    },
}

/// Who did it: `--by`, else `cli:$USER`.
fn author(by: Option<String>) -> String {
    by.unwrap_or_else(|| format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into())))
}

pub async fn run(path: &Path, command: IncidentCommand) -> u8 {
    let plan = match upkeep_plan::load_file(path, &Env::Process) {
        Ok(plan) => plan,
        Err(e) => return report_load_error(&e, false),
    };
    let store = match Store::open(&plan.server.data_dir).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNHEALTHY;
        }
    };
    let now = jiff::Timestamp::now();
    let changed = |r: Result<Incident, ChangeError>, json: bool, done: &str| match r {
        Ok(i) => {
            if json {
                println!("{}", serde_json::to_value(&i).unwrap_or_default());
            } else {
                println!("incident #{} {done} (status {})", i.id, i.status.as_str());
            }
            EXIT_OK
        }
        Err(ChangeError::NotFound(id)) => {
            eprintln!("error: there is no incident #{id} (see `upkeep incident list --all`)");
            EXIT_BAD_INPUT
        }
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_UNHEALTHY
        }
    };
    match command {
        IncidentCommand::List { all, json } => list(&store, all, json).await,
        IncidentCommand::Show { id, json } => show(&plan, &store, id, json, now).await,
        IncidentCommand::Open { severity, title, kind, components, by, json } => {
            if plan.incidents.severity(&severity).is_none() {
                let ids: Vec<&str> = plan.incidents.severities.iter().map(|s| s.id.as_str()).collect();
                eprintln!("error: `{severity}` is not a severity: {}", ids.join(", "));
                return EXIT_BAD_INPUT;
            }
            let opening =
                Opening { severity, title, kind, components, group: None, auto_resolve: false, by: author(by) };
            match incidents::open(&store, &plan, opening, now).await {
                Ok(i) if json => {
                    println!("{}", serde_json::to_value(&i).unwrap_or_default());
                    EXIT_OK
                }
                Ok(i) => {
                    println!("incident #{} opened ({}); the daemon pages its first level", i.id, i.severity);
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    EXIT_UNHEALTHY
                }
            }
        }
        IncidentCommand::Ack { id, by, json } => {
            let by = author(by);
            changed(incidents::change(&store, &plan, id, |i| i.acknowledge(&by, now, None)).await, json, "acknowledged")
        }
        IncidentCommand::Note { id, text, by, json } => {
            let by = author(by);
            let r = incidents::change(&store, &plan, id, |i| {
                i.note(&by, now, &text);
                Ok(())
            })
            .await;
            changed(r, json, "noted")
        }
        IncidentCommand::Status { id, status, text, by, json } => {
            let status = match Status::parse(&status) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return EXIT_BAD_INPUT;
                }
            };
            let by = author(by);
            let r = incidents::change(&store, &plan, id, |i| i.set_status(status, &by, now, text.as_deref())).await;
            changed(r, json, status.as_str())
        }
        IncidentCommand::Resolve { id, text, by, json } => {
            let by = author(by);
            changed(
                incidents::change(&store, &plan, id, |i| i.resolve(&by, now, text.as_deref())).await,
                json,
                "resolved",
            )
        }
        IncidentCommand::Commander { id, person, by, json } => {
            let by = author(by);
            let r = incidents::change(&store, &plan, id, |i| {
                i.set_commander(&person, &by, now);
                Ok(())
            })
            .await;
            changed(r, json, "has a commander")
        }
        IncidentCommand::Met { id, target, by, json } => {
            let by = author(by);
            let mut refusal = None;
            let r = incidents::change(&store, &plan, id, |i| {
                refusal = i.met(&target, &by, now).err();
                Ok(())
            })
            .await;
            if let Some(e) = refusal {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
            changed(r, json, "target met")
        }
        IncidentCommand::Postmortem { id, out, attach, by } => {
            postmortem(&plan, &store, id, out, attach, by, now).await
        }
        IncidentCommand::Measures { days, json } => measures(&store, days, json, now).await,
    }
}

async fn list(store: &Store, all: bool, json: bool) -> u8 {
    let filter = IncidentFilter { open: !all, limit: if all { 50 } else { 1000 }, ..Default::default() };
    let list = match incidents::list(store, &filter).await {
        Ok(list) => list,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNHEALTHY;
        }
    };
    if json {
        let docs: Vec<serde_json::Value> =
            list.iter().map(|(i, _)| serde_json::to_value(i).unwrap_or_default()).collect();
        println!("{}", serde_json::Value::Array(docs));
        return EXIT_OK;
    }
    if list.is_empty() {
        println!("{}", if all { "no incidents yet" } else { "no open incident (--all lists resolved ones too)" });
        return EXIT_OK;
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|(i, _)| {
            vec![
                format!("#{}", i.id),
                i.severity.clone(),
                i.status.as_str().into(),
                i.opened_at.strftime("%Y-%m-%d %H:%M UTC").to_string(),
                i.acknowledged_by.clone().unwrap_or_else(|| "-".into()),
                i.title.clone(),
            ]
        })
        .collect();
    print!("{}", super::table::columns(&["ID", "SEVERITY", "STATUS", "OPENED", "ACKNOWLEDGED BY", "TITLE"], &rows));
    EXIT_OK
}

/// Incident `id`, or the exit code after saying why not.
async fn loaded(store: &Store, id: i64) -> Result<Incident, u8> {
    match incidents::load(store, id).await {
        Ok(Some((i, _))) => Ok(i),
        Ok(None) => {
            eprintln!("error: there is no incident #{id} (see `upkeep incident list --all`)");
            Err(EXIT_BAD_INPUT)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(EXIT_UNHEALTHY)
        }
    }
}

async fn show(plan: &upkeep_plan::Plan, store: &Store, id: i64, json: bool, now: jiff::Timestamp) -> u8 {
    let incident = match loaded(store, id).await {
        Ok(i) => i,
        Err(code) => return code,
    };
    let view = match incidents::view(plan, store, incident, now).await {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNHEALTHY;
        }
    };
    if json {
        println!("{}", serde_json::to_value(&view).unwrap_or_default());
        return EXIT_OK;
    }
    let i = &view.incident;
    println!("#{} {} [{}] {}", i.id, i.severity, i.status.as_str(), i.title);
    println!("opened {} by {}", i.opened_at, i.opened_by);
    if let (Some(at), Some(by)) = (i.acknowledged_at, &i.acknowledged_by) {
        println!("acknowledged {at} by {by}");
    }
    if let Some(at) = i.resolved_at {
        println!("resolved {at}");
    }
    for t in &i.targets {
        let state = match t.made_it(now) {
            Some(true) => "met",
            Some(false) => "missed",
            None => "running",
        };
        println!("target {}: due {} ({state})", t.name, t.due);
    }
    let rows: Vec<Vec<String>> = i
        .timeline
        .iter()
        .map(|e| vec![e.at.strftime("%Y-%m-%d %H:%M:%S").to_string(), e.author.clone(), e.kind.clone(), e.text.clone()])
        .collect();
    print!("{}", super::table::columns(&["TIME (UTC)", "WHO", "EVENT", "WHAT"], &rows));
    EXIT_OK
}

async fn postmortem(
    plan: &upkeep_plan::Plan,
    store: &Store,
    id: i64,
    out: Option<PathBuf>,
    attach: Option<String>,
    by: Option<String>,
    now: jiff::Timestamp,
) -> u8 {
    if let Some(location) = attach {
        let by = author(by);
        return match incidents::change(store, plan, id, |i| {
            i.attach_postmortem(&location, &by, now);
            Ok(())
        })
        .await
        {
            Ok(i) => {
                println!("post-mortem of incident #{} attached: {location}", i.id);
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_BAD_INPUT
            }
        };
    }
    let incident = match loaded(store, id).await {
        Ok(i) => i,
        Err(code) => return code,
    };
    let draft = incidents::postmortem(plan, store, &incident, now).await;
    match out {
        Some(path) => match std::fs::write(&path, draft) {
            Ok(()) => {
                println!(
                    "wrote the draft to {}; when it is done: upkeep incident postmortem {id} --attach LOCATION",
                    path.display()
                );
                EXIT_OK
            }
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                EXIT_UNHEALTHY
            }
        },
        None => {
            print!("{draft}");
            EXIT_OK
        }
    }
}

async fn measures(store: &Store, days: u32, json: bool, now: jiff::Timestamp) -> u8 {
    let m = match incidents::measures(store, days, now).await {
        Ok(m) => m,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_UNHEALTHY;
        }
    };
    if json {
        println!("{}", serde_json::to_value(&m).unwrap_or_default());
        return EXIT_OK;
    }
    let minutes = |s: Option<f64>| s.map_or("-".into(), |s| format!("{:.1} min", s / 60.0));
    let rows: Vec<Vec<String>> = m
        .by_severity
        .iter()
        .map(|(sev, x)| {
            vec![
                sev.clone(),
                x.incidents.to_string(),
                x.open.to_string(),
                minutes(x.mtta_seconds),
                minutes(x.mttr_seconds),
                x.targets_met_ratio.map_or("-".into(), |r| format!("{:.0}%", r * 100.0)),
            ]
        })
        .collect();
    println!("incidents opened in the last {days} days");
    print!("{}", super::table::columns(&["SEVERITY", "INCIDENTS", "OPEN", "MTTA", "MTTR", "TARGETS MET"], &rows));
    EXIT_OK
}
