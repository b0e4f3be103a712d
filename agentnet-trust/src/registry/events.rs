//! What the registry reports: bounded tables ([`Table`]), the outcome of an input
//! ([`Accepted`]), events ([`IdentityEvent`]), errors ([`IdentityError`]) and the outcome of a
//! restore ([`RestoreReport`]).

use super::*;

/// A bounded table of the registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Table {
    /// [`RegistryConfig::max_chains`].
    Chains,
    /// [`RegistryConfig::max_entries_per_chain`].
    ChainEntries,
    /// [`RegistryConfig::max_attestations`].
    Attestations,
}

/// What handling an input did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accepted {
    /// A new chain was registered from its genesis.
    Registered {
        /// The new chain.
        chain: ChainId,
        /// Its genesis (canonical) key.
        key: AgentId,
    },
    /// A config change, rotation or revocation was appended.
    Appended {
        /// The chain.
        chain: ChainId,
        /// The new head's seq.
        seq: u64,
        /// What the entry did.
        kind: BindingKind,
    },
    /// The input is already held; nothing changed.
    Duplicate,
    /// The entry conflicts with one held: the chain is now forked (see
    /// [`IdentityEvent::ForkDetected`]); the entry was not appended.
    ForkDetected {
        /// The chain held that the entry conflicts with.
        chain: ChainId,
        /// The position signed twice.
        seq: u64,
    },
    /// An attestation by a trust anchor was stored.
    Attestation {
        /// The attested principal.
        principal: PrincipalCommitment,
        /// The chain it names (canonical id).
        subject: AgentId,
        /// The issuer.
        issuer: AgentId,
    },
}

/// What the registry reports to its application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityEvent {
    /// Events were dropped for lack of space (`queue: "events"`). Inputs are refused before
    /// the queue can overflow ([`IdentityError::EventQueueFull`]), so this is a safety net.
    Overflow(Overflow),
    /// Store `frame` durably and hand it to [`IdentityRegistry::restore`] after a restart.
    /// Queued before the event describing the change.
    Persist {
        /// An entry or attestation frame.
        frame: Bytes,
    },
    /// A new chain.
    Registered {
        /// The chain.
        chain: ChainId,
        /// Its genesis (canonical) key.
        key: AgentId,
        /// Its BAID.
        baid: Baid,
    },
    /// A chain's BAID inputs changed.
    ConfigChanged {
        /// The chain.
        chain: ChainId,
        /// The entry's seq.
        seq: u64,
        /// The new BAID.
        baid: Baid,
    },
    /// A chain's keys changed.
    Rotated {
        /// The chain.
        chain: ChainId,
        /// The entry's seq.
        seq: u64,
        /// The previous Ed25519 key (now refused for new signatures if it changed).
        old: AgentId,
        /// The new Ed25519 key.
        new: AgentId,
    },
    /// A chain was revoked; none of its keys may sign any more.
    Revoked {
        /// The chain.
        chain: ChainId,
        /// The revocation's seq.
        seq: u64,
        /// The key that signed the revocation (the last current key).
        key: AgentId,
    },
    /// A fork: hand `proof` to the fraud plane. Emitted once per chain.
    ForkDetected {
        /// The chain held here that is now forked.
        chain: ChainId,
        /// What the proof establishes.
        fork: ChainFork,
        /// The self-verifying proof.
        proof: Box<ChainForkProof>,
    },
    /// An attestation by a trust anchor was stored.
    AttestationAccepted {
        /// The attested principal.
        principal: PrincipalCommitment,
        /// The chain it names (canonical id).
        subject: AgentId,
        /// The issuer.
        issuer: AgentId,
        /// End of validity.
        expires_at: WallTime,
    },
    /// An attestation expired and was removed.
    AttestationExpired {
        /// The principal.
        principal: PrincipalCommitment,
        /// The chain it named (canonical id).
        subject: AgentId,
        /// The issuer.
        issuer: AgentId,
    },
    /// An execution proof was accepted for a chain's current BAID.
    Proven {
        /// The chain.
        chain: ChainId,
        /// The proven BAID.
        baid: Baid,
    },
    /// A chain without standing was evicted to make room for a new one: delete every record
    /// persisted for it. Its keys no longer resolve.
    Forgotten {
        /// The chain.
        chain: ChainId,
        /// The frames announced by [`IdentityEvent::Persist`] for it (its entries, and the
        /// conflicting entry of a fork).
        frames: Vec<Bytes>,
    },
    /// An input was refused because a table is at its bound.
    TableFull {
        /// The table.
        table: Table,
        /// Its bound.
        max: usize,
    },
}

