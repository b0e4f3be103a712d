//! Sparse EigenTrust benchmark: `agentnet_trust::eigentrust` against a plain CSR power
//! iteration in the same run, then a warm start after a small edge change.
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin bench_eigentrust -- --json
//! ```
//!
//! The issue's targets, at 10^6 agents × 10 edges per agent, iterating to an L1 change below
//! 1e-6: time per iteration at most 1.2× a plain CSR reference loop, total cold time at most
//! 0.5 s (the machine has 2 cores; the library is single-threaded by design, so one is used),
//! and at most 5 iterations from a warm start after 1% of the edges changed.
//!
//! # Workload
//! - **Graph**: every agent gets `--edges-per-agent` distinct random targets other than itself,
//!   with weights uniform in (0, 1] (24-bit grid, exact in `f32`). Each row is sorted by
//!   target before both contenders see it, so they stream the same edges in the same order.
//!   Everything comes from a splitmix64 generator seeded with `--seed`.
//! - **Pretrust**: 1% of the agents (at least one), chosen at random without repetition,
//!   weight 1 each, 0 for everybody else. This is a typical "small set of trusted seeds"
//!   setting; it also leaves 99% of the agents with a zero pretrust so the result depends on
//!   the graph, not on a uniform prior.
//! - **Change**: `--change` of all edges (default 1%) picked at random without repetition;
//!   each is retargeted to a new random agent (not the owner, not already in the row) with a
//!   new random weight. Affected rows are replaced with [`TrustGraph::set_row`].
//!
//! # What is measured
//! 1. `build_ms`: [`TrustGraph::from_edges`] on the edge list.
//! 2. **Per-iteration time**, library against reference. The reference is the textbook loop
//!    in this file (`Csr`): pre-normalised `f64` values in CSR, one step scatters
//!    `vals[k] * t[i]` into `next`, sums the dangling mass, and forms
//!    `(1 − a)(next + d·p) + a·p` while computing the L1 change in the same pass. Each
//!    contender runs from a cold start (the pretrust) to convergence `--repeats` times,
//!    alternating; one repetition's per-iteration time is its wall time divided by its
//!    iterations (for the library, a whole [`Solver::run`] on a reused solver, so its per-run
//!    set-up such as row sums is included). Medians are reported, and `ratio` = library ÷
//!    reference. The final vectors must agree within 1e-9 in L1 (`agreement_l1`).
//! 3. **Cold total**: the median wall time of those library runs and their iterations. The
//!    one-call [`eigentrust`] from nothing (allocations included) is reported once as
//!    `eigentrust_call_ms`.
//! 4. **Warm start**: after the change, `Solver::run` on the same solver (which holds the old
//!    fixed point), `--repeats` times from a copy of that solver; iterations and median time.
//!    For comparison: the cold iterations on the changed graph, the same warm run after
//!    [`TrustGraph::compact`] (no overlay), and the reference's residual per step from the
//!    same warm start (which shows why the number of warm iterations is what it is).
//! 5. **Overlay cost**: runs capped at 1 and 3 steps, on the graph with `set_row` overlay rows
//!    and on its compacted copy, split each run into a per-run set-up part and a per-step
//!    part (`overlay_setup_ms`, `overlay_step_ms`, `compacted_*`).
//!
//! With `--prototypes`, scratch solvers in this file (not the library) run on the changed
//! graph for comparison, each measured by iterations, time and L1 distance to the fixed point
//! computed to 1e-14: Gauss–Seidel-order push sweeps over the same row layout as the library
//! (plain; renormalised to total mass 1 after each sweep; and with alternating sweep
//! direction), cold, warm with one full residual computation, and warm with the residual
//! kept from the previous run and patched from the changed rows only; and Anderson
//! acceleration (memory 1 to 3) on the plain step.
//!
//! Progress goes to stderr; with `--json` one JSON object goes to stdout.
//!
//! Flags: `--agents N` (1,000,000), `--edges-per-agent K` (10), `--alpha A` (library
//! default), `--epsilon E` (1e-6), `--change F` (0.01), `--repeats R` (5), `--seed S` (1),
//! `--prototypes`, `--json`.

#![recursion_limit = "256"]

use std::hint::black_box;
use std::time::Instant;

use agentnet_trust::eigentrust::{Convergence, EigenTrustParams, Solver, TrustGraph, eigentrust};
use clap::Parser;
use serde_json::json;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// Sparse EigenTrust against a plain CSR reference loop, cold and warm.
#[derive(Parser, Debug, Clone)]
#[command(
    version,
    about = "Sparse EigenTrust: time per iteration against a plain CSR loop, cold total time, \
             and warm-start iterations after a small edge change (see the source's doc comment)"
)]
struct Args {
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Number of agents.
    #[arg(long, default_value_t = 1_000_000)]
    agents: u32,
    /// Distinct random targets per agent.
    #[arg(long, default_value_t = 10)]
    edges_per_agent: u32,
    /// Weight of the pretrust in each step.
    #[arg(long, default_value_t = EigenTrustParams::default().alpha)]
    alpha: f64,
    /// Stop when the L1 change of one step is below this.
    #[arg(long, default_value_t = 1e-6)]
    epsilon: f64,
    /// Fraction of the edges retargeted before the warm run.
    #[arg(long, default_value_t = 0.01)]
    change: f64,
    /// Repetitions of each timed run (the median is reported).
    #[arg(long, default_value_t = 5)]
    repeats: usize,
    /// Seed of the graph, pretrust and change.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also measure scratch alternatives to the library's solver (push sweeps in
    /// Gauss-Seidel order, Anderson acceleration); adds a `prototypes` object.
    #[arg(long)]
    prototypes: bool,
}

