//! The cross-topic disguise-collusion attack against seven reputation methods (arXiv
//! 2606.17368, §MG-EigenTrust), on the production trust plane. The model, the attack and every
//! metric are defined in [`agentnet_examples::mg_sim`].
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin mg_eigentrust -- --json
//! cargo run --release -p agentnet-examples --bin mg_eigentrust -- --sweep malicious --seeds 10
//! cargo run --release -p agentnet-examples --bin mg_eigentrust -- --defector-share 0.5
//! ```
//!
//! One point (the default): prints one JSON object on stdout with `--json`:
//! `{"experiment":"mg_eigentrust","config":{..},"methods":[{"method":"random",
//! "attack_success":..,"attacker_roi":..,"detection_rate":..,"false_positive_rate":..,
//! "cold_start_reputation":..,"control_entries_per_epoch":..,..},..],"paper":{..},
//! "goals":{..}}`. In `--out` (default `target/experiments/mg_eigentrust`): `summary.csv`,
//! `attack_success_by_epoch.csv`, `attack_success_by_epoch.svg` and `results.json`.
//!
//! A sweep (`--sweep malicious`, `topics` or `grid`) runs every method on every point
//! (`--malicious-values` × `--topic-values`) and writes `sweep_<kind>.csv` (one row per point
//! and method, with the goals of the point), `sweep_<kind>.json` (every point with its
//! methods and its goals evaluated) and `sweep_<kind>_attack_success.svg` /
//! `sweep_<kind>_roi.svg`. Progress goes to stderr.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use agentnet_examples::mg_sim::{
    self, BASELINES, ExperimentConfig, Goals, MethodName, RunResult, Summary,
};
use agentnet_examples::report::{self, Series};
use clap::{Parser, ValueEnum};
use serde_json::json;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Sweep {
    /// One point.
    None,
    /// `--malicious-values` at `--topics`.
    Malicious,
    /// `--topic-values` at `--malicious`.
    Topics,
    /// Every (`--malicious-values`, `--topic-values`) pair.
    Grid,
}

impl Sweep {
    fn name(self) -> &'static str {
        match self {
            Sweep::None => "none",
            Sweep::Malicious => "malicious",
            Sweep::Topics => "topics",
            Sweep::Grid => "grid",
        }
    }
}

#[derive(Parser, Debug)]
#[command(
    name = "mg_eigentrust",
    about = "Cross-topic disguise collusion vs random, global, per-topic and MG-EigenTrust"
)]
struct Args {
    /// Agents.
    #[arg(long, default_value_t = 100)]
    nodes: usize,
    /// Topics (2..=8; the paper's five, then web research, translation, customer support).
    #[arg(long, default_value_t = 5)]
    topics: usize,
    /// Independent seeds (runs per method and point).
    #[arg(long, default_value_t = 30)]
    seeds: u64,
    /// Epochs per run.
    #[arg(long, default_value_t = 50)]
    epochs: usize,
    /// Tasks per topic per epoch.
    #[arg(long, default_value_t = 50)]
    queries: usize,
    /// Candidates sampled per task.
    #[arg(long, default_value_t = 8)]
    candidates: usize,
    /// Fraction of colluding agents.
    #[arg(long, alias = "malicious-fraction", default_value_t = 0.2)]
    malicious: f64,
    /// Share of the non-bridge colluders that are slow defectors (never provable).
    #[arg(long, default_value_t = 0.0)]
    defector_share: f64,
    /// Probability a slow defector sabotages an honest code review after warm-up.
    #[arg(long, default_value_t = 0.4)]
    defector_rate: f64,
    /// Epochs of good behaviour before the attack.
    #[arg(long, default_value_t = 10)]
    warmup: usize,
    /// Probability an attacker sabotages an honest code review after warm-up.
    #[arg(long, default_value_t = 1.0)]
    sabotage_rate: f64,
    /// Failure weight φ of ledgers and reputation.
    #[arg(long, default_value_t = 2.0)]
    failure_weight: f64,
    /// Probability a colluder's code task is staged with a fellow attacker.
    #[arg(long, default_value_t = 0.5)]
    collusion: f64,
    /// Extra staged code tasks per bridge per epoch.
    #[arg(long, default_value_t = 10)]
    vouches: usize,
    /// EigenTrust pretrust weight `a` for every method.
    #[arg(long, default_value_t = 0.15)]
    alpha: f64,
    /// MG's bridge share β (default: the library default).
    #[arg(long)]
    bridge_share: Option<f64>,
    /// Sweep kind.
    #[arg(long, value_enum, default_value_t = Sweep::None)]
    sweep: Sweep,
    /// Malicious fractions of `--sweep malicious` and `grid`.
    #[arg(long, value_delimiter = ',', default_value = "0.1,0.15,0.2,0.25,0.3")]
    malicious_values: Vec<f64>,
    /// Topic counts of `--sweep topics` and `grid`.
    #[arg(long, value_delimiter = ',', default_value = "5,6,7,8")]
    topic_values: Vec<usize>,
    /// Methods to run, by JSON name (default: all; the goals need all).
    #[arg(long, value_delimiter = ',')]
    methods: Vec<String>,
    /// First seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: available cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Output directory.
    #[arg(long, default_value = "target/experiments/mg_eigentrust")]
    out: PathBuf,
    /// Print the JSON result on stdout.
    #[arg(long)]
    json: bool,
}

