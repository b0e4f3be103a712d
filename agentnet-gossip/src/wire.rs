//! The gossip engine's wire messages.
//!
//! Every message is one agentnet frame (`[version][kind u16 BE][CBOR payload]`, see
//! [`agentnet_core::wire`]) with a kind in the gossip range `0x0100..=0x01ff`:
//!
//! | kind | message | class | what it does |
//! |---|---|---|---|
//! | `0x0101` | signed [`LogHeader`](crate::LogHeader) | publish / forward / repair | one log entry's header; never carries the body |
//! | `0x0102` | [`EquivocationProof`](crate::EquivocationProof) | control | two conflicting headers by one author |
//! | `0x0103` | [`Subscribe`] | control | the topics the sender joined and left |
//! | `0x0104` | [`Graft`] | control | "add me to your mesh for these topics" |
//! | `0x0105` | [`Prune`] | control | "I removed you from my mesh; do not graft before the backoff" |
//! | `0x0106` | [`IHave`] | control | short ids of headers the sender holds (lazy push) |
//! | `0x0107` | [`IWant`] | control | "send me these headers, and push eagerly to me again" |
//! | `0x0108` | [`Choke`] | control | "I got this author's header elsewhere first; send me only its ids" |
//! | `0x0109` | [`Digest`] | control | anti-entropy: one hash per bucket of the version vector |
//! | `0x010a` | [`Vector`] | repair | per-author log summaries (head, lowest held, count) of the buckets that differed |
//! | `0x010b` | [`Pull`] | control | "send me headers `from..=to` of this author's log" |
//! | `0x010c` | [`BodyRequest`] | control | "send me the body with this hash" (forwarded toward the author) |
//! | `0x010d` | [`Body`] | forward | a body, checked against the header's `body_hash` on arrival |
//! | `0x010e` | [`BodyMissing`] | control | "I cannot get that body"; the requester tries elsewhere |
//!
//! Headers and proofs are relayed as the exact bytes their author signed, so a relay never
//! re-encodes and a duplicate is recognised from its frame bytes alone
//! ([`frame_id`]) before anything is decoded or verified.
//!
//! **Short ids.** Lazy push and `IWant` name headers by the first 8 bytes of [`frame_id`]
//! ([`ShortId`]) to keep control traffic small. An attacker who grinds a header whose short id
//! collides with an honest one can at worst make a node skip an `IWant` for the honest header;
//! the node still learns it through eager push from another mesh peer or through anti-entropy,
//! which compares (author, seq) and does not use short ids.

use agentnet_core::descriptor::Topic;
use agentnet_core::wire::{self, Limits, MessageKind, WireError};
use agentnet_core::{AgentId, Hash};
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::fraud::EQUIVOCATION_KIND;
use crate::header::HEADER_KIND;

/// Domain of [`frame_id`].
pub const FRAME_ID_DOMAIN: &str = agentnet_core::hash::domain::GOSSIP_FRAME;
/// Domain of a log entry's `body_hash`.
pub const BODY_DOMAIN: &str = agentnet_core::hash::domain::GOSSIP_BODY;

