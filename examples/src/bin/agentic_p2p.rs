//! The agentic-P2P experiment (arXiv 2603.03753) on whole agents: a two-step creative
//! publishing workflow over honest, drifting providers and Sybils, four policies (`naive`,
//! `reputation`, `risk_aware`, `full`) in the same world, discovery through a registry and
//! through agentnet gossip. The model and every metric are defined in
//! [`agentnet_examples::p2p_sim`].
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin agentic_p2p -- --sweep sybil --json
//! cargo run --release -p agentnet-examples --bin agentic_p2p -- --sweep ttl
//! cargo run --release -p agentnet-examples --bin agentic_p2p -- --sweep scale --max-nodes 2000
//! ```
//!
//! Prints (with `--json`) one JSON object on stdout: `{"experiment":"agentic_p2p","sweep":..,
//! "config":{..},"results":[{"sweep":..,"x":..,"policy":..,"discovery":..,
//! "workflow_success":..,"task_success":..,"discovery_latency_ms":..,
//! "control_msgs_per_node_per_s":..,"canaries_sent":..,"fallbacks":..},..],"goals":{..}}`,
//! one result per (sweep point, policy, discovery; for `ttl` also per drift regime, with
//! `knee_ttl_s`). In `--out` (default `target/experiments/agentic_p2p`): `<sweep>.csv`,
//! `<sweep>.json` and the sweep's SVG charts. Progress goes to stderr.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agentnet_examples::p2p_sim::{self, Config, Discovery, Policy, PolicyStats, RunResult};
use agentnet_examples::report::{self, Series};
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Sweep {
    /// Sybil fraction 0 → 0.5 at N = --nodes.
    Sybil,
    /// N = 20 → --max-nodes.
    Scale,
    /// Descriptor TTL 5 → 60 s, stable vs high drift.
    Ttl,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Disc {
    Both,
    Registry,
    Gossip,
}

#[derive(Parser, Debug)]
#[command(
    name = "agentic_p2p",
    about = "Agentic P2P: naive vs reputation vs risk-aware vs full verification, registry vs gossip discovery"
)]
struct Args {
    /// Which sweep.
    #[arg(long, value_enum, default_value_t = Sweep::Sybil)]
    sweep: Sweep,
    /// Agents (sybil and ttl sweeps).
    #[arg(long, default_value_t = 100)]
    nodes: usize,
    /// Largest N of the scale sweep (points: 20, 50, 100, 200, 500, 1000, 2000 up to it).
    #[arg(long, default_value_t = 2000)]
    max_nodes: usize,
    /// Sweep points instead of the defaults (fractions, node counts or TTL seconds).
    #[arg(long, value_delimiter = ',')]
    points: Option<Vec<f64>>,
    /// Independent seeds per point.
    #[arg(long, default_value_t = 3)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Per second, the probability an honest provider becomes stale.
    #[arg(long, default_value_t = 0.05)]
    drift: f64,
    /// Drift of the ttl sweep's high-drift regime (the stable regime has none).
    #[arg(long, default_value_t = 0.2)]
    high_drift: f64,
    /// Per task, the probability a stale provider returns a wrong result.
    #[arg(long, default_value_t = 0.6)]
    stale: f64,
    /// Sybil fraction of the scale and ttl sweeps.
    #[arg(long, default_value_t = 0.2)]
    sybil: f64,
    /// Descriptor TTL, seconds (sybil and scale sweeps).
    #[arg(long, default_value_t = 15.0)]
    ttl: f64,
    /// Workflow rounds measured per run.
    #[arg(long, default_value_t = 20)]
    rounds: usize,
    /// Providers offered a task per request (all policies but naive; the Agent's default 3).
    #[arg(long, default_value_t = 3)]
    attempts: usize,
    /// Most canaries per tier-2 attempt; the Agent's canary depth picks between 1 and this
    /// (the Agent's default 4; 1 = a fixed single canary).
    #[arg(long, default_value_t = 4)]
    canaries: usize,
    /// Residual risk the canary depth aims for (the Agent's default 0.02).
    #[arg(long, default_value_t = 0.02)]
    canary_target: f64,
    /// Requesters per policy.
    #[arg(long, default_value_t = 2)]
    requesters: usize,
    /// Discovery models.
    #[arg(long, value_enum, default_value_t = Disc::Both)]
    discovery: Disc,
    /// Worker threads (default: available cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Output directory.
    #[arg(long, default_value = "target/experiments/agentic_p2p")]
    out: PathBuf,
    /// Print the JSON result on stdout.
    #[arg(long)]
    json: bool,
}

