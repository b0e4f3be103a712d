//! End-of-epoch steps of the MG-EigenTrust world: report exchange, attacker adaptation, cold start and the final metrics.

use super::*;
use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, Signed};
use agentnet_trust::report::TrustReport;
use agentnet_trust::reputation::Method;

impl World {
    /// Every agent sends its reports; returns the number of entries sent.
    pub(super) fn exchange_reports(&mut self, epoch: usize) -> u64 {
        if self.rep.is_none() {
            return 0;
        }
        let now = now_at(epoch, 3_599_000);
        let global = self.method == MethodName::GlobalEigenTrust;
        let mut entries = 0u64;
        let mut reports: Vec<bytes::Bytes> = Vec::new();
        for n in 0..self.nodes.len() {
            let mut rows: Vec<(Topic, Vec<(AgentId, agentnet_trust::ledger::Tally)>)> = Vec::new();
            for topic in &self.topics {
                rows.push((topic.clone(), self.nodes[n].ledger.row(topic, now.wall)));
            }
            if global {
                // One flattened row: tallies summed over topics.
                let mut flat: std::collections::BTreeMap<AgentId, agentnet_trust::ledger::Tally> =
                    std::collections::BTreeMap::new();
                for (_, row) in &rows {
                    for (p, t) in row {
                        let e = flat.entry(*p).or_insert(agentnet_trust::ledger::Tally {
                            pos: 0.0,
                            neg: 0.0,
                            at: now.wall,
                        });
                        e.pos += t.pos;
                        e.neg += t.neg;
                    }
                }
                rows = vec![(self.global_topic.clone(), flat.into_iter().collect())];
            }
            let key = &self.ids[self.nodes[n].identity].key;
            for (topic, row) in rows {
                if let Ok(Some(r)) = self.nodes[n]
                    .builder
                    .next_report(key, &topic, &row, now.wall)
                {
                    entries += r.value().entries.len() as u64;
                    reports.push(r.to_frame());
                }
            }
        }
        // Delivery: every report is decoded and verified by the receiver, then applied.
        let rep = self.rep.as_mut().expect("checked above");
        for frame in reports {
            // Every agent here reports honestly formed (if not honestly meant) reports, so a
            // refusal would be a bug in the experiment: fail loudly.
            let report = Signed::<TrustReport>::from_frame(&frame, &self.limits)
                .expect("a well-formed report verifies");
            self.book.apply(&report).expect("reports arrive in order");
            let topic = report.value().topic.clone();
            let reporter = report.value().reporter;
            rep.set_row(
                reporter,
                &topic,
                self.book.row_at(&topic, &reporter, now.wall),
            )
            .expect("rows within bounds");
        }
        rep.recompute().expect("valid inputs");
        entries
    }

