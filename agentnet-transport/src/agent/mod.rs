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
//! [`Agent::request_by_intent`] puts a task to the network as a signed intent instead of
//! picking from descriptors: providers whose [`ServePolicy::bid`] matches answer with signed
//! bids, an auction awards it (counter-offers when no bid fits the budget), and the award
//! runs the funnel above (see [`intents`]). [`Agent::workflow`] chains requests, a step's input
//! being an earlier step's result (see [`Workflow`]). [`Agent::announce_state`] states this
//! agent's load and availability as short-lived soft state.
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
//!         Embed    → embed the texts (a remote encoder), then agent.handle_embedded
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
mod discovery;
mod embed;
mod events;
mod identity;
pub mod intents;
mod leader;
mod payload;
mod persist;
mod provider;
mod pump;
mod requester;
mod sessions;
pub mod sim;
mod traffic;
mod transfers;
mod trust;
pub mod wire;
mod workflow;

use std::collections::BTreeMap;

use agentnet_core::descriptor::Topic;
use agentnet_core::semantic::{HashedNgramEncoder, SemanticEncoder};
#[cfg(doc)]
use agentnet_core::wire::MessageKind;
use agentnet_core::wire::{Limits, Plane, decode_frame_as, encode_frame, peek_kind};
use agentnet_core::{
    AgentId, BoundedQueue, Effect, Engine, Hash, Instant, Keypair, LinkId, Now, Overflow,
    RequestId, Signed, Transmit,
};
use agentnet_gossip::GossipEngine;
use agentnet_mech::mechanism::{Mechanism, Tier};
use agentnet_mech::session::{SessionId, Sessions};
use agentnet_trust::baid::BindingEntry;
use agentnet_trust::canary::CanaryBook;
use agentnet_trust::fraud::FraudProof;
use agentnet_trust::ledger::Ledger;
use agentnet_trust::registry::IdentityRegistry;
use agentnet_trust::report::{ReportBook, ReportBuilder};
use agentnet_trust::reputation::{Reputation, ReputationError};
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

pub use embed::EmbedConfig;
use embed::Embeds;
use identity::Link;
pub use intents::{IntentConfig, IntentRequest};
use leader::Leader;
use payload::{Incoming, Outgoing};
use persist::Durability;
pub use persist::{RestoreReport, tables};
use provider::{Job, Service};
use requester::Request;
pub use traffic::{PlaneTraffic, Traffic};
use trust::{FifoSet, StoredProofs};
use wire::{Chunk, Direction, Hello, Resend};
use workflow::Workflows;
pub use workflow::{MAX_STEPS, StepOutcome, Workflow, WorkflowOutcome, WorkflowStep};

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
    /// What must be made durable this turn and what is being made durable (see
    /// [`persist`]).
    durable: Durability,
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
    /// Embedding calls to the host's model (see [`embed`]).
    embeds: Embeds,
    /// Workflows running (see [`workflow`]).
    workflows: Workflows,
    /// Auctions running, intents bid on, bids waiting for a link (see [`intents`]).
    intents: intents::Intents,
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
            embeds: Embeds::default(),
            workflows: Workflows::default(),
            intents: intents::Intents::default(),
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
            durable: Durability::default(),
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
    pub fn running_request_count(&self) -> usize {
        self.requests.len() + self.intents.running()
    }

    /// The next effect for the host, oldest first.
    #[must_use]
    pub fn poll_effect(&mut self) -> Option<Effect> {
        self.effects.pop()
    }

    /// Whether effects are waiting for [`poll_effect`](Self::poll_effect) (a command such as
    /// `announce` or `prepare_embedding` can leave some).
    pub fn has_effects(&self) -> bool {
        !self.effects.is_empty()
    }

    /// The canonical (identity chain genesis) id of any key; unknown keys are their own.
    fn canonical(&self, key: &AgentId) -> AgentId {
        self.registry.resolve(key).map_or(*key, |r| r.canonical)
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
            Plane::Execution => match kind {
                agentnet_mech::wire::BID => self.on_bid(now, &payload),
                agentnet_mech::wire::COUNTER => self.on_counter(now, from, &payload),
                _ => Ok(self.sessions.handle_message(now, from, payload)?),
            },
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
        self.intents_timeout(now);
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
