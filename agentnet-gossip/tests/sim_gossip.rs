//! Multi-node simulations of the production gossip engine on `agentnet_core::sim`.

use std::time::Duration;

use agentnet_core::descriptor::Topic;
use agentnet_core::sim::{LinkModel, NodeId};
use agentnet_gossip::simhost::{SimNet, agent};

/// `n` nodes, each linking to `degree` random others, all following `topics`.
fn network(n: u32, degree: u32, seed: u64, link: LinkModel, topics: &[&str]) -> SimNet {
    SimNet::builder(n)
        .degree(degree)
        .seed(seed)
        .link(link)
        .topics(topics)
        .build()
        .unwrap()
}

fn topic(s: &str) -> Topic {
    Topic::new(s).unwrap()
}

#[test]
fn headers_cover_every_node_with_loss() {
    let link =
        LinkModel::uniform(Duration::from_millis(20), Duration::from_millis(150)).with_loss(0.05);
    let mut net = network(60, 4, 7, link, &["creative/image"]);
    net.run(Duration::from_secs(3));
    let t = topic("creative/image");
    let authors: Vec<NodeId> = (0..10).map(|i| NodeId(i * 6)).collect();
    for (i, a) in authors.iter().enumerate() {
        net.publish(
            *a,
            &format!("cap.n{i}"),
            "creative/image",
            "generate images from text",
            Duration::from_secs(60),
        );
    }
    net.run(Duration::from_secs(10));
    for a in &authors {
        let h = net.holders(&t, &agent(*a), 1);
        assert_eq!(
            h.len(),
            60,
            "author {a:?}: {} of 60 hold the header",
            h.len()
        );
    }
}

use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::sim::ChurnConfig;
use agentnet_gossip::{Event, GossipConfig, InterestProfile, Requirements};

fn lan() -> LinkModel {
    LinkModel::uniform(Duration::from_millis(20), Duration::from_millis(150))
}

#[test]
fn partition_heals_by_anti_entropy() {
    let mut net = network(40, 4, 11, lan(), &["t/a"]);
    net.run(Duration::from_secs(3));
    let left: Vec<NodeId> = (0..20).map(NodeId).collect();
    let right: Vec<NodeId> = (20..40).map(NodeId).collect();
    net.sim.partition(&[&left, &right]);
    net.publish(
        NodeId(1),
        "cap.left",
        "t/a",
        "left side capability",
        Duration::from_secs(120),
    );
    net.publish(
        NodeId(30),
        "cap.right",
        "t/a",
        "right side capability",
        Duration::from_secs(120),
    );
    net.run(Duration::from_secs(5));
    let t = topic("t/a");
    let l = net.holders(&t, &agent(NodeId(1)), 1);
    assert!(l.iter().all(|n| n.0 < 20), "the partition holds");
    assert_eq!(l.len(), 20, "left side got the left header");
    net.sim.heal();
    // Nothing new is published: only anti-entropy can carry the headers across.
    net.run(Duration::from_secs(15));
    assert_eq!(net.holders(&t, &agent(NodeId(1)), 1).len(), 40);
    assert_eq!(net.holders(&t, &agent(NodeId(30)), 1).len(), 40);
}

#[test]
fn coverage_under_twenty_percent_churn() {
    let mut net = network(50, 5, 21, lan(), &["t/churn"]);
    net.run(Duration::from_secs(3));
    let churning = net
        .sim
        .start_churn(ChurnConfig {
            fraction: 0.2,
            mean_up: Duration::from_secs(6),
            mean_down: Duration::from_secs(3),
        })
        .unwrap();
    assert_eq!(churning, 10);
    // Authors publish while nodes come and go (an author that is down skips its turn).
    let mut published = Vec::new();
    for round in 0..6u64 {
        for a in [3u32, 17, 29, 41] {
            let node = NodeId(a);
            if net.sim.is_up(node) {
                net.publish(
                    node,
                    &format!("cap.r{round}"),
                    "t/churn",
                    "churn test capability",
                    Duration::from_secs(120),
                );
                published.push(node);
            }
        }
        net.run(Duration::from_secs(2));
    }
    net.sim.stop_churn();
    for n in net.sim.node_ids().collect::<Vec<_>>() {
        if !net.sim.is_up(n) {
            net.sim.restart(n).unwrap();
        }
    }
    net.run(Duration::from_secs(12));
    let t = topic("t/churn");
    assert!(!published.is_empty());
    for a in [3u32, 17, 29, 41] {
        let id = agent(NodeId(a));
        let head = net.sim.engine(NodeId(a)).unwrap().head_seq(&t, &id);
        if head == 0 {
            continue;
        }
        for seq in 1..=head {
            let h = net.holders(&t, &id, seq);
            if h.len() != 50 {
                for n in net.sim.node_ids() {
                    if !h.contains(&n) {
                        let e = net.sim.engine(n).unwrap();
                        eprintln!(
                            "missing at {n:?} up={} inc={:?} head={} mesh={:?} {:?}",
                            net.sim.is_up(n),
                            net.sim.incarnation(n),
                            e.head_seq(&t, &id),
                            e.mesh(&t),
                            e
                        );
                    }
                }
            }
            assert_eq!(h.len(), 50, "author {a} seq {seq}: {} of 50", h.len());
        }
    }
}

