//! BLAKE3-256 hashing, domain-separated by object type.
//!
//! Every hash in agentnet names the kind of object it covers: the same bytes hashed as a
//! descriptor and as a log header give unrelated digests, so a digest can never be replayed as
//! the identity of a different kind of object. Domains are BLAKE3 `derive_key` context strings
//! of the form `"agentnet/v1/<object>"`; the constants in [`domain`] list every one agentnet uses.

use core::fmt;

/// Every domain-separation tag in agentnet, in one place: hash contexts ([`Hash::digest`],
/// BLAKE3 `derive_key`) and signature contexts ([`crate::SignedObject::CONTEXT`]). One object
/// type may use its tag for both its signature and its hash (different primitives); two object
/// types never share one (`every_domain_tag_is_unique`).
pub mod domain {
    /// Signed envelope bodies (the identity of a [`crate::Signed`] object).
    pub const SIGNED_BODY: &str = "agentnet/v1/signed-body";
    /// Capability descriptors: their signatures and their body hashes.
    pub const DESCRIPTOR: &str = "agentnet/v1/descriptor";
    /// Signatures on an agent's X25519 key binding.
    pub const KEY_BINDING: &str = "agentnet/v1/key-binding";
    /// Derivation of an agent's X25519 secret from its identity seed.
    pub const X25519_FROM_SEED: &str = "agentnet/v1/x25519-from-seed";
    /// Sealed-box key derivation.
    pub const SEAL_KDF: &str = "agentnet/v1/seal-kdf";
    /// Simulator trace hashes.
    pub const SIM_TRACE: &str = "agentnet/v1/sim-trace";
    /// Free-form payloads hashed by applications (task inputs, results).
    pub const PAYLOAD: &str = "agentnet/v1/payload";
    /// Signatures on gossip log headers.
    pub const LOG_HEADER: &str = "agentnet/v1/log-header";
    /// Gossip frame ids (duplicate suppression).
    pub const GOSSIP_FRAME: &str = "agentnet/v1/gossip-frame";
    /// Gossip body hashes.
    pub const GOSSIP_BODY: &str = "agentnet/v1/gossip-body";
    /// Anti-entropy digest buckets.
    pub const GOSSIP_DIGEST: &str = "agentnet/v1/gossip-digest";
    /// Ids of equivocation proofs (two headers at one position).
    pub const EQUIVOCATION_PROOF: &str = "agentnet/v1/equivocation-proof";
    /// Principal commitments (BAID).
    pub const PRINCIPAL_COMMITMENT: &str = "agentnet/v1/principal-commitment";
    /// Agent configuration digests (BAID).
    pub const AGENT_CONFIG: &str = "agentnet/v1/agent-config";
    /// Binding Agent IDs.
    pub const BAID: &str = "agentnet/v1/baid";
    /// Proofs of possession of a rotated-in key.
    pub const BINDING_POSSESSION: &str = "agentnet/v1/binding-possession";
    /// Signatures on identity-chain entries.
    pub const BINDING_ENTRY: &str = "agentnet/v1/binding-entry";
    /// Signatures on issuer attestations.
    pub const ISSUER_ATTESTATION: &str = "agentnet/v1/issuer-attestation";
    /// Ids of identity-chain fork proofs.
    pub const CHAIN_FORK_PROOF: &str = "agentnet/v1/chain-fork-proof";
    /// Ids of fraud proofs.
    pub const FRAUD_PROOF: &str = "agentnet/v1/fraud-proof";
    /// Hashes of committed answers (commit / reveal).
    pub const COMMITTED_VALUE: &str = "agentnet/v1/committed-value";
    /// Hashes of a receipt chain in an evidence package.
    pub const RECEIPT_LIST: &str = "agentnet/v1/receipt-list";
    /// Claims an evidence attestation binds.
    pub const ATTESTED_CLAIM: &str = "agentnet/v1/attested-claim";
    /// Signatures on commitments.
    pub const COMMITMENT: &str = "agentnet/v1/commitment";
    /// Signatures on answers.
    pub const ANSWER: &str = "agentnet/v1/answer";
    /// Signatures on tool receipts.
    pub const TOOL_RECEIPT: &str = "agentnet/v1/tool-receipt";
    /// Signatures on evidence packages.
    pub const EVIDENCE_PACKAGE: &str = "agentnet/v1/evidence-package";
    /// Hashes of expected canary answers.
    pub const CANARY_ANSWER: &str = "agentnet/v1/canary-answer";
    /// Keys of canary cases an agent generated.
    pub const CANARY_CASE: &str = "agentnet/v1/canary-case";
    /// Signatures on trust reports.
    pub const TRUST_REPORT: &str = "agentnet/v1/trust-report";
    /// Signatures on mechanisms.
    pub const MECHANISM: &str = "agentnet/v1/mechanism";
    /// Mechanism ids.
    pub const MECHANISM_ID: &str = "agentnet/v1/mechanism-id";
    /// Task session ids.
    pub const SESSION_ID: &str = "agentnet/v1/session-id";
    /// Signatures on session offers.
    pub const SESSION_OFFER: &str = "agentnet/v1/session-offer";
    /// Signatures on session commits.
    pub const SESSION_COMMIT: &str = "agentnet/v1/session-commit";
    /// Signatures on session delegations.
    pub const SESSION_DELEGATE: &str = "agentnet/v1/session-delegate";
    /// Signatures on session deliveries.
    pub const SESSION_DELIVER: &str = "agentnet/v1/session-deliver";
    /// Signatures on session settlements.
    pub const SESSION_SETTLE: &str = "agentnet/v1/session-settle";
    /// Signatures on link hello proofs (the agent behind a link).
    pub const HELLO_PROOF: &str = "agentnet/v1/hello-proof";
    /// Derivation of an agent's internal seeds.
    pub const AGENT_SEED: &str = "agentnet/v1/agent-seed";
    /// The default code hash of an agent's identity.
    pub const CODE: &str = "agentnet/v1/code";
    /// Store keys of identity records.
    pub const RECORD_KEY: &str = "agentnet/v1/record-key";
    /// Frame ids of the flooding baseline in the gossip experiments.
    pub const FLOOD_FRAME: &str = "agentnet/v1/flood-frame";
    /// The DHT key under which the followers of a topic announce themselves (libp2p transport).
    pub const TOPIC_PROVIDER_KEY: &str = "agentnet/v1/topic-provider-key";
    /// The short tag naming a semantic encoder on the wire (`semantic::EncoderTag`).
    pub const ENCODER_TAG: &str = "agentnet/v1/encoder-tag";
    /// A requester's intent announcement (`intent::IntentAnnouncement`).
    pub const INTENT: &str = "agentnet/v1/intent";
    /// A provider's load and availability (`intent::ProviderState`).
    pub const PROVIDER_STATE: &str = "agentnet/v1/provider-state";
    /// A provider's bid on an intent.
    pub const BID: &str = "agentnet/v1/bid";
    /// A requester's counter-offer to a bid.
    pub const COUNTER: &str = "agentnet/v1/counter";

