//! # agentnet-trust
//!
//! The trust and verification plane of agentnet: BAID identity chains, evidence packages and
//! tool receipts, fraud proofs, the interaction ledger, MG-EigenTrust and the tiered
//! verification engine (see `DESIGN.md` §6).
//!
//! **Status:** not yet implemented. This crate currently contains no API; it exists so the
//! workspace layout is final. It will be sans-IO and deterministic, built on `agentnet-core`.

#![forbid(unsafe_code)]