fn by(summaries: &[Summary], m: MethodName) -> &Summary {
    summaries
        .iter()
        .find(|s| s.method == m)
        .expect("every method summarised")
}

/// The goals of one point, evaluated (null unless every method ran). `all_met` covers the
/// five headline goals (attack success, 5× below every baseline, ROI, detection, false
/// positives).
fn goals(summaries: &[Summary]) -> serde_json::Value {
    let Some(g) = Goals::evaluate(summaries) else {
        return serde_json::Value::Null;
    };
    let global = by(summaries, MethodName::GlobalEigenTrust);
    let random = by(summaries, MethodName::Random);
    let per_topic = by(summaries, MethodName::PerTopicEigenTrust);
    let mg = by(summaries, MethodName::MgEigenTrust);
    json!({
        "mg_attack_success_le_0_03": g.attack_success_le_0_03,
        "mg_5x_lower_than_every_baseline": g.five_x_below_every_baseline,
        "mg_attacker_roi_lt_0": g.roi_lt_0,
        "mg_detection_ge_0_95": g.detection_ge_0_95,
        "mg_false_positives_le_0_10": g.false_positives_le_0_10,
        "all_met": g.all_met(),
        "lowest_baseline_over_mg": if g.lowest_baseline_over_mg.is_finite() {
            json!(g.lowest_baseline_over_mg)
        } else {
            serde_json::Value::Null
        },
        "mg_control_le_20pct_of_global": mg.control_entries_per_epoch
            <= 0.2 * global.control_entries_per_epoch,
        "global_worse_than_random": global.attack_success > random.attack_success,
        "per_topic_about_random": (per_topic.attack_success - random.attack_success).abs()
            <= 0.25 * random.attack_success,
    })
}

fn method_json(s: &Summary) -> serde_json::Value {
    json!({
        "method": s.method.name(),
        "attack_success": s.attack_success,
        "attacker_roi": s.attacker_roi,
        "detection_rate": s.detection_rate,
        "false_positive_rate": s.false_positive_rate,
        "cold_start_reputation": s.cold_start_reputation,
        "control_entries_per_epoch": s.control_entries_per_epoch,
        "fraud_proofs_per_seed": s.fraud_proofs_per_seed,
        "sybils_per_seed": s.sybils_per_seed,
        "defector_attack_success": s.defector_attack_success,
        "defector_detection_rate": s.defector_detection_rate,
        "gate_open_colluders": s.gate_open_colluders,
        "gate_open_honest": s.gate_open_honest,
    })
}

fn config_json(cfg: &ExperimentConfig, args: &Args) -> serde_json::Value {
    json!({
        "nodes": cfg.nodes, "topics": cfg.topics, "seeds": args.seeds, "epochs": cfg.epochs,
        "queries": cfg.queries, "candidates": cfg.candidates,
        "malicious_fraction": cfg.malicious_fraction, "defector_share": cfg.defector_share,
        "defector_rate": cfg.defector_rate, "warmup": cfg.warmup,
        "alpha": cfg.alpha, "stake": cfg.stake, "gain": cfg.gain, "sloppy": cfg.sloppy,
        "notice": cfg.notice, "canary_rate": cfg.canary_rate,
        "evidence_rate": cfg.evidence_rate, "pretrusted": cfg.pretrusted,
        "flag_min_evidence": cfg.flag_min_evidence, "collusion": cfg.collusion,
        "vouches": cfg.vouches, "sabotage_rate": cfg.sabotage_rate,
        "failure_weight": cfg.failure_weight, "whitewash_below": cfg.whitewash_below,
        "half_life_epochs": cfg.half_life_epochs, "bridge_share": cfg.bridge_share,
        "first_seed": args.seed,
    })
}

