//! Identity chains end to end: BAID bindings, rotation, revocation, forks, attestations,
//! execution proofs, bounds, persistence and hostile input.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use agentnet_core::test_support::{EPOCH_MS, uptime_secs, wall_ms};
use agentnet_core::wire::{Limits, WireError};
use agentnet_core::{AgentId, Engine, Hash, Keypair, LinkId, Now, Signature, Signed};
use agentnet_core::{SignedObject, WallTime};
use agentnet_trust::baid::{
    AgentConfig, Baid, BaidInputs, BindingEntry, BindingError, BindingKind, ChainFork,
    ChainForkProof, ExecutionProof, IssuerAttestation, PrincipalCommitment, ProofRejected,
    ProofVerifier, RejectAllProofs, chain_id,
};
use agentnet_trust::registry::{
    Accepted, ChainStatus, IdentityError, IdentityEvent, IdentityRegistry, IdentityTier,
    RegistryConfig, Table,
};
use bytes::Bytes;
use proptest::prelude::*;

// ----- fixtures ------------------------------------------------------------------------------

/// Both clocks `ms` ms after this file's start: a host up 100 s, wall clock at `EPOCH_MS`.
fn at(ms: u64) -> Now {
    uptime_secs(100).advance(Duration::from_millis(ms))
}

/// A verified offence by `k`: an answer contradicting its own commitment.
fn contradiction(k: &Keypair) -> agentnet_trust::fraud::Offence {
    use agentnet_trust::evidence::{Answer, Commitment};
    let subject = Hash::digest("test/subject", &[1]);
    let c = Signed::sign(k, Commitment::new(k.id(), subject, b"yes", wall_ms(0))).unwrap();
    let answer = Answer::sign(k, subject, b"no".to_vec(), wall_ms(0)).unwrap();
    agentnet_trust::fraud::FraudProof::answer_contradiction(&c, &answer)
        .unwrap()
        .verify(&Limits::default())
        .unwrap()
}

fn key(seed: u8) -> Keypair {
    Keypair::from_seed([seed; 32])
}

fn principal() -> PrincipalCommitment {
    PrincipalCommitment::new(b"did:web:acme.example", &[0x5a; 32])
}

fn config(model: &str) -> AgentConfig {
    AgentConfig {
        model_id: model.to_string(),
        weights_hash: Hash([1; 32]),
        prompt_template_hash: Hash([2; 32]),
        tool_policy_hash: Hash([3; 32]),
    }
}

fn inputs(model: &str) -> BaidInputs {
    BaidInputs {
        code_hash: Hash([7; 32]),
        config_digest: config(model).digest(),
        principal: principal(),
        salt: [9; 32],
    }
}

fn genesis(k: &Keypair) -> Signed<BindingEntry> {
    BindingEntry::genesis(k, k.x25519().public(), inputs("model-a"), wall_ms(0)).unwrap()
}

fn drain(r: &mut IdentityRegistry) -> Vec<IdentityEvent> {
    std::iter::from_fn(|| r.poll_event()).collect()
}

/// Sign `e` with `k` regardless of whether `k` is the right key (to build hostile entries).
fn sign_as(k: &Keypair, e: BindingEntry) -> Signed<BindingEntry> {
    Signed::sign(k, e).unwrap()
}

/// A test stand-in for a zkVM/TEE verifier that does honest work: it accepts a proof whose
/// bytes are a signature by a configured "attestation service" key over the BAID.
#[derive(Debug)]
struct SignedBaidVerifier {
    service: AgentId,
}

const PROOF_SYSTEM: &str = "test/ed25519-over-baid";
const PROOF_CONTEXT: &str = "agentnet/test/execution-proof";

