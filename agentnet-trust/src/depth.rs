//! How many canaries a tier-2 check needs: the risk policy's depth of verification, learned from
//! what this agent's own checks found.
//!
//! # Why a fixed number is not enough
//!
//! A canary catches a bad provider only with some probability: a provider whose capability
//! drifted may still answer a given task right. With `d` the chance that a bad provider fails
//! one canary and `ρ` the chance that the provider about to be checked is bad, the chance that
//! it passes `n` canaries and then returns a wrong result is
//!
//! ```text
//!                 ρ·(1−d)ⁿ
//! residual(n) = ───────────────── · d
//!               ρ·(1−d)ⁿ + (1−ρ)
//! ```
//!
//! (the posterior that it is bad after `n` passes, times the chance that a bad provider gets the
//! real task wrong, assumed equal to `d`). With one canary, `d = 0.6` and one provider in five
//! drifted, that is about 5 % per task — 10 % per two-step workflow. No single setting of the
//! canary count is right for both a quiet network (one canary is waste enough) and one where
//! capabilities drift fast or Sybils abound.
//!
//! # What it does
//!
//! [`CanaryDepth`] keeps a running estimate of `ρ` for two classes of candidate, because they
//! fail for different reasons:
//!
//! - **proven**: providers this agent has seen deliver a checked result before. They go bad by
//!   drifting; `ρ` here is the drift this agent actually meets.
//! - **strangers**: providers it has never seen deliver. They are bad when they are Sybils or
//!   broken; `ρ` here is how poisoned the index is.
//!
//! Each finished check (every canary of an attempt answered, or one failed) updates its class:
//! a check of `n` canaries catches a bad provider with probability `1 − (1−d)ⁿ`, so
//! `x = failed / (1 − (1−d)ⁿ)` has expectation `ρ` whatever `n` was, and the estimate moves
//! toward `x` by [`DepthConfig::memory`] (an exponential moving average, clamped to `[0, 1]`).
//! [`CanaryDepth::depth`] then returns the smallest `n` in [`DepthConfig::min`]`..=`
//! [`DepthConfig::max`] whose residual is at most [`DepthConfig::target`] (or `max` if none
//! is).
//!
//! The estimates start at zero: a new agent begins with [`DepthConfig::min`] canaries and
//! deepens its checks as its checks start to fail. They are statistics, not acknowledged state:
//! a host need not persist them, and a restarted agent relearns them.
//!
//! # Threat model
//!
//! The estimate moves only on checks this agent ran itself against answers it knows, so no peer
//! can talk it down. A provider can raise it (by failing canaries) — that only buys more
//! canaries for everyone, up to `max`, which the requester pays for and which is bounded. A
//! Sybil cannot tell a deeper check from a shallower one on the wire: canaries and the real task
//! travel alike, in random order.

use agentnet_core::ConfigError;

/// Settings of [`CanaryDepth`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DepthConfig {
    /// Fewest canaries per tier-2 attempt. Default 1; range 1..=8.
    pub min: usize,
    /// Most canaries per tier-2 attempt. Default 4; range `min`..=8.
    pub max: usize,
    /// The residual risk aimed for: chance that a provider passes every canary and then gets
    /// the real task wrong. Default 0.02; range 0.0001..=1 (1 = always `min`).
    pub target: f64,
    /// Assumed chance that a bad provider fails one canary (and the real task). Lower is more
    /// cautious. Default 0.5; range 0.01..=1.
    pub detection: f64,
    /// Weight of the newest check in the moving estimates. Default 0.1; range 0.001..=1.
    pub memory: f64,
}

impl Default for DepthConfig {
    fn default() -> Self {
        DepthConfig {
            min: 1,
            max: 4,
            target: 0.02,
            detection: 0.5,
            memory: 0.1,
        }
    }
}

impl DepthConfig {
    /// Check the documented ranges.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use agentnet_core::config::check_range;
        check_range("canaries.min", self.min, 1..=8, "1..=8")?;
        check_range("canaries.max", self.max, self.min..=8, "min..=8")?;
        check_range("canaries.target", self.target, 0.0001..=1.0, "0.0001..=1")?;
        check_range("canaries.detection", self.detection, 0.01..=1.0, "0.01..=1")?;
        check_range("canaries.memory", self.memory, 0.001..=1.0, "0.001..=1")
    }
}

/// The two classes of candidate (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// This agent has seen it deliver a checked result.
    Proven,
    /// It has not.
    Stranger,
}

/// Running estimates of how often a checked provider is bad, and the canary count they call
/// for.
#[derive(Clone, Debug, PartialEq)]
pub struct CanaryDepth {
    config: DepthConfig,
    proven: f64,
    strangers: f64,
}

impl CanaryDepth {
    /// Estimates at zero. Refuses a config outside its documented ranges.
    pub fn new(config: DepthConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(CanaryDepth {
            config,
            proven: 0.0,
            strangers: 0.0,
        })
    }

    /// The settings.
    pub fn config(&self) -> &DepthConfig {
        &self.config
    }

    /// The current estimate of the share of bad providers in `class`, `[0, 1]`.
    pub fn bad_share(&self, class: Class) -> f64 {
        match class {
            Class::Proven => self.proven,
            Class::Stranger => self.strangers,
        }
    }

