//! Embeddings from a model server: `OpenAiEmbeddings` against a local stand-in that speaks
//! the OpenAI-compatible `/v1/embeddings` protocol, and nodes that discover by its vectors.
#![cfg(feature = "openai")]

use std::sync::Arc;
use std::time::Duration;

use agentnet_core::Keypair;
use agentnet_core::descriptor::CapabilityDescriptor;
use agentnet_core::semantic::RemoteEncoderLimits;
use agentnet_gossip::{Event as GossipEvent, InterestProfile, Requirements};
use agentnet_transport::host::Clock;
use agentnet_transport::llm::OpenAiEmbeddings;
use agentnet_transport::{
    Embedder, LlmError, MemoryNetwork, Node, NodeConfig, NodeEvent, SystemClock,
};
use serde_json::{Value, json};

mod http_mock;
use http_mock::{Mock, Reply, Seen, http};

/// Words standing for the same thing, one group per concept: the stand-in model knows that
/// "draw" and "picture" are about images, which a lexical encoder cannot.
const CONCEPTS: &[&[&str]] = &[
    &[
        "image",
        "picture",
        "draw",
        "photo",
        "illustration",
        "paint",
        "sketch",
    ],
    &[
        "translate",
        "translation",
        "french",
        "spanish",
        "language",
        "languages",
    ],
    &[
        "code", "review", "bug", "bugs", "rust", "software", "security",
    ],
    &["audio", "speech", "transcribe", "voice", "recording"],
];
const DIM: usize = 16;

/// The stand-in model: one component per concept, the other words hashed (weakly) into the
/// remaining ones.
fn concept_vector(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIM];
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let w = w.to_lowercase();
        match CONCEPTS.iter().position(|c| c.contains(&w.as_str())) {
            Some(c) => v[c] += 1.0,
            None => {
                let h = w
                    .bytes()
                    .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
                v[CONCEPTS.len() + (h as usize % (DIM - CONCEPTS.len()))] += 0.2;
            }
        }
    }
    v
}

/// An `/embeddings` answer for the request's `input`, computed by [`concept_vector`].
fn concept_server(seen: &Seen) -> Vec<u8> {
    let req = seen.json();
    let data: Vec<Value> = req["input"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"object": "embedding", "index": i, "embedding": concept_vector(t.as_str().unwrap_or(""))}))
        .collect();
    let body = json!({"object": "list", "model": req["model"], "data": data}).to_string();
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn embeddings(mock: &Mock, dim: usize) -> OpenAiEmbeddings {
    OpenAiEmbeddings::new(mock.config(), dim).unwrap()
}

fn texts(t: &[&str]) -> Vec<String> {
    t.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn a_batch_is_sent_as_one_request_and_answered_in_index_order() {
    let answer = json!({"data": [
        {"index": 1, "embedding": vec![2.0; 16]},
        {"index": 0, "embedding": vec![1.0; 16]},
    ]});
    let mock = Mock::start(vec![http(200, "", &answer.to_string())]).await;
    let e = embeddings(&mock, 16);
    assert_eq!(e.id(), "openai-compatible:test-model:16");
    assert_eq!(e.endpoint(), format!("{}/embeddings", mock.base_url()));
    let v = e
        .embed(&texts(&["first", "second"]), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(v, vec![vec![1.0; 16], vec![2.0; 16]]);
    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].method.as_str(), seen[0].path.as_str()),
        ("POST", "/v1/embeddings")
    );
    assert_eq!(
        seen[0].json(),
        json!({"model": "test-model", "input": ["first", "second"], "encoding_format": "float"})
    );
}

