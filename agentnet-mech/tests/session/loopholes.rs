//! Settlement loopholes (issue 15, finding 9): oversized fraud settlements, packages over
//! `max_receipts`, early or late execution timeouts, and proofs from another session.

use super::*;

/// A lying package (an intact chain ending in `result()`, claiming `claimed`) with `n`
/// receipts whose tool names are `tool_len` bytes long and, if `pad` > 0, an attestation of
/// `pad` bytes: a cheat's package of whatever size it likes.
fn sized_lie(
    task: TaskId,
    n: usize,
    tool_len: usize,
    pad: usize,
    claimed: Hash,
) -> Signed<EvidencePackage> {
    let b = bob();
    let mut chain = ReceiptChain::new(b.id(), task);
    let tool = "t".repeat(tool_len);
    let mut prev = input();
    for i in 0..n {
        let out = if i + 1 == n {
            result()
        } else {
            payload_hash(&(i as u64).to_le_bytes())
        };
        chain
            .record(&b, &tool, prev, out, wall_ms(25), wall_ms(90))
            .unwrap();
        prev = out;
    }
    let attestation = (pad > 0).then(|| Attestation {
        format: "pad".into(),
        bytes: vec![0; pad],
    });
    let honest = chain.finish(&b, result(), attestation).unwrap();
    let mut lie = honest.value().clone();
    lie.result_hash = claimed;
    Signed::sign(&b, lie).unwrap()
}

/// A DELIVER for session `id` carrying `package`, signed by Bob by hand (no engine checks).
fn deliver_frame(id: SessionId, claimed: Hash, package: &Signed<EvidencePackage>) -> Bytes {
    sign_frame(
        &bob(),
        Deliver {
            session: id,
            provider: bob().id(),
            result_hash: claimed,
            evidence: Some(Bytes::from(package.to_envelope())),
        },
    )
}

/// The largest `x` in `0..=hi` with `ok(x)`, for a predicate that holds at 0 and turns false
/// once.
fn largest(hi: usize, ok: impl Fn(usize) -> bool) -> usize {
    assert!(ok(0) && !ok(hi));
    let (mut lo, mut hi) = (0, hi);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) { lo = mid } else { hi = mid }
    }
    lo
}

#[test]
fn a_cheat_cannot_make_its_own_fraud_settlement_too_large_to_sign() {
    let claimed = payload_hash(b"a result no tool produced");
    let lie = |pad| sized_lie(task_id(1), 24, 100, pad, claimed);
    // The largest lie a DELIVER frame can carry within the default limits.
    let (_, _, id) = offered(Tier::Evidence);
    let frame_fits = |pad| {
        Signed::<Deliver>::from_frame(&deliver_frame(id, claimed, &lie(pad)), &Limits::default())
            .is_ok()
    };
    let biggest = largest(MAX_ATTESTATION_LEN, frame_fits);

    // Its fraud settlement (the statement carries the package) would not fit a frame, so it
    // is refused at delivery with nothing changed: the cheat gets no delivery it could hide
    // behind, and at the deadline it is paid nothing.
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    let err = req
        .handle_message(at_ms(100), LINK, deliver_frame(id, claimed, &lie(biggest)))
        .unwrap_err();
    assert!(
        matches!(err, SessionError::EvidenceTooLarge { id: got, .. } if got == id),
        "{err:?}"
    );
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty() && drain_events(&mut req).is_empty());
    // An honest provider's engine refuses to send such a package in the first place.
    assert!(matches!(
        prov.deliver(at_ms(100), id, claimed, Some(lie(biggest))),
        Err(SessionError::EvidenceTooLarge { .. })
    ));
    assert_eq!(prov.session(&id).unwrap().phase, Phase::Delegated);

    // Every package a delivery may carry can be convicted: the largest one the engines take
    // settles as fraud, slashing the deposit, and the provider accepts the statement.
    let deliverable = |pad| {
        let (_, mut p, id) = delegated(Tier::Evidence);
        p.deliver(at_ms(100), id, claimed, Some(lie(pad))).is_ok()
    };
    let edge = largest(biggest, deliverable);
    prov.deliver(at_ms(100), id, claimed, Some(lie(edge)))
        .unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    let ev = drain_events(&mut req);
    assert_eq!(settlement(&ev).outcome(), Outcome::Fraud);
    assert_eq!(amounts(settlement(&ev)), (0, 20_000_011, 9_999_990));
    carry(&mut req, &mut prov, at_ms(110));
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::Fraud);
    assert_eq!(amounts(settlement(&ev)), (0, 20_000_011, 9_999_990));
}

