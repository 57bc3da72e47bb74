//! How incidents went over a period, per severity: how many, mean time to acknowledge (MTTA,
//! triggered → acknowledged), mean time to resolve (MTTR, triggered → resolved), and the share of
//! targets met (a target still running counts once it is decided).

use crate::incident::Incident;
use jiff::Timestamp;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SeverityMeasures {
    pub incidents: u32,
    pub open: u32,
    pub mtta_seconds: Option<f64>,
    pub mttr_seconds: Option<f64>,
    pub targets_met: u32,
    pub targets_missed: u32,
    /// `targets_met` over the decided targets.
    pub targets_met_ratio: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Measures {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub by_severity: BTreeMap<String, SeverityMeasures>,
}

/// Over the incidents opened in `[from, to)`.
pub fn measure(incidents: &[Incident], from: Timestamp, to: Timestamp, now: Timestamp) -> Measures {
    let mut by: BTreeMap<String, (SeverityMeasures, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for i in incidents.iter().filter(|i| from <= i.opened_at && i.opened_at < to) {
        let (m, acks, resolves) = by.entry(i.severity.clone()).or_default();
        m.incidents += 1;
        m.open += u32::from(i.is_open());
        if let Some(at) = i.acknowledged_at {
            acks.push(i.opened_at.duration_until(at).as_secs_f64());
        }
        if let Some(at) = i.resolved_at {
            resolves.push(i.opened_at.duration_until(at).as_secs_f64());
        }
        for t in &i.targets {
            match t.made_it(now) {
                Some(true) => m.targets_met += 1,
                Some(false) => m.targets_missed += 1,
                None => {}
            }
        }
    }
    let mean = |xs: &[f64]| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
    let by_severity = by
        .into_iter()
        .map(|(sev, (mut m, acks, resolves))| {
            m.mtta_seconds = mean(&acks);
            m.mttr_seconds = mean(&resolves);
            let decided = m.targets_met + m.targets_missed;
            m.targets_met_ratio = (decided > 0).then(|| f64::from(m.targets_met) / f64::from(decided));
            (sev, m)
        })
        .collect();
    Measures { from: Some(from), to: Some(to), by_severity }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Opening;
    use std::time::Duration;

    #[test]
    fn mtta_and_mttr_per_severity() {
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        let sev = crate::severity::defaults().remove(0);
        let open = |start: &str| {
            let o = Opening { severity: "P1".into(), title: "t".into(), by: "x".into(), ..Default::default() };
            Incident::open(o, at(start), Some(&sev), None, Duration::ZERO)
        };
        let mut a = open("2026-12-01T10:00:00Z");
        a.acknowledge("x", at("2026-12-01T10:10:00Z"), None).unwrap();
        a.resolve("x", at("2026-12-01T11:00:00Z"), None).unwrap();
        let mut b = open("2026-12-02T10:00:00Z");
        a.timeline.clear();
        b.acknowledge("x", at("2026-12-02T10:20:00Z"), None).unwrap();
        b.resolve("x", at("2026-12-02T15:00:00Z"), None).unwrap();
        let m = measure(&[a, b], at("2026-12-01T00:00:00Z"), at("2026-12-08T00:00:00Z"), at("2026-12-08T00:00:00Z"));
        let p1 = &m.by_severity["P1"];
        assert_eq!(p1.incidents, 2);
        assert_eq!(p1.mtta_seconds, Some(900.0));
        assert_eq!(p1.mttr_seconds, Some(3.0 * 3600.0));
        // a met both targets; b missed its response (20 > 15 min) and resolution (5 h > 4 h).
        assert_eq!((p1.targets_met, p1.targets_missed), (2, 2));
        assert_eq!(p1.targets_met_ratio, Some(0.5));
    }
}
