//! The whole funnel between Nodes over the in-memory transport: serve with an async handler,
//! request with canaries, a lying provider caught and the request falling back, stages
//! observed through the request handle, reputation queried afterwards.
#![cfg(feature = "runtime")]

use std::time::Duration;

use agentnet_core::Keypair;
use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_gossip::InterestProfile;
use agentnet_mech::mechanism::Tier;
use agentnet_transport::agent::{AgentConfig, CanaryCase, Executed, Stage, TaskRequest, Verdict};
use agentnet_transport::host::Clock;
use agentnet_transport::{MemoryNetwork, Node, NodeConfig, SystemClock};
use bytes::Bytes;

const TOPIC: &str = "text/style";

fn descriptor(keys: &Keypair, summary: &str) -> CapabilityDescriptor {
    CapabilityDescriptor::builder(keys.id(), "text.shout", TOPIC, summary)
        .ttl(Duration::from_secs(600))
        .build(SystemClock::new().now())
        .unwrap()
}

/// Agent settings without exploration, so which provider is tried first does not depend on
/// the order links came up in.
fn deterministic() -> AgentConfig {
    let mut a = AgentConfig::default();
    a.selection.exploration = 0.0;
    a
}

async fn node(net: &MemoryNetwork, name: &str, n: u8, bootstrap: Vec<String>) -> Node {
    let keys = Keypair::from_seed([n; 32]);
    let t = net.transport(name, keys.id()).unwrap();
    Node::builder()
        .ephemeral_identity(keys)
        .transport(t)
        .interest(InterestProfile::everything())
        .seed([n + 100; 32])
        .config(NodeConfig {
            agent: deterministic(),
            bootstrap,
            topics: vec![Topic::new(TOPIC).unwrap()],
            ..NodeConfig::default()
        })
        .start()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_and_serve_between_nodes_with_a_canary_fallback() {
    let net = MemoryNetwork::new();
    let liar = node(&net, "liar", 1, vec![]).await;
    let honest = node(&net, "honest", 2, vec!["liar".into()]).await;
    let client = node(&net, "client", 3, vec!["liar".into(), "honest".into()]).await;
    liar.serve(
        descriptor(
            &Keypair::from_seed([1; 32]),
            "Shout my text: the loudest text in capitals, instantly",
        ),
        |_task, _input| async move {
            Executed::Done {
                result: Bytes::from_static(b"nonsense"),
                tools: Vec::new(),
            }
        },
    )
    .await
    .unwrap();
    honest
        .serve(
            descriptor(&Keypair::from_seed([2; 32]), "Rewrite text in capitals"),
            |_task, input: Bytes| async move {
                Executed::Done {
                    result: Bytes::from(input.to_ascii_uppercase()),
                    tools: Vec::new(),
                }
            },
        )
        .await
        .unwrap();
    // Wait until both descriptors reached the client.
    let mut found = 0;
    for _ in 0..100 {
        found = client
            .discover("shout my text", Default::default(), 4)
            .await
            .unwrap()
            .len();
        if found == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found, 2, "both providers discovered");
    let task = TaskRequest::new("shout my text", Bytes::from_static(b"hello node"))
        .tier(Tier::Canary)
        .canaries(vec![CanaryCase::new(
            Bytes::from_static(b"canary"),
            Bytes::from_static(b"CANARY"),
        )]);
    let mut handle = client.start_request(task).await.unwrap();
    let mut stages = Vec::new();
    let collect = async {
        while let Some(s) = handle.next_stage().await {
            stages.push(s);
        }
        handle.outcome().await
    };
    let outcome = tokio::time::timeout(Duration::from_secs(60), collect)
        .await
        .expect("the request ends")
        .unwrap();
    assert_eq!(
        outcome.result.as_deref(),
        Ok(&b"HELLO NODE"[..]),
        "{outcome:?}"
    );
    assert_eq!(outcome.attempts[0].provider, liar.id());
    assert_eq!(outcome.attempts[0].verdict, Verdict::CanaryFailed);
    assert_eq!(outcome.provider, Some(honest.id()));
    assert!(
        stages
            .iter()
            .any(|s| matches!(s, Stage::Ranked(r) if r.len() == 2))
    );
    assert!(stages.iter().any(|s| matches!(s, Stage::Settled { .. })));
    let (score_liar, convicted) = client
        .reputation(liar.id(), Topic::new(TOPIC).unwrap())
        .await
        .unwrap();
    assert!(!convicted, "a failed canary is not a fraud proof");
    let (score_honest, _) = client
        .reputation(honest.id(), Topic::new(TOPIC).unwrap())
        .await
        .unwrap();
    // Reputation is recomputed on the trust interval; give it one.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let (later_honest, _) = client
        .reputation(honest.id(), Topic::new(TOPIC).unwrap())
        .await
        .unwrap();
    assert!(later_honest >= score_honest);
    assert!(later_honest > score_liar, "{later_honest} vs {score_liar}");
    let stats = client.stats().await.unwrap();
    assert!(stats.planes.execution.sent_frames > 0 && stats.planes.payload.sent_frames > 0);
    for n in [client, honest, liar] {
        n.shutdown().await.unwrap();
    }
}

/// A provider known only through a relay is dialed at its descriptor's endpoint and served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_found_through_a_relay_is_dialed_over_tcp() {
    use agentnet_transport::tcp::TcpConfig;
    async fn tcp_node(n: u8, bootstrap: Vec<String>) -> Node {
        Node::builder()
            .ephemeral_identity(Keypair::from_seed([n; 32]))
            .tcp(TcpConfig {
                listen: Some("127.0.0.1:0".parse().unwrap()),
                ..TcpConfig::default()
            })
            .interest(InterestProfile::everything())
            .seed([n + 100; 32])
            .config(NodeConfig {
                bootstrap,
                follow_peer_topics: true,
                ..NodeConfig::default()
            })
            .start()
            .await
            .unwrap()
    }
    let relay = tcp_node(11, vec![]).await;
    let relay_addr = relay.local_addr().unwrap().to_string();
    let provider = tcp_node(12, vec![relay_addr.clone()]).await;
    let client = tcp_node(13, vec![relay_addr]).await;
    provider
        .serve(
            descriptor(&Keypair::from_seed([12; 32]), "Rewrite text in capitals"),
            |_task, input: Bytes| async move {
                Executed::Done {
                    result: Bytes::from(input.to_ascii_uppercase()),
                    tools: Vec::new(),
                }
            },
        )
        .await
        .unwrap();
    for _ in 0..100 {
        if !client
            .discover("shout my text", Default::default(), 4)
            .await
            .unwrap()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let o = tokio::time::timeout(
        Duration::from_secs(30),
        client.request(
            TaskRequest::new("shout my text", Bytes::from_static(b"via relay"))
                .tier(Tier::Evidence),
        ),
    )
    .await
    .expect("ends")
    .unwrap();
    assert_eq!(o.result.as_deref(), Ok(&b"VIA RELAY"[..]), "{o:?}");
    assert_eq!(o.provider, Some(provider.id()));
    for n in [client, provider, relay] {
        n.shutdown().await.unwrap();
    }
}

/// A provider with a capacity states its load: while its only slot runs a task it says it is
/// unavailable, and a requester's discovery leaves it out; when the task ends it says it is
/// free again (load 0), and the requester finds it with that state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_provider_at_capacity_states_it_and_requesters_skip_it() {
    let net = MemoryNetwork::new();
    let keys = Keypair::from_seed([7; 32]);
    let provider = Node::builder()
        .ephemeral_identity(Keypair::from_seed([7; 32]))
        .transport(net.transport("busy", keys.id()).unwrap())
        .seed([107; 32])
        .config(NodeConfig {
            agent: deterministic(),
            topics: vec![Topic::new(TOPIC).unwrap()],
            capacity: Some(1),
            ..NodeConfig::default()
        })
        .start()
        .await
        .unwrap();
    let client = node(&net, "client", 8, vec!["busy".into()]).await;
    let release = std::sync::Arc::new(tokio::sync::Notify::new());
    let gate = release.clone();
    provider
        .serve(
            descriptor(&keys, "Rewrite text in capitals"),
            move |_task, input: Bytes| {
                let gate = gate.clone();
                async move {
                    gate.notified().await;
                    Executed::Done {
                        result: Bytes::from(input.to_ascii_uppercase()),
                        tools: Vec::new(),
                    }
                }
            },
        )
        .await
        .unwrap();
    let req = agentnet_gossip::Requirements::default();
    let find = || async {
        client
            .discover("rewrite my text in capitals", req.clone(), 4)
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.descriptor.provider == keys.id())
    };
    let mut found = None;
    for _ in 0..100 {
        found = find().await;
        if found.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(found.is_some(), "the descriptor arrives");
    let task = TaskRequest::new("rewrite my text in capitals", &b"abc"[..]).tier(Tier::Reputation);
    let running = tokio::spawn({
        let handle = client.start_request(task).await.unwrap();
        async move { handle.outcome().await }
    });
    // While the task runs, the provider says it is unavailable: discovery leaves it out.
    let mut hidden = false;
    for _ in 0..100 {
        if find().await.is_none() {
            hidden = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        hidden,
        "a provider at capacity is left out while it says so"
    );
    release.notify_one();
    let outcome = running.await.unwrap().unwrap();
    assert_eq!(outcome.result.as_deref(), Ok(&b"ABC"[..]), "{outcome:?}");
    // Free again (its next statement, after the gossip engine's minimum interval).
    let mut free = None;
    for _ in 0..100 {
        free = find().await.and_then(|c| c.state);
        if free.as_ref().is_some_and(|s| s.available) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let free = free.expect("a state is held");
    assert!(free.available && free.load_bp == 0, "{free:?}");
}