// ----- deterministic randomness -----

/// splitmix64: small, fast, and good enough to draw a benchmark graph.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (multiply-shift; the bias is far below what matters here).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform on the 24-bit grid in (0, 1]; exact in `f32`.
    fn weight(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 + 1.0) / (1u32 << 24) as f32
    }
}

/// A random target for row `from`: not `from`, not already in `row`.
fn fresh_target(rng: &mut Rng, n: u32, from: u32, row: &[(u32, u32, f32)]) -> u32 {
    loop {
        let to = rng.below(u64::from(n)) as u32;
        if to != from && row.iter().all(|e| e.1 != to) {
            return to;
        }
    }
}

/// `n × k` edges, row `i` at `edges[i*k .. (i+1)*k]`, each row sorted by target.
fn random_edges(rng: &mut Rng, n: u32, k: u32) -> Vec<(u32, u32, f32)> {
    let k = k as usize;
    let mut edges = Vec::with_capacity(n as usize * k);
    for from in 0..n {
        let start = edges.len();
        for _ in 0..k {
            let to = fresh_target(rng, n, from, &edges[start..]);
            edges.push((from, to, rng.weight()));
        }
        edges[start..].sort_unstable_by_key(|e| e.1);
    }
    edges
}

/// 1% of the agents (at least one), weight 1; everybody else 0.
fn random_pretrust(rng: &mut Rng, n: u32) -> Vec<f64> {
    let mut p = vec![0.0; n as usize];
    let want = (n as usize / 100).max(1);
    let mut chosen = 0;
    while chosen < want {
        let i = rng.below(u64::from(n)) as usize;
        if p[i] == 0.0 {
            p[i] = 1.0;
            chosen += 1;
        }
    }
    p
}

/// Retarget `count` distinct random edges in place; returns the affected rows, ascending.
fn change_edges(
    rng: &mut Rng,
    edges: &mut [(u32, u32, f32)],
    n: u32,
    k: u32,
    count: usize,
) -> Vec<u32> {
    let k = k as usize;
    let mut picked = vec![false; edges.len()];
    let mut rows = Vec::new();
    let mut done = 0;
    while done < count {
        let e = rng.below(edges.len() as u64) as usize;
        if picked[e] {
            continue;
        }
        picked[e] = true;
        done += 1;
        let from = edges[e].0;
        let start = from as usize * k;
        let to = fresh_target(rng, n, from, &edges[start..start + k]);
        edges[e] = (from, to, rng.weight());
        rows.push(from);
    }
    rows.sort_unstable();
    rows.dedup();
    for &r in &rows {
        let start = r as usize * k;
        edges[start..start + k].sort_unstable_by_key(|e| e.1);
    }
    rows
}

// ----- reference: a plain CSR power iteration -----

/// Row-normalised local trust in textbook CSR: `vals[k] = w / Σ row` in `f64`.
#[derive(Debug)]
struct Csr {
    row_ptr: Vec<u32>,
    cols: Vec<u32>,
    vals: Vec<f64>,
}

impl Csr {
    /// Counting sort by row (stable, so the rows keep the input order), then normalise.
    fn from_edges(n: usize, edges: &[(u32, u32, f32)]) -> Csr {
        let mut row_ptr = vec![0u32; n + 1];
        for e in edges {
            row_ptr[e.0 as usize + 1] += 1;
        }
        for i in 0..n {
            row_ptr[i + 1] += row_ptr[i];
        }
        let mut at = row_ptr.clone();
        let mut cols = vec![0u32; edges.len()];
        let mut vals = vec![0f64; edges.len()];
        for &(from, to, w) in edges {
            let slot = &mut at[from as usize];
            cols[*slot as usize] = to;
            vals[*slot as usize] = f64::from(w);
            *slot += 1;
        }
        for i in 0..n {
            let row = &mut vals[row_ptr[i] as usize..row_ptr[i + 1] as usize];
            let sum: f64 = row.iter().sum();
            if sum > 0.0 {
                row.iter_mut().for_each(|v| *v /= sum);
            }
        }
        Csr {
            row_ptr,
            cols,
            vals,
        }
    }

    /// One step `t → next`; returns the L1 change.
    fn step(&self, p: &[f64], a: f64, t: &[f64], next: &mut [f64]) -> f64 {
        next.iter_mut().for_each(|v| *v = 0.0);
        let mut dangling = 0.0;
        for (i, &ti) in t.iter().enumerate() {
            let (s, e) = (self.row_ptr[i] as usize, self.row_ptr[i + 1] as usize);
            if s == e {
                dangling += ti;
                continue;
            }
            for (&j, &v) in self.cols[s..e].iter().zip(&self.vals[s..e]) {
                next[j as usize] += v * ti;
            }
        }
        let keep = 1.0 - a;
        let mut change = 0.0;
        for ((nj, &pj), &tj) in next.iter_mut().zip(p).zip(t) {
            let v = keep * (*nj + dangling * pj) + a * pj;
            change += (v - tj).abs();
            *nj = v;
        }
        change
    }

