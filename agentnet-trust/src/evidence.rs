//! Tier-3 evidence: signed tool receipts, evidence packages, attestations, and signed
//! commitments and answers (DESIGN §6).
//!
//! # What this module does
//!
//! - Defines the signed objects a provider produces while it works: one [`ToolReceipt`] per
//!   tool call, hash-linked into a chain, and an [`EvidencePackage`] that binds the chain to a
//!   task and to the hash of the result it delivered, optionally with an [`Attestation`]
//!   (e.g. a TEE quote) checked by a pluggable [`AttestationVerifier`].
//! - Verifies a received package against what the requester expects ([`EvidencePolicy`]) with
//!   [`verify_evidence`], which reports **every** fault it finds ([`EvidenceReport`]), each
//!   with the receipt index where one applies. Only a clean package yields a
//!   [`VerifiedEvidence`], a type nothing else can construct, so whatever accepts it (the
//!   interaction ledger) is fed only by verified interactions.
//! - Offers builders for honest providers ([`ReceiptChain`], [`EvidencePackage::build`]) that
//!   cannot produce a self-contradicting package.
//! - Defines [`Commitment`] and [`Answer`] for commit/reveal exchanges.
//!
//! # What it does not do
//!
//! It performs no I/O and reads no clock: the time window comes in through the policy. It
//! does not decide what a fault costs the provider (the verification engine and the ledger
//! do), and it does not judge whether a fault is provable to third parties — that is
//! [`crate::fraud`], which turns a self-contradicting package into a [`FraudProof`].
//!
//! # The chain rules
//!
//! A package for task `t` by provider `p` holds receipts `r[0..n]`, `1 <= n <=`
//! [`MAX_RECEIPTS`], each an envelope exactly as signed (never re-encoded), such that:
//!
//! 1. every `r[i]` is signed by `p` and names task `t`;
//! 2. `r[i].step == i` (steps count from 0 without gaps);
//! 3. `r[0].prev` is `None` and `r[i].prev` is the hash of `r[i-1]`'s signed body
//!    ([`Signed::hash`]);
//! 4. `started_at <= ended_at`, and both lie in the requester's window
//!    `[task start - skew, delivery + skew]`;
//! 5. **the last receipt's output is the delivered result**:
//!    `r[n-1].output_hash == package.result_hash`. A provider that post-processes the last tool
//!    output records that step as a receipt of its own (e.g. tool `"format"`).
//!
//! Rules 1–3 and 5 involve only the provider's own signatures, so an honest provider never
//! breaks them; a package that satisfies 1–3 but breaks 5 is therefore a self-contained proof
//! of fraud ([`FraudProof::receipt_contradiction`]). Rule 4 and the comparison with the bytes
//! the requester actually received depend on the requester's own view and are reported, but
//! prove nothing to third parties.
//!
//! # Hashes
//!
//! Tool inputs and outputs and delivered results are hashed with [`payload_hash`]
//! (BLAKE3 in the [`domain::PAYLOAD`] domain), so a requester can check a result it
//! received against the package without knowing anything about the tools.
//!
//! [`FraudProof`]: crate::fraud::FraudProof
//! [`FraudProof::receipt_contradiction`]: crate::fraud::FraudProof::receipt_contradiction

use core::fmt;
use core::time::Duration;
use std::collections::BTreeSet;

use agentnet_core::hash::{Hasher, domain};
use agentnet_core::identity::SignatureError;
use agentnet_core::signed::SignedError;
use agentnet_core::wire::{self, Limits, MessageKind, WireError};
use agentnet_core::{AgentId, Hash, Signed, SignedObject, Signer, WallTime};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most receipts one package may carry, whatever the policy says. Receipts; fixed at 256.
/// A receipt envelope is about 340 bytes and a package body is one byte string inside its
/// envelope (and inside a fraud proof), so the default [`Limits::max_bytes_len`] of 16 KiB
/// admits packages of about 45 receipts; a full package of 256 needs about 88 KiB for both
/// [`Limits::max_bytes_len`] and [`Limits::max_frame`].
pub const MAX_RECEIPTS: usize = 256;
/// Longest tool name. Bytes of UTF-8; fixed at 128; names must also be non-empty.
pub const MAX_TOOL_NAME_LEN: usize = 128;
/// Longest attestation format name. Bytes of UTF-8; fixed at 64; must be non-empty.
pub const MAX_ATTESTATION_FORMAT_LEN: usize = 64;
/// Largest attestation blob. Bytes; fixed at 8 192 (a TEE quote with its certificate chain
/// reference fits; full certificate chains are fetched by the verifier, not carried).
pub const MAX_ATTESTATION_LEN: usize = 8 * 1024;
/// Largest answer value. Bytes; fixed at 8 192.
pub const MAX_ANSWER_LEN: usize = 8 * 1024;
/// Most tools an [`EvidencePolicy`] may require. Tools; fixed at 32.
pub const MAX_REQUIRED_TOOLS: usize = 32;

/// Domain of [`Commitment::value_hash`].
const COMMITTED_VALUE_DOMAIN: &str = "agentnet/v1/committed-value";
/// Domain of [`EvidencePackage::receipts_digest`].
const RECEIPT_LIST_DOMAIN: &str = "agentnet/v1/receipt-list";
/// Domain of [`AttestedClaim::digest`].
const ATTESTED_CLAIM_DOMAIN: &str = "agentnet/v1/attested-claim";

/// The hash of a tool input, tool output or delivered result: BLAKE3 of the exact bytes in
/// the [`domain::PAYLOAD`] domain.
pub fn payload_hash(bytes: &[u8]) -> Hash {
    Hash::digest(domain::PAYLOAD, bytes)
}

/// Serde for [`Bytes`] as one CBOR byte string (the `bytes` crate has no serde support here).
pub(crate) mod bytes_field {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        let buf = serde_bytes::ByteBuf::deserialize(d)?;
        Ok(Bytes::from(buf.into_vec()))
    }
}

/// Serde for a list of [`Bytes`] as a CBOR array of byte strings.
mod bytes_list {
    use bytes::Bytes;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(list: &[Bytes], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for b in list {
            seq.serialize_element(serde_bytes::Bytes::new(b))?;
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Bytes>, D::Error> {
        // The frame was structure-checked against the limits before decoding, so the count
        // and every length here are already bounded by bytes the receiver holds.
        let list = Vec::<serde_bytes::ByteBuf>::deserialize(d)?;
        Ok(list
            .into_iter()
            .map(|b| Bytes::from(b.into_vec()))
            .collect())
    }
}

/// What a task is called: a hash chosen by the requester (e.g. of the task description and a
/// nonce). Receipts, packages and outcomes name tasks by it.
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct TaskId(pub Hash);

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task:{}", self.0)
    }
}

