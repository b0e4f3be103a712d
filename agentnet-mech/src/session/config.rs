//! [`SessionConfig`]: the engine's bounds and deadlines, with units, defaults and ranges.

use super::*;

/// Settings of a [`Sessions`] engine. Start from [`SessionConfig::default`]; out-of-range values
/// are refused with a [`ConfigError`] when the engine is built ([`validate`](Self::validate)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Sessions held at once, both roles together, unanswered offers included. Sessions;
    /// default 1 024; range 1..=1 000 000. Beyond it new offers are refused
    /// ([`SessionError::Full`]). Also the number of ended session ids remembered to refuse
    /// late and replayed messages.
    pub max_sessions: usize,
    /// Events queued for the application. Events; default 1 024; range 16..=1 000 000. On
    /// overflow the oldest event is dropped and [`Event::Overflow`] reports it.
    pub max_queued_events: usize,
    /// Frames queued for sending. Frames; default 1 024; range 16..=1 000 000. On overflow the
    /// oldest frame is dropped and [`Event::Overflow`] reports it. The same bound applies,
    /// separately, to frames parked for counterparties no link is known for
    /// ([`Sessions::parked_count`]).
    pub max_queued_transmits: usize,
    /// Decoding limits for every frame, and for the mechanism, evidence and proof envelopes
    /// nested in them; outgoing frames are checked against them too. Default
    /// [`Limits::default`] (64 KiB frames, 16 KiB strings). A receipt envelope takes about
    /// 350 bytes and a fraud settlement carries the whole package, so `max_bytes_len` should
    /// exceed `max_receipts × 350 + 1 KiB` (the defaults do: 32 receipts ≈ 12 KiB); hosts
    /// that accept larger packages raise `max_bytes_len` and `max_frame` together. A delivery
    /// whose package would make its fraud settlement exceed these limits is refused
    /// ([`SessionError::EvidenceTooLarge`]; module docs, "Settlement threats"). Session
    /// records ([`Sessions::restore`]) are decoded within them too and are at most
    /// 4 × `max_frame` + 1 KiB long.
    pub limits: Limits,
    /// Clock skew tolerated between agents' wall clocks: how far in the future an offer's
    /// `offered_at` may be, and how far receipts may lie outside the evidence window. Default
    /// 30 s; range 0..=10 min.
    pub max_skew: Duration,
    /// Most receipts accepted in one evidence package. Receipts; default 32; range
    /// 1..=[`MAX_RECEIPTS`]. Bounds the signature checks one delivery can cost.
    pub max_receipts: usize,
    /// Whether tier-3 evidence must carry an attestation the configured
    /// [`AttestationVerifier`] accepts. Default `false`.
    pub require_attestation: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_sessions: 1024,
            max_queued_events: 1024,
            max_queued_transmits: 1024,
            limits: Limits::default(),
            max_skew: Duration::from_secs(30),
            max_receipts: 32,
            require_attestation: false,
        }
    }
}

impl SessionConfig {
    /// Check every field against its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "max_sessions",
            self.max_sessions,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "max_queued_events",
            self.max_queued_events,
            16..=1_000_000,
            "16..=1000000",
        )?;
        check_range(
            "max_queued_transmits",
            self.max_queued_transmits,
            16..=1_000_000,
            "16..=1000000",
        )?;
        check_range(
            "max_skew",
            self.max_skew,
            Duration::ZERO..=EvidencePolicy::MAX_SKEW,
            "0..=10 min",
        )?;
        check_range(
            "max_receipts",
            self.max_receipts,
            1..=MAX_RECEIPTS,
            "1..=MAX_RECEIPTS (256)",
        )
    }
}
