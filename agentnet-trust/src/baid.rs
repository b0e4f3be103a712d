//! BAID commitments, identity-chain entries, issuer attestations and chain-fork proofs.
//!
//! **What this module does.** It defines the values of the identity plane (DESIGN §6) and the
//! checks that need no state: how a BAID is computed from its inputs, what a signed binding
//! entry looks like and when one is well formed on its own, what an issuer attestation says,
//! and the self-verifying [`ChainForkProof`] that shows one key signed two different entries
//! for one chain position. It also has the [`ProofVerifier`] hook for execution proofs, with
//! a default ([`RejectAllProofs`]) that accepts none.
//!
//! **What it does not do.** It keeps no state: whether an entry extends a chain this node
//! knows, whether a key is still current, and which issuers are trusted are decided by the
//! [`IdentityRegistry`](crate::registry::IdentityRegistry). It performs no I/O and reads no
//! clock; times are [`WallTime`] values the caller provides.
//!
//! # The BAID
//!
//! A Binding Agent ID commits to what an agent *is* (its code and configuration) and *who is
//! accountable for it* (a hiding commitment to a principal), so that a key can be tied to an
//! auditable identity without revealing the principal:
//!
//! ```text
//! principal     = BLAKE3_ctx("agentnet/v1/principal-commitment",
//!                            u64_le(len(principal)) ‖ principal ‖ blinding[32])
//! config_digest = BLAKE3_ctx("agentnet/v1/agent-config",
//!                            u64_le(len(model_id)) ‖ model_id ‖ weights_hash
//!                            ‖ prompt_template_hash ‖ tool_policy_hash)
//! BAID          = BLAKE3_ctx("agentnet/v1/baid",
//!                            code_hash ‖ config_digest ‖ principal ‖ salt[32])
//! ```
//!
//! `BLAKE3_ctx` is BLAKE3 in `derive_key` mode (see [`agentnet_core::hash`]). Every
//! variable-length field is length-prefixed and every other field is 32 bytes, so each digest
//! has exactly one pre-image layout. The blinding factor makes the principal commitment hiding
//! (without it, a guessable principal name could be confirmed by hashing candidates); the salt
//! lets one principal run several agents with the same code and config under unlinkable BAIDs.
//!
//! # Identity chains
//!
//! A [`BindingEntry`] binds a BAID to an Ed25519 identity key (`agent`) and an X25519 key. The
//! entries of one agent form a hash-linked chain:
//!
//! | seq | kind | signed by | `chain` | `prev` |
//! |---|---|---|---|---|
//! | 0 | [`BindingKind::Genesis`] | `agent` itself | `None` | `None` |
//! | n ≥ 1 | any other kind | the `agent` of entry n−1 | `Some(chain id)` | hash of entry n−1 |
//!
//! - The **genesis has seq 0**. The [`ChainId`] is the hash of the signed genesis
//!   ([`Signed::hash`], BLAKE3 over the genesis body bytes), so it never changes while the
//!   chain grows through config changes and rotations.
//! - Every later entry is signed by the key the chain held before it, so only the holder of
//!   the current key can extend the chain. Because the signer of a successor is *not* the
//!   entry's `agent` after a rotation, [`SignedObject::author`] names an author only for the
//!   genesis (where it must be the signer); the registry checks the signer of every other
//!   entry against the previous entry.
//! - [`BindingKind::ConfigChange`] changes the BAID inputs (code hash, config digest, salt)
//!   but never the principal commitment and never the keys.
//! - [`BindingKind::KeyRotation`] changes the Ed25519 key, the X25519 key, or both, and keeps
//!   the BAID inputs. **Proof of possession:** when the Ed25519 key changes, the entry carries
//!   `possession`, a signature by the *new* key over the fixed-layout statement
//!
//!   ```text
//!   chain[32] ‖ u64_be(seq) ‖ prev[32] ‖ new agent[32] ‖ new x25519[32] ‖ baid[32]
//!   ```
//!
//!   in the signing context `"agentnet/v1/binding-possession"`. Nobody can therefore bind a
//!   key they do not hold (which would let them claim, or pin the blame of a chain on, someone
//!   else's key), and the statement names the exact chain position, so it cannot be replayed
//!   into another chain or position. The statement is a fixed-width byte string, not a CBOR
//!   re-encoding of the entry: the entry carries the signature, so it cannot also be what the
//!   signature covers. X25519 keys cannot sign; like [`agentnet_core::seal::KeyBinding`], an
//!   X25519 key is bound by the identity key's signature alone (binding a key one does not
//!   hold only makes messages to oneself unreadable).
//! - [`BindingKind::Revocation`] ends the chain. It repeats the head's binding unchanged and is
//!   signed by the current key; nothing may follow it.
//!
//! # Fork proofs
//!
//! An honest key signs at most one entry per (chain, seq): a genesis once, and each successor
//! of the entry that bound it once. Two different entries signed by one key with the same
//! `chain` field and `seq` — two successors of one entry, or two geneses by one key — are a
//! [`ChainForkProof`] anyone can check with no other state. It carries both envelopes as
//! signed; verification is strict and one signature at a time, so every honest verifier
//! reaches the same verdict on the same bytes.
//!
//! *Threat note.* A rotated-out key can still sign a second successor of the entry it once
//! extended, and that is a valid fork proof against the chain: keys must be destroyed once
//! rotated out. The proof is still correctly attributed: only the chain's owner (or whoever it
//! let have its key) could have signed it.

