//! `upkeep.toml`: parsed once, with the location of every value, into typed settings.
//!
//! Every error names `file:line:col`, says what is wrong and, where it can, what would be
//! right (`did you mean "timeout"?`). All errors are gathered before reporting, so a person
//! fixes a file in one pass. Secrets come from the environment with `${VAR}`.
//!
//! This crate knows the shape common to everything (server, defaults, the fields every check
//! has); each probe kind reads its own keys from the [`TableReader`] it is handed, so a new
//! kind needs no change here.

mod access;
mod cron;
mod diagnostic;
mod document;
mod interpolate;
mod model;
mod secrets;
mod source;
mod table;
mod units;

pub use access::{Access, Role, Token, User};
pub use cron::parse_cron;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use document::{Node, NodeValue, Table, inner_span};
pub use interpolate::Env;
pub use model::{CheckSection, Config, MAX_NAME, MIN_EVERY, MIN_TIMEOUT, Retention, Server, parse_config};
pub use secrets::{MASK, SENSITIVE_PARAMS, mask_line, redact_url};
pub use source::Source;
pub use table::TableReader;
pub use toml::Spanned;
pub use units::{Percent, parse_duration, parse_percent, parse_size};
