//! A [`LanguageModel`] for OpenAI-compatible chat-completions servers.
//!
//! [`OpenAiCompatible`] sends each [`Prompt`] as one non-streaming request to
//! `POST {base_url}/chat/completions` with the body
//!
//! ```json
//! {"model": "...", "messages": [{"role": "system", "content": "..."},
//!                               {"role": "user", "content": "..."}],
//!  "max_tokens": 64, "temperature": 0.0, "stream": false}
//! ```
//!
//! and returns `choices[0].message.content` unchanged (no trimming). It is meant for model
//! servers on the same machine or network: llama.cpp `llama-server`
//! (`http://127.0.0.1:8080/v1`), vLLM (`http://127.0.0.1:8000/v1`) and Ollama
//! (`http://127.0.0.1:11434/v1`).
//!
//! # Behaviour
//!
//! * **Deadline.** A whole [`complete`](LanguageModel::complete) call, retries and backoff
//!   included, ends within the smaller of the caller's `timeout` and
//!   [`OpenAiConfig::request_timeout`]; when that passes the call fails with
//!   [`LlmError::Timeout`].
//! * **Retries.** Only connection failures (nothing was sent), `429 Too Many Requests` and
//!   `5xx` answers are retried, at most [`OpenAiConfig::max_retries`] times, waiting
//!   [`OpenAiConfig::retry_backoff`] before the first retry and twice as long before each
//!   further one (or longer if a `429`/`5xx` carries `Retry-After: <seconds>`). If the next
//!   wait would end after the deadline, the call fails at once with the last error instead
//!   of sleeping into a timeout. A connection that breaks after the request went out is not
//!   retried.
//! * **Errors.** Other statuses (`3xx`, `4xx`) fail at once with [`LlmError::Http`] carrying
//!   the first 512 bytes of the body (lossy UTF-8). A `2xx` body that is not JSON, or lacks
//!   `choices[0].message.content`, is [`LlmError::Malformed`]; a `null` or whitespace-only
//!   content is [`LlmError::Empty`]. A broken HTTP response is `Malformed`; a failed or lost
//!   connection is [`LlmError::Connect`].
//! * **Bounded reads.** A success body over [`OpenAiConfig::max_response_bytes`] is
//!   `Malformed`; a larger `Content-Length` is refused before reading any of the body, and a
//!   body without one is cut off as soon as it passes the limit. Error bodies are read only
//!   up to 512 bytes. Response heads are bounded by hyper's parser limits.
//! * **Connections** are pooled (HTTP/1.1 keep-alive, idle ones closed after 30 s), so a
//!   value should be created once and shared (it is `Send + Sync`). It must be used from
//!   within a tokio runtime.
//!
//! # Not supported
//!
//! * **HTTPS.** Only plain `http://` URLs are accepted ([`OpenAiConfigError::UnsupportedScheme`]
//!   otherwise); no TLS stack is linked. To reach a remote `https` endpoint, run a local
//!   TLS-terminating proxy (for example stunnel or Caddy) and point `base_url` at it; a
//!   `rustls`-based feature may come later. Proxy environment variables are ignored.
//! * Streaming (`stream: true`), tools / function calling, multi-turn conversations, images,
//!   structured-output or JSON modes, `n > 1`, token usage reporting, and the legacy
//!   `/completions` endpoint.
//! * `Retry-After` given as an HTTP date (only whole seconds are understood).
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use agentnet_transport::llm::{OpenAiCompatible, OpenAiConfig};
//! use agentnet_transport::{LanguageModel, Prompt};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // A llama.cpp server started with `llama-server -m model.gguf --port 8080`.
//! let mut config = OpenAiConfig::new("http://127.0.0.1:8080/v1", "qwen2.5-7b-instruct");
//! config.api_key = Some("local-secret".to_owned()); // only if the server wants one
//! config.max_retries = 1;
//! let model = OpenAiCompatible::new(config)?;
//!
//! let prompt = Prompt {
//!     system: "Answer with one word.".to_owned(),
//!     user: "What colour is the sky on a clear day?".to_owned(),
//!     max_tokens: 8,
//!     temperature: 0.0,
//! };
//! let answer = model.complete(&prompt, Duration::from_secs(30)).await?;
//! println!("{}: {answer}", model.name());
//! # Ok(())
//! # }
//! ```

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use serde::Serialize;
use serde_json::Value;
use thiserror::Error;
use tokio::time::Instant;

use crate::host::{LanguageModel, LlmError, Prompt};

/// How many bytes of an error body [`LlmError::Http`] and error messages keep.
pub(super) const ERROR_BODY_BYTES: usize = 512;