use core::fmt;

use agentnet_core::fork::{ForkProof, Forkable};
use agentnet_core::hash::Hasher;
use agentnet_core::identity::{SignatureError, Signer};
use agentnet_core::seal::X25519Public;
use agentnet_core::signed::SignedError;
use agentnet_core::wire::MessageKind;
use agentnet_core::{AgentId, Hash, Signature, Signed, SignedObject, WallTime};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Hash and signature domains of this module.
pub mod domain {
    /// Domain of [`Baid::compute`](super::Baid::compute).
    pub const BAID: &str = agentnet_core::hash::domain::BAID;
    /// Domain of [`PrincipalCommitment::new`](super::PrincipalCommitment::new).
    pub const PRINCIPAL: &str = agentnet_core::hash::domain::PRINCIPAL_COMMITMENT;
    /// Domain of [`AgentConfig::digest`](super::AgentConfig::digest).
    pub const CONFIG: &str = agentnet_core::hash::domain::AGENT_CONFIG;
    /// Signing context of the new key's proof of possession in a rotation.
    pub const POSSESSION: &str = agentnet_core::hash::domain::BINDING_POSSESSION;
    /// Signing and hash domain of [`BindingEntry`](super::BindingEntry).
    pub const BINDING_ENTRY: &str = agentnet_core::hash::domain::BINDING_ENTRY;
    /// Signing and hash domain of [`IssuerAttestation`](super::IssuerAttestation).
    pub const ATTESTATION: &str = agentnet_core::hash::domain::ISSUER_ATTESTATION;
    /// Domain of [`ChainForkProof::id`](super::ChainForkProof::id).
    pub const FORK_PROOF: &str = agentnet_core::hash::domain::CHAIN_FORK_PROOF;
}

/// A hiding commitment to the accountable principal (user or organisation) behind an agent.
///
/// `BLAKE3_ctx("agentnet/v1/principal-commitment", u64_le(len) ‖ principal ‖ blinding)`. The
/// principal keeps `blinding` secret and reveals it only to whom it chooses (an issuer that
/// attests the commitment, an arbiter).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, std::hash::Hash, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct PrincipalCommitment(pub Hash);

impl PrincipalCommitment {
    /// Commit to `principal` (any stable byte name, e.g. a DID or a registry number) with a
    /// secret 32-byte blinding factor the principal draws at random and keeps.
    pub fn new(principal: &[u8], blinding: &[u8; 32]) -> Self {
        let mut h = Hasher::new(domain::PRINCIPAL);
        h.update_u64(principal.len() as u64)
            .update(principal)
            .update(blinding);
        PrincipalCommitment(h.finalize())
    }

