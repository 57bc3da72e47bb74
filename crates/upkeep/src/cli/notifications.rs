//! `upkeep notifications list`: the outbox in `data_dir`, newest first — each notification's
//! channel, state (pending, delivered, failed, expired), attempts, when it was delivered and
//! its last error. Exit 1 when any listed notification failed or expired, so cron can tell.

use super::{EXIT_BAD_INPUT, EXIT_OK, EXIT_UNHEALTHY};
use clap::Subcommand;
use std::path::Path;
use upkeep_store::{Delivery, Notification, NotificationFilter};

#[derive(Subcommand, Debug)]
pub enum NotificationsCommand {
    /// Notifications in the outbox, newest first.
    List {
        /// Only those given up: refused for good or expired.
        #[arg(long)]
        failed: bool,
        /// Only those still waiting to be delivered.
        #[arg(long, conflicts_with = "failed")]
        pending: bool,
        /// Only those to this channel.
        #[arg(long)]
        channel: Option<String>,
        /// How many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Print one JSON document: the same objects as `/api/v1/notifications`.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(path: &Path, command: NotificationsCommand) -> u8 {
    let NotificationsCommand::List { failed, pending, channel, limit, json } = command;
    let (_, store) = match super::plan_and_store(path, json).await {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut list = Vec::new();
    let states: Vec<Option<Delivery>> = match (failed, pending) {
        (true, _) => vec![Some(Delivery::Failed), Some(Delivery::Expired)],
        (_, true) => vec![Some(Delivery::Pending)],
        _ => vec![None],
    };
    for state in states {
        let filter = NotificationFilter { state, channel: channel.clone(), limit, ..Default::default() };
        match store.notifications(&filter).await {
            Ok(found) => list.extend(found),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_BAD_INPUT;
            }
        }
    }
    list.sort_by_key(|n| std::cmp::Reverse(n.id));
    list.truncate(limit as usize);
    if json {
        println!("{}", serde_json::Value::Array(list.iter().map(upkeep_daemon::notify::view).collect()));
    } else if list.is_empty() {
        println!("no notification{}", if failed { " failed" } else { "" });
    } else {
        print!("{}", table(&list));
    }
    let given_up = list.iter().any(|n| matches!(n.state, Delivery::Failed | Delivery::Expired));
    if given_up { EXIT_UNHEALTHY } else { EXIT_OK }
}

fn table(list: &[Notification]) -> String {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|n| {
            let status = n.message["status"].as_str().unwrap_or("").to_string();
            let alerts = n.message["alerts"].as_array().map_or(0, Vec::len);
            vec![
                n.id.to_string(),
                n.channel.clone(),
                n.state.as_str().to_string(),
                format!("{status} ({alerts})"),
                n.attempts.to_string(),
                n.created.strftime("%Y-%m-%d %H:%M:%S").to_string(),
                n.delivered.map_or("–".into(), |t| t.strftime("%H:%M:%S").to_string()),
                n.last_error.clone().unwrap_or_default(),
            ]
        })
        .collect();
    super::table::columns(&["ID", "CHANNEL", "STATE", "SAYS", "ATTEMPTS", "CREATED", "DELIVERED", "LAST ERROR"], &rows)
}
