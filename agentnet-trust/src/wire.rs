//! Frame kinds of the trust plane (`0x0200..=0x02ff`).
//!
//! | kind | payload |
//! |---|---|
//! | `0x0201` | signed [`BindingEntry`](crate::baid) (one identity-chain entry) |
//! | `0x0202` | a [`FraudProof`](crate::fraud) |
//! | `0x0203` | signed issuer attestation over a principal commitment |
//! | `0x0204` | signed tool receipt |
//! | `0x0205` | signed evidence package |
//! | `0x0206` | signed commitment to an answer |
//! | `0x0207` | signed answer |
//! | `0x0208` | signed sparse per-topic trust report |
//! | `0x0209` | a chain-fork proof on its own (inside the agent protocol it travels as a `0x0202` fraud proof) |
//!
//! Canaries have no kinds of their own on purpose: a canary must travel exactly like real work
//! (the host's task messages), and its answer is a signed [`Answer`](crate::evidence::Answer).

use agentnet_core::wire::MessageKind;

/// One identity-chain entry (a signed binding).
pub const BINDING: MessageKind = agentnet_core::wire::kinds::BINDING;
/// A fraud proof of any kind.
pub const FRAUD_PROOF: MessageKind = agentnet_core::wire::kinds::FRAUD_PROOF;
/// An issuer attestation over a principal commitment.
pub const ATTESTATION: MessageKind = agentnet_core::wire::kinds::ATTESTATION;
/// A signed tool receipt.
pub const TOOL_RECEIPT: MessageKind = agentnet_core::wire::kinds::TOOL_RECEIPT;
/// A signed evidence package.
pub const EVIDENCE: MessageKind = agentnet_core::wire::kinds::EVIDENCE;
/// A signed commitment to an answer.
pub const COMMITMENT: MessageKind = agentnet_core::wire::kinds::COMMITMENT;
/// A signed answer.
pub const ANSWER: MessageKind = agentnet_core::wire::kinds::ANSWER;
/// A signed sparse per-topic trust report.
pub const TRUST_REPORT: MessageKind = agentnet_core::wire::kinds::TRUST_REPORT;
/// A chain-fork proof sent on its own
/// ([`ChainForkProof::to_frame`](crate::baid::ChainForkProof)); inside the agent protocol it
/// travels wrapped in a [`FRAUD_PROOF`].
pub const CHAIN_FORK_PROOF: MessageKind = agentnet_core::wire::kinds::CHAIN_FORK_PROOF;
