//! Shared set-up for the gossip simulations: a random topology of production engines, a
//! simulated durable store, descriptors.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::sim::{LinkModel, NodeId, Recorded, Sim, SimConfig};
use agentnet_core::{AgentId, Keypair, Now};
use agentnet_gossip::simhost::{HeadStore, pump};
use agentnet_gossip::{Event, GossipConfig, GossipEngine};

pub(crate) fn keypair(node: NodeId) -> Keypair {
    let mut s = [0u8; 32];
    s[..4].copy_from_slice(&node.0.to_le_bytes());
    s[31] = 0x5a;
    Keypair::from_seed(s)
}

pub(crate) fn agent(node: NodeId) -> AgentId {
    keypair(node).id()
}

pub(crate) fn topic(s: &str) -> Topic {
    Topic::new(s).unwrap()
}

/// A network of `n` gossip engines; each node connects to `degree` random others.
pub(crate) struct Net {
    pub sim: Sim<GossipEngine>,
    pub store: Rc<RefCell<HeadStore>>,
    pub events: Vec<Recorded<Event>>,
    pub topics: Vec<Topic>,
}

impl Net {
    pub(crate) fn new(n: u32, degree: u32, seed: u64, link: LinkModel, topics: &[&str]) -> Net {
        Self::with_config(n, degree, seed, link, topics, |_| {})
    }

    pub(crate) fn with_config(
        n: u32,
        degree: u32,
        seed: u64,
        link: LinkModel,
        topics: &[&str],
        tweak: impl Fn(&mut GossipConfig) + 'static,
    ) -> Net {
        let store = Rc::new(RefCell::new(HeadStore::new()));
        let topics: Vec<Topic> = topics.iter().map(|t| topic(t)).collect();
        let cfg = SimConfig {
            link,
            ..SimConfig::seeded(seed)
        };
        let st = store.clone();
        let subs = topics.clone();
        let factory = move |node: NodeId, now: Now, inc: u32| {
            let mut c = GossipConfig::default();
            c.seed[..4].copy_from_slice(&node.0.to_le_bytes());
            c.seed[4..8].copy_from_slice(&inc.to_le_bytes());
            c.seed[8..16].copy_from_slice(&seed.to_le_bytes());
            tweak(&mut c);
            let mut e = GossipEngine::new(
                c,
                Box::new(keypair(node)),
                Box::new(HashedNgramEncoder::default()),
                now,
            )
            .unwrap();
            e.restore(now, st.borrow().heads(node))
                .expect("own heads restore");
            for t in &subs {
                e.subscribe(now, t.clone()).unwrap();
            }
            e
        };
        let mut sim = Sim::with_factory(cfg, factory);
        for _ in 0..n {
            sim.spawn().unwrap();
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
        Net {
            sim,
            store,
            events: Vec::new(),
            topics,
        }
    }

    /// Run for `d` of virtual time, pumping persistence every 20 ms.
    pub(crate) fn run(&mut self, d: Duration) {
        let end = self.sim.now().mono + d;
        while self.sim.now().mono < end {
            let step = Duration::from_millis(20).min(end - self.sim.now().mono);
            self.sim.run_for(step);
            let ev = pump(&mut self.sim, &mut self.store.borrow_mut());
            self.events.extend(ev);
        }
    }

    /// Publish a descriptor from `node` in `topic`.
    pub(crate) fn publish(
        &mut self,
        node: NodeId,
        cap: &str,
        topic: &str,
        summary: &str,
        ttl: Duration,
    ) {
        let id = agent(node);
        self.sim
            .command(node, |e, now| {
                let d = CapabilityDescriptor::builder(id, cap, topic, summary)
                    .ttl(ttl)
                    .build(now)
                    .unwrap();
                e.publish(now, d).unwrap()
            })
            .expect("node is up");
    }

    pub(crate) fn up_nodes(&self) -> Vec<NodeId> {
        self.sim.node_ids().filter(|n| self.sim.is_up(*n)).collect()
    }

    /// Nodes (up) that hold the header (topic, author, seq).
    pub(crate) fn holders(&self, t: &Topic, author: &AgentId, seq: u64) -> BTreeSet<NodeId> {
        self.up_nodes()
            .into_iter()
            .filter(|n| {
                let e = self.sim.engine(*n).unwrap();
                e.id() == *author || e.header(t, author, seq).is_some()
            })
            .collect()
    }
}
