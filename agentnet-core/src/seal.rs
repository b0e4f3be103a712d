//! X25519 keys, their signed binding to an [`AgentId`], and sealed boxes.
//!
//! Every agent has an X25519 static key next to its Ed25519 identity. A [`KeyBinding`] signed
//! by the identity key says "this X25519 key is mine"; transports send it in the Noise
//! handshake so a link is authenticated to an `AgentId`, and senders use it to seal payloads
//! end-to-end.
//!
//! # Sealed boxes
//!
//! [`seal`] encrypts a payload to a recipient's X25519 public key so that only the holder of
//! the matching secret can read it, with no interaction:
//!
//! ```text
//! e, E   = fresh ephemeral X25519 key pair (from the caller's RNG)
//! shared = X25519(e, R)                          refused if all-zero (low-order R)
//! key    = BLAKE3-derive_key("agentnet/v1/seal-kdf", E ‖ R ‖ shared)
//! box    = 0x01 ‖ E ‖ ChaCha20-Poly1305(key, nonce = 0, aad = 0x01 ‖ E ‖ R ‖ aad, payload)
//! ```
//!
//! The key is unique per box (fresh `e`), so the fixed nonce is never reused under one key.
//! The box is anonymous: it does not say who sealed it. Authenticate the sender by sealing a
//! [`crate::Signed`] object, or by binding the caller's `aad` to a session.

use core::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use x25519_dalek::{EphemeralSecret, PublicKey, StaticSecret};

use crate::hash::domain;
use crate::identity::AgentId;
use crate::signed::SignedObject;
use crate::time::WallTime;
use crate::wire::MessageKind;

/// Version byte of the sealed-box format.
pub const SEAL_VERSION: u8 = 1;
/// Bytes a sealed box adds to its payload (version, ephemeral key, tag).
pub const SEAL_OVERHEAD: usize = 1 + 32 + 16;

/// An X25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct X25519Public(pub [u8; 32]);

impl fmt::Debug for X25519Public {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "X25519Public({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

fixed_bytes_serde!(X25519Public, 32);

/// An X25519 static secret. Zeroised on drop.
pub struct X25519Secret(StaticSecret);

impl X25519Secret {
    /// The secret with these bytes (clamped by X25519 itself).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        X25519Secret(StaticSecret::from(bytes))
    }

    /// The secret bytes (for handing to a Noise implementation).
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The matching public key.
    pub fn public(&self) -> X25519Public {
        X25519Public(PublicKey::from(&self.0).to_bytes())
    }
}

impl fmt::Debug for X25519Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("X25519Secret").field(&self.public()).finish()
    }
}

/// "The X25519 key `x25519` belongs to `agent`", signed by the agent's identity key.
///
/// A newer binding (larger `issued_at`) for the same agent replaces an older one; receivers
/// judge `issued_at` against their own clock with the usual skew window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBinding {
    /// The identity that owns the key.
    pub agent: AgentId,
    /// The bound X25519 public key.
    pub x25519: X25519Public,
    /// When the binding was made.
    pub issued_at: WallTime,
}

impl SignedObject for KeyBinding {
    const CONTEXT: &'static str = crate::hash::domain::KEY_BINDING;
    const KIND: MessageKind = MessageKind::KEY_BINDING;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

/// Why a sealed box could not be made or opened.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SealError {
    /// The box is shorter than its fixed overhead.
    #[error("sealed box of {0} bytes is shorter than the {SEAL_OVERHEAD}-byte overhead")]
    TooShort(usize),
    /// The box uses a format version this build does not know.
    #[error("unsupported sealed-box version {0}")]
    UnsupportedVersion(u8),
    /// A public key is of low order, so the shared secret would be predictable.
    #[error("low-order X25519 key")]
    LowOrderKey,
    /// Authentication failed: wrong recipient, tampered box or wrong associated data.
    #[error("sealed box does not open (wrong key or tampered)")]
    Open,
}

fn box_key(eph: &[u8; 32], recipient: &[u8; 32], shared: &[u8; 32]) -> Key {
    let mut h = blake3::Hasher::new_derive_key(domain::SEAL_KDF);
    h.update(eph).update(recipient).update(shared);
    Key::from(*h.finalize().as_bytes())
}

fn box_aad(eph: &[u8; 32], recipient: &[u8; 32], aad: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(65 + aad.len());
    a.push(SEAL_VERSION);
    a.extend_from_slice(eph);
    a.extend_from_slice(recipient);
    a.extend_from_slice(aad);
    a
}

