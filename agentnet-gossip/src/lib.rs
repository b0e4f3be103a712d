//! # agentnet-gossip
//!
//! The semantic discovery plane of agentnet: bodyless gossip over per-author sequential logs,
//! interest filtering, body pull, soft-state expiry and intent discovery (see `DESIGN.md` §4–§5).
//!
//! **Status:** not yet implemented. This crate currently contains no API; it exists so the
//! workspace layout is final. It will be a sans-IO engine built on `agentnet-core`'s `Engine`
//! trait, wire format and capability descriptors, tested on `agentnet_core::sim`.

#![forbid(unsafe_code)]
