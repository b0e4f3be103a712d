//! `agentnet`: run a node, or ask a network for collaborators, from the command line.
//!
//! ```text
//! agentnet node --listen 127.0.0.1:7000 --data-dir ./a --descriptor image.toml
//! agentnet node --listen 127.0.0.1:7001 --data-dir ./b --bootstrap 127.0.0.1:7000 --descriptor translate.json
//! agentnet discover --bootstrap 127.0.0.1:7000 "translate my report into French"
//! agentnet serve --listen 127.0.0.1:7002 --data-dir ./c --descriptor shout.toml --exec "tr a-z A-Z"
//! agentnet request --bootstrap 127.0.0.1:7000 --input in.txt --tier 3 --json "shout my text"
//! agentnet reputation --data-dir ./r --json
//! agentnet mcp --bootstrap 127.0.0.1:7000
//! agentnet card export --descriptor image.toml --url https://agent.example.com/a2a > card.json
//! agentnet card import card.json --topic tools/recipes --out-dir ./descriptors
//! agentnet a2a --http 127.0.0.1:8080 --bootstrap 127.0.0.1:7000
//!
//! agentnet node --transport libp2p --listen /ip4/0.0.0.0/tcp/7100 --data-dir ./a --relay-server
//! agentnet serve --transport libp2p --listen /ip4/0.0.0.0/udp/7101/quic-v1 --data-dir ./c \
//!     --bootstrap /ip4/198.51.100.7/tcp/7100/p2p/12D3KooW… --descriptor shout.toml --exec "tr a-z A-Z"
//! agentnet request --transport libp2p --bootstrap /ip4/198.51.100.7/tcp/7100/p2p/12D3KooW… \
//!     --input in.txt "shout my text"
//! ```
//!
//! Every command that starts a node takes `--transport tcp|libp2p` (default `tcp`; all peers
//! of one network use the same one). Over `tcp`, `--listen` and `--bootstrap` are
//! `host:port`. Over `libp2p` (rust-libp2p: TCP + Noise + Yamux and QUIC, Kademlia topic
//! discovery, relays and hole punching) they are multiaddrs (`/ip4/0.0.0.0/tcp/7100`,
//! `/ip4/0.0.0.0/udp/7100/quic-v1`, a peer's `/…/p2p/<peer id>`) or `host:port`; a node's
//! printed address carries its `/p2p/<peer id>` and can be passed to `--bootstrap` as it is,
//! and nodes find the other followers of their topics through the DHT, beyond their
//! bootstrap peers. `node` and `serve` also take the libp2p-only `--relay ADDR` (listen
//! through a relay, to be reachable from behind a NAT; repeatable), `--relay-server` (serve as
//! a relay) and `--external ADDR` (an address others reach this node at; repeatable).
//!
//! `node`, `serve`, `discover`, `request`, `mcp` and `a2a` match intents with the built-in
//! lexical encoder (words, not meaning) unless given `--embeddings-url URL` (an
//! OpenAI-compatible API root whose `/embeddings` embeds descriptors and intents) and
//! `--embeddings-model NAME`; all nodes then compare only vectors of the same model, and
//! re-embed what peers announce with their own.
//!
//! `serve` runs a provider: it announces every `--descriptor` and, for each task a requester
//! delegates, runs `--exec` through `sh -c` with the task input on stdin; what the program
//! prints on stdout is the result. A non-zero exit or a run past `--exec-timeout-secs` (or the
//! session's deadline) fails the task honestly: nothing is delivered. The program also sees
//! `AGENTNET_CAPABILITY`, `AGENTNET_TOPIC`, `AGENTNET_INTENT` and `AGENTNET_REQUESTER` in its
//! environment. At tier 3 the agent signs one tool receipt for the run (input hash → output
//! hash) into the evidence package. Its first line is `listening <address> as <did:key>`, then
//! one line per offer and settlement.
//!
//! `request` runs the whole funnel for one task: a node (fresh, or from `--data-dir` so its
//! ledger and reputation persist) joins through `--bootstrap`, collects descriptors, dials the
//! best candidates, picks the tier (`--tier auto` lets the risk policy decide from
//! `--value-at-risk` units), interleaves `--canaries` (JSON lines
//! `{"input": "...", "expected": "..."}`; an answer passes if it equals `expected`, ignoring
//! one trailing newline), and falls back to the next candidate on a failed check. Candidates
//! are ordered by Pareto-layer selection; `--explore P` is the probability of trying a
//! never-observed provider first (default 0.1; 0 makes the order depend on standing only). `--json`
//! prints one object: `outcome` (`"success"` or why not), `result` (UTF-8 text), `provider`,
//! `tier`, `attempts` (`[{provider, verdict}]`), `fallbacks`, `payment` (units), and
//! `reputation` (each attempted provider's score in its topic as this requester now sees it).
//! The exit status is 0 on success and 1 otherwise.
//!
//! With `--budget UNITS --topic TOPIC`, `request` asks for bids instead of picking from
//! descriptors: it announces a signed intent in the topic (its words, the budget, the tier,
//! bids open `--bid-window-secs`), providers serving a matching capability with `serve --bid
//! PRICE` answer with signed bids, and the auction's score rule (price plus the value of the
//! promised delivery time; the winner is paid the second-best score's price) awards the task,
//! counter-offering when no bid is within the budget. The award then runs the same funnel
//! (tier, canaries, fallback to the next bid). The text output prints each bid and the award
//! first; `--json` adds `bids` (`[{provider, price, latency_ms, round}]`) and `award`
//! (`{provider, pay}` or null).
//!
//! `serve --capacity N` states the node's load and availability as tasks start and end
//! (short-lived provider state): requesters skip it while its N slots are full and try it last
//! while busy.
//!
//! `serve --bid PRICE` makes a provider answer intents matching its capabilities with truthful
//! bids (its least price, `--bid-latency-ms`, `--bid-deposit`); with `--no-advertise` its
//! descriptors are not announced at all, so it is found only through intents.
//!
//! `mcp` runs a requester node and serves MCP (Model Context Protocol) on stdin/stdout, so an
//! agent framework can use the network as tools: `discover`, `request`, `reputation` and
//! `announce` (see the `mcp` module).
//!
//! `workflow FILE.toml` runs steps in order through the funnel, a step's input being a file
//! or an earlier step's result (format: `agentnet workflow --help`); `--json` prints
//! `outcome`, `result` (the last step's) and `steps` (`name`, `provider`, `outcome`,
//! `result`).
//!
//! `reputation` opens a data directory (of a node that is not running) and prints the scores
//! its agent holds, per topic, and whom it holds fraud proofs against.
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
//! `card export` writes an A2A Agent Card (JSON) with one skill per `--descriptor` file;
//! `card import` turns a card's skills into descriptor files (JSON, one per skill) for `node`
//! or `serve` to sign and announce. `agentnet_examples::a2a` documents the mapping and what
//! each direction loses.
//!
//! `a2a` runs a gateway for A2A clients: a requester node joined through `--bootstrap`, and
//! an HTTP/1.1 server at `--http` with the Agent Card at `/.well-known/agent-card.json` (one
//! skill per capability the node holds a fresh descriptor for; url `--public-url`) and A2A
//! JSON-RPC at `/`. `SendMessage` (or the 0.x `message/send`) hands the message's text to
//! the network as one request (text as intent and input; `metadata.agentnet.intent` sets the
//! intent apart) and answers with the A2A task: completed with the result as its artifact,
//! or failed and why, the provider, tier, attempts and payment in its metadata; `GetTask`
//! reads it back. Its first line is `listening http://<address>/ as <did:key>`, then one line
//! per task. `agentnet_examples::a2a_gateway` documents the mapping and what it loses.
//!
//! The descriptor file format (`--descriptor`) is [`DESCRIPTOR_FORMAT`], which
//! `agentnet --help` prints.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant as WallClock};

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use agentnet_core::descriptor::{CapabilityDescriptor, Constraints, QosVector, SideEffects, Topic};
use agentnet_core::effect::ExecuteTask;
use agentnet_core::{Keypair, Now};
use agentnet_examples::adversary::Lying;
use agentnet_gossip::{Event as GossipEvent, InterestProfile, Requirements};
use agentnet_mech::auction::BidPolicy;
use agentnet_mech::mechanism::{Tier, UNIT, units};
use agentnet_transport::NodeError;
use agentnet_transport::agent::{
    AgentConfig, CanaryCase, Executed, IntentRequest, ServePolicy, Stage, TaskOutcome, TaskRequest,
    Verdict,
};
use agentnet_transport::host::Clock;
use agentnet_transport::tcp::TcpConfig;
use agentnet_transport::tcp::TcpTransport;
use agentnet_transport::{Node, NodeConfig, NodeEvent, SystemClock};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use serde::Deserialize;

