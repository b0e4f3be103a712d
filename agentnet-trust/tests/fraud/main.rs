//! Evidence verification and fraud proofs, end to end through the public API.
//!
//! Required by the issue: every fraud-proof kind verifies when genuine and fails when any byte
//! is altered (`*_any_altered_byte_*`, exhaustively and by proptest).

use std::sync::OnceLock;

use agentnet_core::descriptor::Topic;
use agentnet_core::log_header::{EntryKind, LogHeader};
use agentnet_core::test_support::EPOCH_MS;
use agentnet_core::wire::{self, Limits, WireError};
use agentnet_core::{AgentId, Hash, Keypair, Signature, Signed, SignedObject, WallTime};
use agentnet_trust::baid::{AgentConfig, BaidInputs, BindingEntry, PrincipalCommitment};
use agentnet_trust::evidence::{
    Answer, Attestation, AttestationRejected, AttestationVerifier, AttestedClaim, Commitment,
    EvidenceFault, EvidencePackage, EvidencePolicy, EvidenceReport, MAX_RECEIPTS,
    RejectAllAttestations, TaskId, ToolReceipt, VerifiedEvidence, payload_hash, verify_evidence,
    verify_evidence_frame, verify_signed_evidence,
};
use agentnet_trust::evidence::{EvidenceError, ReceiptChain};
use agentnet_trust::fraud::{FraudError, FraudKind, FraudProof, ProofPart};
use bytes::Bytes;
use proptest::prelude::*;

mod altered;
mod attestations;
mod evidence;
mod malformed;
mod proofs;
mod refusals;

/// Wall time `ms` ms from `EPOCH_MS`; signed, because receipts here are stamped before the start
/// too (`test_support::wall_ms` only goes forward).
fn t(ms: i64) -> WallTime {
    WallTime::from_unix_millis((EPOCH_MS as i64 + ms) as u64)
}

fn provider() -> Keypair {
    Keypair::from_seed([1; 32])
}

fn stranger() -> Keypair {
    Keypair::from_seed([2; 32])
}

fn enclave() -> Keypair {
    Keypair::from_seed([3; 32])
}

fn task() -> TaskId {
    TaskId(payload_hash(b"task: summarise the report"))
}

fn out(i: u32) -> Hash {
    payload_hash(format!("output {i}").as_bytes())
}

fn limits() -> Limits {
    Limits::default()
}

/// Receipt fields that tests vary.
#[derive(Clone)]
struct R {
    task: TaskId,
    step: u32,
    tool: &'static str,
    output: Hash,
    prev: Option<Hash>,
    start: i64,
    end: i64,
}

impl R {
    fn honest(step: u32, prev: Option<Hash>) -> Self {
        R {
            task: task(),
            step,
            tool: ["fetch", "summarise", "format"][step as usize % 3],
            output: out(step),
            prev,
            start: i64::from(step) * 100,
            end: i64::from(step) * 100 + 50,
        }
    }

    fn sign(&self, kp: &Keypair) -> Signed<ToolReceipt> {
        Signed::sign(
            kp,
            ToolReceipt {
                agent: kp.id(),
                task: self.task,
                step: self.step,
                tool: self.tool.into(),
                input_hash: payload_hash(b"input"),
                output_hash: self.output,
                started_at: t(self.start),
                ended_at: t(self.end),
                prev: self.prev,
            },
        )
        .unwrap()
    }
}

/// Three honest receipts, with `edit(i, &mut R, &mut signer)` applied before signing receipt
/// `i`; links follow whatever was signed.
fn chain_with(mut edit: impl FnMut(usize, &mut R, &mut Keypair)) -> Vec<Signed<ToolReceipt>> {
    let mut out: Vec<Signed<ToolReceipt>> = Vec::new();
    for i in 0..3u32 {
        let mut r = R::honest(i, out.last().map(Signed::hash));
        let mut kp = provider();
        edit(i as usize, &mut r, &mut kp);
        out.push(r.sign(&kp));
    }
    out
}

fn envelopes(rs: &[Signed<ToolReceipt>]) -> Vec<Bytes> {
    rs.iter().map(|r| Bytes::from(r.to_envelope())).collect()
}

/// A package signed as-is (no honesty checks), for building faulty evidence.
fn raw_package(
    kp: &Keypair,
    task: TaskId,
    result_hash: Hash,
    receipts: Vec<Bytes>,
    attestation: Option<Attestation>,
) -> Signed<EvidencePackage> {
    Signed::sign(
        kp,
        EvidencePackage {
            agent: kp.id(),
            task,
            result_hash,
            receipts,
            attestation,
        },
    )
    .unwrap()
}

fn honest_package() -> Signed<EvidencePackage> {
    let kp = provider();
    let mut c = ReceiptChain::new(kp.id(), task());
    for i in 0..3u32 {
        c.record(
            &kp,
            ["fetch", "summarise", "format"][i as usize],
            payload_hash(b"input"),
            out(i),
            t(i64::from(i) * 100),
            t(i64::from(i) * 100 + 50),
        )
        .unwrap();
    }
    c.finish(&kp, out(2), None).unwrap()
}

fn policy() -> EvidencePolicy {
    EvidencePolicy::new(task(), provider().id(), out(2), t(0), t(1_000))
}

fn check(
    pkg: &Signed<EvidencePackage>,
    policy: &EvidencePolicy,
) -> Result<VerifiedEvidence, EvidenceReport> {
    verify_evidence(
        &pkg.to_envelope(),
        policy,
        &RejectAllAttestations,
        &limits(),
    )
}

