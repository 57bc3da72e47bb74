//! Pictures drawn on the server as SVG, so the dashboard needs no script and no CDN: uptime
//! bars (one bar per hour or day, coloured by availability) and latency sparklines.

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
    fn sparkline_breaks_at_gaps() {
        let svg = sparkline(&[Some(1.0), Some(2.0), None, Some(2.0)], 30, 10, "ms");
        assert_eq!(svg.matches("<polyline").count(), 1);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(sparkline(&[None, None], 30, 10, "ms").contains("no data"));
    }
}