/// Seal `payload` to `recipient`, binding the caller's associated data `aad` (not encrypted,
/// not included in the box; the opener must supply the same bytes). The ephemeral key comes
/// from `rng`, which the host provides.
pub fn seal<R: rand_core::CryptoRng + ?Sized>(
    recipient: &X25519Public,
    payload: &[u8],
    aad: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, SealError> {
    let eph_secret = EphemeralSecret::random_from_rng(rng);
    let eph = PublicKey::from(&eph_secret).to_bytes();
    let shared = eph_secret.diffie_hellman(&PublicKey::from(recipient.0));
    if !shared.was_contributory() {
        return Err(SealError::LowOrderKey);
    }
    let cipher = ChaCha20Poly1305::new(&box_key(&eph, &recipient.0, shared.as_bytes()));
    let ct = cipher
        .encrypt(
            &Nonce::default(),
            Payload {
                msg: payload,
                aad: &box_aad(&eph, &recipient.0, aad),
            },
        )
        .map_err(|_| SealError::Open)?;
    let mut out = Vec::with_capacity(SEAL_OVERHEAD + payload.len());
    out.push(SEAL_VERSION);
    out.extend_from_slice(&eph);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Open a box made by [`seal`] for the holder of `secret`, with the same `aad`.
pub fn open(secret: &X25519Secret, sealed: &[u8], aad: &[u8]) -> Result<Vec<u8>, SealError> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(SealError::TooShort(sealed.len()));
    }
    if sealed[0] != SEAL_VERSION {
        return Err(SealError::UnsupportedVersion(sealed[0]));
    }
    let eph: [u8; 32] = sealed[1..33].try_into().expect("length checked");
    let shared = secret.0.diffie_hellman(&PublicKey::from(eph));
    if !shared.was_contributory() {
        return Err(SealError::LowOrderKey);
    }
    let me = secret.public().0;
    let cipher = ChaCha20Poly1305::new(&box_key(&eph, &me, shared.as_bytes()));
    cipher
        .decrypt(
            &Nonce::default(),
            Payload {
                msg: &sealed[33..],
                aad: &box_aad(&eph, &me, aad),
            },
        )
        .map_err(|_| SealError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;
    use crate::signed::Signed;
    use crate::wire::Limits;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    #[test]
    fn seal_open_round_trip() {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let kp = Keypair::from_seed([1; 32]);
        let b = seal(&kp.x25519().public(), b"secret task", b"task-1", &mut rng).unwrap();
        assert_eq!(b.len(), SEAL_OVERHEAD + 11);
        assert_eq!(open(kp.x25519(), &b, b"task-1").unwrap(), b"secret task");
    }

    #[test]
    fn wrong_key_aad_or_tamper_fails() {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        let kp = Keypair::from_seed([1; 32]);
        let other = Keypair::from_seed([2; 32]);
        let b = seal(&kp.x25519().public(), b"payload", b"", &mut rng).unwrap();
        assert_eq!(open(other.x25519(), &b, b""), Err(SealError::Open));
        assert_eq!(open(kp.x25519(), &b, b"x"), Err(SealError::Open));
        for i in 1..b.len() {
            let mut t = b.clone();
            t[i] ^= 0x40;
            assert!(open(kp.x25519(), &t, b"").is_err(), "byte {i}");
        }
        assert_eq!(
            open(kp.x25519(), &b[..10], b""),
            Err(SealError::TooShort(10))
        );
        let mut v = b.clone();
        v[0] = 2;
        assert_eq!(
            open(kp.x25519(), &v, b""),
            Err(SealError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn low_order_recipient_is_refused() {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        assert_eq!(
            seal(&X25519Public([0; 32]), b"x", b"", &mut rng),
            Err(SealError::LowOrderKey)
        );
    }

    #[test]
    fn binding_signs_and_verifies() {
        let kp = Keypair::from_seed([3; 32]);
        let binding = KeyBinding {
            agent: kp.id(),
            x25519: kp.x25519().public(),
            issued_at: WallTime::from_unix_millis(1),
        };
        let s = Signed::sign(&kp, binding.clone()).unwrap();
        let back = Signed::<KeyBinding>::from_frame(&s.to_frame(), &Limits::default()).unwrap();
        assert_eq!(back.value(), &binding);
        // Another agent cannot bind its key to this id.
        let mallory = Keypair::from_seed([4; 32]);
        assert!(Signed::sign(&mallory, binding).is_err());
    }
}