// ---------------------------------------------------------------------------------------------
// Receipts
// ---------------------------------------------------------------------------------------------

/// A signed record of one tool call, made by the agent that ran the tool. See the module docs
/// for the chain rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolReceipt {
    /// The agent that ran the tool; must be the signer.
    pub agent: AgentId,
    /// The task the call belongs to.
    pub task: TaskId,
    /// Position in the chain, from 0 without gaps.
    pub step: u32,
    /// The tool's name, 1..=[`MAX_TOOL_NAME_LEN`] bytes.
    pub tool: String,
    /// [`payload_hash`] of the tool input.
    pub input_hash: Hash,
    /// [`payload_hash`] of the tool output.
    pub output_hash: Hash,
    /// When the call started (the agent's wall clock).
    pub started_at: WallTime,
    /// When the call ended; not before `started_at`.
    pub ended_at: WallTime,
    /// [`Signed::hash`] of the previous receipt; `None` exactly for step 0.
    pub prev: Option<Hash>,
}

impl SignedObject for ToolReceipt {
    const CONTEXT: &'static str = "agentnet/v1/tool-receipt";
    const KIND: MessageKind = crate::wire::TOOL_RECEIPT;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

impl ToolReceipt {
    /// Check the protocol bounds a decoder cannot express (tool name length).
    pub fn check_bounds(&self) -> Result<(), WireError> {
        check_name("tool name", &self.tool, MAX_TOOL_NAME_LEN)
    }
}

fn check_name(what: &str, s: &str, max: usize) -> Result<(), WireError> {
    if s.is_empty() || s.len() > max {
        return Err(WireError::Schema(format!(
            "{what} of {} bytes outside 1..={max}",
            s.len()
        )));
    }
    Ok(())
}

/// Why an evidence object could not be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvidenceError {
    /// Signing failed, or the signer is not the agent the object names.
    #[error(transparent)]
    Signed(#[from] SignedError),
    /// A field is outside its documented bounds (tool name, attestation, answer size).
    #[error("out of bounds: {0}")]
    Bounds(WireError),
    /// The chain already holds [`MAX_RECEIPTS`] receipts.
    #[error("a chain holds at most {MAX_RECEIPTS} receipts")]
    TooManyReceipts,
    /// A package needs at least one receipt.
    #[error("a package needs at least one receipt")]
    EmptyChain,
    /// A receipt ends before it starts.
    #[error("a tool call cannot end before it starts")]
    EndBeforeStart,
    /// The receipts do not form a chain by the signer for the task (receipt index).
    #[error("receipt {0} does not continue the chain")]
    NotAChain(usize),
    /// The last receipt's output is not the result (an honest package never says so).
    #[error("the last receipt's output is not the delivered result")]
    ResultNotChainEnd,
}

/// Builds a receipt chain for one task, signing each receipt with the correct step and
/// previous-receipt link. The honest way to produce evidence.
#[derive(Clone, Debug)]
pub struct ReceiptChain {
    agent: AgentId,
    task: TaskId,
    receipts: Vec<Signed<ToolReceipt>>,
}

impl ReceiptChain {
    /// An empty chain for `task`, to be signed by `agent`.
    pub fn new(agent: AgentId, task: TaskId) -> Self {
        ReceiptChain {
            agent,
            task,
            receipts: Vec::new(),
        }
    }

    /// Sign and append the receipt for the next tool call. `signer` must hold `agent`'s key.
    pub fn record<S: Signer + ?Sized>(
        &mut self,
        signer: &S,
        tool: &str,
        input_hash: Hash,
        output_hash: Hash,
        started_at: WallTime,
        ended_at: WallTime,
    ) -> Result<&Signed<ToolReceipt>, EvidenceError> {
        if self.receipts.len() >= MAX_RECEIPTS {
            return Err(EvidenceError::TooManyReceipts);
        }
        if ended_at < started_at {
            return Err(EvidenceError::EndBeforeStart);
        }
        let receipt = ToolReceipt {
            agent: self.agent,
            task: self.task,
            step: self.receipts.len() as u32,
            tool: tool.to_owned(),
            input_hash,
            output_hash,
            started_at,
            ended_at,
            prev: self.receipts.last().map(Signed::hash),
        };
        receipt.check_bounds().map_err(EvidenceError::Bounds)?;
        let signed = Signed::sign(signer, receipt)?;
        self.receipts.push(signed);
        Ok(self.receipts.last().expect("just pushed"))
    }

    /// The receipts so far, in order.
    pub fn receipts(&self) -> &[Signed<ToolReceipt>] {
        &self.receipts
    }

    /// Number of receipts so far.
    pub fn len(&self) -> usize {
        self.receipts.len()
    }

    /// Whether no receipt was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.receipts.is_empty()
    }

    /// The last tool output, which an honest package delivers as its result.
    pub fn last_output(&self) -> Option<Hash> {
        self.receipts.last().map(|r| r.output_hash)
    }

    /// The statement an attestation for this chain and `result_hash` must cover.
    pub fn claim(&self, result_hash: Hash) -> AttestedClaim {
        AttestedClaim::for_chain(self.agent, self.task, result_hash, &self.receipts)
    }

    /// Sign the package delivering `result_hash` (which must be the last output).
    pub fn finish<S: Signer + ?Sized>(
        &self,
        signer: &S,
        result_hash: Hash,
        attestation: Option<Attestation>,
    ) -> Result<Signed<EvidencePackage>, EvidenceError> {
        EvidencePackage::build(signer, self.task, result_hash, &self.receipts, attestation)
    }
}

// ---------------------------------------------------------------------------------------------
// Attestations
// ---------------------------------------------------------------------------------------------

/// A third-party statement about how the result was produced (e.g. a TEE quote), in a format
/// the [`AttestationVerifier`] recognises. It covers an [`AttestedClaim`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// Format name, e.g. `"sgx-dcap-quote"`; 1..=[`MAX_ATTESTATION_FORMAT_LEN`] bytes.
    pub format: String,
    /// The format-specific bytes, at most [`MAX_ATTESTATION_LEN`].
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

