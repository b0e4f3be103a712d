//! The collusion discount (see the module docs of [`reputation`](super), "Collusion discount") and the
//! local-trust formula the graphs are built from.

use super::*;

/// `d_ij` for every entry of every row (aligned with the row; rows of convicted reporters
/// and entries about convicted peers get 1 and are dropped elsewhere): see the
/// [module docs](super#collusion-discount).
pub(super) fn circle_discounts(
    rows: &BTreeMap<u32, Vec<(u32, f32, f32)>>,
    excluded: &[bool],
    phi: f64,
) -> BTreeMap<u32, Vec<f64>> {
    let n = excluded.len();
    let praises = |r: u32, j: u32, pos: f32, neg: f32| {
        !excluded[r as usize] && !excluded[j as usize] && local_trust(pos, neg, phi) > 0.0
    };
    // Undirected praise neighbourhoods N(j), sorted.
    let mut nbrs: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (&r, row) in rows {
        for &(j, pos, neg) in row {
            if praises(r, j, pos, neg) {
                nbrs[r as usize].push(j);
                nbrs[j as usize].push(r);
            }
        }
    }
    for v in &mut nbrs {
        v.sort_unstable();
        v.dedup();
    }
    rows.iter()
        .map(|(&r, row)| {
            // R_i: the peers this reporter praises (rows are sorted by peer).
            let praised: Vec<u32> = row
                .iter()
                .filter(|e| praises(r, e.0, e.1, e.2))
                .map(|e| e.0)
                .collect();
            let d = row
                .iter()
                .map(|&(j, _, _)| {
                    // 1 + |(R_i \ {j}) ∩ N(j)|; i itself is never in R_i.
                    let shared = sorted_intersection(&praised, &nbrs[j as usize]);
                    1.0 / (1 + shared) as f64
                })
                .collect();
            (r, d)
        })
        .collect()
}

/// Size of the intersection of two sorted, deduplicated lists: each element of the shorter
/// one looked up in the longer one, O(min · log max).
fn sorted_intersection(a: &[u32], b: &[u32]) -> usize {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short
        .iter()
        .filter(|x| long.binary_search(x).is_ok())
        .count()
}

/// The topic graph with the collusion discount: `w_ij · d_ij` per entry, and what the
/// discount removed from the row as one edge to the sink at index `n`.
pub(super) fn discounted_graph(
    rows: &BTreeMap<u32, Vec<(u32, f32, f32)>>,
    d: &BTreeMap<u32, Vec<f64>>,
    excluded: &[bool],
    phi: f64,
) -> Result<TrustGraph, ReputationError> {
    let n = excluded.len();
    let sink = n as u32;
    let mut edges = Vec::new();
    for (&r, row) in rows {
        if excluded[r as usize] {
            continue;
        }
        let mut removed = 0.0f64;
        for (&(j, pos, neg), &dij) in row.iter().zip(&d[&r]) {
            if excluded[j as usize] {
                continue;
            }
            let w = f64::from(local_trust(pos, neg, phi));
            if w > 0.0 {
                // Praise is discounted, complaints are not.
                let kept = f64::from(local_trust((f64::from(pos) * dij) as f32, neg, phi));
                if kept > 0.0 {
                    edges.push((r, j, kept as f32));
                }
                removed += w - kept;
            }
        }
        if removed > 0.0 {
            edges.push((r, sink, removed as f32));
        }
    }
    Ok(TrustGraph::from_edges(n + 1, edges)?)
}

pub(super) fn local_trust(pos: f32, neg: f32, phi: f64) -> f32 {
    (pos as f64 - phi * neg as f64).max(0.0) as f32
}
