//! The store is where alert rules read history: every check's runs over a window from the
//! running totals (two index seeks per check), status changes from the transitions.

use std::collections::HashMap;
use upkeep_alert::{HistoryFuture, HistorySource, WindowStats};
use upkeep_store::Store;

pub struct StoreHistory<'a>(pub &'a Store);

const QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];

impl HistorySource for StoreHistory<'_> {
    fn windows<'a>(
        &'a self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> HistoryFuture<'a, HashMap<String, WindowStats>> {
        Box::pin(async move {
            let summaries = self.0.summaries(from, to, None).await.map_err(|e| e.to_string())?;
            Ok(summaries
                .into_iter()
                .map(|(check, s)| {
                    let stats = WindowStats { total: s.total, ok: s.ok, quantiles: QUANTILES.map(|q| s.quantile(q)) };
                    (check, stats)
                })
                .collect())
        })
    }

    fn changes<'a>(&'a self, check: &'a str, from: jiff::Timestamp, to: jiff::Timestamp) -> HistoryFuture<'a, u64> {
        Box::pin(async move {
            let changes = self.0.transitions(check, from, to).await.map_err(|e| e.to_string())?;
            Ok(changes.len() as u64)
        })
    }
}