/// How long an idle pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The `User-Agent` sent with every request.
const USER_AGENT: &str = concat!("agentnet-transport/", env!("CARGO_PKG_VERSION"));

/// Settings for [`OpenAiCompatible`].
///
/// Create it with [`OpenAiConfig::new`] and adjust the public fields. The `Debug` output
/// hides the API key.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OpenAiConfig {
    /// The API root, up to and including the version segment, e.g.
    /// `http://127.0.0.1:8080/v1`; requests go to `{base_url}/chat/completions`. Trailing
    /// slashes are ignored. Must be an absolute `http://` URL with a host and without query
    /// or fragment.
    pub base_url: String,
    /// The model id sent as `model` and reported by [`LanguageModel::name`]. Servers that
    /// serve a single model (llama.cpp) accept any value; Ollama and vLLM need the name they
    /// serve it under.
    pub model: String,
    /// Sent as `Authorization: Bearer <key>` when set. Default: `None` (no header). Must be
    /// a valid header value (visible ASCII, no line breaks).
    pub api_key: Option<String>,
    /// Cap on the time one [`complete`](LanguageModel::complete) call may take, retries
    /// included: the call ends at the smaller of this and the caller's `timeout`.
    /// Default: 120 s ([`Self::DEFAULT_REQUEST_TIMEOUT`]). Any value; zero makes every call
    /// fail with [`LlmError::Timeout`].
    pub request_timeout: Duration,
    /// Further attempts after the first one fails with a connection error, `429` or `5xx`.
    /// Default: 2 ([`Self::DEFAULT_MAX_RETRIES`]), i.e. up to three requests. 0 disables
    /// retries.
    pub max_retries: u32,
    /// Wait before the first retry; each further retry waits twice as long as the previous
    /// one. Default: 200 ms ([`Self::DEFAULT_RETRY_BACKOFF`]), giving 200 ms then 400 ms.
    /// Zero retries immediately.
    pub retry_backoff: Duration,
    /// The largest success body, in bytes, that is read; larger ones are
    /// [`LlmError::Malformed`]. Default: 1 MiB ([`Self::DEFAULT_MAX_RESPONSE_BYTES`]).
    /// Should be at least a few KiB; one token is roughly 4 bytes of content plus JSON
    /// escaping.
    pub max_response_bytes: usize,
}

impl OpenAiConfig {
    /// Default for [`request_timeout`](Self::request_timeout): 120 s.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
    /// Default for [`max_retries`](Self::max_retries): 2.
    pub const DEFAULT_MAX_RETRIES: u32 = 2;
    /// Default for [`retry_backoff`](Self::retry_backoff): 200 ms.
    pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(200);
    /// Default for [`max_response_bytes`](Self::max_response_bytes): 1 MiB.
    pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 1 << 20;

    /// Settings for `model` behind `base_url` (e.g. `http://127.0.0.1:8080/v1`), with no
    /// API key and the defaults for everything else.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
            max_retries: Self::DEFAULT_MAX_RETRIES,
            retry_backoff: Self::DEFAULT_RETRY_BACKOFF,
            max_response_bytes: Self::DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .field("retry_backoff", &self.retry_backoff)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

/// Why an [`OpenAiConfig`] was rejected by [`OpenAiCompatible::new`].
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OpenAiConfigError {
    /// `base_url` is not an absolute URL with a host, or has a query or fragment.
    #[error("bad base url {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `base_url` uses a scheme other than `http` (notably `https`, which needs a local
    /// TLS-terminating proxy; see the [module docs](self)).
    #[error("unsupported url scheme {0:?}: only plain http is supported")]
    UnsupportedScheme(String),
    /// `api_key` cannot be sent in an HTTP header.
    #[error("the api key is not a valid http header value")]
    BadApiKey,
}

/// A [`LanguageModel`] backed by an OpenAI-compatible `/chat/completions` endpoint over
/// plain HTTP/1.1. See the [module docs](self) for the exact behaviour.
pub struct OpenAiCompatible {
    config: OpenAiConfig,
    endpoint: Uri,
    endpoint_text: String,
    authorization: Option<HeaderValue>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("endpoint", &self.endpoint_text)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    /// A client for `config`. Checks the URL and API key; makes no connection (the first
    /// [`complete`](LanguageModel::complete) does), so the server need not be up yet. May be
    /// called outside a tokio runtime.
    pub fn new(config: OpenAiConfig) -> Result<Self, OpenAiConfigError> {
        let endpoint = endpoint_for(&config.base_url, "chat/completions")?;
        let authorization = match &config.api_key {
            None => None,
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                    .map_err(|_| OpenAiConfigError::BadApiKey)?;
                value.set_sensitive(true);
                Some(value)
            }
        };
        let mut connector = HttpConnector::new();
        connector.enforce_http(true);
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(connector);
        Ok(OpenAiCompatible {
            endpoint_text: endpoint.to_string(),
            endpoint,
            authorization,
            client,
            config,
        })
    }

