//! Heartbeat pings received at `/ping/{id}`.

use crate::{Ping, Store, StoreError};

impl Store {
    /// Keeps a ping, with the start of its body (a script's last lines, say).
    pub async fn record_ping(&self, id: &str, ping: &Ping, body: Option<&str>) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.record_ping(id, ping, body).await,
        }
    }

    pub async fn last_ping(&self, id: &str) -> Result<Option<Ping>, StoreError> {
        match self {
            Store::Sqlite(s) => s.last_ping(id).await,
        }
    }
}
