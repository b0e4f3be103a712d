//! Integration tests of the simulator with a gossip-style flood engine.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use agentnet_core::sim::{ChurnConfig, Fault, LinkModel, NodeId, Sim, SimConfig, Ticker};
use agentnet_core::{Engine, Hash, Instant, LinkId, Now, Transmit};
use bytes::{BufMut, Bytes, BytesMut};

const VERSION: u8 = 1;
/// Frame kind of a single flooded rumour: `[1, 0x00, 0x10, id: u32 BE]`.
const KIND_RUMOUR: u16 = 0x0010;
/// Frame kind of an anti-entropy digest: `[1, 0x00, 0x11, id: u32 BE, ...]`.
const KIND_DIGEST: u16 = 0x0011;

fn frame(kind: u16, ids: impl IntoIterator<Item = u32>) -> Bytes {
    let mut b = BytesMut::with_capacity(16);
    b.put_u8(VERSION);
    b.put_u16(kind);
    for id in ids {
        b.put_u32(id);
    }
    b.freeze()
}

/// Where a node persists what it knows, when the factory gives it one.
type Store = Rc<RefCell<BTreeSet<u32>>>;

/// Floods every rumour id it has not seen to all its links, and every `round` sends a digest
/// of all ids it knows to one neighbour in turn (anti-entropy), so loss cannot stall it.
#[derive(Debug)]
struct Flood {
    links: BTreeSet<LinkId>,
    known: BTreeSet<u32>,
    out: Vec<Transmit>,
    learned: Vec<Learned>,
    next_round: Instant,
    round: Duration,
    turn: usize,
    store: Option<Store>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Learned {
    id: u32,
    via: Option<LinkId>,
}

impl Flood {
    fn new(now: Now, store: Option<Store>) -> Self {
        let known = store
            .as_ref()
            .map(|s| s.borrow().clone())
            .unwrap_or_default();
        Flood {
            links: BTreeSet::new(),
            known,
            out: Vec::new(),
            learned: Vec::new(),
            next_round: now.mono + Duration::from_millis(200),
            round: Duration::from_millis(200),
            turn: 0,
            store,
        }
    }

    fn publish(&mut self, id: u32) {
        self.learn(id, None);
    }

    fn learn(&mut self, id: u32, via: Option<LinkId>) {
        if !self.known.insert(id) {
            return;
        }
        if let Some(s) = &self.store {
            s.borrow_mut().insert(id);
        }
        self.learned.push(Learned { id, via });
        for &link in &self.links {
            if Some(link) != via {
                self.out.push(Transmit {
                    link,
                    payload: frame(KIND_RUMOUR, [id]),
                });
            }
        }
    }
}

impl Engine for Flood {
    type Event = Learned;
    type Error = String;

    fn handle_message(&mut self, _now: Now, from: LinkId, payload: Bytes) -> Result<(), String> {
        if payload.len() < 3 || payload[0] != VERSION || !(payload.len() - 3).is_multiple_of(4) {
            return Err(format!("malformed frame of {} bytes", payload.len()));
        }
        let kind = u16::from_be_bytes([payload[1], payload[2]]);
        let ids = payload[3..]
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
        match kind {
            KIND_RUMOUR | KIND_DIGEST => {
                for id in ids {
                    self.learn(id, Some(from));
                }
                Ok(())
            }
            other => Err(format!("unknown kind {other}")),
        }
    }

    fn handle_timeout(&mut self, now: Now) {
        if now.mono < self.next_round {
            return;
        }
        self.next_round = now.mono + self.round;
        if self.links.is_empty() || self.known.is_empty() {
            return;
        }
        let link = *self
            .links
            .iter()
            .nth(self.turn % self.links.len())
            .expect("non-empty");
        self.turn += 1;
        self.out.push(Transmit {
            link,
            payload: frame(KIND_DIGEST, self.known.iter().copied()),
        });
    }

    fn handle_link_up(&mut self, _now: Now, link: LinkId) {
        self.links.insert(link);
    }

    fn handle_link_down(&mut self, _now: Now, link: LinkId) {
        self.links.remove(&link);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop()
    }

