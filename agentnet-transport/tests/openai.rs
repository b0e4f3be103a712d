//! `OpenAiCompatible` against a hand-rolled HTTP/1.1 mock server on 127.0.0.1.
#![cfg(feature = "openai")]

use std::sync::Arc;
use std::time::Duration;

use agentnet_transport::llm::{OpenAiCompatible, OpenAiConfig, OpenAiConfigError};
use agentnet_transport::{LanguageModel, LlmError, Prompt};
use serde_json::{Value, json};
use tokio::net::TcpListener;

mod http_mock;
use http_mock::{Mock, Reply, http};

impl Mock {
    fn model(&self) -> OpenAiCompatible {
        OpenAiCompatible::new(self.config()).unwrap()
    }
}

/// Extra time the outer `tokio::time::timeout` allows beyond the call's own timeout.
const SLACK: Duration = Duration::from_secs(3);

/// A 200 chat completion whose content is `content`.
fn completion(content: Value) -> Reply {
    let body = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "test-model",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "finish_reason": "stop"
        }]
    });
    http(200, "", &body.to_string())
}

fn prompt() -> Prompt {
    Prompt {
        system: "You are terse.".to_owned(),
        user: "Say \"hi\".".to_owned(),
        max_tokens: 42,
        temperature: 0.25,
    }
}

/// Runs `complete` under an outer tokio timeout of `timeout + SLACK`, so a client that ignores
/// its deadline fails the test instead of hanging it.
async fn complete(model: &OpenAiCompatible, timeout: Duration) -> Result<String, LlmError> {
    tokio::time::timeout(timeout + SLACK, model.complete(&prompt(), timeout))
        .await
        .expect("complete() overran its own timeout")
}

#[tokio::test]
async fn success_sends_the_expected_request() {
    let mock = Mock::start(vec![completion(json!(" hi there"))]).await;
    let mut config = mock.config();
    config.api_key = Some("sk-local".to_owned());
    let model = OpenAiCompatible::new(config).unwrap();
    assert_eq!(model.name(), "test-model");
    assert_eq!(
        model.endpoint(),
        format!("http://{}/v1/chat/completions", mock.addr)
    );

    let answer = complete(&model, Duration::from_secs(10)).await;
    assert_eq!(answer, Ok(" hi there".to_owned()));

    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.header("authorization"), Some("Bearer sk-local"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("content-length"),
        Some(request.body.len().to_string().as_str())
    );
    assert_eq!(
        request.json(),
        json!({
            "model": "test-model",
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Say \"hi\"."}
            ],
            "max_tokens": 42,
            "temperature": 0.25,
            "stream": false
        })
    );
}

#[tokio::test]
async fn no_api_key_sends_no_authorization_and_trailing_slash_is_ignored() {
    let mock = Mock::start(vec![completion(json!("ok"))]).await;
    let mut config = mock.config();
    config.base_url = format!("{}/", mock.base_url());
    let model = OpenAiCompatible::new(config).unwrap();
    assert_eq!(
        complete(&model, Duration::from_secs(10)).await,
        Ok("ok".into())
    );
    let seen = mock.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/v1/chat/completions");
    assert_eq!(seen[0].header("authorization"), None);
}

