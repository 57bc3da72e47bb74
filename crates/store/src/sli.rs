//! The store is where an SLO's events come from today: its check's runs over a window, from the
//! running totals (two index seeks, whatever the window's length). A latency SLO's events are
//! the runs counted against its threshold, which the store counts from when it was first
//! tracked.

use crate::Store;
use upkeep_slo::{Events, EventsFuture, Kind, SliSource, Slo};

impl SliSource for Store {
    fn events<'a>(&'a self, slo: &'a Slo, from: jiff::Timestamp, to: jiff::Timestamp) -> EventsFuture<'a> {
        Box::pin(async move {
            let mut windows = self.summaries(from, to, Some(&slo.check)).await.map_err(|e| e.to_string())?;
            let window = windows.remove(&slo.check).unwrap_or_default();
            Ok(events(slo, &window))
        })
    }
}

/// An SLO's events among a window's runs.
pub fn events(slo: &Slo, window: &crate::Summary) -> Events {
    match slo.kind {
        Kind::Availability => Events { good: window.ok, valid: window.total },
        Kind::Latency { threshold } => {
            window.threshold(threshold).map_or(Events::default(), |t| Events { good: t.good, valid: t.valid })
        }
    }
}
