//! Adapters that implement [`LanguageModel`](crate::LanguageModel) against real model
//! servers.
//!
//! * `openai` (cargo feature `openai`): `OpenAiCompatible`, a client for the chat-completions
//!   endpoint of local OpenAI-compatible servers (llama.cpp `llama-server`, vLLM, Ollama).
//!   See the `openai` module for what it does and does not do.
//! * `embeddings` (cargo feature `openai`): `OpenAiEmbeddings`, an
//!   [`Embedder`](crate::Embedder) for the `/embeddings` endpoint of the same servers, for
//!   discovery by meaning rather than by words (`NodeBuilder::embedder`).
//!
//! Without any adapter feature this module is empty: hosts bring their own
//! [`LanguageModel`](crate::LanguageModel).

#[cfg(feature = "openai")]
pub mod embeddings;
#[cfg(feature = "openai")]
pub mod openai;

#[cfg(feature = "openai")]
pub use embeddings::OpenAiEmbeddings;
#[cfg(feature = "openai")]
pub use openai::{OpenAiCompatible, OpenAiConfig, OpenAiConfigError};
