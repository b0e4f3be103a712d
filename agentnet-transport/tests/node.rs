//! Nodes over the in-memory transport: announce, discover, restart from a data directory.
#![cfg(feature = "runtime")]

use std::time::Duration;

use agentnet_core::Keypair;
use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_gossip::{Event as GossipEvent, InterestProfile, Requirements};
use agentnet_transport::host::Clock;
use agentnet_transport::{MemoryNetwork, Node, NodeConfig, NodeEvent, SystemClock};

fn descriptor(keys: &Keypair, cap: &str, topic: &str, summary: &str) -> CapabilityDescriptor {
    CapabilityDescriptor::builder(keys.id(), cap, topic, summary)
        .ttl(Duration::from_secs(600))
        .build(SystemClock::new().now())
        .unwrap()
}

async fn wait_for(node: &mut Node, what: &str, pred: impl Fn(&NodeEvent) -> bool) {
    let found = tokio::time::timeout(Duration::from_secs(15), async {
        while let Some(e) = node.next_event().await {
            if pred(&e) {
                return true;
            }
        }
        false
    })
    .await;
    assert_eq!(found, Ok(true), "waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announce_discover_and_restart_from_data_dirs() {
    let net = MemoryNetwork::new();
    let (ka, kb) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let topic = Topic::new("creative/image").unwrap();

    let start_a = |net: &MemoryNetwork| {
        let t = net.transport("a", ka.id()).unwrap();
        Node::builder()
            .identity(Keypair::from_seed([1; 32]))
            .data_dir(da.path())
            .transport(t)
            .seed([10; 32])
            .start()
    };
    let start_b = |net: &MemoryNetwork| {
        let t = net.transport("b", kb.id()).unwrap();
        Node::builder()
            .data_dir(db.path())
            .identity(Keypair::from_seed([2; 32]))
            .transport(t)
            .interest(InterestProfile::everything())
            .config(NodeConfig {
                bootstrap: vec!["a".into()],
                topics: vec![Topic::new("creative/image").unwrap()],
                ..NodeConfig::default()
            })
            .seed([11; 32])
            .start()
    };
    let a = start_a(&net).await.unwrap();
    let mut b = start_b(&net).await.unwrap();
    wait_for(
        &mut b,
        "link to a",
        |e| matches!(e, NodeEvent::LinkUp(l) if l.peer == ka.id()),
    )
    .await;
    // Give the mesh a moment to form (subscribe + graft), then announce.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (t, seq) = a
        .announce(descriptor(
            &ka,
            "image.generate",
            "creative/image",
            "Generate an image from a text prompt",
        ))
        .await
        .unwrap();
    assert_eq!((t, seq), (topic.clone(), 1));
    wait_for(
        &mut b,
        "a's descriptor",
        |e| matches!(e, NodeEvent::Gossip(GossipEvent::Descriptor(d)) if d.provider == ka.id()),
    )
    .await;
    let found = b
        .discover(
            "make a picture from a text prompt",
            Requirements::default(),
            3,
        )
        .await
        .unwrap();
    assert_eq!(found.first().map(|c| c.descriptor.provider), Some(ka.id()));
    let stats = b.stats().await.unwrap();
    assert!(
        stats
            .received
            .contains_key(&agentnet_core::wire::kinds::LOG_HEADER),
        "headers arrived: {stats:?}"
    );
    assert_eq!(stats.descriptors, 1);

    // Restart a from its directory without giving the identity: same id, and the log goes on
    // at seq 2 (never reusing 1).
    a.shutdown().await.unwrap();
    let t = net.transport("a", ka.id()).unwrap();
    let a = Node::builder()
        .data_dir(da.path())
        .transport(t)
        .start()
        .await
        .unwrap();
    assert_eq!(a.id(), ka.id());
    let (_, seq) = a
        .announce(descriptor(
            &ka,
            "image.upscale",
            "creative/image",
            "Upscale an image",
        ))
        .await
        .unwrap();
    assert_eq!(seq, 2, "the own log continues after a restart");

    // Restart b: what it had accepted is back before any link comes up.
    b.shutdown().await.unwrap();
    let b = start_b(&net).await.unwrap();
    let found = b
        .discover("generate an image", Requirements::default(), 3)
        .await
        .unwrap();
    assert!(
        found.iter().any(|c| c.descriptor.provider == ka.id()),
        "restored descriptor"
    );
    let stats = b.stats().await.unwrap();
    assert!(stats.headers >= 1, "restored header");

    // The directory is locked while its node runs.
    let t = net
        .transport("c", Keypair::from_seed([2; 32]).id())
        .unwrap();
    let busy = Node::builder()
        .data_dir(db.path())
        .transport(t)
        .start()
        .await;
    assert!(matches!(busy, Err(agentnet_transport::NodeError::Store(_))));
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    // A different identity for an existing directory is refused.
    let t = net
        .transport("d", Keypair::from_seed([3; 32]).id())
        .unwrap();
    let err = Node::builder()
        .data_dir(db.path())
        .identity(Keypair::from_seed([3; 32]))
        .transport(t)
        .start()
        .await;
    assert!(matches!(
        err,
        Err(agentnet_transport::NodeError::IdentityMismatch { .. })
    ));
}

/// Peers name topics for free: a node following its peers' topics follows at most
/// `max_peer_topics` of them, at most `max_peer_topics_per_link` per link, and its own
/// subscriptions and announcements still get room when the topic table is full.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_topics_are_bounded_and_yield_to_the_nodes_own() {
    let net = MemoryNetwork::new();
    let ka = Keypair::from_seed([21; 32]);
    let mut config = NodeConfig {
        follow_peer_topics: true,
        max_peer_topics: 3,
        max_peer_topics_per_link: 2,
        ..NodeConfig::default()
    };
    config.agent.gossip.max_topics = 4;
    let a = Node::builder()
        .ephemeral_identity(Keypair::from_seed([21; 32]))
        .transport(net.transport("a", ka.id()).unwrap())
        .config(config)
        .seed([21; 32])
        .start()
        .await
        .unwrap();
    // Two peers, each following six topics of its own.
    let mut peers = Vec::new();
    for (n, prefix) in [(22u8, "junk"), (23u8, "more")] {
        let k = Keypair::from_seed([n; 32]);
        let topics = (0..6)
            .map(|i| Topic::new(format!("{prefix}/t{i}")).unwrap())
            .collect();
        peers.push(
            Node::builder()
                .ephemeral_identity(Keypair::from_seed([n; 32]))
                .transport(net.transport(&format!("p{n}"), k.id()).unwrap())
                .config(NodeConfig {
                    bootstrap: vec!["a".into()],
                    topics,
                    ..NodeConfig::default()
                })
                .seed([n; 32])
                .start()
                .await
                .unwrap(),
        );
    }
    let followed = |list: &[(Topic, bool)]| list.iter().filter(|(_, p)| *p).count();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut list = a.topics().await.unwrap();
    while followed(&list) < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        list = a.topics().await.unwrap();
    }
    // Let any further SUBSCRIBE frames arrive: the caps must still hold.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let list = a.topics().await.unwrap();
    assert_eq!(followed(&list), 3, "{list:?}");
    for prefix in ["junk/", "more/"] {
        let from = list
            .iter()
            .filter(|(t, _)| t.as_str().starts_with(prefix))
            .count();
        assert!((1..=2).contains(&from), "{prefix}: {list:?}");
    }
    // The node's own topics get room in the full table (4 topics): peer topics make way.
    a.subscribe(Topic::new("mine/one").unwrap()).await.unwrap();
    a.announce(descriptor(&ka, "x.y", "mine/two", "my own capability"))
        .await
        .unwrap();
    let list = a.topics().await.unwrap();
    assert!(list.len() <= 4, "{list:?}");
    for own in ["mine/one", "mine/two"] {
        assert!(
            list.iter().any(|(t, p)| t.as_str() == own && !p),
            "{own}: {list:?}"
        );
    }
    assert_eq!(followed(&list), list.len() - 2);
    for p in peers {
        p.shutdown().await.unwrap();
    }
    a.shutdown().await.unwrap();
}

