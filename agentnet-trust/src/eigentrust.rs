//! Sparse EigenTrust: the fixed point every reputation method in this crate computes, found
//! by Gauss–Seidel push sweeps that keep their residual between runs.
//!
//! Given a local-trust graph (agent `i` trusts agent `j` with weight `w_ij ≥ 0`) and a pretrust
//! distribution `p`, EigenTrust (Kamvar, Schlosser, Garcia-Molina 2003) defines the global
//! trust vector `t` as the fixed point `t = F(t)` of
//!
//! ```text
//! c_ij    = w_ij / Σ_k w_ik                       (row-normalised local trust)
//! F(t)_j  = (1 − a) · ( Σ_i c_ij · t_i  +  d(t) · p_j )  +  a · p_j
//! d(t)    = Σ_{i : Σ_k w_ik = 0} t_i              (mass of agents that trust nobody)
//! ```
//!
//! An agent that trusts nobody passes its trust on according to the pretrust, so `F` maps
//! distributions to distributions, and it contracts by `1 − a` in L1, so the fixed point is
//! unique. A run stops when `‖F(t) − t‖₁ < epsilon` — the L1 change one power step
//! `t → F(t)` would make from the returned vector, the power iteration's stopping rule — or
//! after `max_iterations` sweeps. The returned `t` is then within `epsilon / a` of the fixed
//! point in L1, and it is a probability distribution (`Σ t = 1` up to rounding, `t ≥ 0`).
//! [`EigenTrustParams`] holds `a`, `epsilon` and the bound. A `p` that sums to zero is
//! replaced by the uniform distribution, as in the reference formulation.
//!
//! # Method
//! [`Solver`] keeps `t` and the residual `r = F(t) − t` between runs. A sweep visits the
//! agents in index order; agent `i` moves its residual into its score (`t_i += r_i`,
//! `r_i = 0`) and pushes `(1 − a) · r_i · w_ij / Σ_k w_ik` into `r_j` along its row, so
//! residual pushed to a later agent moves on within the same sweep (Gauss–Seidel order). An
//! agent that trusts nobody adds `r_i` to a dangling accumulator instead, which is pushed as
//! `(1 − a) · acc · p` at the end of the sweep. Then `t` is rescaled to sum 1 (`c = 1 / Σt`)
//! and the residual corrected to match, `r ← c · r + (1 − c) · a · p` (`F` is affine). That
//! removes the residual's component along the total mass, which pushes alone shrink only by
//! `1 − a` per sweep. `‖r‖₁` comes out of the same pass; rounding below zero in `t` is
//! clamped to 0. The invariant `r = F(t) − t` holds after every sweep (up to rounding), so
//! the stopping rule needs no extra pass.
//!
//! A cold start (the first run, after [`Solver::reset`], or on a graph shorter than the last
//! one) begins at `t = p` with one full pass for `r = F(p) − p`, like the power iteration's
//! first step (a graph whose fixed point is `p` returns `p` exactly).
//!
//! # Warm start
//! The next run continues from the kept `t` and `r`, patched for what changed since:
//! - **Rows.** [`TrustGraph`] keeps a version that every [`TrustGraph::set_row`] renews and a
//!   bounded log of the rows it replaced (see [its docs](TrustGraph#versions-and-the-change-log)
//!   for the bound). For each row `i` changed since the version the solver last ran on,
//!   `r += (1 − a) · t_i · (ĉ_new_i − ĉ_old_i)`, where `ĉ_i` is row `i` normalised, or `p`
//!   for an empty row: one pass over the old and the new rows, plus one over `p` if a row
//!   became or stopped being empty.
//! - **Agents appended** ([`TrustGraph::grow`]) start at `t_j = 0`. No row had edges into
//!   them before and their old pretrust is 0, so `r_j = 0` before the patches above and
//!   below bring in what changed.
//! - **Pretrust.** `r += ((1 − a) · d(t) + a) · (p_new − p_old)`, O(n); the solver keeps the
//!   last normalised `p` (and skips this when it is unchanged).
//!
//! If the log does not reach back to the last run (it overflowed, [`TrustGraph::compact`]
//! dropped it, or the graph is another one) or `alpha` changed, the run recomputes `r` with
//! one full pass instead; [`Convergence::residual_pass`] reports it. Either way the run ends
//! at the same fixed point to within the stopping rule. Since `r` is kept rather than
//! recomputed, a warm run after a small change starts from a residual of the size of the
//! change and needs a few sweeps; `iterations` counts sweeps only.
//!
//! Runs are deterministic: the same graph edits, pretrusts and runs give bit-identical
//! scores (fixed visiting orders, no hash maps). A warm and a cold run agree to within the
//! stopping rule, not bit for bit.
//!
//! # Cost
//! [`TrustGraph`] stores rows in compressed sparse row form (one `u32` column and one `f32`
//! weight per edge, 8 bytes) plus each row's sum in `f64`, and normalises on the fly, so a
//! sweep streams the edges once and reads and writes `r` at random, like a power step. Rows
//! can be replaced without rebuilding ([`TrustGraph::set_row`] writes an overlay that the
//! sweeps merge in order, and logs the old row; [`TrustGraph::compact`] folds the overlay
//! back). A [`Solver`] holds four `f64` vectors of the graph's length. A sweep costs about
//! what a power step costs, but reduces the residual faster, since residual pushed to a later
//! agent is passed on within the same sweep.
//!
//! # What is measured
//! `cargo run --release -p agentnet-examples --bin bench_eigentrust -- --json` runs the
//! library against a plain CSR power iteration on 10^6 agents × 10 random edges, 1% of the
//! agents pretrusted, `a` = 0.5, `epsilon` = 1e-6, one thread, then changes 1% of the edges
//! and runs warm. On the 2-core development machine: a sweep (or the residual pass) takes
//! about as long as a reference iteration (ratio ≈ 1.0; the aim is at most 1.2), a cold run
//! is one residual pass and 7 sweeps in about 0.3 s (the reference takes 10 iterations;
//! aim: at most 0.5 s), and the warm run needs no residual pass and 5 sweeps (aim: at most
//! 5; the power iteration needed 8) — its residual goes 1.3e-2, 3.3e-3, 5.4e-4, 6.5e-5,
//! 6.6e-6, 6.0e-7. The bench's doc comment says exactly what is timed.
//!
//! # What this module does not do
//! It knows nothing about agents, topics or stake: indices are dense `u32`s that the callers
//! ([`crate::mg`]) map to agent ids, and the pretrust vector is theirs to build. It is
//! single-threaded.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;

