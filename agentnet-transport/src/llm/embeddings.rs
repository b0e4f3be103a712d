//! An [`Embedder`] for OpenAI-compatible `/embeddings` endpoints.
//!
//! [`OpenAiEmbeddings`] sends each batch as one request to `POST {base_url}/embeddings` with
//! the body
//!
//! ```json
//! {"model": "...", "input": ["first text", "second text"], "encoding_format": "float"}
//! ```
//!
//! and returns `data[i].embedding` in the order of `data[i].index` (the order of `input` when
//! the server leaves `index` out). Servers: llama.cpp `llama-server --embeddings`, vLLM,
//! Ollama (`http://127.0.0.1:11434/v1`), text-embeddings-inference, OpenAI itself behind a
//! local TLS proxy.
//!
//! # Behaviour
//!
//! The same HTTP client as [`OpenAiCompatible`], with its
//! deadline, retries (connection failures, `429`, `5xx`), `Retry-After`, error mapping and
//! plain-`http` restriction (see its docs), with two differences:
//!
//! * **Checked answers.** A `2xx` answer must carry exactly one vector per text, every index
//!   once, each of [`dim`](Embedder::dim) finite numbers; anything else is
//!   [`LlmError::Malformed`] naming what is wrong. An answer is never half-used.
//! * **Bounded by what a correct answer can be.** The body limit is computed per call from
//!   the batch: 32 bytes per number (a JSON float with 17 significant digits, a sign, an
//!   exponent and a comma is under 30) plus 64 KiB; [`OpenAiConfig::max_response_bytes`] is
//!   not used. A larger answer is `Malformed` before it is parsed.
//!
//! # The encoder id
//!
//! [`id`](Embedder::id) is `openai-compatible:<model>:<dim>`. Vectors are compared only with
//! vectors of the same id, so two nodes using the same model name and dimension are assumed
//! to run the same model; name versions in the model id when they differ
//! (`nomic-embed-text-v1.5`).
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use agentnet_transport::Embedder;
//! use agentnet_transport::llm::{OpenAiConfig, OpenAiEmbeddings};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // `llama-server -m nomic-embed-text-v1.5.Q8_0.gguf --embeddings --port 8081`
//! let config = OpenAiConfig::new("http://127.0.0.1:8081/v1", "nomic-embed-text-v1.5");
//! // Ask the server once for the dimension (or give it: `OpenAiEmbeddings::new(config, 768)`).
//! let model = OpenAiEmbeddings::probe(config, Duration::from_secs(10)).await?;
//! let v = model.embed(&["translate a letter".to_owned()], Duration::from_secs(10)).await?;
//! assert_eq!(v[0].len(), model.dim());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use hyper::Uri;
use serde::Serialize;
use serde_json::Value;
use tokio::time::Instant;

use super::openai::{ERROR_BODY_BYTES, endpoint_for, lossy_prefix};
use super::{OpenAiCompatible, OpenAiConfig, OpenAiConfigError};
use crate::host::{Embedder, LlmError};

/// Bytes allowed per number of an answer (see the module docs).
const BYTES_PER_NUMBER: usize = 32;
/// Bytes allowed on top of the numbers (field names, usage, whitespace).
const ANSWER_SLACK: usize = 64 << 10;
/// The text a [`OpenAiEmbeddings::probe`] embeds to learn the dimension.
const PROBE_TEXT: &str = "agentnet dimension probe";

/// An [`Embedder`] backed by an OpenAI-compatible `/embeddings` endpoint over plain
/// HTTP/1.1. See the [module docs](self).
pub struct OpenAiEmbeddings {
    http: OpenAiCompatible,
    endpoint: Uri,
    endpoint_text: String,
    dim: usize,
    id: String,
}

impl fmt::Debug for OpenAiEmbeddings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiEmbeddings")
            .field("endpoint", &self.endpoint_text)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl OpenAiEmbeddings {
    /// A client for `config.model` behind `config.base_url`, producing vectors of `dim`
    /// components (16..=4096, what the sans-IO encoders accept). Makes no connection.
    pub fn new(config: OpenAiConfig, dim: usize) -> Result<Self, OpenAiConfigError> {
        if !(agentnet_core::semantic::MIN_DIM..=agentnet_core::semantic::MAX_DIM).contains(&dim) {
            return Err(OpenAiConfigError::BadUrl {
                url: config.base_url.clone(),
                reason: format!(
                    "dimension {dim} is outside {}..={}",
                    agentnet_core::semantic::MIN_DIM,
                    agentnet_core::semantic::MAX_DIM
                ),
            });
        }
        let endpoint = endpoint_for(&config.base_url, "embeddings")?;
        let id = format!("openai-compatible:{}:{dim}", config.model);
        Ok(OpenAiEmbeddings {
            endpoint_text: endpoint.to_string(),
            endpoint,
            http: OpenAiCompatible::new(config)?,
            dim,
            id,
        })
    }

    /// A client whose dimension is learned by embedding one short text (any server error
    /// is returned as it is; a dimension outside 16..=4096 is [`LlmError::Malformed`]).
    pub async fn probe(config: OpenAiConfig, timeout: Duration) -> Result<Self, LlmError> {
        let mut probe = Self::new(config.clone(), agentnet_core::semantic::MAX_DIM)
            .map_err(|e| LlmError::Connect(e.to_string()))?;
        // Any length is accepted while probing; the real client checks its own.
        probe.dim = 0;
        let v = probe.embed(&[PROBE_TEXT.to_owned()], timeout).await?;
        Self::new(config, v[0].len()).map_err(|e| LlmError::Malformed(e.to_string()))
    }

    /// The full URL requests are sent to (`{base_url}/embeddings`).
    pub fn endpoint(&self) -> &str {
        &self.endpoint_text
    }
}

