//! What an [`Agent`](super::Agent) is asked to do (requests, services, completions), what it
//! reports, and why it refuses input.

use agentnet_core::descriptor::SideEffects;
use agentnet_core::wire::WireError;
use agentnet_core::{AgentId, Hash, LinkId, Overflow, RequestId};
use agentnet_gossip::{CommandError, Requirements};
use agentnet_mech::mechanism::{Micros, Tier};
use agentnet_mech::session::{SessionError, SessionId};
use agentnet_trust::canary::CanaryError;
use agentnet_trust::fraud::{FraudError, FraudKind};
use agentnet_trust::registry::IdentityError;
use agentnet_trust::report::ReportError;
use bytes::Bytes;
use thiserror::Error;

use super::wire::Direction;

/// A canary: an input whose right answer the requester knows. Sent exactly like real work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryCase {
    /// The input.
    pub input: Bytes,
    /// The answer that passes (compared exactly, byte for byte).
    pub expected: Bytes,
    /// Also pass `expected` followed by one `\n` (for providers that are command-line
    /// programs, whose output usually ends with a newline).
    pub trailing_newline: bool,
}

impl CanaryCase {
    /// A canary whose answer must be exactly `expected`.
    pub fn new(input: impl Into<Bytes>, expected: impl Into<Bytes>) -> Self {
        CanaryCase {
            input: input.into(),
            expected: expected.into(),
            trailing_newline: false,
        }
    }

    /// The same canary, also passing `expected` with one trailing newline.
    #[must_use]
    pub fn ignoring_trailing_newline(mut self) -> Self {
        self.trailing_newline = true;
        self
    }
}

/// Which tier a request is checked at.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TierChoice {
    /// The [`RiskPolicy`](super::RiskPolicy) decides from value at risk and side effects.
    #[default]
    Auto,
    /// The caller decides.
    Fixed(Tier),
}

/// One task to hand to the network: `request` runs the whole funnel for it.
#[derive(Clone, Debug)]
pub struct TaskRequest {
    /// What is wanted, in words (matched against descriptors' intents).
    pub intent: String,
    /// Hard constraints on candidates (topic, price, privacy, side effects, ...).
    pub requirements: Requirements,
    /// The input bytes.
    pub input: Bytes,
    /// What the requester stands to lose if the result is wrong (µ), for the risk policy.
    pub value_at_risk: Micros,
    /// The strongest side effect the task may have, for the risk policy.
    pub side_effects: SideEffects,
    /// Tier override.
    pub tier: TierChoice,
    /// Canaries for tier 2 (each used at most once per provider).
    pub canaries: Vec<CanaryCase>,
}

impl TaskRequest {
    /// A request for `intent` on `input` with no constraints, nothing at risk and the tier
    /// chosen by the risk policy.
    pub fn new(intent: impl Into<String>, input: impl Into<Bytes>) -> Self {
        TaskRequest {
            intent: intent.into(),
            requirements: Requirements::default(),
            input: input.into(),
            value_at_risk: 0,
            side_effects: SideEffects::None,
            tier: TierChoice::Auto,
            canaries: Vec::new(),
        }
    }

    /// The same request at a fixed tier.
    #[must_use]
    pub fn tier(mut self, tier: Tier) -> Self {
        self.tier = TierChoice::Fixed(tier);
        self
    }

    /// The same request with canaries.
    #[must_use]
    pub fn canaries(mut self, canaries: Vec<CanaryCase>) -> Self {
        self.canaries = canaries;
        self
    }

    /// The same request with a value at risk (µ).
    #[must_use]
    pub fn value_at_risk(mut self, micros: Micros) -> Self {
        self.value_at_risk = micros;
        self
    }
}

/// What a provider agrees to when serving a capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServePolicy {
    /// Least total pay (flat + bonus, µ) accepted. Default 0.
    pub min_pay: Micros,
    /// Largest deposit (µ) this provider posts. Default 100 units.
    pub max_deposit: Micros,
    /// Whether offers from requesters this agent holds a fraud proof against are declined.
    /// Default `true`.
    pub refuse_convicted: bool,
    /// Answer intents that match this service with bids on these terms
    /// ([`Agent::request_by_intent`](super::Agent::request_by_intent) is the requester's side).
    /// Default `None`: no bids. Keep the floor at or above `min_pay`, or an award below
    /// `min_pay` is declined.
    pub bid: Option<agentnet_mech::auction::BidPolicy>,
    /// Announce the service's descriptor. Default `true`; `false` serves it only to
    /// requesters whose intents it bids on.
    pub advertise: bool,
}

