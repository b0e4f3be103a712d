//! `Signed<T>`: a value together with the exact bytes that were signed.
//!
//! A signed object travels as an envelope — a CBOR array `[signer, signature, body]`, where
//! `body` is a byte string holding the canonical CBOR of `T`. Receiving one is always:
//!
//! 1. structure-check the envelope against the [`Limits`] (no allocation before this);
//! 2. verify the signature over the **body bytes as received** (domain-separated by
//!    [`SignedObject::CONTEXT`]);
//! 3. only then structure-check and decode the body into `T`;
//! 4. check that the author named inside `T`, if it names one, is the signer.
//!
//! Nothing is re-encoded to verify, so encoder quirks can never make a valid signature fail or
//! an altered body pass. The object's identity is [`Signed::hash`]: BLAKE3 over the body bytes
//! in the type's own domain.

use core::fmt;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::hash::Hash;
use crate::identity::{AgentId, BatchItem, KeyCache, SignError, Signature, SignatureError, Signer};
use crate::wire::{self, Limits, MessageKind, WireError};

/// A type that travels signed. Implemented by descriptors, key bindings, log headers, ...
pub trait SignedObject: Serialize + DeserializeOwned {
    /// Domain of both the signature and the hash, e.g. `"agentnet/v1/descriptor"`. Must be
    /// unique per type and contain no NUL.
    const CONTEXT: &'static str;
    /// Frame kind used when the signed object is sent on its own.
    const KIND: MessageKind;

    /// The agent the object says wrote it, if it names one. [`Signed`] refuses objects whose
    /// named author is not the signer.
    fn author(&self) -> Option<AgentId> {
        None
    }
}

/// Why a signed object was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedError {
    /// The envelope or body is malformed or over a limit.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The signature does not verify (tampered body, wrong key, wrong context).
    #[error("bad signature: {0}")]
    BadSignature(#[from] SignatureError),
    /// The body names an author other than the signer.
    #[error("signed by {signer} but the object names {author} as its author")]
    SignerMismatch {
        /// Who signed.
        signer: AgentId,
        /// Who the object claims wrote it.
        author: AgentId,
    },
    /// The signer could not sign.
    #[error("signing failed: {0}")]
    Sign(#[from] SignError),
    /// The body decodes, but is not the canonical encoding of what it decodes to
    /// (reordered map keys, unknown fields, a type encoded another way). Refused, so every
    /// signed object has exactly one accepted encoding, hence one hash and one identity
    /// for deduplication, equivocation and fraud proofs.
    #[error("the signed body is not in canonical form")]
    NonCanonical,
}

#[derive(Serialize)]
struct EnvelopeRef<'a>(
    &'a AgentId,
    &'a Signature,
    #[serde(with = "serde_bytes")] &'a [u8],
);

/// A verified value of type `T` with the bytes, signer and signature it arrived with.
#[derive(Clone)]
pub struct Signed<T> {
    signer: AgentId,
    signature: Signature,
    body: Bytes,
    value: T,
}

impl<T: SignedObject> Signed<T> {
    /// Encode `value` and sign it. Refuses a value whose named author is not the signer.
    pub fn sign<S: Signer + ?Sized>(signer: &S, value: T) -> Result<Self, SignedError> {
        let id = signer.agent_id();
        if let Some(author) = value.author()
            && author != id
        {
            return Err(SignedError::SignerMismatch { signer: id, author });
        }
        let body = wire::encode_cbor(&value)?;
        let signature = signer.sign(T::CONTEXT, &body)?;
        Ok(Signed {
            signer: id,
            signature,
            body: Bytes::from(body),
            value,
        })
    }

    /// Verify, then decode: the receive path for parts already separated by the caller.
    pub fn from_parts(
        signer: AgentId,
        signature: Signature,
        body: Bytes,
        limits: &Limits,
    ) -> Result<Self, SignedError> {
        if body.len() > limits.max_frame {
            return Err(WireError::FrameTooLarge {
                len: body.len(),
                max: limits.max_frame,
            }
            .into());
        }
        signer.verify(T::CONTEXT, &body, &signature)?;
        Self::decode_verified(signer, signature, body, limits)
    }

    fn decode_verified(
        signer: AgentId,
        signature: Signature,
        body: Bytes,
        limits: &Limits,
    ) -> Result<Self, SignedError> {
        let value: T = wire::decode_cbor(&body, limits)?;
        Self::checked(signer, signature, body, value)
    }

