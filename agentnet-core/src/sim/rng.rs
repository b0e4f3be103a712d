//! Seeded randomness for the simulator, and the little floating-point math it needs.
//!
//! All randomness comes from ChaCha8 streams keyed by [`SimConfig::seed`](super::SimConfig);
//! different purposes (link sampling, churn, user draws) read different streams of the same key
//! so that, for example, enabling churn does not change which messages the link model drops.
//!
//! The distributions need `ln` and `exp`. The platform `libm` versions may differ in the last
//! bit between targets, which would make traces target-dependent, so [`ln`] and [`exp`] here are
//! built from IEEE-754 `+ − × ÷ √` only (all correctly rounded everywhere): the same seed gives
//! the same samples on every platform.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Stream numbers of the simulator's RNGs (see [`SimRng::stream`]).
pub(crate) mod stream {
    /// Link model: latency, jitter, loss, duplication.
    pub(crate) const LINK: u64 = 1;
    /// Churn: node selection and up/down durations.
    pub(crate) const CHURN: u64 = 2;
    /// Draws made by users through `Sim::rng`.
    pub(crate) const USER: u64 = 3;
}

/// A deterministic random source: ChaCha8 keyed by a 32-byte seed, on a numbered stream.
#[derive(Clone, Debug)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    /// Stream 0 of `seed`.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self::stream(seed, 0)
    }

    /// Stream `stream` of `seed`; distinct streams are independent.
    pub fn stream(seed: [u8; 32], stream: u64) -> Self {
        let mut r = ChaCha8Rng::from_seed(seed);
        r.set_stream(stream);
        SimRng(r)
    }

    /// 64 uniformly random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `[0, 1)` with 53 bits of precision.
    #[inline]
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `(0, 1]`; never zero, so its logarithm is finite.
    #[inline]
    pub fn unit_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `[0, n)`; `0` when `n == 0`. Unbiased (Lemire's method).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Shuffle `v` uniformly ([`shuffle`] with [`below`](Self::below) as the draw).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        shuffle(v, |n| self.below(n));
    }

    /// Uniform integer in `[lo, hi]` (inclusive; the bounds may come in either order).
    pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (hi, lo) };
        match (hi - lo).checked_add(1) {
            Some(span) => lo + self.below(span),
            None => self.next_u64(),
        }
    }

    /// `true` with probability `p` (`p <= 0` or NaN: never; `p >= 1`: always). Draws nothing
    /// when the answer is certain, so a zero-probability feature does not perturb the stream.
    #[inline]
    pub fn chance(&mut self, p: f64) -> bool {
        if p.is_nan() || p <= 0.0 {
            false
        } else if p >= 1.0 {
            true
        } else {
            self.unit() < p
        }
    }

    /// Exponentially distributed with the given mean.
    pub fn exponential(&mut self, mean: f64) -> f64 {
        -mean * ln(self.unit_open0())
    }

    /// Standard normal (Marsaglia's polar method).
    pub fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.unit() - 1.0;
            let v = 2.0 * self.unit() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * ln(s) / s).sqrt();
            }
        }
    }
}

const LN2: f64 = core::f64::consts::LN_2;
/// `LN2_HI + LN2_LO == ln 2` to well beyond `f64` precision.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;

