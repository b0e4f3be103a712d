//! One delegated task in the MG-EigenTrust world: staging, vouching, selection, the evidence check and canaries.

use super::*;
use agentnet_core::{Hash, Now, Signed};
use agentnet_trust::canary::Expected;
use agentnet_trust::evidence::{
    Answer, EvidencePackage, EvidencePolicy, ReceiptChain, RejectAllAttestations, verify_evidence,
};
use agentnet_trust::fraud::{Culprit, FraudProof};
use agentnet_trust::ledger::TaskOutcome;
use core::time::Duration;

impl World {
    /// One delegated task; returns (counts as a code-review task after warm-up, sabotaged).
    pub(super) fn task(&mut self, epoch: usize, topic: usize, step: u64) -> (u64, u64) {
        let now = now_at(epoch, step * 10);
        let requester = self.rng.below(self.nodes.len() as u64) as usize;
        let colluder = self.nodes[requester].role != Role::Honest;
        if colluder && (topic == SOURCE || topic == TARGET) && self.rng.chance(self.cfg.collusion) {
            self.stage(now, requester, topic);
            return (0, 0);
        }
        // A key convicted by a public fraud proof is no candidate under any method.
        let mut providers: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                i != requester
                    && self.nodes[i].topics.contains(&topic)
                    && !self
                        .convicted
                        .contains(&self.ids[self.nodes[i].identity].key.id())
            })
            .collect();
        if providers.is_empty() {
            return (0, 0);
        }
        let k = self.cfg.candidates.min(providers.len());
        for i in 0..k {
            let j = i + self.rng.below((providers.len() - i) as u64) as usize;
            providers.swap(i, j);
        }
        providers.truncate(k);
        let chosen = if self.rep.is_none() {
            providers[self.rng.below(k as u64) as usize]
        } else {
            self.select(&providers, topic)
        };
        let after_warmup = epoch >= self.cfg.warmup;
        // Attackers sabotage honest requesters' code reviews only; only those count.
        let counts = u64::from(topic == TARGET && after_warmup && !colluder);
        let role = self.nodes[chosen].role;
        let defects = counts == 1
            && match role {
                Role::Attacker => self.rng.chance(self.cfg.sabotage_rate),
                Role::Defector => self.rng.chance(self.cfg.defector_rate),
                _ => false,
            };
        let ident = self.nodes[chosen].identity;
        if defects {
            self.ids[ident].sabotaged += 1;
            if role == Role::Defector {
                self.result.defector_sabotaged += 1;
            }
        }
        let quality = {
            let n = &self.nodes[chosen];
            let pos = n.topics.iter().position(|t| *t == topic).expect("serves");
            n.quality[pos]
        };
        let high_risk = topic == TARGET;
        if high_risk || self.rng.chance(self.cfg.evidence_rate) {
            self.evidence_check(now, requester, chosen, topic, defects, quality);
        }
        if self.rng.chance(self.cfg.canary_rate) {
            self.canary(now, requester, chosen, topic, defects, quality);
        }
        (counts, counts * u64::from(defects))
    }

    /// A staged task: colluder `requester` hires a random fellow attacker or slow defector,
    /// which does the work well and ships honest evidence, so the praise that follows is
    /// backed by real checks.
    pub(super) fn stage(&mut self, now: Now, requester: usize, topic: usize) {
        let attackers: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| i != requester && self.nodes[i].role.defects())
            .collect();
        if !attackers.is_empty() {
            let p = attackers[self.rng.below(attackers.len() as u64) as usize];
            self.evidence_check(now, requester, p, topic, false, 1.0);
        }
    }

    /// Bridges' extra staged tasks: each files `vouches` per epoch, alternating code generation
    /// and code review.
    pub(super) fn vouch(&mut self, epoch: usize, step: &mut u64) {
        for b in 0..self.nodes.len() {
            if self.nodes[b].role != Role::Bridge {
                continue;
            }
            for v in 0..self.cfg.vouches {
                *step += 1;
                let topic = if v % 2 == 0 { SOURCE } else { TARGET };
                self.stage(now_at(epoch, *step * 10), b, topic);
            }
        }
    }

    /// EigenTrust's selection rule (Kamvar et al. 2003, §4.4): with probability
    /// `1 − explore` pick a candidate with probability proportional to its trust; otherwise,
    /// or when every candidate has zero trust, pick uniformly among the zero-trust candidates
    /// (so newcomers can earn trust at all), or among all if none has zero trust. Convicted
    /// identities are never explored.
    pub(super) fn select(&mut self, candidates: &[usize], topic: usize) -> usize {
        let scores: Vec<f64> = candidates
            .iter()
            .map(|&p| self.score(&self.ids[self.nodes[p].identity].key.id(), topic))
            .collect();
        let total: f64 = scores.iter().sum();
        if total > 0.0 && !self.rng.chance(self.cfg.explore) {
            let mut x = self.rng.unit() * total;
            for (i, s) in scores.iter().enumerate() {
                if x < *s {
                    return candidates[i];
                }
                x -= s;
            }
            let last = scores.iter().rposition(|s| *s > 0.0).unwrap_or(0);
            return candidates[last];
        }
        // Exploration never hires a convicted identity (a known fraudster's key).
        let convicted = |p: usize| {
            self.rep
                .as_ref()
                .is_some_and(|r| r.is_convicted(&self.ids[self.nodes[p].identity].key.id()))
        };
        let zero: Vec<usize> = (0..candidates.len())
            .filter(|&i| scores[i] == 0.0 && !convicted(candidates[i]))
            .collect();
        let pool = if zero.is_empty() {
            let open: Vec<usize> = (0..candidates.len())
                .filter(|&i| !convicted(candidates[i]))
                .collect();
            if open.is_empty() {
                (0..candidates.len()).collect()
            } else {
                open
            }
        } else {
            zero
        };
        candidates[pool[self.rng.below(pool.len() as u64) as usize]]
    }

    pub(super) fn evidence_check(
        &mut self,
        now: Now,
        requester: usize,
        provider: usize,
        topic: usize,
        defects: bool,
        quality: f64,
    ) {
        let task = self.next_task();
        let ident = self.nodes[provider].identity;
        let key = &self.ids[ident].key;
        let pid = key.id();
        let t0 = now.wall;
        let input = Hash::digest("agentnet/example/input", task.0.as_bytes());
        let mid = Hash::digest("agentnet/example/mid", task.0.as_bytes());
        let genuine = Hash::digest("agentnet/example/output", task.0.as_bytes());
        let altered = Hash::digest("agentnet/example/sabotage", task.0.as_bytes());
        // A slow defector never ships its real trace: it always forges a consistent one.
        let sloppy = defects
            && self.nodes[provider].role == Role::Attacker
            && self.rng.chance(self.cfg.sloppy);
        // The trace ends in the genuine output unless a saboteur forges it.
        let trace_end = if defects && !sloppy { altered } else { genuine };
        let delivered = if defects { altered } else { genuine };
        let mut chain = ReceiptChain::new(pid, task);
        chain
            .record(
                key,
                "analyze",
                input,
                mid,
                t0,
                t0.saturating_add(Duration::from_millis(2)),
            )
            .expect("valid receipt");
        chain
            .record(
                key,
                "report",
                mid,
                trace_end,
                t0.saturating_add(Duration::from_millis(2)),
                t0.saturating_add(Duration::from_millis(4)),
            )
            .expect("valid receipt");
        let package = if trace_end == delivered {
            chain.finish(key, delivered, None).expect("consistent")
        } else {
            // Shipping the real trace with an altered result: a package the honest builder
            // refuses to make, so the saboteur signs it by hand.
            Signed::sign(
                key,
                EvidencePackage {
                    agent: pid,
                    task,
                    result_hash: delivered,
                    receipts: chain
                        .receipts()
                        .iter()
                        .map(|r| bytes::Bytes::from(r.to_envelope()))
                        .collect(),
                    attestation: None,
                },
            )
            .expect("signing in memory")
        };
        let policy = EvidencePolicy::new(
            task,
            pid,
            delivered,
            t0.saturating_sub(Duration::from_secs(1)),
            t0.saturating_add(Duration::from_secs(60)),
        );
        let topic_name = self.topics[topic].clone();
        match verify_evidence(
            &package.to_envelope(),
            &policy,
            &RejectAllAttestations,
            &self.limits,
        ) {
            Ok(verified) => {
                let outcome = if defects {
                    if self.rng.chance(self.cfg.notice) {
                        TaskOutcome::Rejected
                    } else {
                        TaskOutcome::Accepted
                    }
                } else if self.rng.chance(quality) {
                    TaskOutcome::Accepted
                } else {
                    TaskOutcome::Rejected
                };
                let _ = self.nodes[requester].ledger.record_task(
                    &topic_name,
                    pid,
                    &verified,
                    outcome,
                    now.wall,
                );
            }
            Err(report) => {
                match FraudProof::from_evidence_report(&report, &self.limits)
                    .and_then(|p| p.verify(&self.limits))
                {
                    // Every method gets the proof. It travels to every agent (it is
                    // self-verifying): each drops the offender from its own ledger, so no
                    // method's reports mention it again, and nobody hires the convicted key.
                    // What differs is what `Reputation::slash` does with it: MG with slashing
                    // burns the stake and flags the principal (every key of it is convicted),
                    // the others only record it.
                    Ok(offence) => {
                        self.result.fraud_proofs += 1;
                        self.convicted.insert(pid);
                        let principal = self.nodes[provider].principal;
                        if let Some(r) = self.rep.as_mut()
                            && let Ok(agentnet_trust::reputation::SlashOutcome::Slashed { stake }) =
                                r.slash(&Culprit::key(&offence).with_principal(principal), &offence)
                        {
                            self.result.burned += agentnet_core::money::units(stake);
                        }
                        for n in &mut self.nodes {
                            n.ledger.record_offence(pid, &offence);
                        }
                    }
                    // A failed check that yields no verifiable proof (none here: every
                    // mismatch is provable) stays the requester's own negative entry.
                    Err(_) => {
                        if let Some(rej) = report.rejection() {
                            let _ = self.nodes[requester].ledger.record_rejection(
                                &topic_name,
                                pid,
                                &rej,
                                now.wall,
                            );
                        }
                    }
                }
            }
        }
    }

    pub(super) fn canary(
        &mut self,
        now: Now,
        requester: usize,
        provider: usize,
        topic: usize,
        defects: bool,
        quality: f64,
    ) {
        let id = self.next_task().0;
        let ident = self.nodes[provider].identity;
        let pid = self.ids[ident].key.id();
        let expected = b"expected-answer";
        let topic_name = self.topics[topic].clone();
        if self.nodes[requester]
            .canaries
            .issue(
                now,
                id,
                pid,
                topic_name,
                Expected::exact(expected),
                Duration::from_secs(30),
            )
            .is_err()
        {
            return;
        }
        let correct = !defects && self.rng.chance(quality);
        let value = if correct {
            expected.to_vec()
        } else {
            b"something else".to_vec()
        };
        let answer = Answer::sign(&self.ids[ident].key, id, value, now.wall).expect("small answer");
        // The answer travels as a frame and is verified on receipt.
        let frame = answer.to_frame();
        let Ok(answer) = Signed::<Answer>::from_frame(&frame, &self.limits) else {
            return;
        };
        let node = &mut self.nodes[requester];
        // A refused answer closes nothing; whatever did close comes out of the verdict queue.
        let _ = node
            .canaries
            .handle_answer(now.advance(Duration::from_millis(5)), &answer);
        while let Some(verdict) = node.canaries.poll_verdict() {
            let _ = node.ledger.record_canary(&verdict);
        }
    }
}