    /// True if `principal` and `blinding` open this commitment.
    pub fn opens(&self, principal: &[u8], blinding: &[u8; 32]) -> bool {
        *self == Self::new(principal, blinding)
    }
}

/// The configuration an agent runs with. Only its [`digest`](AgentConfig::digest) goes into
/// the BAID; the agent decides whom to show the fields to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentConfig {
    /// Model identifier, e.g. `"llama-3.1-8b-instruct"`.
    pub model_id: String,
    /// Hash of the model weights.
    pub weights_hash: Hash,
    /// Hash of the prompt template.
    pub prompt_template_hash: Hash,
    /// Hash of the tool-use policy.
    pub tool_policy_hash: Hash,
}

impl AgentConfig {
    /// `BLAKE3_ctx("agentnet/v1/agent-config", u64_le(len(model_id)) ‖ model_id ‖
    /// weights_hash ‖ prompt_template_hash ‖ tool_policy_hash)`.
    pub fn digest(&self) -> Hash {
        let mut h = Hasher::new(domain::CONFIG);
        h.update_u64(self.model_id.len() as u64)
            .update(self.model_id.as_bytes())
            .update(self.weights_hash.as_bytes())
            .update(self.prompt_template_hash.as_bytes())
            .update(self.tool_policy_hash.as_bytes());
        h.finalize()
    }
}

/// The opened inputs of a BAID. Binding entries carry them so anyone can recompute the BAID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaidInputs {
    /// Hash of the agent's code (binary, container image, or source tree).
    pub code_hash: Hash,
    /// [`AgentConfig::digest`] of the configuration.
    pub config_digest: Hash,
    /// Commitment to the accountable principal.
    pub principal: PrincipalCommitment,
    /// Random salt, so one principal's identical agents get unlinkable BAIDs.
    #[serde(with = "serde_bytes")]
    pub salt: [u8; 32],
}

/// A Binding Agent ID: `BLAKE3_ctx("agentnet/v1/baid", code_hash ‖ config_digest ‖ principal ‖
/// salt)`. See the [module docs](self).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, std::hash::Hash, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Baid(pub Hash);

impl Baid {
    /// Compute the BAID of `inputs`.
    pub fn compute(inputs: &BaidInputs) -> Baid {
        let mut h = Hasher::new(domain::BAID);
        h.update(inputs.code_hash.as_bytes())
            .update(inputs.config_digest.as_bytes())
            .update(inputs.principal.0.as_bytes())
            .update(&inputs.salt);
        Baid(h.finalize())
    }
}

/// The identity of an identity chain: the hash of its signed genesis entry. Stable across
/// config changes and key rotations.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, std::hash::Hash, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct ChainId(pub Hash);

impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "chain:{}", &self.0.to_hex()[..16])
    }
}

/// What a binding entry does to its chain.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, std::hash::Hash, Serialize, Deserialize,
)]
pub enum BindingKind {
    /// The first entry (seq 0), signed by its own key.
    Genesis,
    /// New BAID inputs (code, config, salt); same principal, same keys.
    ConfigChange,
    /// New Ed25519 and/or X25519 key; same BAID inputs.
    KeyRotation,
    /// The chain ends; the entry repeats the head's binding.
    Revocation,
}

/// One entry of an identity chain: a BAID bound to an Ed25519 and an X25519 key. Travels as a
/// [`Signed`] envelope in frames of kind [`crate::wire::BINDING`]. See the
/// [module docs](self) for who signs what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingEntry {
    /// The chain this entry extends; `None` exactly for the genesis (whose hash *is* the id).
    pub chain: Option<ChainId>,
    /// Position in the chain: 0 for the genesis, then +1 per entry.
    pub seq: u64,
    /// [`Signed::hash`] of the entry at `seq - 1`; `None` exactly for the genesis.
    pub prev: Option<Hash>,
    /// What this entry does.
    pub kind: BindingKind,
    /// The opened BAID inputs.
    pub inputs: BaidInputs,
    /// The BAID; must equal [`Baid::compute`] of `inputs`.
    pub baid: Baid,
    /// The Ed25519 identity key bound from this entry on.
    pub agent: AgentId,
    /// The X25519 key bound from this entry on.
    pub x25519: X25519Public,
    /// When the entry was made (the signer's wall clock).
    pub issued_at: WallTime,
    /// For a rotation to a new Ed25519 key: the new key's signature over the possession
    /// statement (see the [module docs](self)). `None` for every other entry.
    pub possession: Option<Signature>,
}

