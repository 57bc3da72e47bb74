//! The syntax tree of an expression.

use crate::span::Span;
use crate::value::Value;
use regex::Regex;

/// One step of a field path after its root: `.name`, `["name"]` or `[3]`.
#[derive(Clone, Debug, PartialEq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// A reference to an observed field, such as `status`, `tls.days_left` or `json.items[0].id`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldRef {
    /// The dotted name as written, used in messages (`json.items[0].id`).
    pub text: String,
    /// The path as parsed: the root identifier then its segments.
    pub root: String,
    pub segments: Vec<Segment>,
}

impl FieldRef {
    /// The name when the path is only dotted identifiers (`tls.days_left`), for schema lookup.
    pub fn dotted(&self) -> Option<String> {
        let mut name = self.root.clone();
        for segment in &self.segments {
            match segment {
                Segment::Key(key) => {
                    name.push('.');
                    name.push_str(key);
                }
                Segment::Index(_) => return None,
            }
        }
        Some(name)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    pub fn is_ordering(self) -> bool {
        !matches!(self, CompareOp::Eq | CompareOp::Ne)
    }
}

#[derive(Clone, Debug)]
pub enum ExprKind {
    Literal(Value),
    Field(FieldRef),
    List(Vec<Expr>),
    Not(Box<Expr>),
    /// `a and b and ...`: one node for the whole chain, so a long chain is not a deep tree.
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Compare(CompareOp, Box<Expr>, Box<Expr>),
    Contains(Box<Expr>, Box<Expr>),
    In(Box<Expr>, Box<Expr>),
    /// `left matches "regex"`; the regex is compiled once, at parse time.
    Matches(Box<Expr>, Regex),
    /// A function over stored history, such as `availability(api, 30d)`.
    Call(String, Vec<Expr>),
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}
