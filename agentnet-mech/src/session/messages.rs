//! The signed messages of a session on the wire (offer, commit, delegate, deliver, settle) and
//! the settlement statement.

use super::*;

/// What the requester offers: the task's id, topic and description hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    /// The task's id (named by receipts, evidence and the ledger).
    pub id: TaskId,
    /// The topic the task belongs to (the ledger's key).
    pub topic: Topic,
    /// [`payload_hash`](agentnet_trust::evidence::payload_hash) of the task description the
    /// host sends alongside.
    pub description_hash: Hash,
}

impl TaskSpec {
    /// A task specification.
    pub fn new(id: TaskId, topic: Topic, description_hash: Hash) -> Self {
        TaskSpec {
            id,
            topic,
            description_hash,
        }
    }
}

// =============================================================================================
// Wire messages
// =============================================================================================

/// OFFER ([`wire::OFFER`]), requester → provider: a task under a mechanism.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// [`SessionId::derive`] of the fields below; checked by the provider.
    pub session: SessionId,
    /// The requester; must be the signer and the mechanism's leader.
    pub requester: AgentId,
    /// The provider the offer is addressed to.
    pub provider: AgentId,
    /// The task.
    pub task: TaskId,
    /// The task's topic; validated on receipt.
    pub topic: Topic,
    /// Hash of the task description.
    pub description_hash: Hash,
    /// When the offer was made (requester's wall clock).
    pub offered_at: WallTime,
    /// The `Signed<Mechanism>` envelope ([`Signed::to_envelope`]) exactly as the leader
    /// signed it.
    #[serde(with = "agentnet_core::bytes_serde::bytes")]
    pub mechanism: Bytes,
}

/// COMMIT ([`wire::COMMIT`]), provider → requester: the answer to an offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The session.
    pub session: SessionId,
    /// The provider; must be the signer.
    pub provider: AgentId,
    /// [`Signed::hash`] of the offer answered: a commitment to exactly those bytes.
    pub offer: Hash,
    /// Accept (and post the deposit) or decline.
    pub accept: bool,
    /// The deposit posted: the mechanism's deposit when accepting, 0 when declining.
    pub deposit: Micros,
}

/// DELEGATE ([`wire::DELEGATE`]), requester → provider: the task input, after a commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegate {
    /// The session.
    pub session: SessionId,
    /// The requester; must be the signer.
    pub requester: AgentId,
    /// Hash of the input the host sends alongside.
    pub input_hash: Hash,
}

/// DELIVER ([`wire::DELIVER`]), provider → requester: the result, with evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliver {
    /// The session.
    pub session: SessionId,
    /// The provider; must be the signer.
    pub provider: AgentId,
    /// [`payload_hash`](agentnet_trust::evidence::payload_hash) of the result the host sends
    /// alongside.
    pub result_hash: Hash,
    /// A `Signed<EvidencePackage>` envelope; required at [`Tier::Evidence`].
    #[serde(with = "agentnet_core::bytes_serde::opt_bytes")]
    pub evidence: Option<Bytes>,
}

/// SETTLE ([`wire::SETTLE`]), requester → provider: the signed settlement statement the
/// payment rail executes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settle {
    /// The session.
    pub session: SessionId,
    /// The requester (payer); must be the signer.
    pub requester: AgentId,
    /// The provider (payee, depositor).
    pub provider: AgentId,
    /// The task.
    pub task: TaskId,
    /// [`Mechanism::id`] of the mechanism applied.
    pub mechanism: Hash,
    /// How the session ended.
    pub outcome: Outcome,
    /// Paid to the provider, µ.
    pub payment: Micros,
    /// Deposit returned to the provider, µ.
    pub refund: Micros,
    /// Deposit forfeited, µ.
    pub slashed: Micros,
    /// The fraud proof justifying a slashing; present exactly when the outcome is
    /// [`Outcome::Fraud`].
    pub proof: Option<FraudProof>,
    /// When the statement was made (requester's wall clock).
    pub settled_at: WallTime,
}

impl SignedObject for Offer {
    const CONTEXT: &'static str = agentnet_core::hash::domain::SESSION_OFFER;
    const KIND: MessageKind = wire::OFFER;
    fn author(&self) -> Option<AgentId> {
        Some(self.requester)
    }
}

impl SignedObject for Commit {
    const CONTEXT: &'static str = agentnet_core::hash::domain::SESSION_COMMIT;
    const KIND: MessageKind = wire::COMMIT;
    fn author(&self) -> Option<AgentId> {
        Some(self.provider)
    }
}