mod a2a;
mod card;
mod files;
mod mcp;
mod net;
mod reputation;
mod request;
mod serve;
mod workflow;

use a2a::*;
use card::*;
use files::*;
use mcp::*;
use net::*;
use reputation::*;
use request::*;
use serve::*;
use workflow::*;

/// The descriptor file format, as `agentnet --help` prints it.
const DESCRIPTOR_FORMAT: &str = r#"Descriptor files (--descriptor FILE) are TOML (.toml) or JSON (.json), with these fields:

  capability = "image.generate"        # required: lower-case letters, digits, '.', '_', '-'; at most 64 bytes
  topic = "creative/image"             # required: 1 to 8 '/'-separated segments of a-z, 0-9, '_', '-'
  summary = "Generate an image from a text prompt"   # required: what it does; at most 512 bytes
  tags = ["image", "art"]              # optional: at most 16, each at most 32 bytes
  ttl_secs = 600                       # optional: lifetime of one announcement, 1..=3600 seconds (default 600)
  side_effects = "none"                # optional: none | read_only | reversible | irreversible
  inputs = ["text/plain"]              # optional media types (default ["text/plain"])
  outputs = ["image/png"]              # optional media types (default ["text/plain"])
  [qos]                                # optional claims, every field optional
  latency_ms = 4000                    # typical latency, milliseconds
  success_bp = 9600                    # success rate, basis points (0..=10000)
  cost_micros = 40000                  # price per call, micro-units

