//! Equivocation proofs: two signed headers by one author for the same (topic, seq).
//!
//! An honest author never writes two different entries at one position of its log, so two
//! validly signed, different headers at the same (author, topic, seq) prove misbehaviour. The
//! proof carries both header envelopes exactly as signed and is **self-verifying**: anyone can
//! check it with no other state ([`EquivocationProof::verify`]), so it can be gossiped and
//! handed to the trust plane, which slashes the author.
//!
//! Verification is strict and one signature at a time (never batched), so every honest
//! verifier reaches the same verdict on the same bytes.

use agentnet_core::descriptor::Topic;
use agentnet_core::signed::SignedError;
use agentnet_core::wire::{self, Limits, MessageKind, WireError};
use agentnet_core::{AgentId, Hash, Signed};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::header::LogHeader;

/// Frame kind of an equivocation proof.
pub const EQUIVOCATION_KIND: MessageKind = MessageKind(0x0102);

/// Two conflicting header envelopes, the one whose header hash is smaller first (so a proof
/// has one canonical encoding whoever builds it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EquivocationProof {
    #[serde(with = "serde_bytes")]
    first: Vec<u8>,
    #[serde(with = "serde_bytes")]
    second: Vec<u8>,
}

/// What a verified proof establishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The author who signed both headers.
    pub author: AgentId,
    /// The log's topic.
    pub topic: Topic,
    /// The position written twice.
    pub seq: u64,
}

/// Why a proof is not valid.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// The proof frame is malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// One of the headers does not verify.
    #[error("header in proof refused: {0}")]
    Header(#[from] SignedError),
    /// The headers do not conflict (different author, topic or seq, or the same content).
    #[error("headers do not conflict: {0}")]
    NotConflicting(&'static str),
    /// The envelopes are not in canonical order.
    #[error("proof is not in canonical order")]
    NotCanonical,
}

impl EquivocationProof {
    /// Build a proof from two headers; refuses headers that do not conflict.
    pub fn new(a: &Signed<LogHeader>, b: &Signed<LogHeader>) -> Result<Self, ProofError> {
        check_conflict(a, b)?;
        let (first, second) = if a.hash() < b.hash() { (a, b) } else { (b, a) };
        Ok(EquivocationProof {
            first: first.to_envelope(),
            second: second.to_envelope(),
        })
    }

    /// Check both signatures and the conflict, with no other state.
    pub fn verify(&self, limits: &Limits) -> Result<Equivocation, ProofError> {
        let a = Signed::<LogHeader>::from_envelope(&self.first, limits)?;
        let b = Signed::<LogHeader>::from_envelope(&self.second, limits)?;
        check_conflict(&a, &b)?;
        if a.hash() >= b.hash() {
            return Err(ProofError::NotCanonical);
        }
        Ok(Equivocation {
            author: a.author,
            topic: a.topic.clone(),
            seq: a.seq,
        })
    }

    /// The proof's identity (for deduplication when it is gossiped).
    pub fn id(&self) -> Hash {
        let mut h =
            agentnet_core::hash::Hasher::new(agentnet_core::hash::domain::EQUIVOCATION_PROOF);
        h.update(&self.first).update(&self.second);
        h.finalize()
    }

    /// The proof as a frame.
    pub fn to_frame(&self) -> Bytes {
        wire::encode_frame(EQUIVOCATION_KIND, self).expect("encoding into memory cannot fail")
    }

    /// Decode a proof frame and verify it.
    pub fn from_frame(frame: &Bytes, limits: &Limits) -> Result<(Self, Equivocation), ProofError> {
        let p: EquivocationProof = wire::decode_frame_as(frame, EQUIVOCATION_KIND, limits)?;
        let e = p.verify(limits)?;
        Ok((p, e))
    }
}

fn check_conflict(a: &Signed<LogHeader>, b: &Signed<LogHeader>) -> Result<(), ProofError> {
    if a.author != b.author || a.signer() != b.signer() {
        return Err(ProofError::NotConflicting("different authors"));
    }
    if a.topic != b.topic {
        return Err(ProofError::NotConflicting("different topics"));
    }
    if a.seq != b.seq {
        return Err(ProofError::NotConflicting("different seq"));
    }
    // Compare the signed bytes, not the envelopes: a signer may sign the same header twice
    // with different nonces, which is not equivocation.
    if a.body() == b.body() {
        return Err(ProofError::NotConflicting("same header"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{LogHeader, test_header};
    use agentnet_core::Keypair;

    fn header(kp: &Keypair, seq: u64, body: &[u8]) -> Signed<LogHeader> {
        let prev = (seq > 1).then_some(Hash([9; 32]));
        let h = LogHeader {
            topic: Topic::new("code/review").unwrap(),
            ..test_header(kp, seq, prev, body)
        };
        Signed::sign(kp, h).unwrap()
    }

    #[test]
    fn genuine_proof_verifies_from_either_order() {
        let kp = Keypair::from_seed([5; 32]);
        let (a, b) = (header(&kp, 3, b"one"), header(&kp, 3, b"two"));
        let p = EquivocationProof::new(&a, &b).unwrap();
        assert_eq!(p, EquivocationProof::new(&b, &a).unwrap());
        let (back, e) = EquivocationProof::from_frame(&p.to_frame(), &Limits::default()).unwrap();
        assert_eq!(back, p);
        assert_eq!(
            e,
            Equivocation {
                author: kp.id(),
                topic: Topic::new("code/review").unwrap(),
                seq: 3
            }
        );
    }

    #[test]
    fn non_conflicts_are_refused() {
        let kp = Keypair::from_seed([5; 32]);
        let other = Keypair::from_seed([6; 32]);
        let a = header(&kp, 3, b"one");
        assert!(EquivocationProof::new(&a, &a).is_err());
        assert!(EquivocationProof::new(&a, &header(&kp, 4, b"two")).is_err());
        assert!(EquivocationProof::new(&a, &header(&other, 3, b"two")).is_err());
    }

    #[test]
    fn any_altered_byte_breaks_the_proof() {
        let kp = Keypair::from_seed([5; 32]);
        let p = EquivocationProof::new(&header(&kp, 3, b"one"), &header(&kp, 3, b"two")).unwrap();
        let f = p.to_frame();
        for i in 3..f.len() {
            let mut v = f.to_vec();
            v[i] ^= 0x04;
            assert!(
                EquivocationProof::from_frame(&Bytes::from(v), &Limits::default()).is_err(),
                "byte {i}"
            );
        }
    }
}