impl Attestation {
    /// Check the documented size bounds.
    pub fn check_bounds(&self) -> Result<(), WireError> {
        check_name(
            "attestation format",
            &self.format,
            MAX_ATTESTATION_FORMAT_LEN,
        )?;
        if self.bytes.len() > MAX_ATTESTATION_LEN {
            return Err(WireError::Schema(format!(
                "attestation of {} bytes exceeds {MAX_ATTESTATION_LEN}",
                self.bytes.len()
            )));
        }
        Ok(())
    }
}

/// What an attestation vouches for: this provider produced this result for this task through
/// exactly these receipts. It cannot cover the package itself (the package contains it), so
/// it covers the receipts by digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttestedClaim {
    /// The provider.
    pub provider: AgentId,
    /// The task.
    pub task: TaskId,
    /// The delivered result.
    pub result_hash: Hash,
    /// [`EvidencePackage::receipts_digest`] of the receipts.
    pub receipts_digest: Hash,
}

impl AttestedClaim {
    /// The claim for a chain of signed receipts.
    pub fn for_chain(
        provider: AgentId,
        task: TaskId,
        result_hash: Hash,
        receipts: &[Signed<ToolReceipt>],
    ) -> Self {
        let mut h = Hasher::new(RECEIPT_LIST_DOMAIN);
        for r in receipts {
            let env = r.to_envelope();
            h.update_u64(env.len() as u64).update(&env);
        }
        AttestedClaim {
            provider,
            task,
            result_hash,
            receipts_digest: h.finalize(),
        }
    }

    /// Fixed layout `provider ‖ task ‖ result_hash ‖ receipts_digest` (128 bytes), for
    /// attestation formats that sign a message.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[..32].copy_from_slice(self.provider.as_bytes());
        b[32..64].copy_from_slice(self.task.0.as_bytes());
        b[64..96].copy_from_slice(self.result_hash.as_bytes());
        b[96..].copy_from_slice(self.receipts_digest.as_bytes());
        b
    }

    /// A 32-byte digest of [`AttestedClaim::to_bytes`], for formats with a small report-data
    /// field (TEE quotes).
    pub fn digest(&self) -> Hash {
        Hash::digest(ATTESTED_CLAIM_DOMAIN, &self.to_bytes())
    }
}

/// Why an [`AttestationVerifier`] refused an attestation.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttestationRejected {
    /// The verifier does not check this format (nothing is known about the attestation).
    #[error("attestation format {format:?} is not supported: {reason}")]
    Unsupported {
        /// The format named by the attestation.
        format: String,
        /// Why (e.g. "no attestation format is trusted").
        reason: String,
    },
    /// The verifier checked the attestation and it is false or malformed.
    #[error("attestation is invalid: {0}")]
    Invalid(String),
}

/// Checks attestations. Implementations must be deterministic and pure (a TEE-quote verifier
/// takes its trusted roots and collateral as configuration, never fetches them).
///
/// Policy: an attestation the verifier finds [`Invalid`](AttestationRejected::Invalid) is a
/// fault even when the policy does not require one (the provider made a false claim); one it
/// does not [`support`](AttestationRejected::Unsupported) is a fault only when the policy
/// requires an attestation — otherwise the evidence is accepted as unattested.
pub trait AttestationVerifier {
    /// Accept `attestation` as vouching for `claim`, or say why not.
    fn verify(
        &self,
        claim: &AttestedClaim,
        attestation: &Attestation,
    ) -> Result<(), AttestationRejected>;
}

/// The default verifier: trusts no attestation format, so it accepts none and says so. With
/// it, policies that require attestation fail closed and all others treat evidence as
/// unattested.
#[derive(Clone, Copy, Debug, Default)]
pub struct RejectAllAttestations;

