//! Discovery under churn: bodyless topic narrowcast (the gossip engine) against a baseline that
//! floods full descriptors to every node, in the same run and on the same scenario.
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin gossip_discovery -- --nodes 200 --churn 0.2 --json
//! ```
//!
//! # Scenario (identical for both schemes)
//!
//! Everything below is drawn from seeded streams that do not depend on the scheme, and each
//! scheme runs in its own [`Sim`] built with the same seed, the same nodes, the same links in
//! the same order and the same churn call, so both see the same topology, the same crash and
//! restart times and the same request schedule (the program checks that both runs picked the
//! same requesters and reports it as `same_requesters`).
//!
//! - **Topics and capabilities.** `--topics` (≤ 4) topics, each with `--providers-per-topic`
//!   (≤ 8) capability families with distinct intents (the table in [`TABLE`]: a capability
//!   name, a one-line summary, two tags and one paraphrase a requester types). Every family is
//!   offered by `--replicas` providers (default 3), so a family disappears only if all its
//!   providers are down at once.
//! - **Nodes.** Node `i` belongs to topic `i mod topics`. Providers are picked at random among
//!   the nodes of their topic; every node has `--needs` (default 3) families of its topic it
//!   will ask about (never the one it provides itself).
//! - **Topology.** Each node dials `--dials` (6) others: `--topic-dials` (4) of them drawn from
//!   the nodes of its own topic (what a host's topic-aware peer discovery does, as gossipsub's
//!   peer exchange does), the rest from the whole network. The average degree is about
//!   `2 × dials`. Links are `LinkModel::uniform(20 ms, 150 ms)` (`--loss` adds loss; default
//!   none). With `--topic-dials 0` the dials are uniformly random; with 200 nodes and four
//!   topics a node then has about three neighbours in its topic and a few percent of nodes have
//!   none, which no topic narrowcast can work around.
//! - **Churn.** `Sim::start_churn` at time 0 with `fraction = --churn` (0.2), mean up time
//!   `--mean-up-secs` (20 s) and mean down time `--mean-down-secs` (5 s), both exponential: a
//!   churning node is down about 20 % of the time, so about 4 % of all nodes are down at any
//!   moment, and a churning node restarts about every 25 s. A crash loses everything but the
//!   durable store each scheme models (below).
//! - **Publishing.** Each provider publishes its descriptor (TTL `--ttl-secs`, 15 s, with one
//!   endpoint) at a random time in the first 2 s, and re-issues it when 0.6 of the TTL has
//!   passed, checked on a 1 s heartbeat (the gossip engine's own refresh rule; the flooding
//!   node copies it). A restarted provider publishes again at once.
//! - **Requests.** `--requests` (400) requests at uniformly random times (10 ms grid) between
//!   the end of the warm-up (`--warmup-secs`, 20 s) and `duration - timeout`, so every request
//!   ends inside the run (`--duration-secs`, 120 s). At its time, a request picks a node
//!   uniformly among those up, and one of that node's needs; the query is that family's
//!   paraphrase, with `Requirements { topic: the node's topic }`, `k = --k` (5).
//!
//! # The two schemes
//!
//! - **`bodyless`**: `Sim<GossipEngine>`, default [`GossipConfig`] (the knobs `--anti-entropy-ms`,
//!   `--heartbeat-ms`, `--body-timeout-ms`, `--mesh-d`, `--lazy-interval-ms`, `--iwant-delay-ms`
//!   override it). Every node subscribes to its
//!   one topic only, so headers travel only among that topic's nodes (narrowcast). Its interest
//!   profile (`--interest intents`, default) is `InterestProfile::from_texts` of the
//!   paraphrases it will ask about, threshold `--interest-threshold` (0.4), restricted to its
//!   topic: every node relays every header of its topic, but pulls only the bodies whose header
//!   sketch matches something it will ask for, which is the point of bodyless gossip.
//!   `--interest topic` (`InterestProfile::everything().with_topics(..)`) pulls every body of
//!   the topic instead. Durable storage follows `tests/common`: an engine factory restores the
//!   own log heads from a [`HeadStore`] that outlives crashes, re-subscribes, re-sets the
//!   interest and, for a provider, publishes again (the log continues at the restored seq);
//!   [`pump`] runs every 10 ms of virtual time to persist and confirm heads.
//! - **`flood`**: `Sim<FloodNode>`, a thin host around the shared
//!   [`FloodEngine`] baseline: providers sign their descriptor and `inject` it (and a fresh,
//!   re-signed one on the same refresh rule), every node forwards every new valid descriptor
//!   frame on all its links, and keeps a [`DiscoveryIndex`] of the descriptors delivered to it,
//!   embedded with the same `HashedNgramEncoder::default()` and queried with the same ranking
//!   and `min_similarity` as the gossip engine. A restarted flooding node starts empty: there is
//!   no anti-entropy, which is the baseline's nature.
//!
//! # Measures
//!
//! - **Success.** From its issue time, a request polls the requester's local discovery every
//!   `--poll-ms` (50 ms). It **succeeds** at the first poll whose top `k` candidates include a
//!   descriptor of the intended capability whose provider is up at that moment. It **fails** if
//!   `--timeout-ms` (5 s) pass without that, or if the requester crashes first (counted as a
//!   failure, reported separately as `requester_down`). `success_rate = successes / requests`.
//!   Failures at the timeout are classified: `no_live_provider` (no provider of the family is
//!   up), `ranked_out` (the index held a live provider's descriptor of the family but not in
//!   the top `k`), `stale_only` (it held the family only from providers that are down),
//!   `missing` (it held nothing of the family).
//! - **Latency**: time from issue to the successful poll (0 when the first poll succeeds);
//!   `p50_latency_ms` and `p95_latency_ms` are over successful requests (nearest rank).
//!   `p95_latency_all_ms` counts failures as infinite (`null` if more than 5 % failed).
//!   Both schemes keep descriptors ahead of requests, so most requests succeed at the first
//!   poll and these figures are mostly 0; the next measure shows how fresh that state is.
//! - **Descriptor propagation** (`descriptor_propagation`): for every descriptor version issued
//!   in the measurement window, the delay from its `issued_at` until a node puts it into its
//!   discovery index (bodyless: the header arrived and the body was pulled, so only interested
//!   nodes count; flood: the frame was delivered), counted only at nodes up since before the
//!   issue. For bodyless, `engine.header_propagation` is the same for header arrival at every
//!   node of the topic.
//! - **Bytes**: `bytes_per_request` = payload bytes sent by all nodes, all message kinds
//!   (simulator metrics), during the measurement window (end of warm-up to end of run),
//!   divided by the number of requests. `messages_per_node_per_s` = frames sent in the window /
//!   nodes / window seconds. For bodyless the bytes are split by class: `header` (kind 0x0101),
//!   `body` (0x010d) and `control` (everything else: subscribe, graft, prune, IHave, IWant,
//!   choke, digest, vector, pull, body request / missing). `bytes_ratio` = bodyless / flood
//!   bytes per request.
//!
//! # Output
//!
//! With `--json`, one JSON object on stdout:
//! `{"nodes":..,"churn":..,"seed":..,..,"schemes":[{"scheme":"bodyless",..},{"scheme":"flood",..}],
//! "bytes_ratio":..,"goals":{..}}`. In `--out` (default `target/experiments/gossip_discovery`):
//! `results.json` (the same object, plus `table_check`: how well each paraphrase separates from
//! the other families of its topic), `requests.csv` (one row per request per scheme),
//! `bytes_per_request.svg`, `latency_cdf.svg` and `latency_cdf.csv`. Progress and a summary go
//! to stderr.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, DescriptorRules, Topic};
use agentnet_core::semantic::{HashedNgramEncoder, SemanticEncoder, Sketch};
use agentnet_core::sim::SimRng;
use agentnet_core::sim::{ChurnConfig, EngineFactory, LinkModel, Metrics, NodeId, Sim, SimConfig};
use agentnet_core::{AgentId, Engine, Instant, Keypair, LinkId, Now, Signed, Transmit, WallTime};
use agentnet_examples::flood::{FloodEngine, FloodError};
use agentnet_examples::report::{self, Progress, Series};
use agentnet_gossip::discover::{FRESHNESS_SKEW, IndexLimits, intent_text};
use agentnet_gossip::simhost::{HeadStore, pump};
use agentnet_gossip::{
    Candidate, DiscoveryIndex, Event, GossipConfig, GossipEngine, InterestProfile, Requirements,
};
use bytes::Bytes;
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