    /// The checks after the signature, on a value decoded from `body`: canonical encoding
    /// and author = signer.
    fn checked(
        signer: AgentId,
        signature: Signature,
        body: Bytes,
        value: T,
    ) -> Result<Self, SignedError> {
        // Re-encoding is the reference: whatever `sign` would produce for this value is the
        // one form accepted.
        if wire::encode_cbor(&value).map_or(true, |canonical| canonical != body) {
            return Err(SignedError::NonCanonical);
        }
        if let Some(author) = value.author()
            && author != signer
        {
            return Err(SignedError::SignerMismatch { signer, author });
        }
        Ok(Signed {
            signer,
            signature,
            body,
            value,
        })
    }

    /// Decode an envelope (as produced by [`Signed::to_envelope`]), verify, decode the body.
    pub fn from_envelope(envelope: &[u8], limits: &Limits) -> Result<Self, SignedError> {
        let (signer, signature, body) = open_envelope(envelope, limits)?;
        Self::from_parts(signer, signature, body, limits)
    }

    /// Decode a frame of kind `T::KIND` and its body **without verifying the signature**:
    /// the claimed signer and value, for cheap routing decisions made before paying for a
    /// verification (is this a topic we follow? whose budget does it draw on?). Nothing read
    /// here may be believed, stored or acted on beyond such a decision; a frame that passes
    /// goes through [`from_frame`](Self::from_frame) next.
    pub fn peek_unverified(frame: &Bytes, limits: &Limits) -> Result<Unverified<T>, SignedError> {
        let payload = wire::decode_frame_of(frame, T::KIND, limits)?;
        let (signer, signature, body) = open_checked_envelope(&payload)?;
        let value: T = wire::decode_cbor(&body, limits)?;
        Ok(Unverified {
            signer,
            signature,
            body,
            value,
        })
    }

    /// Decode a frame of kind `T::KIND` carrying one envelope.
    pub fn from_frame(frame: &Bytes, limits: &Limits) -> Result<Self, SignedError> {
        Self::from_frame_inner(frame, limits, None)
    }

    /// [`Signed::from_frame`] with decompressed signer keys kept in `cache`.
    pub fn from_frame_cached(
        frame: &Bytes,
        limits: &Limits,
        cache: &mut KeyCache,
    ) -> Result<Self, SignedError> {
        Self::from_frame_inner(frame, limits, Some(cache))
    }

    fn from_frame_inner(
        frame: &Bytes,
        limits: &Limits,
        cache: Option<&mut KeyCache>,
    ) -> Result<Self, SignedError> {
        let payload = wire::decode_frame_of(frame, T::KIND, limits)?;
        let (signer, signature, body) = open_checked_envelope(&payload)?;
        match cache {
            Some(c) => c.verify(&signer, T::CONTEXT, &body, &signature)?,
            None => signer.verify(T::CONTEXT, &body, &signature)?,
        }
        Self::decode_verified(signer, signature, body, limits)
    }

    /// [`Signed::from_frames_batch`] with decompressed signer keys kept in `cache`.
    pub fn from_frames_batch_cached(
        frames: &[Bytes],
        limits: &Limits,
        cache: &mut KeyCache,
    ) -> Vec<Result<Self, SignedError>> {
        Self::batch_inner(frames, limits, Some(cache))
    }

    /// Decode many frames of kind `T::KIND`, verifying all signatures in one batch (with a
    /// one-by-one fallback if the batch fails). `result[i]` belongs to `frames[i]`.
    pub fn from_frames_batch(frames: &[Bytes], limits: &Limits) -> Vec<Result<Self, SignedError>> {
        Self::batch_inner(frames, limits, None)
    }

    fn batch_inner(
        frames: &[Bytes],
        limits: &Limits,
        cache: Option<&mut KeyCache>,
    ) -> Vec<Result<Self, SignedError>> {
        let opened: Vec<Result<(AgentId, Signature, Bytes), SignedError>> = frames
            .iter()
            .map(|f| {
                let payload = wire::decode_frame_of(f, T::KIND, limits)?;
                open_checked_envelope(&payload)
            })
            .collect();
        let items: Vec<BatchItem<'_>> = opened
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|(signer, signature, body)| BatchItem {
                signer,
                context: T::CONTEXT,
                bytes: body,
                signature,
            })
            .collect();
        let verdicts = match cache {
            Some(c) => crate::identity::verify_each_cached(&items, c),
            None => crate::identity::verify_each(&items),
        };
        let mut verdicts = verdicts.into_iter();
        opened
            .into_iter()
            .map(|r| {
                let (signer, signature, body) = r?;
                verdicts.next().expect("one verdict per opened envelope")?;
                Self::decode_verified(signer, signature, body, limits)
            })
            .collect()
    }

    /// The envelope bytes: CBOR `[signer, signature, body]`.
    pub fn to_envelope(&self) -> Vec<u8> {
        wire::encode_cbor(&EnvelopeRef(&self.signer, &self.signature, &self.body))
            .expect("encoding an envelope into memory cannot fail")
    }

    /// A frame of kind `T::KIND` carrying the envelope.
    pub fn to_frame(&self) -> Bytes {
        wire::frame_from_payload(T::KIND, &self.to_envelope())
    }

    /// The object's identity: BLAKE3 of the body bytes in the domain `T::CONTEXT`.
    pub fn hash(&self) -> Hash {
        Hash::digest(T::CONTEXT, &self.body)
    }
}