/// Natural logarithm from basic IEEE operations only (accurate to a few ulps). `ln(0) = -inf`;
/// negative or NaN input gives NaN; `ln(+inf) = +inf`.
pub(super) fn ln(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 {
        return f64::NEG_INFINITY;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    // Normalise subnormals, then split x = m · 2^e with m in [1, 2).
    let (x, bias) = if x < f64::MIN_POSITIVE {
        (x * (1u64 << 54) as f64, -54)
    } else {
        (x, 0)
    };
    let bits = x.to_bits();
    let mut e = ((bits >> 52) & 0x7ff) as i64 - 1023 + bias;
    let mut m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    // Centre m on 1: [sqrt(1/2), sqrt(2)).
    if m > core::f64::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    // ln(m) = 2·atanh(s) with s = (m-1)/(m+1), |s| < 0.172.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = 0.0;
    let mut k = 1.0;
    while k < 40.0 {
        sum += term / k;
        term *= s2;
        k += 2.0;
    }
    let e = e as f64;
    e * LN2_HI + (e * LN2_LO + 2.0 * sum)
}

/// `e^x` from basic IEEE operations only (accurate to a few ulps). Underflows to 0 below about
/// −708 and overflows to `+inf` above about 709.
pub(super) fn exp(x: f64) -> f64 {
    if x.is_nan() {
        return x;
    }
    if x > 709.7 {
        return f64::INFINITY;
    }
    if x < -708.3 {
        return 0.0;
    }
    // x = k·ln2 + r, |r| <= ln2/2.
    let k = (x / LN2 + if x < 0.0 { -0.5 } else { 0.5 }) as i64;
    // Cody–Waite: `LN2_HI` has enough trailing zero bits that `k · LN2_HI` is exact.
    let r = (x - k as f64 * LN2_HI) - k as f64 * LN2_LO;
    // Taylor series of e^r, 20 terms: error far below one ulp for |r| < 0.35.
    let mut sum = 1.0;
    let mut term = 1.0;
    let mut n = 1.0;
    while n < 21.0 {
        term *= r / n;
        sum += term;
        n += 1.0;
    }
    // Scale by 2^k in two steps so k near the exponent limits stays representable.
    let half = k / 2;
    sum * pow2(half) * pow2(k - half)
}

fn pow2(k: i64) -> f64 {
    f64::from_bits(((k + 1023) as u64) << 52)
}

/// Fisher–Yates shuffle of `v`, drawing with `below(n)`, which must return a value in `[0, n)`.
/// The draw is the caller's so that every engine keeps its own seeded generator and its own
/// sequence of draws: positions are visited from the last down, one draw each.
pub fn shuffle<T>(v: &mut [T], mut below: impl FnMut(u64) -> u64) {
    for i in (1..v.len()).rev() {
        let j = below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_and_exp_match_std_closely() {
        for &x in &[
            1e-300, 1e-10, 0.001, 0.5, 0.7, 1.0, 1.5, 2.0, 10.0, 12345.678, 1e300,
        ] {
            let (a, b) = (ln(x), x.ln());
            assert!(
                (a - b).abs() <= 1e-14 * b.abs().max(1.0),
                "ln({x}) = {a} vs {b}"
            );
        }
        assert_eq!(ln(1.0), 0.0);
        assert_eq!(ln(0.0), f64::NEG_INFINITY);
        assert!(ln(-1.0).is_nan());
        assert!((ln(5e-320) - 5e-320f64.ln()).abs() < 1e-10);
        for &x in &[-700.0, -20.0, -1.0, -1e-9, 0.0, 0.3, 1.0, 2.5, 50.0, 700.0] {
            let (a, b) = (exp(x), x.exp());
            assert!((a - b).abs() <= 1e-14 * b, "exp({x}) = {a} vs {b}");
        }
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(1000.0), f64::INFINITY);
        assert_eq!(exp(-1000.0), 0.0);
    }

    #[test]
    fn streams_are_deterministic_and_distinct() {
        let seed = [9u8; 32];
        let a: Vec<u64> = {
            let mut r = SimRng::stream(seed, 1);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let mut r = SimRng::stream(seed, 1);
        assert_eq!(a, (0..4).map(|_| r.next_u64()).collect::<Vec<_>>());
        let mut other = SimRng::stream(seed, 2);
        assert_ne!(a, (0..4).map(|_| other.next_u64()).collect::<Vec<_>>());
    }

    #[test]
    fn draws_stay_in_range() {
        let mut r = SimRng::from_seed([1; 32]);
        for _ in 0..10_000 {
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            let v = r.unit_open0();
            assert!(v > 0.0 && v <= 1.0);
            assert!(r.below(7) < 7);
            let x = r.range_inclusive(10, 12);
            assert!((10..=12).contains(&x));
        }
        assert_eq!(r.below(0), 0);
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
        assert!(!r.chance(f64::NAN));
    }

    #[test]
    fn moments_are_plausible() {
        let mut r = SimRng::from_seed([2; 32]);
        let n = 20_000;
        let mean_exp: f64 = (0..n).map(|_| r.exponential(3.0)).sum::<f64>() / n as f64;
        assert!((mean_exp - 3.0).abs() < 0.15, "{mean_exp}");
        let xs: Vec<f64> = (0..n).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
        assert!(
            mean.abs() < 0.05 && (var - 1.0).abs() < 0.05,
            "{mean} {var}"
        );
    }
}
