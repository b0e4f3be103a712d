//! EigenTrust against an independent implementation (the `eigentrust` crate) and its
//! invariants on random graphs.

use agentnet_trust::eigentrust::{Convergence, EigenTrustParams, Solver, TrustGraph, eigentrust};
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

// ----- warm starts: the kept residual, patched, against a cold solve -----

/// A deterministic graph: every agent trusts 2 to 5 others; agents divisible by 17 trust
/// nobody (dangling rows).
fn lcg_graph(n: u32, seed: u64) -> TrustGraph {
    let mut s = seed;
    let mut next = move || {
        s = s
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (s >> 33) as u32
    };
    let mut edges = Vec::new();
    for i in 0..n {
        if i % 17 == 0 {
            continue;
        }
        for _ in 0..2 + next() % 4 {
            edges.push((i, next() % n, 1.0 + (next() % 100) as f32 / 10.0));
        }
    }
    TrustGraph::from_edges(n as usize, edges).unwrap()
}

fn seeds(n: usize, every: usize) -> Vec<f64> {
    (0..n)
        .map(|i| f64::from(u8::from(i % every == 0)))
        .collect()
}

fn tight() -> EigenTrustParams {
    EigenTrustParams {
        epsilon: 1e-12,
        max_iterations: 10_000,
        ..EigenTrustParams::default()
    }
}

