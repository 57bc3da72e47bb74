//! Pictures drawn on the server as SVG, so the dashboard needs no script and no CDN: uptime
//! bars (one bar per hour or day, coloured by availability), latency sparklines and error-budget
//! burn-down charts.

use crate::html::escape;

const NO_DATA: &str = "#d0d4da";
const GOOD: &str = "#2da44e";
const WARN: &str = "#d4a72c";
const BAD: &str = "#cf222e";

/// A bar's colour for an availability (0–1).
fn colour(availability: Option<f64>) -> &'static str {
    match availability {
        None => NO_DATA,
        Some(a) if a >= 0.999 => GOOD,
        Some(a) if a >= 0.99 => WARN,
        Some(_) => BAD,
    }
}

/// One slot of an uptime bar: its label (a time) and availability, if there was any run.
pub struct Slot {
    pub label: String,
    pub availability: Option<f64>,
}

/// Uptime bars, oldest on the left, each with a tooltip.
pub fn uptime_bars(slots: &[Slot], width: u32, height: u32) -> String {
    let n = slots.len().max(1) as f64;
    let step = f64::from(width) / n;
    let bar = (step - 1.0).max(1.0);
    let mut out = format!(
        "<svg class=\"bars\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    for (i, slot) in slots.iter().enumerate() {
        let text = match slot.availability {
            Some(a) => format!("{}: {:.2}% up", slot.label, a * 100.0),
            None => format!("{}: no data", slot.label),
        };
        out.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"0\" width=\"{bar:.1}\" height=\"{height}\" rx=\"1\" fill=\"{}\" data-availability=\"{}\"><title>{}</title></rect>",
            i as f64 * step,
            colour(slot.availability),
            slot.availability.map_or("none".to_string(), |a| format!("{a:.5}")),
            escape(&text)
        ));
    }
    out.push_str("</svg>");
    out
}

/// A latency line over time; gaps where there was no run. The tooltip gives the peak.
pub fn sparkline(points: &[Option<f64>], width: u32, height: u32, unit: &str) -> String {
    let max = points.iter().flatten().copied().fold(0.0f64, f64::max);
    let mut out = format!(
        "<svg class=\"spark\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    if max <= 0.0 {
        out.push_str("<title>no data</title></svg>");
        return out;
    }
    out.push_str(&format!("<title>peak {max:.1} {unit}</title>"));
    let step = f64::from(width) / (points.len().max(2) - 1) as f64;
    let mut segment: Vec<String> = Vec::new();
    let flush = |segment: &mut Vec<String>, out: &mut String| {
        match segment.as_slice() {
            [] => {}
            // A lone point between gaps would be an invisible zero-length line: draw a dot.
            [point] => {
                let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                out.push_str(&format!("<circle cx=\"{x}\" cy=\"{y}\" r=\"1.5\" fill=\"#0969da\"/>"));
            }
            _ => out.push_str(&format!(
                "<polyline fill=\"none\" stroke=\"#0969da\" stroke-width=\"1.5\" points=\"{}\"/>",
                segment.join(" ")
            )),
        }
        segment.clear();
    };
    for (i, point) in points.iter().enumerate() {
        match point {
            Some(v) => {
                let y = f64::from(height) - 1.0 - (v / max) * (f64::from(height) - 2.0);
                segment.push(format!("{:.1},{y:.1}", i as f64 * step));
            }
            None => flush(&mut segment, &mut out),
        }
    }
    flush(&mut segment, &mut out);
    out.push_str("</svg>");
    out
}

/// An error budget's burn-down across its window: what remained (1 = all of it) at each point,
/// `x` running 0–1 across the window; a dashed line shows spending it evenly, and the zero line
/// where it is gone. What went below zero is drawn below the line, in red.
pub fn burn_down(points: &[(f64, f64)], width: u32, height: u32) -> String {
    let (w, h) = (f64::from(width), f64::from(height));
    // Overspent by more than the whole budget again is drawn at the bottom: the scale stays
    // readable.
    let low = points.iter().map(|p| p.1).fold(0.0f64, f64::min).max(-1.0);
    let top = 1.0f64;
    let y = |v: f64| 2.0 + (top - v.max(low)) / (top - low).max(1e-9) * (h - 4.0);
    let mut out = format!(
        "<svg class=\"burn\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    let left = points.last().map_or("no data".to_string(), |p| format!("{:.1}% of the error budget left", p.1 * 100.0));
    out.push_str(&format!("<title>{}</title>", escape(&left)));
    out.push_str(&format!(
        "<line x1=\"0\" y1=\"{z:.1}\" x2=\"{w}\" y2=\"{z:.1}\" stroke=\"{NO_DATA}\" stroke-width=\"1\"/>\
         <line x1=\"0\" y1=\"{t:.1}\" x2=\"{w}\" y2=\"{z:.1}\" stroke=\"{NO_DATA}\" stroke-width=\"1\" stroke-dasharray=\"4 3\"/>",
        z = y(0.0),
        t = y(1.0),
    ));
    out.push_str(&format!(
        "<text x=\"{x:.0}\" y=\"12\" font-size=\"10\" fill=\"#57606a\" text-anchor=\"end\">100%</text>\
         <text x=\"{x:.0}\" y=\"{z:.1}\" font-size=\"10\" fill=\"#57606a\" text-anchor=\"end\" dy=\"-2\">0%</text>",
        x = w - 2.0,
        z = y(0.0),
    ));
    if !points.is_empty() {
        let line: Vec<String> = points.iter().map(|(x, v)| format!("{:.1},{:.1}", x * w, y(*v))).collect();
        let colour = if points.last().is_some_and(|p| p.1 < 0.0) { BAD } else { GOOD };
        out.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>",
            line.join(" ")
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_coloured_by_availability() {
        let slots = [
            Slot { label: "a".into(), availability: Some(1.0) },
            Slot { label: "b".into(), availability: Some(0.995) },
            Slot { label: "c".into(), availability: Some(0.5) },
            Slot { label: "d".into(), availability: None },
        ];
        let svg = uptime_bars(&slots, 40, 10);
        let fills: Vec<&str> = svg.split("fill=\"").skip(1).map(|s| &s[..7]).collect();
        assert_eq!(fills, [GOOD, WARN, BAD, NO_DATA]);
        assert!(svg.contains("<title>c: 50.00% up</title>"));
    }

    #[test]
    fn a_burn_down_goes_red_below_zero() {
        let spent = burn_down(&[(0.0, 1.0), (0.5, 0.2), (1.0, -0.5)], 100, 50);
        assert!(spent.contains(BAD) && spent.contains("-50.0% of the error budget left"));
        let fine = burn_down(&[(0.0, 1.0), (1.0, 0.8)], 100, 50);
        assert!(fine.contains(GOOD) && !fine.contains(BAD));
    }

    #[test]
    fn sparkline_breaks_at_gaps() {
        let svg = sparkline(&[Some(1.0), Some(2.0), None, Some(2.0)], 30, 10, "ms");
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(sparkline(&[None, None], 30, 10, "ms").contains("no data"));
    }
}