    /// Iterate from `t` (in place) until the change drops below `eps`; returns the change of
    /// every step.
    fn run(
        &self,
        p: &[f64],
        params: &EigenTrustParams,
        t: &mut Vec<f64>,
        next: &mut Vec<f64>,
    ) -> Vec<f64> {
        next.resize(t.len(), 0.0);
        let mut trace = Vec::new();
        while trace.len() < params.max_iterations as usize {
            let change = self.step(p, params.alpha, t, next);
            std::mem::swap(t, next);
            trace.push(change);
            if change < params.epsilon {
                break;
            }
        }
        trace
    }
}

// ----- prototypes of solver changes (`--prototypes`) -----

/// Scratch copies of alternative solvers, measured against the library to decide what
/// `eigentrust.rs` should change. Not used by the main measurements.
mod proto {
    use super::{Csr, EigenTrustParams};

    /// The library's layout, compacted: `u32` targets, raw `f32` weights, and `1 / Σ row`
    /// per row (0 for a row that trusts nobody).
    #[derive(Debug)]
    pub struct Raw {
        row_ptr: Vec<u32>,
        cols: Vec<u32>,
        weights: Vec<f32>,
        inv_sum: Vec<f64>,
    }

    impl Raw {
        /// From edges grouped by row, rows in ascending order.
        pub fn from_edges(n: usize, edges: &[(u32, u32, f32)]) -> Raw {
            let mut row_ptr = vec![0u32; n + 1];
            for e in edges {
                row_ptr[e.0 as usize + 1] += 1;
            }
            for i in 0..n {
                row_ptr[i + 1] += row_ptr[i];
            }
            let cols = edges.iter().map(|e| e.1).collect();
            let weights: Vec<f32> = edges.iter().map(|e| e.2).collect();
            let inv_sum = (0..n)
                .map(|i| {
                    let w = &weights[row_ptr[i] as usize..row_ptr[i + 1] as usize];
                    let s: f64 = w.iter().map(|&x| f64::from(x)).sum();
                    if s > 0.0 { 1.0 / s } else { 0.0 }
                })
                .collect();
            Raw {
                row_ptr,
                cols,
                weights,
                inv_sum,
            }
        }

        fn row(&self, i: usize) -> (&[u32], &[f32]) {
            let (s, e) = (self.row_ptr[i] as usize, self.row_ptr[i + 1] as usize);
            (&self.cols[s..e], &self.weights[s..e])
        }
    }

    /// `r = F(x) − x` with one full application of the step; returns `‖r‖₁` (the L1 change
    /// a power step from `x` would make).
    pub fn residual(g: &Raw, p: &[f64], a: f64, x: &[f64], r: &mut [f64]) -> f64 {
        r.iter_mut().for_each(|v| *v = 0.0);
        let mut dangling = 0.0;
        for (i, &xi) in x.iter().enumerate() {
            let inv = g.inv_sum[i];
            if inv == 0.0 {
                dangling += xi;
                continue;
            }
            let f = xi * inv;
            let (cols, ws) = g.row(i);
            for (&j, &w) in cols.iter().zip(ws) {
                r[j as usize] += f64::from(w) * f;
            }
        }
        let keep = 1.0 - a;
        let mut norm = 0.0;
        for ((rj, &pj), &xj) in r.iter_mut().zip(p).zip(x) {
            let v = keep * (*rj + dangling * pj) + a * pj - xj;
            *rj = v;
            norm += v.abs();
        }
        norm
    }

    /// One cyclic push sweep in index order (Gauss–Seidel on `x = (1 − a)·M·x + a·p`): each
    /// agent moves its residual into its score and pushes `(1 − a)` of it along its row, so
    /// residual pushed to a later agent moves on within the same sweep. Invariant:
    /// `r = F(x) − x`. Returns `‖r‖₁` afterwards. `reverse` runs the sweep from the last
    /// agent to the first.
    ///
    /// With `sum_x = Some(Σx)`, the sweep also rescales `x` to sum 1 and fixes `r` to match
    /// (`r(c·x) = c·r(x) + (1 − c)·a·p`, one pass), which removes the residual's component
    /// along the total mass: that component decays only by about `1 − a` per push, while the
    /// rest decays as fast as the graph mixes. This is what power iteration gets for free by
    /// starting from a distribution.
    pub fn sweep(
        g: &Raw,
        p: &[f64],
        a: f64,
        x: &mut [f64],
        r: &mut [f64],
        sum_x: Option<&mut f64>,
        reverse: bool,
    ) -> f64 {
        let keep = 1.0 - a;
        let mut dangling = 0.0;
        let mut pushed = 0.0;
        let n = x.len();
        for k in 0..n {
            let i = if reverse { n - 1 - k } else { k };
            let ri = r[i];
            if ri == 0.0 {
                continue;
            }
            pushed += ri;
            x[i] += ri;
            r[i] = 0.0;
            let inv = g.inv_sum[i];
            if inv == 0.0 {
                dangling += ri;
                continue;
            }
            let f = keep * ri * inv;
            let (cols, ws) = g.row(i);
            for (&j, &w) in cols.iter().zip(ws) {
                r[j as usize] += f64::from(w) * f;
            }
        }
        let mut norm = 0.0;
        match sum_x {
            None => {
                for (rj, &pj) in r.iter_mut().zip(p) {
                    *rj += keep * dangling * pj;
                    norm += rj.abs();
                }
            }
            Some(sum) => {
                let c = 1.0 / (*sum + pushed);
                *sum = 1.0;
                for ((rj, &pj), xj) in r.iter_mut().zip(p).zip(x.iter_mut()) {
                    *rj = c * (*rj + keep * dangling * pj) + (1.0 - c) * a * pj;
                    *xj *= c;
                    norm += rj.abs();
                }
            }
        }
        norm
    }

