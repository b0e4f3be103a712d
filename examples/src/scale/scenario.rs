//! The gossip_scale scenario: node keys, the random topology, the authors and the publish schedule.

use std::collections::HashSet;
use std::time::Duration;

use super::*;
use agentnet_core::sim::SimRng;
use agentnet_core::{Instant, Keypair};

pub(crate) fn keypair(seed: u64, node: u32) -> Keypair {
    let mut s = [0u8; 32];
    s[..4].copy_from_slice(&node.to_le_bytes());
    s[4..12].copy_from_slice(&seed.to_le_bytes());
    s[31] = 0x5a;
    Keypair::from_seed(s)
}

pub(crate) fn rng(seed: u64, tag: u8) -> SimRng {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[31] = tag;
    SimRng::from_seed(s)
}

/// Each node dials `degree` distinct random others; duplicates and self-links are redrawn
/// (at most 20 · degree tries per node).
pub(crate) fn topology(n: u32, degree: u32, seed: u64) -> Vec<(u32, u32)> {
    let mut r = rng(seed, 1);
    let mut have: HashSet<(u32, u32)> = HashSet::new();
    let mut edges = Vec::new();
    if n < 2 {
        return edges;
    }
    for a in 0..n {
        let (mut made, mut tries) = (0, 0);
        while made < degree && tries < degree * 20 {
            tries += 1;
            let b = r.below(u64::from(n)) as u32;
            let key = (a.min(b), a.max(b));
            if a != b && have.insert(key) {
                edges.push((a, b));
                made += 1;
            }
        }
    }
    edges
}

/// One scheduled publish.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Publish {
    pub(crate) at: Instant,
    pub(crate) author: usize,
    pub(crate) k: u32,
}

pub(crate) fn schedule(args: &Args, author_nodes: &[u32]) -> Vec<Publish> {
    let mut r = rng(args.seed, 2);
    let start = Instant::ZERO + Duration::from_secs(args.warmup_secs);
    let mut out = Vec::new();
    for author in 0..author_nodes.len() {
        for k in 0..args.headers_per_author {
            // Every author publishes within the first half of each round, so a round's
            // traffic has settled before the next begins (see `copies_by_round`).
            let offset = Duration::from_micros(r.below(SPACING.as_micros() as u64 / 2));
            out.push(Publish {
                at: start + SPACING * k + offset,
                author,
                k,
            });
        }
    }
    out.sort_by_key(|p| (p.at, p.author, p.k));
    out
}

pub(crate) fn pick_authors(args: &Args) -> Vec<u32> {
    let mut r = rng(args.seed, 3);
    let want = args.authors.min(args.nodes) as usize;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    while out.len() < want {
        let a = r.below(u64::from(args.nodes)) as u32;
        if seen.insert(a) {
            out.push(a);
        }
    }
    out
}
