//! # agentnet-transport
//!
//! The host shell of agentnet: the async host traits ([`Transport`], [`LanguageModel`],
//! [`Clock`]), transports (in-memory; TCP + Noise), and the runtime that drives the sans-IO
//! engines over them. It is the one library crate that does I/O and uses async (tokio).

#![forbid(unsafe_code)]

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
