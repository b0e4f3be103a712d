//! The session engine's events routed to both sides (provider jobs, requester tries),
//! settlements, and the clean-up of sessions that ended.

use agentnet_core::{Now, Record};
use agentnet_mech::session::{
    Event as SessionEvent, Outcome, Role, SessionId, Stage as SessionStage,
};
use agentnet_trust::canary::CanaryOutcome;

use super::wire::Direction;
use super::{Agent, AgentEvent, Stage, Verdict, tables};

impl Agent {
    // =========================================================================================
    // Internals: sessions
    // =========================================================================================

    pub(super) fn on_session_event(&mut self, now: Now, e: SessionEvent) {
        match e {
            SessionEvent::Offered {
                id,
                requester,
                topic,
                description_hash,
                mechanism,
                task,
                ..
            } => self.on_offered(
                now,
                id,
                requester,
                topic,
                description_hash,
                &mechanism,
                task,
            ),
            SessionEvent::Delegated {
                id,
                input_hash,
                deliver_by,
                ..
            } => {
                if let Some(job) = self.jobs.get_mut(&id) {
                    job.input_hash = Some(input_hash);
                    job.deliver_by = deliver_by;
                    job.delegated_at = now.wall;
                }
                if let Some(inc) = self.incoming.get_mut(&(id, Direction::Input)) {
                    inc.expected = Some(input_hash);
                    inc.resend_at = now.mono + self.config.payload.resend_after;
                }
                self.try_finish(now, id, Direction::Input);
            }
            SessionEvent::Committed {
                id,
                provider,
                deposit,
                ..
            } => self.on_committed(now, id, provider, deposit),
            SessionEvent::Declined { id, .. } => {
                self.end_try(now, id, Verdict::Declined);
                self.forget_session(id);
            }
            SessionEvent::Delivered {
                id,
                result_hash,
                evidence,
                ..
            } => {
                if let Some(t) = self.try_of_mut(id)
                    && t.real == id
                {
                    t.receipts = evidence.as_ref().map_or(0, |e| e.receipt_count());
                }
                if let Some(inc) = self.incoming.get_mut(&(id, Direction::Result)) {
                    inc.expected = Some(result_hash);
                    inc.resend_at = now.mono + self.config.payload.resend_after;
                }
                self.try_finish(now, id, Direction::Result);
            }
            SessionEvent::EvidenceRejected {
                id,
                provider,
                report,
            } => {
                let topic = self.sessions.session(&id).map(|s| s.topic);
                if let (Some(topic), Some(rej)) = (topic, report.rejection()) {
                    let peer = self.canonical(&provider);
                    let _ = self.ledger.record_rejection(&topic, peer, &rej, now.wall);
                    self.durable.ledger_dirty.insert((topic, peer));
                }
                if let Some(t) = self.try_of_mut(id) {
                    t.evidence_rejected = true;
                }
            }
            SessionEvent::Feedback {
                id,
                peer,
                topic,
                outcome,
                evidence,
            } => {
                let is_canary = self
                    .try_of_mut(id)
                    .is_some_and(|t| t.canaries.contains_key(&id));
                if !is_canary {
                    let peer = self.canonical(&peer);
                    self.ensure_topic(&topic);
                    let _ = match &evidence {
                        Some(ev) => self.ledger.record_task(&topic, peer, ev, outcome, now.wall),
                        None => self
                            .ledger
                            .record_checked_task(&topic, peer, outcome, now.wall),
                    };
                    self.durable.ledger_dirty.insert((topic, peer));
                }
            }
            SessionEvent::Settled(s) => self.on_settled(now, *s),
            SessionEvent::Disputed { id, statement, .. } => {
                self.event(AgentEvent::Served {
                    session: id,
                    requester: statement.requester,
                    payment: statement.payment,
                    slashed: statement.slashed,
                    disputed: true,
                });
                self.forget_session(id);
            }
            SessionEvent::OfferExpired { id, .. } | SessionEvent::SettlementOverdue { id, .. } => {
                self.forget_session(id);
            }
            SessionEvent::Overflow(o) => self.engine_overflow("sessions", o),
            SessionEvent::Persist { id, record } => {
                let key = id.0.0.to_vec();
                self.durable.batch.push(match record {
                    Some(r) => Record::put(tables::SESSION, key, r),
                    None => Record::delete(tables::SESSION, key),
                });
            }
            // Offences arrive with their proofs in settlement statements (handled there).
            _ => {}
        }
    }

    fn on_settled(&mut self, now: Now, s: agentnet_mech::session::Settlement) {
        let id = s.id();
        let st = &s.statement;
        if let Some(proof) = st.proof.clone() {
            let _ = self.on_proof(now, proof, None);
        }
        match s.role {
            Role::Provider => {
                self.event(AgentEvent::Served {
                    session: id,
                    requester: st.requester,
                    payment: st.payment,
                    slashed: st.slashed,
                    disputed: false,
                });
            }
            Role::Requester => {
                let real = self.try_of_mut(id).map(|t| (t.real == id, t.provider));
                if let Some((true, provider)) = real {
                    let rid = self.by_session[&id];
                    self.event(AgentEvent::Progress {
                        request: rid,
                        stage: Stage::Settled {
                            provider,
                            payment: st.payment,
                            refund: st.refund,
                            slashed: st.slashed,
                        },
                    });
                    let verdict = match st.outcome {
                        Outcome::Accepted => Verdict::Accepted,
                        Outcome::Fraud => Verdict::Fraud,
                        Outcome::Rejected => {
                            let t = self.try_of_mut(id).expect("found above");
                            let canary_failed = t
                                .canaries
                                .values()
                                .any(|c| c.outcome.is_some_and(|o| o != CanaryOutcome::Passed));
                            if t.evidence_rejected {
                                Verdict::EvidenceRejected
                            } else if canary_failed {
                                Verdict::CanaryFailed
                            } else {
                                Verdict::Rejected
                            }
                        }
                        Outcome::TimedOut(stage) => Verdict::TimedOut(match stage {
                            SessionStage::Commit => "commit",
                            SessionStage::Delegate => "delegate",
                            SessionStage::Execute => "execute",
                            SessionStage::Grade => "grade",
                        }),
                    };
                    let payment = st.payment;
                    self.end_try_paid(now, id, verdict, payment);
                }
            }
        }
        self.forget_session(id);
    }

    /// Drop everything kept for a session that ended.
    fn forget_session(&mut self, id: SessionId) {
        if self.jobs.remove(&id).is_some() {
            self.durable
                .batch
                .push(Record::delete(tables::JOB, id.0.0.to_vec()));
        }
        for d in [Direction::Input, Direction::Result] {
            self.outgoing.remove(&(id, d));
            self.incoming.remove(&(id, d));
        }
        let in_use = self
            .by_session
            .get(&id)
            .and_then(|rid| self.requests.get(rid))
            .and_then(|r| r.current.as_ref())
            .is_some_and(|t| t.real == id || t.canaries.contains_key(&id));
        if !in_use {
            self.by_session.remove(&id);
        }
    }
}
