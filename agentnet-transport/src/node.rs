//! [`Node`]: the protocol adaptation layer that runs agentnet's sans-IO engines over a real
//! [`Transport`], a [`Store`] and a [`Clock`].
//!
//! A node owns one driver task (spawned on the caller's tokio runtime). The task is the only
//! place the engines live; the [`Node`] handle talks to it through a bounded command queue and
//! hears from it through a broadcast channel of [`NodeEvent`]s. Per turn the driver:
//!
//! 1. waits for the first of: a command, a transport event, the engines' earliest deadline
//!    (`poll_timeout`), the next store pruning or bootstrap redial;
//! 2. feeds it to the engine (`handle_message` routed by frame kind, `handle_link_up/down`,
//!    `handle_timeout`, or a command such as `publish`);
//! 3. drains the engine by the drive contract of `agentnet_core::engine`: transmits and events
//!    until both are empty, then reads `poll_timeout`. Transmits go to the transport (which
//!    queues without blocking); from each pass's events everything durable is written as
//!    **one** [`Batch`](crate::store::Batch) and, only once the batch is on disk, own log heads
//!    are acknowledged to the engine (`handle_persisted`) — so no own entry is ever sent before
//!    its head is durable. The acknowledgement is an input; the next pass sends what it
//!    released.
//!
//! Frames are routed by their kind: `0x01xx` to the gossip engine. The trust and mechanism
//! engines will take the `0x02xx` and `0x03xx` ranges; until they exist such frames are
//! counted as unrouted and dropped.
//!
//! The node does not discover peers beyond its bootstrap list and the peers that dial it; it
//! redials bootstrap addresses with exponential backoff whenever it has no link to them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::semantic::{HashedNgramEncoder, SemanticEncoder};
use agentnet_core::wire::peek_kind;
use agentnet_core::{AgentId, Engine, Instant, Keypair, LinkId, Now};
use agentnet_gossip::{
    Candidate, CommandError, Event as GossipEvent, GossipConfig, GossipEngine, GossipStats,
    InterestProfile, Requirements,
};
use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::host::{Clock, LanguageModel, LinkDown, LinkInfo, SystemClock, Transport};
use crate::store::{MemoryStore, RedbStore, Store, StoreError, Write};

/// Why a node call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The builder is missing something or holds contradictory settings.
    #[error("configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The gossip engine refused a command.
    #[error(transparent)]
    Command(#[from] CommandError),
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

/// Node settings beyond the engines' own configs.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The gossip engine's configuration (its `seed` is replaced by the node's seed).
    pub gossip: GossipConfig,
    /// Addresses to dial at start and to keep a link to (transport notation). Default none.
    pub bootstrap: Vec<String>,
    /// Topics to subscribe to at start. Default none (publishing subscribes on its own).
    pub topics: Vec<Topic>,
    /// Subscribe to every topic a linked peer says it follows. Default false; useful for
    /// clients that want to discover across all topics they can reach.
    pub follow_peer_topics: bool,
    /// First redial delay for a bootstrap address without a link. Default 500 ms; range
    /// 10 ms..=`redial_max`.
    pub redial_initial: Duration,
    /// Largest redial delay (the delay doubles per failure). Default 30 s.
    pub redial_max: Duration,
    /// How often expired records are deleted from the store. Default 60 s; min 1 s.
    pub prune_interval: Duration,
    /// Commands queued from handles before callers wait. Default 256; min 1.
    pub command_queue: usize,
    /// Events buffered per event receiver before the slowest one lags (and is told how many
    /// it missed). Default 1024; min 1.
    pub event_capacity: usize,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            gossip: GossipConfig::default(),
            bootstrap: Vec::new(),
            topics: Vec::new(),
            follow_peer_topics: false,
            redial_initial: Duration::from_millis(500),
            redial_max: Duration::from_secs(30),
            prune_interval: Duration::from_secs(60),
            command_queue: 256,
            event_capacity: 1024,
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
    /// Something the gossip engine reported (headers, descriptors, equivocations, ...).
    /// `PersistHead` never appears: the node handles it.
    Gossip(GossipEvent),
    /// A batch could not be written; own entries in it stay unsent until a later write works.
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
    /// Frames an engine refused (malformed, forged, stale, rate-limited, ...).
    pub refused: u64,
    /// Frames of a kind no engine handles.
    pub unrouted: u64,
    /// Links up now.
    pub links: usize,
    /// The gossip engine's counters.
    pub gossip: GossipStats,
    /// Headers held by the gossip engine.
    pub headers: usize,
    /// Descriptors in the discovery index.
    pub descriptors: usize,
}

