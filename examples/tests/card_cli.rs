//! `agentnet card export` and `agentnet card import` run as processes: a card exported from
//! descriptor files imports back into descriptor files that `--descriptor` accepts, with the
//! mapped fields kept; hand-written cards (A2A 1.0 and the older form) import; bad cards
//! exit non-zero with an error naming the problem.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_agentnet");

fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("run agentnet")
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn export_then_import_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("image.toml");
    std::fs::write(
        &image,
        r#"capability = "image.generate"
topic = "creative/image"
summary = "Generate an image from a text prompt"
tags = ["image", "art"]
inputs = ["text/plain"]
outputs = ["image/png"]
[qos]
latency_ms = 4000
"#,
    )
    .unwrap();
    let shout = dir.path().join("shout.json");
    std::fs::write(
        &shout,
        r#"{"capability": "text.shout", "topic": "text/transform", "summary": "Upper-case a text"}"#,
    )
    .unwrap();
    let card = dir.path().join("card.json");
    let o = run(&[
        "card",
        "export",
        "--descriptor",
        image.to_str().unwrap(),
        "--descriptor",
        shout.to_str().unwrap(),
        "--url",
        "https://agent.example.com/a2a",
        "--name",
        "Studio",
        "--out",
        card.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = json(&card);
    assert_eq!(c["name"], "Studio");
    assert_eq!(c["supportedInterfaces"][0]["protocolVersion"], "1.0");
    assert_eq!(c["skills"].as_array().unwrap().len(), 2);

    // stdout by default
    let o = run(&[
        "card",
        "export",
        "--descriptor",
        shout.to_str().unwrap(),
        "--url",
        "https://a.example.com",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["skills"][0]["id"], "text.shout");

    let out = dir.path().join("imported");
    let o = run(&[
        "card",
        "import",
        card.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed = String::from_utf8(o.stdout).unwrap();
    let paths: Vec<&str> = printed.lines().collect();
    assert_eq!(paths.len(), 2, "{printed}");
    let a = json(Path::new(paths[0]));
    assert_eq!(a["capability"], "image.generate");
    assert_eq!(a["topic"], "creative/image");
    assert_eq!(a["summary"], "Generate an image from a text prompt");
    assert_eq!(a["tags"], serde_json::json!(["image", "art"]));
    assert_eq!(a["inputs"], serde_json::json!(["text/plain"]));
    assert_eq!(a["outputs"], serde_json::json!(["image/png"]));
    let b = json(Path::new(paths[1]));
    assert_eq!(b["capability"], "text.shout");
    assert_eq!(b["topic"], "text/transform");
    assert_eq!(b["inputs"], serde_json::json!(["text/plain"]));

    // The imported files are descriptor files: exporting them again gives the same skills.
    let o = run(&[
        "card",
        "export",
        "--descriptor",
        paths[0],
        "--descriptor",
        paths[1],
        "--url",
        "https://agent.example.com/a2a",
        "--name",
        "Studio",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let again: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(again["skills"], c["skills"]);

    // A second import into the same directory does not overwrite.
    let o = run(&[
        "card",
        "import",
        card.to_str().unwrap(),
        "--out-dir",
        out.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("exists already"), "{}", stderr(&o));
}

#[test]
fn hand_written_cards_import() {
    let dir = tempfile::tempdir().unwrap();
    let o = run(&[
        "card",
        "import",
        &fixture("a2a_card_v1.json"),
        "--topic",
        "food/planning",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = json(&dir.path().join("recipe-finder.json"));
    assert_eq!(r["topic"], "food/recipes");
    let m = json(&dir.path().join("meal-plan.json"));
    assert_eq!(m["topic"], "food/planning");
    assert_eq!(m["outputs"], serde_json::json!(["application/pdf"]));

    let o = run(&[
        "card",
        "import",
        &fixture("a2a_card_v0.json"),
        "--topic",
        "finance/fx",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let c = json(&dir.path().join("convert_currency.json"));
    assert_eq!(
        c["summary"],
        "Converts an amount from one currency to another."
    );
}

#[test]
fn bad_cards_fail_with_a_readable_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (card, topic, expect) in [
        ("a2a_card_malformed.json", "misc", "malformed agent card"),
        (
            "a2a_card_no_skills.json",
            "misc",
            "the agent card has no skills",
        ),
        ("a2a_card_bad_skill.json", "misc", "skill \"★★★\""),
        ("a2a_card_v1.json", "", "skill \"meal-plan\": no topic"),
        (
            "a2a_card_v1.json",
            "Bad Topic",
            "skill \"meal-plan\": topic",
        ),
    ] {
        let path = fixture(card);
        let mut args = vec!["card", "import", path.as_str(), "--out-dir", d];
        if !topic.is_empty() {
            args.extend(["--topic", topic]);
        }
        let o = run(&args);
        assert!(!o.status.success(), "{card} imported");
        assert!(stderr(&o).contains(expect), "{card}: {}", stderr(&o));
    }
    // Nothing was written by the failed imports.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);

    let o = run(&[
        "card",
        "export",
        "--descriptor",
        "/nonexistent.toml",
        "--url",
        "x",
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("cannot read /nonexistent.toml"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn help_shows_an_example() {
    for sub in ["export", "import"] {
        let o = run(&["card", sub, "--help"]);
        assert!(o.status.success());
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(text.contains(&format!("agentnet card {sub}")), "{text}");
    }
}
