//! The two schemes behind one request driver interface: bodyless topic narrowcast (gossip engines) and the flooding baseline.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use super::*;
use crate::report::{self};
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::sim::SimRng;
use agentnet_core::sim::{ChurnConfig, EngineFactory, LinkModel, NodeId, Sim, SimConfig};
use agentnet_core::{Engine, Now, WallTime};
use agentnet_gossip::simhost::{HeadStore, pump};
use agentnet_gossip::{
    Candidate, DiscoveryIndex, Event, GossipConfig, GossipEngine, InterestProfile, Requirements,
};
use serde_json::{Value, json};

// =============================================================================================
// Schemes
// =============================================================================================

/// What the request driver needs from a scheme.
pub(crate) trait Scheme {
    type E: Engine<Event = Self::Ev>;
    type Ev: fmt::Debug;
    const NAME: &'static str;
    fn sim(&mut self) -> &mut Sim<Self::E>;
    fn sim_ref(&self) -> &Sim<Self::E>;
    /// After every host step: persistence, event and error bookkeeping.
    fn after_step(&mut self);
    /// A provider's first publish.
    fn publish(&mut self, node: NodeId, family: usize);
    fn index(e: &Self::E) -> &DiscoveryIndex;
    fn discover(
        e: &Self::E,
        now: Now,
        intent: &str,
        req: &Requirements,
        k: usize,
    ) -> Vec<Candidate>;
    /// Scheme-specific numbers for the report.
    fn engine_report(&self) -> Value;
    /// The descriptor propagation delays (ms) observed (see [`Lifecycle`]); taken once.
    fn propagation(&mut self) -> Vec<f64>;
}

/// An error text with every run of digits replaced by `N`, so errors group by kind.
pub(crate) fn error_class(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(96) {
        if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(crate) fn build_sim<E: Engine>(
    sc: &Scenario,
    a: &Args,
    factory: impl EngineFactory<E> + 'static,
) -> Sim<E>
where
    E::Event: fmt::Debug,
{
    let mut link = LinkModel::uniform(Duration::from_millis(20), Duration::from_millis(150));
    if a.loss > 0.0 {
        link = link.with_loss(a.loss);
    }
    let cfg = SimConfig {
        link,
        trace_events: false,
        ..SimConfig::seeded(a.seed)
    };
    let mut sim = Sim::with_factory(cfg, factory);
    for _ in 0..sc.n {
        sim.spawn().expect("factory set");
    }
    for (x, y) in &sc.edges {
        sim.connect(*x, *y);
    }
    if a.churn > 0.0 {
        sim.start_churn(ChurnConfig {
            fraction: a.churn,
            mean_up: Duration::from_secs_f64(a.mean_up_secs),
            mean_down: Duration::from_secs_f64(a.mean_down_secs),
        })
        .expect("factory set");
    }
    sim
}

/// When each node last (re)started, as the host sees it (10 ms resolution), and the
/// descriptor propagation delays observed so far.
#[derive(Debug)]
pub(crate) struct Lifecycle {
    pub(crate) inc: Vec<Option<u32>>,
    pub(crate) up_since_ms: Vec<u64>,
    pub(crate) warm_ms: u64,
    /// Delivery delays (ms) of descriptor versions issued in the measurement window, at nodes
    /// up since before the issue.
    pub(crate) propagation: Vec<f64>,
}

pub(crate) fn rel_ms(now: Now) -> u64 {
    now.mono.as_micros() / 1000
}

pub(crate) fn wall_rel_ms(w: WallTime) -> u64 {
    w.as_unix_millis()
        .saturating_sub(SimConfig::default().start.wall.as_unix_millis())
}

impl Lifecycle {
    pub(crate) fn new(n: u32, warm_ms: u64) -> Self {
        Lifecycle {
            inc: vec![Some(0); n as usize],
            up_since_ms: vec![0; n as usize],
            warm_ms,
            propagation: Vec::new(),
        }
    }

    pub(crate) fn update<E: Engine>(&mut self, sim: &Sim<E>)
    where
        E::Event: fmt::Debug,
    {
        let t = rel_ms(sim.now());
        for n in sim.node_ids() {
            let i = if sim.is_up(n) {
                sim.incarnation(n)
            } else {
                None
            };
            if i != self.inc[n.index()] {
                if i.is_some() {
                    self.up_since_ms[n.index()] = t;
                }
                self.inc[n.index()] = i;
            }
        }
    }

    pub(crate) fn since_start_ms(&self, node: NodeId, now: Now) -> u64 {
        rel_ms(now).saturating_sub(self.up_since_ms[node.index()])
    }

    /// `node` ingested a descriptor issued at `issued_at` at `now`.
    pub(crate) fn delivered(&mut self, node: NodeId, now: Now, issued_at: WallTime) {
        let issued = wall_rel_ms(issued_at);
        if issued >= self.warm_ms && self.up_since_ms[node.index()] <= issued {
            self.propagation
                .push(now.wall.saturating_duration_since(issued_at).as_secs_f64() * 1000.0);
        }
    }
}

// ----- bodyless -----

#[derive(Debug, Default)]
pub(crate) struct GossipTally {
    pub(crate) persist: u64,
    pub(crate) published: u64,
    pub(crate) headers: u64,
    pub(crate) headers_wanted: u64,
    pub(crate) descriptors: u64,
    pub(crate) body_unavailable: u64,
    pub(crate) expired_headers: u64,
    pub(crate) expired_descriptors: u64,
    pub(crate) equivocations: u64,
    pub(crate) penalized: u64,
    pub(crate) banned: u64,
    pub(crate) overflow_frames: u64,
    pub(crate) overflow_events: u64,
    /// Seconds between the banning node's last (re)start and each ban.
    pub(crate) ban_secs_after_restart: Vec<f64>,
    pub(crate) expired_refusals: u64,
    pub(crate) expired_refusals_within_10s_of_restart: u64,
}

/// The bodyless scheme: gossip engines, a durable head store and the event tallies.
pub(crate) struct Bodyless {
    pub(crate) sc: Rc<Scenario>,
    pub(crate) sim: Sim<GossipEngine>,
    pub(crate) store: Rc<RefCell<HeadStore>>,
    pub(crate) tally: GossipTally,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) life: Lifecycle,
    /// Arrival delays (ms) of headers issued in the window, at topic nodes up since before the
    /// issue (every topic node, interested or not).
    pub(crate) header_propagation: Vec<f64>,
}

impl fmt::Debug for Bodyless {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bodyless")
            .field("sim", &self.sim)
            .field("tally", &self.tally)
            .finish_non_exhaustive()
    }
}

