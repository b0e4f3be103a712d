//! The command line of the gossip_scale experiment and the gossip and simulator configurations it gives.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use agentnet_core::sim::{LinkModel, NodeId, SimConfig};
use agentnet_gossip::GossipConfig;
use clap::Parser;

/// Bodyless gossip against flooding at scale (see the program's documentation).
#[derive(Parser, Debug, Clone)]
#[command(
    version,
    about = "Bodyless gossip against plain flooding on the same topology: coverage, latency, \
             header copies, control overhead and memory (see the source's doc comment)"
)]
pub struct Args {
    /// Number of nodes.
    #[arg(long, default_value_t = 100_000)]
    pub nodes: u32,
    /// Random peers each node dials (links are undirected).
    #[arg(long, default_value_t = 8)]
    pub degree: u32,
    /// Number of publishing nodes.
    #[arg(long, default_value_t = 10)]
    pub authors: u32,
    /// Headers each author publishes, one per 2-s round.
    #[arg(long, default_value_t = 8)]
    pub headers_per_author: u32,
    /// Seed of the topology, the schedule, the engines and the simulator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,
    /// Directory for the CSV, SVG and JSON files.
    #[arg(long, default_value = "target/experiments/gossip_scale")]
    pub out: PathBuf,
    /// Virtual seconds of mesh formation before the first publish.
    #[arg(long, default_value_t = 5)]
    pub warmup_secs: u64,
    /// Virtual seconds after the last publish.
    #[arg(long, default_value_t = 10)]
    pub drain_secs: u64,
    /// Override `GossipConfig::mesh_d` (default 6).
    #[arg(long)]
    pub mesh_d: Option<usize>,
    /// Override `GossipConfig::mesh_d_lo` (default 4).
    #[arg(long)]
    pub mesh_d_lo: Option<usize>,
    /// Override `GossipConfig::mesh_d_hi` (default 12).
    #[arg(long)]
    pub mesh_d_hi: Option<usize>,
    /// Override `GossipConfig::lazy_fanout` (default 2).
    #[arg(long)]
    pub lazy_fanout: Option<usize>,
    /// Override `GossipConfig::lazy_interval` in ms (default 100).
    #[arg(long)]
    pub lazy_interval_ms: Option<u64>,
    /// Override `GossipConfig::iwant_delay` in ms (default 150).
    #[arg(long)]
    pub iwant_delay_ms: Option<u64>,
    /// Override `GossipConfig::anti_entropy` in ms (default 2000).
    #[arg(long)]
    pub anti_entropy_ms: Option<u64>,
    /// Override `GossipConfig::heartbeat` in ms (default 1000).
    #[arg(long)]
    pub heartbeat_ms: Option<u64>,
    /// Skip run B (flooding); the comparison fields are then null.
    #[arg(long)]
    pub no_flood: bool,
    /// Sample every frame's delay independently from 20..150 ms instead of giving each link
    /// its own base latency (see the program's documentation).
    #[arg(long)]
    pub per_frame_latency: bool,
    /// Per-frame jitter added to each link's base latency, in ms (uniform in 0..=jitter).
    #[arg(long, default_value_t = 5)]
    pub jitter_ms: u64,
}

impl Args {
    pub(crate) fn gossip_config(&self, node: u32) -> GossipConfig {
        let mut c = GossipConfig::default();
        c.seed[..4].copy_from_slice(&node.to_le_bytes());
        c.seed[8..16].copy_from_slice(&self.seed.to_le_bytes());
        c.seed[31] = 0x67;
        c.persist_before_publish = false;
        let ms = Duration::from_millis;
        if let Some(v) = self.mesh_d {
            c.mesh_d = v;
        }
        if let Some(v) = self.mesh_d_lo {
            c.mesh_d_lo = v;
        }
        if let Some(v) = self.mesh_d_hi {
            c.mesh_d_hi = v;
        }
        if let Some(v) = self.lazy_fanout {
            c.lazy_fanout = v;
        }
        if let Some(v) = self.lazy_interval_ms {
            c.lazy_interval = ms(v);
        }
        if let Some(v) = self.iwant_delay_ms {
            c.iwant_delay = ms(v);
        }
        if let Some(v) = self.anti_entropy_ms {
            c.anti_entropy = ms(v);
        }
        if let Some(v) = self.heartbeat_ms {
            c.heartbeat = ms(v);
        }
        c
    }

    pub(crate) fn sim_config(&self, edges: &[(u32, u32)]) -> SimConfig {
        let (lo, hi) = (20_000, 150_000);
        let link_overrides = if self.per_frame_latency {
            Vec::new()
        } else {
            let mut r = rng(self.seed, 4);
            let jitter = self.jitter_ms * 1000;
            edges
                .iter()
                .map(|&(a, b)| {
                    let d = r.range_inclusive(lo, hi);
                    let m = LinkModel::uniform(
                        Duration::from_micros(d),
                        Duration::from_micros(d + jitter),
                    );
                    (NodeId(a), NodeId(b), m)
                })
                .collect()
        };
        SimConfig {
            link: LinkModel::uniform(Duration::from_micros(lo), Duration::from_micros(hi)),
            link_overrides,
            max_events: 50_000_000,
            trace: false,
            trace_events: false,
            ..SimConfig::seeded(self.seed)
        }
    }
}