impl SignedObject for BindingEntry {
    const CONTEXT: &'static str = domain::BINDING_ENTRY;
    const KIND: MessageKind = crate::wire::BINDING;

    /// The genesis names its author (`agent`, which must be the signer). Later entries are
    /// signed by the previous entry's key, which the entry does not name, so they return
    /// `None` and the registry checks the signer against the chain.
    fn author(&self) -> Option<AgentId> {
        (self.kind == BindingKind::Genesis).then_some(self.agent)
    }
}

/// Why a binding entry is malformed on its own, or could not be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingError {
    /// `kind`, `seq`, `chain` and `prev` disagree about whether this is the genesis.
    #[error("malformed chain position: {0}")]
    Position(&'static str),
    /// The BAID does not recompute from the opened inputs.
    #[error("BAID does not match its inputs")]
    BaidMismatch,
    /// The entry is signed by a key other than the one it must be signed by.
    #[error("entry must be signed by {expected}, got {got}")]
    WrongSigner {
        /// The key that must sign.
        expected: AgentId,
        /// The key that signed (or offered to sign).
        got: AgentId,
    },
    /// A config change or revocation changes the Ed25519 key (only a rotation may).
    #[error("a {0:?} entry cannot change the identity key")]
    KeyChangeOutsideRotation(BindingKind),
    /// A rotation to a new Ed25519 key without the new key's proof of possession.
    #[error("rotation to a new key lacks the new key's proof of possession")]
    MissingPossession,
    /// A proof of possession on an entry that binds no new key.
    #[error("unexpected proof of possession")]
    UnexpectedPossession,
    /// The new key's proof of possession does not verify.
    #[error("proof of possession does not verify: {0}")]
    BadPossession(SignatureError),
    /// The head is a revocation; nothing can follow it.
    #[error("the chain is revoked")]
    Revoked,
    /// A config change names another principal.
    #[error("a config change cannot change the principal commitment")]
    PrincipalChanged,
    /// A rotation that changes no key.
    #[error("a rotation must change the Ed25519 or the X25519 key")]
    NoKeyChange,
    /// The head's seq is at `u64::MAX`.
    #[error("chain position overflow")]
    SeqOverflow,
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignedError),
}

/// The chain a signed entry belongs to: its `chain` field, or its own hash for a genesis.
pub fn chain_id(entry: &Signed<BindingEntry>) -> ChainId {
    entry.chain.unwrap_or(ChainId(entry.hash()))
}

