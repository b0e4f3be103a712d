//! Discovery by meaning: top-1 and top-5 hit rates of an encoder on the paraphrase set (intents
//! that share no word with the capability they ask for; see [`agentnet_examples::paraphrase`]).
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin paraphrase_eval
//! cargo run --release -p agentnet-examples --bin paraphrase_eval -- \
//!     --embeddings-url http://127.0.0.1:8081/v1 --model nomic-embed-text-v1.5 --json
//! ```
//!
//! Without `--embeddings-url` it measures the embedded default, the lexical
//! `HashedNgramEncoder`. With it, every text is embedded by that OpenAI-compatible
//! `/embeddings` server (in batches of 64, through `OpenAiEmbeddings` and the same
//! `RemoteEncoder` a node uses) and the same set is run on its vectors. Prints one line (or
//! one JSON object with `--json`: `encoder`, `capabilities`, `pairs`, `top1`, `top5`, `mrr`),
//! and writes `results.json` (with every intent's rank), `pairs.csv` and `hits.svg` to `--out`
//! (default `target/experiments/paraphrase`). `--set FILE` runs another set of the same
//! format. A set in which an intent shares a word with its capability is refused.

use std::path::PathBuf;
use std::time::Duration;

use agentnet_core::semantic::{
    HashedNgramEncoder, RemoteEncoder, RemoteEncoderLimits, SemanticEncoder,
};
use agentnet_examples::paraphrase::{self, Scores, Set};
use agentnet_examples::report;
use agentnet_transport::Embedder;
use agentnet_transport::llm::{OpenAiConfig, OpenAiEmbeddings};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(
    name = "paraphrase_eval",
    about = "Top-1/top-5 discovery hit rates on intents worded without their capability's words",
    after_help = "Example:\n  paraphrase_eval --embeddings-url http://127.0.0.1:8081/v1 --model nomic-embed-text-v1.5"
)]
struct Args {
    /// The set (JSON; the format of `examples/data/paraphrase.json`).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/paraphrase.json"))]
    set: PathBuf,
    /// An OpenAI-compatible API root (`http://host:port/v1`) whose `/embeddings` embeds the
    /// texts instead of the lexical default.
    #[arg(long)]
    embeddings_url: Option<String>,
    /// The embedding model's name on that server.
    #[arg(long, default_value = "default")]
    model: String,
    /// Sent as `Authorization: Bearer …` when given.
    #[arg(long)]
    api_key: Option<String>,
    /// Longest wait for one batch, in seconds.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
    /// Where to write results.json, pairs.csv and hits.svg.
    #[arg(long, default_value = "target/experiments/paraphrase")]
    out: PathBuf,
    /// Print one JSON object instead of a line.
    #[arg(long)]
    json: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run(Args::parse()).await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run(a: Args) -> Result<(), Box<dyn std::error::Error>> {
    let set = Set::load(&a.set)?;
    let shared = paraphrase::shared_words(&set);
    if let Some((intent, word)) = shared.first() {
        return Err(format!(
            "{}: {} intents share a word with their capability, e.g. {intent:?} ({word:?})",
            a.set.display(),
            shared.len()
        )
        .into());
    }
    let scores = match &a.embeddings_url {
        None => paraphrase::evaluate(&set, &HashedNgramEncoder::default()),
        Some(url) => {
            let encoder = embed_all(&set, &a, url).await?;
            paraphrase::evaluate(&set, &encoder)
        }
    };
    write(&a, &scores)?;
    if a.json {
        let mut v = serde_json::to_value(&scores)?;
        if let Some(o) = v.as_object_mut() {
            o.remove("results");
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "{}: top-1 {:.1}%, top-5 {:.1}%, MRR {:.3} over {} intents and {} capabilities ({})",
            scores.encoder,
            100.0 * scores.top1,
            100.0 * scores.top5,
            scores.mrr,
            scores.pairs,
            scores.capabilities,
            a.out.display()
        );
    }
    Ok(())
}

/// A `RemoteEncoder` holding the server's vector for every text of the set.
async fn embed_all(
    set: &Set,
    a: &Args,
    url: &str,
) -> Result<RemoteEncoder, Box<dyn std::error::Error>> {
    let mut cfg = OpenAiConfig::new(url, &a.model);
    cfg.api_key = a.api_key.clone();
    let timeout = Duration::from_secs(a.timeout_secs);
    let model = OpenAiEmbeddings::probe(cfg, timeout)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let texts = set.texts();
    let mut enc = RemoteEncoder::new(
        model.id(),
        model.dim(),
        RemoteEncoderLimits {
            cache_entries: texts.len().max(1),
            max_pending: texts.len().max(1),
            ..RemoteEncoderLimits::default()
        },
    )?;
    for t in &texts {
        let _ = enc.encode(t);
    }
    let misses = enc.take_misses();
    let mut progress = report::Progress::new("embedding", misses.len() as u64, 10);
    for (i, batch) in misses.chunks(64).enumerate() {
        let vectors = model
            .embed(batch, timeout)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        for (t, v) in batch.iter().zip(vectors) {
            enc.answer(t, Some(v))?;
        }
        progress.update(((i + 1) * 64).min(misses.len()) as u64, "");
    }
    Ok(enc)
}

fn write(a: &Args, s: &Scores) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&a.out)?;
    std::fs::write(a.out.join("results.json"), serde_json::to_string_pretty(s)?)?;
    let rows: Vec<Vec<String>> = s
        .results
        .iter()
        .map(|r| {
            vec![
                r.intent.clone(),
                r.expected.clone(),
                r.rank.map(|k| k.to_string()).unwrap_or_default(),
                r.first.clone(),
            ]
        })
        .collect();
    report::write_csv(
        &a.out.join("pairs.csv"),
        &["intent", "expected", "rank", "first"],
        &rows,
    )?;
    report::bar_chart(
        &a.out.join("hits.svg"),
        &format!("Paraphrase discovery, {}", s.encoder),
        "share of intents",
        &[("top-1", s.top1), ("top-5", s.top5), ("MRR", s.mrr)],
    )?;
    Ok(())
}