/// One sweep point: its x value, its regime (ttl only) and the config.
#[derive(Clone, Debug)]
struct Point {
    x: f64,
    regime: &'static str,
    cfg: Config,
}

/// Seeds of one (point, discovery) pooled.
#[derive(Clone, Debug, Default)]
struct Pooled {
    policies: Vec<(Policy, PolicyStats)>,
    lat_sum: f64,
    lat_n: u64,
    control: Vec<f64>,
    stale_share: Vec<f64>,
    wall_s: f64,
}

impl Pooled {
    fn add(&mut self, r: &RunResult, wall_s: f64) {
        if self.policies.is_empty() {
            self.policies = Policy::ALL
                .iter()
                .map(|p| (*p, PolicyStats::default()))
                .collect();
        }
        for (p, s) in &mut self.policies {
            s.add(r.policy(*p));
        }
        self.lat_sum += r.discovery_latency_sum_ms;
        self.lat_n += r.discovery_samples;
        self.control.push(r.control_msgs_per_node_per_s());
        if r.drift_steps > 0 && r.honest > 0 {
            self.stale_share
                .push(r.stale_provider_seconds as f64 / r.drift_steps as f64 / r.honest as f64);
        }
        self.wall_s += wall_s;
    }

    fn latency(&self) -> f64 {
        if self.lat_n == 0 {
            0.0
        } else {
            self.lat_sum / self.lat_n as f64
        }
    }

    fn control(&self) -> f64 {
        mean(&self.control)
    }

    fn policy(&self, p: Policy) -> PolicyStats {
        self.policies
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, s)| s.clone())
            .unwrap_or_default()
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