/// A frame decoded but not verified ([`Signed::peek_unverified`]): what it claims, for a
/// routing decision, and the one way on — [`verify_cached`](Self::verify_cached), which checks
/// exactly what [`Signed::from_frame_cached`] checks without decoding the body again.
#[derive(Debug)]
pub struct Unverified<T> {
    signer: AgentId,
    signature: Signature,
    body: Bytes,
    value: T,
}

impl<T: SignedObject> Unverified<T> {
    /// What the body claims (not to be believed).
    pub fn claimed(&self) -> &T {
        &self.value
    }

    /// Verify the signature (keys decompressed through `cache`), then the canonical encoding
    /// and author = signer.
    pub fn verify_cached(self, cache: &mut KeyCache) -> Result<Signed<T>, SignedError> {
        cache.verify(&self.signer, T::CONTEXT, &self.body, &self.signature)?;
        Signed::checked(self.signer, self.signature, self.body, self.value)
    }
}

impl<T> Signed<T> {
    /// The verified value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value, dropping the signature.
    pub fn into_value(self) -> T {
        self.value
    }

    /// Who signed.
    pub fn signer(&self) -> AgentId {
        self.signer
    }

    /// The signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The exact body bytes that were signed.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

impl<T> core::ops::Deref for Signed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for Signed<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signed")
            .field("signer", &self.signer)
            .field("body_len", &self.body.len())
            .field("value", &self.value)
            .finish()
    }
}

impl<T> PartialEq for Signed<T> {
    /// Two signed objects are equal when signer, signature and body bytes are.
    fn eq(&self, other: &Self) -> bool {
        self.signer == other.signer && self.signature == other.signature && self.body == other.body
    }
}

impl<T> Eq for Signed<T> {}

fn open_envelope(
    envelope: &[u8],
    limits: &Limits,
) -> Result<(AgentId, Signature, Bytes), SignedError> {
    wire::check_cbor(envelope, limits)?;
    open_checked_envelope(&Bytes::copy_from_slice(envelope))
}

