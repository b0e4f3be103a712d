//! The mapping's unit tests (no network).

use super::*;
use agentnet_core::Keypair;
use agentnet_core::descriptor::Topic;
use agentnet_core::effect::RequestId;
use agentnet_core::money::UNIT;
use agentnet_mech::mechanism::Tier;
use agentnet_transport::agent::{Attempt, TaskOutcome, Verdict};
use serde_json::{Value, json};

fn call(body: &str) -> (Value, Result<Call, RpcError>) {
    let p = parse_call(body.as_bytes());
    (p.id, p.call)
}

fn code_of(body: &str) -> i64 {
    call(body).1.expect_err("an error").code
}

fn send(params: &str) -> Result<SendMessage, RpcError> {
    let body = format!(r#"{{"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{params}}}"#);
    match call(&body).1 {
        Ok(Call::Send(s)) => Ok(s),
        Ok(other) => panic!("not a send: {other:?}"),
        Err(e) => Err(e),
    }
}

#[test]
fn both_method_names_send_a_message() {
    for m in ["SendMessage", "message/send"] {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":"a","method":"{m}","params":{{"message":{{"messageId":"m","role":"ROLE_USER","contextId":"c1","parts":[{{"text":"shout"}},{{"kind":"text","text":"this"}}]}}}}}}"#
        );
        let (id, c) = call(&body);
        assert_eq!(id, json!("a"));
        assert_eq!(
            c.unwrap(),
            Call::Send(SendMessage {
                intent: "shout\nthis".into(),
                input: "shout\nthis".into(),
                context_id: Some("c1".into()),
                task_id: None,
                return_immediately: false,
            })
        );
    }
}

