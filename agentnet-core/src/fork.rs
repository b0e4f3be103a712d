//! Fork proofs: one key signed two different statements for one position of a record that
//! must be append-only.
//!
//! Two planes keep such records: the gossip plane's per-author logs (an author writes each
//! (topic, seq) once) and the trust plane's identity chains (a key signs each chain position
//! once). A fork in either is proven the same way, by the two signed envelopes exactly as
//! signed, so [`ForkProof<T>`] is one construct for both; what differs — what a position is,
//! what an entry must satisfy on its own, what a proof establishes — is the entry type's
//! [`Forkable`] implementation ([`LogHeader`](crate::log_header::LogHeader) here,
//! `BindingEntry` in `agentnet-trust`).
//!
//! A proof is **self-verifying**: anyone checks it with no other state
//! ([`ForkProof::verify`]), so it can be gossiped and handed to whoever slashes. Verification is
//! strict and one signature at a time (never batched), so every honest verifier reaches the
//! same verdict on the same bytes. The two envelopes are held in canonical order (the one whose
//! [`Signed::hash`] is smaller first), so a proof has one encoding whoever builds it, and a
//! proof out of order is refused rather than normalised.
//!
//! ```
//! use agentnet_core::descriptor::Topic;
//! use agentnet_core::log_header::{EntryKind, EquivocationProof, LogHeader};
//! use agentnet_core::wire::Limits;
//! use agentnet_core::{Hash, Keypair, Signed, WallTime};
//!
//! let kp = Keypair::from_seed([1; 32]);
//! let header = |body: &[u8]| LogHeader {
//!     author: kp.id(),
//!     topic: Topic::new("code/review").unwrap(),
//!     seq: 1,
//!     prev: None,
//!     kind: EntryKind::DESCRIPTOR,
//!     body_hash: Hash::digest("example/body", body),
//!     body_len: body.len() as u32,
//!     issued_at: WallTime::from_unix_millis(1_800_000_000_000),
//!     ttl_ms: 15_000,
//!     sketch: None,
//! };
//! let a = Signed::sign(&kp, header(b"one"))?;
//! let b = Signed::sign(&kp, header(b"two"))?;
//! let proof = EquivocationProof::new(&a, &b)?;
//! let (_, what) = EquivocationProof::from_frame(&proof.to_frame(), &Limits::default())?;
//! assert_eq!((what.author, what.seq), (kp.id(), 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::marker::PhantomData;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::hash::Hasher;
use crate::signed::SignedError;
use crate::wire::{self, Limits, MessageKind, WireError};
use crate::{Hash, Signed, SignedObject};

/// An entry of an append-only, per-signer record: what a position is and what an entry must
/// satisfy on its own. Implemented by every type a [`ForkProof`] can be made of.
pub trait Forkable: SignedObject {
    /// Domain of [`ForkProof::id`]; unique per entry type (listed in [`crate::hash::domain`]).
    const PROOF_DOMAIN: &'static str;
    /// Frame kind of a proof sent on its own ([`ForkProof::to_frame`]).
    const PROOF_KIND: MessageKind;
    /// What a verified proof establishes (who forked what, where).
    type Fork;
    /// Why an entry is malformed on its own ([`core::convert::Infallible`] when entries need
    /// no check beyond their signature).
    type Invalid: std::error::Error + Clone + PartialEq + Eq + 'static;

    /// `Ok` when two entries by one signer claim the same position; otherwise which part of
    /// the position differs ("different seq"), for the error.
    fn same_position(a: &Signed<Self>, b: &Signed<Self>) -> Result<(), &'static str>;

    /// Check what an entry must satisfy with no other state, before it can count as half of a
    /// fork (for example that an identity-chain entry's fields are consistent).
    fn check_alone(entry: &Signed<Self>) -> Result<(), Self::Invalid>;

    /// What the proof establishes, read from its first entry in canonical order (so every
    /// verifier reports the same thing).
    fn fork(first: &Signed<Self>) -> Self::Fork;
}

