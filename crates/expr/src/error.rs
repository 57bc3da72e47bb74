//! What is wrong with an expression, and where: one error type for the lexer, the parser and
//! the type checker, so config loading reports all of them at their column.

use crate::span::Span;
use std::fmt;

/// A syntax error with the span it concerns and, where we can tell, how to fix it.
#[derive(Clone, Debug, PartialEq)]
pub struct ParseError {
    pub span: Span,
    pub message: String,
    pub hint: Option<String>,
}

impl ParseError {
    pub fn new(span: Span, message: impl Into<String>, hint: Option<String>) -> Self {
        ParseError { span, message: message.into(), hint }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseError {}
