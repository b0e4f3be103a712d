//! Chains in order: genesis, config change, rotation and revocation; out-of-order and
//! wrong-signer successors refused; rotation keeps reputation and retired keys are refused.

use super::*;

#[test]
fn genesis_config_change_rotation_revocation_in_order() {
    let (a, b) = (key(1), key(2));
    let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    let g = genesis(&a);
    let cid = chain_id(&g);
    assert_eq!(
        r.handle_entry(uptime_secs(100), &g.to_frame()),
        Ok(Accepted::Registered {
            chain: cid,
            key: a.id()
        })
    );
    let ev = drain(&mut r);
    assert_eq!(ev.len(), 2);
    assert_eq!(
        ev[0],
        IdentityEvent::Persist {
            frame: g.to_frame()
        }
    );
    assert_eq!(
        ev[1],
        IdentityEvent::Registered {
            chain: cid,
            key: a.id(),
            baid: Baid::compute(&inputs("model-a"))
        }
    );

    let c = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(1)).unwrap();
    assert_eq!(
        r.handle_entry(at(1), &c.to_frame()),
        Ok(Accepted::Appended {
            chain: cid,
            seq: 1,
            kind: BindingKind::ConfigChange
        })
    );
    assert!(matches!(
        drain(&mut r)[1],
        IdentityEvent::ConfigChanged { seq: 1, baid, .. } if baid == Baid::compute(&inputs("model-b"))
    ));

    let rot = BindingEntry::rotation(&c, &a, &b, b.x25519().public(), wall_ms(2)).unwrap();
    assert!(matches!(
        r.handle_entry(at(2), &rot.to_frame()),
        Ok(Accepted::Appended {
            seq: 2,
            kind: BindingKind::KeyRotation,
            ..
        })
    ));
    assert_eq!(
        drain(&mut r)[1],
        IdentityEvent::Rotated {
            chain: cid,
            seq: 2,
            old: a.id(),
            new: b.id()
        }
    );
    let res = r.resolve(&b.id()).unwrap();
    assert_eq!(res.current_x25519, b.x25519().public());
    assert_eq!(res.baid, Baid::compute(&inputs("model-b")));
    assert_eq!(res.status, ChainStatus::Active);

    let rev = BindingEntry::revocation(&rot, &b, wall_ms(3)).unwrap();
    assert!(matches!(
        r.handle_entry(at(3), &rev.to_frame()),
        Ok(Accepted::Appended {
            seq: 3,
            kind: BindingKind::Revocation,
            ..
        })
    ));
    assert_eq!(
        drain(&mut r)[1],
        IdentityEvent::Revoked {
            chain: cid,
            seq: 3,
            key: b.id()
        }
    );
    assert_eq!(r.resolve(&a.id()).unwrap().status, ChainStatus::Revoked);
    let held: Vec<_> = r.entries(&cid).cloned().collect();
    assert_eq!(held, vec![g.clone(), c, rot, rev]);
    // Re-delivery is harmless.
    assert_eq!(
        r.handle_entry(at(4), &g.to_frame()),
        Ok(Accepted::Duplicate)
    );
    assert!(drain(&mut r).is_empty());
}

