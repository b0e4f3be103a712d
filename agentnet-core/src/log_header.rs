//! Log headers: the small signed records that gossip pushes eagerly.
//!
//! The header lives in core, not in `agentnet-gossip` that writes and routes it, because more
//! than one plane must read it: the trust plane judges equivocation proofs (two headers at one
//! log position, [`crate::fork`]) without depending on the gossip engine. `agentnet-gossip`
//! re-exports everything here under its old paths.
//!
//! Each author keeps, per topic, an append-only log. Entry `seq` (starting at 1) has a header
//! that names its predecessor by hash, so a receiver can tell a gap (a missing seq) from a fork
//! (two different headers with the same author, topic and seq — equivocation, see
//! [`Equivocation`]). The header carries the body's hash and length but never the body: bodies
//! are pulled separately by nodes whose interest filter matches the header's sketch.

use core::time::Duration;

use crate::descriptor::Topic;
use crate::fork::Forkable;
use crate::semantic::TaggedSketch;
use crate::wire::MessageKind;
use crate::{AgentId, Hash, Now, Signed, SignedObject, WallTime};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Frame kind of a signed log header.
pub const HEADER_KIND: MessageKind = crate::wire::kinds::LOG_HEADER;

/// What a log entry's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryKind(pub u16);

impl EntryKind {
    /// The body is a signed capability descriptor.
    pub const DESCRIPTOR: EntryKind = EntryKind(1);
    /// The body withdraws an earlier descriptor before its TTL ends.
    pub const RETRACTION: EntryKind = EntryKind(2);
    /// The body is a signed intent announcement ([`crate::intent::IntentAnnouncement`]).
    pub const INTENT: EntryKind = EntryKind(3);
    /// The body is a signed provider state ([`crate::intent::ProviderState`]).
    pub const STATE: EntryKind = EntryKind(4);
}

/// A signed log header. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHeader {
    /// Who wrote the entry; must be the signer.
    pub author: AgentId,
    /// The log's topic.
    pub topic: Topic,
    /// Position in the author's log for this topic, from 1, strictly increasing by 1.
    pub seq: u64,
    /// Hash of the header at `seq - 1` (`None` exactly when `seq == 1`).
    pub prev: Option<Hash>,
    /// What the body is.
    pub kind: EntryKind,
    /// BLAKE3 of the body bytes (in the body type's own domain).
    pub body_hash: Hash,
    /// Body length in bytes.
    pub body_len: u32,
    /// When the entry was written (author's wall clock).
    pub issued_at: WallTime,
    /// Lifetime after `issued_at`, milliseconds; the entry is pruned afterwards.
    pub ttl_ms: u32,
    /// A 32-byte semantic sketch of the body's intent with the tag of the encoder that made
    /// it, for interest filtering without the body.
    pub sketch: Option<TaggedSketch>,
}

impl SignedObject for LogHeader {
    const CONTEXT: &'static str = crate::hash::domain::LOG_HEADER;
    const KIND: MessageKind = HEADER_KIND;
    fn author(&self) -> Option<AgentId> {
        Some(self.author)
    }
}

/// Receiver-side limits for headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeaderRules {
    /// How far in the future `issued_at` may be. Default 30 s; range 0..=10 min.
    pub max_skew: Duration,
    /// Longest accepted TTL. Default 1 h; range 1 s..=~49 days.
    pub max_ttl: Duration,
    /// Largest body a header may announce. Bytes; default 64 KiB; range 1..=16 MiB.
    pub max_body_len: u32,
}

impl Default for HeaderRules {
    fn default() -> Self {
        HeaderRules {
            max_skew: Duration::from_secs(30),
            max_ttl: Duration::from_secs(3600),
            max_body_len: 64 * 1024,
        }
    }
}

/// The highest `seq` a log may reach: 2^53 (an entry every millisecond for 285,000 years).
/// Headers above it are refused, so no arithmetic on a peer's `seq` (the next entry, the one
/// below, a range end) can overflow.
pub const MAX_SEQ: u64 = 1 << 53;

