//! Fraud proofs: self-contained, portable evidence that an agent broke a rule no honest agent
//! ever breaks (DESIGN §6).
//!
//! # What this module does
//!
//! A [`FraudProof`] carries the offender's own signed statements, exactly as signed, and
//! nothing else. [`FraudProof::verify`] needs no state — no registry, no clock, no ledger —
//! so every node that receives the same proof bytes reaches the same verdict, and a proof can
//! be gossiped, stored and re-checked later. A verified proof yields an [`Offence`], which the
//! reputation engine applies (stake burned or frozen, trust zeroed in every topic, the
//! principal commitment flagged so new identities of the same principal start with nothing).
//!
//! # What it does not do
//!
//! It applies no penalty, keeps no record of convictions and does not map an offender to its
//! principal (except for chain forks, whose proof names it): that is the reputation engine's
//! job, through the identity registry. It does not judge faults that depend on a verifier's
//! own view (what it received, when) — those are evidence faults
//! ([`crate::evidence::EvidenceReport`]), not fraud.
//!
//! # The kinds, and why an honest agent never produces one
//!
//! | kind | carries | contradiction |
//! |---|---|---|
//! | [`FraudKind::Equivocation`] | two log headers ([`EquivocationProof`]) | same author, topic and seq, different bodies: an honest log is append-only |
//! | [`FraudKind::ChainFork`] | two identity-chain entries ([`ChainForkProof`]) | two different successors of one chain entry: an honest chain is linear |
//! | [`FraudKind::ReceiptContradiction`] | one evidence package | an intact receipt chain (every receipt signed by the package's signer, for its task, steps `0..n`, hash-linked) whose last output is not the package's `result_hash`: the honest builder derives the result from the chain (rule 5 in [`crate::evidence`]) |
//! | [`FraudKind::AnswerContradiction`] | a commitment and an answer | same agent and subject, answer does not open the commitment: an agent commits at most once per subject ([`Commitment`]) |
//!
//! Receipt contradictions count only the package's own chain. Two receipts of one provider
//! for the same task and step with different bodies are **not** fraud: a provider that runs a
//! task again (a retry after a crash, a re-submitted task id) honestly produces a second
//! chain. Likewise a package whose result differs from what a requester says it received is
//! not provable: the requester could be lying about what it received.
//!
//! # Verification
//!
//! Every signature in a proof is verified strictly and alone (never batched), so a signer
//! cannot make its signature pass for some verifiers and fail for others. Nothing is
//! re-encoded to verify a signature. A proof frame must also be the canonical encoding of the
//! proof it decodes to (checked by re-encoding the decoded proof and comparing bytes), so a
//! proof has exactly one encoding and [`FraudProof::id`] is stable for deduplication.
//!
//! # Size
//!
//! Proofs are bounded by the [`Limits`] they are decoded with: each signed part is one byte
//! string, so it must fit [`Limits::max_bytes_len`] (16 KiB by default, which holds a
//! receipt-contradiction package of about 45 receipts). Nodes that accept larger evidence
//! packages must accept proof frames as large.

use agentnet_core::hash::Hasher;
use agentnet_core::log_header::{EquivocationError, EquivocationProof, LogHeader};
use agentnet_core::signed::SignedError;
use agentnet_core::wire::{self, Limits, WireError};
use agentnet_core::{AgentId, Hash, Signed};
use bytes::Bytes;
use core::fmt;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::baid::{BindingEntry, ChainForkProof, ForkError, PrincipalCommitment};
use crate::evidence::{
    Answer, Commitment, EvidenceFault, EvidencePackage, EvidenceReport, examine_chain,
};

/// Domain of [`FraudProof::id`].
const PROOF_ID_DOMAIN: &str = agentnet_core::hash::domain::FRAUD_PROOF;

