//! The identity registry: verified identity chains, issuer attestations and identity tiers.
//!
//! **What it does.** [`IdentityRegistry`] is a sans-IO engine that accepts signed
//! [`BindingEntry`]s and [`IssuerAttestation`]s (from links, from the host, or from its own
//! agent), keeps every chain it has verified, and answers the questions the rest of the trust
//! plane asks about a key: which chain and BAID does it belong to, is it the chain's current
//! key, what identity tier has the chain reached, and may it still sign. It detects forks (two
//! different successors of one entry, or two geneses by one key), turns them into a
//! self-verifying [`ChainForkProof`] and reports them.
//!
//! **What it does not do.** It does not gossip: entries and attestations reach it however the
//! host likes (the gossip plane, a handshake, a directory), and fork proofs leave as events for
//! the host to hand to the fraud and reputation machinery. It does not slash or score; it
//! reports. It performs no I/O and reads no clock: time comes in as [`Now`].
//!
//! # Example
//!
//! ```
//! use agentnet_core::{Instant, Keypair, Now, WallTime, Hash};
//! use agentnet_trust::baid::{BaidInputs, BindingEntry, PrincipalCommitment};
//! use agentnet_trust::registry::{IdentityRegistry, IdentityError, RegistryConfig};
//!
//! let now = Now::new(Instant::ZERO, WallTime::from_unix_millis(1_800_000_000_000));
//! let (old, new) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
//! let inputs = BaidInputs {
//!     code_hash: Hash([7; 32]),
//!     config_digest: Hash([8; 32]),
//!     principal: PrincipalCommitment::new(b"did:web:acme.example", &[9; 32]),
//!     salt: [3; 32],
//! };
//! let genesis = BindingEntry::genesis(&old, old.x25519().public(), inputs, now.wall)?;
//! let rotation = BindingEntry::rotation(&genesis, &old, &new, new.x25519().public(), now.wall)?;
//!
//! let mut registry = IdentityRegistry::new(RegistryConfig::default())?;
//! registry.handle_entry(now, &genesis.to_frame())?; // frames as they arrive on links
//! registry.handle_entry(now, &rotation.to_frame())?;
//!
//! // Both keys resolve to one identity; only the new key may sign from now on.
//! let r = registry.resolve(&old.id()).unwrap();
//! assert_eq!(r.canonical, old.id());
//! assert_eq!(r.current_key, new.id());
//! assert!(matches!(registry.check_signer(&old.id()), Err(IdentityError::KeyRotatedOut { .. })));
//! assert_eq!(registry.check_signer(&new.id())?.canonical, old.id());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Check order
//!
//! Every entry goes through the same steps, cheapest and least trusting first, and the first
//! failure is returned as a typed [`IdentityError`] with no state changed:
//!
//! 1. room in the event queue (so nothing accepted can go unreported or unpersisted);
//! 2. frame size, header and CBOR structure, then the envelope signature over the received
//!    bytes, then decoding ([`Signed::from_frame`]);
//! 3. the entry on its own ([`BindingEntry::validate`]): position shape, the BAID recomputes,
//!    a genesis is self-signed, a rotation proves possession of the new key;
//! 4. chain state: a known chain; a position already held is a duplicate or a **fork** (same
//!    signer, different bytes); otherwise the entry must be the direct successor of the head,
//!    name the head's hash, be signed by the head's key, not go back in time, be within the
//!    skew window, and change only what its kind may change;
//! 5. the bounds ([`RegistryConfig`]); then the entry is appended, and a
//!    [`IdentityEvent::Persist`] and a semantic event are queued.
//!
//! A fork is never resolved by replacing what is held: the first entry stays, the chain is
//! marked [`ChainStatus::Forked`], and [`IdentityEvent::ForkDetected`] carries the proof.
//! A conflicting entry is evidence whatever its timestamp, so the skew window does not apply
//! to it.
//!
//! # Canonical id: what reputation is keyed by
//!
//! A chain's **canonical id** is its genesis key ([`Resolved::canonical`]). It never changes,
//! and [`resolve`](IdentityRegistry::resolve) maps every key the chain ever bound, old or
//! current, to it. The interaction ledger, reputation and stake should be keyed by the
//! canonical id (or by [`ChainId`]), not by whichever key signed a message: then rotation keeps
//! reputation and history, and rotating keys gains a misbehaving agent nothing.
//!
//! # Who may sign: [`check_signer`](IdentityRegistry::check_signer)
//!
//! Only the **current** key of an **active** chain may sign new statements. A key that was
//! rotated out, any key of a revoked chain, and any key of a forked chain is refused. Threat
//! model: keys get rotated because they may have leaked, so a rotated-out key must be worthless
//! to a thief; a revocation must take effect everywhere it is known; and a fork means the key
//! holder (or a thief) signed two histories, so neither can be trusted. Signatures made
//! *before* a rotation stay verifiable as history (the ledger already recorded them); the
//! policy applies to new statements, which the caller checks as they arrive.
//!
//! # Identity tiers (DESIGN §6)
//!
//! - [`IdentityTier::Signatures`] (tier 0): every entry verified and the BAID recomputes from
//!   its opened inputs — true of every chain held.
//! - [`IdentityTier::Attested`] (tier 1): a trust anchor ([`RegistryConfig::trust_anchors`])
//!   has a valid, unexpired [`IssuerAttestation`] that names the chain's principal commitment
//!   *and the chain itself* (its canonical id). A commitment is public and any genesis can
//!   name it; an attestation for the commitment alone would make every copier "attested" and
//!   let a copier's fork get the honest principal blamed.
//!   Attestations by other issuers are refused, never stored.
//! - [`IdentityTier::Proven`] (tier 2): the configured [`ProofVerifier`] accepted an
//!   [`ExecutionProof`] for the chain's *current* BAID ([`IdentityRegistry::submit_proof`]). A
//!   config change makes a new BAID and drops the chain back until a new proof is accepted.
//!   The default verifier ([`RejectAllProofs`]) accepts none.
//!
//! The tier is the highest level reached; [`Resolved::attested`] and [`Resolved::proven`] say
//! which levels hold, for policies that need accountability (attestation) specifically.
//! Attestation expiry is judged against the latest [`Now`] the registry was given.
//!
//! # Persistence
//!
//! Everything the registry accepts is announced as [`IdentityEvent::Persist`] carrying the
//! frame to store (accepted entries, accepted attestations, and the second entry of a detected
//! fork). A restarted node hands the stored frames, in the order they were announced, to
//! [`restore`](IdentityRegistry::restore), which re-verifies each one through the normal path
//! and rebuilds the same state, forks included. [`export`](IdentityRegistry::export) gives a
//! snapshot in an order `restore` accepts. Accepted execution proofs are not persisted: the
//! host keeps its proofs and submits them again.

