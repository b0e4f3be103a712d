//! Fraud proofs: genuine proofs of every kind verify, round-trip and name the offender; evidence
//! reports become proofs only when provable.

use super::*;

#[test]
fn genuine_proofs_verify_and_name_the_offender() {
    for (kind, proof) in all_kinds() {
        let o = proof
            .verify(&limits())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(o.offender, provider().id(), "{kind}");
        assert_eq!(o.kind, kind);
        assert_eq!(proof.kind(), kind);
        assert_eq!(o.proof, proof.id());
        // Only a chain fork names the principal; the others leave it to the registry.
        let expected = (kind == FraudKind::ChainFork).then(principal);
        assert_eq!(o.principal, expected, "{kind}");
    }
}

#[test]
fn proofs_round_trip_through_frames() {
    for (kind, proof) in all_kinds() {
        let frame = proof.to_frame();
        assert_eq!(
            wire::peek_kind(&frame),
            Some(agentnet_trust::wire::FRAUD_PROOF)
        );
        let (back, offence) = FraudProof::from_frame(&frame, &limits()).unwrap();
        assert_eq!(back, proof, "{kind}");
        assert_eq!(back.id(), proof.id());
        assert_eq!(offence, proof.verify(&limits()).unwrap());
        assert_eq!(back.to_frame(), frame);
    }
    // Distinct proofs have distinct ids.
    let ids: std::collections::BTreeSet<Hash> = all_kinds().iter().map(|(_, p)| p.id()).collect();
    assert_eq!(ids.len(), 4);
}

#[test]
fn evidence_reports_become_proofs_only_when_provable() {
    let pkg = contradicting_package();
    let p = EvidencePolicy {
        delivered_result: pkg.result_hash,
        ..policy()
    };
    let rep = check(&pkg, &p).unwrap_err();
    let proof = FraudProof::from_evidence_report(&rep, &limits()).unwrap();
    assert_eq!(proof, receipt_contradiction());
    // The requester received other bytes than the package names: not provable.
    let p = EvidencePolicy {
        delivered_result: payload_hash(b"x"),
        ..policy()
    };
    let rep = check(&honest_package(), &p).unwrap_err();
    assert!(matches!(
        FraudProof::from_evidence_report(&rep, &limits()),
        Err(FraudError::NotAContradiction(_))
    ));
    // A forged package (bad signature) proves nothing about anyone.
    let mut env = pkg.to_envelope();
    env[60] ^= 1;
    let rep = verify_evidence(&env, &policy(), &RejectAllAttestations, &limits()).unwrap_err();
    assert!(FraudProof::from_evidence_report(&rep, &limits()).is_err());
    // A contradiction on a broken chain is not provable (the receipts bind nothing).
    let rs = chain_with(|i, _, kp| {
        if i == 1 {
            *kp = stranger();
        }
    });
    let broken = raw_package(
        &provider(),
        task(),
        payload_hash(b"y"),
        envelopes(&rs),
        None,
    );
    let p = EvidencePolicy {
        delivered_result: payload_hash(b"y"),
        ..policy()
    };
    let rep = check(&broken, &p).unwrap_err();
    assert!(rep.has(|f| matches!(f, EvidenceFault::FinalOutputMismatch { .. })));
    assert!(matches!(
        FraudProof::from_evidence_report(&rep, &limits()),
        Err(FraudError::BrokenChain(
            EvidenceFault::ReceiptNotByProvider { index: 1, .. }
        ))
    ));
}
