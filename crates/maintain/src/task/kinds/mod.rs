//! Every task kind, one file each, registered below: a new kind is a new file here and one
//! line in `kinds!`.

mod cleanup;
mod command;
mod log_rotate;
mod mysql;
mod postgres;
mod redis;
mod retention;
mod sqlite;

use super::{Failure, Kind, Outcome, Run};
use std::path::Path;
use upkeep_config::{Diagnostics, TableReader};

macro_rules! kinds {
    ($($variant:ident => $($module:ident)::+),* $(,)?) => {
        /// A configured task's work, of one kind.
        #[derive(Debug)]
        pub(crate) enum Work {
            $($variant(Box<$($module)::+>)),*
        }

        /// The names of every kind, as written in config.
        pub const KINDS: &[&str] = &[$(<$($module)::+ as Kind>::KIND),*];

        pub(crate) fn canonical(kind: &str) -> Option<&'static str> {
            KINDS.iter().copied().find(|k| *k == kind)
        }

        impl Work {
            pub(crate) fn build(kind: &str, t: &mut TableReader, d: &mut Diagnostics, base: &Path) -> Option<Work> {
                $(if kind == <$($module)::+ as Kind>::KIND {
                    return <$($module)::+ as Kind>::build(t, d, base).map(|w| Work::$variant(Box::new(w)));
                })*
                None
            }

            pub(crate) fn target(&self) -> String {
                match self { $(Work::$variant(w) => w.target()),* }
            }

            pub(crate) async fn run(&self, run: Run) -> Result<Outcome, Failure> {
                match self { $(Work::$variant(w) => w.run(run).await),* }
            }
        }
    };
}

kinds! {
    SqliteMaintenance => sqlite::SqliteMaintenance,
    PostgresMaintenance => postgres::PostgresMaintenance,
    MysqlMaintenance => mysql::MysqlMaintenance,
    Retention => retention::Retention,
    LogRotate => log_rotate::LogRotate,
    Cleanup => cleanup::Cleanup,
    RedisMaintenance => redis::RedisMaintenance,
    Command => command::Command,
}