pub(crate) fn gossip_config(a: &Args, node: NodeId, inc: u32) -> GossipConfig {
    let mut c = GossipConfig::default();
    c.seed[..4].copy_from_slice(&node.0.to_le_bytes());
    c.seed[4..8].copy_from_slice(&inc.to_le_bytes());
    c.seed[8..16].copy_from_slice(&a.seed.to_le_bytes());
    c.refresh_fraction = REFRESH_FRACTION;
    if let Some(ms) = a.anti_entropy_ms {
        c.anti_entropy = Duration::from_millis(ms);
    }
    if let Some(ms) = a.heartbeat_ms {
        c.heartbeat = Duration::from_millis(ms);
    }
    if let Some(ms) = a.body_timeout_ms {
        c.body_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = a.lazy_interval_ms {
        c.lazy_interval = Duration::from_millis(ms);
    }
    if let Some(ms) = a.iwant_delay_ms {
        c.iwant_delay = Duration::from_millis(ms);
    }
    if let Some(d) = a.mesh_d {
        c.mesh_d = d;
        c.mesh_d_lo = c.mesh_d_lo.min(d);
        c.mesh_d_hi = c.mesh_d_hi.max(d);
    }
    c
}

pub(crate) fn interest_profile(
    sc: &Scenario,
    a: &Args,
    node: NodeId,
    enc: &HashedNgramEncoder,
) -> InterestProfile {
    let topic = sc.topic(node).clone();
    match a.interest {
        InterestMode::Topic => InterestProfile::everything().with_topics(vec![topic]),
        InterestMode::Intents => {
            let texts: Vec<&str> = sc.needs[node.index()]
                .iter()
                .map(|f| sc.fams[*f].f.query)
                .collect();
            InterestProfile::from_texts(enc, &texts, a.interest_threshold).with_topics(vec![topic])
        }
    }
}

impl Bodyless {
    pub(crate) fn new(sc: &Rc<Scenario>, a: &Args) -> Self {
        let store = Rc::new(RefCell::new(HeadStore::new()));
        let (st, scf, af) = (store.clone(), sc.clone(), a.clone());
        let factory = move |node: NodeId, now: Now, inc: u32| {
            let enc = HashedNgramEncoder::default();
            let profile = interest_profile(&scf, &af, node, &enc);
            let mut e = GossipEngine::new(
                gossip_config(&af, node, inc),
                Box::new(keypair(node)),
                Box::new(enc),
                now,
            )
            .expect("valid gossip config");
            e.restore(now, st.borrow().heads(node))
                .expect("own heads restore");
            e.subscribe(now, scf.topic(node).clone())
                .expect("one topic fits");
            e.set_interest(profile);
            // A restarted provider announces again; its log continues at the restored seq.
            if inc > 0
                && let Some(f) = scf.provides[node.index()]
            {
                e.publish(now, scf.descriptor(node, f, now))
                    .expect("own descriptor publishes");
            }
            e
        };
        let sim = build_sim(sc, a, factory);
        Bodyless {
            sc: sc.clone(),
            sim,
            store,
            tally: GossipTally::default(),
            errors: BTreeMap::new(),
            life: Lifecycle::new(sc.n, a.warmup_secs * 1000),
            header_propagation: Vec::new(),
        }
    }
}

impl Scheme for Bodyless {
    type E = GossipEngine;
    type Ev = Event;
    const NAME: &'static str = "bodyless";

    fn sim(&mut self) -> &mut Sim<GossipEngine> {
        &mut self.sim
    }

    fn sim_ref(&self) -> &Sim<GossipEngine> {
        &self.sim
    }

    fn after_step(&mut self) {
        self.life.update(&self.sim);
        let events = pump(&mut self.sim, &mut self.store.borrow_mut());
        let t = &mut self.tally;
        for (now, node, e) in events {
            match e {
                Event::PersistHead(_) => t.persist += 1,
                Event::Published { .. } => t.published += 1,
                Event::Header {
                    wanted,
                    author,
                    topic,
                    seq,
                    ..
                } => {
                    t.headers += 1;
                    t.headers_wanted += u64::from(wanted);
                    let issued = self
                        .sim
                        .engine(node)
                        .and_then(|e| e.header(&topic, &author, seq))
                        .map(|h| h.issued_at);
                    if let Some(at) = issued
                        && wall_rel_ms(at) >= self.life.warm_ms
                        && self.life.up_since_ms[node.index()] <= wall_rel_ms(at)
                    {
                        let ms = now.wall.saturating_duration_since(at).as_secs_f64() * 1000.0;
                        self.header_propagation.push(ms);
                    }
                }
                Event::Descriptor(d) => {
                    t.descriptors += 1;
                    self.life.delivered(node, now, d.issued_at);
                }
                Event::BodyUnavailable { .. } => t.body_unavailable += 1,
                Event::Equivocation { .. } => t.equivocations += 1,
                Event::Expired {
                    headers,
                    descriptors,
                } => {
                    t.expired_headers += headers as u64;
                    t.expired_descriptors += descriptors as u64;
                }
                Event::LinkPenalized { .. } => t.penalized += 1,
                Event::LinkBanned { .. } => {
                    t.banned += 1;
                    let secs = self.life.since_start_ms(node, now) as f64 / 1000.0;
                    t.ban_secs_after_restart.push(secs);
                }
                Event::Overflow(o) if o.queue == "transmits" => t.overflow_frames += o.dropped,
                Event::Overflow(o) => t.overflow_events += o.dropped,
                _ => {}
            }
        }
        for (now, node, text) in self.sim.drain_errors() {
            if text == "expired" {
                t.expired_refusals += 1;
                if self.life.since_start_ms(node, now) < 10_000 {
                    t.expired_refusals_within_10s_of_restart += 1;
                }
            }
            *self.errors.entry(error_class(&text)).or_default() += 1;
        }
    }

    fn propagation(&mut self) -> Vec<f64> {
        core::mem::take(&mut self.life.propagation)
    }

    fn publish(&mut self, node: NodeId, family: usize) {
        let sc = self.sc.clone();
        // A provider that is down now publishes when it restarts (the factory does it).
        if let Some(r) = self.sim.command(node, |e, now| {
            e.publish(now, sc.descriptor(node, family, now))
        }) {
            r.expect("own descriptor publishes");
        }
    }

    fn index(e: &GossipEngine) -> &DiscoveryIndex {
        e.index()
    }

    fn discover(
        e: &GossipEngine,
        now: Now,
        intent: &str,
        req: &Requirements,
        k: usize,
    ) -> Vec<Candidate> {
        e.discover(now, intent, req, k)
    }

    fn engine_report(&self) -> Value {
        let sim = &self.sim;
        let mut up = 0u64;
        let (mut index, mut headers, mut mesh, mut empty_mesh) = (0, 0, 0, 0);
        let (mut received, mut accepted, mut dups, mut refused) = (0, 0, 0, 0);
        let (mut requested, mut fetched, mut served, mut dropped_full) = (0, 0, 0, 0);
        for n in sim.node_ids() {
            let Some(e) = sim.engine(n) else {
                continue;
            };
            up += 1;
            index += e.index().len() as u64;
            headers += e.header_count() as u64;
            let m = e.mesh(self.sc.topic(n));
            mesh += m.len() as u64;
            empty_mesh += u64::from(m.is_empty());
            let s = e.stats();
            received += s.headers_received;
            accepted += s.headers_accepted;
            dups += s.duplicates;
            refused += s.refused;
            requested += s.bodies_requested;
            fetched += s.bodies_fetched;
            served += s.bodies_served;
            dropped_full += s.dropped_full;
        }
        let avg = |x: u64| x as f64 / up.max(1) as f64;
        let t = &self.tally;
        let events = json!({
            "persist_head": t.persist,
            "published": t.published,
            "headers_accepted": t.headers,
            "headers_wanted": t.headers_wanted,
            "descriptors_ingested": t.descriptors,
            "body_unavailable": t.body_unavailable,
            "expired_headers": t.expired_headers,
            "expired_descriptors": t.expired_descriptors,
            "equivocations": t.equivocations,
            "link_penalized": t.penalized,
            "link_banned": t.banned,
            "overflow_frames": t.overflow_frames,
            "overflow_events": t.overflow_events,
            "ban_secs_after_banning_node_restart": t.ban_secs_after_restart,
            "expired_refusals": t.expired_refusals,
            "expired_refusals_within_10s_of_restart": t.expired_refusals_within_10s_of_restart,
        });
        let live = json!({
            "up_nodes": up,
            "avg_index_len": avg(index),
            "avg_headers_held": avg(headers),
            "avg_mesh_peers": avg(mesh),
            "nodes_with_empty_mesh": empty_mesh,
            "headers_received": received,
            "headers_accepted": accepted,
            "duplicates": dups,
            "refused": refused,
            "bodies_requested": requested,
            "bodies_fetched": fetched,
            "bodies_served": served,
            "dropped_full": dropped_full,
        });
        let mut hp = self.header_propagation.clone();
        let header_propagation = json!({
            "deliveries": hp.len(),
            "p50_ms": report::quantile(&mut hp, 0.5),
            "p95_ms": report::quantile(&mut hp, 0.95),
            "p99_ms": report::quantile(&mut hp, 0.99),
        });
        json!({
            "header_propagation": header_propagation,
            "events_whole_run": events,
            "live_engines_at_end": live,
            "handle_errors_whole_run": self.errors,
        })
    }
}

// ----- flood -----

/// The flooding baseline scheme.
pub(crate) struct Flood {
    pub(crate) sim: Sim<FloodNode>,
    pub(crate) errors: BTreeMap<String, u64>,
    pub(crate) life: Lifecycle,
}

impl fmt::Debug for Flood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flood")
            .field("sim", &self.sim)
            .finish_non_exhaustive()
    }
}

