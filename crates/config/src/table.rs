//! Typed reading of one TOML table. Each accessor both reads a key and declares it known, so
//! the list of valid keys is the code that reads them, and [`TableReader::finish`] can report
//! every unknown key with the known key it most resembles.

use crate::diagnostic::Diagnostics;
use crate::document::{Node, NodeValue, Table};
use crate::units::{self, Percent};
use std::ops::Range;
use std::time::Duration;
use toml::Spanned;

#[derive(Debug)]
pub struct TableReader {
    table: Table,
    /// How the table is named in messages: `check "api"`, `[server]`.
    context: String,
    known: Vec<&'static str>,
}

impl TableReader {
    pub fn new(table: Table, context: impl Into<String>) -> Self {
        TableReader { table, context: context.into(), known: Vec::new() }
    }

    pub fn context(&self) -> &str {
        &self.context
    }

    pub fn set_context(&mut self, context: impl Into<String>) {
        self.context = context.into();
    }

    /// Where the table begins, for errors about something missing from it.
    pub fn span(&self) -> Range<usize> {
        let start = self.table.span.start;
        start..start + 1
    }

    /// The raw value of a key, marking it known.
    pub fn node(&mut self, key: &'static str) -> Option<&Node> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        self.table.get(key)
    }

    /// The raw value of a key, without marking it known.
    pub fn peek(&self, key: &str) -> Option<&Node> {
        self.table.get(key)
    }

    pub fn has(&self, key: &str) -> bool {
        self.table.get(key).is_some()
    }

    fn wrong_type(&self, d: &mut Diagnostics, key: &str, node: &Node, expected: &str, example: &str) {
        d.error(
            node.span.clone(),
            format!("`{key}` in {} must be {expected}, not {}", self.context, node.type_name()),
            Some(format!("for example: {key} = {example}")),
        );
    }

