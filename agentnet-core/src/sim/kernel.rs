//! [`Sim`]: nodes, links, the event loop and fault injection.

use core::fmt;
use core::time::Duration;
use std::collections::BTreeMap;

use bytes::Bytes;

use crate::engine::{Engine, LinkId, Transmit};
use crate::hash::Hash;
use crate::time::{Instant, Now, WallTime};

use super::NodeId;
use super::config::SimConfig;
use super::fault::{ChurnConfig, EngineFactory, Fault, SimError};
use super::link::LinkModel;
use super::metrics::{DropCause, Metrics};
use super::queue::EventQueue;
use super::rng::{SimRng, stream};
use super::trace::{Trace, tag};

/// `NodeState::timer_at` when no timer is armed.
const NO_TIMER: u64 = u64::MAX;

/// One end of a link, kept in the adjacency list of the node at this end.
#[derive(Clone, Copy, Debug)]
struct Adj {
    /// The node at the other end.
    peer: u32,
    /// Identifies the current incarnation of the link; changes whenever the link goes down
    /// (disconnect, or a crash of either end), so frames sent before that are recognisably
    /// stale on arrival. Both ends always hold the same value.
    epoch: u32,
    /// Index into `Kernel::models` (0 = the default model).
    model: u32,
}

/// Per-node bookkeeping (the engine itself lives in `Sim::engines`).
#[derive(Clone, Debug)]
struct NodeState {
    /// Links, sorted by peer.
    adj: Vec<Adj>,
    /// 0 for the first engine, +1 per restart.
    incarnation: u32,
    up: bool,
    /// Bumped whenever the armed timer changes; queue entries with an older value are stale.
    timer_gen: u32,
    /// Time of the armed timer entry, or `NO_TIMER`.
    timer_at: u64,
    /// `handle_message` errors.
    errors: u64,
    /// Picked by the current churn.
    churning: bool,
    /// Crashed by churn (so `stop_churn` restarts it).
    churn_down: bool,
}

impl NodeState {
    fn new() -> Self {
        NodeState {
            adj: Vec::new(),
            incarnation: 0,
            up: true,
            timer_gen: 0,
            timer_at: NO_TIMER,
            errors: 0,
            churning: false,
            churn_down: false,
        }
    }

    #[inline]
    fn find(&self, peer: u32) -> Option<usize> {
        self.adj.binary_search_by_key(&peer, |a| a.peer).ok()
    }
}

/// A frame on the wire.
#[derive(Clone, Debug)]
struct InFlight {
    payload: Bytes,
    sent_at: u64,
    src: u32,
    dst: u32,
    src_incarnation: u32,
    dst_incarnation: u32,
    epoch: u32,
    kind: u16,
}

/// What a queue entry stands for.
#[derive(Clone, Copy, Debug)]
enum Ev {
    /// Deliver `Kernel::flights[slot]`.
    Deliver(u32),
    /// A node's timer, valid while the node's `timer_gen` still equals `gen`.
    Timer { node: u32, generation: u32 },
    /// Apply `Kernel::faults[slot]`.
    Fault(u32),
    /// Toggle a churning node, valid while `Kernel::churn_gen` equals `gen`.
    Churn { node: u32, generation: u32 },
}

/// A recorded engine event: when, where, what.
pub type Recorded<V> = (Now, NodeId, V);

/// Everything but the engines, so an engine can be borrowed while the kernel is updated.
struct Kernel<V> {
    start: Now,
    now: Now,
    queue: EventQueue<Ev>,
    nodes: Vec<NodeState>,
    flights: Vec<Option<InFlight>>,
    free_flights: Vec<u32>,
    faults: Vec<Option<Fault>>,
    free_faults: Vec<u32>,
    models: Vec<LinkModel>,
    overrides: BTreeMap<(u32, u32), u32>,
    next_epoch: u32,
    /// Partition group per node, when partitioned.
    groups: Option<Vec<u32>>,
    link_rng: SimRng,
    churn_rng: SimRng,
    user_rng: SimRng,
    churn: Option<ChurnConfig>,
    churn_gen: u32,
    metrics: Metrics,
    trace: Trace,
    trace_events: bool,
    events: Vec<Recorded<V>>,
    max_events: usize,
    errors: Vec<Recorded<String>>,
    max_errors: usize,
    classify: fn(&[u8]) -> u16,
    steps: u64,
}

