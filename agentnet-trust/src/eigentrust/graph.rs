//! [`TrustGraph`]: the sparse (CSR) local-trust matrix with its overlay of replaced rows,
//! versions and the change log a warm-started solver patches its residual from.

use super::*;

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
    pub(super) sums: Vec<f64>,
    /// Rows replaced since the last compaction: row index → range in `ov_cols`/`ov_weights`.
    overlay: BTreeMap<u32, Span>,
    /// Overlay rows, appended as written (a row written twice leaves its old copy behind
    /// until the next compaction).
    ov_cols: Vec<u32>,
    ov_weights: Vec<f32>,
    /// Live edges (overlay rows counted instead of the rows they replace).
    edge_count: usize,
    pub(super) version: u64,
    pub(super) log: ChangeLog,
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
pub(super) struct ChangeLog {
    entries: VecDeque<Change>,
    /// The old rows' edges, concatenated in entry order.
    pub(super) edges: VecDeque<(u32, f32)>,
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
pub(super) struct OldRow {
    pub(super) row: u32,
    pub(super) sum: f64,
    /// Range in [`ChangeLog::edges`].
    pub(super) start: usize,
    pub(super) end: usize,
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
    pub(super) fn since(&self, since: u64, current: u64) -> Option<Vec<OldRow>> {
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
    pub fn edge_count(&self) -> usize {
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
            .unwrap_or_else(|| MIN_LOG_UNITS.max((self.len() + self.edge_count()) / 2))
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
        let mut cols = Vec::with_capacity(self.edge_count());
        let mut weights = Vec::with_capacity(self.edge_count());
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
    pub(super) fn for_each_row(&self, mut f: impl FnMut(usize, &[u32], &[f32])) {
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
    pub(super) fn for_rows(&self, rows: &[OldRow], mut f: impl FnMut(usize, &[u32], &[f32])) {
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