/// Why a header was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeaderError {
    /// `seq` is zero.
    #[error("seq must start at 1")]
    ZeroSeq,
    /// `seq` is above [`MAX_SEQ`].
    #[error("seq {seq} above the limit {MAX_SEQ}")]
    SeqTooLarge {
        /// The header's seq.
        seq: u64,
    },
    /// `prev` is present on the first entry or missing on a later one.
    #[error("prev hash must be absent exactly when seq == 1 (seq {seq})")]
    PrevMismatch {
        /// The header's seq.
        seq: u64,
    },
    /// The announced body is empty or too large.
    #[error("body length {len} outside 1..={max}")]
    BodyLength {
        /// Announced length.
        len: u32,
        /// Limit.
        max: u32,
    },
    /// The TTL is zero or above the limit.
    #[error("ttl {ttl_ms} ms outside 1..={max_ms}")]
    Ttl {
        /// Announced TTL.
        ttl_ms: u32,
        /// Limit.
        max_ms: u64,
    },
    /// Issued further in the future than the skew window.
    #[error("issued {ahead_ms} ms in the future")]
    FromTheFuture {
        /// How far ahead.
        ahead_ms: u64,
    },
    /// Already expired.
    #[error("expired")]
    Expired,
}

impl LogHeader {
    /// The end of the entry's validity window.
    pub fn expires_at(&self) -> WallTime {
        self.issued_at + Duration::from_millis(u64::from(self.ttl_ms))
    }

    /// Check structure, limits and freshness against `now`.
    pub fn validate(&self, now: Now, rules: &HeaderRules) -> Result<(), HeaderError> {
        if self.seq == 0 {
            return Err(HeaderError::ZeroSeq);
        }
        if self.seq > MAX_SEQ {
            return Err(HeaderError::SeqTooLarge { seq: self.seq });
        }
        if (self.seq == 1) != self.prev.is_none() {
            return Err(HeaderError::PrevMismatch { seq: self.seq });
        }
        if self.body_len == 0 || self.body_len > rules.max_body_len {
            return Err(HeaderError::BodyLength {
                len: self.body_len,
                max: rules.max_body_len,
            });
        }
        let max_ms = rules.max_ttl.as_millis() as u64;
        if self.ttl_ms == 0 || u64::from(self.ttl_ms) > max_ms {
            return Err(HeaderError::Ttl {
                ttl_ms: self.ttl_ms,
                max_ms,
            });
        }
        let ahead = self
            .issued_at
            .as_unix_millis()
            .saturating_sub(now.wall.as_unix_millis());
        if ahead > rules.max_skew.as_millis() as u64 {
            return Err(HeaderError::FromTheFuture { ahead_ms: ahead });
        }
        if now.wall >= self.expires_at() {
            return Err(HeaderError::Expired);
        }
        Ok(())
    }
}

/// Frame kind of an equivocation proof ([`EquivocationProof`]) sent on its own.
pub const EQUIVOCATION_KIND: MessageKind = crate::wire::kinds::EQUIVOCATION;

/// Two different headers one author signed for one (topic, seq): the [`ForkProof`] of log
/// headers, gossiped by the gossip plane and judged by the trust plane.
///
/// [`ForkProof`]: crate::fork::ForkProof
pub type EquivocationProof = crate::fork::ForkProof<LogHeader>;

/// Why an [`EquivocationProof`] is not valid (headers need no check of their own, so the
/// entry error is [`Infallible`](core::convert::Infallible)).
pub type EquivocationError = crate::fork::ForkError<core::convert::Infallible>;

/// What a verified [`EquivocationProof`] establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The author who signed both headers.
    pub author: AgentId,
    /// The log's topic.
    pub topic: Topic,
    /// The position written twice.
    pub seq: u64,
}

/// A log position is (author, topic, seq); an honest author writes each once. Headers need no
/// check of their own to prove a fork: two validly signed headers at one position are
/// misbehaviour whatever else they say (freshness and limits are the receiver's policy, not
/// the author's innocence).
impl Forkable for LogHeader {
    const PROOF_DOMAIN: &'static str = crate::hash::domain::EQUIVOCATION_PROOF;
    const PROOF_KIND: MessageKind = EQUIVOCATION_KIND;
    type Fork = Equivocation;
    type Invalid = core::convert::Infallible;

    fn same_position(a: &Signed<Self>, b: &Signed<Self>) -> Result<(), &'static str> {
        if a.topic != b.topic {
            return Err("different topics");
        }
        if a.seq != b.seq {
            return Err("different seq");
        }
        Ok(())
    }

    fn check_alone(_entry: &Signed<Self>) -> Result<(), Self::Invalid> {
        Ok(())
    }

    fn fork(first: &Signed<Self>) -> Equivocation {
        Equivocation {
            author: first.author,
            topic: first.topic.clone(),
            seq: first.seq,
        }
    }
}
