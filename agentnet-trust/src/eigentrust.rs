//! Sparse EigenTrust: the power iteration every reputation method in this crate runs.
//!
//! Given a local-trust graph (agent `i` trusts agent `j` with weight `w_ij ≥ 0`) and a pretrust
//! distribution `p`, EigenTrust (Kamvar, Schlosser, Garcia-Molina 2003) computes the global
//! trust vector `t` as the fixed point of
//!
//! ```text
//! c_ij  = w_ij / Σ_k w_ik                      (row-normalised local trust)
//! t'_j  = (1 − a) · ( Σ_i c_ij · t_i  +  d · p_j )  +  a · p_j
//! d     = Σ_{i : Σ_k w_ik = 0} t_i             (mass of agents that trust nobody)
//! ```
//!
//! An agent that trusts nobody passes its trust on according to the pretrust, so `t` stays a
//! probability distribution (`Σ t = 1`, `t ≥ 0`) at every step. The iteration stops when the
//! L1 change `Σ_j |t'_j − t_j|` drops below `epsilon`, or after `max_iterations`.
//! [`EigenTrustParams`] holds `a`, `epsilon` and the bound. A `p` that sums to zero is replaced
//! by the uniform distribution, as in the reference formulation.
//!
//! # What this module does not do
//! It knows nothing about agents, topics or stake: indices are dense `u32`s that the callers
//! ([`crate::mg`]) map to agent ids, and the pretrust vector is theirs to build.
//!
//! # Cost
//! [`TrustGraph`] stores rows in compressed sparse row form (one `u32` column and one `f32`
//! weight per edge, 8 bytes) and normalises on the fly, so one iteration streams the edges once
//! and touches `t` at random only for reads of the row owner's share. Rows can be replaced
//! without rebuilding ([`TrustGraph::set_row`] writes an overlay that the iteration merges in
//! order; [`TrustGraph::compact`] folds it back). [`Solver`] keeps its vectors between runs,
//! so the next run after a small change starts from the previous fixed point (warm start) and
//! needs only a few iterations.

use std::collections::BTreeMap;

use thiserror::Error;

/// Parameters of one EigenTrust run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EigenTrustParams {
    /// Weight `a` of the pretrust in each step. Default 0.5; range (0, 1]. Larger values pull
    /// scores toward the pretrust (more Sybil resistance, less weight on the graph) and
    /// converge faster (the error shrinks at least by `1 − a` per step).
    pub alpha: f64,
    /// Stop when the L1 change of one step is below this. Default 1e-6; range (0, 1).
    pub epsilon: f64,
    /// Give up after this many steps (the last vector is still a distribution). Default 200;
    /// range 1..=10 000.
    pub max_iterations: u32,
}

impl Default for EigenTrustParams {
    fn default() -> Self {
        EigenTrustParams {
            alpha: 0.5,
            epsilon: 1e-6,
            max_iterations: 200,
        }
    }
}

impl EigenTrustParams {
    /// Check the ranges.
    pub fn validate(&self) -> Result<(), EigenTrustError> {
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return Err(EigenTrustError::BadParameter("alpha must be in (0, 1]"));
        }
        if !(self.epsilon > 0.0 && self.epsilon < 1.0) {
            return Err(EigenTrustError::BadParameter("epsilon must be in (0, 1)"));
        }
        if self.max_iterations == 0 || self.max_iterations > 10_000 {
            return Err(EigenTrustError::BadParameter(
                "max_iterations must be in 1..=10000",
            ));
        }
        Ok(())
    }
}