#[tokio::test]
async fn server_errors_are_retried_then_succeed() {
    let mock = Mock::start(vec![
        http(500, "", r#"{"error":"busy"}"#),
        http(500, "", r#"{"error":"busy"}"#),
        completion(json!("third time")),
    ])
    .await;
    let model = mock.model();
    assert_eq!(
        complete(&model, Duration::from_secs(10)).await,
        Ok("third time".into())
    );
    assert_eq!(mock.seen().len(), 3);
}

#[tokio::test]
async fn too_many_requests_is_retried_then_succeeds() {
    let mock = Mock::start(vec![
        http(429, "", r#"{"error":"slow down"}"#),
        completion(json!("fine")),
    ])
    .await;
    let model = mock.model();
    assert_eq!(
        complete(&model, Duration::from_secs(10)).await,
        Ok("fine".into())
    );
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn server_errors_exhaust_the_retries() {
    let mock = Mock::start(vec![http(503, "", "overloaded")]).await;
    let model = mock.model();
    let result = complete(&model, Duration::from_secs(10)).await;
    assert_eq!(
        result,
        Err(LlmError::Http {
            status: 503,
            body: "overloaded".to_owned()
        })
    );
    // One request plus the default two retries.
    assert_eq!(mock.seen().len(), 3);
}

#[tokio::test]
async fn zero_retries_makes_one_request() {
    let mock = Mock::start(vec![http(500, "", "boom")]).await;
    let mut config = mock.config();
    config.max_retries = 0;
    let model = OpenAiCompatible::new(config).unwrap();
    let result = complete(&model, Duration::from_secs(10)).await;
    assert!(matches!(result, Err(LlmError::Http { status: 500, .. })));
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn client_error_is_not_retried() {
    let mock = Mock::start(vec![
        http(400, "", r#"{"error":{"message":"bad max_tokens"}}"#),
        completion(json!("must not be reached")),
    ])
    .await;
    let model = mock.model();
    let result = complete(&model, Duration::from_secs(10)).await;
    match result {
        Err(LlmError::Http { status: 400, body }) => assert!(body.contains("bad max_tokens")),
        other => panic!("expected Http 400, got {other:?}"),
    }
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn error_body_is_cut_to_512_bytes() {
    let mock = Mock::start(vec![http(404, "", &"x".repeat(100_000))]).await;
    let model = mock.model();
    match complete(&model, Duration::from_secs(10)).await {
        Err(LlmError::Http { status: 404, body }) => assert_eq!(body, "x".repeat(512)),
        other => panic!("expected Http 404, got {other:?}"),
    }
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn retry_that_would_pass_the_deadline_returns_the_last_error_at_once() {
    // Retry-After asks for far longer than the call may take: give up right away rather
    // than sleep into a timeout.
    let mock = Mock::start(vec![
        http(429, "Retry-After: 1000\r\n", "later"),
        completion(json!("too late")),
    ])
    .await;
    let model = mock.model();
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        model.complete(&prompt(), Duration::from_secs(60)),
    )
    .await
    .expect("gave up at once");
    assert_eq!(
        result,
        Err(LlmError::Http {
            status: 429,
            body: "later".to_owned()
        })
    );
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn malformed_json_is_malformed() {
    let mock = Mock::start(vec![http(200, "", "this is not json")]).await;
    let model = mock.model();
    let result = complete(&model, Duration::from_secs(10)).await;
    assert!(
        matches!(result, Err(LlmError::Malformed(_))),
        "got {result:?}"
    );
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn missing_choices_is_malformed() {
    for body in [
        r#"{"id":"chatcmpl-1","object":"chat.completion"}"#,
        r#"{"choices":[]}"#,
        r#"{"choices":[{"index":0}]}"#,
        r#"{"choices":[{"message":{"role":"assistant"}}]}"#,
    ] {
        let mock = Mock::start(vec![http(200, "", body)]).await;
        let model = mock.model();
        let result = complete(&model, Duration::from_secs(10)).await;
        assert!(
            matches!(result, Err(LlmError::Malformed(_))),
            "{body}: got {result:?}"
        );
    }
}

#[tokio::test]
async fn empty_content_is_empty() {
    for content in [json!(""), json!("  \n\t "), Value::Null] {
        let mock = Mock::start(vec![completion(content.clone())]).await;
        let model = mock.model();
        let result = complete(&model, Duration::from_secs(10)).await;
        assert_eq!(result, Err(LlmError::Empty), "content {content}");
        assert_eq!(mock.seen().len(), 1);
    }
}

#[tokio::test]
async fn server_that_never_answers_times_out() {
    let mock = Mock::start(vec![Reply::Hang]).await;
    let model = mock.model();
    let result = complete(&model, Duration::from_millis(300)).await;
    assert_eq!(result, Err(LlmError::Timeout));
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn request_timeout_caps_the_callers_timeout() {
    let mock = Mock::start(vec![Reply::Hang]).await;
    let mut config = mock.config();
    config.request_timeout = Duration::from_millis(200);
    let model = OpenAiCompatible::new(config).unwrap();
    let result = tokio::time::timeout(SLACK, model.complete(&prompt(), Duration::from_secs(3600)))
        .await
        .expect("request_timeout was not applied");
    assert_eq!(result, Err(LlmError::Timeout));
}

#[tokio::test]
async fn deadline_covers_retries() {
    // The first answer is retryable, the retry hangs: the whole call still ends in time.
    let mock = Mock::start(vec![http(502, "", "bad gateway"), Reply::Hang]).await;
    let model = mock.model();
    let result = complete(&model, Duration::from_millis(500)).await;
    assert_eq!(result, Err(LlmError::Timeout));
    assert_eq!(mock.seen().len(), 2);
}

#[tokio::test]
async fn zero_timeout_fails_without_a_request() {
    let mock = Mock::start(vec![completion(json!("never asked"))]).await;
    let model = mock.model();
    assert_eq!(
        complete(&model, Duration::ZERO).await,
        Err(LlmError::Timeout)
    );
    assert!(mock.seen().is_empty());
}

#[tokio::test]
async fn connection_refused_is_connect_error() {
    // A port that was just free: bind, note it, close.
    let dead = {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    };
    let mut config = OpenAiConfig::new(format!("http://{dead}/v1"), "test-model");
    config.retry_backoff = Duration::from_millis(10);
    let model = OpenAiCompatible::new(config).unwrap();
    let result = complete(&model, Duration::from_secs(5)).await;
    assert!(
        matches!(result, Err(LlmError::Connect(_) | LlmError::Timeout)),
        "got {result:?}"
    );
}

#[tokio::test]
async fn oversized_declared_body_is_refused_without_reading_it() {
    // Declares 2 MiB (over the 1 MiB default), sends a little, then stalls: a client that
    // tried to read it all would time out instead.
    let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                Content-Length: 2097152\r\n\r\n{\"choices\":";
    let mock = Mock::start(vec![Reply::RawThenHang(head.as_bytes().to_vec())]).await;
    let model = mock.model();
    let result = complete(&model, Duration::from_secs(30)).await;
    assert!(
        matches!(result, Err(LlmError::Malformed(_))),
        "got {result:?}"
    );
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn oversized_chunked_body_is_cut_off() {
    // No Content-Length: the body grows past the limit and then stalls.
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                         Transfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for _ in 0..4 {
        response.extend_from_slice(b"400\r\n");
        response.extend_from_slice(&[b' '; 0x400]);
        response.extend_from_slice(b"\r\n");
    }
    let mock = Mock::start(vec![Reply::RawThenHang(response)]).await;
    let mut config = mock.config();
    config.max_response_bytes = 2048;
    let model = OpenAiCompatible::new(config).unwrap();
    let result = complete(&model, Duration::from_secs(30)).await;
    assert!(
        matches!(result, Err(LlmError::Malformed(_))),
        "got {result:?}"
    );
}

#[tokio::test]
async fn body_within_the_limit_is_read_in_full() {
    let content = "y".repeat(3000);
    let mock = Mock::start(vec![completion(json!(content))]).await;
    let mut config = mock.config();
    config.max_response_bytes = 4096;
    let model = OpenAiCompatible::new(config).unwrap();
    assert_eq!(complete(&model, Duration::from_secs(10)).await, Ok(content));
}

#[tokio::test]
async fn broken_http_response_is_malformed() {
    let mock = Mock::start(vec![Reply::Raw(b"SMTP ready\r\n\r\n".to_vec())]).await;
    let model = mock.model();
    let result = complete(&model, Duration::from_secs(10)).await;
    assert!(
        matches!(result, Err(LlmError::Malformed(_))),
        "got {result:?}"
    );
    assert_eq!(mock.seen().len(), 1);
}

#[tokio::test]
async fn one_client_serves_concurrent_calls() {
    let mock = Mock::start(vec![completion(json!("same"))]).await;
    let model = Arc::new(mock.model());
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let model = Arc::clone(&model);
            tokio::spawn(async move { complete(&model, Duration::from_secs(10)).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap(), Ok("same".into()));
    }
    assert_eq!(mock.seen().len(), 4);
}

#[test]
fn config_is_checked_and_needs_no_runtime() {
    let ok = OpenAiCompatible::new(OpenAiConfig::new("http://127.0.0.1:8080/v1", "m"));
    assert!(ok.is_ok());
    assert_eq!(
        OpenAiCompatible::new(OpenAiConfig::new("https://api.example.com/v1", "m")).unwrap_err(),
        OpenAiConfigError::UnsupportedScheme("https".to_owned())
    );
    assert!(matches!(
        OpenAiCompatible::new(OpenAiConfig::new("localhost:8080/v1", "m")),
        Err(OpenAiConfigError::BadUrl { .. })
    ));
    let mut config = OpenAiConfig::new("http://127.0.0.1:8080/v1", "m");
    config.api_key = Some("line\r\nbreak".to_owned());
    assert_eq!(
        OpenAiCompatible::new(config).unwrap_err(),
        OpenAiConfigError::BadApiKey
    );
}

#[test]
fn defaults_and_debug_redaction() {
    let mut config = OpenAiConfig::new("http://127.0.0.1:8080/v1", "m");
    assert_eq!(config.max_retries, 2);
    assert_eq!(config.retry_backoff, Duration::from_millis(200));
    assert_eq!(config.max_response_bytes, 1 << 20);
    assert_eq!(config.api_key, None);
    config.api_key = Some("sk-very-secret".to_owned());
    let model = OpenAiCompatible::new(config.clone()).unwrap();
    for text in [format!("{config:?}"), format!("{model:?}")] {
        assert!(!text.contains("sk-very-secret"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}