impl AttestationVerifier for RejectAllAttestations {
    fn verify(
        &self,
        _claim: &AttestedClaim,
        attestation: &Attestation,
    ) -> Result<(), AttestationRejected> {
        Err(AttestationRejected::Unsupported {
            format: attestation.format.clone(),
            reason: "no attestation format is trusted (RejectAllAttestations)".into(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Packages
// ---------------------------------------------------------------------------------------------

/// A provider-signed bundle binding a receipt chain to a task and to the delivered result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidencePackage {
    /// The provider; must be the signer and the signer of every receipt.
    pub agent: AgentId,
    /// The task.
    pub task: TaskId,
    /// [`payload_hash`] of the result the provider delivered.
    pub result_hash: Hash,
    /// The receipt envelopes ([`Signed::to_envelope`]) exactly as signed, in step order;
    /// 1..=[`MAX_RECEIPTS`].
    #[serde(with = "bytes_list")]
    pub receipts: Vec<Bytes>,
    /// An optional attestation over [`EvidencePackage::claim`].
    pub attestation: Option<Attestation>,
}

impl SignedObject for EvidencePackage {
    const CONTEXT: &'static str = "agentnet/v1/evidence-package";
    const KIND: MessageKind = crate::wire::EVIDENCE;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

impl EvidencePackage {
    /// Sign a package over `receipts`, refusing anything an honest provider would not sign:
    /// an empty or oversized chain, receipts not by the signer or not for `task`, a broken
    /// chain, a result that is not the last output, or an out-of-bounds attestation.
    pub fn build<S: Signer + ?Sized>(
        signer: &S,
        task: TaskId,
        result_hash: Hash,
        receipts: &[Signed<ToolReceipt>],
        attestation: Option<Attestation>,
    ) -> Result<Signed<EvidencePackage>, EvidenceError> {
        let agent = signer.agent_id();
        if receipts.is_empty() {
            return Err(EvidenceError::EmptyChain);
        }
        if receipts.len() > MAX_RECEIPTS {
            return Err(EvidenceError::TooManyReceipts);
        }
        let mut prev = None;
        for (i, r) in receipts.iter().enumerate() {
            if r.signer() != agent || r.task != task || r.step as usize != i || r.prev != prev {
                return Err(EvidenceError::NotAChain(i));
            }
            r.check_bounds().map_err(EvidenceError::Bounds)?;
            prev = Some(r.hash());
        }
        if receipts.last().map(|r| r.output_hash) != Some(result_hash) {
            return Err(EvidenceError::ResultNotChainEnd);
        }
        if let Some(a) = &attestation {
            a.check_bounds().map_err(EvidenceError::Bounds)?;
        }
        let package = EvidencePackage {
            agent,
            task,
            result_hash,
            receipts: receipts
                .iter()
                .map(|r| Bytes::from(r.to_envelope()))
                .collect(),
            attestation,
        };
        Ok(Signed::sign(signer, package)?)
    }

    /// Digest of the receipt envelopes: each envelope's length (u64 LE) then its bytes, in
    /// order, in the domain `"agentnet/v1/receipt-list"`.
    pub fn receipts_digest(&self) -> Hash {
        let mut h = Hasher::new(RECEIPT_LIST_DOMAIN);
        for env in &self.receipts {
            h.update_u64(env.len() as u64).update(env);
        }
        h.finalize()
    }

    /// The statement the package's attestation must cover.
    pub fn claim(&self) -> AttestedClaim {
        AttestedClaim {
            provider: self.agent,
            task: self.task,
            result_hash: self.result_hash,
            receipts_digest: self.receipts_digest(),
        }
    }

    /// Check the bounds a decoder cannot express (receipt count, attestation sizes).
    pub fn check_bounds(&self) -> Result<(), WireError> {
        if self.receipts.len() > MAX_RECEIPTS {
            return Err(WireError::Schema(format!(
                "{} receipts exceed {MAX_RECEIPTS}",
                self.receipts.len()
            )));
        }
        if let Some(a) = &self.attestation {
            a.check_bounds()?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Verification
// ---------------------------------------------------------------------------------------------

/// What the requester expects of a package. Everything here comes from the requester's own
/// view: the task it issued, whom it gave it to, the bytes it received and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidencePolicy {
    /// The task the requester issued.
    pub task: TaskId,
    /// The provider it delegated to.
    pub provider: AgentId,
    /// [`payload_hash`] of the result bytes the requester actually received.
    pub delivered_result: Hash,
    /// Whether an accepted attestation is required. Default `false`.
    pub require_attestation: bool,
    /// Tools that must appear in the chain (any step). Default empty; at most
    /// [`MAX_REQUIRED_TOOLS`].
    pub required_tools: BTreeSet<String>,
    /// When the task started (requester's clock); receipts may not start earlier.
    pub not_before: WallTime,
    /// When the result was delivered (requester's clock); receipts may not end later.
    pub not_after: WallTime,
    /// Clock skew allowed on both ends of the window. Default 30 s; range 0..=10 min.
    pub max_skew: Duration,
    /// Most receipts accepted. Receipts; default 32; range 1..=[`MAX_RECEIPTS`]. A package
    /// with more is refused without examining its receipts, so the cost of verification is
    /// bounded by this number of signature checks plus one.
    pub max_receipts: usize,
}

/// Why an [`EvidencePolicy`] is unusable (a local configuration error; verification fails
/// closed).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// More than [`MAX_REQUIRED_TOOLS`] required tools.
    #[error("{0} required tools exceed {MAX_REQUIRED_TOOLS}")]
    TooManyRequiredTools(usize),
    /// `max_receipts` outside 1..=[`MAX_RECEIPTS`].
    #[error("max_receipts {0} outside 1..={MAX_RECEIPTS}")]
    MaxReceipts(usize),
    /// `max_skew` above 10 minutes.
    #[error("max_skew {0:?} above 10 min")]
    Skew(Duration),
    /// `not_after` is before `not_before`.
    #[error("time window ends before it starts")]
    EmptyWindow,
}

impl EvidencePolicy {
    /// Largest allowed [`EvidencePolicy::max_skew`].
    pub const MAX_SKEW: Duration = Duration::from_secs(600);

    /// A policy with the defaults: no attestation, no required tools, 30 s skew, 32 receipts.
    pub fn new(
        task: TaskId,
        provider: AgentId,
        delivered_result: Hash,
        not_before: WallTime,
        not_after: WallTime,
    ) -> Self {
        EvidencePolicy {
            task,
            provider,
            delivered_result,
            require_attestation: false,
            required_tools: BTreeSet::new(),
            not_before,
            not_after,
            max_skew: Duration::from_secs(30),
            max_receipts: 32,
        }
    }

    /// This policy, also requiring an accepted attestation.
    pub fn with_attestation(mut self) -> Self {
        self.require_attestation = true;
        self
    }

    /// This policy, also requiring `tool` to appear in the chain.
    pub fn with_required_tool(mut self, tool: &str) -> Self {
        self.required_tools.insert(tool.to_owned());
        self
    }

    /// Check the documented ranges.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.required_tools.len() > MAX_REQUIRED_TOOLS {
            return Err(PolicyError::TooManyRequiredTools(self.required_tools.len()));
        }
        if !(1..=MAX_RECEIPTS).contains(&self.max_receipts) {
            return Err(PolicyError::MaxReceipts(self.max_receipts));
        }
        if self.max_skew > Self::MAX_SKEW {
            return Err(PolicyError::Skew(self.max_skew));
        }
        if self.not_after < self.not_before {
            return Err(PolicyError::EmptyWindow);
        }
        Ok(())
    }
}

/// One thing wrong with a package. `index` is the receipt's position in the package.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvidenceFault {
    /// The requester's policy is out of range; nothing was checked.
    #[error("invalid policy: {0}")]
    InvalidPolicy(PolicyError),
    /// The package envelope or body is malformed or over a limit; nothing else was checked.
    #[error("malformed package: {0}")]
    MalformedPackage(WireError),
    /// The package signature does not verify; its content is attributable to no one, so
    /// nothing else was checked.
    #[error("package signature does not verify: {0}")]
    BadPackageSignature(SignatureError),
    /// The package names an author other than its signer; nothing else was checked.
    #[error("package signed by {signer} names {author} as its author")]
    PackageSignerMismatch {
        /// Who signed.
        signer: AgentId,
        /// Whom the package names.
        author: AgentId,
    },
    /// The package is by someone other than the provider the requester delegated to.
    #[error("package by {found}, expected {expected}")]
    WrongProvider {
        /// The provider the requester delegated to.
        expected: AgentId,
        /// The package's signer.
        found: AgentId,
    },
    /// The package is for another task.
    #[error("package for {found}, expected {expected}")]
    WrongTask {
        /// The requester's task.
        expected: TaskId,
        /// The package's task.
        found: TaskId,
    },
    /// The package claims a result other than the bytes the requester received.
    #[error("package claims result {claimed}, requester received {delivered}")]
    ResultMismatch {
        /// Hash of what the requester received.
        delivered: Hash,
        /// The package's `result_hash`.
        claimed: Hash,
    },
    /// The package has no receipts.
    #[error("package has no receipts")]
    NoReceipts,
    /// The package has more receipts than the policy allows; receipts were not examined.
    #[error("{count} receipts exceed the limit of {max}")]
    TooManyReceipts {
        /// Receipts in the package.
        count: usize,
        /// The policy's limit.
        max: usize,
    },
    /// A receipt envelope or body is malformed or out of bounds.
    #[error("receipt {index} is malformed: {error}")]
    MalformedReceipt {
        /// Receipt position.
        index: usize,
        /// What is wrong.
        error: WireError,
    },
    /// A receipt's signature does not verify, or it names an agent other than its signer.
    #[error("receipt {index} is not validly signed")]
    BadReceiptSignature {
        /// Receipt position.
        index: usize,
    },
    /// A receipt is validly signed, but not by the package's provider.
    #[error("receipt {index} is signed by {signer}, not the provider")]
    ReceiptNotByProvider {
        /// Receipt position.
        index: usize,
        /// Who signed it.
        signer: AgentId,
    },
    /// A receipt names another task.
    #[error("receipt {index} is for {found}")]
    ReceiptWrongTask {
        /// Receipt position.
        index: usize,
        /// The task it names.
        found: TaskId,
    },
    /// A receipt's step is not its position.
    #[error("receipt {index} has step {found}, expected {expected}")]
    StepOutOfOrder {
        /// Receipt position.
        index: usize,
        /// Expected step (the position).
        expected: u32,
        /// Step found.
        found: u32,
    },
    /// A receipt's `prev` is not the hash of the receipt before it (or is set on step 0).
    #[error("receipt {index} does not link to the receipt before it")]
    BrokenLink {
        /// Receipt position.
        index: usize,
    },
    /// A receipt ends before it starts.
    #[error("receipt {index} ends before it starts")]
    StartAfterEnd {
        /// Receipt position.
        index: usize,
    },
    /// A receipt lies outside the task's time window.
    #[error("receipt {index} lies outside the task's time window")]
    OutsideWindow {
        /// Receipt position.
        index: usize,
    },
    /// The last receipt's output is not the package's result (provable: see
    /// [`crate::fraud`]).
    #[error("last receipt outputs {final_output}, package claims {result_hash}")]
    FinalOutputMismatch {
        /// The last receipt's output hash.
        final_output: Hash,
        /// The package's result hash.
        result_hash: Hash,
    },
    /// A required tool appears in no valid receipt.
    #[error("required tool {tool:?} is missing")]
    RequiredToolMissing {
        /// The tool.
        tool: String,
    },
    /// The policy requires an attestation and the package has none.
    #[error("attestation required but missing")]
    AttestationMissing,
    /// The attestation was refused (see [`AttestationVerifier`] for when this is a fault).
    #[error("attestation rejected: {0}")]
    AttestationRejected(AttestationRejected),
}

impl EvidenceFault {
    /// The receipt position the fault is about, if any.
    pub fn index(&self) -> Option<usize> {
        match self {
            EvidenceFault::MalformedReceipt { index, .. }
            | EvidenceFault::BadReceiptSignature { index }
            | EvidenceFault::ReceiptNotByProvider { index, .. }
            | EvidenceFault::ReceiptWrongTask { index, .. }
            | EvidenceFault::StepOutOfOrder { index, .. }
            | EvidenceFault::BrokenLink { index }
            | EvidenceFault::StartAfterEnd { index }
            | EvidenceFault::OutsideWindow { index } => Some(*index),
            _ => None,
        }
    }

    /// Whether the fault means the receipts are not one intact chain by the provider for the
    /// task (chain rules 1–3). Only a package with no such fault can prove a contradiction.
    pub fn breaks_chain(&self) -> bool {
        matches!(
            self,
            EvidenceFault::NoReceipts
                | EvidenceFault::TooManyReceipts { .. }
                | EvidenceFault::MalformedReceipt { .. }
                | EvidenceFault::BadReceiptSignature { .. }
                | EvidenceFault::ReceiptNotByProvider { .. }
                | EvidenceFault::ReceiptWrongTask { .. }
                | EvidenceFault::StepOutOfOrder { .. }
                | EvidenceFault::BrokenLink { .. }
        )
    }
}

/// The outcome of a failed [`verify_evidence`]: every fault found, in a fixed order
/// (package-level faults, then receipts by index, then the chain end, required tools and the
/// attestation), plus the package itself when its signature verified — which is what
/// [`FraudProof::from_evidence_report`](crate::fraud::FraudProof::from_evidence_report)
/// needs to turn a provable fault into a fraud proof.
///
/// The list is bounded: at most a handful of faults per receipt, and at most
/// [`EvidencePolicy::max_receipts`] receipts are examined.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("evidence refused with {} fault(s); first: {}", .faults.len(), .faults.first().map(ToString::to_string).unwrap_or_default())]
pub struct EvidenceReport {
    faults: Vec<EvidenceFault>,
    // Boxed so a `Result<VerifiedEvidence, EvidenceReport>` stays small.
    package: Option<Box<Signed<EvidencePackage>>>,
}

impl EvidenceReport {
    /// Every fault found (never empty).
    pub fn faults(&self) -> &[EvidenceFault] {
        &self.faults
    }

    /// The package, if its signature verified (so its content is attributable to its signer).
    pub fn package(&self) -> Option<&Signed<EvidencePackage>> {
        self.package.as_deref()
    }

    /// Whether some fault satisfies `pred`.
    pub fn has(&self, pred: impl Fn(&EvidenceFault) -> bool) -> bool {
        self.faults.iter().any(pred)
    }

    /// The failure as something the ledger may count against the provider, if it is
    /// attributable to it: the package's signature verified (the provider signed what failed),
    /// the package is by the provider the requester delegated to, and the requester's own
    /// policy was valid. Otherwise `None` — a forged or garbled package, or one signed by
    /// someone else, says nothing about the provider.
    pub fn rejection(&self) -> Option<EvidenceRejection> {
        let package = self.package.as_ref()?;
        if self.has(|f| {
            matches!(
                f,
                EvidenceFault::InvalidPolicy(_) | EvidenceFault::WrongProvider { .. }
            )
        }) {
            return None;
        }
        Some(EvidenceRejection {
            provider: package.signer(),
            task: package.task,
            package_hash: package.hash(),
            faults: self.faults.len(),
        })
    }
}

/// A failed package attributable to its provider (see [`EvidenceReport::rejection`], the only
/// constructor). The ledger counts it as a failed interaction; it is not a fraud proof, since
/// most faults depend on the requester's own view (what it received, when).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRejection {
    provider: AgentId,
    task: TaskId,
    package_hash: Hash,
    faults: usize,
}

impl EvidenceRejection {
    /// The provider that signed the failed package.
    pub fn provider(&self) -> AgentId {
        self.provider
    }

    /// The task the package was for.
    pub fn task(&self) -> TaskId {
        self.task
    }

    /// [`Signed::hash`] of the package.
    pub fn package_hash(&self) -> Hash {
        self.package_hash
    }

    /// How many faults the verifier found.
    pub fn fault_count(&self) -> usize {
        self.faults
    }
}

/// A package that passed [`verify_evidence`]. Only `verify_evidence` constructs one, so an API
/// that takes `VerifiedEvidence` (the ledger's positive task outcomes) can only be fed by
/// verified interactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEvidence {
    provider: AgentId,
    task: TaskId,
    result_hash: Hash,
    package_hash: Hash,
    receipt_count: usize,
    attested: bool,
}

impl VerifiedEvidence {
    /// The provider that signed the package and every receipt.
    pub fn provider(&self) -> AgentId {
        self.provider
    }