impl Default for ServePolicy {
    fn default() -> Self {
        ServePolicy {
            min_pay: 0,
            max_deposit: 100 * agentnet_mech::mechanism::UNIT,
            refuse_convicted: true,
            bid: None,
            advertise: true,
        }
    }
}

/// One tool call the provider's application made, to be signed into a receipt chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ToolCall {
    /// Tool name.
    pub tool: String,
    /// [`payload_hash`](agentnet_trust::evidence::payload_hash) of the tool's input.
    pub input_hash: Hash,
    /// [`payload_hash`](agentnet_trust::evidence::payload_hash) of its output.
    pub output_hash: Hash,
    /// Start, Unix ms.
    pub started_at: agentnet_core::WallTime,
    /// End, Unix ms.
    pub ended_at: agentnet_core::WallTime,
}

/// The provider application's answer to an [`Effect::Execute`](agentnet_core::Effect).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Executed {
    /// The result, with the tool calls that produced it (may be empty: the agent then signs
    /// one receipt for the whole execution, from the input's hash to the result's).
    Done {
        /// The result bytes.
        result: Bytes,
        /// Tool calls, in order; the last output must be the result.
        tools: Vec<ToolCall>,
    },
    /// The work failed; nothing is delivered (the requester's deadline settles the session).
    Failed(String),
}

/// How one provider fared in a request.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Verdict {
    /// Delivered, checked and accepted.
    Accepted,
    /// Skipped at tier 1: its score is below the threshold, or this agent holds failures
    /// against it.
    BelowReputation {
        /// Its score.
        score: f64,
    },
    /// Convicted by a fraud proof this agent holds.
    Convicted,
    /// No verified link to it, or its identity chain (encryption key) is unknown.
    Unreachable,
    /// It declined the offer.
    Declined,
    /// A canary came back wrong or late.
    CanaryFailed,
    /// Its evidence package failed verification.
    EvidenceRejected,
    /// Its evidence proved fraud; it was slashed.
    Fraud,
    /// Delivered, but rejected (quality below threshold).
    Rejected,
    /// A stage passed its deadline.
    TimedOut(&'static str),
    /// The session could not start.
    Failed(String),
}

impl Verdict {
    /// A short name (for logs and JSON).
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::BelowReputation { .. } => "below_reputation",
            Verdict::Convicted => "convicted",
            Verdict::Unreachable => "unreachable",
            Verdict::Declined => "declined",
            Verdict::CanaryFailed => "canary_failed",
            Verdict::EvidenceRejected => "evidence_rejected",
            Verdict::Fraud => "fraud",
            Verdict::Rejected => "rejected",
            Verdict::TimedOut(_) => "timed_out",
            Verdict::Failed(_) => "failed",
        }
    }
}

/// One provider tried.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// The provider.
    pub provider: AgentId,
    /// The topic of the capability it offered.
    pub topic: agentnet_core::descriptor::Topic,
    /// The tier it was checked at.
    pub tier: Tier,
    /// How it went.
    pub verdict: Verdict,
}

/// A ranked candidate, as the funnel saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct Ranked {
    /// The provider.
    pub provider: AgentId,
    /// Its capability.
    pub capability: String,
    /// Similarity of its intent to the request's.
    pub similarity: f32,
    /// Its reputation in the topic as this agent sees it.
    pub reputation: f64,
    /// Its Pareto layer (0 = the front; see `agentnet_trust::select`).
    pub layer: usize,
    /// Moved to the front to explore (never observed before).
    pub explored: bool,
    /// Placed last: it failed since it last refreshed its descriptor.
    pub demoted: bool,
}

/// How a request ended.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskOutcome {
    /// The request.
    pub request: RequestId,
    /// `Ok(result bytes)` or why not.
    pub result: Result<Bytes, String>,
    /// The provider whose result was accepted.
    pub provider: Option<AgentId>,
    /// The tier decided for the request.
    pub tier: Tier,
    /// Every provider tried, in order.
    pub attempts: Vec<Attempt>,
    /// Paid to the accepted provider (µ).
    pub payment: Micros,
}

impl TaskOutcome {
    /// Fallbacks taken: attempts after the first.
    pub fn fallback_count(&self) -> usize {
        self.attempts.len().saturating_sub(1)
    }
}