    fn poll_event(&mut self) -> Option<Learned> {
        if self.learned.is_empty() {
            None
        } else {
            Some(self.learned.remove(0))
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next_round)
    }
}

const NODES: u32 = 50;

/// A connected random sparse graph: a random spanning tree plus ~NODES/2 random chords, all
/// drawn from the simulator's user stream.
fn random_graph(sim: &mut Sim<Flood>) {
    let mut order: Vec<u32> = (0..NODES).collect();
    for i in (1..order.len()).rev() {
        let j = sim.rng().below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    for i in 1..order.len() {
        let parent = order[sim.rng().below(i as u64) as usize];
        sim.connect(NodeId(order[i]), NodeId(parent));
    }
    for _ in 0..NODES / 2 {
        let a = sim.rng().below(NODES.into()) as u32;
        let b = sim.rng().below(NODES.into()) as u32;
        sim.connect(NodeId(a), NodeId(b));
    }
}

fn flood_config(seed: u64) -> SimConfig {
    SimConfig {
        link: LinkModel::log_normal(Duration::from_millis(20), 0.5)
            .with_jitter(Duration::from_millis(5))
            .with_loss(0.10)
            .with_duplicate(0.02),
        ..SimConfig::seeded(seed)
    }
}

struct FloodRun {
    hash: Hash,
    metrics: agentnet_core::sim::Metrics,
    learned_before_heal: BTreeSet<NodeId>,
    learned_total: BTreeMap<NodeId, usize>,
}

/// Partition the graph into halves at 0 s, publish on the left at 0.1 s, heal at 5 s (a
/// scheduled fault), run to 20 s.
fn flood_run(seed: u64) -> FloodRun {
    let mut sim = Sim::new(flood_config(seed));
    for _ in 0..NODES {
        let now = sim.now();
        sim.add_node(Flood::new(now, None));
    }
    random_graph(&mut sim);
    let left: Vec<NodeId> = (0..NODES / 2).map(NodeId).collect();
    let right: Vec<NodeId> = (NODES / 2..NODES).map(NodeId).collect();
    sim.partition(&[&left, &right]);
    sim.schedule(Instant::from_secs(5), Fault::Heal);

    sim.run_until(Instant::from_millis(100));
    sim.command(left[0], |e, _| e.publish(7));
    sim.run_until(Instant::from_millis(4_900));
    let learned_before_heal: BTreeSet<NodeId> =
        sim.drain_events().into_iter().map(|(_, n, _)| n).collect();
    assert!(sim.is_partitioned());

    sim.run_until(Instant::from_secs(20));
    assert!(!sim.is_partitioned());
    let mut learned_total: BTreeMap<NodeId, usize> = BTreeMap::new();
    for n in &learned_before_heal {
        *learned_total.entry(*n).or_default() += 1;
    }
    for (_, n, ev) in sim.drain_events() {
        assert_eq!(ev.id, 7);
        *learned_total.entry(n).or_default() += 1;
    }
    for id in sim.node_ids() {
        assert!(
            sim.engine(id).expect("up").known.contains(&7),
            "{id} never learned"
        );
    }
    assert_eq!(sim.drain_errors(), vec![]);
    FloodRun {
        hash: sim.trace_hash(),
        metrics: sim.metrics().clone(),
        learned_before_heal,
        learned_total,
    }
}

#[test]
fn flood_crosses_a_healed_partition_despite_loss() {
    let run = flood_run(11);
    // Before the heal only the left half (where it was published) can know the rumour...
    assert!(run.learned_before_heal.iter().all(|n| n.0 < NODES / 2));
    assert!(!run.learned_before_heal.is_empty());
    // ...afterwards every node learned it exactly once.
    assert_eq!(run.learned_total.len(), NODES as usize);
    assert!(run.learned_total.values().all(|&c| c == 1));

    let m = &run.metrics;
    assert!(m.total.dropped_partition > 0, "partition dropped nothing");
    assert!(m.total.dropped_loss > 0, "loss dropped nothing");
    assert!(m.total.duplicated > 0);
    assert_eq!(m.faults_applied, 1);
    // Conservation: every copy put on the wire was delivered, dropped, or is still in flight
    // when the run stopped; with 20-30 ms links only a sliver can still be in flight.
    assert!(m.total.delivered + m.total.dropped() <= m.total.sent + m.total.duplicated);
    assert!(
        in_flight(m) * 20 < m.total.sent,
        "in flight: {}",
        in_flight(m)
    );
    assert!(m.by_kind.contains_key(&KIND_RUMOUR) && m.by_kind.contains_key(&KIND_DIGEST));
    let lat = &m.by_kind[&KIND_RUMOUR].latency;
    assert!(lat.percentile(0.5).unwrap() >= 10_000 && lat.percentile(0.99) <= lat.max());

    let json: serde_json::Value = serde_json::from_str(&m.to_json()).expect("JSON");
    assert_eq!(json["total"]["sent"], m.total.sent);
    assert_eq!(
        json["by_kind"]["16"]["delivered"],
        m.by_kind[&KIND_RUMOUR].delivered
    );
    let csv = m.to_csv();
    assert_eq!(csv.lines().count(), 1 + 1 + m.by_kind.len());
}

/// Frames still on the wire when the run stopped (sent + duplicated - delivered - dropped).
fn in_flight(m: &agentnet_core::sim::Metrics) -> u64 {
    (m.total.sent + m.total.duplicated) - (m.total.delivered + m.total.dropped())
}

#[test]
fn same_seed_same_run_other_seed_other_trace() {
    let a = flood_run(11);
    let b = flood_run(11);
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.metrics, b.metrics);
    assert_eq!(a.metrics.to_json(), b.metrics.to_json());
    let c = flood_run(12);
    assert_ne!(a.hash, c.hash);
}

#[test]
fn crash_and_restart_through_the_factory() {
    // Durable storage: one store per node, kept by the factory across incarnations.
    let stores: Rc<RefCell<BTreeMap<NodeId, Store>>> = Rc::default();
    let durable = |stores: Rc<RefCell<BTreeMap<NodeId, Store>>>| {
        move |id: NodeId, now: Now, _incarnation: u32| {
            let store = stores.borrow_mut().entry(id).or_default().clone();
            Flood::new(now, Some(store))
        }
    };
    let volatile = |id: NodeId, now: Now, incarnation: u32| {
        let _ = (id, incarnation);
        Flood::new(now, None)
    };

    for keep_state in [true, false] {
        let mut sim = Sim::new(SimConfig {
            link: LinkModel::constant(Duration::from_millis(10)).with_loss(0.1),
            ..SimConfig::seeded(3)
        });
        if keep_state {
            sim.set_factory(durable(stores.clone()));
        } else {
            sim.set_factory(volatile);
        }
        let ids: Vec<NodeId> = (0..8).map(|_| sim.spawn().expect("factory")).collect();
        for i in 0..ids.len() {
            sim.connect(ids[i], ids[(i + 1) % ids.len()]);
        }
        sim.command(ids[0], |e, _| e.publish(1));
        sim.run_for(Duration::from_secs(3));
        assert!(
            ids.iter()
                .all(|&n| sim.engine(n).unwrap().known.contains(&1))
        );
        sim.drain_events();

        // Crash node 4; rumour 2 spreads while it is down; bring it back at 6 s.
        let victim = ids[4];
        sim.crash(victim).expect("up");
        sim.schedule(Instant::from_secs(6), Fault::Restart(victim));
        sim.command(ids[0], |e, _| e.publish(2));
        sim.run_until(Instant::from_millis(5_900));
        assert!(!sim.is_up(victim));
        assert!(sim.drain_events().iter().all(|(_, n, _)| *n != victim));
        sim.run_until(Instant::from_secs(12));
        assert!(sim.is_up(victim));
        assert_eq!(sim.incarnation(victim), Some(1));

        let relearned: Vec<u32> = sim
            .drain_events()
            .into_iter()
            .filter(|(_, n, _)| *n == victim)
            .map(|(_, _, e)| e.id)
            .collect();
        let known = &sim.engine(victim).unwrap().known;
        assert!(known.contains(&1) && known.contains(&2));
        if keep_state {
            // Rumour 1 survived the crash in the store; only 2 is news.
            assert_eq!(relearned, vec![2]);
        } else {
            // A fresh engine must learn both again.
            let set: BTreeSet<u32> = relearned.into_iter().collect();
            assert_eq!(set, BTreeSet::from([1, 2]));
        }
        let m = sim.metrics();
        assert_eq!((m.crashes, m.restarts, m.faults_applied), (1, 1, 1));
        assert!(m.total.dropped_node_down > 0);
    }
}

#[test]
fn churn_does_not_stop_the_flood() {
    let mut sim = Sim::with_factory(flood_config(21), |_: NodeId, now: Now, _: u32| {
        Flood::new(now, None)
    });
    for _ in 0..NODES {
        sim.spawn().expect("factory");
    }
    random_graph(&mut sim);
    let churning = sim
        .start_churn(ChurnConfig {
            fraction: 0.2,
            mean_up: Duration::from_secs(2),
            mean_down: Duration::from_millis(500),
        })
        .expect("factory set");
    assert_eq!(churning, 10);
    sim.command(NodeId(0), |e, _| e.publish(9));
    sim.run_for(Duration::from_secs(10));
    assert!(sim.metrics().crashes > 0);
    sim.stop_churn();
    sim.run_for(Duration::from_secs(20));
    for id in sim.node_ids() {
        assert!(
            sim.engine(id)
                .expect("up after stop_churn")
                .known
                .contains(&9),
            "{id}"
        );
    }
}

#[test]
fn hundred_thousand_engines() {
    const N: u32 = 100_000;
    let mut sim = Sim::new(SimConfig::seeded(99));
    for _ in 0..N {
        let next = sim.now().mono + Duration::from_micros(sim.rng().below(100_000));
        sim.add_node(Ticker::new(next, Duration::from_millis(100)));
    }
    for i in 0..N {
        sim.connect(NodeId(i), NodeId((i + 1) % N));
    }
    sim.run_for(Duration::from_millis(150));
    let m = sim.metrics();
    // Every node ticked once or twice in 150 ms and each tick sent one frame.
    assert!(m.timers_fired >= u64::from(N) && m.timers_fired <= 2 * u64::from(N));
    assert_eq!(m.total.sent, m.timers_fired);
    assert!(m.total.delivered > u64::from(N) / 2);
    assert_eq!(m.total.dropped(), 0);
}