/// Parameters of one EigenTrust run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EigenTrustParams {
    /// Weight `a` of the pretrust in `F`. Default 0.5; range (0, 1]. Larger values pull
    /// scores toward the pretrust (more Sybil resistance, less weight on the graph) and
    /// converge faster (`F` contracts by `1 − a` in L1).
    pub alpha: f64,
    /// Stop when `‖F(t) − t‖₁`, the L1 change one power step would make from the current
    /// vector, is below this. The result is then within `epsilon / a` of the fixed point in
    /// L1. Default 1e-6; range (0, 1).
    pub epsilon: f64,
    /// Give up after this many sweeps (the last vector is still a distribution, and the next
    /// run continues from it). Default 200; range 1..=10 000.
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

/// Source of graph versions: every graph state gets a number no other state of any graph in
/// this process has, so a version names one content (see [`TrustGraph`]).
static NEXT_VERSION: AtomicU64 = AtomicU64::new(1);

fn fresh_version() -> u64 {
    NEXT_VERSION.fetch_add(1, Ordering::Relaxed)
}

/// Smallest default bound of the change log, in units (see [`TrustGraph`]).
const MIN_LOG_UNITS: usize = 4096;

/// A local-trust graph over agents `0..len()`, rows in compressed sparse row form.
///
/// Row `i` lists whom agent `i` trusts and how much (raw, non-negative weights; the solver
/// normalises each row by its sum, which the graph keeps). Duplicate targets in one row are
/// summed; zero weights are dropped. `TrustGraph::default()` has no agents.
///
/// # Versions and the change log
/// Every edit that changes a row ([`set_row`](Self::set_row)) gives the graph a new
/// version, drawn from a process-wide counter: versions only grow along a graph's history,
/// and a version identifies one content even across clones (a clone shares the version
/// until either side is edited). The graph also
/// keeps a bounded log of the rows it replaced (the old row and its sum, or "was empty"),
/// which lets a [`Solver`] that last ran on an older version of this graph (or of a graph
/// it was cloned from) patch its residual instead of recomputing it.
/// [`grow`](Self::grow) does not change the version: new agents have empty rows, and the
/// solver notices them by the length.
///
/// The log is bounded in *units*: a logged row costs one unit plus one per edge of the old
/// row (8 bytes per edge, 32 per row). The default bound is
/// `max(4096, (len() + edges()) / 2)` units, evaluated at each edit: replaying the log costs
/// about one pass over the old and the new rows, so beyond half the graph one full residual
/// pass (one pass over all edges) is cheaper. [`set_change_log_limit`](Self::set_change_log_limit)
/// fixes the bound instead (any `usize`; 0 keeps no log, so every warm start after an edit
/// does a full residual pass). When an edit would exceed the bound, the oldest entries are
/// dropped; a solver whose version they covered falls back to a full residual pass.
/// [`compact`](Self::compact) drops the whole log (the version stays: the content does not
/// change); the automatic compaction inside `set_row` keeps it.
#[derive(Clone, Debug)]
pub struct TrustGraph {
    row_ptr: Vec<u32>,
    cols: Vec<u32>,
    weights: Vec<f32>,
    /// `Σ_k w_ik` per row in `f64`, summed in column order (0 for a row that trusts nobody).
    sums: Vec<f64>,
    /// Rows replaced since the last compaction: row index → range in `ov_cols`/`ov_weights`.
    overlay: BTreeMap<u32, Span>,
    /// Overlay rows, appended as written (a row written twice leaves its old copy behind
    /// until the next compaction).
    ov_cols: Vec<u32>,
    ov_weights: Vec<f32>,
    /// Live edges (overlay rows counted instead of the rows they replace).
    edge_count: usize,
    version: u64,
    log: ChangeLog,
}

