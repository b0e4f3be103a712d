//! The payload plane: task inputs and results sealed to their recipient, padded to a size
//! class, cut into chunks, reassembled, opened and checked against the hash the sender signed
//! in the session.
//!
//! Sizes: a payload of `n` bytes is padded to the next power of two of at least 256 bytes
//! (`4 + n` with its length prefix), so a canary and a real task of similar size are the same
//! number of chunks of the same sizes. Sealing adds [`SEAL_OVERHEAD`] bytes. The receiver
//! refuses a transfer whose chunk count exceeds what [`PayloadConfig::max_payload`] allows.
//!
//! Loss: the receiver asks for missing chunks after [`PayloadConfig::resend_after`] without
//! progress, at most [`PayloadConfig::max_resends`] times; the sender keeps a transfer's
//! chunks until its session ends.

use std::collections::BTreeMap;

use agentnet_core::seal::{self, SEAL_OVERHEAD, X25519Public, X25519Secret};
use agentnet_core::{AgentId, Hash, Instant};
use agentnet_mech::session::SessionId;
use bytes::Bytes;

use super::config::PayloadConfig;
use super::events::AgentError;
use super::wire::Direction;

/// Smallest size class.
const MIN_CLASS: usize = 256;

/// The associated data binding a sealed payload to its session and direction.
fn aad(session: &SessionId, direction: Direction) -> Vec<u8> {
    let mut a = agentnet_core::hash::domain::PAYLOAD.as_bytes().to_vec();
    a.extend_from_slice(session.0.as_bytes());
    a.push(match direction {
        Direction::Input => 0,
        Direction::Result => 1,
    });
    a
}

/// Size class of a payload of `len` bytes (with its 4-byte length prefix).
fn class(len: usize) -> usize {
    (len + 4).max(MIN_CLASS).next_power_of_two()
}

/// Most chunks a transfer within `config` can have.
pub(crate) fn max_chunks(config: &PayloadConfig) -> u32 {
    (class(config.max_payload) + SEAL_OVERHEAD).div_ceil(config.chunk_size) as u32
}

/// Pad, seal and cut `payload` for `recipient`. The padding reaches the size class of
/// `payload`, or of a payload of `at_least` bytes if that is larger: a requester pads the
/// real task and its canaries to one class, so none of them stands out by size.
pub(crate) fn seal_chunks<R: rand_core::CryptoRng + ?Sized>(
    config: &PayloadConfig,
    recipient: &X25519Public,
    session: &SessionId,
    direction: Direction,
    payload: &[u8],
    at_least: usize,
    rng: &mut R,
) -> Result<Vec<Bytes>, AgentError> {
    if payload.len() > config.max_payload {
        return Err(AgentError::PayloadTooLarge {
            size: payload.len(),
            max: config.max_payload,
        });
    }
    let size = class(payload.len()).max(class(at_least.min(config.max_payload)));
    let mut padded = Vec::with_capacity(size);
    padded.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    padded.extend_from_slice(payload);
    padded.resize(size, 0);
    let sealed = seal::seal(recipient, &padded, &aad(session, direction), rng).map_err(|_| {
        AgentError::PayloadMismatch {
            session: *session,
            reason: "the recipient's encryption key is unusable",
        }
    })?;
    let sealed = Bytes::from(sealed);
    Ok((0..sealed.len())
        .step_by(config.chunk_size)
        .map(|i| sealed.slice(i..(i + config.chunk_size).min(sealed.len())))
        .collect())
}

/// Open a reassembled transfer and strip its padding.
fn open(
    secret: &X25519Secret,
    session: &SessionId,
    direction: Direction,
    sealed: &[u8],
) -> Result<Bytes, &'static str> {
    let padded = seal::open(secret, sealed, &aad(session, direction))
        .map_err(|_| "the sealed payload does not open")?;
    if padded.len() < 4 {
        return Err("the payload is shorter than its length prefix");
    }
    let len = u32::from_le_bytes(padded[..4].try_into().expect("4 bytes")) as usize;
    if len > padded.len() - 4 || !padded.len().is_power_of_two() || padded.len() < class(len) {
        return Err("the payload's length prefix does not fit its size class");
    }
    Ok(Bytes::copy_from_slice(&padded[4..4 + len]))
}

