//! Agent identities, keys and signatures.
//!
//! An [`AgentId`] is an Ed25519 public key. Its text form is a `did:key` identifier
//! (`did:key:z` + base58btc of the multicodec prefix `0xed 0x01` and the 32 key bytes), so ids
//! interoperate with DID tooling. A [`Keypair`] holds the Ed25519 signing key and the agent's
//! X25519 static key (used for Noise links and sealed boxes, see [`crate::seal`]), both derived
//! from one 32-byte seed the host supplies.
//!
//! # Signatures
//!
//! Every agentnet signature is **domain-separated**: the signed message is
//! `"agentnet/v1/sig\0" ‖ context ‖ "\0" ‖ bytes`, where `context` names the object type (see
//! [`crate::Signed`]). A signature over a descriptor can therefore never be replayed as a
//! signature over a log header or a key binding. Verification is **strict** (RFC 8032 with the
//! extra checks of `ed25519-dalek`'s `verify_strict`: canonical `s`, no small-order `R` or `A`).
//!
//! [`verify_batch`] checks many signatures at once (about twice as fast per signature for large
//! batches). It applies the same encoding checks as strict verification before the batch
//! equation. *Threat note:* batch verification is probabilistic and cofactorless; a signer who
//! deliberately adds a small-torsion component to its **own** signature can make it pass a batch
//! with some probability while strict verification rejects it. It cannot forge anyone else's
//! signature. Callers that must agree bit-for-bit with third parties (fraud proofs) verify
//! singly with [`AgentId::verify`].
//!
//! # Counting verifications
//!
//! With the cargo feature `count-verifications` (off by default) every strict verification,
//! every signature checked in a batch and every key decompression increments a process-wide
//! relaxed atomic counter, read with `verification_counts()`. Benchmarks use it to learn how
//! many signature checks a workload costs; it never changes what verifies. Without the
//! feature the counting calls compile to nothing.
//!
//! # Keys outside the process
//!
//! [`Signer`] is a synchronous trait so an HSM, an OS keystore or a remote signer with a local
//! cache can stand in for [`Keypair`]. It receives the complete domain-separated message.

use core::fmt;
use core::str::FromStr;

use ed25519_dalek::{SigningKey, VerifyingKey};

use thiserror::Error;

/// Multicodec prefix of an Ed25519 public key (`ed25519-pub`, varint `0xed`).
const MULTICODEC_ED25519_PUB: [u8; 2] = [0xed, 0x01];
const DID_KEY_PREFIX: &str = "did:key:z";
const SIG_PREFIX: &[u8] = b"agentnet/v1/sig\0";

/// Why an identity or signature was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    /// The text is not of the form `did:key:z…`.
    #[error("not a did:key identifier (expected prefix \"did:key:z\")")]
    NotDidKey,
    /// The multibase payload is not valid base58btc.
    #[error("invalid base58btc in did:key")]
    Base58,
    /// The multicodec prefix is not `ed25519-pub`.
    #[error("did:key is not an Ed25519 key (multicodec prefix {0:02x?})")]
    WrongMulticodec([u8; 2]),
    /// The key has the wrong number of bytes.
    #[error("Ed25519 public key must be 32 bytes, got {0}")]
    KeyLength(usize),
    /// The bytes are not a valid, canonical, prime-order-usable Ed25519 point.
    #[error("not a valid Ed25519 public key (non-canonical, off-curve or small order)")]
    InvalidKey,
}

/// Why a signature did not verify.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signer's public key is malformed or weak.
    #[error("signer key is not a valid Ed25519 public key")]
    InvalidKey,
    /// The signature does not verify under the signer's key for this message and context.
    #[error("signature does not verify")]
    Invalid,
}

/// Why a [`Signer`] could not sign.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignError {
    /// The key is not available (locked keystore, unreachable remote signer).
    #[error("signing key unavailable: {0}")]
    Unavailable(String),
    /// The signer refused this message (policy).
    #[error("signer refused: {0}")]
    Refused(String),
}