impl Default for TrustGraph {
    fn default() -> Self {
        TrustGraph {
            row_ptr: vec![0],
            cols: Vec::new(),
            weights: Vec::new(),
            sums: Vec::new(),
            overlay: BTreeMap::new(),
            ov_cols: Vec::new(),
            ov_weights: Vec::new(),
            edge_count: 0,
            version: fresh_version(),
            log: ChangeLog::default(),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
}

/// Rows replaced by `set_row`, oldest first.
#[derive(Clone, Debug, Default)]
struct ChangeLog {
    entries: VecDeque<Change>,
    /// The old rows' edges, concatenated in entry order.
    edges: VecDeque<(u32, f32)>,
    /// Absolute position (since the log was created) of `edges[0]`.
    dropped_edges: u64,
    /// Entries plus edges held.
    units: usize,
    /// Fixed bound in units, or `None` for the default.
    limit: Option<usize>,
}

#[derive(Clone, Copy, Debug)]
struct Change {
    /// Version of the graph before this change.
    before: u64,
    row: u32,
    /// Sum of the old row (0 if it was empty).
    sum: f64,
    /// Absolute position of the old row's first edge in the log.
    start: u64,
    len: u32,
}

/// A row as it was at the start of a gap in the change log.
#[derive(Clone, Copy, Debug)]
struct OldRow {
    row: u32,
    sum: f64,
    /// Range in [`ChangeLog::edges`].
    start: usize,
    end: usize,
}

impl ChangeLog {
    fn push(&mut self, before: u64, row: u32, sum: f64, old: (&[u32], &[f32]), limit: usize) {
        let start = self.dropped_edges + self.edges.len() as u64;
        self.edges
            .extend(old.0.iter().copied().zip(old.1.iter().copied()));
        self.entries.push_back(Change {
            before,
            row,
            sum,
            start,
            len: old.0.len() as u32,
        });
        self.units += 1 + old.0.len();
        self.trim(limit);
    }

    fn trim(&mut self, limit: usize) {
        while self.units > limit {
            let Some(e) = self.entries.pop_front() else {
                break;
            };
            self.edges.drain(..e.len as usize);
            self.dropped_edges += u64::from(e.len);
            self.units -= 1 + e.len as usize;
        }
    }

    fn clear(&mut self) {
        self.dropped_edges += self.edges.len() as u64;
        self.entries.clear();
        self.edges.clear();
        self.units = 0;
    }

    /// The rows changed since the graph had version `since` (the graph is now at
    /// `current`), each as it was then, ascending by row; `None` if the log does not reach
    /// back to `since`.
    fn since(&self, since: u64, current: u64) -> Option<Vec<OldRow>> {
        if since == current {
            return Some(Vec::new());
        }
        // Versions grow along a graph's history, so the entries are sorted by `before`.
        let first = self.entries.partition_point(|e| e.before < since);
        if self.entries.get(first)?.before != since {
            return None;
        }
        let mut rows: Vec<OldRow> = self
            .entries
            .range(first..)
            .map(|e| {
                let start = (e.start - self.dropped_edges) as usize;
                OldRow {
                    row: e.row,
                    sum: e.sum,
                    start,
                    end: start + e.len as usize,
                }
            })
            .collect();
        // Keep the first change of each row: it holds the row as it was at `since`. The
        // sort is stable, so equal rows stay in log order.
        rows.sort_by_key(|o| o.row);
        rows.dedup_by_key(|o| o.row);
        Some(rows)
    }
}

impl TrustGraph {
    /// An empty graph with `n` agents and no edges.
    pub fn new(n: usize) -> Result<Self, EigenTrustError> {
        if n >= u32::MAX as usize {
            return Err(EigenTrustError::TooLarge);
        }
        Ok(TrustGraph {
            row_ptr: vec![0; n + 1],
            sums: vec![0.0; n],
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
        let mut sorted = vec![(0u32, 0f32); edges.len()];
        for &(from, to, weight) in &edges {
            let at = &mut next[from as usize];
            sorted[*at as usize] = (to, weight);
            *at += 1;
        }
        drop(edges);
        // Canonicalise rows (sorted, merged duplicates, no zeros) so equal graphs iterate
        // identically whatever the input order.
        g.cols.reserve(sorted.len());
        g.weights.reserve(sorted.len());
        let mut scratch = Vec::new();
        for i in 0..n {
            scratch.clear();
            scratch.extend_from_slice(&sorted[counts[i] as usize..counts[i + 1] as usize]);
            canonical_row(&mut scratch);
            g.cols.extend(scratch.iter().map(|e| e.0));
            g.weights.extend(scratch.iter().map(|e| e.1));
            g.row_ptr[i + 1] = g.cols.len() as u32;
            g.sums[i] = row_sum(&g.weights[g.row_ptr[i] as usize..]);
        }
        g.edge_count = g.cols.len();
        Ok(g)
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
        self.edge_count
    }

    /// The version of the content (see [Versions and the change log](Self#versions-and-the-change-log)).
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The bound of the change log in units (one per logged row plus one per edge of the
    /// old row); the default is `max(4096, (len() + edges()) / 2)`.
    pub fn change_log_limit(&self) -> usize {
        self.log
            .limit
            .unwrap_or_else(|| MIN_LOG_UNITS.max((self.len() + self.edges()) / 2))
    }

    /// Fix the bound of the change log in units (`Some`, any value; 0 keeps no log), or go
    /// back to the default (`None`). Trims the log at once if it holds more.
    pub fn set_change_log_limit(&mut self, limit: Option<usize>) {
        self.log.limit = limit;
        let limit = self.change_log_limit();
        self.log.trim(limit);
    }

    /// Grow to `n` agents (new agents trust nobody yet). Shrinking is not supported.
    pub fn grow(&mut self, n: usize) -> Result<(), EigenTrustError> {
        if n >= u32::MAX as usize {
            return Err(EigenTrustError::TooLarge);
        }
        let last = *self.row_ptr.last().expect("row_ptr has n + 1 entries");
        while self.len() < n {
            self.row_ptr.push(last);
            self.sums.push(0.0);
        }
        Ok(())
    }

    /// Replace row `i` (whom agent `i` trusts). O(row length); the old row goes to the
    /// change log. The base arrays are rebuilt only by [`compact`](Self::compact), which
    /// this does by itself (keeping the change log) when the overlay holds more than an
    /// eighth of the edges.
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
        let old_len = self.row_slices(i as usize).0.len();
        let edge_count = self.edge_count - old_len + row.len();
        if edge_count >= u32::MAX as usize {
            return Err(EigenTrustError::TooLarge);
        }
        // Log the old row under the version it belonged to, then move on.
        let limit = MIN_LOG_UNITS.max((n + edge_count) / 2);
        let limit = self.log.limit.unwrap_or(limit);
        let old = match self.overlay.get(&i) {
            Some(s) => (
                &self.ov_cols[s.start..s.end],
                &self.ov_weights[s.start..s.end],
            ),
            None => {
                let (a, b) = (
                    self.row_ptr[i as usize] as usize,
                    self.row_ptr[i as usize + 1] as usize,
                );
                (&self.cols[a..b], &self.weights[a..b])
            }
        };
        self.log
            .push(self.version, i, self.sums[i as usize], old, limit);
        self.version = fresh_version();

        let start = self.ov_cols.len();
        self.ov_cols.extend(row.iter().map(|e| e.0));
        self.ov_weights.extend(row.iter().map(|e| e.1));
        let end = self.ov_cols.len();
        self.overlay.insert(i, Span { start, end });
        self.sums[i as usize] = row_sum(&self.ov_weights[start..end]);
        self.edge_count = edge_count;
        if self.ov_cols.len() * 8 > self.cols.len().max(1024) {
            self.fold_overlay();
        }
        Ok(())
    }

    /// Row `i` as `(to, weight)` pairs, sorted by `to`.
    pub fn row(&self, i: u32) -> impl Iterator<Item = (u32, f32)> + '_ {
        let (c, w) = self.row_slices(i as usize);
        c.iter().copied().zip(w.iter().copied())
    }

    /// Fold the overlay into the base arrays and drop the change log. O(edges). The
    /// version stays (the content is the same), so a solver that ran on this version keeps
    /// its warm start; one that ran on an older version does a full residual pass next.
    pub fn compact(&mut self) {
        self.fold_overlay();
        self.log.clear();
    }

    fn fold_overlay(&mut self) {
        if self.overlay.is_empty() && self.ov_cols.is_empty() {
            return;
        }
        let n = self.len();
        let mut row_ptr = Vec::with_capacity(n + 1);
        let mut cols = Vec::with_capacity(self.edges());
        let mut weights = Vec::with_capacity(self.edges());
        row_ptr.push(0u32);
        self.for_each_row(|_, c, w| {
            cols.extend_from_slice(c);
            weights.extend_from_slice(w);
            row_ptr.push(cols.len() as u32);
        });
        self.row_ptr = row_ptr;
        self.cols = cols;
        self.weights = weights;
        self.overlay.clear();
        self.ov_cols = Vec::new();
        self.ov_weights = Vec::new();
    }

    fn base_row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.row_ptr[i] as usize, self.row_ptr[i + 1] as usize);
        (&self.cols[a..b], &self.weights[a..b])
    }

    fn overlay_row(&self, s: Span) -> (&[u32], &[f32]) {
        (
            &self.ov_cols[s.start..s.end],
            &self.ov_weights[s.start..s.end],
        )
    }

    fn row_slices(&self, i: usize) -> (&[u32], &[f32]) {
        match self.overlay.get(&(i as u32)) {
            Some(&s) => self.overlay_row(s),
            None => self.base_row(i),
        }
    }

    /// `f(i, cols, weights)` for every row in index order, overlay rows merged in (no
    /// per-row map lookup).
    #[inline]
    fn for_each_row(&self, mut f: impl FnMut(usize, &[u32], &[f32])) {
        // One call site, so the callers' bodies inline into the loop.
        let mut overlay = self.overlay.iter();
        let mut next = overlay.next();
        for i in 0..self.len() {
            let (c, w) = match next {
                Some((&k, &span)) if k as usize == i => {
                    next = overlay.next();
                    self.overlay_row(span)
                }
                _ => self.base_row(i),
            };
            f(i, c, w);
        }
    }

    /// `f(k, cols, weights)` for the current row of each `rows[k].row` (ascending, distinct).
    fn for_rows(&self, rows: &[OldRow], mut f: impl FnMut(usize, &[u32], &[f32])) {
        if rows.len() * 32 < self.overlay.len() {
            // Few rows, large overlay: look each up.
            for (k, o) in rows.iter().enumerate() {
                let (c, w) = self.row_slices(o.row as usize);
                f(k, c, w);
            }
            return;
        }
        let mut overlay = self.overlay.iter().peekable();
        for (k, o) in rows.iter().enumerate() {
            while overlay.next_if(|(r, _)| **r < o.row).is_some() {}
            let (c, w) = match overlay.peek() {
                Some((r, span)) if **r == o.row => self.overlay_row(**span),
                _ => self.base_row(o.row as usize),
            };
            f(k, c, w);
        }
    }
}

fn row_sum(weights: &[f32]) -> f64 {
    weights.iter().map(|&x| f64::from(x)).sum()
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
    /// Sweeps taken (0 if the start was already within `epsilon`).
    pub iterations: u32,
    /// `‖F(t) − t‖₁` of the returned vector (the L1 change one power step would make).
    pub residual: f64,
    /// Whether `residual < epsilon` (otherwise `max_iterations` was reached).
    pub converged: bool,
    /// Whether the run computed its residual from scratch with one full pass over the edges
    /// (about the cost of a sweep, not counted in `iterations`) instead of patching the
    /// previous one: on a cold start, after a change to `alpha`, when the graph's change log
    /// does not reach back to the last run (overflowed, compacted, or another graph).
    pub residual_pass: bool,
}

/// Runs EigenTrust and keeps its state (the scores `t`, the residual `F(t) − t`, the
/// pretrust and the graph version), so the next run starts from the last result and
/// patches the residual for what changed. See the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct Solver {
    t: Vec<f64>,
    r: Vec<f64>,
    /// Normalised pretrust of the last run.
    p: Vec<f64>,
    /// Scratch: the normalised pretrust of this run.
    p_new: Vec<f64>,
    /// What `t`, `r` and `p` belong to; `None` before the first run and after `reset`.
    last: Option<LastRun>,
}

