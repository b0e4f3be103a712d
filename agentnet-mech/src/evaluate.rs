//! Evaluation: what a mechanism does to a population, and the metrics the loop optimizes.
//!
//! A [`Scenario`] is a population of [`FollowerType`]s and an [`Environment`]. [`evaluate`]
//! computes every type's exact best response ([`best_response`]) and reports, with `V` the
//! task's value and shares `w_θ` normalized to sum to 1:
//!
//! - **IC violation** `= max_θ [u_θ(BR_θ) − u_θ(honest full)] / V`: the largest gain any type
//!   gets by deviating from honest full effort (declining included). 0 means honest full
//!   effort is a best response for every type.
//! - **IR violation** `= max_θ max(0, −u_θ(honest full)) / V`: the largest expected loss of a
//!   participant that works honestly and fully. 0 means honest participation never loses.
//! - **System loss** `= clamp((W* − W) / W*, 0, 1)` with `W = Σ w_θ · welfare(BR_θ)` and the
//!   first-best `W* = Σ w_θ · first_best(θ)` ([`first_best`]: best effort, no verification,
//!   no deposit, no waiting beyond the work's own duration). Welfare counts value delivered,
//!   harm done and every real cost; payments and slashed deposits are transfers.
//! - **Budget balance** `= Σ w_θ (payment_θ − slashed_θ) / budget`: the leader's expected net
//!   outlay per task as a share of its budget (≤ 1 for every valid mechanism; the leader keeps
//!   forfeited deposits).
//!
//! Over a suite of scenarios ([`SuiteReport`]), IC, IR and budget balance are the maxima and
//! system loss the mean. A scenario **passes** when its IC and IR violations are at most
//! [`TOLERANCE`]; a candidate **regresses** on a scenario when it fails a scenario the
//! incumbent passed, or makes a failing scenario's violation (IC + IR) larger
//! ([`no_regression`]). The regression pass rate is the share of scenarios without regression.

use crate::follower::{
    Environment, FollowerType, Outcome, Strategy, Terms, best_response, first_best, outcome,
};
use crate::mechanism::{Mechanism, units};

/// Violations at or below this are zero (fractions of the task value).
pub const TOLERANCE: f64 = 1e-9;

/// A population facing one kind of task.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// A name for traces.
    pub name: String,
    /// The follower types; shares are normalized.
    pub population: Vec<FollowerType>,
    /// Verification and task economics.
    pub env: Environment,
}

/// One type's behaviour under a mechanism.
#[derive(Clone, Debug, PartialEq)]
pub struct TypeReport {
    /// The type.
    pub kind: crate::follower::FollowerKind,
    /// Normalized share.
    pub share: f64,
    /// Its best response.
    pub best: Strategy,
    /// What the best response yields.
    pub best_outcome: Outcome,
    /// What honest full effort would yield.
    pub honest: Outcome,
}

impl TypeReport {
    /// `(u(BR) − u(honest full)) / V`.
    pub fn ic_gap(&self, value: f64) -> f64 {
        ((self.best_outcome.utility - self.honest.utility) / value).max(0.0)
    }

    /// `max(0, −u(honest full)) / V`.
    pub fn ir_gap(&self, value: f64) -> f64 {
        (-self.honest.utility / value).max(0.0)
    }
}

/// The metrics (module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Metrics {
    /// IC violation, ≥ 0, in task values.
    pub ic_violation: f64,
    /// IR violation, ≥ 0, in task values.
    pub ir_violation: f64,
    /// System loss, 0..=1.
    pub system_loss: f64,
    /// Budget balance, expected net outlay ÷ budget.
    pub budget_balance: f64,
}

impl Metrics {
    /// IC and IR violations within [`TOLERANCE`].
    pub fn passes(&self) -> bool {
        self.ic_violation <= TOLERANCE && self.ir_violation <= TOLERANCE
    }

    /// IC + IR.
    pub fn violation(&self) -> f64 {
        self.ic_violation + self.ir_violation
    }
}

/// A mechanism on one scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioReport {
    /// The scenario's name.
    pub scenario: String,
    /// Its metrics.
    pub metrics: Metrics,
    /// Every type's behaviour.
    pub types: Vec<TypeReport>,
}

/// Evaluate `mechanism` on `scenario` (module docs).
pub fn evaluate(mechanism: &Mechanism, scenario: &Scenario) -> ScenarioReport {
    evaluate_terms(&Terms::of(mechanism), units(mechanism.budget), scenario)
}

/// [`evaluate`] on already converted terms.
pub fn evaluate_terms(terms: &Terms, budget: f64, scenario: &Scenario) -> ScenarioReport {
    let env = &scenario.env;
    let total: f64 = scenario.population.iter().map(|t| t.share.max(0.0)).sum();
    let v = env.value.max(f64::MIN_POSITIVE);
    let mut m = Metrics::default();
    let (mut welfare, mut best, mut outlay) = (0.0, 0.0, 0.0);
    let mut types = Vec::with_capacity(scenario.population.len());
    for ty in &scenario.population {
        let share = if total > 0.0 {
            ty.share.max(0.0) / total
        } else {
            0.0
        };
        let (s, o) = best_response(ty, terms, env);
        let honest = outcome(ty, Strategy::HONEST_FULL, terms, env);
        let r = TypeReport {
            kind: ty.kind,
            share,
            best: s,
            best_outcome: o,
            honest,
        };
        m.ic_violation = m.ic_violation.max(r.ic_gap(v));
        m.ir_violation = m.ir_violation.max(r.ir_gap(v));
        welfare += share * o.welfare;
        best += share * first_best(ty, env);
        outlay += share * (o.payment - o.slashed);
        types.push(r);
    }
    m.system_loss = if best > 0.0 {
        ((best - welfare) / best).clamp(0.0, 1.0)
    } else {
        0.0
    };
    m.budget_balance = if budget > 0.0 { outlay / budget } else { 0.0 };
    ScenarioReport {
        scenario: scenario.name.clone(),
        metrics: m,
        types,
    }
}

