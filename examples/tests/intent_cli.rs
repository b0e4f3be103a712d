//! `agentnet request --budget` across processes: a signed intent, bids from two `serve --bid`
//! providers (one never announced its descriptor), the award by the score rule and the task
//! run and paid at the auction's price.

use std::process::Command;

mod common;
use common::*;

#[test]
fn an_intent_with_bids_is_awarded_and_paid_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let shout = descriptor(
        dir.path(),
        "shout.toml",
        "capability = \"text.shout\"\ntopic = \"text/style\"\nsummary = \"Shout my text: rewrite it in capitals\"\n",
    );
    let (_a, addr, _) = serve(
        TCP,
        dir.path(),
        "a",
        None,
        &shout,
        &["--bid", "3", "--bid-latency-ms", "500"],
    );
    let (_b, _, b_id) = serve(
        TCP,
        dir.path(),
        "b",
        Some(&addr),
        &shout,
        &["--bid", "2", "--bid-latency-ms", "800", "--no-advertise"],
    );
    std::fs::write(dir.path().join("in.txt"), "hello bids\n").unwrap();
    let o = Command::new(BIN)
        .args([
            "request",
            "--bootstrap",
            &addr,
            "--input",
            &dir.path().join("in.txt").to_string_lossy(),
            "--budget",
            "10",
            "--topic",
            "text/style",
            "--json",
            "shout my text",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "success", "{v:#}");
    assert_eq!(v["result"], "HELLO BIDS\n");
    assert_eq!(v["bids"].as_array().map(Vec::len), Some(2), "{v:#}");
    // Scores (0.1 unit per promised second): a 10 − 3 − 0.05 = 6.95, b 10 − 2 − 0.08 = 7.92;
    // b wins and is paid the price that ties it with a: 2 + 0.97 = 2.97 units.
    assert_eq!(v["award"]["provider"], b_id, "{v:#}");
    assert_eq!(v["award"]["pay"], 2.97, "{v:#}");
    assert_eq!(v["provider"], b_id);
    assert_eq!(v["payment"], 2.97);
}
