//! Followers: typed models of the agents a mechanism governs, and their exact best responses.
//!
//! A [`FollowerType`] has effort costs, success probabilities and durations for three effort
//! levels, an outside gain from sabotage, the reputation it stands to lose when caught, the
//! cost of locking up a deposit, and its exposure to each verification tier. Its strategy
//! space ([`Strategy::ALL`]) is: decline, or work at an [`Effort`] with a [`Conduct`] —
//! report honestly, misreport a failed result as a success, or sabotage. [`best_response`]
//! evaluates every strategy's expected utility in closed form and returns the best; nothing
//! about how a type behaves is assumed.
//!
//! # The model of one task (all amounts in currency units)
//! With mechanism parameters flat `f`, bonus `b`, threshold `τ`, deposit `D`, slashing ratio
//! `σ`, tier `t` and execution deadline `T`, and the [`Environment`]:
//! - effort `e` succeeds with `s_e = success_e · min(1, T / duration_e)` (a rushed job fails
//!   more often);
//! - a checked score passes the threshold with `g(τ)` for a good result and `h(τ)` for a
//!   failed one ([`ScoreModel`]); so honest work passes with `P_e = s_e·g(τ) + (1 − s_e)·h(τ)`;
//! - a false claim is examined with `v = min(1, detect_t · exposure_t)`; a caught fraud is
//!   paid nothing, loses `σ·D` and the type's `reputation_stake` `R`;
//! - every worker pays `cost_e + provider_cost_t + capital_rate · D`.
//!
//! | strategy | expected utility |
//! |---|---|
//! | decline | 0 |
//! | work(e, honest) | `f + b·P_e − C` |
//! | work(e, misreport) | `P_e·(f + b) + (1 − P_e)·[(1 − v)(f + b) − v(σD + R)] − C` |
//! | work(e, sabotage) | `B + (1 − v)(f + b) − v(σD + R) − C` |
//!
//! where `C = cost_e + provider_cost_t + capital_rate·D` and `B` is the type's
//! `sabotage_gain`. A misreporter claims success only when its result failed the threshold
//! (when it passed, the truth is the better claim).

use crate::mechanism::{Mechanism, Tier, fraction, units};

/// How hard a follower works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Effort {
    /// Next to nothing.
    Shirk = 0,
    /// A quick job.
    Low = 1,
    /// A thorough job.
    Full = 2,
}

impl Effort {
    /// All levels, lowest first.
    pub const ALL: [Effort; 3] = [Effort::Shirk, Effort::Low, Effort::Full];
}

/// What a follower reports about its work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Conduct {
    /// Reports the checked truth.
    Honest,
    /// Claims a failed result passed.
    Misreport,
    /// Delivers a deliberately harmful result and claims it passed.
    Sabotage,
}

/// One point of a follower's strategy space.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Strategy {
    /// Refuse the task (utility 0).
    Decline,
    /// Take it.
    Work(Effort, Conduct),
}

impl Strategy {
    /// What the mechanism wants: honest full effort.
    pub const HONEST_FULL: Strategy = Strategy::Work(Effort::Full, Conduct::Honest);

    /// The whole strategy space; [`Strategy::HONEST_FULL`] first, so it wins ties.
    pub const ALL: [Strategy; 10] = [
        Strategy::HONEST_FULL,
        Strategy::Work(Effort::Low, Conduct::Honest),
        Strategy::Work(Effort::Shirk, Conduct::Honest),
        Strategy::Work(Effort::Full, Conduct::Misreport),
        Strategy::Work(Effort::Low, Conduct::Misreport),
        Strategy::Work(Effort::Shirk, Conduct::Misreport),
        Strategy::Work(Effort::Full, Conduct::Sabotage),
        Strategy::Work(Effort::Low, Conduct::Sabotage),
        Strategy::Work(Effort::Shirk, Conduct::Sabotage),
        Strategy::Decline,
    ];

    /// A short name for traces: `decline`, `full/honest`, `shirk/sabotage`, ….
    pub fn name(self) -> String {
        match self {
            Strategy::Decline => "decline".into(),
            Strategy::Work(e, c) => format!(
                "{}/{}",
                match e {
                    Effort::Shirk => "shirk",
                    Effort::Low => "low",
                    Effort::Full => "full",
                },
                match c {
                    Conduct::Honest => "honest",
                    Conduct::Misreport => "misreport",
                    Conduct::Sabotage => "sabotage",
                }
            ),
        }
    }
}

/// The kinds of follower the papers discuss.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FollowerKind {
    /// Does good work if it pays.
    Honest,
    /// Finds effort expensive.
    Lazy,
    /// Gains from sabotage.
    Adversarial,
    /// Gains from sabotage and has partners who vouch for it and share canary answers, so
    /// reputation and canaries see less of what it does.
    Colluding,
    /// Gains from sabotage and re-enters under a fresh identity, so it has no reputation to
    /// lose.
    Sybil,
}

