//! The deterministic discrete-event simulator: run any set of [`Engine`]s in virtual time.
//!
//! [`Sim`] drives engines exactly as a production host does (the drive contract in
//! [`crate::engine`]), but over simulated links and a virtual clock, so protocol logic can be
//! tested and measured at scale without sockets, threads or real time. Everything is a pure
//! function of the [`SimConfig::seed`] and the calls made on the `Sim`: the same test gives the
//! same run, bit for bit, every time and on every platform, and [`Sim::trace_hash`] proves it.
//!
//! # What it does
//!
//! - **Nodes** ([`Sim::add_node`], or [`Sim::spawn`] through an [`EngineFactory`]) get dense
//!   ids `NodeId(0)`, `NodeId(1)`, ... Memory is per node and per link only, so 100,000 nodes
//!   with sparse links are fine.
//! - **Links** are explicit ([`Sim::connect`] / [`Sim::disconnect`]) and carry frames both
//!   ways. **On node `m`, the link to node `n` is `LinkId(n as u64)`** (see [`NodeId::link`]):
//!   a frame from `n` arrives at `m` with `from == LinkId(n)`, and `m` replies by transmitting
//!   on `LinkId(n)`. Engines get `handle_link_up` / `handle_link_down` as links come and go.
//! - **Link model** ([`LinkModel`]): latency (constant, uniform, log-normal or Pareto), jitter,
//!   loss and duplication, sampled per frame from the seeded RNG; a default for all links plus
//!   per-pair overrides. There is no bandwidth model: frames never queue behind each other.
//! - **Faults**: partitions ([`Sim::partition`], [`Sim::heal`]) silently drop frames between
//!   groups; [`Sim::crash`] drops a node's engine, cancels its timer, drops frames in flight to
//!   and from it, and tells its neighbours the link went down; [`Sim::restart`] builds a fresh
//!   engine through the factory, which alone decides what state survives (modelling durable
//!   storage); [`Sim::start_churn`] makes a fraction of nodes alternate between up and down
//!   with exponential durations. Any of these can be scheduled for a later virtual time with
//!   [`Sim::schedule`] and a [`Fault`].
//! - **Driving**: [`Sim::step`], [`Sim::run_until`], [`Sim::run_for`],
//!   [`Sim::run_until_idle`]. After every input to an engine the simulator drains
//!   `poll_transmit`, then `poll_event`, repeating until both are empty, then re-reads
//!   `poll_timeout` (the rule of [`engine::drain`](crate::engine::drain)), and keeps exactly
//!   one armed timer per node. Engine commands go through [`Sim::command`], which drains the same
//!   way afterwards.
//! - **Observing**: [`Sim::drain_events`] returns `(Now, NodeId, Event)` triples in order;
//!   [`Sim::engine`] inspects an engine; [`Sim::metrics`] counts frames per message kind
//!   (sent, delivered, dropped by [`DropCause`], duplicated, bytes, latency percentiles) and
//!   exports them as JSON or CSV; `handle_message` errors are counted per node
//!   ([`Sim::error_count`]) and kept as text ([`Sim::drain_errors`]).
//!
//! # What it does not do
//!
//! - No real I/O, threads, clocks or OS randomness; engines run one at a time, so there is
//!   no parallelism to find races in (engines have none: they are single-threaded by design).
//! - No bandwidth, congestion or frame-size effects; no connection handshakes (links are up
//!   the instant they are connected); no byte corruption (feed corrupt frames to an engine
//!   directly to test that).
//! - No clock skew: every node sees the same [`Now`]. Give engines skewed configuration to
//!   test skew handling.
//! - Engines that keep asking for a timeout that is already due without making progress will
//!   keep the clock from advancing; bound such runs with [`Sim::run_until_idle`].
//!
//! # Determinism
//!
//! Queue entries are ordered by (virtual time, insertion order), all randomness comes from
//! ChaCha8 streams keyed by the seed, floating-point sampling uses only correctly rounded IEEE
//! operations, and no hash-map iteration order reaches any output. Events at the same instant
//! are processed in the order they were scheduled.
//!
//! The trace hash is BLAKE3 under [`domain::SIM_TRACE`](crate::hash::domain::SIM_TRACE) over
//! one record per happening, each starting with a tag byte and the virtual time (µs): node
//! added (`N`), link connected / disconnected (`K`/`k`), link model changed (`L`), partition
//! with its groups (`P`), heal (`H`), crash (`C`), restart with incarnation (`R`), frame sent
//! with kind, length and sampled delays (`S`), frame delivered with receiver, sender and
//! payload bytes (`M`), drop with cause, kind and length (`X`), timer fired (`T`), link up /
//! down delivered to an engine (`U`/`D`), `handle_message` error (`!`) and, when
//! [`SimConfig::trace_events`] is on, every engine event with its `Debug` text (`E`).
//! Two runs with equal hashes did the same thing in the same order.
//!
//! # Guide: unit-testing a protocol in isolation
//!
//! 1. Write the protocol as an [`Engine`]: inputs in, outputs polled, no clock or I/O.
//! 2. Build a [`Sim`] from a [`SimConfig`] with a seed and a [`LinkModel`].
//! 3. Add nodes, connect them, drive them with [`Sim::command`] and [`Sim::run_for`].
//! 4. Inject faults and assert on the events, the engines' state and the [`Metrics`].
//!
//! Here a tiny rumour protocol floods ids it has not seen and re-announces all it knows every
//! 100 ms (anti-entropy), so it converges despite 10 % loss; a partition holds a rumour on one
//! side until it heals.
//!
//! ```
//! use std::collections::BTreeSet;
//! use std::time::Duration;
//!
//! use agentnet_core::sim::{LinkModel, NodeId, Sim, SimConfig};
//! use agentnet_core::{Engine, Instant, LinkId, Now, Transmit};
//! use bytes::Bytes;
//!
//! /// Frame: version 1, kind 0x0001, then the rumour id.
//! fn frame(id: u8) -> Bytes {
//!     Bytes::from(vec![1, 0x00, 0x01, id])
//! }
//!
//! struct Rumours {
//!     links: BTreeSet<LinkId>,
//!     known: BTreeSet<u8>,
//!     out: Vec<Transmit>,
//!     learned: Vec<u8>,
//!     next_round: Instant,
//! }
//!
//! impl Rumours {
//!     const ROUND: Duration = Duration::from_millis(100);
//!
//!     fn new(now: Now) -> Self {
//!         Rumours {
//!             links: BTreeSet::new(),
//!             known: BTreeSet::new(),
//!             out: Vec::new(),
//!             learned: Vec::new(),
//!             next_round: now.mono + Self::ROUND,
//!         }
//!     }
//!
//!     /// A command: start a rumour here.
//!     fn publish(&mut self, id: u8) {
//!         self.learn(id, None);
//!     }
//!
//!     fn learn(&mut self, id: u8, from: Option<LinkId>) {
//!         if self.known.insert(id) {
//!             self.learned.push(id);
//!             for &link in self.links.iter().filter(|&&l| Some(l) != from) {
//!                 self.out.push(Transmit { link, payload: frame(id) });
//!             }
//!         }
//!     }
//! }
//!
//! impl Engine for Rumours {
//!     type Event = u8; // "I learned rumour n"
//!     type Error = &'static str;
//!
//!     fn handle_message(&mut self, _now: Now, from: LinkId, payload: Bytes) -> Result<(), Self::Error> {
//!         let [1, 0x00, 0x01, id] = payload[..] else {
//!             return Err("malformed rumour frame");
//!         };
//!         self.learn(id, Some(from));
//!         Ok(())
//!     }
//!
//!     fn handle_timeout(&mut self, now: Now) {
//!         if now.mono >= self.next_round {
//!             self.next_round = now.mono + Self::ROUND;
//!             for &link in &self.links {
//!                 for &id in &self.known {
//!                     self.out.push(Transmit { link, payload: frame(id) });
//!                 }
//!             }
//!         }
//!     }
//!
//!     fn handle_link_up(&mut self, _now: Now, link: LinkId) {
//!         self.links.insert(link);
//!     }
//!
//!     fn handle_link_down(&mut self, _now: Now, link: LinkId) {
//!         self.links.remove(&link);
//!     }
//!
//!     fn poll_transmit(&mut self) -> Option<Transmit> {
//!         self.out.pop()
//!     }
//!
//!     fn poll_event(&mut self) -> Option<u8> {
//!         self.learned.pop()
//!     }
//!
//!     fn poll_timeout(&self) -> Option<Instant> {
//!         Some(self.next_round)
//!     }
//! }
//!
//! // Six nodes in a line, 20 ms links losing 10 % of frames.
//! let mut sim = Sim::new(SimConfig {
//!     link: LinkModel::constant(Duration::from_millis(20)).with_loss(0.1),
//!     ..SimConfig::seeded(7)
//! });
//! let ids: Vec<NodeId> = (0..6).map(|_| {
//!     let now = sim.now();
//!     sim.add_node(Rumours::new(now))
//! }).collect();
//! for pair in ids.windows(2) {
//!     sim.connect(pair[0], pair[1]);
//! }
//!
//! // Cut the line in half, start a rumour on the left, let it spread.
//! sim.partition(&[&ids[..3], &ids[3..]]);
//! sim.command(ids[0], |engine, _now| engine.publish(42));
//! sim.run_for(Duration::from_secs(2));
//!
//! let learned: BTreeSet<NodeId> = sim.drain_events().into_iter().map(|(_, node, _)| node).collect();
//! assert_eq!(learned, ids[..3].iter().copied().collect());
//! assert!(sim.metrics().total.dropped_partition > 0);
//!
//! // Heal: the anti-entropy rounds carry it across.
//! sim.heal();
//! sim.run_for(Duration::from_secs(2));
//! let late: BTreeSet<NodeId> = sim.drain_events().into_iter().map(|(_, node, _)| node).collect();
//! assert_eq!(late, ids[3..].iter().copied().collect());
//! assert!(ids.iter().all(|&id| sim.engine(id).unwrap().known.contains(&42)));
//!
//! // Per-kind counters, keyed by the frame header's kind field.
//! let rumours = &sim.metrics().by_kind[&0x0001];
//! assert!(rumours.dropped_loss > 0 && rumours.delivered > 0);
//! assert!(rumours.latency.percentile(0.5).unwrap() >= 20_000);
//!
//! // The same seed and the same calls always give the same trace.
//! println!("trace {}", sim.trace_hash());
//! ```

