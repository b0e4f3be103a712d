//! The paraphrase set is what it claims, the README states its lexical scores, and
//! `paraphrase_eval` runs it against an embeddings server (a local stand-in speaking the
//! OpenAI-compatible `/v1/embeddings` protocol).

use std::path::Path;
use std::process::Command;

use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_examples::paraphrase::{self, Set};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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

/// A stand-in model server: a 32-component bag of hashed words per text.
async fn stand_in(listener: TcpListener) {
    while let Ok((mut s, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let (head_end, len) = loop {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&buf[..i]).to_lowercase();
                    let len = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    break (i + 4, len);
                }
            };
            while buf.len() < head_end + len {
                let n = s.read(&mut chunk).await.unwrap_or(0);
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let req: Value = serde_json::from_slice(&buf[head_end..head_end + len]).unwrap();
            let data: Vec<Value> = req["input"]
                .as_array()
                .unwrap()
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let mut v = vec![0.0f32; 32];
                    for w in t.as_str().unwrap().split_whitespace() {
                        let h = w.bytes().fold(5u32, |h, b| h.wrapping_mul(33) ^ b as u32);
                        v[h as usize % 32] += 1.0;
                    }
                    v[0] += 0.01;
                    json!({"index": i, "embedding": v})
                })
                .collect();
            let body = json!({"data": data}).to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paraphrase_eval_runs_the_set_against_an_embeddings_server() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(stand_in(listener));
    let out = tempfile::tempdir().unwrap();
    let o = tokio::task::spawn_blocking({
        let out = out.path().to_owned();
        move || {
            Command::new(env!("CARGO_BIN_EXE_paraphrase_eval"))
                .args(["--embeddings-url", &format!("http://{addr}/v1")])
                .args(["--model", "stand-in", "--json", "--out"])
                .arg(&out)
                .output()
                .unwrap()
        }
    })
    .await
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
