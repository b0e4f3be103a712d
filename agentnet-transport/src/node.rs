//! [`Node`]: the async shell that executes one sans-IO [`Agent`] over a real [`Transport`], a
//! [`Store`], a [`Clock`], the application's task handlers and (optionally) a
//! [`LanguageModel`].
//!
//! A node owns one driver task (spawned on the caller's tokio runtime). The task is the only
//! place the agent lives; the [`Node`] handle talks to it through a bounded command queue and
//! hears from it through a broadcast channel of [`NodeEvent`]s. Per turn the driver:
//!
//! 1. waits for the first of: a command, a transport event, the agent's deadline
//!    (`poll_timeout`), a finished task handler or model call, the next store pruning or
//!    bootstrap redial;
//! 2. feeds it to the agent (`handle_message`, `handle_link_up/down`, `handle_timeout`, a
//!    command such as `request`, or a completion such as `handle_executed`);
//! 3. drains the agent, pass after pass until a pass yields nothing: frames are collected,
//!    events are published, effects are executed — every [`Effect::Persist`] of the pass is
//!    written as **one** store batch and acknowledged (`handle_persisted`), then the pass's
//!    frames are sent. So nothing the agent acknowledges to a peer (a commitment and its
//!    deposit, a delegation, an own log entry) leaves before the state behind it is on disk.
//!    [`Effect::Execute`] runs the application's handler for the capability on its own tokio
//!    task (bounded by the task's deadline); [`Effect::Llm`] calls the language model.
//!
//! Frames are not inspected here: the agent routes them by plane. The node fills the
//! endpoints of the descriptors it announces from its listen address, so a provider found
//! through relays can be dialed, and reuses a link it already has to an agent.
//!
//! The node does not discover peers beyond its bootstrap list, the peers that dial it and the
//! endpoints of descriptors it requests from; it redials bootstrap addresses with exponential
//! backoff whenever it has no link to them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::effect::ExecuteTask;
use agentnet_core::semantic::{HashedNgramEncoder, SemanticEncoder};
use agentnet_core::wire::peek_kind;
use agentnet_core::{AgentId, Effect, Engine, Instant, Keypair, LinkId, Now, RequestId};
use agentnet_gossip::{Candidate, Event as GossipEvent, InterestProfile, Requirements};
use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::agent::{
    Agent, AgentConfig, AgentError, AgentEvent, ConfigError, Executed, ServePolicy, Stage,
    TaskOutcome, TaskRequest, Traffic,
};
use crate::host::{Clock, LanguageModel, LinkDown, LinkInfo, Prompt, SystemClock, Transport};
use crate::store::{MemoryStore, RedbStore, Store, StoreError, Write};

/// Why a node call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The builder is missing something or holds contradictory settings.
    #[error("configuration: {0}")]
    Config(String),
    /// The agent refused its configuration.
    #[error(transparent)]
    AgentConfig(#[from] ConfigError),
    /// A node setting ([`NodeConfig`], outside its `agent` part) is out of its range.
    #[error("node configuration: {0}")]
    NodeConfig(#[source] agentnet_core::ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The agent refused a command.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The transport refused a call.
    #[error(transparent)]
    Transport(#[from] crate::host::TransportError),
    /// The identity in the data directory differs from the one given to the builder.
    #[error("the data directory belongs to {stored}, not {given}")]
    IdentityMismatch {
        /// Identity stored in the directory.
        stored: AgentId,
        /// Identity given to the builder.
        given: AgentId,
    },
    /// The driver task has stopped.
    #[error("node has stopped")]
    Stopped,
    /// The operating system's random source failed.
    #[error("entropy: {0}")]
    Entropy(String),
}

/// Node settings beyond the agent's own.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The agent's configuration (its `seed` is replaced by the node's seed).
    pub agent: AgentConfig,
    /// Addresses to dial at start and to keep a link to (transport notation). Default none.
    pub bootstrap: Vec<String>,
    /// Topics to subscribe to at start. Default none (announcing subscribes on its own).
    pub topics: Vec<Topic>,
    /// Subscribe to every topic a linked peer says it follows. Default false; useful for
    /// clients that want to discover across all topics they can reach. Bounded by
    /// `max_peer_topics` and `max_peer_topics_per_link`, and such topics always yield to the
    /// node's own: when the gossip engine's topic table is full, an own `subscribe`,
    /// `announce` or `serve` leaves the most recently followed peer topic to make room.
    pub follow_peer_topics: bool,
    /// Most topics followed because peers follow them. Default 16; range 0..=4096.
    pub max_peer_topics: usize,
    /// Most of those one link may introduce (so one peer, or one free identity, cannot take
    /// them all). Default 4; range 1..=`max_peer_topics` (any value when it is 0).
    pub max_peer_topics_per_link: usize,
    /// First redial delay for a bootstrap address without a link. Default 500 ms; range
    /// 10 ms..=`redial_max`.
    pub redial_initial: Duration,
    /// Largest redial delay (the delay doubles per failure). Default 30 s; range
    /// 10 ms..=1 day.
    pub redial_max: Duration,
    /// How often expired records are deleted from the store. Default 60 s; range 1 s..=1 day.
    pub prune_interval: Duration,
    /// Commands queued from handles before callers wait. Default 256; range 1..=1 000 000.
    pub command_queue: usize,
    /// Events buffered per event receiver before the slowest one lags (and is told how many
    /// it missed). Default 1024; range 1..=1 000 000.
    pub event_capacity: usize,
    /// Largest token count asked of the language model per call. Default 1024; range
    /// 1..=1 000 000.
    pub llm_max_tokens: u32,
}

impl NodeConfig {
    /// Check the node's own fields against their documented ranges (the agent's part is
    /// checked by [`AgentConfig::validate`]). [`NodeBuilder::start`] refuses a config that
    /// fails with [`NodeError::NodeConfig`].
    pub fn validate(&self) -> Result<(), agentnet_core::ConfigError> {
        use agentnet_core::config::check_range;
        let ms = Duration::from_millis;
        let day = Duration::from_secs(86_400);
        check_range("redial_max", self.redial_max, ms(10)..=day, "10 ms..=1 day")?;
        check_range(
            "redial_initial",
            self.redial_initial,
            ms(10)..=self.redial_max,
            "10 ms..=redial_max",
        )?;
        check_range(
            "prune_interval",
            self.prune_interval,
            Duration::from_secs(1)..=day,
            "1 s..=1 day",
        )?;
        check_range(
            "command_queue",
            self.command_queue,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "event_capacity",
            self.event_capacity,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "max_peer_topics",
            self.max_peer_topics,
            0..=4096,
            "0..=4096",
        )?;
        if self.max_peer_topics > 0 {
            check_range(
                "max_peer_topics_per_link",
                self.max_peer_topics_per_link,
                1..=self.max_peer_topics,
                "1..=max_peer_topics",
            )?;
        }
        check_range(
            "llm_max_tokens",
            self.llm_max_tokens,
            1..=1_000_000,
            "1..=1000000",
        )
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            agent: AgentConfig::default(),
            bootstrap: Vec::new(),
            topics: Vec::new(),
            follow_peer_topics: false,
            max_peer_topics: 16,
            max_peer_topics_per_link: 4,
            redial_initial: Duration::from_millis(500),
            redial_max: Duration::from_secs(30),
            prune_interval: Duration::from_secs(60),
            command_queue: 256,
            event_capacity: 1024,
            llm_max_tokens: 1024,
        }
    }
}

