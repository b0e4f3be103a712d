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
            sim.command(id, |h, now| {
                h.agent_mut()
                    .set_interest(agentnet_gossip::InterestProfile::everything());
                h.agent_mut().subscribe(now, Topic::new(TOPIC).unwrap())
            })
            .expect("up")
            .expect("subscribe");
        }
        ids.push(id);
    }
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

#[test]
fn tier_one_request_succeeds_and_feeds_the_ledger() {
    let mut w = solo(1);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"hello world"))
            .tier(Tier::Reputation),
    );
    assert_eq!(o.result.as_deref(), Ok(&b"HELLO WORLD"[..]), "{o:?}");
    assert_eq!(o.tier, Tier::Reputation);
    assert_eq!(o.attempts.len(), 1);
    assert_eq!(o.payment, 10 * UNIT);
    let provider = o.provider.expect("provider");
    let topic = Topic::new(TOPIC).unwrap();
    let t =
        w.sim
            .engine(w.ids[0])
            .unwrap()
            .agent()
            .ledger()
            .tally(&topic, &provider, now_of(&w).wall);
    assert!(t.is_some_and(|t| t.pos > 0.0 && t.neg == 0.0), "{t:?}");
}

#[test]
fn a_failed_canary_falls_back_to_the_next_provider() {
    let mut w = lure_world(2);
    let o = request(
        &mut w,
        0,
        canary_task(&b"real work"[..], &b"canary input"[..]),
    );
    let liar = id_of(&w, 1);
    let honest = id_of(&w, 2);
    assert_eq!(o.attempts[0].provider, liar, "{o:?}");
    assert_eq!(o.attempts[0].verdict, Verdict::CanaryFailed, "{o:?}");
    assert_eq!(o.provider, Some(honest), "{o:?}");
    assert_eq!(o.result.as_deref(), Ok(&b"REAL WORK"[..]));
    assert_eq!(o.fallbacks(), 1);
    let topic = Topic::new(TOPIC).unwrap();
    let ledger = w.sim.engine(w.ids[0]).unwrap().agent().ledger();
    let bad = ledger
        .tally(&topic, &liar, now_of(&w).wall)
        .expect("liar recorded");
    assert!(bad.neg > 0.0);
    // The provider that delivered has standing in the requester's gossip tables (a flood of
    // fresh identities cannot evict it); the one that failed does not.
    let gossip = w.sim.engine(w.ids[0]).unwrap().agent().gossip();
    assert!(gossip.has_standing(now_of(&w), &topic, &honest));
    assert!(!gossip.has_standing(now_of(&w), &topic, &liar));
}

#[test]
fn tier_three_evidence_checks_out() {
    let mut w = solo(3);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"evidence please"))
            .tier(Tier::Evidence),
    );
    assert_eq!(o.result.as_deref(), Ok(&b"EVIDENCE PLEASE"[..]), "{o:?}");
    assert_eq!(o.attempts[0].tier, Tier::Evidence);
}

#[test]
fn a_contradicting_provider_is_convicted_everywhere_and_the_request_falls_back() {
    let mut w = world(
        4,
        &[
            (Kind::Requester, ""),
            (
                Kind::Cheat,
                "Summarize my text: the best summary of any text, instantly",
            ),
            (Kind::Honest, PLAIN),
            (Kind::Requester, ""),
        ],
        LinkModel::default(),
    );
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"big deal")).tier(Tier::Evidence),
    );
    let cheat = id_of(&w, 1);
    assert_eq!(o.attempts[0].provider, cheat, "{o:?}");
    assert_eq!(o.attempts[0].verdict, Verdict::Fraud, "{o:?}");
    assert_eq!(o.result.as_deref(), Ok(&b"BIG DEAL"[..]), "{o:?}");
    w.sim.run_for(Duration::from_secs(2));
    for &n in &[w.ids[0], w.ids[2], w.ids[3]] {
        let a = w.sim.engine(n).unwrap().agent();
        assert!(a.is_convicted(&cheat), "node {n:?} did not convict");
        assert_eq!(a.reputation(&cheat, &Topic::new(TOPIC).unwrap()), 0.0);
    }
}

#[test]
fn same_seed_same_trace() {
    let run = || {
        let mut w = lure_world(5);
        let o = request(&mut w, 0, canary_task(&b"y"[..], &b"x"[..]));
        (o.attempts.len(), w.sim.trace_hash())
    };
    assert_eq!(run(), run());
}