    /// Every tag above.
    pub const ALL: &[&str] = &[
        SIGNED_BODY,
        DESCRIPTOR,
        KEY_BINDING,
        X25519_FROM_SEED,
        SEAL_KDF,
        SIM_TRACE,
        PAYLOAD,
        LOG_HEADER,
        GOSSIP_FRAME,
        GOSSIP_BODY,
        GOSSIP_DIGEST,
        EQUIVOCATION_PROOF,
        PRINCIPAL_COMMITMENT,
        AGENT_CONFIG,
        BAID,
        BINDING_POSSESSION,
        BINDING_ENTRY,
        ISSUER_ATTESTATION,
        CHAIN_FORK_PROOF,
        FRAUD_PROOF,
        COMMITTED_VALUE,
        RECEIPT_LIST,
        ATTESTED_CLAIM,
        COMMITMENT,
        ANSWER,
        TOOL_RECEIPT,
        EVIDENCE_PACKAGE,
        CANARY_ANSWER,
        CANARY_CASE,
        TRUST_REPORT,
        MECHANISM,
        MECHANISM_ID,
        SESSION_ID,
        SESSION_OFFER,
        SESSION_COMMIT,
        SESSION_DELEGATE,
        SESSION_DELIVER,
        SESSION_SETTLE,
        HELLO_PROOF,
        AGENT_SEED,
        CODE,
        RECORD_KEY,
        FLOOD_FRAME,
        TOPIC_PROVIDER_KEY,
        ENCODER_TAG,
        INTENT,
        PROVIDER_STATE,
        BID,
        COUNTER,
    ];
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

    #[test]
    fn every_domain_tag_is_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for tag in domain::ALL {
            assert!(tag.starts_with("agentnet/v1/"), "{tag}");
            assert!(seen.insert(*tag), "{tag} is used twice");
        }
        // The signature prefix is not a tag: no tag may collide with it.
        assert!(!seen.contains("agentnet/v1/sig"));
    }

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