/// A self-verifying proof of misbehaviour. See the module docs for each kind.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FraudProof {
    /// Two different log headers at one (author, topic, seq), from gossip.
    Equivocation(EquivocationProof),
    /// Two different identity-chain entries signed by one key for one chain position.
    ChainFork(ChainForkProof),
    /// A provider-signed evidence package whose intact receipt chain ends in an output other
    /// than the package's result.
    ReceiptContradiction {
        /// The package envelope exactly as signed.
        #[serde(with = "agentnet_core::bytes_serde::bytes")]
        package: Bytes,
    },
    /// A signed answer that does not open the same agent's signed commitment on the same
    /// subject.
    AnswerContradiction {
        /// The commitment envelope exactly as signed.
        #[serde(with = "agentnet_core::bytes_serde::bytes")]
        commitment: Bytes,
        /// The answer envelope exactly as signed.
        #[serde(with = "agentnet_core::bytes_serde::bytes")]
        answer: Bytes,
    },
}

/// The kind of a [`FraudProof`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FraudKind {
    /// Two log headers at one position.
    Equivocation,
    /// Two successors of one identity-chain entry.
    ChainFork,
    /// A receipt chain contradicting the delivered result.
    ReceiptContradiction,
    /// An answer contradicting a commitment.
    AnswerContradiction,
}

impl fmt::Display for FraudKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FraudKind::Equivocation => "equivocation",
            FraudKind::ChainFork => "chain fork",
            FraudKind::ReceiptContradiction => "receipt contradiction",
            FraudKind::AnswerContradiction => "answer contradiction",
        })
    }
}

/// What a verified proof establishes; the input of slashing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offence {
    /// The key that signed the contradicting statements.
    pub offender: AgentId,
    /// The principal commitment behind the offender, when the proof itself names it (chain
    /// forks: the forked entries carry it). For other kinds it is `None` and the reputation
    /// engine looks the principal up through the identity registry.
    pub principal: Option<PrincipalCommitment>,
    /// The kind of misbehaviour.
    pub kind: FraudKind,
    /// [`FraudProof::id`] of the proof.
    pub proof: Hash,
}

/// Whom a verified [`Offence`] blames: the key that signed the contradicting statements, the
/// identity (canonical id) that key belongs to, and the principal proven to own that identity.
///
/// Made only from an offence, so [`Reputation::slash`](crate::reputation::Reputation::slash) can check
/// that the agent it slashes is the one the proof names ("blame only what a proof ties to the
/// one blamed"):
/// - [`Culprit::key`]: the offending key as its own identity, blaming no principal;
/// - [`IdentityRegistry::culprit`](crate::registry::IdentityRegistry::culprit): the identity
///   chain holding the key, and its principal only when an issuer attestation names that chain;
/// - [`Culprit::with_principal`]: a principal the caller has its own proof for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Culprit {
    key: AgentId,
    agent: AgentId,
    principal: Option<PrincipalCommitment>,
}

impl Culprit {
    /// The offending key, standing for itself (no identity chain, no principal).
    pub fn key(offence: &Offence) -> Culprit {
        Culprit {
            key: offence.offender,
            agent: offence.offender,
            principal: None,
        }
    }

    /// The offending key as a key of the identity `agent` (its canonical id), blaming
    /// `principal`. Only the identity registry, which proved the key is in the chain, makes one.
    pub(crate) fn of_chain(
        offence: &Offence,
        agent: AgentId,
        principal: Option<PrincipalCommitment>,
    ) -> Culprit {
        Culprit {
            key: offence.offender,
            agent,
            principal,
        }
    }

    /// Also blame `principal`. Pass only a principal the caller holds proof for: an issuer
    /// attestation naming the offender's chain, or, in a simulation, ownership it models as
    /// ground truth. A commitment named in a genesis or in the proof is no such proof (anyone
    /// can copy one), and flagging it would get the honest principal's identities blamed.
    #[must_use]
    pub fn with_principal(mut self, principal: PrincipalCommitment) -> Culprit {
        self.principal = Some(principal);
        self
    }

    /// The key that signed the contradicting statements.
    pub fn offender(&self) -> AgentId {
        self.key
    }

    /// The identity blamed: the canonical id of the chain holding the key (or the key itself).
    pub fn agent(&self) -> AgentId {
        self.agent
    }

    /// The principal blamed with it, if proven.
    pub fn principal(&self) -> Option<PrincipalCommitment> {
        self.principal
    }
}

/// Which signed part of a proof an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofPart {
    /// The evidence package.
    Package,
    /// The commitment.
    Commitment,
    /// The answer.
    Answer,
}

impl fmt::Display for ProofPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProofPart::Package => "package",
            ProofPart::Commitment => "commitment",
            ProofPart::Answer => "answer",
        })
    }
}