    /// Variants of the sweep.
    #[derive(Clone, Copy, Debug)]
    pub struct Mode {
        /// Rescale to total mass 1 after each sweep.
        pub normalise: bool,
        /// Every second sweep runs in reverse index order (symmetric Gauss–Seidel).
        pub alternate: bool,
    }

    /// Sweeps until `‖r‖₁ < epsilon`; returns the norm after each sweep.
    pub fn push_run(
        g: &Raw,
        p: &[f64],
        params: &EigenTrustParams,
        x: &mut [f64],
        r: &mut [f64],
        start_norm: f64,
        mode: Mode,
    ) -> Vec<f64> {
        let mut trace = Vec::new();
        let mut norm = start_norm;
        let mut sum_x: f64 = if mode.normalise { x.iter().sum() } else { 0.0 };
        while norm >= params.epsilon && trace.len() < params.max_iterations as usize {
            let sum = mode.normalise.then_some(&mut sum_x);
            let reverse = mode.alternate && trace.len() % 2 == 1;
            norm = sweep(g, p, params.alpha, x, r, sum, reverse);
            trace.push(norm);
        }
        trace
    }

    /// After rows `changed` went from `old` to `new`, fix `r = F(x) − x` in O(changed edges)
    /// instead of a full application. Returns `‖r‖₁`.
    pub fn update_residual(
        old: &Raw,
        new: &Raw,
        changed: &[u32],
        p: &[f64],
        a: f64,
        x: &[f64],
        r: &mut [f64],
    ) -> f64 {
        let keep = 1.0 - a;
        let mut dangling = 0.0;
        for &i in changed {
            let i = i as usize;
            for (g, sign) in [(old, -1.0), (new, 1.0)] {
                let inv = g.inv_sum[i];
                if inv == 0.0 {
                    dangling += sign * x[i];
                    continue;
                }
                let f = sign * keep * x[i] * inv;
                let (cols, ws) = g.row(i);
                for (&j, &w) in cols.iter().zip(ws) {
                    r[j as usize] += f64::from(w) * f;
                }
            }
        }
        if dangling != 0.0 {
            for (rj, &pj) in r.iter_mut().zip(p) {
                *rj += keep * dangling * pj;
            }
        }
        r.iter().map(|v| v.abs()).sum()
    }

    const MAX_M: usize = 4;

    /// Anderson acceleration (type II, memory `m ≤ 4`) on the plain step. Each iteration is
    /// one application of the step plus one fused pass for the differences and inner
    /// products and one for the combination. Stops like the library (L1 change of the step
    /// below epsilon) and leaves the last step's output in `x`. Returns the change per step.
    pub fn anderson(
        csr: &Csr,
        p: &[f64],
        params: &EigenTrustParams,
        m: usize,
        x: &mut Vec<f64>,
    ) -> Vec<f64> {
        let m = m.clamp(1, MAX_M);
        let n = x.len();
        let mut g = vec![0.0; n];
        let mut f_prev = vec![0.0; n];
        let mut g_prev = vec![0.0; n];
        let mut df: Vec<Vec<f64>> = vec![vec![0.0; n]; m];
        let mut dg: Vec<Vec<f64>> = vec![vec![0.0; n]; m];
        let mut gram = [[0.0f64; MAX_M]; MAX_M];
        let mut trace = Vec::new();
        let mut stored = 0usize;
        loop {
            let change = csr.step(p, params.alpha, x, &mut g);
            trace.push(change);
            if change < params.epsilon || trace.len() >= params.max_iterations as usize {
                std::mem::swap(x, &mut g);
                return trace;
            }
            let k = trace.len() - 1;
            if k == 0 {
                for j in 0..n {
                    f_prev[j] = g[j] - x[j];
                    g_prev[j] = g[j];
                }
                x.copy_from_slice(&g);
                continue;
            }
            // New difference column into the slot of the oldest; its inner products with
            // every stored column and every column's product with the current f, in one pass.
            let slot = (k - 1) % m;
            stored = (stored + 1).min(m);
            let mut dots = [0.0f64; MAX_M];
            let mut rhs = [0.0f64; MAX_M];
            for j in 0..n {
                let fc = g[j] - x[j];
                let d = fc - f_prev[j];
                df[slot][j] = d;
                dg[slot][j] = g[j] - g_prev[j];
                f_prev[j] = fc;
                g_prev[j] = g[j];
                for c in 0..stored {
                    let dc = df[c][j];
                    dots[c] += d * dc;
                    rhs[c] += dc * fc;
                }
            }
            for c in 0..stored {
                gram[slot][c] = dots[c];
                gram[c][slot] = dots[c];
            }
            let gamma = solve(&gram, &rhs, stored);
            for j in 0..n {
                let mut v = g[j];
                for c in 0..stored {
                    v -= gamma[c] * dg[c][j];
                }
                x[j] = v;
            }
        }
    }

