//! `agentnet a2a` between an A2A client (plain HTTP/1.1 written by hand) and a `serve`
//! process: the card lists the provider's capability, `SendMessage` runs the funnel and
//! answers a completed task with the provider's output, and bad requests get their JSON-RPC
//! codes or HTTP statuses.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod common;
use common::{Proc, TCP, descriptor, serve};

/// The second word of a `listening <address> as <did:key>` line.
fn address(line: &str) -> String {
    line.split_whitespace().nth(1).expect("address").to_string()
}

/// One HTTP/1.1 exchange on a fresh connection: (status, body).
fn http(addr: &str, head: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect to the gateway");
    s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
    let req = format!("{head}\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").expect("an HTTP response");
    let status = headers
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    (status, body.to_string())
}

/// A chunked body of `len` bytes, sent while the response is read (the gateway may answer
/// and close before it has read everything).
fn post_chunked(addr: &str, len: usize) -> u16 {
    let mut s = TcpStream::connect(addr).expect("connect to the gateway");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'a'; 64 * 1024];
        let mut sent = w.write_all(head.as_bytes());
        let mut left = len;
        while sent.is_ok() && left > 0 {
            let n = left.min(chunk.len());
            sent = write!(w, "{n:x}\r\n")
                .and_then(|()| w.write_all(&chunk[..n]))
                .and_then(|()| w.write_all(b"\r\n"));
            left -= n;
        }
        let _ = w.write_all(b"0\r\n\r\n");
    });
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let _ = writer.join();
    let text = String::from_utf8_lossy(&out);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}

fn post(addr: &str, body: &str) -> (u16, String) {
    let head = format!(
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}",
        body.len()
    );
    http(addr, &head, body.as_bytes())
}

fn rpc(addr: &str, body: &Value) -> Value {
    let (status, text) = post(addr, &body.to_string());
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).expect("a JSON-RPC response")
}

fn card(addr: &str) -> Value {
    let (status, text) = http(addr, "GET /.well-known/agent-card.json HTTP/1.1", b"");
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).expect("a JSON card")
}

fn send(method: &str, text: &str, metadata: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"message": {
        "messageId": "m1", "role": "ROLE_USER", "contextId": "ctx-1",
        "parts": [{"text": text}], "metadata": metadata,
    }}})
}

#[test]
fn an_a2a_client_delegates_through_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let shout = descriptor(
        dir.path(),
        "shout.toml",
        "capability = \"text.shout\"\ntopic = \"text/style\"\nsummary = \"Shout my text: rewrite it in capitals\"\n",
    );
    let (_provider, p_addr, _) = serve(TCP, dir.path(), "p", None, &shout, &[]);
    let gateway = Proc::spawn(&[
        "a2a",
        "--http",
        "127.0.0.1:0",
        "--bootstrap",
        &p_addr,
        "--wait-secs",
        "20",
    ]);
    let line = gateway.expect("listening http://");
    let url = address(&line);
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(line.contains(" as did:key:"), "{line}");

    // The card lists the provider's capability once its descriptor has arrived.
    let deadline = Instant::now() + Duration::from_secs(30);
    let c = loop {
        let c = card(&addr);
        if c["skills"].as_array().is_some_and(|s| !s.is_empty()) || Instant::now() > deadline {
            break c;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(c["skills"][0]["id"], "text.shout", "{c}");
    assert_eq!(c["supportedInterfaces"][0]["url"], url.as_str());
    assert_eq!(c["supportedInterfaces"][0]["protocolBinding"], "JSONRPC");

    // The text is intent and input; the result is the provider's output.
    let r = rpc(
        &addr,
        &send("SendMessage", "shout my text please", json!({})),
    );
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    assert_eq!(
        task["artifacts"][0]["parts"][0]["text"],
        "SHOUT MY TEXT PLEASE"
    );
    assert_eq!(task["contextId"], "ctx-1");
    let agentnet = &task["metadata"]["agentnet"];
    assert!(
        agentnet["provider"]
            .as_str()
            .unwrap()
            .starts_with("did:key:")
    );
    assert_eq!(agentnet["attempts"][0]["verdict"], "accepted");

    // The 0.x name, with the intent set apart from the input; then GetTask reads it back.
    let meta = json!({"agentnet": {"intent": "shout my text"}});
    let r = rpc(&addr, &send("message/send", "hello gateway", meta));
    let task = &r["result"]["task"];
    assert_eq!(
        task["artifacts"][0]["parts"][0]["text"], "HELLO GATEWAY",
        "{r}"
    );
    let get =
        json!({"jsonrpc": "2.0", "id": "g", "method": "GetTask", "params": {"id": task["id"]}});
    let got = rpc(&addr, &get);
    assert_eq!(got["id"], "g");
    assert_eq!(got["result"], *task);

    // `returnImmediately`: a working task at once, then GetTask until it has ended.
    let mut quick = send("SendMessage", "shout my text again", json!({}));
    quick["params"]["configuration"] = json!({"returnImmediately": true});
    let r = rpc(&addr, &quick);
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_WORKING",
        "{r}"
    );
    let get = json!({"jsonrpc": "2.0", "id": 2, "method": "GetTask",
        "params": {"id": r["result"]["task"]["id"]}});
    let deadline = Instant::now() + Duration::from_secs(60);
    let done = loop {
        let t = rpc(&addr, &get)["result"].clone();
        if t["status"]["state"] != "TASK_STATE_WORKING" || Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(
        done["artifacts"][0]["parts"][0]["text"], "SHOUT MY TEXT AGAIN",
        "{done}"
    );

    // Errors.
    let code = |body: &str| -> i64 {
        let (status, text) = post(&addr, body);
        assert_eq!(status, 200, "{text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        v["error"]["code"].as_i64().unwrap()
    };
    assert_eq!(code("{\"jsonrpc\": \"2.0\", "), -32700);
    assert_eq!(
        code(r#"{"jsonrpc":"2.0","id":1,"method":"Frobnicate"}"#),
        -32601
    );
    let no_text = json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage",
        "params": {"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}}});
    assert_eq!(code(&no_text.to_string()), -32602);
    let unknown = json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "nope"}});
    assert_eq!(code(&unknown.to_string()), -32001);

    let big = format!(
        "POST / HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: {}",
        (1 << 20) + 1
    );
    assert_eq!(http(&addr, &big, b"").0, 413);
    assert_eq!(post_chunked(&addr, (1 << 20) + 64 * 1024), 413);
    let plain = "POST / HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2";
    assert_eq!(http(&addr, plain, b"{}").0, 415);
    assert_eq!(http(&addr, "GET /nowhere HTTP/1.1", b"").0, 404);
    assert_eq!(http(&addr, "GET / HTTP/1.1", b"").0, 405);
}