    pub(super) fn attackers_adapt(&mut self, epoch: usize) {
        let rep = self.rep.as_ref();
        let target = &self.topics[TARGET];
        let score = |id: &AgentId| rep.map_or(0.0, |r| r.score(id, target));
        let mut scores: Vec<f64> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].topics.contains(&TARGET))
            .map(|n| score(&self.ids[self.nodes[n].identity].key.id()))
            .collect();
        let median = crate::report::quantile(&mut scores, 0.5);
        let mut renew = Vec::new();
        for n in 0..self.nodes.len() {
            if !self.nodes[n].role.defects() {
                continue;
            }
            let ident = &self.ids[self.nodes[n].identity];
            let id = ident.key.id();
            // A key convicted by a public proof is useless under every method (MG's slash
            // convicts it too).
            let convicted = self.convicted.contains(&id) || rep.is_some_and(|r| r.is_slashed(&id));
            // An identity that has burned its name by sabotage and now ranks low is
            // abandoned; a fresh one is kept (re-entering again would not help it). `random`
            // keeps no scores, so nobody ranks low there.
            let whitewash = rep.is_some()
                && epoch >= self.cfg.warmup
                && ident.sabotaged > 0
                && score(&id) < self.cfg.whitewash_below * median;
            if convicted || whitewash {
                renew.push(n);
            }
        }
        for n in renew {
            self.new_identity(n);
        }
    }

    pub(super) fn cold_start(&mut self) {
        let topics = self.pick_topics(2);
        let quality = topics.iter().map(|_| 0.9).collect();
        let node = self.push_node(Role::Honest, topics.clone(), quality);
        self.new_identity(node);
        let id = self.ids[self.nodes[node].identity].key.id();
        if let Some(r) = self.rep.as_mut() {
            r.recompute().expect("valid inputs");
            let s: f64 = topics.iter().map(|t| r.score(&id, &self.topics[*t])).sum();
            self.result.cold_start = s / topics.len() as f64;
        }
    }

    pub(super) fn final_metrics(&mut self) {
        let rep = self.rep.as_ref();
        let now = now_at(self.cfg.epochs, 0).wall;
        let half_life = self.ledger_cfg.half_life;
        let global = self.method == MethodName::GlobalEigenTrust;
        // The reported verified record of `id` in `topic`: (P, N) summed over reporters
        // (`random` receives no reports: empty).
        let record = |id: &AgentId, topic: usize| -> (f64, f64) {
            if rep.is_none() {
                return (0.0, 0.0);
            }
            let t = if global {
                &self.global_topic
            } else {
                &self.topics[topic]
            };
            self.book
                .rows(t)
                .filter_map(|(_, row)| row.entries.get(id))
                .map(|tally| tally.at_time(now, half_life))
                .fold((0.0, 0.0), |acc, x| (acc.0 + x.pos, acc.1 + x.neg))
        };
        let min = self.cfg.flag_min_evidence;
        let bad = |id: &AgentId, topic: usize| {
            let (p, n) = record(id, topic);
            p + n >= min && n > p
        };
        // Convicted by a public proof (every method knows), or slashed by MG.
        let convicted =
            |id: &AgentId| self.convicted.contains(id) || rep.is_some_and(|r| r.is_slashed(id));
        let mut r = RunResult::default();
        for i in &self.ids {
            let id = i.key.id();
            let node = &self.nodes[i.node];
            match node.role {
                Role::Honest => {
                    r.honest += 1;
                    if convicted(&id) || node.topics.iter().any(|t| bad(&id, *t)) {
                        r.honest_flagged += 1;
                    }
                }
                role if i.sabotaged > 0 => {
                    let flagged = convicted(&id) || bad(&id, TARGET);
                    r.defecting += 1;
                    r.defecting_flagged += u64::from(flagged);
                    if role == Role::Defector {
                        r.defectors += 1;
                        r.defectors_flagged += u64::from(flagged);
                    }
                }
                _ => {}
            }
        }
        self.result.honest = r.honest;
        self.result.honest_flagged = r.honest_flagged;
        self.result.defecting = r.defecting;
        self.result.defecting_flagged = r.defecting_flagged;
        self.result.defectors = r.defectors;
        self.result.defectors_flagged = r.defectors_flagged;
        // Diagnostics of the consistency gate from code generation into code review, as MG
        // evaluates it from its evidence (see `agentnet_trust::reputation`): open iff the record in
        // code generation is large enough and the one in code review is not worse by more
        // than the tolerance.
        if let (Some(rep), Some(Method::MultiGraph(_))) = (rep, self.method.method()) {
            let c = rep.config();
            let rate = |(p, n): (f64, f64)| (p + 1.0) / (p + n + 2.0);
            let (src, dst) = (&self.topics[SOURCE], &self.topics[TARGET]);
            let open = |id: &AgentId| {
                let there = rep.evidence(id, src);
                there.0 + there.1 >= c.gate_min_evidence
                    && rate(rep.evidence(id, dst)) >= rate(there) - c.gate_tolerance
            };
            for node in &self.nodes {
                if !(node.topics.contains(&SOURCE) && node.topics.contains(&TARGET)) {
                    continue;
                }
                let id = self.ids[node.identity].key.id();
                if rep.is_convicted(&id) {
                    continue;
                }
                let slot = match node.role {
                    Role::Honest => &mut self.result.gate_honest,
                    Role::Attacker | Role::Defector => &mut self.result.gate_colluders,
                    Role::Bridge => continue,
                };
                slot.0 += 1;
                slot.1 += u64::from(open(&id));
            }
        }
    }
}
