//! Alerts: what turns a failing check or a burning error budget into someone being told.
//!
//! - `rule.rs`: the rules — configured `[[alert]]`s and the built-in ones (a check's own down
//!   and flapping alerts, an SLO's burn-rate alerts), with labels and an index by check;
//! - `section.rs`: `[alerts]` and `[[alert]]`, resolved against the checks and SLOs at load;
//! - `state.rs`: the state machine, pure (inactive → pending → firing → resolved, `for`,
//!   `keep_firing_for`, `repeat`, `cooldown`);
//! - `history.rs`: what rules read from stored history, fetched once per window;
//! - `mute/`: silences, maintenance windows, inhibit rules and `depends_on`, which mute
//!   notifications and never hide state;
//! - `engine.rs`: every alert's state, moved on by committed results and by a timer, producing
//!   the events that are stored, shown and (next) notified.

mod engine;
mod history;
mod labels;
mod mute;
mod rule;
mod section;
mod state;

pub use engine::{Alert, Cause, Engine, Event, Saved};
pub use history::{Fetched, HistoryFuture, HistorySource, WindowStats, Windows, fetch};
pub use labels::{Labels, Words};
pub use mute::{Due, Inhibit, MaintenanceWindow, Matcher, Mutes, Op, Phase, Silence, When};
pub use rule::{Annotations, Condition, Rule, Rules, key};
pub use section::{Watched, read_alerts};
pub use state::{Hold, Memory, Notice, State, Step, Timing};
