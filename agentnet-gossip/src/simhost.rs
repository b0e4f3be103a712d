//! Driving gossip engines in [`agentnet_core::sim`] with a simulated durable store.
//!
//! A real host persists [`Event::PersistHead`] records (to disk, a database) and confirms them
//! with [`GossipEngine::handle_persisted`]; after a restart it hands the stored heads to
//! [`GossipEngine::restore`]. [`HeadStore`] plays that host in simulations: [`pump`] drains the
//! simulator's events, stores every requested head and confirms it, and the store outlives
//! crashes so an engine factory can restore from it.
//!
//! [`SimNet`] builds a whole simulated network on top: `n` production engines on a random
//! topology, restored from a shared [`HeadStore`] after a crash, with [`SimNet::run`] pumping
//! persistence as it goes. Node `i` signs with [`keypair`]`(NodeId(i))`, so tests can name
//! authors with [`agent`].
//!
//! Behind the `simhost` feature: it is for tests and experiments, not for real hosts.

mod net;

use std::collections::BTreeMap;

use agentnet_core::descriptor::Topic;
use agentnet_core::sim::{NodeId, Recorded, Sim};
use agentnet_core::{AgentId, Keypair};

use crate::engine::GossipEngine;
use crate::events::{Event, OwnHead};

pub use net::{SimNet, SimNetBuilder, SimNetError};

/// The signing key of simulated node `node` in a [`SimNet`]: fixed per node id (and the same
/// in every incarnation), so a test can name any node's agent id without asking its engine.
pub fn keypair(node: NodeId) -> Keypair {
    let mut s = [0u8; 32];
    s[..4].copy_from_slice(&node.0.to_le_bytes());
    s[31] = 0x5a;
    Keypair::from_seed(s)
}

/// The agent id of simulated node `node` in a [`SimNet`] (the id of [`keypair`]`(node)`).
pub fn agent(node: NodeId) -> AgentId {
    keypair(node).id()
}

/// Durable own-log heads per simulated node (the latest per topic).
#[derive(Clone, Debug, Default)]
pub struct HeadStore {
    heads: BTreeMap<NodeId, BTreeMap<Topic, OwnHead>>,
}

impl HeadStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Store `head` for `node` (kept only if newer than what is stored for its topic).
    pub fn put(&mut self, node: NodeId, head: OwnHead) {
        let m = self.heads.entry(node).or_default();
        if m.get(&head.topic).is_none_or(|h| h.seq < head.seq) {
            m.insert(head.topic.clone(), head);
        }
    }

    /// The stored heads of `node`, for [`GossipEngine::restore`].
    pub fn heads(&self, node: NodeId) -> Vec<OwnHead> {
        self.heads
            .get(&node)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Forget everything stored for `node` (a node that lost its disk).
    pub fn wipe(&mut self, node: NodeId) {
        self.heads.remove(&node);
    }
}

/// Drain the simulator's events; persist and confirm every [`Event::PersistHead`] (the
/// confirmation reaches the engine at the current virtual time) and return all events,
/// including the persist requests, in order.
pub fn pump(sim: &mut Sim<GossipEngine>, store: &mut HeadStore) -> Vec<Recorded<Event>> {
    let events = sim.drain_events();
    for (_, node, e) in &events {
        if let Event::PersistHead(h) = e {
            store.put(*node, h.clone());
            let (topic, seq) = (h.topic.clone(), h.seq);
            sim.command(*node, |g, now| g.handle_persisted(now, &topic, seq));
        }
    }
    events
}