/// A mechanism on every scenario of a suite.
#[derive(Clone, Debug, PartialEq)]
pub struct SuiteReport {
    /// Per scenario, in suite order.
    pub scenarios: Vec<ScenarioReport>,
    /// Maxima of IC, IR and budget balance; mean system loss.
    pub metrics: Metrics,
}

impl SuiteReport {
    /// Evaluate `mechanism` on every scenario.
    pub fn new(mechanism: &Mechanism, suite: &[Scenario]) -> SuiteReport {
        let terms = Terms::of(mechanism);
        let budget = units(mechanism.budget);
        SuiteReport::from_reports(
            suite
                .iter()
                .map(|s| evaluate_terms(&terms, budget, s))
                .collect(),
        )
    }

    /// Aggregate per-scenario reports.
    pub fn from_reports(scenarios: Vec<ScenarioReport>) -> SuiteReport {
        let mut m = Metrics::default();
        for r in &scenarios {
            m.ic_violation = m.ic_violation.max(r.metrics.ic_violation);
            m.ir_violation = m.ir_violation.max(r.metrics.ir_violation);
            m.budget_balance = m.budget_balance.max(r.metrics.budget_balance);
            m.system_loss += r.metrics.system_loss;
        }
        if !scenarios.is_empty() {
            m.system_loss /= scenarios.len() as f64;
        }
        SuiteReport {
            scenarios,
            metrics: m,
        }
    }

    /// The objective the loop lowers: `violation_weight · mean(IC + IR) + mean(system loss)`.
    pub fn objective(&self, violation_weight: f64) -> f64 {
        if self.scenarios.is_empty() {
            return 0.0;
        }
        let n = self.scenarios.len() as f64;
        self.scenarios
            .iter()
            .map(|r| violation_weight * r.metrics.violation() + r.metrics.system_loss)
            .sum::<f64>()
            / n
    }

    /// Share of scenarios on which `self` (a candidate) does not regress against
    /// `incumbent` (same suite, same order). 1 for an empty suite.
    pub fn regression_pass_rate(&self, incumbent: &SuiteReport) -> f64 {
        let n = self.scenarios.len().min(incumbent.scenarios.len());
        if n == 0 {
            return 1.0;
        }
        let ok = self
            .scenarios
            .iter()
            .zip(&incumbent.scenarios)
            .filter(|(c, i)| no_regression(&c.metrics, &i.metrics))
            .count();
        ok as f64 / n as f64
    }
}

/// Whether a candidate's metrics on one scenario do not regress against the incumbent's.
pub fn no_regression(candidate: &Metrics, incumbent: &Metrics) -> bool {
    if incumbent.passes() {
        candidate.passes()
    } else {
        candidate.violation() <= incumbent.violation() + TOLERANCE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::follower::{Conduct, Effort, FollowerType};
    use crate::mechanism::{Clause, PPM_ONE, Tier, UNIT};
    use agentnet_core::AgentId;

    fn scenario() -> Scenario {
        Scenario {
            name: "mixed".into(),
            population: vec![
                FollowerType::honest(0.5),
                FollowerType::lazy(0.3),
                FollowerType::adversarial(0.2),
            ],
            env: Environment::default(),
        }
    }

    fn mech(clauses: Vec<Clause>) -> Mechanism {
        Mechanism::new(AgentId::from_bytes([1; 32]), "t", 80 * UNIT, clauses)
    }

    #[test]
    fn naive_flat_payment_violates_ic() {
        let r = evaluate(
            &mech(vec![Clause::Payment {
                flat: 60 * UNIT,
                bonus: 0,
            }]),
            &scenario(),
        );
        assert!(r.metrics.ic_violation > 0.5, "{r:?}");
        assert_eq!(r.metrics.ir_violation, 0.0);
        assert!(r.metrics.system_loss > 0.5);
        let adv = &r.types[2];
        assert!(matches!(adv.best, Strategy::Work(_, Conduct::Sabotage)));
    }

    #[test]
    fn performance_pay_with_evidence_and_stake_is_incentive_compatible() {
        let r = evaluate(
            &mech(vec![
                Clause::Payment {
                    flat: 0,
                    bonus: 80 * UNIT,
                },
                Clause::QualityThreshold {
                    min_score: PPM_ONE / 2,
                },
                Clause::Verification {
                    tier: Tier::Evidence,
                },
                Clause::Deposit { amount: 40 * UNIT },
                Clause::Slashing { ratio: PPM_ONE },
                Clause::Deadlines {
                    commit_ms: 60_000,
                    execute_ms: 3 * 3_600_000,
                    settle_ms: 3_600_000,
                },
            ]),
            &scenario(),
        );
        assert!(r.metrics.passes(), "{r:?}");
        for t in &r.types {
            assert_eq!(t.best, Strategy::Work(Effort::Full, Conduct::Honest));
        }
        assert!(r.metrics.system_loss < 0.15, "{:?}", r.metrics);
        assert!(r.metrics.budget_balance <= 1.0);
    }

    #[test]
    fn an_unpaid_task_violates_ir() {
        let r = evaluate(
            &mech(vec![Clause::Payment {
                flat: 5 * UNIT,
                bonus: 0,
            }]),
            &scenario(),
        );
        assert!(r.metrics.ir_violation > 0.1);
    }
}
