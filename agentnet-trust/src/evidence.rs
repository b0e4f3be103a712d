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
const COMMITTED_VALUE_DOMAIN: &str = agentnet_core::hash::domain::COMMITTED_VALUE;
/// Domain of [`EvidencePackage::receipts_digest`].
const RECEIPT_LIST_DOMAIN: &str = agentnet_core::hash::domain::RECEIPT_LIST;
/// Domain of [`AttestedClaim::digest`].
const ATTESTED_CLAIM_DOMAIN: &str = agentnet_core::hash::domain::ATTESTED_CLAIM;

/// The hash of a tool input, tool output or delivered result: BLAKE3 of the exact bytes in
/// the [`domain::PAYLOAD`] domain.
pub fn payload_hash(bytes: &[u8]) -> Hash {
    Hash::digest(domain::PAYLOAD, bytes)
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

mod attestation;
mod commit;
mod package;
mod receipts;
mod verify;

pub use attestation::*;
pub use commit::*;
pub use package::*;
pub use receipts::*;
pub use verify::*;

#[cfg(test)]
mod tests;
