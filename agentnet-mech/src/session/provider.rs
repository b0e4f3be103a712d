//! The provider's side: answering offers, delivering, and what it does with the requester's
//! offer, delegation and settlement.

use super::*;

impl Sessions {
    /// Accept an offer and post the mechanism's deposit. Sends a COMMIT.
    pub fn accept(&mut self, now: Now, id: SessionId) -> Result<(), SessionError> {
        self.run(now, |e| e.answer(now, id, true))
    }

    /// Decline an offer. Sends a COMMIT that declines; the session ends.
    pub fn decline(&mut self, now: Now, id: SessionId) -> Result<(), SessionError> {
        self.run(now, |e| e.answer(now, id, false))
    }

    /// Deliver the result (named by its hash) with `evidence`, which the mechanism's tier may
    /// require and which must be this agent's package for the task and this result. Sends a
    /// DELIVER; refused once the delivery deadline has passed.
    pub fn deliver(
        &mut self,
        now: Now,
        id: SessionId,
        result_hash: Hash,
        evidence: Option<Signed<EvidencePackage>>,
    ) -> Result<(), SessionError> {
        self.run(now, |e| e.send_delivery(now, id, result_hash, evidence))
    }

    // =========================================================================================
    // Command implementations
    // =========================================================================================

    pub(super) fn answer(
        &mut self,
        now: Now,
        id: SessionId,
        accept: bool,
    ) -> Result<(), SessionError> {
        let what = if accept { "accept" } else { "decline" };
        let s = self.own(id, Role::Provider, what)?;
        if !matches!(s.state, State::Offered) {
            return Err(wrong_phase(id, what, s));
        }
        let deposit = if accept { s.mechanism.deposit() } else { 0 };
        // After committing, the requester has commit_ms to delegate (or cancel); we wait one
        // settlement window longer so its cancellation can reach us.
        let overdue = now.mono + s.ms(|d| d.commit_ms) + s.ms(|d| d.settle_ms);
        let (peer, link, offer) = (s.counterparty(), s.link, s.offer_hash);
        let (commit, msg) = self.sign(Commit {
            session: id,
            provider: self.me,
            offer,
            accept,
            deposit,
        })?;
        if accept {
            self.set_state(id, State::Committed);
            self.with(id, |s| s.commit = Some(commit));
            self.arm(id, overdue);
            self.persist(now, id);
        } else {
            self.finish(id);
        }
        self.send(peer, link, msg);
        Ok(())
    }

    pub(super) fn send_delivery(
        &mut self,
        now: Now,
        id: SessionId,
        result_hash: Hash,
        evidence: Option<Signed<EvidencePackage>>,
    ) -> Result<(), SessionError> {
        let s = self.own(id, Role::Provider, "deliver")?;
        let State::Delegated {
            input,
            deliver_by,
            at: delegated_at,
        } = s.state
        else {
            return Err(wrong_phase(id, "deliver", s));
        };
        if now.mono >= deliver_by {
            return Err(SessionError::DeadlinePassed(id));
        }
        match &evidence {
            None if s.mechanism.tier() == Tier::Evidence => {
                return Err(SessionError::EvidenceRequired(id));
            }
            None => {}
            Some(p) => {
                check_own_package(id, p, self.me, s.task, result_hash)?;
                // The requester would refuse it (see `check_evidence`); refuse it here first.
                let max = self.config.max_receipts;
                if p.receipts.len() > max {
                    return Err(SessionError::TooManyReceipts {
                        id,
                        count: p.receipts.len(),
                        max,
                    });
                }
            }
        }
        let evidence = evidence.map(|p| Bytes::from(p.to_envelope()));
        if let Some(env) = &evidence {
            // The requester refuses what it could not convict; refuse it here first.
            fraud_settlement_fits(id, s, env, &self.config.limits)?;
        }
        let overdue = now.mono + s.ms(|d| d.settle_ms);
        let (peer, link) = (s.counterparty(), s.link);
        let (deliver, msg) = self.sign(Deliver {
            session: id,
            provider: self.me,
            result_hash,
            evidence,
        })?;
        self.set_state(
            id,
            State::Delivered {
                input,
                result: result_hash,
                evidence: None,
                delegated_at,
                delivered_at: now.wall,
            },
        );
        self.with(id, |s| s.deliver = Some(deliver));
        self.arm(id, overdue);
        self.persist(now, id);
        self.send(peer, link, msg);
        Ok(())
    }