#[test]
fn only_interested_nodes_pull_bodies() {
    let mut net = network(30, 4, 5, lan(), &["creative/image"]);
    let enc = HashedNgramEncoder::default();
    let interested: Vec<NodeId> = (0..30).filter(|i| i % 3 == 0).map(NodeId).collect();
    for n in &interested {
        let p = InterestProfile::from_texts(&enc, &["generate images from a text prompt"], 0.5);
        net.sim.command(*n, |e, _| e.set_interest(p));
    }
    net.run(Duration::from_secs(3));
    let provider = NodeId(1);
    net.publish(
        provider,
        "image.generate",
        "creative/image",
        "generate images from a text prompt",
        Duration::from_secs(60),
    );
    net.publish(
        NodeId(2),
        "audio.mix",
        "creative/image",
        "mix multitrack audio stems",
        Duration::from_secs(60),
    );
    net.run(Duration::from_secs(6));
    let got: std::collections::BTreeSet<NodeId> = net
        .events
        .iter()
        .filter_map(|(_, n, e)| match e {
            Event::Descriptor(d) if d.provider == agent(provider) => Some(*n),
            _ => None,
        })
        .collect();
    let want: std::collections::BTreeSet<NodeId> = interested
        .iter()
        .copied()
        .filter(|n| *n != provider)
        .collect();
    assert_eq!(got, want, "exactly the interested nodes pulled the body");
    for n in net.sim.node_ids() {
        let e = net.sim.engine(n).unwrap();
        if want.contains(&n) {
            let c = e.discover(
                net.sim.now(),
                "text to image generation",
                &Default::default(),
                3,
            );
            assert_eq!(
                c.first().map(|c| c.descriptor.provider),
                Some(agent(provider))
            );
            // The unrelated descriptor was never pulled.
            assert!(e.index().iter().all(|d| d.provider == agent(provider)));
        } else if n != provider {
            assert!(
                e.index().is_empty(),
                "{n:?} is not interested but holds bodies"
            );
        }
    }
}

#[test]
fn equivocation_is_proven_and_reaches_every_honest_node() {
    let mut net = network(30, 4, 9, lan(), &["t/eq"]);
    net.run(Duration::from_secs(3));
    let bad = NodeId(4);
    net.publish(
        bad,
        "cap.one",
        "t/eq",
        "first version",
        Duration::from_secs(120),
    );
    net.run(Duration::from_secs(3));
    // The node loses its disk and restarts: it publishes seq 1 again with other content.
    net.sim.crash(bad).unwrap();
    net.store_mut().wipe(bad);
    net.sim.restart(bad).unwrap();
    net.run(Duration::from_millis(200));
    net.publish(
        bad,
        "cap.one",
        "t/eq",
        "second version, different bytes",
        Duration::from_secs(120),
    );
    net.run(Duration::from_secs(8));
    let t = topic("t/eq");
    let who = agent(bad);
    let mut proven = std::collections::BTreeSet::new();
    for (_, n, e) in &net.events {
        if let Event::Equivocation { what, proof } = e {
            assert_eq!((what.author, what.seq), (who, 1));
            assert!(proof.verify(&Default::default()).is_ok());
            proven.insert(*n);
        }
    }
    for n in net.sim.node_ids().filter(|n| *n != bad) {
        assert!(
            net.sim.engine(n).unwrap().is_equivocator(&t, &who),
            "{n:?} does not know"
        );
        assert!(proven.contains(&n), "{n:?} got no event");
    }
}

/// Twenty nodes (degree 4, seed `seed`) following `topic`, every one pulling every body,
/// after two seconds to form the mesh.
fn pulling_net(seed: u64, topic: &str) -> SimNet {
    let mut net = network(20, 4, seed, lan(), &[topic]);
    for n in 0..20 {
        net.sim.command(NodeId(n), |e, _| {
            e.set_interest(InterestProfile::everything())
        });
    }
    net.run(Duration::from_secs(2));
    net
}