    pub fn string(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Spanned<String>> {
        let node = self.node(key)?.clone();
        match &node.value {
            NodeValue::String(s) => Some(Spanned::new(node.span.clone(), s.clone())),
            _ => {
                self.wrong_type(d, key, &node, "a string", "\"...\"");
                None
            }
        }
    }

    /// A string that must be present; `example` shows how to write it.
    pub fn required_string(
        &mut self,
        d: &mut Diagnostics,
        key: &'static str,
        example: &str,
    ) -> Option<Spanned<String>> {
        if !self.has(key) {
            self.node(key);
            d.error(self.span(), format!("{} has no `{key}`", self.context), Some(format!("add {key} = {example}")));
            return None;
        }
        self.string(d, key)
    }

    pub fn bool(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<bool> {
        let node = self.node(key)?.clone();
        match node.value {
            NodeValue::Bool(b) => Some(b),
            _ => {
                self.wrong_type(d, key, &node, "true or false", "true");
                None
            }
        }
    }

    /// An integer within `range`.
    pub fn integer(&mut self, d: &mut Diagnostics, key: &'static str, range: Range<i64>) -> Option<i64> {
        let node = self.node(key)?.clone();
        match node.value {
            NodeValue::Integer(n) if range.contains(&n) => Some(n),
            NodeValue::Integer(n) => {
                d.error(
                    node.span.clone(),
                    format!("`{key}` in {} is {n}, outside {}..{}", self.context, range.start, range.end - 1),
                    None,
                );
                None
            }
            _ => {
                self.wrong_type(d, key, &node, "an integer", &range.start.max(1).to_string());
                None
            }
        }
    }

    /// A duration of at least `floor`: every key names its own, because a value that rounds to
    /// nothing (`every = "0.0000001s"`) would make the scheduler spin.
    pub fn duration(&mut self, d: &mut Diagnostics, key: &'static str, floor: Duration) -> Option<Spanned<Duration>> {
        let value = self.with_str(d, key, "a duration", "\"30s\"", units::parse_duration)?;
        if *value.get_ref() < floor {
            let floor = upkeep_expr::Value::duration(floor);
            d.error(
                value.span(),
                format!("`{key}` in {} must be at least {floor}", self.context),
                Some(format!("for example: {key} = \"{floor}\"")),
            );
            return None;
        }
        Some(value)
    }

    /// An IANA time zone (`"Europe/Berlin"`, `"UTC"`).
    pub fn zone(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<jiff::tz::TimeZone> {
        let name = self.string(d, key)?;
        match jiff::tz::TimeZone::get(name.get_ref()) {
            Ok(zone) => Some(zone),
            Err(_) => {
                d.error(
                    name.span(),
                    format!("`{}` is not a time zone this machine knows", name.get_ref()),
                    Some("use an IANA name such as \"Europe/Berlin\", \"America/New_York\" or \"UTC\"".into()),
                );
                None
            }
        }
    }

    pub fn size(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Spanned<u64>> {
        if let Some(Node { value: NodeValue::Integer(n), span }) = self.node(key).cloned()
            && n >= 0
        {
            return Some(Spanned::new(span, n as u64));
        }
        self.with_str(d, key, "a size", "\"10GiB\"", units::parse_size)
    }

    pub fn percent(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Spanned<Percent>> {
        self.with_str(d, key, "a percentage", "\"99.9%\"", units::parse_percent)
    }

    fn with_str<T>(
        &mut self,
        d: &mut Diagnostics,
        key: &'static str,
        what: &str,
        example: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Spanned<T>> {
        let node = self.node(key)?.clone();
        let NodeValue::String(text) = &node.value else {
            self.wrong_type(d, key, &node, &format!("{what} in quotes"), example);
            return None;
        };
        match parse(text) {
            Ok(value) => Some(Spanned::new(node.span.clone(), value)),
            Err(message) => {
                d.error(
                    node.span.clone(),
                    format!("`{key}` in {}: {message}", self.context),
                    Some(format!("for example: {key} = {example}")),
                );
                None
            }
        }
    }

    /// A list of strings; a single string is accepted as a list of one.
    pub fn strings(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Vec<Spanned<String>>> {
        let node = self.node(key)?.clone();
        match &node.value {
            NodeValue::String(s) => Some(vec![Spanned::new(node.span.clone(), s.clone())]),
            NodeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match &item.value {
                        NodeValue::String(s) => out.push(Spanned::new(item.span.clone(), s.clone())),
                        _ => self.wrong_type(d, key, item, "a list of strings", "[\"...\"]"),
                    }
                }
                Some(out)
            }
            _ => {
                self.wrong_type(d, key, &node, "a list of strings", "[\"...\"]");
                None
            }
        }
    }

    /// A table of string values, such as HTTP headers; order kept.
    /// A table of strings, e.g. `headers = { Accept = "application/json" }`; each value keeps its
    /// place in the file for errors about it.
    pub fn string_map(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<Vec<(String, Spanned<String>)>> {
        let node = self.node(key)?.clone();
        let NodeValue::Table(table) = &node.value else {
            self.wrong_type(d, key, &node, "a table", "{ name = \"value\" }");
            return None;
        };
        let mut out = Vec::new();
        for (k, v) in &table.entries {
            match &v.value {
                NodeValue::String(s) => out.push((k.name.clone(), Spanned::new(v.span.clone(), s.clone()))),
                _ => d.error(
                    v.span.clone(),
                    format!("`{key}.{}` in {} must be a string, not {}", k.name, self.context, v.type_name()),
                    None,
                ),
            }
        }
        Some(out)
    }

    /// An inline or nested table (`source = { kind = "sqlite", path = "..." }`), read by its own
    /// reader; call [`TableReader::finish`] on it too.
    pub fn table(&mut self, d: &mut Diagnostics, key: &'static str, example: &str) -> Option<TableReader> {
        let node = self.node(key)?.clone();
        match node.value {
            NodeValue::Table(table) => Some(TableReader::new(table, format!("`{key}` of {}", self.context))),
            _ => {
                self.wrong_type(d, key, &node, "a table", example);
                None
            }
        }
    }

    /// A list of tables (`levels = [{ after = "0m", notify = [...] }]`), each read by its own
    /// reader named `what` N in messages; a single table is accepted as a list of one.
    pub fn tables(&mut self, d: &mut Diagnostics, key: &'static str, what: &str, example: &str) -> Vec<TableReader> {
        let Some(node) = self.node(key).cloned() else { return Vec::new() };
        let context = self.context.clone();
        let items = match node.value {
            NodeValue::Table(table) => vec![table],
            NodeValue::Array(items) => {
                let mut out = Vec::new();
                for item in items {
                    match item.value {
                        NodeValue::Table(table) => out.push(table),
                        _ => self.wrong_type(d, key, &item, "a list of tables", example),
                    }
                }
                out
            }
            _ => {
                self.wrong_type(d, key, &node, "a list of tables", example);
                Vec::new()
            }
        };
        items
            .into_iter()
            .enumerate()
            .map(|(i, table)| TableReader::new(table, format!("{what} {} of {context}", i + 1)))
            .collect()
    }

    /// Reports every key no accessor asked for, with the nearest known key as a hint.
    pub fn finish(self, d: &mut Diagnostics) {
        for (key, _) in &self.table.entries {
            if self.known.contains(&key.name.as_str()) {
                continue;
            }
            let suggestion = upkeep_expr::closest_name(&key.name, self.known.iter().map(|k| k.to_string()));
            let hint = match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("known keys: {}", self.known.join(", ")),
            };
            d.error(key.span.clone(), format!("unknown key `{}` in {}", key.name, self.context), Some(hint));
        }
    }
}
