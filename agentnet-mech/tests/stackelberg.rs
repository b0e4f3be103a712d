//! The mechanism-generation loop with the built-in designer.

use agentnet_core::{AgentId, Instant, Now, WallTime};
use agentnet_mech::design::BuiltInDesigner;
use agentnet_mech::evaluate::Scenario;
use agentnet_mech::follower::{Environment, FollowerType};
use agentnet_mech::mechanism::{Clause, Mechanism, UNIT};
use agentnet_mech::stackelberg::{LoopConfig, LoopEvent, MechanismLoop};

fn now() -> Now {
    Now::new(Instant::from_millis(0), WallTime::from_unix_millis(0))
}

fn naive() -> Mechanism {
    Mechanism::new(
        AgentId::from_bytes([1; 32]),
        "review",
        80 * UNIT,
        [Clause::Payment {
            flat: 60 * UNIT,
            bonus: 0,
        }],
    )
}

fn scenario(name: &str, population: Vec<FollowerType>) -> Scenario {
    Scenario {
        name: name.into(),
        population,
        env: Environment::default(),
    }
}

#[test]
fn builtin_designer_reaches_zero_violations_without_regressing() {
    let mut lp = MechanismLoop::new(
        LoopConfig::default(),
        naive(),
        Box::new(BuiltInDesigner::new()),
    )
    .unwrap();
    lp.add_scenario(scenario(
        "mixed",
        vec![
            FollowerType::honest(0.5),
            FollowerType::lazy(0.3),
            FollowerType::adversarial(0.2),
        ],
    ))
    .unwrap();
    let mut i = 0;
    while !lp.is_finished() {
        i += 1;
        if i == 4 {
            lp.add_scenario(scenario(
                "colluders",
                vec![FollowerType::honest(0.6), FollowerType::colluding(0.4)],
            ))
            .unwrap();
        }
        if i == 7 {
            lp.add_scenario(scenario(
                "sybils",
                vec![FollowerType::honest(0.6), FollowerType::sybil(0.4)],
            ))
            .unwrap();
        }
        // Back to back (the default interval): every iteration is due at once.
        assert!(lp.poll_timeout().is_some_and(|t| t <= now().mono));
        lp.handle_timeout(now());
        while let Some(ev) = lp.poll_event() {
            if let LoopEvent::Iteration(r) = ev {
                eprintln!(
                    "{:2} {:?} acc={} ic={:.4} ir={:.4} loss={:.4} pass={:.2} blame={:?} | {}",
                    r.iteration,
                    r.scenarios,
                    r.accepted,
                    r.after.ic_violation,
                    r.after.ir_violation,
                    r.after.system_loss,
                    r.regression_pass_rate,
                    r.blamed_clause,
                    r.rationale
                );
                if r.accepted {
                    assert_eq!(r.regression_pass_rate, 1.0);
                }
            }
        }
    }
    assert_eq!(lp.poll_timeout(), None, "a finished loop has nothing to do");
    eprintln!("{}", lp.incumbent().text());
    let m = lp.report().metrics;
    assert!(m.passes(), "{m:?}");
    assert!(m.system_loss <= 0.10, "{m:?}");
}