fn r3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let base = Config {
        nodes: args.nodes,
        drift: args.drift,
        stale: args.stale,
        ttl: Duration::from_secs_f64(args.ttl),
        rounds: args.rounds,
        requesters_per_policy: args.requesters,
        attempts: args.attempts,
        canaries: args.canaries,
        canary_target: args.canary_target,
        ..Config::default()
    };
    let name = match args.sweep {
        Sweep::Sybil => "sybil",
        Sweep::Scale => "scale",
        Sweep::Ttl => "ttl",
    };
    let x_name = match args.sweep {
        Sweep::Sybil => "sybil_fraction",
        Sweep::Scale => "nodes",
        Sweep::Ttl => "ttl_s",
    };
    let points: Vec<Point> = match args.sweep {
        Sweep::Sybil => args
            .points
            .clone()
            .unwrap_or_else(|| vec![0.0, 0.1, 0.2, 0.3, 0.4, 0.5])
            .into_iter()
            .map(|f| Point {
                x: f,
                regime: "",
                cfg: Config {
                    sybil_fraction: f,
                    ..base.clone()
                },
            })
            .collect(),
        Sweep::Scale => args
            .points
            .clone()
            .unwrap_or_else(|| {
                [20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0]
                    .into_iter()
                    .filter(|n| *n <= args.max_nodes as f64)
                    .collect()
            })
            .into_iter()
            .map(|n| Point {
                x: n,
                regime: "",
                cfg: Config {
                    nodes: n as usize,
                    sybil_fraction: args.sybil,
                    ..base.clone()
                },
            })
            .collect(),
        Sweep::Ttl => {
            let ttls = args
                .points
                .clone()
                .unwrap_or_else(|| vec![5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0]);
            [("stable", 0.0), ("high", args.high_drift)]
                .into_iter()
                .flat_map(|(regime, drift)| {
                    let base = base.clone();
                    ttls.clone().into_iter().map(move |t| Point {
                        x: t,
                        regime,
                        cfg: Config {
                            ttl: Duration::from_secs_f64(t),
                            drift,
                            sybil_fraction: args.sybil,
                            ..base.clone()
                        },
                    })
                })
                .collect()
        }
    };
    for p in &points {
        p.cfg.validate().map_err(|e| format!("x = {}: {e}", p.x))?;
    }
    let discoveries: Vec<Discovery> = match args.discovery {
        Disc::Both => Discovery::ALL.to_vec(),
        Disc::Registry => vec![Discovery::Registry],
        Disc::Gossip => vec![Discovery::Gossip],
    };
    // Largest worlds first, so the long runs do not end up alone at the tail.
    let mut jobs: Vec<(usize, Discovery, u64)> = points
        .iter()
        .enumerate()
        .flat_map(|(i, _)| {
            let d = discoveries.clone();
            d.into_iter()
                .flat_map(move |d| (0..args.seeds).map(move |s| (i, d, args.seed + s)))
        })
        .collect();
    jobs.sort_by_key(|&(i, _, _)| std::cmp::Reverse(points[i].cfg.nodes));
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    eprintln!(
        "[agentic_p2p] sweep {name}: {} points x {} discovery x {} seeds = {} runs, {} threads",
        points.len(),
        discoveries.len(),
        args.seeds,
        jobs.len(),
        threads
    );
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(RunResult, f64)>>> = Mutex::new(vec![None; jobs.len()]);
    let progress = Mutex::new(report::Progress::new("agentic_p2p", jobs.len() as u64, 1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(i, d, seed)) = jobs.get(k) else {
                        break;
                    };
                    let t = std::time::Instant::now();
                    let r = p2p_sim::run(&points[i].cfg, d, seed);
                    let secs = t.elapsed().as_secs_f64();
                    let note = format!(
                        "{x_name}={} {} {} seed {seed}: risk_aware {:.2} naive {:.2}, {:.1} s ({:.0} s total)",
                        points[i].x,
                        points[i].regime,
                        d.name(),
                        r.policy(Policy::RiskAware).workflow_success(),
                        r.policy(Policy::Naive).workflow_success(),
                        secs,
                        started.elapsed().as_secs_f64()
                    );
                    results.lock().expect("no panics while holding")[k] = Some((r, secs));
                    let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress
                        .lock()
                        .expect("no panics while holding")
                        .update(n as u64, &note);
                }
            });
        }
    });
    let results = results.into_inner().expect("threads joined");
    // Pool the seeds of each (point, discovery).
    let mut pooled: Vec<Vec<Pooled>> =
        vec![vec![Pooled::default(); discoveries.len()]; points.len()];
    for (k, r) in results.iter().enumerate() {
        let (i, d, _) = jobs[k];
        let (r, secs) = r.as_ref().expect("every run finished");
        let di = discoveries.iter().position(|x| *x == d).expect("listed");
        pooled[i][di].add(r, *secs);
    }
    // Knees (ttl): per (regime, policy, discovery), over the TTL points.
    let knee_of = |regime: &str, p: Policy, di: usize| -> Option<f64> {
        let pts: Vec<(f64, f64, f64)> = points
            .iter()
            .enumerate()
            .filter(|(_, pt)| pt.regime == regime)
            .map(|(i, pt)| {
                let pl = &pooled[i][di];
                (pt.x, pl.policy(p).workflow_success(), pl.control())
            })
            .collect();
        p2p_sim::knee(&pts)
    };
    let mut rows = Vec::new();
    let mut out = Vec::new();
    for (i, pt) in points.iter().enumerate() {
        for (di, d) in discoveries.iter().enumerate() {
            let pl = &pooled[i][di];
            for p in Policy::ALL {
                let s = pl.policy(p);
                let mut o = json!({
                    "sweep": name,
                    "x": pt.x,
                    x_name: pt.x,
                    "policy": p.name(),
                    "discovery": d.name(),
                    "workflow_success": r3(s.workflow_success()),
                    "task_success": r3(s.task_success()),
                    "discovery_latency_ms": r3(pl.latency()),
                    "control_msgs_per_node_per_s": r3(pl.control()),
                    "canaries_sent": s.canaries_sent,
                    "fallbacks": s.fallbacks,
                    "workflows": s.workflows,
                    "discovery_samples": pl.lat_n,
                    "stale_share": r3(mean(&pl.stale_share)),
                    "seeds": args.seeds,
                    "run_wall_s": r3(pl.wall_s),
                });
                let mut knee = String::new();
                if args.sweep == Sweep::Ttl {
                    o["regime"] = json!(pt.regime);
                    let k = knee_of(pt.regime, p, di);
                    o["knee_ttl_s"] = json!(k);
                    knee = k.map(|k| k.to_string()).unwrap_or_default();
                }
                rows.push(vec![
                    pt.x.to_string(),
                    pt.regime.to_string(),
                    d.name().to_string(),
                    p.name().to_string(),
                    format!("{:.3}", s.workflow_success()),
                    format!("{:.3}", s.task_success()),
                    format!("{:.1}", pl.latency()),
                    format!("{:.3}", pl.control()),
                    s.canaries_sent.to_string(),
                    s.fallbacks.to_string(),
                    s.workflows.to_string(),
                    knee,
                ]);
                out.push(o);
            }
        }
    }
    let goals = goals(args.sweep, &points, &discoveries, &pooled);
    let doc = json!({
        "experiment": "agentic_p2p",
        "sweep": name,
        "config": {
            "nodes": args.nodes,
            "seeds": args.seeds,
            "first_seed": args.seed,
            "drift": args.drift,
            "high_drift": args.high_drift,
            "stale": args.stale,
            "sybil_fraction_scale_ttl": args.sybil,
            "ttl_s": args.ttl,
            "rounds": args.rounds,
            "period_s": base.period.as_secs_f64(),
            "warmup_s": base.warmup.as_secs_f64(),
            "requesters_per_policy": args.requesters,
            "attempts": args.attempts,
            "max_canaries_per_attempt": args.canaries,
            "canary_target": args.canary_target,
            "observers": base.observers,
            "chords": base.chords,
            "latency_ms": [base.latency_ms.0, base.latency_ms.1],
        },
        "results": out,
        "goals": goals,
        "wall_s": r3(started.elapsed().as_secs_f64()),
        "peak_rss_mb": report::peak_rss_mb(),
    });
    std::fs::create_dir_all(&args.out)?;
    report::write_csv(
        &args.out.join(format!("{name}.csv")),
        &[
            x_name,
            "regime",
            "discovery",
            "policy",
            "workflow_success",
            "task_success",
            "discovery_latency_ms",
            "control_msgs_per_node_per_s",
            "canaries_sent",
            "fallbacks",
            "workflows",
            "knee_ttl_s",
        ],
        &rows,
    )?;
    std::fs::write(
        args.out.join(format!("{name}.json")),
        serde_json::to_string_pretty(&doc)?,
    )?;
    charts(&args, name, &points, &discoveries, &pooled)?;
    if args.json {
        println!("{}", serde_json::to_string(&doc)?);
    } else {
        eprintln!("{}", serde_json::to_string_pretty(&doc["goals"])?);
    }
    eprintln!(
        "[agentic_p2p] done in {:.0} s; outputs in {}",
        started.elapsed().as_secs_f64(),
        args.out.display()
    );
    Ok(())
}

