//! The registry of probe kinds. A new kind is one module plus one line in `kinds!` below.
//!
//! Every kind provides the same items: `KIND` (its name in config), `schema()` (the fields it
//! observes, for type-checking `expect`), `DEFAULT_EXPECT` (used when `expect` is not written),
//! `build` (reads its own config keys), `target` (what it probes, for messages) and `observe`.

use crate::error::ProbeError;
use std::time::Duration;
use upkeep_config::{Diagnostics, TableReader};
use upkeep_expr::{Observations, Schema};

/// What a kind's `build` may know about the check it is part of.
pub struct Spec<'a> {
    pub name: &'a str,
    pub timeout: Duration,
    pub every: Duration,
    pub schedule: Option<&'a str>,
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

macro_rules! kinds {
    ($($variant:ident => $module:ident :: $ty:ident),* $(,)?) => {
        /// A configured probe of one kind (boxed: some kinds hold large driver options).
        #[derive(Debug)]
        pub enum Probe {
            $($variant(Box<crate::$module::$ty>)),*
        }

        /// The names of every kind, as written in config.
        pub const KINDS: &[&str] = &[$(crate::$module::$ty::KIND),*];

        /// The kind's name as the `&'static str` the registry holds.
        pub fn canonical(kind: &str) -> Option<&'static str> {
            KINDS.iter().copied().find(|k| *k == kind)
        }

        pub fn schema(kind: &str) -> Option<Schema> {
            $(if kind == crate::$module::$ty::KIND { return Some(crate::$module::$ty::schema()); })*
            None
        }

        pub fn default_expect(kind: &str) -> &'static [&'static str] {
            $(if kind == crate::$module::$ty::KIND { return crate::$module::$ty::DEFAULT_EXPECT; })*
            &[]
        }

        impl Probe {
            pub fn build(kind: &str, t: &mut TableReader, d: &mut Diagnostics, spec: &Spec<'_>) -> Option<Probe> {
                $(if kind == crate::$module::$ty::KIND {
                    return crate::$module::$ty::build(t, d, spec).map(|p| Probe::$variant(Box::new(p)));
                })*
                None
            }

            /// The id pinged at `/ping/{id}`, for heartbeat checks.
            pub fn heartbeat_id(&self) -> Option<&str> {
                match self {
                    Probe::Heartbeat(h) => Some(h.id()),
                    _ => None,
                }
            }

            pub fn target(&self) -> String {
                match self {
                    $(Probe::$variant(p) => p.target()),*
                }
            }

            pub async fn observe(&self, run: &Run<'_>) -> Result<Observations, ProbeError> {
                match self {
                    $(Probe::$variant(p) => p.observe(run).await),*
                }
            }
        }
    };
}

kinds! {
    Http => http::Http,
    Tcp => tcp::Tcp,
    Tls => tls::Tls,
    Dns => dns::Dns,
    Postgres => postgres::Postgres,
    Mysql => mysql::Mysql,
    Sqlite => sqlite::Sqlite,
    Redis => redis::Redis,
    Disk => disk::Disk,
    Memory => memory::Memory,
    Load => load_avg::Load,
    File => file::File,
    Log => log::Log,
    Command => command::Command,
    Heartbeat => heartbeat::Heartbeat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_expectation_compiles_against_its_kind() {
        for kind in KINDS {
            let schema = schema(kind).expect("every kind has a schema");
            for source in default_expect(kind) {
                if let Err(e) = upkeep_expr::compile(source, &schema) {
                    panic!("default expect `{source}` of {kind} does not compile: {e:?}");
                }
            }
        }
    }

    #[test]
    fn no_field_is_named_like_an_operator() {
        const KEYWORDS: &[&str] = &["and", "or", "not", "contains", "matches", "in", "true", "false", "null"];
        for kind in KINDS {
            let schema = schema(kind).expect("every kind has a schema");
            for field in schema.fields().iter().chain(schema.dynamic_roots()) {
                let root = field.name.split('.').next().unwrap_or_default();
                assert!(!KEYWORDS.contains(&root), "{kind} field `{}` cannot be written in an expression", field.name);
            }
        }
    }
}
