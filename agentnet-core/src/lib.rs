//! agentnet-core (work in progress)
pub mod engine;
pub mod hash;
pub mod time;

pub use engine::{Engine, LinkId, Transmit};
pub use hash::Hash;
pub use time::{Instant, Now, WallTime};