/// The issue's goals, evaluated on what was measured.
fn goals(
    sweep: Sweep,
    points: &[Point],
    discoveries: &[Discovery],
    pooled: &[Vec<Pooled>],
) -> Value {
    let mut g = serde_json::Map::new();
    for (di, d) in discoveries.iter().enumerate() {
        match sweep {
            Sweep::Sybil => {
                let worst = points
                    .iter()
                    .enumerate()
                    .map(|(i, _)| pooled[i][di].policy(Policy::RiskAware).workflow_success())
                    .fold(f64::INFINITY, f64::min);
                let at_max = points
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.x.total_cmp(&b.1.x))
                    .map(|(i, pt)| (pt.x, pooled[i][di].policy(Policy::Naive).workflow_success()));
                let (fmax, naive) = at_max.unwrap_or((0.0, 0.0));
                g.insert(
                    d.name().to_string(),
                    json!({
                        "risk_aware_min_workflow_success": r3(worst),
                        "risk_aware_ge_0_90_everywhere": worst >= 0.90,
                        "naive_at_max_fraction": {"fraction": fmax, "workflow_success": r3(naive)},
                        "naive_below_0_5_at_0_5": fmax >= 0.5 && naive < 0.5,
                    }),
                );
            }
            Sweep::Scale => {
                let lat: Vec<f64> = (0..points.len()).map(|i| pooled[i][di].latency()).collect();
                let ctl: Vec<f64> = (0..points.len()).map(|i| pooled[i][di].control()).collect();
                let lo = lat.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = lat.iter().copied().fold(0.0, f64::max);
                let ratio = if lo > 0.0 { hi / lo } else { f64::INFINITY };
                let (first, last) = (
                    ctl.first().copied().unwrap_or(0.0),
                    ctl.last().copied().unwrap_or(0.0),
                );
                let peak = ctl.iter().copied().fold(0.0, f64::max);
                g.insert(
                    d.name().to_string(),
                    json!({
                        "latency_max_over_min": r3(ratio),
                        "latency_flat_within_1_5": ratio <= 1.5,
                        "control_at_smallest_n": r3(first),
                        "control_at_largest_n": r3(last),
                        "control_peak": r3(peak),
                        "control_does_not_grow": last <= first * 1.1,
                    }),
                );
            }
            Sweep::Ttl => {
                let mut m = serde_json::Map::new();
                for p in Policy::ALL {
                    let pts: Vec<(f64, f64, f64)> = points
                        .iter()
                        .enumerate()
                        .filter(|(_, pt)| pt.regime == "high")
                        .map(|(i, pt)| {
                            let pl = &pooled[i][di];
                            (pt.x, pl.policy(p).workflow_success(), pl.control())
                        })
                        .collect();
                    m.insert(p.name().to_string(), json!(p2p_sim::knee(&pts)));
                }
                g.insert(
                    d.name().to_string(),
                    json!({"knee_ttl_s_high_drift": m, "paper_knee_ttl_s": 15}),
                );
            }
        }
    }
    Value::Object(g)
}