#[test]
fn hostile_frames_get_typed_errors_and_change_nothing() {
    use agentnet_core::{Engine, LinkId};
    use agentnet_transport::agent::AgentError;
    use agentnet_transport::agent::wire::{self, Chunk, Direction, HelloProof, Resend};
    let mut w = solo(6);
    let now = w.sim.now();
    let session = agentnet_mech::session::SessionId(agentnet_core::Hash([1; 32]));
    let host = w.sim.engine_mut(w.ids[0]).unwrap();
    let chunk = agentnet_core::wire::encode_frame(
        wire::CHUNK,
        &Chunk {
            session,
            direction: Direction::Result,
            index: 0,
            count: 1,
            data: Bytes::from_static(b"x"),
        },
    )
    .unwrap();
    assert!(matches!(
        host.handle_message(now, LinkId(1), chunk),
        Err(AgentError::UnknownTransfer { .. })
    ));
    let resend = agentnet_core::wire::encode_frame(
        wire::RESEND,
        &Resend {
            session,
            direction: Direction::Input,
            missing: vec![0],
        },
    )
    .unwrap();
    assert!(matches!(
        host.handle_message(now, LinkId(1), resend),
        Err(AgentError::UnknownTransfer { .. })
    ));
    // A handshake proof answering no challenge on this link (a replay).
    let stranger = Keypair::from_seed([99; 32]);
    let proof = Signed::sign(
        &stranger,
        HelloProof {
            nonce: [0; 16],
            agent: stranger.id(),
        },
    )
    .unwrap()
    .to_frame();
    assert!(matches!(
        host.handle_message(now, LinkId(1), proof),
        Err(AgentError::BadHandshake(_))
    ));
    for junk in [
        Bytes::from_static(b""),
        Bytes::from_static(&[1, 0x04, 0x10, 0xff]),
        Bytes::from_static(&[1, 0x04, 0x99, 0xa0]),
        Bytes::from_static(&[1, 0x55, 0x00, 0xa0]),
        Bytes::from_static(&[9, 0x03, 0x02, 0xa0]),
    ] {
        assert!(host.handle_message(now, LinkId(1), junk).is_err());
    }
    // The agent still works.
    let routes = host.agent().peers().count();
    assert_eq!(routes, 1);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"still fine"))
            .tier(Tier::Reputation),
    );
    assert_eq!(o.result.as_deref(), Ok(&b"STILL FINE"[..]));
}

#[test]
fn the_funnel_always_ends_under_loss() {
    let lossy = LinkModel {
        loss: 0.05,
        ..LinkModel::default()
    };
    let mut w = world(
        7,
        &[
            (Kind::Requester, ""),
            (Kind::Honest, SUMMARY),
            (Kind::Honest, PLAIN),
            (Kind::Honest, "Text summarization service"),
        ],
        lossy,
    );
    let mut ok = 0;
    for i in 0..6u8 {
        let input = Bytes::from(vec![b'a' + i; 40_000]);
        let o = request(
            &mut w,
            0,
            canary_task(input.clone(), vec![b'q'; 39_000 + usize::from(i)]),
        );
        if let Ok(r) = &o.result {
            assert_eq!(r, &Bytes::from(input.to_ascii_uppercase()));
            ok += 1;
        }
    }
    // Each request ends (success or a reasoned failure); chunk loss is repaired by resends.
    assert!(ok >= 4, "only {ok} of 6 succeeded");
}

#[test]
fn a_restarted_agent_keeps_its_identity_ledger_and_index() {
    let mut w = solo(8);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"before")).tier(Tier::Reputation),
    );
    let provider = o.provider.expect("served");
    let topic = Topic::new(TOPIC).unwrap();
    let req = w.ids[0];
    let (me, chain) = {
        let h = w.sim.engine(req).unwrap();
        let me = h.agent().id();
        let chain = h.agent().registry().resolve(&me).unwrap().chain;
        (me, chain)
    };
    restart_requester(&mut w, 0, 8);
    let h = w.sim.engine(req).unwrap();
    assert_eq!(
        h.agent().registry().resolve(&me).unwrap().chain,
        chain,
        "same identity chain"
    );
    let t = h.agent().ledger().tally(&topic, &provider, now_of(&w).wall);
    assert!(t.is_some_and(|t| t.pos > 0.0), "ledger row survived: {t:?}");
    assert!(
        !h.agent()
            .discover(now_of(&w), "summarize my text", &Default::default(), 4)
            .is_empty(),
        "the index survived"
    );
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"after")).tier(Tier::Reputation),
    );
    assert_eq!(o.result.as_deref(), Ok(&b"AFTER"[..]), "{o:?}");
}

