//! The requester's side: offering, delegating, grading, reporting fraud, and what it does
//! with the provider's commitment and delivery (evidence checks, settlement).

use super::*;

impl Sessions {
    /// Offer `task` to `provider` (reached on `link`) under `mechanism`, which this agent must
    /// lead and which must be valid. Sends an OFFER; the session's id is returned and
    /// [`Event::Committed`] or [`Event::Declined`] follows (or a `TimedOut(Commit)`
    /// settlement after `commit_ms`).
    pub fn offer(
        &mut self,
        now: Now,
        provider: AgentId,
        link: LinkId,
        task: TaskSpec,
        mechanism: Signed<Mechanism>,
    ) -> Result<SessionId, SessionError> {
        self.run(now, |e| e.start_offer(now, provider, link, task, mechanism))
    }

    /// Hand the task's input (named by its hash) to the committed provider. Sends a DELEGATE;
    /// the provider has `execute_ms` to deliver.
    pub fn delegate(
        &mut self,
        now: Now,
        id: SessionId,
        input_hash: Hash,
    ) -> Result<(), SessionError> {
        self.run(now, |e| e.start_delegation(now, id, input_hash))
    }

    /// Judge a delivery and settle by the mechanism (module docs, "Settlement"). Sends the
    /// SETTLE statement and queues [`Event::Settled`] and [`Event::Feedback`]; returns the
    /// outcome.
    pub fn grade(
        &mut self,
        now: Now,
        id: SessionId,
        grade: Grade,
    ) -> Result<Outcome, SessionError> {
        self.run(now, |e| e.apply_grade(now, id, grade))
    }

    /// Settle the session as [`Outcome::Fraud`] on a fraud proof that verifies, convicts the
    /// session's provider and is about this session: a receipt contradiction in the package
    /// of this session's delivery ([`SessionError::ProofNotForSession`] otherwise; module
    /// docs, "Settlement threats"). Sends the SETTLE statement with the proof and queues
    /// [`Event::Settled`] and [`Event::Offence`]. A contradicting package is normally found
    /// and settled on as it arrives; a proof of anything else the provider did belongs to the
    /// trust plane ([`Ledger::record_offence`](agentnet_trust::ledger::Ledger::record_offence)),
    /// not to this session's deposit.
    pub fn report_fraud(
        &mut self,
        now: Now,
        id: SessionId,
        proof: &FraudProof,
    ) -> Result<(), SessionError> {
        self.run(now, |e| e.apply_fraud_report(now, id, proof))
    }

    pub(super) fn start_offer(
        &mut self,
        now: Now,
        provider: AgentId,
        link: LinkId,
        task: TaskSpec,
        mechanism: Signed<Mechanism>,
    ) -> Result<SessionId, SessionError> {
        if provider == self.me {
            return Err(SessionError::SelfDealing);
        }
        Topic::new(task.topic.as_str())?;
        mechanism.validate()?;
        if mechanism.leader != self.me {
            return Err(SessionError::NotLeader {
                requester: self.me,
                leader: mechanism.leader,
            });
        }
        let id = SessionId::derive(&self.me, &provider, &task.id, now.wall);
        if self.sessions.contains_key(&id) || self.ended.contains(&id) {
            return Err(SessionError::DuplicateSession(id));
        }
        self.check_room()?;
        let (offer, offer_frame) = self.sign(Offer {
            session: id,
            requester: self.me,
            provider,
            task: task.id,
            topic: task.topic.clone(),
            description_hash: task.description_hash,
            offered_at: now.wall,
            mechanism: Bytes::from(mechanism.to_envelope()),
        })?;
        let session = Session {
            role: Role::Requester,
            requester: self.me,
            provider,
            link: Some(link),
            task: task.id,
            topic: task.topic,
            offer_hash: offer.hash(),
            offer,
            commit: None,
            delegate: None,
            deliver: None,
            mechanism_id: mechanism.id(),
            mechanism,
            deadline: Instant::MAX,
            state: State::Offered,
        };
        let commit_by = now.mono + session.ms(|d| d.commit_ms);
        self.sessions.insert(id, session);
        self.arm(id, commit_by);
        self.persist(now, id);
        self.transmit(link, offer_frame);
        Ok(id)
    }

    pub(super) fn start_delegation(
        &mut self,
        now: Now,
        id: SessionId,
        input_hash: Hash,
    ) -> Result<(), SessionError> {
        let s = self.own(id, Role::Requester, "delegate")?;
        if !matches!(s.state, State::Committed) {
            return Err(wrong_phase(id, "delegate", s));
        }
        let deliver_by = now.mono + s.ms(|d| d.execute_ms);
        let (peer, link) = (s.counterparty(), s.link);
        let (delegate, msg) = self.sign(Delegate {
            session: id,
            requester: self.me,
            input_hash,
        })?;
        self.set_state(
            id,
            State::Delegated {
                input: input_hash,
                at: now.wall,
                deliver_by,
            },
        );
        self.with(id, |s| s.delegate = Some(delegate));
        self.arm(id, deliver_by);
        self.persist(now, id);
        self.send(peer, link, msg);
        Ok(())
    }

