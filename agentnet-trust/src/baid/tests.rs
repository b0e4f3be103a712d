//! Tests of BAID commitments, binding entries (genesis, rotation, config change, revocation),
//! fork proofs and the default proof verifier.

use super::*;
use agentnet_core::Keypair;
use agentnet_core::test_support::wall_ms;
use agentnet_core::wire::Limits;

fn inputs(tag: u8) -> BaidInputs {
    BaidInputs {
        code_hash: Hash([tag; 32]),
        config_digest: AgentConfig {
            model_id: "m".into(),
            weights_hash: Hash([1; 32]),
            prompt_template_hash: Hash([2; 32]),
            tool_policy_hash: Hash([3; 32]),
        }
        .digest(),
        principal: PrincipalCommitment::new(b"acme", &[9; 32]),
        salt: [4; 32],
    }
}

#[test]
fn commitments_are_domain_separated_and_unambiguous() {
    let b = [0u8; 32];
    assert_ne!(
        PrincipalCommitment::new(b"ab", &b),
        PrincipalCommitment::new(b"a", &b)
    );
    assert_ne!(
        PrincipalCommitment::new(b"acme", &[1; 32]),
        PrincipalCommitment::new(b"acme", &[2; 32])
    );
    assert!(PrincipalCommitment::new(b"acme", &[1; 32]).opens(b"acme", &[1; 32]));
    let c = |m: &str| AgentConfig {
        model_id: m.into(),
        weights_hash: Hash([1; 32]),
        prompt_template_hash: Hash([2; 32]),
        tool_policy_hash: Hash([3; 32]),
    };
    assert_ne!(c("a").digest(), c("b").digest());
    let i = inputs(1);
    assert_eq!(Baid::compute(&i), Baid::compute(&i));
    assert_ne!(
        Baid::compute(&i),
        Baid::compute(&BaidInputs { salt: [5; 32], ..i })
    );
    assert_ne!(Baid::compute(&i).0, i.config_digest);
}

#[test]
fn genesis_is_self_signed_and_validates() {
    let k = Keypair::from_seed([1; 32]);
    let g = BindingEntry::genesis(&k, k.x25519().public(), inputs(1), wall_ms(0)).unwrap();
    assert_eq!(g.validate(&k.id()), Ok(()));
    assert_eq!(chain_id(&g), ChainId(g.hash()));
    // Someone else cannot sign a genesis naming k.
    let m = Keypair::from_seed([2; 32]);
    assert!(matches!(
        Signed::sign(&m, g.value().clone()),
        Err(SignedError::SignerMismatch { .. })
    ));
    let mut bad = g.value().clone();
    bad.baid = Baid(Hash([0; 32]));
    assert_eq!(bad.validate(&k.id()), Err(BindingError::BaidMismatch));
    let mut bad = g.value().clone();
    bad.seq = 1;
    assert!(matches!(
        bad.validate(&k.id()),
        Err(BindingError::Position(_))
    ));
}

#[test]
fn rotation_needs_possession_by_the_new_key() {
    let k = Keypair::from_seed([1; 32]);
    let n = Keypair::from_seed([2; 32]);
    let g = BindingEntry::genesis(&k, k.x25519().public(), inputs(1), wall_ms(0)).unwrap();
    let r = BindingEntry::rotation(&g, &k, &n, n.x25519().public(), wall_ms(1)).unwrap();
    assert_eq!(r.validate(&k.id()), Ok(()));
    assert_eq!(r.agent, n.id());
    // Strip or forge the possession: refused.
    let mut e = r.value().clone();
    e.possession = None;
    assert_eq!(e.validate(&k.id()), Err(BindingError::MissingPossession));
    let mut e = r.value().clone();
    e.possession = Some(k.sign_bytes(domain::POSSESSION, b"x"));
    assert!(matches!(
        e.validate(&k.id()),
        Err(BindingError::BadPossession(_))
    ));
    // The possession statement names the position: moving the entry breaks it.
    let mut e = r.value().clone();
    e.seq = 2;
    assert!(matches!(
        e.validate(&k.id()),
        Err(BindingError::BadPossession(_))
    ));
    // X25519-only rotation needs no possession; a no-op rotation is refused.
    let x = BindingEntry::rotation(&g, &k, &k, n.x25519().public(), wall_ms(1)).unwrap();
    assert_eq!(x.possession, None);
    assert_eq!(x.validate(&k.id()), Ok(()));
    assert_eq!(
        BindingEntry::rotation(&g, &k, &k, k.x25519().public(), wall_ms(1)).unwrap_err(),
        BindingError::NoKeyChange
    );
    // Only the head's key may rotate.
    assert!(matches!(
        BindingEntry::rotation(&g, &n, &n, n.x25519().public(), wall_ms(1)),
        Err(BindingError::WrongSigner { .. })
    ));
}

