//! The two runs of gossip_scale: first-delivery bookkeeping, the flooding run (B, in its own thread) and the gossip run (A) with its metrics and results.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant as WallClock};

use super::*;
use crate::flood::FloodEngine;
use crate::report::{self, Progress};
use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::sim::{Metrics, NodeId, Sim};
use agentnet_core::{AgentId, Instant, Now, Signed};
use agentnet_gossip::{Event, GossipEngine, HeaderRules, LogHeader};
use bytes::Bytes;

/// First deliveries of (node, header) pairs and their latencies.
#[derive(Debug)]
pub(crate) struct Deliveries {
    pub(crate) headers: usize,
    pub(crate) bits: Vec<u64>,
    pub(crate) latencies_ms: Vec<f64>,
    /// The header of each entry of `latencies_ms`.
    pub(crate) which: Vec<u32>,
    pub(crate) repeats: u64,
}

impl Deliveries {
    pub(crate) fn new(nodes: usize, headers: usize) -> Self {
        Deliveries {
            headers,
            bits: vec![0; (nodes * headers).div_ceil(64)],
            latencies_ms: Vec::new(),
            which: Vec::new(),
            repeats: 0,
        }
    }

    pub(crate) fn record(&mut self, node: NodeId, header: usize, published: Instant, at: Instant) {
        let i = node.index() * self.headers + header;
        let (w, b) = (i / 64, 1u64 << (i % 64));
        if self.bits[w] & b != 0 {
            self.repeats += 1;
            return;
        }
        self.bits[w] |= b;
        self.latencies_ms
            .push((at - published).as_secs_f64() * 1_000.0);
        self.which.push(header as u32);
    }

    /// (deliveries, p50, p99, max) per header.
    pub(crate) fn per_header(&self) -> Vec<(usize, f64, f64, f64)> {
        let mut by: Vec<Vec<f64>> = vec![Vec::new(); self.headers];
        for (l, h) in self.latencies_ms.iter().zip(&self.which) {
            by[*h as usize].push(*l);
        }
        by.into_iter()
            .map(|mut v| {
                let p50 = report::quantile(&mut v, 0.5);
                let p99 = report::quantile(&mut v, 0.99);
                (v.len(), p50, p99, v.last().copied().unwrap_or(0.0))
            })
            .collect()
    }

    pub(crate) fn count(&self) -> usize {
        self.latencies_ms.len()
    }
}

/// A header frame handed from run A to run B.
#[derive(Debug)]
pub(crate) enum ToFlood {
    Inject {
        at: Instant,
        node: u32,
        header: usize,
        author: AgentId,
        seq: u64,
        frame: Bytes,
    },
    End(Instant),
}

#[derive(Debug)]
pub(crate) struct FloodResult {
    pub(crate) deliveries: Deliveries,
    pub(crate) metrics: Metrics,
    pub(crate) wall_secs: f64,
    pub(crate) busy_secs: f64,
    pub(crate) errors: u64,
}

pub(crate) fn valid_header(h: &Signed<LogHeader>, now: Now) -> bool {
    h.validate(now, &HeaderRules::default()).is_ok()
}

/// Run B's bookkeeping.
#[derive(Debug)]
pub(crate) struct FloodState {
    pub(crate) d: Deliveries,
    pub(crate) published: Vec<Option<Instant>>,
    pub(crate) index: BTreeMap<(AgentId, u64), usize>,
}

impl FloodState {
    /// Run to `t`, draining events every [`DRAIN_STEP`].
    pub(crate) fn run_to(&mut self, sim: &mut Sim<FloodEngine<LogHeader>>, t: Instant) {
        while sim.now().mono < t {
            let step = (sim.now().mono + DRAIN_STEP).min(t);
            sim.run_until(step);
            for (now, node, ev) in sim.drain_events() {
                let key = (ev.object.author, ev.object.seq);
                if let Some(&h) = self.index.get(&key)
                    && let Some(p) = self.published[h]
                {
                    self.d.record(node, h, p, now.mono);
                }
            }
        }
    }
}

