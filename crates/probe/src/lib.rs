//! Probes: every kind of check Upkeep can run, and the check model built from config.
//!
//! A [`Check`] is a config `[[check]]` made real: a probe of one kind plus the compiled `expect`
//! conditions. Running it yields a [`CheckResult`] — `(check, time, status, latency,
//! observations)` — the one record that health, SLOs, alerts and the status page all read; as a
//! [`CheckJob`] it runs on the scheduler. Each kind lives in its own file under `kinds/` and is
//! registered once in `kinds/mod.rs`; what a probe keeps between runs it reaches through
//! [`ProbeState`].

mod check;
mod context;
mod error;
pub mod kind;
pub mod kinds;
mod run;
mod state;

pub use check::{Check, CheckJob, CustomCheck};
pub use context::Context;
pub use error::ProbeError;
pub use kind::{Custom, Kind, Run, Spec};
pub use run::run_checks;
pub use state::{LogCursor, Ping, ProbeState, RunRecord, StateFuture};
pub use upkeep_result::{CheckResult, Status};
pub use upkeep_schedule::Clock;