    /// Provider: a new offer. Cheap checks first; the mechanism's signature last but one.
    pub(super) fn on_offer(
        &mut self,
        now: Now,
        from: LinkId,
        m: Signed<Offer>,
    ) -> Result<(), SessionError> {
        let o = m.value();
        if o.provider != self.me {
            return Err(SessionError::NotAddressedToUs(o.provider));
        }
        if o.requester == self.me {
            return Err(SessionError::SelfDealing);
        }
        let id = o.session;
        if id != SessionId::derive(&o.requester, &o.provider, &o.task, o.offered_at) {
            return Err(SessionError::BadSessionId(id));
        }
        if let Some(s) = self.sessions.get(&id) {
            return Err(SessionError::Replayed {
                id,
                what: "OFFER",
                phase: s.state.phase(),
            });
        }
        if self.ended.contains(&id) {
            return Err(SessionError::Ended(id));
        }
        let ahead = o.offered_at.saturating_duration_since(now.wall);
        if ahead > self.config.max_skew {
            return Err(SessionError::FromTheFuture {
                ahead_ms: millis(ahead),
            });
        }
        Topic::new(o.topic.as_str())?;
        let mechanism = open_mechanism(&o.mechanism, &self.config.limits, o.requester)?;
        // The commitment window is judged on the offer's wall clock: once it has closed the
        // requester has given up, so a late (or replayed) offer is refused.
        let close = o.offered_at + Duration::from_millis(mechanism.deadlines().commit_ms);
        if now.wall >= close {
            return Err(SessionError::StaleOffer {
                late_ms: millis(now.wall.saturating_duration_since(close)),
            });
        }
        if self.sessions.len() >= self.config.max_sessions {
            let max = self.config.max_sessions;
            self.emit(Event::TableFull { max });
            return Err(SessionError::Full { max });
        }
        let answer_by = now.mono + close.saturating_duration_since(now.wall);
        let event = Event::Offered {
            id,
            requester: o.requester,
            task: o.task,
            topic: o.topic.clone(),
            description_hash: o.description_hash,
            mechanism: Box::new(mechanism.clone()),
            answer_by,
        };
        let session = Session {
            role: Role::Provider,
            requester: o.requester,
            provider: self.me,
            link: Some(from),
            task: o.task,
            topic: o.topic.clone(),
            offer_hash: m.hash(),
            offer: m,
            commit: None,
            delegate: None,
            deliver: None,
            mechanism_id: mechanism.id(),
            mechanism,
            deadline: Instant::MAX,
            state: State::Offered,
        };
        self.sessions.insert(id, session);
        self.arm(id, answer_by);
        self.persist(now, id);
        self.emit(event);
        Ok(())
    }

    /// Provider: the task input.
    pub(super) fn on_delegate(
        &mut self,
        now: Now,
        from: LinkId,
        m: Signed<Delegate>,
    ) -> Result<(), SessionError> {
        let id = m.session;
        let s = self.counterpart(id, Role::Provider, m.signer(), "DELEGATE")?;
        if !matches!(s.state, State::Committed) {
            return Err(stage_error(
                id,
                "DELEGATE",
                s.state.phase(),
                Phase::Committed,
            ));
        }
        let deliver_by = now.mono + s.ms(|d| d.execute_ms);
        // We wait for the requester's statement one settlement window past the delivery
        // deadline: if we fail to deliver, it owes us a TimedOut(Execute) refund.
        let overdue = deliver_by + s.ms(|d| d.settle_ms);
        let (requester, task, input_hash) = (s.requester, s.task, m.input_hash);
        self.route(id, from);
        self.set_state(
            id,
            State::Delegated {
                input: input_hash,
                at: now.wall,
                deliver_by,
            },
        );
        self.with(id, |s| s.delegate = Some(m));
        self.arm(id, overdue);
        self.persist(now, id);
        self.emit(Event::Delegated {
            id,
            requester,
            task,
            input_hash,
            deliver_by,
        });
        Ok(())
    }

    /// Provider: the settlement statement. Accepted or disputed, it ends the session; an
    /// execution timeout that cannot have happened yet, or after our delivery, is refused
    /// with the session unchanged ([`check_execute_timeout`]).
    pub(super) fn on_settle(
        &mut self,
        now: Now,
        from: LinkId,
        m: Signed<Settle>,
    ) -> Result<(), SessionError> {
        let id = m.session;
        let s = self.counterpart(id, Role::Provider, m.signer(), "SETTLE")?;
        if m.outcome == Outcome::TimedOut(Stage::Execute) {
            check_execute_timeout(id, s, now, self.config.max_skew)?;
        }
        let verdict = check_statement(s, m.value(), self.me, &self.config.limits);
        let topic = s.topic.clone();
        self.route(id, from);
        self.finish(id);
        self.emit(match verdict {
            Ok(()) => Event::Settled(Box::new(Settlement {
                role: Role::Provider,
                topic,
                statement: m,
            })),
            Err(reason) => Event::Disputed {
                id,
                reason,
                statement: Box::new(m),
            },
        });
        Ok(())
    }
}
