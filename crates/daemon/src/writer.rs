//! The one writer: results from every job arrive on a bounded channel (a full channel makes jobs
//! wait, it never drops) and go to the store in batches of up to 2,000, gathered for at most
//! 250 ms. A failed write is retried with backoff until it succeeds; then the batch is published
//! on the stream of committed results. Its own metrics: results written, failed writes.

use crate::stream::{Committed, Stream};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::registry::Registry;
use std::time::Duration;
use tokio::sync::mpsc;
use upkeep_result::CheckResult;
use upkeep_store::Store;

pub const MAX_BATCH: usize = 2_000;
pub const LINGER: Duration = Duration::from_millis(250);

#[derive(Clone, Debug)]
pub struct WriterMetrics {
    written: Counter,
    write_errors: Counter,
}

impl WriterMetrics {
    pub fn register(registry: &mut Registry) -> WriterMetrics {
        let written = Counter::default();
        registry.register("store_results_written", "Check results written to the store", written.clone());
        let write_errors = Counter::default();
        registry.register("store_write_errors", "Failed store writes (retried)", write_errors.clone());
        WriterMetrics { written, write_errors }
    }
}

/// Runs until every sender is gone and everything received is committed and published.
pub async fn run(mut results: mpsc::Receiver<CheckResult>, store: Store, stream: Stream, metrics: WriterMetrics) {
    while let Some(batch) = gather(&mut results, MAX_BATCH, LINGER).await {
        let seq = write(&store, &metrics, &batch).await;
        stream.publish(Committed { seq, results: batch, replayed: false });
    }
}

/// The next batch: the first result to arrive, then whatever follows within `linger` of it, up
/// to `max`. `None` once the channel is closed and empty.
pub async fn gather(
    results: &mut mpsc::Receiver<CheckResult>,
    max: usize,
    linger: Duration,
) -> Option<Vec<CheckResult>> {
    let first = results.recv().await?;
    let mut batch = Vec::with_capacity(max.min(64));
    batch.push(first);
    let deadline = tokio::time::Instant::now() + linger;
    while batch.len() < max {
        match tokio::time::timeout_at(deadline, results.recv()).await {
            Ok(Some(result)) => batch.push(result),
            Ok(None) | Err(_) => break,
        }
    }
    Some(batch)
}

/// Writes the batch, retrying with backoff until it is stored; returns its sequence number.
async fn write(store: &Store, metrics: &WriterMetrics, batch: &[CheckResult]) -> u64 {
    let mut backoff = Duration::from_millis(100);
    loop {
        match store.write(batch).await {
            Ok(seq) => {
                metrics.written.inc_by(batch.len() as u64);
                return seq;
            }
            Err(e) => {
                metrics.write_errors.inc();
                tracing::error!("cannot write {} results to the store, retrying in {backoff:?}: {e}", batch.len());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use upkeep_result::Status;

    fn result(n: u64) -> CheckResult {
        CheckResult {
            check: format!("c{n}"),
            at: jiff::Timestamp::UNIX_EPOCH,
            status: Status::Ok,
            latency: Duration::from_millis(n),
            message: None,
            observations: Default::default(),
        }
    }

    /// The batch bound the README promises: a lone result waits at most 250 ms for company;
    /// a busy stream is cut at 2,000. Tokio's clock is paused, so this is exact.
    #[tokio::test(start_paused = true)]
    async fn batches_wait_at_most_the_linger_and_hold_at_most_the_maximum() {
        let (sink, mut results) = mpsc::channel(10_000);
        sink.send(result(1)).await.unwrap();
        let started = tokio::time::Instant::now();
        let feeder = {
            let sink = sink.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(249)).await;
                sink.send(result(2)).await.unwrap();
                tokio::time::sleep(Duration::from_millis(2)).await;
                sink.send(result(3)).await.unwrap();
            })
        };
        let batch = gather(&mut results, MAX_BATCH, LINGER).await.unwrap();
        assert_eq!(batch.iter().map(|r| r.check.as_str()).collect::<Vec<_>>(), ["c1", "c2"]);
        assert_eq!(started.elapsed(), LINGER);
        feeder.await.unwrap();
        assert_eq!(gather(&mut results, MAX_BATCH, LINGER).await.unwrap().len(), 1);

        for n in 0..(MAX_BATCH as u64 + 5) {
            sink.send(result(n)).await.unwrap();
        }
        let started = tokio::time::Instant::now();
        assert_eq!(gather(&mut results, MAX_BATCH, LINGER).await.unwrap().len(), MAX_BATCH);
        assert_eq!(started.elapsed(), Duration::ZERO, "a full batch goes at once");
        drop(sink);
        assert_eq!(gather(&mut results, MAX_BATCH, LINGER).await.unwrap().len(), 5);
        assert!(gather(&mut results, MAX_BATCH, LINGER).await.is_none());
    }
}