use std::collections::{BTreeMap, BTreeSet};

use agentnet_core::config::ConfigError;
use agentnet_core::seal::X25519Public;
use agentnet_core::signed::SignedError;
use agentnet_core::wire::{self, WireError};
use agentnet_core::{
    AgentId, BoundedQueue, Engine, Instant, LinkId, Now, Overflow, Signed, Transmit, WallTime,
};
use bytes::Bytes;
use thiserror::Error;

use crate::baid::{
    Baid, BindingEntry, BindingError, BindingKind, ChainFork, ChainForkProof, ChainId,
    ExecutionProof, IssuerAttestation, PrincipalCommitment, ProofRejected, ProofVerifier,
    RejectAllProofs,
};
use crate::fraud::{Culprit, Offence};

mod accept;
mod admission;
mod config;
mod engine;
mod events;
mod queries;

pub use config::RegistryConfig;
pub use events::*;

/// How far a chain's identity has been verified. Ordered: `Signatures < Attested < Proven`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IdentityTier {
    /// Tier 0: signatures and BAID commitment consistent.
    Signatures,
    /// Tier 1: a trust anchor attests the principal commitment.
    Attested,
    /// Tier 2: an execution proof for the current BAID was accepted.
    Proven,
}

/// The state of a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ChainStatus {
    /// The current key may sign.
    Active,
    /// The chain ended with a revocation; no key of it may sign.
    Revoked,
    /// Two conflicting entries were seen; no key of it may sign.
    Forked,
}

