//! The gossip_discovery experiment (discovery under churn: bodyless topic narrowcast against
//! flooding full descriptors, on the same scenario): its command line, capability table,
//! scenario, the two schemes, the request driver and the report. The `gossip_discovery` binary
//! documents the experiment, parses the command line and calls [`experiment`].

mod args;
mod flood_node;
mod run;
mod scenario;
mod schemes;
mod summary;
mod table;

use std::rc::Rc;
use std::time::Duration;

use agentnet_core::Signed;
use agentnet_core::descriptor::Topic;
use agentnet_core::sim::{NodeId, SimConfig};
use serde_json::{Value, json};

pub use args::{Args, InterestMode};

use flood_node::*;
use run::*;
use scenario::*;
use schemes::*;
use summary::*;
use table::*;

/// Virtual time between two host steps (persistence pump, request issue and polls).
pub(crate) const STEP_MS: u64 = 10;
/// Initial publishes are spread over this many milliseconds.
pub(crate) const PUBLISH_SPREAD_MS: u64 = 2_000;
/// The gossip engine's re-issue point, as a fraction of the TTL (`GossipConfig::refresh_fraction`).
pub(crate) const REFRESH_FRACTION: f64 = 0.6;
/// Heartbeat of the flooding node (index pruning and the refresh check), like the engine's.
pub(crate) const FLOOD_HEARTBEAT: Duration = Duration::from_secs(1);

/// Run the whole experiment: build the scenario, run both schemes on it, write the results
/// files to `a.out`, print the summary to stderr and, with `--json`, the results to stdout.
pub fn experiment(a: Args) {
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