/// Run B: flooding on the same edges, fed the frames run A's authors produced.
pub(crate) fn run_flood(
    args: Args,
    edges: Vec<(u32, u32)>,
    headers: usize,
    rx: mpsc::Receiver<ToFlood>,
) -> FloodResult {
    let t0 = WallClock::now();
    let n = args.nodes as usize;
    let mut sim: Sim<FloodEngine<LogHeader>> = Sim::new(args.sim_config(&edges));
    for _ in 0..n {
        sim.add_node(FloodEngine::new(headers + 1024, valid_header));
    }
    for &(a, b) in &edges {
        sim.connect(NodeId(a), NodeId(b));
    }
    let mut st = FloodState {
        d: Deliveries::new(n, headers),
        published: vec![None; headers],
        index: BTreeMap::new(),
    };
    let mut waiting = Duration::ZERO;
    loop {
        let w = WallClock::now();
        let Ok(msg) = rx.recv() else { break };
        waiting += w.elapsed();
        match msg {
            ToFlood::Inject {
                at,
                node,
                header,
                author,
                seq,
                frame,
            } => {
                st.run_to(&mut sim, at);
                st.index.insert((author, seq), header);
                st.published[header] = Some(sim.now().mono);
                sim.command(NodeId(node), |e, _| e.inject(frame));
            }
            ToFlood::End(end) => {
                let from = sim.now().mono;
                let total = (end.max(from) - from).as_millis() as u64;
                let mut p = Progress::new("run B flood", total, 10);
                while sim.now().mono < end {
                    let t = (sim.now().mono + Duration::from_secs(1)).min(end);
                    st.run_to(&mut sim, t);
                    p.update(
                        (sim.now().mono - from).as_millis() as u64,
                        &format!("drain, {} deliveries", st.d.count()),
                    );
                }
                break;
            }
        }
    }
    let d = st.d;
    let wall_secs = t0.elapsed().as_secs_f64();
    FloodResult {
        deliveries: d,
        metrics: sim.metrics().clone(),
        wall_secs,
        busy_secs: wall_secs - waiting.as_secs_f64(),
        errors: sim.metrics().handle_errors,
    }
}

/// Run A's bookkeeping.
#[derive(Debug)]
pub(crate) struct GossipState {
    pub(crate) d: Deliveries,
    pub(crate) published: Vec<Option<Instant>>,
    pub(crate) index: BTreeMap<(AgentId, u64), usize>,
    pub(crate) author_of: BTreeMap<u32, AgentId>,
    pub(crate) counts: BTreeMap<&'static str, u64>,
}

impl GossipState {
    pub(crate) fn absorb(&mut self, events: Vec<(Now, NodeId, Event)>) {
        for (now, node, ev) in events {
            let c = match ev {
                Event::Header { author, seq, .. } => {
                    if let Some(&h) = self.index.get(&(author, seq))
                        && let Some(p) = self.published[h]
                    {
                        self.d.record(node, h, p, now.mono);
                        continue;
                    }
                    "header_events_unmatched"
                }
                Event::Published { seq, .. } => {
                    if let Some(id) = self.author_of.get(&node.0)
                        && let Some(&h) = self.index.get(&(*id, seq))
                    {
                        self.published[h] = Some(now.mono);
                        continue;
                    }
                    "published_events_unmatched"
                }
                Event::Overflow(o) => {
                    let key = if o.queue == "transmits" {
                        "overflow_frames"
                    } else {
                        "overflow_events"
                    };
                    *self.counts.entry(key).or_default() += o.dropped;
                    "overflow"
                }
                Event::LinkPenalized { .. } => "link_penalized",
                Event::LinkBanned { .. } => "link_banned",
                Event::Expired { .. } => "expired",
                Event::PersistHead(_) => "persist_head",
                Event::Equivocation { .. } => "equivocation",
                _ => "other",
            };
            *self.counts.entry(c).or_default() += 1;
        }
    }
}

