//! The stream of committed results. After the writer commits a batch, it publishes it, with
//! every result's full observations (alerts read `disk.used_percent` of every run, while the
//! store keeps observations only for failures and transitions), to the consumers registered at
//! start: the live state, the check metrics, and next the SLOs, alerts, incidents, the status
//! page and reports. A consumer that falls behind never holds up probing or the store: it lags,
//! is told so, and re-reads the batches it missed from the store.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use upkeep_result::CheckResult;
use upkeep_store::Store;

/// One committed batch, or the batches a lagging consumer missed.
#[derive(Debug)]
pub struct Committed {
    /// The sequence number of the (last) batch.
    pub seq: u64,
    pub results: Vec<CheckResult>,
    /// Re-read from the store after lagging: passing runs that changed nothing carry no
    /// observations.
    pub replayed: bool,
}

pub type ConsumeFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Something that acts on committed results. A new one is one file implementing this, plus one
/// line where the daemon registers its consumers.
pub trait Consumer: Send + Sync + 'static {
    fn name(&self) -> &'static str;

    /// Every committed result, once, in commit order.
    fn consume<'a>(&'a self, batch: &'a Committed) -> ConsumeFuture<'a>;
}

/// How many batches a consumer may fall behind before it must re-read from the store.
pub const DEFAULT_CAPACITY: usize = 1024;

/// The publishing end, held by the writer.
#[derive(Debug, Clone)]
pub struct Stream {
    sender: broadcast::Sender<Arc<Committed>>,
}

impl Stream {
    pub fn new(capacity: usize) -> Stream {
        Stream { sender: broadcast::channel(capacity.max(1)).0 }
    }

    pub fn publish(&self, batch: Committed) {
        // No consumer yet (or none at all) is not an error.
        let _ = self.sender.send(Arc::new(batch));
    }

    /// Starts feeding `consumer` everything committed after batch `after`, until the stream
    /// ends (the writer is gone).
    pub fn subscribe(&self, consumer: Arc<dyn Consumer>, store: Store, after: u64) -> JoinHandle<()> {
        let receiver = self.sender.subscribe();
        tokio::spawn(feed(receiver, consumer, store, after))
    }
}

async fn feed(
    mut receiver: broadcast::Receiver<Arc<Committed>>,
    consumer: Arc<dyn Consumer>,
    store: Store,
    mut seen: u64,
) {
    // A consumer that resumes from its own cursor first takes in what it had not.
    let through = store.last_commit();
    if seen < through {
        let results = replay(&store, seen, through).await;
        consumer.consume(&Committed { seq: through, results, replayed: true }).await;
        seen = through;
    }
    loop {
        match receiver.recv().await {
            Ok(batch) if batch.seq <= seen => {}
            Ok(batch) => {
                consumer.consume(&batch).await;
                seen = batch.seq;
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let through = store.last_commit();
                tracing::warn!(
                    "{} fell behind by {missed} batches; re-reading batches {}..={through} from the store",
                    consumer.name(),
                    seen + 1
                );
                let results = replay(&store, seen, through).await;
                consumer.consume(&Committed { seq: through, results, replayed: true }).await;
                seen = through;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// The results of batches `(after, through]`, retrying while the store cannot be read.
async fn replay(store: &Store, after: u64, through: u64) -> Vec<CheckResult> {
    let mut backoff = Duration::from_millis(100);
    loop {
        match store.committed(after, through).await {
            Ok(batches) => return batches.into_iter().map(|(_, r)| r).collect(),
            Err(e) => {
                tracing::error!("cannot re-read batches {after}..={through}, retrying in {backoff:?}: {e}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