fn l1(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

/// Run `solver` warm on `graph`, and a fresh cold solve; check they reach the same point and
/// the warm one took fewer sweeps. Returns the warm run's convergence.
fn warm_matches_cold(solver: &mut Solver, graph: &TrustGraph, p: &[f64]) -> Convergence {
    let params = tight();
    let warm = solver.run(graph, p, &params).unwrap();
    let (cold_t, cold) = eigentrust(graph, p, &params).unwrap();
    assert!(warm.converged && cold.converged, "{warm:?} {cold:?}");
    let diff = l1(solver.scores(), &cold_t);
    assert!(diff < 1e-8, "warm vs cold L1 {diff}");
    assert!(
        warm.iterations < cold.iterations,
        "warm {warm:?} vs cold {cold:?}"
    );
    let sum: f64 = solver.scores().iter().sum();
    assert!((sum - 1.0).abs() < 1e-12, "sum {sum}");
    assert!(solver.scores().iter().all(|v| *v >= 0.0));
    warm
}

#[test]
fn warm_start_after_row_edits_patches_the_residual() {
    let n = 400;
    let mut g = lcg_graph(n, 1);
    let p = seeds(n as usize, 37);
    let mut s = Solver::new();
    let first = s.run(&g, &p, &tight()).unwrap();
    assert!(first.residual_pass, "a cold start computes its residual");
    // Replace rows, empty one, fill a dangling one (17), and edit one row twice.
    g.set_row(3, [(5, 1.0), (9, 2.0)]).unwrap();
    g.set_row(4, []).unwrap();
    g.set_row(17, [(1, 1.0), (2, 1.0)]).unwrap();
    g.set_row(250, [(0, 3.0)]).unwrap();
    g.set_row(3, [(7, 1.0)]).unwrap();
    let warm = warm_matches_cold(&mut s, &g, &p);
    assert!(!warm.residual_pass, "{warm:?}");
    // Nothing changed since: no residual pass and no sweep.
    let again = s.run(&g, &p, &tight()).unwrap();
    assert!(!again.residual_pass && again.iterations == 0, "{again:?}");
}

#[test]
fn warm_start_after_adding_agents() {
    let n = 400u32;
    let mut g = lcg_graph(n, 2);
    let mut p = seeds(n as usize, 37);
    let mut s = Solver::new();
    s.run(&g, &p, &tight()).unwrap();
    g.grow(n as usize + 10).unwrap();
    // New agents trust old ones and each other; old agents start trusting them.
    g.set_row(n, [(0, 1.0), (n + 1, 1.0)]).unwrap();
    g.set_row(n + 1, [(5, 2.0)]).unwrap();
    g.set_row(8, [(n, 1.0), (n + 2, 1.0), (9, 1.0)]).unwrap();
    g.set_row(34, [(n + 9, 1.0)]).unwrap();
    p.extend((0..10).map(|k| f64::from(u8::from(k == 3))));
    let warm = warm_matches_cold(&mut s, &g, &p);
    assert!(!warm.residual_pass, "{warm:?}");
    assert_eq!(s.scores().len(), n as usize + 10);
    // Growing alone (no edit, same version) also patches.
    g.grow(n as usize + 12).unwrap();
    p.extend([0.0, 0.0]);
    let warm = warm_matches_cold(&mut s, &g, &p);
    assert!(!warm.residual_pass, "{warm:?}");
}

#[test]
fn warm_start_after_a_pretrust_change() {
    let n = 400;
    let g = lcg_graph(n, 3);
    let mut p = seeds(n as usize, 37);
    let mut s = Solver::new();
    s.run(&g, &p, &tight()).unwrap();
    p[37] = 2.0;
    p[5] = 0.5;
    let warm = warm_matches_cold(&mut s, &g, &p);
    assert!(!warm.residual_pass, "{warm:?}");
    // A row edit and a pretrust change together.
    let mut g = g;
    g.set_row(51, []).unwrap();
    p[74] = 0.0;
    let warm = warm_matches_cold(&mut s, &g, &p);
    assert!(!warm.residual_pass, "{warm:?}");
}

#[test]
fn log_overflow_falls_back_to_one_residual_pass() {
    let n = 400;
    let mut g = lcg_graph(n, 4);
    let p = seeds(n as usize, 37);
    for i in [10, 12, 14] {
        g.set_row(i, [(1, 1.0), (2, 1.0), (3, 1.0)]).unwrap();
    }
    let mut s = Solver::new();
    s.run(&g, &p, &tight()).unwrap();
    // Room for one logged row of 3 edges (4 units); the second edit pushes the first out.
    g.set_change_log_limit(Some(5));
    assert_eq!(g.change_log_limit(), 5);
    g.set_row(10, [(11, 1.0)]).unwrap();
    g.set_row(12, [(13, 1.0)]).unwrap();
    let warm = warm_matches_cold(&mut s, &g, &p);
    assert!(warm.residual_pass, "{warm:?}");
    // The log covers the next single edit again.
    g.set_row(14, [(15, 1.0)]).unwrap();
    let warm = warm_matches_cold(&mut s, &g, &p);
    assert!(!warm.residual_pass, "{warm:?}");
    // No log at all.
    g.set_change_log_limit(Some(0));
    g.set_row(16, [(15, 1.0)]).unwrap();
    let warm = warm_matches_cold(&mut s, &g, &p);
    assert!(warm.residual_pass, "{warm:?}");
    g.set_change_log_limit(None);
    assert_eq!(g.change_log_limit(), 4096);
}

#[test]
fn compaction_another_graph_and_alpha_fall_back_to_a_residual_pass() {
    let n = 300;
    let mut g = lcg_graph(n, 5);
    let p = seeds(n as usize, 29);
    let mut s = Solver::new();
    s.run(&g, &p, &tight()).unwrap();
    // Compacting keeps the version: a solver that ran on it is still current.
    g.compact();
    let c = s.run(&g, &p, &tight()).unwrap();
    assert!(!c.residual_pass && c.iterations == 0, "{c:?}");
    // An edit, then compaction: the log is gone.
    g.set_row(1, [(2, 1.0)]).unwrap();
    g.compact();
    let warm = warm_matches_cold(&mut s, &g, &p);
    assert!(warm.residual_pass, "{warm:?}");
    // The same content built again is another graph.
    let rebuilt = TrustGraph::from_edges(
        n as usize,
        (0..n)
            .flat_map(|i| g.row(i).map(move |(j, w)| (i, j, w)))
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let c = s.run(&rebuilt, &p, &tight()).unwrap();
    assert!(c.residual_pass && c.converged, "{c:?}");
    // A new alpha needs the residual of the new F.
    let other = EigenTrustParams {
        alpha: 0.3,
        ..tight()
    };
    let c = s.run(&rebuilt, &p, &other).unwrap();
    assert!(c.residual_pass && c.converged, "{c:?}");
    let (cold, _) = eigentrust(&rebuilt, &p, &other).unwrap();
    assert!(l1(s.scores(), &cold) < 1e-8);
}

#[test]
fn clones_share_history_until_they_diverge() {
    let n = 300;
    let mut a = lcg_graph(n, 6);
    let p = seeds(n as usize, 29);
    let mut s = Solver::new();
    s.run(&a, &p, &tight()).unwrap();
    let mut b = a.clone();
    assert_eq!(a.version(), b.version());
    b.set_row(7, [(8, 1.0)]).unwrap();
    a.set_row(9, [(10, 1.0)]).unwrap();
    assert_ne!(a.version(), b.version());
    // The solver's version is in b's log: patched.
    let warm = warm_matches_cold(&mut s, &b, &p);
    assert!(!warm.residual_pass, "{warm:?}");
    // b's new version is not in a's history: a full pass, and still a's fixed point.
    let c = s.run(&a, &p, &tight()).unwrap();
    assert!(c.residual_pass && c.converged, "{c:?}");
    let (cold, _) = eigentrust(&a, &p, &tight()).unwrap();
    assert!(l1(s.scores(), &cold) < 1e-8);
}

#[test]
fn runs_are_bit_identical_for_the_same_inputs() {
    let run = || {
        let mut g = lcg_graph(300, 7);
        let mut p = seeds(300, 29);
        let mut s = Solver::new();
        let mut out = Vec::new();
        let params = EigenTrustParams::default();
        s.run(&g, &p, &params).unwrap();
        out.extend_from_slice(s.scores());
        g.set_row(4, [(5, 1.0), (6, 0.5)]).unwrap();
        g.grow(305).unwrap();
        p.extend([1.0, 0.0, 0.0, 0.0, 0.0]);
        s.run(&g, &p, &params).unwrap();
        out.extend_from_slice(s.scores());
        out.iter().map(|v| v.to_bits()).collect::<Vec<u64>>()
    };
    assert_eq!(run(), run());
}

/// An edit of the sequence in the proptest below.
#[derive(Clone, Debug)]
enum Edit {
    /// Replace a row (indices taken modulo the graph's length).
    Row(u32, Vec<(u32, f32)>),
    /// Set one agent's pretrust weight.
    Pretrust(u32, f64),
    /// Append agents.
    Grow(usize),
    /// Compact the graph (drops the change log).
    Compact,
}

fn edit_strategy() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => (0u32..80, prop::collection::vec((0u32..80, 0.0f32..3.0), 0..6))
            .prop_map(|(i, row)| Edit::Row(i, row)),
        3 => (0u32..80, 0.0f64..4.0).prop_map(|(i, w)| Edit::Pretrust(i, w)),
        1 => (1usize..4).prop_map(Edit::Grow),
        1 => Just(Edit::Compact),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn warm_runs_after_every_edit_match_a_cold_solve(
        (n, edges, seeds) in graph_strategy(),
        edits in prop::collection::vec(edit_strategy(), 1..12),
        limit in prop::option::of(0usize..30),
        alpha in 0.1f64..0.9,
    ) {
        let mut graph = TrustGraph::from_edges(n, edges).unwrap();
        graph.set_change_log_limit(limit);
        let mut p = dense_pretrust(n, &seeds);
        let params = EigenTrustParams { alpha, epsilon: 1e-11, max_iterations: 10_000 };
        let mut solver = Solver::new();
        solver.run(&graph, &p, &params).unwrap();
        for edit in edits {
            let len = graph.len() as u32;
            match edit {
                Edit::Row(i, row) => {
                    let row: Vec<(u32, f32)> = row.into_iter().map(|(j, w)| (j % len, w)).collect();
                    graph.set_row(i % len, row).unwrap();
                }
                Edit::Pretrust(i, w) => p[(i % len) as usize] = w,
                Edit::Grow(k) => {
                    graph.grow(graph.len() + k).unwrap();
                    p.resize(graph.len(), 0.0);
                }
                Edit::Compact => graph.compact(),
            }
            let warm = solver.run(&graph, &p, &params).unwrap();
            prop_assert!(warm.converged, "{:?}", warm);
            let (cold, _) = eigentrust(&graph, &p, &params).unwrap();
            let t = solver.scores();
            prop_assert!(l1(t, &cold) < 1e-7, "warm vs cold L1 {}", l1(t, &cold));
            let sum: f64 = t.iter().sum();
            prop_assert!((sum - 1.0).abs() < 1e-9, "sum {}", sum);
            prop_assert!(t.iter().all(|v| *v >= 0.0 && v.is_finite()));
        }
    }
}