fn ordered(a: u32, b: u32) -> (u32, u32) {
    if a <= b { (a, b) } else { (b, a) }
}

impl<V: fmt::Debug> Kernel<V> {
    #[inline]
    fn mono(&self) -> u64 {
        self.now.mono.as_micros()
    }

    /// Move the clock to `t` (never backwards).
    #[inline]
    fn advance_to(&mut self, t: u64) {
        if t > self.mono() {
            let since = t - self.start.mono.as_micros();
            self.now = Now::new(
                Instant::from_micros(t),
                WallTime::from_unix_millis(
                    self.start
                        .wall
                        .as_unix_millis()
                        .saturating_add(since / 1_000),
                ),
            );
        }
    }

    #[inline]
    fn same_side(&self, a: u32, b: u32) -> bool {
        match &self.groups {
            None => true,
            Some(g) => g[a as usize] == g[b as usize],
        }
    }

    fn fresh_epoch(&mut self) -> u32 {
        self.next_epoch = self.next_epoch.wrapping_add(1);
        self.next_epoch
    }

    fn model_index(&self, a: u32, b: u32) -> u32 {
        self.overrides.get(&ordered(a, b)).copied().unwrap_or(0)
    }

    /// Give the link a new epoch at both ends.
    fn bump_epoch(&mut self, a: u32, ia: usize) {
        let e = self.fresh_epoch();
        let b = self.nodes[a as usize].adj[ia].peer;
        self.nodes[a as usize].adj[ia].epoch = e;
        if let Some(ib) = self.nodes[b as usize].find(a) {
            self.nodes[b as usize].adj[ib].epoch = e;
        }
    }

    fn record_drop(&mut self, src: u32, dst: u64, kind: u16, len: usize, cause: DropCause) {
        self.metrics.on_drop(kind, cause);
        if self.trace.enabled() {
            let t = self.mono();
            self.trace
                .begin(tag::DROP, t)
                .u32(src)
                .u64(dst)
                .u8(cause as u8)
                .u16(kind)
                .u32(len as u32);
        }
    }

    fn alloc_flight(&mut self, f: InFlight) -> u32 {
        match self.free_flights.pop() {
            Some(slot) => {
                self.flights[slot as usize] = Some(f);
                slot
            }
            None => {
                self.flights.push(Some(f));
                (self.flights.len() - 1) as u32
            }
        }
    }

    /// Route one frame an engine on `src` wants sent.
    fn send(&mut self, src: u32, t: Transmit) {
        let kind = (self.classify)(&t.payload);
        let len = t.payload.len();
        self.metrics.on_sent(kind, len);
        let dst = match u32::try_from(t.link.0) {
            Ok(d) if (d as usize) < self.nodes.len() => d,
            _ => return self.record_drop(src, t.link.0, kind, len, DropCause::NoLink),
        };
        let Some(ia) = self.nodes[src as usize].find(dst) else {
            return self.record_drop(src, dst.into(), kind, len, DropCause::NoLink);
        };
        if !self.nodes[dst as usize].up {
            return self.record_drop(src, dst.into(), kind, len, DropCause::NodeDown);
        }
        if !self.same_side(src, dst) {
            return self.record_drop(src, dst.into(), kind, len, DropCause::Partition);
        }
        let adj = self.nodes[src as usize].adj[ia];
        let model = &self.models[adj.model as usize];
        if model.sample_loss(&mut self.link_rng) {
            return self.record_drop(src, dst.into(), kind, len, DropCause::Loss);
        }
        let delay = model.sample_delay_micros(&mut self.link_rng);
        let dup_delay = model
            .sample_duplicate(&mut self.link_rng)
            .then(|| model.sample_delay_micros(&mut self.link_rng));
        let now = self.mono();
        if self.trace.enabled() {
            self.trace
                .begin(tag::SEND, now)
                .u32(src)
                .u32(dst)
                .u16(kind)
                .u32(len as u32)
                .u64(delay)
                .u64(dup_delay.unwrap_or(u64::MAX));
        }
        let flight = InFlight {
            payload: t.payload,
            sent_at: now,
            src,
            dst,
            src_incarnation: self.nodes[src as usize].incarnation,
            dst_incarnation: self.nodes[dst as usize].incarnation,
            epoch: adj.epoch,
            kind,
        };
        if let Some(d2) = dup_delay {
            self.metrics.on_duplicate(kind);
            let copy = self.alloc_flight(flight.clone());
            self.queue.push(now.saturating_add(d2), Ev::Deliver(copy));
        }
        let slot = self.alloc_flight(flight);
        self.queue
            .push(now.saturating_add(delay), Ev::Deliver(slot));
    }

