//! Checks and arithmetic the engine applies to what it sends and receives: opening frames,
//! judging a grade, the fraud settlement's size, evidence and timeouts.

use super::*;

/// Check, verify and decode a frame of `T`'s kind. Malformed input (frame, envelope or body)
/// is a [`SessionError::Wire`]; a bad signature or an author other than the signer is a
/// [`SessionError::Signed`].
pub(super) fn open<T: SignedObject>(
    payload: &Bytes,
    limits: &Limits,
) -> Result<Signed<T>, SessionError> {
    Signed::<T>::from_frame(payload, limits).map_err(|e| match e {
        SignedError::Wire(w) => SessionError::Wire(w),
        other => SessionError::Signed(other),
    })
}

/// Open, verify and validate the mechanism embedded in an offer; its leader must be the
/// requester.
pub(super) fn open_mechanism(
    envelope: &[u8],
    limits: &Limits,
    requester: AgentId,
) -> Result<Signed<Mechanism>, SessionError> {
    let m = Signed::<Mechanism>::from_envelope(envelope, limits)
        .map_err(SessionError::MechanismEnvelope)?;
    m.validate()?;
    // `Signed` already proved leader == signer.
    if m.leader != requester {
        return Err(SessionError::NotLeader {
            requester,
            leader: m.leader,
        });
    }
    Ok(m)
}

/// Accepted when the score reaches the threshold and, at tier 2, the canaries passed.
pub(super) fn judge(mechanism: &Mechanism, grade: Grade) -> Outcome {
    let quality = grade.score >= mechanism.min_score();
    let canaries = mechanism.tier() != Tier::Canary || grade.canaries_passed;
    if quality && canaries {
        Outcome::Accepted
    } else {
        Outcome::Rejected
    }
}

/// The ledger judgement an outcome carries, if any (module docs, "Settlement").
pub(super) fn feedback_for(outcome: Outcome) -> Option<TaskOutcome> {
    match outcome {
        Outcome::Accepted => Some(TaskOutcome::Accepted),
        Outcome::Rejected | Outcome::TimedOut(Stage::Execute) => Some(TaskOutcome::Rejected),
        Outcome::Fraud | Outcome::TimedOut(_) => None,
    }
}

/// Whether the fraud settlement that would convict the provider on `evidence` (a package
/// envelope) fits `limits`: the statement carries the package as its proof, so it is a few
/// hundred bytes larger than the package.
///
/// Threat: a provider delivers a self-contradicting package just large enough for the
/// DELIVER to pass and the SETTLE carrying it as a proof to exceed the limits; the requester
/// could not sign its conviction, and the provider would keep its deposit. So every
/// delivery is checked against the worst case of that statement (this session's fields and
/// amounts, the latest `settled_at`) before it is taken, by both sides, and one that fails
/// is refused with [`SessionError::EvidenceTooLarge`]: a provider cannot make its own
/// conviction unsignable, only its delivery untakeable (which earns it nothing). The
/// statement is signed with a throwaway key for the measurement; every signature and key
/// has the same length, so the size is exact.
pub(super) fn fraud_settlement_fits(
    id: SessionId,
    s: &Session,
    evidence: &[u8],
    limits: &Limits,
) -> Result<(), SessionError> {
    let probe = Keypair::from_seed([0; 32]);
    let amounts = settlement_amounts(s.mechanism.value(), Outcome::Fraud);
    let worst = Settle {
        session: id,
        requester: probe.id(),
        provider: s.provider,
        task: s.task,
        mechanism: s.mechanism_id,
        outcome: Outcome::Fraud,
        payment: amounts.payment,
        refund: amounts.refund,
        slashed: amounts.slashed,
        proof: Some(FraudProof::ReceiptContradiction {
            package: Bytes::copy_from_slice(evidence),
        }),
        settled_at: WallTime::from_unix_millis(u64::MAX),
    };
    let fits = Signed::sign(&probe, worst).is_ok_and(|st| {
        frame::decode_frame_of(&st.to_frame(), <Settle as SignedObject>::KIND, limits).is_ok()
    });
    if fits {
        Ok(())
    } else {
        Err(SessionError::EvidenceTooLarge {
            id,
            len: evidence.len(),
        })
    }
}