impl FollowerKind {
    /// The snake-case name.
    pub fn name(self) -> &'static str {
        match self {
            FollowerKind::Honest => "honest",
            FollowerKind::Lazy => "lazy",
            FollowerKind::Adversarial => "adversarial",
            FollowerKind::Colluding => "colluding",
            FollowerKind::Sybil => "sybil",
        }
    }
}

/// One effort level of a follower type.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EffortProfile {
    /// What the effort costs the follower, units.
    pub cost: f64,
    /// Probability the result is good when not rushed, 0..=1.
    pub success: f64,
    /// Time the effort needs, ms.
    pub duration_ms: u64,
}

impl EffortProfile {
    /// The probability the result is good when the effort must be done within `deadline_ms`:
    /// `success · min(1, deadline / duration)` (a rushed job fails more often; an effort with
    /// no duration is never rushed). The model's `s_e`.
    pub fn success_within(&self, deadline_ms: f64) -> f64 {
        let rush = if self.duration_ms == 0 {
            1.0
        } else {
            // `min` first: a NaN deadline reads as unbounded, as in the model's terms.
            (deadline_ms / self.duration_ms as f64).min(1.0)
        };
        self.success * if rush > 0.0 { rush } else { 0.0 }
    }
}

/// A follower type. The presets ([`FollowerType::honest`] …) are the experiment's population;
/// every field is public for hosts modelling their own.
#[derive(Clone, Debug, PartialEq)]
pub struct FollowerType {
    /// Its kind (for reports).
    pub kind: FollowerKind,
    /// Share of the population, > 0 (shares are normalized per scenario).
    pub share: f64,
    /// Indexed by [`Effort`].
    pub effort: [EffortProfile; 3],
    /// Outside gain from one sabotaged delivery, units (`B`).
    pub sabotage_gain: f64,
    /// Future business lost when a fraud is caught, units (`R`).
    pub reputation_stake: f64,
    /// Cost of locking one unit of deposit for one task (`r`), ≥ 0.
    pub capital_rate: f64,
    /// Multiplier on the tier's detection probability, indexed by [`Tier::index`], ≥ 0.
    pub exposure: [f64; 3],
}

const HOUR: u64 = 3_600_000;

impl FollowerType {
    /// A diligent provider: full effort costs 20 and succeeds 95% of the time in 2 h.
    pub fn honest(share: f64) -> Self {
        FollowerType {
            kind: FollowerKind::Honest,
            share,
            effort: [
                EffortProfile {
                    cost: 0.0,
                    success: 0.05,
                    duration_ms: HOUR / 10,
                },
                EffortProfile {
                    cost: 8.0,
                    success: 0.6,
                    duration_ms: HOUR,
                },
                EffortProfile {
                    cost: 20.0,
                    success: 0.95,
                    duration_ms: 2 * HOUR,
                },
            ],
            sabotage_gain: 0.0,
            reputation_stake: 20.0,
            capital_rate: 0.01,
            exposure: [1.0; 3],
        }
    }

    /// Effort is expensive: full effort costs 35, succeeds 90% in 3 h.
    pub fn lazy(share: f64) -> Self {
        FollowerType {
            kind: FollowerKind::Lazy,
            share,
            effort: [
                EffortProfile {
                    cost: 0.0,
                    success: 0.05,
                    duration_ms: HOUR / 10,
                },
                EffortProfile {
                    cost: 12.0,
                    success: 0.55,
                    duration_ms: HOUR,
                },
                EffortProfile {
                    cost: 35.0,
                    success: 0.9,
                    duration_ms: 3 * HOUR,
                },
            ],
            ..FollowerType::honest(share)
        }
    }

    /// Honest costs, but each sabotaged delivery is worth 80 to it; 10 of reputation at stake.
    pub fn adversarial(share: f64) -> Self {
        FollowerType {
            kind: FollowerKind::Adversarial,
            sabotage_gain: 80.0,
            reputation_stake: 10.0,
            ..FollowerType::honest(share)
        }
    }

    /// An adversary whose partners hide it from reputation (exposure 0) and share canary
    /// answers (exposure 0.5); evidence checks see it fully.
    pub fn colluding(share: f64) -> Self {
        FollowerType {
            kind: FollowerKind::Colluding,
            exposure: [0.0, 0.5, 1.0],
            ..FollowerType::adversarial(share)
        }
    }