#[test]
fn expired_descriptors_vanish_everywhere() {
    let mut net = pulling_net(3, "t/exp");
    net.publish(
        NodeId(7),
        "cap.short",
        "t/exp",
        "short lived",
        Duration::from_secs(4),
    );
    net.run(Duration::from_secs(2));
    let t = topic("t/exp");
    let id = agent(NodeId(7));
    assert_eq!(net.holders(&t, &id, 1).len(), 20);
    let indexed = net
        .sim
        .node_ids()
        .filter(|n| !net.sim.engine(*n).unwrap().index().is_empty())
        .count();
    assert_eq!(indexed, 19);
    net.sim
        .command(NodeId(7), |e, _| assert!(e.withdraw("cap.short")));
    net.run(Duration::from_secs(5));
    for n in net.sim.node_ids() {
        let e = net.sim.engine(n).unwrap();
        assert!(
            e.header(&t, &id, 1).is_none(),
            "{n:?} still holds the header"
        );
        assert!(e.index().is_empty(), "{n:?} still indexes the descriptor");
        // The head survives pruning, so ordering is kept.
        assert_eq!(e.head_seq(&t, &id), 1);
    }
}

#[test]
fn restarted_node_keeps_its_log_and_does_not_equivocate() {
    let mut net = network(20, 4, 13, lan(), &["t/restart"]);
    net.run(Duration::from_secs(2));
    let a = NodeId(5);
    for i in 0..3 {
        net.publish(
            a,
            &format!("cap.v{i}"),
            "t/restart",
            "restart test",
            Duration::from_secs(120),
        );
        net.run(Duration::from_millis(500));
    }
    net.run(Duration::from_secs(2));
    net.sim.crash(a).unwrap();
    net.run(Duration::from_secs(1));
    net.sim.restart(a).unwrap();
    net.run(Duration::from_millis(300));
    let t = topic("t/restart");
    assert_eq!(net.sim.engine(a).unwrap().head_seq(&t, &agent(a)), 3);
    net.publish(
        a,
        "cap.after",
        "t/restart",
        "published after restart",
        Duration::from_secs(120),
    );
    net.run(Duration::from_secs(4));
    assert_eq!(net.holders(&t, &agent(a), 4).len(), 20);
    assert!(
        !net.events
            .iter()
            .any(|(_, _, e)| matches!(e, Event::Equivocation { .. }))
    );
    let h4 = net
        .sim
        .engine(NodeId(0))
        .unwrap()
        .header(&t, &agent(a), 4)
        .unwrap()
        .clone();
    let h3 = net
        .sim
        .engine(NodeId(0))
        .unwrap()
        .header(&t, &agent(a), 3)
        .unwrap()
        .clone();
    assert_eq!(h4.prev, Some(h3.hash()));
}

