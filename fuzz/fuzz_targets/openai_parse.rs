//! The OpenAI-compatible adapter's response parser on arbitrary bodies, raw and inside a
//! well-formed chat-completion envelope: never a panic; an error is `Malformed` or `Empty`;
//! a success is non-blank text, and exactly the content string of a well-formed envelope.
#![no_main]

use agentnet_transport::LlmError;
use agentnet_transport::llm::openai::fuzzing::parse_completion;
use libfuzzer_sys::fuzz_target;

fn check(body: &[u8]) -> Result<String, LlmError> {
    let r = parse_completion(body);
    match &r {
        Ok(text) => assert!(!text.trim().is_empty()),
        Err(LlmError::Malformed(_) | LlmError::Empty) => {}
        Err(e) => panic!("untyped parse error {e:?}"),
    }
    r
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fuzz_target!(|data: &[u8]| {
    let _ = check(data);
    let text = String::from_utf8_lossy(data);
    let content = json_string(&text);
    let body = format!(
        r#"{{"id":"x","choices":[{{"index":0,"message":{{"role":"assistant","content":{content}}}}}]}}"#
    );
    match check(body.as_bytes()) {
        Ok(got) => assert_eq!(got, text),
        Err(e) => assert!(
            matches!(e, LlmError::Empty) && text.trim().is_empty(),
            "{e:?}"
        ),
    }
});