#[test]
fn out_of_order_and_wrong_signer_successors_are_refused() {
    let (a, b, mallory) = (key(1), key(2), key(66));
    let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    let g = genesis(&a);
    let cid = chain_id(&g);
    let c1 = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(1)).unwrap();
    let c2 = BindingEntry::config_change(&c1, &a, inputs("model-c"), wall_ms(2)).unwrap();

    // Successor before its genesis.
    assert_eq!(
        r.handle_entry(uptime_secs(100), &c1.to_frame()),
        Err(IdentityError::UnknownChain(cid))
    );
    r.handle_entry(uptime_secs(100), &g.to_frame()).unwrap();
    // A gap: seq 2 before seq 1.
    assert_eq!(
        r.handle_entry(uptime_secs(100), &c2.to_frame()),
        Err(IdentityError::Gap {
            chain: cid,
            expected: 1,
            got: 2
        })
    );
    // Mallory tries to change Alice's config and to revoke her chain.
    let mut hijack = c1.value().clone();
    hijack.agent = mallory.id();
    let hijack = sign_as(&mallory, hijack);
    assert_eq!(
        r.handle_entry(uptime_secs(100), &hijack.to_frame()),
        Err(IdentityError::WrongSigner {
            chain: cid,
            seq: 1,
            expected: a.id(),
            got: mallory.id()
        })
    );
    let mut revoke = BindingEntry::revocation(&g, &a, wall_ms(1))
        .unwrap()
        .into_value();
    revoke.agent = mallory.id();
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &sign_as(&mallory, revoke).to_frame()),
        Err(IdentityError::WrongSigner { .. })
    ));
    // Alice's successor that does not link to the head.
    let mut unlinked = c1.value().clone();
    unlinked.prev = Some(Hash([0xee; 32]));
    assert_eq!(
        r.handle_entry(uptime_secs(100), &sign_as(&a, unlinked).to_frame()),
        Err(IdentityError::PrevMismatch { chain: cid, seq: 1 })
    );
    // Dated before its predecessor, or too far in the future.
    let mut early = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(0))
        .unwrap()
        .into_value();
    early.issued_at = WallTime::from_unix_millis(EPOCH_MS - 1);
    assert_eq!(
        r.handle_entry(uptime_secs(100), &sign_as(&a, early).to_frame()),
        Err(IdentityError::NotMonotonic { chain: cid, seq: 1 })
    );
    let late = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(31_000)).unwrap();
    assert_eq!(
        r.handle_entry(uptime_secs(100), &late.to_frame()),
        Err(IdentityError::FromTheFuture { ahead_ms: 31_000 })
    );
    // A config change may not change the principal; a rotation may not change the BAID.
    let mut laundering = c1.value().clone();
    laundering.inputs.principal = PrincipalCommitment::new(b"someone-else", &[1; 32]);
    laundering.baid = Baid::compute(&laundering.inputs);
    assert_eq!(
        r.handle_entry(uptime_secs(100), &sign_as(&a, laundering).to_frame()),
        Err(IdentityError::Binding(BindingError::PrincipalChanged))
    );
    let mut rot = BindingEntry::rotation(&g, &a, &a, b.x25519().public(), wall_ms(1))
        .unwrap()
        .into_value();
    rot.inputs = inputs("model-z");
    rot.baid = Baid::compute(&rot.inputs);
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &sign_as(&a, rot).to_frame()),
        Err(IdentityError::InvalidSuccessor {
            kind: BindingKind::KeyRotation,
            ..
        })
    ));
    // Nothing changed through all of that.
    assert_eq!(r.entries(&cid).count(), 1);
    assert_eq!(r.resolve(&mallory.id()), None);

    // After a rotation, the old key can no longer extend the chain.
    r.handle_entry(uptime_secs(100), &c1.to_frame()).unwrap();
    let rot = BindingEntry::rotation(&c1, &a, &b, b.x25519().public(), wall_ms(2)).unwrap();
    r.handle_entry(uptime_secs(100), &rot.to_frame()).unwrap();
    let mut stale = BindingEntry::config_change(&c1, &a, inputs("model-c"), wall_ms(3))
        .unwrap()
        .into_value();
    stale.seq = 3;
    stale.prev = Some(rot.hash());
    assert_eq!(
        r.handle_entry(uptime_secs(100), &sign_as(&a, stale).to_frame()),
        Err(IdentityError::WrongSigner {
            chain: cid,
            seq: 3,
            expected: b.id(),
            got: a.id()
        })
    );
}

#[test]
fn rotation_cannot_bind_a_key_without_its_possession_or_one_already_bound() {
    let (a, victim, other) = (key(1), key(2), key(3));
    let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    let g = genesis(&a);
    r.handle_entry(uptime_secs(100), &g.to_frame()).unwrap();
    // Alice binds the victim's key, "proving" possession with her own signature.
    let honest = BindingEntry::rotation(&g, &a, &a, other.x25519().public(), wall_ms(1)).unwrap();
    let mut forged = honest.value().clone();
    forged.agent = victim.id();
    forged.possession = Some(a.sign_bytes("agentnet/v1/binding-possession", b"anything"));
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &sign_as(&a, forged.clone()).to_frame()),
        Err(IdentityError::Binding(BindingError::BadPossession(_)))
    ));
    forged.possession = None;
    assert_eq!(
        r.handle_entry(uptime_secs(100), &sign_as(&a, forged).to_frame()),
        Err(IdentityError::Binding(BindingError::MissingPossession))
    );
    // A key bound in another chain cannot be rotated in (even with its cooperation).
    let og = genesis(&other);
    r.handle_entry(uptime_secs(100), &og.to_frame()).unwrap();
    let grab = BindingEntry::rotation(&g, &a, &other, other.x25519().public(), wall_ms(1)).unwrap();
    assert_eq!(
        r.handle_entry(uptime_secs(100), &grab.to_frame()),
        Err(IdentityError::KeyInUse {
            key: other.id(),
            chain: chain_id(&og)
        })
    );
    // Nor may a retired key come back.
    let to_v =
        BindingEntry::rotation(&g, &a, &victim, victim.x25519().public(), wall_ms(1)).unwrap();
    r.handle_entry(uptime_secs(100), &to_v.to_frame()).unwrap();
    let back = BindingEntry::rotation(&to_v, &victim, &a, a.x25519().public(), wall_ms(2)).unwrap();
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &back.to_frame()),
        Err(IdentityError::KeyInUse { key, .. }) if key == a.id()
    ));
    // A key that is part of a chain cannot start another one.
    let g2 = BindingEntry::genesis(&victim, victim.x25519().public(), inputs("x"), wall_ms(0));
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &g2.unwrap().to_frame()),
        Err(IdentityError::KeyInUse { .. })
    ));
}