#[test]
fn a_provider_restarting_mid_session_still_delivers_and_the_deposit_is_refunded() {
    let mut w = solo(9);
    let prov = w.ids[1];
    w.sim.engine_mut(prov).unwrap().exec_delay = Duration::from_secs(2);
    let store = w.sim.engine(prov).unwrap().store().clone();
    let s = seed(2, 9);
    w.sim.set_factory(move |_node, now, _incarnation| {
        let agent = Agent::new(Keypair::from_seed(s), config(s), now).unwrap();
        let (host, report) = SimHost::restored(agent, Some(upper()), store.clone(), now);
        assert_eq!(report.refused, 0, "{report:?}");
        host
    });
    let id = w
        .sim
        .command(w.ids[0], |h, now| {
            h.agent_mut().request(
                now,
                TaskRequest::new("summarize my text", Bytes::from_static(b"survive"))
                    .tier(Tier::Evidence),
            )
        })
        .unwrap()
        .unwrap();
    // Committed (deposit posted), delegated, executing: then the provider dies.
    w.sim.run_for(Duration::from_millis(600));
    let sessions = w.sim.engine(prov).unwrap().agent().sessions().len();
    assert_eq!(sessions, 1, "the provider holds the open session");
    w.sim.crash(prov).unwrap();
    w.sim.run_for(Duration::from_millis(500));
    w.sim.restart(prov).unwrap();
    w.sim.connect(w.ids[0], prov);
    let mut settled = None;
    let mut outcome = None;
    for _ in 0..300 {
        w.sim.run_for(Duration::from_millis(100));
        for (_, node, e) in w.sim.drain_events() {
            if node != w.ids[0] {
                continue;
            }
            match e {
                AgentEvent::Progress {
                    stage:
                        agentnet_transport::agent::Stage::Settled {
                            payment, refund, ..
                        },
                    ..
                } => settled = Some((payment, refund)),
                AgentEvent::Completed(o) if o.request == id => outcome = Some(*o),
                _ => {}
            }
        }
        if outcome.is_some() {
            break;
        }
    }
    let o = outcome.expect("the request ended");
    assert_eq!(o.result.as_deref(), Ok(&b"SURVIVE"[..]), "{o:?}");
    assert_eq!(o.attempts.len(), 1, "no fallback was needed: {o:?}");
    assert_eq!(
        settled,
        Some((10 * UNIT, 5 * UNIT)),
        "paid in full, deposit intact"
    );
}

#[test]
fn a_leader_turns_real_outcomes_into_scenarios_and_offers_its_loops_rules() {
    use agentnet_transport::agent::LeaderConfig;
    let mut w = lure_world(10);
    // Make the requester a leader: rebuild it with a loop, restoring its state.
    let req = w.ids[0];
    let store = w.sim.engine(req).unwrap().store().clone();
    let s = seed(1, 10);
    w.sim.set_factory(move |_node, now, _incarnation| {
        let mut c = config(s);
        let mut leader = LeaderConfig {
            outcomes_per_scenario: 3,
            ..LeaderConfig::default()
        };
        leader.loop_config.iteration_interval = Duration::from_millis(10);
        c.leader = Some(leader);
        let mut agent = Agent::new(Keypair::from_seed(s), c, now).unwrap();
        agent.set_interest(agentnet_gossip::InterestProfile::everything());
        SimHost::restored(agent, None, store.clone(), now).0
    });
    w.sim.crash(req).unwrap();
    w.sim.restart(req).unwrap();
    for &other in &w.ids[1..] {
        w.sim.connect(req, other);
    }
    w.sim.run_for(Duration::from_secs(2));
    let before = w.sim.engine(req).unwrap().agent().current_mechanism();
    for i in 0..4u8 {
        let o = request(
            &mut w,
            0,
            canary_task(Bytes::from(vec![b'a' + i; 16]), vec![b'k' + i; 8]),
        );
        assert!(o.result.is_ok(), "{o:?}");
    }
    w.sim.run_for(Duration::from_secs(3));
    let agent = w.sim.engine(req).unwrap().agent();
    let lp = agent.mechanism_loop().expect("a leader");
    assert!(!lp.suite().is_empty(), "outcomes became a scenario");
    assert!(
        lp.suite()[0].population.len() >= 2,
        "honest and shirking followers were observed"
    );
    assert!(!lp.history().is_empty(), "the loop ran");
    // What it offers now is the loop's incumbent (with the tier chosen per request).
    let now = agent.current_mechanism();
    let mut incumbent = lp.incumbent().clone();
    incumbent.leader = agent.id();
    incumbent.set(agentnet_mech::mechanism::Clause::Verification {
        tier: Tier::Reputation,
    });
    for c in &incumbent.clauses {
        if c.kind() != agentnet_mech::mechanism::ClauseKind::Deadlines {
            assert!(now.clauses.contains(c), "{c:?} offered");
        }
    }
    if lp.history().iter().any(|r| r.accepted) {
        assert_ne!(now, before, "an accepted revision changes what is offered");
    }
}