#[derive(Clone, Copy, Debug)]
struct LastRun {
    version: u64,
    alpha: f64,
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

    /// Forget the previous result: the next run is a cold start.
    pub fn reset(&mut self) {
        self.t.clear();
        self.r.clear();
        self.p.clear();
        self.last = None;
    }

    /// Run to convergence: sweep until `‖F(t) − t‖₁ < epsilon` or `max_iterations` sweeps.
    ///
    /// If there is a previous result and the graph is at least as long, the run starts warm
    /// from it (agents appended since start at 0): the kept residual is patched for the
    /// rows, agents and pretrust that changed, or recomputed with one full pass when the
    /// graph's change log does not reach back to the last run or `alpha` changed. Otherwise
    /// (before the first run, after [`reset`](Self::reset), on a shorter graph) it starts
    /// cold from the pretrust, with one full residual pass. A start already within
    /// `epsilon` returns after 0 sweeps.
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
            self.reset();
            return Ok(Convergence {
                iterations: 0,
                residual: 0.0,
                converged: true,
                residual_pass: false,
            });
        }
        normalise(pretrust, &mut self.p_new);
        let a = params.alpha;
        let warm = self.last.filter(|_| self.t.len() <= n);
        let mut residual_pass = true;
        let mut norm = match warm {
            None => {
                // Cold: t = p, r = F(p) − p, like the first power step.
                self.t.clear();
                self.t.extend_from_slice(&self.p_new);
                self.r.clear();
                self.r.resize(n, 0.0);
                full_residual(graph, &self.p_new, a, &self.t, &mut self.r)
            }
            Some(last) => {
                // Newcomers: t_j = 0, and with the old pretrust (p_j = 0) and no edges into
                // them at the last version, r_j = F(t)_j − t_j = 0.
                self.t.resize(n, 0.0);
                self.r.resize(n, 0.0);
                self.p.resize(n, 0.0);
                let old_rows = (last.alpha == a)
                    .then(|| graph.log.since(last.version, graph.version))
                    .flatten();
                match old_rows {
                    Some(rows) => {
                        residual_pass = false;
                        patch_rows(graph, &rows, &self.p, a, &self.t, &mut self.r);
                        if self.p != self.p_new {
                            patch_pretrust(graph, &self.p, &self.p_new, a, &self.t, &mut self.r);
                        }
                        self.r.iter().map(|v| v.abs()).sum()
                    }
                    None => full_residual(graph, &self.p_new, a, &self.t, &mut self.r),
                }
            }
        };
        std::mem::swap(&mut self.p, &mut self.p_new);
        self.last = Some(LastRun {
            version: graph.version,
            alpha: a,
        });
        let mut iterations = 0;
        while (norm >= params.epsilon || norm.is_nan()) && iterations < params.max_iterations {
            norm = sweep(graph, &self.p, a, &mut self.t, &mut self.r);
            iterations += 1;
        }
        Ok(Convergence {
            iterations,
            residual: norm,
            converged: norm < params.epsilon,
            residual_pass,
        })
    }
}

