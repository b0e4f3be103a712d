//! Log headers: the small signed records that gossip pushes eagerly.
//!
//! Each author keeps, per topic, an append-only log. Entry `seq` (starting at 1) has a header
//! that names its predecessor by hash, so a receiver can tell a gap (a missing seq) from a fork
//! (two different headers with the same author, topic and seq — equivocation, see
//! [`crate::fraud`]). The header carries the body's hash and length but never the body: bodies
//! are pulled separately by nodes whose interest filter matches the header's sketch.
//!
//! The types are defined in [`agentnet_core::log_header`] (the trust plane reads headers too,
//! to judge equivocation proofs) and re-exported here.

pub use agentnet_core::log_header::{
    EntryKind, HEADER_KIND, HeaderError, HeaderRules, LogHeader, MAX_SEQ,
};

#[cfg(test)]
use agentnet_core::descriptor::Topic;
#[cfg(test)]
use agentnet_core::semantic::{EncoderTag, Sketch, TaggedSketch};
#[cfg(test)]
use agentnet_core::{Hash, WallTime};

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
        sketch: Some(TaggedSketch {
            encoder: EncoderTag([0x5a; 8]),
            sketch: Sketch([0xa5; 32]),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::test_header as header;
    use super::*;
    use agentnet_core::test_support::now;
    use agentnet_core::wire::Limits;
    use agentnet_core::{Keypair, Signed};
    use core::time::Duration;

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
