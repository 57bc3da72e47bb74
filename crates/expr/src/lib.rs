//! The expression language of `expect` and of alert `when`.
//!
//! A small, typed language: comparisons, `and`/`or`/`not`, `contains`, `matches`, `in`,
//! literals with units (`200ms`, `85%`, `10GiB`) and fields of a probe's observations
//! (`status`, `json.checks.database.status`, `header.content-type`). Expressions are parsed
//! with spans and type-checked against the [`Schema`] a probe kind declares, so a typo in a
//! field name is a config error at load time rather than a false alarm at 3 a.m.
//!
//! The flow is `parse` → `check` (against a schema) → [`Program::eval`] (against
//! [`Observations`]) → on failure, [`Program::explain`] says what was expected and what was seen.

mod ast;
mod check;
mod error;
mod eval;
mod history;
mod lexer;
mod parser;
mod schema;
mod span;
mod value;

pub use ast::{Expr, FieldRef, Segment};
pub use check::{CheckError, Program, compile};
pub use error::ParseError;
pub use eval::EvalError;
pub use history::{Call, Env, Function, Quantile, Target};
pub use parser::parse;
pub use schema::{Field, History, Schema, Type, closest as closest_name};
pub use span::Span;
pub use value::{Observations, Value};

/// Parses one literal with its unit, as config values such as `timeout = "5s"` or
/// `max_size = "10GiB"` are written, so config and expressions agree on units exactly.
pub fn quantity(src: &str) -> Result<Value, ParseError> {
    let tokens = lexer::lex(src.trim())?;
    match tokens.as_slice() {
        [lexer::Token { tok: lexer::Tok::Literal(value), .. }] => Ok(value.clone()),
        _ => Err(ParseError::new(Span::new(0, src.len()), format!("`{src}` is not a single value"), None)),
    }
}
