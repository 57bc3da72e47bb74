//! The file's top level, handed out section by section: each concept reads its own sections
//! (`[server]` here, `[[user]]` in access, `[[alert]]` in alerts...) through the same spanned
//! [`TableReader`], and what nobody asked for is reported at the end, with the nearest known
//! section as a hint.

use crate::diagnostic::Diagnostics;
use crate::document::{NodeValue, Table, parse_document};
use crate::interpolate::Env;
use crate::source::Source;
use crate::table::TableReader;
use std::path::{Path, PathBuf};

/// Sections the design names that this version does not read yet: refused with a clear
/// message rather than silently ignored.
const LATER_SECTIONS: &[&str] = &["silence", "incident", "oncall", "status_page", "report"];

/// The parsed file, not yet read.
#[derive(Debug)]
pub struct Sections {
    top: TableReader,
    base_dir: PathBuf,
}

/// Parses the file. `None` after a syntax error (reported in the diagnostics): reading a
/// half-recovered document would only add confusing follow-on errors.
pub fn parse(source: Source, env: &Env) -> (Option<Sections>, Diagnostics) {
    let mut d = Diagnostics::new(source.clone());
    let base_dir = source.path.parent().map(PathBuf::from).unwrap_or_default();
    let sections = parse_document(&source, env, &mut d)
        .map(|root| Sections { top: TableReader::new(root, "the top level"), base_dir });
    (sections, d)
}

impl Sections {
    /// The folder of the config file, which relative paths in it are taken from.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// Where key `key` of section `[section]` was written, if it was.
    pub fn span_of(&self, section: &str, key: &str) -> Option<std::ops::Range<usize>> {
        self.top.peek(section).and_then(|n| match &n.value {
            NodeValue::Table(t) => t.get(key).map(|v| v.span.clone()),
            _ => None,
        })
    }

    /// `[key]`, when written.
    pub fn table(&mut self, d: &mut Diagnostics, key: &'static str) -> Option<TableReader> {
        let node = self.top.node(key)?.clone();
        match node.value {
            NodeValue::Table(table) => Some(TableReader::new(table, format!("[{key}]"))),
            _ => {
                d.error(node.span, format!("`{key}` must be a table: write `[{key}]`"), None);
                None
            }
        }
    }

    /// Every `[[key]]`, in order.
    pub fn tables(&mut self, d: &mut Diagnostics, key: &'static str) -> Vec<Table> {
        let Some(node) = self.top.node(key).cloned() else {
            return Vec::new();
        };
        match node.value {
            NodeValue::Array(items) => items
                .into_iter()
                .filter_map(|item| match item.value {
                    NodeValue::Table(table) => Some(table),
                    _ => {
                        d.error(item.span, format!("each `{key}` must be a table: write `[[{key}]]`"), None);
                        None
                    }
                })
                .collect(),
            _ => {
                d.error(node.span, format!("`{key}` must be written as `[[{key}]]`, one per {key}"), None);
                Vec::new()
            }
        }
    }

    /// Reports sections this version does not read yet, and any other that nobody took.
    pub fn finish(mut self, d: &mut Diagnostics) {
        for section in LATER_SECTIONS {
            if let Some(key) = self.top.node(section).map(|n| n.span.clone()) {
                d.error(
                    key,
                    format!("`{section}` sections are not supported by this version of upkeep yet"),
                    Some("remove it for now; see the README for what this version reads".into()),
                );
            }
        }
        self.top.finish(d);
    }
}
