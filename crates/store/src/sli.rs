//! The store is where an SLO's events come from today: its check's runs over a window, from the
//! running totals (two index seeks, whatever the window's length).

use crate::Store;
use upkeep_slo::{Events, EventsFuture, SliSource, Slo};

impl SliSource for Store {
    fn events<'a>(&'a self, slo: &'a Slo, from: jiff::Timestamp, to: jiff::Timestamp) -> EventsFuture<'a> {
        Box::pin(async move {
            let mut windows = self.summaries(from, to, Some(&slo.check)).await.map_err(|e| e.to_string())?;
            let window = windows.remove(&slo.check).unwrap_or_default();
            Ok(Events { good: window.ok, valid: window.total })
        })
    }
}
