//! The seeded link model: how long a frame takes, and whether it is lost or duplicated.

use core::time::Duration;

use super::rng::{SimRng, exp};

/// The one-way latency distribution of a link. All samples are whole microseconds, clamped to
/// [`LinkModel::max_latency`].
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    /// Always exactly this long.
    Constant(Duration),
    /// Uniform over `[min, max]` (inclusive, microsecond resolution; the bounds may be swapped).
    Uniform {
        /// Lower bound.
        min: Duration,
        /// Upper bound.
        max: Duration,
    },
    /// Log-normal: `median · e^(sigma·Z)` with `Z` standard normal. Heavy right tail; typical
    /// wide-area values are `sigma` in `0.2..=1.0`. `sigma` must be finite and `>= 0`
    /// (negative is treated as its absolute value, NaN as 0).
    LogNormal {
        /// The median latency (`e^mu`).
        median: Duration,
        /// Shape (standard deviation of the underlying normal).
        sigma: f64,
    },
    /// Pareto (type I): `scale · U^(−1/shape)`, never below `scale`. Heavier tail for smaller
    /// `shape`; the mean is finite only for `shape > 1`. `shape <= 0` or NaN falls back to
    /// `Constant(scale)`.
    Pareto {
        /// The minimum latency (`x_m`).
        scale: Duration,
        /// The tail index (`alpha`).
        shape: f64,
    },
}

impl Default for Latency {
    /// `Constant(10 ms)`.
    fn default() -> Self {
        Latency::Constant(Duration::from_millis(10))
    }
}

/// How frames behave on one link (both directions). Every frame is sampled independently
/// from the simulator's link RNG stream.
///
/// A frame is first dropped with probability [`loss`](Self::loss); a surviving frame takes
/// `latency + U[0, jitter]` (clamped to [`max_latency`](Self::max_latency)), and with
/// probability [`duplicate`](Self::duplicate) a second copy is scheduled with its own
/// independently sampled delay. Jitter and heavy tails reorder frames, as real networks do.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkModel {
    /// Base one-way latency distribution. Default: `Constant(10 ms)`.
    pub latency: Latency,
    /// Extra delay drawn uniformly from `[0, jitter]` per frame (microsecond resolution).
    /// Default: zero. Range: any `Duration`.
    pub jitter: Duration,
    /// Probability in `[0, 1]` that a frame is lost. Default: 0. Values outside the range are
    /// clamped; NaN counts as 0.
    pub loss: f64,
    /// Probability in `[0, 1]` that a delivered frame arrives twice. Default: 0. Clamped like
    /// `loss`.
    pub duplicate: f64,
    /// Upper bound on one sampled delay (latency plus jitter), which keeps heavy-tailed
    /// distributions from scheduling frames hours ahead. Default: 60 s.
    pub max_latency: Duration,
}

impl Default for LinkModel {
    fn default() -> Self {
        LinkModel {
            latency: Latency::default(),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            max_latency: Duration::from_secs(60),
        }
    }
}

impl LinkModel {
    /// A lossless link with constant latency.
    pub fn constant(latency: Duration) -> Self {
        LinkModel {
            latency: Latency::Constant(latency),
            ..Self::default()
        }
    }

    /// A lossless link with latency uniform in `[min, max]`.
    pub fn uniform(min: Duration, max: Duration) -> Self {
        LinkModel {
            latency: Latency::Uniform { min, max },
            ..Self::default()
        }
    }

    /// A lossless link with log-normal latency.
    pub fn log_normal(median: Duration, sigma: f64) -> Self {
        LinkModel {
            latency: Latency::LogNormal { median, sigma },
            ..Self::default()
        }
    }

    /// A lossless link with Pareto latency.
    pub fn pareto(scale: Duration, shape: f64) -> Self {
        LinkModel {
            latency: Latency::Pareto { scale, shape },
            ..Self::default()
        }
    }

    /// The same model with loss probability `p`.
    #[must_use]
    pub fn with_loss(mut self, p: f64) -> Self {
        self.loss = p;
        self
    }

    /// The same model with duplication probability `p`.
    #[must_use]
    pub fn with_duplicate(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }

    /// The same model with uniform jitter up to `jitter`.
    #[must_use]
    pub fn with_jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// The same model with a different delay cap.
    #[must_use]
    pub fn with_max_latency(mut self, max: Duration) -> Self {
        self.max_latency = max;
        self
    }

    /// Whether the next frame is lost.
    #[inline]
    pub fn sample_loss(&self, rng: &mut SimRng) -> bool {
        rng.chance(self.loss)
    }

    /// Whether a delivered frame is duplicated.
    #[inline]
    pub fn sample_duplicate(&self, rng: &mut SimRng) -> bool {
        rng.chance(self.duplicate)
    }