    pub(super) fn apply_grade(
        &mut self,
        now: Now,
        id: SessionId,
        grade: Grade,
    ) -> Result<Outcome, SessionError> {
        let s = self.own(id, Role::Requester, "grade")?;
        if !matches!(s.state, State::Delivered { .. }) {
            return Err(wrong_phase(id, "grade", s));
        }
        if grade.score > PPM_ONE {
            return Err(SessionError::InvalidScore(grade.score));
        }
        let outcome = judge(s.mechanism.value(), grade);
        self.settle(now, id, outcome, None)?;
        Ok(outcome)
    }

    pub(super) fn apply_fraud_report(
        &mut self,
        now: Now,
        id: SessionId,
        proof: &FraudProof,
    ) -> Result<(), SessionError> {
        let s = self.own(id, Role::Requester, "report_fraud")?;
        // Before the commitment the provider has posted nothing the proof could forfeit.
        if matches!(s.state, State::Offered) {
            return Err(wrong_phase(id, "report_fraud", s));
        }
        let provider = s.provider;
        let offence = proof.verify(&self.config.limits)?;
        if offence.offender != provider {
            return Err(SessionError::WrongOffender {
                id,
                offender: offence.offender,
                provider,
            });
        }
        proof_of_this_delivery(s, proof, &self.config.limits)
            .map_err(|reason| SessionError::ProofNotForSession { id, reason })?;
        self.settle(
            now,
            id,
            Outcome::Fraud,
            Some(Box::new((proof.clone(), offence))),
        )
    }

    /// Sign and send the settlement statement, then end the session and report. Called by the
    /// requester only. Nothing changes if signing fails.
    pub(super) fn settle(
        &mut self,
        now: Now,
        id: SessionId,
        outcome: Outcome,
        fraud: Option<Box<(FraudProof, Offence)>>,
    ) -> Result<(), SessionError> {
        let s = self
            .sessions
            .get(&id)
            .ok_or(SessionError::UnknownSession(id))?;
        let amounts = settlement_amounts(s.mechanism.value(), outcome);
        let (proof, offence) = match fraud {
            Some(b) => {
                let (p, o) = *b;
                (Some(p), Some(o))
            }
            None => (None, None),
        };
        let (statement, statement_frame) = self.sign(Settle {
            session: id,
            requester: s.requester,
            provider: s.provider,
            task: s.task,
            mechanism: s.mechanism_id,
            outcome,
            payment: amounts.payment,
            refund: amounts.refund,
            slashed: amounts.slashed,
            proof,
            settled_at: now.wall,
        })?;
        let s = self.finish(id).ok_or(SessionError::UnknownSession(id))?;
        self.send(s.counterparty(), s.link, statement_frame);
        self.emit(Event::Settled(Box::new(Settlement {
            role: Role::Requester,
            topic: s.topic.clone(),
            statement,
        })));
        if let Some(o) = offence {
            self.emit(Event::Offence(o));
        }
        if let Some(outcome) = feedback_for(outcome) {
            let evidence = match s.state {
                State::Delivered { evidence, .. } => evidence,
                _ => None,
            };
            self.emit(Event::Feedback {
                id,
                peer: s.provider,
                topic: s.topic,
                outcome,
                evidence,
            });
        }
        Ok(())
    }

    // =========================================================================================
    // Inbound messages
    // =========================================================================================

    /// Requester: the provider's answer.
    pub(super) fn on_commit(
        &mut self,
        now: Now,
        from: LinkId,
        m: Signed<Commit>,
    ) -> Result<(), SessionError> {
        let id = m.session;
        let s = self.counterpart(id, Role::Requester, m.signer(), "COMMIT")?;
        if !matches!(s.state, State::Offered) {
            return Err(stage_error(id, "COMMIT", s.state.phase(), Phase::Offered));
        }
        if m.offer != s.offer_hash {
            return Err(SessionError::OfferMismatch {
                id,
                expected: s.offer_hash,
                found: m.offer,
            });
        }
        let expected = if m.accept { s.mechanism.deposit() } else { 0 };
        if m.deposit != expected {
            return Err(SessionError::WrongDeposit {
                id,
                expected,
                got: m.deposit,
            });
        }
        let provider = s.provider;
        if !m.accept {
            self.finish(id);
            self.emit(Event::Declined { id, provider });
            return Ok(());
        }
        // Policy: the host gets a commit window to delegate (the deposit is locked meanwhile).
        let delegate_by = now.mono + s.ms(|d| d.commit_ms);
        let deposit = m.deposit;
        self.route(id, from);
        self.set_state(id, State::Committed);
        self.with(id, |s| s.commit = Some(m));
        self.arm(id, delegate_by);
        self.persist(now, id);
        self.emit(Event::Committed {
            id,
            provider,
            deposit,
            delegate_by,
        });
        Ok(())
    }