    /// Least squares through the normal equations, Gaussian elimination with a tiny ridge.
    fn solve(gram: &[[f64; MAX_M]; MAX_M], rhs: &[f64; MAX_M], k: usize) -> [f64; MAX_M] {
        let mut a = *gram;
        let mut b = *rhs;
        let ridge = (0..k).map(|i| a[i][i]).fold(0.0, f64::max) * 1e-10 + 1e-300;
        for (i, row) in a.iter_mut().enumerate().take(k) {
            row[i] += ridge;
        }
        for col in 0..k {
            let piv = (col..k)
                .max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))
                .unwrap_or(col);
            a.swap(col, piv);
            b.swap(col, piv);
            let pivot = a[col];
            for row in col + 1..k {
                let f = a[row][col] / pivot[col];
                for (v, &pv) in a[row][col..k].iter_mut().zip(&pivot[col..k]) {
                    *v -= f * pv;
                }
                b[row] -= f * b[col];
            }
        }
        let mut x = [0.0; MAX_M];
        for row in (0..k).rev() {
            let dot: f64 = a[row][row + 1..k]
                .iter()
                .zip(&x[row + 1..k])
                .map(|(u, v)| u * v)
                .sum();
            x[row] = (b[row] - dot) / a[row][row];
        }
        x
    }
}

// ----- helpers -----

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn l1(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum()
}

fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1e3
}

/// Geometric mean of the per-step ratio of successive changes (the observed contraction).
fn contraction(trace: &[f64]) -> f64 {
    if trace.len() < 3 {
        return f64::NAN;
    }
    // Skip the first step, which reflects the start vector more than the operator.
    let (first, last) = (trace[1], trace[trace.len() - 1]);
    (last / first).powf(1.0 / (trace.len() - 2) as f64)
}

/// Time a library run on `solver`; returns (ms, convergence).
fn timed_run(
    solver: &mut Solver,
    g: &TrustGraph,
    p: &[f64],
    params: &EigenTrustParams,
) -> Res<(f64, Convergence)> {
    let t0 = Instant::now();
    let c = solver.run(g, p, params)?;
    Ok((ms(t0), c))
}

/// Inputs of the prototype measurements.
struct ProtoInput<'a> {
    n: usize,
    p: &'a [f64],
    params: &'a EigenTrustParams,
    old_edges: &'a [(u32, u32, f32)],
    new_edges: &'a [(u32, u32, f32)],
    changed: &'a [u32],
    /// The library's fixed point on the old graph (the warm start).
    warm_start: &'a [f64],
    /// The library's warm and cold results on the new graph.
    lib_warm: &'a [f64],
    lib_cold: &'a [f64],
    new_csr: &'a Csr,
}

/// L1 distance of `x / Σx` to `truth`.
fn err(x: &[f64], truth: &[f64]) -> f64 {
    let s: f64 = x.iter().sum();
    x.iter().zip(truth).map(|(a, b)| (a / s - b).abs()).sum()
}

