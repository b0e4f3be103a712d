//! # agentnet-core
//!
//! The foundation every agentnet plane stands on: who an agent is, how its statements are
//! signed and sent, what a capability descriptor says, how intent is compared, the one shape
//! all protocol engines share, and the simulator that runs them.
//!
//! **Sans-IO.** This crate performs no I/O, spawns no threads, reads no clock and draws no OS
//! randomness. Time arrives as a [`Now`] argument, randomness as a seed or a caller-supplied
//! RNG, and effects leave as values. The same inputs always give the same outputs, which is
//! what makes the [`sim`] simulator and every test reproducible. CI enforces the rule: no
//! tokio, getrandom or async-trait in the dependency tree, and clippy refuses
//! `Instant::now` / `SystemTime::now` (see `clippy.toml`).
//!
//! ## What is here
//!
//! | module | holds |
//! |---|---|
//! | [`time`] | [`Instant`] (monotonic µs), [`WallTime`] (Unix ms), [`Now`] (both, passed on every call) |
//! | [`hash`] | [`Hash`](struct@Hash): BLAKE3-256, domain-separated per object type |
//! | [`identity`] | [`AgentId`] (Ed25519 key, `did:key` text), [`Keypair`], [`Signer`], strict and batch verification, [`identity::KeyCache`] |
//! | [`wire`] | frames (version, kind, canonical CBOR) and the allocation-free limit checker |
//! | [`signed`] | [`Signed<T>`]: verify the exact received bytes first, decode second |
//! | [`seal`] | X25519 keys, the signed [`seal::KeyBinding`] to an `AgentId`, sealed boxes |
//! | [`descriptor`] | capability descriptors: fields, validation, freshness, supersession, ingest |
//! | [`log_header`] | the signed header of a per-author log entry (written by the gossip plane, judged by the trust plane) |
//! | [`money`] | [`money::Micros`], the one integer money type of every plane |
//! | [`fork`] | [`fork::ForkProof`]: one key signed two statements for one position of an append-only record (log headers, identity chains) |
//! | [`semantic`] | the [`semantic::SemanticEncoder`] trait, the model-free default encoder, quantized embeddings and 32-byte sketches |
//! | [`engine`] | the [`Engine`] trait and its written drive contract |
//! | [`effect`] | [`Effect`]s an engine asks its host to perform (persist, ask a model, execute a task), with [`RequestId`]s for their completions |
//! | [`sim`] | the deterministic discrete-event simulator that drives engines in virtual time |
//! | [`config`] | [`ConfigError`] and the range check every engine config uses |
//! | [`bytes_serde`] | serde helpers for `Bytes` fields as CBOR byte strings |
//! | [`queue`] | [`BoundedQueue`], the one bounded output queue, and its [`Overflow`] report |
//! | `test_support` | fixed test times (`EPOCH_MS`, `now`, `at_ms`, `at_secs`, `wall_ms`, `uptime_secs`) and seeded keypairs; unit tests and feature `test-support` only |
//!
//! ## Two rules every engine keeps
//!
//! **Configs are validated, never clamped.** Every engine config documents a range for each
//! bounded field and has a `validate()` that checks exactly those ranges; the engine's
//! constructor calls it and returns a [`ConfigError`] naming the field, the value and the
//! range (`"mesh_d = 0 is outside 1..=1024"`). Nothing is silently raised or lowered into range.
//! **Queues are bounded one way.** Every output queue is a [`BoundedQueue`] with a capacity
//! fixed by config: when full it drops the oldest item of the lowest priority class, counts
//! the drop, and the engine reports the drops not yet reported in one overflow event carrying
//! an [`Overflow`] (`Event::Overflow(Overflow)`) when its outputs are drained.
//!
//! ## What is not here
//!
//! Gossip, trust, mechanisms and the networked runtime live in `agentnet-gossip`,
//! `agentnet-trust`, `agentnet-mech` and `agentnet-transport`. This crate never opens a socket
//! or a file; hosts do that and feed the engines.
//!
//! ## Signing and receiving a descriptor
//!
//! ```
//! use agentnet_core::descriptor::{self, CapabilityDescriptor, DescriptorRules};
//! use agentnet_core::wire::Limits;
//! use agentnet_core::{Instant, Keypair, Now, Signed, WallTime};
//!
//! // The host reads its clocks once per call; engines and helpers only see the value.
//! let now = Now::new(Instant::ZERO, WallTime::from_unix_millis(1_800_000_000_000));
//! let alice = Keypair::from_seed([7; 32]); // hosts draw the seed from the OS once and keep it
//!
//! let d = CapabilityDescriptor::builder(
//!     alice.id(),
//!     "text.translate",
//!     "language/translation",
//!     "Translate documents between English and French",
//! )
//! .tags(["translation", "french"])
//! .build(now)?;
//! let frame = Signed::sign(&alice, d)?.to_frame(); // bytes ready for any transport
//!
//! // The receiver: frame checks, signature over the received bytes, decode, validate, freshness.
//! let got = descriptor::ingest(&frame, now, &DescriptorRules::default(), &Limits::default())?;
//! assert_eq!(got.provider, alice.id());
//! assert!(alice.id().to_string().starts_with("did:key:z6Mk"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The drive loop
//!
//! Every engine is driven the same way (details in [`engine`]):
//!
//! ```text
//! loop {
//!     input  = next of: frame on a link | timer fired | link up/down | app command
//!     engine.handle_*(now, input)           // or a command method
//!     loop {                                 // until one pass yields nothing
//!         while let Some(t) = engine.poll_transmit() { send t.payload on t.link }
//!         while let Some(e) = engine.poll_event()    { deliver e to the application }
//!         if neither loop yielded anything { break }
//!     }
//!     arm one timer at engine.poll_timeout()     // absolute deadline, read last
//! }
//! ```
//!
//! The inner loop is [`engine::drain`]`(&mut engine, on_transmit, on_event)`, which returns
//! the deadline to arm.
//!
//! To unit-test your own protocol logic in isolation — wrap it as an [`Engine`], run a few in
//! the simulator with loss and a partition, and assert on the events — follow the guide in
//! [`sim`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
pub mod bytes_serde;
pub mod config;
pub mod descriptor;
pub mod effect;
pub mod engine;
pub mod fork;
pub mod hash;
pub mod identity;
pub mod intent;
pub mod log_header;
pub mod money;
pub mod queue;
pub mod seal;
pub mod semantic;
pub mod signed;
pub mod sim;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod time;
pub mod wire;

pub use config::ConfigError;
pub use effect::{Effect, Record, RequestId};
pub use engine::{Engine, LinkId, Transmit};
pub use hash::Hash;
pub use identity::{AgentId, Keypair, Signature, Signer};
pub use queue::{BoundedQueue, Overflow};
pub use signed::{Signed, SignedObject};
pub use time::{Instant, Now, WallTime};
