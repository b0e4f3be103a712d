//! # agentnet-gossip
//!
//! The semantic discovery plane of agentnet: bodyless gossip over per-author sequential logs,
//! interest filtering, body pull, soft-state expiry and intent discovery (see `DESIGN.md` §4–§5).
//!
//! **Status: in progress.** Landed so far — the pieces the gossip engine is built from, each
//! sans-IO and tested on its own:
//!
//! - [`header`]: the signed [`LogHeader`] (author, topic, seq, prev hash, kind, body hash and
//!   length, issued-at, TTL, sketch) and its validation;
//! - [`log`]: [`AuthorLog`], one author's log for one topic as a receiver holds it —
//!   duplicates, gaps, equivocation and `prev` conflicts, bounded memory, pruning that keeps
//!   the head;
//! - [`fraud`]: the self-verifying [`EquivocationProof`].
//!
//! Still to come: the `GossipEngine` (mesh, eager header push, anti-entropy, body pull,
//! discovery), its simulations and experiments.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod fraud;
pub mod header;
pub mod log;

pub use fraud::{Equivocation, EquivocationProof};
pub use header::{EntryKind, HeaderRules, LogHeader};
pub use log::{AuthorLog, Insert};