    /// Keep the node's single queue entry in step with `deadline`.
    #[inline]
    fn arm(&mut self, node: u32, deadline: Option<Instant>) {
        let now = self.mono();
        let st = &mut self.nodes[node as usize];
        let want = match deadline {
            Some(t) if t != Instant::MAX => t.as_micros().max(now),
            _ => NO_TIMER,
        };
        if want == st.timer_at {
            return;
        }
        st.timer_gen = st.timer_gen.wrapping_add(1);
        st.timer_at = want;
        if want != NO_TIMER {
            let generation = st.timer_gen;
            self.queue.push(want, Ev::Timer { node, generation });
        }
    }

    /// The drive contract's point 2: drain transmits, then events, repeating until a whole
    /// pass yields neither, then re-read the deadline. The same rule as
    /// [`engine::drain`](crate::engine::drain), written out because the callbacks both need
    /// the kernel. Deterministic: the order of polls depends only on what the engine returns.
    fn flush<E: Engine<Event = V>>(&mut self, node: u32, eng: &mut E) {
        loop {
            let mut idle = true;
            while let Some(t) = eng.poll_transmit() {
                idle = false;
                self.send(node, t);
            }
            while let Some(ev) = eng.poll_event() {
                idle = false;
                if self.trace.enabled() && self.trace_events {
                    let t = self.mono();
                    self.trace.begin(tag::EVENT, t).u32(node).debug(&ev);
                }
                if self.events.len() < self.max_events {
                    self.events.push((self.now, NodeId(node), ev));
                    self.metrics.events_recorded += 1;
                } else {
                    self.metrics.events_dropped += 1;
                }
            }
            if idle {
                break;
            }
        }
        self.arm(node, eng.poll_timeout());
    }

    fn on_error(&mut self, node: u32, err: &dyn fmt::Display) {
        self.nodes[node as usize].errors += 1;
        self.metrics.handle_errors += 1;
        if self.trace.enabled() {
            let t = self.mono();
            self.trace.begin(tag::ERROR, t).u32(node);
            if self.trace_events {
                self.trace.debug(&format_args!("{err}"));
            }
        }
        if self.errors.len() < self.max_errors {
            self.errors.push((self.now, NodeId(node), err.to_string()));
        }
    }

    /// Check a frame on arrival; `Ok` means deliver it.
    fn admit(&self, f: &InFlight) -> Result<(), DropCause> {
        let d = &self.nodes[f.dst as usize];
        if !d.up || d.incarnation != f.dst_incarnation {
            return Err(DropCause::NodeDown);
        }
        match d.find(f.src) {
            None => return Err(DropCause::NoLink),
            Some(i) if d.adj[i].epoch != f.epoch => {
                let s = &self.nodes[f.src as usize];
                return Err(if !s.up || s.incarnation != f.src_incarnation {
                    DropCause::NodeDown
                } else {
                    DropCause::NoLink
                });
            }
            Some(_) => {}
        }
        if !self.same_side(f.src, f.dst) {
            return Err(DropCause::Partition);
        }
        Ok(())
    }

    fn check(&self, id: NodeId) -> Result<u32, SimError> {
        if (id.0 as usize) < self.nodes.len() {
            Ok(id.0)
        } else {
            Err(SimError::UnknownNode(id))
        }
    }

    fn alloc_fault(&mut self, f: Fault) -> u32 {
        match self.free_faults.pop() {
            Some(slot) => {
                self.faults[slot as usize] = Some(f);
                slot
            }
            None => {
                self.faults.push(Some(f));
                (self.faults.len() - 1) as u32
            }
        }
    }