impl BindingEntry {
    /// Check everything that needs no chain state, for an entry signed by `signer`: genesis
    /// shape (`seq == 0` ⇔ genesis ⇔ no `chain` ⇔ no `prev`), the BAID recomputes, a genesis
    /// is self-signed, only a rotation changes the identity key, and a rotation to a new key
    /// carries a valid proof of possession (verified strictly).
    pub fn validate(&self, signer: &AgentId) -> Result<(), BindingError> {
        let genesis = self.kind == BindingKind::Genesis;
        if genesis != (self.seq == 0) {
            return Err(BindingError::Position("seq 0 is exactly the genesis"));
        }
        if genesis != self.chain.is_none() {
            return Err(BindingError::Position(
                "chain id is absent exactly on the genesis",
            ));
        }
        if genesis != self.prev.is_none() {
            return Err(BindingError::Position(
                "prev hash is absent exactly on the genesis",
            ));
        }
        if Baid::compute(&self.inputs) != self.baid {
            return Err(BindingError::BaidMismatch);
        }
        let new_key = self.agent != *signer;
        match self.kind {
            BindingKind::Genesis if new_key => {
                return Err(BindingError::WrongSigner {
                    expected: self.agent,
                    got: *signer,
                });
            }
            BindingKind::ConfigChange | BindingKind::Revocation if new_key => {
                return Err(BindingError::KeyChangeOutsideRotation(self.kind));
            }
            _ => {}
        }
        match (
            self.kind == BindingKind::KeyRotation && new_key,
            &self.possession,
        ) {
            (true, None) => Err(BindingError::MissingPossession),
            (false, Some(_)) => Err(BindingError::UnexpectedPossession),
            (false, None) => Ok(()),
            (true, Some(sig)) => {
                let msg = self.possession_statement().ok_or(BindingError::Position(
                    "a rotation has a chain id and a prev hash",
                ))?;
                self.agent
                    .verify(domain::POSSESSION, &msg, sig)
                    .map_err(BindingError::BadPossession)
            }
        }
    }

    /// The statement a rotated-in key signs to prove possession; `None` for a genesis.
    fn possession_statement(&self) -> Option<[u8; 168]> {
        let (chain, prev) = (self.chain?, self.prev?);
        let mut m = [0u8; 168];
        m[..32].copy_from_slice(chain.0.as_bytes());
        m[32..40].copy_from_slice(&self.seq.to_be_bytes());
        m[40..72].copy_from_slice(prev.as_bytes());
        m[72..104].copy_from_slice(self.agent.as_bytes());
        m[104..136].copy_from_slice(&self.x25519.0);
        m[136..168].copy_from_slice(self.baid.0.as_bytes());
        Some(m)
    }

    /// Sign the genesis of a new chain: `signer`'s key bound to `x25519` and the BAID of
    /// `inputs`.
    pub fn genesis<S: Signer + ?Sized>(
        signer: &S,
        x25519: X25519Public,
        inputs: BaidInputs,
        issued_at: WallTime,
    ) -> Result<Signed<BindingEntry>, BindingError> {
        let entry = BindingEntry {
            chain: None,
            seq: 0,
            prev: None,
            kind: BindingKind::Genesis,
            baid: Baid::compute(&inputs),
            inputs,
            agent: signer.agent_id(),
            x25519,
            issued_at,
            possession: None,
        };
        Ok(Signed::sign(signer, entry)?)
    }

    /// The unsigned successor of `head`, with the head's binding copied; callers change what
    /// their kind changes.
    fn successor_of(
        head: &Signed<BindingEntry>,
        signer: &AgentId,
        kind: BindingKind,
        issued_at: WallTime,
    ) -> Result<BindingEntry, BindingError> {
        if head.kind == BindingKind::Revocation {
            return Err(BindingError::Revoked);
        }
        if *signer != head.agent {
            return Err(BindingError::WrongSigner {
                expected: head.agent,
                got: *signer,
            });
        }
        Ok(BindingEntry {
            chain: Some(chain_id(head)),
            seq: head.seq.checked_add(1).ok_or(BindingError::SeqOverflow)?,
            prev: Some(head.hash()),
            kind,
            inputs: head.inputs,
            baid: head.baid,
            agent: head.agent,
            x25519: head.x25519,
            issued_at,
            possession: None,
        })
    }

    /// Sign a config change after `head`: new BAID inputs (same principal), same keys.
    /// `signer` must hold the head's key.
    pub fn config_change<S: Signer + ?Sized>(
        head: &Signed<BindingEntry>,
        signer: &S,
        inputs: BaidInputs,
        issued_at: WallTime,
    ) -> Result<Signed<BindingEntry>, BindingError> {
        if inputs.principal != head.inputs.principal {
            return Err(BindingError::PrincipalChanged);
        }
        let mut e = Self::successor_of(
            head,
            &signer.agent_id(),
            BindingKind::ConfigChange,
            issued_at,
        )?;
        e.baid = Baid::compute(&inputs);
        e.inputs = inputs;
        Ok(Signed::sign(signer, e)?)
    }

