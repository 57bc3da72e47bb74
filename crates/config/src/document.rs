//! The TOML document as an owned tree in which every key and value keeps its byte span, with
//! `${VAR}` already replaced in strings.

use crate::diagnostic::Diagnostics;
use crate::interpolate::{Env, interpolate};
use crate::source::Source;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

#[derive(Clone, Debug, PartialEq)]
pub enum NodeValue {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Node>),
    Table(Table),
}

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub span: Range<usize>,
}

impl Node {
    /// How the value's type reads in an error message.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::String(_) => "a string",
            NodeValue::Integer(_) => "an integer",
            NodeValue::Float(_) => "a float",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Datetime(_) => "a date-time",
            NodeValue::Array(_) => "an array",
            NodeValue::Table(_) => "a table",
        }
    }
}

/// A key as written and its span.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    pub name: String,
    pub span: Range<usize>,
}

/// A table's entries in the order they were written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Table {
    pub entries: Vec<(Key, Node)>,
    pub span: Range<usize>,
}

impl Table {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    pub fn key(&self, key: &str) -> Option<&Key> {
        self.entries.iter().find(|(k, _)| k.name == key).map(|(k, _)| k)
    }
}

/// Parses the whole file. Syntax errors are reported and yield `None`: validating a
/// half-recovered document would only add confusing follow-on errors.
pub fn parse_document(source: &Source, env: &Env, diags: &mut Diagnostics) -> Option<Table> {
    let (root, errors) = DeTable::parse_recoverable(&source.text);
    if !errors.is_empty() {
        for e in errors {
            let span = e.span().unwrap_or(0..0);
            diags.error(span, format!("invalid TOML: {}", e.message().trim()), None);
        }
        return None;
    }
    let span = root.span();
    Some(convert_table(root.get_ref(), span, source, env, diags))
}

fn convert_table(
    table: &DeTable<'_>,
    span: Range<usize>,
    source: &Source,
    env: &Env,
    diags: &mut Diagnostics,
) -> Table {
    let entries = table
        .iter()
        .map(|(key, value)| {
            let key = Key { name: key.get_ref().to_string(), span: key.span() };
            (key, convert(value, source, env, diags))
        })
        .collect();
    Table { entries, span }
}

fn convert(value: &Spanned<DeValue<'_>>, source: &Source, env: &Env, diags: &mut Diagnostics) -> Node {
    let span = value.span();
    let converted = match value.get_ref() {
        DeValue::String(text) => NodeValue::String(interpolated(text, &span, source, env, diags)),
        DeValue::Integer(int) => match i64::from_str_radix(int.as_str(), int.radix()) {
            Ok(n) => NodeValue::Integer(n),
            Err(_) => {
                diags.error(span.clone(), "this integer does not fit in 64 bits", None);
                NodeValue::Integer(0)
            }
        },
        DeValue::Float(float) => NodeValue::Float(float.as_str().replace('_', "").parse().unwrap_or(f64::NAN)),
        DeValue::Boolean(b) => NodeValue::Bool(*b),
        DeValue::Datetime(dt) => NodeValue::Datetime(dt.to_string()),
        DeValue::Array(items) => NodeValue::Array(items.iter().map(|item| convert(item, source, env, diags)).collect()),
        DeValue::Table(table) => NodeValue::Table(convert_table(table, span.clone(), source, env, diags)),
    };
    Node { value: converted, span }
}

fn interpolated(text: &str, span: &Range<usize>, source: &Source, env: &Env, diags: &mut Diagnostics) -> String {
    match interpolate(text, env) {
        Ok(value) => {
            for (name, secret) in value.substituted {
                diags.interpolated(name, secret);
            }
            value.text
        }
        Err(e) => {
            diags.error(inner_span(source, span, text, e.offset, e.len), e.message, e.hint);
            text.to_string()
        }
    }
}

/// The file span of `offset..offset+len` within a string value, exact when the string is
/// written without escapes (the usual case), else the whole string.
pub fn inner_span(source: &Source, span: &Range<usize>, text: &str, offset: usize, len: usize) -> Range<usize> {
    let raw = source.text.get(span.clone()).unwrap_or("");
    for quote in ["'''", "\"\"\"", "'", "\""] {
        if raw.len() >= 2 * quote.len()
            && raw.starts_with(quote)
            && raw.ends_with(quote)
            && &raw[quote.len()..raw.len() - quote.len()] == text
        {
            let start = span.start + quote.len() + offset.min(text.len());
            return start..(start + len).min(span.end - quote.len());
        }
    }
    span.clone()
}
