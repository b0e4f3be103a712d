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

mod attestations;
mod bounds;
mod chains;
mod forks;
mod hostile;
mod persistence;

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