/// `p / Σp` into `out`, or uniform if `Σp = 0`.
fn normalise(pretrust: &[f64], out: &mut Vec<f64>) {
    out.clear();
    let mut sum: f64 = pretrust.iter().sum();
    let mut scale = 1.0;
    if sum.is_infinite() {
        // Finite entries whose sum overflows: scale down first.
        scale = 1.0 / pretrust.iter().copied().fold(0.0, f64::max);
        sum = pretrust.iter().map(|v| v * scale).sum();
    }
    if sum > 0.0 {
        out.extend(pretrust.iter().map(|v| v * scale / sum));
    } else {
        out.resize(pretrust.len(), 1.0 / pretrust.len() as f64);
    }
}

/// `r = F(t) − t` with one pass over the edges; returns `‖r‖₁`.
fn full_residual(graph: &TrustGraph, p: &[f64], a: f64, t: &[f64], r: &mut [f64]) -> f64 {
    r.iter_mut().for_each(|v| *v = 0.0);
    let sums = &graph.sums;
    let mut dangling = 0.0;
    graph.for_each_row(|i, cols, weights| {
        let ti = t[i];
        if ti == 0.0 {
            return;
        }
        let s = sums[i];
        if s > 0.0 {
            let f = ti / s;
            for (&j, &w) in cols.iter().zip(weights) {
                r[j as usize] += f64::from(w) * f;
            }
        } else {
            dangling += ti;
        }
    });
    let keep = 1.0 - a;
    let mut norm = 0.0;
    for ((rj, &pj), &tj) in r.iter_mut().zip(p).zip(t) {
        let v = keep * (*rj + dangling * pj) + a * pj - tj;
        *rj = v;
        norm += v.abs();
    }
    norm
}