    /// The settings this client was built with.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// The full URL requests are sent to (`{base_url}/chat/completions`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint_text
    }

    /// Attempts with retries, `POST`ing `body` to `endpoint` and reading a success body with
    /// `parse`; the caller bounds the whole loop by the deadline. (The embeddings client
    /// shares this: same retries, limits and errors.)
    pub(super) async fn run<T>(
        &self,
        endpoint: &Uri,
        body: Bytes,
        deadline: Option<Instant>,
        limit: usize,
        parse: fn(&[u8]) -> Result<T, LlmError>,
    ) -> Result<T, LlmError> {
        let mut retries_done = 0u32;
        loop {
            let (error, retry_after) =
                match self.attempt(endpoint, body.clone(), limit, parse).await {
                    Attempt::Done(result) => return result,
                    Attempt::Retryable { error, retry_after } => (error, retry_after),
                };
            if retries_done >= self.config.max_retries {
                return Err(error);
            }
            let wait = backoff(self.config.retry_backoff, retries_done)
                .max(retry_after.unwrap_or(Duration::ZERO));
            if let Some(deadline) = deadline {
                let fits = Instant::now()
                    .checked_add(wait)
                    .is_some_and(|resume| resume < deadline);
                if !fits {
                    tracing::debug!(
                        model = %self.config.model,
                        %error,
                        ?wait,
                        "llm retry would pass the deadline; giving up"
                    );
                    return Err(error);
                }
            }
            tracing::debug!(
                model = %self.config.model,
                %error,
                ?wait,
                retry = retries_done + 1,
                "llm request failed; retrying"
            );
            tokio::time::sleep(wait).await;
            retries_done += 1;
        }
    }

    /// One request/response exchange.
    async fn attempt<T>(
        &self,
        endpoint: &Uri,
        body: Bytes,
        limit: usize,
        parse: fn(&[u8]) -> Result<T, LlmError>,
    ) -> Attempt<T> {
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = endpoint.clone();
        let headers = request.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        if let Some(authorization) = &self.authorization {
            headers.insert(header::AUTHORIZATION, authorization.clone());
        }

        let response = match self.client.request(request).await {
            Ok(response) => response,
            Err(e) if e.is_connect() => {
                return Attempt::Retryable {
                    error: LlmError::Connect(error_chain(&e)),
                    retry_after: None,
                };
            }
            Err(e) => return Attempt::Done(Err(transport_error(&e))),
        };

        let status = response.status();
        if status.is_success() {
            if let Some(length) = content_length(response.headers())
                && length > limit as u64
            {
                return Attempt::Done(Err(LlmError::Malformed(format!(
                    "response body of {length} bytes exceeds the limit of {limit} bytes"
                ))));
            }
            let result = match read_limited(response.into_body(), limit).await {
                Ok(bytes) => parse(&bytes),
                Err(e) => Err(e),
            };
            return Attempt::Done(result);
        }

        let retry_after = retry_after(response.headers());
        let error = LlmError::Http {
            status: status.as_u16(),
            body: read_prefix(response.into_body(), ERROR_BODY_BYTES).await,
        };
        if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Attempt::Retryable { error, retry_after }
        } else {
            Attempt::Done(Err(error))
        }
    }
}

#[async_trait]
impl LanguageModel for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.config.model
    }

    async fn complete(&self, prompt: &Prompt, timeout: Duration) -> Result<String, LlmError> {
        let budget = timeout.min(self.config.request_timeout);
        if budget.is_zero() {
            return Err(LlmError::Timeout);
        }
        // `None` only for budgets too large to represent, which never run out in practice.
        let deadline = Instant::now().checked_add(budget);
        let request = ChatRequest {
            model: &self.config.model,
            messages: [
                ChatMessage {
                    role: "system",
                    content: &prompt.system,
                },
                ChatMessage {
                    role: "user",
                    content: &prompt.user,
                },
            ],
            max_tokens: prompt.max_tokens,
            temperature: prompt.temperature,
            stream: false,
        };
        let body = serde_json::to_vec(&request)
            .map(Bytes::from)
            .map_err(|e| LlmError::Malformed(format!("could not encode the request: {e}")))?;
        match deadline {
            Some(deadline) => tokio::time::timeout_at(
                deadline,
                self.run(
                    &self.endpoint,
                    body,
                    Some(deadline),
                    self.config.max_response_bytes,
                    parse_completion,
                ),
            )
            .await
            .unwrap_or(Err(LlmError::Timeout)),
            None => {
                let limit = self.config.max_response_bytes;
                self.run(&self.endpoint, body, None, limit, parse_completion)
                    .await
            }
        }
    }
}