/// A payload this agent is sending. Addressed to an agent, not a link: a counterparty that
/// reconnects (or restarts) asks again on whatever verified link it has.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) peer: AgentId,
    pub(crate) chunks: Vec<Bytes>,
}

/// A payload this agent is receiving.
#[derive(Debug)]
pub(crate) struct Incoming {
    /// The counterparty: chunks are taken only from links verified to be it, and resend
    /// requests go to its current route.
    pub(crate) peer: AgentId,
    count: Option<u32>,
    parts: BTreeMap<u32, Bytes>,
    /// The hash the counterparty signed, once its session message arrived.
    pub(crate) expected: Option<Hash>,
    /// The opened, checked payload.
    pub(crate) done: Option<Bytes>,
    /// When to ask for missing chunks.
    pub(crate) resend_at: Instant,
    resends: u32,
}

impl Incoming {
    pub(crate) fn new(peer: AgentId, expected: Option<Hash>, resend_at: Instant) -> Self {
        Incoming {
            peer,
            count: None,
            parts: BTreeMap::new(),
            expected,
            done: None,
            resend_at,
            resends: 0,
        }
    }

    /// Add one chunk. The first chunk fixes the count; chunks outside it, a changed count
    /// and duplicates are refused (the first copy stands).
    pub(crate) fn add(
        &mut self,
        config: &PayloadConfig,
        index: u32,
        count: u32,
        data: Bytes,
        now: Instant,
    ) -> Result<(), AgentError> {
        let max = max_chunks(config);
        let expected = self.count.unwrap_or(count);
        if count == 0 || count > max || count != expected || index >= count {
            return Err(AgentError::ChunkOutOfRange {
                index,
                count,
                expected: if self.count.is_some() { expected } else { max },
            });
        }
        if data.len() > config.chunk_size || data.is_empty() {
            return Err(AgentError::PayloadTooLarge {
                size: data.len(),
                max: config.chunk_size,
            });
        }
        if self.done.is_some() || self.parts.contains_key(&index) {
            return Err(AgentError::DuplicateChunk(index));
        }
        self.count = Some(count);
        self.parts.insert(index, data);
        self.resend_at = now + config.resend_after;
        Ok(())
    }

    /// Whether every chunk arrived.
    pub(crate) fn complete(&self) -> bool {
        self.count.is_some_and(|c| self.parts.len() as u32 == c)
    }

    /// Reassemble, open and check against `expected`. On a mismatch every chunk is dropped
    /// (so a full resend can replace an injected or corrupted piece).
    pub(crate) fn finish(
        &mut self,
        secret: &X25519Secret,
        session: &SessionId,
        direction: Direction,
    ) -> Result<Option<Bytes>, AgentError> {
        let Some(expected) = self.expected else {
            return Ok(None);
        };
        if !self.complete() {
            return Ok(None);
        }
        let sealed: Vec<u8> = self
            .parts
            .values()
            .flat_map(|b| b.iter().copied())
            .collect();
        let mismatch = |reason| AgentError::PayloadMismatch {
            session: *session,
            reason,
        };
        let result = open(secret, session, direction, &sealed).and_then(|p| {
            if agentnet_trust::evidence::payload_hash(&p) == expected {
                Ok(p)
            } else {
                Err("the payload does not hash to what the session signed")
            }
        });
        match result {
            Ok(p) => {
                self.done = Some(p.clone());
                Ok(Some(p))
            }
            Err(reason) => {
                self.parts.clear();
                self.count = None;
                Err(mismatch(reason))
            }
        }
    }