/// A provider's own package must be for this task and result and signed by it: anything else
/// is a wiring mistake the requester would refuse.
pub(super) fn check_own_package(
    id: SessionId,
    p: &Signed<EvidencePackage>,
    me: AgentId,
    task: TaskId,
    result: Hash,
) -> Result<(), SessionError> {
    let reason = if p.signer() != me {
        "is not signed by this agent"
    } else if p.task != task {
        "is for another task"
    } else if p.result_hash != result {
        "claims another result"
    } else {
        return Ok(());
    };
    Err(SessionError::EvidenceMismatch { id, reason })
}

/// Whether a verified `proof` against the provider is about this session: it must be a
/// receipt contradiction whose package is the one this session's DELIVER carried (compared
/// by [`Signed::hash`], so an envelope re-encoded canonically still matches).
///
/// Threat: a proof verifies forever and names no session, so a requester holding one old
/// offence of a provider (another task, another session, gossip) could cite it in every later
/// session and take every later deposit. The deposit of a session answers for what the
/// provider did in that session, and the one thing it does there that a proof can show is
/// the package it delivers; any other offence (equivocation, chain fork, answer
/// contradiction, a package of another delivery, even for the same task id) is the trust
/// plane's to punish ([`Event::Offence`], the ledger), not this deposit's. Checked by the
/// requester ([`Sessions::report_fraud`]) and by the provider (a statement citing anything
/// else is disputed).
pub(super) fn proof_of_this_delivery(
    s: &Session,
    proof: &FraudProof,
    limits: &Limits,
) -> Result<(), &'static str> {
    let FraudProof::ReceiptContradiction { package } = proof else {
        return Err("only a receipt contradiction in this session's delivery forfeits its deposit");
    };
    let Some(delivered) = s.deliver.as_ref().and_then(|d| d.value().evidence.as_ref()) else {
        return Err("this session has no delivered evidence package");
    };
    let hash = |envelope: &[u8]| {
        Signed::<EvidencePackage>::from_envelope(envelope, limits)
            .ok()
            .map(|p| p.hash())
    };
    match (hash(package), hash(delivered)) {
        (Some(cited), Some(ours)) if cited == ours => Ok(()),
        _ => Err("the proof's package is not the one delivered in this session"),
    }
}

/// The provider's check of a `TimedOut(Execute)` statement against its own clock.
///
/// Threat: the requester ends the session as "the provider did not deliver in time" while
/// the provider is still within its delivery window, or after it delivered: it pays nothing
/// for work done or about to be done and records a failure against the provider
/// ([`Event::Feedback`] `Rejected`). The requester's delivery deadline is its delegation time
/// plus `execute_ms`; ours is the delegation's arrival plus `execute_ms`, so it is later by
/// the DELEGATE's transit. A statement is refused while `now + max_skew` is before our
/// deadline (the skew absorbs transit and clock-rate differences). Without a DELEGATE (lost,
/// the session still `Committed`), the requester delegated at the earliest when we committed,
/// so the bound is our commitment time plus `execute_ms`. After our delivery the requester
/// owes a grade (or `TimedOut(Grade)`), never an execution timeout: refused too. Both
/// refusals leave the session as it was ([`SessionError::EarlyTimeout`],
/// [`SessionError::TimeoutAfterDelivery`]): the requester may still settle correctly, and
/// otherwise the provider's own deadline reports [`Event::SettlementOverdue`]. (A delivery
/// racing the requester's deadline ends the same way: the requester settled without it.)
pub(super) fn check_execute_timeout(
    id: SessionId,
    s: &Session,
    now: Now,
    max_skew: Duration,
) -> Result<(), SessionError> {
    let earliest = match s.state {
        State::Delivered { .. } => return Err(SessionError::TimeoutAfterDelivery(id)),
        State::Delegated { deliver_by, .. } => deliver_by,
        // Our deadline while committed is commitment + commit_ms + settle_ms (`answer`).
        State::Committed => s
            .deadline
            .saturating_sub(s.ms(|d| d.commit_ms) + s.ms(|d| d.settle_ms))
            .saturating_add(s.ms(|d| d.execute_ms)),
        // Impossible before a commitment: disputed by `check_statement`.
        State::Offered => return Ok(()),
    };
    let skewed = now.mono.saturating_add(max_skew);
    if skewed < earliest {
        return Err(SessionError::EarlyTimeout {
            id,
            early_ms: millis(earliest.saturating_duration_since(skewed)),
        });
    }
    Ok(())
}