/// What the registry knows about a key (or a chain).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The chain the key belongs to.
    pub chain: ChainId,
    /// The chain's canonical id: its genesis key. Key reputation and history by this.
    pub canonical: AgentId,
    /// The key asked about.
    pub key: AgentId,
    /// Whether `key` is the chain's current key.
    pub is_current: bool,
    /// The chain's current Ed25519 key (at revocation, the last key).
    pub current_key: AgentId,
    /// The chain's current X25519 key.
    pub current_x25519: X25519Public,
    /// The chain's current BAID.
    pub baid: Baid,
    /// The chain's principal commitment.
    pub principal: PrincipalCommitment,
    /// Seq of the chain's head.
    pub head_seq: u64,
    /// The highest tier reached.
    pub tier: IdentityTier,
    /// Whether a trust anchor's unexpired attestation covers the principal.
    pub attested: bool,
    /// Whether an execution proof for the current BAID was accepted.
    pub proven: bool,
    /// Active, revoked or forked.
    pub status: ChainStatus,
}

/// A conflicting entry and the proof it gave.
#[derive(Clone, Debug)]
struct ForkRecord {
    conflicting: Signed<BindingEntry>,
    proof: ChainForkProof,
}

/// One chain held: its entries in seq order (`entries[i].seq == i`, never empty).
#[derive(Clone, Debug)]
struct ChainState {
    entries: Vec<Signed<BindingEntry>>,
    fork: Option<ForkRecord>,
    proven: Option<Baid>,
    /// When the genesis was accepted (monotonic).
    since: Instant,
    /// Where the genesis came from (admission fairness).
    source: admission::Source,
    /// The host vouched for it ([`IdentityRegistry::vouch`]).
    vouched: bool,
}

impl ChainState {
    fn head(&self) -> &Signed<BindingEntry> {
        self.entries.last().expect("a chain holds its genesis")
    }

    fn status(&self) -> ChainStatus {
        if self.fork.is_some() {
            ChainStatus::Forked
        } else if self.head().kind == BindingKind::Revocation {
            ChainStatus::Revoked
        } else {
            ChainStatus::Active
        }
    }
}

/// The identity registry engine. See the [module docs](self).
///
/// # Admission when the chain table is full
///
/// A genesis costs a fresh key, so a full table does not refuse newcomers (that would hand it
/// to whoever filled it first). It evicts a chain **without standing** — standing is an
/// unexpired issuer attestation naming the chain, an accepted execution proof, the host's word
/// ([`vouch`](Self::vouch)), or being held for [`RegistryConfig::standing_age`] — taking the
/// newest chain of the source (link) that introduced the most such chains; a newcomer whose
/// own link holds as many only recycles that link's newest. Only when every chain has standing
/// is the newcomer refused ([`IdentityError::TableFull`]). An evicted chain's frames leave in
/// [`IdentityEvent::Forgotten`] so the host deletes what it stored; its keys then resolve to
/// nothing (each is its own identity again).
pub struct IdentityRegistry {
    config: RegistryConfig,
    verifier: Box<dyn ProofVerifier>,
    /// The latest time seen; attestation expiry is judged against it.
    now: Now,
    chains: BTreeMap<ChainId, ChainState>,
    /// Every key any held chain ever bound.
    keys: BTreeMap<AgentId, ChainId>,
    /// Keyed by (principal, subject chain's canonical id, issuer).
    attestations: BTreeMap<(PrincipalCommitment, AgentId, AgentId), Signed<IssuerAttestation>>,
    /// Expiry index over `attestations`.
    expiry: BTreeSet<(WallTime, PrincipalCommitment, AgentId, AgentId)>,
    events: BoundedQueue<IdentityEvent>,
    /// False while restoring: restored state is already durable and known.
    emit: bool,
}

impl core::fmt::Debug for IdentityRegistry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("IdentityRegistry")
            .field("chains", &self.chains.len())
            .field("keys", &self.keys.len())
            .field("attestations", &self.attestations.len())
            .field("queued_events", &self.events.len())
            .finish_non_exhaustive()
    }
}

/// Events one input may queue at most (a persist record and what it changed), besides the
/// [`IdentityEvent::Forgotten`] of a chain evicted to make room (checked apart).
const EVENTS_PER_INPUT: usize = 2;