/// A stage of a request, reported as it happens.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Stage {
    /// Candidates after filtering, best first.
    Ranked(Vec<Ranked>),
    /// The tier chosen and why.
    TierChosen {
        /// The tier.
        tier: Tier,
        /// Why.
        reason: String,
    },
    /// An offer went to `provider` under these rules (clause texts).
    Offered {
        /// The provider.
        provider: AgentId,
        /// The tier it is checked at.
        tier: Tier,
        /// The mechanism's clauses, in words.
        clauses: Vec<String>,
        /// Canaries interleaved.
        canaries: usize,
    },
    /// The provider committed (posting the deposit) and the input was sent.
    Delegated {
        /// The provider.
        provider: AgentId,
        /// Its deposit (µ).
        deposit: Micros,
    },
    /// The result arrived and matched the signed hash; for tier 3, its evidence verified.
    Delivered {
        /// The provider.
        provider: AgentId,
        /// Receipts in the verified evidence package (0 without one).
        receipts: usize,
    },
    /// A provider's attempt ended.
    Verdict(Attempt),
    /// The request was put to the network as an intent; bids close at `bid_by`.
    Announced {
        /// The intent's id (the hash bids name).
        intent: agentnet_core::intent::IntentId,
        /// When bids close (this agent's wall clock).
        bid_by: agentnet_core::WallTime,
    },
    /// A bid was taken into the auction.
    Bid {
        /// The bidder.
        provider: AgentId,
        /// Its price, µ.
        price: Micros,
        /// The delivery time it promises, ms.
        latency_ms: u32,
        /// 0 for a first bid, `r` for the answer to counter-offer round `r`.
        round: u8,
    },
    /// A counter-offer went to a bidder.
    Countered {
        /// The bidder.
        provider: AgentId,
        /// The price offered, µ.
        price: Micros,
        /// The round, from 1.
        round: u8,
    },
    /// The auction awarded the task: offers go to `provider` at `pay`, then to the
    /// `fallbacks` other bids in score order.
    Awarded {
        /// The winning bidder.
        provider: AgentId,
        /// What it is paid for an accepted delivery in time, µ.
        pay: Micros,
        /// Further bids to fall back on.
        fallbacks: usize,
    },
    /// Settled: paid `payment`, refunded `refund`, slashed `slashed` (µ).
    Settled {
        /// The provider.
        provider: AgentId,
        /// Paid.
        payment: Micros,
        /// Deposit returned.
        refund: Micros,
        /// Deposit forfeited.
        slashed: Micros,
    },
}

/// Something the application should know. Effects (work to do) come from
/// [`Agent::poll_effect`](super::Agent::poll_effect), never from here.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AgentEvent {
    /// A link's agent proved who it is.
    PeerUp {
        /// The link.
        link: LinkId,
        /// The agent (its signing key).
        agent: AgentId,
    },
    /// A link went down.
    PeerDown {
        /// The link.
        link: LinkId,
        /// The agent, if it had proved itself.
        agent: Option<AgentId>,
    },
    /// A gossip event (descriptors arriving, own entries published, ...).
    Gossip(agentnet_gossip::Event),
    /// A request moved on.
    Progress {
        /// The request.
        request: RequestId,
        /// The stage.
        stage: Stage,
    },
    /// A request ended.
    Completed(Box<TaskOutcome>),
    /// A workflow ended (every step completed or skipped); see
    /// [`Agent::workflow`](super::Agent::workflow).
    WorkflowCompleted(Box<super::WorkflowOutcome>),
    /// As provider: an offer was accepted or declined.
    Offer {
        /// The session.
        session: SessionId,
        /// The requester.
        requester: AgentId,
        /// The capability asked for, if served here.
        capability: Option<String>,
        /// Accepted or not, and why not.
        accepted: Result<(), String>,
    },
    /// As provider: a session ended with this statement checked (`payment`, `slashed`, µ).
    Served {
        /// The session.
        session: SessionId,
        /// The requester.
        requester: AgentId,
        /// Paid.
        payment: Micros,
        /// Deposit forfeited.
        slashed: Micros,
        /// Whether the statement was disputed.
        disputed: bool,
    },
    /// A verified fraud proof convicted `offender`: its ledger record is gone, it is slashed,
    /// open sessions with it were settled as fraud, and the proof was passed on.
    Convicted {
        /// The offending key.
        offender: AgentId,
        /// Its canonical (identity chain) id.
        canonical: AgentId,
        /// What it did.
        kind: FraudKind,
        /// The proof's id.
        proof: Hash,
        /// Whether this agent found it itself (`None`) or received it on a link.
        from: Option<LinkId>,
    },
    /// A leading agent's mechanism loop adopted new rules: what it offers from now on.
    RulesRevised {
        /// The new mechanism's clauses, in words.
        clauses: Vec<String>,
    },
    /// As provider: an intent arrived that this agent follows (see
    /// [`ServePolicy::bid`]).
    IntentReceived {
        /// The intent's id.
        intent: agentnet_core::intent::IntentId,
        /// Who asks.
        requester: AgentId,
        /// What it asks for.
        summary: String,
        /// The bid made (capability, price µ, promised latency ms), if any.
        bid: Option<(String, Micros, u32)>,
        /// The requester's endpoints when no link to it is up (dial one so the bid can go
        /// out before bids close); empty when linked.
        endpoints: Vec<String>,
    },
    /// A queue overflowed: `dropped` items since its last report, oldest first. The agent's
    /// own queues are `"events"`, `"effects"`, `"transmits"` and `"persisting"` (persist batches
    /// the host never completed); the engines' are named after
    /// the engine (`"gossip.transmits"`, `"gossip.events"`, `"sessions.events"`,
    /// `"sessions.transmits"`, `"sessions.parked"`, `"registry.events"`, `"canary.verdicts"`,
    /// `"leader.events"`).
    Overflow(Overflow),
}

