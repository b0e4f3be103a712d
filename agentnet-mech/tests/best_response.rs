//! Best responses and incentive metrics against independent computations.

use agentnet_core::AgentId;
use agentnet_mech::evaluate::{Scenario, evaluate};
use agentnet_mech::follower::{
    Conduct, EffortProfile, Environment, FollowerKind, FollowerType, ScoreModel, Strategy, TIE,
    Terms, best_response,
};
use agentnet_mech::mechanism::{Clause, Mechanism, PPM_ONE, Tier, UNIT};
use proptest::prelude::*;
use proptest::strategy::Strategy as _;

/// Expected utility by enumerating every chance outcome (result good or failed, score passes
/// or not, claim examined or not) and the payoff at each leaf: no closed form involved.
fn brute_utility(ty: &FollowerType, s: Strategy, t: &Terms, env: &Environment) -> f64 {
    let Strategy::Work(e, conduct) = s else {
        return 0.0;
    };
    let p = ty.effort[e as usize];
    let hours = p.duration_ms as f64 / 3_600_000.0;
    let success = if hours == 0.0 {
        p.success
    } else {
        p.success * (t.execute_hours / hours).min(1.0)
    };
    let v = (env.detect[t.tier as usize - 1] * ty.exposure[t.tier as usize - 1]).clamp(0.0, 1.0);
    let cost = p.cost + env.provider_cost[t.tier as usize - 1] + ty.capital_rate * t.deposit;
    let caught_payoff = -(t.slashing * t.deposit) - ty.reputation_stake;
    let mut total = 0.0;
    for good in [true, false] {
        let pg = if good { success } else { 1.0 - success };
        for passes in [true, false] {
            let pass_p = if good {
                env.score.pass_good(t.threshold)
            } else {
                env.score.pass_bad(t.threshold)
            };
            let pp = if passes { pass_p } else { 1.0 - pass_p };
            for examined in [true, false] {
                let pe = if examined { v } else { 1.0 - v };
                let prob = pg * pp * pe;
                let payoff = match conduct {
                    Conduct::Honest => t.flat + if passes { t.bonus } else { 0.0 },
                    Conduct::Misreport if passes => t.flat + t.bonus,
                    Conduct::Misreport | Conduct::Sabotage if examined => caught_payoff,
                    Conduct::Misreport => t.flat + t.bonus,
                    Conduct::Sabotage => t.flat + t.bonus,
                };
                let gain = if conduct == Conduct::Sabotage {
                    ty.sabotage_gain
                } else {
                    0.0
                };
                total += prob * (payoff + gain - cost);
            }
        }
    }
    total
}

fn arb_type() -> impl proptest::strategy::Strategy<Value = FollowerType> {
    (
        prop::array::uniform3((0.0f64..50.0, 0.0f64..=1.0, 1u64..20_000_000)),
        0.0f64..100.0,
        0.0f64..40.0,
        0.0f64..0.05,
        prop::array::uniform3(0.0f64..=1.0),
    )
        .prop_map(|(levels, gain, rep, rate, exposure)| FollowerType {
            kind: FollowerKind::Adversarial,
            share: 1.0,
            effort: levels.map(|(cost, success, duration_ms)| EffortProfile {
                cost,
                success,
                duration_ms,
            }),
            sabotage_gain: gain,
            reputation_stake: rep,
            capital_rate: rate,
            exposure,
        })
}

fn arb_terms() -> impl proptest::strategy::Strategy<Value = Terms> {
    (
        0.0f64..80.0,
        0.0f64..80.0,
        0.0f64..=1.0,
        0.0f64..200.0,
        0.0f64..=1.0,
        1u8..=3,
        0.1f64..10.0,
    )
        .prop_map(
            |(flat, bonus, threshold, deposit, slashing, tier, execute_hours)| Terms {
                flat,
                bonus,
                threshold,
                deposit,
                slashing,
                tier: Tier::from_number(tier).unwrap(),
                execute_hours,
            },
        )
}

