//! Log headers: the small signed records that gossip pushes eagerly.
//!
//! Each author keeps, per topic, an append-only log. Entry `seq` (starting at 1) has a header
//! that names its predecessor by hash, so a receiver can tell a gap (a missing seq) from a fork
//! (two different headers with the same author, topic and seq — equivocation, see
//! [`crate::fraud`]). The header carries the body's hash and length but never the body: bodies
//! are pulled separately by nodes whose interest filter matches the header's sketch.

use core::time::Duration;

use agentnet_core::descriptor::Topic;
use agentnet_core::semantic::Sketch;
use agentnet_core::wire::MessageKind;
use agentnet_core::{AgentId, Hash, Now, SignedObject, WallTime};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Frame kind of a signed log header.
pub const HEADER_KIND: MessageKind = MessageKind(0x0101);

/// What a log entry's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryKind(pub u16);

impl EntryKind {
    /// The body is a signed capability descriptor.
    pub const DESCRIPTOR: EntryKind = EntryKind(1);
    /// The body withdraws an earlier descriptor before its TTL ends.
    pub const RETRACTION: EntryKind = EntryKind(2);
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
    /// A 32-byte semantic sketch of the body's intent, for interest filtering without the body.
    pub sketch: Option<Sketch>,
}

impl SignedObject for LogHeader {
    const CONTEXT: &'static str = agentnet_core::hash::domain::LOG_HEADER;
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

/// A valid header for tests: topic `creative/image`, issued 1 800 000 000 000 ms, TTL 15 s.
#[cfg(test)]
pub(crate) fn test_header(
    kp: &agentnet_core::Keypair,
    seq: u64,
    prev: Option<Hash>,
    body: &[u8],
) -> LogHeader {
    LogHeader {
        author: kp.id(),
        topic: Topic::new("creative/image").expect("valid topic"),
        seq,
        prev,
        kind: EntryKind::DESCRIPTOR,
        body_hash: Hash::digest("agentnet/test/body", body),
        body_len: body.len() as u32,
        issued_at: WallTime::from_unix_millis(1_800_000_000_000),
        ttl_ms: 15_000,
        sketch: Some(Sketch([0xa5; 32])),
    }
}

#[cfg(test)]
mod tests {
    use super::test_header as header;
    use super::*;
    use agentnet_core::wire::Limits;
    use agentnet_core::{Instant, Keypair, Signed};

    fn now() -> Now {
        Now::new(Instant::ZERO, WallTime::from_unix_millis(1_800_000_000_000))
    }

    #[test]
    fn header_round_trip_and_size() {
        let kp = Keypair::from_seed([1; 32]);
        let s = Signed::sign(&kp, header(&kp, 1, None, b"body")).unwrap();
        let f = s.to_frame();
        let back = Signed::<LogHeader>::from_frame(&f, &Limits::default()).unwrap();
        assert_eq!(back.value(), s.value());
        assert!(back.validate(now(), &HeaderRules::default()).is_ok());
        // Headers stay small: they are what every mesh peer receives.
        assert!(f.len() < 400, "header frame is {} bytes", f.len());
    }

    #[test]
    fn validation() {
        let kp = Keypair::from_seed([1; 32]);
        let r = HeaderRules::default();
        let ok = header(&kp, 2, Some(Hash([1; 32])), b"x");
        assert!(ok.validate(now(), &r).is_ok());
        let cases = [
            (
                LogHeader {
                    seq: 0,
                    ..ok.clone()
                },
                "zero seq",
            ),
            (
                LogHeader {
                    prev: None,
                    ..ok.clone()
                },
                "missing prev",
            ),
            (
                LogHeader {
                    seq: 1,
                    ..ok.clone()
                },
                "prev on first",
            ),
            (
                LogHeader {
                    body_len: 0,
                    ..ok.clone()
                },
                "empty body",
            ),
            (
                LogHeader {
                    body_len: 1 << 20,
                    ..ok.clone()
                },
                "huge body",
            ),
            (
                LogHeader {
                    ttl_ms: 0,
                    ..ok.clone()
                },
                "zero ttl",
            ),
            (
                LogHeader {
                    issued_at: WallTime::from_unix_millis(1_800_000_060_000),
                    ..ok.clone()
                },
                "future",
            ),
            (
                LogHeader {
                    seq: u64::MAX,
                    ..ok.clone()
                },
                "seq at the top of u64",
            ),
        ];
        for (h, what) in cases {
            assert!(h.validate(now(), &r).is_err(), "{what}");
        }
        let late = now().advance(Duration::from_secs(16));
        assert_eq!(ok.validate(late, &r), Err(HeaderError::Expired));
    }
}
