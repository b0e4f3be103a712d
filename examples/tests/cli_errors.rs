//! What a newcomer sees when something is wrong: one readable line naming the file, the
//! file's own field and the allowed range with its unit (or the flag), exit status 1, and
//! nothing started (no port bound, no data directory made) for a bad descriptor.

use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::*;

fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

/// Exit status 1, nothing on stdout, and stderr is one `error:` line containing `want`,
/// written for a person (no Rust debug forms).
fn refused(o: &Output, want: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        o.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains(want), "{err:?} should contain {want:?}");
    for debugish in ["Missing(", "InvalidTopic(", "\\n", "ttl_ms", "\"\\\""] {
        assert!(!err.contains(debugish), "{err:?} contains {debugish:?}");
    }
}

#[test]
fn bad_descriptor_files_are_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "topic.toml",
            "capability = \"a.b\"\ntopic = \"Bad Topic\"\nsummary = \"s\"\n",
            "topic.toml: topic \"Bad Topic\" is not a topic: 1 to 8 segments",
        ),
        (
            "ttl.toml",
            "capability = \"a.b\"\ntopic = \"a/b\"\nsummary = \"s\"\nttl_secs = 99999999\n",
            "ttl.toml: ttl_secs = 99999999 is outside 1..=3600 seconds",
        ),
        (
            "nosummary.toml",
            "capability = \"a.b\"\ntopic = \"a/b\"\n",
            "nosummary.toml: missing field `summary`",
        ),
        (
            "empty.json",
            "{\"capability\": \"a.b\", \"topic\": \"a/b\", \"summary\": \"\"}",
            "empty.json: summary is empty",
        ),
        (
            "qos.toml",
            "capability = \"a.b\"\ntopic = \"a/b\"\nsummary = \"s\"\n[qos]\nsuccess_bp = 20000\n",
            "qos.toml: qos.success_bp = 20000 is outside 0..=10000 basis points",
        ),
        (
            "name.toml",
            "capability = \"Shout It\"\ntopic = \"a/b\"\nsummary = \"s\"\n",
            "name.toml: capability \"Shout It\" is malformed: use lower-case letters",
        ),
        (
            "typo.toml",
            "capability = \"a.b\"\ntopic = \"a/b\"\nsummary = \"s\"\nttl_sec = 60\n",
            "typo.toml, line 4: unknown field `ttl_sec`",
        ),
        (
            "desc.yaml",
            "capability: a.b\n",
            "desc.yaml: unknown descriptor file type .yaml; use .toml or .json",
        ),
    ];
    for (name, body, want) in cases {
        let file = descriptor(dir.path(), name, body);
        for cmd in ["node", "serve"] {
            let mut args = vec![cmd, "--data-dir", "data", "--descriptor", &file];
            if cmd == "serve" {
                args.extend(["--exec", "cat"]);
            }
            let o = run(&args, dir.path());
            refused(&o, want);
            assert!(
                !dir.path().join("data").exists(),
                "{cmd} {name} made its data directory"
            );
        }
    }
}

#[test]
fn start_up_mistakes_name_the_flag_or_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let ok = descriptor(
        dir.path(),
        "ok.toml",
        "capability = \"a.b\"\ntopic = \"a/b\"\nsummary = \"s\"\n",
    );
    // A bootstrap address without a port can never work: an error now, not a redial forever.
    let o = run(&["discover", "--bootstrap", "127.0.0.1", "x"], dir.path());
    refused(&o, "--bootstrap 127.0.0.1: expected host:port");
    // Nothing answers at the bootstrap address: discover says so and fails.
    let o = run(
        &[
            "discover",
            "--bootstrap",
            "127.0.0.1:9",
            "--wait-secs",
            "1",
            "x",
        ],
        dir.path(),
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: reached no peer at --bootstrap 127.0.0.1:9 within 1 s"),
        "{err}"
    );
    // A data directory in use by a running node.
    let data = dir.path().join("busy").to_string_lossy().into_owned();
    let (_running, _, _) = started(Proc::spawn(&[
        "node",
        "--data-dir",
        &data,
        "--descriptor",
        &ok,
    ]));
    let o = run(
        &["node", "--data-dir", &data, "--descriptor", &ok],
        dir.path(),
    );
    refused(&o, &format!("data directory {data} is in use"));
}