#[test]
fn a_package_over_max_receipts_is_refused_not_waved_past_the_chain_check() {
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    let claimed = payload_hash(b"a result no tool produced");
    let max = SessionConfig::default().max_receipts;
    let over = sized_lie(task_id(1), max + 1, 4, 0, claimed);
    let too_many = SessionError::TooManyReceipts {
        id,
        count: max + 1,
        max,
    };
    // Sent by hand: refused, nothing changed (before, the chain went unchecked and the
    // session settled as merely Rejected, flat fee paid, deposit untouched).
    assert_eq!(
        req.handle_message(at_ms(100), LINK, deliver_frame(id, claimed, &over)),
        Err(too_many.clone())
    );
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty() && drain_events(&mut req).is_empty());
    // The provider's own engine does not send it.
    assert_eq!(
        prov.deliver(at_ms(100), id, claimed, Some(over)),
        Err(too_many)
    );
    assert_eq!(prov.session(&id).unwrap().phase, Phase::Delegated);
    // At `max_receipts` the chain is checked, and the same lie is fraud.
    let at_max = sized_lie(task_id(1), max, 4, 0, claimed);
    prov.deliver(at_ms(110), id, claimed, Some(at_max)).unwrap();
    carry(&mut prov, &mut req, at_ms(110));
    let ev = drain_events(&mut req);
    assert_eq!(settlement(&ev).outcome(), Outcome::Fraud);
    assert_eq!(amounts(settlement(&ev)), (0, 20_000_011, 9_999_990));
}

/// Alice's signed `TimedOut(Execute)` statement for session `id` (task 1), made at `ms`.
fn execute_timeout(id: SessionId, ms: u64) -> Bytes {
    let mut st = statement(id, 1, Outcome::TimedOut(Stage::Execute), 0);
    st.settled_at = wall_ms(ms);
    sign_frame(&alice(), st)
}

#[test]
fn an_execution_timeout_is_refused_before_the_deadline_or_after_the_delivery() {
    // Delegated at 20 ms: the delivery deadline is 60 020 ms, 30 s of skew allowed.
    let (_req, mut prov, id) = delegated(Tier::Reputation);
    let earliest = 20 + EXECUTE_MS - 30_000;
    for ms in [30, earliest - 1] {
        assert_eq!(
            prov.handle_message(at_ms(ms), LINK, execute_timeout(id, ms)),
            Err(SessionError::EarlyTimeout {
                id,
                early_ms: earliest - ms
            })
        );
        assert_eq!(prov.session(&id).unwrap().phase, Phase::Delegated);
        assert!(drain_events(&mut prov).is_empty());
    }
    // Within the skew of the deadline the statement stands.
    prov.handle_message(at_ms(earliest), LINK, execute_timeout(id, earliest))
        .unwrap();
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::TimedOut(Stage::Execute));

    // After its delivery the provider is owed a grade, not a timeout.
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    prov.deliver(at_ms(55_000), id, result(), None).unwrap();
    let delivery = drain_frames(&mut prov);
    let late = 20 + EXECUTE_MS;
    assert_eq!(
        prov.handle_message(at_ms(late), LINK, execute_timeout(id, late)),
        Err(SessionError::TimeoutAfterDelivery(id))
    );
    assert_eq!(prov.session(&id).unwrap().phase, Phase::Delivered);
    assert!(drain_events(&mut prov).is_empty());
    // The session is intact: a requester that took the delivery still settles it.
    for f in delivery {
        req.handle_message(at_ms(55_000), LINK, f).unwrap();
    }
    req.grade(at_ms(55_010), id, Grade::new(900_000, false))
        .unwrap();
    carry(&mut req, &mut prov, at_ms(55_020));
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::Accepted);
}

#[test]
fn a_proof_from_another_session_slashes_nothing() {
    let limits = Limits::default();
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    // Bob's old offence: a lying package for another task, long settled.
    let old = FraudProof::receipt_contradiction(
        &contradicting_package(task_id(42), payload_hash(b"lie")),
        &limits,
    )
    .unwrap();
    assert!(matches!(
        req.report_fraud(at_ms(40), id, &old),
        Err(SessionError::ProofNotForSession { id: got, .. }) if got == id
    ));
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty() && drain_events(&mut req).is_empty());

    // Bob delivers honestly; a lie for the same task that is not this delivery's package (an
    // earlier session of a re-submitted task) is no more this session's.
    prov.deliver(
        at_ms(100),
        id,
        result(),
        Some(honest_package(task_id(1), result())),
    )
    .unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    drain_events(&mut req);
    let same_task = FraudProof::receipt_contradiction(
        &contradicting_package(task_id(1), payload_hash(b"lie")),
        &limits,
    )
    .unwrap();
    for proof in [&old, &same_task] {
        assert!(matches!(
            req.report_fraud(at_ms(110), id, proof),
            Err(SessionError::ProofNotForSession { .. })
        ));
        assert_eq!(req.session(&id).unwrap().phase, Phase::Delivered);
    }
    assert!(drain_frames(&mut req).is_empty() && drain_events(&mut req).is_empty());

    // A requester that signs such a slashing anyway is disputed by the provider.
    let mut st = statement(id, 1, Outcome::Fraud, 0);
    st.slashed = 9_999_990;
    st.refund = DEPOSIT - 9_999_990;
    st.mechanism = rules(Tier::Reputation).id();
    st.proof = Some(same_task);
    assert!(matches!(
        dispute_of(&mut prov, st),
        DisputeReason::ProofNotForSession(_)
    ));
}
