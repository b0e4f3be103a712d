//! Bodyless gossip at scale against plain flooding on the same topology.
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin gossip_scale -- --json
//! cargo run --release -p agentnet-examples --bin gossip_scale -- --nodes 2000 --json
//! ```
//!
//! # Scenario
//!
//! `--nodes` nodes (default 100 000); each dials `--degree` (default 8) distinct random others,
//! links are undirected, so the mean degree is about twice that. One topic (`bench/scale`),
//! every node subscribed, headers only: no node wants bodies (the default interest profile), so
//! what is measured is the dissemination of signed log headers.
//!
//! Links: each link gets a base latency uniform in 20..150 ms, and every frame on it takes that
//! base plus a jitter uniform in `0..=--jitter-ms` (default 5 ms); **no loss, no duplication**,
//! no bandwidth model. This is the model of a real network, where a path's latency is mostly a
//! property of the path. `--per-frame-latency` instead samples every frame's delay
//! independently from 20..150 ms: then no path is reliably fast, and flooding, which takes the
//! fastest of some fifteen paths for every frame, cannot be matched by any scheme that sends
//! each node about one copy (a push epidemic with 2 copies per node and these delays needs
//! about ln(10^5) / 0.0088 ms⁻¹ ≈ 1.3 s to reach 10^5 nodes, against about 0.25 s for
//! flooding). The program reports that model on request but its goals are judged on the first.
//!
//! The mesh forms for `--warmup-secs` (default 5). Then `--authors` random nodes (default 10)
//! each publish `--headers-per-author` descriptors (default 8, TTL 60 s), one per 2-s round:
//! header `k` of an author goes out at `warmup + 2 s · k + offset`, the offset uniform in
//! `[0, 1 s)`, so a round's traffic is over before the next starts. After the last publish the
//! network runs for `--drain-secs` (default 10).
//!
//! * **Run A, bodyless gossip**: the production [`GossipEngine`] with the default
//!   [`GossipConfig`] (mesh and timing knobs can be overridden from the command line, see
//!   `--help`), except `persist_before_publish = false`: the experiment has no durable store;
//!   persistence is exercised by the tests.
//! * **Run B, flooding**: `agentnet_examples::flood::FloodEngine<LogHeader>` on the *same* edge
//!   list, link model and simulator seed. It receives the *identical* signed header frames run
//!   A's authors produced (taken from the author's engine right after `publish`), injected at
//!   the author's node at the same virtual time. Every node verifies each new header once and
//!   checks `LogHeader::validate` before forwarding it on every other link. Run B runs in a
//!   second thread, fed frame by frame while run A proceeds.
//!
//! # Metrics
//!
//! * `coverage`: (node, header) pairs delivered in run A by the end (a node's first
//!   `Event::Header` for that author and seq) / ((nodes − 1) · headers); the author is excluded.
//!   `flood_coverage` likewise for run B (first `Delivered` per node and header).
//! * `p99_latency_ms` / `flood_p99_latency_ms`: the 99th percentile (nearest rank) over all
//!   deliveries of the run, of the time from the publish at the author (run A's
//!   `Event::Published`; run B's injection, at the same virtual instant) to the delivery.
//! * `payload_copies_per_node`: header frames (kind `0x0101`) delivered to nodes in run A, from
//!   the end of warmup on, / (nodes · headers). Duplicates, `IWant` answers and anti-entropy
//!   repairs all count. `flood_copies_per_node` is the same for run B, for context.
//!   `copies_by_round` splits it by round (header frames delivered between the starts of
//!   consecutive rounds / (nodes · authors)): round 0 is every author's first header, which
//!   floods the mesh to build that author's push tree; later rounds run on the trees.
//! * `control_bytes_ratio`: bytes sent of every other gossip kind (subscribe, graft, prune,
//!   ihave, iwant, choke, digest, vector, pull, ...) / bytes sent of kind `0x0101`, in run A,
//!   counted from the end of warmup to the end of the run (metrics are snapshotted at the end
//!   of warmup, so the initial subscription and graft traffic is excluded from both; periodic
//!   mesh upkeep and anti-entropy during the window are included).
//! * `peak_rss_mb`: peak resident memory of the process (`VmHWM`), both runs together.
//!
//! Goals (from the issue): coverage ≥ 0.999, p99 ≤ 1.25 × flooding, ≤ 2 copies per node,
//! control ≤ 25 %, within 24 GiB. The JSON carries a `goals` object with each target and
//! whether it was met, plus diagnostics (summed engine stats, mesh shape, per-kind bytes).
//!
//! Files in `--out` (default `target/experiments/gossip_scale`): `summary.json` (the JSON
//! printed with `--json`), `latency_cdf.csv` / `.svg` (delivery latency CDF of both schemes),
//! `coverage_over_time.csv` / `.svg` (fraction of all (node, header) pairs delivered against
//! time since publish) and `per_header.csv` (deliveries and latency percentiles of every header
//! in both runs). Progress goes to stderr.
//!
//! # Reading the results
//!
//! The engine keeps one push tree per author (see `agentnet_gossip`'s crate docs). An author's
//! first header floods the mesh, about mesh-degree copies per node (`copies_by_round[0]`), and
//! its duplicates choke every edge that was not on a first-arrival path; from the second
//! header on, a node gets about one copy, at close to flooding's latency, because the tree
//! consists of each node's fastest mesh path. `payload_copies_per_node` is the average over
//! all rounds, so it depends on how many headers an author publishes in the run; in a
//! deployment authors re-issue their descriptors for as long as they serve, and the first
//! header is a one-time cost per author. `per_header.csv` gives every header's latency
//! percentiles in both runs.
//!
//! # Cost
//!
//! Every node verifies every header once in each run (about 50 µs per Ed25519 verification), so
//! the default run does 2 × 8 M verifications: roughly a quarter of an hour on two cores. Memory
//! is about 1.2 KB per (node, header) held in run A plus the flooding engines' seen sets.
//! `--nodes 10000` takes about a minute. `--no-flood` skips run B.
//!
//! The scenario, the two runs and the summary are in [`agentnet_examples::scale`]; this program
//! parses the command line and runs the experiment.
//!
//! [`GossipEngine`]: agentnet_gossip::GossipEngine
//! [`GossipConfig`]: agentnet_gossip::GossipConfig

use agentnet_examples::scale::{self, Args};
use clap::Parser;

fn main() {
    scale::experiment(Args::parse());
}