/// What the two runs leave for the summary (setup, run A's state and metrics, run B's result).
#[derive(Debug)]
pub(crate) struct Runs {
    pub(crate) started: WallClock,
    pub(crate) n: usize,
    pub(crate) headers: usize,
    pub(crate) edges: Vec<(u32, u32)>,
    pub(crate) author_nodes: Vec<u32>,
    pub(crate) plan: Vec<Publish>,
    pub(crate) setup_secs: f64,
    pub(crate) rss_after_setup: Option<f64>,
    pub(crate) end: Instant,
    pub(crate) round_marks: Vec<u64>,
    pub(crate) run_a_secs: f64,
    pub(crate) engines: EngineSummary,
    pub(crate) win: BTreeMap<u16, (u64, u64, u64)>,
    pub(crate) a_handle_errors: u64,
    pub(crate) a_events_dropped: u64,
    pub(crate) a_delivered_headers: usize,
    pub(crate) a_repeats: u64,
    pub(crate) counts: BTreeMap<&'static str, u64>,
    pub(crate) g_per: Vec<(usize, f64, f64, f64)>,
    pub(crate) gossip_lat: Vec<f64>,
    pub(crate) fr: Option<FloodResult>,
}

/// Set up, run B (flooding) in a second thread fed as run A (gossip) publishes, run A, and
/// wait for run B.
pub(crate) fn run_both(args: &Args) -> Runs {
    let started = WallClock::now();
    let n = args.nodes as usize;
    let topic = Topic::new(TOPIC).expect("valid topic");

    // ----- setup -----
    let t_setup = WallClock::now();
    let edges = topology(args.nodes, args.degree, args.seed);
    let author_nodes = pick_authors(args);
    let plan = schedule(args, &author_nodes);
    let headers = plan.len();
    eprintln!(
        "gossip_scale: {} nodes, {} edges, {} authors x {} headers = {headers} headers, seed {}",
        n,
        edges.len(),
        author_nodes.len(),
        args.headers_per_author,
        args.seed
    );
    // One encoder for every node: engines only use it to sketch their own descriptors.
    let encoder: &'static HashedNgramEncoder = Box::leak(Box::new(HashedNgramEncoder::default()));
    let mut sim: Sim<GossipEngine> = Sim::new(args.sim_config(&edges));
    let mut progress = Progress::new("setup", n as u64, 10);
    let mut author_ids = Vec::with_capacity(author_nodes.len());
    for i in 0..args.nodes {
        let now = sim.now();
        let mut e = GossipEngine::new(
            args.gossip_config(i),
            Box::new(keypair(args.seed, i)),
            Box::new(encoder),
            now,
        )
        .expect("valid gossip config");
        e.subscribe(now, topic.clone()).expect("subscribe");
        sim.add_node(e);
        progress.update(u64::from(i) + 1, "engines");
    }
    for &a in &author_nodes {
        author_ids.push(sim.engine(NodeId(a)).expect("up").id());
    }
    for &(a, b) in &edges {
        sim.connect(NodeId(a), NodeId(b));
    }
    let rss_after_setup = current_rss_mb();
    let setup_secs = t_setup.elapsed().as_secs_f64();
    eprintln!(
        "[setup] done in {setup_secs:.1}s, RSS {:.0} MiB",
        rss_after_setup.unwrap_or(0.0)
    );

    // ----- run B in a second thread, fed as run A publishes -----
    let (tx, rx) = mpsc::channel();
    let flood = (!args.no_flood).then(|| {
        let (a, e) = (args.clone(), edges.clone());
        std::thread::spawn(move || run_flood(a, e, headers, rx))
    });
    let tx = flood.as_ref().map(|_| tx);

    // ----- run A: gossip -----
    let t_a = WallClock::now();
    let warm_end = Instant::ZERO + Duration::from_secs(args.warmup_secs);
    let end = plan.last().map_or(warm_end, |p| p.at) + Duration::from_secs(args.drain_secs);
    let mut st = GossipState {
        d: Deliveries::new(n, headers),
        published: vec![None; headers],
        index: BTreeMap::new(),
        author_of: author_nodes
            .iter()
            .zip(&author_ids)
            .map(|(n, id)| (*n, *id))
            .collect(),
        counts: BTreeMap::new(),
    };
    let mut warm_metrics: Option<Metrics> = None;
    // Header frames delivered at the start of each publishing round, then at the end.
    let round_starts: Vec<Instant> = (0..args.headers_per_author)
        .map(|k| warm_end + SPACING * k)
        .chain([end])
        .collect();
    let mut round_marks: Vec<u64> = Vec::new();
    let mut next = 0;
    let mut progress = Progress::new("run A gossip", end.as_micros() / 1000, 5);
    while sim.now().mono < end {
        let mut t = (sim.now().mono + DRAIN_STEP).min(end);
        if warm_metrics.is_none() {
            t = t.min(warm_end);
        }
        if let Some(p) = plan.get(next) {
            t = t.min(p.at);
        }
        if let Some(b) = round_starts.get(round_marks.len()) {
            t = t.min(*b);
        }
        sim.run_until(t);
        st.absorb(sim.drain_events());
        while round_starts
            .get(round_marks.len())
            .is_some_and(|b| *b <= sim.now().mono)
        {
            round_marks.push(header_frames_delivered(sim.metrics()));
        }
        if warm_metrics.is_none() && sim.now().mono >= warm_end {
            warm_metrics = Some(sim.metrics().clone());
        }
        while let Some(p) = plan.get(next)
            && p.at <= sim.now().mono
        {
            let node = NodeId(author_nodes[p.author]);
            let id = author_ids[p.author];
            let cap = format!("bench.cap{}", p.author);
            let summary = format!(
                "benchmark capability {} number {}: summarise scale test documents",
                p.author, p.k
            );
            let (tp, seq) = sim
                .command(node, |e, now| {
                    let desc = CapabilityDescriptor::builder(id, cap.as_str(), TOPIC, summary)
                        .ttl(TTL)
                        .build(now)
                        .expect("valid descriptor");
                    let r = e.publish(now, desc).expect("publish");
                    // One entry per scheduled publish: no automatic re-issue.
                    e.withdraw(&cap);
                    r
                })
                .expect("author is up");
            st.index.insert((id, seq), next);
            // The command's `Published` event is recorded by now: its time is the publish time.
            st.absorb(sim.drain_events());
            let frame = sim
                .engine(node)
                .and_then(|e| e.header(&tp, &id, seq))
                .map(Signed::to_frame)
                .expect("author holds its own header");
            if let Some(tx) = &tx {
                let _ = tx.send(ToFlood::Inject {
                    at: st.published[next].expect("published at once"),
                    node: node.0,
                    header: next,
                    author: id,
                    seq,
                    frame,
                });
            }
            next += 1;
        }
        progress.update(
            sim.now().mono.as_micros() / 1000,
            &format!(
                "t={:.1}s published {next}/{headers}, {} deliveries",
                sim.now().mono.as_micros() as f64 / 1e6,
                st.d.count()
            ),
        );
    }
    if let Some(tx) = &tx {
        let _ = tx.send(ToFlood::End(end));
    }
    let run_a_secs = t_a.elapsed().as_secs_f64();
    let engines = summarize_engines(&sim, &topic);
    let warm = warm_metrics.unwrap_or_default();
    let win = window(&warm, sim.metrics());
    let a_handle_errors = sim.metrics().handle_errors;
    let a_events_dropped = sim.metrics().events_dropped;
    let a_delivered_headers = st.d.count();
    let a_repeats = st.d.repeats;
    let counts = st.counts;
    let g_per = st.d.per_header();
    let gossip_lat = st.d.latencies_ms;
    eprintln!("[run A gossip] done in {run_a_secs:.1}s; waiting for run B");
    let fr = flood.map(|h| h.join().expect("flood thread"));

    Runs {
        started,
        n,
        headers,
        edges,
        author_nodes,
        plan,
        setup_secs,
        rss_after_setup,
        end,
        round_marks,
        run_a_secs,
        engines,
        win,
        a_handle_errors,
        a_events_dropped,
        a_delivered_headers,
        a_repeats,
        counts,
        g_per,
        gossip_lat,
        fr,
    }
}