impl ProofVerifier for SignedBaidVerifier {
    fn verify(&self, baid: &Baid, proof: &ExecutionProof) -> Result<(), ProofRejected> {
        if proof.system != PROOF_SYSTEM {
            return Err(ProofRejected::UnsupportedSystem(proof.system.clone()));
        }
        let sig: [u8; 64] = proof
            .bytes
            .as_slice()
            .try_into()
            .map_err(|_| ProofRejected::Invalid("proof must be a 64-byte signature".into()))?;
        self.service
            .verify(PROOF_CONTEXT, baid.0.as_bytes(), &Signature(sig))
            .map_err(|e| ProofRejected::Invalid(e.to_string()))
    }
}

fn execution_proof(service: &Keypair, baid: &Baid) -> ExecutionProof {
    ExecutionProof {
        system: PROOF_SYSTEM.to_string(),
        bytes: service
            .sign_bytes(PROOF_CONTEXT, baid.0.as_bytes())
            .0
            .to_vec(),
    }
}

// ----- chains in order ---------------------------------------------------------------------

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

// ----- rotation keeps reputation; retired keys are refused ---------------------------------

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

// ----- forks -----------------------------------------------------------------------------------

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

// ----- attestations and tiers --------------------------------------------------------------

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

// ----- bounds ----------------------------------------------------------------------------------

#[test]
fn every_bound_overflows_with_a_typed_error() {
    let mut cfg = RegistryConfig::with_anchors([key(50).id()]);
    cfg.max_chains = 1;
    cfg.max_entries_per_chain = 3;
    cfg.max_attestations = 1;
    cfg.max_proof_bytes = 100;
    cfg.max_queued_events = 16;
    let mut r = IdentityRegistry::new(cfg).unwrap();
    let a = key(1);
    let g = genesis(&a);
    r.handle_entry(uptime_secs(100), &g.to_frame()).unwrap();
    drain(&mut r);

    // Chains: a full table of chains with standing refuses (one without would give way).
    assert!(r.vouch(&a.id()));
    assert_eq!(
        r.handle_entry(uptime_secs(100), &genesis(&key(2)).to_frame()),
        Err(IdentityError::TableFull {
            table: Table::Chains,
            max: 1
        })
    );
    assert_eq!(
        drain(&mut r),
        vec![IdentityEvent::TableFull {
            table: Table::Chains,
            max: 1
        }]
    );
    assert_eq!(r.chain_count(), 1);

    // Entries per chain: the last slot is kept for a revocation.
    let c1 = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(1)).unwrap();
    r.handle_entry(uptime_secs(100), &c1.to_frame()).unwrap();
    let c2 = BindingEntry::config_change(&c1, &a, inputs("model-c"), wall_ms(2)).unwrap();
    assert_eq!(
        r.handle_entry(uptime_secs(100), &c2.to_frame()),
        Err(IdentityError::TableFull {
            table: Table::ChainEntries,
            max: 3
        })
    );
    let rev = BindingEntry::revocation(&c1, &a, wall_ms(2)).unwrap();
    r.handle_entry(uptime_secs(100), &rev.to_frame()).unwrap();
    assert_eq!(r.entries(&chain_id(&g)).count(), 3);

    // Attestations.
    let anchor = key(50);
    let p2 = PrincipalCommitment::new(b"second", &[0; 32]);
    let a1 = IssuerAttestation::sign(
        &anchor,
        principal(),
        key(1).id(),
        wall_ms(0),
        wall_ms(60_000),
    )
    .unwrap();
    let a2 =
        IssuerAttestation::sign(&anchor, p2, key(1).id(), wall_ms(0), wall_ms(60_000)).unwrap();
    r.handle_attestation(uptime_secs(100), &a1.to_frame())
        .unwrap();
    assert_eq!(
        r.handle_attestation(uptime_secs(100), &a2.to_frame()),
        Err(IdentityError::TableFull {
            table: Table::Attestations,
            max: 1
        })
    );

    // Proof size.
    let big = ExecutionProof {
        system: "x".into(),
        bytes: vec![0; 100],
    };
    assert_eq!(
        r.submit_proof(uptime_secs(100), &a.id(), &big),
        Err(IdentityError::ProofTooLarge { len: 101, max: 100 })
    );

    // Event queue: an undrained queue refuses input instead of dropping events.
    let mut r = IdentityRegistry::new({
        let mut c = RegistryConfig::default();
        c.max_queued_events = 16;
        c
    })
    .unwrap();
    let mut refused = None;
    for i in 0..20u8 {
        match r.handle_entry(uptime_secs(100), &genesis(&key(100 + i)).to_frame()) {
            Ok(_) => {}
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
    }
    assert_eq!(refused, Some((8, IdentityError::EventQueueFull)));
    assert_eq!(drain(&mut r).len(), 16, "nothing accepted went unreported");

    // Frame size.
    let mut small = RegistryConfig::default();
    small.limits.max_frame = 64;
    let mut r = IdentityRegistry::new(small).unwrap();
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &g.to_frame()),
        Err(IdentityError::Signed(_))
    ));
}

