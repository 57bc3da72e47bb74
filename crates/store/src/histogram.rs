//! The latency histogram: log-linear, as HDR histograms are. Latencies under 64 µs each have
//! their own bucket; above that, every power of two is split into 32 equal buckets, so a bucket
//! is at most 1/32 of its lower bound wide and its midpoint is within 1.6% of every latency in
//! it. Buckets are the same for every check and every period, so summing histograms is exact.
//! Only buckets that are not empty are kept, in memory and in the store.

/// Latencies under this many microseconds are counted exactly.
const LINEAR: u64 = 64;
/// Buckets per power of two above `LINEAR` (2^SUB_BITS).
const SUB_BITS: u32 = 5;
const SUB: u64 = 1 << SUB_BITS;

/// The bucket of a latency in microseconds.
pub fn index(us: u64) -> u16 {
    if us < LINEAR {
        return us as u16;
    }
    let octave = 63 - us.leading_zeros(); // ≥ 6
    let shift = octave - SUB_BITS;
    let sub = (us >> shift) - SUB; // 0..32
    (LINEAR + u64::from(octave - 6) * SUB + sub) as u16
}

/// The smallest latency in bucket `i`, and the bucket's width (microseconds).
pub fn bounds(i: u16) -> (u64, u64) {
    let i = u64::from(i);
    if i < LINEAR {
        return (i, 1);
    }
    let (octave, sub) = ((i - LINEAR) / SUB + 6, (i - LINEAR) % SUB);
    let shift = octave as u32 - SUB_BITS;
    ((SUB + sub) << shift, 1 << shift)
}

/// Counts per bucket, sorted by bucket, without empty ones.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram(Vec<(u16, u64)>);

impl Histogram {
    pub fn record(&mut self, us: u64) {
        self.add(index(us), 1);
    }

    /// Adds `n` runs to bucket `i`.
    pub fn add(&mut self, i: u16, n: u64) {
        if n == 0 {
            return;
        }
        match self.0.binary_search_by_key(&i, |&(b, _)| b) {
            Ok(at) => self.0[at].1 += n,
            Err(at) => self.0.insert(at, (i, n)),
        }
    }

    pub fn merge(&mut self, other: &Histogram) {
        if self.0.is_empty() {
            self.0.clone_from(&other.0);
            return;
        }
        // One run (or a few) at a time, as results arrive: in place.
        if other.0.len() <= 4 {
            for &(i, n) in &other.0 {
                self.add(i, n);
            }
            return;
        }
        let mut merged = Vec::with_capacity(self.0.len().max(other.0.len()));
        let (mut a, mut b) = (self.0.iter().peekable(), other.0.iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&(i, n)), Some(&&(j, m))) if i == j => {
                    a.next();
                    b.next();
                    (i, n + m)
                }
                (Some(&&x), Some(&&y)) => {
                    if x.0 < y.0 {
                        a.next();
                        x
                    } else {
                        b.next();
                        y
                    }
                }
                (Some(&&x), None) => {
                    a.next();
                    x
                }
                (None, Some(&&y)) => {
                    b.next();
                    y
                }
                (None, None) => break,
            };
            merged.push(next);
        }
        self.0 = merged;
    }

    /// The sum of many histograms, added up in one dense array: a window of 360 minutes costs
    /// one pass over their buckets, not 360 merges.
    pub fn sum<'a>(histograms: impl IntoIterator<Item = &'a Histogram>) -> Histogram {
        let histograms: Vec<&Histogram> = histograms.into_iter().filter(|h| !h.0.is_empty()).collect();
        let Some(low) = histograms.iter().map(|h| usize::from(h.0[0].0)).min() else {
            return Histogram::default();
        };
        let high = histograms.iter().map(|h| usize::from(h.0[h.0.len() - 1].0)).max().unwrap_or(low);
        let mut dense = vec![0u64; high - low + 1];
        for h in histograms {
            for &(i, n) in &h.0 {
                dense[usize::from(i) - low] += n;
            }
        }
        let buckets = dense.iter().enumerate().filter(|(_, n)| **n > 0).map(|(i, &n)| ((low + i) as u16, n));
        Histogram(buckets.collect())
    }

    pub fn count(&self) -> u64 {
        self.0.iter().map(|&(_, n)| n).sum()
    }

    /// The non-empty buckets and their counts.
    pub fn buckets(&self) -> &[(u16, u64)] {
        &self.0
    }

    /// The latency (µs) at quantile `q` (0–1), by nearest rank: the midpoint of the bucket that
    /// holds that run, never above `max` when the largest latency is known (and `max` itself
    /// for the last run).
    pub fn quantile(&self, q: f64, max: Option<u64>) -> Option<u64> {
        let count = self.count();
        if count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * count as f64).ceil() as u64).max(1);
        if let Some(max) = max.filter(|_| rank == count) {
            return Some(max);
        }
        let mut seen = 0;
        for &(i, n) in &self.0 {
            seen += n;
            if seen >= rank {
                let (lower, width) = bounds(i);
                let mid = lower + width / 2;
                return Some(max.map_or(mid, |max| mid.min(max.max(lower))));
            }
        }
        None
    }

    /// The histogram as stored: per bucket, the gap from the previous one and the count, each
    /// a LEB128 varint (a minute of a 10-second check is a dozen bytes).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.0.len() * 3);
        let mut last = 0u16;
        for &(i, n) in &self.0 {
            varint(&mut out, u64::from(i - last));
            varint(&mut out, n);
            last = i;
        }
        out
    }

    /// Reads what [`Histogram::encode`] wrote; a damaged blob yields what could be read.
    pub fn decode(bytes: &[u8]) -> Histogram {
        let mut buckets = Vec::with_capacity(bytes.len() / 2);
        let (mut at, mut last) = (0, 0u64);
        while let (Some(gap), Some(n)) = (read_varint(bytes, &mut at), read_varint(bytes, &mut at)) {
            last += gap;
            let Ok(i) = u16::try_from(last) else { break };
            if buckets.last().is_some_and(|&(prev, _)| prev >= i) {
                break;
            }
            buckets.push((i, n));
        }
        buckets.retain(|&(_, n)| n > 0);
        Histogram(buckets)
    }

    /// What was recorded after `earlier` (a histogram this one contains).
    pub fn since(&self, earlier: &Histogram) -> Histogram {
        let mut out = self.clone();
        for &(i, n) in &earlier.0 {
            if let Ok(at) = out.0.binary_search_by_key(&i, |&(b, _)| b) {
                out.0[at].1 = out.0[at].1.saturating_sub(n);
            }
        }
        out.0.retain(|&(_, n)| n > 0);
        out
    }
}