    /// Sign a key rotation after `head`: `signer` (the head's key) hands the chain to `new_key`
    /// and `new_x25519`; `new_key` signs the proof of possession. Pass the head's own key as
    /// `new_key` to rotate only the X25519 key.
    pub fn rotation<S: Signer + ?Sized, N: Signer + ?Sized>(
        head: &Signed<BindingEntry>,
        signer: &S,
        new_key: &N,
        new_x25519: X25519Public,
        issued_at: WallTime,
    ) -> Result<Signed<BindingEntry>, BindingError> {
        let mut e = Self::successor_of(
            head,
            &signer.agent_id(),
            BindingKind::KeyRotation,
            issued_at,
        )?;
        let new_id = new_key.agent_id();
        if new_id == head.agent && new_x25519 == head.x25519 {
            return Err(BindingError::NoKeyChange);
        }
        e.agent = new_id;
        e.x25519 = new_x25519;
        if new_id != head.agent {
            let msg = e
                .possession_statement()
                .expect("a successor has a chain id and a prev hash");
            let sig = new_key
                .sign(domain::POSSESSION, &msg)
                .map_err(|err| BindingError::Sign(err.into()))?;
            e.possession = Some(sig);
        }
        Ok(Signed::sign(signer, e)?)
    }

    /// Sign the revocation of the chain whose head is `head`. `signer` must hold the head's key.
    pub fn revocation<S: Signer + ?Sized>(
        head: &Signed<BindingEntry>,
        signer: &S,
        issued_at: WallTime,
    ) -> Result<Signed<BindingEntry>, BindingError> {
        let e = Self::successor_of(head, &signer.agent_id(), BindingKind::Revocation, issued_at)?;
        Ok(Signed::sign(signer, e)?)
    }
}

/// "The principal behind `principal` has been verified by me", signed by a trusted issuer.
/// Travels in frames of kind [`crate::wire::ATTESTATION`]. Valid from `issued_at` (allowing
/// the receiver's skew window) until, not including, `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerAttestation {
    /// The issuer; must be the signer.
    pub issuer: AgentId,
    /// The attested principal commitment.
    pub principal: PrincipalCommitment,
    /// The identity chain the issuer checked belongs to the principal: its canonical id (the
    /// key that signed its genesis). A principal commitment is public — any genesis can name
    /// it — so an attestation counts only for the chain it names: a chain that copied the
    /// commitment is neither attested nor able to get the principal blamed.
    pub subject: AgentId,
    /// Start of validity (issuer's wall clock).
    pub issued_at: WallTime,
    /// End of validity (exclusive).
    pub expires_at: WallTime,
}

impl SignedObject for IssuerAttestation {
    const CONTEXT: &'static str = domain::ATTESTATION;
    const KIND: MessageKind = crate::wire::ATTESTATION;
    fn author(&self) -> Option<AgentId> {
        Some(self.issuer)
    }
}

impl IssuerAttestation {
    /// Sign an attestation by `issuer` that the chain `subject` (its canonical id) belongs to
    /// `principal`, valid over `[issued_at, expires_at)`.
    pub fn sign<S: Signer + ?Sized>(
        issuer: &S,
        principal: PrincipalCommitment,
        subject: AgentId,
        issued_at: WallTime,
        expires_at: WallTime,
    ) -> Result<Signed<IssuerAttestation>, SignedError> {
        Signed::sign(
            issuer,
            IssuerAttestation {
                issuer: issuer.agent_id(),
                principal,
                subject,
                issued_at,
                expires_at,
            },
        )
    }

    /// True if `at` lies in `[issued_at, expires_at)`.
    pub fn is_valid_at(&self, at: WallTime) -> bool {
        self.issued_at <= at && at < self.expires_at
    }
}

