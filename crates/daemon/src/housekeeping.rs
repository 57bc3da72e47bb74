//! Keeps the store small and its rollups current: compaction every ten seconds (and at start,
//! which repairs whatever a crash left), retention every hour.

use crate::Retention;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use upkeep_probe::Clock;
use upkeep_store::Store;

const COMPACT_EVERY: Duration = Duration::from_secs(10);
/// In rounds of compaction: hourly.
const PRUNE_EVERY: u32 = 360;

pub async fn run(store: Store, clock: Clock, retention: Retention, grace: Duration, stop: CancellationToken) {
    let mut rounds = 0u32;
    loop {
        if let Err(e) = store.compact(clock.now(), grace).await {
            tracing::warn!("compaction failed, will retry: {e}");
        }
        if rounds.is_multiple_of(PRUNE_EVERY) {
            match store.prune(clock.now(), retention.raw, retention.rollups).await {
                Ok(pruned) => tracing::debug!("pruned {} results and {} rollups", pruned.results, pruned.rollups),
                Err(e) => tracing::warn!("pruning failed, will retry: {e}"),
            }
        }
        rounds = rounds.wrapping_add(1);
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(COMPACT_EVERY) => {}
        }
    }
}