// ----- persistence -------------------------------------------------------------------------

#[test]
fn persisted_frames_restore_the_same_state() {
    let (a, b, anchor) = (key(1), key(2), key(50));
    let cfg = RegistryConfig::with_anchors([anchor.id()]);
    let mut r = IdentityRegistry::new(cfg.clone()).unwrap();
    let g = genesis(&a);
    let rot = BindingEntry::rotation(&g, &a, &b, b.x25519().public(), wall_ms(1)).unwrap();
    let c = BindingEntry::config_change(&rot, &b, inputs("model-b"), wall_ms(2)).unwrap();
    let c_alt = BindingEntry::config_change(&rot, &b, inputs("model-c"), wall_ms(2)).unwrap();
    let other = key(3);
    let og = genesis(&other);
    let att = IssuerAttestation::sign(
        &anchor,
        principal(),
        key(1).id(),
        wall_ms(0),
        wall_ms(3_600_000),
    )
    .unwrap();
    for f in [&g, &rot, &c, &c_alt, &og] {
        r.handle_entry(uptime_secs(100), &f.to_frame()).unwrap();
    }
    r.handle_attestation(uptime_secs(100), &att.to_frame())
        .unwrap();
    let persisted: Vec<Bytes> = drain(&mut r)
        .into_iter()
        .filter_map(|e| match e {
            IdentityEvent::Persist { frame } => Some(frame),
            _ => None,
        })
        .collect();
    assert_eq!(persisted.len(), 6);

    let mut back = IdentityRegistry::new(cfg.clone()).unwrap();
    let report = back.restore(at(10), persisted);
    assert_eq!(report.accepted, 6);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert!(drain(&mut back).is_empty(), "restore queues no events");
    for k in [a.id(), b.id(), other.id()] {
        assert_eq!(back.resolve(&k), r.resolve(&k));
    }
    assert_eq!(back.resolve(&a.id()).unwrap().status, ChainStatus::Forked);
    assert_eq!(back.fork_proof(&chain_id(&g)), r.fork_proof(&chain_id(&g)));
    assert_eq!(back.export(), r.export());

    // A snapshot restores too, and junk in the store is reported, not fatal.
    let mut snap = r.export();
    snap.push(Bytes::from_static(b"\x01\x02\x01garbage"));
    let mut again = IdentityRegistry::new(cfg).unwrap();
    let report = again.restore(at(10), snap);
    assert_eq!(report.accepted, 6);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(again.export(), r.export());
}

#[test]
fn same_inputs_same_outputs() {
    let run = || {
        let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
        let mut out = Vec::new();
        for i in 0..6u8 {
            let k = key(i + 1);
            let g = genesis(&k);
            out.push(format!(
                "{:?}",
                r.handle_entry(uptime_secs(100), &g.to_frame())
            ));
            let n = key(i + 101);
            let rot = BindingEntry::rotation(&g, &k, &n, n.x25519().public(), wall_ms(1)).unwrap();
            out.push(format!(
                "{:?}",
                r.handle_entry(uptime_secs(100), &rot.to_frame())
            ));
        }
        out.extend(drain(&mut r).iter().map(|e| format!("{e:?}")));
        out.push(format!("{:?}", r.export()));
        out
    };
    assert_eq!(run(), run());
}

