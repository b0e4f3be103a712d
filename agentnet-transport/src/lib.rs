//! # agentnet-transport
//!
//! The host shell of agentnet: where the sans-IO engines meet sockets, timers, storage and
//! language models. It is the one library crate that does I/O and uses async (tokio), and it
//! keeps all of that behind one cargo feature so the protocol-adaptation half can be built
//! without it (`DESIGN.md` §8).
//!
//! ## Features
//!
//! | feature | default | gates |
//! |---|---|---|
//! | `runtime` | yes | every module that does I/O or runs async: `host`, `mem`, `tcp`, `node`, `store`, `llm`, and their re-exports at the crate root; with them the dependencies tokio, async-trait, futures, redb, snow, getrandom and tracing |
//! | `conformance` | no | the `conformance` module: a suite that checks a `Transport` against the contract written on the trait; implies `runtime` |
//! | `openai` | no | the OpenAI-compatible adapters in `llm` (chat completions, embeddings; hyper, serde); implies `runtime` |
//! | `libp2p` | no | the rust-libp2p transport in `libp2p` (libp2p, libp2p-stream) and `NodeBuilder::libp2p`; implies `runtime` |
//!
//! With `--no-default-features` the crate depends only on the sans-IO crates (`agentnet-core`,
//! `-gossip`, `-trust`, `-mech`) and small pure libraries, and compiles no async code; CI
//! checks its dependency tree for tokio, getrandom, async-trait, futures and the like, and
//! runs clippy on that configuration. The split exists so that a host bringing its own event
//! loop (an embedded target, another async runtime, a simulator) can use the adaptation layer
//! without pulling in tokio, and so that the rule "no I/O below the runtime" is checked by the
//! compiler rather than by review. Why a feature rather than a second crate: the sans-IO half
//! and the runtime that executes it change together, and one crate keeps one version.
//!
//! Always built: [`agent`] — the sans-IO [`agent::Agent`] that owns one engine of every plane
//! (gossip, identity registry, sessions, canaries, ledger, trust reports, reputation, the
//! payload plane) and runs the whole task funnel (`request`, `serve`) as one [`Engine`]
//! (`agentnet_core::Engine`), plus [`agent::sim::SimHost`] to run whole agents in the
//! simulator. Its module docs show the drive loop with effects and a two-agent example.
//!
//! [`Engine`]: agentnet_core::Engine
//!
#![cfg_attr(
    feature = "runtime",
    doc = r#"
What the `runtime` feature holds:

* [`host`] — the host traits: [`Transport`] (authenticated links carrying frames; what a
  transport owes the node is listed on the trait), [`LanguageModel`], [`Clock`].
* [`mem`] — an in-process transport for tests and demos.
* [`tcp`] — TCP + Noise XX (`snow`): every link is bound to an [`agentnet_core::AgentId`]
  by a signed key binding in the handshake; length-delimited, chunked frames; bounded
  queues; connection limits; idle timeout; redial with backoff.
* [`node`] — [`Node`], the executor of one [`agent::Agent`]: builder, task-level calls
  (`serve`, `request`, `start_request`, `announce`, `discover`, `reputation`, ...), an
  event stream, and the driver that hands frames to the agent, drives its deadline, writes
  what it asks to persist before sending that turn's frames, runs `Execute` effects through
  the application's handlers, `Llm` effects through the [`LanguageModel`] and `Embed` effects
  through the [`Embedder`].
* [`store`] — durable node state, engine-agnostic tables of records with expiry
  ([`RedbStore`] in a data directory; [`MemoryStore`]).
* [`llm`] — the OpenAI-compatible [`LanguageModel`] and [`Embedder`] adapters (cargo feature
  `openai`).

* [`libp2p`](crate::libp2p) — a transport over rust-libp2p (cargo feature `libp2p`): QUIC and
  TCP + Noise + Yamux, peers and topic followers found through a Kademlia DHT, relays and
  hole punching through NATs; the agent's Ed25519 key is its `PeerId`.

What it does not do (yet): speak TLS to language-model servers. Without the `libp2p` feature
a node finds no peers beyond its bootstrap list, those that dial it and the endpoints of
descriptors it learns (no DHT or NAT traversal).

The drive loop, in short (the full contract is in [`node`]):

```text
loop {
    wait for: command | transport event | handler/model done | min(agent.poll_timeout(), prune, redial)
    feed it:  handle_message | handle_link_up/down | handle_timeout | command | handle_executed/_llm_*
    drain, until a pass yields nothing:
        poll_transmit -> hold this pass's frames
        poll_event    -> application events, request stages and outcomes
        poll_effect   -> Persist: one durable batch, then handle_persisted
                         Execute: the capability's handler on its own task
                         Llm: the language model on its own task
        send the held frames (never blocks)
    then read poll_timeout for the next wait
}
```

A complete agent program is in the repository README ("The Node API"), compiled as a doc
test of this crate.
"#
)]
#![cfg_attr(
    not(feature = "runtime"),
    doc = "**This build has no `runtime` feature**: the host traits, the `Node`, the \
           transports, the store and the model adapters are not compiled."
)]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod agent;
#[cfg(feature = "conformance")]
pub mod conformance;
#[cfg(feature = "runtime")]
pub mod host;
#[cfg(feature = "libp2p")]
pub mod libp2p;
#[cfg(feature = "runtime")]
mod linkio;
#[cfg(feature = "runtime")]
pub mod llm;
#[cfg(feature = "runtime")]
pub mod mem;
#[cfg(feature = "runtime")]
pub mod node;
#[cfg(feature = "runtime")]
#[doc(hidden)]
pub mod records;
#[cfg(feature = "runtime")]
pub mod store;
#[cfg(feature = "runtime")]
pub mod tcp;

#[cfg(feature = "runtime")]
pub use host::{
    Clock, Embedder, LanguageModel, LinkDown, LinkInfo, LlmError, Prompt, SystemClock, Transport,
    TransportError, TransportEvent,
};
#[cfg(feature = "runtime")]
pub use mem::{MemoryNetwork, MemoryTransport};
#[cfg(feature = "runtime")]
pub use node::{
    FrameCount, Handler, Node, NodeBuilder, NodeConfig, NodeError, NodeEvent, NodeStats,
    RequestHandle,
};
#[cfg(feature = "runtime")]
pub use store::{MemoryStore, RedbStore, Store, StoreError};
#[cfg(feature = "runtime")]
pub use tcp::{TcpConfig, TcpTransport};

/// The README's Rust examples (they run a `Node`), compiled as doc tests.
#[cfg(all(doctest, feature = "runtime"))]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