#[test]
fn the_funnel_completes_under_loss_and_provider_churn() {
    use agentnet_core::sim::Fault;
    use std::collections::BTreeMap;
    let lossy = LinkModel {
        loss: 0.02,
        ..LinkModel::default()
    };
    let mut w = world(
        11,
        &[
            (Kind::Requester, ""),
            (Kind::Honest, SUMMARY),
            (Kind::Honest, PLAIN),
            (Kind::Honest, "Text summarization service"),
            (Kind::Liar, LURE),
        ],
        lossy,
    );
    let mut stores = BTreeMap::new();
    for (i, &id) in w.ids.iter().enumerate().skip(1) {
        let liar = i == 4;
        stores.insert(
            id,
            (
                seed(i as u8 + 1, 11),
                w.sim.engine(id).unwrap().store().clone(),
                liar,
            ),
        );
    }
    let table = stores.clone();
    w.sim.set_factory(move |node, now, _incarnation| {
        let (s, store, liar) = table[&node].clone();
        let agent = Agent::new(Keypair::from_seed(s), config(s), now).unwrap();
        let handler = if liar { self::liar() } else { upper() };
        SimHost::restored(agent, Some(handler), store, now).0
    });
    // Providers go down and come back while requests run: each one in turn, 400 ms down
    // every 900 ms.
    let providers: Vec<NodeId> = stores.keys().copied().collect();
    let start = w.sim.now().mono;
    for k in 0..30u64 {
        let p = providers[(k as usize) % providers.len()];
        let at = start + Duration::from_millis(300 + 900 * k);
        w.sim.schedule(at, Fault::Crash(p));
        w.sim
            .schedule(at + Duration::from_millis(400), Fault::Restart(p));
    }
    let mut ok = 0;
    for i in 0..8u8 {
        let input = Bytes::from(vec![b'a' + i; 64]);
        let o = request(&mut w, 0, canary_task(input.clone(), vec![b'p' + i; 32]));
        if let Ok(r) = &o.result {
            assert_eq!(
                r,
                &Bytes::from(input.to_ascii_uppercase()),
                "only checked work is accepted"
            );
            ok += 1;
        }
    }
    assert!(ok >= 5, "only {ok} of 8 succeeded under churn");
}

#[test]
fn an_issuer_attestation_travels_with_the_identity_chain() {
    use agentnet_trust::baid::{IssuerAttestation, PrincipalCommitment};
    use agentnet_trust::registry::RegistryConfig;
    let issuer = Keypair::from_seed([77; 32]);
    let principal = PrincipalCommitment::new(b"ACME Corp, registration 42", &[5; 32]);
    let mut sim = Sim::new(SimConfig::seeded(12));
    let now = sim.now();
    let mut a_cfg = config(seed(1, 12));
    a_cfg.identity.principal = principal;
    let mut b_cfg = config(seed(2, 12));
    b_cfg.registry = RegistryConfig::with_anchors([issuer.id()]);
    let a = Agent::new(Keypair::from_seed(seed(1, 12)), a_cfg, now).unwrap();
    let a_id = a.id();
    let b = Agent::new(Keypair::from_seed(seed(2, 12)), b_cfg, now).unwrap();
    let (na, nb) = (
        sim.add_node(SimHost::new(a, None)),
        sim.add_node(SimHost::new(b, None)),
    );
    let hour = now.wall.saturating_add(Duration::from_secs(3600));
    let att = IssuerAttestation::sign(&issuer, principal, a_id, now.wall, hour).unwrap();
    sim.command(na, |h, now| h.agent_mut().add_attestation(now, att))
        .unwrap()
        .unwrap();
    // Someone else's principal is refused, and so is one naming another chain.
    let elsewhere = PrincipalCommitment::new(b"someone else", &[6; 32]);
    let other = IssuerAttestation::sign(&issuer, elsewhere, a_id, now.wall, hour).unwrap();
    let b_key = Keypair::from_seed(seed(2, 12)).id();
    let not_mine = IssuerAttestation::sign(&issuer, principal, b_key, now.wall, hour).unwrap();
    for wrong in [other, not_mine] {
        assert!(
            sim.command(na, |h, now| h.agent_mut().add_attestation(now, wrong))
                .unwrap()
                .is_err()
        );
    }
    sim.connect(na, nb);
    sim.run_for(Duration::from_secs(1));
    let seen = sim
        .engine(nb)
        .unwrap()
        .agent()
        .registry()
        .resolve(&a_id)
        .unwrap();
    assert!(
        seen.attested,
        "b trusts the issuer and holds the attestation: {seen:?}"
    );
}

#[test]
fn a_peers_key_rotation_keeps_its_reputation_and_history() {
    use agentnet_core::Engine;
    use agentnet_trust::baid::BindingEntry;
    let mut w = solo(13);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"x")).tier(Tier::Reputation),
    );
    let old = o.provider.expect("served");
    w.sim.run_for(Duration::from_secs(2));
    let topic = Topic::new(TOPIC).unwrap();
    let old_keys = Keypair::from_seed(seed(2, 13));
    let new_keys = Keypair::from_seed([0xAB; 32]);
    let now = w.sim.now();
    let requester = w.sim.engine_mut(w.ids[0]).unwrap();
    let chain = requester.agent().registry().resolve(&old).unwrap().chain;
    let head = requester
        .agent()
        .registry()
        .entries(&chain)
        .last()
        .unwrap()
        .clone();
    let rotation = BindingEntry::rotation(
        &head,
        &old_keys,
        &new_keys,
        new_keys.x25519().public(),
        now.wall,
    )
    .unwrap();
    requester
        .handle_message(now, agentnet_core::LinkId(1), rotation.to_frame())
        .unwrap();
    let a = requester.agent();
    let before = a.reputation(&old, &topic);
    assert!(before > 0.0);
    assert_eq!(
        a.reputation(&new_keys.id(), &topic),
        before,
        "the new key inherits the score"
    );
    assert_eq!(
        a.registry().resolve(&new_keys.id()).unwrap().canonical,
        old,
        "both keys map to the chain's canonical id"
    );
    assert!(a.ledger().tally(&topic, &old, now.wall).is_some());
}