/// An agent's identity: its Ed25519 public key.
///
/// Any 32 bytes can be held in an `AgentId` (decoding one from the wire is free); an id is a
/// *claim* until a signature by it verifies, which is also when a malformed key is refused.
/// [`AgentId::from_str`] on a `did:key` string validates the key eagerly.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgentId([u8; 32]);

impl AgentId {
    /// The id holding these public-key bytes (not validated; see the type docs).
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        AgentId(bytes)
    }

    /// The id for these bytes if they are a valid, canonical, non-small-order Ed25519 key.
    pub fn from_bytes_checked(bytes: [u8; 32]) -> Result<Self, IdentityError> {
        let id = AgentId(bytes);
        id.verifying_key().map_err(|_| IdentityError::InvalidKey)?;
        Ok(id)
    }

    /// The public-key bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The decompressed key, refusing non-canonical encodings, small-order points and points
    /// with a torsion component.
    ///
    /// Torsion: `A + T` (T of order 2, 4 or 8) is a different id for the same secret, and
    /// single (cofactorless) and batch (cofactored) verification can disagree on signatures
    /// under it. Honest keys (`a·B`) are always in the prime-order subgroup, so refusing the
    /// rest costs honest agents nothing. The check is one scalar multiplication; the hot
    /// paths go through [`KeyCache`], which pays it once per key.
    pub fn verifying_key(&self) -> Result<VerifyingKey, SignatureError> {
        if !is_canonical_y(&self.0) {
            return Err(SignatureError::InvalidKey);
        }
        count::key_decompression();
        let vk = VerifyingKey::from_bytes(&self.0).map_err(|_| SignatureError::InvalidKey)?;
        if vk.is_weak() || !vk.to_edwards().is_torsion_free() {
            return Err(SignatureError::InvalidKey);
        }
        Ok(vk)
    }

    /// Strictly verify `signature` over `bytes` signed in `context`.
    pub fn verify(
        &self,
        context: &str,
        bytes: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        let vk = self.verifying_key()?;
        let msg = signing_input(context, bytes);
        count::single(bytes.len());
        vk.verify_strict(&msg, &signature.to_dalek())
            .map_err(|_| SignatureError::Invalid)
    }

    /// The `did:key` text form.
    pub fn to_did(&self) -> String {
        let mut raw = [0u8; 34];
        raw[..2].copy_from_slice(&MULTICODEC_ED25519_PUB);
        raw[2..].copy_from_slice(&self.0);
        let mut s = String::with_capacity(56);
        s.push_str(DID_KEY_PREFIX);
        s.push_str(&bs58::encode(raw).into_string());
        s
    }

    /// A short printable prefix of the id, for logs and transcripts.
    pub fn short(&self) -> String {
        let did = self.to_did();
        format!("{}…{}", &did[8..16], &did[did.len() - 4..])
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_did())
    }
}

impl fmt::Debug for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgentId({})", self.short())
    }
}

impl FromStr for AgentId {
    type Err = IdentityError;

    /// Parses `did:key:z…` (Ed25519 only) and validates the key.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let b58 = s
            .strip_prefix(DID_KEY_PREFIX)
            .ok_or(IdentityError::NotDidKey)?;
        // 34 raw bytes never need more than 47 base58 characters; refuse long input before
        // decoding it.
        if b58.len() > 64 {
            return Err(IdentityError::KeyLength(b58.len()));
        }
        let raw = bs58::decode(b58)
            .into_vec()
            .map_err(|_| IdentityError::Base58)?;
        if raw.len() < 2 {
            return Err(IdentityError::KeyLength(raw.len()));
        }
        let codec = [raw[0], raw[1]];
        if codec != MULTICODEC_ED25519_PUB {
            return Err(IdentityError::WrongMulticodec(codec));
        }
        let key: [u8; 32] = raw[2..]
            .try_into()
            .map_err(|_| IdentityError::KeyLength(raw.len() - 2))?;
        AgentId::from_bytes_checked(key)
    }
}

