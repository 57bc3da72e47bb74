//! What a probe may use besides its own settings: the store (for heartbeat pings and log
//! cursors) and the clock.

use crate::clock::Clock;
use upkeep_store::Store;

#[derive(Clone, Debug, Default)]
pub struct Context {
    pub store: Option<Store>,
    pub clock: Clock,
    /// Whether probes keep connections open for their next run: yes in the daemon, no for a
    /// one-shot `upkeep check`, which closes them cleanly instead.
    pub keep_connections: bool,
}

impl Context {
    pub fn new(store: Option<Store>, clock: Clock) -> Self {
        Context { store, clock, keep_connections: false }
    }

    /// For a long-running process: probes keep their connections between runs.
    pub fn long_running(mut self) -> Self {
        self.keep_connections = true;
        self
    }
}