/// The outcome of one attempt.
enum Attempt<T> {
    /// Final: return this.
    Done(Result<T, LlmError>),
    /// Worth retrying (connection failure, 429, 5xx).
    Retryable {
        error: LlmError,
        retry_after: Option<Duration>,
    },
}

/// The request body.
#[derive(Debug, Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: [ChatMessage<'a>; 2],
    max_tokens: u32,
    temperature: f32,
    stream: bool,
}

/// One chat message of the request.
#[derive(Debug, Serialize)]
struct ChatMessage<'a> {
    role: &'static str,
    content: &'a str,
}

/// `{base_url}/{path}`, checked.
pub(super) fn endpoint_for(base_url: &str, path: &str) -> Result<Uri, OpenAiConfigError> {
    let bad = |reason: &str| OpenAiConfigError::BadUrl {
        url: base_url.to_owned(),
        reason: reason.to_owned(),
    };
    let base = base_url.trim();
    if base.contains(['?', '#']) {
        return Err(bad("must not contain a query or fragment"));
    }
    let uri = format!("{}/{path}", base.trim_end_matches('/'))
        .parse::<Uri>()
        .map_err(|e| bad(&e.to_string()))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => return Err(OpenAiConfigError::UnsupportedScheme(other.to_owned())),
        None => return Err(bad("missing scheme (expected http://host:port/...)")),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(bad("missing host"));
    }
    Ok(uri)
}

/// `retry_backoff * 2^retry`, saturating.
fn backoff(base: Duration, retry: u32) -> Duration {
    let factor = 1u32.checked_shl(retry).unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(Duration::MAX)
}

/// The declared `Content-Length`, if present and readable.
fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// `Retry-After` in whole seconds (the HTTP-date form is ignored).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let seconds: u64 = headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// The whole body, failing with `Malformed` as soon as it passes `limit` bytes.
async fn read_limited(mut body: Incoming, limit: usize) -> Result<Vec<u8>, LlmError> {
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| transport_error(&e))?;
        if let Ok(data) = frame.into_data() {
            if data.len() > limit - buf.len() {
                return Err(LlmError::Malformed(format!(
                    "response body exceeds the limit of {limit} bytes"
                )));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// The first `max` bytes of the body as lossy UTF-8; best effort (a read error ends it).
async fn read_prefix(mut body: Incoming, max: usize) -> String {
    let mut buf = Vec::new();
    while buf.len() < max {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    let take = data.len().min(max - buf.len());
                    buf.extend_from_slice(&data[..take]);
                }
            }
            Some(Err(_)) | None => break,
        }
    }
    lossy_prefix(&buf, max)
}

/// At most `max` bytes of `bytes` as a string, not ending in a cut-off UTF-8 sequence.
pub(super) fn lossy_prefix(bytes: &[u8], max: usize) -> String {
    let mut end = bytes.len().min(max);
    if let Err(e) = std::str::from_utf8(&bytes[..end])
        && e.error_len().is_none()
    {
        // The prefix ends inside a multi-byte character: drop the partial character.
        end = e.valid_up_to();
    }
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use crate::host::LlmError;

    /// The completion parser on a response body: `choices[0].message.content` or a typed error.
    pub fn parse_completion(body: &[u8]) -> Result<String, LlmError> {
        super::parse_completion(body)
    }
}

/// `choices[0].message.content` from a success body.
fn parse_completion(body: &[u8]) -> Result<String, LlmError> {
    let malformed = |what: &str| Err(LlmError::Malformed(what.to_owned()));
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        LlmError::Malformed(format!(
            "response is not JSON ({e}): {}",
            lossy_prefix(body, ERROR_BODY_BYTES)
        ))
    })?;
    let Some(choices) = value.get("choices") else {
        if let Some(error) = value.get("error") {
            let text = error.to_string();
            return Err(LlmError::Malformed(format!(
                "server reported an error: {}",
                lossy_prefix(text.as_bytes(), ERROR_BODY_BYTES)
            )));
        }
        return malformed("missing `choices`");
    };
    let Some(choices) = choices.as_array() else {
        return malformed("`choices` is not an array");
    };
    let Some(first) = choices.first() else {
        return malformed("`choices` is empty");
    };
    let Some(message) = first.get("message") else {
        return malformed("missing `choices[0].message`");
    };
    match message.get("content") {
        None => malformed("missing `choices[0].message.content`"),
        Some(Value::Null) => Err(LlmError::Empty),
        Some(Value::String(content)) if content.trim().is_empty() => Err(LlmError::Empty),
        Some(Value::String(content)) => Ok(content.clone()),
        Some(_) => malformed("`choices[0].message.content` is not a string"),
    }
}

