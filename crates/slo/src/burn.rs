//! The default alerts of an SLO: the SRE Workbook's multi-window, multi-burn-rate pairs. Each
//! fires when the burn rate over a long window and over a short one both exceed a threshold: the
//! long window makes it significant, the short one makes it current (it resolves soon after the
//! burning stops). The workbook's windows are for a 30-day SLO; for other windows they scale in
//! proportion, and the thresholds stay.

use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Urgency {
    /// Wake someone.
    Page,
    /// Look at it in working hours.
    Ticket,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurnWindow {
    pub long: Duration,
    pub short: Duration,
    pub threshold: f64,
    pub urgency: Urgency,
}

/// One default alert of an SLO, by what it fires on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurnAlert {
    pub window: BurnWindow,
}

const HOUR: u64 = 3600;
const THIRTY_DAYS: Duration = Duration::from_secs(30 * 86_400);

/// The workbook's table for a 30-day SLO: (long, short, burn rate, urgency).
const WORKBOOK: [(u64, u64, f64, Urgency); 4] = [
    (HOUR, 5 * 60, 14.4, Urgency::Page),
    (6 * HOUR, 30 * 60, 6.0, Urgency::Page),
    (24 * HOUR, 2 * HOUR, 3.0, Urgency::Ticket),
    (72 * HOUR, 6 * HOUR, 1.0, Urgency::Ticket),
];

/// The four default alerts for an SLO over `window`, windows scaled to it (to the second, and at
/// least a minute, the resolution of the store's windows).
pub fn burn_alerts(window: Duration) -> Vec<BurnAlert> {
    let scale = window.as_secs_f64() / THIRTY_DAYS.as_secs_f64();
    let scaled = |secs: u64| Duration::from_secs(((secs as f64 * scale).round() as u64).max(60));
    WORKBOOK
        .iter()
        .map(|&(long, short, threshold, urgency)| BurnAlert {
            window: BurnWindow { long: scaled(long), short: scaled(short), threshold, urgency },
        })
        .collect()
}

impl BurnAlert {
    /// Whether it fires, given the burn rates over its long and short windows (`None`: no events).
    pub fn fires(&self, long: Option<f64>, short: Option<f64>) -> bool {
        matches!((long, short), (Some(l), Some(s)) if l > self.window.threshold && s > self.window.threshold)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_30_day_slo_gets_the_workbook_table_and_others_scale() {
        let alerts = burn_alerts(THIRTY_DAYS);
        let table: Vec<(u64, u64, f64, Urgency)> = alerts
            .iter()
            .map(|a| (a.window.long.as_secs(), a.window.short.as_secs(), a.window.threshold, a.window.urgency))
            .collect();
        assert_eq!(table, WORKBOOK.to_vec());
        // A 7-day SLO: windows scaled by 7/30 (1 h -> 14 min, 5 min -> 70 s, 3 d -> 16.8 h).
        let week = burn_alerts(Duration::from_secs(7 * 86_400));
        assert_eq!(week[0].window.long, Duration::from_secs(840));
        assert_eq!(week[0].window.short, Duration::from_secs(70));
        assert_eq!(week[3].window.long, Duration::from_secs(60_480));
        assert_eq!(week[0].window.threshold, 14.4);
    }

    #[test]
    fn both_windows_must_burn_past_the_threshold() {
        let page = burn_alerts(THIRTY_DAYS)[0];
        assert!(page.fires(Some(15.0), Some(20.0)));
        assert!(!page.fires(Some(15.0), Some(14.4)), "the short window says it stopped");
        assert!(!page.fires(Some(10.0), Some(100.0)), "a blip is not significant");
        assert!(!page.fires(None, Some(100.0)));
    }
}
