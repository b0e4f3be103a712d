//! The protocol adaptation layer, sans-IO: one [`Agent`] that owns every plane's engine and
//! turns task-level commands (`announce`, `discover`, `serve`, `request`) into network
//! operations (DESIGN §8).
//!
//! # What it does
//!
//! An `Agent` is one [`Engine`]. It owns a [`GossipEngine`] (discovery), an
//! [`IdentityRegistry`] (BAID identity chains), a [`Sessions`] engine (negotiate → execute →
//! settle), a [`CanaryBook`], the trust plane ([`Ledger`], [`ReportBuilder`], [`ReportBook`],
//! [`Reputation`] recomputed every [`AgentConfig::trust_interval`]) and the payload plane.
//! Frames are routed by plane ([`MessageKind::plane`]); every cross-plane hand-off happens
//! here and nowhere else:
//!
//! - a gossip equivocation, an identity-chain fork or an evidence package that contradicts its
//!   own receipts becomes a [`FraudProof`]: the offender's ledger record is dropped, it is
//!   slashed in [`Reputation`], open sessions with it are settled as fraud, and the proof is
//!   relayed once to every verified peer, so every agent convicts, not only the victim;
//! - session outcomes go to the ledger (canary verdicts, checked deliveries, verified
//!   evidence, evidence rejections), the ledger becomes signed sparse trust reports sent to
//!   peers, and peers' reports become rows of the reputation graph;
//! - identity chain entries travel on every new link, and every key is mapped to its
//!   canonical (genesis) id before anything is recorded against it.
//!
//! [`Agent::request`] runs the whole funnel for one task:
//!
//! ```text
//! discover (gossip index) → filter (signed, fresh, hard constraints, not convicted, reachable)
//!   → select (agentnet_trust::select: Pareto layers over relevance, reputation, observed and
//!     claimed QoS, evidence offered, attestation; exploration; demotion after a failure)
//!   → tier (risk policy or caller) → per candidate, best first:
//!      tier 1 gate: reputation ≥ threshold and no net failures in the ledger
//!      offer (signed mechanism: payment, threshold, deposit, slashing, tier, deadlines)
//!      tier 2: canaries interleaved with the real task, same frames, no marker
//!      commit → input sealed to the provider, chunked → delegate
//!      deliver → result reassembled, opened, checked against the signed hash
//!      tier 3: the evidence package verified (contradiction ⇒ fraud proof ⇒ slashing)
//!      grade → settle → ledger → trust reports → reputation
//!   a decline, a failed check or a timeout falls back to the next candidate, up to
//!   FunnelConfig::max_attempts
//! ```
//!
//! [`Agent::serve`] announces a capability and accepts offers for it by a [`ServePolicy`];
//! the work itself is an [`Effect::Execute`] for the host's application, answered with
//! [`Agent::handle_executed`].
//!
//! # What it does not do
//!
//! No I/O, no clock, no threads, no OS randomness: this module compiles without the
//! `runtime` feature and without tokio. It does not dial peers (a candidate it has no
//! verified link to is skipped; the `Node` dials candidates' endpoints before a request
//! starts), move money (settlement statements are signed for the host's payment rail) or
//! judge result quality beyond the checks above: a result that matches the provider's signed
//! hash (and passes the tier's checks) is accepted with full score. It does not rotate its
//! own key (the registry follows rotations of peers' chains, and reputation stays with the
//! canonical id).
//!
//! # Persistence and restarts
//!
//! Everything that must survive a restart leaves as one [`Effect::Persist`] per turn, in the
//! [`tables`] below: own log heads, followed topics, accepted headers and descriptors (with
//! their expiry), identity chain entries (this agent's own included) and its own principal's
//! attestations, ledger rows, fraud proofs, open sessions (their signed messages and
//! deadlines) with what this agent serves in them, and the trust report builder's sequence
//! numbers. The host writes each batch before it sends the frames of the same turn, so no
//! peer ever sees an acknowledgement of state that is not yet durable. At start-up the host
//! hands every stored record to [`Agent::restore`].
//!
//! A restarted provider resumes its open sessions: when its requester's link is verified
//! again both sides re-send what the other may have missed, the provider asks for the input
//! again and finishes the work, and the session settles with the deposit intact. A restarted
//! requester keeps its sessions (they settle by their deadlines) but not the funnel state of
//! requests in flight: the application re-issues them. Peers' trust report rows are not
//! stored; they come back with the peers' next full reports.
//!
//! # Leading agents
//!
//! With [`AgentConfig::leader`] set, the agent owns a Stackelberg
//! [`MechanismLoop`](agentnet_mech::stackelberg::MechanismLoop): every
//! [`LeaderConfig::outcomes_per_scenario`] settled real tasks become one observed scenario
//! (the shares of providers that behaved honestly, shirked — rejected, timed out, failed a
//! canary — or cheated provably), the loop iterates from the agent's own timer (its model
//! calls are [`Effect::Llm`]s), and what the agent offers is the loop's incumbent, with the
//! verification clause the risk policy picks per request.
//!
//! # Driving it
//!
//! The same contract as every engine ([`agentnet_core::engine`]), plus effects:
//!
//! ```text
//! loop {
//!     input = frame | link up/down | timer | command | effect completion
//!     agent.handle_*(now, ...) / agent.request(now, task) / agent.handle_executed(now, id, r)
//!     drain: poll_transmit and poll_event until both are empty
//!     while let Some(e) = agent.poll_effect() {
//!         Persist  → write the records durably, then agent.handle_persisted(now, id)
//!         Execute  → run the task (the application), then agent.handle_executed(now, id, r)
//!         Llm      → ask the model, then agent.handle_llm_response / _failure
//!     }
//!     arm one timer at agent.poll_timeout()
//! }
//! ```
//!
//! [`sim::SimHost`] is that loop for the simulator: it wraps an `Agent` into an [`Engine`]
//! that completes effects itself, so `Sim<SimHost>` runs whole agents end to end.
//!
//! Two agents in the simulator, one serving and one requesting, in full:
//!
//! ```
//! use std::time::Duration;
//!
//! use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
//! use agentnet_core::sim::{Sim, SimConfig};
//! use agentnet_core::Keypair;
//! use agentnet_transport::agent::sim::SimHost;
//! use agentnet_transport::agent::{Agent, AgentConfig, AgentEvent, Executed, ServePolicy, TaskRequest};
//! use bytes::Bytes;
//!
//! let mut sim = Sim::new(SimConfig::seeded(7));
//! let now = sim.now();
//! let agent = |n: u8| Agent::new(Keypair::from_seed([n; 32]), AgentConfig::seeded([n; 32]), now);
//! // The provider's application: upper-cases its input.
//! let upper = Box::new(|_: &_, input: &Bytes| Executed::Done {
//!     result: Bytes::from(input.to_ascii_uppercase()),
//!     tools: Vec::new(),
//! });
//! let provider = sim.add_node(SimHost::new(agent(1)?, Some(upper)));
//! let requester = sim.add_node(SimHost::new(agent(2)?, None));
//! let offer = CapabilityDescriptor::builder(
//!     Keypair::from_seed([1; 32]).id(), "text.shout", "text/style", "Rewrite text in capitals",
//! )
//! .ttl(Duration::from_secs(600))
//! .build(now)?;
//! sim.command(provider, |h, now| h.agent_mut().serve(now, offer, ServePolicy::default()))
//!     .unwrap()?;
//! let topic = Topic::new("text/style")?;
//! sim.command(requester, |h, now| {
//!     h.agent_mut().set_interest(agentnet_gossip::InterestProfile::everything());
//!     h.agent_mut().subscribe(now, topic)
//! })
//! .unwrap()?;
//! sim.connect(provider, requester);
//! sim.run_for(Duration::from_secs(2)); // handshake, identity chains, the descriptor arrives
//!
//! let task = TaskRequest::new("make my text loud", Bytes::from_static(b"hello"));
//! let id = sim.command(requester, |h, now| h.agent_mut().request(now, task)).unwrap()?;
//! sim.run_for(Duration::from_secs(5));
//! let outcome = sim.drain_events().into_iter().find_map(|(_, _, e)| match e {
//!     AgentEvent::Completed(o) if o.request == id => Some(o),
//!     _ => None,
//! });
//! assert_eq!(outcome.unwrap().result.as_deref(), Ok(&b"HELLO"[..]));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Links and identities
//!
//! `LinkId` is routing only. When a link comes up each side sends a fresh random challenge
//! ([`wire::Hello`]); the answer is the challenge signed by the agent's key
//! ([`wire::HelloProof`]), followed by its identity chain entries. Only then is the link a
//! route to that agent. A replayed proof answers no challenge and is refused. Every
//! statement is still verified by its own signature; a wrong route can delay a session, never
//! forge one, and payloads are sealed to the recipient's key from its identity chain.
//!
//! # Bounds (free keys are free)
//!
//! Routes are keyed by links the host opened (bounded by the host); requests by
//! [`FunnelConfig::max_requests`]; sessions, registry chains, ledger peers and report rows by
//! their engines' bounds; payload transfers exist only for sessions this agent accepted or
//! offered; proofs remembered for relaying by [`AgentConfig::max_proofs`] (oldest forgotten
//! first, re-verification is the cost of a re-sent old proof); reputation topics are only the
//! ones this agent itself serves or requests in, so peers cannot grow the topic table with
//! reports about topics of their choosing; queues by [`AgentConfig::max_queued`].

mod config;
mod events;
mod payload;
pub mod sim;
pub mod wire;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::semantic::{HashedNgramEncoder, SemanticEncoder};
use agentnet_core::wire::{Limits, MessageKind, Plane, decode_frame_as, encode_frame, peek_kind};
use agentnet_core::{
    AgentId, BoundedQueue, Effect, Engine, Hash, Instant, Keypair, LinkId, Now, Overflow, Record,
    RequestId, Signed, Transmit,
};
use agentnet_gossip::{Candidate, GossipEngine, Requirements};
use agentnet_mech::mechanism::{Mechanism, Tier};
use agentnet_mech::session::{
    Event as SessionEvent, Grade, Outcome, Role, SessionId, Sessions, Stage as SessionStage,
    TaskSpec,
};
use agentnet_trust::baid::{BaidInputs, BindingEntry};
use agentnet_trust::canary::{CanaryBook, CanaryOutcome, Expected, answer_hash};
use agentnet_trust::evidence::{ReceiptChain, TaskId, payload_hash};
use agentnet_trust::fraud::FraudProof;
use agentnet_trust::ledger::{Ledger, LedgerRecord};
use agentnet_trust::mg::{Reputation, ReputationError};
use agentnet_trust::registry::{IdentityEvent, IdentityRegistry};
use agentnet_trust::report::{ReportBook, ReportBuilder, TrustReport};
use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

pub use config::{
    AgentConfig, ConfigError, FunnelConfig, IdentityConfig, LeaderConfig, PayloadConfig,
    RiskPolicy, Terms,
};
pub use events::{
    AgentError, AgentEvent, Attempt, CanaryCase, Executed, Ranked, ServePolicy, Stage, TaskOutcome,
    TaskRequest, TierChoice, ToolCall, Verdict,
};

use payload::{Incoming, Outgoing, seal_chunks};
use wire::{Chunk, Direction, Hello, HelloProof, Resend, TaskInput};

/// Traffic of one plane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlaneTraffic {
    /// Frames sent.
    pub sent_frames: u64,
    /// Bytes sent.
    pub sent_bytes: u64,
    /// Frames received.
    pub received_frames: u64,
    /// Bytes received.
    pub received_bytes: u64,
}

/// Traffic per plane: gossip, trust, execution (sessions), payload (handshake and payloads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// `0x01xx`.
    pub gossip: PlaneTraffic,
    /// `0x02xx`.
    pub trust: PlaneTraffic,
    /// `0x03xx`.
    pub execution: PlaneTraffic,
    /// `0x04xx`.
    pub payload: PlaneTraffic,
}

impl Traffic {
    fn plane(&mut self, kind: Option<MessageKind>) -> Option<&mut PlaneTraffic> {
        match kind?.plane() {
            Plane::Gossip => Some(&mut self.gossip),
            Plane::Trust => Some(&mut self.trust),
            Plane::Execution => Some(&mut self.execution),
            Plane::Payload => Some(&mut self.payload),
            _ => None,
        }
    }
}

#[derive(Debug)]
struct Link {
    nonce: [u8; 16],
    peer: Option<AgentId>,
    hellos_answered: u32,
}

/// Most attestations of its own principal an agent holds and presents.
const MAX_OWN_ATTESTATIONS: usize = 8;

/// Most handshake challenges answered per link (each costs a signature).
const MAX_HELLOS_PER_LINK: u32 = 4;

#[derive(Debug)]
struct Service {
    topic: Topic,
    policy: ServePolicy,
}

/// A provider-side session.
#[derive(Debug)]
struct Job {
    requester: AgentId,
    capability: String,
    topic: Topic,
    task: TaskId,
    tier: Tier,
    input_hash: Option<Hash>,
    deliver_by: Instant,
    delegated_at: agentnet_core::WallTime,
    executing: bool,
}

#[derive(Debug)]
struct CanarySlot {
    task: Hash,
    outcome: Option<CanaryOutcome>,
}

/// One provider being tried.
#[derive(Debug)]
struct Try {
    provider: AgentId,
    topic: Topic,
    capability: String,
    /// When the real task was offered, and how long until its result was in.
    offered_at: Instant,
    took_ms: Option<u64>,
    /// The size class every input of this try is padded to (the largest of them).
    pad_to: usize,
    tier: Tier,
    real: SessionId,
    /// Inputs to send on commitment, per session (the real one and the canaries).
    inputs: BTreeMap<SessionId, Bytes>,
    canaries: BTreeMap<SessionId, CanarySlot>,
    result: Option<Bytes>,
    receipts: usize,
    evidence_rejected: bool,
    graded: bool,
}

#[derive(Debug)]
struct Request {
    task: TaskRequest,
    tier: Tier,
    queue: VecDeque<Candidate>,
    attempts: Vec<Attempt>,
    tries: usize,
    current: Option<Try>,
}