#[test]
fn full_queues_drop_the_oldest_and_say_so() {
    use agentnet_core::{Engine, Instant, LinkId, WallTime};
    let now = Now::new(
        Instant::from_secs(1),
        WallTime::from_unix_millis(1_800_000_000_000),
    );
    let mut cfg = config(seed(1, 14));
    cfg.max_queued = 64;
    let mut a = Agent::new(Keypair::from_seed(seed(1, 14)), cfg, now).unwrap();
    // Every link that comes up queues a handshake challenge; nobody drains the frames.
    for l in 0..100 {
        a.handle_link_up(now, LinkId(l));
    }
    let overflow: u64 = std::iter::from_fn(|| a.poll_event())
        .filter_map(|e| match e {
            AgentEvent::Overflow(o) if o.queue == "transmits" => Some(o.dropped),
            _ => None,
        })
        .sum();
    assert!(overflow >= 36, "dropped {overflow}");
    let kept: Vec<_> = std::iter::from_fn(|| a.poll_transmit()).collect();
    assert_eq!(kept.len(), 64, "the queue holds its bound");
    assert_eq!(
        kept.last().unwrap().link,
        LinkId(99),
        "the newest frames are kept"
    );
    // Out-of-range settings are refused by name, never clamped.
    let mut bad = config(seed(1, 14));
    bad.max_queued = 1;
    let e = Agent::new(Keypair::from_seed(seed(1, 14)), bad, now).unwrap_err();
    assert_eq!(e.field(), Some("max_queued"));
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

#[test]
fn a_drifting_provider_is_demoted_until_it_refreshes_its_descriptor() {
    let mut w = lure_world(15);
    let liar = id_of(&w, 1);
    let (first, o) = request_ranked(&mut w, 0, canary_task(&b"one"[..], &b"c1"[..]));
    assert!(first.iter().all(|r| !r.demoted));
    assert_eq!(o.attempts[0].verdict, Verdict::CanaryFailed, "{o:?}");
    let (second, _) = request_ranked(&mut w, 0, canary_task(&b"two"[..], &b"c2"[..]));
    let l = second
        .iter()
        .find(|r| r.provider == liar)
        .expect("still a candidate");
    assert!(l.demoted, "{second:?}");
    assert_eq!(
        second.last().unwrap().provider,
        liar,
        "demoted candidates come last"
    );
    // The provider re-issues its descriptor (say after fixing what drifted).
    w.sim.run_for(Duration::from_secs(1));
    let d = CapabilityDescriptor::builder(liar, "text.summarize", TOPIC, LURE)
        .ttl(Duration::from_secs(600))
        .build(w.sim.now())
        .unwrap();
    w.sim
        .command(w.ids[1], |h, now| {
            h.agent_mut().serve(now, d, ServePolicy::default())
        })
        .unwrap()
        .unwrap();
    w.sim.run_for(Duration::from_secs(3));
    let (third, _) = request_ranked(&mut w, 0, canary_task(&b"three"[..], &b"c3"[..]));
    let l = third
        .iter()
        .find(|r| r.provider == liar)
        .expect("still a candidate");
    assert!(!l.demoted, "a refresh lifts the demotion: {third:?}");
}

/// What a hook saw, shared between the hook (inside the simulator) and the test.
type Log<T> = std::sync::Arc<std::sync::Mutex<Vec<T>>>;

#[test]
fn a_canary_and_the_real_task_look_the_same_on_the_wire() {
    use agentnet_core::effect::ExecuteTask;
    use agentnet_core::wire::{Limits, Plane, decode_frame_as, peek_kind};
    use agentnet_transport::agent::wire::{CHUNK, Chunk, Direction};
    let sent: Log<Bytes> = Log::default();
    let ran: Log<(ExecuteTask, Bytes)> = Log::default();
    let (s, r) = (sent.clone(), ran.clone());
    let mut w = world_wrapped(
        16,
        &[(Kind::Requester, ""), (Kind::Honest, SUMMARY)],
        LinkModel::default(),
        |_, _| {},
        move |i, host| {
            if i == 0 {
                let s = s.clone();
                host.with_tamper(Box::new(move |t: Transmit| {
                    s.lock().unwrap().push(t.payload.clone());
                    Some(t)
                }))
            } else {
                let r = r.clone();
                host.with_handler(Some(Box::new(move |task, input| {
                    r.lock().unwrap().push((task.clone(), input.clone()));
                    Executed::Done {
                        result: Bytes::from(input.to_ascii_uppercase()),
                        tools: Vec::new(),
                    }
                })))
            }
        },
    );
    sent.lock().unwrap().clear(); // the handshakes and gossip before the request
    // Inputs of very different lengths (a real document of 3 KB, a canary of a few bytes:
    // different size classes): the requester pads both to the larger before sealing.
    let o = request(
        &mut w,
        0,
        canary_task(b"a long document ".repeat(200), &b"a short canary"[..]),
    );
    assert_eq!(o.attempts.len(), 1, "{o:?}");
    assert_eq!(o.attempts[0].verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.tier, Tier::Canary);

    // The provider's application gets two tasks that differ only in their ids and inputs.
    let ran = ran.lock().unwrap();
    assert_eq!(ran.len(), 2, "the real task and one canary");
    let (a, b) = (&ran[0].0, &ran[1].0);
    assert_ne!(a.task, b.task);
    let same = |t: &ExecuteTask| {
        (
            t.requester,
            t.capability.clone(),
            t.topic.clone(),
            t.intent.clone(),
        )
    };
    assert_eq!(same(a), same(b));

    // On the wire: every task-plane frame the requester sent has a twin of the same kind
    // and size, and both input transfers are chunked identically.
    let sent = sent.lock().unwrap();
    let mut by_kind: std::collections::BTreeMap<u16, Vec<usize>> = Default::default();
    let mut chunks: std::collections::BTreeMap<_, Vec<(u32, u32, usize)>> = Default::default();
    for f in sent.iter() {
        let kind = peek_kind(f).expect("framed");
        if !matches!(kind.plane(), Plane::Execution | Plane::Payload) {
            continue;
        }
        by_kind.entry(kind.0).or_default().push(f.len());
        if kind == CHUNK {
            let c: Chunk = decode_frame_as(f, CHUNK, &Limits::default()).expect("chunk");
            if c.direction == Direction::Input {
                chunks
                    .entry(c.session)
                    .or_default()
                    .push((c.index, c.count, c.data.len()));
            }
        }
    }
    assert!(!by_kind.is_empty());
    for (kind, mut lens) in by_kind {
        lens.sort_unstable();
        assert!(
            lens.len() % 2 == 0 && lens.chunks(2).all(|p| p[0] == p[1]),
            "frames of kind {kind:#06x} come without a twin of the same size: {lens:?}"
        );
    }
    let transfers: Vec<_> = chunks.into_values().collect();
    assert_eq!(transfers.len(), 2, "one input transfer per session");
    assert_eq!(transfers[0], transfers[1]);
}

#[test]
fn fallback_stops_at_its_bound() {
    for bound in [1usize, 2] {
        let tried: Log<usize> = Log::default();
        let t = tried.clone();
        let mut w = world_wrapped(
            17 + bound as u8,
            &[
                (Kind::Requester, ""),
                (Kind::Liar, LURE),
                (Kind::Liar, SUMMARY),
                (Kind::Liar, PLAIN),
            ],
            LinkModel::default(),
            |i, c| {
                if i == 0 {
                    c.funnel.max_attempts = bound;
                }
            },
            move |i, host| {
                if i == 0 {
                    return host;
                }
                let t = t.clone();
                host.with_handler(Some(Box::new(move |_, _| {
                    t.lock().unwrap().push(i);
                    Executed::Done {
                        result: Bytes::from_static(b"SOMETHING ELSE ENTIRELY"),
                        tools: Vec::new(),
                    }
                })))
            },
        );
        let o = request(&mut w, 0, canary_task(&b"work"[..], &b"probe"[..]));
        assert!(o.result.is_err(), "{o:?}");
        assert_eq!(o.attempts.len(), bound, "{o:?}");
        assert!(
            o.attempts
                .iter()
                .all(|a| a.verdict == Verdict::CanaryFailed),
            "{o:?}"
        );
        assert_eq!(o.fallbacks(), bound - 1);
        // Only the providers attempted ever ran anything.
        let mut ran: Vec<usize> = tried.lock().unwrap().clone();
        ran.sort_unstable();
        ran.dedup();
        assert_eq!(ran.len(), bound, "{ran:?}");
    }
}

#[test]
fn a_restarted_requester_keeps_its_observations_and_demotions() {
    let mut w = lure_world(20);
    let liar = id_of(&w, 1);
    let honest = id_of(&w, 2);
    let o = request(&mut w, 0, canary_task(&b"one"[..], &b"c1"[..]));
    assert_eq!(o.attempts[0].verdict, Verdict::CanaryFailed, "{o:?}");
    assert_eq!(o.provider, Some(honest), "{o:?}");
    let req = w.ids[0];
    let before: Vec<_> = w
        .sim
        .engine(req)
        .unwrap()
        .agent()
        .observations()
        .iter()
        .map(|(p, c, o)| (*p, c.to_string(), *o))
        .collect();
    assert_eq!(
        before.len(),
        2,
        "the liar's failure and the honest delivery"
    );
    restart_requester(&mut w, 0, 20);
    let after: Vec<_> = w
        .sim
        .engine(req)
        .unwrap()
        .agent()
        .observations()
        .iter()
        .map(|(p, c, o)| (*p, c.to_string(), *o))
        .collect();
    assert_eq!(before, after);
    // The liar is still demoted, so the next request goes straight to the honest provider.
    let (ranked, o) = request_ranked(&mut w, 0, canary_task(&b"two"[..], &b"c2"[..]));
    let l = ranked.iter().find(|r| r.provider == liar).expect("listed");
    assert!(l.demoted, "{ranked:?}");
    assert_eq!(o.attempts.len(), 1, "{o:?}");
    assert_eq!(o.provider, Some(honest), "{o:?}");
}

/// A proof against an identity of one's own, freshly minted for the purpose.
fn self_conviction(seed: u8, wall: agentnet_core::WallTime) -> (AgentId, Bytes) {
    use agentnet_gossip::{EntryKind, LogHeader};
    let kp = Keypair::from_seed([seed; 32]);
    let header = |body: &[u8]| {
        Signed::sign(
            &kp,
            LogHeader {
                author: kp.id(),
                topic: Topic::new(TOPIC).unwrap(),
                seq: 1,
                prev: None,
                kind: EntryKind::DESCRIPTOR,
                body_hash: agentnet_core::Hash::digest("agentnet/test/body", body),
                body_len: body.len() as u32,
                issued_at: wall,
                ttl_ms: 60_000,
                sketch: None,
            },
        )
        .unwrap()
    };
    let proof =
        agentnet_trust::fraud::FraudProof::equivocation(&header(b"one"), &header(b"two")).unwrap();
    (kp.id(), proof.to_frame())
}

#[test]
fn proofs_against_free_identities_are_not_relayed_or_stored() {
    let mut w = world(
        21,
        &[
            (Kind::Requester, ""),
            (Kind::Requester, ""),
            (Kind::Honest, SUMMARY),
        ],
        LinkModel::default(),
    );
    let b = w.ids[1];
    let from_a = link_to(&w, 1, 0);
    // A hands B a hundred proofs, each against a key nobody here ever dealt with.
    let mut strangers = Vec::new();
    for i in 0..100u8 {
        let (id, frame) = self_conviction(100 + i, w.sim.now().wall);
        strangers.push(id);
        let now = w.sim.now();
        use agentnet_core::Engine;
        w.sim
            .engine_mut(b)
            .unwrap()
            .handle_message(now, from_a, frame)
            .expect("a valid proof");
        w.sim.flush(b);
    }
    w.sim.run_for(Duration::from_secs(2));
    let hb = w.sim.engine(b).unwrap();
    // B believes them (its next choice of provider would skip them)...
    assert!(strangers.iter().all(|s| hb.agent().is_convicted(s)));
    // ...but keeps nothing on disk and passes nothing on.
    let stored = hb
        .store()
        .lock()
        .unwrap()
        .keys()
        .filter(|(t, _)| t == agentnet_transport::agent::tables::FRAUD_PROOF)
        .count();
    assert_eq!(stored, 0);
    let other = w.sim.engine(w.ids[2]).unwrap().agent();
    assert!(strangers.iter().all(|s| !other.is_convicted(s)));
}

#[test]
fn a_trust_report_dated_in_the_future_is_refused() {
    use agentnet_core::Engine;
    use agentnet_trust::report::{ReportEntry, TrustReport};
    let mut w = solo(22);
    // The requester works in the topic once it has requested there.
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"x")).tier(Tier::Reputation),
    );
    let provider = o.provider.expect("served");
    let req = w.ids[0];
    let link = link_to(&w, 0, 1);
    let kp = Keypair::from_seed([77; 32]);
    let report = |ahead: Duration| {
        Signed::sign(
            &kp,
            TrustReport {
                reporter: kp.id(),
                topic: Topic::new(TOPIC).unwrap(),
                seq: 1,
                at: w.sim.now().wall + ahead,
                base: None,
                entries: vec![ReportEntry::new(provider, 5.0, 0.0)],
            },
        )
        .unwrap()
        .to_frame()
    };
    let (late, fine) = (report(Duration::from_secs(3600)), report(Duration::ZERO));
    let now = w.sim.now();
    let host = w.sim.engine_mut(req).unwrap();
    let r = host.handle_message(now, link, late);
    assert!(
        matches!(r, Err(agentnet_transport::agent::AgentError::Report(_))),
        "{r:?}"
    );
    // The same reporter's honest report still applies (nothing was locked in).
    host.handle_message(now, link, fine)
        .expect("a current report");
}

