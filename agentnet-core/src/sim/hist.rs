//! A bounded log-bucket histogram for latencies.

/// Sub-buckets per power of two (as a bit count): 16 sub-buckets, so a reported percentile is
/// within 1/16 = 6.25 % of the true sample above it.
const SUB_BITS: u32 = 4;
const SUB: u64 = 1 << SUB_BITS;
/// Values below `SUB` get exact buckets; each further octave gets `SUB` buckets.
const BUCKETS: usize = ((64 - SUB_BITS + 1) * SUB as u32) as usize;

/// A histogram of `u64` values (the simulator records microseconds) with logarithmic buckets:
/// values below 16 are exact, larger ones fall into 16 buckets per power of two. Memory is fixed
/// (976 counters, allocated on first use) however many values are recorded; exact count, sum,
/// min and max are kept alongside.
///
/// [`percentile`](Self::percentile) reports the upper edge of the bucket holding the requested
/// rank (capped at the exact maximum), so it never under-states and over-states by < 6.25 %.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

fn bucket_of(v: u64) -> usize {
    if v < SUB {
        v as usize
    } else {
        let e = 63 - v.leading_zeros(); // >= SUB_BITS
        let sub = (v >> (e - SUB_BITS)) & (SUB - 1);
        ((e - SUB_BITS + 1) as u64 * SUB + sub) as usize
    }
}

/// The largest value that falls into bucket `b`.
fn bucket_high(b: usize) -> u64 {
    let b = b as u64;
    if b < SUB {
        b
    } else {
        let e = (b / SUB) as u32 + SUB_BITS - 1;
        let sub = b % SUB;
        let width = 1u64 << (e - SUB_BITS);
        ((SUB + sub) << (e - SUB_BITS)).saturating_add(width - 1)
    }
}

impl Histogram {
    /// An empty histogram (allocates nothing until the first value).
    pub fn new() -> Self {
        Self::default()
    }

    /// Record one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
            self.min = v;
        }
        self.counts[bucket_of(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Number of recorded values.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Smallest recorded value (exact), if any.
    pub fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// Largest recorded value (exact), if any.
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// Arithmetic mean (exact up to `f64` rounding), if any.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The value at quantile `q` in `[0, 1]` (0.5 = median, 0.99 = p99): the upper edge of the
    /// bucket holding the `ceil(q·count)`-th smallest value, capped at the maximum. `None` when
    /// empty. `q` outside `[0, 1]` is clamped; NaN reads as 0.
    pub fn percentile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bucket_high(b).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }

    /// Add every value recorded in `other`.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS];
            self.min = other.min;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_the_range_monotonically() {
        let mut prev = 0;
        for v in (0..5_000u64).chain([u64::MAX / 3, u64::MAX - 1, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b < BUCKETS);
            assert!(b >= prev);
            prev = b;
            assert!(bucket_high(b) >= v, "v={v} b={b}");
            if b > 0 {
                assert!(bucket_high(b - 1) < v, "v={v} b={b}");
            }
        }
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        assert_eq!(bucket_high(BUCKETS - 1), u64::MAX);
    }

    #[test]
    fn percentiles_are_close_and_never_low() {
        let mut h = Histogram::new();
        assert_eq!(h.percentile(0.5), None);
        for v in 1..=10_000u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 10_000);
        assert_eq!(h.min(), Some(1));
        assert_eq!(h.max(), Some(10_000));
        assert_eq!(h.mean(), Some(5_000.5));
        for (q, exact) in [(0.5, 5_000u64), (0.9, 9_000), (0.95, 9_500), (0.99, 9_900)] {
            let p = h.percentile(q).unwrap();
            assert!(
                p >= exact && (p as f64) < exact as f64 * 1.0625,
                "q={q} p={p}"
            );
        }
        assert_eq!(h.percentile(1.0), Some(10_000));
        assert_eq!(h.percentile(0.0), Some(1));
    }

    #[test]
    fn small_values_are_exact_and_merge_adds() {
        let mut a = Histogram::new();
        for v in [3, 3, 3, 7] {
            a.record(v);
        }
        assert_eq!(a.percentile(0.75), Some(3));
        assert_eq!(a.percentile(0.99), Some(7));
        let mut b = Histogram::new();
        b.record(1);
        b.merge(&a);
        assert_eq!(b.count(), 5);
        assert_eq!(b.min(), Some(1));
        assert_eq!(b.percentile(0.2), Some(1));
    }
}
