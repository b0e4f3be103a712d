//! Running the agentic-P2P world: the round loop of one run, and the knee of a reliability/overhead trade-off.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::*;
use agentnet_transport::agent::{AgentEvent, Stage, Verdict};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// Run one world: `cfg`, `discovery`, `seed`. Progress is the caller's.
pub fn run(cfg: &Config, discovery: Discovery, seed: u64) -> RunResult {
    let mut w = build(cfg, discovery, seed);
    let mut drift_rng = ChaCha8Rng::from_seed(agent_seed(seed ^ 0xD41F7, usize::MAX));
    let start = w.sim.now().mono;
    let measure_from = start.saturating_add(cfg.warmup);
    let rounds_end = measure_from.saturating_add(cfg.period * cfg.rounds as u32);
    let hard_end = rounds_end.saturating_add(cfg.grace);
    let mut next_round = measure_from;
    let mut rounds_started = 0usize;
    let mut next_drift = start.saturating_add(Duration::from_secs(1));
    let mut control_start = None;
    let mut control_end = None;
    let mut lat_sum = 0.0;
    let mut lat_n = 0u64;
    let mut stale_sum = 0u64;
    let mut drift_steps = 0u64;
    let honest = w.stale.iter().filter(|s| s.is_some()).count();
    let observers = w.observers.clone();
    loop {
        w.sim.run_for(TICK);
        let now = w.sim.now();
        let measuring = now.mono >= measure_from && now.mono <= rounds_end;
        for (at, node, e) in w.sim.drain_events() {
            let i = node.0 as usize;
            match e {
                AgentEvent::Gossip(agentnet_gossip::Event::Published { .. }) => {
                    if let Some(Some(f)) = w.stale.get(i) {
                        f.store(false, Ordering::Relaxed);
                    }
                }
                AgentEvent::Gossip(agentnet_gossip::Event::Descriptor(d))
                    if measuring && observers.contains(&node) =>
                {
                    let issued = d.value().issued_at;
                    let ms = at.wall.saturating_duration_since(issued).as_secs_f64() * 1000.0;
                    lat_sum += ms;
                    lat_n += 1;
                }
                AgentEvent::Progress {
                    stage: Stage::Offered { canaries, .. },
                    ..
                } => {
                    if let Some(r) = w.requester_of(node) {
                        w.requesters[r].stats.canaries_sent += canaries as u64;
                    }
                }
                AgentEvent::WorkflowCompleted(o) => {
                    let Some(r) = w.requester_of(node) else {
                        continue;
                    };
                    if !matches!(w.requesters[r].phase, Phase::Running { id } if id == o.workflow) {
                        continue;
                    }
                    // Attempts the gate skipped (convicted, below reputation, no link) were
                    // never offered work: only offers count toward fallbacks.
                    for s in &o.steps {
                        let Some(t) = &s.outcome else { continue };
                        let offered = t
                            .attempts
                            .iter()
                            .filter(|a| {
                                !matches!(
                                    a.verdict,
                                    Verdict::Convicted
                                        | Verdict::BelowReputation { .. }
                                        | Verdict::Unreachable
                                )
                            })
                            .count();
                        w.requesters[r].stats.fallbacks += offered.saturating_sub(1) as u64;
                    }
                    w.finish(r, &o);
                }
                _ => {}
            }
        }
        // Drift, once per virtual second.
        while now.mono >= next_drift {
            next_drift = next_drift.saturating_add(Duration::from_secs(1));
            let mut stale_now = 0;
            for f in w.stale.iter().flatten() {
                if !f.load(Ordering::Relaxed) && unit(&mut drift_rng) < cfg.drift {
                    f.store(true, Ordering::Relaxed);
                }
                if f.load(Ordering::Relaxed) {
                    stale_now += 1;
                }
            }
            if measuring {
                stale_sum += stale_now;
                drift_steps += 1;
            }
        }
        if control_start.is_none() && now.mono >= measure_from {
            control_start = Some((w.control_frames(), now.mono));
        }
        if control_end.is_none() && now.mono >= rounds_end {
            control_end = Some((w.control_frames(), now.mono));
        }
        // New workflows, one per idle requester per round.
        if rounds_started < cfg.rounds && now.mono >= next_round {
            next_round = next_round.saturating_add(cfg.period);
            rounds_started += 1;
            for r in 0..w.requesters.len() {
                if matches!(w.requesters[r].phase, Phase::Idle) {
                    w.begin_workflow(r);
                }
            }
        }
        // Dialed workflows whose links had time to come up.
        for r in 0..w.requesters.len() {
            if let Phase::Dialing { ready_at } = w.requesters[r].phase
                && now.mono >= ready_at
            {
                w.start_workflow(r);
            }
        }
        let all_idle = w.requesters.iter().all(|q| matches!(q.phase, Phase::Idle));
        if (rounds_started >= cfg.rounds && control_end.is_some() && all_idle)
            || now.mono >= hard_end
        {
            break;
        }
    }
    for r in 0..w.requesters.len() {
        w.abandon(r);
    }
    let (c0, t0) = control_start.unwrap_or((0, measure_from));
    let (c1, t1) = control_end.unwrap_or_else(|| (w.control_frames(), w.sim.now().mono));
    let mut policies: Vec<(Policy, PolicyStats)> = Policy::ALL
        .iter()
        .map(|p| (*p, PolicyStats::default()))
        .collect();
    for q in &w.requesters {
        if let Some((_, s)) = policies.iter_mut().find(|(p, _)| *p == q.policy) {
            s.add(&q.stats);
        }
    }
    let _ = &w.roles;
    RunResult {
        discovery,
        policies,
        discovery_samples: lat_n,
        discovery_latency_sum_ms: lat_sum,
        control_frames: c1.saturating_sub(c0),
        sim_nodes: w.nodes.len(),
        measured_s: t1.saturating_duration_since(t0).as_secs_f64(),
        stale_provider_seconds: stale_sum,
        drift_steps,
        honest,
    }
}

/// The knee of a reliability/overhead trade-off: among points `(x, success, overhead)` (x in
/// increasing order), the `x` maximising `ŝ − ĉ`, where `ŝ` and `ĉ` are success and overhead
/// scaled to `[0, 1]` over the points (a constant series scales to 0). That is the point with
/// the best balance: going left buys overhead for little reliability, going right loses
/// reliability for little saving. Ties go to the smaller `x`. `None` without points.
pub fn knee(points: &[(f64, f64, f64)]) -> Option<f64> {
    let scale = |v: &[f64]| -> Vec<f64> {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        v.iter()
            .map(|x| if hi > lo { (x - lo) / (hi - lo) } else { 0.0 })
            .collect()
    };
    let s = scale(&points.iter().map(|p| p.1).collect::<Vec<_>>());
    let c = scale(&points.iter().map(|p| p.2).collect::<Vec<_>>());
    let mut best: Option<(f64, f64)> = None;
    for (i, p) in points.iter().enumerate() {
        let v = s[i] - c[i];
        if best.is_none_or(|(_, b)| v > b + 1e-12) {
            best = Some((p.0, v));
        }
    }
    best.map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knee_balances_success_and_overhead() {
        // Success falls slowly then fast; overhead falls fast then slowly.
        let pts = [
            (5.0, 1.0, 10.0),
            (10.0, 0.98, 5.0),
            (15.0, 0.96, 3.5),
            (30.0, 0.8, 2.5),
            (60.0, 0.5, 2.0),
        ];
        assert_eq!(knee(&pts), Some(15.0));
        assert_eq!(knee(&[]), None);
    }
}
