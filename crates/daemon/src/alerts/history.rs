//! Where alert rules read history: windows of the last 3 days from the recent history in
//! memory, longer ones from the store's running totals (two index seeks per check) and, for
//! the checks whose percentiles rules read, its rollups; status changes from the store's
//! transitions.

use super::recent::Recent;
use upkeep_alert::{HistoryFuture, HistorySource, WindowStats, Windows};
use upkeep_store::Store;

pub struct StoreHistory<'a> {
    pub store: &'a Store,
    pub recent: Option<&'a std::sync::Mutex<Recent>>,
    pub now: jiff::Timestamp,
}

impl HistorySource for StoreHistory<'_> {
    fn windows<'a>(
        &'a self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
        quantiles: bool,
    ) -> HistoryFuture<'a, Windows> {
        Box::pin(async move {
            if let Some(recent) = self.recent {
                let windows = recent.lock().unwrap_or_else(|e| e.into_inner()).windows(from, to, self.now, quantiles);
                if let Some(windows) = windows {
                    return Ok(windows);
                }
            }
            let summaries = self.store.summaries(from, to, None).await.map_err(|e| e.to_string())?;
            let mut stats: Windows = summaries
                .into_iter()
                .map(|(check, s)| {
                    let latency = super::recent::latency_events(&s.thresholds);
                    (
                        std::sync::Arc::from(check),
                        WindowStats { total: s.total, ok: s.ok, latency, ..WindowStats::default() },
                    )
                })
                .collect();
            let checks = match (quantiles, self.recent) {
                (true, Some(recent)) => recent.lock().unwrap_or_else(|e| e.into_inner()).quantile_checks(),
                _ => Vec::new(),
            };
            for check in checks {
                let mut latencies = self.store.latencies(from, to, Some(&check)).await.map_err(|e| e.to_string())?;
                if let (Some(s), Some(stats)) = (latencies.remove(&*check), stats.get_mut(&*check)) {
                    stats.quantiles = upkeep_expr::Quantile::ALL.map(|q| s.quantile(q.q()));
                }
            }
            Ok(stats)
        })
    }

    fn changes<'a>(&'a self, check: &'a str, from: jiff::Timestamp, to: jiff::Timestamp) -> HistoryFuture<'a, u64> {
        Box::pin(async move {
            let changes = self.store.transitions(check, from, to).await.map_err(|e| e.to_string())?;
            Ok(changes.len() as u64)
        })
    }
}
