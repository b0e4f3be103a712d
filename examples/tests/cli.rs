//! Three `agentnet node` processes on loopback form one network; a `discover` process finds
//! every node's descriptor; a node killed with SIGKILL and restarted from its data directory
//! keeps its identity and continues its log. Serve processes run the funnel for a `request`
//! process, over TCP and over libp2p (where a provider killed and restarted is found again).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn discover(bootstrap: &str, expect: usize, intent: &str) -> serde_json::Value {
    let out = Command::new(BIN)
        .args([
            "discover",
            "--bootstrap",
            bootstrap,
            "--expect",
            &expect.to_string(),
            "--wait-secs",
            "20",
            "--k",
            "10",
            "--json",
            intent,
        ])
        .output()
        .expect("run discover");
    assert!(out.status.success(), "discover failed: {out:?}");
    serde_json::from_slice(&out.stdout).expect("discover prints JSON")
}

fn capabilities(v: &serde_json::Value) -> Vec<String> {
    let mut c: Vec<String> = v["candidates"]
        .as_array()
        .expect("candidates")
        .iter()
        .map(|c| c["capability"].as_str().unwrap_or_default().to_string())
        .collect();
    c.sort();
    c
}

#[test]
fn three_processes_discover_each_other_and_survive_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let d1 = descriptor(
        dir.path(),
        "img.toml",
        "capability = \"image.generate\"\ntopic = \"creative/image\"\nsummary = \"Generate an image from a text prompt\"\n",
    );
    let d2 = descriptor(
        dir.path(),
        "tr.json",
        r#"{"capability": "text.translate", "topic": "language/translation", "summary": "Translate documents between English and French"}"#,
    );
    let d3 = descriptor(
        dir.path(),
        "code.toml",
        "capability = \"code.review\"\ntopic = \"code/review\"\nsummary = \"Review Rust code for security bugs\"\nside_effects = \"read_only\"\n",
    );
    let (n1, a1, _) = node(dir.path(), "one", None, &d1);
    n1.expect("announced image.generate");
    let (n2, _, id2) = node(dir.path(), "two", Some(&a1), &d2);
    assert!(n2.expect("announced text.translate").ends_with("seq 1"));
    let (n3, _, _) = node(dir.path(), "three", Some(&a1), &d3);
    n3.expect("announced code.review");

    let found = discover(&a1, 3, "translate my report into French");
    assert_eq!(
        found["descriptors_seen"], 3,
        "every node's descriptor reached the client: {found}"
    );
    assert_eq!(found["candidates"][0]["capability"], "text.translate");
    let found = discover(
        &a1,
        3,
        "generate an image, translate documents, review code",
    );
    assert_eq!(
        capabilities(&found),
        vec!["code.review", "image.generate", "text.translate"],
        "{found}"
    );

    // SIGKILL node two (no clean shutdown), then restart it from its directory.
    drop(n2);
    let (n2, _, id2_again) = node(dir.path(), "two", Some(&a1), &d2);
    assert_eq!(id2, id2_again, "same identity after a restart");
    let line = n2.expect("announced text.translate");
    assert!(
        line.ends_with("seq 2"),
        "the log continues, no reused seq: {line}"
    );
    let found = discover(&a1, 3, "French translation");
    let tr = found["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["capability"] == "text.translate")
        .expect("restarted node's descriptor is found");
    assert_eq!(tr["provider"].as_str(), Some(id2.as_str()));
    drop((n1, n2, n3));
}
fn request(dir: &Path, bootstrap: &str, extra: &[&str], intent: &str) -> (bool, serde_json::Value) {
    let input = dir.join("input.txt");
    std::fs::write(&input, "hello from a process\n").unwrap();
    let data = dir.join("requester").to_string_lossy().into_owned();
    let input = input.to_string_lossy().into_owned();
    let mut args = vec![
        "request",
        "--bootstrap",
        bootstrap,
        "--data-dir",
        &data,
        "--input",
        &input,
        "--json",
    ];
    args.extend(extra);
    args.push(intent);
    let out = Command::new(BIN).args(&args).output().expect("run request");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("request prints JSON ({e}): {out:?}"));
    (out.status.success(), v)
}