#[test]
fn rotation_keeps_reputation_and_history() {
    let (a, b, c) = (key(1), key(2), key(3));
    let anchor = key(50);
    let mut r = IdentityRegistry::new(RegistryConfig::with_anchors([anchor.id()])).unwrap();
    let g = genesis(&a);
    r.handle_entry(uptime_secs(100), &g.to_frame()).unwrap();
    let att = IssuerAttestation::sign(
        &anchor,
        principal(),
        key(1).id(),
        wall_ms(0),
        wall_ms(86_400_000),
    )
    .unwrap();
    r.handle_attestation(uptime_secs(100), &att.to_frame())
        .unwrap();

    // The application keys its ledger by the canonical id, as the registry docs ask.
    let mut ledger: BTreeMap<AgentId, u32> = BTreeMap::new();
    let credit = |r: &IdentityRegistry, l: &mut BTreeMap<AgentId, u32>, signer: &AgentId| {
        let who = r.check_signer(signer).unwrap().canonical;
        *l.entry(who).or_default() += 1;
    };
    credit(&r, &mut ledger, &a.id());

    let r1 = BindingEntry::rotation(&g, &a, &b, b.x25519().public(), wall_ms(1)).unwrap();
    r.handle_entry(at(1), &r1.to_frame()).unwrap();
    credit(&r, &mut ledger, &b.id());
    let r2 = BindingEntry::rotation(&r1, &b, &c, c.x25519().public(), wall_ms(2)).unwrap();
    r.handle_entry(at(2), &r2.to_frame()).unwrap();
    credit(&r, &mut ledger, &c.id());

    // Every key ever bound resolves to the same chain and canonical id.
    let (ra, rb, rc) = (
        r.resolve(&a.id()).unwrap(),
        r.resolve(&b.id()).unwrap(),
        r.resolve(&c.id()).unwrap(),
    );
    for x in [&ra, &rb, &rc] {
        assert_eq!(x.chain, chain_id(&g));
        assert_eq!(x.canonical, a.id());
        assert_eq!(x.current_key, c.id());
        assert_eq!(x.principal, principal());
        assert_eq!(
            x.tier,
            IdentityTier::Attested,
            "attestation survives rotation"
        );
    }
    assert!(!ra.is_current && !rb.is_current && rc.is_current);
    // All three interactions landed on one ledger row: reputation carried over.
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[&a.id()], 3);
    // The history is intact and linked.
    let hist: Vec<_> = r.entries(&chain_id(&g)).collect();
    assert_eq!(hist.len(), 3);
    assert_eq!(hist[2].prev, Some(hist[1].hash()));
    assert_eq!(hist[1].prev, Some(hist[0].hash()));
}

#[test]
fn revoked_and_rotated_out_keys_are_refused_for_new_signatures() {
    let (a, b) = (key(1), key(2));
    let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    let g = genesis(&a);
    r.handle_entry(uptime_secs(100), &g.to_frame()).unwrap();
    assert!(r.check_signer(&a.id()).is_ok());
    assert_eq!(
        r.check_signer(&b.id()),
        Err(IdentityError::UnknownKey(b.id()))
    );

    let rot = BindingEntry::rotation(&g, &a, &b, b.x25519().public(), wall_ms(1)).unwrap();
    r.handle_entry(uptime_secs(100), &rot.to_frame()).unwrap();
    assert_eq!(
        r.check_signer(&a.id()),
        Err(IdentityError::KeyRotatedOut {
            key: a.id(),
            current: b.id()
        })
    );
    assert_eq!(r.check_signer(&b.id()).unwrap().canonical, a.id());

    let rev = BindingEntry::revocation(&rot, &b, wall_ms(2)).unwrap();
    r.handle_entry(uptime_secs(100), &rev.to_frame()).unwrap();
    let cid = chain_id(&g);
    assert_eq!(
        r.check_signer(&b.id()),
        Err(IdentityError::ChainRevoked(cid))
    );
    assert_eq!(
        r.check_signer(&a.id()),
        Err(IdentityError::ChainRevoked(cid))
    );
    // Nothing may follow a revocation: a stolen key cannot resurrect the chain.
    let mut revive = BindingEntry::config_change(&rot, &b, inputs("model-b"), wall_ms(3))
        .unwrap()
        .into_value();
    revive.seq = 3;
    revive.prev = Some(rev.hash());
    assert_eq!(
        r.handle_entry(uptime_secs(100), &sign_as(&b, revive).to_frame()),
        Err(IdentityError::ChainRevoked(cid))
    );
    assert_eq!(
        BindingEntry::revocation(&rev, &b, wall_ms(4)).unwrap_err(),
        BindingError::Revoked
    );
    // The chain is still resolvable as history.
    assert_eq!(r.resolve(&a.id()).unwrap().status, ChainStatus::Revoked);
}