/// Alternative solvers on the changed graph: iterations, time, and distance to the fixed
/// point computed to 1e-14 (so that solvers with different stopping points compare fairly).
fn prototypes(inp: &ProtoInput<'_>) -> serde_json::Value {
    let (n, p, params) = (inp.n, inp.p, inp.params);
    let a = params.alpha;
    eprintln!("prototypes (scratch solvers in this file, not the library):");
    let tight = EigenTrustParams {
        epsilon: 1e-14,
        max_iterations: 10_000,
        ..*params
    };
    let (mut truth, mut tmp) = (inp.warm_start.to_vec(), vec![0.0; n]);
    inp.new_csr.run(p, &tight, &mut truth, &mut tmp);
    let lib_warm_err = err(inp.lib_warm, &truth);
    let lib_cold_err = err(inp.lib_cold, &truth);
    eprintln!(
        "  distance to the fixed point: library warm {lib_warm_err:.2e}, library cold {lib_cold_err:.2e}"
    );

    let old = proto::Raw::from_edges(n, inp.old_edges);
    let new = proto::Raw::from_edges(n, inp.new_edges);
    let (mut x, mut r) = (vec![0.0; n], vec![0.0; n]);

    let mut push = serde_json::Map::new();
    for (label, normalise, alternate) in [
        ("plain", false, false),
        ("normalised", true, false),
        ("normalised_alternating", true, true),
    ] {
        let mode = proto::Mode {
            normalise,
            alternate,
        };
        // Cold: x = 0, r = a·p (free).
        let t0 = Instant::now();
        x.iter_mut().for_each(|v| *v = 0.0);
        r.iter_mut().zip(p).for_each(|(rj, &pj)| *rj = a * pj);
        let tr = proto::push_run(&new, p, params, &mut x, &mut r, a, mode);
        let cold_ms = ms(t0);
        let cold_err = err(&x, &truth);
        eprintln!(
            "  push sweeps ({label}), cold: {} sweeps, {cold_ms:.1} ms, distance {cold_err:.2e}",
            tr.len()
        );
        let cold = json!({
            "iterations": tr.len(), "ms": cold_ms, "error_l1": cold_err, "residuals": tr,
        });

        // Warm from the library's old fixed point: one full application for the residual,
        // then sweeps.
        let t0 = Instant::now();
        x.copy_from_slice(inp.warm_start);
        let r0 = proto::residual(&new, p, a, &x, &mut r);
        let tr = proto::push_run(&new, p, params, &mut x, &mut r, r0, mode);
        let warm_ms = ms(t0);
        let warm_err = err(&x, &truth);
        eprintln!(
            "  push sweeps ({label}), warm (full residual first): 1 + {} sweeps, {warm_ms:.1} ms, distance {warm_err:.2e}, start residual {r0:.2e}",
            tr.len()
        );
        let warm = json!({
            "iterations": 1 + tr.len(), "ms": warm_ms, "error_l1": warm_err,
            "start_residual": r0, "residuals": tr,
        });

        // Warm with the residual kept from the previous run and patched from the changed
        // rows only: converge on the old graph first (not timed), then patch and sweep.
        x.iter_mut().for_each(|v| *v = 0.0);
        r.iter_mut().zip(p).for_each(|(rj, &pj)| *rj = a * pj);
        let old_trace = proto::push_run(&old, p, params, &mut x, &mut r, a, mode);
        let t0 = Instant::now();
        let r0 = proto::update_residual(&old, &new, inp.changed, p, a, &x, &mut r);
        let patch_ms = ms(t0);
        let tr = proto::push_run(&new, p, params, &mut x, &mut r, r0, mode);
        let inc_ms = ms(t0);
        let inc_err = err(&x, &truth);
        eprintln!(
            "  push sweeps ({label}), warm (residual kept, patched in {patch_ms:.1} ms): {} sweeps, {inc_ms:.1} ms, distance {inc_err:.2e}, start residual {r0:.2e} (old graph: {} sweeps)",
            tr.len(),
            old_trace.len()
        );
        let min_x = x.iter().copied().fold(f64::INFINITY, f64::min);
        let inc = json!({
            "iterations": tr.len(), "ms": inc_ms, "patch_ms": patch_ms, "error_l1": inc_err,
            "min_score": min_x,
            "start_residual": r0, "residuals": tr,
        });
        push.insert(
            label.into(),
            json!({ "cold": cold, "warm_full_residual": warm, "warm_patched_residual": inc }),
        );
    }

    // Anderson acceleration on the plain step, cold and warm.
    let mut anderson = serde_json::Map::new();
    for m in [1usize, 2, 3] {
        let mut row = serde_json::Map::new();
        for (label, start) in [("cold", p), ("warm", inp.warm_start)] {
            let mut x = start.to_vec();
            let t0 = Instant::now();
            let tr = proto::anderson(inp.new_csr, p, params, m, &mut x);
            let t = ms(t0);
            let e = err(&x, &truth);
            eprintln!(
                "  anderson m={m}, {label}: {} iterations, {t:.1} ms, distance {e:.2e}",
                tr.len()
            );
            row.insert(
                label.into(),
                json!({ "iterations": tr.len(), "ms": t, "error_l1": e, "residuals": tr }),
            );
        }
        anderson.insert(format!("m{m}"), row.into());
    }
    json!({
        "lib_warm_error_l1": lib_warm_err,
        "lib_cold_error_l1": lib_cold_err,
        "push_sweeps": push,
        "anderson": anderson,
    })
}

