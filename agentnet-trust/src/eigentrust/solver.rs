//! [`Solver`]: the Gauss–Seidel push iteration with its kept residual (cold and warm starts,
//! residual patches), and [`eigentrust`], the one-call cold run.

use super::*;

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
/// patches the residual for what changed. See the [module docs](super).
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