/// Drain `agent`, apply every `Persist` to `store` (the keys of `table` held: puts minus
/// deletes) and acknowledge it.
fn apply_persists(
    agent: &mut Agent,
    now: Now,
    table: &str,
    store: &mut std::collections::BTreeSet<Bytes>,
) {
    use agentnet_core::Engine;
    use agentnet_core::effect::Effect;
    while agent.poll_transmit().is_some() || agent.poll_event().is_some() {}
    while let Some(e) = agent.poll_effect() {
        if let Effect::Persist { id, records } = e {
            for r in records.iter().filter(|r| r.table == table) {
                if r.value.is_some() {
                    store.insert(r.key.clone());
                } else {
                    store.remove(&r.key);
                }
            }
            agent.handle_persisted(now, id).unwrap();
        }
    }
}

#[test]
fn what_the_gossip_plane_evicts_leaves_the_store_too() {
    use agentnet_core::{Engine, LinkId};
    use agentnet_gossip::header::{EntryKind, LogHeader};
    use agentnet_transport::agent::tables;
    // A node whose topic holds 4 authors, flooded by 40 free identities over 8 links (so
    // they evict each other): the records the store would hold after applying every Persist
    // (puts minus deletes) never exceed what the gossip engine holds.
    let t0 = Now::new(
        agentnet_core::Instant::from_secs(1),
        agentnet_core::WallTime::from_unix_millis(1_800_000_000_000),
    );
    let mut c = config(seed(1, 90));
    c.gossip.max_authors_per_topic = 4;
    let mut agent = Agent::new(Keypair::from_seed(seed(1, 90)), c, t0).unwrap();
    let topic = Topic::new(TOPIC).unwrap();
    agent.subscribe(t0, topic.clone()).unwrap();
    for l in 1..=8 {
        agent.handle_link_up(t0, LinkId(l));
    }
    let mut store = std::collections::BTreeSet::new();
    let apply = |agent: &mut Agent, store: &mut std::collections::BTreeSet<Bytes>| {
        apply_persists(agent, t0, tables::GOSSIP_HEADER, store)
    };
    apply(&mut agent, &mut store);
    for n in 0..40u8 {
        let kp = Keypair::from_seed([n.wrapping_add(100); 32]);
        let h = LogHeader {
            author: kp.id(),
            topic: topic.clone(),
            seq: 1,
            prev: None,
            kind: EntryKind::DESCRIPTOR,
            body_hash: agentnet_gossip::wire::body_hash(b"sybil"),
            body_len: 5,
            issued_at: t0.wall,
            ttl_ms: 600_000,
            sketch: None,
        };
        let frame = Signed::sign(&kp, h).unwrap().to_frame();
        let _ = agent.handle_message(t0, LinkId(1 + u64::from(n % 8)), frame);
        apply(&mut agent, &mut store);
        let held = agent.gossip().header_count();
        assert!(store.len() <= held, "store {} > engine {held}", store.len());
    }
    assert!(
        agent.gossip().stats().evicted_unproven > 0,
        "the flood evicted"
    );
    assert_eq!(store.len(), agent.gossip().header_count());
}