pub(crate) fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn read_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_latency_falls_in_a_bucket_that_holds_it() {
        let mut previous = 0;
        for us in (0..5_000).chain((5_000..100_000_000).step_by(997)).chain([u64::MAX / 2, u64::MAX]) {
            let i = index(us);
            let (lower, width) = bounds(i);
            assert!(lower <= us && us - lower < width, "{us} in bucket {i} = [{lower}, +{width})");
            assert!(i >= previous, "buckets grow with latency");
            previous = i;
            // The midpoint is within 1.6% of any latency in the bucket.
            let mid = (lower + width / 2) as f64;
            assert!((mid - us as f64).abs() <= (us as f64 / 64.0).max(0.5), "{us} → {mid}");
        }
        assert!(index(u64::MAX) < 2048);
    }

    #[test]
    fn stored_form_reads_back_and_stays_small() {
        let mut h = Histogram::default();
        for us in [900, 950, 1_000, 1_020, 1_500, 250_000, 250_100, 3_000_000_000] {
            h.record(us);
        }
        h.add(index(1_000), 300);
        let bytes = h.encode();
        assert_eq!(Histogram::decode(&bytes), h);
        assert!(bytes.len() <= 3 * h.buckets().len(), "{} bytes", bytes.len());
        assert_eq!(Histogram::decode(&[]), Histogram::default());
        // A damaged blob is cut where it stops making sense, never a panic.
        let cut = Histogram::decode(&bytes[..bytes.len() - 1]);
        assert!(cut.count() < h.count());
        let _ = Histogram::decode(&[0xff; 40]);
    }

    #[test]
    fn merging_and_subtracting_are_exact() {
        let (mut a, mut b, mut all) = (Histogram::default(), Histogram::default(), Histogram::default());
        for (n, us) in [40u64, 700, 70_000, 700, 9, 5_000_000].into_iter().enumerate() {
            if n % 2 == 0 {
                a.record(us)
            } else {
                b.record(us)
            }
            all.record(us);
        }
        let mut merged = a.clone();
        merged.merge(&b);
        assert_eq!(merged, all);
        assert_eq!(Histogram::sum([&a, &b, &Histogram::default()]), all);
        assert_eq!(Histogram::sum([]), Histogram::default());
        assert_eq!(all.since(&a), b);
        assert_eq!(all.since(&all), Histogram::default());
    }

    #[test]
    fn quantiles_are_within_two_percent_of_the_exact_rank() {
        let mut h = Histogram::default();
        let mut raw: Vec<u64> = (0..10_000u64).map(|i| 200 + (i * i * 7919) % 2_000_000).collect();
        for &us in &raw {
            h.record(us);
        }
        raw.sort();
        for q in [0.5, 0.9, 0.95, 0.99, 0.999, 1.0] {
            let exact = raw[((q * raw.len() as f64).ceil() as usize).max(1) - 1] as f64;
            let got = h.quantile(q, None).unwrap() as f64;
            assert!((got - exact).abs() / exact <= 0.02, "q{q}: {got} vs {exact}");
        }
        // The largest latency caps the top bucket's midpoint.
        assert_eq!(h.quantile(1.0, Some(raw[raw.len() - 1])), Some(raw[raw.len() - 1]));
        assert_eq!(Histogram::default().quantile(0.5, None), None);
    }
}
