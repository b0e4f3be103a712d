//! Shared pieces of the agentnet example programs: the flooding baseline engine the gossip
//! experiments compare against, and reporting helpers (CSV, SVG charts, progress, memory).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod flood;
pub mod report;
