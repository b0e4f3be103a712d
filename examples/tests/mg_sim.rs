//! The MG-EigenTrust attack simulation on small worlds: the production trust plane catches
//! saboteurs, slashing is what stops them, the harder settings (30% malicious, 8 topics) keep
//! the goals that the full runs keep, the slow defector is never provable (and the collusion
//! discount is what keeps it near random), and runs are deterministic.

use agentnet_examples::mg_sim::{self, ExperimentConfig, Goals, MethodName, Summary};

fn small() -> ExperimentConfig {
    ExperimentConfig {
        nodes: 40,
        epochs: 14,
        warmup: 3,
        queries: 20,
        ..Default::default()
    }
}

/// A shortened harder run: 30 agents, 44 epochs, 15 tasks per topic per epoch — the same
/// ratio of attackers to code-review tasks after warm-up as the full run (100 agents, 40
/// epochs of 50 tasks), which is what the attack success of a slashing method scales with.
fn harder(malicious: f64, topics: usize) -> ExperimentConfig {
    ExperimentConfig {
        nodes: 30,
        topics,
        malicious_fraction: malicious,
        epochs: 44,
        warmup: 4,
        queries: 15,
        ..Default::default()
    }
}

/// Pool `methods` over `seeds`.
fn pooled(cfg: &ExperimentConfig, methods: &[MethodName], seeds: &[u64]) -> Vec<Summary> {
    methods
        .iter()
        .map(|m| {
            let runs: Vec<_> = seeds.iter().map(|s| mg_sim::run(cfg, *m, *s)).collect();
            mg_sim::summarize(cfg, *m, &runs)
        })
        .collect()
}

const HEADLINE: [MethodName; 4] = [
    MethodName::Random,
    MethodName::GlobalEigenTrust,
    MethodName::PerTopicEigenTrust,
    MethodName::MgEigenTrust,
];

#[test]
fn slashing_stops_the_attack_that_succeeds_without_it() {
    let cfg = small();
    let mg = mg_sim::run(&cfg, MethodName::MgEigenTrust, 7);
    let unslashed = mg_sim::run(&cfg, MethodName::MgWithoutSlashing, 7);
    // Sabotage happened and was caught through real evidence checks.
    assert!(mg.sabotaged > 0 && mg.fraud_proofs > 0, "{mg:?}");
    assert!(mg.burned > 0.0);
    // Without slashing the proofs still convict keys (every method gets them), but nothing is
    // burned and fresh keys of a convicted principal start clean: the attackers do far better.
    assert!(unslashed.fraud_proofs > 0);
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
    // The baselines get the same proofs: per-topic convicts keys too.
    assert!(per_topic.fraud_proofs > 0 && per_topic.defecting_flagged > 0);
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
    let slow = ExperimentConfig {
        defector_share: 0.5,
        ..cfg
    };
    assert_eq!(
        mg_sim::run(&slow, MethodName::MgEigenTrust, 3),
        mg_sim::run(&slow, MethodName::MgEigenTrust, 3)
    );
}

/// The goals that hold in the full harder runs (README): ROI < 0, false positives ≤ 0.10,
/// detection of at least `detection` (0.95 up to 6 topics; the full 8-topic run measures
/// 0.86), and MG's attack success well below every baseline's — at least 3×, not the 5× of
/// the paper setup: the baselines act on the same fraud proofs, and MG's residual is the
/// attackers' sabotage before their first provable one, which grows with their number.
fn assert_harder_goals(cfg: &ExperimentConfig, attack_bound: f64, detection: f64) {
    let s = pooled(cfg, &HEADLINE, &[1, 2]);
    let g = Goals::evaluate(&s).expect("every headline method ran");
    let mg = &s[3];
    assert!(g.roi_lt_0, "{mg:?}");
    assert!(mg.detection_rate >= detection, "{mg:?}");
    assert!(g.false_positives_le_0_10, "{mg:?}");
    assert!(g.lowest_baseline_over_mg >= 3.0, "{g:?} {s:#?}");
    assert!(
        mg.attack_success > 0.0 && mg.attack_success <= attack_bound,
        "{mg:?}"
    );
}

#[test]
fn harder_goals_at_30_percent_malicious() {
    assert_harder_goals(&harder(0.3, 5), 0.03, 0.95);
}

#[test]
fn harder_goals_at_8_topics() {
    // 30% malicious and 8 topics: the 0.03 bound and detection ≥ 0.95 are missed (README).
    assert_harder_goals(&harder(0.3, 8), 0.04, 0.85);
}

#[test]
fn slow_defectors_are_never_provable() {
    let cfg = ExperimentConfig {
        defector_share: 1.0,
        ..harder(0.2, 5)
    };
    let s = pooled(
        &cfg,
        &[
            MethodName::Random,
            MethodName::PerTopicEigenTrust,
            MethodName::MgEigenTrust,
            MethodName::MgWithoutGate,
            MethodName::MgWithoutSemanticWeight,
            MethodName::MgWithoutCollusionDiscount,
        ],
        &[1, 2],
    );
    let no_bridge = pooled(
        &ExperimentConfig {
            bridge_share: 0.0,
            ..cfg.clone()
        },
        &[MethodName::MgEigenTrust],
        &[1, 2],
    );
    let by = |m: MethodName| s.iter().find(|x| x.method == m).expect("ran");
    for x in &s {
        // Every sabotage is a slow defector's, none yields a proof, and no defector is ever
        // flagged: their record looks like a weak honest reviewer's.
        assert_eq!(x.fraud_proofs_per_seed, 0.0, "{x:?}");
        assert!(x.attack_success > 0.0);
        assert_eq!(x.attack_success, x.defector_attack_success);
        assert_eq!(x.defector_detection_rate, 0.0, "{x:?}");
    }
    let mg = by(MethodName::MgEigenTrust);
    let undiscounted = by(MethodName::MgWithoutCollusionDiscount);
    for x in s.iter().chain(&no_bridge) {
        eprintln!(
            "{:?}: attack {:.4} gate open colluders {:.3} honest {:.3}",
            x.method, x.attack_success, x.gate_open_colluders, x.gate_open_honest
        );
    }
    // What the collusion discount does here (README): without it the staged praise keeps
    // the defectors' code-review record consistent with their code generation, so the gate
    // stays open for them and the clique's praise compounds; with it the gate closes for
    // most of them and MG's attack success roughly halves (seeds 1–2: 0.14 vs 0.28).
    assert!(undiscounted.gate_open_colluders >= 0.5, "{undiscounted:?}");
    assert!(mg.gate_open_colluders <= 0.25, "{mg:?}");
    assert!(
        mg.attack_success <= 0.6 * undiscounted.attack_success,
        "{s:#?}"
    );
    // Trust-proportional selection still favours the clique a little: MG stays above
    // random, but within a quarter of it (seeds 1–2: 0.14 vs 0.12); without any bridge MG
    // does no worse.
    let random = by(MethodName::Random).attack_success;
    assert!(
        random < mg.attack_success && mg.attack_success <= 1.25 * random,
        "{s:#?}"
    );
    assert!(no_bridge[0].attack_success <= mg.attack_success * 1.1);
}
