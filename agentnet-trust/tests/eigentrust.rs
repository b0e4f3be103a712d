//! EigenTrust against an independent implementation (the `eigentrust` crate) and its
//! invariants on random graphs.

use agentnet_trust::eigentrust::{EigenTrustParams, Solver, TrustGraph, eigentrust};
use proptest::prelude::*;

/// `n` agents, `(from, to, weight)` edges, `(agent, weight)` pretrust.
type RandomGraph = (usize, Vec<(u32, u32, f32)>, Vec<(u32, f64)>);

/// Random graph: `n` agents, edges with positive weights, optional pretrusted agents.
fn graph_strategy() -> impl Strategy<Value = RandomGraph> {
    (2usize..60).prop_flat_map(|n| {
        let edge = (0..n as u32, 0..n as u32, 0.01f32..10.0);
        let seed = (0..n as u32, 0.0f64..5.0);
        (
            Just(n),
            prop::collection::vec(edge, 0..n * 6),
            prop::collection::vec(seed, 0..4),
        )
    })
}

fn dedup_edges(edges: &[(u32, u32, f32)]) -> Vec<(u32, u32, f32)> {
    // The oracle sums duplicate edges too, but keep inputs unambiguous.
    let mut seen = std::collections::BTreeMap::new();
    for &(a, b, w) in edges {
        seen.insert((a, b), w);
    }
    seen.into_iter().map(|((a, b), w)| (a, b, w)).collect()
}

fn dense_pretrust(n: usize, seeds: &[(u32, f64)]) -> Vec<f64> {
    // The oracle keeps the last weight of a repeated seed.
    let mut p = vec![0.0; n];
    for &(i, w) in seeds {
        p[i as usize] = w;
    }
    p
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn agrees_with_the_eigentrust_crate((n, edges, seeds) in graph_strategy(), alpha in 0.05f64..0.95) {
        let edges = dedup_edges(&edges);
        let p = dense_pretrust(n, &seeds);
        let graph = TrustGraph::from_edges(n, edges.iter().copied()).unwrap();
        let params = EigenTrustParams { alpha, epsilon: 1e-12, max_iterations: 10_000 };
        let (ours, conv) = eigentrust(&graph, &p, &params).unwrap();
        prop_assert!(conv.converged);

        let oracle_edges: Vec<eigentrust::TrustEdge> = edges
            .iter()
            .map(|&(a, b, w)| eigentrust::TrustEdge::new(a as usize, b as usize, w as f64))
            .collect();
        // Name every agent so the oracle's network has all n of them.
        // (An all-zero pretrust means uniform in both implementations.)
        let oracle_seeds: Vec<eigentrust::PreTrust> = (0..n)
            .map(|i| eigentrust::PreTrust::new(i, p[i]))
            .collect();
        let options = eigentrust::EigenTrustOptions::new()
            .with_alpha(alpha)
            .with_epsilon(1e-13)
            .with_max_iterations(100_000);
        let oracle = eigentrust::eigentrust_with_options(oracle_edges, oracle_seeds, &options).unwrap();
        prop_assert_eq!(oracle.scores().len(), n);
        for (j, (a, b)) in ours.iter().zip(oracle.scores()).enumerate() {
            prop_assert!((a - b).abs() < 1e-6, "agent {}: ours {} oracle {}", j, a, b);
        }
    }

    #[test]
    fn scores_stay_a_distribution_through_edits(
        (n, edges, seeds) in graph_strategy(),
        edits in prop::collection::vec((0u32..60, prop::collection::vec((0u32..60, 0.0f32..3.0), 0..5)), 0..10),
    ) {
        let p = dense_pretrust(n, &seeds);
        let mut graph = TrustGraph::from_edges(n, edges).unwrap();
        let mut solver = Solver::new();
        let params = EigenTrustParams::default();
        for (row, entries) in edits {
            let entries: Vec<(u32, f32)> = entries.into_iter().map(|(j, w)| (j % n as u32, w)).collect();
            graph.set_row(row % n as u32, entries).unwrap();
            solver.run(&graph, &p, &params).unwrap();
            let t = solver.scores();
            let sum: f64 = t.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-9, "sum {}", sum);
            prop_assert!(t.iter().all(|v| *v >= 0.0 && v.is_finite()));
        }
    }
}
