//! `upkeep.toml`: parsed once, with the location of every value, into typed settings.
//!
//! Every error names `file:line:col`, says what is wrong and, where it can, what would be
//! right (`did you mean "timeout"?`). All errors are gathered before reporting, so a person
//! fixes a file in one pass. Secrets come from the environment with `${VAR}`.
//!
//! The file is parsed once into [`Sections`], which each concept reads its own parts of with a
//! [`TableReader`]: this crate reads `[server]`, `[retention]`, `[defaults]` and the fields every
//! `[[check]]` has; each probe kind reads its own keys; access, alerts and the rest read theirs
//! in their own crates. The plan (the composition root) drives the reading and reports what
//! nobody took. A new section or kind needs no change here.

mod checks;
mod cron;
mod diagnostic;
mod document;
mod interpolate;
mod retention;
mod secrets;
mod sections;
mod server;
mod source;
mod table;
mod units;

pub use checks::{CheckSection, MAX_NAME, MIN_EVERY, MIN_TIMEOUT, read_checks};
pub use cron::parse_cron;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use document::{Node, NodeValue, Table, inner_span};
pub use interpolate::Env;
pub use retention::{Retention, read_retention};
pub use secrets::{MASK, SENSITIVE_PARAMS, mask_line, redact_url};
pub use sections::{Sections, parse};
pub use server::{Server, read_server};
pub use source::Source;
pub use table::TableReader;
pub use toml::Spanned;
pub use units::{Percent, parse_duration, parse_percent, parse_size};