fixed_bytes_serde!(AgentId, 32);

/// An Ed25519 signature (64 bytes, `R ‖ s`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    fn to_dalek(self) -> ed25519_dalek::Signature {
        ed25519_dalek::Signature::from_bytes(&self.0)
    }

    /// The signature bytes.
    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Signature({:02x}{:02x}{:02x}{:02x}…)",
            self.0[0], self.0[1], self.0[2], self.0[3]
        )
    }
}

fixed_bytes_serde!(Signature, 64);

/// The exact message an agentnet signature covers: `"agentnet/v1/sig\0" ‖ context ‖ "\0" ‖
/// bytes`. `context` must not contain NUL (all contexts are compile-time constants).
pub fn signing_input(context: &str, bytes: &[u8]) -> Vec<u8> {
    debug_assert!(!context.as_bytes().contains(&0));
    let mut m = Vec::with_capacity(SIG_PREFIX.len() + context.len() + 1 + bytes.len());
    m.extend_from_slice(SIG_PREFIX);
    m.extend_from_slice(context.as_bytes());
    m.push(0);
    m.extend_from_slice(bytes);
    m
}

/// Something that can sign on behalf of one agent. Synchronous so engines can call it inline;
/// a slow or remote key should be fronted by a cache or a local delegate key.
pub trait Signer {
    /// The identity whose key this signer holds.
    fn agent_id(&self) -> AgentId;

    /// Sign `message` exactly as given. Callers pass [`signing_input`]; use [`Signer::sign`].
    fn sign_message(&self, message: &[u8]) -> Result<Signature, SignError>;

    /// Sign `bytes` in `context` (domain-separated).
    fn sign(&self, context: &str, bytes: &[u8]) -> Result<Signature, SignError> {
        self.sign_message(&signing_input(context, bytes))
    }
}

/// An agent's long-term keys: Ed25519 for signatures and X25519 for key agreement, derived from
/// one 32-byte seed. Keep the seed secret; it is the identity.
pub struct Keypair {
    seed: [u8; 32],
    signing: SigningKey,
    x25519: crate::seal::X25519Secret,
}

/// The seed is wiped when the keys are dropped (the signing and X25519 keys wipe
/// themselves).
impl Drop for Keypair {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.seed);
    }
}

impl Keypair {
    /// The keys derived from `seed`. The Ed25519 key uses the seed as its RFC 8032 secret; the
    /// X25519 secret is `BLAKE3-derive_key("agentnet/v1/x25519-from-seed", seed)`, so the two
    /// keys are independent but recoverable from the one seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let mut xsecret = blake3::derive_key(crate::hash::domain::X25519_FROM_SEED, &seed);
        let x25519 = crate::seal::X25519Secret::from_bytes(xsecret);
        zeroize::Zeroize::zeroize(&mut xsecret);
        Keypair {
            seed,
            signing,
            x25519,
        }
    }

    /// Fresh keys from a cryptographic RNG the host provides (the host owns entropy).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let keys = Self::from_seed(seed);
        zeroize::Zeroize::zeroize(&mut seed);
        keys
    }

    /// The seed these keys derive from (for persistence by the host).
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    /// The agent's identity.
    pub fn id(&self) -> AgentId {
        AgentId(self.signing.verifying_key().to_bytes())
    }

    /// The X25519 static secret.
    pub fn x25519(&self) -> &crate::seal::X25519Secret {
        &self.x25519
    }

    /// Sign `bytes` in `context`. Infallible for an in-process key.
    pub fn sign_bytes(&self, context: &str, bytes: &[u8]) -> Signature {
        use ed25519_dalek::Signer as _;
        Signature(self.signing.sign(&signing_input(context, bytes)).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keypair")
            .field("id", &self.id())
            .finish_non_exhaustive()
    }
}

