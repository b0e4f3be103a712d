//! [`NodeBuilder`]: settles the store, the identity and the transport, restores the agent
//! and spawns the driver.

use super::*;

/// Builds a [`Node`]. Only the transport is required; everything else has a default.
#[must_use = "a builder does nothing until `build` is called"]
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
    embedder: Option<(Arc<dyn Embedder>, RemoteEncoderLimits)>,
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
            embedder: None,
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

    /// Use a [`Libp2pTransport`](crate::libp2p::Libp2pTransport) (rust-libp2p: QUIC and
    /// TCP + Noise + Yamux, Kademlia discovery, relays and hole punching) with `cfg`, started
    /// once the node's identity is known; its `PeerId` is the node's key.
    #[cfg(feature = "libp2p")]
    pub fn libp2p(self, cfg: crate::libp2p::Libp2pConfig) -> Self {
        self.transport_with(move |keys: &Keypair, _now: Now| {
            let keys = Keypair::from_seed(*keys.seed());
            async move {
                crate::libp2p::Libp2pTransport::start(&keys, cfg)
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

    /// Rank intents with an embedding model outside the process (an embeddings server, e.g.
    /// [`OpenAiEmbeddings`](crate::llm::OpenAiEmbeddings) with feature `openai`), instead of
    /// the lexical default: the agent's encoder becomes a
    /// [`RemoteEncoder`](agentnet_core::semantic::RemoteEncoder) named by
    /// [`Embedder::id`] with `limits`, and the node runs its `Effect::Embed`s through
    /// `embedder` (the agent's [`EmbedConfig`](crate::agent::EmbedConfig) bounds the calls).
    /// [`Node::discover`] and [`Node::request`] wait (at most the embed timeout) for their
    /// intent's vector before ranking. Descriptors are re-embedded locally as they arrive,
    /// so peers using other encoders are still found. Exclusive with
    /// [`encoder`](Self::encoder).
    pub fn embedder(mut self, embedder: Arc<dyn Embedder>, limits: RemoteEncoderLimits) -> Self {
        self.embedder = Some((embedder, limits));
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
        let (encoder, embedder): (Box<dyn SemanticEncoder + Send>, _) =
            match (self.encoder, self.embedder) {
                (Some(_), Some(_)) => {
                    return Err(NodeError::Config(
                        "give either an encoder or an embedder, not both".into(),
                    ));
                }
                (Some(e), None) => (e, None),
                (None, Some((m, limits))) => {
                    let enc = RemoteEncoder::new(m.id(), m.dim(), limits)
                        .map_err(|e| NodeError::Config(format!("embedder {}: {e}", m.id())))?;
                    (Box::new(enc), Some(m))
                }
                (None, None) => (Box::new(HashedNgramEncoder::default()), None),
            };
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
                        peer: None,
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
            topics_sent: Vec::new(),
            load: Default::default(),
            cfg: self.config,
            agent,
            transport,
            store,
            clock,
            llm: self.llm.clone(),
            embedder,
            warming: Vec::new(),
            addr: addr.clone(),
            events: ev_tx.clone(),
            done: done_tx,
            handlers: BTreeMap::new(),
            waiters: BTreeMap::new(),
            dialing: Vec::new(),
            workflow_waiters: BTreeMap::new(),
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