/// A fixed identity with a store that forgets everything would, once restarted, sign new
/// entries at seqs it already used: the node refuses to start that way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_identity_needs_a_durable_store() {
    let net = MemoryNetwork::new();
    let k = Keypair::from_seed([31; 32]);
    let r = Node::builder()
        .identity(Keypair::from_seed([31; 32]))
        .transport(net.transport("x", k.id()).unwrap())
        .start()
        .await;
    assert!(
        matches!(r, Err(agentnet_transport::NodeError::Config(ref m)) if m.contains("durable")),
        "{r:?}"
    );
    // Said explicitly, it starts.
    let n = Node::builder()
        .ephemeral_identity(Keypair::from_seed([31; 32]))
        .transport(net.transport("y", k.id()).unwrap())
        .start()
        .await
        .unwrap();
    assert_eq!(n.id(), k.id());
    n.shutdown().await.unwrap();
}

/// A peer whose link the gossip plane bans is cut off, and a reconnect from the same peer is
/// cut off too until the ban ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_peer_is_disconnected_and_stays_out() {
    use agentnet_transport::host::{Transport, TransportEvent};
    let net = MemoryNetwork::new();
    let ka = Keypair::from_seed([41; 32]);
    let mut a = Node::builder()
        .ephemeral_identity(Keypair::from_seed([41; 32]))
        .transport(net.transport("a", ka.id()).unwrap())
        .seed([41; 32])
        .start()
        .await
        .unwrap();
    let evil_id = Keypair::from_seed([42; 32]).id();
    let mut evil = net.transport("evil", evil_id).unwrap();
    evil.connect("a").unwrap();
    let link = loop {
        if let TransportEvent::LinkUp(l) = next_of(&mut evil).await {
            break l.link;
        }
    };
    // Malformed gossip frames until the gossip plane bans the link.
    for _ in 0..50 {
        let _ = evil.send(link, bytes::Bytes::from_static(&[1, 0x01, 0x01, 0xff]));
    }
    loop {
        match next_of(&mut evil).await {
            TransportEvent::LinkDown { link: l, .. } if l == link => break,
            _ => {}
        }
    }
    // Back under the same identity: closed at once.
    evil.connect("a").unwrap();
    let again = loop {
        if let TransportEvent::LinkUp(l) = next_of(&mut evil).await {
            break l.link;
        }
    };
    loop {
        match next_of(&mut evil).await {
            TransportEvent::LinkDown { link: l, .. } if l == again => break,
            _ => {}
        }
    }
    wait_for(
        &mut a,
        "the refusal",
        |e| matches!(e, NodeEvent::Refused { reason, .. } if reason.contains("banned")),
    )
    .await;
    assert!(a.peers().await.unwrap().is_empty());
    a.shutdown().await.unwrap();
}