impl SignedObject for Delegate {
    const CONTEXT: &'static str = agentnet_core::hash::domain::SESSION_DELEGATE;
    const KIND: MessageKind = wire::DELEGATE;
    fn author(&self) -> Option<AgentId> {
        Some(self.requester)
    }
}

impl SignedObject for Deliver {
    const CONTEXT: &'static str = agentnet_core::hash::domain::SESSION_DELIVER;
    const KIND: MessageKind = wire::DELIVER;
    fn author(&self) -> Option<AgentId> {
        Some(self.provider)
    }
}

impl SignedObject for Settle {
    const CONTEXT: &'static str = agentnet_core::hash::domain::SESSION_SETTLE;
    const KIND: MessageKind = wire::SETTLE;
    fn author(&self) -> Option<AgentId> {
        Some(self.requester)
    }
}

// =============================================================================================
// Events and errors
// =============================================================================================

/// A settlement statement as signed by the requester, with this engine's role in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Whether this engine was the requester (it signed the statement) or the provider (it
    /// checked and accepted it).
    pub role: Role,
    /// The task's topic.
    pub topic: Topic,
    /// The signed statement; [`Signed::to_frame`] gives the bytes to hand to a payment rail.
    pub statement: Signed<Settle>,
}

impl Settlement {
    /// The session.
    pub fn id(&self) -> SessionId {
        self.statement.session
    }
    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        self.statement.outcome
    }
    /// Paid to the provider, µ.
    pub fn payment(&self) -> Micros {
        self.statement.payment
    }
    /// Deposit returned, µ.
    pub fn refund(&self) -> Micros {
        self.statement.refund
    }
    /// Deposit forfeited, µ.
    pub fn slashed(&self) -> Micros {
        self.statement.slashed
    }
}

/// Why a provider disputes a settlement statement.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisputeReason {
    /// The statement names other parties or another task than the session's.
    #[error("the statement names other parties or another task")]
    WrongSession,
    /// The statement applies another mechanism than the one offered.
    #[error("statement applies mechanism {found}, the offer's is {expected}")]
    MechanismMismatch {
        /// The offer's mechanism id.
        expected: Hash,
        /// The statement's.
        found: Hash,
    },
    /// The payment exceeds what the mechanism can pay (flat + bonus).
    #[error("payment {payment} µ exceeds the mechanism's maximum {max} µ")]
    Overpaid {
        /// Stated payment.
        payment: Micros,
        /// flat + bonus.
        max: Micros,
    },
    /// Refund and slashed amount do not add up to the deposit.
    #[error("refund {refund} µ + slashed {slashed} µ != deposit {deposit} µ")]
    DepositMismatch {
        /// Stated refund.
        refund: Micros,
        /// Stated slashing.
        slashed: Micros,
        /// The mechanism's deposit.
        deposit: Micros,
    },
    /// The outcome cannot have happened given what this provider did (e.g. accepted or
    /// rejected without a delivery, fraud or a delegation timeout without a commitment).
    #[error("outcome {outcome:?} is impossible in phase {phase:?}")]
    ImpossibleOutcome {
        /// Stated outcome.
        outcome: Outcome,
        /// The provider's phase.
        phase: Phase,
    },
    /// The payment is not what the mechanism pays for the stated outcome.
    #[error("outcome {outcome:?} pays {expected} µ, statement says {payment} µ")]
    WrongPayment {
        /// Stated outcome.
        outcome: Outcome,
        /// Stated payment.
        payment: Micros,
        /// What the mechanism pays.
        expected: Micros,
    },
    /// The slashed amount is not what the mechanism forfeits for the stated outcome.
    #[error("slashed {slashed} µ, the mechanism forfeits {expected} µ")]
    WrongSlashing {
        /// Stated slashing.
        slashed: Micros,
        /// What the mechanism forfeits.
        expected: Micros,
    },
    /// A fraud outcome without a proof.
    #[error("fraud claimed without a proof")]
    MissingProof,
    /// A proof attached to an outcome that is not fraud.
    #[error("a proof is attached to a non-fraud outcome")]
    UnexpectedProof,
    /// The attached proof does not verify.
    #[error("fraud proof does not verify: {0}")]
    InvalidProof(FraudError),
    /// The attached proof convicts someone else.
    #[error("fraud proof convicts {offender}, not this provider")]
    NotTheOffender {
        /// Whom it convicts.
        offender: AgentId,
    },
    /// The attached proof convicts this provider of something outside this session (it is
    /// not about the package of this session's delivery).
    #[error("fraud proof is not about this session ({0})")]
    ProofNotForSession(&'static str),
}