#[test]
fn free_identity_chains_do_not_lock_a_full_registry_and_leave_the_store_with_it() {
    use agentnet_core::{Engine, LinkId};
    use agentnet_transport::agent::tables;
    use agentnet_trust::baid::{BaidInputs, BindingEntry, PrincipalCommitment};
    // A registry of 6 chains (the agent's own among them), flooded with geneses of free keys
    // from one link: an honest provider's genesis from another link still gets in and stays
    // while the flood goes on, and the store holds exactly the chains the registry holds.
    let t0 = Now::new(
        agentnet_core::Instant::from_secs(1),
        agentnet_core::WallTime::from_unix_millis(1_800_000_000_000),
    );
    let mut c = config(seed(1, 91));
    c.registry.max_chains = 6;
    let mut agent = Agent::new(Keypair::from_seed(seed(1, 91)), c, t0).unwrap();
    agent.handle_link_up(t0, LinkId(1));
    agent.handle_link_up(t0, LinkId(2));
    let mut store = std::collections::BTreeSet::new();
    let apply = |agent: &mut Agent, store: &mut std::collections::BTreeSet<Bytes>| {
        apply_persists(agent, t0, tables::IDENTITY_ENTRY, store)
    };
    apply(&mut agent, &mut store);
    let genesis = |n: u8| {
        let k = Keypair::from_seed([n; 32]);
        let inputs = BaidInputs {
            code_hash: agentnet_core::Hash([1; 32]),
            config_digest: agentnet_core::Hash([2; 32]),
            principal: PrincipalCommitment::new(b"p", &[n; 32]),
            salt: [n; 32],
        };
        let e = BindingEntry::genesis(&k, k.x25519().public(), inputs, t0.wall).unwrap();
        (k.id(), e.to_frame())
    };
    let me = agent.id();
    for n in 100..110 {
        agent.handle_message(t0, LinkId(1), genesis(n).1).unwrap();
        apply(&mut agent, &mut store);
    }
    let (honest, frame) = genesis(7);
    agent.handle_message(t0, LinkId(2), frame).unwrap();
    apply(&mut agent, &mut store);
    for n in 110..150 {
        agent.handle_message(t0, LinkId(1), genesis(n).1).unwrap();
        apply(&mut agent, &mut store);
        assert!(agent.registry().resolve(&honest).is_some(), "after {n}");
        assert!(
            agent.registry().resolve(&me).is_some(),
            "its own chain stays"
        );
        assert_eq!(agent.registry().chain_count(), 6);
        assert_eq!(store.len(), 6, "the store holds what the registry holds");
    }
}