/// What a node reports to its application.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum NodeEvent {
    /// A link to an authenticated peer is up.
    LinkUp(LinkInfo),
    /// A link went down.
    LinkDown {
        /// The link.
        link: LinkId,
        /// The peer it connected to.
        peer: AgentId,
        /// Why.
        reason: LinkDown,
    },
    /// A connection was refused before becoming a link.
    Refused {
        /// Remote address.
        remote: String,
        /// Why.
        reason: String,
    },
    /// Frames were dropped on a congested link.
    SendDropped {
        /// The link.
        link: LinkId,
        /// How many.
        frames: u64,
    },
    /// Something the gossip plane reported (headers, descriptors, ...).
    Gossip(GossipEvent),
    /// Something the agent reported (request stages and outcomes, offers served, peers
    /// verified, convictions, ...). Gossip events arrive as [`NodeEvent::Gossip`] instead.
    Agent(AgentEvent),
    /// A batch could not be written; what it held stays unacknowledged until a later write
    /// works.
    StoreFailed(String),
    /// This receiver fell behind and missed this many events.
    Lagged(u64),
}

/// Traffic and error counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Frames and bytes sent, by frame kind.
    pub sent: BTreeMap<u16, (u64, u64)>,
    /// Frames and bytes received, by frame kind.
    pub received: BTreeMap<u16, (u64, u64)>,
    /// Frames the agent refused (malformed, forged, stale, rate-limited, ...).
    pub refused: u64,
    /// Links up now.
    pub links: usize,
    /// Traffic by plane, as the agent counts it.
    pub planes: Traffic,
    /// Headers held by the gossip plane.
    pub headers: usize,
    /// Descriptors in the discovery index.
    pub descriptors: usize,
}

/// The application's side of a served capability: task and input in, result out.
pub type Handler =
    Arc<dyn Fn(ExecuteTask, Bytes) -> Pin<Box<dyn Future<Output = Executed> + Send>> + Send + Sync>;

enum Command {
    Announce(
        Box<CapabilityDescriptor>,
        oneshot::Sender<Result<(Topic, u64), NodeError>>,
    ),
    Serve(
        Box<CapabilityDescriptor>,
        ServePolicy,
        Handler,
        oneshot::Sender<Result<(), NodeError>>,
    ),
    Withdraw(String, oneshot::Sender<bool>),
    Subscribe(Topic, oneshot::Sender<Result<(), NodeError>>),
    Interest(InterestProfile, oneshot::Sender<()>),
    Discover {
        intent: String,
        requirements: Requirements,
        k: usize,
        reply: oneshot::Sender<Vec<Candidate>>,
    },
    Request(
        Box<TaskRequest>,
        oneshot::Sender<Result<RequestHandle, NodeError>>,
    ),
    Reputation(AgentId, Topic, oneshot::Sender<(f64, bool)>),
    ReputationTable(oneshot::Sender<Vec<(Topic, AgentId, f64, bool)>>),
    Connect(String, oneshot::Sender<Result<(), NodeError>>),
    Peers(oneshot::Sender<Vec<LinkInfo>>),
    Stats(oneshot::Sender<NodeStats>),
    Topics(oneshot::Sender<Vec<(Topic, bool)>>),
    Shutdown(oneshot::Sender<()>),
}

/// Completions of effects run on their own tasks.
enum Done {
    Executed(RequestId, Executed),
    Llm(RequestId, Result<String, String>),
}

/// What the driver keeps for a request a handle waits on.
struct Waiter {
    stages: mpsc::UnboundedSender<Stage>,
    outcome: oneshot::Sender<TaskOutcome>,
}

/// A request whose candidates are being dialed.
struct Dialing {
    until: Instant,
    wanted: Vec<AgentId>,
    task: Box<TaskRequest>,
    reply: oneshot::Sender<Result<RequestHandle, NodeError>>,
}

/// How long a request waits for links to candidates it had to dial.
const DIAL_WAIT: Duration = Duration::from_secs(3);

/// A running request: its stages as they happen, then its outcome.
#[derive(Debug)]
pub struct RequestHandle {
    id: RequestId,
    stages: mpsc::UnboundedReceiver<Stage>,
    outcome: oneshot::Receiver<TaskOutcome>,
}

impl RequestHandle {
    /// The request's id (as in [`AgentEvent::Progress`] and [`AgentEvent::Completed`]).
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The next stage; `None` once the request ended (then call [`outcome`](Self::outcome)).
    pub async fn next_stage(&mut self) -> Option<Stage> {
        self.stages.recv().await
    }

