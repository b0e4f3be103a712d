//! # agentnet-mech
//!
//! The execution plane of agentnet: mechanisms (cooperation rules), follower models, the
//! Stackelberg mechanism-generation loop and task sessions (see `DESIGN.md` §7).
//!
//! **Status:** not yet implemented. This crate currently contains no API; it exists so the
//! workspace layout is final. It will be sans-IO and deterministic, built on `agentnet-core`.

#![forbid(unsafe_code)]