/// Why an input, command or completion was refused. Nothing changed when one is returned.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A frame was malformed.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A signature or envelope did not verify.
    #[error("bad signed object: {0}")]
    Signed(#[from] agentnet_core::signed::SignedError),
    /// The gossip engine refused a frame or command.
    #[error("gossip: {0}")]
    Gossip(String),
    /// The identity registry refused a frame.
    #[error("identity: {0}")]
    Identity(#[from] IdentityError),
    /// The session engine refused a frame or command.
    #[error("session: {0}")]
    Session(#[from] SessionError),
    /// A fraud proof did not verify.
    #[error("fraud proof: {0}")]
    Fraud(#[from] FraudError),
    /// A trust report was refused.
    #[error("trust report: {0}")]
    Report(#[from] ReportError),
    /// The canary book refused an answer.
    #[error("canary: {0}")]
    Canary(#[from] CanaryError),
    /// A frame of a kind this agent does not handle.
    #[error("unknown message kind {0:#06x}")]
    UnknownKind(u16),
    /// A handshake proof that answers no challenge sent on that link.
    #[error("handshake proof answers no challenge on {0}")]
    BadHandshake(LinkId),
    /// A payload frame for a session that has no transfer in that direction here.
    #[error("no {direction:?} transfer for session {session}")]
    UnknownTransfer {
        /// The session.
        session: SessionId,
        /// The direction.
        direction: Direction,
    },
    /// A chunk index outside the transfer, or a chunk count that changed.
    #[error("chunk {index} of {count} does not fit the transfer ({expected} chunks)")]
    ChunkOutOfRange {
        /// Index given.
        index: u32,
        /// Count given.
        count: u32,
        /// Count expected.
        expected: u32,
    },
    /// A chunk that was already received.
    #[error("duplicate chunk {0}")]
    DuplicateChunk(u32),
    /// A payload larger than the configured bound.
    #[error("payload of {size} bytes exceeds {max}")]
    PayloadTooLarge {
        /// Size.
        size: usize,
        /// Bound.
        max: usize,
    },
    /// A reassembled payload that did not open or did not hash to what the session signed.
    #[error("payload for session {session} does not match: {reason}")]
    PayloadMismatch {
        /// The session.
        session: SessionId,
        /// Why.
        reason: &'static str,
    },
    /// A completion for an effect this agent did not issue or already closed.
    #[error("unknown or closed effect {0}")]
    UnknownEffect(RequestId),
    /// The request table is full.
    #[error("{0} requests are running")]
    TooManyRequests(usize),
    /// The request cannot start.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A result the provider's application gave cannot be delivered honestly.
    #[error("cannot deliver: {0}")]
    Undeliverable(String),
    /// The topic table is full or the topic is invalid.
    #[error("topic: {0}")]
    Topic(String),
    /// A bid or counter-offer was refused.
    #[error("auction: {0}")]
    Auction(String),
}

impl From<CommandError> for AgentError {
    fn from(e: CommandError) -> Self {
        AgentError::Gossip(e.to_string())
    }
}