/// How a settled real task went, as the leader's loop sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Observed {
    /// Accepted: the provider behaved as an honest follower.
    Honest,
    /// Rejected, timed out or failed a canary: shirking.
    Lazy,
    /// Proven fraud.
    Adversarial,
}

/// A leading agent's mechanism loop and what feeds it.
struct Leader {
    mloop: agentnet_mech::stackelberg::MechanismLoop,
    observed: Vec<Observed>,
    per_scenario: usize,
    scenarios: u32,
    /// Effect ids of outstanding model calls → the loop's request ids.
    llm: BTreeMap<RequestId, u64>,
}

/// A bounded first-in-first-out set.
#[derive(Debug)]
struct FifoSet<T: Ord + Clone> {
    set: BTreeSet<T>,
    order: VecDeque<T>,
    cap: usize,
}

impl<T: Ord + Clone> FifoSet<T> {
    fn new(cap: usize) -> Self {
        FifoSet {
            set: BTreeSet::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// Insert; false if present. The oldest entry goes when full.
    fn insert(&mut self, v: T) -> bool {
        if !self.set.insert(v.clone()) {
            return false;
        }
        self.order.push_back(v);
        if self.order.len() > self.cap
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }

    fn contains(&self, v: &T) -> bool {
        self.set.contains(v)
    }
}

/// Fraud proofs this agent keeps and persists (against offenders with standing here), oldest
/// first, at most `cap`. Proofs against offenders with standing are dear to mint (an identity
/// that dealt with this agent) but not free: without a bound, identities that once linked here
/// could self-convict to grow the store. When full the oldest proof goes (its record is
/// deleted, and its offender's ledger conviction with it unless a kept proof still names it);
/// the offender stays slashed in the reputation engine until a restart.
#[derive(Debug)]
struct StoredProofs {
    order: VecDeque<(Hash, AgentId)>,
    cap: usize,
}

impl StoredProofs {
    fn new(cap: usize) -> Self {
        StoredProofs {
            order: VecDeque::new(),
            cap,
        }
    }

    /// Keep proof `id` against `offender`; returns the proof given up to make room, and
    /// whether a kept proof still names its offender.
    fn push(&mut self, id: Hash, offender: AgentId) -> Option<(Hash, AgentId, bool)> {
        self.order.push_back((id, offender));
        if self.order.len() <= self.cap {
            return None;
        }
        let (old, who) = self.order.pop_front()?;
        let still = self.order.iter().any(|(_, o)| *o == who);
        Some((old, who, still))
    }
}

/// The sans-IO agent. See the [module documentation](self).
pub struct Agent {
    me: AgentId,
    keys: Keypair,
    config: AgentConfig,
    limits: Limits,
    rng: ChaCha8Rng,
    encoder: HashedNgramEncoder,
    gossip: GossipEngine,
    registry: IdentityRegistry,
    sessions: Sessions,
    canaries: CanaryBook,
    ledger: Ledger,
    reports: ReportBuilder,
    book: ReportBook,
    reputation: Reputation,
    chain: Vec<Signed<BindingEntry>>,
    links: BTreeMap<LinkId, Link>,
    routes: BTreeMap<AgentId, LinkId>,
    served: BTreeMap<String, Service>,
    requests: BTreeMap<RequestId, Request>,
    by_session: BTreeMap<SessionId, RequestId>,
    jobs: BTreeMap<SessionId, Job>,
    executing: BTreeMap<RequestId, SessionId>,
    /// Persist batches in flight: the own log heads each one acknowledges.
    persisting: BTreeMap<RequestId, Vec<(Topic, u64)>>,
    /// Records of the current turn, made durable as one batch.
    batch: Vec<Record>,
    /// Own log heads the current batch acknowledges.
    batch_acks: Vec<(Topic, u64)>,
    /// Ledger rows changed this turn.
    ledger_dirty: BTreeSet<(Topic, AgentId)>,
    /// Selection observations changed (or evicted) this turn.
    observed_dirty: BTreeSet<(AgentId, String)>,
    outgoing: BTreeMap<(SessionId, Direction), Outgoing>,
    incoming: BTreeMap<(SessionId, Direction), Incoming>,
    proofs: FifoSet<Hash>,
    stored_proofs: StoredProofs,
    /// Offenders convicted by a relayed proof while they had no standing here (see
    /// `on_proof`): remembered in memory, bounded, oldest forgotten first.
    convicted_strangers: FifoSet<AgentId>,
    canary_uses: FifoSet<(Hash, AgentId)>,
    transmits: BoundedQueue<Transmit>,
    events: BoundedQueue<AgentEvent>,
    effects: BoundedQueue<Effect>,
    next_id: u64,
    next_trust: Instant,
    timeout: Option<Instant>,
    traffic: Traffic,
    leader: Option<Leader>,
    own_attestations: Vec<Signed<agentnet_trust::baid::IssuerAttestation>>,
    /// What this agent saw each provider deliver, per capability (selection's input).
    observations: agentnet_trust::select::Observations,
    /// How many canaries the next tier-2 check needs (learned from this agent's own checks).
    depth: agentnet_trust::depth::CanaryDepth,
}

impl core::fmt::Debug for Agent {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Agent")
            .field("me", &self.me)
            .field("links", &self.links.len())
            .field("routes", &self.routes.len())
            .field("requests", &self.requests.len())
            .field("jobs", &self.jobs.len())
            .finish_non_exhaustive()
    }
}

/// Domain separation of the agent's derived seeds.
fn derive_seed(seed: &[u8; 32], what: &str) -> [u8; 32] {
    Hash::digest(
        agentnet_core::hash::domain::AGENT_SEED,
        &[seed.as_slice(), what.as_bytes()].concat(),
    )
    .0
}

impl Agent {
    /// An agent signing with `keys`, started at `now`. Creates the genesis of its identity
    /// chain (deterministic in the keys and the seed) and registers it.
    pub fn new(keys: Keypair, config: AgentConfig, now: Now) -> Result<Self, ConfigError> {
        Self::with_encoder(keys, config, now, Box::new(HashedNgramEncoder::default()))
    }

    /// As [`new`](Self::new), ranking intents with `encoder` (plug a real embedding model
    /// here; the default is the model-free [`HashedNgramEncoder`]).
    pub fn with_encoder(
        keys: Keypair,
        config: AgentConfig,
        now: Now,
        encoder: Box<dyn SemanticEncoder + Send>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let me = keys.id();
        let mut gossip_cfg = config.gossip.clone();
        gossip_cfg.seed = derive_seed(&config.seed, "gossip");
        let gossip = GossipEngine::new(
            gossip_cfg,
            Box::new(Keypair::from_seed(*keys.seed())),
            encoder,
            now,
        )
        .map_err(ConfigError::engine("gossip"))?;
        let registry = IdentityRegistry::new(config.registry.clone())
            .map_err(ConfigError::engine("registry"))?;
        let mut reputation = Reputation::new(config.reputation.clone()).map_err(|e| match e {
            ReputationError::Config(error) => ConfigError::Engine {
                engine: "reputation",
                error,
            },
            e => ConfigError::Reputation(e.to_string()),
        })?;
        reputation
            .set_stake(me, config.default_stake)
            .map_err(|e| ConfigError::Reputation(e.to_string()))?;
        let sessions = Sessions::new(
            config.sessions.clone(),
            Box::new(Keypair::from_seed(*keys.seed())),
        )
        .map_err(ConfigError::engine("sessions"))?;
        let leader = match &config.leader {
            None => None,
            Some(l) => {
                let t = &config.terms;
                let initial = Mechanism::new(
                    me,
                    "agentnet-terms",
                    t.flat.saturating_add(t.bonus),
                    t.clauses(Tier::Reputation),
                );
                let designer: Box<dyn agentnet_mech::design::Designer> = if l.use_llm {
                    Box::new(agentnet_mech::llm::LlmDesigner::new())
                } else {
                    Box::new(agentnet_mech::design::BuiltInDesigner::new())
                };
                let mloop = agentnet_mech::stackelberg::MechanismLoop::new(
                    l.loop_config.clone(),
                    initial,
                    designer,
                )
                .map_err(|e| match e {
                    agentnet_mech::stackelberg::LoopError::Config(error) => ConfigError::Engine {
                        engine: "leader",
                        error,
                    },
                    other => ConfigError::Terms(other.to_string()),
                })?;
                Some(Leader {
                    mloop,
                    observed: Vec::new(),
                    per_scenario: l.outcomes_per_scenario,
                    scenarios: 0,
                    llm: BTreeMap::new(),
                })
            }
        };
        let observations = agentnet_trust::select::Observations::new(config.selection)
            .map_err(ConfigError::engine("selection"))?;
        let depth = agentnet_trust::depth::CanaryDepth::new(config.funnel.canaries)
            .map_err(ConfigError::engine("funnel"))?;
        let mut agent = Agent {
            observations,
            depth,
            own_attestations: Vec::new(),
            leader,
            me,
            limits: config.sessions.limits,
            rng: ChaCha8Rng::from_seed(derive_seed(&config.seed, "agent")),
            encoder: HashedNgramEncoder::default(),
            gossip,
            registry,
            sessions,
            canaries: CanaryBook::new(config.canary).map_err(ConfigError::engine("canary"))?,
            ledger: Ledger::new(config.ledger).map_err(ConfigError::engine("ledger"))?,
            reports: ReportBuilder::new(config.salience)
                .map_err(ConfigError::engine("salience"))?,
            book: ReportBook::new(config.report_book)
                .map_err(ConfigError::engine("report_book"))?,
            reputation,
            chain: Vec::new(),
            links: BTreeMap::new(),
            routes: BTreeMap::new(),
            served: BTreeMap::new(),
            requests: BTreeMap::new(),
            by_session: BTreeMap::new(),
            jobs: BTreeMap::new(),
            executing: BTreeMap::new(),
            persisting: BTreeMap::new(),
            batch: Vec::new(),
            batch_acks: Vec::new(),
            ledger_dirty: BTreeSet::new(),
            observed_dirty: BTreeSet::new(),
            outgoing: BTreeMap::new(),
            incoming: BTreeMap::new(),
            proofs: FifoSet::new(config.max_proofs),
            stored_proofs: StoredProofs::new(config.max_proofs),
            convicted_strangers: FifoSet::new(config.max_proofs),
            canary_uses: FifoSet::new(config.funnel.max_canary_uses),
            transmits: BoundedQueue::new("transmits", config.max_queued),
            events: BoundedQueue::new("events", config.max_queued),
            effects: BoundedQueue::new("effects", config.max_queued),
            next_id: 0,
            next_trust: now.mono + config.trust_interval,
            timeout: None,
            traffic: Traffic::default(),
            keys,
            config,
        };
        agent.pump(now);
        Ok(agent)
    }

    // =========================================================================================
    // Getters
    // =========================================================================================

    /// This agent's signing key.
    pub fn id(&self) -> AgentId {
        self.me
    }

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The gossip engine (read-only).
    pub fn gossip(&self) -> &GossipEngine {
        &self.gossip
    }

    /// The identity registry (read-only).
    pub fn registry(&self) -> &IdentityRegistry {
        &self.registry
    }

    /// The session engine (read-only).
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The ledger (read-only).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// What this agent observed of providers, behind selection and demotion (read-only).
    pub fn observations(&self) -> &agentnet_trust::select::Observations {
        &self.observations
    }

    /// The reputation engine (read-only).
    pub fn reputation_engine(&self) -> &Reputation {
        &self.reputation
    }

    /// `agent`'s reputation in `topic` as this agent sees it (any key of its identity chain;
    /// 0 for unknown agents and topics).
    pub fn reputation(&self, agent: &AgentId, topic: &Topic) -> f64 {
        self.reputation.score(&self.canonical(agent), topic)
    }

    /// Every score this agent holds: (topic, canonical id, score), by topic then score
    /// (highest first).
    pub fn reputation_table(&self) -> Vec<(Topic, AgentId, f64)> {
        let mut out = Vec::new();
        for topic in self.reputation.topics() {
            let mut scores = self.reputation.scores(topic);
            scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            out.extend(scores.into_iter().map(|(a, s)| (topic.clone(), a, s)));
        }
        out
    }

    /// Whether this agent holds a verified fraud proof against `agent`'s identity.
    pub fn is_convicted(&self, agent: &AgentId) -> bool {
        let c = self.canonical(agent);
        self.ledger.is_convicted(&c)
            || self.reputation.is_convicted(&c)
            || self.convicted_strangers.contains(&c)
    }

    /// The agent verified on `link`, if any.
    pub fn peer(&self, link: LinkId) -> Option<AgentId> {
        self.links.get(&link).and_then(|l| l.peer)
    }

    /// Verified peers and their links.
    pub fn peers(&self) -> impl Iterator<Item = (&AgentId, &LinkId)> {
        self.routes.iter()
    }

    /// Frames and bytes per plane.
    pub fn traffic(&self) -> Traffic {
        self.traffic
    }

    /// Requests running.
    pub fn running_requests(&self) -> usize {
        self.requests.len()
    }

    /// The next effect for the host, oldest first.
    #[must_use]
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop()
    }

    /// The canonical (identity chain genesis) id of any key; unknown keys are their own.
    fn canonical(&self, key: &AgentId) -> AgentId {
        self.registry.resolve(key).map_or(*key, |r| r.canonical)
    }

    // =========================================================================================
    // Commands
    // =========================================================================================

    /// Announce a capability (signed, logged, gossiped, refreshed before expiry). Returns the
    /// topic and seq of its log entry.
    pub fn announce(
        &mut self,
        now: Now,
        descriptor: CapabilityDescriptor,
    ) -> Result<(Topic, u64), AgentError> {
        self.tick(now);
        let r = self.gossip.publish(now, descriptor);
        self.pump(now);
        Ok(r?)
    }

    /// Subscribe to a topic's headers until [`unsubscribe`](Self::unsubscribe) or a restart
    /// (nothing is persisted): for topics followed on a peer's word, which must not become
    /// permanent by surviving a restart.
    pub fn subscribe_volatile(&mut self, now: Now, topic: Topic) -> Result<(), AgentError> {
        self.tick(now);
        let r = self.gossip.subscribe(now, topic);
        self.pump(now);
        Ok(r?)
    }