mod config;
mod fault;
mod hist;
mod kernel;
mod link;
mod metrics;
mod queue;
mod rng;
mod ticker;
mod trace;

#[cfg(test)]
mod tests;

use core::fmt;

#[cfg(doc)]
use crate::engine::Engine;
use crate::engine::LinkId;
#[cfg(doc)]
use crate::time::Now;

pub use config::{SimConfig, frame_kind};
pub use fault::{ChurnConfig, EngineFactory, Fault, SimError};
pub use hist::Histogram;
pub use kernel::{Recorded, Sim};
pub use link::{Latency, LinkModel};
pub use metrics::{DropCause, KindMetrics, Metrics};
pub use queue::EventQueue;
pub use rng::{SimRng, shuffle};
pub use ticker::{TICK_FRAME, Ticker};

/// A node in a [`Sim`]. Ids are dense, assigned from 0 in the order nodes are added.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct NodeId(pub u32);

impl NodeId {
    /// The link on which *other* nodes reach this one: `LinkId(self.0 as u64)`.
    pub const fn link(self) -> LinkId {
        LinkId(self.0 as u64)
    }

    /// The node a link id names, if it fits a node id (the inverse of [`link`](Self::link)).
    pub fn from_link(link: LinkId) -> Option<NodeId> {
        u32::try_from(link.0).ok().map(NodeId)
    }

    /// The id as an index (`0..node_count`).
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node#{}", self.0)
    }
}