/// Frame kinds of the gossip messages.
pub mod kind {
    use super::MessageKind;
    pub use crate::fraud::EQUIVOCATION_KIND as EQUIVOCATION;
    pub use crate::header::HEADER_KIND as HEADER;
    /// [`Subscribe`](super::Subscribe).
    pub const SUBSCRIBE: MessageKind = agentnet_core::wire::kinds::SUBSCRIBE;
    /// [`Graft`](super::Graft).
    pub const GRAFT: MessageKind = agentnet_core::wire::kinds::GRAFT;
    /// [`Prune`](super::Prune).
    pub const PRUNE: MessageKind = agentnet_core::wire::kinds::PRUNE;
    /// [`IHave`](super::IHave).
    pub const IHAVE: MessageKind = agentnet_core::wire::kinds::IHAVE;
    /// [`IWant`](super::IWant).
    pub const IWANT: MessageKind = agentnet_core::wire::kinds::IWANT;
    /// [`Choke`](super::Choke).
    pub const CHOKE: MessageKind = agentnet_core::wire::kinds::CHOKE;
    /// [`Digest`](super::Digest).
    pub const DIGEST: MessageKind = agentnet_core::wire::kinds::DIGEST;
    /// [`Vector`](super::Vector).
    pub const VECTOR: MessageKind = agentnet_core::wire::kinds::VECTOR;
    /// [`Pull`](super::Pull).
    pub const PULL: MessageKind = agentnet_core::wire::kinds::PULL;
    /// [`BodyRequest`](super::BodyRequest).
    pub const BODY_REQUEST: MessageKind = agentnet_core::wire::kinds::BODY_REQUEST;
    /// [`Body`](super::Body).
    pub const BODY: MessageKind = agentnet_core::wire::kinds::BODY;
    /// [`BodyMissing`](super::BodyMissing).
    pub const BODY_MISSING: MessageKind = agentnet_core::wire::kinds::BODY_MISSING;
}

/// The identity of a frame: BLAKE3 of its exact bytes in [`FRAME_ID_DOMAIN`].
pub fn frame_id(frame: &[u8]) -> Hash {
    Hash::digest(FRAME_ID_DOMAIN, frame)
}

/// The hash a header announces for `body`.
pub fn body_hash(body: &[u8]) -> Hash {
    Hash::digest(BODY_DOMAIN, body)
}

/// The first 8 bytes of a [`frame_id`], as used by lazy push. See the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShortId(pub u64);

impl ShortId {
    /// The short id of a frame id.
    pub fn of(id: &Hash) -> ShortId {
        let mut b = [0u8; 8];
        b.copy_from_slice(&id.0[..8]);
        ShortId(u64::from_be_bytes(b))
    }
}

/// Topics the sender joined and left. Sent on link-up (the full list) and on every change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribe {
    /// Topics joined.
    pub join: Vec<Topic>,
    /// Topics left.
    pub leave: Vec<Topic>,
}

/// Mesh membership request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Graft {
    /// The topics.
    pub topics: Vec<Topic>,
}

/// Mesh removal notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prune {
    /// The topic.
    pub topic: Topic,
    /// Do not graft again for this long, milliseconds.
    pub backoff_ms: u32,
}

/// Lazy push: ids of headers the sender holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IHave {
    /// The topic.
    pub topic: Topic,
    /// Short ids, oldest first.
    pub ids: Vec<ShortId>,
}

/// Request for announced headers; also asks the receiver to push eagerly to the sender again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IWant {
    /// The topic.
    pub topic: Topic,
    /// Short ids from an [`IHave`].
    pub ids: Vec<ShortId>,
}

/// "Send me only ids of this author's headers in this topic": the sender got a duplicate of
/// one from the receiver (each author has its own push tree; see the crate docs). Undone by an
/// [`IWant`] for one of the author's headers, a [`Graft`], or the link leaving the mesh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choke {
    /// The topic.
    pub topic: Topic,
    /// The author whose headers the sender no longer wants eagerly.
    pub author: AgentId,
}

/// Anti-entropy summary of one topic's version vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// The topic.
    pub topic: Topic,
    /// One 64-bit hash per author bucket (bucket = first byte of the author id modulo the
    /// bucket count) over the bucket's [`LogSummary`]s in author order; 0 for an empty bucket.
    pub buckets: Vec<u64>,
}

/// One author's log as the sender holds it, for anti-entropy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSummary {
    /// The author.
    pub author: AgentId,
    /// Highest seq held.
    pub head: u64,
    /// Lowest seq held.
    pub low: u64,
    /// Entries held between `low` and `head` (fewer than `head - low + 1` means gaps).
    pub count: u32,
}

/// Anti-entropy detail: the log summaries of some buckets of a topic's vector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vector {
    /// The topic.
    pub topic: Topic,
    /// Which buckets this covers (complete for each listed bucket).
    pub buckets: Vec<u16>,
    /// Log summaries, sorted by author.
    pub logs: Vec<LogSummary>,
}