/// One Gauss–Seidel push sweep in index order, then the rescale to `Σt = 1`; keeps
/// `r = F(t) − t` and returns `‖r‖₁`.
fn sweep(graph: &TrustGraph, p: &[f64], a: f64, t: &mut [f64], r: &mut [f64]) -> f64 {
    let keep = 1.0 - a;
    let sums = &graph.sums;
    let mut dangling = 0.0;
    let mut total = 0.0;
    graph.for_each_row(|i, cols, weights| {
        let ri = r[i];
        if ri != 0.0 {
            let ti = t[i] + ri;
            t[i] = ti;
            r[i] = 0.0;
            let s = sums[i];
            if s > 0.0 {
                let f = keep * ri / s;
                for (&j, &w) in cols.iter().zip(weights) {
                    r[j as usize] += f64::from(w) * f;
                }
            } else {
                dangling += ri;
            }
        }
        total += t[i];
    });
    // Rescale t to sum 1; F(c·t) − c·t = c·(F(t) − t) + (1 − c)·a·p.
    let c = if total > 0.0 && total.is_finite() {
        1.0 / total
    } else {
        1.0
    };
    let push = keep * dangling;
    let shift = (1.0 - c) * a;
    let mut norm = 0.0;
    for ((rj, tj), &pj) in r.iter_mut().zip(t.iter_mut()).zip(p) {
        let v = c * (*rj + push * pj) + shift * pj;
        *rj = v;
        norm += v.abs();
        // Clamp rounding below zero.
        *tj = (c * *tj).max(0.0);
    }
    norm
}