    /// The task.
    pub fn task(&self) -> TaskId {
        self.task
    }

    /// The delivered result's hash (equal to what the requester received).
    pub fn result_hash(&self) -> Hash {
        self.result_hash
    }

    /// [`Signed::hash`] of the package.
    pub fn package_hash(&self) -> Hash {
        self.package_hash
    }

    /// Number of receipts in the chain.
    pub fn receipt_count(&self) -> usize {
        self.receipt_count
    }

    /// Whether the attestation verifier accepted an attestation.
    pub fn attested(&self) -> bool {
        self.attested
    }
}

/// Verify a package envelope ([`Signed::to_envelope`] bytes) against the requester's policy.
///
/// Signatures are verified strictly, one at a time (never batched), so the verdict is the one
/// any third party reaches on the same bytes. A package whose envelope or signature fails is
/// not read further. Otherwise every check runs and every fault is reported.
pub fn verify_evidence(
    package: &[u8],
    policy: &EvidencePolicy,
    attestations: &dyn AttestationVerifier,
    limits: &Limits,
) -> Result<VerifiedEvidence, EvidenceReport> {
    let refuse = |fault| EvidenceReport {
        faults: vec![fault],
        package: None,
    };
    if let Err(e) = policy.validate() {
        return Err(refuse(EvidenceFault::InvalidPolicy(e)));
    }
    let signed = match Signed::<EvidencePackage>::from_envelope(package, limits) {
        Ok(s) => s,
        Err(e) => return Err(refuse(signed_fault(e))),
    };
    verify_signed_evidence(signed, policy, attestations, limits)
}

/// [`verify_evidence`] for a frame of kind [`crate::wire::EVIDENCE`].
pub fn verify_evidence_frame(
    frame: &Bytes,
    policy: &EvidencePolicy,
    attestations: &dyn AttestationVerifier,
    limits: &Limits,
) -> Result<VerifiedEvidence, EvidenceReport> {
    match wire::decode_frame_of(frame, crate::wire::EVIDENCE, limits) {
        Ok(payload) => verify_evidence(&payload, policy, attestations, limits),
        Err(e) => Err(EvidenceReport {
            faults: vec![EvidenceFault::MalformedPackage(e)],
            package: None,
        }),
    }
}

/// [`verify_evidence`] for a package whose signature was already verified (it arrived as a
/// [`Signed`]). The receipts inside are still verified one by one.
pub fn verify_signed_evidence(
    package: Signed<EvidencePackage>,
    policy: &EvidencePolicy,
    attestations: &dyn AttestationVerifier,
    limits: &Limits,
) -> Result<VerifiedEvidence, EvidenceReport> {
    let mut faults = Vec::new();
    if let Err(e) = policy.validate() {
        faults.push(EvidenceFault::InvalidPolicy(e));
        return Err(EvidenceReport {
            faults,
            package: Some(Box::new(package)),
        });
    }
    if let Err(e) = package.check_bounds() {
        faults.push(EvidenceFault::MalformedPackage(e));
        return Err(EvidenceReport {
            faults,
            package: Some(Box::new(package)),
        });
    }
    let pkg = package.value();
    if package.signer() != policy.provider {
        faults.push(EvidenceFault::WrongProvider {
            expected: policy.provider,
            found: package.signer(),
        });
    }
    if pkg.task != policy.task {
        faults.push(EvidenceFault::WrongTask {
            expected: policy.task,
            found: pkg.task,
        });
    }
    if pkg.result_hash != policy.delivered_result {
        faults.push(EvidenceFault::ResultMismatch {
            delivered: policy.delivered_result,
            claimed: pkg.result_hash,
        });
    }

    let mut tools_seen: BTreeSet<String> = BTreeSet::new();
    if pkg.receipts.len() > policy.max_receipts {
        // Bounded work: an oversized package costs one signature check, not thousands.
        faults.push(EvidenceFault::TooManyReceipts {
            count: pkg.receipts.len(),
            max: policy.max_receipts,
        });
    } else {
        let lo = policy.not_before.saturating_sub(policy.max_skew);
        let hi = policy.not_after.saturating_add(policy.max_skew);
        let chain = examine_chain(pkg, limits, Some((lo, hi)));
        faults.extend(chain.faults);
        for r in chain.receipts.iter().flatten() {
            // Only receipts by the provider for this task count towards required tools.
            if r.signer() == pkg.agent && r.task == pkg.task {
                tools_seen.insert(r.tool.clone());
            }
        }
        if let Some(f) = chain.end_mismatch {
            faults.push(f);
        }
    }
    for tool in &policy.required_tools {
        if !tools_seen.contains(tool) {
            faults.push(EvidenceFault::RequiredToolMissing { tool: tool.clone() });
        }
    }

    let mut attested = false;
    match &pkg.attestation {
        None if policy.require_attestation => faults.push(EvidenceFault::AttestationMissing),
        None => {}
        Some(a) => match attestations.verify(&pkg.claim(), a) {
            Ok(()) => attested = true,
            Err(AttestationRejected::Unsupported { .. }) if !policy.require_attestation => {
                // Not a fault: the requester did not ask for an attestation and cannot judge
                // this one, so the evidence simply counts as unattested.
            }
            Err(e) => faults.push(EvidenceFault::AttestationRejected(e)),
        },
    }

    if !faults.is_empty() {
        return Err(EvidenceReport {
            faults,
            package: Some(Box::new(package)),
        });
    }
    Ok(VerifiedEvidence {
        provider: package.signer(),
        task: pkg.task,
        result_hash: pkg.result_hash,
        package_hash: package.hash(),
        receipt_count: pkg.receipts.len(),
        attested,
    })
}

fn signed_fault(e: SignedError) -> EvidenceFault {
    match e {
        SignedError::Wire(w) => EvidenceFault::MalformedPackage(w),
        SignedError::BadSignature(s) => EvidenceFault::BadPackageSignature(s),
        SignedError::SignerMismatch { signer, author } => {
            EvidenceFault::PackageSignerMismatch { signer, author }
        }
        // Not produced on the receive path; report it as a malformed package all the same.
        other => EvidenceFault::MalformedPackage(WireError::Schema(other.to_string())),
    }
}

/// The result of walking a package's receipts.
pub(crate) struct ChainExamination {
    /// Receipt faults in index order (chain rules 1–4).
    pub(crate) faults: Vec<EvidenceFault>,
    /// Each receipt that verified and is within bounds, by index.
    pub(crate) receipts: Vec<Option<Signed<ToolReceipt>>>,
    /// Chain rule 5, when the last receipt could be read and breaks it.
    pub(crate) end_mismatch: Option<EvidenceFault>,
}

/// Walk the receipts of a package whose signature verified: verify each strictly and alone,
/// check signer, task, step and link, and (if `window` is given) the time window. The caller
/// bounds the receipt count. A receipt that cannot be read yields one fault, and the next
/// receipt's link is not judged (its predecessor's hash is unknown), so faults do not cascade.
pub(crate) fn examine_chain(
    pkg: &EvidencePackage,
    limits: &Limits,
    window: Option<(WallTime, WallTime)>,
) -> ChainExamination {
    let mut faults = Vec::new();
    let mut receipts = Vec::with_capacity(pkg.receipts.len());
    if pkg.receipts.is_empty() {
        faults.push(EvidenceFault::NoReceipts);
    }
    // Some(Some(h)) / Some(None): the previous receipt's hash (None before step 0);
    // None: the previous receipt could not be read.
    let mut prev: Option<Option<Hash>> = Some(None);
    for (index, env) in pkg.receipts.iter().enumerate() {
        let r = match Signed::<ToolReceipt>::from_envelope(env, limits) {
            Ok(r) => r,
            Err(SignedError::Wire(error)) => {
                faults.push(EvidenceFault::MalformedReceipt { index, error });
                receipts.push(None);
                prev = None;
                continue;
            }
            Err(_) => {
                faults.push(EvidenceFault::BadReceiptSignature { index });
                receipts.push(None);
                prev = None;
                continue;
            }
        };
        if let Err(error) = r.check_bounds() {
            faults.push(EvidenceFault::MalformedReceipt { index, error });
            receipts.push(None);
            prev = None;
            continue;
        }
        if r.signer() != pkg.agent {
            faults.push(EvidenceFault::ReceiptNotByProvider {
                index,
                signer: r.signer(),
            });
        }
        if r.task != pkg.task {
            faults.push(EvidenceFault::ReceiptWrongTask {
                index,
                found: r.task,
            });
        }
        let expected = u32::try_from(index).unwrap_or(u32::MAX);
        if r.step != expected {
            faults.push(EvidenceFault::StepOutOfOrder {
                index,
                expected,
                found: r.step,
            });
        }
        if let Some(p) = prev
            && r.prev != p
        {
            faults.push(EvidenceFault::BrokenLink { index });
        }
        if r.ended_at < r.started_at {
            faults.push(EvidenceFault::StartAfterEnd { index });
        }
        if let Some((lo, hi)) = window {
            let inside = |t: WallTime| lo <= t && t <= hi;
            if !inside(r.started_at) || !inside(r.ended_at) {
                faults.push(EvidenceFault::OutsideWindow { index });
            }
        }
        prev = Some(Some(r.hash()));
        receipts.push(Some(r));
    }
    let end_mismatch = match receipts.last() {
        Some(Some(last)) if last.output_hash != pkg.result_hash => {
            Some(EvidenceFault::FinalOutputMismatch {
                final_output: last.output_hash,
                result_hash: pkg.result_hash,
            })
        }
        _ => None,
    };
    ChainExamination {
        faults,
        receipts,
        end_mismatch,
    }
}

// ---------------------------------------------------------------------------------------------
// Commit / reveal
// ---------------------------------------------------------------------------------------------

/// A signed promise of an answer to come: "my answer to `subject` hashes to `value_hash`".
///
/// Commit/reveal: an agent first publishes a [`Commitment`] (so it cannot change its answer
/// after seeing others', e.g. sealed bids or independent canary answers), then the
/// [`Answer`]. Protocol rule: an agent commits **at most once per subject**, and subjects are
/// chosen unique per round (e.g. the hash of task id and round number). So an honest agent
/// never signs an answer that does not open its commitment for the same subject, and such a
/// pair is a fraud proof ([`FraudProof::answer_contradiction`]).
///
/// The commitment binds the subject: `value_hash = BLAKE3("agentnet/v1/committed-value",
/// subject ‖ value)`. It hides the value only as well as the value has entropy; an agent whose
/// answer is guessable (a yes/no, a small number) and must stay hidden until the reveal puts
/// a random salt inside the value (e.g. 16 leading bytes that the application strips).
///
/// [`FraudProof::answer_contradiction`]: crate::fraud::FraudProof::answer_contradiction
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// The committing agent; must be the signer.
    pub agent: AgentId,
    /// What the commitment is about (a task, question or round id).
    pub subject: Hash,
    /// [`Commitment::value_hash`] of the answer to come.
    pub value_hash: Hash,
    /// When the commitment was made (the agent's clock).
    pub issued_at: WallTime,
}