    fn churn_delay(&mut self, mean: Duration) -> u64 {
        let mean = mean.as_secs_f64() * 1e6;
        let d = self.churn_rng.exponential(mean).round();
        (d as u64).max(1)
    }
}

/// The deterministic discrete-event simulator. See the [module documentation](super) for the
/// guide and the exact semantics.
pub struct Sim<E: Engine> {
    engines: Vec<Option<E>>,
    k: Kernel<E::Event>,
    factory: Option<Box<dyn EngineFactory<E>>>,
}

impl<E: Engine> fmt::Debug for Sim<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("now", &self.k.now)
            .field("nodes", &self.k.nodes.len())
            .field("pending", &self.k.queue.len())
            .field("steps", &self.k.steps)
            .field("partitioned", &self.k.groups.is_some())
            .field("churn", &self.k.churn)
            .field("factory", &self.factory.is_some())
            .finish_non_exhaustive()
    }
}

impl<E: Engine> Sim<E>
where
    E::Event: fmt::Debug,
{
    /// An empty simulation at `config.start`.
    pub fn new(config: SimConfig) -> Self {
        let mut overrides = BTreeMap::new();
        let mut models = vec![config.link];
        for (a, b, m) in config.link_overrides {
            models.push(m);
            overrides.insert(ordered(a.0, b.0), (models.len() - 1) as u32);
        }
        let k = Kernel {
            start: config.start,
            now: config.start,
            queue: EventQueue::starting_at(config.start.mono.as_micros()),
            nodes: Vec::new(),
            flights: Vec::new(),
            free_flights: Vec::new(),
            faults: Vec::new(),
            free_faults: Vec::new(),
            models,
            overrides,
            next_epoch: 0,
            groups: None,
            link_rng: SimRng::stream(config.seed, stream::LINK),
            churn_rng: SimRng::stream(config.seed, stream::CHURN),
            user_rng: SimRng::stream(config.seed, stream::USER),
            churn: None,
            churn_gen: 0,
            metrics: Metrics::default(),
            trace: Trace::new(config.trace),
            trace_events: config.trace_events,
            events: Vec::new(),
            max_events: config.max_events,
            errors: Vec::new(),
            max_errors: config.max_errors,
            classify: config.classify,
            steps: 0,
        };
        Sim {
            engines: Vec::new(),
            k,
            factory: None,
        }
    }

    /// An empty simulation with an engine factory, needed by [`spawn`](Self::spawn),
    /// [`restart`](Self::restart) and [`start_churn`](Self::start_churn).
    pub fn with_factory(config: SimConfig, factory: impl EngineFactory<E> + 'static) -> Self {
        let mut sim = Self::new(config);
        sim.set_factory(factory);
        sim
    }

    /// Set (or replace) the engine factory.
    pub fn set_factory(&mut self, factory: impl EngineFactory<E> + 'static) {
        self.factory = Some(Box::new(factory));
    }

    // ----- nodes -----

    /// Add a node running `engine` (built by the caller, typically at [`now`](Self::now)).
    /// Ids are dense: the n-th node added is `NodeId(n - 1)`. The node has no links yet; any
    /// output the engine already queued is drained at once, as the drive contract asks.
    pub fn add_node(&mut self, engine: E) -> NodeId {
        let id = u32::try_from(self.k.nodes.len()).expect("at most u32::MAX nodes");
        self.k.nodes.push(NodeState::new());
        if let Some(g) = &mut self.k.groups {
            g.push(0);
        }
        self.engines.push(Some(engine));
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::NODE, t).u32(id);
        }
        self.with_engine(id, |_, _| ());
        NodeId(id)
    }

    /// Add a node whose engine the factory builds (incarnation 0).
    pub fn spawn(&mut self) -> Result<NodeId, SimError> {
        let factory = self.factory.as_mut().ok_or(SimError::NoFactory)?;
        let id = NodeId(self.k.nodes.len() as u32);
        let engine = factory.build(id, self.k.now, 0);
        Ok(self.add_node(engine))
    }

    /// Number of nodes ever added (up or down).
    pub fn node_count(&self) -> usize {
        self.k.nodes.len()
    }

    /// All node ids, ascending.
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + use<E> {
        (0..self.k.nodes.len() as u32).map(NodeId)
    }

    /// Whether the node exists and is up.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.k.nodes.get(id.0 as usize).is_some_and(|n| n.up)
    }

    /// How many times the node has been restarted (0 for its first engine).
    pub fn incarnation(&self, id: NodeId) -> Option<u32> {
        self.k.nodes.get(id.0 as usize).map(|n| n.incarnation)
    }

    /// The node's engine, or `None` if the node is unknown or down.
    pub fn engine(&self, id: NodeId) -> Option<&E> {
        self.engines.get(id.0 as usize)?.as_ref()
    }

    /// The node's engine for direct calls. After calling an input or command method on it,
    /// call [`flush`](Self::flush) so its outputs are routed (or use [`command`](Self::command),
    /// which does both).
    pub fn engine_mut(&mut self, id: NodeId) -> Option<&mut E> {
        self.engines.get_mut(id.0 as usize)?.as_mut()
    }

    /// Run `f` on the node's engine at the current time, then drain its outputs. This is how
    /// to issue engine commands (`publish`, `discover`, ...). `None` if the node is unknown or
    /// down.
    pub fn command<R>(&mut self, id: NodeId, f: impl FnOnce(&mut E, Now) -> R) -> Option<R> {
        let idx = self.k.check(id).ok()?;
        self.with_engine(idx, f)
    }

    /// Drain the node's outputs (transmits, events, timer) after direct use of
    /// [`engine_mut`](Self::engine_mut).
    pub fn flush(&mut self, id: NodeId) {
        if let Ok(idx) = self.k.check(id) {
            self.with_engine(idx, |_, _| ());
        }
    }

    fn with_engine<R>(&mut self, node: u32, f: impl FnOnce(&mut E, Now) -> R) -> Option<R> {
        let eng = self.engines[node as usize].as_mut()?;
        let r = f(eng, self.k.now);
        self.k.flush(node, eng);
        Some(r)
    }

    fn link_up(&mut self, node: u32, peer: u32) {
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::LINK_UP, t).u32(node).u32(peer);
        }
        self.with_engine(node, |e, now| e.handle_link_up(now, LinkId(peer.into())));
    }

    fn link_down(&mut self, node: u32, peer: u32) {
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::LINK_DOWN, t).u32(node).u32(peer);
        }
        self.with_engine(node, |e, now| e.handle_link_down(now, LinkId(peer.into())));
    }

    // ----- observing -----

    /// The current virtual time.
    pub fn now(&self) -> Now {
        self.k.now
    }

    /// Events processed so far (deliveries and drops on arrival, timers, faults, churn toggles).
    pub fn steps(&self) -> u64 {
        self.k.steps
    }

    /// Queue entries pending, including cancelled timers not yet skipped.
    pub fn pending_count(&self) -> usize {
        self.k.queue.len()
    }

    /// Take every recorded engine event, oldest first.
    pub fn drain_events(&mut self) -> Vec<Recorded<E::Event>> {
        core::mem::take(&mut self.k.events)
    }

    /// Recorded engine events not yet drained, oldest first.
    pub fn events(&self) -> &[Recorded<E::Event>] {
        &self.k.events
    }

    /// Take the recorded `handle_message` errors (`Display` text), oldest first.
    pub fn drain_errors(&mut self) -> Vec<Recorded<String>> {
        core::mem::take(&mut self.k.errors)
    }

    /// How many frames the node's engines (all incarnations) refused with `Err`.
    pub fn error_count(&self, id: NodeId) -> u64 {
        self.k.nodes.get(id.0 as usize).map_or(0, |n| n.errors)
    }

    /// The counters so far.
    pub fn metrics(&self) -> &Metrics {
        &self.k.metrics
    }

    /// The digest of the trace so far (see the module documentation for what it covers).
    pub fn trace_hash(&self) -> Hash {
        self.k.trace.finalize()
    }

    /// A random stream for the test itself (topologies, workloads), keyed by the same seed
    /// but independent of the streams the simulator uses.
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.k.user_rng
    }
}

mod driving;
mod faults;
mod links;
