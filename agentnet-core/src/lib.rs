//! agentnet-core (work in progress)
pub mod descriptor;
pub mod engine;
pub mod hash;
pub mod identity;
pub mod seal;
pub mod semantic;
pub mod signed;
pub mod sim;
pub mod time;
pub mod wire;

pub use engine::{Engine, LinkId, Transmit};
pub use hash::Hash;
pub use identity::{AgentId, Keypair, Signature, Signer};
pub use signed::{Signed, SignedObject};
pub use time::{Instant, Now, WallTime};
