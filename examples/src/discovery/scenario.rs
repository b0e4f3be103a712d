//! The scenario both schemes share: topics, families, nodes, providers, needs, topology, publish and request schedules.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::*;
use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::semantic::{HashedNgramEncoder, SemanticEncoder, Sketch};
use agentnet_core::sim::NodeId;
use agentnet_core::sim::SimRng;
use agentnet_core::{AgentId, Keypair, Now};
use serde_json::{Value, json};

// =============================================================================================
// Scenario
// =============================================================================================

/// A family in the run: its topic index and its table row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fam {
    pub(crate) topic: usize,
    pub(crate) f: Family,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct ReqSpec {
    pub(crate) at_ms: u64,
    pub(crate) pick: u64,
    pub(crate) need_pick: u64,
}

/// Everything both schemes share.
#[derive(Debug)]
pub(crate) struct Scenario {
    pub(crate) n: u32,
    pub(crate) topics: Vec<Topic>,
    pub(crate) fams: Vec<Fam>,
    pub(crate) topic_of: Vec<usize>,
    pub(crate) provides: Vec<Option<usize>>,
    pub(crate) providers: Vec<Vec<NodeId>>,
    pub(crate) needs: Vec<Vec<usize>>,
    pub(crate) edges: Vec<(NodeId, NodeId)>,
    pub(crate) publish_at: Vec<(u64, NodeId, usize)>,
    pub(crate) requests: Vec<ReqSpec>,
    pub(crate) agents: BTreeMap<AgentId, NodeId>,
    pub(crate) ttl: Duration,
    pub(crate) seed: [u8; 32],
}

pub(crate) fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s
}

/// The node's long-term keys (deterministic per node, stable across restarts).
pub(crate) fn keypair(node: NodeId) -> Keypair {
    let mut s = [0u8; 32];
    s[..4].copy_from_slice(&node.0.to_le_bytes());
    s[31] = 0xd1;
    Keypair::from_seed(s)
}

impl Scenario {
    pub(crate) fn new(a: &Args) -> Result<Scenario, String> {
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
            roles.shuffle(&mut m);
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
            roles.shuffle(&mut cands);
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

    pub(crate) fn topic(&self, node: NodeId) -> &Topic {
        &self.topics[self.topic_of[node.index()]]
    }

    /// The descriptor `node` publishes for `family`, issued at `now`.
    pub(crate) fn descriptor(&self, node: NodeId, family: usize, now: Now) -> CapabilityDescriptor {
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

    pub(crate) fn live_providers(&self, family: usize, up: impl Fn(NodeId) -> bool) -> usize {
        self.providers[family].iter().filter(|n| up(**n)).count()
    }
}

/// How well the table separates families: for every paraphrase, its cosine to its own family's
/// intent against the best other family of the topic, and its sketch similarity to its own
/// family's header sketch (what the interest filter compares).
pub(crate) fn table_check(sc: &Scenario, threshold: f32) -> Value {
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