    /// Subscribe to a topic's headers (restored after a restart).
    pub fn subscribe(&mut self, now: Now, topic: Topic) -> Result<(), AgentError> {
        self.tick(now);
        let key = topic.as_str().as_bytes().to_vec();
        let r = self.gossip.subscribe(now, topic);
        if r.is_ok() {
            self.batch
                .push(Record::put(tables::GOSSIP_TOPIC, key, Bytes::new()));
        }
        self.pump(now);
        Ok(r?)
    }

    /// Leave a topic: its headers are forgotten (the own log's head is kept, so a later
    /// re-join continues the sequence) and it is not followed again after a restart.
    pub fn unsubscribe(&mut self, now: Now, topic: &Topic) {
        self.tick(now);
        if self.gossip.topics().any(|t| t == topic) {
            self.gossip.unsubscribe(now, topic);
            let key = topic.as_str().as_bytes().to_vec();
            self.batch.push(Record::delete(tables::GOSSIP_TOPIC, key));
        }
        self.pump(now);
    }

    /// Set which announced bodies to pull.
    pub fn set_interest(&mut self, profile: agentnet_gossip::InterestProfile) {
        self.gossip.set_interest(profile);
    }

    /// Ranked candidates for `intent` among the fresh descriptors held.
    pub fn discover(
        &self,
        now: Now,
        intent: &str,
        requirements: &Requirements,
        k: usize,
    ) -> Vec<Candidate> {
        self.gossip.discover(now, intent, requirements, k)
    }

    /// Serve a capability: announce `descriptor` and accept offers for it under `policy`.
    /// Work arrives as [`Effect::Execute`].
    pub fn serve(
        &mut self,
        now: Now,
        descriptor: CapabilityDescriptor,
        policy: ServePolicy,
    ) -> Result<(), AgentError> {
        let capability = descriptor.capability.clone();
        let topic = descriptor.topic.clone();
        self.announce(now, descriptor)?;
        self.ensure_topic(&topic);
        self.pump(now);
        self.served.insert(capability, Service { topic, policy });
        Ok(())
    }

    /// Hold an issuer's attestation of this agent's principal (obtained out of band, e.g. from
    /// a KYC issuer): it is verified, persisted, and sent with the identity chain to every
    /// peer, whose registries accept it if they trust the issuer.
    pub fn add_attestation(
        &mut self,
        now: Now,
        attestation: Signed<agentnet_trust::baid::IssuerAttestation>,
    ) -> Result<(), AgentError> {
        self.tick(now);
        if attestation.principal != self.config.identity.principal {
            return Err(AgentError::BadRequest(
                "the attestation is for another principal".into(),
            ));
        }
        if attestation.subject != self.canonical(&self.me) {
            return Err(AgentError::BadRequest(
                "the attestation names another identity chain".into(),
            ));
        }
        // This agent's own registry may not trust the issuer; its peers decide for themselves.
        let _ = self
            .registry
            .handle_signed_attestation(now, attestation.clone());
        if !self
            .own_attestations
            .iter()
            .any(|a| a.hash() == attestation.hash())
        {
            if self.own_attestations.len() >= MAX_OWN_ATTESTATIONS {
                self.own_attestations.remove(0);
            }
            self.batch.push(Record::put(
                tables::OWN_ATTESTATION,
                attestation.hash().0.to_vec(),
                attestation.to_frame(),
            ));
            self.own_attestations.push(attestation);
        }
        self.pump(now);
        Ok(())
    }

    /// Stop serving a capability and stop re-issuing its descriptor (it expires at its TTL);
    /// also the way to withdraw a capability that was only announced. False if it was
    /// neither served nor announced.
    pub fn unserve(&mut self, capability: &str) -> bool {
        let announced = self.gossip.withdraw(capability);
        self.served.remove(capability).is_some() || announced
    }

    /// Stop serving a capability and retract its descriptor at once: peers receive a signed
    /// retraction (a newer version marked `retracted`), stop offering the capability and
    /// refuse replays of the old descriptor until it would have expired
    /// ([`GossipEngine::retract`]). Use this for a capability that is compromised or gone;
    /// [`unserve`](Self::unserve) lets it expire instead. False if it was neither served nor
    /// announced.
    pub fn retract(&mut self, now: Now, capability: &str) -> Result<bool, AgentError> {
        self.tick(now);
        let announced = self
            .gossip
            .retract(now, capability)
            .map_err(|e| AgentError::Gossip(e.to_string()))?
            .is_some();
        let served = self.served.remove(capability).is_some();
        self.pump(now);
        Ok(served || announced)
    }

    /// Run the funnel for `task`. Progress comes as [`AgentEvent::Progress`], the end as
    /// [`AgentEvent::Completed`] with the same request id.
    pub fn request(&mut self, now: Now, task: TaskRequest) -> Result<RequestId, AgentError> {
        self.tick(now);
        if self.requests.len() >= self.config.funnel.max_requests {
            return Err(AgentError::TooManyRequests(self.requests.len()));
        }
        if task.input.len() > self.config.payload.max_payload {
            return Err(AgentError::PayloadTooLarge {
                size: task.input.len(),
                max: self.config.payload.max_payload,
            });
        }
        if task.intent.trim().is_empty() {
            return Err(AgentError::BadRequest("the intent is empty".into()));
        }
        let id = self.next_request_id();
        let mut seen = BTreeSet::new();
        let found: Vec<Candidate> = self
            .gossip
            .discover(
                now,
                &task.intent,
                &task.requirements,
                self.config.funnel.max_candidates,
            )
            .into_iter()
            .filter(|c| c.descriptor.provider != self.me && seen.insert(c.descriptor.provider))
            .collect();
        // Selection: Pareto layers over relevance, reputation, observed-and-claimed QoS,
        // evidence offered and attestation (agentnet_trust::select).
        let inputs: Vec<agentnet_trust::select::Candidate> = found
            .iter()
            .map(|c| {
                let d = &c.descriptor;
                let resolved = self.registry.resolve(&d.provider);
                agentnet_trust::select::Candidate {
                    provider: self.canonical(&d.provider),
                    capability: d.capability.clone(),
                    similarity: c.similarity,
                    claimed_latency_ms: d.qos.latency_ms,
                    claimed_success_bp: d.qos.success_bp,
                    claimed_cost_micros: d.qos.cost_micros,
                    reputation: self.reputation(&d.provider, &d.topic),
                    evidence_tier: d.trust.tiers.iter().copied().max().unwrap_or(1).clamp(1, 3),
                    attested: resolved.is_some_and(|r| r.attested),
                    issued_at: d.issued_at,
                }
            })
            .collect();
        let draw = self.rng.next_u64();
        let chosen = agentnet_trust::select::select(inputs, &self.observations, draw);
        let mut pool: Vec<Option<Candidate>> = found.into_iter().map(Some).collect();
        let mut queue = VecDeque::new();
        let mut ranked = Vec::new();
        for ch in chosen {
            let at = pool.iter().position(|c| {
                c.as_ref().is_some_and(|c| {
                    self.canonical(&c.descriptor.provider) == ch.candidate.provider
                        && c.descriptor.capability == ch.candidate.capability
                })
            });
            let Some(c) = at.and_then(|i| pool[i].take()) else {
                continue;
            };
            ranked.push(Ranked {
                provider: c.descriptor.provider,
                capability: c.descriptor.capability.clone(),
                similarity: c.similarity,
                reputation: ch.objectives.reputation,
                layer: ch.layer,
                explored: ch.explored,
                demoted: ch.demoted,
            });
            queue.push_back(c);
        }
        let (tier, reason) = match task.tier {
            TierChoice::Fixed(t) => (t, "set by the caller".to_string()),
            TierChoice::Auto => self.config.risk.tier(task.value_at_risk, task.side_effects),
        };
        self.event(AgentEvent::Progress {
            request: id,
            stage: Stage::Ranked(ranked),
        });
        self.event(AgentEvent::Progress {
            request: id,
            stage: Stage::TierChosen { tier, reason },
        });
        self.requests.insert(
            id,
            Request {
                task,
                tier,
                queue,
                attempts: Vec::new(),
                tries: 0,
                current: None,
            },
        );
        self.next_attempt(now, id);
        self.pump(now);
        Ok(id)
    }

    // =========================================================================================
    // Effect completions
    // =========================================================================================

    /// The records of [`Effect::Persist`] `id` are durable.
    pub fn handle_persisted(&mut self, now: Now, id: RequestId) -> Result<(), AgentError> {
        self.tick(now);
        let acks = self
            .persisting
            .remove(&id)
            .ok_or(AgentError::UnknownEffect(id))?;
        for (topic, seq) in acks {
            self.gossip.handle_persisted(now, &topic, seq);
        }
        self.pump(now);
        Ok(())
    }

    /// The application ran [`Effect::Execute`] `id`. The result is sealed to the requester,
    /// sent in chunks and delivered (at tier 3 with a signed receipt chain and evidence
    /// package); a failure delivers nothing, and the requester's deadline settles the session.
    pub fn handle_executed(
        &mut self,
        now: Now,
        id: RequestId,
        executed: Executed,
    ) -> Result<(), AgentError> {
        self.tick(now);
        let sid = *self
            .executing
            .get(&id)
            .ok_or(AgentError::UnknownEffect(id))?;
        let r = self.deliver(now, sid, executed);
        self.executing.remove(&id);
        if let Some(job) = self.jobs.get_mut(&sid) {
            job.executing = false;
        }
        self.pump(now);
        r
    }

    fn deliver(&mut self, now: Now, sid: SessionId, executed: Executed) -> Result<(), AgentError> {
        let Executed::Done { result, tools } = executed else {
            return Ok(());
        };
        let job = self
            .jobs
            .get(&sid)
            .ok_or(AgentError::Undeliverable("the session has ended".into()))?;
        if result.len() > self.config.payload.max_payload {
            return Err(AgentError::PayloadTooLarge {
                size: result.len(),
                max: self.config.payload.max_payload,
            });
        }
        let result_hash = payload_hash(&result);
        let evidence = if job.tier == Tier::Evidence {
            let mut chain = ReceiptChain::new(self.me, job.task);
            let undeliverable = |e: agentnet_trust::evidence::EvidenceError| {
                AgentError::Undeliverable(e.to_string())
            };
            if tools.is_empty() {
                let input = job.input_hash.unwrap_or(Hash([0; 32]));
                chain
                    .record(
                        &self.keys,
                        &job.capability,
                        input,
                        result_hash,
                        job.delegated_at.min(now.wall),
                        now.wall,
                    )
                    .map_err(undeliverable)?;
            }
            for t in &tools {
                chain
                    .record(
                        &self.keys,
                        &t.tool,
                        t.input_hash,
                        t.output_hash,
                        t.started_at,
                        t.ended_at,
                    )
                    .map_err(undeliverable)?;
            }
            // An honest agent never signs a package whose receipts contradict its result.
            Some(
                chain
                    .finish(&self.keys, result_hash, None)
                    .map_err(undeliverable)?,
            )
        } else {
            None
        };
        let requester = job.requester;
        let x = self
            .registry
            .resolve(&requester)
            .map(|r| r.current_x25519)
            .ok_or_else(|| {
                AgentError::Undeliverable("the requester's identity is unknown".into())
            })?;
        // Sent now if the requester is reachable; otherwise it asks for the chunks when it
        // is back (the session's DELIVER waits in the session engine meanwhile).
        let link = self.routes.get(&requester).copied();
        let chunks = seal_chunks(
            &self.config.payload,
            &x,
            &sid,
            Direction::Result,
            &result,
            0,
            &mut self.rng,
        )?;
        self.sessions.deliver(now, sid, result_hash, evidence)?;
        if let Some(link) = link {
            self.send_chunks(sid, Direction::Result, link, &chunks);
        }
        self.outgoing.insert(
            (sid, Direction::Result),
            Outgoing {
                peer: requester,
                chunks,
            },
        );
        Ok(())
    }

    /// The language model answered [`Effect::Llm`] `id` (a leading agent's mechanism loop
    /// asked for a revision). A malformed answer is the loop's business: it refuses it with a
    /// typed reason, retries, and falls back to the built-in designer.
    pub fn handle_llm_response(
        &mut self,
        now: Now,
        id: RequestId,
        text: &str,
    ) -> Result<(), AgentError> {
        self.tick(now);
        let (l, loop_id) = self.llm_request(id)?;
        let r = l.mloop.handle_llm_response(now, loop_id, text);
        self.pump(now);
        r.map_err(|e| AgentError::BadRequest(e.to_string()))
    }

    /// The language model failed [`Effect::Llm`] `id`.
    pub fn handle_llm_failure(
        &mut self,
        now: Now,
        id: RequestId,
        why: &str,
    ) -> Result<(), AgentError> {
        self.tick(now);
        let (l, loop_id) = self.llm_request(id)?;
        let r = l.mloop.handle_llm_failure(now, loop_id, why);
        self.pump(now);
        r.map_err(|e| AgentError::BadRequest(e.to_string()))
    }

    fn llm_request(&mut self, id: RequestId) -> Result<(&mut Leader, u64), AgentError> {
        let l = self.leader.as_mut().ok_or(AgentError::UnknownEffect(id))?;
        let loop_id = l.llm.remove(&id).ok_or(AgentError::UnknownEffect(id))?;
        Ok((l, loop_id))
    }

    fn on_loop_event(&mut self, e: agentnet_mech::stackelberg::LoopEvent) {
        use agentnet_mech::stackelberg::LoopEvent as L;
        match e {
            L::LlmRequest {
                id: loop_id,
                prompt,
                deadline,
            } => {
                let id = self.next_request_id();
                if let Some(l) = self.leader.as_mut() {
                    l.llm.insert(id, loop_id);
                }
                self.effect(Effect::Llm {
                    id,
                    prompt: agentnet_core::effect::LlmPrompt {
                        system: prompt.system,
                        user: prompt.user,
                        schema: Some(prompt.schema),
                    },
                    deadline,
                });
            }
            L::Accepted(m) => self.event(AgentEvent::RulesRevised {
                clauses: m.clauses.iter().map(|c| c.text()).collect(),
            }),
            L::Overflow(o) => self.engine_overflow("leader", o),
            _ => {}
        }
    }

    // =========================================================================================
    // Internals: queues
    // =========================================================================================

