//! BLAKE3-256 hashing, domain-separated by object type.
//!
//! Every hash in agentnet names the kind of object it covers: the same bytes hashed as a
//! descriptor and as a log header give unrelated digests, so a digest can never be replayed as
//! the identity of a different kind of object. Domains are BLAKE3 `derive_key` context strings
//! of the form `"agentnet/v1/<object>"`; the constants in [`domain`] list the ones the core uses.

use core::fmt;

/// Context strings for [`Hash::digest`]. Each object type hashes under its own.
pub mod domain {
    /// Signed envelope bodies (the identity of a [`crate::Signed`] object).
    pub const SIGNED_BODY: &str = "agentnet/v1/signed-body";
    /// Capability descriptor bodies.
    pub const DESCRIPTOR: &str = "agentnet/v1/descriptor";
    /// Sealed-box key derivation.
    pub const SEAL_KDF: &str = "agentnet/v1/seal-kdf";
    /// Simulator trace hashes.
    pub const SIM_TRACE: &str = "agentnet/v1/sim-trace";
    /// Free-form payloads hashed by applications (task inputs, results).
    pub const PAYLOAD: &str = "agentnet/v1/payload";
}

/// A 32-byte BLAKE3 digest. Ordered and hashable so it can key `BTreeMap`s; encodes as a CBOR
/// byte string; prints as lowercase hex.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// Length of a digest in bytes.
    pub const LEN: usize = 32;

    /// The digest of `bytes` under the domain `context` (see [`domain`]).
    pub fn digest(context: &str, bytes: &[u8]) -> Hash {
        let mut h = Hasher::new(context);
        h.update(bytes);
        h.finalize()
    }

    /// The digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(HEX[(b >> 4) as usize] as char);
            s.push(HEX[(b & 0xf) as usize] as char);
        }
        s
    }

    /// The first eight bytes as a big-endian integer; handy as a cheap, well-mixed key.
    pub fn prefix_u64(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        u64::from_be_bytes(b)
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({}…)", &self.to_hex()[..12])
    }
}

fixed_bytes_serde!(Hash, 32);

/// Incremental domain-separated hashing, for objects hashed in pieces.
#[derive(Clone, Debug)]
pub struct Hasher(blake3::Hasher);

impl Hasher {
    /// A hasher for the domain `context`.
    pub fn new(context: &str) -> Self {
        Hasher(blake3::Hasher::new_derive_key(context))
    }

    /// Absorb `bytes`.
    pub fn update(&mut self, bytes: &[u8]) -> &mut Self {
        self.0.update(bytes);
        self
    }

    /// Absorb a `u64` (little-endian).
    pub fn update_u64(&mut self, v: u64) -> &mut Self {
        self.0.update(&v.to_le_bytes());
        self
    }

    /// The digest of everything absorbed so far.
    pub fn finalize(&self) -> Hash {
        Hash(*self.0.finalize().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_separate() {
        let a = Hash::digest(domain::DESCRIPTOR, b"x");
        let b = Hash::digest(domain::SIGNED_BODY, b"x");
        assert_ne!(a, b);
        assert_eq!(a, Hash::digest(domain::DESCRIPTOR, b"x"));
    }

    #[test]
    fn incremental_equals_one_shot() {
        let mut h = Hasher::new(domain::PAYLOAD);
        h.update(b"ab").update(b"cd");
        assert_eq!(h.finalize(), Hash::digest(domain::PAYLOAD, b"abcd"));
    }

    #[test]
    fn serde_is_a_byte_string() {
        let h = Hash([7; 32]);
        let mut buf = Vec::new();
        ciborium::into_writer(&h, &mut buf).unwrap();
        assert_eq!(buf[0], 0x58); // bytes, 1-byte length
        assert_eq!(buf[1], 32);
        let back: Hash = ciborium::from_reader(&buf[..]).unwrap();
        assert_eq!(back, h);
        assert_eq!(h.to_hex().len(), 64);
    }
}