/// Virtual time between two host steps (persistence pump, request issue and polls).
const STEP_MS: u64 = 10;
/// Initial publishes are spread over this many milliseconds.
const PUBLISH_SPREAD_MS: u64 = 2_000;
/// The gossip engine's re-issue point, as a fraction of the TTL (`GossipConfig::refresh_fraction`).
const REFRESH_FRACTION: f64 = 0.6;
/// Heartbeat of the flooding node (index pruning and the refresh check), like the engine's.
const FLOOD_HEARTBEAT: Duration = Duration::from_secs(1);

// =============================================================================================
// Command line
// =============================================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum InterestMode {
    /// Pull bodies whose header sketch matches one of the node's own query intents.
    Intents,
    /// Pull every body of the node's topic.
    Topic,
}

#[derive(Parser, Debug, Clone)]
#[command(
    name = "gossip_discovery",
    about = "Bodyless topic narrowcast vs flooding full descriptors: discovery success, bytes and latency under churn"
)]
struct Args {
    /// Number of nodes.
    #[arg(long, default_value_t = 200)]
    nodes: u32,
    /// Fraction of nodes that crash and restart (Sim::start_churn).
    #[arg(long, default_value_t = 0.2)]
    churn: f64,
    /// Mean up time of a churning node, seconds (exponential).
    #[arg(long, default_value_t = 20.0)]
    mean_up_secs: f64,
    /// Mean down time of a churning node, seconds (exponential).
    #[arg(long, default_value_t = 5.0)]
    mean_down_secs: f64,
    /// Number of topics (at most 4).
    #[arg(long, default_value_t = 4)]
    topics: usize,
    /// Capability families per topic (at most 8).
    #[arg(long, default_value_t = 8)]
    providers_per_topic: usize,
    /// Providers per capability family.
    #[arg(long, default_value_t = 3)]
    replicas: usize,
    /// Families of its topic each node asks about.
    #[arg(long, default_value_t = 3)]
    needs: usize,
    /// Discovery requests.
    #[arg(long, default_value_t = 400)]
    requests: usize,
    /// Virtual run length, seconds.
    #[arg(long, default_value_t = 120)]
    duration_secs: u64,
    /// Warm-up before the measurement window, seconds.
    #[arg(long, default_value_t = 20)]
    warmup_secs: u64,
    /// Links each node dials.
    #[arg(long, default_value_t = 6)]
    dials: u32,
    /// Of those, links dialled to nodes of the node's own topic.
    #[arg(long, default_value_t = 4)]
    topic_dials: u32,
    /// Loss probability of every link.
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// Descriptor TTL, seconds.
    #[arg(long, default_value_t = 15)]
    ttl_secs: u64,
    /// Candidates a discovery returns.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// Request timeout, milliseconds.
    #[arg(long, default_value_t = 5_000)]
    timeout_ms: u64,
    /// Poll period of a pending request, milliseconds (a multiple of 10).
    #[arg(long, default_value_t = 50)]
    poll_ms: u64,
    /// Which bodies a bodyless node pulls.
    #[arg(long, value_enum, default_value_t = InterestMode::Intents)]
    interest: InterestMode,
    /// Sketch similarity threshold of the interest profile.
    #[arg(long, default_value_t = 0.4)]
    interest_threshold: f32,
    /// GossipConfig::anti_entropy override, milliseconds.
    #[arg(long)]
    anti_entropy_ms: Option<u64>,
    /// GossipConfig::heartbeat override, milliseconds.
    #[arg(long)]
    heartbeat_ms: Option<u64>,
    /// GossipConfig::body_timeout override, milliseconds.
    #[arg(long)]
    body_timeout_ms: Option<u64>,
    /// GossipConfig::mesh_d override.
    #[arg(long)]
    mesh_d: Option<usize>,
    /// GossipConfig::lazy_interval override, milliseconds.
    #[arg(long)]
    lazy_interval_ms: Option<u64>,
    /// GossipConfig::iwant_delay override, milliseconds.
    #[arg(long)]
    iwant_delay_ms: Option<u64>,
    /// Seed of everything.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    json: bool,
    /// Directory for results.json, requests.csv and the charts.
    #[arg(long, default_value = "target/experiments/gossip_discovery")]
    out: PathBuf,
}

// =============================================================================================
// Capability table
// =============================================================================================