impl Signer for Keypair {
    fn agent_id(&self) -> AgentId {
        self.id()
    }

    fn sign_message(&self, message: &[u8]) -> Result<Signature, SignError> {
        use ed25519_dalek::Signer as _;
        Ok(Signature(self.signing.sign(message).to_bytes()))
    }
}

/// A bounded cache of decompressed public keys.
///
/// Decompressing an Ed25519 key costs a field exponentiation, about a tenth of a verification.
/// Providers re-announce every few seconds, so a node sees the same few thousand signers over
/// and over; keeping their decompressed keys makes repeat verifications cheaper. Only keys
/// that passed the validity checks are cached. The cache never influences *what* verifies,
/// only how fast, so it cannot break determinism.
///
/// Two generations bound it: lookups hit the current or the previous generation (and promote);
/// when the current generation holds `capacity / 2` keys it becomes the previous one and the
/// old previous generation is dropped. At most `capacity` keys are held.
#[derive(Debug)]
pub struct KeyCache {
    current: std::collections::HashMap<[u8; 32], VerifyingKey>,
    previous: std::collections::HashMap<[u8; 32], VerifyingKey>,
    half: usize,
}

impl KeyCache {
    /// A cache holding at most `capacity` keys (minimum 2). Each entry is about 200 bytes;
    /// memory grows with use, nothing is reserved up front (engines in a 100 000-node
    /// simulation each own one).
    pub fn new(capacity: usize) -> Self {
        let half = (capacity / 2).max(1);
        KeyCache {
            current: std::collections::HashMap::new(),
            previous: std::collections::HashMap::new(),
            half,
        }
    }

    /// Keys currently held.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    /// True if no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The validated, decompressed key of `id`, from the cache or freshly computed.
    pub fn get(&mut self, id: &AgentId) -> Result<VerifyingKey, SignatureError> {
        if let Some(vk) = self.current.get(&id.0) {
            return Ok(*vk);
        }
        let vk = match self.previous.remove(&id.0) {
            Some(vk) => vk,
            None => id.verifying_key()?,
        };
        if self.current.len() >= self.half {
            self.previous = core::mem::take(&mut self.current);
        }
        self.current.insert(id.0, vk);
        Ok(vk)
    }

    /// [`AgentId::verify`] using the cache.
    pub fn verify(
        &mut self,
        id: &AgentId,
        context: &str,
        bytes: &[u8],
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        let vk = self.get(id)?;
        count::single(bytes.len());
        vk.verify_strict(&signing_input(context, bytes), &signature.to_dalek())
            .map_err(|_| SignatureError::Invalid)
    }
}

impl Default for KeyCache {
    /// Room for 4 096 keys (about 800 KiB).
    fn default() -> Self {
        KeyCache::new(4096)
    }
}

/// One signature to check in a batch.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// Who claims to have signed.
    pub signer: &'a AgentId,
    /// The signing context (object type).
    pub context: &'a str,
    /// The signed bytes (without the domain prefix).
    pub bytes: &'a [u8],
    /// The claimed signature.
    pub signature: &'a Signature,
}

/// Verify many signatures at once. `Ok(())` means every signature is valid (see the module's
/// threat note); on `Err`, use [`verify_each`] to learn which failed.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Result<(), SignatureError> {
    verify_batch_inner(items, None)
}