    /// An adversary with no reputation to lose: it re-enters under a fresh key.
    pub fn sybil(share: f64) -> Self {
        FollowerType {
            kind: FollowerKind::Sybil,
            reputation_stake: 0.0,
            ..FollowerType::adversarial(share)
        }
    }
}

/// How a checked quality score relates to the result: a good result scores uniformly in
/// `[good_low, 1]`, a failed one uniformly in `[0, bad_high]`. The overlap is what makes a
/// threshold a trade-off: raising it rejects more failed work and more good work.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreModel {
    /// Lowest score of a good result. Default 0.5; range `[0, 1)`.
    pub good_low: f64,
    /// Highest score of a failed result. Default 0.6; range `(0, 1]`.
    pub bad_high: f64,
}

impl Default for ScoreModel {
    fn default() -> Self {
        ScoreModel {
            good_low: 0.5,
            bad_high: 0.6,
        }
    }
}

impl ScoreModel {
    /// `g(τ)`: probability a good result scores at least `tau`.
    pub fn pass_good(&self, tau: f64) -> f64 {
        ((1.0 - tau) / (1.0 - self.good_low)).clamp(0.0, 1.0)
    }

    /// `h(τ)`: probability a failed result scores at least `tau`.
    pub fn pass_bad(&self, tau: f64) -> f64 {
        ((self.bad_high - tau) / self.bad_high).clamp(0.0, 1.0)
    }
}

/// What verification does and costs, and the task's economics. Defaults are the experiment's.
#[derive(Clone, Debug, PartialEq)]
pub struct Environment {
    /// Probability a false claim is examined and caught, per tier. Default `[0.1, 0.5, 0.95]`.
    pub detect: [f64; 3],
    /// What meeting the tier costs the provider per task, units. Default `[0, 1, 3]`.
    pub provider_cost: [f64; 3],
    /// What checking at the tier costs the requester per task, units. Default `[0, 0.5, 1.5]`.
    pub requester_cost: [f64; 3],
    /// Quality scores.
    pub score: ScoreModel,
    /// Value of a good result to the requester, units. Default 100.
    pub value: f64,
    /// Damage a sabotaged delivery does to the requester, units. Default 50.
    pub harm: f64,
    /// Value lost per hour the requester must reserve for execution (the execution deadline),
    /// units. Default 0.5.
    pub delay_cost_per_hour: f64,
}

impl Default for Environment {
    fn default() -> Self {
        Environment {
            detect: [0.1, 0.5, 0.95],
            provider_cost: [0.0, 1.0, 3.0],
            requester_cost: [0.0, 0.5, 1.5],
            score: ScoreModel::default(),
            value: 100.0,
            harm: 50.0,
            delay_cost_per_hour: 0.5,
        }
    }
}

/// A mechanism's parameters in units and fractions, as the model uses them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Terms {
    /// `f`.
    pub flat: f64,
    /// `b`.
    pub bonus: f64,
    /// `τ`.
    pub threshold: f64,
    /// `D`.
    pub deposit: f64,
    /// `σ`.
    pub slashing: f64,
    /// `t`.
    pub tier: Tier,
    /// `T`, hours.
    pub execute_hours: f64,
}

impl Terms {
    /// The terms of `m` (a mechanism without a payment clause pays nothing).
    pub fn of(m: &Mechanism) -> Terms {
        let (flat, bonus) = m.payment().unwrap_or((0, 0));
        Terms {
            flat: units(flat),
            bonus: units(bonus),
            threshold: fraction(m.min_score()),
            deposit: units(m.deposit()),
            slashing: fraction(m.slashing_ratio()),
            tier: m.tier(),
            execute_hours: m.deadlines().execute_ms as f64 / HOUR as f64,
        }
    }
}

/// What one strategy leads to, in expectation.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Outcome {
    /// The follower's expected utility.
    pub utility: f64,
    /// Expected payment from the requester.
    pub payment: f64,
    /// Expected deposit forfeited.
    pub slashed: f64,
    /// Probability the delivered result is good.
    pub success: f64,
    /// Probability a fraud is caught.
    pub caught: f64,
    /// Expected social welfare: value delivered − harm − every real cost (effort,
    /// verification on both sides, capital, delay). Transfers are not welfare.
    pub welfare: f64,
}