/// Whether `outcome` can have happened given the provider's `phase`. Messages can be lost, so
/// only what the provider's own actions or the requester's own signed DELEGATE rule out is
/// impossible: a judgement and fraud need a delivery; an execution timeout needs a commitment;
/// a requester that signed a delegation had the commitment and did delegate.
pub(super) fn outcome_possible(outcome: Outcome, phase: Phase) -> bool {
    match outcome {
        Outcome::Accepted | Outcome::Rejected | Outcome::TimedOut(Stage::Grade) => {
            phase == Phase::Delivered
        }
        // Fraud is judged on this session's delivery only (`proof_of_this_delivery`).
        Outcome::Fraud => phase == Phase::Delivered,
        Outcome::TimedOut(Stage::Execute) => phase >= Phase::Committed,
        Outcome::TimedOut(Stage::Delegate) => phase == Phase::Committed,
        Outcome::TimedOut(Stage::Commit) => phase <= Phase::Committed,
    }
}

/// The provider's check of a settlement statement: it must be exactly what the mechanism
/// says for its outcome, consistent with what the provider did, and a slashing must carry a
/// proof that convicts this provider. The requester's grade itself cannot be checked (it is the
/// requester's judgement); everything that follows from it can.
pub(super) fn check_statement(
    s: &Session,
    st: &Settle,
    me: AgentId,
    limits: &Limits,
) -> Result<(), DisputeReason> {
    if st.requester != s.requester || st.provider != s.provider || st.task != s.task {
        return Err(DisputeReason::WrongSession);
    }
    if st.mechanism != s.mechanism_id {
        return Err(DisputeReason::MechanismMismatch {
            expected: s.mechanism_id,
            found: st.mechanism,
        });
    }
    let m = s.mechanism.value();
    let (flat, bonus) = m.payment().unwrap_or((0, 0));
    let max = flat.saturating_add(bonus);
    if st.payment > max {
        return Err(DisputeReason::Overpaid {
            payment: st.payment,
            max,
        });
    }
    let deposit = m.deposit();
    if st.refund.checked_add(st.slashed) != Some(deposit) {
        return Err(DisputeReason::DepositMismatch {
            refund: st.refund,
            slashed: st.slashed,
            deposit,
        });
    }
    let phase = s.state.phase();
    if !outcome_possible(st.outcome, phase) {
        return Err(DisputeReason::ImpossibleOutcome {
            outcome: st.outcome,
            phase,
        });
    }
    let expected = settlement_amounts(m, st.outcome);
    if st.payment != expected.payment {
        return Err(DisputeReason::WrongPayment {
            outcome: st.outcome,
            payment: st.payment,
            expected: expected.payment,
        });
    }
    if st.slashed != expected.slashed {
        return Err(DisputeReason::WrongSlashing {
            slashed: st.slashed,
            expected: expected.slashed,
        });
    }
    match (st.outcome, &st.proof) {
        (Outcome::Fraud, None) => Err(DisputeReason::MissingProof),
        (Outcome::Fraud, Some(p)) => {
            let offence = p.verify(limits).map_err(DisputeReason::InvalidProof)?;
            if offence.offender != me {
                return Err(DisputeReason::NotTheOffender {
                    offender: offence.offender,
                });
            }
            proof_of_this_delivery(s, p, limits).map_err(DisputeReason::ProofNotForSession)
        }
        (_, Some(_)) => Err(DisputeReason::UnexpectedProof),
        (_, None) => Ok(()),
    }
}

/// A message for a stage already passed is a replay; one for a later stage is out of order.
pub(super) fn stage_error(
    id: SessionId,
    what: &'static str,
    phase: Phase,
    expected: Phase,
) -> SessionError {
    if phase > expected {
        SessionError::Replayed { id, what, phase }
    } else {
        SessionError::OutOfOrder { id, what, phase }
    }
}

pub(super) fn wrong_phase(id: SessionId, what: &'static str, s: &Session) -> SessionError {
    SessionError::WrongPhase {
        id,
        what,
        phase: s.state.phase(),
    }
}

pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
