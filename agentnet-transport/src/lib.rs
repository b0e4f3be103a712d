//! # agentnet-transport
//!
//! The host shell of agentnet: where the sans-IO engines meet sockets, timers, storage and
//! language models. It is the one library crate that does I/O and uses async (tokio).
//!
//! What it holds:
//!
//! * [`host`] — the host traits: [`Transport`] (authenticated links carrying frames; what a
//!   transport owes the node is listed on the trait), [`LanguageModel`], [`Clock`].
//! * [`mem`] — an in-process transport for tests and demos.
//! * [`tcp`] — TCP + Noise XX (`snow`): every link is bound to an [`agentnet_core::AgentId`]
//!   by a signed key binding in the handshake; length-delimited, chunked frames; bounded
//!   queues; connection limits; idle timeout; redial with backoff.
//! * [`node`] — [`Node`], the protocol adaptation layer: builder, task-level calls
//!   (`announce`, `discover`, `subscribe`, ...), an event stream, and the driver that routes
//!   frames to engines by kind, drives their deadlines, persists what they ask for and sends
//!   what they emit.
//! * [`store`] — durable node state ([`RedbStore`] in a data directory; [`MemoryStore`]).
//! * [`llm`] — the OpenAI-compatible [`LanguageModel`] adapter (cargo feature `openai`).
//!
//! What it does not do (yet): find peers beyond its bootstrap list and those that dial it (no
//! peer exchange, DHT or NAT traversal; an adapter onto rust-libp2p is the planned route for
//! internet-scale deployments), or speak TLS to language-model servers.
//!
//! The drive loop, in short (the full contract is in [`node`]):
//!
//! ```text
//! loop {
//!     wait for: command | transport event | min(engine.poll_timeout(), prune, redial)
//!     feed it:  handle_message (by frame kind) | handle_link_up/down | handle_timeout | command
//!     drain, until a pass yields nothing:
//!         poll_transmit -> transport.send (never blocks)
//!         poll_event    -> one durable batch -> handle_persisted for own heads -> app events
//!     then read poll_timeout for the next wait
//! }
//! ```
//!
//! A complete agent program is in the repository README ("The Node API"), compiled as a doc
//! test of this crate.

#![forbid(unsafe_code)]

pub mod agent;
pub mod host;
pub mod mem;
pub mod node;
pub mod store;
pub mod tcp;

pub use host::{
    Clock, LanguageModel, LinkDown, LinkInfo, LlmError, Prompt, SystemClock, Transport,
    TransportError, TransportEvent,
};
pub use mem::{MemoryNetwork, MemoryTransport};
pub use node::{Node, NodeBuilder, NodeConfig, NodeError, NodeEvent, NodeStats};
pub use store::{MemoryStore, RedbStore, Store, StoreError};
pub use tcp::{TcpConfig, TcpTransport};
pub mod llm;

/// The README's Rust examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