enum Command {
    Announce(
        Box<CapabilityDescriptor>,
        oneshot::Sender<Result<(Topic, u64), NodeError>>,
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
    Connect(String, oneshot::Sender<Result<(), NodeError>>),
    Peers(oneshot::Sender<Vec<LinkInfo>>),
    Stats(oneshot::Sender<NodeStats>),
    Shutdown(oneshot::Sender<()>),
}

/// Builds a [`Node`]. Only the transport is required; everything else has a default.
pub struct NodeBuilder {
    identity: Option<Keypair>,
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
    pub fn identity(mut self, keys: Keypair) -> Self {
        self.identity = Some(keys);
        self
    }

    /// Keep state in `dir` with a [`RedbStore`] (created if missing). A node restarted from
    /// the same directory keeps its identity, own log heads and accepted entries.
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

    /// The language model engines may call. Default none.
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

    /// The seed of the engines' randomness. Default: from the OS random source.
    pub fn seed(mut self, seed: [u8; 32]) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Node settings (bootstrap peers, topics, engine configs, queue sizes).
    pub fn config(mut self, config: NodeConfig) -> Self {
        self.config = config;
        self
    }

    /// Open the store, settle the identity, restore the engines, start the transport and spawn
    /// the driver on the current tokio runtime.
    pub async fn start(self) -> Result<Node, NodeError> {
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
        let restored = store.load()?;
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
        let mut gcfg = self.config.gossip.clone();
        gcfg.seed = match self.seed {
            Some(s) => s,
            None => os_seed()?,
        };
        let encoder = self
            .encoder
            .unwrap_or_else(|| Box::new(HashedNgramEncoder::default()));
        let id = keys.id();
        let mut gossip = GossipEngine::new(
            gcfg,
            Box::new(Keypair::from_seed(*keys.seed())),
            encoder,
            now,
        );
        gossip.set_interest(self.interest);
        gossip.restore(now, restored.own_heads)?;
        for t in &self.config.topics {
            gossip.subscribe(now, t.clone())?;
        }
        // Headers first (they subscribe nothing: only logs of followed topics are kept), then
        // the descriptors they announced.
        gossip.restore_headers(now, restored.headers);
        gossip.restore_descriptors(now, restored.descriptors);
        let addr = transport.local_addr();
        let (cmd_tx, cmd_rx) = mpsc::channel(self.config.command_queue.max(1));
        let (ev_tx, ev_rx) = broadcast::channel(self.config.event_capacity.max(1));
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
            prune_at: now.mono + self.config.prune_interval.max(Duration::from_secs(1)),
            cfg: self.config,
            gossip,
            transport,
            store,
            clock,
            events: ev_tx.clone(),
            links: BTreeMap::new(),
            bootstrap,
            stats: NodeStats::default(),
        };
        let task = tokio::spawn(driver.run(cmd_rx));
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
    /// [`withdraw`](Self::withdraw). Returns the topic and log seq of the entry.
    pub async fn announce(
        &self,
        descriptor: CapabilityDescriptor,
    ) -> Result<(Topic, u64), NodeError> {
        self.call(|r| Command::Announce(Box::new(descriptor), r))
            .await?
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
    gossip: GossipEngine,
    transport: Box<dyn Transport>,
    store: Box<dyn Store>,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<NodeEvent>,
    links: BTreeMap<LinkId, LinkInfo>,
    bootstrap: BTreeMap<String, Redial>,
    stats: NodeStats,
    prune_at: Instant,
}

/// Gossip frame kinds occupy `0x0100..=0x01ff`.
fn is_gossip(kind: u16) -> bool {
    kind >> 8 == 0x01
}

impl Driver {
    async fn run(mut self, mut cmds: mpsc::Receiver<Command>) {
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
                ev = self.transport.next_event() => {
                    let Some(ev) = ev else { break };
                    self.transport_event(ev);
                }
                () = tokio::time::sleep(wait) => {}
            }
            let now = self.clock.now();
            if self.gossip.poll_timeout().is_some_and(|t| t <= now.mono) {
                self.gossip.handle_timeout(now);
            }
            if self.prune_at <= now.mono {
                self.prune_at = now.mono + self.cfg.prune_interval.max(Duration::from_secs(1));
                if let Err(e) = self.store.prune(now.wall) {
                    self.emit(NodeEvent::StoreFailed(e.to_string()));
                }
            }
            self.redial(now);
            self.flush(now);
        }
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for l in links {
            self.transport.close(l);
        }
    }

