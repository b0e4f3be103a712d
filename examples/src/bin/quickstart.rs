//! agentnet quickstart: six agents form a live network on loopback TCP + Noise, announce what
//! they can do, and one of them finds collaborators for an intent written in plain words.
//!
//! Each agent is a full [`Node`]: its own Ed25519/X25519 keys, its own data directory (a
//! temporary one here), a TCP listener, Noise XX links authenticated to agent ids, the gossip
//! engine with its own signed log per topic. Nothing needs to be installed or configured.
//!
//! `cargo run --release --bin quickstart`

use std::collections::BTreeMap;
use std::error::Error;
use std::time::{Duration, Instant as WallClock};

use agentnet_core::Keypair;
use agentnet_core::descriptor::{
    CapabilityDescriptor, Constraints, PrivacyScope, QosVector, SideEffects,
};
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::wire::MessageKind;
use agentnet_gossip::{Event as GossipEvent, InterestProfile, Requirements};
use agentnet_transport::host::Clock;
use agentnet_transport::tcp::TcpConfig;
use agentnet_transport::{Node, NodeConfig, NodeEvent, SystemClock};

/// (name, capability, topic, summary, tags, QoS, side effects)
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    QosVector,
    SideEffects,
);

/// The agent that looks for collaborators, and what it wants.
const REQUESTER: &str = "herald";
const INTENT: &str = "I need someone to turn my text prompt into a picture";

fn specs() -> [Spec; 6] {
    let specs: [Spec; 6] = [
        (
            "pixel",
            "image.generate",
            "creative/image",
            "Generate an image from a text prompt",
            &["image", "diffusion", "art"],
            QosVector {
                latency_ms: 4_000,
                success_bp: 9_600,
                cost_micros: 40_000,
                availability_bp: 9_900,
                load_bp: 3_000,
            },
            SideEffects::None,
        ),
        (
            "canvas",
            "image.generate",
            "creative/image",
            "Text-to-image generation with upscaling",
            &["image", "upscale"],
            QosVector {
                latency_ms: 9_000,
                success_bp: 9_900,
                cost_micros: 15_000,
                availability_bp: 9_500,
                load_bp: 6_000,
            },
            SideEffects::None,
        ),
        (
            "herald",
            "content.publish",
            "creative/publishing",
            "Publish an article with images to a blog",
            &["publish", "blog", "cms"],
            QosVector {
                latency_ms: 1_500,
                success_bp: 9_800,
                cost_micros: 5_000,
                availability_bp: 9_990,
                load_bp: 1_000,
            },
            SideEffects::Irreversible,
        ),
        (
            "babel",
            "text.translate",
            "language/translation",
            "Translate documents between English and French",
            &["translation", "french"],
            QosVector {
                latency_ms: 800,
                success_bp: 9_700,
                cost_micros: 2_000,
                availability_bp: 9_990,
                load_bp: 2_000,
            },
            SideEffects::None,
        ),
        (
            "lint",
            "code.review",
            "code/review",
            "Review Rust code for security bugs",
            &["code", "security", "rust"],
            QosVector {
                latency_ms: 20_000,
                success_bp: 9_000,
                cost_micros: 80_000,
                availability_bp: 9_800,
                load_bp: 4_000,
            },
            SideEffects::ReadOnly,
        ),
        (
            "scribe",
            "text.summarize",
            "language/summarization",
            "Summarize long reports into key points",
            &["summary", "text"],
            QosVector {
                latency_ms: 1_200,
                success_bp: 9_500,
                cost_micros: 3_000,
                availability_bp: 9_900,
                load_bp: 500,
            },
            SideEffects::None,
        ),
    ];
    specs
}

fn seed_of(name: &str) -> [u8; 32] {
    // Fixed keys keep the transcript's ids stable between runs; a real agent draws its seed
    // from the OS once (the Node does that when given no identity) and keeps it in its
    // data directory.
    *blake3::hash(format!("agentnet quickstart {name}").as_bytes()).as_bytes()
}