/// Split a structure-checked envelope `[signer, signature, body]` without copying the body.
///
/// The envelope layout is fixed (a 3-array of byte strings of 32, 64 and n bytes), so it is
/// read directly; anything else is a schema error.
fn open_checked_envelope(envelope: &Bytes) -> Result<(AgentId, Signature, Bytes), SignedError> {
    let bad = |what: &str| SignedError::Wire(WireError::Schema(format!("envelope: {what}")));
    let e = envelope.as_ref();
    if e.first() != Some(&0x83) {
        return Err(bad("expected an array of 3"));
    }
    // signer: bytes(32) = 0x58 0x20 + 32 bytes; signature: bytes(64) = 0x58 0x40 + 64 bytes.
    if e.get(1..3) != Some(&[0x58, 0x20][..]) {
        return Err(bad("signer must be 32 bytes"));
    }
    let signer: [u8; 32] = e
        .get(3..35)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("truncated"))?;
    if e.get(35..37) != Some(&[0x58, 0x40][..]) {
        return Err(bad("signature must be 64 bytes"));
    }
    let sig: [u8; 64] = e
        .get(37..101)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| bad("truncated"))?;
    // body: a byte string; check_cbor already proved the lengths consistent and minimal.
    let head = *e.get(101).ok_or_else(|| bad("missing body"))?;
    if head >> 5 != 2 {
        return Err(bad("body must be a byte string"));
    }
    let (len, start) = match head & 0x1f {
        n @ 0..=23 => (usize::from(n), 102),
        24 => (
            usize::from(*e.get(102).ok_or_else(|| bad("truncated"))?),
            103,
        ),
        25 => {
            let b = e.get(102..104).ok_or_else(|| bad("truncated"))?;
            (usize::from(u16::from_be_bytes([b[0], b[1]])), 104)
        }
        26 => {
            let b = e.get(102..106).ok_or_else(|| bad("truncated"))?;
            (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize, 106)
        }
        _ => return Err(bad("body too long")),
    };
    if start + len != e.len() {
        return Err(bad("length mismatch"));
    }
    Ok((
        AgentId::from_bytes(signer),
        Signature(sig),
        envelope.slice(start..),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Note {
        author: AgentId,
        text: String,
    }

    impl SignedObject for Note {
        const CONTEXT: &'static str = "agentnet/test/note";
        const KIND: MessageKind = MessageKind(0x7f10);
        fn author(&self) -> Option<AgentId> {
            Some(self.author)
        }
    }

    fn note(kp: &Keypair) -> Note {
        Note {
            author: kp.id(),
            text: "hello".into(),
        }
    }

    #[test]
    fn round_trip_via_frame_and_envelope() {
        let kp = Keypair::from_seed([1; 32]);
        let s = Signed::sign(&kp, note(&kp)).unwrap();
        let l = Limits::default();
        let back = Signed::<Note>::from_frame(&s.to_frame(), &l).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.value(), &note(&kp));
        assert_eq!(back.hash(), s.hash());
        let back2 = Signed::<Note>::from_envelope(&s.to_envelope(), &l).unwrap();
        assert_eq!(back2.text, "hello");
    }

    #[test]
    fn author_must_be_signer() {
        let a = Keypair::from_seed([1; 32]);
        let b = Keypair::from_seed([2; 32]);
        assert!(matches!(
            Signed::sign(&b, note(&a)),
            Err(SignedError::SignerMismatch { .. })
        ));
        // Forge on the wire: B signs a body that names A.
        let body = wire::encode_cbor(&note(&a)).unwrap();
        let sig = b.sign_bytes(Note::CONTEXT, &body);
        let r = Signed::<Note>::from_parts(b.id(), sig, Bytes::from(body), &Limits::default());
        assert!(matches!(r, Err(SignedError::SignerMismatch { .. })));
    }

    #[test]
    fn only_the_canonical_encoding_is_accepted() {
        #[derive(Serialize)]
        struct Reordered<'a> {
            text: &'a str,
            author: AgentId,
        }
        #[derive(Serialize)]
        struct Extra<'a> {
            author: AgentId,
            text: &'a str,
            more: u8,
        }
        #[derive(Serialize)]
        struct KeyAsArray<'a> {
            author: [u8; 32],
            text: &'a str,
        }
        let kp = Keypair::from_seed([1; 32]);
        let l = Limits::default();
        let bodies = [
            wire::encode_cbor(&Reordered {
                text: "hello",
                author: kp.id(),
            })
            .unwrap(),
            wire::encode_cbor(&Extra {
                author: kp.id(),
                text: "hello",
                more: 1,
            })
            .unwrap(),
            wire::encode_cbor(&KeyAsArray {
                author: *kp.id().as_bytes(),
                text: "hello",
            })
            .unwrap(),
        ];
        for body in bodies {
            // Each one is a validly signed body that decodes to the same note...
            let sig = kp.sign_bytes(Note::CONTEXT, &body);
            let r = Signed::<Note>::from_parts(kp.id(), sig, Bytes::from(body.clone()), &l);
            assert!(matches!(r, Err(SignedError::NonCanonical)), "{r:?}");
            // ...and is refused on every path, the frame one included.
            let env = wire::encode_cbor(&EnvelopeRef(&kp.id(), &sig, &body)).unwrap();
            let frame = wire::frame_from_payload(Note::KIND, &env);
            assert!(matches!(
                Signed::<Note>::from_frame(&frame, &l),
                Err(SignedError::NonCanonical)
            ));
            assert!(matches!(
                Signed::<Note>::from_frames_batch(&[frame], &l)[0],
                Err(SignedError::NonCanonical)
            ));
        }
    }

    #[test]
    fn tampering_is_caught_before_decoding() {
        let kp = Keypair::from_seed([1; 32]);
        let s = Signed::sign(&kp, note(&kp)).unwrap();
        let frame = s.to_frame();
        let l = Limits::default();
        // Flip each byte of the body region in turn: every change is refused.
        for i in 3..frame.len() {
            let mut v = frame.to_vec();
            v[i] ^= 0x01;
            assert!(
                Signed::<Note>::from_frame(&Bytes::from(v), &l).is_err(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn batch_matches_single() {
        let kps: Vec<Keypair> = (0..5u8).map(|i| Keypair::from_seed([i + 1; 32])).collect();
        let mut frames: Vec<Bytes> = kps
            .iter()
            .map(|k| Signed::sign(k, note(k)).unwrap().to_frame())
            .collect();
        let mut bad = frames[2].to_vec();
        let last = bad.len() - 1;
        bad[last] ^= 0x20; // inside the body text
        frames[2] = Bytes::from(bad);
        frames.push(Bytes::from_static(&[1, 0]));
        let out = Signed::<Note>::from_frames_batch(&frames, &Limits::default());
        assert_eq!(out.len(), 6);
        assert!(out[0].is_ok() && out[1].is_ok() && out[3].is_ok() && out[4].is_ok());
        assert!(matches!(out[2], Err(SignedError::BadSignature(_))));
        assert!(matches!(
            out[5],
            Err(SignedError::Wire(WireError::TruncatedHeader { .. }))
        ));
    }
}