    fn deadline(&self) -> Instant {
        let mut d = self.prune_at;
        if let Some(t) = self.gossip.poll_timeout() {
            d = d.min(t);
        }
        for r in self.bootstrap.values() {
            if r.link.is_none() {
                d = d.min(r.at);
            }
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

    fn command(&mut self, cmd: Command) -> Option<oneshot::Sender<()>> {
        let now = self.clock.now();
        match cmd {
            Command::Announce(d, reply) => {
                let r = self.gossip.publish(now, *d).map_err(NodeError::from);
                let _ = reply.send(r);
            }
            Command::Withdraw(cap, reply) => {
                let _ = reply.send(self.gossip.withdraw(&cap));
            }
            Command::Subscribe(t, reply) => {
                let r = self.gossip.subscribe(now, t).map_err(NodeError::from);
                let _ = reply.send(r);
            }
            Command::Interest(p, reply) => {
                self.gossip.set_interest(p);
                let _ = reply.send(());
            }
            Command::Discover {
                intent,
                requirements,
                k,
                reply,
            } => {
                let _ = reply.send(self.gossip.discover(now, &intent, &requirements, k));
            }
            Command::Connect(addr, reply) => {
                let r = self.transport.connect(&addr).map_err(NodeError::from);
                let _ = reply.send(r);
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.links.values().cloned().collect());
            }
            Command::Stats(reply) => {
                let mut s = self.stats.clone();
                s.links = self.links.len();
                s.gossip = self.gossip.stats();
                s.headers = self.gossip.header_count();
                s.descriptors = self.gossip.index().len();
                let _ = reply.send(s);
            }
            Command::Shutdown(done) => return Some(done),
        }
        None
    }

    fn transport_event(&mut self, ev: crate::host::TransportEvent) {
        use crate::host::TransportEvent as T;
        let now = self.clock.now();
        match ev {
            T::LinkUp(info) => {
                if info.outbound
                    && let Some(r) = self.bootstrap.get_mut(&info.remote)
                {
                    r.link = Some(info.link);
                    r.delay = self.cfg.redial_initial;
                }
                self.links.insert(info.link, info.clone());
                self.gossip.handle_link_up(now, info.link);
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
                self.gossip.handle_link_down(now, link);
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
        if !is_gossip(kind.0) {
            self.stats.unrouted += 1;
            return;
        }
        let follow = self.cfg.follow_peer_topics && kind == agentnet_gossip::wire::kind::SUBSCRIBE;
        if let Err(e) = self.gossip.handle_message(now, link, frame) {
            self.stats.refused += 1;
            tracing::debug!(%link, error = %e, "gossip refused a frame");
        }
        if follow {
            let known: Vec<Topic> = self.gossip.topics().cloned().collect();
            for t in self.gossip.link_topics(link) {
                if !known.contains(&t) {
                    let _ = self.gossip.subscribe(now, t);
                }
            }
        }
    }

    /// Drain the engine as the drive contract asks (`agentnet_core::engine`): transmits into
    /// the transport, then events, repeated until a pass yields neither. What must survive a
    /// restart is written as one batch per pass; own log heads are acknowledged
    /// (`handle_persisted`) only once that batch is on disk. The acknowledgement is an input
    /// that releases the entry to the mesh, so its frames go out on the next pass. Sending
    /// before writing is safe: the engine never emits an own entry before it is acknowledged.
    fn flush(&mut self, now: Now) {
        loop {
            let mut idle = true;
            while let Some(t) = self.gossip.poll_transmit() {
                idle = false;
                if let Some(kind) = peek_kind(&t.payload) {
                    let e = self.stats.sent.entry(kind.0).or_default();
                    e.0 += 1;
                    e.1 += t.payload.len() as u64;
                }
                // An unknown link raced with its LinkDown, which is on its way.
                let _ = self.transport.send(t.link, t.payload);
            }
            let mut batch = Vec::new();
            let mut own = Vec::new();
            while let Some(ev) = self.gossip.poll_event() {
                idle = false;
                match ev {
                    GossipEvent::PersistHead(h) => {
                        own.push((h.topic.clone(), h.seq));
                        batch.push(Write::OwnHead(h));
                    }
                    GossipEvent::Header {
                        author,
                        ref topic,
                        seq,
                        ..
                    } => {
                        if let Some(h) = self.gossip.header(topic, &author, seq) {
                            batch.push(Write::Header {
                                topic: topic.clone(),
                                author,
                                seq,
                                expires: h.expires_at(),
                                frame: h.to_frame(),
                            });
                        }
                        self.emit(NodeEvent::Gossip(ev));
                    }
                    GossipEvent::Descriptor(ref d) => {
                        batch.push(Write::Descriptor {
                            provider: d.provider,
                            capability: d.capability.clone(),
                            expires: d.expires_at(),
                            frame: d.to_frame(),
                        });
                        self.emit(NodeEvent::Gossip(ev));
                    }
                    other => self.emit(NodeEvent::Gossip(other)),
                }
            }
            if !batch.is_empty() {
                match self.store.write(&batch) {
                    Ok(()) => {
                        for (t, seq) in own {
                            self.gossip.handle_persisted(now, &t, seq);
                        }
                    }
                    Err(e) => {
                        // Own entries stay unsent (the engine waits for the acknowledgement);
                        // the next announce or refresh tries again.
                        tracing::warn!(error = %e, "store write failed");
                        self.emit(NodeEvent::StoreFailed(e.to_string()));
                    }
                }
            }
            if idle {
                break;
            }
        }
    }
}
