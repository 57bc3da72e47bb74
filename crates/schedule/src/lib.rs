//! Time and scheduling, as one concept: "now" comes from a [`Clock`] that tests can move, a
//! [`Cadence`] says when something is due (an interval, or cron in a time zone, parsed once),
//! and one [`Scheduler`] runs every [`Job`] on its cadence — checks today; backups, restore
//! drills and maintenance tasks next — with a [`RunNow`] handle for `/ping`, `upkeep backup run`
//! and `upkeep alert test`. Every job ends in a check result, sent to the writer.

mod cadence;
mod clock;
mod job;
mod scheduler;

pub use cadence::{Cadence, FIRST_RUN_SPREAD, jitter};
pub use clock::Clock;
pub use job::{Job, JobFuture};
pub use scheduler::{RunNow, Scheduler, SchedulerMetrics};
