//! Evidence and fraud: contradicting and failing evidence packages, tier-three deliveries, and
//! `report_fraud`'s conditions.

use super::*;

#[test]
fn a_contradicting_evidence_package_settles_as_fraud_and_slashes() {
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    let claimed = payload_hash(b"a result no tool produced");
    let lie = contradicting_package(task_id(1), claimed);
    prov.deliver(at_ms(100), id, claimed, Some(lie)).unwrap();
    carry(&mut prov, &mut req, at_ms(100));

    let ev = drain_events(&mut req);
    let s = settlement(&ev);
    assert_eq!(s.outcome(), Outcome::Fraud);
    // ⌊30 000 001 × 333 333 / 1 000 000⌋ = ⌊9 999 990.333…⌋
    let slashed = 9_999_990;
    assert_eq!(amounts(s), (0, DEPOSIT - slashed, slashed));
    assert_eq!(DEPOSIT - slashed, 20_000_011);
    assert!(s.statement.proof.is_some());
    let offence = ev
        .iter()
        .find_map(|e| match e {
            Event::Offence(o) => Some(o),
            _ => None,
        })
        .expect("offence");
    assert_eq!(offence.offender, bob().id());
    assert_eq!(offence.kind, FraudKind::ReceiptContradiction);
    assert_eq!(feedback(&ev), None, "the offence is the ledger's input");

    // The statement carries the proof, so the provider cannot dispute it.
    carry(&mut req, &mut prov, at_ms(110));
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::Fraud);
    assert_eq!(amounts(settlement(&ev)), (0, DEPOSIT - slashed, slashed));
}

#[test]
fn evidence_that_fails_without_proving_fraud_settles_as_rejected() {
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    // Receipts from long before the delegation: outside the window, which proves nothing to
    // third parties.
    let b = bob();
    let mut chain = ReceiptChain::new(b.id(), task_id(1));
    chain
        .record(
            &b,
            "review",
            input(),
            result(),
            WallTime::from_unix_millis(EPOCH_MS - 3_600_000),
            WallTime::from_unix_millis(EPOCH_MS - 3_500_000),
        )
        .unwrap();
    let stale = chain.finish(&b, result(), None).unwrap();
    prov.deliver(at_ms(100), id, result(), Some(stale)).unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    let ev = drain_events(&mut req);
    assert_eq!(settlement(&ev).outcome(), Outcome::Rejected);
    assert_eq!(amounts(settlement(&ev)), (FLAT, DEPOSIT, 0));
    assert_eq!(feedback(&ev), Some((TaskOutcome::Rejected, None)));
    let report = ev
        .iter()
        .find_map(|e| match e {
            Event::EvidenceRejected { report, .. } => Some(report),
            _ => None,
        })
        .expect("evidence rejected");
    assert_eq!(report.rejection().unwrap().provider(), bob().id());
    carry(&mut req, &mut prov, at_ms(110));
    assert_eq!(
        settlement(&drain_events(&mut prov)).outcome(),
        Outcome::Rejected
    );
}

#[test]
fn tier_three_requires_evidence_and_a_corrected_delivery_is_accepted() {
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    assert_eq!(
        prov.deliver(at_ms(100), id, result(), None),
        Err(SessionError::EvidenceRequired(id))
    );
    // A delivery without evidence that reaches the requester anyway is refused, state unchanged.
    let bare = sign_frame(
        &bob(),
        Deliver {
            session: id,
            provider: bob().id(),
            result_hash: result(),
            evidence: None,
        },
    );
    assert_eq!(
        req.handle_message(at_ms(100), LINK, bare),
        Err(SessionError::EvidenceRequired(id))
    );
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    // A package for another result is the host's wiring mistake, caught before signing.
    assert!(matches!(
        prov.deliver(
            at_ms(100),
            id,
            payload_hash(b"other"),
            Some(honest_package(task_id(1), result()))
        ),
        Err(SessionError::EvidenceMismatch { .. })
    ));
    prov.deliver(
        at_ms(100),
        id,
        result(),
        Some(honest_package(task_id(1), result())),
    )
    .unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    assert!(matches!(
        drain_events(&mut req)[..],
        [Event::Delivered {
            evidence: Some(_),
            ..
        }]
    ));
}

#[test]
fn report_fraud_needs_a_proof_that_convicts_the_provider_in_this_session() {
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    let limits = Limits::default();

    // A proof that does not verify, and a genuine proof against someone else: typed errors,
    // session untouched.
    let junk = FraudProof::ReceiptContradiction {
        package: Bytes::from_static(b"\x83\x01\x02\x03"),
    };
    assert!(matches!(
        req.report_fraud(at_ms(30), id, &junk),
        Err(SessionError::Fraud(_))
    ));
    let m = mallory();
    let mut chain = ReceiptChain::new(m.id(), task_id(9));
    chain
        .record(&m, "tool", input(), result(), wall_ms(1), wall_ms(2))
        .unwrap();
    let honest = chain.finish(&m, result(), None).unwrap();
    let mut lie = honest.value().clone();
    lie.result_hash = payload_hash(b"lie");
    let against_mallory =
        FraudProof::receipt_contradiction(&Signed::sign(&m, lie).unwrap(), &limits).unwrap();
    assert_eq!(
        req.report_fraud(at_ms(30), id, &against_mallory),
        Err(SessionError::WrongOffender {
            id,
            offender: m.id(),
            provider: bob().id()
        })
    );
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty());

    // A proof against the provider from anywhere else (here: another task's package) is not
    // this session's: it slashes nothing here (issue 15, finding 9).
    let proof = FraudProof::receipt_contradiction(
        &contradicting_package(task_id(42), payload_hash(b"lie")),
        &limits,
    )
    .unwrap();
    assert!(matches!(
        req.report_fraud(at_ms(40), id, &proof),
        Err(SessionError::ProofNotForSession { .. })
    ));
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty());
    assert!(
        drain_events(&mut prov)
            .iter()
            .all(|e| !matches!(e, Event::Settled(_)))
    );
}

#[test]
fn report_fraud_needs_a_commitment() {
    let mut req = engine(alice());
    let id = req
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    let proof = FraudProof::receipt_contradiction(
        &contradicting_package(task_id(42), payload_hash(b"lie")),
        &Limits::default(),
    )
    .unwrap();
    assert!(matches!(
        req.report_fraud(at_ms(1), id, &proof),
        Err(SessionError::WrongPhase {
            phase: Phase::Offered,
            ..
        })
    ));
}