#[tokio::test]
async fn probe_learns_the_dimension() {
    let mock = Mock::start(vec![Reply::Compute(Arc::new(concept_server))]).await;
    let e = OpenAiEmbeddings::probe(mock.config(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(e.dim(), DIM);
    assert_eq!(e.id(), format!("openai-compatible:test-model:{DIM}"));
}

/// Every answer that is not exactly one finite vector of the right length per text is a
/// typed error naming what is wrong, and nothing of it is used.
#[tokio::test]
async fn malformed_answers_are_typed_errors() {
    let cases: Vec<(String, &str)> = vec![
        ("not json".into(), "not JSON"),
        (json!({"error": {"message": "model not loaded"}}).to_string(), "model not loaded"),
        (json!({"nothing": 1}).to_string(), "missing `data`"),
        (json!({"data": {"a": 1}}).to_string(), "not an array"),
        (json!({"data": [{"embedding": vec![0.5; 16]}]}).to_string(), "1 vectors for 2 texts"),
        (
            json!({"data": [{"embedding": vec![0.5; 16]}, {"embedding": vec![0.5; 15]}]}).to_string(),
            "has 15 numbers; expected 16",
        ),
        (
            json!({"data": [{"embedding": vec![0.5; 16]}, {"embedding": "abc"}]}).to_string(),
            "not an array of numbers",
        ),
        (
            json!({"data": [{"embedding": vec![0.5; 16]}, {"embedding": vec!["x"; 16]}]})
                .to_string(),
            "not a finite number",
        ),
        (
            json!({"data": [{"index": 0, "embedding": vec![0.5; 16]}, {"index": 0, "embedding": vec![0.5; 16]}]})
                .to_string(),
            "appears twice",
        ),
        (
            json!({"data": [{"index": 0, "embedding": vec![0.5; 16]}, {"index": 7, "embedding": vec![0.5; 16]}]})
                .to_string(),
            "not an index below 2",
        ),
    ];
    for (body, why) in cases {
        let mock = Mock::start(vec![http(200, "", &body)]).await;
        let r = embeddings(&mock, 16)
            .embed(&texts(&["a", "b"]), Duration::from_secs(5))
            .await;
        match r {
            Err(LlmError::Malformed(m)) => assert!(m.contains(why), "{m:?} should say {why:?}"),
            other => panic!("{body}: expected Malformed({why}), got {other:?}"),
        }
    }
}

/// The body limit follows from the batch: a declared length past it is refused before any
/// of the body is read, and a body without one is cut off once it passes it.
#[tokio::test]
async fn oversized_answers_are_refused() {
    // One text of 16 numbers allows 16 × 32 + 64 KiB bytes.
    let huge = format!(
        "{{\"data\": [{{\"embedding\": [{}]}}]}}",
        "0.1,".repeat(40_000) + "0.1"
    );
    let mock = Mock::start(vec![http(200, "", &huge)]).await;
    let r = embeddings(&mock, 16)
        .embed(&texts(&["a"]), Duration::from_secs(5))
        .await;
    assert!(
        matches!(&r, Err(LlmError::Malformed(m)) if m.contains("exceeds the limit")),
        "{r:?}"
    );
    let chunked = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{huge}"
    );
    let mock = Mock::start(vec![Reply::Raw(chunked.into_bytes())]).await;
    let r = embeddings(&mock, 16)
        .embed(&texts(&["a"]), Duration::from_secs(5))
        .await;
    assert!(
        matches!(&r, Err(LlmError::Malformed(m)) if m.contains("exceeds the limit")),
        "{r:?}"
    );
}

#[tokio::test]
async fn a_silent_server_times_out_and_errors_are_retried() {
    let mock = Mock::start(vec![Reply::Hang]).await;
    let t0 = std::time::Instant::now();
    let r = embeddings(&mock, 16)
        .embed(&texts(&["a"]), Duration::from_millis(300))
        .await;
    assert_eq!(r, Err(LlmError::Timeout));
    assert!(t0.elapsed() < Duration::from_secs(3));

    let ok = json!({"data": [{"embedding": vec![0.25; 16]}]}).to_string();
    let mock = Mock::start(vec![http(503, "", "busy"), http(200, "", &ok)]).await;
    let r = embeddings(&mock, 16)
        .embed(&texts(&["a"]), Duration::from_secs(5))
        .await;
    assert_eq!(r, Ok(vec![vec![0.25; 16]]));
    assert_eq!(mock.seen().len(), 2);
    let mock = Mock::start(vec![http(400, "", "bad input")]).await;
    let r = embeddings(&mock, 16)
        .embed(&texts(&["a"]), Duration::from_secs(5))
        .await;
    assert!(
        matches!(r, Err(LlmError::Http { status: 400, .. })),
        "{r:?}"
    );
}

fn descriptor(keys: &Keypair, cap: &str, topic: &str, summary: &str) -> CapabilityDescriptor {
    CapabilityDescriptor::builder(keys.id(), cap, topic, summary)
        .ttl(Duration::from_secs(600))
        .build(SystemClock::new().now())
        .unwrap()
}

async fn wait_for(node: &mut Node, what: &str, mut pred: impl FnMut(&NodeEvent) -> bool) {
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

/// A provider announcing three capabilities with the lexical encoder, and a requester whose
/// intents are embedded by the model server: the requester re-embeds the descriptors with
/// its own model (they arrive sketched by another encoder), and finds the image generator
/// for an intent that shares no word with it. A second requester whose model server fails
/// still answers, at once rather than at its timeout, with nothing it cannot judge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_discovers_by_the_model_servers_vectors() {
    let mock = Mock::start(vec![Reply::Compute(Arc::new(concept_server))]).await;
    let down = Mock::start(vec![http(500, "", "no model")]).await;
    let net = MemoryNetwork::new();
    let kp = Keypair::from_seed([1; 32]);
    let provider = Node::builder()
        .ephemeral_identity(Keypair::from_seed([1; 32]))
        .transport(net.transport("p", kp.id()).unwrap())
        .seed([10; 32])
        .start()
        .await
        .unwrap();
    let requester = |name: &'static str, seed: u8, model: OpenAiEmbeddings| {
        let k = Keypair::from_seed([seed; 32]);
        let mut cfg = NodeConfig {
            bootstrap: vec!["p".into()],
            follow_peer_topics: true,
            ..NodeConfig::default()
        };
        cfg.agent.embed.timeout = Duration::from_secs(5);
        Node::builder()
            .ephemeral_identity(Keypair::from_seed([seed; 32]))
            .transport(net.transport(name, k.id()).unwrap())
            .interest(InterestProfile::everything())
            .embedder(Arc::new(model), RemoteEncoderLimits::default())
            .config(cfg)
            .seed([seed; 32])
            .start()
    };
    let mut r = requester("r", 2, embeddings(&mock, DIM)).await.unwrap();
    let mut blind = requester("b", 3, embeddings(&down, DIM)).await.unwrap();
    wait_for(&mut r, "link", |e| matches!(e, NodeEvent::LinkUp(_))).await;
    wait_for(&mut blind, "link", |e| matches!(e, NodeEvent::LinkUp(_))).await;
    for (cap, topic, summary) in [
        (
            "image.generate",
            "creative/image",
            "Generate an image from a text prompt",
        ),
        (
            "text.translate",
            "language/text",
            "Translate text between languages",
        ),
        (
            "code.review",
            "software/code",
            "Review source code for security bugs",
        ),
    ] {
        provider
            .announce(descriptor(&kp, cap, topic, summary))
            .await
            .unwrap();
    }
    for n in [&mut r, &mut blind] {
        let mut got = 0;
        wait_for(n, "three descriptors", |e| {
            if matches!(e, NodeEvent::Gossip(GossipEvent::Descriptor(_))) {
                got += 1;
            }
            got == 3
        })
        .await;
    }
    let found = r
        .discover("draw a picture of a cat", Requirements::default(), 3)
        .await
        .unwrap();
    assert_eq!(
        found.first().map(|c| c.descriptor.capability.as_str()),
        Some("image.generate"),
        "{found:?}"
    );
    let found = r
        .discover("put my letter into spanish", Requirements::default(), 3)
        .await
        .unwrap();
    assert_eq!(
        found.first().map(|c| c.descriptor.capability.as_str()),
        Some("text.translate")
    );
    let seen = mock.seen();
    let inputs: Vec<String> = seen
        .iter()
        .flat_map(|s| s.json()["input"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert!(
        inputs.iter().any(|t| t.starts_with("Generate an image")),
        "{inputs:?}"
    );
    assert!(inputs.iter().any(|t| t == "draw a picture of a cat"));

    // The failing server: the call fails fast, nothing is left in flight, and discovery
    // answers long before the 5 s embed timeout, without inventing a ranking.
    let t0 = std::time::Instant::now();
    let found = blind
        .discover("draw a picture of a cat", Requirements::default(), 3)
        .await
        .unwrap();
    assert!(found.is_empty(), "{found:?}");
    assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    for n in [provider, r, blind] {
        n.shutdown().await.unwrap();
    }
}
