//! Alert events into incidents, from the `incidents` cursor: an alert that starts firing (and is
//! not muted) opens an incident of the severity `[incidents] open_on` maps its own to, or joins
//! the open incident of its group (`group_by` labels); an alert that resolves is marked so in
//! its incident, which resolves too once none of its alerts fires (with `auto_resolve`). Each
//! event's change is saved with the cursor past it, so after `kill -9` none is taken twice.

use super::{CURSOR, columns, list};
use upkeep_alert::{Event, Notice};
use upkeep_incident::{AlertRef, Incident, Opening, UNASSIGNED};
use upkeep_plan::Plan;
use upkeep_probe::Clock;
use upkeep_store::{IncidentFilter, Store, StoreError};

const BATCH: u32 = 500;

/// Takes in every alert event saved since the cursor.
pub async fn take_events(store: &Store, plan: &Plan, clock: &Clock) -> Result<(), StoreError> {
    let mut cursor = match store.consumer_cursor(CURSOR).await? {
        Some(seq) => seq as i64,
        // The first start with incidents: from now on, not the whole history.
        None => {
            let last = store.last_alert_event().await?;
            store.save_cursor(CURSOR, last).await?;
            last
        }
    };
    loop {
        let rows = store.alert_events_after(cursor, BATCH).await?;
        let full = rows.len() == BATCH as usize;
        let mut moved = None;
        for row in rows {
            let changed = match serde_json::from_value::<Event>(row.event) {
                // A change by hand in between: read the incidents again and take it again.
                Ok(event) => loop {
                    if let Some(changed) = take(store, plan, &event, row.id, clock).await? {
                        break changed;
                    }
                },
                Err(_) => false,
            };
            moved = if changed { None } else { Some(row.id) };
            cursor = row.id;
        }
        if let Some(id) = moved {
            store.save_cursor(CURSOR, id).await?;
        }
        if !full {
            return Ok(());
        }
    }
}

/// The group an alert's incident is found by: its values of `group_by`.
fn group_of(plan: &Plan, event: &Event) -> String {
    let parts: Vec<String> = plan
        .incidents
        .group_by
        .iter()
        .map(|l| format!("{l}={}", event.labels.get(l).map(String::as_str).unwrap_or("")))
        .collect();
    parts.join(",")
}

fn alert_ref(event: &Event) -> AlertRef {
    AlertRef {
        alertname: event.alertname.clone(),
        severity: event.severity.clone(),
        firing: true,
        since: event.at,
        value: event.value.clone(),
        summary: event.annotations.get("summary").cloned(),
        labels: event.labels.clone(),
    }
}

/// One event; whether it changed an incident (saved with the cursor at `id`), `None` when
/// another writer saved the incident first.
async fn take(store: &Store, plan: &Plan, event: &Event, id: i64, clock: &Clock) -> Result<Option<bool>, StoreError> {
    let fired = event.notice == Some(Notice::Firing) && event.muted_by.is_empty();
    let resolved = event.to == "resolved" || event.notice == Some(Notice::Resolved);
    if fired {
        let Some(severity) = plan.incidents.opens(&event.severity) else { return Ok(Some(false)) };
        let group = group_of(plan, event);
        let open = list(store, &IncidentFilter { open: true, limit: 1000, ..Default::default() }).await?;
        if let Some((mut incident, version)) = open.into_iter().find(|(i, _)| i.group.as_deref() == Some(&group)) {
            if incident.alerts.get(&event.key).is_some_and(|a| a.firing) {
                return Ok(Some(false));
            }
            incident.alert_fired(&event.key, alert_ref(event), event.at);
            let incidents = &plan.incidents;
            if incidents.rank(severity) < incidents.rank(&incident.severity) {
                let policy = incidents.policy_for(severity).map(|p| p.name.clone());
                let why = format!("{} is {}", alert_ref(event).display(), event.severity);
                incident.raise(severity, incidents.severity(severity), policy.as_deref(), &why, clock.now());
            }
            return save(store, plan, &incident, version, id).await;
        }
        let title = event.annotations.get("summary").cloned().unwrap_or_else(|| {
            format!("{} ({})", event.alertname, event.labels.get("check").map_or("", String::as_str))
        });
        let opening = Opening {
            severity: severity.to_string(),
            title,
            kind: None,
            components: event.labels.get("component").filter(|c| !c.is_empty()).cloned().into_iter().collect(),
            group: Some(group),
            auto_resolve: plan.incidents.auto_resolve,
            by: UNASSIGNED.into(),
        };
        let incidents = &plan.incidents;
        let policy = incidents.policy_for(severity).map(|p| p.name.clone());
        // Opened when the alert fired, so targets and escalation count from then even if the
        // event is taken in late.
        let at = event.at.min(clock.now());
        let mut incident =
            Incident::open(opening, at, incidents.severity(severity), policy.as_deref(), incidents.breach_deadline);
        incident.alert_fired(&event.key, alert_ref(event), event.at);
        let doc = serde_json::to_value(&incident).unwrap_or_default();
        let new = store.insert_incident(&columns(plan, &incident), &doc, Some((CURSOR, id))).await?;
        tracing::info!(incident = new, severity, "incident opened by alert {}", event.key);
        return Ok(Some(true));
    }
    if resolved {
        let open = list(store, &IncidentFilter { open: true, limit: 1000, ..Default::default() }).await?;
        for (mut incident, version) in open {
            if incident.alerts.get(&event.key).is_some_and(|a| a.firing) {
                incident.alert_resolved(&event.key, event.at);
                return save(store, plan, &incident, version, id).await;
            }
        }
    }
    Ok(Some(false))
}

/// Saves with the cursor; `None` on a conflict.
async fn save(
    store: &Store,
    plan: &Plan,
    incident: &Incident,
    version: i64,
    id: i64,
) -> Result<Option<bool>, StoreError> {
    let doc = serde_json::to_value(incident).unwrap_or_default();
    let saved =
        store.update_incident(incident.id, version, &columns(plan, incident), &doc, &[], Some((CURSOR, id))).await?;
    Ok(saved.then_some(true))
}
