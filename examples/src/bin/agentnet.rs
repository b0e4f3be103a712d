//! `agentnet`: run a node, or ask a network for collaborators, from the command line.
//!
//! ```text
//! agentnet node --listen 127.0.0.1:7000 --data-dir ./a --descriptor image.toml
//! agentnet node --listen 127.0.0.1:7001 --data-dir ./b --bootstrap 127.0.0.1:7000 --descriptor translate.json
//! agentnet discover --bootstrap 127.0.0.1:7000 "translate my report into French"
//! ```
//!
//! `node` runs until interrupted (Ctrl-C) or for `--seconds`. It keeps its identity, its log
//! heads and what it accepted in `--data-dir`, and (re-)announces every `--descriptor` file at
//! start; announcements are re-issued before they expire. It follows (and so relays) every
//! topic its peers carry, so a client linked only to it sees them all. It prints one line per notable
//! event; the first line is `listening <address> as <did:key>`.
//!
//! `discover` starts a throwaway node (fresh identity, nothing on disk), follows every topic its
//! bootstrap peers carry, pulls every descriptor they announce for `--wait-secs` (or until
//! `--expect` descriptors arrived), ranks them against the intent and prints the top `--k`.
//!
//! A descriptor file is TOML (`.toml`) or JSON (anything else):
//!
//! ```toml
//! capability = "image.generate"
//! topic = "creative/image"
//! summary = "Generate an image from a text prompt"
//! tags = ["image", "art"]          # optional
//! ttl_secs = 600                   # optional, default 600
//! side_effects = "none"            # optional: none | read_only | reversible | irreversible
//! [qos]                            # optional, all fields optional
//! latency_ms = 4000
//! success_bp = 9600
//! cost_micros = 40000
//! ```

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant as WallClock};

use agentnet_core::descriptor::{CapabilityDescriptor, Constraints, QosVector, SideEffects};
use agentnet_gossip::{Event as GossipEvent, InterestProfile, Requirements};
use agentnet_transport::host::Clock;
use agentnet_transport::tcp::TcpConfig;
use agentnet_transport::{Node, NodeConfig, NodeEvent, SystemClock};
use clap::{Parser, Subcommand};
use serde::Deserialize;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Run an agentnet node, or discover collaborators by intent"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a node.
    Node {
        /// Address to listen on (use port 0 for any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Peers to dial and keep a link to (repeatable).
        #[arg(long)]
        bootstrap: Vec<String>,
        /// Capability descriptors to announce (TOML or JSON; repeatable).
        #[arg(long)]
        descriptor: Vec<PathBuf>,
        /// Directory for the identity, log heads and accepted entries.
        #[arg(long)]
        data_dir: PathBuf,
        /// Extra topics to follow and relay (repeatable).
        #[arg(long)]
        topic: Vec<String>,
        /// Stop after this many seconds (default: run until interrupted).
        #[arg(long)]
        seconds: Option<u64>,
    },
    /// Find collaborators for an intent in plain words.
    Discover {
        /// Peers to ask (repeatable).
        #[arg(long, required = true)]
        bootstrap: Vec<String>,
        /// How long to collect descriptors, in seconds.
        #[arg(long, default_value_t = 6)]
        wait_secs: u64,
        /// Stop collecting as soon as this many descriptors arrived.
        #[arg(long)]
        expect: Option<usize>,
        /// How many candidates to print.
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// The intent.
        intent: String,
    },
}

/// A descriptor file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct DescriptorFile {
    capability: String,
    topic: String,
    summary: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default = "default_ttl")]
    ttl_secs: u64,
    #[serde(default)]
    side_effects: Option<SideEffects>,
    #[serde(default)]
    qos: QosFile,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct QosFile {
    latency_ms: Option<u32>,
    success_bp: Option<u16>,
    cost_micros: Option<u64>,
    availability_bp: Option<u16>,
    load_bp: Option<u16>,
}

fn default_ttl() -> u64 {
    600
}

fn read_descriptor(path: &Path) -> Result<DescriptorFile, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let parsed: DescriptorFile = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    };
    Ok(parsed)
}

fn build(node: &Node, f: &DescriptorFile) -> Result<CapabilityDescriptor, Box<dyn Error>> {
    let d = QosVector::default();
    let qos = QosVector {
        latency_ms: f.qos.latency_ms.unwrap_or(d.latency_ms),
        success_bp: f.qos.success_bp.unwrap_or(d.success_bp),
        cost_micros: f.qos.cost_micros.unwrap_or(d.cost_micros),
        availability_bp: f.qos.availability_bp.unwrap_or(d.availability_bp),
        load_bp: f.qos.load_bp.unwrap_or(d.load_bp),
    };
    let constraints = Constraints {
        side_effects: f.side_effects.unwrap_or(SideEffects::None),
        ..Constraints::default()
    };
    Ok(CapabilityDescriptor::builder(
        node.id(),
        f.capability.as_str(),
        &f.topic,
        f.summary.as_str(),
    )
    .tags(f.tags.iter().map(String::as_str))
    .qos(qos)
    .constraints(constraints)
    .ttl(Duration::from_secs(f.ttl_secs))
    .build(SystemClock::new().now())?)
}