/// One capability family: what providers announce and how a requester asks for it.
#[derive(Clone, Copy, Debug)]
struct Family {
    cap: &'static str,
    summary: &'static str,
    tags: [&'static str; 2],
    query: &'static str,
}

#[derive(Debug)]
struct TopicRow {
    name: &'static str,
    families: [Family; 8],
}

const fn fam(
    cap: &'static str,
    summary: &'static str,
    tags: [&'static str; 2],
    query: &'static str,
) -> Family {
    Family {
        cap,
        summary,
        tags,
        query,
    }
}

/// Topics × capability families × (summary, tags, the paraphrase a requester types).
const TABLE: [TopicRow; 4] = [
    TopicRow {
        name: "creative/image",
        families: [
            fam(
                "image.generate",
                "generate images from a text prompt",
                ["image", "generation"],
                "generate a picture from my text prompt",
            ),
            fam(
                "image.upscale",
                "upscale low resolution photos to a higher resolution",
                ["upscaling", "photo"],
                "upscale this low resolution photo",
            ),
            fam(
                "image.background",
                "remove the background from product photos",
                ["background", "cutout"],
                "remove the background of my product photo",
            ),
            fam(
                "image.caption",
                "write a short caption that describes an image",
                ["caption", "accessibility"],
                "describe this image with a caption",
            ),
            fam(
                "image.style",
                "repaint a photo in the style of a famous painter",
                ["style", "painting"],
                "repaint my photo in the style of a painter",
            ),
            fam(
                "image.inpaint",
                "fill masked or damaged regions of a picture",
                ["inpainting", "repair"],
                "fill in the damaged region of this picture",
            ),
            fam(
                "image.logo",
                "design a vector logo for a brand or company",
                ["logo", "vector"],
                "design a logo for my company",
            ),
            fam(
                "image.colorize",
                "colorize old black and white photographs",
                ["colorization", "restoration"],
                "colorize a black and white photograph",
            ),
        ],
    },
    TopicRow {
        name: "text/translate",
        families: [
            fam(
                "translate.en-fr",
                "translate english text into french",
                ["french", "translation"],
                "translate this english text to french",
            ),
            fam(
                "translate.en-de",
                "translate english text into german",
                ["german", "translation"],
                "translate this english text to german",
            ),
            fam(
                "translate.ja-en",
                "translate japanese documents into english",
                ["japanese", "documents"],
                "translate a japanese document to english",
            ),
            fam(
                "translate.legal",
                "translate legal contracts with certified terminology",
                ["legal", "contracts"],
                "translate a legal contract with certified terminology",
            ),
            fam(
                "translate.subtitles",
                "translate movie subtitles while keeping their timing",
                ["subtitles", "video"],
                "translate the subtitles of a movie",
            ),
            fam(
                "translate.detect",
                "detect which language a text is written in",
                ["language", "identification"],
                "which language is this text written in",
            ),
            fam(
                "translate.localize",
                "localize user interface strings of mobile apps",
                ["localization", "apps"],
                "localize the interface strings of my mobile app",
            ),
            fam(
                "translate.speech",
                "translate spoken audio into another language in real time",
                ["speech", "audio"],
                "translate spoken audio in real time",
            ),
        ],
    },
    TopicRow {
        name: "data/analysis",
        families: [
            fam(
                "data.sql",
                "answer questions by writing sql queries over a database",
                ["sql", "database"],
                "write an sql query over my database",
            ),
            fam(
                "data.forecast",
                "forecast future values of sales time series",
                ["forecasting", "timeseries"],
                "forecast next month sales from a time series",
            ),
            fam(
                "data.clean",
                "clean and deduplicate messy csv spreadsheets",
                ["cleaning", "csv"],
                "deduplicate the rows of a messy csv file",
            ),
            fam(
                "data.chart",
                "plot bar and line charts from tabular data",
                ["charts", "plotting"],
                "plot a bar chart from my tabular data",
            ),
            fam(
                "data.anomaly",
                "detect anomalies and outliers in sensor readings",
                ["anomaly", "sensors"],
                "find outliers in my sensor readings",
            ),
            fam(
                "data.sentiment",
                "classify the sentiment of customer reviews",
                ["sentiment", "reviews"],
                "classify the sentiment of these customer reviews",
            ),
            fam(
                "data.invoice",
                "extract fields and totals from scanned pdf invoices",
                ["extraction", "pdf"],
                "extract the totals from a scanned invoice",
            ),
            fam(
                "data.geocode",
                "geocode street addresses into latitude and longitude",
                ["geocoding", "maps"],
                "geocode this street address",
            ),
        ],
    },
    TopicRow {
        name: "dev/code",
        families: [
            fam(
                "code.review",
                "review pull requests and point out bugs",
                ["review", "bugs"],
                "review my pull request for bugs",
            ),
            fam(
                "code.tests",
                "write unit tests for python functions",
                ["testing", "python"],
                "write unit tests for this python function",
            ),
            fam(
                "code.explain",
                "explain what a piece of source code does",
                ["explanation", "onboarding"],
                "explain what this source code does",
            ),
            fam(
                "code.port",
                "port javascript projects to typescript",
                ["typescript", "migration"],
                "port my javascript project to typescript",
            ),
            fam(
                "code.regex",
                "write regular expressions for a described pattern",
                ["regex", "patterns"],
                "write a regular expression for a pattern i describe",
            ),
            fam(
                "code.docs",
                "generate api documentation from source comments",
                ["documentation", "api"],
                "generate api documentation for my library",
            ),
            fam(
                "code.ci",
                "diagnose and fix failing continuous integration builds",
                ["ci", "builds"],
                "fix my failing continuous integration build",
            ),
            fam(
                "code.security",
                "scan dependencies for known security vulnerabilities",
                ["security", "dependencies"],
                "scan my dependencies for security vulnerabilities",
            ),
        ],
    },
];

/// The text the engines embed for a family's descriptors (what `intent_text` gives).
fn family_intent(f: &Family) -> String {
    let mut s = f.summary.to_string();
    for t in f.tags {
        s.push(' ');
        s.push_str(t);
    }
    s
}

// =============================================================================================
// Scenario
// =============================================================================================

/// A family in the run: its topic index and its table row.
#[derive(Clone, Copy, Debug)]
struct Fam {
    topic: usize,
    f: Family,
}

#[derive(Clone, Copy, Debug)]
struct ReqSpec {
    at_ms: u64,
    pick: u64,
    need_pick: u64,
}

/// Everything both schemes share.
#[derive(Debug)]
struct Scenario {
    n: u32,
    topics: Vec<Topic>,
    fams: Vec<Fam>,
    topic_of: Vec<usize>,
    provides: Vec<Option<usize>>,
    providers: Vec<Vec<NodeId>>,
    needs: Vec<Vec<usize>>,
    edges: Vec<(NodeId, NodeId)>,
    publish_at: Vec<(u64, NodeId, usize)>,
    requests: Vec<ReqSpec>,
    agents: BTreeMap<AgentId, NodeId>,
    ttl: Duration,
    seed: [u8; 32],
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s
}

/// The node's long-term keys (deterministic per node, stable across restarts).
fn keypair(node: NodeId) -> Keypair {
    let mut s = [0u8; 32];
    s[..4].copy_from_slice(&node.0.to_le_bytes());
    s[31] = 0xd1;
    Keypair::from_seed(s)
}

fn shuffle<T>(rng: &mut SimRng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

impl Scenario {
    fn new(a: &Args) -> Result<Scenario, String> {
        if !(1..=TABLE.len()).contains(&a.topics) {
            return Err(format!("--topics must be 1..={}", TABLE.len()));
        }
        if !(1..=8).contains(&a.providers_per_topic) {
            return Err("--providers-per-topic must be 1..=8".into());
        }
        if a.replicas == 0 || a.needs == 0 || a.nodes < 2 || a.k == 0 {
            return Err(
                "--replicas, --needs, --k must be at least 1 and --nodes at least 2".into(),
            );
        }
        if a.poll_ms == 0 || !a.poll_ms.is_multiple_of(STEP_MS) {
            return Err(format!(
                "--poll-ms must be a positive multiple of {STEP_MS}"
            ));
        }
        if a.topic_dials > a.dials {
            return Err("--topic-dials must not exceed --dials".into());
        }
        let n = a.nodes;
        let seed = seed_bytes(a.seed);
        let topics: Vec<Topic> = TABLE[..a.topics]
            .iter()
            .map(|r| Topic::new(r.name).expect("table topics are valid"))
            .collect();
        let mut fams = Vec::new();
        for (t, row) in TABLE[..a.topics].iter().enumerate() {
            for f in &row.families[..a.providers_per_topic] {
                fams.push(Fam { topic: t, f: *f });
            }
        }
        let topic_of: Vec<usize> = (0..n as usize).map(|i| i % a.topics).collect();
        let members: Vec<Vec<u32>> = (0..a.topics)
            .map(|t| (0..n).filter(|i| topic_of[*i as usize] == t).collect())
            .collect();

        // Roles: providers and needs.
        let mut roles = SimRng::stream(seed, 0x6764_0002);
        let mut provides = vec![None; n as usize];
        let mut providers = vec![Vec::new(); fams.len()];
        for (t, m) in members.iter().enumerate() {
            let mut m = m.clone();
            shuffle(&mut roles, &mut m);
            let want = a.providers_per_topic * a.replicas;
            if want > m.len() {
                return Err(format!(
                    "topic {t} has {} nodes but needs {want} providers",
                    m.len()
                ));
            }
            for c in 0..a.providers_per_topic {
                for r in 0..a.replicas {
                    let node = m[c * a.replicas + r];
                    let f = t * a.providers_per_topic + c;
                    provides[node as usize] = Some(f);
                    providers[f].push(NodeId(node));
                }
            }
        }
        let mut needs = Vec::with_capacity(n as usize);
        for node in 0..n as usize {
            let t = topic_of[node];
            let mut cands: Vec<usize> = (0..fams.len())
                .filter(|f| fams[*f].topic == t && Some(*f) != provides[node])
                .collect();
            shuffle(&mut roles, &mut cands);
            cands.truncate(a.needs.min(cands.len()));
            if cands.is_empty() {
                return Err("a node has nothing to ask for (need at least 2 families)".into());
            }
            cands.sort_unstable();
            needs.push(cands);
        }
        let mut publish_at: Vec<(u64, NodeId, usize)> = Vec::new();
        for (node, p) in provides.iter().enumerate() {
            if let Some(f) = p {
                let at = roles.below(PUBLISH_SPREAD_MS / STEP_MS) * STEP_MS;
                publish_at.push((at, NodeId(node as u32), *f));
            }
        }
        publish_at.sort_by_key(|p| (p.0, p.1));

        // Topology.
        let mut topo = SimRng::stream(seed, 0x6764_0001);
        let all: Vec<u32> = (0..n).collect();
        let mut set: BTreeSet<(u32, u32)> = BTreeSet::new();
        let mut edges = Vec::new();
        for x in 0..n {
            let own = &members[topic_of[x as usize]];
            for (pool, k) in [(own, a.topic_dials), (&all, a.dials - a.topic_dials)] {
                let (mut made, mut tries) = (0, 0);
                while made < k && tries < k * 20 && pool.len() > 1 {
                    tries += 1;
                    let y = pool[topo.below(pool.len() as u64) as usize];
                    if y != x && set.insert((x.min(y), x.max(y))) {
                        made += 1;
                        edges.push((NodeId(x), NodeId(y)));
                    }
                }
            }
        }

        // Requests.
        let dur = a.duration_secs * 1000;
        let lo = a.warmup_secs * 1000;
        let hi = dur.saturating_sub(a.timeout_ms + STEP_MS);
        if hi <= lo {
            return Err("--duration-secs leaves no room for requests after the warm-up".into());
        }
        let mut rq = SimRng::stream(seed, 0x6764_0003);
        let slots = (hi - lo) / STEP_MS;
        let mut requests: Vec<ReqSpec> = (0..a.requests)
            .map(|_| ReqSpec {
                at_ms: lo + rq.below(slots) * STEP_MS,
                pick: rq.next_u64(),
                need_pick: rq.next_u64(),
            })
            .collect();
        requests.sort_by_key(|r| r.at_ms);

        let agents = (0..n)
            .map(|i| (keypair(NodeId(i)).id(), NodeId(i)))
            .collect();
        Ok(Scenario {
            n,
            topics,
            fams,
            topic_of,
            provides,
            providers,
            needs,
            edges,
            publish_at,
            requests,
            agents,
            ttl: Duration::from_secs(a.ttl_secs),
            seed,
        })
    }

    fn topic(&self, node: NodeId) -> &Topic {
        &self.topics[self.topic_of[node.index()]]
    }

    /// The descriptor `node` publishes for `family`, issued at `now`.
    fn descriptor(&self, node: NodeId, family: usize, now: Now) -> CapabilityDescriptor {
        let f = &self.fams[family];
        CapabilityDescriptor::builder(
            keypair(node).id(),
            f.f.cap,
            self.topics[f.topic].as_str(),
            f.f.summary,
        )
        .tags(f.f.tags)
        .endpoints([format!("quic://agent-{}.agentnet.example:4433", node.0)])
        .ttl(self.ttl)
        .build(now)
        .expect("table descriptors are valid")
    }

    fn live_providers(&self, family: usize, up: impl Fn(NodeId) -> bool) -> usize {
        self.providers[family].iter().filter(|n| up(**n)).count()
    }
}

/// How well the table separates families: for every paraphrase, its cosine to its own family's
/// intent against the best other family of the topic, and its sketch similarity to its own
/// family's header sketch (what the interest filter compares).
fn table_check(sc: &Scenario, threshold: f32) -> Value {
    let enc = HashedNgramEncoder::default();
    let mut rows = Vec::new();
    let (mut first, mut interest_misses) = (0, 0);
    let mut min_margin = f32::MAX;
    for (i, f) in sc.fams.iter().enumerate() {
        let q = enc.encode(f.f.query);
        let qs = q.sketch();
        let own = q.cosine(&enc.encode(&family_intent(&f.f)));
        let own_sketch = qs.similarity(&Sketch::from_embedding(&enc.encode(&family_intent(&f.f))));
        let mut best_other = f32::MIN;
        let mut pulled_other = 0;
        for (j, g) in sc.fams.iter().enumerate() {
            if j == i || g.topic != f.topic {
                continue;
            }
            let e = enc.encode(&family_intent(&g.f));
            best_other = best_other.max(q.cosine(&e));
            if qs.similarity(&Sketch::from_embedding(&e)) >= threshold {
                pulled_other += 1;
            }
        }
        if own > best_other {
            first += 1;
        }
        if own_sketch < threshold {
            interest_misses += 1;
            eprintln!(
                "warning: interest for {} misses its own family (sketch {own_sketch:.2} < {threshold})",
                f.f.cap
            );
        }
        if own <= best_other {
            eprintln!(
                "warning: query for {} ranks another family first ({own:.2} <= {best_other:.2})",
                f.f.cap
            );
        }
        min_margin = min_margin.min(own - best_other);
        rows.push(json!({
            "capability": f.f.cap,
            "cosine_own": own,
            "cosine_best_other": best_other,
            "sketch_own": own_sketch,
            "other_families_pulled": pulled_other,
        }));
    }
    json!({
        "families": sc.fams.len(),
        "queries_ranking_own_family_first": first,
        "min_cosine_margin": min_margin,
        "interest_misses": interest_misses,
        "rows": rows,
    })
}

// =============================================================================================
// The flooding node
// =============================================================================================

fn flood_valid(d: &Signed<CapabilityDescriptor>, now: Now) -> bool {
    d.validate(now, &DescriptorRules::default()).is_ok()
}

/// A host around [`FloodEngine`]: keeps a discovery index of the descriptors delivered to it and,
/// for a provider, signs and injects its descriptor and re-issues it on the engine's refresh rule.
struct FloodNode {
    inner: FloodEngine<CapabilityDescriptor>,
    index: DiscoveryIndex,
    encoder: HashedNgramEncoder,
    provider: Option<(Keypair, CapabilityDescriptor)>,
    refresh_at: Option<WallTime>,
    start_at: Option<Instant>,
    next_beat: Instant,
    delivered: u64,
    deliveries: Vec<FloodDelivery>,
}

/// A descriptor version delivered to a flooding node for the first time.
#[derive(Clone, Copy, Debug)]
struct FloodDelivery {
    issued_at: WallTime,
}

impl fmt::Debug for FloodNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FloodNode")
            .field("inner", &self.inner)
            .field("index", &self.index.len())
            .field("provider", &self.provider.is_some())
            .field("delivered", &self.delivered)
            .finish_non_exhaustive()
    }
}

impl FloodNode {
    fn new(
        now: Now,
        phase: Duration,
        provider: Option<(Keypair, CapabilityDescriptor)>,
        restarted: bool,
    ) -> Self {
        let start_at = (restarted && provider.is_some()).then_some(now.mono);
        FloodNode {
            inner: FloodEngine::new(65_536, flood_valid),
            index: DiscoveryIndex::new(IndexLimits::default()).expect("default limits are valid"),
            encoder: HashedNgramEncoder::default(),
            provider,
            refresh_at: None,
            start_at,
            next_beat: now.mono + phase,
            delivered: 0,
            deliveries: Vec::new(),
        }
    }