#[test]
fn same_seed_same_trace() {
    let run = |seed| {
        let mut net = network(15, 3, seed, lan().with_loss(0.02), &["t/det"]);
        net.run(Duration::from_secs(1));
        net.publish(
            NodeId(2),
            "cap.det",
            "t/det",
            "determinism",
            Duration::from_secs(30),
        );
        net.run(Duration::from_secs(3));
        net.sim.trace_hash()
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

/// Header frames delivered so far, duplicates and repairs included.
fn header_frames(net: &SimNet) -> u64 {
    net.sim
        .metrics()
        .by_kind
        .get(&agentnet_gossip::header::HEADER_KIND.0)
        .map_or(0, |k| k.delivered)
}

#[test]
fn each_author_converges_on_its_own_push_tree() {
    let mut net = network(60, 5, 33, lan(), &["t/tree"]);
    net.run(Duration::from_secs(4));
    let authors = [2u32, 19, 37, 55];
    let mut per_round = Vec::new();
    for round in 0..3u64 {
        let before = header_frames(&net);
        for a in authors {
            net.publish(
                NodeId(a),
                &format!("cap.a{a}"),
                "t/tree",
                &format!("tree test capability {round}"),
                Duration::from_secs(120),
            );
        }
        net.run(Duration::from_secs(3));
        let copies = (header_frames(&net) - before) as f64 / (60.0 * authors.len() as f64);
        per_round.push(copies);
        for a in authors {
            let holders = net.holders(&topic("t/tree"), &agent(NodeId(a)), round + 1);
            assert_eq!(holders.len(), 60, "round {round}, author {a}");
        }
    }
    // The first header of each author floods the mesh; its duplicates choke every edge that
    // was not on a first-arrival path, for that author only.
    assert!(per_round[0] > 2.0, "first round floods: {per_round:?}");
    // Later headers travel down the trees: about one copy per node.
    assert!(per_round[1] <= 1.3, "second round: {per_round:?}");
    assert!(per_round[2] <= 1.3, "third round: {per_round:?}");
    // The trees differ between authors: some node pushes one author's headers on a link
    // that another author's tree does not use.
    let t = topic("t/tree");
    let differs = net.sim.node_ids().any(|n| {
        net.sim.engine(n).is_some_and(|e| {
            let first = e.eager_for(&t, &agent(NodeId(authors[0])));
            authors[1..]
                .iter()
                .any(|a| e.eager_for(&t, &agent(NodeId(*a))) != first)
        })
    });
    assert!(differs, "one tree per author");
}

#[test]
fn a_retraction_ends_a_descriptor_everywhere_and_replays_are_refused() {
    let mut net = pulling_net(5, "t/ret");
    net.publish(
        NodeId(7),
        "cap.gone",
        "t/ret",
        "translate legal contracts",
        Duration::from_secs(600),
    );
    net.run(Duration::from_secs(2));
    let id = agent(NodeId(7));
    let found = |net: &SimNet, n: NodeId| {
        let e = net.sim.engine(n).unwrap();
        e.discover(
            net.sim.now(),
            "translate legal contracts",
            &Requirements::default(),
            8,
        )
        .into_iter()
        .any(|c| c.descriptor.provider == id)
    };
    assert!(found(&net, NodeId(3)));
    // What a replayer would hold: the signed descriptor as it travelled.
    let old = net
        .sim
        .engine(NodeId(3))
        .unwrap()
        .index()
        .get(&id, "cap.gone")
        .expect("indexed")
        .to_frame();
    net.sim.command(NodeId(7), |e, now| {
        assert!(e.retract(now, "cap.gone").unwrap().is_some());
    });
    net.run(Duration::from_secs(2));
    for n in net.sim.node_ids().filter(|n| *n != NodeId(7)) {
        assert!(
            !found(&net, n),
            "{n:?} still offers the retracted capability"
        );
        let e = net.sim.engine(n).unwrap();
        assert!(
            e.index().get(&id, "cap.gone").is_some_and(|d| d.retracted),
            "{n:?} holds the retraction"
        );
    }
    // Replaying the old descriptor changes nothing: the retraction is newer.
    let restored = net
        .sim
        .command(NodeId(3), |e, now| e.restore_descriptors(now, [old]))
        .unwrap();
    assert_eq!(restored, 0);
    assert!(!found(&net, NodeId(3)));
}

/// Two nodes on one lossy link (`seed`), node 1 pulling every body, node 0 publishing one
/// descriptor, with `body_retries` rounds of body retries: whether node 1 got the body within
/// 20 s, and how many body requests went out.
fn pull_over_a_lossy_link(seed: u64, body_retries: u8) -> (bool, u64) {
    let mut net = SimNet::builder(2)
        .degree(1)
        .seed(seed)
        .link(lan().with_loss(0.4))
        .topics(["t/lossy"])
        .config(move |c| c.body_retries = body_retries)
        .build()
        .unwrap();
    net.sim.command(NodeId(1), |e, _| {
        e.set_interest(InterestProfile::everything())
    });
    net.run(Duration::from_secs(2));
    net.publish(
        NodeId(0),
        "cap.lossy",
        "t/lossy",
        "served over a lossy link",
        Duration::from_secs(600),
    );
    net.run(Duration::from_secs(20));
    let got = net.events.iter().any(|(_, n, e)| {
        *n == NodeId(1) && matches!(e, Event::Descriptor(d) if d.provider == agent(NodeId(0)))
    });
    let asked = net
        .sim
        .metrics()
        .by_kind
        .get(&agentnet_gossip::wire::kind::BODY_REQUEST.0)
        .map_or(0, |k| k.sent);
    (got, asked)
}

/// A seed for which [`pull_over_a_lossy_link`] loses the first body request or its answer
/// (found by trying seeds; the test checks it still does).
const SEED_LOSING_THE_FIRST_BODY_REQUEST: u64 = 2;

#[test]
fn a_body_lost_on_the_only_link_is_fetched_by_retrying() {
    // Node 1 has a single peer, so the first round of a body fetch has one candidate. For
    // this seed the first request (or its answer) is lost: without retries the body is never
    // fetched (the descriptor is not announced again for minutes) ...
    let seed = SEED_LOSING_THE_FIRST_BODY_REQUEST;
    let (got, asked) = pull_over_a_lossy_link(seed, 0);
    assert!(!got, "seed {seed} must lose the first round");
    assert_eq!(asked, 1);
    // ... and with retries the same peer is asked again and the body arrives.
    let (got, asked) = pull_over_a_lossy_link(seed, GossipConfig::default().body_retries);
    assert!(got, "the body arrives after a retry");
    assert!(asked >= 2, "{asked} body requests");
}