/// For each row changed since the last run: `r += (1 − a)·t_i·(ĉ_new_i − ĉ_old_i)`, where
/// an empty row's `ĉ` is `p` (the pretrust `r` was computed with).
fn patch_rows(graph: &TrustGraph, rows: &[OldRow], p: &[f64], a: f64, t: &[f64], r: &mut [f64]) {
    let keep = 1.0 - a;
    let old_edges = &graph.log.edges;
    let mut dangling = 0.0;
    graph.for_rows(rows, |k, cols, weights| {
        let o = rows[k];
        let i = o.row as usize;
        let ti = t[i];
        if ti == 0.0 {
            return;
        }
        if o.sum > 0.0 {
            let f = keep * ti / o.sum;
            for &(j, w) in old_edges.range(o.start..o.end) {
                r[j as usize] -= f64::from(w) * f;
            }
        } else {
            dangling -= ti;
        }
        let s = graph.sums[i];
        if s > 0.0 {
            let f = keep * ti / s;
            for (&j, &w) in cols.iter().zip(weights) {
                r[j as usize] += f64::from(w) * f;
            }
        } else {
            dangling += ti;
        }
    });
    if dangling != 0.0 {
        let f = keep * dangling;
        for (rj, &pj) in r.iter_mut().zip(p) {
            *rj += f * pj;
        }
    }
}

/// The pretrust went from `old` to `new`: `r += ((1 − a)·d(t) + a)·(new − old)`.
fn patch_pretrust(graph: &TrustGraph, old: &[f64], new: &[f64], a: f64, t: &[f64], r: &mut [f64]) {
    let d: f64 = t
        .iter()
        .zip(&graph.sums)
        .filter(|(_, s)| **s == 0.0)
        .map(|(ti, _)| ti)
        .sum();
    let f = (1.0 - a) * d + a;
    for ((rj, &o), &n) in r.iter_mut().zip(old).zip(new) {
        *rj += f * (n - o);
    }
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
