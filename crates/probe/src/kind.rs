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

/// Work that is not a probe but ends in a check result like one (a maintenance task), built
/// outside this crate and run as a check: its results feed the live state, SLOs and alerts.
pub trait Custom: Send + Sync + std::fmt::Debug {
    /// What it works on, for tables and messages.
    fn target(&self) -> String;

    /// The fields its runs observe, for type-checking conditions that read them.
    fn schema(&self) -> Schema;

    /// One run.
    fn observe<'a>(
        &'a self,
        run: &'a Run<'a>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<Observations, ProbeError>> + Send + 'a>>;
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
            $($variant(Box<$($module)::+>),)*
            /// Work from outside this crate that ends in a check result: a maintenance task.
            Custom(std::sync::Arc<dyn $crate::kind::Custom>),
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
                match self { $(Probe::$variant(p) => $crate::kind::Kind::target(&**p),)* Probe::Custom(c) => c.target() }
            }

            pub fn heartbeat_id(&self) -> Option<&str> {
                match self { $(Probe::$variant(p) => $crate::kind::Kind::heartbeat_id(&**p),)* Probe::Custom(_) => None }
            }

            pub fn cadence(&self, configured: upkeep_schedule::Cadence) -> upkeep_schedule::Cadence {
                match self { $(Probe::$variant(p) => $crate::kind::Kind::cadence(&**p, configured),)* Probe::Custom(_) => configured }
            }

            pub fn keeps_state(&self) -> bool {
                match self { $(Probe::$variant(p) => $crate::kind::Kind::keeps_state(&**p),)* Probe::Custom(_) => true }
            }

            pub async fn observe(
                &self,
                run: &$crate::kind::Run<'_>,
            ) -> Result<upkeep_expr::Observations, $crate::error::ProbeError> {
                match self { $(Probe::$variant(p) => $crate::kind::Kind::observe(&**p, run).await,)* Probe::Custom(c) => c.observe(run).await }
            }
        }
    };
}

pub(crate) use kinds;

/// The seam, shown with a toy: a kind is a type implementing [`Kind`], and registering it is one
/// line in `kinds!`. Here the macro makes a registry of just the toy, as `kinds/mod.rs` does for
/// the real ones.
#[cfg(test)]
mod tests {
    use super::*;
    use upkeep_expr::{Field, Type, Value};

    /// Observes the number its config names.
    #[derive(Debug)]
    pub struct Constant {
        value: f64,
    }

    impl Kind for Constant {
        const KIND: &'static str = "constant";
        const DEFAULT_EXPECT: &'static [&'static str] = &["value > 0"];

        fn schema() -> Schema {
            Schema::new(&[Field::new("value", Type::Number, "the configured number")])
        }

        fn build(t: &mut TableReader, d: &mut Diagnostics, _spec: &Spec<'_>) -> Option<Self> {
            Some(Constant { value: t.integer(d, "value", -1000..1000)? as f64 })
        }

        fn target(&self) -> String {
            format!("the number {}", self.value)
        }

        async fn observe(&self, _run: &Run<'_>) -> Result<Observations, ProbeError> {
            let mut obs = Observations::new();
            obs.insert("value", Value::Number(self.value));
            Ok(obs)
        }
    }

    mod registry {
        #![allow(dead_code)] // the toy registry never builds a custom probe
        use super::Constant;
        kinds! { Constant => Constant }
    }

    #[tokio::test]
    async fn a_new_kind_is_one_type_and_one_registration_line() {
        assert_eq!(registry::KINDS, ["constant"]);
        assert_eq!(registry::canonical("constant"), Some("constant"));
        assert!(registry::schema("constant").is_some_and(|s| s.field("value").is_some()));
        assert_eq!(registry::default_expect("constant"), ["value > 0"]);
        let text = "[[check]]\nname = \"n\"\nkind = \"constant\"\nvalue = 7\n";
        let (sections, mut d) =
            upkeep_config::parse(upkeep_config::Source::new("upkeep.toml", text), &Default::default());
        let table = sections.unwrap().tables(&mut d, "check").remove(0);
        let mut t = TableReader::new(table, "check \"n\"");
        let cadence = Cadence::Every(Duration::from_secs(30));
        let spec = Spec {
            name: "n",
            timeout: Duration::from_secs(1),
            every: Duration::from_secs(30),
            schedule: None,
            cadence: &cadence,
            reads: Vec::new(),
            sensitive_params: &[],
        };
        let probe = registry::Probe::build("constant", &mut t, &mut d, &spec).unwrap();
        assert!(d.is_empty());
        assert_eq!(probe.target(), "the number 7");
        assert_eq!(probe.heartbeat_id(), None, "the hooks have defaults");
        assert!(!probe.keeps_state());
        assert_eq!(probe.cadence(cadence.clone()), cadence);
        let ctx = crate::Context::default();
        let obs = probe.observe(&Run { check: "n", timeout: Duration::from_secs(1), ctx: &ctx }).await.unwrap();
        assert_eq!(obs.get("value"), Some(&Value::Number(7.0)));
    }
}
