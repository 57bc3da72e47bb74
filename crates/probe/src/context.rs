//! What a probe may use besides its own settings: the store (for heartbeat pings and log
//! cursors) and the clock.

use crate::clock::Clock;
use upkeep_store::Store;

#[derive(Clone, Debug, Default)]
pub struct Context {
    pub store: Option<Store>,
    pub clock: Clock,
}

impl Context {
    pub fn new(store: Option<Store>, clock: Clock) -> Self {
        Context { store, clock }
    }
}