    fn next_request_id(&mut self) -> RequestId {
        self.next_id += 1;
        RequestId(self.next_id)
    }

    fn event(&mut self, e: AgentEvent) {
        self.events.push(e);
    }

    fn effect(&mut self, e: Effect) {
        self.effects.push(e);
    }

    fn send(&mut self, link: LinkId, payload: Bytes) {
        self.transmits.push(Transmit { link, payload });
    }

    /// Report an engine's queue overflow as this agent's, the queue named after the engine.
    fn engine_overflow(&mut self, engine: &'static str, o: Overflow) {
        let queue = match (engine, o.queue) {
            ("gossip", "transmits") => "gossip.transmits",
            ("gossip", "events") => "gossip.events",
            ("sessions", "transmits") => "sessions.transmits",
            ("sessions", "events") => "sessions.events",
            ("sessions", "parked") => "sessions.parked",
            ("registry", "events") => "registry.events",
            ("canary", "verdicts") => "canary.verdicts",
            ("leader", "events") => "leader.events",
            (_, q) => q,
        };
        self.event(AgentEvent::Overflow(Overflow {
            queue,
            dropped: o.dropped,
        }));
    }

    fn broadcast(&mut self, payload: &Bytes, except: Option<LinkId>) {
        let links: Vec<LinkId> = self.routes.values().copied().collect();
        for link in links {
            if Some(link) != except {
                self.send(link, payload.clone());
            }
        }
    }

    fn send_chunks(
        &mut self,
        session: SessionId,
        direction: Direction,
        link: LinkId,
        chunks: &[Bytes],
    ) {
        let count = chunks.len() as u32;
        for (i, data) in chunks.iter().enumerate() {
            let chunk = Chunk {
                session,
                direction,
                index: i as u32,
                count,
                data: data.clone(),
            };
            if let Ok(frame) = encode_frame(wire::CHUNK, &chunk) {
                self.send(link, frame);
            }
        }
    }

    /// Called first by every input and command. Creates this agent's identity chain on the
    /// first input after [`new`](Self::new) unless [`restore`](Self::restore) brought it back
    /// (its genesis is signed at that moment; a restarted agent must keep its chain, or its
    /// reputation would not follow it).
    fn tick(&mut self, now: Now) {
        if !self.chain.is_empty() {
            return;
        }
        let inputs = BaidInputs {
            code_hash: self.config.identity.code_hash,
            config_digest: self.config.identity.config_digest,
            principal: self.config.identity.principal,
            salt: derive_seed(&self.config.seed, "baid-salt"),
        };
        let Ok(genesis) =
            BindingEntry::genesis(&self.keys, self.keys.x25519().public(), inputs, now.wall)
        else {
            return;
        };
        if self
            .registry
            .handle_signed_entry(now, genesis.clone())
            .is_ok()
        {
            self.chain.push(genesis);
            // Its own chain is never evicted from a full registry.
            self.registry.vouch(&self.me);
        }
    }

    /// Take back what this agent asked to persist before a restart: call once, right after
    /// [`new`](Self::new) and before any other input, with every record of every table the
    /// host stored. Records that do not decode or verify are refused (counted, with the
    /// first reasons) and the rest restored: own log heads (publishing continues the logs),
    /// accepted headers and descriptors, identity chains (this agent's own included, so its
    /// canonical id and reputation survive), ledger rows, fraud proofs (convictions) and selection observations (demotions).
    pub fn restore(
        &mut self,
        now: Now,
        records: impl IntoIterator<Item = Record>,
    ) -> RestoreReport {
        let mut report = RestoreReport::default();
        let mut heads = Vec::new();
        let mut headers = Vec::new();
        let mut descriptors = Vec::new();
        let mut identities = Vec::new();
        let mut rows = Vec::new();
        let mut proofs = Vec::new();
        let mut topics = Vec::new();
        let mut sessions = Vec::new();
        let mut jobs = Vec::new();
        let mut reports = None;
        for r in records {
            let Some(value) = r.value else { continue };
            match &*r.table {
                tables::GOSSIP_HEAD => match decode_head(&value, &self.limits) {
                    Ok(h) => heads.push(h),
                    Err(e) => report.refuse(&r.table, e),
                },
                tables::GOSSIP_HEADER => headers.push(value),
                tables::GOSSIP_TOPIC => match core::str::from_utf8(&r.key)
                    .ok()
                    .and_then(|t| Topic::new(t).ok())
                {
                    Some(t) => topics.push(t),
                    None => report.refuse(&r.table, "not a topic"),
                },
                tables::GOSSIP_DESCRIPTOR => descriptors.push(value),
                tables::IDENTITY_ENTRY => identities.push(value),
                tables::LEDGER_ROW => match decode_row(&value, &self.limits) {
                    Ok(row) => rows.push(row),
                    Err(e) => report.refuse(&r.table, e),
                },
                tables::FRAUD_PROOF => proofs.push(value),
                tables::SESSION => sessions.push(value),
                tables::JOB => match decode_job(&r.key, &value, &self.limits) {
                    Ok(j) => jobs.push(j),
                    Err(e) => report.refuse(&r.table, e),
                },
                tables::REPORTS => reports = Some(value),
                tables::SELECTION_OBSERVED => match decode_observed(&value, &self.limits) {
                    Ok((provider, capability, o)) => {
                        if self.observations.restore(provider, &capability, o).1 {
                            report.restored += 1;
                        } else {
                            report.refuse(tables::SELECTION_OBSERVED, "values out of range");
                        }
                    }
                    Err(e) => report.refuse(tables::SELECTION_OBSERVED, e),
                },
                tables::OWN_ATTESTATION => {
                    match Signed::<agentnet_trust::baid::IssuerAttestation>::from_frame(
                        &value,
                        &self.limits,
                    ) {
                        Ok(a) if self.own_attestations.len() < MAX_OWN_ATTESTATIONS => {
                            report.restored += 1;
                            self.own_attestations.push(a);
                        }
                        Ok(_) => report.refuse(&r.table, "too many"),
                        Err(e) => report.refuse(&r.table, e),
                    }
                }
                other => report.refuse(other, "unknown table".to_string()),
            }
        }
        let ids = self.registry.restore(now, identities);
        report.restored += ids.accepted;
        for (_, e) in ids.refused {
            report.refuse(tables::IDENTITY_ENTRY, e);
        }
        if let Some(chain) = self.registry.resolve(&self.me).map(|r| r.chain) {
            self.chain = self.registry.entries(&chain).cloned().collect();
            self.registry.vouch(&self.me);
        }
        report.restored += heads.len();
        if let Err(e) = self.gossip.restore(now, heads) {
            report.refuse(tables::GOSSIP_HEAD, e.to_string());
        }
        for t in topics {
            match self.gossip.subscribe(now, t) {
                Ok(()) => report.restored += 1,
                Err(e) => report.refuse(tables::GOSSIP_TOPIC, e.to_string()),
            }
        }
        report.restored += self.gossip.restore_headers(now, headers);
        report.restored += self.gossip.restore_descriptors(now, descriptors);
        report.restored += rows.len();
        for row in &rows {
            self.ensure_topic(&row.topic);
        }
        if let Err(e) = self.ledger.restore(rows, []) {
            report.refuse(tables::LEDGER_ROW, e.to_string());
        }
        for (sid, job) in jobs {
            self.incoming.insert(
                (sid, Direction::Input),
                Incoming::new(
                    job.requester,
                    None,
                    now.mono + self.config.payload.resend_after,
                ),
            );
            self.jobs.insert(sid, job);
        }
        let restored = self.sessions.restore(now, sessions);
        report.restored += restored.restored;
        report.refused += restored.refused;
        for (_, e) in restored.errors {
            report.note(tables::SESSION, e);
        }
        // Jobs whose session did not come back are dropped.
        let live: BTreeSet<SessionId> = self.sessions.ids().copied().collect();
        self.jobs.retain(|id, _| live.contains(id));
        self.incoming.retain(|(id, _), _| live.contains(id));
        if let Some(v) = reports {
            match agentnet_core::wire::decode_cbor::<Vec<serde_bytes::ByteBuf>>(
                &v,
                &self.record_limits(),
            ) {
                Ok(list) => {
                    if let Err(e) = self
                        .reports
                        .restore(list.into_iter().map(|b| Bytes::from(b.into_vec())))
                    {
                        report.refuse(tables::REPORTS, e);
                    }
                }
                Err(e) => report.refuse(tables::REPORTS, e),
            }
        }
        for frame in proofs {
            match FraudProof::from_frame(&frame, &self.limits) {
                Ok((proof, _)) => {
                    report.restored += 1;
                    let _ = self.on_proof(now, proof, None);
                }
                Err(e) => report.refuse(tables::FRAUD_PROOF, e.to_string()),
            }
        }
        // Everything above is already durable: do not write it again.
        self.pump(now);
        self.effects
            .retain(|e| !matches!(e, Effect::Persist { .. }));
        self.persisting.clear();
        self.tick(now);
        self.trust_round(now);
        self.pump(now);
        report
    }

    // =========================================================================================
    // Internals: the pump (cross-plane hand-offs)
    // =========================================================================================

    /// Drain every sub-engine until nothing moves, handing outputs across planes, then
    /// recompute the deadline.
    fn pump(&mut self, now: Now) {
        loop {
            let mut moved = false;
            while let Some(t) = self.gossip.poll_transmit() {
                moved = true;
                self.send(t.link, t.payload);
            }
            while let Some(e) = self.gossip.poll_event() {
                moved = true;
                self.on_gossip_event(now, e);
            }
            while let Some(e) = self.registry.poll_event() {
                moved = true;
                self.on_identity_event(now, e);
            }
            while let Some(t) = self.sessions.poll_transmit() {
                moved = true;
                self.send(t.link, t.payload);
            }
            while let Some(e) = self.sessions.poll_event() {
                moved = true;
                self.on_session_event(now, e);
            }
            while let Some(v) = self.canaries.poll_verdict() {
                moved = true;
                self.on_canary_verdict(now, v);
            }
            while let Some(e) = self.leader.as_mut().and_then(|l| l.mloop.poll_event()) {
                moved = true;
                self.on_loop_event(e);
            }
            if let Some(o) = self.canaries.take_overflow() {
                self.engine_overflow("canary", o);
            }
            if !moved {
                break;
            }
        }
        self.flush_batch();
        let incoming = self
            .incoming
            .values()
            .filter_map(|i| i.deadline(&self.config.payload))
            .min();
        self.timeout = [
            self.gossip.poll_timeout(),
            self.registry.poll_timeout(),
            self.sessions.poll_timeout(),
            self.canaries.poll_timeout(),
            incoming,
            Some(self.next_trust),
            self.leader.as_ref().and_then(|l| l.mloop.poll_timeout()),
        ]
        .into_iter()
        .flatten()
        .min();
    }

    fn on_gossip_event(&mut self, now: Now, e: agentnet_gossip::Event) {
        use agentnet_gossip::Event as G;
        match e {
            G::Overflow(o) => self.engine_overflow("gossip", o),
            G::PersistHead(head) => {
                let value = agentnet_core::wire::encode_cbor(&(
                    head.topic.as_str(),
                    head.seq,
                    serde_bytes::Bytes::new(&head.header),
                    head.body.as_deref().map(serde_bytes::Bytes::new),
                ))
                .unwrap_or_default();
                self.batch_acks.push((head.topic.clone(), head.seq));
                self.batch.push(Record::put(
                    tables::GOSSIP_HEAD,
                    head.topic.as_str().as_bytes().to_vec(),
                    value,
                ));
            }
            G::Equivocation { proof, .. } => {
                let proof = FraudProof::from(*proof);
                let _ = self.on_proof(now, proof, None);
            }
            G::Header {
                author,
                ref topic,
                seq,
                ..
            } => {
                if let Some(h) = self.gossip.header(topic, &author, seq) {
                    let key = header_key(topic, &author, seq);
                    let r = Record::put(tables::GOSSIP_HEADER, key, h.to_frame())
                        .expiring(h.expires_at());
                    self.batch.push(r);
                }
                self.event(AgentEvent::Gossip(e));
            }
            G::Descriptor(ref d) | G::Retracted(ref d) => {
                let key = descriptor_key(&d.provider, &d.capability);
                let r = Record::put(tables::GOSSIP_DESCRIPTOR, key, d.to_frame())
                    .expiring(d.expires_at());
                self.batch.push(r);
                self.event(AgentEvent::Gossip(e));
            }
            // What the engine stopped holding before expiry leaves the store too: the store is
            // bounded by the engine's tables, not by what peers sent.
            G::HeadersForgotten {
                topic,
                author,
                seqs,
            } => {
                for seq in seqs {
                    let key = header_key(&topic, &author, seq);
                    self.batch.push(Record::delete(tables::GOSSIP_HEADER, key));
                }
            }
            G::DescriptorForgotten {
                provider,
                capability,
            } => {
                let key = descriptor_key(&provider, &capability);
                self.batch
                    .push(Record::delete(tables::GOSSIP_DESCRIPTOR, key));
            }
            other => self.event(AgentEvent::Gossip(other)),
        }
    }

    fn on_identity_event(&mut self, now: Now, e: IdentityEvent) {
        match e {
            IdentityEvent::Overflow(o) => self.engine_overflow("registry", o),
            IdentityEvent::Persist { frame } => {
                let key = identity_record_key(&frame);
                self.batch
                    .push(Record::put(tables::IDENTITY_ENTRY, key, frame));
            }
            IdentityEvent::ForkDetected { proof, .. } => {
                let _ = self.on_proof(now, FraudProof::from(*proof), None);
            }
            IdentityEvent::Forgotten { frames, .. } => {
                // Evicted from a full registry: the store holds no more than the registry.
                for frame in frames {
                    let key = identity_record_key(&frame);
                    self.batch.push(Record::delete(tables::IDENTITY_ENTRY, key));
                }
            }
            _ => {}
        }
    }