#[derive(Serialize)]
struct EmbeddingsRequest<'a> {
    model: &'a str,
    input: &'a [String],
    encoding_format: &'static str,
}

#[async_trait]
impl Embedder for OpenAiEmbeddings {
    fn id(&self) -> &str {
        &self.id
    }

    fn dim(&self) -> usize {
        self.dim
    }

    async fn embed(&self, texts: &[String], timeout: Duration) -> Result<Vec<Vec<f32>>, LlmError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let budget = timeout.min(self.http.config().request_timeout);
        if budget.is_zero() {
            return Err(LlmError::Timeout);
        }
        let body = serde_json::to_vec(&EmbeddingsRequest {
            model: &self.http.config().model,
            input: texts,
            encoding_format: "float",
        })
        .map(Bytes::from)
        .map_err(|e| LlmError::Malformed(format!("could not encode the request: {e}")))?;
        let per_vector = if self.dim == 0 {
            agentnet_core::semantic::MAX_DIM
        } else {
            self.dim
        };
        let limit = texts
            .len()
            .saturating_mul(per_vector)
            .saturating_mul(BYTES_PER_NUMBER)
            .saturating_add(ANSWER_SLACK);
        let deadline = Instant::now().checked_add(budget);
        let raw = match deadline {
            Some(d) => tokio::time::timeout_at(
                d,
                self.http
                    .run(&self.endpoint, body, Some(d), limit, parse_raw),
            )
            .await
            .unwrap_or(Err(LlmError::Timeout))?,
            None => {
                self.http
                    .run(&self.endpoint, body, None, limit, parse_raw)
                    .await?
            }
        };
        parse_embeddings(&raw, texts.len(), self.dim)
    }
}

/// The body as JSON (the shape is checked by [`parse_embeddings`], which needs the batch).
fn parse_raw(body: &[u8]) -> Result<Value, LlmError> {
    serde_json::from_slice(body).map_err(|e| {
        LlmError::Malformed(format!(
            "response is not JSON ({e}): {}",
            lossy_prefix(body, ERROR_BODY_BYTES)
        ))
    })
}

/// `n` vectors of `dim` finite components (any one length when `dim` is 0), ordered by
/// `data[i].index`, from an `/embeddings` answer.
pub(crate) fn parse_embeddings(
    value: &Value,
    n: usize,
    dim: usize,
) -> Result<Vec<Vec<f32>>, LlmError> {
    let malformed = |what: String| Err(LlmError::Malformed(what));
    let Some(data) = value.get("data") else {
        if let Some(error) = value.get("error") {
            let text = error.to_string();
            return malformed(format!(
                "server reported an error: {}",
                lossy_prefix(text.as_bytes(), ERROR_BODY_BYTES)
            ));
        }
        return malformed("missing `data`".into());
    };
    let Some(items) = data.as_array() else {
        return malformed("`data` is not an array".into());
    };
    if items.len() != n {
        return malformed(format!("{} vectors for {n} texts", items.len()));
    }
    let mut out: Vec<Option<Vec<f32>>> = vec![None; n];
    let mut want = dim;
    for (pos, item) in items.iter().enumerate() {
        let index = match item.get("index") {
            None => pos,
            Some(i) => match i.as_u64() {
                Some(i) if (i as usize) < n => i as usize,
                _ => return malformed(format!("`data[{pos}].index` is not an index below {n}")),
            },
        };
        let Some(values) = item.get("embedding").and_then(Value::as_array) else {
            return malformed(format!(
                "`data[{pos}].embedding` is not an array of numbers"
            ));
        };
        if want == 0 {
            want = values.len();
        }
        if values.len() != want || want == 0 {
            return malformed(format!(
                "`data[{pos}].embedding` has {} numbers; expected {want}",
                values.len()
            ));
        }
        let mut v = Vec::with_capacity(want);
        for x in values {
            match x.as_f64().map(|f| f as f32) {
                Some(f) if f.is_finite() => v.push(f),
                _ => {
                    return malformed(format!(
                        "`data[{pos}].embedding` holds a value that is not a finite number"
                    ));
                }
            }
        }
        if out[index].replace(v).is_some() {
            return malformed(format!("index {index} appears twice"));
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// Entry points for the fuzz targets in `fuzz/` (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use crate::host::LlmError;

    /// The embeddings parser on a response body, for a batch of `n` texts of `dim` numbers.
    pub fn parse_embeddings(body: &[u8], n: usize, dim: usize) -> Result<Vec<Vec<f32>>, LlmError> {
        super::parse_embeddings(&super::parse_raw(body)?, n, dim)
    }
}