    /// Requester: the result. Verifies the evidence and settles at once on fraud or refused
    /// evidence; otherwise waits for the host's grade.
    pub(super) fn on_deliver(
        &mut self,
        now: Now,
        from: LinkId,
        m: Signed<Deliver>,
    ) -> Result<(), SessionError> {
        let id = m.session;
        let s = self.counterpart(id, Role::Requester, m.signer(), "DELIVER")?;
        let State::Delegated { input, at, .. } = s.state else {
            return Err(stage_error(
                id,
                "DELIVER",
                s.state.phase(),
                Phase::Delegated,
            ));
        };
        if s.mechanism.tier() == Tier::Evidence && m.evidence.is_none() {
            return Err(SessionError::EvidenceRequired(id));
        }
        if let Some(env) = &m.evidence {
            fraud_settlement_fits(id, s, env, &self.config.limits)?;
        }
        let provider = s.provider;
        let grade_by = now.mono + s.ms(|d| d.settle_ms.div_ceil(2));
        let check = match &m.evidence {
            None => EvidenceCheck::Absent,
            Some(env) => self.check_evidence(s, env, m.result_hash, at, now),
        };
        if let EvidenceCheck::TooManyReceipts { count, max } = check {
            return Err(SessionError::TooManyReceipts { id, count, max });
        }
        self.route(id, from);
        match check {
            EvidenceCheck::Fraud(fraud) if fraud.1.offender == provider => {
                self.settle(now, id, Outcome::Fraud, Some(fraud))
            }
            EvidenceCheck::Fraud(fraud) => {
                // A self-contradicting package signed by a third party: a real offence, worth
                // reporting, but not this provider's; its delivery simply fails.
                self.settle(now, id, Outcome::Rejected, None)?;
                let (_, offence) = *fraud;
                self.emit(Event::Offence(offence));
                Ok(())
            }
            EvidenceCheck::Failed(report) => {
                self.settle(now, id, Outcome::Rejected, None)?;
                self.emit(Event::EvidenceRejected {
                    id,
                    provider,
                    report,
                });
                Ok(())
            }
            EvidenceCheck::TooManyReceipts { count, max } => {
                Err(SessionError::TooManyReceipts { id, count, max })
            }
            EvidenceCheck::Absent | EvidenceCheck::Verified(_) => {
                let evidence = match check {
                    EvidenceCheck::Verified(v) => Some(v),
                    _ => None,
                };
                let result_hash = m.result_hash;
                self.set_state(
                    id,
                    State::Delivered {
                        input,
                        result: result_hash,
                        evidence: evidence.clone(),
                        delegated_at: at,
                        delivered_at: now.wall,
                    },
                );
                self.with(id, |s| s.deliver = Some(m));
                self.arm(id, grade_by);
                self.persist(now, id);
                self.emit(Event::Delivered {
                    id,
                    provider,
                    result_hash,
                    evidence,
                    grade_by,
                });
                Ok(())
            }
        }
    }

    /// Verify a delivery's evidence against what this requester saw: its task, its provider,
    /// the delivered result, the window from delegation to now.
    pub(super) fn check_evidence(
        &self,
        s: &Session,
        envelope: &[u8],
        result: Hash,
        delegated_at: WallTime,
        now: Now,
    ) -> EvidenceCheck {
        let limits = &self.config.limits;
        let mut policy = EvidencePolicy::new(
            s.task,
            s.provider,
            result,
            delegated_at,
            // A wall clock stepped backwards must not make the policy invalid.
            now.wall.max(delegated_at),
        );
        policy.max_skew = self.config.max_skew;
        policy.max_receipts = self.config.max_receipts;
        policy.require_attestation = self.config.require_attestation;
        let report = match verify_evidence(envelope, &policy, &*self.attestations, limits) {
            Ok(v) => return EvidenceCheck::Verified(v),
            Err(report) => report,
        };
        // Threat: a package over `max_receipts` is refused by `verify_evidence` before its
        // chain is walked (bounded work), so a contradiction inside it is never found. Settled
        // as merely `Rejected`, a cheating provider would pocket the flat fee and keep its
        // deposit by adding one receipt. Such a delivery is therefore not taken at all: the
        // provider may still deliver a package within the bound before the deadline, or it
        // times out (nothing paid).
        let too_many = report.faults().iter().find_map(|f| match f {
            EvidenceFault::TooManyReceipts { count, max } => Some((*count, *max)),
            _ => None,
        });
        if let Some((count, max)) = too_many {
            return EvidenceCheck::TooManyReceipts { count, max };
        }
        // Only a contradiction inside the provider's own signatures is fraud; every other fault
        // depends on our view and merely refuses the evidence.
        let proven = FraudProof::from_evidence_report(&report, limits)
            .and_then(|p| p.verify(limits).map(|o| (p, o)));
        match proven {
            Ok(fraud) => EvidenceCheck::Fraud(Box::new(fraud)),
            Err(_) => EvidenceCheck::Failed(report),
        }
    }

    // =========================================================================================
    // Deadlines
    // =========================================================================================
}
