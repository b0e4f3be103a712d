//! Attestations and tiers: anchor attestations raise the tier, others do not; execution proofs
//! reach tier two only through a configured verifier.

use super::*;

#[test]
fn anchor_attestation_raises_the_tier_others_do_not() {
    let (a, anchor, stranger) = (key(1), key(50), key(51));
    let mut r = IdentityRegistry::new(RegistryConfig::with_anchors([anchor.id()])).unwrap();
    r.handle_entry(uptime_secs(100), &genesis(&a).to_frame())
        .unwrap();
    let tier = |r: &IdentityRegistry| r.resolve(&a.id()).unwrap().tier;
    assert_eq!(tier(&r), IdentityTier::Signatures);

    // A non-anchor's attestation is refused and changes nothing.
    let s = IssuerAttestation::sign(
        &stranger,
        principal(),
        key(1).id(),
        wall_ms(0),
        wall_ms(60_000),
    )
    .unwrap();
    assert_eq!(
        r.handle_attestation(uptime_secs(100), &s.to_frame()),
        Err(IdentityError::UntrustedIssuer(stranger.id()))
    );
    // An expired one, or one with an empty window, too.
    let old =
        IssuerAttestation::sign(&anchor, principal(), key(1).id(), wall_ms(0), wall_ms(1)).unwrap();
    assert_eq!(
        r.handle_attestation(at(5), &old.to_frame()),
        Err(IdentityError::AttestationExpired)
    );
    let empty =
        IssuerAttestation::sign(&anchor, principal(), key(1).id(), wall_ms(9), wall_ms(9)).unwrap();
    assert_eq!(
        r.handle_attestation(at(5), &empty.to_frame()),
        Err(IdentityError::EmptyValidity)
    );
    // One over another principal does not help this chain.
    let elsewhere = PrincipalCommitment::new(b"other-org", &[1; 32]);
    let o = IssuerAttestation::sign(&anchor, elsewhere, key(1).id(), wall_ms(0), wall_ms(60_000))
        .unwrap();
    r.handle_attestation(at(5), &o.to_frame()).unwrap();
    assert_eq!(tier(&r), IdentityTier::Signatures);

    // The anchor's valid attestation does.
    let good = IssuerAttestation::sign(
        &anchor,
        principal(),
        key(1).id(),
        wall_ms(0),
        wall_ms(60_000),
    )
    .unwrap();
    assert_eq!(
        r.handle_attestation(at(5), &good.to_frame()),
        Ok(Accepted::Attestation {
            principal: principal(),
            subject: a.id(),
            issuer: anchor.id()
        })
    );
    assert_eq!(tier(&r), IdentityTier::Attested);
    assert!(r.resolve(&a.id()).unwrap().attested);
    // A chain that copied the (public) principal commitment into its own genesis is not
    // attested by it: the attestation names the chain it was issued for.
    let copier = key(7);
    r.handle_entry(at(5), &genesis(&copier).to_frame()).unwrap();
    let copied = r.resolve(&copier.id()).unwrap();
    assert_eq!(copied.principal, principal());
    assert!(!copied.attested);
    assert_eq!(copied.tier, IdentityTier::Signatures);
    // Blame follows the proof: an offence by the copier blames the copier's chain and no
    // principal; one by the attested chain blames its principal.
    let copier_blamed = r.culprit(&contradiction(&copier));
    assert_eq!(copier_blamed.agent(), copier.id());
    assert_eq!(copier_blamed.principal(), None);
    assert_eq!(r.culprit(&contradiction(&a)).principal(), Some(principal()));
    // Re-delivery is a duplicate; an older one is stale; a longer one replaces it.
    assert_eq!(
        r.handle_attestation(at(5), &good.to_frame()),
        Ok(Accepted::Duplicate)
    );
    let shorter = IssuerAttestation::sign(
        &anchor,
        principal(),
        key(1).id(),
        wall_ms(1),
        wall_ms(30_000),
    )
    .unwrap();
    assert_eq!(
        r.handle_attestation(at(5), &shorter.to_frame()),
        Err(IdentityError::StaleAttestation)
    );
    let longer = IssuerAttestation::sign(
        &anchor,
        principal(),
        key(1).id(),
        wall_ms(2),
        wall_ms(120_000),
    )
    .unwrap();
    r.handle_attestation(at(5), &longer.to_frame()).unwrap();
    assert_eq!(r.attestation_count(), 2);

    // Once it expires, the tier drops back.
    drain(&mut r);
    r.handle_timeout(at(120_000));
    assert_eq!(tier(&r), IdentityTier::Signatures);
    let ev = drain(&mut r);
    assert!(ev.contains(&IdentityEvent::AttestationExpired {
        principal: principal(),
        subject: a.id(),
        issuer: anchor.id()
    }));
}

#[test]
fn default_verifier_rejects_and_the_stand_in_accepts() {
    let (a, service, impostor) = (key(1), key(60), key(61));
    let g = genesis(&a);

    // Default policy: nothing reaches tier 2.
    let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    r.handle_entry(uptime_secs(100), &g.to_frame()).unwrap();
    let proof = execution_proof(&service, &g.baid);
    assert!(matches!(
        r.submit_proof(uptime_secs(100), &a.id(), &proof),
        Err(IdentityError::ProofRejected(
            ProofRejected::NotConfigured { .. }
        ))
    ));
    assert!(RejectAllProofs.verify(&g.baid, &proof).is_err());
    assert_eq!(r.resolve(&a.id()).unwrap().tier, IdentityTier::Signatures);

    // The stand-in checks real signatures.
    let verifier = SignedBaidVerifier {
        service: service.id(),
    };
    let mut r =
        IdentityRegistry::with_verifier(RegistryConfig::default(), Box::new(verifier)).unwrap();
    r.handle_entry(uptime_secs(100), &g.to_frame()).unwrap();
    drain(&mut r);
    let wrong = execution_proof(&impostor, &g.baid);
    assert!(matches!(
        r.submit_proof(uptime_secs(100), &a.id(), &wrong),
        Err(IdentityError::ProofRejected(ProofRejected::Invalid(_)))
    ));
    let other_system = ExecutionProof {
        system: "risc0".into(),
        ..proof.clone()
    };
    assert!(matches!(
        r.submit_proof(uptime_secs(100), &a.id(), &other_system),
        Err(IdentityError::ProofRejected(
            ProofRejected::UnsupportedSystem(_)
        ))
    ));
    assert_eq!(
        r.submit_proof(uptime_secs(100), &a.id(), &proof),
        Ok(IdentityTier::Proven)
    );
    assert_eq!(
        drain(&mut r),
        vec![IdentityEvent::Proven {
            chain: chain_id(&g),
            baid: g.baid
        }]
    );
    assert!(r.resolve(&a.id()).unwrap().proven);

    // A config change makes a new BAID: the old proof no longer counts.
    let c = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(1)).unwrap();
    r.handle_entry(uptime_secs(100), &c.to_frame()).unwrap();
    assert_eq!(r.resolve(&a.id()).unwrap().tier, IdentityTier::Signatures);
    assert_eq!(
        r.submit_proof(
            uptime_secs(100),
            &a.id(),
            &execution_proof(&service, &c.baid)
        ),
        Ok(IdentityTier::Proven)
    );
    assert_eq!(
        r.submit_proof(uptime_secs(100), &key(99).id(), &proof),
        Err(IdentityError::UnknownKey(key(99).id()))
    );
}
