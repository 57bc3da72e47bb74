//! Probes: every kind of check Upkeep can run, and the check model built from config.
//!
//! A [`Check`] is a config `[[check]]` made real: a probe of one kind plus the compiled `expect`
//! conditions. Running it yields a [`CheckResult`] — `(check, time, status, latency,
//! observations)` — the one record that health, SLOs, alerts and the status page all read.
//! Each kind lives in its own module and is registered once in [`kind`].

mod check;
mod clock;
mod context;
mod error;
pub mod kind;
mod load;
mod result;
mod run;

mod command;
mod database;
mod disk;
mod dns;
mod file;
mod heartbeat;
mod http;
mod load_avg;
mod log;
mod memory;
mod mysql;
mod postgres;
mod redis;
mod sqlite;
mod tcp;
mod tls;

pub use check::{Cadence, Check};
pub use clock::Clock;
pub use context::Context;
pub use error::ProbeError;
pub use load::{LoadError, Loaded, load_config, load_file};
pub use result::{CheckResult, Status};
pub use run::run_checks;