    /// Sign a fresh copy of the own descriptor and flood it.
    fn provide(&mut self, now: Now) {
        let Some((kp, template)) = &self.provider else {
            return;
        };
        let mut d = template.clone();
        d.issued_at = now.wall;
        self.refresh_at = Some(d.refresh_at(REFRESH_FRACTION));
        let signed = Signed::sign(kp, d).expect("signing works");
        self.inner.inject(signed.to_frame());
    }

    fn discover(&self, now: Now, intent: &str, req: &Requirements, k: usize) -> Vec<Candidate> {
        let q = self.encoder.encode(intent);
        let min = GossipConfig::default().min_similarity;
        self.index.query(now, &q, req, min, k)
    }
}

impl Engine for FloodNode {
    type Event = FloodDelivery;
    type Error = FloodError;

    fn handle_message(&mut self, now: Now, from: LinkId, payload: Bytes) -> Result<(), FloodError> {
        let r = self.inner.handle_message(now, from, payload);
        while let Some(ev) = self.inner.poll_event() {
            self.delivered += 1;
            self.deliveries.push(FloodDelivery {
                issued_at: ev.object.issued_at,
            });
            let emb = self.encoder.encode(&intent_text(&ev.object));
            self.index.insert(now, ev.object, emb);
        }
        r
    }

    fn handle_timeout(&mut self, now: Now) {
        if self.start_at.is_some_and(|t| t <= now.mono) {
            self.start_at = None;
            self.provide(now);
        }
        if self.next_beat <= now.mono {
            self.next_beat = now.mono + FLOOD_HEARTBEAT;
            self.index.prune(now.wall);
            if self.refresh_at.is_some_and(|t| t <= now.wall) {
                self.provide(now);
            }
        }
    }

    fn handle_link_up(&mut self, now: Now, link: LinkId) {
        self.inner.handle_link_up(now, link);
    }