/// [`verify_batch`] with decompressed keys taken from (and added to) `cache`.
pub fn verify_batch_cached(
    items: &[BatchItem<'_>],
    cache: &mut KeyCache,
) -> Result<(), SignatureError> {
    verify_batch_inner(items, Some(cache))
}

fn verify_batch_inner(
    items: &[BatchItem<'_>],
    mut cache: Option<&mut KeyCache>,
) -> Result<(), SignatureError> {
    if items.is_empty() {
        return Ok(());
    }
    if items.len() == 1 {
        let it = &items[0];
        return match cache {
            Some(c) => c.verify(it.signer, it.context, it.bytes, it.signature),
            None => it.signer.verify(it.context, it.bytes, it.signature),
        };
    }
    let mut keys = Vec::with_capacity(items.len());
    let mut sigs = Vec::with_capacity(items.len());
    let mut msgs = Vec::with_capacity(items.len());
    for it in items {
        // The strict-verification encoding checks, done here because the batch equation alone
        // does not make them.
        if !signature_encoding_ok(it.signature) {
            return Err(SignatureError::Invalid);
        }
        keys.push(match cache.as_deref_mut() {
            Some(c) => c.get(it.signer)?,
            None => it.signer.verifying_key()?,
        });
        sigs.push(it.signature.to_dalek());
        msgs.push(signing_input(it.context, it.bytes));
    }
    let msg_refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
    count::batch(items.len(), items.iter().map(|it| it.bytes.len()).sum());
    ed25519_dalek::verify_batch(&msg_refs, &sigs, &keys).map_err(|_| SignatureError::Invalid)
}

/// Verify each item, batching first and falling back to one-by-one checks only if the batch
/// fails. `result[i]` is the outcome for `items[i]`.
pub fn verify_each(items: &[BatchItem<'_>]) -> Vec<Result<(), SignatureError>> {
    if verify_batch(items).is_ok() {
        return vec![Ok(()); items.len()];
    }
    items
        .iter()
        .map(|it| it.signer.verify(it.context, it.bytes, it.signature))
        .collect()
}

/// [`verify_each`] with a [`KeyCache`].
pub fn verify_each_cached(
    items: &[BatchItem<'_>],
    cache: &mut KeyCache,
) -> Vec<Result<(), SignatureError>> {
    if verify_batch_cached(items, cache).is_ok() {
        return vec![Ok(()); items.len()];
    }
    items
        .iter()
        .map(|it| cache.verify(it.signer, it.context, it.bytes, it.signature))
        .collect()
}

/// Signature-verification work done by this process since it started (all threads), as counted
/// with the feature `count-verifications`. Read it before and after a workload and take the
/// difference ([`VerificationCounts::since`]).
#[cfg(feature = "count-verifications")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VerificationCounts {
    /// Signatures checked one at a time with strict verification: [`AgentId::verify`],
    /// [`KeyCache::verify`], and batches of one (which take those paths).
    pub single: u64,
    /// Signatures checked inside batches of two or more ([`verify_batch`] and the functions
    /// built on it), each counted once per batch equation it is part of. A failed batch that
    /// [`verify_each`] re-checks one by one also counts those single checks.
    pub batched: u64,
    /// Batch equations of two or more signatures checked.
    pub batches: u64,
    /// Public keys decompressed and validity-checked ([`AgentId::verifying_key`], which every
    /// uncached verification and every [`KeyCache`] miss calls).
    pub key_decompressions: u64,
    /// Signed bytes (the content, without the domain-separation prefix) of every signature
    /// counted in `single` and `batched`.
    pub bytes: u64,
}

#[cfg(feature = "count-verifications")]
impl VerificationCounts {
    /// Signatures checked: `single + batched`.
    pub fn signatures(&self) -> u64 {
        self.single + self.batched
    }

    /// The work done between `earlier` and `self` (saturating, per field).
    #[must_use]
    pub fn since(&self, earlier: &VerificationCounts) -> VerificationCounts {
        VerificationCounts {
            single: self.single.saturating_sub(earlier.single),
            batched: self.batched.saturating_sub(earlier.batched),
            batches: self.batches.saturating_sub(earlier.batches),
            key_decompressions: self
                .key_decompressions
                .saturating_sub(earlier.key_decompressions),
            bytes: self.bytes.saturating_sub(earlier.bytes),
        }
    }
}

/// The counts so far (feature `count-verifications`; see the module's section on counting).
#[cfg(feature = "count-verifications")]
pub fn verification_counts() -> VerificationCounts {
    count::read()
}

/// The counters behind [`verification_counts`]: relaxed atomics with the feature, nothing
/// without it.
mod count {
    #[cfg(feature = "count-verifications")]
    mod on {
        use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

        static SINGLE: AtomicU64 = AtomicU64::new(0);
        static BATCHED: AtomicU64 = AtomicU64::new(0);
        static BATCHES: AtomicU64 = AtomicU64::new(0);
        static KEYS: AtomicU64 = AtomicU64::new(0);
        static BYTES: AtomicU64 = AtomicU64::new(0);

        pub(crate) fn single(bytes: usize) {
            SINGLE.fetch_add(1, Relaxed);
            BYTES.fetch_add(bytes as u64, Relaxed);
        }

        pub(crate) fn batch(n: usize, bytes: usize) {
            BATCHED.fetch_add(n as u64, Relaxed);
            BATCHES.fetch_add(1, Relaxed);
            BYTES.fetch_add(bytes as u64, Relaxed);
        }

        pub(crate) fn key_decompression() {
            KEYS.fetch_add(1, Relaxed);
        }

        pub(crate) fn read() -> super::super::VerificationCounts {
            super::super::VerificationCounts {
                single: SINGLE.load(Relaxed),
                batched: BATCHED.load(Relaxed),
                batches: BATCHES.load(Relaxed),
                key_decompressions: KEYS.load(Relaxed),
                bytes: BYTES.load(Relaxed),
            }
        }
    }

    #[cfg(feature = "count-verifications")]
    pub(crate) use on::{batch, key_decompression, read, single};

    #[cfg(not(feature = "count-verifications"))]
    #[inline(always)]
    pub(crate) fn single(_bytes: usize) {}

    #[cfg(not(feature = "count-verifications"))]
    #[inline(always)]
    pub(crate) fn batch(_n: usize, _bytes: usize) {}

    #[cfg(not(feature = "count-verifications"))]
    #[inline(always)]
    pub(crate) fn key_decompression() {}
}

/// `R` must be a canonical encoding of a point that is not of small order, and `s` must be
/// reduced (the last check is also made inside the batch, but failing early is cheaper).
fn signature_encoding_ok(sig: &Signature) -> bool {
    let r: &[u8; 32] = sig.0[..32].try_into().expect("64-byte signature");
    let s = &sig.0[32..];
    // s < 2^253 is necessary for s < l; the batch rejects the rest.
    if s[31] & 0xe0 != 0 {
        return false;
    }
    is_canonical_y(r) && !is_small_order_encoding(r)
}

/// True if the y coordinate (the low 255 bits) is below p = 2^255 - 19.
fn is_canonical_y(enc: &[u8; 32]) -> bool {
    // y >= p only if bits 8..255 are all ones and the low byte is >= 0xed.
    if enc[31] & 0x7f != 0x7f {
        return true;
    }
    if enc[1..31].iter().any(|&b| b != 0xff) {
        return true;
    }
    enc[0] < 0xed
}

/// The y coordinates of the eight small-order points (torsion subgroup): 0, 1, p-1 and the two
/// values of the order-8 points. The sign bit is ignored.
fn is_small_order_encoding(enc: &[u8; 32]) -> bool {
    const ORDER8_A: [u8; 32] = [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ];
    const ORDER8_B: [u8; 32] = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ];
    let mut y = *enc;
    y[31] &= 0x7f;
    let mut zero = [0u8; 32];
    if y == zero {
        return true;
    }
    zero[0] = 1;
    if y == zero {
        return true;
    }
    let mut p_minus_1 = [0xffu8; 32];
    p_minus_1[0] = 0xec;
    p_minus_1[31] = 0x7f;
    y == p_minus_1 || y == ORDER8_A || y == ORDER8_B
}

#[cfg(test)]
mod tests;
