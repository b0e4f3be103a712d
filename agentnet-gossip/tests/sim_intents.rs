//! Intents and provider states across simulated networks of production gossip engines.

use std::collections::BTreeSet;
use std::time::Duration;

use agentnet_core::descriptor::{SideEffects, Topic};
use agentnet_core::intent::IntentAnnouncement;
use agentnet_core::semantic::{HashedNgramEncoder, SemanticEncoder, TaggedSketch};
use agentnet_core::sim::{LinkModel, NodeId};
use agentnet_core::{AgentId, Now};
use agentnet_gossip::discover::announcement_text;
use agentnet_gossip::simhost::{SimNet, agent};
use agentnet_gossip::{Event, InterestProfile, Requirements};

const TOPIC: &str = "creative/image";
/// The intent interest threshold: the default n-gram encoder puts the provider that draws
/// from text prompts above it and the translator below it (checked in the test).
const THRESHOLD: f32 = 0.5;

fn topic() -> Topic {
    Topic::new(TOPIC).unwrap()
}

fn lan() -> LinkModel {
    LinkModel::uniform(Duration::from_millis(5), Duration::from_millis(20))
}

/// Four nodes, every pair linked, following no topic yet.
fn four_nodes(seed: u64) -> SimNet {
    let mut net = SimNet::builder(4)
        .degree(3)
        .seed(seed)
        .link(lan())
        .build()
        .unwrap();
    for a in 0..4 {
        for b in a + 1..4 {
            net.sim.connect(NodeId(a), NodeId(b));
        }
    }
    net
}

fn follow(net: &mut SimNet, n: NodeId) {
    net.sim
        .command(n, |e, now| e.subscribe(now, topic()).unwrap());
}

fn call_for_bids(requester: AgentId, now: Now) -> IntentAnnouncement {
    IntentAnnouncement {
        requester,
        nonce: 1,
        topic: topic(),
        summary: "generate an image from my text prompt".into(),
        tags: vec!["image".into()],
        max_side_effects: SideEffects::None,
        tier: 1,
        max_latency_ms: Some(30_000),
        budget_min: 10,
        budget_max: 1_000,
        bid_by: now.wall + Duration::from_secs(5),
        deadline: now.wall + Duration::from_secs(60),
        endpoints: vec![],
        issued_at: now.wall,
        ttl_ms: 30_000,
    }
}

/// The nodes that reported an intent event.
fn reported_intents(net: &SimNet) -> BTreeSet<NodeId> {
    net.events
        .iter()
        .filter_map(|(_, n, e)| matches!(e, Event::Intent(_)).then_some(*n))
        .collect()
}

#[test]
fn an_intent_reaches_interested_providers_only() {
    let enc = HashedNgramEncoder::default();
    let (requester, a, b, c) = (NodeId(0), NodeId(1), NodeId(2), NodeId(3));
    let drawer = "generate images from a text prompt";
    let translator = "translate legal documents into french";
    let mut net = four_nodes(3);
    follow(&mut net, a);
    follow(&mut net, b);
    for (n, text) in [(a, drawer), (b, translator)] {
        let p = InterestProfile::from_texts(&enc, &[text], THRESHOLD).with_topics(vec![topic()]);
        net.sim.command(n, |e, _| e.set_intent_interest(p));
    }
    net.run(Duration::from_secs(2));

    let now = net.sim.now();
    let i = call_for_bids(agent(requester), now);
    // The threshold separates the two providers for this encoder (the engine uses it too).
    let sk = |t: &str| TaggedSketch::new(&enc, &enc.encode(t));
    let is = sk(&announcement_text(&i));
    assert!(is.similarity(&sk(drawer)).unwrap() >= THRESHOLD);
    assert!(is.similarity(&sk(translator)).unwrap() < THRESHOLD);

    let (t, seq, id) = net
        .sim
        .command(requester, |e, now| e.publish_intent(now, i.clone()))
        .unwrap()
        .unwrap();
    assert_eq!(t, topic());
    net.run(Duration::from_secs(3));

    assert_eq!(reported_intents(&net), BTreeSet::from([a]));
    let got = net
        .events
        .iter()
        .find_map(|(_, n, e)| match e {
            Event::Intent(s) if *n == a => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(IntentAnnouncement::id_of(&got), id);
    assert_eq!(**got, i);
    // B holds the header but did not want, nor ask for, the body.
    let header_at = |n: NodeId| {
        net.events.iter().find_map(|(_, m, e)| match e {
            Event::Header {
                author,
                seq: s,
                wanted,
                ..
            } if *m == n && *author == agent(requester) && *s == seq => Some(*wanted),
            _ => None,
        })
    };
    assert_eq!(header_at(a), Some(true));
    assert_eq!(header_at(b), Some(false));
    let eb = net.sim.engine(b).unwrap();
    assert!(eb.header(&topic(), &agent(requester), seq).is_some());
    assert_eq!(eb.stats().bodies_requested, 0);
    // C follows nothing: it never even took the header.
    assert_eq!(header_at(c), None);
    assert_eq!(net.sim.engine(c).unwrap().header_count(), 0);
}

fn found(net: &SimNet, n: NodeId, who: AgentId) -> bool {
    let e = net.sim.engine(n).unwrap();
    e.discover(
        net.sim.now(),
        "generate images",
        &Requirements::default(),
        8,
    )
    .iter()
    .any(|c| c.descriptor.provider == who)
}

#[test]
fn a_busy_state_hides_a_provider_until_it_lapses() {
    let (provider, holder, other) = (NodeId(0), NodeId(1), NodeId(2));
    let mut net = four_nodes(4);
    follow(&mut net, holder);
    follow(&mut net, other);
    net.sim
        .command(holder, |e, _| e.set_interest(InterestProfile::everything()));
    net.run(Duration::from_secs(2));
    net.publish(
        provider,
        "image.generate",
        TOPIC,
        "generate images from a text prompt",
        Duration::from_secs(120),
    );
    net.run(Duration::from_secs(2));
    let p = agent(provider);
    assert!(found(&net, holder, p));

    let n = net
        .sim
        .command(provider, |e, now| e.publish_state(now, 9_500, false, 12))
        .unwrap()
        .unwrap();
    assert_eq!(n, 1);
    net.run(Duration::from_secs(1));
    let states: BTreeSet<NodeId> = net
        .events
        .iter()
        .filter_map(|(_, n, e)| match e {
            Event::ProviderState(s) if s.provider == p => Some(*n),
            _ => None,
        })
        .collect();
    assert_eq!(states, BTreeSet::from([holder]));
    let now = net.sim.now();
    let s = net
        .sim
        .engine(holder)
        .unwrap()
        .provider_state(now, &p)
        .cloned()
        .expect("live");
    assert!(!s.available && s.queued == 12);
    assert!(!found(&net, holder, p), "a busy provider is offered");
    // The node without the provider's descriptor saw the header and left the body alone.
    let eo = net.sim.engine(other).unwrap();
    assert!(eo.provider_state(now, &p).is_none());
    assert_eq!(eo.stats().bodies_requested, 0);

    // The provider says nothing more: after the TTL (5 s) the claim is gone everywhere.
    net.run(Duration::from_secs(5));
    let now = net.sim.now();
    let eh = net.sim.engine(holder).unwrap();
    assert!(eh.provider_state(now, &p).is_none());
    assert_eq!(eh.state_count(), 0, "pruned by the timer");
    assert!(found(&net, holder, p), "the provider is back");
}