#[test]
fn metadata_intent_overrides_the_text() {
    let s = send(r#"{"message":{"parts":[{"text":"hello"}],"metadata":{"agentnet":{"intent":"shout my text"}}}}"#).unwrap();
    assert_eq!(
        (s.intent.as_str(), s.input.as_str()),
        ("shout my text", "hello")
    );
    let s = send(r#"{"message":{"parts":[{"text":"hello"}]},"metadata":{"agentnet":{"intent":"upper"}},"configuration":{"returnImmediately":true}}"#).unwrap();
    assert_eq!(s.intent, "upper");
    assert!(s.return_immediately);
    let e = send(r#"{"message":{"parts":[{"text":"x"}],"metadata":{"agentnet":{"intent":7}}}}"#);
    assert_eq!(e.unwrap_err().code, code::INVALID_PARAMS);
    let long = "é".repeat(400);
    let s = send(&format!(
        r#"{{"message":{{"parts":[{{"text":"{long}"}}]}}}}"#
    ))
    .unwrap();
    assert!(s.intent.len() <= INTENT_MAX && long.starts_with(&s.intent));
    assert_eq!(s.input, long);
}

#[test]
fn bad_requests_get_their_codes() {
    assert_eq!(code_of("{not json"), code::PARSE_ERROR);
    assert_eq!(code_of(""), code::PARSE_ERROR);
    assert_eq!(code_of("[]"), code::INVALID_REQUEST);
    assert_eq!(
        code_of(r#"{"jsonrpc":"2.0","method":"SendMessage"}"#),
        code::INVALID_REQUEST
    );
    assert_eq!(
        code_of(r#"{"jsonrpc":"1.0","id":1,"method":"SendMessage"}"#),
        code::INVALID_REQUEST
    );
    assert_eq!(
        code_of(r#"{"jsonrpc":"2.0","id":1,"method":3}"#),
        code::INVALID_REQUEST
    );
    assert_eq!(
        code_of(r#"{"jsonrpc":"2.0","id":1,"method":"Nope"}"#),
        code::METHOD_NOT_FOUND
    );
    assert_eq!(
        code_of(r#"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":[1]}"#),
        code::INVALID_PARAMS
    );
    assert_eq!(
        code_of(r#"{"jsonrpc":"2.0","id":1,"method":"SendStreamingMessage"}"#),
        code::UNSUPPORTED_OPERATION
    );
    assert_eq!(
        code_of(r#"{"jsonrpc":"2.0","id":1,"method":"ListTasks"}"#),
        code::UNSUPPORTED_OPERATION
    );
    assert_eq!(
        code_of(r#"{"jsonrpc":"2.0","id":1,"method":"tasks/pushNotificationConfig/set"}"#),
        code::PUSH_NOT_SUPPORTED
    );
    assert_eq!(
        code_of(r#"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{}}"#),
        code::INVALID_PARAMS
    );
    assert_eq!(send("{}").unwrap_err().code, code::INVALID_PARAMS);
    assert_eq!(
        send(r#"{"message":{"parts":[]}}"#).unwrap_err().code,
        code::INVALID_PARAMS
    );
    assert_eq!(
        send(r#"{"message":{"parts":[{"text":"  "}]}}"#)
            .unwrap_err()
            .code,
        code::INVALID_PARAMS
    );
    assert_eq!(
        send(r#"{"message":{"parts":[{"text":"a"},{"url":"https://x/y.png"}]}}"#)
            .unwrap_err()
            .code,
        code::CONTENT_TYPE_NOT_SUPPORTED
    );
    assert_eq!(
        send(r#"{"message":{"parts":[{"kind":"file","file":{}}]}}"#)
            .unwrap_err()
            .code,
        code::CONTENT_TYPE_NOT_SUPPORTED
    );
    let long = "c".repeat(ID_MAX + 1);
    let e = send(&format!(
        r#"{{"message":{{"contextId":"{long}","parts":[{{"text":"a"}}]}}}}"#
    ));
    assert_eq!(e.unwrap_err().code, code::INVALID_PARAMS);
    // The id is echoed once it could be read.
    let (id, _) = call(r#"{"jsonrpc":"2.0","id":12,"method":"Nope"}"#);
    assert_eq!(id, json!(12));
}

#[test]
fn errors_are_json_rpc_envelopes() {
    let e = rpc_error(
        &json!(3),
        &RpcError::new(code::TASK_NOT_FOUND, "no such task"),
    );
    assert_eq!(e["jsonrpc"], "2.0");
    assert_eq!(e["id"], 3);
    assert_eq!(e["error"]["code"], -32001);
    assert_eq!(e["error"]["data"][0]["reason"], "TASK_NOT_FOUND");
    let e = rpc_error(&Value::Null, &RpcError::new(code::PARSE_ERROR, "x"));
    assert!(e["error"].get("data").is_none() && e["id"].is_null());
}

fn outcome(result: Result<&[u8], &str>) -> TaskOutcome {
    let p = Keypair::from_seed([9; 32]).id();
    TaskOutcome {
        request: RequestId(1),
        result: result
            .map(bytes::Bytes::copy_from_slice)
            .map_err(str::to_owned),
        provider: result.is_ok().then_some(p),
        tier: Tier::Canary,
        attempts: vec![Attempt {
            provider: p,
            topic: Topic::new("text/shout").unwrap(),
            tier: Tier::Canary,
            verdict: if result.is_ok() {
                Verdict::Accepted
            } else {
                Verdict::Declined
            },
        }],
        payment: UNIT / 2,
    }
}

#[test]
fn outcomes_become_tasks() {
    let t = task_from_outcome("t1", "c1", "shout", &outcome(Ok(b"HELLO")), 0);
    assert_eq!(t["id"], "t1");
    assert_eq!(t["contextId"], "c1");
    assert_eq!(t["status"]["state"], "TASK_STATE_COMPLETED");
    assert_eq!(t["status"]["timestamp"], "1970-01-01T00:00:00.000Z");
    assert_eq!(t["artifacts"][0]["parts"][0]["text"], "HELLO");
    assert_eq!(t["artifacts"][0]["artifactId"], "t1-result");
    let m = &t["metadata"]["agentnet"];
    assert!(m["provider"].as_str().unwrap().starts_with("did:key:"));
    assert_eq!(m["tier"], 2);
    assert_eq!(m["payment"], 0.5);
    assert_eq!(m["attempts"][0]["verdict"], "accepted");
    assert!(is_terminal(&t));

    let t = task_from_outcome("t2", "c1", "shout", &outcome(Err("no candidates")), 0);
    assert_eq!(t["status"]["state"], "TASK_STATE_FAILED");
    assert_eq!(t["status"]["message"]["parts"][0]["text"], "no candidates");
    assert_eq!(t["status"]["message"]["role"], "ROLE_AGENT");
    assert!(t.get("artifacts").is_none());
    assert!(t["metadata"]["agentnet"]["provider"].is_null());

    let t = task_from_outcome("t3", "c", "i", &outcome(Ok(&[0xff, 0, 1])), 0);
    assert_eq!(t["artifacts"][0]["parts"][0]["raw"], "/wAB");
    assert!(!is_terminal(&working_task("t4", "c", "i", 0)));
    assert!(is_terminal(&failed_task("t5", "c", "i", "timed out", 0)));
}

#[test]
fn timestamps_and_base64() {
    assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
    assert_eq!(iso8601(1_798_761_599_999), "2026-12-31T23:59:59.999Z");
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    let u = random_uuid();
    assert_eq!((u.len(), &u[14..15]), (36, "4"));
    assert_ne!(u, random_uuid());
}

#[test]
fn the_task_table_evicts_the_oldest() {
    let mut t = TaskTable::new(2);
    for id in ["a", "b"] {
        t.put(json!({"id": id, "v": 1}));
    }
    t.put(json!({"id": "a", "v": 2})); // a replacement keeps its place
    t.put(json!({"id": "c"}));
    assert!(t.get("a").is_none());
    assert_eq!(
        (t.len(), t.get("b").is_some(), t.get("c").is_some()),
        (2, true, true)
    );
    t.put(json!({"no": "id"}));
    assert_eq!(t.len(), 2);
}

#[test]
fn the_card_lists_each_capability_once() {
    let spec = |c: &str| DescriptorSpec {
        capability: c.into(),
        topic: "text/shout".into(),
        summary: format!("{c} things"),
        tags: vec![],
        inputs: vec![],
        outputs: vec![],
    };
    let card = gateway_card(
        &[spec("b.shout"), spec("a.up"), spec("b.shout")],
        "http://h/",
        "did:key:z",
    );
    let ids: Vec<_> = card.skills.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["a.up", "b.shout"]);
    assert_eq!(card.supported_interfaces[0].url, "http://h/");
    assert_eq!(card.supported_interfaces[0].protocol_binding, "JSONRPC");
    let empty = gateway_card(&[], "http://h/", "did:key:z");
    assert!(empty.skills.is_empty());
    assert_eq!(empty.supported_interfaces[0].protocol_version, "1.0");
}