/// Run every method on every point, `seeds` seeds each, on `threads` workers; the
/// summaries of each point, in `MethodName::ALL` order.
fn run_points(
    points: &[ExperimentConfig],
    methods: &[MethodName],
    args: &Args,
    threads: usize,
) -> Vec<Vec<Summary>> {
    let jobs: Vec<(usize, MethodName, u64)> = (0..points.len())
        .flat_map(|p| {
            methods
                .iter()
                .flat_map(move |m| (0..args.seeds).map(move |s| (p, *m, args.seed + s)))
        })
        .collect();
    eprintln!(
        "[mg_eigentrust] {} runs ({} points x {} methods x {} seeds), {} threads",
        jobs.len(),
        points.len(),
        methods.len(),
        args.seeds,
        threads
    );
    let started = std::time::Instant::now();
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<RunResult>>> = Mutex::new(vec![None; jobs.len()]);
    let progress = Mutex::new(report::Progress::new("mg_eigentrust", jobs.len() as u64, 5));
    let done = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(p, method, seed)) = jobs.get(i) else {
                        break;
                    };
                    let r = mg_sim::run(&points[p], method, seed);
                    results.lock().expect("no panics while holding")[i] = Some(r);
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress.lock().expect("no panics while holding").update(
                        d as u64,
                        &format!(
                            "malicious {} topics {}: {} seed {seed} done ({:.0} s)",
                            points[p].malicious_fraction,
                            points[p].topics,
                            method.name(),
                            started.elapsed().as_secs_f64()
                        ),
                    );
                }
            });
        }
    });
    let results = results.into_inner().expect("threads joined");
    (0..points.len())
        .map(|p| {
            methods
                .iter()
                .map(|m| {
                    let runs: Vec<RunResult> = jobs
                        .iter()
                        .zip(&results)
                        .filter(|((jp, jm, _), _)| *jp == p && jm == m)
                        .map(|(_, r)| r.clone().expect("every job ran"))
                        .collect();
                    mg_sim::summarize(&points[p], *m, &runs)
                })
                .collect()
        })
        .collect()
}

