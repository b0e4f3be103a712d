//! The cross-topic disguise-collusion attack against seven reputation methods (arXiv
//! 2606.17368, §MG-EigenTrust), on the production trust plane. The model, the attack and every
//! metric are defined in [`agentnet_examples::mg_sim`].
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin mg_eigentrust -- --json
//! ```
//!
//! Prints one JSON object on stdout: `{"experiment":"mg_eigentrust","config":{..},
//! "methods":[{"method":"random","attack_success":..,"attacker_roi":..,"detection_rate":..,
//! "false_positive_rate":..,"cold_start_reputation":..,"control_entries_per_epoch":..},..],
//! "paper":{..},"goals":{..}}`. In `--out` (default `target/experiments/mg_eigentrust`):
//! `summary.csv`, `attack_success_by_epoch.csv`, `attack_success_by_epoch.svg` and
//! `results.json`. Progress goes to stderr.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use agentnet_examples::mg_sim::{self, ExperimentConfig, MethodName, RunResult, Summary};
use agentnet_examples::report::{self, Series};
use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    name = "mg_eigentrust",
    about = "Cross-topic disguise collusion vs random, global, per-topic and MG-EigenTrust"
)]
struct Args {
    /// Agents.
    #[arg(long, default_value_t = 100)]
    nodes: usize,
    /// Topics (2..=5).
    #[arg(long, default_value_t = 5)]
    topics: usize,
    /// Independent seeds (runs per method).
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
    #[arg(long, default_value_t = 0.2)]
    malicious_fraction: f64,
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let cfg = ExperimentConfig {
        nodes: args.nodes,
        topics: args.topics,
        epochs: args.epochs,
        queries: args.queries,
        candidates: args.candidates,
        malicious_fraction: args.malicious_fraction,
        warmup: args.warmup.min(args.epochs.saturating_sub(1)),
        alpha: args.alpha,
        sabotage_rate: args.sabotage_rate,
        failure_weight: args.failure_weight,
        collusion: args.collusion,
        vouches: args.vouches,
        ..Default::default()
    };
    let jobs: Vec<(MethodName, u64)> = MethodName::ALL
        .iter()
        .flat_map(|m| (0..args.seeds).map(move |s| (*m, args.seed + s)))
        .collect();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    eprintln!(
        "[mg_eigentrust] {} runs ({} methods x {} seeds), {} nodes, {} epochs, {} threads",
        jobs.len(),
        MethodName::ALL.len(),
        args.seeds,
        cfg.nodes,
        cfg.epochs,
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
                    let Some(&(method, seed)) = jobs.get(i) else {
                        break;
                    };
                    let r = mg_sim::run(&cfg, method, seed);
                    results.lock().expect("no panics while holding")[i] = Some(r);
                    let d = done.fetch_add(1, Ordering::Relaxed) + 1;
                    progress.lock().expect("no panics while holding").update(
                        d as u64,
                        &format!(
                            "{} seed {seed} done ({:.0} s)",
                            method.name(),
                            started.elapsed().as_secs_f64()
                        ),
                    );
                }
            });
        }
    });
    let results = results.into_inner().expect("threads joined");
    let summaries: Vec<Summary> = MethodName::ALL
        .iter()
        .map(|m| {
            let runs: Vec<RunResult> = jobs
                .iter()
                .zip(&results)
                .filter(|((jm, _), _)| jm == m)
                .map(|(_, r)| r.clone().expect("every job ran"))
                .collect();
            mg_sim::summarize(&cfg, *m, &runs)
        })
        .collect();
    let by = |m: MethodName| {
        summaries
            .iter()
            .find(|s| s.method == m)
            .expect("every method summarised")
    };
    let mg = by(MethodName::MgEigenTrust);
    let baselines = [
        MethodName::Random,
        MethodName::GlobalEigenTrust,
        MethodName::PerTopicEigenTrust,
    ];
    let five_x = baselines
        .iter()
        .all(|b| mg.attack_success * 5.0 <= by(*b).attack_success);
    let global = by(MethodName::GlobalEigenTrust);
    let random = by(MethodName::Random);
    let per_topic = by(MethodName::PerTopicEigenTrust);
    let goals = json!({
        "mg_attack_success_le_0_03": mg.attack_success <= 0.03,
        "mg_5x_lower_than_every_baseline": five_x,
        "mg_attacker_roi_lt_0": mg.attacker_roi < 0.0,
        "mg_detection_ge_0_95": mg.detection_rate >= 0.95,
        "mg_false_positives_le_0_10": mg.false_positive_rate <= 0.10,
        "mg_control_le_20pct_of_global": mg.control_entries_per_epoch
            <= 0.2 * global.control_entries_per_epoch,
        "global_worse_than_random": global.attack_success > random.attack_success,
        "per_topic_about_random": (per_topic.attack_success - random.attack_success).abs()
            <= 0.25 * random.attack_success,
    });
    let methods: Vec<serde_json::Value> = summaries
        .iter()
        .map(|s| {
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
            })
        })
        .collect();
    let out = json!({
        "experiment": "mg_eigentrust",
        "config": {
            "nodes": cfg.nodes, "topics": cfg.topics, "seeds": args.seeds, "epochs": cfg.epochs,
            "queries": cfg.queries, "candidates": cfg.candidates,
            "malicious_fraction": cfg.malicious_fraction, "warmup": cfg.warmup,
            "alpha": cfg.alpha, "stake": cfg.stake, "gain": cfg.gain, "sloppy": cfg.sloppy,
            "notice": cfg.notice, "canary_rate": cfg.canary_rate,
            "evidence_rate": cfg.evidence_rate, "pretrusted": cfg.pretrusted,
            "flag_min_evidence": cfg.flag_min_evidence, "collusion": cfg.collusion, "vouches": cfg.vouches,
            "sabotage_rate": cfg.sabotage_rate, "failure_weight": cfg.failure_weight, "whitewash_below": cfg.whitewash_below,
            "half_life_epochs": cfg.half_life_epochs, "first_seed": args.seed,
        },
        "methods": methods,
        "paper": {
            "random": {"attack_success": 0.2176, "attacker_roi": 3.35, "control_entries_per_epoch": 0},
            "global_eigentrust": {"attack_success": 0.3759, "attacker_roi": 6.52, "control_entries_per_epoch": 285},
            "per_topic_eigentrust": {"attack_success": 0.2160, "attacker_roi": 3.32, "control_entries_per_epoch": 285, "cold_start_reputation": 0.0019},
            "mg_eigentrust": {"attack_success": 0.0291, "attacker_roi": -0.80, "detection_rate": 0.9509, "false_positive_rate": 0.5488, "control_entries_per_epoch": 45, "cold_start_reputation": 0.0146},
            "mg_without_slashing": {"attack_success": 0.3332},
        },
        "goals": goals,
        "elapsed_s": started.elapsed().as_secs_f64(),
    });

    std::fs::create_dir_all(&args.out)?;
    let header = [
        "method",
        "attack_success",
        "attacker_roi",
        "detection_rate",
        "false_positive_rate",
        "cold_start_reputation",
        "control_entries_per_epoch",
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
        "Cross-topic disguise collusion: attack success per epoch",
        "epoch",
        "sabotaged share of code-review tasks",
        &series,
    )?;
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&out)?,
    )?;
    eprintln!(
        "{:<28} {:>8} {:>8} {:>8} {:>8} {:>9} {:>8}",
        "method", "attack", "roi", "detect", "fp", "cold", "control"
    );
    for s in &summaries {
        eprintln!(
            "{:<28} {:>8.4} {:>8.3} {:>8.4} {:>8.4} {:>9.5} {:>8.1}",
            s.method.name(),
            s.attack_success,
            s.attacker_roi,
            s.detection_rate,
            s.false_positive_rate,
            s.cold_start_reputation,
            s.control_entries_per_epoch
        );
    }
    eprintln!("wrote {}", args.out.display());
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}