// ----- hostile input -------------------------------------------------------------------------

/// A genesis, a rotation and an attestation, as frames (built once).
fn valid_frames() -> &'static [Bytes] {
    static FRAMES: OnceLock<Vec<Bytes>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let (a, b) = (key(1), key(2));
        let g = genesis(&a);
        let rot = BindingEntry::rotation(&g, &a, &b, b.x25519().public(), wall_ms(1)).unwrap();
        let att = IssuerAttestation::sign(
            &key(50),
            principal(),
            key(1).id(),
            wall_ms(0),
            wall_ms(60_000),
        )
        .unwrap();
        vec![g.to_frame(), rot.to_frame(), att.to_frame()]
    })
}

proptest! {
    /// Arbitrary bytes never panic and never change the state.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700), kind in 0u8..3) {
        let mut r = IdentityRegistry::new(RegistryConfig::with_anchors([key(50).id()])).unwrap();
        let mut frame = bytes.clone();
        if kind > 0 && frame.len() >= 3 {
            // Give the frame a valid header so the payload checks are exercised too.
            let k = if kind == 1 { BindingEntry::KIND } else { IssuerAttestation::KIND };
            frame[0] = 1;
            frame[1..3].copy_from_slice(&k.0.to_be_bytes());
        }
        let frame = Bytes::from(frame);
        prop_assert!(r.handle_entry(uptime_secs(100), &frame).is_err());
        prop_assert!(r.handle_attestation(uptime_secs(100), &frame).is_err());
        prop_assert!(r.handle_message(uptime_secs(100), LinkId(1), frame.clone()).is_err());
        prop_assert_eq!(r.chain_count(), 0);
        prop_assert_eq!(r.attestation_count(), 0);
        prop_assert!(r.poll_event().is_none());
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Corrupting one byte of a valid frame never panics; anything accepted is consistent.
    #[test]
    fn corrupted_frames_never_panic(which in 0usize..3, pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let frames = valid_frames();
        let mut r = IdentityRegistry::new(RegistryConfig::with_anchors([key(50).id()])).unwrap();
        let mut v = frames[which].to_vec();
        let i = pos.index(v.len());
        v[i] ^= delta;
        let corrupted = Bytes::from(v);
        let _ = r.handle_message(uptime_secs(100), LinkId(1), corrupted.clone());
        if which == 0 {
            // A corrupted genesis can only be accepted if it is still the genuine one.
            if r.chain_count() > 0 {
                prop_assert_eq!(r.export()[0].clone(), frames[0].clone());
            }
        }
        // Feed the genuine chain after the corrupted frame: state was not poisoned.
        r.handle_entry(uptime_secs(100), &frames[0]).unwrap();
        r.handle_entry(uptime_secs(100), &frames[1]).unwrap();
        prop_assert_eq!(r.resolve(&key(1).id()).unwrap().current_key, key(2).id());
    }
}

#[test]
fn wire_errors_are_typed() {
    let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    assert_eq!(
        r.handle_message(uptime_secs(100), LinkId(1), Bytes::new()),
        Err(IdentityError::Wire(WireError::TruncatedHeader { len: 0 }))
    );
    let g = genesis(&key(1));
    let att = IssuerAttestation::sign(&key(50), principal(), key(1).id(), wall_ms(0), wall_ms(1))
        .unwrap();
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &att.to_frame()),
        Err(IdentityError::Signed(
            agentnet_core::signed::SignedError::Wire(WireError::WrongKind { .. })
        ))
    ));
    let mut frame = g.to_frame().to_vec();
    frame[0] = 9;
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &Bytes::from(frame)),
        Err(IdentityError::Signed(_))
    ));
}
