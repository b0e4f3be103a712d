//! Tests of the graph and the solver.

use super::*;

fn ring(n: u32) -> TrustGraph {
    TrustGraph::from_edges(n as usize, (0..n).map(|i| (i, (i + 1) % n, 1.0))).unwrap()
}

#[test]
fn symmetric_ring_is_uniform() {
    let g = ring(5);
    let (t, c) = eigentrust(&g, &[1.0; 5], &EigenTrustParams::default()).unwrap();
    assert!(c.converged);
    for v in t {
        assert!((v - 0.2).abs() < 1e-12);
    }
}

#[test]
fn pretrusted_peer_and_its_friends_rank_first_and_a_closed_clique_gets_only_its_pretrust() {
    // 0 is pretrusted and trusts 1; 1 trusts 0; 2 and 3 only vouch for each other.
    let g =
        TrustGraph::from_edges(4, [(0, 1, 1.0), (1, 0, 1.0), (2, 3, 1.0), (3, 2, 1.0)]).unwrap();
    let (t, _) = eigentrust(&g, &[1.0, 0.0, 0.0, 0.0], &EigenTrustParams::default()).unwrap();
    assert!(t[0] > t[1] && t[1] > 0.1);
    assert!(t[2] < 1e-9 && t[3] < 1e-9);
    let sum: f64 = t.iter().sum();
    assert!((sum - 1.0).abs() < 1e-12);
}

#[test]
fn dangling_rows_pass_trust_by_pretrust() {
    let g = TrustGraph::from_edges(3, [(0, 1, 1.0)]).unwrap();
    let (t, _) = eigentrust(&g, &[0.0, 0.0, 1.0], &EigenTrustParams::default()).unwrap();
    let sum: f64 = t.iter().sum();
    assert!((sum - 1.0).abs() < 1e-12);
    assert!(t[2] > t[1] && t[1] >= t[0]);
}

#[test]
fn overlay_rows_equal_a_rebuilt_graph() {
    let mut g = TrustGraph::from_edges(
        6,
        [
            (0, 1, 1.0),
            (1, 2, 2.0),
            (2, 0, 1.0),
            (3, 4, 1.0),
            (4, 5, 1.0),
        ],
    )
    .unwrap();
    g.set_row(1, [(3, 1.0), (0, 0.5), (3, 1.0)]).unwrap();
    g.set_row(5, [(0, 1.0)]).unwrap();
    let rebuilt = TrustGraph::from_edges(
        6,
        [
            (0, 1, 1.0),
            (1, 0, 0.5),
            (1, 3, 2.0),
            (2, 0, 1.0),
            (3, 4, 1.0),
            (4, 5, 1.0),
            (5, 0, 1.0),
        ],
    )
    .unwrap();
    assert_eq!(g.edge_count(), rebuilt.edge_count());
    let p = [1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let params = EigenTrustParams::default();
    let (a, _) = eigentrust(&g, &p, &params).unwrap();
    g.compact();
    let (b, _) = eigentrust(&g, &p, &params).unwrap();
    let (c, _) = eigentrust(&rebuilt, &p, &params).unwrap();
    assert_eq!(a, b);
    assert_eq!(b, c);
}

#[test]
fn warm_start_needs_fewer_steps_and_reaches_the_same_point() {
    let n = 200u32;
    let edges: Vec<(u32, u32, f32)> = (0..n)
        .flat_map(|i| (1..4).map(move |k| (i, (i * 7 + k * 13) % n, k as f32)))
        .collect();
    let mut g = TrustGraph::from_edges(n as usize, edges).unwrap();
    let mut p = vec![0.0; n as usize];
    p[0] = 1.0;
    let params = EigenTrustParams {
        epsilon: 1e-10,
        ..Default::default()
    };
    let mut s = Solver::new();
    let cold = s.run(&g, &p, &params).unwrap();
    g.set_row(3, [(5, 1.0)]).unwrap();
    let warm = s.run(&g, &p, &params).unwrap();
    let (fresh, cold2) = eigentrust(&g, &p, &params).unwrap();
    assert!(
        warm.iterations < cold.iterations.min(cold2.iterations),
        "{warm:?} {cold:?} {cold2:?}"
    );
    let diff: f64 = s
        .scores()
        .iter()
        .zip(&fresh)
        .map(|(a, b)| (a - b).abs())
        .sum();
    assert!(diff < 1e-8, "{diff}");
}

#[test]
fn bad_input_is_refused() {
    assert!(matches!(
        TrustGraph::from_edges(2, [(0, 2, 1.0)]),
        Err(EigenTrustError::OutOfRange { index: 2, .. })
    ));
    assert!(matches!(
        TrustGraph::from_edges(2, [(0, 1, f32::NAN)]),
        Err(EigenTrustError::BadWeight { .. })
    ));
    let mut g = TrustGraph::new(2).unwrap();
    assert!(g.set_row(0, [(1, -1.0)]).is_err());
    assert!(g.set_row(9, [(1, 1.0)]).is_err());
    let params = EigenTrustParams::default();
    assert!(eigentrust(&g, &[1.0], &params).is_err());
    assert!(eigentrust(&g, &[1.0, f64::INFINITY], &params).is_err());
    let bad = EigenTrustParams {
        alpha: 0.0,
        ..params
    };
    assert!(eigentrust(&g, &[1.0, 1.0], &bad).is_err());
    // The graph is unchanged by refused edits.
    assert_eq!(g.edge_count(), 0);
}

#[test]
fn growing_keeps_scores_a_distribution() {
    let mut g = ring(4);
    let mut s = Solver::new();
    s.run(&g, &[1.0; 4], &EigenTrustParams::default()).unwrap();
    g.grow(6).unwrap();
    g.set_row(4, [(0, 1.0)]).unwrap();
    s.run(&g, &[1.0; 6], &EigenTrustParams::default()).unwrap();
    let sum: f64 = s.scores().iter().sum();
    assert_eq!(s.scores().len(), 6);
    assert!((sum - 1.0).abs() < 1e-9);
}
