//! `agentnet mcp` as an MCP client sees it: a `serve` process shouts its input; an
//! `agentnet mcp` child process, driven by rmcp's client over its stdio, lists its four
//! tools, discovers the provider, hires it, reads its reputation, announces a capability,
//! answers bad arguments with error results and keeps serving. Then a raw pipe: JSON-RPC
//! lines written to `agentnet mcp` and stdin closed at once still get the tool's result, and
//! the process exits 0.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
use serde_json::{Value, json};

type Client = RunningService<RoleClient, ()>;

/// Call `name` with `args` (an object); the server must answer with a tool result.
async fn call(client: &Client, name: &'static str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments must be an object")
    };
    client
        .call_tool(CallToolRequestParams::new(name).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{name}: no tool result: {e}"))
}

/// A successful result's structured content, checked against its text copy.
fn ok(r: CallToolResult) -> Value {
    assert_ne!(r.is_error, Some(true), "tool failed: {:?}", r.content);
    let v = r.structured_content.clone().expect("structured content");
    let text = r.content[0].as_text().expect("text content");
    assert_eq!(serde_json::from_str::<Value>(&text.text).unwrap(), v);
    v
}

/// An error result's text.
fn failed(r: CallToolResult) -> String {
    assert_eq!(r.is_error, Some(true), "expected an error result: {r:?}");
    r.content[0].as_text().expect("text content").text.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mcp_client_discovers_hires_and_announces_through_agentnet_mcp() {
    let dir = tempfile::tempdir().unwrap();
    let desc = descriptor(
        dir.path(),
        "shout.toml",
        "capability = \"text.shout\"\ntopic = \"text/transform\"\nsummary = \"Shout text back in capital letters\"\n[qos]\nlatency_ms = 40\n",
    );
    let (_provider, addr, provider_id) = serve(TCP, dir.path(), "p", None, &desc, &[]);

    let cmd = tokio::process::Command::new(BIN).configure(|c| {
        c.args(["mcp", "--bootstrap", &addr, "--wait-secs", "30"]);
    });
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn agentnet mcp");
    let client: Client = ().serve(transport).await.expect("MCP handshake");

    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    names.sort();
    assert_eq!(names, ["announce", "discover", "reputation", "request"]);
    for t in &tools {
        assert_eq!(
            t.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            t.name
        );
        assert!(t.input_schema.contains_key("properties"), "{}", t.name);
    }

    let found = ok(call(&client, "discover", json!({"intent": "shout my text"})).await);
    let best = &found["candidates"][0];
    assert_eq!(best["capability"], "text.shout", "{found}");
    assert_eq!(best["provider"], provider_id.as_str());
    assert_eq!(best["topic"], "text/transform");
    assert!(best["reputation"].is_number(), "{found}");
    // What the descriptor states is shown; what it leaves out is null, not a default.
    assert_eq!(best["qos"]["latency_ms"], 40, "{found}");
    assert!(best["qos"]["success_bp"].is_null(), "{found}");

    let args = json!({"intent": "shout my text", "input": "hello from mcp"});
    let out = ok(call(&client, "request", args).await);
    assert_eq!(out["outcome"], "success", "{out}");
    assert_eq!(out["result"], "HELLO FROM MCP");
    assert_eq!(out["provider"], provider_id.as_str());
    assert_eq!(out["attempts"][0]["verdict"], "accepted");

    // The task counts in the next trust round (every 500 ms for the CLI's nodes).
    let args = json!({"agent": provider_id, "topic": "text/transform"});
    let mut rep = ok(call(&client, "reputation", args.clone()).await);
    for _ in 0..50 {
        if rep["score"].as_f64().is_some_and(|s| s > 0.0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        rep = ok(call(&client, "reputation", args.clone()).await);
    }
    assert!(rep["score"].as_f64().is_some_and(|s| s > 0.0), "{rep}");
    assert_eq!(rep["agent"], provider_id.as_str());
    assert_eq!(rep["convicted"], false);

    let descriptor = json!({
        "capability": "text.echo",
        "topic": "text/echo",
        "summary": "Echo text back unchanged",
        "tags": ["echo"],
        "qos": {"latency_ms": 5},
    });
    let announced = ok(call(&client, "announce", json!({ "descriptor": descriptor })).await);
    assert_eq!(announced["capability"], "text.echo");
    assert_eq!(announced["topic"], "text/echo");
    let me = announced["provider"].as_str().unwrap();
    assert!(
        me.starts_with("did:key:z") && me != provider_id,
        "{announced}"
    );
    assert!(announced["expires_at"].as_u64().unwrap() > 1_700_000_000_000);

    // Bad arguments: error results that say why, and the server keeps answering.
    let why = failed(call(&client, "discover", json!({})).await);
    assert!(why.contains("intent"), "{why}");
    let why = failed(call(&client, "discover", json!({"intent": "x", "k": 500})).await);
    assert!(why.contains("k 500"), "{why}");
    let why = failed(call(&client, "reputation", json!({"agent": "bob", "topic": "a"})).await);
    assert!(why.contains("bob"), "{why}");
    let why = failed(
        call(
            &client,
            "request",
            json!({"intent": "x", "input": "y", "tier": 9}),
        )
        .await,
    );
    assert!(why.contains("tier 9"), "{why}");
    let bad = json!({"descriptor": {"capability": "c", "topic": "t", "summary": "s", "colour": 1}});
    let why = failed(call(&client, "announce", bad).await);
    assert!(why.contains("colour"), "{why}");
    let again = ok(call(&client, "discover", json!({"intent": "shout", "k": 1})).await);
    assert_eq!(again["candidates"].as_array().map(Vec::len), Some(1));
    client.cancel().await.expect("close the client");

    // A raw pipe: stdin closes right after the call, whose answer still arrives.
    let mut mcp = Command::new(BIN)
        .args(["mcp", "--bootstrap", &addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn agentnet mcp");
    let lines = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "pipe", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
            "name": "request", "arguments": {"intent": "shout my text", "input": "piped"}}}),
    ];
    let mut stdin = mcp.stdin.take().unwrap();
    for l in &lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let out = mcp.wait_with_output().expect("agentnet mcp runs");
    assert!(out.status.success(), "{out:?}");
    let answers: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("stdout holds only JSON-RPC lines"))
        .collect();
    let call = answers
        .iter()
        .find(|a| a["id"] == 2)
        .expect("the call's answer");
    assert_eq!(
        call["result"]["structuredContent"]["result"], "PIPED",
        "{call}"
    );
}
