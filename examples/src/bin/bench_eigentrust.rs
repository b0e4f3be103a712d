//! Sparse EigenTrust benchmark: `agentnet_trust::eigentrust` against a plain CSR power
//! iteration in the same run, then a warm start after a small edge change.
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin bench_eigentrust -- --json
//! ```
//!
//! The issue's targets, at 10^6 agents × 10 edges per agent, iterating until
//! `‖F(t) − t‖₁ < 1e-6` (the L1 change one power step would make): time per sweep of the
//! library at most 1.2× the time per iteration of a plain CSR reference loop, total cold
//! time at most 0.5 s (the machine has 2 cores; the library is single-threaded by design, so
//! one is used), and at most 5 sweeps from a warm start after 1% of the edges changed.
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
//! 2. **Per-sweep time**, library against reference. The library ([`Solver::run`]) does
//!    Gauss–Seidel push sweeps that keep the residual `F(t) − t` (see
//!    `agentnet_trust::eigentrust`); a cold run starts from the pretrust with one full
//!    residual pass, which streams the edges once like a sweep and is counted as one here
//!    (`lib_cold_passes` = sweeps + 1). The reference is the textbook loop in this file
//!    (`Csr`): pre-normalised `f64` values in CSR, one step scatters `vals[k] * t[i]` into
//!    `next`, sums the dangling mass, and forms `(1 − a)(next + d·p) + a·p` while computing
//!    the L1 change in the same pass. Each contender runs from a cold start (the pretrust) to
//!    convergence `--repeats` times, alternating; one repetition's per-sweep time is its
//!    wall time divided by its passes (for the library, a whole `Solver::run` on a reused
//!    solver, set-up included). Medians are reported, and `ratio` = library ÷ reference.
//! 3. **Cold total**: the median wall time of those library runs and their sweeps. The
//!    one-call [`eigentrust`] from nothing (allocations included) is reported once as
//!    `eigentrust_call_ms`.
//! 4. **Accuracy**: the two contenders stop at different points, so each is compared with the
//!    fixed point computed by the reference to an L1 change below 1e-14 (`*_error_l1`); the
//!    library's must be at most `epsilon / alpha` (the bound its stopping rule guarantees),
//!    and the two results must agree within twice that (`agreement_l1`).
//! 5. **Warm start**: after the change, `Solver::run` on a copy of the solver that holds the
//!    old result and residual, `--repeats` times: sweeps, whether it needed a full residual
//!    pass (`warm_residual_pass`, false when the graph's change log covers the edit), the
//!    residual after each sweep (`warm_residuals`, from runs capped at 1, 2, … sweeps) and the
//!    median time. For comparison: the cold run on the changed graph, the same warm run on a
//!    [`TrustGraph::compact`]ed copy (compaction drops the change log, so this is the
//!    fallback: one full residual pass, then sweeps), and the reference's change per step
//!    from the same warm start (its first entry is the residual the warm run starts from).
//! 6. **Set-up against sweeps**: runs capped at 1 and 3 sweeps from the same warm start, on
//!    the graph with its overlay rows and change log and on the compacted copy, split each
//!    run into a per-run part (patching the residual from the change log, or the full
//!    residual pass) and a per-sweep part (`overlay_setup_ms`, `overlay_sweep_ms`,
//!    `compacted_*`).
//!
//! Progress goes to stderr; with `--json` one JSON object goes to stdout.
//!
//! Flags: `--agents N` (1,000,000), `--edges-per-agent K` (10), `--alpha A` (library
//! default), `--epsilon E` (1e-6), `--change F` (0.01), `--repeats R` (5), `--seed S` (1),
//! `--json`.

#![recursion_limit = "256"]

use agentnet_examples::report::median;
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
    about = "Sparse EigenTrust: time per sweep against a plain CSR loop, cold total time, \
             and warm-start sweeps after a small edge change (see the source's doc comment)"
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
    /// Stop when the L1 change one power step would make is below this.
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

// ----- helpers -----

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

/// Library passes over the edges in a run: its sweeps, plus one if it computed the residual
/// from scratch.
fn passes(c: &Convergence) -> u32 {
    c.iterations + u32::from(c.residual_pass)
}