fn print_table(summaries: &[Summary]) {
    eprintln!(
        "{:<28} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8} {:>8}",
        "method", "attack", "roi", "detect", "fp", "cold", "control", "defector"
    );
    for s in summaries {
        eprintln!(
            "{:<28} {:>8.4} {:>8.3} {:>8.4} {:>8.4} {:>9.5} {:>8.1} {:>8.4}",
            s.method.name(),
            s.attack_success,
            s.attacker_roi,
            s.detection_rate,
            s.false_positive_rate,
            s.cold_start_reputation,
            s.control_entries_per_epoch,
            s.defector_attack_success
        );
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let base = ExperimentConfig {
        nodes: args.nodes,
        topics: args.topics,
        epochs: args.epochs,
        queries: args.queries,
        candidates: args.candidates,
        malicious_fraction: args.malicious,
        defector_share: args.defector_share,
        defector_rate: args.defector_rate,
        warmup: args.warmup.min(args.epochs.saturating_sub(1)),
        alpha: args.alpha,
        sabotage_rate: args.sabotage_rate,
        failure_weight: args.failure_weight,
        collusion: args.collusion,
        vouches: args.vouches,
        bridge_share: args
            .bridge_share
            .unwrap_or(ExperimentConfig::default().bridge_share),
        ..Default::default()
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let methods: Vec<MethodName> = if args.methods.is_empty() {
        MethodName::ALL.to_vec()
    } else {
        let mut v = Vec::new();
        for name in &args.methods {
            let m = MethodName::ALL
                .iter()
                .find(|m| m.name() == name)
                .ok_or_else(|| format!("unknown method {name:?}"))?;
            v.push(*m);
        }
        v
    };
    std::fs::create_dir_all(&args.out)?;
    if args.sweep != Sweep::None {
        return sweep(&args, &base, &methods, threads);
    }
    let started = std::time::Instant::now();
    let summaries = run_points(std::slice::from_ref(&base), &methods, &args, threads)
        .pop()
        .expect("one point");
    let cfg = base;
    let out = json!({
        "experiment": "mg_eigentrust",
        "config": config_json(&cfg, &args),
        "methods": summaries.iter().map(method_json).collect::<Vec<_>>(),
        "paper": {
            "random": {"attack_success": 0.2176, "attacker_roi": 3.35, "control_entries_per_epoch": 0},
            "global_eigentrust": {"attack_success": 0.3759, "attacker_roi": 6.52, "control_entries_per_epoch": 285},
            "per_topic_eigentrust": {"attack_success": 0.2160, "attacker_roi": 3.32, "control_entries_per_epoch": 285, "cold_start_reputation": 0.0019},
            "mg_eigentrust": {"attack_success": 0.0291, "attacker_roi": -0.80, "detection_rate": 0.9509, "false_positive_rate": 0.5488, "control_entries_per_epoch": 45, "cold_start_reputation": 0.0146},
            "mg_without_slashing": {"attack_success": 0.3332},
        },
        "goals": goals(&summaries),
        "elapsed_s": started.elapsed().as_secs_f64(),
    });

    let header = [
        "method",
        "attack_success",
        "attacker_roi",
        "detection_rate",
        "false_positive_rate",
        "cold_start_reputation",
        "control_entries_per_epoch",
        "defector_attack_success",
        "defector_detection_rate",
    ];
    let rows: Vec<Vec<String>> = summaries
        .iter()
        .map(|s| {
            vec![
                s.method.name().to_string(),
                format!("{:.4}", s.attack_success),
                format!("{:.3}", s.attacker_roi),
                format!("{:.4}", s.detection_rate),
                format!("{:.4}", s.false_positive_rate),
                format!("{:.5}", s.cold_start_reputation),
                format!("{:.1}", s.control_entries_per_epoch),
                format!("{:.4}", s.defector_attack_success),
                format!("{:.4}", s.defector_detection_rate),
            ]
        })
        .collect();
    report::write_csv(&args.out.join("summary.csv"), &header, &rows)?;
    let mut epoch_header = vec!["epoch"];
    epoch_header.extend(summaries.iter().map(|s| s.method.name()));
    let epoch_rows: Vec<Vec<String>> = (cfg.warmup..cfg.epochs)
        .map(|e| {
            let mut r = vec![e.to_string()];
            r.extend(summaries.iter().map(|s| format!("{:.4}", s.per_epoch[e])));
            r
        })
        .collect();
    report::write_csv(
        &args.out.join("attack_success_by_epoch.csv"),
        &epoch_header,
        &epoch_rows,
    )?;
    let series: Vec<Series> = summaries
        .iter()
        .map(|s| Series {
            name: s.method.name().to_string(),
            points: (cfg.warmup..cfg.epochs)
                .map(|e| (e as f64, s.per_epoch[e]))
                .collect(),
        })
        .collect();
    report::line_chart(
        &args.out.join("attack_success_by_epoch.svg"),
        &format!(
            "Disguise collusion, {:.0}% malicious, {} topics: attack success per epoch",
            cfg.malicious_fraction * 100.0,
            cfg.topics.clamp(2, mg_sim::TOPICS.len())
        ),
        "epoch",
        "sabotaged share of code-review tasks",
        &series,
    )?;
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&out)?,
    )?;
    print_table(&summaries);
    eprintln!("wrote {}", args.out.display());
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}

