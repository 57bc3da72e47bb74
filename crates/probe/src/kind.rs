//! What a probe kind is: the [`Kind`] trait every kind implements, and the [`kinds!`] macro
//! that registers them (its one invocation is in `kinds/mod.rs`). A new kind is one file in
//! `kinds/` plus one line there.

use crate::error::ProbeError;
use std::future::Future;
use std::time::Duration;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Observations, Schema};
use upkeep_schedule::Cadence;

/// A kind of probe: how it reads its config, what it observes, and the hooks through which it
/// differs from the rest (each with the default most kinds want).
pub trait Kind: Sized + Send + Sync + std::fmt::Debug + 'static {
    /// Its name in config (`kind = "http"`).
    const KIND: &'static str;
    /// The conditions it is judged by when a check writes no `expect`.
    const DEFAULT_EXPECT: &'static [&'static str] = &[];

    /// The fields it observes, for type-checking `expect`.
    fn schema() -> Schema;

    /// Reads its own config keys, reporting every problem into `d`.
    fn build(t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Self>;

    /// What it probes (a URL, an address, a path), for tables and messages; with no secrets.
    fn target(&self) -> String;

    /// One observation, bounded by the run's timeout.
    fn observe(&self, run: &Run<'_>) -> impl Future<Output = Result<Observations, ProbeError>> + Send;

    /// The id its pings arrive under at `/ping/{id}`; only heartbeats have one.
    fn heartbeat_id(&self) -> Option<&str> {
        None
    }

    /// How often the scheduler runs it, given the cadence its config asks for.
    fn cadence(&self, configured: Cadence) -> Cadence {
        configured
    }

    /// Whether it remembers something between runs (a log position, pings received), which
    /// lives in the store.
    fn keeps_state(&self) -> bool {
        false
    }
}

/// What a kind's `build` may know about the check it is part of.
pub struct Spec<'a> {
    pub name: &'a str,
    pub timeout: Duration,
    pub every: Duration,
    pub schedule: Option<&'a str>,
    /// The cadence as configured (`every`, or `schedule` in its zone).
    pub cadence: &'a Cadence,
    /// The observation roots that the check's conditions read (`body`, `json`, `writable`...),
    /// so a probe can skip work nobody asked for.
    pub reads: Vec<String>,
    /// Query parameters to mask wherever a URL is shown, beyond the usual ones.
    pub sensitive_params: &'a [String],
}

impl Spec<'_> {
    pub fn reads(&self, root: &str) -> bool {
        self.reads.iter().any(|r| r == root)
    }
}

/// What a probe gets for one run.
pub struct Run<'a> {
    pub check: &'a str,
    pub timeout: Duration,
    pub ctx: &'a crate::context::Context,
}

/// Registers kinds: `Variant => module::Type`, one line each. It makes [`Probe`], the enum
/// of configured probes, and the lookups by name that config loading uses.
macro_rules! kinds {
    ($($variant:ident => $($module:ident)::+),* $(,)?) => {
        /// A configured probe of one kind (boxed: some kinds hold large driver options).
        #[derive(Debug)]
        pub enum Probe {
            $($variant(Box<$($module)::+>)),*
        }

        /// The names of every kind, as written in config.
        pub const KINDS: &[&str] = &[$(<$($module)::+ as $crate::kind::Kind>::KIND),*];

        /// The kind's name as the `&'static str` the registry holds.
        pub fn canonical(kind: &str) -> Option<&'static str> {
            KINDS.iter().copied().find(|k| *k == kind)
        }

        pub fn schema(kind: &str) -> Option<upkeep_expr::Schema> {
            $(if kind == <$($module)::+ as $crate::kind::Kind>::KIND {
                return Some(<$($module)::+ as $crate::kind::Kind>::schema());
            })*
            None
        }

        pub fn default_expect(kind: &str) -> &'static [&'static str] {
            $(if kind == <$($module)::+ as $crate::kind::Kind>::KIND {
                return <$($module)::+ as $crate::kind::Kind>::DEFAULT_EXPECT;
            })*
            &[]
        }

        impl Probe {
            pub fn build(
                kind: &str,
                t: &mut upkeep_config::TableReader,
                d: &mut upkeep_config::Diagnostics,
                spec: &$crate::kind::Spec<'_>,
            ) -> Option<Probe> {
                $(if kind == <$($module)::+ as $crate::kind::Kind>::KIND {
                    return <$($module)::+ as $crate::kind::Kind>::build(t, d, spec).map(|p| Probe::$variant(Box::new(p)));
                })*
                None
            }

            pub fn target(&self) -> String {
                match self { $(Probe::$variant(p) => $crate::kind::Kind::target(&**p)),* }
            }

            pub fn heartbeat_id(&self) -> Option<&str> {
                match self { $(Probe::$variant(p) => $crate::kind::Kind::heartbeat_id(&**p)),* }
            }

            pub fn cadence(&self, configured: upkeep_schedule::Cadence) -> upkeep_schedule::Cadence {
                match self { $(Probe::$variant(p) => $crate::kind::Kind::cadence(&**p, configured)),* }
            }

            pub fn keeps_state(&self) -> bool {
                match self { $(Probe::$variant(p) => $crate::kind::Kind::keeps_state(&**p)),* }
            }

            pub async fn observe(
                &self,
                run: &$crate::kind::Run<'_>,
            ) -> Result<upkeep_expr::Observations, $crate::error::ProbeError> {
                match self { $(Probe::$variant(p) => $crate::kind::Kind::observe(&**p, run).await),* }
            }
        }
    };
}

pub(crate) use kinds;