fn charts(
    args: &Args,
    name: &str,
    points: &[Point],
    discoveries: &[Discovery],
    pooled: &[Vec<Pooled>],
) -> Result<(), Box<dyn std::error::Error>> {
    let series_of = |regime: &str, f: &dyn Fn(&Pooled, Policy) -> f64, per_policy: bool| {
        let mut v = Vec::new();
        for (di, d) in discoveries.iter().enumerate() {
            let policies: Vec<Option<Policy>> = if per_policy {
                Policy::ALL.iter().copied().map(Some).collect()
            } else {
                vec![None]
            };
            for p in policies {
                let pts: Vec<(f64, f64)> = points
                    .iter()
                    .enumerate()
                    .filter(|(_, pt)| pt.regime == regime)
                    .map(|(i, pt)| (pt.x, f(&pooled[i][di], p.unwrap_or(Policy::Naive))))
                    .collect();
                let label = match p {
                    Some(p) => format!("{} / {}", p.name(), d.name()),
                    None => d.name().to_string(),
                };
                v.push(Series {
                    name: label,
                    points: pts,
                });
            }
        }
        v
    };
    let success = |pl: &Pooled, p: Policy| pl.policy(p).workflow_success();
    let latency = |pl: &Pooled, _: Policy| pl.latency();
    let control = |pl: &Pooled, _: Policy| pl.control();
    match args.sweep {
        Sweep::Sybil => {
            report::line_chart(
                &args.out.join(format!("{name}_workflow_success.svg")),
                &format!("Workflow success vs Sybil fraction (N = {})", args.nodes),
                "Sybil fraction",
                "workflow success",
                &series_of("", &success, true),
            )?;
        }
        Sweep::Scale => {
            report::line_chart(
                &args.out.join(format!("{name}_discovery_latency.svg")),
                "Discovery latency vs N",
                "agents N",
                "mean discovery latency (ms)",
                &series_of("", &latency, false),
            )?;
            report::line_chart(
                &args.out.join(format!("{name}_control_overhead.svg")),
                "Control messages per node per second vs N",
                "agents N",
                "control msgs / node / s",
                &series_of("", &control, false),
            )?;
            report::line_chart(
                &args.out.join(format!("{name}_workflow_success.svg")),
                "Workflow success vs N",
                "agents N",
                "workflow success",
                &series_of("", &success, true),
            )?;
        }
        Sweep::Ttl => {
            for regime in ["stable", "high"] {
                report::line_chart(
                    &args
                        .out
                        .join(format!("{name}_{regime}_workflow_success.svg")),
                    &format!("Workflow success vs descriptor TTL ({regime} drift)"),
                    "TTL (s)",
                    "workflow success",
                    &series_of(regime, &success, true),
                )?;
                report::line_chart(
                    &args
                        .out
                        .join(format!("{name}_{regime}_control_overhead.svg")),
                    &format!("Control messages per node per second vs TTL ({regime} drift)"),
                    "TTL (s)",
                    "control msgs / node / s",
                    &series_of(regime, &control, false),
                )?;
            }
        }
    }
    Ok(())
}