/// Range pull of one author's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pull {
    /// The topic.
    pub topic: Topic,
    /// The author.
    pub author: AgentId,
    /// First seq wanted.
    pub from: u64,
    /// Last seq wanted (inclusive).
    pub to: u64,
}

/// Request for a body by hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyRequest {
    /// The `body_hash` from the header.
    pub hash: Hash,
    /// How many more times the request may be forwarded toward the author.
    pub hops: u8,
}

/// A body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    /// The `body_hash` it answers.
    pub hash: Hash,
    /// The body bytes (for descriptors: the signed descriptor frame).
    #[serde(with = "serde_bytes")]
    pub body: Vec<u8>,
}

/// Negative answer to a [`BodyRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyMissing {
    /// The hash asked for.
    pub hash: Hash,
}

/// A decoded gossip message (headers and proofs stay as frames; they are verified separately).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Message {
    /// A signed header frame, undecoded.
    Header(Bytes),
    /// An equivocation proof frame, undecoded.
    Equivocation(Bytes),
    /// See [`Subscribe`].
    Subscribe(Subscribe),
    /// See [`Graft`].
    Graft(Graft),
    /// See [`Prune`].
    Prune(Prune),
    /// See [`IHave`].
    IHave(IHave),
    /// See [`IWant`].
    IWant(IWant),
    /// See [`Choke`].
    Choke(Choke),
    /// See [`Digest`].
    Digest(Digest),
    /// See [`Vector`].
    Vector(Vector),
    /// See [`Pull`].
    Pull(Pull),
    /// See [`BodyRequest`].
    BodyRequest(BodyRequest),
    /// See [`Body`].
    Body(Body),
    /// See [`BodyMissing`].
    BodyMissing(BodyMissing),
}

fn enc<T: Serialize>(k: MessageKind, v: &T) -> Bytes {
    // Encoding plain structs of strings, byte strings and integers into a Vec cannot fail.
    wire::encode_frame(k, v).expect("gossip messages always encode")
}

fn dec<T: DeserializeOwned>(f: &Bytes, k: MessageKind, l: &Limits) -> Result<T, WireError> {
    wire::decode_frame_as(f, k, l)
}

impl Message {
    /// Encode as a frame. Header and proof frames are returned as they are.
    pub fn encode(&self) -> Bytes {
        match self {
            Message::Header(f) | Message::Equivocation(f) => f.clone(),
            Message::Subscribe(m) => enc(kind::SUBSCRIBE, m),
            Message::Graft(m) => enc(kind::GRAFT, m),
            Message::Prune(m) => enc(kind::PRUNE, m),
            Message::IHave(m) => enc(kind::IHAVE, m),
            Message::IWant(m) => enc(kind::IWANT, m),
            Message::Choke(m) => enc(kind::CHOKE, m),
            Message::Digest(m) => enc(kind::DIGEST, m),
            Message::Vector(m) => enc(kind::VECTOR, m),
            Message::Pull(m) => enc(kind::PULL, m),
            Message::BodyRequest(m) => enc(kind::BODY_REQUEST, m),
            Message::Body(m) => enc(kind::BODY, m),
            Message::BodyMissing(m) => enc(kind::BODY_MISSING, m),
        }
    }