impl SignedObject for Commitment {
    const CONTEXT: &'static str = "agentnet/v1/commitment";
    const KIND: MessageKind = crate::wire::COMMITMENT;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

impl Commitment {
    /// The commitment to answering `value` on `subject`.
    pub fn new(agent: AgentId, subject: Hash, value: &[u8], issued_at: WallTime) -> Self {
        Commitment {
            agent,
            subject,
            value_hash: Self::value_hash(&subject, value),
            issued_at,
        }
    }

    /// The committed hash of `value` on `subject` (see the type docs).
    pub fn value_hash(subject: &Hash, value: &[u8]) -> Hash {
        let mut h = Hasher::new(COMMITTED_VALUE_DOMAIN);
        h.update(subject.as_bytes()).update(value);
        h.finalize()
    }

    /// Whether `answer` opens this commitment: same agent, same subject, matching value.
    pub fn is_opened_by(&self, answer: &Answer) -> bool {
        self.agent == answer.agent
            && self.subject == answer.subject
            && self.value_hash == answer.value_hash()
    }
}

/// A signed answer, revealing the value a [`Commitment`] promised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The answering agent; must be the signer.
    pub agent: AgentId,
    /// What the answer is about (the commitment's subject).
    pub subject: Hash,
    /// The answer, at most [`MAX_ANSWER_LEN`] bytes.
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
    /// When the answer was given (the agent's clock).
    pub issued_at: WallTime,
}