fn faults_of(r: Result<VerifiedEvidence, EvidenceReport>) -> Vec<EvidenceFault> {
    r.expect_err("expected the package to be refused")
        .faults()
        .to_vec()
}

/// A stand-in attestation protocol: the "enclave" signs the claim digest with its Ed25519 key.
struct EnclaveVerifier {
    enclave: AgentId,
}

const ENCLAVE_FORMAT: &str = "test-enclave-ed25519";
const ENCLAVE_CONTEXT: &str = "agentnet/test/enclave-report";

impl AttestationVerifier for EnclaveVerifier {
    fn verify(
        &self,
        claim: &AttestedClaim,
        attestation: &Attestation,
    ) -> Result<(), AttestationRejected> {
        if attestation.format != ENCLAVE_FORMAT {
            return Err(AttestationRejected::Unsupported {
                format: attestation.format.clone(),
                reason: "only the test enclave is trusted".into(),
            });
        }
        let sig: [u8; 64] = attestation
            .bytes
            .as_slice()
            .try_into()
            .map_err(|_| AttestationRejected::Invalid("report must be 64 bytes".into()))?;
        self.enclave
            .verify(ENCLAVE_CONTEXT, claim.digest().as_bytes(), &Signature(sig))
            .map_err(|e| AttestationRejected::Invalid(e.to_string()))
    }
}

fn attest(by: &Keypair, claim: &AttestedClaim) -> Attestation {
    Attestation {
        format: ENCLAVE_FORMAT.into(),
        bytes: by
            .sign_bytes(ENCLAVE_CONTEXT, claim.digest().as_bytes())
            .0
            .to_vec(),
    }
}

/// An envelope `[signer, signature, body]` built by hand (to forge what `Signed` refuses).
fn hand_envelope(signer: &AgentId, sig: &Signature, body: &[u8]) -> Vec<u8> {
    wire::encode_cbor(&(
        serde_bytes::Bytes::new(signer.as_bytes()),
        serde_bytes::Bytes::new(sig.as_bytes()),
        serde_bytes::Bytes::new(body),
    ))
    .unwrap()
}

fn header(kp: &Keypair, seq: u64, body: &[u8]) -> Signed<LogHeader> {
    Signed::sign(
        kp,
        LogHeader {
            author: kp.id(),
            topic: Topic::new("code/review").unwrap(),
            seq,
            prev: (seq > 1).then_some(Hash([4; 32])),
            kind: EntryKind::DESCRIPTOR,
            body_hash: Hash::digest("agentnet/test/body", body),
            body_len: body.len() as u32,
            issued_at: t(0),
            ttl_ms: 15_000,
            sketch: None,
        },
    )
    .unwrap()
}

fn equivocation() -> FraudProof {
    let kp = provider();
    FraudProof::equivocation(&header(&kp, 3, b"one"), &header(&kp, 3, b"two")).unwrap()
}

fn contradicting_package() -> Signed<EvidencePackage> {
    let rs = chain_with(|_, _, _| {});
    raw_package(
        &provider(),
        task(),
        payload_hash(b"not what the chain produced"),
        envelopes(&rs),
        None,
    )
}

fn receipt_contradiction() -> FraudProof {
    FraudProof::receipt_contradiction(&contradicting_package(), &limits()).unwrap()
}

fn subject() -> Hash {
    Hash([6; 32])
}

fn commitment(kp: &Keypair, value: &[u8]) -> Signed<Commitment> {
    Signed::sign(kp, Commitment::new(kp.id(), subject(), value, t(0))).unwrap()
}

fn answer_contradiction() -> FraudProof {
    let kp = provider();
    let a = Answer::sign(&kp, subject(), b"no".to_vec(), t(10)).unwrap();
    FraudProof::answer_contradiction(&commitment(&kp, b"yes"), &a).unwrap()
}

fn principal() -> PrincipalCommitment {
    PrincipalCommitment::new(b"acme corp", &[9; 32])
}

fn baid_inputs(tag: u8) -> BaidInputs {
    BaidInputs {
        code_hash: Hash([tag; 32]),
        config_digest: AgentConfig {
            model_id: "model".into(),
            weights_hash: Hash([1; 32]),
            prompt_template_hash: Hash([2; 32]),
            tool_policy_hash: Hash([3; 32]),
        }
        .digest(),
        principal: principal(),
        salt: [4; 32],
    }
}

fn genesis() -> Signed<BindingEntry> {
    let k = provider();
    BindingEntry::genesis(&k, k.x25519().public(), baid_inputs(1), t(0)).unwrap()
}

fn chain_fork() -> FraudProof {
    let k = provider();
    let g = genesis();
    let a = BindingEntry::config_change(&g, &k, baid_inputs(2), t(1)).unwrap();
    let b = BindingEntry::config_change(&g, &k, baid_inputs(3), t(1)).unwrap();
    FraudProof::chain_fork(&a, &b).unwrap()
}

fn all_kinds() -> Vec<(FraudKind, FraudProof)> {
    vec![
        (FraudKind::Equivocation, equivocation()),
        (FraudKind::ChainFork, chain_fork()),
        (FraudKind::ReceiptContradiction, receipt_contradiction()),
        (FraudKind::AnswerContradiction, answer_contradiction()),
    ]
}