    fn on_canary_verdict(&mut self, now: Now, v: agentnet_trust::canary::CanaryVerdict) {
        let peer = self.canonical(&v.provider());
        let _ = self.ledger.record_canary_as(&v, peer);
        self.ledger_dirty.insert((v.topic().clone(), peer));
        // Find the canary session and grade it by its verdict.
        let found = self.requests.iter_mut().find_map(|(rid, r)| {
            let t = r.current.as_mut()?;
            let (sid, slot) = t.canaries.iter_mut().find(|(_, s)| s.task == v.id())?;
            slot.outcome = Some(v.outcome());
            Some((*rid, *sid))
        });
        if let Some((rid, sid)) = found {
            let passed = v.outcome() == CanaryOutcome::Passed;
            let grade = Grade::new(if passed { 1_000_000 } else { 0 }, passed);
            let _ = self.sessions.grade(now, sid, grade);
            self.check_real(now, rid);
        }
    }

    // =========================================================================================
    // Internals: sessions
    // =========================================================================================

    fn on_session_event(&mut self, now: Now, e: SessionEvent) {
        match e {
            SessionEvent::Offered {
                id,
                requester,
                topic,
                description_hash,
                mechanism,
                task,
                ..
            } => self.on_offered(
                now,
                id,
                requester,
                topic,
                description_hash,
                &mechanism,
                task,
            ),
            SessionEvent::Delegated {
                id,
                input_hash,
                deliver_by,
                ..
            } => {
                if let Some(job) = self.jobs.get_mut(&id) {
                    job.input_hash = Some(input_hash);
                    job.deliver_by = deliver_by;
                    job.delegated_at = now.wall;
                }
                if let Some(inc) = self.incoming.get_mut(&(id, Direction::Input)) {
                    inc.expected = Some(input_hash);
                    inc.resend_at = now.mono + self.config.payload.resend_after;
                }
                self.try_finish(now, id, Direction::Input);
            }
            SessionEvent::Committed {
                id,
                provider,
                deposit,
                ..
            } => self.on_committed(now, id, provider, deposit),
            SessionEvent::Declined { id, .. } => {
                self.end_try(now, id, Verdict::Declined);
                self.forget_session(id);
            }
            SessionEvent::Delivered {
                id,
                result_hash,
                evidence,
                ..
            } => {
                if let Some(t) = self.try_of_mut(id)
                    && t.real == id
                {
                    t.receipts = evidence.as_ref().map_or(0, |e| e.receipt_count());
                }
                if let Some(inc) = self.incoming.get_mut(&(id, Direction::Result)) {
                    inc.expected = Some(result_hash);
                    inc.resend_at = now.mono + self.config.payload.resend_after;
                }
                self.try_finish(now, id, Direction::Result);
            }
            SessionEvent::EvidenceRejected {
                id,
                provider,
                report,
            } => {
                let topic = self.sessions.session(&id).map(|s| s.topic);
                if let (Some(topic), Some(rej)) = (topic, report.rejection()) {
                    let peer = self.canonical(&provider);
                    let _ = self.ledger.record_rejection(&topic, peer, &rej, now.wall);
                    self.ledger_dirty.insert((topic, peer));
                }
                if let Some(t) = self.try_of_mut(id) {
                    t.evidence_rejected = true;
                }
            }
            SessionEvent::Feedback {
                id,
                peer,
                topic,
                outcome,
                evidence,
            } => {
                let is_canary = self
                    .try_of_mut(id)
                    .is_some_and(|t| t.canaries.contains_key(&id));
                if !is_canary {
                    let peer = self.canonical(&peer);
                    self.ensure_topic(&topic);
                    let _ = match &evidence {
                        Some(ev) => self.ledger.record_task(&topic, peer, ev, outcome, now.wall),
                        None => self
                            .ledger
                            .record_checked_task(&topic, peer, outcome, now.wall),
                    };
                    self.ledger_dirty.insert((topic, peer));
                }
            }
            SessionEvent::Settled(s) => self.on_settled(now, *s),
            SessionEvent::Disputed { id, statement, .. } => {
                self.event(AgentEvent::Served {
                    session: id,
                    requester: statement.requester,
                    payment: statement.payment,
                    slashed: statement.slashed,
                    disputed: true,
                });
                self.forget_session(id);
            }
            SessionEvent::OfferExpired { id, .. } | SessionEvent::SettlementOverdue { id, .. } => {
                self.forget_session(id);
            }
            SessionEvent::Overflow(o) => self.engine_overflow("sessions", o),
            SessionEvent::Persist { id, record } => {
                let key = id.0.0.to_vec();
                self.batch.push(match record {
                    Some(r) => Record::put(tables::SESSION, key, r),
                    None => Record::delete(tables::SESSION, key),
                });
            }
            // Offences arrive with their proofs in settlement statements (handled there).
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn on_offered(
        &mut self,
        now: Now,
        id: SessionId,
        requester: AgentId,
        topic: Topic,
        description_hash: Hash,
        mechanism: &Signed<Mechanism>,
        task: TaskId,
    ) {
        let capability = self
            .served
            .iter()
            .find(|(name, s)| s.topic == topic && payload_hash(name.as_bytes()) == description_hash)
            .map(|(name, s)| (name.clone(), s.policy));
        let decision = match &capability {
            None => Err("no such capability is served here".to_string()),
            Some((_, policy)) => {
                let (flat, bonus) = mechanism.payment().unwrap_or((0, 0));
                if policy.refuse_convicted && self.is_convicted(&requester) {
                    Err("the requester is convicted".into())
                } else if flat.saturating_add(bonus) < policy.min_pay {
                    Err(format!("pay {} below {}", flat + bonus, policy.min_pay))
                } else if mechanism.deposit() > policy.max_deposit {
                    Err(format!(
                        "deposit {} above {}",
                        mechanism.deposit(),
                        policy.max_deposit
                    ))
                } else {
                    Ok(())
                }
            }
        };
        let live = self.sessions.session(&id).is_some();
        let accepted = match (&decision, live) {
            (Ok(()), true) => {
                let r = self.sessions.accept(now, id);
                if r.is_ok() {
                    let (capability, _) = capability.clone().expect("decided on it");
                    if let Ok(v) = agentnet_core::wire::encode_cbor(&(
                        requester,
                        capability.as_str(),
                        topic.as_str(),
                        task.0,
                        mechanism.tier() as u8,
                    )) {
                        self.batch
                            .push(Record::put(tables::JOB, id.0.0.to_vec(), v));
                    }
                    self.jobs.insert(
                        id,
                        Job {
                            requester,
                            capability,
                            topic: topic.clone(),
                            task,
                            tier: mechanism.tier(),
                            input_hash: None,
                            deliver_by: now.mono,
                            delegated_at: now.wall,
                            executing: false,
                        },
                    );
                    self.incoming.insert(
                        (id, Direction::Input),
                        Incoming::new(requester, None, now.mono + self.config.payload.resend_after),
                    );
                }
                r.map_err(|e| e.to_string())
            }
            (Ok(()), false) => Err("the session is gone".to_string()),
            (Err(why), _) => {
                let _ = self.sessions.decline(now, id);
                Err(why.clone())
            }
        };
        self.event(AgentEvent::Offer {
            session: id,
            requester,
            capability: capability.map(|c| c.0),
            accepted,
        });
    }

    fn on_committed(&mut self, now: Now, id: SessionId, provider: AgentId, deposit: u64) {
        let Some(rid) = self.by_session.get(&id).copied() else {
            return;
        };
        let Some(input) = self
            .requests
            .get(&rid)
            .and_then(|r| r.current.as_ref())
            .and_then(|t| t.inputs.get(&id).cloned())
        else {
            return;
        };
        let link = self
            .routes
            .get(&provider)
            .copied()
            .or_else(|| self.sessions.session(&id).and_then(|s| s.link));
        let x = self.registry.resolve(&provider).map(|r| r.current_x25519);
        let (Some(link), Some(x)) = (link, x) else {
            self.end_try(now, id, Verdict::Unreachable);
            return;
        };
        let pad_to = self
            .requests
            .get(&rid)
            .and_then(|r| r.current.as_ref())
            .map_or(0, |t| t.pad_to);
        match seal_chunks(
            &self.config.payload,
            &x,
            &id,
            Direction::Input,
            &input,
            pad_to,
            &mut self.rng,
        ) {
            Ok(chunks) => {
                if self
                    .sessions
                    .delegate(now, id, payload_hash(&input))
                    .is_ok()
                {
                    self.send_chunks(id, Direction::Input, link, &chunks);
                    self.outgoing.insert(
                        (id, Direction::Input),
                        Outgoing {
                            peer: provider,
                            chunks,
                        },
                    );
                    self.incoming.insert(
                        (id, Direction::Result),
                        Incoming::new(provider, None, now.mono + self.config.payload.resend_after),
                    );
                    let real = self
                        .requests
                        .get(&rid)
                        .and_then(|r| r.current.as_ref())
                        .is_some_and(|t| t.real == id);
                    if real {
                        self.event(AgentEvent::Progress {
                            request: rid,
                            stage: Stage::Delegated { provider, deposit },
                        });
                    }
                }
            }
            Err(e) => self.end_try(now, id, Verdict::Failed(e.to_string())),
        }
    }

    fn on_settled(&mut self, now: Now, s: agentnet_mech::session::Settlement) {
        let id = s.id();
        let st = &s.statement;
        if let Some(proof) = st.proof.clone() {
            let _ = self.on_proof(now, proof, None);
        }
        match s.role {
            Role::Provider => {
                self.event(AgentEvent::Served {
                    session: id,
                    requester: st.requester,
                    payment: st.payment,
                    slashed: st.slashed,
                    disputed: false,
                });
            }
            Role::Requester => {
                let real = self.try_of_mut(id).map(|t| (t.real == id, t.provider));
                if let Some((true, provider)) = real {
                    let rid = self.by_session[&id];
                    self.event(AgentEvent::Progress {
                        request: rid,
                        stage: Stage::Settled {
                            provider,
                            payment: st.payment,
                            refund: st.refund,
                            slashed: st.slashed,
                        },
                    });
                    let verdict = match st.outcome {
                        Outcome::Accepted => Verdict::Accepted,
                        Outcome::Fraud => Verdict::Fraud,
                        Outcome::Rejected => {
                            let t = self.try_of_mut(id).expect("found above");
                            let canary_failed = t
                                .canaries
                                .values()
                                .any(|c| c.outcome.is_some_and(|o| o != CanaryOutcome::Passed));
                            if t.evidence_rejected {
                                Verdict::EvidenceRejected
                            } else if canary_failed {
                                Verdict::CanaryFailed
                            } else {
                                Verdict::Rejected
                            }
                        }
                        Outcome::TimedOut(stage) => Verdict::TimedOut(match stage {
                            SessionStage::Commit => "commit",
                            SessionStage::Delegate => "delegate",
                            SessionStage::Execute => "execute",
                            SessionStage::Grade => "grade",
                        }),
                    };
                    let payment = st.payment;
                    self.end_try_paid(now, id, verdict, payment);
                }
            }
        }
        self.forget_session(id);
    }

    /// Drop everything kept for a session that ended.
    fn forget_session(&mut self, id: SessionId) {
        if self.jobs.remove(&id).is_some() {
            self.batch
                .push(Record::delete(tables::JOB, id.0.0.to_vec()));
        }
        for d in [Direction::Input, Direction::Result] {
            self.outgoing.remove(&(id, d));
            self.incoming.remove(&(id, d));
        }
        let in_use = self
            .by_session
            .get(&id)
            .and_then(|rid| self.requests.get(rid))
            .and_then(|r| r.current.as_ref())
            .is_some_and(|t| t.real == id || t.canaries.contains_key(&id));
        if !in_use {
            self.by_session.remove(&id);
        }
    }

    fn try_of_mut(&mut self, id: SessionId) -> Option<&mut Try> {
        let rid = self.by_session.get(&id)?;
        self.requests
            .get_mut(rid)?
            .current
            .as_mut()
            .filter(|t| t.real == id || t.canaries.contains_key(&id))
    }

    // =========================================================================================
    // Internals: payloads
    // =========================================================================================

    fn on_chunk(&mut self, now: Now, from: LinkId, chunk: Chunk) -> Result<(), AgentError> {
        let key = (chunk.session, chunk.direction);
        let inc = self
            .incoming
            .get_mut(&key)
            .ok_or(AgentError::UnknownTransfer {
                session: chunk.session,
                direction: chunk.direction,
            })?;
        if self.links.get(&from).and_then(|l| l.peer) != Some(inc.peer) {
            return Err(AgentError::UnknownTransfer {
                session: chunk.session,
                direction: chunk.direction,
            });
        }
        inc.add(
            &self.config.payload,
            chunk.index,
            chunk.count,
            chunk.data,
            now.mono,
        )?;
        self.try_finish_checked(now, chunk.session, chunk.direction)
    }

    fn try_finish(&mut self, now: Now, id: SessionId, direction: Direction) {
        let _ = self.try_finish_checked(now, id, direction);
    }

    fn try_finish_checked(
        &mut self,
        now: Now,
        id: SessionId,
        direction: Direction,
    ) -> Result<(), AgentError> {
        let Some(inc) = self.incoming.get_mut(&(id, direction)) else {
            return Ok(());
        };
        if inc.done.is_some() {
            return Ok(());
        }
        let secret = self.keys.x25519();
        let Some(bytes) = inc.finish(secret, &id, direction)? else {
            return Ok(());
        };
        match direction {
            Direction::Input => self.on_input(id, bytes),
            Direction::Result => self.on_result(now, id, bytes),
        }
        Ok(())
    }

    fn on_input(&mut self, id: SessionId, bytes: Bytes) {
        let limits = self.limits_for_payload();
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let input: TaskInput = match agentnet_core::wire::decode_cbor(&bytes, &limits) {
            Ok(i) => i,
            Err(_) => return,
        };
        if input.capability != job.capability || job.executing {
            return;
        }
        job.executing = true;
        let task = agentnet_core::effect::ExecuteTask {
            requester: job.requester,
            capability: job.capability.clone(),
            topic: job.topic.clone(),
            intent: input.intent,
            task: job.task.0,
        };
        let deadline = job.deliver_by;
        let rid = self.next_request_id();
        self.executing.insert(rid, id);
        self.effect(Effect::Execute {
            id: rid,
            task,
            input: input.input,
            deadline,
        });
    }

    /// Limits for this agent's own stored records (larger than a frame's).
    fn record_limits(&self) -> Limits {
        Limits {
            max_frame: 1 << 24,
            max_bytes_len: 1 << 20,
            max_items: 65_536,
            ..self.limits
        }
    }

    fn limits_for_payload(&self) -> Limits {
        Limits {
            max_frame: self.config.payload.max_payload + 1024,
            max_bytes_len: self.config.payload.max_payload,
            ..self.limits
        }
    }

    fn on_result(&mut self, now: Now, id: SessionId, bytes: Bytes) {
        let Some(rid) = self.by_session.get(&id).copied() else {
            return;
        };
        let Some(t) = self.requests.get_mut(&rid).and_then(|r| r.current.as_mut()) else {
            return;
        };
        if let Some(slot) = t.canaries.get(&id) {
            let provider = t.provider;
            let task = slot.task;
            let _ = self.canaries.handle_delivery(now, task, provider, &bytes);
        } else if t.real == id {
            t.result = Some(bytes);
            t.took_ms = Some(
                now.mono
                    .saturating_duration_since(t.offered_at)
                    .as_millis()
                    .try_into()
                    .unwrap_or(u64::MAX),
            );
            let (provider, receipts) = (t.provider, t.receipts);
            self.event(AgentEvent::Progress {
                request: rid,
                stage: Stage::Delivered { provider, receipts },
            });
            self.check_real(now, rid);
        }
    }

    /// Grade the real task once its result is here and every canary has a verdict.
    fn check_real(&mut self, now: Now, rid: RequestId) {
        let Some(t) = self.requests.get_mut(&rid).and_then(|r| r.current.as_mut()) else {
            return;
        };
        if t.graded || t.result.is_none() || t.canaries.values().any(|c| c.outcome.is_none()) {
            return;
        }
        t.graded = true;
        let passed = t
            .canaries
            .values()
            .all(|c| c.outcome == Some(CanaryOutcome::Passed));
        let grade = Grade::new(if passed { 1_000_000 } else { 0 }, passed);
        let real = t.real;
        let _ = self.sessions.grade(now, real, grade);
    }

    fn on_resend(&mut self, from: LinkId, r: Resend) -> Result<(), AgentError> {
        let key = (r.session, r.direction);
        let out = self.outgoing.get(&key).ok_or(AgentError::UnknownTransfer {
            session: r.session,
            direction: r.direction,
        })?;
        if self.links.get(&from).and_then(|l| l.peer) != Some(out.peer) {
            return Err(AgentError::UnknownTransfer {
                session: r.session,
                direction: r.direction,
            });
        }
        let count = out.chunks.len() as u32;
        let wanted: Vec<u32> = if r.missing.is_empty() {
            (0..count).collect()
        } else {
            r.missing
                .iter()
                .copied()
                .filter(|i| *i < count)
                .take(256)
                .collect()
        };
        let frames: Vec<Bytes> = wanted
            .into_iter()
            .filter_map(|i| {
                encode_frame(
                    wire::CHUNK,
                    &Chunk {
                        session: r.session,
                        direction: r.direction,
                        index: i,
                        count,
                        data: out.chunks[i as usize].clone(),
                    },
                )
                .ok()
            })
            .collect();
        for f in frames {
            self.send(from, f);
        }
        Ok(())
    }

    // =========================================================================================
    // Internals: the funnel
    // =========================================================================================

    /// Close the current try of the request owning session `id` with `verdict` and move on.
    fn end_try(&mut self, now: Now, id: SessionId, verdict: Verdict) {
        self.end_try_paid(now, id, verdict, 0);
    }

    fn end_try_paid(&mut self, now: Now, id: SessionId, verdict: Verdict, payment: u64) {
        let Some(rid) = self.by_session.get(&id).copied() else {
            return;
        };
        let Some(r) = self.requests.get_mut(&rid) else {
            return;
        };
        let Some(t) = r.current.take_if(|t| t.real == id) else {
            return;
        };
        let attempt = Attempt {
            provider: t.provider,
            topic: t.topic.clone(),
            tier: t.tier,
            verdict: verdict.clone(),
        };
        r.attempts.push(attempt.clone());
        self.event(AgentEvent::Progress {
            request: rid,
            stage: Stage::Verdict(attempt),
        });
        self.observe(&verdict);
        let canonical = self.canonical(&t.provider);
        // A check whose canaries were all answered (accepted) or one of which failed teaches
        // the canary depth; other endings (timeouts, evidence) say nothing about canaries.
        let checked = t.canaries.len();
        if matches!(verdict, Verdict::Accepted | Verdict::CanaryFailed) {
            let class = self.class_of(&t.provider, &t.capability);
            self.depth
                .record(class, checked, verdict == Verdict::CanaryFailed);
        }
        let evicted = match &verdict {
            Verdict::Accepted => self.observations.record_success(
                canonical,
                &t.capability,
                t.took_ms.unwrap_or(0),
                payment,
                now.wall,
            ),
            Verdict::CanaryFailed
            | Verdict::Rejected
            | Verdict::EvidenceRejected
            | Verdict::Fraud
            | Verdict::TimedOut(_) => {
                self.observations
                    .record_failure(canonical, &t.capability, now.wall)
            }
            _ => None,
        };
        // Observations (and demotions) survive a restart: a requester that comes back must
        // not hand its next task to the provider that just drifted.
        self.observed_dirty
            .insert((canonical, t.capability.clone()));
        self.observed_dirty.extend(evicted);
        if verdict == Verdict::Accepted {
            // A provider that delivered a checked result has standing in the gossip tables:
            // a flood of fresh identities cannot evict its log or its descriptors. The set is
            // bounded (`gossip.max_standing`); when full, later providers simply go without.
            // Its identity chain likewise stays in a full registry.
            let _ = self.gossip.set_standing(now, t.provider, true);
            self.registry.vouch(&t.provider);
            let result = t.result.unwrap_or_default();
            self.complete(rid, Ok(result), Some(t.provider), payment);
        } else {
            self.next_attempt(now, rid);
        }
    }

    fn complete(
        &mut self,
        rid: RequestId,
        result: Result<Bytes, String>,
        provider: Option<AgentId>,
        payment: u64,
    ) {
        let Some(r) = self.requests.remove(&rid) else {
            return;
        };
        self.by_session.retain(|_, v| *v != rid);
        self.event(AgentEvent::Completed(Box::new(TaskOutcome {
            request: rid,
            result,
            provider,
            tier: r.tier,
            attempts: r.attempts,
            payment,
        })));
    }

    /// Try the next candidate, or end the request.
    fn next_attempt(&mut self, now: Now, rid: RequestId) {
        loop {
            let Some(r) = self.requests.get_mut(&rid) else {
                return;
            };
            if r.tries >= self.config.funnel.max_attempts {
                let why = format!("{} providers tried, none delivered", r.tries);
                self.complete(rid, Err(why), None, 0);
                return;
            }
            let Some(c) = r.queue.pop_front() else {
                let why = if r.tries == 0 && r.attempts.is_empty() {
                    "no candidate found".to_string()
                } else {
                    "no candidate left".to_string()
                };
                self.complete(rid, Err(why), None, 0);
                return;
            };
            let tier = r.tier;
            let provider = c.descriptor.provider;
            let topic = c.descriptor.topic.clone();
            match self.gate(&c) {
                Ok(()) => {}
                Err(verdict) => {
                    let attempt = Attempt {
                        provider,
                        topic: topic.clone(),
                        tier,
                        verdict,
                    };
                    let r = self.requests.get_mut(&rid).expect("present");
                    r.attempts.push(attempt.clone());
                    self.event(AgentEvent::Progress {
                        request: rid,
                        stage: Stage::Verdict(attempt),
                    });
                    continue;
                }
            }
            match self.offer_to(now, rid, &c, tier, &topic) {
                Ok(()) => return,
                Err(verdict) => {
                    let attempt = Attempt {
                        provider,
                        topic: topic.clone(),
                        tier,
                        verdict,
                    };
                    let r = self.requests.get_mut(&rid).expect("present");
                    r.tries += 1;
                    r.attempts.push(attempt.clone());
                    self.event(AgentEvent::Progress {
                        request: rid,
                        stage: Stage::Verdict(attempt),
                    });
                }
            }
        }
    }

    /// Whether this agent has seen `provider` deliver `capability` (a checked, accepted
    /// result): the class the canary depth is estimated for.
    fn class_of(&self, provider: &AgentId, capability: &str) -> agentnet_trust::depth::Class {
        let proven = self
            .observations
            .get(&self.canonical(provider), capability)
            .is_some_and(|o| o.success > 0.0);
        if proven {
            agentnet_trust::depth::Class::Proven
        } else {
            agentnet_trust::depth::Class::Stranger
        }
    }

    /// The checks before any offer: not convicted, tier-1 reputation, reachable.
    fn gate(&mut self, c: &Candidate) -> Result<(), Verdict> {
        let provider = c.descriptor.provider;
        if self.is_convicted(&provider) {
            return Err(Verdict::Convicted);
        }
        let canonical = self.canonical(&provider);
        let topic = &c.descriptor.topic;
        let score = self.reputation.score(&canonical, topic);
        let net_failures = self
            .ledger
            .tally(topic, &canonical, agentnet_core::WallTime::UNIX_EPOCH)
            .is_some_and(|t| t.neg * self.ledger.config().failure_weight > t.pos);
        if score < self.config.funnel.min_reputation || net_failures {
            return Err(Verdict::BelowReputation { score });
        }
        if !self.routes.contains_key(&provider) || self.registry.resolve(&provider).is_none() {
            return Err(Verdict::Unreachable);
        }
        Ok(())
    }

    /// The rules offered at `tier`: a leader's current mechanism (its verification clause set
    /// to the tier the risk policy chose, deadlines from the terms if it has none), otherwise
    /// the configured terms.
    fn mechanism(&self, tier: Tier) -> Result<Signed<Mechanism>, Verdict> {
        let t = &self.config.terms;
        let fixed = Mechanism::new(
            self.me,
            "agentnet-terms",
            t.flat.saturating_add(t.bonus),
            t.clauses(tier),
        );
        let m = match &self.leader {
            None => fixed,
            Some(l) => {
                let mut m = l.mloop.incumbent().clone();
                m.leader = self.me;
                m.set(agentnet_mech::mechanism::Clause::Verification { tier });
                if m.clause(agentnet_mech::mechanism::ClauseKind::Deadlines)
                    .is_none()
                {
                    for c in t.clauses(tier) {
                        if c.kind() == agentnet_mech::mechanism::ClauseKind::Deadlines {
                            m.set(c);
                        }
                    }
                }
                if m.validate().is_ok() { m } else { fixed }
            }
        };
        Signed::sign(&self.keys, m).map_err(|e| Verdict::Failed(e.to_string()))
    }

    /// A leading agent's mechanism loop (read-only): its suite of observed scenarios, its
    /// iteration history and its incumbent.
    pub fn mechanism_loop(&self) -> Option<&agentnet_mech::stackelberg::MechanismLoop> {
        self.leader.as_ref().map(|l| &l.mloop)
    }

    /// The rules this agent offers now at tier 1 (a leader's loop incumbent, or the terms).
    pub fn current_mechanism(&self) -> Mechanism {
        match self.mechanism(Tier::Reputation) {
            Ok(m) => m.into_value(),
            Err(_) => Mechanism::new(self.me, "agentnet-terms", 0, []),
        }
    }

    /// A leader records how a settled real task went; every
    /// [`LeaderConfig::outcomes_per_scenario`] outcomes become one scenario of its loop.
    fn observe(&mut self, verdict: &Verdict) {
        let Some(l) = self.leader.as_mut() else {
            return;
        };
        let o = match verdict {
            Verdict::Accepted => Observed::Honest,
            Verdict::Fraud => Observed::Adversarial,
            Verdict::CanaryFailed
            | Verdict::Rejected
            | Verdict::EvidenceRejected
            | Verdict::TimedOut(_) => Observed::Lazy,
            _ => return,
        };
        l.observed.push(o);
        if l.observed.len() < l.per_scenario {
            return;
        }
        let seen = core::mem::take(&mut l.observed);
        let share =
            |k: Observed| seen.iter().filter(|o| **o == k).count() as f64 / seen.len() as f64;
        use agentnet_mech::follower::FollowerType;
        let population: Vec<FollowerType> = [
            (
                share(Observed::Honest),
                FollowerType::honest as fn(f64) -> FollowerType,
            ),
            (share(Observed::Lazy), FollowerType::lazy),
            (share(Observed::Adversarial), FollowerType::adversarial),
        ]
        .into_iter()
        .filter(|(s, _)| *s > 0.0)
        .map(|(s, make)| make(s))
        .collect();
        l.scenarios += 1;
        let scenario = agentnet_mech::evaluate::Scenario {
            name: format!("observed-{}", l.scenarios),
            population,
            env: agentnet_mech::follower::Environment::default(),
        };
        // A full suite keeps the scenarios it has (every accepted rule must still pass them).
        let _ = l.mloop.add_scenario(scenario);
    }

    fn random_hash(&mut self) -> Hash {
        let mut b = [0u8; 32];
        self.rng.fill_bytes(&mut b);
        Hash(b)
    }

    fn offer_to(
        &mut self,
        now: Now,
        rid: RequestId,
        c: &Candidate,
        tier: Tier,
        topic: &Topic,
    ) -> Result<(), Verdict> {
        let provider = c.descriptor.provider;
        let capability = c.descriptor.capability.clone();
        let link = *self.routes.get(&provider).ok_or(Verdict::Unreachable)?;
        self.ensure_topic(topic);
        let r = self
            .requests
            .get(&rid)
            .ok_or(Verdict::Failed("gone".into()))?;
        let intent = r.task.intent.clone();
        let input = r.task.input.clone();
        // Tier 2 needs canaries this provider has not seen; otherwise check it at tier 3.
        // Tier 3 interleaves them too when the request carries some (evidence is added to
        // the canaries, not put in their place).
        let mut cases = Vec::new();
        if tier >= Tier::Canary {
            let depth = self.depth.depth(self.class_of(&provider, &capability));
            for case in &r.task.canaries {
                let key = Hash::digest(agentnet_core::hash::domain::CANARY_CASE, &case.input);
                if cases.len() < depth
                    && !self.canary_uses.contains(&(key, self.canonical(&provider)))
                {
                    cases.push((key, case.clone()));
                }
            }
        }
        let tier = if tier == Tier::Canary && cases.is_empty() {
            Tier::Evidence
        } else {
            tier
        };
        let mechanism = self.mechanism(tier)?;
        let encode = |input: &Bytes| {
            agentnet_core::wire::encode_cbor(&TaskInput {
                capability: capability.clone(),
                intent: intent.clone(),
                input: input.clone(),
            })
            .map(Bytes::from)
        };
        let spec = |id: Hash| {
            TaskSpec::new(
                TaskId(id),
                topic.clone(),
                payload_hash(capability.as_bytes()),
            )
        };
        // The real task and the canaries, offered in a random order.
        let mut order: Vec<Option<usize>> = (0..cases.len()).map(Some).collect();
        order.push(None);
        for i in (1..order.len()).rev() {
            let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut inputs = BTreeMap::new();
        let mut canaries = BTreeMap::new();
        let mut real = None;
        let timeout =
            self.config.terms.commit + self.config.terms.execute + self.config.terms.settle;
        for slot in order {
            let task_id = self.random_hash();
            let bytes = match slot {
                None => encode(&input),
                Some(i) => encode(&cases[i].1.input),
            }
            .map_err(|e| Verdict::Failed(e.to_string()))?;
            let sid = self
                .sessions
                .offer(now, provider, link, spec(task_id), mechanism.clone())
                .map_err(|e| Verdict::Failed(e.to_string()))?;
            self.by_session.insert(sid, rid);
            inputs.insert(sid, bytes);
            match slot {
                None => real = Some(sid),
                Some(i) => {
                    let (key, case) = &cases[i];
                    let _ = self.canaries.issue(
                        now,
                        task_id,
                        provider,
                        topic.clone(),
                        if case.trailing_newline {
                            let mut nl = case.expected.to_vec();
                            nl.push(b'\n');
                            Expected::AnyOf(vec![answer_hash(&case.expected), answer_hash(&nl)])
                        } else {
                            Expected::exact(&case.expected)
                        },
                        timeout,
                    );
                    let peer = self.canonical(&provider);
                    self.canary_uses.insert((*key, peer));
                    canaries.insert(
                        sid,
                        CanarySlot {
                            task: task_id,
                            outcome: None,
                        },
                    );
                }
            }
        }
        let real = real.expect("the real task is always offered");
        let clauses = mechanism.clauses.iter().map(|c| c.text()).collect();
        let n = canaries.len();
        let pad_to = inputs.values().map(Bytes::len).max().unwrap_or(0);
        let r = self.requests.get_mut(&rid).expect("present");
        r.tries += 1;
        r.current = Some(Try {
            pad_to,
            capability: capability.clone(),
            offered_at: now.mono,
            took_ms: None,
            provider,
            topic: topic.clone(),
            tier,
            real,
            inputs,
            canaries,
            result: None,
            receipts: 0,
            evidence_rejected: false,
            graded: false,
        });
        self.event(AgentEvent::Progress {
            request: rid,
            stage: Stage::Offered {
                provider,
                tier,
                clauses,
                canaries: n,
            },
        });
        Ok(())
    }

    // =========================================================================================
    // Internals: trust plane
    // =========================================================================================

    /// Make `topic` one of the reputation engine's topics (bounded by its `max_topics`; a
    /// full table leaves new topics without reputation, never evicts an existing one).
    fn ensure_topic(&mut self, topic: &Topic) {
        if self.reputation.topics().any(|t| t == topic) {
            return;
        }
        let e = self.encoder.encode(topic.as_str());
        let _ = self.reputation.add_topic(topic.clone(), e);
    }

    /// Verify a fraud proof and act on it once: ledger, slashing, open sessions, relay.
    fn on_proof(
        &mut self,
        now: Now,
        proof: FraudProof,
        from: Option<LinkId>,
    ) -> Result<(), AgentError> {
        let id = proof.id();
        if self.proofs.contains(&id) {
            return Ok(());
        }
        let offence = proof.verify(&self.limits)?;
        self.proofs.insert(id);
        let canonical = self.canonical(&offence.offender);
        if canonical == self.me {
            return Ok(());
        }
        // Free keys are free: anyone can mint a valid proof against an identity of its own
        // (sign two contradicting headers with a fresh key). Relayed to everyone, persisted and
        // kept in every table, such proofs would be a flood and a remote disk and memory fill
        // at the price of a key. A proof relayed against an offender with no standing here
        // (no ledger row, no reputation, no attestation, no session with this agent) changes
        // nothing this agent acts on but its next choice of provider: it is remembered in a
        // bounded set (`is_convicted` is true while it is held), not persisted, not relayed.
        // Proofs this agent found itself, and against offenders with standing, take the full
        // path below.
        if from.is_some() && !self.has_standing(now, &canonical) {
            self.convicted_strangers.insert(canonical);
            self.event(AgentEvent::Convicted {
                offender: offence.offender,
                canonical,
                kind: offence.kind,
                proof: id,
                from,
            });
            return Ok(());
        }
        let topics: Vec<Topic> = self.ledger.topics().cloned().collect();
        self.ledger.record_offence(canonical, &offence);
        for t in topics {
            self.ledger_dirty.insert((t, canonical));
        }
        self.batch.push(Record::put(
            tables::FRAUD_PROOF,
            id.0.to_vec(),
            proof.to_frame(),
        ));
        if let Some((old, who, still)) = self.stored_proofs.push(id, canonical) {
            self.batch
                .push(Record::delete(tables::FRAUD_PROOF, old.0.to_vec()));
            if !still {
                self.ledger.forget_conviction(&who);
            }
        }
        self.book.forget(&canonical);
        // The registry blames a principal only when an issuer attested that the chain
        // belongs to it. A slashed agent reads 0 at once; the others' scores follow at the
        // next trust round (no recompute per proof: proofs are cheap to mint against one's
        // own free keys).
        let culprit = self.registry.culprit(&offence);
        let _ = self.reputation.slash(&culprit, &offence);
        // Open sessions with the offender are left to their own checks: a proof slashes only
        // the deposit of the session whose delivery it convicts (the session engine settles
        // that one as fraud when the delivery arrives), never a later, unrelated one.
        self.broadcast(&proof.to_frame(), from);
        self.event(AgentEvent::Convicted {
            offender: offence.offender,
            canonical,
            kind: offence.kind,
            proof: id,
            from,
        });
        Ok(())
    }

    /// Whether `canonical` has anything here a conviction would change: a ledger row, a
    /// reputation above zero, an issuer's attestation, or a session with this agent.
    fn has_standing(&self, now: Now, canonical: &AgentId) -> bool {
        self.ledger
            .topics()
            .any(|t| self.ledger.tally(t, canonical, now.wall).is_some())
            || self
                .reputation
                .topics()
                .any(|t| self.reputation.score(canonical, t) > 0.0)
            || self.registry.resolve(canonical).is_some_and(|r| r.attested)
            || self.sessions.ids().any(|sid| {
                self.sessions.session(sid).is_some_and(|s| {
                    self.canonical(&s.provider) == *canonical
                        || self.canonical(&s.requester) == *canonical
                })
            })
    }

    fn on_report(&mut self, now: Now, frame: &Bytes) -> Result<(), AgentError> {
        let report = Signed::<TrustReport>::from_frame(frame, &self.limits)?;
        // A report dated ahead of this clock (beyond the skew the gossip plane allows) would
        // never age here, and would lock out the reporter's honest later reports (report
        // times may not go backwards): refused.
        let skew = self.config.gossip.header_rules.max_skew;
        if report.at > now.wall + skew {
            return Err(agentnet_trust::report::ReportError::Malformed(
                "report dated in the future",
            )
            .into());
        }
        // Only topics this agent itself works in: peers cannot grow its tables.
        if !self.reputation.topics().any(|t| *t == report.topic) {
            return Ok(());
        }
        let reporter = self.canonical(&report.signer());
        if self.is_convicted(&reporter) {
            return Ok(());
        }
        // The reporter's reputation in the topic decides who keeps a place when the topic's
        // rows are full (weightless keys can only push out each other).
        let weight = self.reputation.score(&reporter, &report.topic);
        self.book.apply_weighted(&report, weight)?;
        Ok(())
    }

    /// Send salient trust reports and recompute reputation.
    fn trust_round(&mut self, now: Now) {
        let topics: Vec<Topic> = self.reputation.topics().cloned().collect();
        let mut reported = false;
        for topic in &topics {
            let row = self.ledger.row(topic, now.wall);
            if let Ok(Some(report)) = self.reports.next_report(&self.keys, topic, &row, now.wall) {
                let frame = report.to_frame();
                self.broadcast(&frame, None);
                reported = true;
            }
            let own: Vec<(AgentId, f32, f32)> = row
                .iter()
                .map(|(p, t)| (*p, t.pos as f32, t.neg as f32))
                .collect();
            let _ = self.reputation.set_row(self.me, topic, own);
            let reporters: Vec<AgentId> = self.book.rows(topic).map(|(r, _)| *r).collect();
            // Rows of reporters the book no longer holds (it gave their place to others)
            // leave too, so the ids they named stop holding places in the reputation table.
            let held: BTreeSet<AgentId> = reporters.iter().map(|r| self.canonical(r)).collect();
            for gone in self.reputation.reporters(topic) {
                if gone != self.me && !held.contains(&gone) {
                    self.reputation.remove_row(&gone, topic);
                }
            }
            for reporter in reporters {
                let entries = self.book.row_at(topic, &reporter, now.wall);
                let canonical = self.canonical(&reporter);
                let _ = self.reputation.set_row(canonical, topic, entries);
            }
        }
        let known: Vec<AgentId> = self.routes.keys().map(|k| self.canonical(k)).collect();
        for a in known {
            if self.reputation.stake(&a) == (0.0, 0.0, 0.0) && !self.reputation.is_slashed(&a) {
                let _ = self.reputation.set_stake(a, self.config.default_stake);
            }
        }
        let _ = self.reputation.recompute();
        if reported {
            // The builder's seqs must survive a restart, or peers refuse the next reports as
            // stale. Written in this turn's batch, before the reports leave.
            let list: Vec<serde_bytes::ByteBuf> = self
                .reports
                .export()
                .into_iter()
                .map(|b| serde_bytes::ByteBuf::from(b.to_vec()))
                .collect();
            if let Ok(v) = agentnet_core::wire::encode_cbor(&list) {
                self.batch
                    .push(Record::put(tables::REPORTS, b"all".to_vec(), v));
            }
        }
    }

    // =========================================================================================
    // Internals: the link handshake
    // =========================================================================================

    fn on_hello(&mut self, from: LinkId, hello: Hello) {
        let Some(link) = self.links.get_mut(&from) else {
            return;
        };
        if link.hellos_answered >= MAX_HELLOS_PER_LINK {
            return;
        }
        link.hellos_answered += 1;
        // The identity chain first: links deliver in order, so by the time the peer accepts
        // the proof (and starts using the link as a route) it can resolve this agent's keys.
        let principal = self.config.identity.principal;
        let entries: Vec<Bytes> = self
            .chain
            .iter()
            .map(|e| e.to_frame())
            .chain(
                self.own_attestations
                    .iter()
                    .filter(|a| a.principal == principal)
                    .map(|a| a.to_frame()),
            )
            .collect();
        for e in entries {
            self.send(from, e);
        }
        let proof = HelloProof {
            nonce: hello.nonce,
            agent: self.me,
        };
        if let Ok(signed) = Signed::sign(&self.keys, proof) {
            self.send(from, signed.to_frame());
        }
    }

    fn on_hello_proof(&mut self, now: Now, from: LinkId, frame: &Bytes) -> Result<(), AgentError> {
        let proof = Signed::<HelloProof>::from_frame(frame, &self.limits)?;
        let link = self
            .links
            .get_mut(&from)
            .filter(|l| l.peer.is_none() && l.nonce == proof.nonce)
            .ok_or(AgentError::BadHandshake(from))?;
        let agent = proof.agent;
        link.peer = Some(agent);
        // The newest verified link is the route; an older one stays usable for frames in
        // flight and takes over if this one goes down.
        self.routes.insert(agent, from);
        let topics: Vec<Topic> = self.reputation.topics().cloned().collect();
        for t in &topics {
            self.reports.force_full(t);
        }
        // Sessions restored from disk (or whose link went down) continue on this link, and
        // transfers waiting on this agent ask for their chunks now.
        self.sessions.resume_with(agent, from);
        for inc in self.incoming.values_mut() {
            if inc.peer == agent {
                inc.resend_at = now.mono;
            }
        }
        self.event(AgentEvent::PeerUp { link: from, agent });
        Ok(())
    }

    /// Turn this turn's durable changes into one [`Effect::Persist`].
    fn flush_batch(&mut self) {
        let dirty = core::mem::take(&mut self.ledger_dirty);
        for (topic, peer) in dirty {
            let mut key = topic.as_str().as_bytes().to_vec();
            key.push(0);
            key.extend_from_slice(peer.as_bytes());
            let r = match self.ledger.record(&topic, &peer) {
                Some(rec) => match encode_row(&rec) {
                    Ok(v) => Record::put(tables::LEDGER_ROW, key, v),
                    Err(_) => continue,
                },
                None => Record::delete(tables::LEDGER_ROW, key),
            };
            self.batch.push(r);
        }
        let dirty = core::mem::take(&mut self.observed_dirty);
        for (provider, capability) in dirty {
            let mut key = provider.as_bytes().to_vec();
            key.extend_from_slice(capability.as_bytes());
            let r = match self.observations.get(&provider, &capability) {
                Some(o) => match encode_observed(&provider, &capability, o) {
                    Ok(v) => Record::put(tables::SELECTION_OBSERVED, key, v),
                    Err(_) => continue,
                },
                None => Record::delete(tables::SELECTION_OBSERVED, key),
            };
            self.batch.push(r);
        }
        if self.batch.is_empty() {
            return;
        }
        let id = self.next_request_id();
        let records = core::mem::take(&mut self.batch);
        // A host that never completes its persists must not grow this table: the oldest
        // batch is forgotten (its own log heads then stay unpublished until re-announced).
        if self.persisting.len() >= self.config.max_queued {
            self.persisting.pop_first();
            self.event(AgentEvent::Overflow(Overflow {
                queue: "persisting",
                dropped: 1,
            }));
        }
        self.persisting
            .insert(id, core::mem::take(&mut self.batch_acks));
        self.effect(Effect::Persist { id, records });
    }

    fn route_message(&mut self, now: Now, from: LinkId, payload: Bytes) -> Result<(), AgentError> {
        let kind = peek_kind(&payload)
            .ok_or(agentnet_core::wire::WireError::TruncatedHeader { len: payload.len() })?;
        match kind.plane() {
            Plane::Gossip => self
                .gossip
                .handle_message(now, from, payload)
                .map_err(|e| AgentError::Gossip(e.to_string())),
            Plane::Trust => match kind {
                agentnet_trust::wire::BINDING | agentnet_trust::wire::ATTESTATION => {
                    Ok(self.registry.handle_message(now, from, payload)?)
                }
                agentnet_trust::wire::FRAUD_PROOF => {
                    let (proof, _) = FraudProof::from_frame(&payload, &self.limits)?;
                    self.on_proof(now, proof, Some(from))
                }
                agentnet_trust::wire::TRUST_REPORT => self.on_report(now, &payload),
                other => Err(AgentError::UnknownKind(other.0)),
            },
            Plane::Execution => Ok(self.sessions.handle_message(now, from, payload)?),
            Plane::Payload => match kind {
                wire::HELLO => {
                    let h: Hello = decode_frame_as(&payload, wire::HELLO, &self.limits)?;
                    self.on_hello(from, h);
                    Ok(())
                }
                wire::HELLO_PROOF => self.on_hello_proof(now, from, &payload),
                wire::CHUNK => {
                    let c: Chunk = decode_frame_as(&payload, wire::CHUNK, &self.limits)?;
                    self.on_chunk(now, from, c)
                }
                wire::RESEND => {
                    let r: Resend = decode_frame_as(&payload, wire::RESEND, &self.limits)?;
                    self.on_resend(from, r)
                }
                other => Err(AgentError::UnknownKind(other.0)),
            },
            _ => Err(AgentError::UnknownKind(kind.0)),
        }
    }
}

impl Engine for Agent {
    type Event = AgentEvent;
    type Error = AgentError;

    fn handle_message(&mut self, now: Now, from: LinkId, payload: Bytes) -> Result<(), AgentError> {
        self.tick(now);
        let kind = peek_kind(&payload);
        if let Some(p) = self.traffic.plane(kind) {
            p.received_frames += 1;
            p.received_bytes += payload.len() as u64;
        }
        let r = self.route_message(now, from, payload);
        self.pump(now);
        r
    }

    fn handle_timeout(&mut self, now: Now) {
        self.tick(now);
        self.gossip.handle_timeout(now);
        self.registry.handle_timeout(now);
        self.sessions.handle_timeout(now);
        self.canaries.handle_timeout(now);
        if let Some(l) = self.leader.as_mut() {
            l.mloop.handle_timeout(now);
        }
        let cfg = self.config.payload;
        let mut resends = Vec::new();
        for ((sid, dir), inc) in self.incoming.iter_mut() {
            // Only when the counterparty is reachable: an attempt is not spent into the void.
            if let Some(link) = self.routes.get(&inc.peer)
                && let Some(missing) = inc.due_resend(&cfg, now.mono)
            {
                resends.push((*link, *sid, *dir, missing));
            }
        }
        for (link, session, direction, missing) in resends {
            if let Ok(f) = encode_frame(
                wire::RESEND,
                &Resend {
                    session,
                    direction,
                    missing,
                },
            ) {
                self.send(link, f);
            }
        }
        if now.mono >= self.next_trust {
            self.next_trust = now.mono + self.config.trust_interval;
            self.trust_round(now);
        }
        self.pump(now);
    }

    fn handle_link_up(&mut self, now: Now, link: LinkId) {
        self.tick(now);
        let mut nonce = [0u8; 16];
        self.rng.fill_bytes(&mut nonce);
        self.links.insert(
            link,
            Link {
                nonce,
                peer: None,
                hellos_answered: 0,
            },
        );
        if let Ok(f) = encode_frame(wire::HELLO, &Hello { nonce }) {
            self.send(link, f);
        }
        self.gossip.handle_link_up(now, link);
        self.sessions.handle_link_up(now, link);
        self.registry.handle_link_up(now, link);
        self.pump(now);
    }

    fn handle_link_down(&mut self, now: Now, link: LinkId) {
        self.tick(now);
        let agent = self.links.remove(&link).and_then(|l| l.peer);
        if let Some(a) = agent
            && self.routes.get(&a) == Some(&link)
        {
            // Another verified link to the same agent (a simultaneous dial, a reconnect)
            // becomes the route.
            match self
                .links
                .iter()
                .find(|(_, l)| l.peer == Some(a))
                .map(|(id, _)| *id)
            {
                Some(other) => {
                    self.routes.insert(a, other);
                }
                None => {
                    self.routes.remove(&a);
                }
            }
        }
        self.gossip.handle_link_down(now, link);
        self.sessions.handle_link_down(now, link);
        self.registry.handle_link_down(now, link);
        self.event(AgentEvent::PeerDown { link, agent });
        self.pump(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        let t = self.transmits.pop()?;
        if let Some(p) = self.traffic.plane(peek_kind(&t.payload)) {
            p.sent_frames += 1;
            p.sent_bytes += t.payload.len() as u64;
        }
        Some(t)
    }

    /// Drops of this agent's own queues not yet reported come first (one
    /// [`AgentEvent::Overflow`] per queue; the reports take no queue slot), then the queued
    /// events in order (engines' overflows among them, queues named `"gossip.transmits"`, …).
    fn poll_event(&mut self) -> Option<AgentEvent> {
        let report = self
            .transmits
            .take_overflow()
            .or_else(|| self.effects.take_overflow())
            .or_else(|| self.events.take_overflow());
        if let Some(o) = report {
            return Some(AgentEvent::Overflow(o));
        }
        self.events.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.timeout
    }
}

/// The tables an [`Agent`] persists ([`Record::table`]).
pub mod tables {
    /// A topic this agent follows (key: the topic; empty value).
    pub const GOSSIP_TOPIC: &str = "gossip.topic";
    /// An own log head per topic (key: the topic).
    pub const GOSSIP_HEAD: &str = "gossip.head";
    /// An accepted header of another author (key: topic, 0, author, seq; expires with it).
    pub const GOSSIP_HEADER: &str = "gossip.header";
    /// An accepted descriptor (key: provider, capability; expires with it).
    pub const GOSSIP_DESCRIPTOR: &str = "gossip.descriptor";
    /// An identity chain entry (key: the hash of its frame).
    pub const IDENTITY_ENTRY: &str = "identity.entry";
    /// A ledger row (key: topic, 0, peer).
    pub const LEDGER_ROW: &str = "ledger.row";
    /// A verified fraud proof (key: its id).
    pub const FRAUD_PROOF: &str = "fraud.proof";
    /// A task session's record (key: the session id), from the session engine.
    pub const SESSION: &str = "session";
    /// What this agent serves in a session it accepted (key: the session id).
    pub const JOB: &str = "agent.job";
    /// An issuer's attestation of this agent's own principal (key: its hash).
    pub const OWN_ATTESTATION: &str = "identity.own_attestation";
    /// The trust report builder's state (key: `all`), so report seqs continue after a restart.
    pub const REPORTS: &str = "report.builder";
    /// What this agent observed of a provider for a capability, for selection and demotion
    /// (key: provider, capability).
    pub const SELECTION_OBSERVED: &str = "selection.observed";
}

/// What [`Agent::restore`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Records taken back.
    pub restored: usize,
    /// Records refused.
    pub refused: usize,
    /// The first reasons (at most 8): table and why.
    pub reasons: Vec<(String, String)>,
}

impl RestoreReport {
    fn refuse(&mut self, table: &str, why: impl ToString) {
        self.refused += 1;
        self.note(table, why);
    }

    fn note(&mut self, table: &str, why: impl ToString) {
        if self.reasons.len() < 8 {
            self.reasons.push((table.to_string(), why.to_string()));
        }
    }
}

fn decode_head(value: &[u8], limits: &Limits) -> Result<agentnet_gossip::OwnHead, String> {
    type Head = (
        String,
        u64,
        serde_bytes::ByteBuf,
        Option<serde_bytes::ByteBuf>,
    );
    let (topic, seq, header, body): Head =
        agentnet_core::wire::decode_cbor(value, limits).map_err(|e| e.to_string())?;
    Ok(agentnet_gossip::OwnHead {
        topic: Topic::new(&topic).map_err(|e| e.to_string())?,
        seq,
        header: Bytes::from(header.into_vec()),
        body: body.map(|b| Bytes::from(b.into_vec())),
    })
}

/// A ledger row as (topic, peer, pos and neg as IEEE-754 bits, time in Unix ms): integers only,
/// so the record decodes under the strict CBOR checker.
fn encode_row(r: &LedgerRecord) -> Result<Vec<u8>, agentnet_core::wire::WireError> {
    agentnet_core::wire::encode_cbor(&(
        r.topic.as_str(),
        r.peer,
        r.tally.pos.to_bits(),
        r.tally.neg.to_bits(),
        r.tally.at.as_unix_millis(),
    ))
}

/// The store key of a peer's header: topic, a zero byte, author, seq (big-endian).
fn header_key(topic: &Topic, author: &AgentId, seq: u64) -> Vec<u8> {
    let mut key = topic.as_str().as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(author.as_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The store key of an identity entry or attestation: a hash of its frame.
fn identity_record_key(frame: &Bytes) -> Vec<u8> {
    Hash::digest(agentnet_core::hash::domain::RECORD_KEY, frame)
        .0
        .to_vec()
}

/// The store key of a descriptor: provider, capability.
fn descriptor_key(provider: &AgentId, capability: &str) -> Vec<u8> {
    let mut key = provider.as_bytes().to_vec();
    key.extend_from_slice(capability.as_bytes());
    key
}

/// A selection observation as a record: floats as their IEEE-754 bits (canonical CBOR has
/// no floats), so a restart restores them exactly.
fn encode_observed(
    provider: &AgentId,
    capability: &str,
    o: &agentnet_trust::select::Observed,
) -> Result<Vec<u8>, agentnet_core::wire::WireError> {
    agentnet_core::wire::encode_cbor(&(
        provider,
        capability,
        o.count,
        o.success.to_bits(),
        o.latency_ms.to_bits(),
        o.cost_micros.to_bits(),
        o.last_failure.map(|t| t.as_unix_millis()),
        o.at.as_unix_millis(),
    ))
}

type ObservedRecord = (AgentId, String, agentnet_trust::select::Observed);

fn decode_observed(value: &[u8], limits: &Limits) -> Result<ObservedRecord, String> {
    type Raw = (AgentId, String, u32, u64, u64, u64, Option<u64>, u64);
    let (provider, capability, count, success, latency, cost, failed, at): Raw =
        agentnet_core::wire::decode_cbor(value, limits).map_err(|e| e.to_string())?;
    Ok((
        provider,
        capability,
        agentnet_trust::select::Observed {
            count,
            success: f64::from_bits(success),
            latency_ms: f64::from_bits(latency),
            cost_micros: f64::from_bits(cost),
            last_failure: failed.map(agentnet_core::WallTime::from_unix_millis),
            at: agentnet_core::WallTime::from_unix_millis(at),
        },
    ))
}

fn decode_row(value: &[u8], limits: &Limits) -> Result<LedgerRecord, String> {
    let (topic, peer, pos, neg, at): (String, AgentId, u64, u64, u64) =
        agentnet_core::wire::decode_cbor(value, limits).map_err(|e| e.to_string())?;
    let (pos, neg) = (f64::from_bits(pos), f64::from_bits(neg));
    if !(pos.is_finite() && neg.is_finite() && pos >= 0.0 && neg >= 0.0) {
        return Err("tally negative or not finite".into());
    }
    Ok(LedgerRecord {
        topic: Topic::new(&topic).map_err(|e| e.to_string())?,
        peer,
        tally: agentnet_trust::ledger::Tally {
            pos,
            neg,
            at: agentnet_core::WallTime::from_unix_millis(at),
        },
    })
}

fn decode_job(key: &[u8], value: &[u8], limits: &Limits) -> Result<(SessionId, Job), String> {
    let id: [u8; 32] = key
        .try_into()
        .map_err(|_| "key is not a session id".to_string())?;
    let (requester, capability, topic, task, tier): (AgentId, String, String, Hash, u8) =
        agentnet_core::wire::decode_cbor(value, limits).map_err(|e| e.to_string())?;
    let tier = Tier::ALL
        .into_iter()
        .find(|t| *t as u8 == tier)
        .ok_or_else(|| format!("tier {tier}"))?;
    Ok((
        SessionId(Hash(id)),
        Job {
            requester,
            capability,
            topic: Topic::new(&topic).map_err(|e| e.to_string())?,
            task: TaskId(task),
            tier,
            input_hash: None,
            deliver_by: agentnet_core::Instant::ZERO,
            delegated_at: agentnet_core::WallTime::UNIX_EPOCH,
            executing: false,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proof_store_is_bounded_and_gives_up_the_oldest() {
        let id = |n: u8| Hash([n; 32]);
        let who = |n: u8| Keypair::from_seed([n; 32]).id();
        let mut s = StoredProofs::new(3);
        assert_eq!(s.push(id(1), who(1)), None);
        assert_eq!(s.push(id(2), who(2)), None);
        assert_eq!(s.push(id(3), who(1)), None);
        // Full: the oldest proof goes; a kept proof still names its offender.
        assert_eq!(s.push(id(4), who(4)), Some((id(1), who(1), true)));
        // Then the offender's last proof goes, and nothing names it any more.
        assert_eq!(s.push(id(5), who(5)), Some((id(2), who(2), false)));
        assert_eq!(s.push(id(6), who(6)), Some((id(3), who(1), false)));
        assert_eq!(s.order.len(), 3);
    }
}