/// Why a proof is not valid (or could not be built).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FraudError {
    /// The proof frame is malformed or over a limit.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The frame decodes, but is not the canonical encoding of the proof.
    #[error("proof is not canonically encoded")]
    NotCanonical,
    /// The equivocation proof is invalid.
    #[error("equivocation proof: {0}")]
    Equivocation(#[from] EquivocationError),
    /// The chain-fork proof is invalid.
    #[error("chain-fork proof: {0}")]
    ChainFork(#[from] ForkError),
    /// A signed part of the proof is refused (malformed, bad signature, signer mismatch).
    #[error("{part} refused: {error}")]
    Part {
        /// Which part.
        part: ProofPart,
        /// Why.
        error: SignedError,
    },
    /// A signed part is outside the documented bounds.
    #[error("{part} out of bounds: {error}")]
    Bounds {
        /// Which part.
        part: ProofPart,
        /// Why.
        error: WireError,
    },
    /// The package's receipts are not one intact chain by its signer for its task, so they
    /// do not bind the signer to a computation (first fault shown).
    #[error("receipts are not an intact chain: {0}")]
    BrokenChain(EvidenceFault),
    /// The statements are valid but do not contradict each other.
    #[error("not a contradiction: {0}")]
    NotAContradiction(&'static str),
}

impl FraudProof {
    /// An equivocation proof from two conflicting headers; refuses headers that do not
    /// conflict.
    pub fn equivocation(a: &Signed<LogHeader>, b: &Signed<LogHeader>) -> Result<Self, FraudError> {
        Ok(FraudProof::Equivocation(EquivocationProof::new(a, b)?))
    }

    /// A chain-fork proof from two conflicting identity-chain entries; refuses entries that
    /// do not conflict or are malformed.
    pub fn chain_fork(
        a: &Signed<BindingEntry>,
        b: &Signed<BindingEntry>,
    ) -> Result<Self, FraudError> {
        Ok(FraudProof::ChainFork(ChainForkProof::new(a, b)?))
    }

    /// A receipt-contradiction proof from a package; refuses a package that is not one
    /// (broken chain, or a chain that does end in the result). `limits` must admit the
    /// package, since verifiers will decode it with theirs.
    pub fn receipt_contradiction(
        package: &Signed<EvidencePackage>,
        limits: &Limits,
    ) -> Result<Self, FraudError> {
        let proof = FraudProof::ReceiptContradiction {
            package: Bytes::from(package.to_envelope()),
        };
        proof.verify(limits)?;
        Ok(proof)
    }

    /// An answer-contradiction proof; refuses a pair that does not contradict (different
    /// agents or subjects, or an answer that opens the commitment) or an oversized answer.
    pub fn answer_contradiction(
        commitment: &Signed<Commitment>,
        answer: &Signed<Answer>,
    ) -> Result<Self, FraudError> {
        answer.check_bounds().map_err(|error| FraudError::Bounds {
            part: ProofPart::Answer,
            error,
        })?;
        check_answer_conflict(commitment, answer)?;
        Ok(FraudProof::AnswerContradiction {
            commitment: Bytes::from(commitment.to_envelope()),
            answer: Bytes::from(answer.to_envelope()),
        })
    }

    /// Turn a failed evidence verification into a proof, if it shows a provable
    /// contradiction. Of all [`EvidenceFault`]s only
    /// [`FinalOutputMismatch`](EvidenceFault::FinalOutputMismatch) on an intact chain is
    /// provable to third parties (see the module docs); everything else yields
    /// [`FraudError::NotAContradiction`] or [`FraudError::BrokenChain`].
    pub fn from_evidence_report(
        report: &EvidenceReport,
        limits: &Limits,
    ) -> Result<Self, FraudError> {
        let package = report.package().ok_or(FraudError::NotAContradiction(
            "the package's signature did not verify",
        ))?;
        if !report.has(|f| matches!(f, EvidenceFault::FinalOutputMismatch { .. })) {
            return Err(FraudError::NotAContradiction(
                "the report shows no provable fault",
            ));
        }
        Self::receipt_contradiction(package, limits)
    }

    /// The kind of misbehaviour the proof claims.
    pub fn kind(&self) -> FraudKind {
        match self {
            FraudProof::Equivocation(_) => FraudKind::Equivocation,
            FraudProof::ChainFork(_) => FraudKind::ChainFork,
            FraudProof::ReceiptContradiction { .. } => FraudKind::ReceiptContradiction,
            FraudProof::AnswerContradiction { .. } => FraudKind::AnswerContradiction,
        }
    }

    /// Check the proof with no other state. Every signature is verified strictly and alone.
    pub fn verify(&self, limits: &Limits) -> Result<Offence, FraudError> {
        let (offender, principal) = match self {
            FraudProof::Equivocation(p) => (p.verify(limits)?.author, None),
            FraudProof::ChainFork(p) => {
                let fork = p.verify(limits)?;
                (fork.signer, Some(fork.principal))
            }
            FraudProof::ReceiptContradiction { package } => {
                (verify_receipt_contradiction(package, limits)?, None)
            }
            FraudProof::AnswerContradiction { commitment, answer } => (
                verify_answer_contradiction(commitment, answer, limits)?,
                None,
            ),
        };
        Ok(Offence {
            offender,
            principal,
            kind: self.kind(),
            proof: self.id(),
        })
    }

    /// The proof's identity, for deduplication: BLAKE3 of its canonical encoding in the
    /// domain `"agentnet/v1/fraud-proof"`. One misbehaviour can yield several proofs (e.g.
    /// two contradicting answers); slashing is keyed by the offender, so repeats are harmless.
    pub fn id(&self) -> Hash {
        let mut h = Hasher::new(PROOF_ID_DOMAIN);
        h.update(&self.encode());
        h.finalize()
    }

    /// The proof as a frame of kind [`crate::wire::FRAUD_PROOF`].
    pub fn to_frame(&self) -> Bytes {
        wire::frame_from_payload(crate::wire::FRAUD_PROOF, &self.encode())
    }

    /// Decode a proof frame (limits enforced before anything is allocated), check that it is
    /// canonically encoded, and verify it.
    pub fn from_frame(frame: &Bytes, limits: &Limits) -> Result<(Self, Offence), FraudError> {
        let payload = wire::decode_frame_of(frame, crate::wire::FRAUD_PROOF, limits)?;
        let proof: FraudProof = wire::decode_cbor(&payload, limits)?;
        if proof.encode() != payload.as_ref() {
            return Err(FraudError::NotCanonical);
        }
        let offence = proof.verify(limits)?;
        Ok((proof, offence))
    }

    fn encode(&self) -> Vec<u8> {
        wire::encode_cbor(self).expect("encoding a proof into memory cannot fail")
    }
}

impl From<EquivocationProof> for FraudProof {
    fn from(p: EquivocationProof) -> Self {
        FraudProof::Equivocation(p)
    }
}

impl From<ChainForkProof> for FraudProof {
    fn from(p: ChainForkProof) -> Self {
        FraudProof::ChainFork(p)
    }
}

fn verify_receipt_contradiction(package: &[u8], limits: &Limits) -> Result<AgentId, FraudError> {
    let part = ProofPart::Package;
    let pkg = Signed::<EvidencePackage>::from_envelope(package, limits)
        .map_err(|error| FraudError::Part { part, error })?;
    pkg.check_bounds()
        .map_err(|error| FraudError::Bounds { part, error })?;
    // No time window: timing depends on a requester's view and proves nothing here.
    let chain = examine_chain(pkg.value(), limits, None);
    if let Some(f) = chain.faults.into_iter().find(EvidenceFault::breaks_chain) {
        return Err(FraudError::BrokenChain(f));
    }
    match chain.end_mismatch {
        Some(_) => Ok(pkg.signer()),
        None => Err(FraudError::NotAContradiction(
            "the chain ends in the package's result",
        )),
    }
}

fn verify_answer_contradiction(
    commitment: &[u8],
    answer: &[u8],
    limits: &Limits,
) -> Result<AgentId, FraudError> {
    let c = Signed::<Commitment>::from_envelope(commitment, limits).map_err(|error| {
        FraudError::Part {
            part: ProofPart::Commitment,
            error,
        }
    })?;
    let a = Signed::<Answer>::from_envelope(answer, limits).map_err(|error| FraudError::Part {
        part: ProofPart::Answer,
        error,
    })?;
    a.check_bounds().map_err(|error| FraudError::Bounds {
        part: ProofPart::Answer,
        error,
    })?;
    check_answer_conflict(&c, &a)?;
    Ok(c.signer())
}

fn check_answer_conflict(c: &Signed<Commitment>, a: &Signed<Answer>) -> Result<(), FraudError> {
    if c.signer() != a.signer() {
        return Err(FraudError::NotAContradiction("different agents"));
    }
    if c.subject != a.subject {
        return Err(FraudError::NotAContradiction("different subjects"));
    }
    if c.value_hash == a.value_hash() {
        return Err(FraudError::NotAContradiction(
            "the answer opens the commitment",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::{ReceiptChain, TaskId, ToolReceipt, payload_hash};
    use agentnet_core::Keypair;
    use agentnet_core::test_support::wall_ms;

    #[test]
    fn answer_contradiction_does_not_depend_on_time_order() {
        let kp = Keypair::from_seed([1; 32]);
        let s = Hash([2; 32]);
        let c = Signed::sign(&kp, Commitment::new(kp.id(), s, b"a", wall_ms(100))).unwrap();
        // The answer is stamped before the commitment: still one agent saying two things.
        let a = Answer::sign(&kp, s, b"b".to_vec(), wall_ms(0)).unwrap();
        let p = FraudProof::answer_contradiction(&c, &a).unwrap();
        let o = p.verify(&Limits::default()).unwrap();
        assert_eq!(
            (o.offender, o.kind),
            (kp.id(), FraudKind::AnswerContradiction)
        );
    }

    #[test]
    fn oversized_answers_are_refused() {
        let kp = Keypair::from_seed([1; 32]);
        let s = Hash([2; 32]);
        let c = Signed::sign(&kp, Commitment::new(kp.id(), s, b"a", wall_ms(0))).unwrap();
        let big = Answer {
            agent: kp.id(),
            subject: s,
            value: vec![0; crate::evidence::MAX_ANSWER_LEN + 1],
            issued_at: wall_ms(1),
        };
        let a = Signed::sign(&kp, big).unwrap();
        let p = FraudProof::AnswerContradiction {
            commitment: Bytes::from(c.to_envelope()),
            answer: Bytes::from(a.to_envelope()),
        };
        assert!(matches!(
            p.verify(&Limits::default()),
            Err(FraudError::Bounds {
                part: ProofPart::Answer,
                ..
            })
        ));
        assert!(FraudProof::answer_contradiction(&c, &a).is_err());
    }

    #[test]
    fn receipt_contradiction_ignores_timing() {
        // Times are a requester's matter: a chain with an inverted receipt still binds.
        let kp = Keypair::from_seed([1; 32]);
        let task = TaskId(Hash([3; 32]));
        let r = Signed::sign(
            &kp,
            ToolReceipt {
                agent: kp.id(),
                task,
                step: 0,
                tool: "x".into(),
                input_hash: payload_hash(b"i"),
                output_hash: payload_hash(b"o"),
                started_at: wall_ms(9),
                ended_at: wall_ms(1),
                prev: None,
            },
        )
        .unwrap();
        let pkg = Signed::sign(
            &kp,
            EvidencePackage {
                agent: kp.id(),
                task,
                result_hash: payload_hash(b"other"),
                receipts: vec![Bytes::from(r.to_envelope())],
                attestation: None,
            },
        )
        .unwrap();
        let p = FraudProof::receipt_contradiction(&pkg, &Limits::default()).unwrap();
        assert_eq!(p.kind(), FraudKind::ReceiptContradiction);
        // And an honest chain of the builder is never one.
        let mut c = ReceiptChain::new(kp.id(), task);
        c.record(
            &kp,
            "x",
            Hash([0; 32]),
            Hash([1; 32]),
            wall_ms(0),
            wall_ms(1),
        )
        .unwrap();
        let honest = c.finish(&kp, Hash([1; 32]), None).unwrap();
        assert!(FraudProof::receipt_contradiction(&honest, &Limits::default()).is_err());
    }

    #[test]
    fn kinds_print() {
        assert_eq!(FraudKind::ChainFork.to_string(), "chain fork");
        assert_eq!(ProofPart::Answer.to_string(), "answer");
    }
}