impl Flood {
    pub(crate) fn new(sc: &Rc<Scenario>, a: &Args) -> Self {
        let scf = sc.clone();
        let factory = move |node: NodeId, now: Now, inc: u32| {
            let mut rng = SimRng::stream(scf.seed, (u64::from(node.0) << 32) | u64::from(inc));
            let phase = Duration::from_micros(rng.below(FLOOD_HEARTBEAT.as_micros() as u64));
            let provider =
                scf.provides[node.index()].map(|f| (keypair(node), scf.descriptor(node, f, now)));
            FloodNode::new(now, phase, provider, inc > 0)
        };
        Flood {
            sim: build_sim(sc, a, factory),
            errors: BTreeMap::new(),
            life: Lifecycle::new(sc.n, a.warmup_secs * 1000),
        }
    }
}

impl Scheme for Flood {
    type E = FloodNode;
    type Ev = FloodDelivery;
    const NAME: &'static str = "flood";

    fn sim(&mut self) -> &mut Sim<FloodNode> {
        &mut self.sim
    }

    fn sim_ref(&self) -> &Sim<FloodNode> {
        &self.sim
    }

    fn after_step(&mut self) {
        self.life.update(&self.sim);
        for (now, node, d) in self.sim.drain_events() {
            self.life.delivered(node, now, d.issued_at);
        }
        for (_, _, text) in self.sim.drain_errors() {
            *self.errors.entry(error_class(&text)).or_default() += 1;
        }
    }

    fn propagation(&mut self) -> Vec<f64> {
        core::mem::take(&mut self.life.propagation)
    }

    fn publish(&mut self, node: NodeId, _family: usize) {
        self.sim.command(node, |e, now| e.provide(now));
    }

    fn index(e: &FloodNode) -> &DiscoveryIndex {
        &e.index
    }

    fn discover(
        e: &FloodNode,
        now: Now,
        intent: &str,
        req: &Requirements,
        k: usize,
    ) -> Vec<Candidate> {
        e.discover(now, intent, req, k)
    }

    fn engine_report(&self) -> Value {
        let sim = &self.sim;
        let (mut up, mut index, mut delivered) = (0u64, 0u64, 0u64);
        for n in sim.node_ids() {
            if let Some(e) = sim.engine(n) {
                up += 1;
                index += e.index.len() as u64;
                delivered += e.delivered;
            }
        }
        json!({
            "live_engines_at_end": {
                "up_nodes": up,
                "avg_index_len": index as f64 / up.max(1) as f64,
                "descriptors_delivered": delivered,
            },
            "handle_errors_whole_run": self.errors,
        })
    }
}
