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
//! ([`crate::reputation`]) map to agent ids, and the pretrust vector is theirs to build. It is
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

mod graph;
mod solver;

pub use graph::*;
pub use solver::*;

#[cfg(test)]
mod tests;
