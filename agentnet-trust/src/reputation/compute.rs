//! The recomputation of scores: per-topic EigenTrust, the flattened global baseline and
//! MG-EigenTrust with its dynamic pretrust ([`Reputation::recompute`]).

use super::collusion::{circle_discounts, discounted_graph, local_trust};
use super::*;

impl Reputation {
    /// Recompute every topic's scores. Cost: one warm-started EigenTrust per topic (one in
    /// total for [`Method::Global`]) plus a pass over the rows.
    pub fn recompute(&mut self) -> Result<RecomputeStats, ReputationError> {
        let n = self.agents.len();
        let mut stats = RecomputeStats {
            iterations: Vec::new(),
            converged: true,
        };
        // 1. Bring each topic graph up to date with its rows.
        let excluded: Vec<bool> = (0..self.agents.len()).map(|j| self.convicted(j)).collect();
        let phi = self.config.failure_weight;
        let rebuild_all = std::mem::take(&mut self.rebuild_all);
        for ts in &mut self.topics {
            ts.graph.grow(n)?;
            let dirty: Vec<u32> = if rebuild_all {
                ts.rows.keys().copied().collect()
            } else {
                std::mem::take(&mut ts.dirty).into_iter().collect()
            };
            ts.dirty.clear(); // also after a full rebuild
            for r in dirty {
                let row = ts.rows.get(&r).map(Vec::as_slice).unwrap_or(&[]);
                let keep_row = !excluded[r as usize];
                ts.graph.set_row(
                    r,
                    row.iter()
                        .filter(|e| keep_row && !excluded[e.0 as usize])
                        .map(|&(j, pos, neg)| (j, local_trust(pos, neg, phi))),
                )?;
            }
        }
        match self.config.method {
            Method::Global => self.recompute_global(&mut stats)?,
            Method::PerTopic => {
                let p = self.fixed_pretrust();
                for ts in &mut self.topics {
                    let c = ts.solver.run(&ts.graph, &p, &self.config.params)?;
                    stats.iterations.push(c.iterations);
                    stats.converged &= c.converged;
                    ts.scores = ts.solver.scores().to_vec();
                }
            }
            Method::MultiGraph(opts) => self.recompute_mg(opts, &mut stats)?,
        }
        Ok(stats)
    }

    fn recompute_global(&mut self, stats: &mut RecomputeStats) -> Result<(), ReputationError> {
        let n = self.agents.len();
        let phi = self.config.failure_weight;
        // Flatten: sum pos and neg over topics per (reporter, peer).
        let mut flat: BTreeMap<u32, BTreeMap<u32, (f64, f64)>> = BTreeMap::new();
        for ts in &self.topics {
            for (r, row) in &ts.rows {
                let m = flat.entry(*r).or_default();
                for &(j, pos, neg) in row {
                    let e = m.entry(j).or_default();
                    e.0 += pos as f64;
                    e.1 += neg as f64;
                }
            }
        }
        let mut edges = Vec::new();
        for (r, m) in flat {
            for (j, (pos, neg)) in m {
                let w = (pos - phi * neg).max(0.0) as f32;
                edges.push((r, j, w));
            }
        }
        let graph = TrustGraph::from_edges(n, edges)?;
        let p = self.fixed_pretrust();
        let (g, solver, scores) = self
            .global
            .get_or_insert_with(|| (TrustGraph::default(), Solver::new(), Vec::new()));
        *g = graph;
        let c = solver.run(g, &p, &self.config.params)?;
        stats.iterations.push(c.iterations);
        stats.converged &= c.converged;
        *scores = solver.scores().to_vec();
        Ok(())
    }

    /// Uniform over [`ReputationConfig::pretrusted`], or over everyone if it is empty.
    fn fixed_pretrust(&self) -> Vec<f64> {
        if self.config.pretrusted.is_empty() {
            vec![1.0; self.agents.len()]
        } else {
            self.agents
                .iter()
                .map(|a| f64::from(u8::from(self.config.pretrusted.contains(&a.id))))
                .collect()
        }
    }