fn main() -> Res<()> {
    let args = Args::parse();
    let n = args.agents;
    let k = args.edges_per_agent;
    if n < 2 || k == 0 || k >= n {
        return Err("need at least 2 agents and 1 <= edges-per-agent < agents".into());
    }
    if !(0.0..=1.0).contains(&args.change) || (args.change > 0.0 && k + 1 >= n) {
        return Err(
            "--change must be in [0, 1], and retargeting needs edges-per-agent < agents - 1".into(),
        );
    }
    let params = EigenTrustParams {
        alpha: args.alpha,
        epsilon: args.epsilon,
        ..EigenTrustParams::default()
    };
    params.validate()?;
    let repeats = args.repeats.max(1);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    let mut rng = Rng(args.seed);

    eprintln!("graph: {n} agents x {k} edges, seed {}", args.seed);
    let t0 = Instant::now();
    let mut edges = random_edges(&mut rng, n, k);
    let pretrust = random_pretrust(&mut rng, n);
    let gen_ms = ms(t0);
    let t0 = Instant::now();
    let mut g = TrustGraph::from_edges(n as usize, edges.iter().copied())?;
    let build_ms = ms(t0);
    let t0 = Instant::now();
    let csr = Csr::from_edges(n as usize, &edges);
    let ref_build_ms = ms(t0);
    eprintln!(
        "  generated in {gen_ms:.0} ms; TrustGraph::from_edges {build_ms:.0} ms ({} edges); reference CSR {ref_build_ms:.0} ms",
        g.edges()
    );

    // The reference uses the pretrust normalised the way the library does.
    let psum: f64 = pretrust.iter().sum();
    let p: Vec<f64> = pretrust.iter().map(|v| v / psum).collect();

    // One-call API from nothing (allocations and page faults included).
    let t0 = Instant::now();
    let (first, first_c) = eigentrust(&g, &pretrust, &params)?;
    let eigentrust_call_ms = ms(t0);
    black_box(&first);
    eprintln!(
        "  eigentrust() from nothing: {eigentrust_call_ms:.1} ms, {} iterations",
        first_c.iterations
    );

    // Cold runs, alternating library and reference.
    eprintln!(
        "cold runs to L1 change < {:e}, alpha {}, {repeats} repeats",
        params.epsilon, params.alpha
    );
    let mut solver = Solver::new();
    let (mut rt, mut rn) = (p.clone(), vec![0.0; n as usize]);
    let (mut lib_iter_ms, mut ref_iter_ms, mut lib_total_ms, mut ref_total_ms) =
        (vec![], vec![], vec![], vec![]);
    let mut cold = first_c;
    let mut ref_trace = Vec::new();
    for rep in 1..=repeats {
        solver.reset();
        let (lms, c) = timed_run(&mut solver, &g, &pretrust, &params)?;
        cold = c;
        let t0 = Instant::now();
        rt.copy_from_slice(&p);
        ref_trace = csr.run(&p, &params, &mut rt, &mut rn);
        let rms = ms(t0);
        let (li, ri) = (lms / f64::from(c.iterations), rms / ref_trace.len() as f64);
        eprintln!(
            "  rep {rep}/{repeats}: library {lms:.1} ms / {} it = {li:.2} ms/it; reference {rms:.1} ms / {} it = {ri:.2} ms/it; ratio {:.2}",
            c.iterations,
            ref_trace.len(),
            li / ri
        );
        lib_iter_ms.push(li);
        ref_iter_ms.push(ri);
        lib_total_ms.push(lms);
        ref_total_ms.push(rms);
    }
    let agreement_l1 = l1(solver.scores(), &rt);
    let sum: f64 = solver.scores().iter().sum();
    eprintln!(
        "  library vs reference final vectors: L1 {agreement_l1:.3e} (sum of scores {sum:.12})"
    );
    assert!(
        agreement_l1 < 1e-9,
        "library and reference disagree: L1 {agreement_l1:e}"
    );
    let lib_ms_per_iter = median(lib_iter_ms.clone());
    let ref_ms_per_iter = median(ref_iter_ms.clone());
    let ratio = lib_ms_per_iter / ref_ms_per_iter;
    let cold_total_ms = median(lib_total_ms.clone());
    let ref_cold_contraction = contraction(&ref_trace);
    eprintln!(
        "  median: library {lib_ms_per_iter:.2} ms/it, reference {ref_ms_per_iter:.2} ms/it, ratio {ratio:.2}; library cold total {cold_total_ms:.1} ms, {} it (observed contraction per step {ref_cold_contraction:.3})",
        cold.iterations
    );

    // The change, applied row by row.
    let count = ((edges.len() as f64 * args.change).round() as usize).min(edges.len());
    let base = solver.clone();
    let old_edges = args.prototypes.then(|| edges.clone());
    let t0 = Instant::now();
    let rows = change_edges(&mut rng, &mut edges, n, k, count);
    let change_gen_ms = ms(t0);
    let t0 = Instant::now();
    for &r in &rows {
        let s = r as usize * k as usize;
        g.set_row(r, edges[s..s + k as usize].iter().map(|e| (e.1, e.2)))?;
    }
    let set_rows_ms = ms(t0);
    eprintln!(
        "change: {count} edges retargeted in {} rows (drawn in {change_gen_ms:.0} ms); set_row x {} took {set_rows_ms:.1} ms",
        rows.len(),
        rows.len()
    );

    // Warm runs from the old fixed point.
    let (mut warm_ms, mut warm_it_ms) = (vec![], vec![]);
    let mut warm = cold;
    let mut warm_solver = base.clone();
    for rep in 1..=repeats {
        warm_solver = base.clone();
        let (wms, c) = timed_run(&mut warm_solver, &g, &pretrust, &params)?;
        warm = c;
        eprintln!(
            "  warm rep {rep}/{repeats}: {wms:.1} ms, {} iterations ({:.2} ms/it), last change {:.2e}",
            c.iterations,
            wms / f64::from(c.iterations),
            c.residual
        );
        warm_ms.push(wms);
        warm_it_ms.push(wms / f64::from(c.iterations));
    }
    let warm_total_ms = median(warm_ms);
    let warm_ms_per_iter = median(warm_it_ms);

    // For comparison: cold on the changed graph, and warm on the compacted graph.
    let mut cold_solver = Solver::new();
    let (cold2_ms, cold2) = timed_run(&mut cold_solver, &g, &pretrust, &params)?;
    let warm_vs_cold_l1 = l1(warm_solver.scores(), cold_solver.scores());
    let mut compacted = g.clone();
    let t0 = Instant::now();
    compacted.compact();
    let compact_ms = ms(t0);
    let mut wc_ms = vec![];
    let mut warm_compacted = warm;
    for _ in 0..repeats {
        let mut s = base.clone();
        let (m, c) = timed_run(&mut s, &compacted, &pretrust, &params)?;
        warm_compacted = c;
        wc_ms.push(m);
    }
    let warm_compacted_ms = median(wc_ms);
    // Split the overlay's cost into a per-run part (set-up before the first step) and a
    // per-step part: time runs capped at 1 and at 3 steps on both graphs.
    let split = |graph: &TrustGraph| -> Res<(f64, f64)> {
        let mut per = [vec![], vec![]];
        for _ in 0..repeats {
            for (slot, steps) in [(0, 1u32), (1, 3)] {
                let capped = EigenTrustParams {
                    max_iterations: steps,
                    ..params
                };
                let mut s = base.clone();
                per[slot].push(timed_run(&mut s, graph, &pretrust, &capped)?.0);
            }
        }
        let (one, three) = (median(per[0].clone()), median(per[1].clone()));
        let step = (three - one) / 2.0;
        Ok((one - step, step))
    };
    let (overlay_setup_ms, overlay_step_ms) = split(&g)?;
    let (compacted_setup_ms, compacted_step_ms) = split(&compacted)?;
    eprintln!(
        "  per-run set-up / per-step: overlay graph {overlay_setup_ms:.1} / {overlay_step_ms:.1} ms, compacted {compacted_setup_ms:.1} / {compacted_step_ms:.1} ms"
    );
    // The reference on the changed graph, cold (agreement) and warm (residual trace).
    let csr2 = Csr::from_edges(n as usize, &edges);
    rt.copy_from_slice(&p);
    let ref_cold2_trace = csr2.run(&p, &params, &mut rt, &mut rn);
    let agreement_after_change_l1 = l1(cold_solver.scores(), &rt);
    rt.copy_from_slice(base.scores());
    let ref_warm_trace = csr2.run(&p, &params, &mut rt, &mut rn);
    eprintln!(
        "  cold on the changed graph: {} iterations, {cold2_ms:.1} ms; warm vs cold L1 {warm_vs_cold_l1:.2e}; reference agrees within {agreement_after_change_l1:.2e}",
        cold2.iterations
    );
    eprintln!(
        "  warm on the compacted graph (compact {compact_ms:.0} ms): {} iterations, {warm_compacted_ms:.1} ms ({:.2} ms/it)",
        warm_compacted.iterations,
        warm_compacted_ms / f64::from(warm_compacted.iterations)
    );
    eprintln!(
        "  reference warm residuals per step: {}",
        ref_warm_trace
            .iter()
            .map(|r| format!("{r:.1e}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    assert!(
        agreement_after_change_l1 < 1e-9,
        "library and reference disagree after the change"
    );

    let protos = old_edges.map(|old_edges| {
        prototypes(&ProtoInput {
            n: n as usize,
            p: &p,
            params: &params,
            old_edges: &old_edges,
            new_edges: &edges,
            changed: &rows,
            warm_start: base.scores(),
            lib_warm: warm_solver.scores(),
            lib_cold: cold_solver.scores(),
            new_csr: &csr2,
        })
    });

    let aim_ratio = ratio <= 1.2;
    let aim_total = cold_total_ms <= 500.0;
    let aim_warm = warm.iterations <= 5;
    eprintln!(
        "aims: ratio {ratio:.2} <= 1.2: {aim_ratio}; cold total {cold_total_ms:.0} ms <= 500 ms: {aim_total}; warm iterations {} <= 5: {aim_warm}",
        warm.iterations
    );

    let out = json!({
        "agents": n,
        "edges_per_agent": k,
        "edges": edges.len(),
        "pretrusted": pretrust.iter().filter(|v| **v > 0.0).count(),
        "alpha": params.alpha,
        "epsilon": params.epsilon,
        "seed": args.seed,
        "repeats": repeats,
        "threads": 1,
        "cores": cores,
        "build_ms": build_ms,
        "ref_build_ms": ref_build_ms,
        "eigentrust_call_ms": eigentrust_call_ms,
        "ref_ms_per_iter": ref_ms_per_iter,
        "lib_ms_per_iter": lib_ms_per_iter,
        "ref_ms_per_iter_reps": ref_iter_ms,
        "lib_ms_per_iter_reps": lib_iter_ms,
        "ratio": ratio,
        "cold_iterations": cold.iterations,
        "ref_cold_iterations": ref_trace.len(),
        "cold_total_ms": cold_total_ms,
        "ref_cold_total_ms": median(ref_total_ms),
        "cold_residual": cold.residual,
        "observed_contraction_per_step": ref_cold_contraction,
        "agreement_l1": agreement_l1,
        "change": {
            "fraction": args.change,
            "edges_changed": count,
            "rows_changed": rows.len(),
            "set_row_ms": set_rows_ms,
            "compact_ms": compact_ms,
        },
        "warm_iterations": warm.iterations,
        "warm_total_ms": warm_total_ms,
        "warm_ms_per_iter": warm_ms_per_iter,
        "warm_residual": warm.residual,
        "warm_first_step_change": ref_warm_trace.first(),
        "ref_warm_residuals": ref_warm_trace,
        "warm_compacted_iterations": warm_compacted.iterations,
        "warm_compacted_total_ms": warm_compacted_ms,
        "overlay_setup_ms": overlay_setup_ms,
        "overlay_step_ms": overlay_step_ms,
        "compacted_setup_ms": compacted_setup_ms,
        "compacted_step_ms": compacted_step_ms,
        "cold_iterations_after_change": cold2.iterations,
        "cold_total_ms_after_change": cold2_ms,
        "ref_cold_iterations_after_change": ref_cold2_trace.len(),
        "warm_vs_cold_l1": warm_vs_cold_l1,
        "agreement_after_change_l1": agreement_after_change_l1,
        "aim_ratio_le_1_2": aim_ratio,
        "aim_total_le_0_5_s": aim_total,
        "aim_warm_iterations_le_5": aim_warm,
    });
    let mut out = out;
    if let Some(v) = protos {
        out["prototypes"] = v;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
