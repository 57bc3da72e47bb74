//! Scheduled maintenance, done right: the `[[task]]` sections and every task kind (database
//! upkeep for SQLite, PostgreSQL and MySQL, row retention, log rotation, file clean-up, Redis
//! reports, any command), runs that never overlap themselves even across processes, and the
//! app's own maintenance mode (`[maintenance_mode]`: a command pair, a flag file or an `.env`
//! key).
//!
//! - `task/`: the task model, the run lock and one file per kind in `task/kinds/`;
//! - `check.rs`: a task as a check (its lock, window, history and check result);
//! - `mode.rs`: switching the app's maintenance mode and reading it back.
//!
//! A task's run ends in an [`Outcome`] (what changed, an output tail); the daemon turns each run
//! into a check result under the task's name, so a failing task alerts like a failing check.

mod check;
pub mod mode;
pub mod task;

pub use check::{TASK_KIND, Window, run_recorded, schema, task_check};
pub use mode::{Mode, ModeState, read_mode};
pub use task::{Outcome, Run, Task, read_tasks};