impl SignedObject for Answer {
    const CONTEXT: &'static str = "agentnet/v1/answer";
    const KIND: MessageKind = crate::wire::ANSWER;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

impl Answer {
    /// The value's hash as a commitment would state it.
    pub fn value_hash(&self) -> Hash {
        Commitment::value_hash(&self.subject, &self.value)
    }

    /// Check the documented size bound.
    pub fn check_bounds(&self) -> Result<(), WireError> {
        if self.value.len() > MAX_ANSWER_LEN {
            return Err(WireError::Schema(format!(
                "answer of {} bytes exceeds {MAX_ANSWER_LEN}",
                self.value.len()
            )));
        }
        Ok(())
    }

    /// Sign an answer, refusing one over the size bound.
    pub fn sign<S: Signer + ?Sized>(
        signer: &S,
        subject: Hash,
        value: Vec<u8>,
        issued_at: WallTime,
    ) -> Result<Signed<Answer>, EvidenceError> {
        let a = Answer {
            agent: signer.agent_id(),
            subject,
            value,
            issued_at,
        };
        a.check_bounds().map_err(EvidenceError::Bounds)?;
        Ok(Signed::sign(signer, a)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentnet_core::Keypair;

    fn t(ms: u64) -> WallTime {
        WallTime::from_unix_millis(1_800_000_000_000 + ms)
    }

    fn chain(kp: &Keypair, task: TaskId, n: usize) -> ReceiptChain {
        let mut c = ReceiptChain::new(kp.id(), task);
        for i in 0..n {
            let out = payload_hash(format!("out{i}").as_bytes());
            c.record(
                kp,
                "search",
                payload_hash(b"in"),
                out,
                t(i as u64 * 10),
                t(i as u64 * 10 + 5),
            )
            .unwrap();
        }
        c
    }

    #[test]
    fn builder_links_and_refuses_dishonest_packages() {
        let kp = Keypair::from_seed([1; 32]);
        let task = TaskId(Hash([7; 32]));
        let c = chain(&kp, task, 3);
        let r = c.receipts();
        assert_eq!(r[0].prev, None);
        assert_eq!(r[1].prev, Some(r[0].hash()));
        assert_eq!(r[2].step, 2);
        let last = c.last_output().unwrap();
        assert!(c.finish(&kp, last, None).is_ok());
        assert_eq!(
            c.finish(&kp, Hash([0; 32]), None),
            Err(EvidenceError::ResultNotChainEnd)
        );
        let other = Keypair::from_seed([2; 32]);
        assert_eq!(
            EvidencePackage::build(&other, task, last, r, None),
            Err(EvidenceError::NotAChain(0))
        );
        let mut skipped = r.to_vec();
        skipped.remove(1);
        assert_eq!(
            EvidencePackage::build(&kp, task, last, &skipped, None),
            Err(EvidenceError::NotAChain(1))
        );
        assert_eq!(
            EvidencePackage::build(&kp, task, last, &[], None),
            Err(EvidenceError::EmptyChain)
        );
        let mut c2 = ReceiptChain::new(kp.id(), task);
        assert_eq!(
            c2.record(&kp, "x", Hash([0; 32]), Hash([0; 32]), t(5), t(1))
                .unwrap_err(),
            EvidenceError::EndBeforeStart
        );
        assert!(matches!(
            c2.record(&kp, "", Hash([0; 32]), Hash([0; 32]), t(1), t(1)),
            Err(EvidenceError::Bounds(_))
        ));
        assert!(matches!(
            c2.record(&other, "x", Hash([0; 32]), Hash([0; 32]), t(1), t(1)),
            Err(EvidenceError::Signed(SignedError::SignerMismatch { .. }))
        ));
    }

    #[test]
    fn claim_of_chain_equals_claim_of_package() {
        let kp = Keypair::from_seed([1; 32]);
        let c = chain(&kp, TaskId(Hash([7; 32])), 2);
        let res = c.last_output().unwrap();
        let p = c.finish(&kp, res, None).unwrap();
        assert_eq!(c.claim(res), p.claim());
        assert_ne!(c.claim(res).digest(), c.claim(Hash([1; 32])).digest());
    }

    #[test]
    fn policy_validation() {
        let p = EvidencePolicy::new(
            TaskId::default(),
            AgentId::from_bytes([0; 32]),
            Hash::default(),
            t(0),
            t(1),
        );
        assert_eq!(p.validate(), Ok(()));
        let bad = EvidencePolicy {
            max_receipts: 0,
            ..p.clone()
        };
        assert_eq!(bad.validate(), Err(PolicyError::MaxReceipts(0)));
        let bad = EvidencePolicy {
            not_after: t(0),
            not_before: t(1),
            ..p.clone()
        };
        assert_eq!(bad.validate(), Err(PolicyError::EmptyWindow));
        let mut bad = p;
        for i in 0..=MAX_REQUIRED_TOOLS {
            bad = bad.with_required_tool(&format!("t{i}"));
        }
        assert!(matches!(
            bad.validate(),
            Err(PolicyError::TooManyRequiredTools(_))
        ));
    }

    #[test]
    fn commitments_open_only_with_the_same_value_and_subject() {
        let kp = Keypair::from_seed([3; 32]);
        let s = Hash([4; 32]);
        let c = Commitment::new(kp.id(), s, b"42", t(0));
        let a = Answer::sign(&kp, s, b"42".to_vec(), t(1)).unwrap();
        assert!(c.is_opened_by(&a));
        let b = Answer::sign(&kp, s, b"43".to_vec(), t(1)).unwrap();
        assert!(!c.is_opened_by(&b));
        let other_subject = Answer::sign(&kp, Hash([5; 32]), b"42".to_vec(), t(1)).unwrap();
        assert!(!c.is_opened_by(&other_subject));
        assert!(matches!(
            Answer::sign(&kp, s, vec![0; MAX_ANSWER_LEN + 1], t(1)),
            Err(EvidenceError::Bounds(_))
        ));
    }
}
