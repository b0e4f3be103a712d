//! Evidence: malformed and oversized packages give typed errors, rejections are attributed only
//! to the signer, the package decoder survives fuzzing, and the default limits hold a package of
//! the default policy size.

use super::*;

#[test]
fn malformed_and_oversized_packages_give_typed_errors() {
    let l = limits();
    let v = &RejectAllAttestations;
    let one = |r: Result<VerifiedEvidence, EvidenceReport>| {
        let rep = r.unwrap_err();
        assert_eq!(rep.faults().len(), 1);
        assert!(rep.package().is_none());
        assert!(rep.rejection().is_none());
        rep.faults()[0].clone()
    };
    assert!(matches!(
        one(verify_evidence(&[], &policy(), v, &l)),
        EvidenceFault::MalformedPackage(_)
    ));
    let env = honest_package().to_envelope();
    assert!(matches!(
        one(verify_evidence(&env[..env.len() - 1], &policy(), v, &l)),
        EvidenceFault::MalformedPackage(_)
    ));
    let small = Limits {
        max_frame: 200,
        ..l
    };
    let frame = honest_package().to_frame();
    assert!(matches!(
        one(verify_evidence_frame(&frame, &policy(), v, &small)),
        EvidenceFault::MalformedPackage(WireError::FrameTooLarge { .. })
    ));
    let wrong_kind = wire::frame_from_payload(ToolReceipt::KIND, &env);
    assert!(matches!(
        one(verify_evidence_frame(&wrong_kind, &policy(), v, &l)),
        EvidenceFault::MalformedPackage(WireError::WrongKind { .. })
    ));
    // More receipts than the protocol allows: refused before any receipt is looked at.
    let many = raw_package(
        &provider(),
        task(),
        out(2),
        vec![Bytes::from_static(b"x"); MAX_RECEIPTS + 1],
        None,
    );
    let rep = check(&many, &policy()).unwrap_err();
    assert!(matches!(
        rep.faults()[..],
        [EvidenceFault::MalformedPackage(WireError::Schema(_))]
    ));
    // Tampered package signature.
    let mut bad = env.clone();
    bad[60] ^= 0x01;
    assert!(matches!(
        one(verify_evidence(&bad, &policy(), v, &l)),
        EvidenceFault::BadPackageSignature(_)
    ));
    // A body naming the provider, signed by a stranger.
    let body = honest_package().body().clone();
    let sig = stranger().sign_bytes(EvidencePackage::CONTEXT, &body);
    let forged = hand_envelope(&stranger().id(), &sig, &body);
    assert_eq!(
        one(verify_evidence(&forged, &policy(), v, &l)),
        EvidenceFault::PackageSignerMismatch {
            signer: stranger().id(),
            author: provider().id()
        }
    );
}

#[test]
fn rejections_are_attributed_only_to_the_signer() {
    let p = policy().with_required_tool("compile");
    let rep = check(&honest_package(), &p).unwrap_err();
    let r = rep
        .rejection()
        .expect("provider signed the failing package");
    assert_eq!(r.provider(), provider().id());
    assert_eq!(r.task(), task());
    assert_eq!(r.package_hash(), honest_package().hash());
    assert_eq!(r.fault_count(), 1);
    // A package by someone other than the delegate says nothing about the delegate.
    let p = EvidencePolicy {
        provider: stranger().id(),
        ..policy()
    };
    assert!(
        check(&honest_package(), &p)
            .unwrap_err()
            .rejection()
            .is_none()
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_package_decoder(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048)
    ) {
        let l = limits();
        let _ = verify_evidence(&bytes, &policy(), &RejectAllAttestations, &l);
        let _ = Signed::<EvidencePackage>::from_envelope(&bytes, &l);
        let framed = wire::frame_from_payload(agentnet_trust::wire::EVIDENCE, &bytes);
        let _ = verify_evidence_frame(&framed, &policy(), &RejectAllAttestations, &l);
        let _ = verify_evidence_frame(&Bytes::from(bytes), &policy(), &RejectAllAttestations, &l);
    }

    #[test]
    fn altered_packages_are_refused_without_panicking(
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let env = honest_package_envelope();
        let mut v = env.to_vec();
        let i = pos.index(v.len());
        v[i] ^= xor;
        prop_assert!(verify_evidence(&v, &policy(), &RejectAllAttestations, &limits()).is_err());
    }
}

fn honest_package_envelope() -> &'static [u8] {
    static ENV: OnceLock<Vec<u8>> = OnceLock::new();
    ENV.get_or_init(|| honest_package().to_envelope())
}

#[test]
fn default_limits_hold_a_package_of_the_default_policy_size() {
    let kp = provider();
    let max = policy().max_receipts;
    let mut c = ReceiptChain::new(kp.id(), task());
    for i in 0..max as u32 {
        c.record(
            &kp,
            "a-tool-with-a-longish-name",
            payload_hash(b"input"),
            out(i),
            t(i64::from(i)),
            t(i64::from(i) + 1),
        )
        .unwrap();
    }
    let last = c.last_output().unwrap();
    let pkg = c.finish(&kp, last, None).unwrap();
    let p = EvidencePolicy {
        delivered_result: last,
        ..policy()
    };
    let v = verify_evidence_frame(&pkg.to_frame(), &p, &RejectAllAttestations, &limits()).unwrap();
    assert_eq!(v.receipt_count(), max);
    // Its dishonest twin makes a proof that fits the default limits too.
    let twin = raw_package(&kp, task(), out(999), pkg.receipts.clone(), None);
    let proof = FraudProof::receipt_contradiction(&twin, &limits()).unwrap();
    assert!(FraudProof::from_frame(&proof.to_frame(), &limits()).is_ok());
}