/// Run a sweep and write its CSV, JSON and plots.
fn sweep(
    args: &Args,
    base: &ExperimentConfig,
    methods: &[MethodName],
    threads: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let started = std::time::Instant::now();
    let malicious: Vec<f64> = match args.sweep {
        Sweep::Topics => vec![base.malicious_fraction],
        _ => args.malicious_values.clone(),
    };
    let topics: Vec<usize> = match args.sweep {
        Sweep::Malicious => vec![base.topics],
        _ => args.topic_values.clone(),
    };
    let points: Vec<ExperimentConfig> = topics
        .iter()
        .flat_map(|&t| {
            malicious.iter().map(move |&m| ExperimentConfig {
                topics: t.clamp(2, mg_sim::TOPICS.len()),
                malicious_fraction: m,
                ..base.clone()
            })
        })
        .collect();
    let results = run_points(&points, methods, args, threads);
    let name = args.sweep.name();
    // CSV: one row per (point, method), with the point's headline verdict.
    let header = [
        "malicious_fraction",
        "topics",
        "method",
        "attack_success",
        "attacker_roi",
        "detection_rate",
        "false_positive_rate",
        "defector_attack_success",
        "fraud_proofs_per_seed",
        "sybils_per_seed",
        "goals_met",
    ];
    let mut rows = Vec::new();
    let mut json_points = Vec::new();
    for (cfg, summaries) in points.iter().zip(&results) {
        let g = goals(summaries);
        let met = g["all_met"].as_bool().unwrap_or(false);
        for s in summaries {
            rows.push(vec![
                format!("{}", cfg.malicious_fraction),
                cfg.topics.to_string(),
                s.method.name().to_string(),
                format!("{:.4}", s.attack_success),
                format!("{:.3}", s.attacker_roi),
                format!("{:.4}", s.detection_rate),
                format!("{:.4}", s.false_positive_rate),
                format!("{:.4}", s.defector_attack_success),
                format!("{:.2}", s.fraud_proofs_per_seed),
                format!("{:.2}", s.sybils_per_seed),
                met.to_string(),
            ]);
        }
        eprintln!(
            "-- malicious {} topics {}: headline goals {}",
            cfg.malicious_fraction,
            cfg.topics,
            if met { "met" } else { "NOT met" }
        );
        print_table(summaries);
        json_points.push(json!({
            "malicious_fraction": cfg.malicious_fraction,
            "topics": cfg.topics,
            "methods": summaries.iter().map(method_json).collect::<Vec<_>>(),
            "goals": g,
        }));
    }
    report::write_csv(&args.out.join(format!("sweep_{name}.csv")), &header, &rows)?;
    let out = json!({
        "experiment": "mg_eigentrust",
        "sweep": name,
        "config": config_json(base, args),
        "points": json_points,
        "all_points_met": json_points.iter().all(|p| p["goals"]["all_met"].as_bool() == Some(true)),
        "elapsed_s": started.elapsed().as_secs_f64(),
    });
    std::fs::write(
        args.out.join(format!("sweep_{name}.json")),
        serde_json::to_string_pretty(&out)?,
    )?;
    if methods.len() == MethodName::ALL.len() {
        plot_sweep(&args.out, name, args.sweep, &points, &results)?;
    }
    eprintln!("wrote {}", args.out.display());
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}

/// Attack success and ROI against the swept variable: one line per method (for `grid`, MG and
/// the lowest baseline per topic count).
fn plot_sweep(
    out: &Path,
    name: &str,
    kind: Sweep,
    points: &[ExperimentConfig],
    results: &[Vec<Summary>],
) -> Result<(), Box<dyn std::error::Error>> {
    let x = |c: &ExperimentConfig| match kind {
        Sweep::Topics => c.topics as f64,
        _ => c.malicious_fraction,
    };
    let x_label = match kind {
        Sweep::Topics => "topics",
        _ => "malicious fraction",
    };
    let metric = |s: &Summary, roi: bool| {
        if roi {
            s.attacker_roi
        } else {
            s.attack_success
        }
    };
    for (roi, file, y_label) in [
        (
            false,
            "attack_success",
            "sabotaged share of code-review tasks",
        ),
        (true, "roi", "attacker ROI (burn-only)"),
    ] {
        let series: Vec<Series> = if kind == Sweep::Grid {
            let mut topics: Vec<usize> = points.iter().map(|p| p.topics).collect();
            topics.dedup();
            topics
                .iter()
                .flat_map(|&t| {
                    let at: Vec<(f64, &Vec<Summary>)> = points
                        .iter()
                        .zip(results)
                        .filter(|(p, _)| p.topics == t)
                        .map(|(p, r)| (x(p), r))
                        .collect();
                    let mg = Series {
                        name: format!("mg_eigentrust, {t} topics"),
                        points: at
                            .iter()
                            .map(|(x, r)| (*x, metric(by(r, MethodName::MgEigenTrust), roi)))
                            .collect(),
                    };
                    let base = Series {
                        name: format!("lowest baseline, {t} topics"),
                        points: at
                            .iter()
                            .map(|(x, r)| {
                                let v = BASELINES
                                    .iter()
                                    .map(|b| metric(by(r, *b), roi))
                                    .fold(f64::INFINITY, f64::min);
                                (*x, v)
                            })
                            .collect(),
                    };
                    [mg, base]
                })
                .collect()
        } else {
            MethodName::ALL
                .iter()
                .map(|m| Series {
                    name: m.name().to_string(),
                    points: points
                        .iter()
                        .zip(results)
                        .map(|(p, r)| (x(p), metric(by(r, *m), roi)))
                        .collect(),
                })
                .collect()
        };
        let title = if roi {
            format!("Disguise collusion: attacker ROI vs {x_label}")
        } else {
            format!("Disguise collusion: attack success vs {x_label}")
        };
        report::line_chart(
            &out.join(format!("sweep_{name}_{file}.svg")),
            &title,
            x_label,
            y_label,
            &series,
        )?;
    }
    Ok(())
}