Every file is checked before the node starts; unknown fields are errors."#;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Run an agentnet node, serve a capability with any program, or hand a task to the network",
    after_help = DESCRIPTOR_FORMAT
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Run a node (over `--transport tcp` or `libp2p`).
    #[command(
        after_help = "Example:\n  agentnet node --listen 127.0.0.1:7000 --data-dir ./a --descriptor image.toml"
    )]
    Node {
        #[command(flatten)]
        transport: TransportArg,
        #[command(flatten)]
        embed: EmbedArgs,
        /// Address to listen on (use port 0 for any free port): `host:port`, or with
        /// `--transport libp2p` a multiaddr (`/ip4/0.0.0.0/tcp/7100`, `…/udp/7100/quic-v1`).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Peers to dial and keep a link to (repeatable): `host:port`, or with
        /// `--transport libp2p` a multiaddr such as a node's printed
        /// `/ip4/…/tcp/…/p2p/<peer id>`.
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
        #[command(flatten)]
        libp2p: Libp2pArgs,
    },
    /// Find collaborators for an intent in plain words (over `--transport tcp` or `libp2p`).
    #[command(
        after_help = "Example:\n  agentnet discover --bootstrap 127.0.0.1:7000 \"translate my report into French\""
    )]
    Discover {
        #[command(flatten)]
        transport: TransportArg,
        #[command(flatten)]
        embed: EmbedArgs,
        /// Peers to ask (repeatable): `host:port`, or with `--transport libp2p` a
        /// multiaddr such as a node's printed `/ip4/…/tcp/…/p2p/<peer id>`.
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
    /// Serve capabilities with a program: task input on stdin, result on stdout (over
    /// `--transport tcp` or `libp2p`).
    #[command(
        after_help = "Example:\n  agentnet serve --listen 127.0.0.1:7002 --data-dir ./c --descriptor shout.toml --exec \"tr a-z A-Z\""
    )]
    Serve {
        #[command(flatten)]
        transport: TransportArg,
        #[command(flatten)]
        embed: EmbedArgs,
        /// Address to listen on (use port 0 for any free port): `host:port`, or with
        /// `--transport libp2p` a multiaddr (`/ip4/0.0.0.0/tcp/7100`, `…/udp/7100/quic-v1`).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: String,
        /// Peers to dial and keep a link to (repeatable): `host:port`, or with
        /// `--transport libp2p` a multiaddr such as a node's printed
        /// `/ip4/…/tcp/…/p2p/<peer id>`.
        #[arg(long)]
        bootstrap: Vec<String>,
        /// Capability descriptors to serve (TOML or JSON; repeatable).
        #[arg(long, required = true)]
        descriptor: Vec<PathBuf>,
        /// Directory for the identity and everything the agent persists.
        #[arg(long)]
        data_dir: PathBuf,
        /// The program, run with `sh -c` for every task.
        #[arg(long)]
        exec: String,
        /// Longest run of the program, in seconds.
        #[arg(long, default_value_t = 30)]
        exec_timeout_secs: u64,
        /// Stop after this many seconds (default: run until interrupted).
        #[arg(long)]
        seconds: Option<u64>,
        /// Demonstrations and tests only: deliver evidence that contradicts its own receipts
        /// (to watch the network catch and convict a cheater).
        #[arg(long, hide = true)]
        lie_with_receipts: bool,
        #[command(flatten)]
        bid: BidArgs,
        /// Tasks run at once before this node states itself unavailable: with it, the node
        /// announces its load and availability (short-lived provider state) as tasks start
        /// and end, so requesters skip it while full and try it last while busy.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        capacity: Option<u32>,
        #[command(flatten)]
        libp2p: Libp2pArgs,
    },
    /// Hand one task to the network and run the whole funnel (over `--transport tcp` or
    /// `libp2p`).
    #[command(
        after_help = "Example:\n  agentnet request --bootstrap 127.0.0.1:7000 --input in.txt --tier auto --json \"shout my text\""
    )]
    Request(RequestArgs),
    /// Print the reputation scores a (stopped) node's data directory holds (the node that
    /// opens it links to no one: `--transport` does not change what is printed).
    #[command(after_help = "Example:\n  agentnet reputation --data-dir ./me --json")]
    Reputation {
        #[command(flatten)]
        transport: TransportArg,
        /// The node's data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Only this topic.
        #[arg(long)]
        topic: Option<String>,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Serve the network to A2A clients: an Agent Card and JSON-RPC `SendMessage` over HTTP
    /// (over `--transport tcp` or `libp2p`).
    #[command(
        after_help = "Example:\n  agentnet a2a --http 127.0.0.1:8080 --bootstrap 127.0.0.1:7000"
    )]
    A2a(A2aArgs),
    /// Run a workflow file: steps whose input is an earlier step's result.
    #[command(after_help = WORKFLOW_FORMAT)]
    Workflow(WorkflowArgs),
    /// Serve the network to an MCP client over stdio: tools `discover`, `request`,
    /// `reputation` and `announce` (over `--transport tcp` or `libp2p`).
    #[command(after_help = "Example:\n  agentnet mcp --bootstrap 127.0.0.1:7000")]
    Mcp(McpArgs),
    /// A2A Agent Cards: `export` one from descriptor files, `import` one's skills as
    /// descriptor files.
    Card {
        #[command(subcommand)]
        cmd: CardCmd,
    },
}