/// Why a graph edit or a run was refused.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum EigenTrustError {
    /// A weight is negative, NaN or infinite.
    #[error("weight {weight} for edge {from} -> {to} is not a finite non-negative number")]
    BadWeight {
        /// Truster.
        from: u32,
        /// Trustee.
        to: u32,
        /// The offending weight.
        weight: f32,
    },
    /// An index is outside the graph.
    #[error("agent index {index} is outside a graph of {len}")]
    OutOfRange {
        /// The index.
        index: u32,
        /// Number of agents in the graph.
        len: usize,
    },
    /// The pretrust vector has the wrong length or a bad entry.
    #[error("pretrust: {0}")]
    BadPretrust(&'static str),
    /// A parameter is out of range.
    #[error("parameter: {0}")]
    BadParameter(&'static str),
    /// The graph would exceed `u32::MAX` agents or edges.
    #[error("graph too large")]
    TooLarge,
}

/// A local-trust graph over agents `0..len()`, rows in compressed sparse row form.
///
/// Row `i` lists whom agent `i` trusts and how much (raw, non-negative weights; the iteration
/// normalises each row). Duplicate targets in one row are summed; zero weights are dropped.
/// `TrustGraph::default()` has no agents.
#[derive(Clone, Debug)]
pub struct TrustGraph {
    row_ptr: Vec<u32>,
    cols: Vec<u32>,
    weights: Vec<f32>,
    /// Rows replaced since the last [`compact`](Self::compact), by row index.
    overlay: BTreeMap<u32, Row>,
    overlay_edges: usize,
}

impl Default for TrustGraph {
    fn default() -> Self {
        TrustGraph {
            row_ptr: vec![0],
            cols: Vec::new(),
            weights: Vec::new(),
            overlay: BTreeMap::new(),
            overlay_edges: 0,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct Row {
    cols: Vec<u32>,
    weights: Vec<f32>,
}

impl TrustGraph {
    /// An empty graph with `n` agents and no edges.
    pub fn new(n: usize) -> Result<Self, EigenTrustError> {
        if n >= u32::MAX as usize {
            return Err(EigenTrustError::TooLarge);
        }
        Ok(TrustGraph {
            row_ptr: vec![0; n + 1],
            ..TrustGraph::default()
        })
    }

    /// Build from `(from, to, weight)` edges over `n` agents in one pass (counting sort by
    /// row). The fast path for large graphs.
    pub fn from_edges(
        n: usize,
        edges: impl IntoIterator<Item = (u32, u32, f32)>,
    ) -> Result<Self, EigenTrustError> {
        let mut g = TrustGraph::new(n)?;
        let edges: Vec<(u32, u32, f32)> = edges.into_iter().collect();
        if edges.len() >= u32::MAX as usize {
            return Err(EigenTrustError::TooLarge);
        }
        let mut counts = vec![0u32; n + 1];
        for &(from, to, weight) in &edges {
            check_edge(n, from, to, weight)?;
            counts[from as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let mut next = counts.clone();
        let mut cols = vec![0u32; edges.len()];
        let mut weights = vec![0f32; edges.len()];
        for &(from, to, weight) in &edges {
            let at = &mut next[from as usize];
            cols[*at as usize] = to;
            weights[*at as usize] = weight;
            *at += 1;
        }
        g.row_ptr = counts;
        g.cols = cols;
        g.weights = weights;
        // Canonicalise rows (sorted, merged duplicates, no zeros) so equal graphs iterate
        // identically whatever the input order.
        let rows: Vec<u32> = (0..n as u32).collect();
        let mut canon = TrustGraph::new(n)?;
        let mut scratch = Vec::new();
        for i in rows {
            scratch.clear();
            let (c, w) = g.base_row(i as usize);
            scratch.extend(c.iter().copied().zip(w.iter().copied()));
            canonical_row(&mut scratch);
            canon.cols.extend(scratch.iter().map(|e| e.0));
            canon.weights.extend(scratch.iter().map(|e| e.1));
            canon.row_ptr[i as usize + 1] = canon.cols.len() as u32;
        }
        Ok(canon)
    }

    /// Number of agents.
    pub fn len(&self) -> usize {
        self.row_ptr.len() - 1
    }

    /// Whether the graph has no agents.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of stored edges (overlay rows counted instead of the rows they replace).
    pub fn edges(&self) -> usize {
        let replaced: usize = self
            .overlay
            .keys()
            .map(|&i| {
                let i = i as usize;
                (self.row_ptr[i + 1] - self.row_ptr[i]) as usize
            })
            .sum();
        self.cols.len() - replaced + self.overlay_edges
    }

    /// Grow to `n` agents (new agents trust nobody yet). Shrinking is not supported.
    pub fn grow(&mut self, n: usize) -> Result<(), EigenTrustError> {
        if n >= u32::MAX as usize {
            return Err(EigenTrustError::TooLarge);
        }
        let last = *self.row_ptr.last().expect("row_ptr has n + 1 entries");
        while self.len() < n {
            self.row_ptr.push(last);
        }
        Ok(())
    }

    /// Replace row `i` (whom agent `i` trusts). O(row length); the base arrays are rebuilt
    /// only by [`compact`](Self::compact), which this calls by itself when the overlay holds
    /// more than an eighth of the edges.
    pub fn set_row(
        &mut self,
        i: u32,
        entries: impl IntoIterator<Item = (u32, f32)>,
    ) -> Result<(), EigenTrustError> {
        let n = self.len();
        if i as usize >= n {
            return Err(EigenTrustError::OutOfRange { index: i, len: n });
        }
        let mut row: Vec<(u32, f32)> = Vec::new();
        for (to, weight) in entries {
            check_edge(n, i, to, weight)?;
            row.push((to, weight));
        }
        canonical_row(&mut row);
        let new = Row {
            cols: row.iter().map(|e| e.0).collect(),
            weights: row.iter().map(|e| e.1).collect(),
        };
        self.overlay_edges += new.cols.len();
        if let Some(old) = self.overlay.insert(i, new) {
            self.overlay_edges -= old.cols.len();
        }
        if self.overlay_edges * 8 > self.cols.len().max(1024) {
            self.compact();
        }
        Ok(())
    }

    /// Row `i` as `(to, weight)` pairs, sorted by `to`.
    pub fn row(&self, i: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let (c, w) = self.row_slices(i as usize);
        c.iter().copied().zip(w.iter().copied())
    }

    /// Fold the overlay into the base arrays. O(edges).
    pub fn compact(&mut self) {
        if self.overlay.is_empty() {
            return;
        }
        let n = self.len();
        let mut row_ptr = Vec::with_capacity(n + 1);
        let mut cols = Vec::with_capacity(self.edges());
        let mut weights = Vec::with_capacity(self.edges());
        row_ptr.push(0u32);
        for i in 0..n {
            let (c, w) = self.row_slices(i);
            cols.extend_from_slice(c);
            weights.extend_from_slice(w);
            row_ptr.push(cols.len() as u32);
        }
        self.row_ptr = row_ptr;
        self.cols = cols;
        self.weights = weights;
        self.overlay.clear();
        self.overlay_edges = 0;
    }

    fn base_row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.row_ptr[i] as usize, self.row_ptr[i + 1] as usize);
        (&self.cols[a..b], &self.weights[a..b])
    }

    fn row_slices(&self, i: usize) -> (&[u32], &[f32]) {
        match self.overlay.get(&(i as u32)) {
            Some(r) => (&r.cols, &r.weights),
            None => self.base_row(i),
        }
    }
}

fn check_edge(n: usize, from: u32, to: u32, weight: f32) -> Result<(), EigenTrustError> {
    for index in [from, to] {
        if index as usize >= n {
            return Err(EigenTrustError::OutOfRange { index, len: n });
        }
    }
    if !weight.is_finite() || weight < 0.0 {
        return Err(EigenTrustError::BadWeight { from, to, weight });
    }
    Ok(())
}

fn canonical_row(row: &mut Vec<(u32, f32)>) {
    row.sort_by_key(|e| e.0);
    row.dedup_by(|later, kept| {
        if later.0 == kept.0 {
            kept.1 += later.1;
            true
        } else {
            false
        }
    });
    row.retain(|e| e.1 > 0.0);
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Convergence {
    /// Steps taken.
    pub iterations: u32,
    /// L1 change of the last step.
    pub residual: f64,
    /// Whether `residual < epsilon` (otherwise `max_iterations` was reached).
    pub converged: bool,
}

/// Runs EigenTrust and keeps its vectors, so the next run starts from the last result.
#[derive(Clone, Debug, Default)]
pub struct Solver {
    t: Vec<f64>,
    next: Vec<f64>,
    share: Vec<f64>,
    p: Vec<f64>,
}

impl Solver {
    /// A solver with no previous result.
    pub fn new() -> Self {
        Self::default()
    }

    /// The last result (empty before the first run).
    pub fn scores(&self) -> &[f64] {
        &self.t
    }

    /// Forget the previous result: the next run starts from the pretrust (a cold start).
    pub fn reset(&mut self) {
        self.t.clear();
    }

    /// Run to convergence. Starts from the previous result when it has the graph's length
    /// (new agents appended since get their pretrust share; the start vector is
    /// renormalised), otherwise from the pretrust.
    ///
    /// `pretrust` has one non-negative finite entry per agent; it is normalised here, and
    /// replaced by the uniform distribution if it sums to zero.
    pub fn run(
        &mut self,
        graph: &TrustGraph,
        pretrust: &[f64],
        params: &EigenTrustParams,
    ) -> Result<Convergence, EigenTrustError> {
        params.validate()?;
        let n = graph.len();
        if pretrust.len() != n {
            return Err(EigenTrustError::BadPretrust(
                "length differs from the graph",
            ));
        }
        if pretrust.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(EigenTrustError::BadPretrust(
                "entry is negative or not finite",
            ));
        }
        if n == 0 {
            self.t.clear();
            return Ok(Convergence {
                iterations: 0,
                residual: 0.0,
                converged: true,
            });
        }
        let sum: f64 = pretrust.iter().sum();
        self.p.clear();
        if sum > 0.0 {
            self.p.extend(pretrust.iter().map(|v| v / sum));
        } else {
            self.p.resize(n, 1.0 / n as f64);
        }
        // Warm start: keep what we had, give newcomers their pretrust share, renormalise.
        if self.t.len() > n {
            self.t.clear();
        }
        if self.t.is_empty() {
            self.t.extend_from_slice(&self.p);
        } else {
            let have = self.t.len();
            self.t.extend_from_slice(&self.p[have..]);
            let s: f64 = self.t.iter().sum();
            if s > 0.0 && s.is_finite() {
                self.t.iter_mut().for_each(|v| *v /= s);
            } else {
                self.t.copy_from_slice(&self.p);
            }
        }
        self.next.resize(n, 0.0);
        self.share.resize(n, 0.0);
        // Row sums do not change during a run.
        let row_sums = row_sums(graph);
        let a = params.alpha;
        let mut residual = f64::INFINITY;
        let mut iterations = 0;
        while iterations < params.max_iterations {
            residual = step(
                graph,
                &row_sums,
                &self.p,
                a,
                &self.t,
                &mut self.share,
                &mut self.next,
            );
            std::mem::swap(&mut self.t, &mut self.next);
            iterations += 1;
            if residual < params.epsilon {
                break;
            }
        }
        Ok(Convergence {
            iterations,
            residual,
            converged: residual < params.epsilon,
        })
    }
}

fn row_sums(graph: &TrustGraph) -> Vec<f64> {
    (0..graph.len())
        .map(|i| {
            let (_, w) = graph.row_slices(i);
            w.iter().map(|&x| x as f64).sum()
        })
        .collect()
}

/// One EigenTrust step `t → next`; returns the L1 change.
///
/// Push form: each truster's share `t_i / Σ_k w_ik` is computed once, then scattered along
/// its row. Overlay rows are merged in index order so no per-row map lookup is needed.
fn step(
    graph: &TrustGraph,
    row_sums: &[f64],
    p: &[f64],
    a: f64,
    t: &[f64],
    share: &mut [f64],
    next: &mut [f64],
) -> f64 {
    let n = t.len();
    let mut dangling = 0.0;
    for i in 0..n {
        let s = row_sums[i];
        if s > 0.0 {
            share[i] = t[i] / s;
        } else {
            share[i] = 0.0;
            dangling += t[i];
        }
    }
    next.iter_mut().for_each(|v| *v = 0.0);
    let mut overlay = graph.overlay.iter().peekable();
    for (i, &si) in share.iter().enumerate() {
        let (cols, weights) = match overlay.peek() {
            Some((k, row)) if **k as usize == i => {
                let r = (&row.cols[..], &row.weights[..]);
                overlay.next();
                r
            }
            _ => graph.base_row(i),
        };
        if si == 0.0 {
            continue;
        }
        for (&j, &w) in cols.iter().zip(weights) {
            next[j as usize] += w as f64 * si;
        }
    }
    let keep = 1.0 - a;
    let mut change = 0.0;
    for j in 0..n {
        let v = keep * (next[j] + dangling * p[j]) + a * p[j];
        change += (v - t[j]).abs();
        next[j] = v;
    }
    change
}

/// EigenTrust in one call: a cold run over `graph` with `pretrust`.
pub fn eigentrust(
    graph: &TrustGraph,
    pretrust: &[f64],
    params: &EigenTrustParams,
) -> Result<(Vec<f64>, Convergence), EigenTrustError> {
    let mut s = Solver::new();
    let c = s.run(graph, pretrust, params)?;
    Ok((s.t, c))
}

#[cfg(test)]
mod tests {
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
        let g = TrustGraph::from_edges(4, [(0, 1, 1.0), (1, 0, 1.0), (2, 3, 1.0), (3, 2, 1.0)])
            .unwrap();
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
        assert_eq!(g.edges(), rebuilt.edges());
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
        assert_eq!(g.edges(), 0);
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
}
