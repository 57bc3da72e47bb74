//! What a probe may use besides its own settings: the store (for heartbeat pings and log
//! cursors) and the clock.

use crate::clock::Clock;
use upkeep_store::Store;

#[derive(Clone, Debug, Default)]
pub struct Context {
    pub store: Option<Store>,
    pub clock: Clock,
    /// Whether this is the daemon rather than a one-shot `upkeep check`: probes keep
    /// connections open for their next run (a one-shot run closes them cleanly instead), and a
    /// heartbeat without a ping yet counts from when the daemon began watching it.
    pub long_running: bool,
}

impl Context {
    pub fn new(store: Option<Store>, clock: Clock) -> Self {
        Context { store, clock, long_running: false }
    }

    /// For the daemon (see the `long_running` field).
    pub fn long_running(mut self) -> Self {
        self.long_running = true;
        self
    }
}
