//! The Stackelberg mechanism-generation loop from a naive mechanism (flat payment, no
//! deposit, tier 1 only) against lazy and adversarial followers, with colluders, Sybils and a
//! lazier crowd arriving as it runs. See [`agentnet_examples::mech_run`] for the setup and
//! `agentnet_mech` for the model, the metrics and both designers.
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin mechanism_loop -- --json
//! ```
//!
//! Runs the built-in designer and the LLM designer; the LLM designer talks to a local scripted
//! stand-in unless `--llm-url` names an OpenAI-compatible server (llama.cpp `llama-server`,
//! vLLM, Ollama):
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin mechanism_loop -- \
//!     --llm-url http://127.0.0.1:8080/v1 --model qwen2.5-7b-instruct
//! ```
//!
//! Prints one JSON object on stdout with `--json`: `{"experiment":"mechanism_loop",
//! "config":{..},"runs":[{"designer":"builtin","iterations":[{"iteration":1,
//! "ic_violation":..,"ir_violation":..,"system_loss":..,"regression_pass_rate":..,
//! "accepted":..,"blamed_clause":..,..},..],"summary":{..}},{"designer":"llm",..}],
//! "goals":{..}}`. Iteration fields describe the candidate proposed in that iteration;
//! `incumbent` holds the metrics of the mechanism in force after it. In `--out` (default
//! `target/experiments/mechanism_loop`): `iterations.csv`, `metrics_by_iteration.svg`,
//! `results.json`. Progress goes to stderr.

use std::path::PathBuf;

use agentnet_examples::mech_run::{self, DesignerChoice, RunOutcome, ScriptedModel};
use agentnet_examples::report::{self, Series};
use agentnet_mech::evaluate::Metrics;
use agentnet_mech::llm::parameters;
use agentnet_mech::stackelberg::IterationRecord;
use agentnet_transport::LanguageModel;
use agentnet_transport::llm::{OpenAiCompatible, OpenAiConfig};
use clap::Parser;
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    name = "mechanism_loop",
    about = "Stackelberg mechanism generation: built-in and LLM designers from a naive mechanism"
)]
struct Args {
    /// Seed of the scenario populations.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Iteration budget per designer.
    #[arg(long, default_value_t = 20)]
    iterations: u32,
    /// Which designers to run: builtin, llm or both.
    #[arg(long, default_value = "both")]
    designers: String,
    /// OpenAI-compatible API root for the LLM designer (default: the scripted stand-in).
    #[arg(long)]
    llm_url: Option<String>,
    /// Model id sent to `--llm-url`.
    #[arg(long, default_value = "default")]
    model: String,
    /// Environment variable holding an API key for `--llm-url`, if it needs one.
    #[arg(long)]
    api_key_env: Option<String>,
    /// Output directory.
    #[arg(long, default_value = "target/experiments/mechanism_loop")]
    out: PathBuf,
    /// Print the JSON result on stdout.
    #[arg(long)]
    json: bool,
}

fn metrics_json(m: &Metrics) -> serde_json::Value {
    json!({
        "ic_violation": m.ic_violation,
        "ir_violation": m.ir_violation,
        "system_loss": m.system_loss,
        "budget_balance": m.budget_balance,
    })
}

fn record_json(r: &IterationRecord) -> serde_json::Value {
    json!({
        "iteration": r.iteration,
        "scenarios": r.scenarios,
        "designed_by": r.designed_by.name(),
        "ic_violation": r.metrics.ic_violation,
        "ir_violation": r.metrics.ir_violation,
        "system_loss": r.metrics.system_loss,
        "budget_balance": r.metrics.budget_balance,
        "regression_pass_rate": r.regression_pass_rate,
        "accepted": r.accepted,
        "blamed_clause": r.blamed_clause.map(|c| c.name()),
        "llm_refusals": r.llm_refusals,
        "refusal": r.refusal,
        "rationale": r.rationale,
        "incumbent": metrics_json(&r.after),
    })
}

