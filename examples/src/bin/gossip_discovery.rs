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
//!   (≤ 8) capability families with distinct intents (the table in `examples/data/discovery_families.tsv`: a capability
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
//!
//! The scenario, the schemes, the request driver and the report are in
//! [`agentnet_examples::discovery`]; this program parses the command line and runs the experiment.
//!
//! [`Sim`]: agentnet_core::sim::Sim
//! [`GossipConfig`]: agentnet_gossip::GossipConfig
//! [`HeadStore`]: agentnet_gossip::simhost::HeadStore
//! [`pump`]: agentnet_gossip::simhost::pump
//! [`FloodEngine`]: agentnet_examples::flood::FloodEngine
//! [`DiscoveryIndex`]: agentnet_gossip::DiscoveryIndex

use agentnet_examples::discovery::{self, Args};
use clap::Parser;

fn main() {
    discovery::experiment(Args::parse());
}
