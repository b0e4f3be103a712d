//! What a [`Sessions`] engine reports ([`Event`]), refuses ([`SessionError`]) and shows of a
//! session ([`SessionInfo`]).

use super::*;

/// What the engine reports to its application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    // ----- provider side ----------------------------------------------------------------------
    /// A verified offer: answer with [`Sessions::accept`] or [`Sessions::decline`] before
    /// `answer_by`.
    Offered {
        /// The session.
        id: SessionId,
        /// Who offers (the mechanism's leader).
        requester: AgentId,
        /// The task.
        task: TaskId,
        /// Its topic.
        topic: Topic,
        /// Hash of the task description.
        description_hash: Hash,
        /// The rules, verified and valid.
        mechanism: Box<Signed<Mechanism>>,
        /// Deadline for the answer.
        answer_by: Instant,
    },
    /// The requester delegated: do the work and [`Sessions::deliver`] before `deliver_by`.
    Delegated {
        /// The session.
        id: SessionId,
        /// The requester.
        requester: AgentId,
        /// The task.
        task: TaskId,
        /// Hash of the input.
        input_hash: Hash,
        /// Delivery deadline.
        deliver_by: Instant,
    },
    /// The host did not answer an offer in time; the session ended, nothing was committed.
    OfferExpired {
        /// The session.
        id: SessionId,
        /// The requester.
        requester: AgentId,
    },
    /// The requester owed a delegation or a settlement statement and sent none in time; the
    /// session ended. The host pursues its deposit and payment through its payment rail.
    SettlementOverdue {
        /// The session.
        id: SessionId,
        /// The requester.
        requester: AgentId,
        /// Where the session stood.
        phase: Phase,
    },
    /// A settlement statement the provider finds wrong; the session ended. The statement is
    /// signed by the requester, so it is evidence for whatever dispute process the host runs.
    Disputed {
        /// The session.
        id: SessionId,
        /// What is wrong.
        reason: DisputeReason,
        /// The statement.
        statement: Box<Signed<Settle>>,
    },

    // ----- requester side ---------------------------------------------------------------------
    /// The provider accepted and posted `deposit`: call [`Sessions::delegate`] before
    /// `delegate_by`.
    Committed {
        /// The session.
        id: SessionId,
        /// The provider.
        provider: AgentId,
        /// The deposit posted, µ.
        deposit: Micros,
        /// Deadline for the delegation.
        delegate_by: Instant,
    },
    /// The provider declined; the session ended, nothing is owed.
    Declined {
        /// The session.
        id: SessionId,
        /// The provider.
        provider: AgentId,
    },
    /// A delivery passed the checks its tier requires: check the result bytes against
    /// `result_hash`, then [`Sessions::grade`] before `grade_by`.
    Delivered {
        /// The session.
        id: SessionId,
        /// The provider.
        provider: AgentId,
        /// Hash of the result.
        result_hash: Hash,
        /// The verified evidence, if a package came with the delivery.
        evidence: Option<VerifiedEvidence>,
        /// Deadline for the grade.
        grade_by: Instant,
    },
    /// A delivery's evidence package failed verification without proving fraud; the session
    /// settles as [`Outcome::Rejected`]. `report.rejection()` is what
    /// [`Ledger::record_rejection`](agentnet_trust::ledger::Ledger::record_rejection) takes.
    EvidenceRejected {
        /// The session.
        id: SessionId,
        /// The provider.
        provider: AgentId,
        /// Every fault found.
        report: EvidenceReport,
    },
    /// A task outcome for the trust ledger
    /// ([`Ledger::record_task`](agentnet_trust::ledger::Ledger::record_task) when `evidence`
    /// is present). `peer` is the provider's signing key: resolve it to its canonical id.
    Feedback {
        /// The session.
        id: SessionId,
        /// The provider.
        peer: AgentId,
        /// The task's topic.
        topic: Topic,
        /// The judgement.
        outcome: TaskOutcome,
        /// The verified evidence, if any.
        evidence: Option<VerifiedEvidence>,
    },
    /// A verified fraud proof (for
    /// [`Ledger::record_offence`](agentnet_trust::ledger::Ledger::record_offence) and the
    /// reputation engine).
    Offence(Offence),

    // ----- both sides -------------------------------------------------------------------------
    /// The session is settled; the requester signed this statement (and sent it), or the
    /// provider checked it. Execute it on the payment rail.
    Settled(Box<Settlement>),
    /// An offer was refused because [`SessionConfig::max_sessions`] sessions are held.
    TableFull {
        /// The bound.
        max: usize,
    },
    /// Queue overflow: this many items of one queue (`"events"`, `"transmits"` or
    /// `"parked"`) were dropped since its last report.
    Overflow(Overflow),
    /// A deadline passed but no statement could be made (the signer failed, or the statement
    /// would exceed [`SessionConfig::limits`]); the session ended without one.
    SettleFailed {
        /// The session.
        id: SessionId,
        /// Why.
        error: SessionError,
    },
    /// Store `record` durably under `id`, replacing the session's previous record, or delete
    /// it when `record` is `None` (the session ended). After a restart the stored records go to
    /// [`Sessions::restore`]. Queued whenever a session is created or changes state, before
    /// the event that describes the change; see the module docs, "Persistence", for the rule
    /// the host must follow.
    Persist {
        /// The session.
        id: SessionId,
        /// The session's record ([`Sessions::export`] gives the same bytes), or `None`.
        record: Option<Bytes>,
    },
}