    /// The chunks to ask for again, if it is time and resends remain (then the next time is
    /// armed). An empty transfer asks for everything (index 0 brings the count).
    pub(crate) fn due_resend(&mut self, config: &PayloadConfig, now: Instant) -> Option<Vec<u32>> {
        if !self.waiting(config) || now < self.resend_at {
            return None;
        }
        self.resends += 1;
        self.resend_at = now + config.resend_after;
        let missing: Vec<u32> = match self.count {
            Some(c) => (0..c)
                .filter(|i| !self.parts.contains_key(i))
                .take(256)
                .collect(),
            None => Vec::new(),
        };
        Some(missing)
    }

    /// When this transfer next wants attention.
    pub(crate) fn deadline(&self, config: &PayloadConfig) -> Option<Instant> {
        self.waiting(config).then_some(self.resend_at)
    }

    /// Whether the transfer is due at all: not done, resends left, and either a chunk arrived
    /// or the counterparty's signed message says the payload was sent.
    fn waiting(&self, config: &PayloadConfig) -> bool {
        self.done.is_none()
            && self.resends < config.max_resends
            && (self.count.is_some() || self.expected.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentnet_core::Keypair;
    use rand_chacha::ChaCha8Rng;
    use rand_core::SeedableRng;

    fn setup(payload: &[u8]) -> (Keypair, SessionId, Vec<Bytes>, Hash) {
        let keys = Keypair::from_seed([3; 32]);
        let session = SessionId(Hash([5; 32]));
        let cfg = PayloadConfig {
            chunk_size: 256,
            ..PayloadConfig::default()
        };
        let mut rng = ChaCha8Rng::from_seed([9; 32]);
        let chunks = seal_chunks(
            &cfg,
            &keys.x25519().public(),
            &session,
            Direction::Input,
            payload,
            0,
            &mut rng,
        )
        .unwrap();
        (
            keys,
            session,
            chunks,
            agentnet_trust::evidence::payload_hash(payload),
        )
    }

    fn cfg() -> PayloadConfig {
        PayloadConfig {
            chunk_size: 256,
            ..PayloadConfig::default()
        }
    }

    #[test]
    fn round_trip_in_any_order_and_size_classes_hide_lengths() {
        let (keys, session, chunks, hash) = setup(&[7u8; 1000]);
        let (_, _, short, _) = setup(&[1u8; 600]);
        assert_eq!(
            chunks.len(),
            short.len(),
            "same size class, same chunk count"
        );
        let mut inc = Incoming::new(AgentId::from_bytes([1; 32]), Some(hash), Instant::ZERO);
        let n = chunks.len() as u32;
        for i in (0..n).rev() {
            inc.add(&cfg(), i, n, chunks[i as usize].clone(), Instant::ZERO)
                .unwrap();
        }
        let got = inc
            .finish(keys.x25519(), &session, Direction::Input)
            .unwrap();
        assert_eq!(got.as_deref(), Some(&[7u8; 1000][..]));
    }

    #[test]
    fn hostile_chunks_get_typed_errors_and_lose_nothing() {
        let (keys, session, chunks, hash) = setup(b"the real input");
        let n = chunks.len() as u32;
        let mut inc = Incoming::new(AgentId::from_bytes([1; 32]), Some(hash), Instant::ZERO);
        // Out of range, zero count, count beyond the bound, empty and oversized data.
        assert!(matches!(
            inc.add(&cfg(), n, n, chunks[0].clone(), Instant::ZERO),
            Err(AgentError::ChunkOutOfRange { .. })
        ));
        assert!(
            inc.add(&cfg(), 0, 0, chunks[0].clone(), Instant::ZERO)
                .is_err()
        );
        assert!(
            inc.add(&cfg(), 0, u32::MAX, chunks[0].clone(), Instant::ZERO)
                .is_err()
        );
        assert!(matches!(
            inc.add(&cfg(), 0, n, Bytes::from(vec![0; 257]), Instant::ZERO),
            Err(AgentError::PayloadTooLarge { .. })
        ));
        assert!(inc.add(&cfg(), 0, n, Bytes::new(), Instant::ZERO).is_err());
        // A real chunk, then its duplicate and a changed count.
        inc.add(&cfg(), 0, n, chunks[0].clone(), Instant::ZERO)
            .unwrap();
        assert!(matches!(
            inc.add(&cfg(), 0, n, chunks[0].clone(), Instant::ZERO),
            Err(AgentError::DuplicateChunk(0))
        ));
        assert!(matches!(
            inc.add(&cfg(), 1, n + 1, chunks[0].clone(), Instant::ZERO),
            Err(AgentError::ChunkOutOfRange { .. })
        ));
        for i in 1..n {
            inc.add(&cfg(), i, n, chunks[i as usize].clone(), Instant::ZERO)
                .unwrap();
        }
        assert_eq!(
            inc.finish(keys.x25519(), &session, Direction::Input)
                .unwrap()
                .as_deref(),
            Some(&b"the real input"[..])
        );
    }

    #[test]
    fn a_hash_mismatch_is_refused_and_a_resend_can_repair_it() {
        let (keys, session, chunks, hash) = setup(b"payload");
        let n = chunks.len() as u32;
        // Signed hash of something else: refused, transfer emptied for a resend.
        let mut inc = Incoming::new(
            AgentId::from_bytes([1; 32]),
            Some(Hash([1; 32])),
            Instant::ZERO,
        );
        for i in 0..n {
            inc.add(&cfg(), i, n, chunks[i as usize].clone(), Instant::ZERO)
                .unwrap();
        }
        assert!(matches!(
            inc.finish(keys.x25519(), &session, Direction::Input),
            Err(AgentError::PayloadMismatch { .. })
        ));
        assert!(!inc.complete());
        // A corrupted chunk (injected by someone on the path) fails to open, then the real
        // bytes, sent again, go through.
        let mut inc = Incoming::new(AgentId::from_bytes([1; 32]), Some(hash), Instant::ZERO);
        let mut bad = chunks[0].to_vec();
        bad[5] ^= 1;
        inc.add(&cfg(), 0, n, Bytes::from(bad), Instant::ZERO)
            .unwrap();
        for i in 1..n {
            inc.add(&cfg(), i, n, chunks[i as usize].clone(), Instant::ZERO)
                .unwrap();
        }
        assert!(
            inc.finish(keys.x25519(), &session, Direction::Input)
                .is_err()
        );
        let missing = inc.due_resend(&cfg(), Instant::from_secs(10)).unwrap();
        assert!(
            missing.is_empty(),
            "an emptied transfer asks for everything"
        );
        for i in 0..n {
            inc.add(
                &cfg(),
                i,
                n,
                chunks[i as usize].clone(),
                Instant::from_secs(10),
            )
            .unwrap();
        }
        assert!(
            inc.finish(keys.x25519(), &session, Direction::Input)
                .unwrap()
                .is_some()
        );
        // Sealed to someone else: does not open.
        let other = Keypair::from_seed([4; 32]);
        let mut inc = Incoming::new(AgentId::from_bytes([1; 32]), Some(hash), Instant::ZERO);
        for i in 0..n {
            inc.add(&cfg(), i, n, chunks[i as usize].clone(), Instant::ZERO)
                .unwrap();
        }
        assert!(
            inc.finish(other.x25519(), &session, Direction::Input)
                .is_err()
        );
    }

    #[test]
    fn oversized_payloads_are_refused_before_sealing() {
        let keys = Keypair::from_seed([3; 32]);
        let small = PayloadConfig {
            max_payload: 10,
            ..cfg()
        };
        let mut rng = ChaCha8Rng::from_seed([9; 32]);
        let r = seal_chunks(
            &small,
            &keys.x25519().public(),
            &SessionId(Hash([5; 32])),
            Direction::Result,
            &[0; 11],
            0,
            &mut rng,
        );
        assert!(matches!(
            r,
            Err(AgentError::PayloadTooLarge { size: 11, max: 10 })
        ));
    }
}
