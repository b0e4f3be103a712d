//! Building the agentic-P2P world: the simulator, the agents (honest, stale and Sybil providers, requesters) and their descriptors, and the serving handlers.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use super::*;
use agentnet_core::descriptor::{CapabilityDescriptor, QosVector, Topic, TrustClaims};
use agentnet_core::sim::{Latency, LinkModel, NodeId, Sim, SimConfig};
use agentnet_core::{AgentId, Keypair, Now, Transmit};
use agentnet_gossip::{InterestProfile, Requirements};
use agentnet_mech::mechanism::UNIT;
use agentnet_transport::agent::sim::{SimHost, forge_contradicting_delivery};
use agentnet_transport::agent::{Agent, AgentConfig, ServePolicy};
use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

pub(crate) fn build(cfg: &Config, discovery: Discovery, seed: u64) -> World {
    let mut sc = SimConfig::seeded(seed);
    sc.link = LinkModel {
        latency: Latency::Uniform {
            min: Duration::from_millis(cfg.latency_ms.0),
            max: Duration::from_millis(cfg.latency_ms.1),
        },
        ..LinkModel::default()
    };
    sc.trace = false;
    sc.trace_events = false;
    let mut sim = Sim::new(sc);
    let mut rng = ChaCha8Rng::from_seed(agent_seed(seed, usize::MAX));
    let now = sim.now();
    // Roles, in node order: requesters, observers, providers (Sybils spread among them).
    let mut roles = Vec::new();
    for p in Policy::ALL {
        for _ in 0..cfg.requesters_per_policy {
            roles.push(Role::Requester(p));
        }
    }
    for _ in 0..cfg.observers {
        roles.push(Role::Observer);
    }
    let providers = cfg.providers();
    let sybils = cfg.sybils();
    let mut is_sybil = vec![false; providers];
    let mut placed = 0;
    while placed < sybils {
        let i = below(&mut rng, providers);
        if !is_sybil[i] {
            is_sybil[i] = true;
            placed += 1;
        }
    }
    let (mut h, mut s) = (0usize, 0usize);
    for sy in is_sybil {
        if sy {
            roles.push(Role::Sybil(if s % 2 == 0 {
                Step::Image
            } else {
                Step::Publish
            }));
            s += 1;
        } else {
            roles.push(Role::Honest(if h % 2 == 0 {
                Step::Image
            } else {
                Step::Publish
            }));
            h += 1;
        }
    }
    if discovery == Discovery::Registry {
        roles.push(Role::Registry);
    }
    let topics = [
        Topic::new(Step::Image.topic()).expect("valid topic"),
        Topic::new(Step::Publish.topic()).expect("valid topic"),
    ];
    let mut nodes = Vec::new();
    let mut by_agent = BTreeMap::new();
    let mut stale = Vec::new();
    let mut requesters = Vec::new();
    let mut observers = Vec::new();
    // Honest intent texts handed out per topic, so Sybils can copy them.
    let mut texts: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
    let mut pending_sybils = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        let s = agent_seed(seed, i);
        let keys = Keypair::from_seed(s);
        let id = keys.id();
        let mut ac = AgentConfig::seeded(s);
        ac.funnel.max_candidates = CANDIDATES;
        ac.funnel.max_attempts = cfg.attempts;
        ac.funnel.canaries.max = cfg.canaries;
        ac.funnel.canaries.target = cfg.canary_target;
        match role {
            Role::Requester(Policy::Naive) => {
                ac.selection.exploration = 0.0;
                ac.funnel.max_attempts = 1;
            }
            Role::Registry => {
                // A registry pushes to every client directly: its mesh holds all of them.
                let all = cfg.nodes.clamp(1, 1024);
                ac.gossip.mesh_d = all;
                ac.gossip.mesh_d_lo = all;
                ac.gossip.mesh_d_hi = all;
            }
            _ => {}
        }
        let agent = Agent::new(Keypair::from_seed(s), ac, now).expect("valid agent config");
        let mut flag = None;
        let host = match role {
            Role::Honest(step) => {
                let f = Arc::new(AtomicBool::new(false));
                flag = Some(f.clone());
                SimHost::new(agent, Some(honest_handler(*step, f, cfg.stale, s)))
            }
            Role::Sybil(step) => {
                let tamper_keys = Keypair::from_seed(s);
                SimHost::new(agent, Some(sybil_handler(*step))).with_tamper(Box::new(
                    move |t: Transmit| {
                        let payload = forge_contradicting_delivery(&tamper_keys, &t.payload)
                            .unwrap_or(t.payload);
                        Some(Transmit {
                            link: t.link,
                            payload,
                        })
                    },
                ))
            }
            _ => SimHost::new(agent, None),
        };
        let node = sim.add_node(host);
        nodes.push(node);
        by_agent.insert(id, i);
        stale.push(flag);
        // Every agent follows both workflow topics (headers cross the whole mesh); requesters,
        // observers and the registry pull every body.
        sim.command(node, |h, now| {
            let a = h.agent_mut();
            if matches!(role, Role::Requester(_) | Role::Observer | Role::Registry) {
                a.set_interest(InterestProfile::everything());
            }
            for t in &topics {
                a.subscribe(now, t.clone()).expect("subscribe");
            }
        })
        .expect("node is up");
        match role {
            Role::Honest(step) => {
                let offers = step.offers();
                let text = offers[below(&mut rng, offers.len())];
                texts.entry(step.topic()).or_default().push(text);
                let qos = QosVector {
                    latency_ms: Some(300 + below(&mut rng, 601) as u32),
                    success_bp: Some(8000 + below(&mut rng, 1801) as u16),
                    cost_micros: Some((1 + below(&mut rng, 5) as u64) * UNIT),
                    ..QosVector::default()
                };
                serve(&mut sim, node, id, *step, text, qos, cfg.ttl, now);
            }
            Role::Sybil(step) => pending_sybils.push((node, id, *step)),
            Role::Requester(p) => requesters.push(Requester {
                node,
                policy: *p,
                rng: ChaCha8Rng::from_seed(agent_seed(seed ^ 0x5EED, i)),
                prompt: Bytes::new(),
                phase: Phase::Idle,
                stats: PolicyStats::default(),
            }),
            Role::Observer => observers.push(node),
            Role::Registry => {}
        }
    }
    for (node, id, step) in pending_sybils {
        let pool = texts.get(step.topic()).cloned().unwrap_or_default();
        let text = if pool.is_empty() {
            step.offers()[0]
        } else {
            pool[below(&mut rng, pool.len())]
        };
        let qos = QosVector {
            latency_ms: Some(50),
            success_bp: Some(10_000),
            cost_micros: Some(UNIT / 10),
            ..QosVector::default()
        };
        serve(&mut sim, node, id, step, text, qos, cfg.ttl, now);
    }
    // Links.
    let agents: Vec<usize> = (0..roles.len())
        .filter(|&i| roles[i] != Role::Registry)
        .collect();
    match discovery {
        Discovery::Gossip => {
            // A ring over a random order, plus random chords.
            let mut order = agents.clone();
            for i in (1..order.len()).rev() {
                let j = below(&mut rng, i + 1);
                order.swap(i, j);
            }
            let n = order.len();
            for k in 0..n {
                sim.connect(nodes[order[k]], nodes[order[(k + 1) % n]]);
            }
            for &a in &agents {
                for _ in 0..cfg.chords {
                    let b = agents[below(&mut rng, n)];
                    if a != b {
                        sim.connect(nodes[a], nodes[b]);
                    }
                }
            }
        }
        Discovery::Registry => {
            let hub = *nodes.last().expect("the registry");
            for &a in &agents {
                sim.connect(nodes[a], hub);
            }
        }
    }
    for a in 0..requesters.len() {
        for b in a + 1..requesters.len() {
            sim.connect(requesters[a].node, requesters[b].node);
        }
    }
    World {
        sim,
        attempts: cfg.attempts,
        canaries: cfg.canaries,
        roles,
        nodes,
        by_agent,
        stale,
        requesters,
        observers,
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn serve(
    sim: &mut Sim<SimHost>,
    node: NodeId,
    id: AgentId,
    step: Step,
    text: &str,
    qos: QosVector,
    ttl: Duration,
    now: Now,
) {
    let d = CapabilityDescriptor::builder(id, step.capability(), step.topic(), text)
        .qos(qos)
        .trust(TrustClaims {
            baid: None,
            tiers: vec![1, 2, 3],
            attestations: Vec::new(),
        })
        .ttl(ttl)
        .build(now)
        .expect("valid descriptor");
    sim.command(node, |h, now| {
        h.agent_mut().serve(now, d, ServePolicy::default())
    })
    .expect("node is up")
    .expect("serve");
}

pub(crate) fn requirements(step: Step) -> Requirements {
    Requirements {
        topic: Some(Topic::new(step.topic()).expect("valid topic")),
        ..Requirements::default()
    }
}