fn kind_name(k: u16) -> String {
    agentnet_gossip::wire::kind_name(MessageKind(k)).map_or(format!("0x{k:04x}"), str::to_string)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let started = WallClock::now();
    let ms = || started.elapsed().as_millis();
    let specs = specs();
    let encoder = HashedNgramEncoder::default();
    println!("agentnet quickstart\n===================\n");

    println!(
        "1. Six agents start on loopback TCP + Noise, each with its own keys and data directory"
    );
    let mut dirs = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut addrs: Vec<String> = Vec::new();
    for s in &specs {
        let dir = tempfile::tempdir()?;
        let requester = s.0 == REQUESTER;
        let interest = if requester {
            // Fetch only the bodies whose header sketch is close to the intent.
            InterestProfile::from_texts(&encoder, &[INTENT], 0.2)
        } else {
            InterestProfile::none()
        };
        let node = Node::builder()
            .identity(Keypair::from_seed(seed_of(s.0)))
            .data_dir(dir.path())
            .tcp(TcpConfig {
                listen: Some("127.0.0.1:0".parse()?),
                ..TcpConfig::default()
            })
            .interest(interest)
            .seed(seed_of(&format!("{} engine", s.0)))
            .config(NodeConfig {
                // Every agent dials the ones started before it: six agents, fifteen links.
                bootstrap: addrs.clone(),
                follow_peer_topics: requester,
                ..NodeConfig::default()
            })
            .start()
            .await?;
        let addr = node.local_addr().unwrap_or("-").to_string();
        println!("   {:<7} {}  listening on {addr}", s.0, node.id());
        addrs.push(addr);
        nodes.push(node);
        dirs.push(dir);
    }
    // Wait until every agent has its five links.
    let deadline = WallClock::now() + Duration::from_secs(20);
    loop {
        let mut ready = 0;
        for n in &nodes {
            ready += usize::from(n.peers().await?.len() >= specs.len() - 1);
        }
        if ready == nodes.len() || WallClock::now() > deadline {
            println!(
                "   {ready} of {} agents fully linked after {} ms (Noise XX, each link bound to an agent id)",
                nodes.len(),
                ms()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let the topic meshes form (subscribe and graft).
    tokio::time::sleep(Duration::from_millis(300)).await;

    println!(
        "\n2. Each agent announces a signed, expiring capability descriptor in its topic's log"
    );
    let clock = SystemClock::new();
    for (n, s) in nodes.iter().zip(&specs) {
        let d = CapabilityDescriptor::builder(n.id(), s.1, s.2, s.3)
            .tags(s.4.iter().copied())
            .qos(s.5)
            .constraints(Constraints {
                side_effects: s.6,
                privacy: PrivacyScope::Public,
                ..Constraints::default()
            })
            .ttl(Duration::from_secs(300))
            .build(clock.now())?;
        let (topic, seq) = n.announce(d).await?;
        println!(
            "   {:<7} {:<16} topic {:<24} seq {seq}",
            s.0,
            s.1,
            topic.as_str()
        );
    }

    let ri = specs
        .iter()
        .position(|s| s.0 == REQUESTER)
        .expect("requester");
    let names: BTreeMap<_, _> = nodes
        .iter()
        .zip(&specs)
        .map(|(n, s)| (n.id(), s.0))
        .collect();
    println!(
        "\n3. Gossip reaches {REQUESTER}: headers for every topic it follows; it pulls only the bodies whose\n   sketch is close to its intent (\"{INTENT}\")"
    );
    let (mut headers, mut wanted, mut fetched) = (0, 0, 0);
    let requester = &mut nodes[ri];
    let until = WallClock::now() + Duration::from_secs(20);
    while headers < specs.len() - 1 || fetched < wanted {
        let left = until.saturating_duration_since(WallClock::now());
        let Ok(Some(ev)) = tokio::time::timeout(left, requester.next_event()).await else {
            println!("   (stopped waiting after 20 s)");
            break;
        };
        match ev {
            NodeEvent::Gossip(GossipEvent::Header {
                author,
                topic,
                seq,
                wanted: w,
                ..
            }) => {
                headers += 1;
                wanted += usize::from(w);
                let who = names.get(&author).copied().unwrap_or("?");
                let what = if w {
                    "wanted: fetching the body"
                } else {
                    "not relevant: body left where it is"
                };
                println!(
                    "   {:>5} ms  header     {who:<7} {:<24} seq {seq}  {what}",
                    ms(),
                    topic.as_str()
                );
            }
            NodeEvent::Gossip(GossipEvent::Descriptor(d)) => {
                fetched += 1;
                let who = names.get(&d.provider).copied().unwrap_or("?");
                println!(
                    "   {:>5} ms  descriptor {who:<7} {:<24} body checked against its header, signature verified, indexed",
                    ms(),
                    d.capability
                );
            }
            _ => {}
        }
    }

    println!("\n4. Discovery by intent at {REQUESTER}: \"{INTENT}\"");
    println!("   (hard filter: side effects at most reversible; ranked by similarity, then QoS)");
    let req = Requirements {
        max_side_effects: Some(SideEffects::Reversible),
        ..Requirements::default()
    };
    let found = nodes[ri].discover(INTENT, req, 4).await?;
    for c in &found {
        let who = names.get(&c.descriptor.provider).copied().unwrap_or("?");
        println!(
            "   {:>6.3}  {who:<7} {:<16} latency {:>6} ms  success {:>5.1}%  cost {:>6} µ",
            c.similarity,
            c.descriptor.capability,
            c.qos.latency_ms,
            f64::from(c.qos.success_bp) / 100.0,
            c.qos.cost_micros
        );
    }

    println!(
        "\n5. {} restarts from its data directory: same identity, and its log continues",
        specs[0].0
    );
    let first = nodes.remove(0);
    let id = first.id();
    first.shutdown().await?;
    let again = Node::builder()
        .data_dir(dirs[0].path())
        .tcp(TcpConfig {
            listen: Some("127.0.0.1:0".parse()?),
            ..TcpConfig::default()
        })
        .config(NodeConfig {
            bootstrap: addrs[1..].to_vec(),
            ..NodeConfig::default()
        })
        .start()
        .await?;
    let s = &specs[0];
    let d = CapabilityDescriptor::builder(again.id(), s.1, s.2, s.3)
        .tags(s.4.iter().copied())
        .qos(s.5)
        .ttl(Duration::from_secs(300))
        .build(clock.now())?;
    let (_, seq) = again.announce(d).await?;
    println!(
        "   {} is {} again ({}); its re-announcement is seq {seq} of its log, never a reused seq",
        s.0,
        if again.id() == id {
            "the same agent"
        } else {
            "A DIFFERENT AGENT"
        },
        again.id().short()
    );
    nodes.insert(0, again);

    println!("\nSummary");
    let mut sent: BTreeMap<u16, (u64, u64)> = BTreeMap::new();
    for n in &nodes {
        for (k, (f, b)) in n.stats().await?.sent {
            let e = sent.entry(k).or_default();
            e.0 += f;
            e.1 += b;
        }
    }
    let line: Vec<String> = sent
        .iter()
        .map(|(k, (f, b))| format!("{} {f} ({b} B)", kind_name(*k)))
        .collect();
    println!("   gossip frames sent by all agents: {}", line.join(", "));
    let best = found.first().map_or("nobody".to_string(), |c| {
        format!(
            "{} ({}, score {:.3})",
            names.get(&c.descriptor.provider).copied().unwrap_or("?"),
            c.descriptor.capability,
            c.similarity
        )
    });
    println!(
        "   agents: {}, descriptors {REQUESTER} pulled: {fetched} of {headers} announced to it, best match: {best}",
        nodes.len()
    );
    for n in nodes {
        n.shutdown().await?;
    }
    println!("   finished in {} ms", ms());
    if found.is_empty() {
        return Err("discovery found nobody".into());
    }
    Ok(())
}