    /// One frame's delay in microseconds: latency plus jitter, clamped to `max_latency`.
    pub fn sample_delay_micros(&self, rng: &mut SimRng) -> u64 {
        let base = match &self.latency {
            Latency::Constant(d) => micros(*d),
            Latency::Uniform { min, max } => rng.range_inclusive(micros(*min), micros(*max)),
            Latency::LogNormal { median, sigma } => {
                let sigma = if sigma.is_nan() { 0.0 } else { sigma.abs() };
                if sigma == 0.0 {
                    micros(*median)
                } else {
                    to_micros(micros(*median) as f64 * exp(sigma * rng.normal()))
                }
            }
            Latency::Pareto { scale, shape } => {
                if shape.is_nan() || *shape <= 0.0 {
                    micros(*scale)
                } else {
                    let u = rng.unit_open0();
                    to_micros(micros(*scale) as f64 * exp(-super::rng::ln(u) / shape))
                }
            }
        };
        let jitter = micros(self.jitter);
        let j = if jitter == 0 {
            0
        } else {
            rng.range_inclusive(0, jitter)
        };
        base.saturating_add(j).min(micros(self.max_latency))
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

fn to_micros(x: f64) -> u64 {
    // `as` saturates: +inf and huge values become u64::MAX, NaN becomes 0.
    x.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rng() -> SimRng {
        SimRng::from_seed([4; 32])
    }

    #[test]
    fn constant_and_uniform_stay_in_range() {
        let mut r = rng();
        let c = LinkModel::constant(Duration::from_millis(5));
        assert!((0..100).all(|_| c.sample_delay_micros(&mut r) == 5_000));
        let u = LinkModel::uniform(Duration::from_millis(2), Duration::from_millis(4));
        let xs: Vec<u64> = (0..5_000).map(|_| u.sample_delay_micros(&mut r)).collect();
        assert!(xs.iter().all(|x| (2_000..=4_000).contains(x)));
        assert!(xs.iter().any(|&x| x < 2_100) && xs.iter().any(|&x| x > 3_900));
        let j =
            LinkModel::constant(Duration::from_millis(1)).with_jitter(Duration::from_micros(50));
        assert!((0..1_000).all(|_| (1_000..=1_050).contains(&j.sample_delay_micros(&mut r))));
    }

    #[test]
    fn heavy_tails_have_the_right_shape() {
        let mut r = rng();
        let ln = LinkModel::log_normal(Duration::from_millis(20), 0.5);
        let mut xs: Vec<u64> = (0..20_001)
            .map(|_| ln.sample_delay_micros(&mut r))
            .collect();
        xs.sort_unstable();
        let median = xs[10_000];
        assert!((18_500..21_500).contains(&median), "median {median}");
        assert!(xs[20_000] > 2 * median);

        let p = LinkModel::pareto(Duration::from_millis(10), 1.5)
            .with_max_latency(Duration::from_secs(2));
        let ys: Vec<u64> = (0..20_000).map(|_| p.sample_delay_micros(&mut r)).collect();
        assert!(ys.iter().all(|&y| (10_000..=2_000_000).contains(&y)));
        // P(X > 2·scale) = 2^-1.5 ≈ 0.354.
        let frac = ys.iter().filter(|&&y| y > 20_000).count() as f64 / ys.len() as f64;
        assert!((frac - 0.354).abs() < 0.02, "{frac}");
    }

    #[test]
    fn loss_and_duplication_rates() {
        let mut r = rng();
        let m = LinkModel::default().with_loss(0.1).with_duplicate(0.25);
        let n = 20_000;
        let lost = (0..n).filter(|_| m.sample_loss(&mut r)).count() as f64 / n as f64;
        let dup = (0..n).filter(|_| m.sample_duplicate(&mut r)).count() as f64 / n as f64;
        assert!((lost - 0.1).abs() < 0.01, "{lost}");
        assert!((dup - 0.25).abs() < 0.015, "{dup}");
        let never = LinkModel::default().with_loss(-3.0);
        assert!((0..100).all(|_| !never.sample_loss(&mut r)));
        let always = LinkModel::default().with_loss(7.0);
        assert!((0..100).all(|_| always.sample_loss(&mut r)));
    }

    #[test]
    fn degenerate_parameters_fall_back() {
        let mut r = rng();
        let p = LinkModel::pareto(Duration::from_millis(3), f64::NAN);
        assert_eq!(p.sample_delay_micros(&mut r), 3_000);
        let l = LinkModel::log_normal(Duration::from_millis(3), 0.0);
        assert_eq!(l.sample_delay_micros(&mut r), 3_000);
        let capped = LinkModel::constant(Duration::from_secs(100));
        assert_eq!(capped.sample_delay_micros(&mut r), 60_000_000);
    }
}