/// Peer-chosen text made safe for a terminal: control characters (escape sequences that
/// could rewrite the screen, carriage returns that hide a line) are shown escaped; newlines
/// and tabs are kept only when `lines` (a task result).
fn printable(s: &str, lines: bool) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && !(lines && (c == '\n' || c == '\t')) {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

async fn run_node(
    net: Net,
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
    let node = start_node(Start {
        net: &net,
        data_dir: Some(&data_dir),
        interest: InterestProfile::none(),
        config: NodeConfig {
            topics,
            // A command-line node is usually someone's bootstrap peer: it relays every topic
            // its peers carry, so clients linked only to it still see them all.
            follow_peer_topics: true,
            ..NodeConfig::default()
        },
        lie: false,
    })
    .await?;
    print_listening(&node);
    for f in &files {
        let (topic, seq) = node.announce(build(&node, f)?).await?;
        println!(
            "announced {} topic {} seq {seq}",
            f.capability,
            topic.as_str()
        );
    }
    run_until_stopped(node, seconds).await
}

async fn run_discover(
    net: Net,
    wait_secs: u64,
    expect: Option<usize>,
    k: usize,
    json: bool,
    intent: String,
) -> Result<(), Box<dyn Error>> {
    let mut node = start_node(Start {
        net: &net,
        data_dir: None,
        interest: InterestProfile::everything(),
        config: NodeConfig {
            follow_peer_topics: true,
            ..NodeConfig::default()
        },
        lie: false,
    })
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
    if got == 0 && node.peers().await?.is_empty() {
        node.shutdown().await?;
        return Err(format!(
            "reached no peer at --bootstrap {} within {wait_secs} s",
            net.bootstrap.join(", ")
        )
        .into());
    }
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
                printable(&c.descriptor.capability, false),
                c.descriptor.topic.as_str(),
                c.descriptor.provider,
                printable(&c.descriptor.intent.summary, false)
            );
        }
    }
    node.shutdown().await?;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let Err(e) = run().await {
        // Display, not Debug: the reason as a sentence, then what caused it.
        eprintln!("error: {e}");
        let mut cause = e.source();
        while let Some(c) = cause {
            eprintln!("  caused by: {c}");
            cause = c.source();
        }
        std::process::exit(1);
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    // Diagnostics go to stderr, filtered by RUST_LOG (default: warnings); stdout keeps the
    // command's own output (JSON with --json).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().cmd {
        Cmd::Card { cmd } => run_card(cmd),
        Cmd::A2a(args) => run_a2a(args).await,
        Cmd::Node {
            transport,
            embed,
            listen,
            bootstrap,
            descriptor,
            data_dir,
            topic,
            seconds,
            libp2p,
        } => {
            let net =
                Net::server(transport.transport, listen, bootstrap, libp2p).embeddings(&embed);
            run_node(net, descriptor, data_dir, topic, seconds).await
        }
        Cmd::Discover {
            transport,
            embed,
            bootstrap,
            wait_secs,
            expect,
            k,
            json,
            intent,
        } => {
            let net = Net::client(transport.transport, bootstrap).embeddings(&embed);
            run_discover(net, wait_secs, expect, k, json, intent).await
        }
        Cmd::Serve {
            transport,
            embed,
            listen,
            bootstrap,
            descriptor,
            data_dir,
            exec,
            exec_timeout_secs,
            seconds,
            lie_with_receipts,
            bid,
            capacity,
            libp2p,
        } => {
            run_serve(ServeArgs {
                bid: bid.policy()?,
                advertise: !bid.no_advertise,
                capacity,
                net: Net::server(transport.transport, listen, bootstrap, libp2p).embeddings(&embed),
                descriptors: descriptor,
                data_dir,
                exec,
                exec_timeout: Duration::from_secs(exec_timeout_secs),
                seconds,
                lie: lie_with_receipts,
            })
            .await
        }
        Cmd::Request(args) => {
            if !run_request(args).await? {
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Mcp(args) => run_mcp(args).await,
        Cmd::Workflow(args) => {
            if !run_workflow(args).await? {
                std::process::exit(1);
            }
            Ok(())
        }
        Cmd::Reputation {
            transport,
            data_dir,
            topic,
            json,
        } => {
            let net = Net::client(transport.transport, Vec::new());
            run_reputation(net, data_dir, topic, json).await
        }
    }
}

/// A node's agent settings for the command line: quick trust rounds, so a short-lived
/// requester sees reputation move before it exits.
fn agent_config() -> AgentConfig {
    let mut a = AgentConfig::default();
    a.trust_interval = Duration::from_millis(500);
    a
}

/// Print one line per notable event until interrupted (Ctrl-C) or for `seconds`, then stop
/// the node.
async fn run_until_stopped(mut node: Node, seconds: Option<u64>) -> Result<(), Box<dyn Error>> {
    use agentnet_transport::agent::AgentEvent;
    let stop = async {
        match seconds {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::pin!(stop);
    let units = |m: u64| m as f64 / UNIT as f64;
    loop {
        tokio::select! {
            () = &mut stop => break,
            ev = node.next_event() => {
                let Some(ev) = ev else { break };
                match ev {
                    NodeEvent::LinkUp(l) => println!("link up {} {} ({})", l.link, l.peer, l.remote),
                    NodeEvent::LinkDown { link, peer, reason } => {
                        println!("link down {link} {peer}: {}", printable(&reason.to_string(), false));
                    }
                    NodeEvent::Refused { remote, reason } => {
                        println!("refused {}: {}", printable(&remote, false), printable(&reason.to_string(), false));
                    }
                    NodeEvent::Gossip(GossipEvent::Header { author, topic, seq, .. }) => {
                        println!("header {} {} seq {seq}", author, topic.as_str());
                    }
                    NodeEvent::Gossip(GossipEvent::Equivocation { what, .. }) => {
                        println!("equivocation by {} in {} at seq {}", what.author, what.topic.as_str(), what.seq);
                    }
                    NodeEvent::Agent(AgentEvent::Offer { requester, capability, accepted, .. }) => {
                        match accepted {
                            Ok(()) => println!("offer from {requester} for {} accepted", printable(&capability.unwrap_or_default(), false)),
                            Err(why) => println!("offer from {requester} declined: {}", printable(&why.to_string(), false)),
                        }
                    }
                    NodeEvent::Agent(AgentEvent::IntentReceived { requester, summary, bid, .. }) => {
                        let what = printable(&summary, false);
                        match bid {
                            Some((cap, price, ms)) => println!(
                                "intent from {requester}: {what}; bid {:.2} units, {ms} ms for {}",
                                units(price),
                                printable(&cap, false)
                            ),
                            None => println!("intent from {requester}: {what}; no bid"),
                        }
                    }
                    NodeEvent::Agent(AgentEvent::Served { requester, payment, slashed, disputed, .. }) => {
                        println!(
                            "settled with {requester}: paid {:.2} units, slashed {:.2}{}",
                            units(payment),
                            units(slashed),
                            if disputed { " (disputed)" } else { "" }
                        );
                    }
                    NodeEvent::Agent(AgentEvent::Convicted { offender, kind, .. }) => {
                        println!("convicted {offender}: {kind}");
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

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn peer_text_cannot_drive_the_terminal() {
        assert_eq!(printable("plain text", false), "plain text");
        assert_eq!(printable("\u{1b}[2Jgone", false), "\\u{1b}[2Jgone");
        assert_eq!(printable("a\rb", false), "a\\rb");
        assert_eq!(printable("two\nlines\tok", true), "two\nlines\tok");
        assert_eq!(printable("one\nline", false), "one\\nline");
        assert_eq!(printable("\u{9b}31m", true), "\\u{9b}31m");
    }
}