    /// The chance that a provider of `class` passes `n` canaries and then gets the real task
    /// wrong, under the current estimate.
    pub fn residual(&self, class: Class, n: usize) -> f64 {
        let d = self.config.detection;
        let rho = self.bad_share(class);
        let slip = rho * (1.0 - d).powi(n.min(64) as i32);
        let denominator = slip + (1.0 - rho);
        if denominator <= 0.0 {
            return d;
        }
        slip / denominator * d
    }

    /// Canaries the next check of a provider of `class` needs.
    pub fn depth(&self, class: Class) -> usize {
        let c = &self.config;
        (c.min..=c.max)
            .find(|&n| self.residual(class, n) <= c.target)
            .unwrap_or(c.max)
    }

    /// A check of a provider of `class` with `canaries` canaries ended: `failed` if a canary
    /// was answered wrong. Checks without canaries teach nothing and are ignored.
    pub fn record(&mut self, class: Class, canaries: usize, failed: bool) {
        if canaries == 0 {
            return;
        }
        let d = self.config.detection;
        let caught = 1.0 - (1.0 - d).powi(canaries.min(64) as i32);
        let x = if failed { 1.0 / caught } else { 0.0 };
        let w = self.config.memory;
        let est = match class {
            Class::Proven => &mut self.proven,
            Class::Stranger => &mut self.strangers,
        };
        *est = (*est + w * (x - *est)).clamp(0.0, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn depth() -> CanaryDepth {
        CanaryDepth::new(DepthConfig::default()).unwrap()
    }

    #[test]
    fn a_quiet_network_costs_the_minimum() {
        let mut d = depth();
        assert_eq!(d.depth(Class::Proven), 1);
        for _ in 0..100 {
            d.record(Class::Proven, 1, false);
        }
        assert_eq!(d.depth(Class::Proven), 1);
        assert_eq!(d.bad_share(Class::Proven), 0.0);
    }

    #[test]
    fn failures_deepen_the_check_of_their_class_only() {
        let mut d = depth();
        // One check in eight fails: the share of bad proven providers is about 0.25.
        for i in 0..400 {
            d.record(Class::Proven, 1, i % 8 == 0);
        }
        let n = d.depth(Class::Proven);
        assert!(n > 1, "drift calls for more than one canary, got {n}");
        assert!(d.residual(Class::Proven, n) <= 0.02);
        assert!(d.residual(Class::Proven, n - 1) > 0.02, "n is the smallest");
        assert_eq!(d.depth(Class::Stranger), 1, "strangers are estimated apart");
    }

    #[test]
    fn the_estimate_does_not_depend_on_how_deep_the_checks_were() {
        // A bad share of 0.3 met with checks of 1 and of 3 canaries (d = 0.5): the failure
        // frequency differs, the estimate does not (on average).
        let estimate = |n: usize| {
            let caught = 1.0 - 0.5f64.powi(n as i32);
            let mut d = CanaryDepth::new(DepthConfig {
                memory: 0.001,
                ..DepthConfig::default()
            })
            .unwrap();
            // Fail in exactly a `0.3·caught` share of checks, evenly spread.
            let mut due = 0.0;
            for _ in 0..20_000 {
                due += 0.3 * caught;
                let fail = due >= 1.0;
                if fail {
                    due -= 1.0;
                }
                d.record(Class::Stranger, n, fail);
            }
            d.bad_share(Class::Stranger)
        };
        let (one, three) = (estimate(1), estimate(3));
        assert!((one - 0.3).abs() < 0.05, "{one}");
        assert!((three - 0.3).abs() < 0.05, "{three}");
    }

    #[test]
    fn an_unreachable_target_stops_at_the_maximum() {
        let mut d = CanaryDepth::new(DepthConfig {
            target: 0.0001,
            ..DepthConfig::default()
        })
        .unwrap();
        for _ in 0..50 {
            d.record(Class::Stranger, 1, true);
        }
        assert_eq!(d.bad_share(Class::Stranger), 1.0);
        assert_eq!(d.depth(Class::Stranger), 4);
    }

    #[test]
    fn configs_out_of_range_are_refused() {
        for c in [
            DepthConfig {
                min: 0,
                ..DepthConfig::default()
            },
            DepthConfig {
                min: 3,
                max: 2,
                ..DepthConfig::default()
            },
            DepthConfig {
                target: 0.0,
                ..DepthConfig::default()
            },
            DepthConfig {
                detection: f64::NAN,
                ..DepthConfig::default()
            },
        ] {
            assert!(CanaryDepth::new(c).is_err(), "{c:?}");
        }
    }

    proptest! {
        #[test]
        fn depth_stays_in_bounds_and_grows_with_the_estimate(
            checks in proptest::collection::vec((any::<bool>(), 0usize..6, any::<bool>()), 0..200),
            min in 1usize..4,
            extra in 0usize..4,
        ) {
            let cfg = DepthConfig { min, max: min + extra, ..DepthConfig::default() };
            let mut d = CanaryDepth::new(cfg).unwrap();
            for (proven, n, failed) in checks {
                let class = if proven { Class::Proven } else { Class::Stranger };
                let before = (d.bad_share(class), d.depth(class));
                d.record(class, n, failed);
                let after = (d.bad_share(class), d.depth(class));
                prop_assert!((0.0..=1.0).contains(&after.0));
                prop_assert!((cfg.min..=cfg.max).contains(&after.1));
                // A failure never makes the check shallower, a pass never deeper.
                if failed && n > 0 {
                    prop_assert!(after.0 >= before.0 && after.1 >= before.1);
                } else {
                    prop_assert!(after.0 <= before.0 && after.1 <= before.1);
                }
            }
        }
    }
}
