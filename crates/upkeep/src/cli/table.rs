//! The human table that `upkeep check` prints: name, kind, status, latency, message.

use owo_colors::OwoColorize;
use std::fmt::Write;
use std::time::Duration;
use upkeep_expr::Value;
use upkeep_probe::CheckResult;

pub fn render(results: &[CheckResult], kinds: &[&str], elapsed: Duration, colour: bool) -> String {
    let rows: Vec<[String; 5]> = results
        .iter()
        .zip(kinds)
        .map(|(r, kind)| {
            [
                r.check.clone(),
                kind.to_string(),
                r.status.as_str().to_string(),
                Value::duration(r.latency).to_string(),
                r.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let header = ["NAME", "KIND", "STATUS", "LATENCY", "MESSAGE"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: [&str; 5], status_ok: Option<bool>| -> String {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let padded = if i == 4 { cell.to_string() } else { format!("{cell:<width$}  ", width = widths[i]) };
            let painted = match (i, status_ok, colour) {
                (2, Some(true), true) => padded.green().to_string(),
                (2, Some(false), true) => padded.red().bold().to_string(),
                _ => padded,
            };
            text.push_str(&painted);
        }
        text.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(header, None));
    for (row, result) in rows.iter().zip(results) {
        let cells = [row[0].as_str(), row[1].as_str(), row[2].as_str(), row[3].as_str(), row[4].as_str()];
        let _ = writeln!(out, "{}", line(cells, Some(result.is_ok())));
    }
    let failing = results.iter().filter(|r| !r.is_ok()).count();
    let summary = format!("{} ok, {failing} failing, in {}", results.len() - failing, Value::duration(elapsed));
    let _ = writeln!(out, "\n{}", if colour && failing > 0 { summary.red().to_string() } else { summary });
    out
}

/// A plain table: a header row and the rows under it, columns padded to their widest cell.
pub fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| -> String {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}
