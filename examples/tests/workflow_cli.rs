//! `agentnet workflow` across processes: two steps over `serve` providers, the second fed
//! by the first; and a workflow whose second step has no provider.

use std::process::Command;

mod common;
use common::*;

#[test]
fn a_two_step_workflow_runs_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let shout = descriptor(
        dir.path(),
        "shout.toml",
        "capability = \"text.shout\"\ntopic = \"text/style\"\nsummary = \"Shout my text: rewrite it in capitals\"\n",
    );
    let (_a, addr, _) = serve(TCP, dir.path(), "a", None, &shout, &[]);
    let (_b, _, _) = serve(TCP, dir.path(), "b", Some(&addr), &shout, &[]);
    std::fs::write(dir.path().join("in.txt"), "hello sea\n").unwrap();
    let wf = dir.path().join("pipeline.toml");
    std::fs::write(
        &wf,
        "[[step]]\nname = \"draft\"\nintent = \"shout my text\"\ninput = \"in.txt\"\n\
         [[step]]\nname = \"polish\"\nintent = \"shout my text again\"\nfrom = \"draft\"\n\
         tier = \"3\"\n",
    )
    .unwrap();
    let run = |file: &std::path::Path| {
        Command::new(BIN)
            .args([
                "workflow",
                "--bootstrap",
                &addr,
                "--wait-secs",
                "5",
                "--json",
            ])
            .arg(file)
            .output()
            .unwrap()
    };
    let o = run(&wf);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["outcome"], "success", "{v:#}");
    assert_eq!(v["result"], "HELLO SEA\n");
    assert_eq!(v["steps"][0]["name"], "draft");
    assert_eq!(v["steps"][1]["result"], "HELLO SEA\n");
    assert!(v["steps"][1]["provider"].is_string(), "{v:#}");

    // A second step nobody can serve: a defined failure naming it, exit status 1, the first
    // step's result kept.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[step]]\nname = \"draft\"\nintent = \"shout my text\"\ninput = \"in.txt\"\n\
         [[step]]\nname = \"fly\"\nintent = \"zzqx vvkj\"\nfrom = \"draft\"\n",
    )
    .unwrap();
    let o = run(&bad);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(
        v["outcome"].as_str().unwrap().starts_with("step \"fly\""),
        "{v:#}"
    );
    assert_eq!(v["steps"][0]["outcome"], "success");
    assert_eq!(v["steps"][0]["result"], "HELLO SEA\n");

    // A file naming a later step is refused before anything starts.
    let loopy = dir.path().join("loop.toml");
    std::fs::write(
        &loopy,
        "[[step]]\nname = \"a\"\nintent = \"x\"\nfrom = \"b\"\n[[step]]\nname = \"b\"\nintent = \"y\"\n",
    )
    .unwrap();
    let o = run(&loopy);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not name an earlier step"));
}
