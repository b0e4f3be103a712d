//! [`SimNet`]: a ready-made simulated network of production gossip engines.

use std::cell::{Ref, RefCell, RefMut};
use std::collections::BTreeSet;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use agentnet_core::ConfigError;
use agentnet_core::descriptor::{CapabilityDescriptor, DescriptorError, Topic};
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::sim::{LinkModel, NodeId, Recorded, Sim, SimConfig};
use agentnet_core::{AgentId, Now};
use thiserror::Error;

use super::{HeadStore, agent, keypair, pump};
use crate::config::GossipConfig;
use crate::engine::GossipEngine;
use crate::events::{CommandError, Event};

/// How often [`SimNet::run`] stops to persist and confirm the heads the engines asked for: a
/// host that takes about this long to reach its disk.
const PUMP_EVERY: Duration = Duration::from_millis(20);

type Tweak = Rc<dyn Fn(&mut GossipConfig)>;

/// Why [`SimNetBuilder::build`] refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SimNetError {
    /// A topic name is invalid.
    #[error("invalid topic: {0}")]
    Topic(#[from] DescriptorError),
    /// The tweaked [`GossipConfig`] has a field outside its documented range.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An engine with this config cannot follow the topics (e.g. more than
    /// [`GossipConfig::max_topics`]).
    #[error(transparent)]
    Subscribe(#[from] CommandError),
}

/// A network of `n` production [`GossipEngine`]s in [`agentnet_core::sim`], each connected to
/// `degree` random others, all following the same topics.
///
/// Node `i` signs with [`keypair`]`(NodeId(i))` and embeds with the default
/// [`HashedNgramEncoder`]; its config is [`GossipConfig::default`] with a seed derived from the
/// network seed, the node id and the incarnation, then the builder's tweak. A shared
/// [`HeadStore`] outlives crashes: a restarted node (by [`Sim::restart`] or churn) restores its
/// own heads from it and subscribes again. Everything is deterministic for a seed.
///
/// ```
/// use std::time::Duration;
///
/// use agentnet_core::descriptor::Topic;
/// use agentnet_core::sim::{LinkModel, NodeId};
/// use agentnet_gossip::simhost::{SimNet, agent};
///
/// let link = LinkModel::uniform(Duration::from_millis(20), Duration::from_millis(80));
/// let mut net = SimNet::builder(10)
///     .degree(3)
///     .seed(42)
///     .link(link)
///     .topics(["creative/image"])
///     .config(|c| c.heartbeat = Duration::from_millis(500))
///     .build()
///     .unwrap();
/// net.run(Duration::from_secs(2)); // let the meshes form
/// net.publish(
///     NodeId(0),
///     "image.generate",
///     "creative/image",
///     "generate images from a text prompt",
///     Duration::from_secs(60),
/// );
/// net.run(Duration::from_secs(3));
/// let topic = Topic::new("creative/image").unwrap();
/// assert!(net.holders(&topic, &agent(NodeId(0)), 1).contains(&NodeId(7)));
/// ```
pub struct SimNet {
    /// The simulator: partition, crash, restart, churn, and reach every engine through it.
    /// After driving it directly, call [`SimNet::pump`] (or [`SimNet::run`]) so persist
    /// requests are confirmed and events collected.
    pub sim: Sim<GossipEngine>,
    /// Every event the engines emitted so far, in order (persist requests included).
    pub events: Vec<Recorded<Event>>,
    store: Rc<RefCell<HeadStore>>,
    topics: Vec<Topic>,
}

impl fmt::Debug for SimNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimNet")
            .field("nodes", &self.sim.node_count())
            .field("now", &self.sim.now())
            .field("events", &self.events.len())
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

/// Builds a [`SimNet`]; start with [`SimNet::builder`].
#[must_use = "a builder does nothing until `build`"]
pub struct SimNetBuilder {
    n: u32,
    degree: u32,
    seed: u64,
    link: LinkModel,
    topics: Vec<String>,
    tweak: Tweak,
}

impl fmt::Debug for SimNetBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimNetBuilder")
            .field("n", &self.n)
            .field("degree", &self.degree)
            .field("seed", &self.seed)
            .field("link", &self.link)
            .field("topics", &self.topics)
            .finish_non_exhaustive()
    }
}

impl SimNetBuilder {
    /// Each node opens up to this many links to random others (default 4; duplicates and
    /// self-links are skipped, with a bounded number of draws, so a small network may get
    /// fewer). Links are symmetric, so a node's degree is usually higher.
    pub fn degree(mut self, degree: u32) -> Self {
        self.degree = degree;
        self
    }

    /// The seed of the simulator and of every engine (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The link model of every link (default: [`LinkModel::default`]).
    pub fn link(mut self, link: LinkModel) -> Self {
        self.link = link;
        self
    }

    /// The topics every node follows (default none; [`GossipEngine::publish`] subscribes its
    /// author to the topic anyway).
    pub fn topics<S: AsRef<str>>(mut self, topics: impl IntoIterator<Item = S>) -> Self {
        self.topics = topics.into_iter().map(|t| t.as_ref().to_owned()).collect();
        self
    }

    /// Adjust every node's [`GossipConfig`] after its seed is set. Called for each engine the
    /// network builds, restarts included, so it should give the same answer every time.
    pub fn config(mut self, tweak: impl Fn(&mut GossipConfig) + 'static) -> Self {
        self.tweak = Rc::new(tweak);
        self
    }