    /// Decode a frame within `limits`. Header and proof frames only get their kind checked
    /// here; the engine verifies them.
    pub fn decode(frame: &Bytes, limits: &Limits) -> Result<Message, WireError> {
        if frame.len() > limits.max_frame {
            return Err(WireError::FrameTooLarge {
                len: frame.len(),
                max: limits.max_frame,
            });
        }
        let Some(k) = wire::peek_kind(frame) else {
            return Err(WireError::TruncatedHeader { len: frame.len() });
        };
        if frame[0] != wire::PROTOCOL_VERSION {
            return Err(WireError::UnsupportedVersion { found: frame[0] });
        }
        Ok(match k {
            HEADER_KIND => Message::Header(frame.clone()),
            EQUIVOCATION_KIND => Message::Equivocation(frame.clone()),
            kind::SUBSCRIBE => Message::Subscribe(dec(frame, k, limits)?),
            kind::GRAFT => Message::Graft(dec(frame, k, limits)?),
            kind::PRUNE => Message::Prune(dec(frame, k, limits)?),
            kind::IHAVE => Message::IHave(dec(frame, k, limits)?),
            kind::IWANT => Message::IWant(dec(frame, k, limits)?),
            kind::CHOKE => Message::Choke(dec(frame, k, limits)?),
            kind::DIGEST => Message::Digest(dec(frame, k, limits)?),
            kind::VECTOR => Message::Vector(dec(frame, k, limits)?),
            kind::PULL => Message::Pull(dec(frame, k, limits)?),
            kind::BODY_REQUEST => Message::BodyRequest(dec(frame, k, limits)?),
            kind::BODY => Message::Body(dec(frame, k, limits)?),
            kind::BODY_MISSING => Message::BodyMissing(dec(frame, k, limits)?),
            other => return Err(WireError::UnknownKind(other.0)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_every_control_message() {
        let t = Topic::new("a/b").unwrap();
        let l = Limits::default();
        let msgs = vec![
            Message::Subscribe(Subscribe {
                join: vec![t.clone()],
                leave: vec![],
            }),
            Message::Graft(Graft {
                topics: vec![t.clone()],
            }),
            Message::Prune(Prune {
                topic: t.clone(),
                backoff_ms: 60_000,
            }),
            Message::IHave(IHave {
                topic: t.clone(),
                ids: vec![ShortId(1), ShortId(u64::MAX)],
            }),
            Message::IWant(IWant {
                topic: t.clone(),
                ids: vec![ShortId(7)],
            }),
            Message::Choke(Choke {
                topic: t.clone(),
                author: AgentId::from_bytes([3; 32]),
            }),
            Message::Digest(Digest {
                topic: t.clone(),
                buckets: vec![0, 5, u64::MAX],
            }),
            Message::Vector(Vector {
                topic: t.clone(),
                buckets: vec![3],
                logs: vec![LogSummary {
                    author: AgentId::from_bytes([3; 32]),
                    head: 9,
                    low: 2,
                    count: 7,
                }],
            }),
            Message::Pull(Pull {
                topic: t.clone(),
                author: AgentId::from_bytes([1; 32]),
                from: 2,
                to: 5,
            }),
            Message::BodyRequest(BodyRequest {
                hash: Hash([9; 32]),
                hops: 4,
            }),
            Message::Body(Body {
                hash: Hash([9; 32]),
                body: vec![1, 2, 3],
            }),
            Message::BodyMissing(BodyMissing {
                hash: Hash([9; 32]),
            }),
        ];
        for m in msgs {
            let f = m.encode();
            assert_eq!(Message::decode(&f, &l).unwrap(), m);
        }
    }

    #[test]
    fn refuses_unknown_kind_version_and_size() {
        let l = Limits::default();
        let f = wire::frame_from_payload(MessageKind(0x01ff), &[0xa0]);
        assert!(matches!(
            Message::decode(&f, &l),
            Err(WireError::UnknownKind(0x01ff))
        ));
        let mut v = Message::Choke(Choke {
            topic: Topic::new("a").unwrap(),
            author: AgentId::from_bytes([0; 32]),
        })
        .encode()
        .to_vec();
        v[0] = 9;
        assert!(matches!(
            Message::decode(&Bytes::from(v), &l),
            Err(WireError::UnsupportedVersion { found: 9 })
        ));
        let big = Bytes::from(vec![1u8; l.max_frame + 1]);
        assert!(matches!(
            Message::decode(&big, &l),
            Err(WireError::FrameTooLarge { .. })
        ));
        assert!(Message::decode(&Bytes::from_static(&[1, 1]), &l).is_err());
    }

    #[test]
    fn short_ids_are_prefixes() {
        let id = frame_id(b"frame");
        assert_eq!(ShortId::of(&id).0.to_be_bytes(), id.0[..8]);
    }
}