/// The expected outcome of `strategy` for type `ty` under `terms` (formulas in the module
/// docs).
pub fn outcome(ty: &FollowerType, strategy: Strategy, terms: &Terms, env: &Environment) -> Outcome {
    let Strategy::Work(effort, conduct) = strategy else {
        return Outcome::default();
    };
    let p = ty.effort[effort as usize];
    let t = terms.tier.index();
    let s = p.success_within(terms.execute_hours * HOUR as f64);
    let pass =
        s * env.score.pass_good(terms.threshold) + (1.0 - s) * env.score.pass_bad(terms.threshold);
    let v = (env.detect[t] * ty.exposure[t]).clamp(0.0, 1.0);
    let pay = terms.flat + terms.bonus;
    let penalty_slash = terms.slashing * terms.deposit;
    let cost = p.cost + env.provider_cost[t] + ty.capital_rate * terms.deposit;
    let real_cost = cost + env.requester_cost[t] + env.delay_cost_per_hour * terms.execute_hours;
    let (payment, slashed, caught, success, gain) = match conduct {
        Conduct::Honest => (terms.flat + terms.bonus * pass, 0.0, 0.0, s, 0.0),
        Conduct::Misreport => {
            let lie = 1.0 - pass;
            (
                pass * pay + lie * (1.0 - v) * pay,
                lie * v * penalty_slash,
                lie * v,
                s,
                0.0,
            )
        }
        Conduct::Sabotage => ((1.0 - v) * pay, v * penalty_slash, v, 0.0, ty.sabotage_gain),
    };
    let utility = payment - slashed - caught * ty.reputation_stake + gain - cost;
    let harm = if conduct == Conduct::Sabotage {
        env.harm
    } else {
        0.0
    };
    Outcome {
        utility,
        payment,
        slashed,
        success,
        caught,
        welfare: success * env.value - harm - real_cost,
    }
}

/// A type's best response: the strategy with the highest expected utility, ties going to the
/// earlier entry of [`Strategy::ALL`] (so honest full effort wins every tie it is part of).
pub fn best_response(ty: &FollowerType, terms: &Terms, env: &Environment) -> (Strategy, Outcome) {
    let mut all = Strategy::ALL
        .into_iter()
        .map(|s| (s, outcome(ty, s, terms, env)));
    let first = all.next().expect("the strategy space is not empty");
    all.fold(first, |best, (s, o)| {
        if o.utility > best.1.utility + TIE {
            (s, o)
        } else {
            best
        }
    })
}

/// Utilities closer than this are a tie (units).
pub const TIE: f64 = 1e-9;

/// The first-best welfare of one task for `ty`: the best effort with no verification, no
/// deposit, and the effort's own duration as the deadline; 0 if no effort is worth it.
pub fn first_best(ty: &FollowerType, env: &Environment) -> f64 {
    ty.effort
        .iter()
        .map(|p| {
            p.success * env.value
                - p.cost
                - env.delay_cost_per_hour * p.duration_ms as f64 / HOUR as f64
        })
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> Terms {
        Terms {
            flat: 10.0,
            bonus: 60.0,
            threshold: 0.5,
            deposit: 30.0,
            slashing: 1.0,
            tier: Tier::Evidence,
            execute_hours: 3.0,
        }
    }

    #[test]
    fn decline_is_worth_nothing_and_costs_nothing() {
        let o = outcome(
            &FollowerType::honest(1.0),
            Strategy::Decline,
            &terms(),
            &Environment::default(),
        );
        assert_eq!(o, Outcome::default());
    }

    #[test]
    fn flat_pay_alone_makes_everyone_shirk_and_adversaries_sabotage() {
        let env = Environment::default();
        let naive = Terms {
            flat: 60.0,
            bonus: 0.0,
            threshold: 0.0,
            deposit: 0.0,
            slashing: 0.0,
            tier: Tier::Reputation,
            execute_hours: 24.0,
        };
        let (s, _) = best_response(&FollowerType::honest(1.0), &naive, &env);
        assert_eq!(s, Strategy::Work(Effort::Shirk, Conduct::Honest));
        let (s, _) = best_response(&FollowerType::adversarial(1.0), &naive, &env);
        assert!(matches!(
            s,
            Strategy::Work(Effort::Shirk, Conduct::Sabotage)
        ));
    }

    #[test]
    fn a_rushed_deadline_lowers_success() {
        let env = Environment::default();
        let ty = FollowerType::honest(1.0);
        let slow = outcome(&ty, Strategy::HONEST_FULL, &terms(), &env);
        let rushed = outcome(
            &ty,
            Strategy::HONEST_FULL,
            &Terms {
                execute_hours: 1.0,
                ..terms()
            },
            &env,
        );
        assert!((slow.success - 0.95).abs() < 1e-12);
        assert!((rushed.success - 0.475).abs() < 1e-12);
    }

    #[test]
    fn score_model_edges() {
        let m = ScoreModel::default();
        assert_eq!(m.pass_good(0.0), 1.0);
        assert_eq!(m.pass_bad(0.0), 1.0);
        assert_eq!(m.pass_bad(0.6), 0.0);
        assert!((m.pass_good(0.75) - 0.5).abs() < 1e-12);
        assert_eq!(m.pass_good(1.0), 0.0);
    }
}
