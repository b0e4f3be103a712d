//! # agentnet-gossip
//!
//! The semantic discovery plane of agentnet: bodyless gossip over per-author sequential logs,
//! interest filtering, body pull, soft-state expiry and intent discovery (see `DESIGN.md` §4–§5).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod discover;
mod engine;
pub mod events;
pub mod fraud;
pub mod header;
pub mod log;
pub mod queue;
pub mod simhost;
mod state;
pub mod wire;

pub use config::GossipConfig;
pub use discover::{Candidate, DiscoveryIndex, InterestProfile, Requirements};
pub use engine::{GossipEngine, GossipStats};
pub use events::{CommandError, Event, GossipError, OwnHead};
pub use fraud::{Equivocation, EquivocationProof};
pub use header::{EntryKind, HeaderRules, LogHeader};
pub use log::{AuthorLog, Insert};