/// The fixed point of the reference on `csr`, iterated from `start` to an L1 change below
/// 1e-14.
fn fixed_point(csr: &Csr, p: &[f64], params: &EigenTrustParams, start: &[f64]) -> Vec<f64> {
    let tight = EigenTrustParams {
        epsilon: 1e-14,
        max_iterations: 10_000,
        ..*params
    };
    let (mut t, mut next) = (start.to_vec(), vec![0.0; start.len()]);
    csr.run(p, &tight, &mut t, &mut next);
    t
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
    // What the library's stopping rule guarantees: ‖t − t*‖₁ ≤ ‖F(t) − t‖₁ / a.
    let bound = params.epsilon / params.alpha;

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
        g.edge_count()
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
        "  eigentrust() from nothing: {eigentrust_call_ms:.1} ms, {} sweeps (+ residual pass: {})",
        first_c.iterations, first_c.residual_pass
    );

    // Cold runs, alternating library and reference.
    eprintln!(
        "cold runs to L1 change < {:e}, alpha {}, {repeats} repeats",
        params.epsilon, params.alpha
    );
    let mut solver = Solver::new();
    let (mut rt, mut rn) = (p.clone(), vec![0.0; n as usize]);
    let (mut lib_sweep_ms, mut ref_iter_ms, mut lib_total_ms, mut ref_total_ms) =
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
        let (li, ri) = (lms / f64::from(passes(&c)), rms / ref_trace.len() as f64);
        eprintln!(
            "  rep {rep}/{repeats}: library {lms:.1} ms / {} passes ({} sweeps) = {li:.2} ms/sweep; reference {rms:.1} ms / {} it = {ri:.2} ms/it; ratio {:.2}",
            passes(&c),
            c.iterations,
            ref_trace.len(),
            li / ri
        );
        lib_sweep_ms.push(li);
        ref_iter_ms.push(ri);
        lib_total_ms.push(lms);
        ref_total_ms.push(rms);
    }
    let truth = fixed_point(&csr, &p, &params, solver.scores());
    let lib_cold_error_l1 = l1(solver.scores(), &truth);
    let ref_cold_error_l1 = l1(&rt, &truth);
    let agreement_l1 = l1(solver.scores(), &rt);
    let sum: f64 = solver.scores().iter().sum();
    eprintln!(
        "  distance to the fixed point: library {lib_cold_error_l1:.2e}, reference {ref_cold_error_l1:.2e} (bound {bound:.1e}); library vs reference L1 {agreement_l1:.2e}; sum of scores {sum:.12}"
    );
    assert!(
        lib_cold_error_l1 <= bound && agreement_l1 <= 2.0 * bound,
        "library off the fixed point: {lib_cold_error_l1:e} (reference {ref_cold_error_l1:e})"
    );
    let lib_ms_per_sweep = median(&lib_sweep_ms);
    let ref_ms_per_iter = median(&ref_iter_ms);
    let ratio = lib_ms_per_sweep / ref_ms_per_iter;
    let cold_total_ms = median(&lib_total_ms);
    let ref_cold_contraction = contraction(&ref_trace);
    eprintln!(
        "  median: library {lib_ms_per_sweep:.2} ms/sweep, reference {ref_ms_per_iter:.2} ms/it, ratio {ratio:.2}; library cold total {cold_total_ms:.1} ms, {} sweeps (reference contraction per step {ref_cold_contraction:.3})",
        cold.iterations
    );

    // The change, applied row by row.
    let count = ((edges.len() as f64 * args.change).round() as usize).min(edges.len());
    let base = solver.clone();
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

    // Warm runs from the old result and residual.
    let (mut warm_ms, mut warm_sweep_ms) = (vec![], vec![]);
    let mut warm = cold;
    let mut warm_solver = base.clone();
    for rep in 1..=repeats {
        warm_solver = base.clone();
        let (wms, c) = timed_run(&mut warm_solver, &g, &pretrust, &params)?;
        warm = c;
        eprintln!(
            "  warm rep {rep}/{repeats}: {wms:.1} ms, {} sweeps (residual pass: {}), residual {:.2e}",
            c.iterations, c.residual_pass, c.residual
        );
        warm_ms.push(wms);
        warm_sweep_ms.push(wms / f64::from(passes(&c).max(1)));
    }
    let warm_total_ms = median(&warm_ms);
    let warm_ms_per_sweep = median(&warm_sweep_ms);
    // The residual after each warm sweep, from runs capped at 1, 2, … sweeps.
    let warm_residuals = (1..=warm.iterations)
        .map(|steps| {
            let capped = EigenTrustParams {
                max_iterations: steps,
                ..params
            };
            Ok(base.clone().run(&g, &pretrust, &capped)?.residual)
        })
        .collect::<Res<Vec<f64>>>()?;

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
    let warm_compacted_ms = median(&wc_ms);
    // Split each run into a per-run part (set-up before the first sweep) and a per-sweep
    // part: time runs capped at 1 and at 3 sweeps on both graphs.
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
        let (one, three) = (median(&per[0]), median(&per[1]));
        let step = (three - one) / 2.0;
        Ok((one - step, step))
    };
    let (overlay_setup_ms, overlay_sweep_ms) = split(&g)?;
    let (compacted_setup_ms, compacted_sweep_ms) = split(&compacted)?;
    eprintln!(
        "  per-run set-up / per-sweep: overlay graph with change log {overlay_setup_ms:.1} / {overlay_sweep_ms:.1} ms, compacted (full residual pass) {compacted_setup_ms:.1} / {compacted_sweep_ms:.1} ms"
    );
    // The reference on the changed graph, cold (accuracy) and warm (change per step).
    let csr2 = Csr::from_edges(n as usize, &edges);
    rt.copy_from_slice(&p);
    let ref_cold2_trace = csr2.run(&p, &params, &mut rt, &mut rn);
    let truth2 = fixed_point(&csr2, &p, &params, warm_solver.scores());
    let warm_error_l1 = l1(warm_solver.scores(), &truth2);
    let cold_error_after_change_l1 = l1(cold_solver.scores(), &truth2);
    let agreement_after_change_l1 = l1(cold_solver.scores(), &rt);
    rt.copy_from_slice(base.scores());
    let ref_warm_trace = csr2.run(&p, &params, &mut rt, &mut rn);
    eprintln!(
        "  cold on the changed graph: {} sweeps, {cold2_ms:.1} ms; distance to the fixed point: warm {warm_error_l1:.2e}, cold {cold_error_after_change_l1:.2e}; warm vs cold L1 {warm_vs_cold_l1:.2e}; reference agrees within {agreement_after_change_l1:.2e}",
        cold2.iterations
    );
    eprintln!(
        "  warm on the compacted graph (compact {compact_ms:.0} ms, change log dropped): residual pass {} + {} sweeps, {warm_compacted_ms:.1} ms",
        warm_compacted.residual_pass, warm_compacted.iterations,
    );
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|r| format!("{r:.1e}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    eprintln!(
        "  library warm residual per sweep: {}",
        fmt(&warm_residuals)
    );
    eprintln!("  reference warm change per step: {}", fmt(&ref_warm_trace));
    assert!(
        warm_error_l1 <= bound
            && cold_error_after_change_l1 <= bound
            && agreement_after_change_l1 <= 2.0 * bound,
        "library off the fixed point after the change"
    );

    let aim_ratio = ratio <= 1.2;
    let aim_total = cold_total_ms <= 500.0;
    let aim_warm = warm.iterations <= 5;
    eprintln!(
        "aims: ratio {ratio:.2} <= 1.2: {aim_ratio}; cold total {cold_total_ms:.0} ms <= 500 ms: {aim_total}; warm sweeps {} <= 5: {aim_warm}",
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
        "lib_ms_per_sweep": lib_ms_per_sweep,
        "ref_ms_per_iter_reps": ref_iter_ms,
        "lib_ms_per_sweep_reps": lib_sweep_ms,
        "ratio": ratio,
        "cold_sweeps": cold.iterations,
        "cold_residual_pass": cold.residual_pass,
        "lib_cold_passes": passes(&cold),
        "ref_cold_iterations": ref_trace.len(),
        "cold_total_ms": cold_total_ms,
        "ref_cold_total_ms": median(&ref_total_ms),
        "cold_residual": cold.residual,
        "ref_contraction_per_step": ref_cold_contraction,
        "error_bound_l1": bound,
        "lib_cold_error_l1": lib_cold_error_l1,
        "ref_cold_error_l1": ref_cold_error_l1,
        "agreement_l1": agreement_l1,
        "change": {
            "fraction": args.change,
            "edges_changed": count,
            "rows_changed": rows.len(),
            "set_row_ms": set_rows_ms,
            "compact_ms": compact_ms,
        },
        "warm_sweeps": warm.iterations,
        "warm_residual_pass": warm.residual_pass,
        "warm_total_ms": warm_total_ms,
        "warm_ms_per_sweep": warm_ms_per_sweep,
        "warm_residual": warm.residual,
        "warm_residuals": warm_residuals,
        "warm_start_residual": ref_warm_trace.first(),
        "ref_warm_changes": ref_warm_trace,
        "warm_error_l1": warm_error_l1,
        "warm_compacted_residual_pass": warm_compacted.residual_pass,
        "warm_compacted_sweeps": warm_compacted.iterations,
        "warm_compacted_total_ms": warm_compacted_ms,
        "overlay_setup_ms": overlay_setup_ms,
        "overlay_sweep_ms": overlay_sweep_ms,
        "compacted_setup_ms": compacted_setup_ms,
        "compacted_sweep_ms": compacted_sweep_ms,
        "cold_sweeps_after_change": cold2.iterations,
        "cold_total_ms_after_change": cold2_ms,
        "cold_error_after_change_l1": cold_error_after_change_l1,
        "ref_cold_iterations_after_change": ref_cold2_trace.len(),
        "warm_vs_cold_l1": warm_vs_cold_l1,
        "agreement_after_change_l1": agreement_after_change_l1,
        "aim_ratio_le_1_2": aim_ratio,
        "aim_total_le_0_5_s": aim_total,
        "aim_warm_sweeps_le_5": aim_warm,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
