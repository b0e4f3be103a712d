//! `--embeddings-url`: a node that ranks intents by an embedding model's vectors (a local
//! stand-in speaking the OpenAI-compatible protocol) finds the capability an intent means
//! without sharing its words.

use std::process::Command;

mod common;
use common::*;

#[test]
fn discover_ranks_by_the_embedding_servers_vectors() {
    let dir = tempfile::tempdir().unwrap();
    let image = descriptor(
        dir.path(),
        "image.toml",
        "capability = \"image.generate\"\ntopic = \"creative/image\"\nsummary = \"Generate an image from a text prompt\"\n",
    );
    let translate = descriptor(
        dir.path(),
        "translate.toml",
        "capability = \"text.translate\"\ntopic = \"language/text\"\nsummary = \"Translate text between languages\"\n",
    );
    let (_a, addr, _) = serve(TCP, dir.path(), "a", None, &translate, &[]);
    let (_b, _, _) = serve(TCP, dir.path(), "b", Some(&addr), &image, &[]);
    let url = stand_in::start();
    let out = Command::new(BIN)
        .args([
            "discover",
            "--bootstrap",
            &addr,
            "--expect",
            "2",
            "--wait-secs",
            "20",
        ])
        .args([
            "--json",
            "--embeddings-url",
            &url,
            "--embeddings-model",
            "stand-in",
        ])
        .arg("draw a picture of a cat")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["candidates"][0]["capability"], "image.generate", "{v:#}");

    // The descriptor files state no QoS: none is shown (no invented 9500 bp, 0 µ).
    for f in ["success_bp", "cost_micros", "latency_ms"] {
        assert!(v["candidates"][0][f].is_null(), "{f}: {v:#}");
    }
    let by_model = v["candidates"][0]["score"].as_f64().unwrap();
    assert!(by_model > 0.5, "the model sees the same meaning: {v:#}");
    // The lexical default, on the same two descriptors, matches no more than letters.
    let out = Command::new(BIN)
        .args(["discover", "--bootstrap", &addr, "--expect", "2", "--json"])
        .arg("draw a picture of a cat")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["descriptors_seen"], 2, "{v:#}");
    let lexical = v["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["capability"] == "image.generate")
        .map_or(0.0, |c| c["score"].as_f64().unwrap());
    assert!(lexical < 0.3 && lexical < by_model, "{v:#}");

    // A server that is not there stops the command at start, naming the flag.
    let out = Command::new(BIN)
        .args([
            "discover",
            "--bootstrap",
            &addr,
            "--embeddings-url",
            "http://127.0.0.1:9/v1",
        ])
        .arg("draw a picture of a cat")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--embeddings-url http://127.0.0.1:9/v1"),
        "{err}"
    );
    // The model flag alone is refused.
    let out = Command::new(BIN)
        .args([
            "discover",
            "--bootstrap",
            &addr,
            "--embeddings-model",
            "m",
            "x",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
