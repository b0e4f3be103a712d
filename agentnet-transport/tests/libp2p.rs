//! The libp2p transport: links over TCP and QUIC, the identity check, topic discovery through
//! the DHT, relayed links, and five nodes that announce and discover over it.
#![cfg(feature = "libp2p")]

use std::time::Duration;

use agentnet_core::Keypair;
use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_gossip::{InterestProfile, Requirements};
use agentnet_transport::host::Clock;
use agentnet_transport::libp2p::{
    AGENTNET_PROTOCOL, Libp2pConfig, Libp2pTransport, libp2p_keypair, peer_id_of,
};
use agentnet_transport::{
    LinkDown, LinkInfo, Node, NodeConfig, SystemClock, Transport, TransportEvent,
};
use bytes::Bytes;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::Multiaddr;

const WAIT: Duration = Duration::from_secs(20);

fn kp(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn cfg(listen: &str) -> Libp2pConfig {
    Libp2pConfig {
        listen: vec![listen.parse().unwrap()],
        topic_refresh: Duration::from_secs(1),
        ..Libp2pConfig::default()
    }
}

async fn transport(n: u8, listen: &str) -> Libp2pTransport {
    Libp2pTransport::start(&kp(n), cfg(listen)).await.unwrap()
}

async fn next(t: &mut Libp2pTransport) -> TransportEvent {
    tokio::time::timeout(WAIT, t.next_event())
        .await
        .expect("an event in time")
        .expect("transport open")
}

/// The next event matching `pred`, skipping others.
async fn until<T>(
    t: &mut Libp2pTransport,
    what: &str,
    mut pred: impl FnMut(TransportEvent) -> Option<T>,
) -> T {
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match t.next_event().await {
                Some(ev) => {
                    if let Some(x) = pred(ev) {
                        return x;
                    }
                }
                None => panic!("transport closed while waiting for {what}"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("waiting for {what}"))
}

async fn link_up(t: &mut Libp2pTransport) -> LinkInfo {
    until(t, "link up", |ev| match ev {
        TransportEvent::LinkUp(info) => Some(info),
        _ => None,
    })
    .await
}

/// Dial `addr` until a link comes up (a relay reservation takes a moment to stand).
async fn dial_until_up(dialer: &mut Libp2pTransport, addr: &str, what: &str) -> LinkInfo {
    let up = tokio::time::timeout(WAIT, async {
        loop {
            dialer.connect(addr).unwrap();
            let ev = tokio::time::timeout(Duration::from_secs(2), dialer.next_event()).await;
            if let Ok(Some(TransportEvent::LinkUp(l))) = ev {
                return l;
            }
        }
    })
    .await;
    up.unwrap_or_else(|_| panic!("{what}"))
}

async fn frames_flow(a: &mut Libp2pTransport, b: &mut Libp2pTransport, listen: &str) {
    let addr = b.local_addr().unwrap();
    assert!(addr.contains("/p2p/"), "{addr} names the peer");
    a.connect(&addr).unwrap();
    let la = link_up(a).await;
    let lb = link_up(b).await;
    assert_eq!(la.peer, b.local_id());
    assert_eq!(lb.peer, a.local_id());
    assert!(la.outbound && !lb.outbound);
    assert_eq!(
        la.remote, addr,
        "the dialer reports the address it was given"
    );
    let big = Bytes::from(vec![7u8; a.config().max_frame]);
    for i in 0..200u32 {
        a.send(la.link, Bytes::from(i.to_be_bytes().to_vec()))
            .unwrap();
    }
    a.send_wait(la.link, big.clone()).await.unwrap();
    b.send(lb.link, Bytes::from_static(b"back")).unwrap();
    for i in 0..200u32 {
        match next(b).await {
            TransportEvent::Frame { link, frame } => {
                assert_eq!(link, lb.link);
                assert_eq!(&frame[..], &i.to_be_bytes(), "in order over {listen}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(matches!(next(b).await, TransportEvent::Frame { frame, .. } if frame == big));
    assert!(matches!(next(a).await, TransportEvent::Frame { frame, .. } if &frame[..] == b"back"));
    let too_big = Bytes::from(vec![0u8; a.config().max_frame + 1]);
    assert!(a.send(la.link, too_big).is_err());
    a.close(la.link);
    let down_a = until(a, "a's link down", |ev| match ev {
        TransportEvent::LinkDown { link, reason } => Some((link, reason)),
        _ => None,
    })
    .await;
    assert_eq!(down_a, (la.link, LinkDown::ClosedLocally));
    let down_b = until(b, "b's link down", |ev| match ev {
        TransportEvent::LinkDown { link, .. } => Some(link),
        _ => None,
    })
    .await;
    assert_eq!(down_b, lb.link);
    assert!(a.send(la.link, Bytes::from_static(b"late")).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_flow_in_order_over_tcp_and_quic() {
    for listen in ["/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"] {
        let mut a = transport(1, listen).await;
        let mut b = transport(2, listen).await;
        frames_flow(&mut a, &mut b, listen).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_connections_and_bad_addresses_are_refused() {
    let mut a = transport(1, "/ip4/127.0.0.1/tcp/0").await;
    assert!(a.connect("not an address").is_err());
    a.connect(&a.local_addr().unwrap()).unwrap();
    let refused = until(&mut a, "refusal", |ev| match ev {
        TransportEvent::Refused { reason, .. } => Some(reason),
        TransportEvent::LinkUp(l) => panic!("self link {l:?}"),
        _ => None,
    })
    .await;
    assert!(refused.contains("self"), "{refused}");
    // A wrong /p2p/ suffix: libp2p checks the key before anything else.
    let b = transport(2, "/ip4/127.0.0.1/tcp/0").await;
    let wrong = format!(
        "{}/p2p/{}",
        b.listen_addrs()[0],
        peer_id_of(&kp(9).id()).unwrap()
    );
    a.connect(&wrong).unwrap();
    until(&mut a, "refusal of the wrong key", |ev| match ev {
        TransportEvent::Refused { remote, .. } => (remote == wrong).then_some(()),
        TransportEvent::LinkUp(l) => panic!("linked to the wrong key {l:?}"),
        _ => None,
    })
    .await;
}

/// A libp2p peer that speaks the agentnet protocol but claims another agent than its key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_whose_key_does_not_match_the_agent_it_claims_is_refused() {
    let mut a = transport(1, "/ip4/127.0.0.1/tcp/0").await;
    let liar = kp(66);
    let claimed = kp(77).id();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(libp2p_keypair(&liar))
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default(),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| libp2p_stream::Behaviour::new())
        .unwrap()
        .build();
    let mut control = swarm.behaviour().new_control();
    let target: Multiaddr = a.local_addr().unwrap().parse().unwrap();
    swarm.dial(target).unwrap();
    tokio::spawn(async move {
        loop {
            swarm.select_next_some().await;
        }
    });
    let a_peer = peer_id_of(&a.local_id()).unwrap();
    let mut s = control
        .open_stream(a_peer, AGENTNET_PROTOCOL)
        .await
        .unwrap();
    let mut hello = b"agentnt1".to_vec();
    hello.extend_from_slice(claimed.as_bytes());
    s.write_all(&hello).await.unwrap();
    s.flush().await.unwrap();
    let reason = until(&mut a, "refusal", |ev| match ev {
        TransportEvent::Refused { reason, .. } => Some(reason),
        TransportEvent::LinkUp(l) => panic!("linked to a liar: {l:?}"),
        _ => None,
    })
    .await;
    assert!(reason.contains("claims agent"), "{reason}");
    // The stream is closed: nothing more arrives after a's own hello.
    let mut buf = vec![0u8; 64];
    let n = tokio::time::timeout(WAIT, s.read(&mut buf)).await.unwrap();
    assert!(matches!(n, Ok(0..=40) | Err(_)), "{n:?}");
    assert!(a.links().is_empty());
}

/// Four transports that know only a bootstrap node: the two that follow a topic find each
/// other through the DHT; the one that does not is not linked to them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_of_a_topic_find_each_other_through_the_dht() {
    let mut boot = transport(10, "/ip4/127.0.0.1/tcp/0").await;
    let boot_addr = boot.local_addr().unwrap();
    let mut ts = Vec::new();
    for n in 11..14 {
        let t = transport(n, "/ip4/127.0.0.1/tcp/0").await;
        t.connect(&boot_addr).unwrap();
        ts.push(t);
    }
    let topic = Topic::new("creative/image").unwrap();
    ts[0].set_topics(std::slice::from_ref(&topic));
    ts[2].set_topics(std::slice::from_ref(&topic));
    ts[1].set_topics(&[Topic::new("text/translate").unwrap()]);
    let want = ts[2].local_id();
    let (first, rest) = ts.split_at_mut(1);
    let found = until(
        &mut first[0],
        "a link to the other follower",
        |ev| match ev {
            TransportEvent::LinkUp(l) if l.peer == want => Some(l),
            _ => None,
        },
    )
    .await;
    assert!(!found.remote.is_empty());
    // The non-follower linked to the bootstrap node only.
    let boot_id = boot.local_id();
    let first = link_up(&mut rest[0]).await;
    assert_eq!(first.peer, boot_id);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut peers = vec![first.peer];
    let mut seen = Vec::new();
    while let Some(Some(ev)) = futures::FutureExt::now_or_never(rest[0].next_event()) {
        if let TransportEvent::LinkUp(l) = &ev {
            peers.push(l.peer);
        }
        seen.push(ev);
    }
    assert_eq!(peers, vec![boot_id], "only the bootstrap link: {seen:?}");
    let _ = link_up(&mut boot).await;
}

/// A node behind a relay: reachable through `<relay>/p2p-circuit/p2p/<id>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_listening_through_a_relay_is_reached_over_it() {
    let relay = Libp2pTransport::start(
        &kp(20),
        Libp2pConfig {
            relay_server: true,
            ..cfg("/ip4/127.0.0.1/tcp/0")
        },
    )
    .await
    .unwrap();
    let relay_addr: Multiaddr = relay.local_addr().unwrap().parse().unwrap();
    let mut hidden = Libp2pTransport::start(
        &kp(21),
        Libp2pConfig {
            listen: vec![],
            relays: vec![relay_addr.clone()],
            kad_server: false,
            ..Libp2pConfig::default()
        },
    )
    .await
    .unwrap();
    let mut dialer = transport(22, "/ip4/127.0.0.1/tcp/0").await;
    let circuit = format!(
        "{relay_addr}/p2p-circuit/p2p/{}",
        peer_id_of(&hidden.local_id()).unwrap()
    );
    let up = dial_until_up(&mut dialer, &circuit, "a link over the relay").await;
    assert_eq!(up.peer, hidden.local_id());
    let l = link_up(&mut hidden).await;
    assert_eq!(l.peer, dialer.local_id());
    assert!(!l.outbound);
    let _ = relay;
}

fn descriptor(keys: &Keypair, cap: &str, topic: &str, summary: &str) -> CapabilityDescriptor {
    CapabilityDescriptor::builder(keys.id(), cap, topic, summary)
        .ttl(Duration::from_secs(600))
        .build(SystemClock::new().now())
        .unwrap()
}

/// Five nodes over libp2p in one process, each given only the first one's address: a
/// descriptor announced by one is discovered by all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_over_libp2p_announce_and_discover() {
    let topic = Topic::new("creative/image").unwrap();
    let mut nodes = Vec::new();
    let mut first_addr = None;
    for n in 0..5u8 {
        let node = Node::builder()
            .ephemeral_identity(kp(30 + n))
            .libp2p(cfg("/ip4/127.0.0.1/tcp/0"))
            .interest(InterestProfile::everything())
            .seed([n; 32])
            .config(NodeConfig {
                bootstrap: first_addr.iter().cloned().collect(),
                topics: vec![topic.clone()],
                ..NodeConfig::default()
            })
            .start()
            .await
            .unwrap();
        first_addr.get_or_insert_with(|| node.local_addr().unwrap().to_string());
        nodes.push(node);
    }
    let provider = kp(34);
    tokio::time::sleep(Duration::from_secs(2)).await;
    nodes[4]
        .announce(descriptor(
            &provider,
            "image.generate",
            "creative/image",
            "Generate an image from a text prompt",
        ))
        .await
        .unwrap();
    for node in &mut nodes[..4] {
        let got = tokio::time::timeout(WAIT, async {
            loop {
                let found = node
                    .discover("generate an image", Requirements::default(), 3)
                    .await
                    .unwrap();
                if found.iter().any(|c| c.descriptor.provider == provider.id()) {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
        .await;
        assert!(got.is_ok(), "node {} discovered the descriptor", node.id());
    }
}

/// A link opened over a relay moves onto a direct connection once one exists, and frames
/// flow on the new link. On one machine the direct connection comes from DCUtR's hole punch
/// or from a plain dial to the addresses identify learned through the relay, whichever is
/// first; no real NAT is in the way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relayed_link_moves_to_a_direct_connection_once_one_exists() {
    let relay = Libp2pTransport::start(
        &kp(40),
        Libp2pConfig {
            relay_server: true,
            ..cfg("/ip4/127.0.0.1/tcp/0")
        },
    )
    .await
    .unwrap();
    let relay_addr: Multiaddr = relay.local_addr().unwrap().parse().unwrap();
    let mut hidden = Libp2pTransport::start(
        &kp(41),
        Libp2pConfig {
            relays: vec![relay_addr.clone()],
            ..cfg("/ip4/127.0.0.1/tcp/0")
        },
    )
    .await
    .unwrap();
    let mut dialer = transport(42, "/ip4/127.0.0.1/tcp/0").await;
    let circuit = format!(
        "{relay_addr}/p2p-circuit/p2p/{}",
        peer_id_of(&hidden.local_id()).unwrap()
    );
    let relayed = dial_until_up(&mut dialer, &circuit, "a link over the relay").await;
    assert!(relayed.remote.contains("p2p-circuit"), "{}", relayed.remote);
    let (down, direct) = {
        let mut down = None;
        let direct = until(&mut dialer, "a direct link", |ev| match ev {
            ev if {
                eprintln!("EV {ev:?}");
                false
            } =>
            {
                None
            }
            TransportEvent::LinkDown { link, reason } => {
                down = Some((link, reason));
                None
            }
            TransportEvent::LinkUp(l) => Some(l),
            _ => None,
        })
        .await;
        (down, direct)
    };
    assert_eq!(down, Some((relayed.link, LinkDown::Duplicate)));
    assert_eq!(direct.peer, hidden.local_id());
    assert!(!direct.remote.contains("p2p-circuit"), "{}", direct.remote);
    dialer
        .send(direct.link, Bytes::from_static(b"direct"))
        .unwrap();
    until(
        &mut hidden,
        "the frame over the direct link",
        |ev| match ev {
            TransportEvent::Frame { frame, .. } => (&frame[..] == b"direct").then_some(()),
            _ => None,
        },
    )
    .await;
    let _ = relay;
}

/// A provider behind a NAT (it listens nowhere; it is reachable only through a relay): its
/// descriptor carries its relay circuit address, and a requester that knows only the relay
/// hires it through the whole funnel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_reachable_only_through_a_relay_is_hired() {
    use agentnet_transport::agent::{Executed, TaskRequest};
    let topic = Topic::new("text/style").unwrap();
    let start = |n: u8, cfg: Libp2pConfig, bootstrap: Vec<String>| {
        let topic = topic.clone();
        async move {
            Node::builder()
                .ephemeral_identity(kp(n))
                .libp2p(cfg)
                .interest(InterestProfile::everything())
                .seed([n; 32])
                .config(NodeConfig {
                    bootstrap,
                    topics: vec![topic],
                    // A circuit through a relay on a loaded machine can take seconds.
                    dial_wait: Duration::from_secs(15),
                    ..NodeConfig::default()
                })
                .start()
                .await
                .unwrap()
        }
    };
    let relay = start(
        50,
        Libp2pConfig {
            relay_server: true,
            ..cfg("/ip4/127.0.0.1/tcp/0")
        },
        vec![],
    )
    .await;
    let relay_addr = relay.local_addr().unwrap().to_string();
    let hidden_cfg = Libp2pConfig {
        listen: vec![],
        relays: vec![relay_addr.parse().unwrap()],
        kad_server: false,
        ..Libp2pConfig::default()
    };
    let provider = start(51, hidden_cfg, vec![relay_addr.clone()]).await;
    let circuit = provider.local_addr().unwrap().to_string();
    assert!(circuit.contains("/p2p-circuit/"), "{circuit}");
    let client = start(52, cfg("/ip4/127.0.0.1/tcp/0"), vec![relay_addr]).await;
    provider
        .serve(
            CapabilityDescriptor::builder(
                provider.id(),
                "text.shout",
                "text/style",
                "Rewrite text in capitals",
            )
            .ttl(Duration::from_secs(600))
            .build(SystemClock::new().now())
            .unwrap(),
            |_task, input: Bytes| async move {
                Executed::Done {
                    result: Bytes::from(input.to_ascii_uppercase()),
                    tools: Vec::new(),
                }
            },
        )
        .await
        .unwrap();
    let found = tokio::time::timeout(WAIT, async {
        loop {
            let found = client
                .discover("capitals", Requirements::default(), 3)
                .await
                .unwrap();
            if let Some(c) = found
                .into_iter()
                .find(|c| c.descriptor.provider == provider.id())
            {
                return c;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the provider's descriptor reaches the client");
    assert_eq!(found.descriptor.endpoints, vec![circuit]);
    let task = TaskRequest::new("rewrite in capitals", Bytes::from_static(b"behind a nat"));
    let outcome = tokio::time::timeout(WAIT, client.request(task))
        .await
        .expect("the request ends")
        .unwrap();
    assert_eq!(
        outcome.result.as_deref(),
        Ok(&b"BEHIND A NAT"[..]),
        "{outcome:?}"
    );
    assert_eq!(outcome.provider, Some(provider.id()));
}

/// A relay that is not up when the node starts: the refused reservation is asked for again
/// (with backoff) until the relay serves, and the node becomes reachable through it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_relay_reservation_is_asked_for_again() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let relay_addr: Multiaddr = format!(
        "/ip4/127.0.0.1/tcp/{port}/p2p/{}",
        peer_id_of(&kp(60).id()).unwrap()
    )
    .parse()
    .unwrap();
    let hidden = Libp2pTransport::start(
        &kp(61),
        Libp2pConfig {
            relays: vec![relay_addr.clone()],
            kad_server: false,
            ..Libp2pConfig::default()
        },
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let relay = Libp2pTransport::start(
        &kp(60),
        Libp2pConfig {
            relay_server: true,
            ..cfg(&format!("/ip4/127.0.0.1/tcp/{port}"))
        },
    )
    .await
    .unwrap();
    let mut dialer = transport(62, "/ip4/127.0.0.1/tcp/0").await;
    let circuit = hidden.local_addr().unwrap();
    assert!(circuit.starts_with(&relay_addr.to_string()), "{circuit}");
    let up = dial_until_up(
        &mut dialer,
        &circuit,
        "a link over the relay once it serves",
    )
    .await;
    assert_eq!(up.peer, hidden.local_id());
    drop(relay);
}

/// Free keys cannot hold the inbound link slots: when they are full, a newcomer takes the
/// place of the youngest link (the TCP transport's eviction rule), it is not refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_link_table_makes_room_for_a_newcomer() {
    let mut hub = Libp2pTransport::start(
        &kp(70),
        Libp2pConfig {
            max_links: 3,
            outbound_reserved: 0,
            ..cfg("/ip4/127.0.0.1/tcp/0")
        },
    )
    .await
    .unwrap();
    let addr = hub.local_addr().unwrap();
    let mut spokes = Vec::new();
    let mut ups = Vec::new();
    for n in 71..74u8 {
        let mut t = transport(n, "/ip4/127.0.0.1/tcp/0").await;
        t.connect(&addr).unwrap();
        link_up(&mut t).await;
        ups.push(link_up(&mut hub).await);
        spokes.push(t);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut newcomer = transport(74, "/ip4/127.0.0.1/tcp/0").await;
    newcomer.connect(&addr).unwrap();
    let up = link_up(&mut newcomer).await;
    assert_eq!(up.peer, hub.local_id());
    let (mut evicted, mut came) = (None, None);
    while evicted.is_none() || came.is_none() {
        match next(&mut hub).await {
            TransportEvent::LinkDown { link, reason } => {
                assert_eq!(reason, LinkDown::Evicted);
                evicted = Some(link);
            }
            TransportEvent::LinkUp(l) => came = Some(l.peer),
            _ => {}
        }
    }
    assert_eq!(came, Some(newcomer.local_id()));
    // The youngest of the three gave way; the two elders stay.
    assert_eq!(evicted, Some(ups[2].link));
    assert_eq!(hub.links().len(), 3);
}