/// Two different envelopes one key signed for one position, the one whose hash is smaller
/// first. See the [module docs](self).
///
/// Encoded as a map of two byte strings (`first`, `second`); the entry type is not encoded,
/// the context the proof travels in (its frame kind, the enclosing message) says it.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ForkProof<T> {
    #[serde(with = "serde_bytes")]
    first: Vec<u8>,
    #[serde(with = "serde_bytes")]
    second: Vec<u8>,
    #[serde(skip)]
    entry: PhantomData<fn() -> T>,
}

impl<T> Clone for ForkProof<T> {
    fn clone(&self) -> Self {
        ForkProof {
            first: self.first.clone(),
            second: self.second.clone(),
            entry: PhantomData,
        }
    }
}

impl<T> PartialEq for ForkProof<T> {
    fn eq(&self, other: &Self) -> bool {
        self.first == other.first && self.second == other.second
    }
}

impl<T> Eq for ForkProof<T> {}

impl<T> fmt::Debug for ForkProof<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForkProof")
            .field("first_len", &self.first.len())
            .field("second_len", &self.second.len())
            .finish()
    }
}

/// The two verified entries of a proof, in canonical order.
pub type ForkEntries<T> = (Signed<T>, Signed<T>);

/// Why a fork proof is not valid. `E` is the entry type's [`Forkable::Invalid`].
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForkError<E: std::error::Error + 'static> {
    /// The proof frame is malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// An envelope is malformed or its signature does not verify.
    #[error("entry in proof refused: {0}")]
    Entry(#[from] SignedError),
    /// An entry is malformed on its own ([`Forkable::check_alone`]).
    #[error("entry in proof is malformed: {0}")]
    Invalid(#[source] E),
    /// The entries do not conflict (different signers or positions, or the same statement).
    #[error("entries do not conflict: {0}")]
    NotConflicting(&'static str),
    /// The envelopes are not in canonical order.
    #[error("proof is not in canonical order")]
    NotCanonical,
}

impl<T: Forkable> ForkProof<T> {
    /// Build a proof from two conflicting entries, in either order; refuses entries that do
    /// not conflict or are malformed.
    pub fn new(a: &Signed<T>, b: &Signed<T>) -> Result<Self, ForkError<T::Invalid>> {
        check_conflict(a, b)?;
        let (first, second) = if a.hash() < b.hash() { (a, b) } else { (b, a) };
        Ok(Self::from_envelopes(
            first.to_envelope(),
            second.to_envelope(),
        ))
    }

    /// Verify both envelopes (strictly, one signature at a time), both entries' own checks,
    /// the conflict and the canonical order, with no other state. Returns the two entries in
    /// canonical order.
    pub fn entries(&self, limits: &Limits) -> Result<ForkEntries<T>, ForkError<T::Invalid>> {
        let a = Signed::<T>::from_envelope(&self.first, limits)?;
        let b = Signed::<T>::from_envelope(&self.second, limits)?;
        check_conflict(&a, &b)?;
        if a.hash() >= b.hash() {
            return Err(ForkError::NotCanonical);
        }
        Ok((a, b))
    }

    /// [`entries`](Self::entries), returning what the proof establishes.
    pub fn verify(&self, limits: &Limits) -> Result<T::Fork, ForkError<T::Invalid>> {
        let (a, _) = self.entries(limits)?;
        Ok(T::fork(&a))
    }

    /// The proof's identity, for deduplication: BLAKE3 in the entry type's
    /// [`Forkable::PROOF_DOMAIN`] over both length-prefixed envelopes.
    pub fn id(&self) -> Hash {
        let mut h = Hasher::new(T::PROOF_DOMAIN);
        h.update_u64(self.first.len() as u64)
            .update(&self.first)
            .update_u64(self.second.len() as u64)
            .update(&self.second);
        h.finalize()
    }

    /// The proof as a frame of kind [`Forkable::PROOF_KIND`].
    pub fn to_frame(&self) -> Bytes {
        wire::encode_frame(T::PROOF_KIND, self).expect("encoding into memory cannot fail")
    }

    /// Decode a proof frame and verify it.
    pub fn from_frame(
        frame: &Bytes,
        limits: &Limits,
    ) -> Result<(Self, T::Fork), ForkError<T::Invalid>> {
        let p: Self = wire::decode_frame_as(frame, T::PROOF_KIND, limits)?;
        let fork = p.verify(limits)?;
        Ok((p, fork))
    }
}

impl<T> ForkProof<T> {
    /// A proof holding these envelope bytes, unchecked (for decoders and tests); call
    /// [`verify`](Self::verify) before believing it.
    pub fn from_envelopes(first: Vec<u8>, second: Vec<u8>) -> Self {
        ForkProof {
            first,
            second,
            entry: PhantomData,
        }
    }

    /// The two envelopes, in the order held.
    pub fn envelopes(&self) -> (&[u8], &[u8]) {
        (&self.first, &self.second)
    }
}

/// The conflict rule shared by every entry type, in this order: one signer, one position
/// ([`Forkable::same_position`]), different signed bytes, each entry sound on its own.
fn check_conflict<T: Forkable>(a: &Signed<T>, b: &Signed<T>) -> Result<(), ForkError<T::Invalid>> {
    if a.signer() != b.signer() {
        return Err(ForkError::NotConflicting("different signers"));
    }
    T::same_position(a, b).map_err(ForkError::NotConflicting)?;
    // Compare the signed bytes, not the envelopes: signing one statement twice (a signer may
    // use fresh randomness) is not a fork.
    if a.body() == b.body() {
        return Err(ForkError::NotConflicting("same entry"));
    }
    T::check_alone(a).map_err(ForkError::Invalid)?;
    T::check_alone(b).map_err(ForkError::Invalid)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::descriptor::Topic;
    use crate::log_header::{EntryKind, Equivocation, EquivocationProof, LogHeader};
    use crate::{Keypair, WallTime};

    fn header(kp: &Keypair, seq: u64, body: &[u8]) -> Signed<LogHeader> {
        let h = LogHeader {
            author: kp.id(),
            topic: Topic::new("code/review").unwrap(),
            seq,
            prev: (seq > 1).then_some(Hash([9; 32])),
            kind: EntryKind::DESCRIPTOR,
            body_hash: Hash::digest("agentnet/test/body", body),
            body_len: body.len() as u32,
            issued_at: WallTime::from_unix_millis(1_800_000_000_000),
            ttl_ms: 15_000,
            sketch: None,
        };
        Signed::sign(kp, h).unwrap()
    }

    #[test]
    fn genuine_proof_verifies_from_either_order() {
        let kp = Keypair::from_seed([5; 32]);
        let (a, b) = (header(&kp, 3, b"one"), header(&kp, 3, b"two"));
        let p = EquivocationProof::new(&a, &b).unwrap();
        assert_eq!(p, EquivocationProof::new(&b, &a).unwrap());
        assert_eq!(p.id(), EquivocationProof::new(&b, &a).unwrap().id());
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
    fn non_conflicts_are_refused_with_the_reason() {
        let kp = Keypair::from_seed([5; 32]);
        let other = Keypair::from_seed([6; 32]);
        let a = header(&kp, 3, b"one");
        let refused =
            |x: &Signed<LogHeader>, y: &Signed<LogHeader>| match EquivocationProof::new(x, y) {
                Err(ForkError::NotConflicting(why)) => why,
                r => panic!("expected a refusal, got {r:?}"),
            };
        assert_eq!(refused(&a, &a), "same entry");
        assert_eq!(refused(&a, &header(&kp, 4, b"two")), "different seq");
        assert_eq!(refused(&a, &header(&other, 3, b"two")), "different signers");
    }

    #[test]
    fn out_of_order_envelopes_are_refused() {
        let kp = Keypair::from_seed([5; 32]);
        let p = EquivocationProof::new(&header(&kp, 3, b"one"), &header(&kp, 3, b"two")).unwrap();
        let (x, y) = p.envelopes();
        let swapped = EquivocationProof::from_envelopes(y.to_vec(), x.to_vec());
        assert_eq!(
            swapped.verify(&Limits::default()),
            Err(ForkError::NotCanonical)
        );
        assert_ne!(swapped.id(), p.id());
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