proptest! {
    #[test]
    fn best_response_matches_brute_force(ty in arb_type(), t in arb_terms(), good_low in 0.0f64..0.9, bad_high in 0.1f64..=1.0) {
        let env = Environment { score: ScoreModel { good_low, bad_high }, ..Environment::default() };
        let (best, outcome) = best_response(&ty, &t, &env);
        let brute: Vec<f64> = Strategy::ALL.iter().map(|s| brute_utility(&ty, *s, &t, &env)).collect();
        let max = brute.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        // The engine's choice is optimal by the brute-force payoffs, and its utility agrees.
        let i = Strategy::ALL.iter().position(|s| *s == best).unwrap();
        prop_assert!((brute[i] - max).abs() < 1e-6, "{best:?} {} vs max {max}", brute[i]);
        prop_assert!((outcome.utility - brute[i]).abs() < 1e-6);
        // Ties go to honest full effort.
        if (brute[0] - max).abs() <= TIE / 2.0 {
            prop_assert_eq!(best, Strategy::HONEST_FULL);
        }
    }
}

fn leader() -> AgentId {
    AgentId::from_bytes([3; 32])
}

fn mixed() -> Scenario {
    Scenario {
        name: "all types".into(),
        population: vec![
            FollowerType::honest(0.3),
            FollowerType::lazy(0.2),
            FollowerType::adversarial(0.2),
            FollowerType::colluding(0.15),
            FollowerType::sybil(0.15),
        ],
        env: Environment::default(),
    }
}

/// Pay for verified performance: the whole budget as a bonus above a threshold that fails
/// shirked work, tier-3 evidence, and a deposit fully slashed on fraud, sized so that
/// sabotage's expected penalty exceeds its gain for the type with nothing else to lose.
fn performance_pay() -> Mechanism {
    Mechanism::new(
        leader(),
        "textbook",
        80 * UNIT,
        [
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
            Clause::Deposit { amount: 60 * UNIT },
            Clause::Slashing { ratio: PPM_ONE },
            Clause::Deadlines {
                commit_ms: 60_000,
                execute_ms: 3 * 3_600_000,
                settle_ms: 3_600_000,
            },
        ],
    )
}

#[test]
fn performance_pay_with_evidence_and_stake_has_no_violations() {
    let r = evaluate(&performance_pay(), &mixed());
    assert!(r.metrics.passes(), "{:?}", r.metrics);
    assert!(
        r.types
            .iter()
            .all(|t| t.best == Strategy::HONEST_FULL && t.honest.utility >= 0.0)
    );
}

#[test]
fn known_flawed_mechanisms_show_positive_violations() {
    let base = performance_pay();
    // Flat pay: effort does not pay.
    let mut flat = base.clone();
    flat.set(Clause::Payment {
        flat: 80 * UNIT,
        bonus: 0,
    });
    // Reputation-only checks: colluders are never examined, sabotage pays.
    let mut unchecked = base.clone();
    unchecked.set(Clause::Verification {
        tier: Tier::Reputation,
    });
    // No stake: a Sybil loses nothing when caught.
    let mut unstaked = base.clone();
    unstaked.remove(agentnet_mech::mechanism::ClauseKind::Deposit);
    // Too little pay for full effort: the lazy type loses by working.
    let mut stingy = base.clone();
    stingy.set(Clause::Payment {
        flat: 0,
        bonus: 30 * UNIT,
    });
    for (name, m) in [
        ("flat", &flat),
        ("unchecked", &unchecked),
        ("unstaked", &unstaked),
    ] {
        let r = evaluate(m, &mixed());
        assert!(r.metrics.ic_violation > 0.01, "{name}: {:?}", r.metrics);
    }
    let r = evaluate(&stingy, &mixed());
    assert!(r.metrics.ir_violation > 0.01, "{:?}", r.metrics);
}
