//! Whole agents in the simulator: the production `Agent` (every plane) driven by `Sim`, with
//! honest providers, a provider that answers canaries wrong, and one that delivers evidence its
//! own receipts contradict.

use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::sim::{LinkModel, NodeId, Sim, SimConfig};
use agentnet_core::{AgentId, Keypair, Now, Signed, Transmit};
use agentnet_mech::mechanism::{Tier, UNIT};
use agentnet_transport::agent::sim::{Handler, SimHost, Tamper, forge_contradicting_delivery};
use agentnet_transport::agent::{
    Agent, AgentConfig, AgentEvent, CanaryCase, Executed, ServePolicy, TaskOutcome, TaskRequest,
    Verdict,
};
use bytes::Bytes;

mod embeddings;
mod identity;
mod intents;
mod requests;
mod restarts;
mod retention;
mod robustness;
mod workflows;

const TOPIC: &str = "text/summary";

fn seed(n: u8, run: u8) -> [u8; 32] {
    let mut s = [n; 32];
    s[31] = run;
    s
}

fn upper() -> Handler {
    Box::new(|_task, input| Executed::Done {
        result: Bytes::from(input.to_ascii_uppercase()),
        tools: Vec::new(),
    })
}

fn liar() -> Handler {
    Box::new(|_task, _input| Executed::Done {
        result: Bytes::from_static(b"SOMETHING ELSE ENTIRELY"),
        tools: Vec::new(),
    })
}

fn config(s: [u8; 32]) -> AgentConfig {
    let mut ac = AgentConfig::seeded(s);
    ac.trust_interval = Duration::from_millis(500);
    ac
}

struct World {
    sim: Sim<SimHost>,
    ids: Vec<NodeId>,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Requester,
    Honest,
    Liar,
    Cheat,
}

/// A provider that delivers a forged package: same receipts (ending in the real output), but
/// claiming another result, signed with its own key. Its receipts contradict its delivery.
fn cheat_tamper(keys: Keypair) -> Tamper {
    Box::new(move |t: Transmit| {
        let payload = forge_contradicting_delivery(&keys, &t.payload).unwrap_or(t.payload);
        Some(Transmit {
            link: t.link,
            payload,
        })
    })
}

fn world(run: u8, kinds: &[(Kind, &str)], link: LinkModel) -> World {
    world_wrapped(run, kinds, link, |_, _| {}, |_, h| h)
}

/// [`world`], with each agent's config passed through `configure` and each host through
/// `wrap` (by index) before it joins: how a test changes one agent's settings or records
/// what it sends or hands its application.
fn world_wrapped(
    run: u8,
    kinds: &[(Kind, &str)],
    link: LinkModel,
    mut configure: impl FnMut(usize, &mut AgentConfig),
    mut wrap: impl FnMut(usize, SimHost) -> SimHost,
) -> World {
    let mut cfg = SimConfig::seeded(u64::from(run) + 1);
    cfg.link = link;
    let mut sim = Sim::new(cfg);
    let now = sim.now();
    let mut ids = Vec::new();
    for (i, (kind, intent)) in kinds.iter().enumerate() {
        let s = seed(i as u8 + 1, run);
        let keys = Keypair::from_seed(s);
        let mut ac = config(s);
        configure(i, &mut ac);
        let agent = Agent::new(Keypair::from_seed(s), ac, now).expect("valid config");
        let host = match kind {
            Kind::Requester => SimHost::new(agent, None),
            Kind::Honest => SimHost::new(agent, Some(upper())),
            Kind::Liar => SimHost::new(agent, Some(liar())),
            Kind::Cheat => SimHost::new(agent, Some(upper())).with_tamper(cheat_tamper(keys)),
        };
        let id = sim.add_node(wrap(i, host));
        if *kind != Kind::Requester {
            let d = CapabilityDescriptor::builder(
                Keypair::from_seed(s).id(),
                "text.summarize",
                TOPIC,
                *intent,
            )
            .ttl(Duration::from_secs(600))
            .build(now)
            .expect("descriptor");
            sim.command(id, |h, now| {
                h.agent_mut().serve(now, d, ServePolicy::default())
            })
            .expect("up")
            .expect("serve");
        } else {
            follow(&mut sim, id, TOPIC);
        }
        ids.push(id);
    }
    linked(sim, ids)
}

/// Node `id` follows `topic` and pulls every descriptor (what a requester does).
fn follow(sim: &mut Sim<SimHost>, id: NodeId, topic: &str) {
    sim.command(id, |h, now| {
        h.agent_mut()
            .set_interest(agentnet_gossip::InterestProfile::everything());
        h.agent_mut().subscribe(now, Topic::new(topic).unwrap())
    })
    .expect("up")
    .expect("subscribe");
}