/// Why the registry refused an input. Nothing changed when one is returned.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdentityError {
    /// The frame is malformed, too large or of a kind this engine does not handle.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The envelope is malformed or its signature does not verify.
    #[error(transparent)]
    Signed(#[from] SignedError),
    /// The entry is malformed on its own.
    #[error(transparent)]
    Binding(#[from] BindingError),
    /// `issued_at` is further in the future than the skew window.
    #[error("issued {ahead_ms} ms in the future")]
    FromTheFuture {
        /// How far ahead.
        ahead_ms: u64,
    },
    /// A successor of a chain this registry does not hold (its genesis may still be on the
    /// way).
    #[error("unknown chain {0}")]
    UnknownChain(ChainId),
    /// A successor beyond the head: entries must arrive in order.
    #[error("{chain}: expected seq {expected}, got {got}")]
    Gap {
        /// The chain.
        chain: ChainId,
        /// The next seq the chain accepts.
        expected: u64,
        /// The entry's seq.
        got: u64,
    },
    /// The successor does not name the head's hash.
    #[error("{chain}: entry {seq} does not link to the head")]
    PrevMismatch {
        /// The chain.
        chain: ChainId,
        /// The entry's seq.
        seq: u64,
    },
    /// The successor is not signed by the key of the entry before it.
    #[error("{chain}: entry {seq} must be signed by {expected}, got {got}")]
    WrongSigner {
        /// The chain.
        chain: ChainId,
        /// The entry's seq.
        seq: u64,
        /// The key that must sign.
        expected: AgentId,
        /// The key that signed.
        got: AgentId,
    },
    /// The successor is dated before its predecessor.
    #[error("{chain}: entry {seq} is dated before its predecessor")]
    NotMonotonic {
        /// The chain.
        chain: ChainId,
        /// The entry's seq.
        seq: u64,
    },
    /// The key is already bound (in this chain earlier, or in another chain); a key belongs
    /// to one chain position, so resolution stays unambiguous and retired keys stay retired.
    #[error("key {key} is already bound in {chain}")]
    KeyInUse {
        /// The key.
        key: AgentId,
        /// The chain holding it.
        chain: ChainId,
    },
    /// The successor changes something its kind may not change.
    #[error("{chain}: invalid {kind:?}: {reason}")]
    InvalidSuccessor {
        /// The chain.
        chain: ChainId,
        /// The entry's kind.
        kind: BindingKind,
        /// What is wrong.
        reason: &'static str,
    },
    /// The chain is revoked.
    #[error("{0} is revoked")]
    ChainRevoked(ChainId),
    /// The chain is forked.
    #[error("{0} is forked")]
    ChainForked(ChainId),
    /// The key appears in no chain held.
    #[error("unknown key {0}")]
    UnknownKey(AgentId),
    /// The key was rotated out of its chain and may not sign new statements.
    #[error("key {key} was rotated out; the current key is {current}")]
    KeyRotatedOut {
        /// The retired key.
        key: AgentId,
        /// The chain's current key.
        current: AgentId,
    },
    /// The attestation's issuer is not a trust anchor.
    #[error("issuer {0} is not a trust anchor")]
    UntrustedIssuer(AgentId),
    /// The attestation's validity window is empty.
    #[error("attestation validity window is empty")]
    EmptyValidity,
    /// The attestation has expired.
    #[error("attestation expired")]
    AttestationExpired,
    /// An attestation by the same issuer for the same principal, valid at least as long, is
    /// already held.
    #[error("a newer attestation is already held")]
    StaleAttestation,
    /// A table is at its bound.
    #[error("{table:?} table is full ({max})")]
    TableFull {
        /// The table.
        table: Table,
        /// Its bound.
        max: usize,
    },
    /// The event queue is full: drain [`Engine::poll_event`] and retry.
    #[error("event queue full")]
    EventQueueFull,
    /// The execution proof is larger than [`RegistryConfig::max_proof_bytes`].
    #[error("execution proof of {len} bytes exceeds {max}")]
    ProofTooLarge {
        /// Its size.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The proof verifier rejected the execution proof.
    #[error(transparent)]
    ProofRejected(#[from] ProofRejected),
}

/// The outcome of [`IdentityRegistry::restore`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Frames that changed the state (entries, attestations, forks).
    pub accepted: usize,
    /// Frames refused, by index in the input, with the reason (e.g. an attestation that
    /// expired while the node was down). Duplicates are neither accepted nor refused.
    pub refused: Vec<(usize, IdentityError)>,
}
