//! Forks: two successors or two geneses make a standalone fork proof, non-conflicts are refused,
//! and any altered byte breaks the proof.

use super::*;

#[test]
fn two_successors_give_a_standalone_fork_proof() {
    let a = key(1);
    let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    let g = genesis(&a);
    let cid = chain_id(&g);
    let x = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(1)).unwrap();
    let y = BindingEntry::config_change(&g, &a, inputs("model-c"), wall_ms(1)).unwrap();
    r.handle_entry(uptime_secs(100), &g.to_frame()).unwrap();
    r.handle_entry(uptime_secs(100), &x.to_frame()).unwrap();
    drain(&mut r);

    assert_eq!(
        r.handle_message(uptime_secs(100), LinkId(7), y.to_frame()),
        Ok(()),
        "a fork is evidence, not a fault of the relaying link"
    );
    let ev = drain(&mut r);
    assert_eq!(
        ev[0],
        IdentityEvent::Persist {
            frame: y.to_frame()
        }
    );
    let IdentityEvent::ForkDetected { chain, fork, proof } = &ev[1] else {
        panic!("expected a fork event, got {ev:?}")
    };
    let expected = ChainFork {
        signer: a.id(),
        chain: cid,
        seq: 1,
        principal: principal(),
    };
    assert_eq!((*chain, *fork), (cid, expected));
    // The proof verifies with no other state, and equals one built independently.
    assert_eq!(proof.verify(&Limits::default()), Ok(expected));
    assert_eq!(**proof, ChainForkProof::new(&y, &x).unwrap());
    assert_eq!(r.fork_proof(&cid), Some(&**proof));
    // The held entry was not replaced; the chain is forked and its keys refused.
    assert_eq!(r.entries(&cid).nth(1), Some(&x));
    assert_eq!(r.resolve(&a.id()).unwrap().status, ChainStatus::Forked);
    assert_eq!(
        r.check_signer(&a.id()),
        Err(IdentityError::ChainForked(cid))
    );
    // The same conflicting entry again is a duplicate; a third version is refused; the chain
    // cannot grow.
    assert_eq!(
        r.handle_entry(uptime_secs(100), &y.to_frame()),
        Ok(Accepted::Duplicate)
    );
    let z = BindingEntry::config_change(&g, &a, inputs("model-d"), wall_ms(1)).unwrap();
    assert_eq!(
        r.handle_entry(uptime_secs(100), &z.to_frame()),
        Err(IdentityError::ChainForked(cid))
    );
    let next = BindingEntry::config_change(&x, &a, inputs("model-e"), wall_ms(2)).unwrap();
    assert_eq!(
        r.handle_entry(uptime_secs(100), &next.to_frame()),
        Err(IdentityError::ChainForked(cid))
    );
    assert!(drain(&mut r).is_empty());
}

#[test]
fn two_geneses_by_one_key_are_a_fork() {
    let a = key(1);
    let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    let g1 = genesis(&a);
    let g2 = BindingEntry::genesis(&a, a.x25519().public(), inputs("other"), wall_ms(5)).unwrap();
    r.handle_entry(uptime_secs(100), &g1.to_frame()).unwrap();
    assert_eq!(
        r.handle_entry(uptime_secs(100), &g2.to_frame()),
        Ok(Accepted::ForkDetected {
            chain: chain_id(&g1),
            seq: 0
        })
    );
    assert_eq!(r.chain_count(), 1);
    let proof = r.fork_proof(&chain_id(&g1)).unwrap();
    let f = proof.verify(&Limits::default()).unwrap();
    assert_eq!((f.signer, f.seq), (a.id(), 0));
    assert_eq!(f.chain, chain_id(&g1).min(chain_id(&g2)));
}

#[test]
fn fork_proofs_refuse_non_conflicts() {
    let (a, b) = (key(1), key(2));
    let g = genesis(&a);
    let x = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(1)).unwrap();
    let y = BindingEntry::config_change(&x, &a, inputs("model-c"), wall_ms(2)).unwrap();
    assert!(ChainForkProof::new(&x, &x).is_err(), "same entry");
    assert!(ChainForkProof::new(&x, &y).is_err(), "different positions");
    assert!(
        ChainForkProof::new(&g, &genesis(&b)).is_err(),
        "different signers"
    );
    let gb = genesis(&b);
    let xb = BindingEntry::config_change(&gb, &b, inputs("model-b"), wall_ms(1)).unwrap();
    let mut other_chain = xb.value().clone();
    other_chain.agent = a.id();
    assert!(
        ChainForkProof::new(&x, &sign_as(&a, other_chain)).is_err(),
        "different chains"
    );
}

/// A genuine fork proof, built once: one successor is a rotation (carrying a possession
/// signature), the other a config change.
fn fork_fixture() -> &'static ChainForkProof {
    static PROOF: OnceLock<ChainForkProof> = OnceLock::new();
    PROOF.get_or_init(|| {
        let (a, b) = (key(1), key(2));
        let g = genesis(&a);
        let x = BindingEntry::rotation(&g, &a, &b, b.x25519().public(), wall_ms(1)).unwrap();
        let y = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(1)).unwrap();
        ChainForkProof::new(&x, &y).unwrap()
    })
}

#[test]
fn genuine_fork_proof_verifies() {
    let f = fork_fixture().verify(&Limits::default()).unwrap();
    assert_eq!((f.signer, f.seq), (key(1).id(), 1));
}

proptest! {
    /// Changing any one byte of either envelope of a genuine proof breaks it.
    #[test]
    fn fork_proof_fails_when_any_byte_is_altered(pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let proof = fork_fixture();
        let (first, second) = proof.envelopes();
        let (mut first, mut second) = (first.to_vec(), second.to_vec());
        let i = pos.index(first.len() + second.len());
        if i < first.len() {
            first[i] ^= delta;
        } else {
            second[i - first.len()] ^= delta;
        }
        let altered = ChainForkProof::from_envelopes(first, second);
        prop_assert!(altered.verify(&Limits::default()).is_err(), "byte {} ^ {:#04x}", i, delta);
    }
}
