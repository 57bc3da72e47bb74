//! What a probe may use besides its own settings: the state it keeps between runs, and the
//! clock.

use crate::state::ProbeState;
use std::sync::Arc;
use upkeep_schedule::Clock;

#[derive(Clone, Debug, Default)]
pub struct Context {
    /// Where heartbeat pings and log positions are kept; `None` when nothing is (`upkeep
    /// check` without a usable `data_dir`).
    pub state: Option<Arc<dyn ProbeState>>,
    pub clock: Clock,
    /// Whether this is the daemon rather than a one-shot `upkeep check`: probes keep
    /// connections open for their next run (a one-shot run closes them cleanly instead), and a
    /// heartbeat without a ping yet counts from when the daemon began watching it.
    pub long_running: bool,
}

impl Context {
    pub fn new(state: Option<Arc<dyn ProbeState>>, clock: Clock) -> Self {
        Context { state, clock, long_running: false }
    }

    /// For the daemon (see the `long_running` field).
    pub fn long_running(mut self) -> Self {
        self.long_running = true;
        self
    }
}