    /// Spawn the nodes and wire the random topology (the links come up at the current virtual
    /// time; nothing has run yet).
    ///
    /// Refuses an invalid topic, or a tweaked config that an engine would refuse.
    pub fn build(self) -> Result<SimNet, SimNetError> {
        let SimNetBuilder {
            n,
            degree,
            seed,
            link,
            topics,
            tweak,
        } = self;
        let topics = topics
            .iter()
            .map(Topic::new)
            .collect::<Result<Vec<_>, _>>()?;
        let cfg = SimConfig {
            link,
            ..SimConfig::seeded(seed)
        };
        // The factory cannot fail, so try its config (node 0, first incarnation) here first.
        let probe_now = cfg.start;
        let mut probe = GossipEngine::new(
            node_config(NodeId(0), 0, seed, &*tweak),
            Box::new(keypair(NodeId(0))),
            Box::new(HashedNgramEncoder::default()),
            probe_now,
        )?;
        for t in &topics {
            probe.subscribe(probe_now, t.clone())?;
        }

        let store = Rc::new(RefCell::new(HeadStore::new()));
        let st = store.clone();
        let subs = topics.clone();
        let factory = move |node: NodeId, now: Now, inc: u32| {
            let mut e = GossipEngine::new(
                node_config(node, inc, seed, &*tweak),
                Box::new(keypair(node)),
                Box::new(HashedNgramEncoder::default()),
                now,
            )
            .expect("config checked by SimNetBuilder::build");
            e.restore(now, st.borrow().heads(node))
                .expect("own heads restore");
            for t in &subs {
                e.subscribe(now, t.clone())
                    .expect("topics checked by SimNetBuilder::build");
            }
            e
        };
        let mut sim = Sim::with_factory(cfg, factory);
        for _ in 0..n {
            sim.spawn().expect("the network has a factory");
        }
        for a in 0..n {
            let mut made = 0;
            let mut tries = 0;
            while made < degree && tries < degree * 20 {
                tries += 1;
                let b = sim.rng().below(u64::from(n)) as u32;
                if sim.connect(NodeId(a), NodeId(b)) {
                    made += 1;
                }
            }
        }
        Ok(SimNet {
            sim,
            store,
            events: Vec::new(),
            topics,
        })
    }
}

/// Node `node`'s config in incarnation `inc`: the default with a seed from (node, inc, network
/// seed), then the tweak.
fn node_config(
    node: NodeId,
    inc: u32,
    seed: u64,
    tweak: &dyn Fn(&mut GossipConfig),
) -> GossipConfig {
    let mut c = GossipConfig::default();
    c.seed[..4].copy_from_slice(&node.0.to_le_bytes());
    c.seed[4..8].copy_from_slice(&inc.to_le_bytes());
    c.seed[8..16].copy_from_slice(&seed.to_le_bytes());
    tweak(&mut c);
    c
}

impl SimNet {
    /// A builder for a network of `n` nodes.
    pub fn builder(n: u32) -> SimNetBuilder {
        SimNetBuilder {
            n,
            degree: 4,
            seed: 0,
            link: LinkModel::default(),
            topics: Vec::new(),
            tweak: Rc::new(|_| {}),
        }
    }

    /// Run for `d` of virtual time, stopping every 20 ms to persist and confirm the heads the
    /// engines asked for ([`pump`]) and to collect events into [`events`](Self::events).
    pub fn run(&mut self, d: Duration) {
        let end = self.sim.now().mono + d;
        while self.sim.now().mono < end {
            let step = PUMP_EVERY.min(end - self.sim.now().mono);
            self.sim.run_for(step);
            self.pump();
        }
    }

    /// Persist and confirm pending heads now and collect events, without advancing time.
    pub fn pump(&mut self) {
        let ev = pump(&mut self.sim, &mut self.store.borrow_mut());
        self.events.extend(ev);
    }

    /// Publish a descriptor from `node` (as [`agent`]`(node)`) in `topic`, valid for `ttl`.
    /// Returns the (topic, seq) of the new log entry; it is sent once its head is persisted,
    /// at the next pump.
    ///
    /// # Panics
    ///
    /// If `node` is unknown or down, or the engine refuses the descriptor (an invalid topic or
    /// TTL, say): a test harness should fail loudly.
    pub fn publish(
        &mut self,
        node: NodeId,
        capability: &str,
        topic: &str,
        summary: &str,
        ttl: Duration,
    ) -> (Topic, u64) {
        let id = agent(node);
        self.sim
            .command(node, |e, now| {
                let d = CapabilityDescriptor::builder(id, capability, topic, summary)
                    .ttl(ttl)
                    .build(now)
                    .expect("a valid descriptor");
                e.publish(now, d)
                    .expect("the engine accepts the descriptor")
            })
            .expect("node is up")
    }

    /// The nodes that are up, ascending.
    pub fn up_nodes(&self) -> Vec<NodeId> {
        self.sim.node_ids().filter(|n| self.sim.is_up(*n)).collect()
    }

    /// The nodes (up) that hold the header (topic, author, seq); the author counts as holding
    /// its own entries.
    pub fn holders(&self, topic: &Topic, author: &AgentId, seq: u64) -> BTreeSet<NodeId> {
        self.up_nodes()
            .into_iter()
            .filter(|n| {
                let e = self.sim.engine(*n).expect("up");
                e.id() == *author || e.header(topic, author, seq).is_some()
            })
            .collect()
    }

    /// The topics every node follows.
    pub fn topics(&self) -> &[Topic] {
        &self.topics
    }

    /// The durable store restarted nodes restore from.
    pub fn store(&self) -> Ref<'_, HeadStore> {
        self.store.borrow()
    }

    /// The durable store, to change it (e.g. [`HeadStore::wipe`] a node before restarting it).
    pub fn store_mut(&mut self) -> RefMut<'_, HeadStore> {
        self.store.borrow_mut()
    }
}