/// An execution proof (zkVM receipt, TEE quote, ...) that an agent with a given BAID runs the
/// code and configuration it commits to. Opaque to agentnet; a [`ProofVerifier`] reads it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecutionProof {
    /// The proof system, e.g. `"risc0/v1"` or `"sgx-dcap"`, so a verifier can dispatch.
    pub system: String,
    /// The proof bytes.
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// Why an execution proof was not accepted.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofRejected {
    /// No verifier is configured: the default policy accepts no execution proof, because an
    /// unchecked proof would let anyone claim the highest identity tier.
    #[error(
        "no execution-proof verifier is configured; proofs of system {system:?} are not accepted"
    )]
    NotConfigured {
        /// The proof's system (first 64 bytes at most).
        system: String,
    },
    /// The verifier does not know this proof system.
    #[error("unsupported proof system {0:?}")]
    UnsupportedSystem(String),
    /// The proof does not verify for this BAID.
    #[error("proof does not verify: {0}")]
    Invalid(String),
}

/// Checks execution proofs for tier-2 identity (DESIGN §6). Implement it over a zkVM or TEE
/// verifier; it must be deterministic and do no I/O (fetch collateral such as TEE root
/// certificates up front).
pub trait ProofVerifier: Send + Sync {
    /// Accept `proof` as evidence that the agent with `baid` runs what `baid` commits to.
    fn verify(&self, baid: &Baid, proof: &ExecutionProof) -> Result<(), ProofRejected>;
}

/// The default [`ProofVerifier`]: accepts none (see [`ProofRejected::NotConfigured`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RejectAllProofs;

impl ProofVerifier for RejectAllProofs {
    fn verify(&self, _baid: &Baid, proof: &ExecutionProof) -> Result<(), ProofRejected> {
        let mut end = proof.system.len().min(64);
        while !proof.system.is_char_boundary(end) {
            end -= 1;
        }
        Err(ProofRejected::NotConfigured {
            system: proof.system[..end].to_string(),
        })
    }
}

/// Two different binding entries signed by one key for the same chain position: core's
/// [`ForkProof`] over [`BindingEntry`]. See the [module docs](self).
pub type ChainForkProof = ForkProof<BindingEntry>;

/// Why a chain-fork proof is not valid; [`ForkError::Invalid`] carries the [`BindingError`] of
/// an entry malformed on its own.
pub type ForkError = agentnet_core::fork::ForkError<BindingError>;

/// What a verified [`ChainForkProof`] establishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainFork {
    /// The key that signed both entries.
    pub signer: AgentId,
    /// The chain forked. For two successors, their common `chain` field; for two geneses by
    /// one key (two chains), the id of the first genesis in canonical order.
    pub chain: ChainId,
    /// The position signed twice.
    pub seq: u64,
    /// The principal commitment of the first entry in canonical order. The two entries can
    /// name different principals (two geneses by one key may; successors that change it are
    /// refused by the registry but still prove the fork); the first one's is reported, so
    /// every verifier reports the same one.
    pub principal: PrincipalCommitment,
}

/// A chain position is (`chain` field, `seq`) under one key; each entry must also be well
/// formed on its own ([`BindingEntry::validate`] for its signer) to count as half of a fork.
impl Forkable for BindingEntry {
    const PROOF_DOMAIN: &'static str = domain::FORK_PROOF;
    const PROOF_KIND: MessageKind = crate::wire::CHAIN_FORK_PROOF;
    type Fork = ChainFork;
    type Invalid = BindingError;

    fn same_position(a: &Signed<Self>, b: &Signed<Self>) -> Result<(), &'static str> {
        if a.chain != b.chain {
            return Err("different chains");
        }
        if a.seq != b.seq {
            return Err("different positions");
        }
        Ok(())
    }

    fn check_alone(entry: &Signed<Self>) -> Result<(), BindingError> {
        entry.validate(&entry.signer())
    }

    fn fork(first: &Signed<Self>) -> ChainFork {
        ChainFork {
            signer: first.signer(),
            chain: chain_id(first),
            seq: first.seq,
            principal: first.inputs.principal,
        }
    }
}

#[cfg(test)]
mod tests;