#[test]
fn three_serve_processes_one_cheating_and_a_request_runs_the_funnel() {
    let dir = tempfile::tempdir().unwrap();
    let honest = descriptor(
        dir.path(),
        "shout.toml",
        "capability = \"text.shout\"\ntopic = \"text/style\"\nsummary = \"Rewrite text in capitals\"\n",
    );
    let lure = descriptor(
        dir.path(),
        "lure.toml",
        "capability = \"text.shout\"\ntopic = \"text/style\"\nsummary = \"Shout my text: the loudest capitals for any text\"\n",
    );
    let canaries = dir.path().join("canaries.jsonl");
    std::fs::write(
        &canaries,
        "{\"input\": \"canary\", \"expected\": \"CANARY\"}\n",
    )
    .unwrap();
    let canaries = canaries.to_string_lossy().into_owned();
    let (p1, a1, id1) = serve(TCP, dir.path(), "one", None, &honest, &[]);
    let (p2, _, id2) = serve(
        TCP,
        dir.path(),
        "two",
        Some(&a1),
        &lure,
        &["--lie-with-receipts"],
    );
    let (p3, _, id3) = serve(TCP, dir.path(), "three", Some(&a1), &honest, &[]);

    // Tier 3: the cheater ranks first (its descriptor matches best), its evidence contradicts
    // its own receipts, it is convicted and the request falls back to an honest provider.
    let (ok, v) = request(
        dir.path(),
        &a1,
        &[
            "--tier",
            "3",
            "--canaries",
            &canaries,
            "--explore",
            "0",
            "--expect",
            "3",
        ],
        "shout my text",
    );
    assert!(ok, "{v}");
    assert_eq!(v["outcome"], "success", "{v}");
    assert_eq!(v["result"], "HELLO FROM A PROCESS\n", "{v}");
    assert_eq!(v["tier"], 3);
    assert_eq!(
        v["attempts"][0]["provider"].as_str(),
        Some(id2.as_str()),
        "{v}"
    );
    assert_eq!(v["attempts"][0]["verdict"], "fraud", "{v}");
    let winner = v["provider"].as_str().unwrap().to_string();
    assert!(winner == id1 || winner == id3, "{v}");
    assert!(v["fallbacks"].as_u64() >= Some(1));
    assert_eq!(v["payment"], 10.0);
    assert_eq!(v["reputation"][id2.as_str()], 0.0, "{v}");
    assert!(v["reputation"][winner.as_str()].as_f64() > Some(0.0), "{v}");
    p2.expect("settled with");

    // The requester's data directory remembers the conviction: the cheater is never offered
    // work again (it ranks below providers with standing, and is skipped if reached).
    let (ok, v) = request(
        dir.path(),
        &a1,
        &["--tier", "1", "--explore", "0"],
        "shout my text",
    );
    assert!(ok, "{v}");
    assert_ne!(v["provider"].as_str(), Some(id2.as_str()), "{v}");
    assert!(
        v["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["provider"].as_str() != Some(id2.as_str()) || a["verdict"] == "convicted"),
        "{v}"
    );

    // And `reputation` reads it back from the directory.
    let out = Command::new(BIN)
        .args(["reputation", "--json", "--data-dir"])
        .arg(dir.path().join("requester"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = r["scores"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|x| x["agent"].as_str() == Some(id2.as_str()) && x["convicted"] == true),
        "{r}"
    );
    drop((p1, p2, p3));
}

#[test]
fn over_libp2p_a_request_reaches_a_provider_and_finds_it_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let shout = descriptor(
        dir.path(),
        "shout.toml",
        "capability = \"text.shout\"\ntopic = \"text/style\"\nsummary = \"Rewrite text in capitals\"\n",
    );
    // A: a bootstrap node that serves nothing itself.
    let data_a = dir.path().join("a").to_string_lossy().into_owned();
    let mut args = vec!["node"];
    args.extend(LIBP2P);
    args.extend(["--data-dir", &data_a]);
    let (a, addr_a, _) = started(Proc::spawn(&args));
    assert!(
        addr_a.starts_with("/ip4/127.0.0.1/tcp/") && addr_a.contains("/p2p/12D3Koo"),
        "a libp2p node prints its multiaddr: {addr_a}"
    );
    // B: a provider joined through A.
    let (b, addr_b, id_b) = serve(LIBP2P, dir.path(), "b", Some(&addr_a), &shout, &[]);
    assert!(addr_b.contains("/p2p/"), "{addr_b}");
    let over_libp2p = [
        "--transport",
        "libp2p",
        "--tier",
        "1",
        "--expect",
        "1",
        "--wait-secs",
        "60",
    ];
    let (ok, v) = request(dir.path(), &addr_a, &over_libp2p, "shout my text");
    assert!(ok, "{v}");
    assert_eq!(v["result"], "HELLO FROM A PROCESS\n", "{v}");
    assert_eq!(v["provider"].as_str(), Some(id_b.as_str()), "{v}");
    b.expect("settled with");

    // Kill B (no clean shutdown) and start it again from its directory: same identity, a new
    // port. The next request finds it again through A.
    drop(b);
    let (b, _, id_b2) = serve(LIBP2P, dir.path(), "b", Some(&addr_a), &shout, &[]);
    assert_eq!(id_b, id_b2, "same identity after a restart");
    // A may still hand out B's previous descriptor (its old address) until B's re-announcement
    // reaches it; a request that only found that one ends "unreachable". Ask again then, as
    // a user would (at most three times).
    let mut tries = 0;
    let (ok, v) = loop {
        tries += 1;
        let (ok, v) = request(dir.path(), &addr_a, &over_libp2p, "shout my text");
        if ok || tries == 3 {
            break (ok, v);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    assert!(ok, "{v}");
    assert_eq!(v["result"], "HELLO FROM A PROCESS\n", "{v}");
    assert_eq!(v["provider"].as_str(), Some(id_b.as_str()), "{v}");
    b.expect("settled with");
    drop((a, b));
}

#[test]
fn libp2p_only_flags_and_bad_addresses_are_refused_with_the_flag_named() {
    let fails = |args: &[&str], flag: &str| {
        let out = Command::new(BIN).args(args).output().expect("run agentnet");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(flag),
            "{args:?}: {err}"
        );
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("n").to_string_lossy().into_owned();
    fails(
        &[
            "node",
            "--data-dir",
            &data,
            "--relay-server",
            "--seconds",
            "1",
        ],
        "--relay-server needs --transport libp2p",
    );
    fails(
        &[
            "node",
            "--data-dir",
            &data,
            "--external",
            "1.2.3.4:7000",
            "--seconds",
            "1",
        ],
        "--external needs --transport libp2p",
    );
    let mut bad_bootstrap = vec!["node", "--data-dir", &data, "--seconds", "1"];
    bad_bootstrap.extend(["--bootstrap", "/ip4/nope"]);
    bad_bootstrap.extend(LIBP2P);
    fails(&bad_bootstrap, "--bootstrap");
    fails(
        &[
            "discover",
            "--transport",
            "libp2p",
            "--bootstrap",
            "nowhere",
            "x",
        ],
        "--bootstrap",
    );
}