    fn recompute_mg(
        &mut self,
        opts: MgOptions,
        stats: &mut RecomputeStats,
    ) -> Result<(), ReputationError> {
        let n = self.agents.len();
        let k = self.topics.len();
        let excluded: Vec<bool> = (0..n).map(|j| self.convicted(j)).collect();
        // Reporter credibility ω: before the first run every reporter counts fully;
        // afterwards in proportion to its best trust in any topic, capped at 1 (so requesters
        // that serve other topics count, and fresh identities count for nothing until they
        // have earned trust somewhere).
        let first = self.topics.iter().all(|ts| ts.scores.is_empty());
        let omega: Vec<f64> = (0..n)
            .map(|i| {
                if first {
                    return 1.0;
                }
                let best = self
                    .topics
                    .iter()
                    .map(|ts| ts.scores.get(i).copied().unwrap_or(0.0))
                    .fold(0.0, f64::max);
                (n as f64 * best).min(1.0)
            })
            .collect();
        // Collusion discount d_ij per topic (1 everywhere when off), aligned with the rows.
        let phi = self.config.failure_weight;
        let discounts: Vec<BTreeMap<u32, Vec<f64>>> = self
            .topics
            .iter()
            .map(|ts| {
                if opts.collusion_discount {
                    circle_discounts(&ts.rows, &excluded, phi)
                } else {
                    ts.rows
                        .iter()
                        .map(|(r, row)| (*r, vec![1.0; row.len()]))
                        .collect()
                }
            })
            .collect();
        // Evidence per (topic, agent).
        for (ts, d) in self.topics.iter_mut().zip(&discounts) {
            ts.pos = vec![0.0; n];
            ts.neg = vec![0.0; n];
            for (r, row) in &ts.rows {
                if excluded[*r as usize] {
                    continue;
                }
                let omega = omega[*r as usize];
                for (&(j, pos, neg), &dij) in row.iter().zip(&d[r]) {
                    ts.pos[j as usize] += omega * dij * pos as f64;
                    ts.neg[j as usize] += omega * neg as f64;
                }
            }
        }
        let eligible: Vec<bool> = excluded.iter().map(|x| !x).collect();
        let stake: Vec<f64> = self
            .agents
            .iter()
            .zip(&eligible)
            .map(|(a, e)| {
                if *e {
                    agentnet_core::money::units(a.stake)
                } else {
                    0.0
                }
            })
            .collect();
        let stake_sum: f64 = stake.iter().sum();
        // Semantic weights between topics.
        let weight = |a: usize, b: usize| -> f64 {
            if opts.semantic_weight {
                f64::from(self.topics[a].embedding.cosine(&self.topics[b].embedding)).max(0.0)
            } else {
                1.0
            }
        };
        // Previous scores, padded with zeros for agents added since.
        let prev: Vec<Vec<f64>> = self
            .topics
            .iter()
            .map(|ts| {
                if ts.scores.is_empty() {
                    Vec::new()
                } else {
                    let mut v = ts.scores.clone();
                    v.resize(n, 0.0);
                    v
                }
            })
            .collect();
        let beta = self.config.bridge_share;
        let (m, delta) = (self.config.gate_min_evidence, self.config.gate_tolerance);
        let rate = |pos: f64, neg: f64| (pos + 1.0) / (pos + neg + 2.0);
        let mut pretrusts = Vec::with_capacity(k);
        for tau in 0..k {
            let mut bridge = vec![0.0; n];
            let weights: Vec<(usize, f64)> = (0..k)
                .filter(|&s| s != tau && !prev[s].is_empty())
                .map(|s| (s, weight(tau, s)))
                .filter(|(_, w)| *w > 0.0)
                .collect();
            let wsum: f64 = weights.iter().map(|w| w.1).sum();
            if wsum > 0.0 {
                let here = &self.topics[tau];
                for (j, b) in bridge.iter_mut().enumerate() {
                    if !eligible[j] {
                        continue;
                    }
                    let r_here = rate(here.pos[j], here.neg[j]);
                    let mut acc = 0.0;
                    for &(s, w) in &weights {
                        let there = &self.topics[s];
                        let open = !opts.gate
                            || (there.pos[j] + there.neg[j] >= m
                                && r_here >= rate(there.pos[j], there.neg[j]) - delta);
                        if open {
                            acc += w * prev[s][j];
                        }
                    }
                    *b = acc / wsum;
                }
            }
            let bridge_sum: f64 = bridge.iter().sum();
            let (ws, wb) = match (stake_sum > 0.0, bridge_sum > 0.0) {
                (true, true) => (1.0 - beta, beta),
                (true, false) => (1.0, 0.0),
                (false, true) => (0.0, 1.0),
                (false, false) => (0.0, 0.0),
            };
            let mut p: Vec<f64> = (0..n)
                .map(|j| {
                    let s = if ws > 0.0 {
                        ws * stake[j] / stake_sum
                    } else {
                        0.0
                    };
                    let b = if wb > 0.0 {
                        wb * bridge[j] / bridge_sum
                    } else {
                        0.0
                    };
                    s + b
                })
                .collect();
            if p.iter().all(|v| *v == 0.0) {
                p = eligible.iter().map(|e| f64::from(u8::from(*e))).collect();
            }
            pretrusts.push(p);
        }
        for ((ts, p), d) in self.topics.iter_mut().zip(pretrusts).zip(&discounts) {
            if opts.collusion_discount {
                // The discounted share of each row goes to a sink (index n) that trusts
                // nobody, so it is passed on by the pretrust; the agents' scores are then
                // renormalised to a distribution.
                let graph = discounted_graph(&ts.rows, d, &excluded, phi)?;
                let mut p = p;
                p.push(0.0);
                let c = ts.solver.run(&graph, &p, &self.config.params)?;
                stats.iterations.push(c.iterations);
                stats.converged &= c.converged;
                let t = ts.solver.scores();
                let total: f64 = t[..n].iter().sum();
                let scale = if total > 0.0 { 1.0 / total } else { 0.0 };
                ts.scores = t[..n].iter().map(|v| v * scale).collect();
            } else {
                let c = ts.solver.run(&ts.graph, &p, &self.config.params)?;
                stats.iterations.push(c.iterations);
                stats.converged &= c.converged;
                ts.scores = ts.solver.scores().to_vec();
            }
            // Convicted agents hold exactly zero (no pretrust and no edges in; this removes
            // the last rounding residue of a warm start).
            for (j, x) in excluded.iter().enumerate() {
                if *x {
                    ts.scores[j] = 0.0;
                }
            }
        }
        Ok(())
    }
}
