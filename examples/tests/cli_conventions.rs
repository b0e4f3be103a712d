//! What a command-line user expects of `agentnet`: an example in every subcommand's help, and
//! diagnostics on stderr controlled by `RUST_LOG` (stdout keeps the command's own output).

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_agentnet");

#[test]
fn every_subcommand_shows_an_example_in_its_help() {
    for sub in [
        &["node"][..],
        &["discover"],
        &["serve"],
        &["request"],
        &["reputation"],
        &["a2a"],
        &["mcp"],
        &["workflow"],
        &["card", "export"],
        &["card", "import"],
    ] {
        let out = Command::new(BIN).args(sub).arg("--help").output().unwrap();
        assert!(out.status.success(), "{sub:?} --help");
        let text = String::from_utf8(out.stdout).unwrap();
        let example = format!("Example:\n  agentnet {}", sub.join(" "));
        assert!(
            text.contains(&example),
            "{sub:?} --help has no example:\n{text}"
        );
    }
}

/// Runs a one-second libp2p node with `rust_log` (None: unset) and returns its stderr.
fn node_stderr(rust_log: Option<&str>) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(BIN);
    cmd.args([
        "node",
        "--transport",
        "libp2p",
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
    ])
    .arg("--data-dir")
    .arg(dir.path())
    .args(["--seconds", "1"])
    .env_remove("RUST_LOG");
    if let Some(l) = rust_log {
        cmd.env("RUST_LOG", l);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.starts_with("listening "),
        "stdout is the command's own: {stdout}"
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn rust_log_controls_the_diagnostics_on_stderr() {
    assert!(node_stderr(Some("debug")).contains(" DEBUG "));
    assert!(
        !node_stderr(None).contains(" DEBUG "),
        "warnings only by default"
    );
}

/// The descriptor format is in `agentnet --help`, as the README says.
#[test]
fn the_descriptor_format_is_in_the_top_level_help() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for field in [
        "capability =",
        "topic =",
        "summary =",
        "ttl_secs =",
        "[qos]",
        "success_bp",
    ] {
        assert!(text.contains(field), "--help lacks {field:?}:\n{text}");
    }
}
