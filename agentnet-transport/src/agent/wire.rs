//! The adaptation layer's own frames (`0x04xx`): the link handshake that tells an agent which
//! verified identity sits behind a link, and task payloads sealed to their recipient.
//!
//! | kind | frame | signed | purpose |
//! |---|---|---|---|
//! | `0x0401` | [`Hello`] | no | a fresh random challenge, sent when a link comes up |
//! | `0x0402` | `Signed<HelloProof>` | by the answering agent | the challenge, signed: the link leads to this agent |
//! | `0x0410` | [`Chunk`] | no (sealed) | one piece of a sealed task input or result |
//! | `0x0411` | [`Resend`] | no | the receiver is missing these pieces |
//!
//! Chunks carry no signature: their bytes are checked after reassembly against the hash the
//! counterparty signed in the session (DELEGATE names the input hash, DELIVER the result
//! hash), and they are sealed to the recipient's X25519 key, so a relay or an impostor can
//! delay a transfer but never change or read it.

use agentnet_core::wire::MessageKind;
use agentnet_core::{AgentId, SignedObject};
use agentnet_mech::session::SessionId;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// [`Hello`].
pub const HELLO: MessageKind = agentnet_core::wire::kinds::HELLO;
/// `Signed<HelloProof>`.
pub const HELLO_PROOF: MessageKind = agentnet_core::wire::kinds::HELLO_PROOF;
/// [`Chunk`].
pub const CHUNK: MessageKind = agentnet_core::wire::kinds::CHUNK;
/// [`Resend`].
pub const RESEND: MessageKind = agentnet_core::wire::kinds::RESEND;

/// A link handshake challenge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Random, fresh per link.
    #[serde(with = "serde_bytes")]
    pub nonce: [u8; 16],
}

/// The answer to a [`Hello`]: "the agent at the end of the link you challenged with `nonce`
/// is `agent`". Binds a link to an identity for routing; it proves nothing else.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloProof {
    /// The challenge.
    #[serde(with = "serde_bytes")]
    pub nonce: [u8; 16],
    /// The answering agent (the signer).
    pub agent: AgentId,
}

impl SignedObject for HelloProof {
    const CONTEXT: &'static str = agentnet_core::hash::domain::HELLO_PROOF;
    const KIND: MessageKind = HELLO_PROOF;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

/// Which payload of a session a chunk belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Requester → provider: the task input.
    Input,
    /// Provider → requester: the result.
    Result,
}

/// One piece of a sealed payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// The session the payload belongs to.
    pub session: SessionId,
    /// Input or result.
    pub direction: Direction,
    /// This piece's position, from 0.
    pub index: u32,
    /// How many pieces the sealed payload has.
    pub count: u32,
    /// The piece.
    #[serde(with = "agentnet_core::bytes_serde::bytes")]
    pub data: Bytes,
}

/// A receiver's request to send pieces again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resend {
    /// The session.
    pub session: SessionId,
    /// Input or result.
    pub direction: Direction,
    /// The missing positions (at most 256 per request).
    pub missing: Vec<u32>,
}

/// The task input as the requester seals it: the capability asked for, the intent in words,
/// and the input bytes. The session's DELEGATE signs `payload_hash` of this encoding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskInput {
    /// The capability asked for.
    pub capability: String,
    /// What the requester wants, in words.
    pub intent: String,
    /// The input.
    #[serde(with = "agentnet_core::bytes_serde::bytes")]
    pub input: Bytes,
}
