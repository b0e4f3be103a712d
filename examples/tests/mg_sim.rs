//! The MG-EigenTrust attack simulation on a small world: the production trust plane catches
//! saboteurs, slashing is what stops them, and runs are deterministic.

use agentnet_examples::mg_sim::{self, ExperimentConfig, MethodName};

fn small() -> ExperimentConfig {
    ExperimentConfig {
        nodes: 40,
        epochs: 14,
        warmup: 3,
        queries: 20,
        ..Default::default()
    }
}

#[test]
fn slashing_stops_the_attack_that_succeeds_without_it() {
    let cfg = small();
    let mg = mg_sim::run(&cfg, MethodName::MgEigenTrust, 7);
    let unslashed = mg_sim::run(&cfg, MethodName::MgWithoutSlashing, 7);
    // Sabotage happened and was caught through real evidence checks.
    assert!(mg.sabotaged > 0 && mg.fraud_proofs > 0, "{mg:?}");
    assert!(mg.burned > 0.0);
    // Without slashing nothing is burned and the attackers do far better.
    assert_eq!(unslashed.burned, 0.0);
    assert!(
        mg.sabotaged * 2 < unslashed.sabotaged,
        "mg {} vs without slashing {}",
        mg.sabotaged,
        unslashed.sabotaged
    );
    // Every saboteur that MG slashed is flagged; honest agents are not slashed.
    assert!(mg.defecting_flagged > 0);
    // MG reports only salient changes; the baselines send full rows.
    let per_topic = mg_sim::run(&cfg, MethodName::PerTopicEigenTrust, 7);
    let sent = |r: &mg_sim::RunResult| r.control_entries.iter().sum::<u64>();
    assert!(sent(&mg) * 2 < sent(&per_topic));
}

#[test]
fn runs_are_deterministic() {
    let cfg = ExperimentConfig {
        epochs: 6,
        ..small()
    };
    for m in [
        MethodName::Random,
        MethodName::GlobalEigenTrust,
        MethodName::MgEigenTrust,
    ] {
        assert_eq!(mg_sim::run(&cfg, m, 3), mg_sim::run(&cfg, m, 3));
    }
}