#[test]
fn config_change_and_revocation_keep_the_key() {
    let k = Keypair::from_seed([1; 32]);
    let g = BindingEntry::genesis(&k, k.x25519().public(), inputs(1), wall_ms(0)).unwrap();
    let c = BindingEntry::config_change(&g, &k, inputs(2), wall_ms(1)).unwrap();
    assert_eq!(c.validate(&k.id()), Ok(()));
    assert_ne!(c.baid, g.baid);
    let other = BaidInputs {
        principal: PrincipalCommitment::new(b"evil", &[0; 32]),
        ..inputs(2)
    };
    assert_eq!(
        BindingEntry::config_change(&g, &k, other, wall_ms(1)).unwrap_err(),
        BindingError::PrincipalChanged
    );
    let r = BindingEntry::revocation(&c, &k, wall_ms(2)).unwrap();
    assert_eq!(r.validate(&k.id()), Ok(()));
    assert_eq!(
        BindingEntry::revocation(&r, &k, wall_ms(3)).unwrap_err(),
        BindingError::Revoked
    );
    let n = Keypair::from_seed([2; 32]);
    let mut e = c.value().clone();
    e.agent = n.id();
    assert_eq!(
        e.validate(&k.id()),
        Err(BindingError::KeyChangeOutsideRotation(
            BindingKind::ConfigChange
        ))
    );
}

#[test]
fn fork_proof_round_trip() {
    let k = Keypair::from_seed([1; 32]);
    let g = BindingEntry::genesis(&k, k.x25519().public(), inputs(1), wall_ms(0)).unwrap();
    let a = BindingEntry::config_change(&g, &k, inputs(2), wall_ms(1)).unwrap();
    let b = BindingEntry::config_change(&g, &k, inputs(3), wall_ms(1)).unwrap();
    let p = ChainForkProof::new(&a, &b).unwrap();
    assert_eq!(p, ChainForkProof::new(&b, &a).unwrap());
    let f = p.verify(&Limits::default()).unwrap();
    assert_eq!(
        f,
        ChainFork {
            signer: k.id(),
            chain: chain_id(&g),
            seq: 1,
            principal: inputs(1).principal
        }
    );
    let (x, y) = p.envelopes();
    let swapped = ChainForkProof::from_envelopes(y.to_vec(), x.to_vec());
    assert_eq!(
        swapped.verify(&Limits::default()),
        Err(ForkError::NotCanonical)
    );
    assert!(ChainForkProof::new(&a, &a).is_err());
    assert!(ChainForkProof::new(&g, &a).is_err());
    // Two geneses by one key are a fork too.
    let g2 = BindingEntry::genesis(&k, k.x25519().public(), inputs(2), wall_ms(0)).unwrap();
    let p = ChainForkProof::new(&g, &g2).unwrap();
    let f = p.verify(&Limits::default()).unwrap();
    assert_eq!(f.seq, 0);
    assert_eq!(f.chain, chain_id(&g).min(chain_id(&g2)));
}

#[test]
fn default_verifier_rejects() {
    let p = ExecutionProof {
        system: "é".repeat(40),
        bytes: vec![1, 2, 3],
    };
    match RejectAllProofs.verify(&Baid(Hash([0; 32])), &p) {
        Err(ProofRejected::NotConfigured { system }) => assert!(system.len() <= 64),
        other => panic!("{other:?}"),
    }
}