    /// Wait for the outcome.
    pub async fn outcome(self) -> Result<TaskOutcome, NodeError> {
        self.outcome.await.map_err(|_| NodeError::Stopped)
    }
}

/// Builds a [`Node`]. Only the transport is required; everything else has a default.
pub struct NodeBuilder {
    identity: Option<Keypair>,
    /// The given identity may go with a store that does not outlive the process.
    ephemeral: bool,
    data_dir: Option<PathBuf>,
    store: Option<Box<dyn Store>>,
    transport: Option<TransportSource>,
    clock: Option<Arc<dyn Clock>>,
    llm: Option<Arc<dyn LanguageModel>>,
    encoder: Option<Box<dyn SemanticEncoder + Send>>,
    interest: InterestProfile,
    seed: Option<[u8; 32]>,
    config: NodeConfig,
}

type TransportFuture =
    std::pin::Pin<Box<dyn Future<Output = Result<Box<dyn Transport>, NodeError>> + Send>>;

type TransportFactory = Box<dyn FnOnce(&Keypair, Now) -> TransportFuture + Send>;

enum TransportSource {
    Ready(Box<dyn Transport>),
    Factory(TransportFactory),
}

impl fmt::Debug for NodeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeBuilder")
            .field("data_dir", &self.data_dir)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Default for NodeBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl NodeBuilder {
    /// A builder with every default.
    pub fn new() -> Self {
        NodeBuilder {
            identity: None,
            ephemeral: false,
            data_dir: None,
            store: None,
            transport: None,
            clock: None,
            llm: None,
            encoder: None,
            interest: InterestProfile::none(),
            seed: None,
            config: NodeConfig::default(),
        }
    }

    /// The node's keys. Default: the identity stored in the data directory, or a fresh one
    /// from the OS random source (stored there if there is a directory).
    ///
    /// A given identity needs a durable store (a data directory, or a [`Store`] whose
    /// [`is_durable`](Store::is_durable) is true): [`start`](Self::start) refuses it with a
    /// [`MemoryStore`] (the default without a directory). An agent's logs must continue
    /// across restarts: the same keys started again with nothing remembered would sign a
    /// second entry at a seq they already used, which every peer that saw the first proves
    /// as equivocation. For keys that live exactly as long as this node (tests, one-shot
    /// programs), use [`ephemeral_identity`](Self::ephemeral_identity).
    pub fn identity(mut self, keys: Keypair) -> Self {
        self.identity = Some(keys);
        self.ephemeral = false;
        self
    }

    /// [`identity`](Self::identity) without a durable store: the caller promises these keys
    /// are never started again after this node stops (tests, one-shot programs).
    pub fn ephemeral_identity(mut self, keys: Keypair) -> Self {
        self.identity = Some(keys);
        self.ephemeral = true;
        self
    }

    /// Keep state in `dir` with a [`RedbStore`] (created if missing). A node restarted from
    /// the same directory keeps its identity and everything its agent persisted.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Use this store instead of a data directory (default without one: [`MemoryStore`]).
    pub fn store(mut self, store: impl Store + 'static) -> Self {
        self.store = Some(Box::new(store));
        self
    }

    /// Use this transport. Its identity must be the node's: pass the same keys to
    /// [`identity`](Self::identity).
    pub fn transport(mut self, transport: impl Transport + 'static) -> Self {
        self.transport = Some(TransportSource::Ready(Box::new(transport)));
        self
    }

    /// Build the transport once the node's identity is known (it may come from the data
    /// directory). The closure gets the keys and the start time.
    pub fn transport_with<F, Fut, T>(mut self, make: F) -> Self
    where
        F: FnOnce(&Keypair, Now) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, NodeError>> + Send + 'static,
        T: Transport + 'static,
    {
        self.transport = Some(TransportSource::Factory(Box::new(move |k, now| {
            let fut = make(k, now);
            Box::pin(async move { fut.await.map(|t| Box::new(t) as Box<dyn Transport>) })
        })));
        self
    }

    /// Use a [`TcpTransport`](crate::tcp::TcpTransport) (Noise XX over TCP) with `cfg`, bound
    /// once the node's identity is known.
    pub fn tcp(self, cfg: crate::tcp::TcpConfig) -> Self {
        self.transport_with(move |keys: &Keypair, now: Now| {
            let keys = Keypair::from_seed(*keys.seed());
            async move {
                crate::tcp::TcpTransport::bind(&keys, cfg, now.wall.as_unix_millis())
                    .await
                    .map_err(NodeError::from)
            }
        })
    }

    /// The time source. Default [`SystemClock`].
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The language model the agent's effects may call. Default none (model calls fail).
    pub fn language_model(mut self, llm: Arc<dyn LanguageModel>) -> Self {
        self.llm = Some(llm);
        self
    }

    /// The semantic encoder for descriptors and intents. Default
    /// [`HashedNgramEncoder`] (lexical; plug a real embedding model here).
    pub fn encoder(mut self, encoder: impl SemanticEncoder + Send + 'static) -> Self {
        self.encoder = Some(Box::new(encoder));
        self
    }

    /// Which descriptors' bodies to fetch. Default [`InterestProfile::none`] (relay only).
    pub fn interest(mut self, profile: InterestProfile) -> Self {
        self.interest = profile;
        self
    }

    /// The seed of the agent's randomness. Default: from the OS random source.
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Node settings (bootstrap peers, topics, the agent's configuration, queue sizes).
    pub fn config(mut self, config: NodeConfig) -> Self {
        self.config = config;
        self
    }

    /// Open the store, settle the identity, restore the agent, start the transport and spawn
    /// the driver on the current tokio runtime.
    pub async fn start(self) -> Result<Node, NodeError> {
        self.config.validate().map_err(NodeError::NodeConfig)?;
        let clock: Arc<dyn Clock> = self.clock.unwrap_or_else(|| Arc::new(SystemClock::new()));
        let now = clock.now();
        let mut store: Box<dyn Store> = match (self.store, &self.data_dir) {
            (Some(_), Some(_)) => {
                return Err(NodeError::Config(
                    "give either a store or a data directory, not both".into(),
                ));
            }
            (Some(s), None) => s,
            (None, Some(dir)) => Box::new(RedbStore::open(dir)?),
            (None, None) => Box::new(MemoryStore::new()),
        };
        if self.identity.is_some() && !self.ephemeral && !store.is_durable() {
            return Err(NodeError::Config(
                "a given identity needs a durable store (a data directory): restarted without \
                 one it would reuse its log seqs, which peers prove as equivocation; use \
                 NodeBuilder::ephemeral_identity for keys that never outlive this node"
                    .into(),
            ));
        }
        let mut restored = store.load()?;
        let keys = match (restored.identity, self.identity) {
            (Some(seed), Some(given)) => {
                let stored = Keypair::from_seed(seed);
                if stored.id() != given.id() {
                    return Err(NodeError::IdentityMismatch {
                        stored: stored.id(),
                        given: given.id(),
                    });
                }
                given
            }
            (Some(seed), None) => Keypair::from_seed(seed),
            (None, Some(given)) => {
                store.write(&[Write::Identity(*given.seed())])?;
                given
            }
            (None, None) => {
                let k = Keypair::from_seed(os_seed()?);
                store.write(&[Write::Identity(*k.seed())])?;
                k
            }
        };
        let transport = match self.transport {
            None => return Err(NodeError::Config("no transport".into())),
            Some(TransportSource::Ready(t)) => t,
            Some(TransportSource::Factory(make)) => make(&keys, now).await?,
        };
        if transport.local_id() != keys.id() {
            return Err(NodeError::Config(format!(
                "the transport authenticates as {}, the node is {}",
                transport.local_id(),
                keys.id()
            )));
        }
        let mut acfg = self.config.agent.clone();
        acfg.seed = match self.seed {
            Some(s) => s,
            None => os_seed()?,
        };
        let encoder = self
            .encoder
            .unwrap_or_else(|| Box::new(HashedNgramEncoder::default()));
        let id = keys.id();
        let mut agent = Agent::with_encoder(keys, acfg, now, encoder)?;
        agent.set_interest(self.interest);
        let report = agent.restore(now, core::mem::take(&mut restored.records));
        if report.refused > 0 {
            tracing::warn!(?report, "some stored records were refused");
        }
        for t in &self.config.topics {
            agent.subscribe(now, t.clone())?;
        }
        let addr = transport.local_addr();
        let (cmd_tx, cmd_rx) = mpsc::channel(self.config.command_queue);
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = broadcast::channel(self.config.event_capacity);
        let bootstrap = self
            .config
            .bootstrap
            .iter()
            .map(|a| {
                (
                    a.clone(),
                    Redial {
                        link: None,
                        at: now.mono,
                        delay: self.config.redial_initial,
                    },
                )
            })
            .collect();
        let driver = Driver {
            prune_at: now.mono + self.config.prune_interval,
            peer_topics: Vec::new(),
            banned: BTreeMap::new(),
            cfg: self.config,
            agent,
            transport,
            store,
            clock,
            llm: self.llm.clone(),
            addr: addr.clone(),
            events: ev_tx.clone(),
            done: done_tx,
            handlers: BTreeMap::new(),
            waiters: BTreeMap::new(),
            dialing: Vec::new(),
            links: BTreeMap::new(),
            bootstrap,
            stats: NodeStats::default(),
        };
        let task = tokio::spawn(driver.run(cmd_rx, done_rx));
        Ok(Node {
            id,
            addr,
            cmd: cmd_tx,
            events_tx: ev_tx,
            events: ev_rx,
            llm: self.llm,
            task: Some(task),
        })
    }
}

fn os_seed() -> Result<[u8; 32], NodeError> {
    let mut s = [0u8; 32];
    getrandom::fill(&mut s).map_err(|e| NodeError::Entropy(e.to_string()))?;
    Ok(s)
}

/// A running agentnet node. See the [module docs](self) and the crate docs for an example.
///
/// Dropping the handle (and every clone of its command channel, i.e. this handle) stops the
/// driver; [`shutdown`](Self::shutdown) does so and waits for it.
pub struct Node {
    id: AgentId,
    addr: Option<String>,
    cmd: mpsc::Sender<Command>,
    events_tx: broadcast::Sender<NodeEvent>,
    events: broadcast::Receiver<NodeEvent>,
    llm: Option<Arc<dyn LanguageModel>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Start configuring a node.
    pub fn builder() -> NodeBuilder {
        NodeBuilder::new()
    }

    /// The node's identity.
    pub fn id(&self) -> AgentId {
        self.id
    }

    /// Where the transport listens, if it does.
    pub fn local_addr(&self) -> Option<&str> {
        self.addr.as_deref()
    }

    /// The language model given to the builder, if any.
    pub fn language_model(&self) -> Option<&Arc<dyn LanguageModel>> {
        self.llm.as_ref()
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(make(tx))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Announce a capability: the descriptor (whose provider must be this node) is signed,
    /// logged in its topic, made durable and gossiped, and re-issued before it expires until
    /// [`withdraw`](Self::withdraw). Without endpoints, the node's listen address is filled
    /// in. Returns the topic and log seq of the entry.
    pub async fn announce(
        &self,
        descriptor: CapabilityDescriptor,
    ) -> Result<(Topic, u64), NodeError> {
        self.call(|r| Command::Announce(Box::new(descriptor), r))
            .await?
    }

    /// Serve a capability: announce `descriptor` and run `handler` for every task accepted
    /// for it (by [`ServePolicy::default`]). The handler gets the task and its input and
    /// returns the result, with the tool calls that produced it if it wants them signed into
    /// receipts (tier 3 gets one receipt for the whole call otherwise).
    pub async fn serve<F, Fut>(
        &self,
        descriptor: CapabilityDescriptor,
        handler: F,
    ) -> Result<(), NodeError>
    where
        F: Fn(ExecuteTask, Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Executed> + Send + 'static,
    {
        self.serve_with(descriptor, ServePolicy::default(), handler)
            .await
    }

    /// [`serve`](Self::serve) under an explicit policy (least pay, largest deposit, ...).
    pub async fn serve_with<F, Fut>(
        &self,
        descriptor: CapabilityDescriptor,
        policy: ServePolicy,
        handler: F,
    ) -> Result<(), NodeError>
    where
        F: Fn(ExecuteTask, Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Executed> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |task, input| Box::pin(handler(task, input)));
        self.call(|r| Command::Serve(Box::new(descriptor), policy, handler, r))
            .await?
    }

    /// Run the whole funnel for `task` and wait for its outcome. Stages are also published
    /// as [`NodeEvent::Agent`] events; use [`start_request`](Self::start_request) to follow
    /// one request's stages.
    pub async fn request(&self, task: TaskRequest) -> Result<TaskOutcome, NodeError> {
        self.start_request(task).await?.outcome().await
    }

    /// Start the funnel for `task`; the handle yields its stages, then its outcome.
    pub async fn start_request(&self, task: TaskRequest) -> Result<RequestHandle, NodeError> {
        self.call(|r| Command::Request(Box::new(task), r)).await?
    }

    /// `agent`'s reputation in `topic` as this node sees it, and whether this node holds a
    /// fraud proof against it.
    pub async fn reputation(&self, agent: AgentId, topic: Topic) -> Result<(f64, bool), NodeError> {
        self.call(|r| Command::Reputation(agent, topic, r)).await
    }

    /// Every reputation score this node holds, by topic (highest first): (topic, agent,
    /// score, whether this node holds a fraud proof against it).
    pub async fn reputation_table(&self) -> Result<Vec<(Topic, AgentId, f64, bool)>, NodeError> {
        self.call(Command::ReputationTable).await
    }

    /// Stop re-issuing a capability (it expires with its TTL). False if it was not announced.
    pub async fn withdraw(&self, capability: &str) -> Result<bool, NodeError> {
        self.call(|r| Command::Withdraw(capability.to_string(), r))
            .await
    }

    /// Follow a topic (receive and relay its headers).
    pub async fn subscribe(&self, topic: Topic) -> Result<(), NodeError> {
        self.call(|r| Command::Subscribe(topic, r)).await?
    }

    /// Replace the interest profile (which announced descriptors to fetch and index).
    pub async fn set_interest(&self, profile: InterestProfile) -> Result<(), NodeError> {
        self.call(|r| Command::Interest(profile, r)).await
    }

    /// Rank the fresh descriptors this node holds against an intent in plain words.
    pub async fn discover(
        &self,
        intent: &str,
        requirements: Requirements,
        k: usize,
    ) -> Result<Vec<Candidate>, NodeError> {
        self.call(|reply| Command::Discover {
            intent: intent.to_string(),
            requirements,
            k,
            reply,
        })
        .await
    }

    /// Dial `addr` once (the outcome arrives as [`NodeEvent::LinkUp`] or
    /// [`NodeEvent::Refused`]).
    pub async fn connect(&self, addr: &str) -> Result<(), NodeError> {
        self.call(|r| Command::Connect(addr.to_string(), r)).await?
    }

    /// The links up now.
    pub async fn peers(&self) -> Result<Vec<LinkInfo>, NodeError> {
        self.call(Command::Peers).await
    }

    /// Traffic and engine counters.
    pub async fn stats(&self) -> Result<NodeStats, NodeError> {
        self.call(Command::Stats).await
    }

    /// The topics followed, each with whether it is followed only because a peer follows it
    /// (`NodeConfig::follow_peer_topics`; such topics are not kept across a restart).
    pub async fn topics(&self) -> Result<Vec<(Topic, bool)>, NodeError> {
        self.call(Command::Topics).await
    }

    /// The next event for this handle. `None` once the node has stopped and every event was
    /// read.
    pub async fn next_event(&mut self) -> Option<NodeEvent> {
        match self.events.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(NodeEvent::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// Another receiver of the node's events (from now on).
    pub fn subscribe_events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events_tx.subscribe()
    }

    /// Stop the driver (closing every link) and wait for it.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        let _ = self.call(Command::Shutdown).await;
        if let Some(t) = self.task.take() {
            t.await.map_err(|_| NodeError::Stopped)?;
        }
        Ok(())
    }
}

struct Redial {
    link: Option<LinkId>,
    at: Instant,
    delay: Duration,
}

struct Driver {
    cfg: NodeConfig,
    agent: Agent,
    transport: Box<dyn Transport>,
    store: Box<dyn Store>,
    clock: Arc<dyn Clock>,
    llm: Option<Arc<dyn LanguageModel>>,
    addr: Option<String>,
    events: broadcast::Sender<NodeEvent>,
    done: mpsc::UnboundedSender<Done>,
    handlers: BTreeMap<String, Handler>,
    waiters: BTreeMap<RequestId, Waiter>,
    /// Requests waiting for links to candidates being dialed (until the deadline).
    dialing: Vec<Dialing>,
    links: BTreeMap<LinkId, LinkInfo>,
    bootstrap: BTreeMap<String, Redial>,
    stats: NodeStats,
    prune_at: Instant,
    /// Topics followed only because a peer follows them (`follow_peer_topics`), in the order
    /// followed, with the link that named them.
    peer_topics: Vec<(Topic, LinkId)>,
    /// Peers whose link the gossip plane banned, until when. A ban closes the link and holds
    /// for the peer, not the link: a reconnect is closed again until it ends. Bounded by
    /// [`MAX_BANNED_PEERS`]; when full the ban ending first makes room.
    banned: BTreeMap<AgentId, Instant>,
}

/// Most peers a node remembers as banned.
const MAX_BANNED_PEERS: usize = 1024;

impl Driver {
    async fn run(
        mut self,
        mut cmds: mpsc::Receiver<Command>,
        mut done: mpsc::UnboundedReceiver<Done>,
    ) {
        let now = self.clock.now();
        self.redial(now);
        self.flush(now);
        loop {
            let now = self.clock.now();
            let deadline = self.deadline();
            let wait = deadline.saturating_duration_since(now.mono);
            tokio::select! {
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { break };
                    if let Some(done) = self.command(cmd) {
                        self.flush(self.clock.now());
                        let _ = done.send(());
                        break;
                    }
                }
                d = done.recv() => {
                    if let Some(d) = d {
                        self.completion(d);
                    }
                }
                ev = self.transport.next_event() => {
                    let Some(ev) = ev else { break };
                    self.transport_event(ev);
                }
                () = tokio::time::sleep(wait) => {}
            }
            let now = self.clock.now();
            if self.agent.poll_timeout().is_some_and(|t| t <= now.mono) {
                self.agent.handle_timeout(now);
            }
            if self.prune_at <= now.mono {
                self.prune_at = now.mono + self.cfg.prune_interval;
                if let Err(e) = self.store.prune(now.wall) {
                    self.emit(NodeEvent::StoreFailed(e.to_string()));
                }
            }
            self.redial(now);
            self.start_dialed(now);
            self.flush(now);
        }
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for l in links {
            self.transport.close(l);
        }
    }

    fn deadline(&self) -> Instant {
        let mut d = self.prune_at;
        if let Some(t) = self.agent.poll_timeout() {
            d = d.min(t);
        }
        for r in self.bootstrap.values() {
            if r.link.is_none() {
                d = d.min(r.at);
            }
        }
        for w in &self.dialing {
            d = d.min(w.until);
        }
        d
    }

    fn emit(&self, e: NodeEvent) {
        // No receivers is fine: the handle may not be listening.
        let _ = self.events.send(e);
    }

    fn redial(&mut self, now: Now) {
        let max = self.cfg.redial_max;
        let mut dial = Vec::new();
        for (addr, r) in self.bootstrap.iter_mut() {
            if r.link.is_none() && r.at <= now.mono {
                dial.push(addr.clone());
                r.at = now.mono + r.delay;
                r.delay = (r.delay * 2).min(max);
            }
        }
        for a in dial {
            if let Err(e) = self.transport.connect(&a) {
                self.emit(NodeEvent::Refused {
                    remote: a,
                    reason: e.to_string(),
                });
            }
        }
    }

    /// Fill a descriptor's endpoints from the listen address when it names none.
    fn with_endpoints(&self, mut d: CapabilityDescriptor) -> CapabilityDescriptor {
        if d.endpoints.is_empty()
            && let Some(a) = &self.addr
        {
            d.endpoints.push(a.clone());
        }
        d
    }

    fn command(&mut self, cmd: Command) -> Option<oneshot::Sender<()>> {
        let now = self.clock.now();
        match cmd {
            Command::Announce(d, reply) => {
                self.make_room(now, &d.topic);
                let d = self.with_endpoints(*d);
                let r = self.agent.announce(now, d).map_err(NodeError::from);
                let _ = reply.send(r);
            }
            Command::Serve(d, policy, handler, reply) => {
                self.make_room(now, &d.topic);
                let d = self.with_endpoints(*d);
                let cap = d.capability.clone();
                let r = self.agent.serve(now, d, policy).map_err(NodeError::from);
                if r.is_ok() {
                    self.handlers.insert(cap, handler);
                }
                let _ = reply.send(r);
            }
            Command::Withdraw(cap, reply) => {
                self.handlers.remove(&cap);
                let _ = reply.send(self.agent.unserve(&cap));
            }
            Command::Subscribe(t, reply) => {
                self.make_room(now, &t);
                let r = self.agent.subscribe(now, t).map_err(NodeError::from);
                let _ = reply.send(r);
            }
            Command::Interest(p, reply) => {
                self.agent.set_interest(p);
                let _ = reply.send(());
            }
            Command::Discover {
                intent,
                requirements,
                k,
                reply,
            } => {
                let _ = reply.send(self.agent.discover(now, &intent, &requirements, k));
            }
            Command::Request(task, reply) => {
                let wanted = self.dial_candidates(now, &task);
                if wanted.is_empty() {
                    self.start_request(now, task, reply);
                } else {
                    self.dialing.push(Dialing {
                        until: now.mono + DIAL_WAIT,
                        wanted,
                        task,
                        reply,
                    });
                }
            }
            Command::Reputation(agent, topic, reply) => {
                let _ = reply.send((
                    self.agent.reputation(&agent, &topic),
                    self.agent.is_convicted(&agent),
                ));
            }
            Command::ReputationTable(reply) => {
                let table = self
                    .agent
                    .reputation_table()
                    .into_iter()
                    .map(|(t, a, s)| {
                        let convicted = self.agent.is_convicted(&a);
                        (t, a, s, convicted)
                    })
                    .collect();
                let _ = reply.send(table);
            }
            Command::Connect(addr, reply) => {
                let r = self.transport.connect(&addr).map_err(NodeError::from);
                let _ = reply.send(r);
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.links.values().cloned().collect());
            }
            Command::Topics(reply) => {
                let list = self
                    .agent
                    .gossip()
                    .topics()
                    .map(|t| (t.clone(), self.peer_topics.iter().any(|(p, _)| p == t)))
                    .collect();
                let _ = reply.send(list);
            }
            Command::Stats(reply) => {
                let mut s = self.stats.clone();
                s.links = self.links.len();
                s.planes = self.agent.traffic();
                s.headers = self.agent.gossip().header_count();
                s.descriptors = self.agent.gossip().index().len();
                let _ = reply.send(s);
            }
            Command::Shutdown(done) => return Some(done),
        }
        None
    }

    /// Dial the endpoints of candidates for `task` this node has no verified route to yet,
    /// so the funnel can reach providers it only heard of through relays; returns them. Links
    /// already up are reused.
    fn dial_candidates(&mut self, now: Now, task: &TaskRequest) -> Vec<AgentId> {
        let k = self.cfg.agent.funnel.max_candidates;
        let found = self
            .agent
            .discover(now, &task.intent, &task.requirements, k);
        let mut wanted = Vec::new();
        for c in found {
            let p = c.descriptor.provider;
            let linked = self.links.values().any(|l| l.peer == p);
            if p == self.agent.id() || linked {
                if linked && !self.agent.peers().any(|(a, _)| *a == p) {
                    // Linked but the handshake is still under way: wait for it too.
                    wanted.push(p);
                }
                continue;
            }
            if let Some(ep) = c.descriptor.endpoints.first()
                && self.transport.connect(ep).is_ok()
            {
                wanted.push(p);
            }
        }
        wanted
    }

    /// Start requests whose candidates are reachable now, or whose wait ran out.
    fn start_dialed(&mut self, now: Now) {
        let mut i = 0;
        while i < self.dialing.len() {
            let d = &self.dialing[i];
            let reachable = d
                .wanted
                .iter()
                .all(|w| self.agent.peers().any(|(a, _)| a == w));
            if reachable || d.until <= now.mono {
                let d = self.dialing.swap_remove(i);
                self.start_request(now, d.task, d.reply);
            } else {
                i += 1;
            }
        }
    }

    fn start_request(
        &mut self,
        now: Now,
        task: Box<TaskRequest>,
        reply: oneshot::Sender<Result<RequestHandle, NodeError>>,
    ) {
        let r = match self.agent.request(now, *task) {
            Ok(id) => {
                let (stx, srx) = mpsc::unbounded_channel();
                let (otx, orx) = oneshot::channel();
                self.waiters.insert(
                    id,
                    Waiter {
                        stages: stx,
                        outcome: otx,
                    },
                );
                Ok(RequestHandle {
                    id,
                    stages: srx,
                    outcome: orx,
                })
            }
            Err(e) => Err(NodeError::from(e)),
        };
        let _ = reply.send(r);
    }

    fn completion(&mut self, d: Done) {
        let now = self.clock.now();
        let r = match d {
            Done::Executed(id, out) => self.agent.handle_executed(now, id, out),
            Done::Llm(id, Ok(text)) => self.agent.handle_llm_response(now, id, &text),
            Done::Llm(id, Err(why)) => self.agent.handle_llm_failure(now, id, &why),
        };
        if let Err(e) = r {
            tracing::debug!(error = %e, "a completion was refused");
        }
    }

    fn transport_event(&mut self, ev: crate::host::TransportEvent) {
        use crate::host::TransportEvent as T;
        let now = self.clock.now();
        match ev {
            T::LinkUp(info) => {
                if let Some(&until) = self.banned.get(&info.peer) {
                    if now.mono < until {
                        self.transport.close(info.link);
                        self.emit(NodeEvent::Refused {
                            remote: info.remote,
                            reason: format!("{} is banned", info.peer),
                        });
                        return;
                    }
                    self.banned.remove(&info.peer);
                }
                if info.outbound
                    && let Some(r) = self.bootstrap.get_mut(&info.remote)
                {
                    r.link = Some(info.link);
                    r.delay = self.cfg.redial_initial;
                }
                self.links.insert(info.link, info.clone());
                self.agent.handle_link_up(now, info.link);
                self.emit(NodeEvent::LinkUp(info));
            }
            T::LinkDown { link, reason } => {
                let Some(info) = self.links.remove(&link) else {
                    return;
                };
                for r in self.bootstrap.values_mut() {
                    if r.link == Some(link) {
                        r.link = None;
                        r.at = now.mono + r.delay;
                    }
                }
                self.agent.handle_link_down(now, link);
                self.emit(NodeEvent::LinkDown {
                    link,
                    peer: info.peer,
                    reason,
                });
            }
            T::Frame { link, frame } => self.frame(now, link, frame),
            T::SendDropped { link, frames } => self.emit(NodeEvent::SendDropped { link, frames }),
            T::Refused { remote, reason } => self.emit(NodeEvent::Refused { remote, reason }),
        }
    }

    fn frame(&mut self, now: Now, link: LinkId, frame: Bytes) {
        let Some(kind) = peek_kind(&frame) else {
            self.stats.refused += 1;
            return;
        };
        let e = self.stats.received.entry(kind.0).or_default();
        e.0 += 1;
        e.1 += frame.len() as u64;
        let follow = self.cfg.follow_peer_topics && kind == agentnet_gossip::wire::kind::SUBSCRIBE;
        if let Err(e) = self.agent.handle_message(now, link, frame) {
            self.stats.refused += 1;
            tracing::debug!(%link, error = %e, "the agent refused a frame");
        }
        if follow {
            self.follow_topics_of(now, link);
        }
    }

    /// Follow the topics `link`'s peer follows, within the peer-topic bounds. A peer names
    /// topics for free, so they get only the room the bounds give them: a total cap, a cap
    /// per link, and none of the room the node needs for its own (see [`Self::make_room`]).
    fn follow_topics_of(&mut self, now: Now, link: LinkId) {
        let known: Vec<Topic> = self.agent.gossip().topics().cloned().collect();
        for t in self.agent.gossip().link_topics(link) {
            if known.contains(&t) {
                continue;
            }
            let from_link = self.peer_topics.iter().filter(|(_, l)| *l == link).count();
            if self.peer_topics.len() >= self.cfg.max_peer_topics
                || from_link >= self.cfg.max_peer_topics_per_link
            {
                break;
            }
            if self.agent.subscribe_volatile(now, t.clone()).is_ok() {
                self.peer_topics.push((t, link));
            }
        }
    }

    /// Before an own command on `topic`: a topic followed for a peer becomes the node's own,
    /// and if the topic table is full the most recently followed peer topic is left.
    fn make_room(&mut self, now: Now, topic: &Topic) {
        if let Some(i) = self.peer_topics.iter().position(|(t, _)| t == topic) {
            // Followed for a peer, now the node's own: subscribing again persists it.
            self.peer_topics.remove(i);
            let _ = self.agent.subscribe(now, topic.clone());
            return;
        }
        let full = self.agent.gossip().topics().count() >= self.cfg.agent.gossip.max_topics;
        let followed = self.agent.gossip().topics().any(|t| t == topic);
        if full
            && !followed
            && let Some((t, _)) = self.peer_topics.pop()
        {
            self.agent.unsubscribe(now, &t);
        }
    }

    /// Drain the agent as the drive contract asks, pass after pass until a pass yields
    /// nothing: collect the pass's frames, publish its events, run its effects — every
    /// `Persist` of the pass as one durable batch, acknowledged once it is on disk — and only
    /// then send the pass's frames.
    fn flush(&mut self, now: Now) {
        loop {
            let mut idle = true;
            let mut frames = Vec::new();
            while let Some(t) = self.agent.poll_transmit() {
                idle = false;
                frames.push(t);
            }
            while let Some(ev) = self.agent.poll_event() {
                idle = false;
                self.agent_event(ev);
            }
            let mut batch = Vec::new();
            let mut ids = Vec::new();
            while let Some(effect) = self.agent.poll_effect() {
                idle = false;
                match effect {
                    Effect::Persist { id, records } => {
                        ids.push(id);
                        batch.extend(records.into_iter().map(Write::Record));
                    }
                    Effect::Execute {
                        id,
                        task,
                        input,
                        deadline,
                    } => self.execute(now, id, task, input, deadline),
                    Effect::Llm {
                        id,
                        prompt,
                        deadline,
                    } => self.ask_model(now, id, prompt, deadline),
                    _ => {}
                }
            }
            if !ids.is_empty() {
                match self.store.write(&batch) {
                    Ok(()) => {
                        for id in ids {
                            let _ = self.agent.handle_persisted(now, id);
                        }
                    }
                    Err(e) => {
                        // Unacknowledged: what depends on it stays unsent.
                        tracing::warn!(error = %e, "store write failed");
                        self.emit(NodeEvent::StoreFailed(e.to_string()));
                    }
                }
            }
            for t in frames {
                if let Some(kind) = peek_kind(&t.payload) {
                    let e = self.stats.sent.entry(kind.0).or_default();
                    e.0 += 1;
                    e.1 += t.payload.len() as u64;
                }
                // An unknown link raced with its LinkDown, which is on its way.
                let _ = self.transport.send(t.link, t.payload);
            }
            if idle {
                break;
            }
        }
    }

    fn agent_event(&mut self, ev: AgentEvent) {
        match ev {
            AgentEvent::Gossip(g) => {
                if let GossipEvent::LinkBanned { link } = &g {
                    self.ban(*link);
                }
                self.emit(NodeEvent::Gossip(g))
            }
            AgentEvent::Progress { request, stage } => {
                if let Some(w) = self.waiters.get(&request) {
                    let _ = w.stages.send(stage.clone());
                }
                self.emit(NodeEvent::Agent(AgentEvent::Progress { request, stage }));
            }
            AgentEvent::Completed(o) => {
                if let Some(w) = self.waiters.remove(&o.request) {
                    let _ = w.outcome.send((*o).clone());
                }
                self.emit(NodeEvent::Agent(AgentEvent::Completed(o)));
            }
            other => self.emit(NodeEvent::Agent(other)),
        }
    }

    /// The gossip plane banned `link`: close it, and keep its peer out until the ban ends.
    fn ban(&mut self, link: LinkId) {
        let Some(peer) = self.links.get(&link).map(|l| l.peer) else {
            return;
        };
        let until = self.clock.now().mono + self.cfg.agent.gossip.ban_duration;
        if !self.banned.contains_key(&peer)
            && self.banned.len() >= MAX_BANNED_PEERS
            && let Some(first) = self.banned.iter().min_by_key(|(_, u)| **u).map(|(p, _)| *p)
        {
            self.banned.remove(&first);
        }
        self.banned.insert(peer, until);
        self.transport.close(link);
    }

    /// Run the application's handler for an `Execute` effect on its own task, bounded by the
    /// task's deadline; a missing handler, a panic or a timeout fails the task honestly.
    fn execute(
        &mut self,
        now: Now,
        id: RequestId,
        task: ExecuteTask,
        input: Bytes,
        deadline: Instant,
    ) {
        let done = self.done.clone();
        let Some(handler) = self.handlers.get(&task.capability).cloned() else {
            let _ = done.send(Done::Executed(
                id,
                Executed::Failed(format!("no handler for {}", task.capability)),
            ));
            return;
        };
        let budget = deadline.saturating_duration_since(now.mono);
        tokio::spawn(async move {
            let run = tokio::spawn(handler(task, input));
            let out = match tokio::time::timeout(budget, run).await {
                Ok(Ok(out)) => out,
                Ok(Err(e)) => Executed::Failed(format!("the handler failed: {e}")),
                Err(_) => Executed::Failed("the handler ran past the deadline".into()),
            };
            let _ = done.send(Done::Executed(id, out));
        });
    }

    fn ask_model(
        &mut self,
        now: Now,
        id: RequestId,
        prompt: agentnet_core::effect::LlmPrompt,
        deadline: Instant,
    ) {
        let done = self.done.clone();
        let Some(llm) = self.llm.clone() else {
            let _ = done.send(Done::Llm(id, Err("no language model configured".into())));
            return;
        };
        let budget = deadline.saturating_duration_since(now.mono);
        let p = Prompt {
            system: prompt.system,
            user: prompt.user,
            max_tokens: self.cfg.llm_max_tokens,
            temperature: 0.0,
        };
        tokio::spawn(async move {
            let r = llm.complete(&p, budget).await.map_err(|e| e.to_string());
            let _ = done.send(Done::Llm(id, r));
        });
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn out_of_range_node_config_is_refused_by_name() {
        NodeConfig::default().validate().unwrap();
        let c = NodeConfig {
            command_queue: 0,
            ..NodeConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "command_queue");
        let c = NodeConfig {
            redial_initial: Duration::from_secs(60),
            ..NodeConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "redial_initial");
    }
}