fn tcp(listen: &str) -> Result<TcpConfig, Box<dyn Error>> {
    Ok(TcpConfig {
        listen: Some(
            listen
                .parse()
                .map_err(|e| format!("--listen {listen}: {e}"))?,
        ),
        ..TcpConfig::default()
    })
}

async fn run_node(
    listen: String,
    bootstrap: Vec<String>,
    descriptors: Vec<PathBuf>,
    data_dir: PathBuf,
    topics: Vec<String>,
    seconds: Option<u64>,
) -> Result<(), Box<dyn Error>> {
    let files = descriptors
        .iter()
        .map(|p| read_descriptor(p))
        .collect::<Result<Vec<_>, _>>()?;
    let topics = topics
        .iter()
        .map(|t| agentnet_core::descriptor::Topic::new(t).map_err(|e| format!("--topic {t}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut node = Node::builder()
        .data_dir(&data_dir)
        .tcp(tcp(&listen)?)
        .config(NodeConfig {
            bootstrap,
            topics,
            // A command-line node is usually someone's bootstrap peer: it relays every topic
            // its peers carry, so clients linked only to it still see them all.
            follow_peer_topics: true,
            ..NodeConfig::default()
        })
        .start()
        .await?;
    println!(
        "listening {} as {}",
        node.local_addr().unwrap_or("-"),
        node.id()
    );
    for f in &files {
        let (topic, seq) = node.announce(build(&node, f)?).await?;
        println!(
            "announced {} topic {} seq {seq}",
            f.capability,
            topic.as_str()
        );
    }
    let stop = async {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            ev = node.next_event() => {
                let Some(ev) = ev else { break };
                match ev {
                    NodeEvent::LinkUp(l) => println!("link up {} {} ({})", l.link, l.peer, l.remote),
                    NodeEvent::LinkDown { link, peer, reason } => {
                        println!("link down {link} {peer}: {reason}");
                    }
                    NodeEvent::Refused { remote, reason } => println!("refused {remote}: {reason}"),
                    NodeEvent::Gossip(GossipEvent::Header { author, topic, seq, .. }) => {
                        println!("header {} {} seq {seq}", author, topic.as_str());
                    }
                    NodeEvent::Gossip(GossipEvent::Equivocation { what, .. }) => {
                        println!("equivocation by {} in {} at seq {}", what.author, what.topic.as_str(), what.seq);
                    }
                    NodeEvent::StoreFailed(e) => println!("store failed: {e}"),
                    _ => {}
                }
            }
        }
    }
    node.shutdown().await?;
    println!("stopped");
    Ok(())
}

async fn run_discover(
    bootstrap: Vec<String>,
    wait_secs: u64,
    expect: Option<usize>,
    k: usize,
    json: bool,
    intent: String,
) -> Result<(), Box<dyn Error>> {
    let mut node = Node::builder()
        .tcp(tcp("127.0.0.1:0")?)
        .interest(InterestProfile::everything())
        .config(NodeConfig {
            bootstrap,
            follow_peer_topics: true,
            ..NodeConfig::default()
        })
        .start()
        .await?;
    let until = WallClock::now() + Duration::from_secs(wait_secs);
    let mut got = 0usize;
    while expect.is_none_or(|e| got < e) {
        let left = until.saturating_duration_since(WallClock::now());
        match tokio::time::timeout(left, node.next_event()).await {
            Ok(Some(NodeEvent::Gossip(GossipEvent::Descriptor(_)))) => got += 1,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
    let found = node.discover(&intent, Requirements::default(), k).await?;
    if json {
        let list: Vec<serde_json::Value> = found
            .iter()
            .map(|c| {
                serde_json::json!({
                    "provider": c.descriptor.provider.to_string(),
                    "capability": c.descriptor.capability,
                    "topic": c.descriptor.topic.as_str(),
                    "summary": c.descriptor.intent.summary,
                    "score": c.similarity,
                    "latency_ms": c.qos.latency_ms,
                    "success_bp": c.qos.success_bp,
                    "cost_micros": c.qos.cost_micros,
                })
            })
            .collect();
        let out =
            serde_json::json!({"intent": intent, "descriptors_seen": got, "candidates": list});
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("{got} descriptors collected; best matches for \"{intent}\":");
        if found.is_empty() {
            println!("  (none)");
        }
        for c in &found {
            println!(
                "  {:>6.3}  {:<20} {:<24} {}  {}",
                c.similarity,
                c.descriptor.capability,
                c.descriptor.topic.as_str(),
                c.descriptor.provider,
                c.descriptor.intent.summary
            );
        }
    }
    node.shutdown().await?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    match Cli::parse().cmd {
        Cmd::Node {
            listen,
            bootstrap,
            descriptor,
            data_dir,
            topic,
            seconds,
        } => run_node(listen, bootstrap, descriptor, data_dir, topic, seconds).await,
        Cmd::Discover {
            bootstrap,
            wait_secs,
            expect,
            k,
            json,
            intent,
        } => run_discover(bootstrap, wait_secs, expect, k, json, intent).await,
    }
}
