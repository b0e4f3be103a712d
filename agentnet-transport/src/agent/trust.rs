//! The trust plane's glue: reputation topics, fraud proofs (verified, recorded, slashed,
//! relayed once), peers' trust reports, and the periodic trust round; with the bounded sets
//! that remember proofs and convictions.

use std::collections::{BTreeSet, VecDeque};

use agentnet_core::descriptor::Topic;
use agentnet_core::semantic::SemanticEncoder;
use agentnet_core::{AgentId, Hash, LinkId, Now, Record, Signed};
use agentnet_trust::fraud::FraudProof;
use agentnet_trust::report::TrustReport;
use bytes::Bytes;

use super::{Agent, AgentError, AgentEvent, tables};

/// A bounded first-in-first-out set.
#[derive(Debug)]
pub(super) struct FifoSet<T: Ord + Clone> {
    set: BTreeSet<T>,
    order: VecDeque<T>,
    cap: usize,
}

impl<T: Ord + Clone> FifoSet<T> {
    pub(super) fn new(cap: usize) -> Self {
        FifoSet {
            set: BTreeSet::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// Insert; false if present. The oldest entry goes when full.
    pub(super) fn insert(&mut self, v: T) -> bool {
        if !self.set.insert(v.clone()) {
            return false;
        }
        self.order.push_back(v);
        if self.order.len() > self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }

    pub(super) fn contains(&self, v: &T) -> bool {
        self.set.contains(v)
    }
}

/// Fraud proofs this agent keeps and persists (against offenders with standing here), oldest
/// first, at most `cap`. Proofs against offenders with standing are dear to mint (an identity
/// that dealt with this agent) but not free: without a bound, identities that once linked here
/// could self-convict to grow the store. When full the oldest proof goes (its record is
/// deleted, and its offender's ledger conviction with it unless a kept proof still names it);
/// the offender stays slashed in the reputation engine until a restart.
#[derive(Debug)]
pub(super) struct StoredProofs {
    order: VecDeque<(Hash, AgentId)>,
    cap: usize,
}

impl StoredProofs {
    pub(super) fn new(cap: usize) -> Self {
        StoredProofs {
            order: VecDeque::new(),
            cap,
        }
    }

    /// Keep proof `id` against `offender`; returns the proof given up to make room, and
    /// whether a kept proof still names its offender.
    fn push(&mut self, id: Hash, offender: AgentId) -> Option<(Hash, AgentId, bool)> {
        self.order.push_back((id, offender));
        if self.order.len() <= self.cap {
            return None;
        }
        let (old, who) = self.order.pop_front()?;
        let still = self.order.iter().any(|(_, o)| *o == who);
        Some((old, who, still))
    }
}

impl Agent {
    // =========================================================================================
    // Internals: trust plane
    // =========================================================================================

    /// Make `topic` one of the reputation engine's topics (bounded by its `max_topics`; a
    /// full table leaves new topics without reputation, never evicts an existing one).
    pub(super) fn ensure_topic(&mut self, topic: &Topic) {
        if self.reputation.topics().any(|t| t == topic) {
            return;
        }
        let e = self.encoder.encode(topic.as_str());
        let _ = self.reputation.add_topic(topic.clone(), e);
    }

    /// Verify a fraud proof and act on it once: ledger, slashing, open sessions, relay.
    pub(super) fn on_proof(
        &mut self,
        now: Now,
        proof: FraudProof,
        from: Option<LinkId>,
    ) -> Result<(), AgentError> {
        let id = proof.id();
        if self.proofs.contains(&id) {
            return Ok(());
        }
        let offence = proof.verify(&self.limits)?;
        self.proofs.insert(id);
        let canonical = self.canonical(&offence.offender);
        if canonical == self.me {
            return Ok(());
        }
        // Free keys are free: anyone can mint a valid proof against an identity of its own
        // (sign two contradicting headers with a fresh key). Relayed to everyone, persisted and
        // kept in every table, such proofs would be a flood and a remote disk and memory fill
        // at the price of a key. A proof relayed against an offender with no standing here
        // (no ledger row, no reputation, no attestation, no session with this agent) changes
        // nothing this agent acts on but its next choice of provider: it is remembered in a
        // bounded set (`is_convicted` is true while it is held), not persisted, not relayed.
        // Proofs this agent found itself, and against offenders with standing, take the full
        // path below.
        if from.is_some() && !self.has_standing(now, &canonical) {
            self.convicted_strangers.insert(canonical);
            self.event(AgentEvent::Convicted {
                offender: offence.offender,
                canonical,
                kind: offence.kind,
                proof: id,
                from,
            });
            return Ok(());
        }
        let topics: Vec<Topic> = self.ledger.topics().cloned().collect();
        self.ledger.record_offence(canonical, &offence);
        for t in topics {
            self.durable.ledger_dirty.insert((t, canonical));
        }
        self.durable.batch.push(Record::put(
            tables::FRAUD_PROOF,
            id.0.to_vec(),
            proof.to_frame(),
        ));
        if let Some((old, who, still)) = self.stored_proofs.push(id, canonical) {
            self.durable
                .batch
                .push(Record::delete(tables::FRAUD_PROOF, old.0.to_vec()));
            if !still {
                self.ledger.forget_conviction(&who);
            }
        }
        self.book.forget(&canonical);
        // The registry blames a principal only when an issuer attested that the chain
        // belongs to it. A slashed agent reads 0 at once; the others' scores follow at the
        // next trust round (no recompute per proof: proofs are cheap to mint against one's
        // own free keys).
        let culprit = self.registry.culprit(&offence);
        let _ = self.reputation.slash(&culprit, &offence);
        // Open sessions with the offender are left to their own checks: a proof slashes only
        // the deposit of the session whose delivery it convicts (the session engine settles
        // that one as fraud when the delivery arrives), never a later, unrelated one.
        self.broadcast(&proof.to_frame(), from);
        self.event(AgentEvent::Convicted {
            offender: offence.offender,
            canonical,
            kind: offence.kind,
            proof: id,
            from,
        });
        Ok(())
    }

    /// Whether `canonical` has anything here a conviction would change: a ledger row, a
    /// reputation above zero, an issuer's attestation, or a session with this agent.
    fn has_standing(&self, now: Now, canonical: &AgentId) -> bool {
        self.ledger
            .topics()
            .any(|t| self.ledger.tally(t, canonical, now.wall).is_some())
            || self
                .reputation
                .topics()
                .any(|t| self.reputation.score(canonical, t) > 0.0)
            || self.registry.resolve(canonical).is_some_and(|r| r.attested)
            || self.sessions.ids().any(|sid| {
                self.sessions.session(sid).is_some_and(|s| {
                    self.canonical(&s.provider) == *canonical
                        || self.canonical(&s.requester) == *canonical
                })
            })
    }

    pub(super) fn on_report(&mut self, now: Now, frame: &Bytes) -> Result<(), AgentError> {
        let report = Signed::<TrustReport>::from_frame(frame, &self.limits)?;
        // A report dated ahead of this clock (beyond the skew the gossip plane allows) would
        // never age here, and would lock out the reporter's honest later reports (report
        // times may not go backwards): refused.
        let skew = self.config.gossip.header_rules.max_skew;
        if report.at > now.wall + skew {
            return Err(agentnet_trust::report::ReportError::Malformed(
                "report dated in the future",
            )
            .into());
        }
        // Only topics this agent itself works in: peers cannot grow its tables.
        if !self.reputation.topics().any(|t| *t == report.topic) {
            return Ok(());
        }
        let reporter = self.canonical(&report.signer());
        if self.is_convicted(&reporter) {
            return Ok(());
        }
        // The reporter's reputation in the topic decides who keeps a place when the topic's
        // rows are full (weightless keys can only push out each other).
        let weight = self.reputation.score(&reporter, &report.topic);
        self.book.apply_weighted(&report, weight)?;
        Ok(())
    }

    /// Send salient trust reports and recompute reputation.
    pub(super) fn trust_round(&mut self, now: Now) {
        let topics: Vec<Topic> = self.reputation.topics().cloned().collect();
        let mut reported = false;
        for topic in &topics {
            let row = self.ledger.row(topic, now.wall);
            if let Ok(Some(report)) = self.reports.next_report(&self.keys, topic, &row, now.wall) {
                let frame = report.to_frame();
                self.broadcast(&frame, None);
                reported = true;
            }
            let own: Vec<(AgentId, f32, f32)> = row
                .iter()
                .map(|(p, t)| (*p, t.pos as f32, t.neg as f32))
                .collect();
            let _ = self.reputation.set_row(self.me, topic, own);
            let reporters: Vec<AgentId> = self.book.rows(topic).map(|(r, _)| *r).collect();
            // Rows of reporters the book no longer holds (it gave their place to others)
            // leave too, so the ids they named stop holding places in the reputation table.
            let held: BTreeSet<AgentId> = reporters.iter().map(|r| self.canonical(r)).collect();
            for gone in self.reputation.reporters(topic) {
                if gone != self.me && !held.contains(&gone) {
                    self.reputation.remove_row(&gone, topic);
                }
            }
            for reporter in reporters {
                let entries = self.book.row_at(topic, &reporter, now.wall);
                let canonical = self.canonical(&reporter);
                let _ = self.reputation.set_row(canonical, topic, entries);
            }
        }
        let known: Vec<AgentId> = self.routes.keys().map(|k| self.canonical(k)).collect();
        for a in known {
            if self.reputation.stake(&a).is_zero() && !self.reputation.is_slashed(&a) {
                let _ = self.reputation.set_stake(a, self.config.default_stake);
            }
        }
        let _ = self.reputation.recompute();
        if reported {
            // The builder's seqs must survive a restart, or peers refuse the next reports as
            // stale. Written in this turn's batch, before the reports leave.
            let list: Vec<serde_bytes::ByteBuf> = self
                .reports
                .export()
                .into_iter()
                .map(|b| serde_bytes::ByteBuf::from(b.to_vec()))
                .collect();
            if let Ok(v) = agentnet_core::wire::encode_cbor(&list) {
                self.durable
                    .batch
                    .push(Record::put(tables::REPORTS, b"all".to_vec(), v));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use agentnet_core::Keypair;

    use super::*;

    #[test]
    fn the_proof_store_is_bounded_and_gives_up_the_oldest() {
        let id = |n: u8| Hash([n; 32]);
        let who = |n: u8| Keypair::from_seed([n; 32]).id();
        let mut s = StoredProofs::new(3);
        assert_eq!(s.push(id(1), who(1)), None);
        assert_eq!(s.push(id(2), who(2)), None);
        assert_eq!(s.push(id(3), who(1)), None);
        // Full: the oldest proof goes; a kept proof still names its offender.
        assert_eq!(s.push(id(4), who(4)), Some((id(1), who(1), true)));
        // Then the offender's last proof goes, and nothing names it any more.
        assert_eq!(s.push(id(5), who(5)), Some((id(2), who(2), false)));
        assert_eq!(s.push(id(6), who(6)), Some((id(3), who(1), false)));
        assert_eq!(s.order.len(), 3);
    }
}
