//! # agentnet-transport
//!
//! The host shell of agentnet: the async host traits (`Transport`, `LanguageModel`, `Clock`),
//! in-memory and TCP + Noise transports, the `Node` runtime that drives the sans-IO engines,
//! and the OpenAI-compatible language-model adapter (see `DESIGN.md` §8).
//!
//! **Status:** not yet implemented. This crate currently contains no API; it exists so the
//! workspace layout is final. It is the one library crate allowed to do I/O and use async.

#![forbid(unsafe_code)]
