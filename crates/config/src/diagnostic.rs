//! Config errors as people read them: `upkeep.toml:12:11: what is wrong`, the line, a caret,
//! and a hint.

use crate::source::Source;
use std::fmt;
use std::ops::Range;

/// One problem found in a config file.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Byte range in the file.
    pub span: Range<usize>,
    pub message: String,
    pub hint: Option<String>,
}

/// Every problem found in one file, reported together.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    source: Source,
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(source: Source) -> Self {
        Diagnostics { source, items: Vec::new() }
    }

    pub fn error(&mut self, span: Range<usize>, message: impl Into<String>, hint: Option<String>) {
        self.items.push(Diagnostic { span, message: message.into(), hint });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }

    pub fn source(&self) -> &Source {
        &self.source
    }

    /// `Ok(value)` when nothing was reported, else these diagnostics.
    pub fn into_result<T>(mut self, value: T) -> Result<T, Diagnostics> {
        if self.items.is_empty() {
            Ok(value)
        } else {
            self.items.sort_by_key(|d| d.span.start);
            Err(self)
        }
    }

    /// `file:line:col: message` for each problem, one line each; for tests and logs.
    pub fn summary(&self) -> Vec<String> {
        self.items
            .iter()
            .map(|d| {
                let (line, col) = self.source.line_col(d.span.start);
                format!("{}:{line}:{col}: {}", self.source.path.display(), d.message)
            })
            .collect()
    }

    /// As JSON, for `upkeep config validate --json`.
    pub fn to_json(&self) -> Vec<(String, usize, usize, String, Option<String>)> {
        self.items
            .iter()
            .map(|d| {
                let (line, col) = self.source.line_col(d.span.start);
                (self.source.path.display().to_string(), line, col, d.message.clone(), d.hint.clone())
            })
            .collect()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            let (line, col) = self.source.line_col(d.span.start);
            writeln!(f, "{}:{line}:{col}: {}", self.source.path.display(), d.message)?;
            let text = self.source.line_text(line);
            let (end_line, end_col) = self.source.line_col(d.span.end.max(d.span.start + 1));
            let width = if end_line == line { end_col.saturating_sub(col).max(1) } else { 1 };
            writeln!(f, "    {text}")?;
            write!(f, "    {}{}", " ".repeat(col - 1), "^".repeat(width))?;
            if let Some(hint) = &d.hint {
                write!(f, " {hint}")?;
            }
            writeln!(f)?;
        }
        let n = self.items.len();
        write!(f, "{n} error{} in {}", if n == 1 { "" } else { "s" }, self.source.path.display())
    }
}

impl std::error::Error for Diagnostics {}
