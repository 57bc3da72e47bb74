//! The one writer: results from every probe arrive on a bounded channel and go to the store in
//! batches. The live state and metrics are updated first, so `/health` never waits on disk. A
//! failed write is retried; results are never dropped.

use crate::live::Live;
use crate::metrics::Metrics;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use upkeep_result::CheckResult;
use upkeep_store::Store;

const MAX_BATCH: usize = 2_000;
const LINGER: Duration = Duration::from_millis(250);

pub async fn run(mut results: mpsc::Receiver<CheckResult>, store: Store, live: Arc<Live>, metrics: Arc<Metrics>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let Some(first) = results.recv().await else { break };
        batch.push(record(&first, &live, &metrics));
        let deadline = tokio::time::Instant::now() + LINGER;
        while batch.len() < MAX_BATCH {
            match tokio::time::timeout_at(deadline, results.recv()).await {
                Ok(Some(result)) => batch.push(record(&result, &live, &metrics)),
                Ok(None) | Err(_) => break,
            }
        }
        write(&store, &metrics, &mut batch).await;
    }
    write(&store, &metrics, &mut batch).await;
}

fn record(result: &CheckResult, live: &Live, metrics: &Metrics) -> CheckResult {
    metrics.record(&result.check, result.is_ok(), result.latency);
    let kept = result.kept();
    live.update(kept.clone());
    kept
}

/// Writes the batch, retrying with backoff until it is stored.
async fn write(store: &Store, metrics: &Metrics, batch: &mut Vec<CheckResult>) {
    if batch.is_empty() {
        return;
    }
    let mut backoff = Duration::from_millis(100);
    loop {
        match store.write(batch).await {
            Ok(()) => {
                metrics.written(batch.len());
                batch.clear();
                return;
            }
            Err(e) => {
                metrics.write_failed();
                tracing::error!("cannot write {} results to the store, retrying in {backoff:?}: {e}", batch.len());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