/// Maps a failure after the connection was made: a broken HTTP response is `Malformed`,
/// anything else (reset, closed, I/O) is `Connect`.
fn transport_error(error: &(dyn StdError + 'static)) -> LlmError {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(hyper_error) = e.downcast_ref::<hyper::Error>()
            && hyper_error.is_parse()
        {
            return LlmError::Malformed(format!("invalid http response: {}", error_chain(error)));
        }
        current = e.source();
    }
    LlmError::Connect(error_chain(error))
}

/// `error` and its sources, joined with `": "`.
fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(e) = current {
        let part = e.to_string();
        if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        current = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint_for_chat(base: &str) -> Result<Uri, OpenAiConfigError> {
        endpoint_for(base, "chat/completions")
    }

    #[test]
    fn endpoint_is_joined_and_checked() {
        let uri = endpoint_for_chat("http://127.0.0.1:8080/v1/").unwrap();
        assert_eq!(uri.to_string(), "http://127.0.0.1:8080/v1/chat/completions");
        let uri = endpoint_for_chat("http://localhost:11434").unwrap();
        assert_eq!(uri.to_string(), "http://localhost:11434/chat/completions");
        assert_eq!(
            endpoint_for_chat("https://api.example.com/v1"),
            Err(OpenAiConfigError::UnsupportedScheme("https".to_owned()))
        );
        assert!(matches!(
            endpoint_for_chat("127.0.0.1:8080/v1"),
            Err(OpenAiConfigError::BadUrl { .. })
        ));
        assert!(matches!(
            endpoint_for_chat("http://127.0.0.1:8080/v1?x=1"),
            Err(OpenAiConfigError::BadUrl { .. })
        ));
        assert!(matches!(
            endpoint_for_chat("http://exa mple/v1"),
            Err(OpenAiConfigError::BadUrl { .. })
        ));
    }

    #[test]
    fn backoff_doubles_and_saturates() {
        let base = Duration::from_millis(200);
        assert_eq!(backoff(base, 0), Duration::from_millis(200));
        assert_eq!(backoff(base, 1), Duration::from_millis(400));
        assert_eq!(backoff(base, 2), Duration::from_millis(800));
        assert_eq!(backoff(base, 40), base * u32::MAX);
        assert_eq!(backoff(Duration::from_secs(u64::MAX / 2), 3), Duration::MAX);
        assert_eq!(backoff(Duration::ZERO, 5), Duration::ZERO);
    }

    #[test]
    fn lossy_prefix_does_not_split_characters() {
        let text = "aé"; // 'é' is two bytes
        assert_eq!(lossy_prefix(text.as_bytes(), 2), "a");
        assert_eq!(lossy_prefix(text.as_bytes(), 3), "aé");
        assert_eq!(lossy_prefix(b"ab\xffcd", 10), "ab\u{fffd}cd");
    }

    #[test]
    fn completion_shapes() {
        let ok = br#"{"choices":[{"message":{"role":"assistant","content":" hi "}}]}"#;
        assert_eq!(parse_completion(ok), Ok(" hi ".to_owned()));
        assert_eq!(
            parse_completion(br#"{"choices":[{"message":{"content":null}}]}"#),
            Err(LlmError::Empty)
        );
        for bad in [
            &b"[1, 2]"[..],
            br#"{"choices":{}}"#,
            br#"{"choices":[]}"#,
            br#"{"choices":[{}]}"#,
            br#"{"choices":[{"message":{}}]}"#,
            br#"{"choices":[{"message":{"content":7}}]}"#,
            br#"{"error":{"message":"model not found"}}"#,
        ] {
            assert!(
                matches!(parse_completion(bad), Err(LlmError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn request_body_shape() {
        let request = ChatRequest {
            model: "m",
            messages: [
                ChatMessage {
                    role: "system",
                    content: "s",
                },
                ChatMessage {
                    role: "user",
                    content: "u",
                },
            ],
            max_tokens: 5,
            temperature: 0.7,
            stream: false,
        };
        assert_eq!(
            serde_json::to_string(&request).unwrap(),
            r#"{"model":"m","messages":[{"role":"system","content":"s"},{"role":"user","content":"u"}],"max_tokens":5,"temperature":0.7,"stream":false}"#
        );
    }
}