    fn handle_link_down(&mut self, now: Now, link: LinkId) {
        self.inner.handle_link_down(now, link);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.inner.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<FloodDelivery> {
        self.deliveries.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Some(match self.start_at {
            Some(t) => t.min(self.next_beat),
            None => self.next_beat,
        })
    }
}

// =============================================================================================
// Schemes
// =============================================================================================

/// What the request driver needs from a scheme.
trait Scheme {
    type E: Engine<Event = Self::Ev>;
    type Ev: fmt::Debug;
    const NAME: &'static str;
    fn sim(&mut self) -> &mut Sim<Self::E>;
    fn sim_ref(&self) -> &Sim<Self::E>;
    /// After every host step: persistence, event and error bookkeeping.
    fn after_step(&mut self);
    /// A provider's first publish.
    fn publish(&mut self, node: NodeId, family: usize);
    fn index(e: &Self::E) -> &DiscoveryIndex;
    fn discover(
        e: &Self::E,
        now: Now,
        intent: &str,
        req: &Requirements,
        k: usize,
    ) -> Vec<Candidate>;
    /// Scheme-specific numbers for the report.
    fn engine_report(&self) -> Value;
    /// The descriptor propagation delays (ms) observed (see [`Lifecycle`]); taken once.
    fn propagation(&mut self) -> Vec<f64>;
}

/// An error text with every run of digits replaced by `N`, so errors group by kind.
fn error_class(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().take(96) {
        if c.is_ascii_digit() {
            if !out.ends_with('N') {
                out.push('N');
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn build_sim<E: Engine>(sc: &Scenario, a: &Args, factory: impl EngineFactory<E> + 'static) -> Sim<E>
where
    E::Event: fmt::Debug,
{
    let mut link = LinkModel::uniform(Duration::from_millis(20), Duration::from_millis(150));
    if a.loss > 0.0 {
        link = link.with_loss(a.loss);
    }
    let cfg = SimConfig {
        link,
        trace_events: false,
        ..SimConfig::seeded(a.seed)
    };
    let mut sim = Sim::with_factory(cfg, factory);
    for _ in 0..sc.n {
        sim.spawn().expect("factory set");
    }
    for (x, y) in &sc.edges {
        sim.connect(*x, *y);
    }
    if a.churn > 0.0 {
        sim.start_churn(ChurnConfig {
            fraction: a.churn,
            mean_up: Duration::from_secs_f64(a.mean_up_secs),
            mean_down: Duration::from_secs_f64(a.mean_down_secs),
        })
        .expect("factory set");
    }
    sim
}

/// When each node last (re)started, as the host sees it (10 ms resolution), and the
/// descriptor propagation delays observed so far.
#[derive(Debug)]
struct Lifecycle {
    inc: Vec<Option<u32>>,
    up_since_ms: Vec<u64>,
    warm_ms: u64,
    /// Delivery delays (ms) of descriptor versions issued in the measurement window, at nodes
    /// up since before the issue.
    propagation: Vec<f64>,
}

fn rel_ms(now: Now) -> u64 {
    now.mono.as_micros() / 1000
}

fn wall_rel_ms(w: WallTime) -> u64 {
    w.as_unix_millis()
        .saturating_sub(SimConfig::default().start.wall.as_unix_millis())
}

impl Lifecycle {
    fn new(n: u32, warm_ms: u64) -> Self {
        Lifecycle {
            inc: vec![Some(0); n as usize],
            up_since_ms: vec![0; n as usize],
            warm_ms,
            propagation: Vec::new(),
        }
    }

    fn update<E: Engine>(&mut self, sim: &Sim<E>)
    where
        E::Event: fmt::Debug,
    {
        let t = rel_ms(sim.now());
        for n in sim.node_ids() {
            let i = if sim.is_up(n) {
                sim.incarnation(n)
            } else {
                None
            };
            if i != self.inc[n.index()] {
                if i.is_some() {
                    self.up_since_ms[n.index()] = t;
                }
                self.inc[n.index()] = i;
            }
        }
    }

    fn since_start_ms(&self, node: NodeId, now: Now) -> u64 {
        rel_ms(now).saturating_sub(self.up_since_ms[node.index()])
    }

    /// `node` ingested a descriptor issued at `issued_at` at `now`.
    fn delivered(&mut self, node: NodeId, now: Now, issued_at: WallTime) {
        let issued = wall_rel_ms(issued_at);
        if issued >= self.warm_ms && self.up_since_ms[node.index()] <= issued {
            self.propagation
                .push(now.wall.saturating_duration_since(issued_at).as_secs_f64() * 1000.0);
        }
    }
}

// ----- bodyless -----

#[derive(Debug, Default)]
struct GossipTally {
    persist: u64,
    published: u64,
    headers: u64,
    headers_wanted: u64,
    descriptors: u64,
    body_unavailable: u64,
    expired_headers: u64,
    expired_descriptors: u64,
    equivocations: u64,
    penalized: u64,
    banned: u64,
    overflow_frames: u64,
    overflow_events: u64,
    /// Seconds between the banning node's last (re)start and each ban.
    ban_secs_after_restart: Vec<f64>,
    expired_refusals: u64,
    expired_refusals_within_10s_of_restart: u64,
}

/// The bodyless scheme: gossip engines, a durable head store and the event tallies.
struct Bodyless {
    sc: Rc<Scenario>,
    sim: Sim<GossipEngine>,
    store: Rc<RefCell<HeadStore>>,
    tally: GossipTally,
    errors: BTreeMap<String, u64>,
    life: Lifecycle,
    /// Arrival delays (ms) of headers issued in the window, at topic nodes up since before the
    /// issue (every topic node, interested or not).
    header_propagation: Vec<f64>,
}

impl fmt::Debug for Bodyless {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bodyless")
            .field("sim", &self.sim)
            .field("tally", &self.tally)
            .finish_non_exhaustive()
    }
}

fn gossip_config(a: &Args, node: NodeId, inc: u32) -> GossipConfig {
    let mut c = GossipConfig::default();
    c.seed[..4].copy_from_slice(&node.0.to_le_bytes());
    c.seed[4..8].copy_from_slice(&inc.to_le_bytes());
    c.seed[8..16].copy_from_slice(&a.seed.to_le_bytes());
    c.refresh_fraction = REFRESH_FRACTION;
    if let Some(ms) = a.anti_entropy_ms {
        c.anti_entropy = Duration::from_millis(ms);
    }
    if let Some(ms) = a.heartbeat_ms {
        c.heartbeat = Duration::from_millis(ms);
    }
    if let Some(ms) = a.body_timeout_ms {
        c.body_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = a.lazy_interval_ms {
        c.lazy_interval = Duration::from_millis(ms);
    }
    if let Some(ms) = a.iwant_delay_ms {
        c.iwant_delay = Duration::from_millis(ms);
    }
    if let Some(d) = a.mesh_d {
        c.mesh_d = d;
        c.mesh_d_lo = c.mesh_d_lo.min(d);
        c.mesh_d_hi = c.mesh_d_hi.max(d);
    }
    c
}

fn interest_profile(
    sc: &Scenario,
    a: &Args,
    node: NodeId,
    enc: &HashedNgramEncoder,
) -> InterestProfile {
    let topic = sc.topic(node).clone();
    match a.interest {
        InterestMode::Topic => InterestProfile::everything().with_topics(vec![topic]),
        InterestMode::Intents => {
            let texts: Vec<&str> = sc.needs[node.index()]
                .iter()
                .map(|f| sc.fams[*f].f.query)
                .collect();
            InterestProfile::from_texts(enc, &texts, a.interest_threshold).with_topics(vec![topic])
        }
    }
}

impl Bodyless {
    fn new(sc: &Rc<Scenario>, a: &Args) -> Self {
        let store = Rc::new(RefCell::new(HeadStore::new()));
        let (st, scf, af) = (store.clone(), sc.clone(), a.clone());
        let factory = move |node: NodeId, now: Now, inc: u32| {
            let enc = HashedNgramEncoder::default();
            let profile = interest_profile(&scf, &af, node, &enc);
            let mut e = GossipEngine::new(
                gossip_config(&af, node, inc),
                Box::new(keypair(node)),
                Box::new(enc),
                now,
            )
            .expect("valid gossip config");
            e.restore(now, st.borrow().heads(node))
                .expect("own heads restore");
            e.subscribe(now, scf.topic(node).clone())
                .expect("one topic fits");
            e.set_interest(profile);
            // A restarted provider announces again; its log continues at the restored seq.
            if inc > 0
                && let Some(f) = scf.provides[node.index()]
            {
                e.publish(now, scf.descriptor(node, f, now))
                    .expect("own descriptor publishes");
            }
            e
        };
        let sim = build_sim(sc, a, factory);
        Bodyless {
            sc: sc.clone(),
            sim,
            store,
            tally: GossipTally::default(),
            errors: BTreeMap::new(),
            life: Lifecycle::new(sc.n, a.warmup_secs * 1000),
            header_propagation: Vec::new(),
        }
    }
}

impl Scheme for Bodyless {
    type E = GossipEngine;
    type Ev = Event;
    const NAME: &'static str = "bodyless";

    fn sim(&mut self) -> &mut Sim<GossipEngine> {
        &mut self.sim
    }

    fn sim_ref(&self) -> &Sim<GossipEngine> {
        &self.sim
    }

    fn after_step(&mut self) {
        self.life.update(&self.sim);
        let events = pump(&mut self.sim, &mut self.store.borrow_mut());
        let t = &mut self.tally;
        for (now, node, e) in events {
            match e {
                Event::PersistHead(_) => t.persist += 1,
                Event::Published { .. } => t.published += 1,
                Event::Header {
                    wanted,
                    author,
                    topic,
                    seq,
                    ..
                } => {
                    t.headers += 1;
                    t.headers_wanted += u64::from(wanted);
                    let issued = self
                        .sim
                        .engine(node)
                        .and_then(|e| e.header(&topic, &author, seq))
                        .map(|h| h.issued_at);
                    if let Some(at) = issued
                        && wall_rel_ms(at) >= self.life.warm_ms
                        && self.life.up_since_ms[node.index()] <= wall_rel_ms(at)
                    {
                        let ms = now.wall.saturating_duration_since(at).as_secs_f64() * 1000.0;
                        self.header_propagation.push(ms);
                    }
                }
                Event::Descriptor(d) => {
                    t.descriptors += 1;
                    self.life.delivered(node, now, d.issued_at);
                }
                Event::BodyUnavailable { .. } => t.body_unavailable += 1,
                Event::Equivocation { .. } => t.equivocations += 1,
                Event::Expired {
                    headers,
                    descriptors,
                } => {
                    t.expired_headers += headers as u64;
                    t.expired_descriptors += descriptors as u64;
                }
                Event::LinkPenalized { .. } => t.penalized += 1,
                Event::LinkBanned { .. } => {
                    t.banned += 1;
                    let secs = self.life.since_start_ms(node, now) as f64 / 1000.0;
                    t.ban_secs_after_restart.push(secs);
                }
                Event::Overflow(o) if o.queue == "transmits" => t.overflow_frames += o.dropped,
                Event::Overflow(o) => t.overflow_events += o.dropped,
                _ => {}
            }
        }
        for (now, node, text) in self.sim.drain_errors() {
            if text == "expired" {
                t.expired_refusals += 1;
                if self.life.since_start_ms(node, now) < 10_000 {
                    t.expired_refusals_within_10s_of_restart += 1;
                }
            }
            *self.errors.entry(error_class(&text)).or_default() += 1;
        }
    }

    fn propagation(&mut self) -> Vec<f64> {
        core::mem::take(&mut self.life.propagation)
    }

    fn publish(&mut self, node: NodeId, family: usize) {
        let sc = self.sc.clone();
        // A provider that is down now publishes when it restarts (the factory does it).
        if let Some(r) = self.sim.command(node, |e, now| {
            e.publish(now, sc.descriptor(node, family, now))
        }) {
            r.expect("own descriptor publishes");
        }
    }

    fn index(e: &GossipEngine) -> &DiscoveryIndex {
        e.index()
    }

    fn discover(
        e: &GossipEngine,
        now: Now,
        intent: &str,
        req: &Requirements,
        k: usize,
    ) -> Vec<Candidate> {
        e.discover(now, intent, req, k)
    }

    fn engine_report(&self) -> Value {
        let sim = &self.sim;
        let mut up = 0u64;
        let (mut index, mut headers, mut mesh, mut empty_mesh) = (0, 0, 0, 0);
        let (mut received, mut accepted, mut dups, mut refused) = (0, 0, 0, 0);
        let (mut requested, mut fetched, mut served, mut dropped_full) = (0, 0, 0, 0);
        for n in sim.node_ids() {
            let Some(e) = sim.engine(n) else {
                continue;
            };
            up += 1;
            index += e.index().len() as u64;
            headers += e.header_count() as u64;
            let m = e.mesh(self.sc.topic(n));
            mesh += m.len() as u64;
            empty_mesh += u64::from(m.is_empty());
            let s = e.stats();
            received += s.headers_received;
            accepted += s.headers_accepted;
            dups += s.duplicates;
            refused += s.refused;
            requested += s.bodies_requested;
            fetched += s.bodies_fetched;
            served += s.bodies_served;
            dropped_full += s.dropped_full;
        }
        let avg = |x: u64| x as f64 / up.max(1) as f64;
        let t = &self.tally;
        let events = json!({
            "persist_head": t.persist,
            "published": t.published,
            "headers_accepted": t.headers,
            "headers_wanted": t.headers_wanted,
            "descriptors_ingested": t.descriptors,
            "body_unavailable": t.body_unavailable,
            "expired_headers": t.expired_headers,
            "expired_descriptors": t.expired_descriptors,
            "equivocations": t.equivocations,
            "link_penalized": t.penalized,
            "link_banned": t.banned,
            "overflow_frames": t.overflow_frames,
            "overflow_events": t.overflow_events,
            "ban_secs_after_banning_node_restart": t.ban_secs_after_restart,
            "expired_refusals": t.expired_refusals,
            "expired_refusals_within_10s_of_restart": t.expired_refusals_within_10s_of_restart,
        });
        let live = json!({
            "up_nodes": up,
            "avg_index_len": avg(index),
            "avg_headers_held": avg(headers),
            "avg_mesh_peers": avg(mesh),
            "nodes_with_empty_mesh": empty_mesh,
            "headers_received": received,
            "headers_accepted": accepted,
            "duplicates": dups,
            "refused": refused,
            "bodies_requested": requested,
            "bodies_fetched": fetched,
            "bodies_served": served,
            "dropped_full": dropped_full,
        });
        let mut hp = self.header_propagation.clone();
        let header_propagation = json!({
            "deliveries": hp.len(),
            "p50_ms": report::quantile(&mut hp, 0.5),
            "p95_ms": report::quantile(&mut hp, 0.95),
            "p99_ms": report::quantile(&mut hp, 0.99),
        });
        json!({
            "header_propagation": header_propagation,
            "events_whole_run": events,
            "live_engines_at_end": live,
            "handle_errors_whole_run": self.errors,
        })
    }
}

// ----- flood -----

/// The flooding baseline scheme.
struct Flood {
    sim: Sim<FloodNode>,
    errors: BTreeMap<String, u64>,
    life: Lifecycle,
}

impl fmt::Debug for Flood {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flood")
            .field("sim", &self.sim)
            .finish_non_exhaustive()
    }
}

impl Flood {
    fn new(sc: &Rc<Scenario>, a: &Args) -> Self {
        let scf = sc.clone();
        let factory = move |node: NodeId, now: Now, inc: u32| {
            let mut rng = SimRng::stream(scf.seed, (u64::from(node.0) << 32) | u64::from(inc));
            let phase = Duration::from_micros(rng.below(FLOOD_HEARTBEAT.as_micros() as u64));
            let provider =
                scf.provides[node.index()].map(|f| (keypair(node), scf.descriptor(node, f, now)));
            FloodNode::new(now, phase, provider, inc > 0)
        };
        Flood {
            sim: build_sim(sc, a, factory),
            errors: BTreeMap::new(),
            life: Lifecycle::new(sc.n, a.warmup_secs * 1000),
        }
    }
}

impl Scheme for Flood {
    type E = FloodNode;
    type Ev = FloodDelivery;
    const NAME: &'static str = "flood";

    fn sim(&mut self) -> &mut Sim<FloodNode> {
        &mut self.sim
    }

    fn sim_ref(&self) -> &Sim<FloodNode> {
        &self.sim
    }

    fn after_step(&mut self) {
        self.life.update(&self.sim);
        for (now, node, d) in self.sim.drain_events() {
            self.life.delivered(node, now, d.issued_at);
        }
        for (_, _, text) in self.sim.drain_errors() {
            *self.errors.entry(error_class(&text)).or_default() += 1;
        }
    }

    fn propagation(&mut self) -> Vec<f64> {
        core::mem::take(&mut self.life.propagation)
    }

    fn publish(&mut self, node: NodeId, _family: usize) {
        self.sim.command(node, |e, now| e.provide(now));
    }

    fn index(e: &FloodNode) -> &DiscoveryIndex {
        &e.index
    }

    fn discover(
        e: &FloodNode,
        now: Now,
        intent: &str,
        req: &Requirements,
        k: usize,
    ) -> Vec<Candidate> {
        e.discover(now, intent, req, k)
    }

    fn engine_report(&self) -> Value {
        let sim = &self.sim;
        let (mut up, mut index, mut delivered) = (0u64, 0u64, 0u64);
        for n in sim.node_ids() {
            if let Some(e) = sim.engine(n) {
                up += 1;
                index += e.index.len() as u64;
                delivered += e.delivered;
            }
        }
        json!({
            "live_engines_at_end": {
                "up_nodes": up,
                "avg_index_len": index as f64 / up.max(1) as f64,
                "descriptors_delivered": delivered,
            },
            "handle_errors_whole_run": self.errors,
        })
    }
}

// =============================================================================================
// Request driver
// =============================================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Success,
    RequesterDown,
    NoLiveProvider,
    RankedOut,
    StaleOnly,
    Missing,
}

impl Outcome {
    const FAILURES: [Outcome; 5] = [
        Outcome::RequesterDown,
        Outcome::NoLiveProvider,
        Outcome::RankedOut,
        Outcome::StaleOnly,
        Outcome::Missing,
    ];

    fn name(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::RequesterDown => "requester_down",
            Outcome::NoLiveProvider => "no_live_provider",
            Outcome::RankedOut => "ranked_out",
            Outcome::StaleOnly => "stale_only",
            Outcome::Missing => "missing",
        }
    }
}

#[derive(Clone, Debug)]
struct ReqRecord {
    issue_ms: u64,
    node: NodeId,
    family: usize,
    outcome: Outcome,
    latency_ms: Option<u64>,
    live_at_issue: usize,
    polls: u32,
}

#[derive(Clone, Debug)]
struct Pending {
    idx: usize,
    node: NodeId,
    family: usize,
    inc: u32,
    issue_ms: u64,
    next_ms: u64,
    live_at_issue: usize,
    polls: u32,
}

#[derive(Debug)]
struct RunResult {
    name: &'static str,
    records: Vec<ReqRecord>,
    start: Metrics,
    end: Metrics,
    wall_secs: f64,
    trace: String,
    engine: Value,
    propagation: Vec<f64>,
}

/// One poll of a pending request at `t_ms`: its record if it is decided.
fn poll<S: Scheme>(
    sim: &Sim<S::E>,
    sc: &Scenario,
    a: &Args,
    p: &mut Pending,
    t_ms: u64,
) -> Option<ReqRecord> {
    p.polls += 1;
    let record = |p: &Pending, outcome: Outcome, latency_ms: Option<u64>| ReqRecord {
        issue_ms: p.issue_ms,
        node: p.node,
        family: p.family,
        outcome,
        latency_ms,
        live_at_issue: p.live_at_issue,
        polls: p.polls,
    };
    if sim.incarnation(p.node) != Some(p.inc) {
        return Some(record(p, Outcome::RequesterDown, None));
    }
    let Some(e) = sim.engine(p.node) else {
        return Some(record(p, Outcome::RequesterDown, None));
    };
    let now = sim.now();
    let fam = &sc.fams[p.family];
    let req = Requirements {
        topic: Some(sc.topics[fam.topic].clone()),
        ..Default::default()
    };
    let live = |id: &AgentId| sc.agents.get(id).is_some_and(|n| sim.is_up(*n));
    let found = S::discover(e, now, fam.f.query, &req, a.k)
        .iter()
        .any(|c| c.descriptor.capability == fam.f.cap && live(&c.descriptor.provider));
    if found {
        return Some(record(p, Outcome::Success, Some(t_ms - p.issue_ms)));
    }
    if t_ms - p.issue_ms < a.timeout_ms {
        p.next_ms = t_ms + a.poll_ms;
        return None;
    }
    let outcome = if sc.live_providers(p.family, |n| sim.is_up(n)) == 0 {
        Outcome::NoLiveProvider
    } else {
        let held: Vec<AgentId> = S::index(e)
            .iter()
            .filter(|d| d.capability == fam.f.cap && d.is_fresh(now, FRESHNESS_SKEW))
            .map(|d| d.provider)
            .collect();
        if held.iter().any(live) {
            Outcome::RankedOut
        } else if !held.is_empty() {
            Outcome::StaleOnly
        } else {
            Outcome::Missing
        }
    };
    Some(record(p, outcome, None))
}

/// Drive one scheme through the whole scenario.
fn run<S: Scheme>(s: &mut S, sc: &Scenario, a: &Args) -> RunResult {
    let t0 = std::time::Instant::now();
    let dur = a.duration_secs * 1000;
    let warm = a.warmup_secs * 1000;
    let mut progress = Progress::new(S::NAME, dur, 10);
    let (mut next_pub, mut next_req) = (0, 0);
    let mut pending: Vec<Pending> = Vec::new();
    let mut records: Vec<Option<ReqRecord>> = vec![None; sc.requests.len()];
    let mut start = None;
    let mut done = 0usize;
    let mut ok = 0usize;
    let mut t = 0u64;
    loop {
        s.sim().run_until(Instant::from_millis(t));
        s.after_step();
        if t == warm {
            start = Some(s.sim_ref().metrics().clone());
        }
        while next_pub < sc.publish_at.len() && sc.publish_at[next_pub].0 <= t {
            let (_, node, f) = sc.publish_at[next_pub];
            s.publish(node, f);
            next_pub += 1;
        }
        while next_req < sc.requests.len() && sc.requests[next_req].at_ms <= t {
            let r = sc.requests[next_req];
            let sim = s.sim_ref();
            let up: Vec<NodeId> = sim.node_ids().filter(|n| sim.is_up(*n)).collect();
            let node = up[(r.pick % up.len() as u64) as usize];
            let needs = &sc.needs[node.index()];
            let family = needs[(r.need_pick % needs.len() as u64) as usize];
            pending.push(Pending {
                idx: next_req,
                node,
                family,
                inc: sim.incarnation(node).unwrap_or(0),
                issue_ms: t,
                next_ms: t,
                live_at_issue: sc.live_providers(family, |n| sim.is_up(n)),
                polls: 0,
            });
            next_req += 1;
        }
        let mut i = 0;
        while i < pending.len() {
            if pending[i].next_ms > t {
                i += 1;
                continue;
            }
            match poll::<S>(s.sim_ref(), sc, a, &mut pending[i], t) {
                Some(rec) => {
                    done += 1;
                    ok += usize::from(rec.outcome == Outcome::Success);
                    records[pending[i].idx] = Some(rec);
                    pending.swap_remove(i);
                }
                None => i += 1,
            }
        }
        let m = s.sim_ref().metrics();
        progress.update(
            t,
            &format!(
                "t={:>5.1}s requests {done}/{} ok {ok}, frames {} bytes {:.1} MB, crashes {}",
                t as f64 / 1000.0,
                sc.requests.len(),
                m.total.sent,
                m.total.bytes_sent as f64 / 1e6,
                m.crashes
            ),
        );
        if t >= dur {
            break;
        }
        t += STEP_MS;
    }
    assert!(pending.is_empty(), "every request ends inside the run");
    RunResult {
        name: S::NAME,
        records: records
            .into_iter()
            .map(|r| r.expect("every request decided"))
            .collect(),
        start: start.unwrap_or_default(),
        end: s.sim_ref().metrics().clone(),
        wall_secs: t0.elapsed().as_secs_f64(),
        trace: s.sim_ref().trace_hash().to_hex(),
        engine: s.engine_report(),
        propagation: s.propagation(),
    }
}

// =============================================================================================
// Report
// =============================================================================================

/// Header, body (a full descriptor: the gossip `Body` or the flooded descriptor frame) or
/// control.
fn kind_class(k: u16) -> &'static str {
    match k {
        0x0101 => "header",
        0x010d | 0x0001 => "body",
        _ => "control",
    }
}

/// Summary numbers of one scheme.
#[derive(Debug)]
struct Summary {
    success_rate: f64,
    bytes_per_request: f64,
    p95_latency_ms: f64,
    json: Value,
}

fn summarize(r: &RunResult, sc: &Scenario, a: &Args) -> Summary {
    let n_req = r.records.len();
    let successes = r
        .records
        .iter()
        .filter(|x| x.outcome == Outcome::Success)
        .count();
    let success_rate = successes as f64 / n_req.max(1) as f64;
    let mut lat: Vec<f64> = r
        .records
        .iter()
        .filter_map(|x| x.latency_ms.map(|l| l as f64))
        .collect();
    let immediate = lat.iter().filter(|l| **l == 0.0).count();
    let mean = lat.iter().sum::<f64>() / lat.len().max(1) as f64;
    let p50 = report::quantile(&mut lat, 0.5);
    let p95 = report::quantile(&mut lat, 0.95);
    let max = lat.iter().copied().fold(0.0, f64::max);
    let mut all: Vec<f64> = r
        .records
        .iter()
        .map(|x| x.latency_ms.map_or(f64::INFINITY, |l| l as f64))
        .collect();
    let p95_all = report::quantile(&mut all, 0.95);
    let failures: BTreeMap<&str, usize> = Outcome::FAILURES
        .iter()
        .map(|o| {
            (
                o.name(),
                r.records.iter().filter(|x| x.outcome == *o).count(),
            )
        })
        .collect();
    let down = failures["requester_down"];
    let no_provider_at_issue = r.records.iter().filter(|x| x.live_at_issue == 0).count();

    let window_secs = (a.duration_secs - a.warmup_secs) as f64;
    let bytes = r.end.total.bytes_sent - r.start.total.bytes_sent;
    let frames = r.end.total.sent - r.start.total.sent;
    let mut by_kind = serde_json::Map::new();
    let mut by_class: BTreeMap<&str, u64> = BTreeMap::new();
    for (k, m) in &r.end.by_kind {
        let s = r.start.by_kind.get(k).cloned().unwrap_or_default();
        let (f, b) = (m.sent - s.sent, m.bytes_sent - s.bytes_sent);
        *by_class.entry(kind_class(*k)).or_default() += b;
        by_kind.insert(
            agentnet_examples::report::kind_label(*k),
            json!({
                "frames": f,
                "bytes": b,
                "avg_frame_bytes": b as f64 / f.max(1) as f64,
                "bytes_per_request": b as f64 / n_req.max(1) as f64,
            }),
        );
    }
    let bytes_per_request = bytes as f64 / n_req.max(1) as f64;
    let mut prop = r.propagation.clone();
    let propagation = json!({
        "deliveries": prop.len(),
        "p50_ms": report::quantile(&mut prop, 0.5),
        "p95_ms": report::quantile(&mut prop, 0.95),
        "p99_ms": report::quantile(&mut prop, 0.99),
        "max_ms": prop.iter().copied().fold(0.0, f64::max),
    });
    let latency = json!({
        "p50_latency_ms": p50,
        "p95_latency_ms": p95,
        "mean_latency_ms": mean,
        "max_latency_ms": max,
        "p95_latency_all_ms": p95_all.is_finite().then_some(p95_all),
        "immediate_fraction": immediate as f64 / n_req.max(1) as f64,
    });
    let traffic = json!({
        "window_secs": window_secs,
        "total_bytes": bytes,
        "total_frames": frames,
        "bytes_per_node_per_s": bytes as f64 / f64::from(sc.n) / window_secs,
        "bytes_by_class": by_class,
        "bytes_by_kind": by_kind,
    });
    let json = json!({
        "scheme": r.name,
        "success_rate": success_rate,
        "bytes_per_request": bytes_per_request,
        "p95_latency_ms": p95,
        "messages_per_node_per_s": frames as f64 / f64::from(sc.n) / window_secs,
        "requests": n_req,
        "successes": successes,
        "failures": failures,
        "success_rate_excluding_requester_down":
            successes as f64 / (n_req - down).max(1) as f64,
        "requests_without_live_provider_at_issue": no_provider_at_issue,
        "latency": latency,
        "descriptor_propagation": propagation,
        "traffic": traffic,
        "crashes_whole_run": r.end.crashes,
        "restarts_whole_run": r.end.restarts,
        "engine": r.engine,
        "run_wall_secs": r.wall_secs,
        "trace_hash": r.trace,
    });
    Summary {
        success_rate,
        bytes_per_request,
        p95_latency_ms: p95,
        json,
    }
}

fn write_outputs(
    dir: &Path,
    results: &Value,
    runs: &[&RunResult],
    sc: &Scenario,
    a: &Args,
) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(
        dir.join("results.json"),
        serde_json::to_string_pretty(results)? + "\n",
    )?;
    let mut rows = Vec::new();
    for r in runs {
        for (i, x) in r.records.iter().enumerate() {
            let f = &sc.fams[x.family];
            rows.push(vec![
                r.name.to_string(),
                i.to_string(),
                x.issue_ms.to_string(),
                x.node.0.to_string(),
                sc.topics[f.topic].as_str().to_string(),
                f.f.cap.to_string(),
                x.outcome.name().to_string(),
                x.latency_ms.map(|l| l.to_string()).unwrap_or_default(),
                x.live_at_issue.to_string(),
                x.polls.to_string(),
            ]);
        }
    }
    report::write_csv(
        &dir.join("requests.csv"),
        &[
            "scheme",
            "request",
            "issue_ms",
            "node",
            "topic",
            "capability",
            "outcome",
            "latency_ms",
            "live_providers_at_issue",
            "polls",
        ],
        &rows,
    )?;
    let bars: Vec<(&str, f64)> = runs
        .iter()
        .map(|r| {
            let bytes = r.end.total.bytes_sent - r.start.total.bytes_sent;
            (r.name, bytes as f64 / r.records.len().max(1) as f64)
        })
        .collect();
    report::bar_chart(
        &dir.join("bytes_per_request.svg"),
        &format!(
            "Bytes per discovery request ({} nodes, churn {})",
            sc.n, a.churn
        ),
        "bytes sent / request",
        &bars,
    )?;
    // Latency CDF over all requests (failures never reach 1).
    let mut series = Vec::new();
    let mut cdf_rows = Vec::new();
    for r in runs {
        let n = r.records.len().max(1) as f64;
        let mut lat: Vec<u64> = r.records.iter().filter_map(|x| x.latency_ms).collect();
        lat.sort_unstable();
        let mut points = Vec::new();
        let mut i = 0;
        while i < lat.len() {
            let v = lat[i];
            while i < lat.len() && lat[i] == v {
                i += 1;
            }
            points.push((v as f64, i as f64 / n));
        }
        let last = points.last().map_or(0.0, |p| p.1);
        points.push((a.timeout_ms as f64, last));
        for (x, y) in &points {
            cdf_rows.push(vec![r.name.to_string(), x.to_string(), y.to_string()]);
        }
        series.push(Series {
            name: r.name.to_string(),
            points,
        });
    }
    report::write_csv(
        &dir.join("latency_cdf.csv"),
        &["scheme", "latency_ms", "fraction_of_requests"],
        &cdf_rows,
    )?;
    report::line_chart(
        &dir.join("latency_cdf.svg"),
        "Discovery latency CDF (all requests; failures never arrive)",
        "latency (ms)",
        "fraction of requests answered",
        &series,
    )?;
    Ok(())
}

fn main() {
    let a = Args::parse();
    let sc = match Scenario::new(&a) {
        Ok(s) => Rc::new(s),
        Err(e) => {
            eprintln!("gossip_discovery: {e}");
            std::process::exit(2);
        }
    };
    let table = table_check(&sc, a.interest_threshold);
    let degree = 2.0 * sc.edges.len() as f64 / f64::from(sc.n);
    let same_topic = sc
        .edges
        .iter()
        .filter(|(x, y)| sc.topic_of[x.index()] == sc.topic_of[y.index()])
        .count();
    let sample = Signed::sign(
        &keypair(NodeId(0)),
        sc.descriptor(NodeId(0), 0, SimConfig::default().start),
    )
    .expect("sign")
    .to_frame()
    .len();
    eprintln!(
        "gossip_discovery: {} nodes, {} topics x {} families x {} replicas, {} links (avg degree {degree:.1}, {same_topic} within a topic), churn {} (up {}s / down {}s), {} requests, descriptor frame {sample} B",
        sc.n,
        sc.topics.len(),
        a.providers_per_topic,
        a.replicas,
        sc.edges.len(),
        a.churn,
        a.mean_up_secs,
        a.mean_down_secs,
        sc.requests.len()
    );

    let mut bodyless = Bodyless::new(&sc, &a);
    let rb = run(&mut bodyless, &sc, &a);
    drop(bodyless);
    let mut flood = Flood::new(&sc, &a);
    let rf = run(&mut flood, &sc, &a);
    drop(flood);

    let same_requesters = rb
        .records
        .iter()
        .zip(&rf.records)
        .all(|(x, y)| x.node == y.node && x.family == y.family);
    let sb = summarize(&rb, &sc, &a);
    let sf = summarize(&rf, &sc, &a);
    let ratio = sb.bytes_per_request / sf.bytes_per_request.max(1e-9);
    let goals = json!({
        "success_rate_min": 0.99,
        "bodyless_success_met": sb.success_rate >= 0.99,
        "bytes_ratio_max": 1.0 / 3.0,
        "bytes_ratio_met": ratio <= 1.0 / 3.0,
        "p95_latency_ms_max": 3000,
        "bodyless_p95_met": sb.p95_latency_ms < 3000.0,
    });
    let scenario = json!({
        "topics": sc.topics.iter().map(Topic::as_str).collect::<Vec<_>>(),
        "families_per_topic": a.providers_per_topic,
        "replicas": a.replicas,
        "providers": sc.providers.iter().map(Vec::len).sum::<usize>(),
        "needs_per_node": a.needs,
        "interest": format!("{:?}", a.interest).to_lowercase(),
        "interest_threshold": a.interest_threshold,
        "links": sc.edges.len(),
        "avg_degree": degree,
        "links_within_topic": same_topic,
        "dials": a.dials,
        "topic_dials": a.topic_dials,
        "link_latency_ms": [20, 150],
        "loss": a.loss,
        "churn_mean_up_secs": a.mean_up_secs,
        "churn_mean_down_secs": a.mean_down_secs,
        "ttl_secs": a.ttl_secs,
        "duration_secs": a.duration_secs,
        "warmup_secs": a.warmup_secs,
        "k": a.k,
        "timeout_ms": a.timeout_ms,
        "poll_ms": a.poll_ms,
        "descriptor_frame_bytes": sample,
        "same_requesters": same_requesters,
    });
    let mut out = serde_json::Map::new();
    out.insert("nodes".into(), json!(sc.n));
    out.insert("churn".into(), json!(a.churn));
    out.insert("seed".into(), json!(a.seed));
    out.insert("scenario".into(), scenario);
    out.insert("schemes".into(), json!([sb.json, sf.json]));
    out.insert("bytes_ratio".into(), json!(ratio));
    out.insert("goals".into(), goals);
    out.insert("table_check".into(), table);
    let results = Value::Object(out);

    if let Err(e) = write_outputs(&a.out, &results, &[&rb, &rf], &sc, &a) {
        eprintln!("gossip_discovery: writing {}: {e}", a.out.display());
    }
    for s in [&sb, &sf] {
        let j = &s.json;
        eprintln!(
            "{:>8}: success {:.4}  bytes/request {:>10.0}  p95 {:>5.0} ms  msgs/node/s {:>7.2}  wall {:.1}s",
            j["scheme"].as_str().unwrap_or("?"),
            s.success_rate,
            s.bytes_per_request,
            s.p95_latency_ms,
            j["messages_per_node_per_s"].as_f64().unwrap_or(0.0),
            j["run_wall_secs"].as_f64().unwrap_or(0.0),
        );
    }
    eprintln!(
        "bytes ratio bodyless/flood = {ratio:.4}; same requesters in both runs: {same_requesters}; results in {}",
        a.out.display()
    );
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).expect("serialise")
        );
    }
}