/// Why a frame or command was refused. Nothing changed when one is returned.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The frame is malformed, too large or of a kind this engine does not handle.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The signature does not verify, the author is not the signer, or this engine's signer
    /// failed.
    #[error(transparent)]
    Signed(#[from] SignedError),
    /// The mechanism envelope inside an offer is malformed or not validly signed.
    #[error("mechanism envelope refused: {0}")]
    MechanismEnvelope(SignedError),
    /// The mechanism breaks its own rules.
    #[error("invalid mechanism: {0}")]
    Mechanism(#[from] MechanismError),
    /// The requester is not the mechanism's leader (see the module docs).
    #[error("requester {requester} is not the mechanism's leader {leader}")]
    NotLeader {
        /// Who offers.
        requester: AgentId,
        /// Who signed the mechanism.
        leader: AgentId,
    },
    /// The topic is not a valid topic.
    #[error("invalid topic: {0}")]
    Topic(#[from] DescriptorError),
    /// The offer is addressed to another agent.
    #[error("offer addressed to {0}, not to this agent")]
    NotAddressedToUs(AgentId),
    /// Requester and provider are the same agent.
    #[error("an agent cannot offer a task to itself")]
    SelfDealing,
    /// The offer's session id is not derived from its fields.
    #[error("{0} is not derived from the offer's fields")]
    BadSessionId(SessionId),
    /// The offer is dated further in the future than the skew window.
    #[error("offer dated {ahead_ms} ms in the future")]
    FromTheFuture {
        /// How far ahead of this agent's clock.
        ahead_ms: u64,
    },
    /// The offer's commitment window has closed.
    #[error("offer expired {late_ms} ms ago")]
    StaleOffer {
        /// How long ago the window closed.
        late_ms: u64,
    },
    /// [`SessionConfig::max_sessions`] sessions are held.
    #[error("session table full ({max})")]
    Full {
        /// The bound.
        max: usize,
    },
    /// A session with this id already exists or existed recently (same requester, provider,
    /// task and millisecond).
    #[error("{0} already exists")]
    DuplicateSession(SessionId),
    /// No session with this id is known.
    #[error("unknown {0}")]
    UnknownSession(SessionId),
    /// The session has ended (settled, declined, timed out): a late or replayed message.
    #[error("{0} has ended")]
    Ended(SessionId),
    /// The message or command belongs to the other role of the session.
    #[error("{id}: {what} is not for the {role:?}")]
    WrongRole {
        /// The session.
        id: SessionId,
        /// This engine's role in it.
        role: Role,
        /// The message kind or command.
        what: &'static str,
    },
    /// The message is signed by someone other than the session's counterparty.
    #[error("{id}: signed by {got}, expected the counterparty {expected}")]
    WrongSender {
        /// The session.
        id: SessionId,
        /// The counterparty.
        expected: AgentId,
        /// The signer.
        got: AgentId,
    },
    /// The message repeats a stage the session has already passed; the first one stands.
    #[error("{id}: {what} repeats a stage already passed (session is {phase:?})")]
    Replayed {
        /// The session.
        id: SessionId,
        /// The message kind.
        what: &'static str,
        /// Where the session stands.
        phase: Phase,
    },
    /// The message arrived before the stage it belongs to.
    #[error("{id}: {what} arrived out of order (session is {phase:?})")]
    OutOfOrder {
        /// The session.
        id: SessionId,
        /// The message kind.
        what: &'static str,
        /// Where the session stands.
        phase: Phase,
    },
    /// The command is not valid where the session stands.
    #[error("{id}: {what} is not possible in phase {phase:?}")]
    WrongPhase {
        /// The session.
        id: SessionId,
        /// The command.
        what: &'static str,
        /// Where the session stands.
        phase: Phase,
    },
    /// The commitment answers another offer.
    #[error("{id}: the commitment names offer {found}, not {expected}")]
    OfferMismatch {
        /// The session.
        id: SessionId,
        /// Hash of the offer sent.
        expected: Hash,
        /// Hash the commitment names.
        found: Hash,
    },
    /// The commitment's deposit is not the mechanism's (or not 0 for a decline).
    #[error("{id}: deposit of {got} µ, expected {expected} µ")]
    WrongDeposit {
        /// The session.
        id: SessionId,
        /// What the mechanism requires.
        expected: Micros,
        /// What the commitment says.
        got: Micros,
    },
    /// The mechanism's tier requires an evidence package and the delivery has none.
    #[error("{0}: the mechanism requires an evidence package")]
    EvidenceRequired(SessionId),
    /// The package given to [`Sessions::deliver`] does not belong to the delivery.
    #[error("{id}: the evidence package {reason}")]
    EvidenceMismatch {
        /// The session.
        id: SessionId,
        /// What does not match.
        reason: &'static str,
    },
    /// The stage's deadline has passed.
    #[error("{0}: the deadline has passed")]
    DeadlinePassed(SessionId),
    /// A score above 1 000 000 ppm.
    #[error("score {0} ppm is above 1 000 000")]
    InvalidScore(Ppm),
    /// The fraud proof does not verify.
    #[error("fraud proof refused: {0}")]
    Fraud(#[from] FraudError),
    /// The fraud proof convicts someone other than the session's provider.
    #[error("{id}: the proof convicts {offender}, not the provider {provider}")]
    WrongOffender {
        /// The session.
        id: SessionId,
        /// Whom the proof convicts.
        offender: AgentId,
        /// The session's provider.
        provider: AgentId,
    },
    /// The fraud proof convicts the provider, but of nothing done in this session: only a
    /// receipt contradiction in the package of this session's delivery forfeits its deposit
    /// (module docs, "Settlement threats").
    #[error("{id}: the proof is not about this session ({reason})")]
    ProofNotForSession {
        /// The session.
        id: SessionId,
        /// What does not tie it to the session.
        reason: &'static str,
    },
    /// The evidence package holds more receipts than [`SessionConfig::max_receipts`]; its
    /// chain is not examined, so the delivery is not taken.
    #[error("{id}: the evidence package holds {count} receipts, at most {max} are taken")]
    TooManyReceipts {
        /// The session.
        id: SessionId,
        /// Receipts in the package.
        count: usize,
        /// [`SessionConfig::max_receipts`].
        max: usize,
    },
    /// The evidence package is so large that the fraud settlement carrying it would not fit
    /// [`SessionConfig::limits`]; the delivery is not taken (module docs, "Settlement
    /// threats").
    #[error("{id}: an evidence package of {len} bytes would not fit a fraud settlement")]
    EvidenceTooLarge {
        /// The session.
        id: SessionId,
        /// The package envelope's length.
        len: usize,
    },
    /// A `TimedOut(Execute)` statement arrived before the delivery deadline could have passed
    /// for the requester, even allowing [`SessionConfig::max_skew`].
    #[error("{id}: execution timeout claimed {early_ms} ms before the deadline (skew allowed)")]
    EarlyTimeout {
        /// The session.
        id: SessionId,
        /// How much too early, after allowing the skew.
        early_ms: u64,
    },
    /// A `TimedOut(Execute)` statement arrived after this provider delivered: the requester
    /// owes a grade (or `TimedOut(Grade)`), not an execution timeout.
    #[error("{0}: execution timeout claimed after the delivery")]
    TimeoutAfterDelivery(SessionId),
}

/// A read-only view of one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session.
    pub id: SessionId,
    /// This engine's role.
    pub role: Role,
    /// Where it stands.
    pub phase: Phase,
    /// The requester.
    pub requester: AgentId,
    /// The provider.
    pub provider: AgentId,
    /// The task.
    pub task: TaskId,
    /// Its topic.
    pub topic: Topic,
    /// [`Mechanism::id`] of the rules.
    pub mechanism_id: Hash,
    /// Hash of the delegated input, once delegated.
    pub input_hash: Option<Hash>,
    /// Hash of the delivered result, once delivered.
    pub result_hash: Option<Hash>,
    /// The link replies go to: the last one the counterparty spoke on, or the one the host
    /// set ([`Sessions::set_link`], [`Sessions::set_peer_link`]). `None` for a session
    /// restored after a restart until one is known; its frames wait meanwhile.
    pub link: Option<LinkId>,
    /// The next deadline.
    pub deadline: Instant,
}

// =============================================================================================
// Session state
// =============================================================================================
