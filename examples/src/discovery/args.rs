//! The command line of the gossip_discovery experiment: every knob of the scenario and the two schemes.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

// =============================================================================================
// Command line
// =============================================================================================

/// Which bodies a bodyless node pulls (`--interest`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum InterestMode {
    /// Pull bodies whose header sketch matches one of the node's own query intents.
    Intents,
    /// Pull every body of the node's topic.
    Topic,
}

/// The command line of gossip_discovery (see the program's documentation).
#[derive(Parser, Debug, Clone)]
#[command(
    name = "gossip_discovery",
    about = "Bodyless topic narrowcast vs flooding full descriptors: discovery success, bytes and latency under churn"
)]
pub struct Args {
    /// Number of nodes.
    #[arg(long, default_value_t = 200)]
    pub nodes: u32,
    /// Fraction of nodes that crash and restart (Sim::start_churn).
    #[arg(long, default_value_t = 0.2)]
    pub churn: f64,
    /// Mean up time of a churning node, seconds (exponential).
    #[arg(long, default_value_t = 20.0)]
    pub mean_up_secs: f64,
    /// Mean down time of a churning node, seconds (exponential).
    #[arg(long, default_value_t = 5.0)]
    pub mean_down_secs: f64,
    /// Number of topics (at most 4).
    #[arg(long, default_value_t = 4)]
    pub topics: usize,
    /// Capability families per topic (at most 8).
    #[arg(long, default_value_t = 8)]
    pub providers_per_topic: usize,
    /// Providers per capability family.
    #[arg(long, default_value_t = 3)]
    pub replicas: usize,
    /// Families of its topic each node asks about.
    #[arg(long, default_value_t = 3)]
    pub needs: usize,
    /// Discovery requests.
    #[arg(long, default_value_t = 400)]
    pub requests: usize,
    /// Virtual run length, seconds.
    #[arg(long, default_value_t = 120)]
    pub duration_secs: u64,
    /// Warm-up before the measurement window, seconds.
    #[arg(long, default_value_t = 20)]
    pub warmup_secs: u64,
    /// Links each node dials.
    #[arg(long, default_value_t = 6)]
    pub dials: u32,
    /// Of those, links dialled to nodes of the node's own topic.
    #[arg(long, default_value_t = 4)]
    pub topic_dials: u32,
    /// Loss probability of every link.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Descriptor TTL, seconds.
    #[arg(long, default_value_t = 15)]
    pub ttl_secs: u64,
    /// Candidates a discovery returns.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Request timeout, milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub timeout_ms: u64,
    /// Poll period of a pending request, milliseconds (a multiple of 10).
    #[arg(long, default_value_t = 50)]
    pub poll_ms: u64,
    /// Which bodies a bodyless node pulls.
    #[arg(long, value_enum, default_value_t = InterestMode::Intents)]
    pub interest: InterestMode,
    /// Sketch similarity threshold of the interest profile.
    #[arg(long, default_value_t = 0.4)]
    pub interest_threshold: f32,
    /// GossipConfig::anti_entropy override, milliseconds.
    #[arg(long)]
    pub anti_entropy_ms: Option<u64>,
    /// GossipConfig::heartbeat override, milliseconds.
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
    /// GossipConfig::body_timeout override, milliseconds.
    #[arg(long)]
    pub body_timeout_ms: Option<u64>,
    /// GossipConfig::mesh_d override.
    #[arg(long)]
    pub mesh_d: Option<usize>,
    /// GossipConfig::lazy_interval override, milliseconds.
    #[arg(long)]
    pub lazy_interval_ms: Option<u64>,
    /// GossipConfig::iwant_delay override, milliseconds.
    #[arg(long)]
    pub iwant_delay_ms: Option<u64>,
    /// Seed of everything.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print the results as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Directory for results.json, requests.csv and the charts.
    #[arg(long, default_value = "target/experiments/gossip_discovery")]
    pub out: PathBuf,
}
