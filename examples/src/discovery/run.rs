//! The request driver: issues the scenario's requests against one scheme, polls them and records outcomes.

use super::*;
use crate::report::Progress;
use agentnet_core::sim::{Metrics, NodeId, Sim};
use agentnet_core::{AgentId, Instant};
use agentnet_gossip::Requirements;
use agentnet_gossip::discover::FRESHNESS_SKEW;
use serde_json::Value;

// =============================================================================================
// Request driver
// =============================================================================================

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Outcome {
    Success,
    RequesterDown,
    NoLiveProvider,
    RankedOut,
    StaleOnly,
    Missing,
}

impl Outcome {
    pub(crate) const FAILURES: [Outcome; 5] = [
        Outcome::RequesterDown,
        Outcome::NoLiveProvider,
        Outcome::RankedOut,
        Outcome::StaleOnly,
        Outcome::Missing,
    ];

    pub(crate) fn name(self) -> &'static str {
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
pub(crate) struct ReqRecord {
    pub(crate) issue_ms: u64,
    pub(crate) node: NodeId,
    pub(crate) family: usize,
    pub(crate) outcome: Outcome,
    pub(crate) latency_ms: Option<u64>,
    pub(crate) live_at_issue: usize,
    pub(crate) polls: u32,
}

#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub(crate) idx: usize,
    pub(crate) node: NodeId,
    pub(crate) family: usize,
    pub(crate) inc: u32,
    pub(crate) issue_ms: u64,
    pub(crate) next_ms: u64,
    pub(crate) live_at_issue: usize,
    pub(crate) polls: u32,
}

#[derive(Debug)]
pub(crate) struct RunResult {
    pub(crate) name: &'static str,
    pub(crate) records: Vec<ReqRecord>,
    pub(crate) start: Metrics,
    pub(crate) end: Metrics,
    pub(crate) wall_secs: f64,
    pub(crate) trace: String,
    pub(crate) engine: Value,
    pub(crate) propagation: Vec<f64>,
}

/// One poll of a pending request at `t_ms`: its record if it is decided.
pub(crate) fn poll<S: Scheme>(
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
pub(crate) fn run<S: Scheme>(s: &mut S, sc: &Scenario, a: &Args) -> RunResult {
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