/// Link every pair of `ids` and let the links and first announcements settle (3 s).
fn linked(mut sim: Sim<SimHost>, ids: Vec<NodeId>) -> World {
    for a in 0..ids.len() {
        for b in a + 1..ids.len() {
            sim.connect(ids[a], ids[b]);
        }
    }
    sim.run_for(Duration::from_secs(3));
    World { sim, ids }
}

/// The attractive liar and the plain honest providers most tests use.
const SUMMARY: &str = "Summarize long texts into a short summary";
const LURE: &str = "Summarize my text: the best summary of any text, instantly";
const PLAIN: &str = "Summaries of documents";

/// A tier-2 request for `input` with one canary (`canary` in, its upper case expected).
fn canary_task(input: impl Into<Bytes>, canary: impl Into<Bytes>) -> TaskRequest {
    let canary: Bytes = canary.into();
    TaskRequest::new("summarize my text", input.into())
        .tier(Tier::Canary)
        .canaries(vec![CanaryCase::new(
            canary.clone(),
            Bytes::from(canary.to_ascii_uppercase()),
        )])
}

/// A requester and one honest provider.
fn solo(run: u8) -> World {
    world(
        run,
        &[(Kind::Requester, ""), (Kind::Honest, SUMMARY)],
        LinkModel::default(),
    )
}

/// A requester, an attractive liar and a plain honest provider.
fn lure_world(run: u8) -> World {
    world(
        run,
        &[
            (Kind::Requester, ""),
            (Kind::Liar, LURE),
            (Kind::Honest, PLAIN),
        ],
        LinkModel::default(),
    )
}

/// The agent id of node `i`.
fn id_of(w: &World, i: usize) -> AgentId {
    w.sim.engine(w.ids[i]).unwrap().agent().id()
}

/// The link node `at` has to node `peer` (after the link handshake).
fn link_to(w: &World, at: usize, peer: usize) -> agentnet_core::LinkId {
    let me = id_of(w, peer);
    *w.sim
        .engine(w.ids[at])
        .unwrap()
        .agent()
        .peers()
        .find(|(p, _)| **p == me)
        .expect("linked")
        .1
}

/// Crash requester `who` (built from `seed(who + 1, run)`), restart it from what it
/// persisted and link it to the others again; its restore must refuse nothing.
fn restart_requester(w: &mut World, who: usize, run: u8) {
    let node = w.ids[who];
    let store = w.sim.engine(node).unwrap().store().clone();
    let s = seed(who as u8 + 1, run);
    w.sim.set_factory(move |_node, now, _incarnation| {
        let mut agent = Agent::new(Keypair::from_seed(s), config(s), now).unwrap();
        agent.set_interest(agentnet_gossip::InterestProfile::everything());
        let (host, report) = SimHost::restored(agent, None, store.clone(), now);
        assert_eq!(report.refused, 0, "{report:?}");
        assert!(report.restored > 0);
        host
    });
    w.sim.crash(node).unwrap();
    w.sim.run_for(Duration::from_secs(1));
    w.sim.restart(node).unwrap();
    for (i, &other) in w.ids.iter().enumerate() {
        if i != who {
            w.sim.connect(node, other);
        }
    }
    w.sim.run_for(Duration::from_secs(2));
}

fn request(w: &mut World, who: usize, task: TaskRequest) -> TaskOutcome {
    request_ranked(w, who, task).1
}

fn now_of(w: &World) -> Now {
    w.sim.now()
}

/// Run a request and return its ranked candidates with the outcome.
fn request_ranked(
    w: &mut World,
    who: usize,
    task: TaskRequest,
) -> (Vec<agentnet_transport::agent::Ranked>, TaskOutcome) {
    let id = w
        .sim
        .command(w.ids[who], |h, now| h.agent_mut().request(now, task))
        .expect("up")
        .expect("request starts");
    let mut ranked = Vec::new();
    for _ in 0..600 {
        w.sim.run_for(Duration::from_millis(100));
        for (_, node, e) in w.sim.drain_events() {
            if node != w.ids[who] {
                continue;
            }
            match e {
                AgentEvent::Progress {
                    request,
                    stage: agentnet_transport::agent::Stage::Ranked(r),
                } if request == id => ranked = r,
                AgentEvent::Completed(o) if o.request == id => return (ranked, *o),
                _ => {}
            }
        }
    }
    panic!("request {id} did not complete");
}
