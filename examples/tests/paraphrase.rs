//! The paraphrase set is what it claims, the README states its lexical scores, and
//! `paraphrase_eval` runs it against an embeddings server (a local stand-in speaking the
//! OpenAI-compatible `/v1/embeddings` protocol).

use std::path::Path;
use std::process::Command;

use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_examples::paraphrase::{self, Set};
use serde_json::Value;

mod common;

fn set() -> Set {
    Set::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("data/paraphrase.json")).unwrap()
}

#[test]
fn the_set_has_a_hundred_pairs_worded_without_their_capabilitys_words() {
    let s = set();
    assert!(s.pairs().count() >= 100, "{} pairs", s.pairs().count());
    assert!(s.capabilities.iter().all(|c| c.intents.len() >= 2));
    let names: std::collections::BTreeSet<_> =
        s.capabilities.iter().map(|c| &c.capability).collect();
    assert_eq!(
        names.len(),
        s.capabilities.len(),
        "capabilities are distinct"
    );
    assert_eq!(paraphrase::shared_words(&s), Vec::<(String, String)>::new());
    // The checker does catch a shared word, and a shared stem.
    let mut bad = s.clone();
    bad.capabilities[0]
        .intents
        .push("an image of a boat".into());
    bad.capabilities[1]
        .intents
        .push("a translation please".into());
    let found: Vec<String> = paraphrase::shared_words(&bad)
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    assert_eq!(found, vec!["image".to_owned(), "translation".to_owned()]);
}

/// The README's numbers are the program's numbers.
#[test]
fn the_readme_states_the_lexical_scores() {
    let s = paraphrase::evaluate(&set(), &HashedNgramEncoder::default());
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let stated = format!(
        "top-1 {:.1} %, top-5 {:.1} %",
        100.0 * s.top1,
        100.0 * s.top5
    );
    assert!(
        readme.contains(&stated),
        "README should say {stated:?} for the lexical encoder on {} pairs",
        s.pairs
    );
    assert!(readme.contains(&format!("{} intents", s.pairs)));
}

#[test]
fn paraphrase_eval_runs_the_set_against_an_embeddings_server() {
    let url = common::stand_in::start();
    let out = tempfile::tempdir().unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_paraphrase_eval"))
        .args(["--embeddings-url", &url])
        .args(["--model", "stand-in", "--json", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["encoder"], "openai-compatible:stand-in:32");
    assert_eq!(v["pairs"].as_u64(), Some(set().pairs().count() as u64));
    let top5 = v["top5"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&top5));
    for f in ["results.json", "pairs.csv", "hits.svg"] {
        assert!(out.path().join(f).exists(), "{f}");
    }
    // A server that is not there is an error naming it, not a crash.
    let o = Command::new(env!("CARGO_BIN_EXE_paraphrase_eval"))
        .args([
            "--embeddings-url",
            "http://127.0.0.1:9/v1",
            "--timeout-secs",
            "2",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("127.0.0.1:9"));
}