async fn next_of(
    t: &mut agentnet_transport::MemoryTransport,
) -> agentnet_transport::host::TransportEvent {
    use agentnet_transport::host::Transport;
    tokio::time::timeout(Duration::from_secs(10), t.next_event())
        .await
        .expect("an event in time")
        .expect("open")
}

/// A store that counts its writes (for the batching test).
#[derive(Debug)]
struct CountingStore {
    inner: agentnet_transport::store::MemoryStore,
    writes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    records: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl agentnet_transport::store::Store for CountingStore {
    fn write(
        &mut self,
        batch: &[agentnet_transport::store::Write],
    ) -> Result<(), agentnet_transport::store::StoreError> {
        use std::sync::atomic::Ordering;
        self.writes.fetch_add(1, Ordering::Relaxed);
        self.records.fetch_add(batch.len(), Ordering::Relaxed);
        self.inner.write(batch)
    }
    fn load(
        &self,
    ) -> Result<agentnet_transport::store::Restored, agentnet_transport::store::StoreError> {
        self.inner.load()
    }
    fn prune(
        &mut self,
        now: agentnet_core::WallTime,
    ) -> Result<usize, agentnet_transport::store::StoreError> {
        self.inner.prune(now)
    }
    fn is_durable(&self) -> bool {
        false
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_flood_is_made_durable_in_batches_not_one_write_per_frame() {
    use agentnet_core::Signed;
    use agentnet_gossip::header::{EntryKind, LogHeader};
    use agentnet_transport::host::{Transport, TransportEvent};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let net = MemoryNetwork::new();
    let ka = Keypair::from_seed([51; 32]);
    let (writes, records) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut cfg = NodeConfig::default();
    cfg.agent.gossip.link_rate = 100_000;
    cfg.agent.gossip.link_burst = 100_000;
    let a = Node::builder()
        .transport(net.transport("a", ka.id()).unwrap())
        .ephemeral_identity(ka)
        .store(CountingStore {
            inner: agentnet_transport::store::MemoryStore::default(),
            writes: Arc::clone(&writes),
            records: Arc::clone(&records),
        })
        .config(cfg)
        .seed([51; 32])
        .start()
        .await
        .unwrap();
    let topic = Topic::new("creative/image").unwrap();
    a.subscribe(topic.clone()).await.unwrap();
    let mut flood = net
        .transport("flood", Keypair::from_seed([52; 32]).id())
        .unwrap();
    flood.connect("a").unwrap();
    let link = loop {
        if let TransportEvent::LinkUp(l) = next_of(&mut flood).await {
            break l.link;
        }
    };
    let now = SystemClock::new().now();
    const N: u32 = 2000;
    for i in 0..N {
        let mut seed = [9u8; 32];
        seed[..4].copy_from_slice(&i.to_be_bytes());
        let kp = Keypair::from_seed(seed);
        let h = LogHeader {
            author: kp.id(),
            topic: topic.clone(),
            seq: 1,
            prev: None,
            kind: EntryKind::DESCRIPTOR,
            body_hash: agentnet_gossip::wire::body_hash(b"flood"),
            body_len: 5,
            issued_at: now.wall,
            ttl_ms: 600_000,
            sketch: None,
        };
        flood
            .send(link, Signed::sign(&kp, h).unwrap().to_frame())
            .unwrap();
    }
    let before = writes.load(Ordering::Relaxed);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let held = a.stats().await.unwrap().headers;
        if held >= N as usize || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let held = a.stats().await.unwrap().headers;
    let w = writes.load(Ordering::Relaxed) - before;
    // Every header held was made durable (one record each, at least), in far fewer writes
    // than frames: before, each frame was its own durable write.
    assert!(held >= N as usize / 2, "{held} headers held");
    assert!(records.load(Ordering::Relaxed) >= held);
    assert!(w * 8 <= held, "{w} writes for {held} headers");
    a.shutdown().await.unwrap();
}

/// A bootstrap address given by host name (and the same peer under a second name) links
/// once and stays linked: the link is matched to the address as dialed, and an address whose
/// peer is linked is not dialed again (which would only ever be closed as a duplicate).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_host_name_links_once_and_is_not_redialed() {
    use agentnet_transport::tcp::TcpConfig;
    let tcp = || TcpConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..TcpConfig::default()
    };
    let a = Node::builder()
        .ephemeral_identity(Keypair::from_seed([21; 32]))
        .tcp(tcp())
        .seed([21; 32])
        .start()
        .await
        .unwrap();
    let port = a
        .local_addr()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let mut b = Node::builder()
        .ephemeral_identity(Keypair::from_seed([22; 32]))
        .tcp(tcp())
        .config(NodeConfig {
            bootstrap: vec![format!("localhost:{port}"), format!("127.0.0.1:{port}")],
            redial_initial: Duration::from_millis(50),
            redial_max: Duration::from_millis(100),
            ..NodeConfig::default()
        })
        .seed([22; 32])
        .start()
        .await
        .unwrap();
    wait_for(&mut b, "the link", |e| matches!(e, NodeEvent::LinkUp(_))).await;
    // Let the first dials settle (the second name's link is closed as a duplicate, later on
    // a loaded machine): wait for 500 ms without events, at most 5 s. A redial loop never
    // goes quiet. Then watch: no link comes or goes for 1.5 s.
    let settle = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < settle
        && let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(500), b.next_event()).await
    {
    }
    let mut changes = 0;
    let _ = tokio::time::timeout(Duration::from_millis(1500), async {
        while let Some(e) = b.next_event().await {
            if matches!(
                e,
                NodeEvent::LinkUp(_) | NodeEvent::LinkDown { .. } | NodeEvent::Refused { .. }
            ) {
                changes += 1;
            }
        }
    })
    .await;
    assert_eq!(changes, 0, "the bootstrap is being redialed");
    assert_eq!(b.peers().await.unwrap().len(), 1);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
