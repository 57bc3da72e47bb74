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

/// Every problem found in one file, reported together. Everything printed is masked: values
/// that came from `${VAR}` show as `${VAR}`, and passwords in URLs and secret-named keys as
/// `***`, because these messages end up in terminals, logs and CI output.
#[derive(Clone, Debug)]
pub struct Diagnostics {
    source: Source,
    items: Vec<Diagnostic>,
    /// (variable, value) for every `${VAR}` replaced in the file.
    interpolated: Vec<(String, String)>,
}

/// A line longer than this is shown as a window around the column in question.
const MAX_SHOWN_LINE: usize = 160;

impl Diagnostics {
    /// Reports the errors of an expression written in the string value `source`, each at its
    /// own column inside the string, its message prefixed with `context` (`in `when``).
    pub fn expression_errors(
        &mut self,
        source: &toml::Spanned<String>,
        errors: Vec<upkeep_expr::ParseError>,
        context: &str,
    ) {
        for e in errors {
            let len = (e.span.end - e.span.start).max(1);
            let span = crate::document::inner_span(&self.source, &source.span(), source.get_ref(), e.span.start, len);
            self.error(span, format!("{context}: {}", e.message), e.hint);
        }
    }

    pub fn new(source: Source) -> Self {
        Diagnostics { source, items: Vec::new(), interpolated: Vec::new() }
    }

    /// Records that `${name}` was replaced by `value`, so no message prints the value.
    pub fn interpolated(&mut self, name: String, value: String) {
        // Very short values ("1", "on") are no secret and would mask half of every message.
        if value.len() >= 4 && !self.interpolated.iter().any(|(_, v)| *v == value) {
            self.interpolated.push((name, value));
            self.interpolated.sort_by_key(|(_, v)| std::cmp::Reverse(v.len()));
        }
    }

    /// `text` as it may be printed.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (name, value) in &self.interpolated {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("${{{name}}}"));
            }
        }
        crate::secrets::mask_line(&out)
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
                format!("{}:{line}:{col}: {}", self.source.path.display(), self.mask(&d.message))
            })
            .collect()
    }

    /// As JSON, for `upkeep config validate --json`.
    pub fn to_json(&self) -> Vec<(String, usize, usize, String, Option<String>)> {
        self.items
            .iter()
            .map(|d| {
                let (line, col) = self.source.line_col(d.span.start);
                let hint = d.hint.as_deref().map(|h| self.mask(h));
                (self.source.path.display().to_string(), line, col, self.mask(&d.message), hint)
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
            writeln!(f, "{}:{line}:{col}: {}", self.source.path.display(), self.mask(&d.message))?;
            let (end_line, end_col) = self.source.line_col(d.span.end.max(d.span.start + 1));
            let width = if end_line == line { end_col.saturating_sub(col).max(1) } else { 1 };
            let (text, col) = window(self.source.line_text(line), col);
            writeln!(f, "    {}", self.mask(&text))?;
            write!(f, "    {}{}", " ".repeat(col - 1), "^".repeat(width.min(MAX_SHOWN_LINE)))?;
            if let Some(hint) = &d.hint {
                write!(f, " {}", self.mask(hint))?;
            }
            writeln!(f)?;
        }
        let n = self.items.len();
        write!(f, "{n} error{} in {}", if n == 1 { "" } else { "s" }, self.source.path.display())
    }
}

impl std::error::Error for Diagnostics {}

/// The part of a long line worth showing around 1-based column `col`, and the column there.
fn window(line: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = line.chars().collect();
    if chars.len() <= MAX_SHOWN_LINE {
        return (line.to_string(), col);
    }
    let start = col.saturating_sub(MAX_SHOWN_LINE / 2).min(chars.len().saturating_sub(MAX_SHOWN_LINE));
    let end = (start + MAX_SHOWN_LINE).min(chars.len());
    let mut shown: String = chars[start..end].iter().collect();
    let mut col = col - start;
    if start > 0 {
        shown.insert(0, '…');
        col += 1;
    }
    if end < chars.len() {
        shown.push('…');
    }
    (shown, col)
}