fn summary_json(o: &RunOutcome) -> serde_json::Value {
    let accepted: Vec<&IterationRecord> = o.iterations.iter().filter(|r| r.accepted).collect();
    json!({
        "iterations": o.iterations.len(),
        "accepted": accepted.len(),
        "zero_violation_from_iteration": o.zero_violation_from(),
        "final": metrics_json(&o.metrics),
        "min_regression_pass_rate_of_accepted": accepted
            .iter()
            .map(|r| r.regression_pass_rate)
            .fold(1.0, f64::min),
        "llm_requests": o.llm_requests,
        "llm_refusals": o.iterations.iter().map(|r| r.llm_refusals).sum::<u32>(),
        "fallback_iterations": o.iterations.iter().filter(|r| r.designed_by.name() == "builtin-fallback").count(),
        "scenarios": o.scenarios,
        "mechanism": {
            "id": o.mechanism.id().to_hex(),
            "version": o.mechanism.version,
            "parameters": parameters(&o.mechanism),
            "text": o.mechanism.text(),
        },
    })
}

fn goals_json(o: &RunOutcome, budget: u32) -> serde_json::Value {
    json!({
        "ic_and_ir_zero_within_20": o.zero_violation_from().is_some_and(|i| i <= budget.min(20)),
        "system_loss_le_0_10": o.metrics.system_loss <= 0.10,
        "regression_pass_rate_1_for_every_accepted": o
            .iterations
            .iter()
            .filter(|r| r.accepted)
            .all(|r| r.regression_pass_rate >= 1.0),
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let choices: Vec<DesignerChoice> = match args.designers.as_str() {
        "builtin" => vec![DesignerChoice::BuiltIn],
        "llm" => vec![DesignerChoice::Llm],
        "both" => vec![DesignerChoice::BuiltIn, DesignerChoice::Llm],
        other => return Err(format!("--designers {other}: expected builtin, llm or both").into()),
    };
    let model: Box<dyn LanguageModel> = match &args.llm_url {
        Some(url) => {
            let mut cfg = OpenAiConfig::new(url.clone(), args.model.clone());
            if let Some(var) = &args.api_key_env {
                cfg.api_key = Some(std::env::var(var).map_err(|_| format!("${var} is not set"))?);
            }
            Box::new(OpenAiCompatible::new(cfg)?)
        }
        None => Box::new(ScriptedModel::experiment()),
    };
    let started = std::time::Instant::now();
    let mut runs = Vec::new();
    for choice in choices {
        let name = match choice {
            DesignerChoice::BuiltIn => "builtin",
            DesignerChoice::Llm => "llm",
        };
        eprintln!(
            "[mechanism_loop] designer {name}{}",
            if choice == DesignerChoice::Llm {
                format!(" (model {})", model.name())
            } else {
                String::new()
            }
        );
        let outcome = mech_run::run(
            choice,
            Some(model.as_ref()),
            args.seed,
            args.iterations,
            |r| {
                eprintln!(
                    "[mechanism_loop] {name} {:>2}/{} {:<16} scenarios {} ic {:.4} ir {:.4} loss {:.4} pass {:.2} {} blame {}{}",
                    r.iteration,
                    args.iterations,
                    r.designed_by.name(),
                    r.scenarios,
                    r.after.ic_violation,
                    r.after.ir_violation,
                    r.after.system_loss,
                    r.regression_pass_rate,
                    if r.accepted { "accepted" } else { "refused " },
                    r.blamed_clause.map_or("-", |c| c.name()),
                    if r.llm_refusals > 0 {
                        format!(" ({} LLM answers refused)", r.llm_refusals)
                    } else {
                        String::new()
                    }
                )
            },
        )
        .await?;
        runs.push((name, outcome));
    }

    std::fs::create_dir_all(&args.out)?;
    let header = [
        "designer",
        "iteration",
        "scenarios",
        "designed_by",
        "ic_violation",
        "ir_violation",
        "system_loss",
        "regression_pass_rate",
        "accepted",
        "blamed_clause",
        "llm_refusals",
        "incumbent_ic",
        "incumbent_ir",
        "incumbent_loss",
    ];
    let mut rows = Vec::new();
    let mut series = Vec::new();
    for (name, o) in &runs {
        for r in &o.iterations {
            rows.push(vec![
                name.to_string(),
                r.iteration.to_string(),
                r.scenarios.to_string(),
                r.designed_by.name().to_string(),
                format!("{:.6}", r.metrics.ic_violation),
                format!("{:.6}", r.metrics.ir_violation),
                format!("{:.6}", r.metrics.system_loss),
                format!("{:.3}", r.regression_pass_rate),
                r.accepted.to_string(),
                r.blamed_clause.map_or("", |c| c.name()).to_string(),
                r.llm_refusals.to_string(),
                format!("{:.6}", r.after.ic_violation),
                format!("{:.6}", r.after.ir_violation),
                format!("{:.6}", r.after.system_loss),
            ]);
        }
        let line = |label: &str, f: fn(&Metrics) -> f64| Series {
            name: format!("{name}: {label}"),
            // Iteration 0 is the naive starting mechanism.
            points: o
                .iterations
                .first()
                .map(|r| (0.0, f(&r.before)))
                .into_iter()
                .chain(
                    o.iterations
                        .iter()
                        .map(|r| (f64::from(r.iteration), f(&r.after))),
                )
                .collect(),
        };
        series.push(line("IC violation", |m| m.ic_violation));
        series.push(line("IR violation", |m| m.ir_violation));
        series.push(line("system loss", |m| m.system_loss));
    }
    report::write_csv(&args.out.join("iterations.csv"), &header, &rows)?;
    report::line_chart(
        &args.out.join("metrics_by_iteration.svg"),
        "Mechanism in force after each iteration",
        "iteration",
        "violation (task values) / system loss (share)",
        &series,
    )?;
    let goals: serde_json::Map<String, serde_json::Value> = runs
        .iter()
        .map(|(name, o)| (name.to_string(), goals_json(o, args.iterations)))
        .collect();
    let out = json!({
        "experiment": "mechanism_loop",
        "config": {
            "seed": args.seed,
            "iterations": args.iterations,
            "model": model.name(),
            "start": parameters(&mech_run::naive_mechanism()),
            "schedule": mech_run::schedule(args.seed)
                .iter()
                .map(|(at, s)| json!({"from_iteration": at, "scenario": s.name,
                    "population": s.population.iter().map(|t| json!({"kind": t.kind.name(), "share": t.share})).collect::<Vec<_>>()}))
                .collect::<Vec<_>>(),
        },
        "runs": runs
            .iter()
            .map(|(name, o)| json!({
                "designer": name,
                "iterations": o.iterations.iter().map(record_json).collect::<Vec<_>>(),
                "summary": summary_json(o),
            }))
            .collect::<Vec<_>>(),
        "goals": goals,
        "elapsed_s": started.elapsed().as_secs_f64(),
    });
    std::fs::write(
        args.out.join("results.json"),
        serde_json::to_string_pretty(&out)?,
    )?;
    for (name, o) in &runs {
        eprintln!(
            "[mechanism_loop] {name}: zero violations from iteration {}, final IC {:.4} IR {:.4} loss {:.4}, {} accepted",
            o.zero_violation_from()
                .map_or("never".to_string(), |i| i.to_string()),
            o.metrics.ic_violation,
            o.metrics.ir_violation,
            o.metrics.system_loss,
            o.iterations.iter().filter(|r| r.accepted).count()
        );
    }
    eprintln!("wrote {}", args.out.display());
    if args.json {
        println!("{}", serde_json::to_string(&out)?);
    }
    Ok(())
}
