//! # agentnet-mech
//!
//! The execution plane of agentnet: mechanisms (cooperation rules), follower models, the
//! Stackelberg mechanism-generation loop and task sessions (see `DESIGN.md` §7).
//! Sans-IO and deterministic: no I/O, no clocks, no OS randomness.

#![forbid(unsafe_code)]

pub mod design;
pub mod evaluate;
pub mod follower;
pub mod llm;
pub mod mechanism;
pub mod stackelberg;
pub mod wire;