impl IdentityRegistry {
    /// A registry with the default proof policy ([`RejectAllProofs`]). Refuses a config with
    /// a field outside its documented range ([`RegistryConfig::validate`]).
    pub fn new(config: RegistryConfig) -> Result<Self, ConfigError> {
        Self::with_verifier(config, Box::new(RejectAllProofs))
    }

    /// A registry checking execution proofs with `verifier`.
    pub fn with_verifier(
        config: RegistryConfig,
        verifier: Box<dyn ProofVerifier>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(IdentityRegistry {
            events: BoundedQueue::new("events", config.max_queued_events),
            config,
            verifier,
            now: Now::default(),
            chains: BTreeMap::new(),
            keys: BTreeMap::new(),
            attestations: BTreeMap::new(),
            expiry: BTreeSet::new(),
            emit: true,
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    // ----- inputs ---------------------------------------------------------------------------

    /// Handle a frame of kind [`crate::wire::BINDING`]. See the module docs for the checks.
    pub fn handle_entry(&mut self, now: Now, frame: &Bytes) -> Result<Accepted, IdentityError> {
        self.entry_from(now, frame, None)
    }

    /// An entry frame from `source` (a link, or `None` for the host).
    fn entry_from(
        &mut self,
        now: Now,
        frame: &Bytes,
        source: admission::Source,
    ) -> Result<Accepted, IdentityError> {
        self.observe(now);
        self.room()?;
        let entry = Signed::<BindingEntry>::from_frame(frame, &self.config.limits)?;
        self.accept_entry(now, entry, source)
    }

    /// Handle an entry that is already verified (the agent's own, or one decoded by the host).
    pub fn handle_signed_entry(
        &mut self,
        now: Now,
        entry: Signed<BindingEntry>,
    ) -> Result<Accepted, IdentityError> {
        self.observe(now);
        self.room()?;
        self.accept_entry(now, entry, None)
    }

    /// Vouch for the chain holding `key`: it gets standing and is never evicted from a full
    /// table (the Agent vouches for its own chain and for every provider that delivered a
    /// checked result). Returns false if no held chain binds `key`.
    pub fn vouch(&mut self, key: &AgentId) -> bool {
        let Some(cid) = self.keys.get(key).copied() else {
            return false;
        };
        match self.chains.get_mut(&cid) {
            Some(c) => {
                c.vouched = true;
                true
            }
            None => false,
        }
    }

    /// Handle a frame of kind [`crate::wire::ATTESTATION`].
    pub fn handle_attestation(
        &mut self,
        now: Now,
        frame: &Bytes,
    ) -> Result<Accepted, IdentityError> {
        self.observe(now);
        self.room()?;
        let a = Signed::<IssuerAttestation>::from_frame(frame, &self.config.limits)?;
        self.accept_attestation(now, a)
    }

    /// Handle an attestation that is already verified.
    pub fn handle_signed_attestation(
        &mut self,
        now: Now,
        attestation: Signed<IssuerAttestation>,
    ) -> Result<Accepted, IdentityError> {
        self.observe(now);
        self.room()?;
        self.accept_attestation(now, attestation)
    }

    /// Check `proof` for the current BAID of `key`'s chain with the configured
    /// [`ProofVerifier`]; on success the chain reaches [`IdentityTier::Proven`] until its BAID
    /// changes. Returns the chain's tier afterwards.
    pub fn submit_proof(
        &mut self,
        now: Now,
        key: &AgentId,
        proof: &ExecutionProof,
    ) -> Result<IdentityTier, IdentityError> {
        self.observe(now);
        self.room()?;
        let len = proof.system.len().saturating_add(proof.bytes.len());
        if len > self.config.max_proof_bytes {
            return Err(IdentityError::ProofTooLarge {
                len,
                max: self.config.max_proof_bytes,
            });
        }
        let cid = *self.keys.get(key).ok_or(IdentityError::UnknownKey(*key))?;
        let chain = self.chains.get(&cid).expect("indexed keys have chains");
        match chain.status() {
            ChainStatus::Forked => return Err(IdentityError::ChainForked(cid)),
            ChainStatus::Revoked => return Err(IdentityError::ChainRevoked(cid)),
            ChainStatus::Active => {}
        }
        let baid = chain.head().baid;
        self.verifier.verify(&baid, proof)?;
        let chain = self.chains.get_mut(&cid).expect("checked above");
        if chain.proven != Some(baid) {
            chain.proven = Some(baid);
            self.push(IdentityEvent::Proven { chain: cid, baid });
        }
        Ok(self.resolve_chain(&cid).expect("held").tier)
    }

    /// Rebuild state at start-up from frames announced by [`IdentityEvent::Persist`] (or
    /// returned by [`export`](Self::export)), in that order. Every frame is verified again
    /// through the normal path; no events are queued.
    pub fn restore<I: IntoIterator<Item = Bytes>>(&mut self, now: Now, frames: I) -> RestoreReport {
        self.observe(now);
        self.emit = false;
        let mut report = RestoreReport::default();
        for (i, frame) in frames.into_iter().enumerate() {
            let r = match wire::peek_kind(&frame) {
                Some(k) if k == crate::wire::BINDING => self.handle_entry(now, &frame),
                Some(k) if k == crate::wire::ATTESTATION => self.handle_attestation(now, &frame),
                _ => Err(self.not_ours(&frame)),
            };
            match r {
                Ok(Accepted::Duplicate) => {}
                Ok(_) => report.accepted += 1,
                Err(e) => report.refused.push((i, e)),
            }
        }
        self.emit = true;
        report
    }

    // ----- internals ------------------------------------------------------------------------

    fn observe(&mut self, now: Now) {
        self.now = self.now.max(now);
    }

    fn room(&self) -> Result<(), IdentityError> {
        if self.emit && self.events.len() + EVENTS_PER_INPUT > self.config.max_queued_events {
            return Err(IdentityError::EventQueueFull);
        }
        Ok(())
    }

    fn push(&mut self, e: IdentityEvent) {
        if self.emit {
            self.events.push(e);
        }
    }

    fn full(&mut self, table: Table) -> IdentityError {
        let max = match table {
            Table::Chains => self.config.max_chains,
            Table::ChainEntries => self.config.max_entries_per_chain,
            Table::Attestations => self.config.max_attestations,
        };
        self.push(IdentityEvent::TableFull { table, max });
        IdentityError::TableFull { table, max }
    }

    fn check_skew(&self, now: Now, issued_at: WallTime) -> Result<(), IdentityError> {
        let ahead = issued_at
            .as_unix_millis()
            .saturating_sub(now.wall.as_unix_millis());
        if ahead > self.config.max_skew.as_millis() as u64 {
            return Err(IdentityError::FromTheFuture { ahead_ms: ahead });
        }
        Ok(())
    }

    /// The error for a frame that is neither an entry nor an attestation.
    fn not_ours(&self, frame: &Bytes) -> IdentityError {
        match wire::decode_frame(frame, &self.config.limits) {
            Err(e) => e.into(),
            Ok(f) => WireError::UnknownKind(f.kind.0).into(),
        }
    }

    /// Whether a trust anchor attests, unexpired, that the chain with canonical id `subject`
    /// belongs to `principal` (an attestation of the commitment for another chain does not
    /// count: the commitment is public and can be copied into any genesis).
    fn attested(&self, principal: &PrincipalCommitment, subject: &AgentId) -> bool {
        let lo = (*principal, *subject, AgentId::from_bytes([0; 32]));
        let hi = (*principal, *subject, AgentId::from_bytes([0xff; 32]));
        self.attestations
            .range(lo..=hi)
            .any(|(_, a)| self.now.wall < a.expires_at)
    }

    fn resolved(&self, cid: &ChainId, c: &ChainState, key: AgentId) -> Resolved {
        let head = c.head();
        let principal = head.inputs.principal;
        let attested = self.attested(&principal, &c.entries[0].agent);
        let proven = c.proven == Some(head.baid);
        let tier = if proven {
            IdentityTier::Proven
        } else if attested {
            IdentityTier::Attested
        } else {
            IdentityTier::Signatures
        };
        Resolved {
            chain: *cid,
            canonical: c.entries[0].agent,
            key,
            is_current: key == head.agent,
            current_key: head.agent,
            current_x25519: head.x25519,
            baid: head.baid,
            principal,
            head_seq: head.seq,
            tier,
            attested,
            proven,
            status: c.status(),
        }
    }
}

#[cfg(test)]
mod tests;
