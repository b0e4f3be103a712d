//! Fixed times and seeded keys for tests (feature `test-support`).
//!
//! Tests across the workspace need the same few values: a [`Now`] at a fixed, far-from-zero
//! wall-clock epoch, the same point a few milliseconds or seconds later, and a deterministic
//! [`Keypair`]. They live here once instead of in every test file.
//!
//! Everything is a pure function of its arguments: nothing reads a clock or draws OS
//! randomness, so this module keeps the crate sans-IO.
//!
//! The module is compiled for this crate's own unit tests and, for everyone else, behind the
//! `test-support` cargo feature, which only `[dev-dependencies]` should turn on:
//!
//! ```toml
//! [dev-dependencies]
//! agentnet-core = { workspace = true, features = ["test-support"] }
//! ```

use crate::identity::Keypair;
use crate::time::{Instant, Now, WallTime};

/// The wall-clock epoch of test scenarios, in **milliseconds since the Unix epoch**:
/// `1_800_000_000_000` = 2027-01-15T08:00:00Z. Far from zero, so that "a minute before the
/// start" is still a valid stamp.
pub const EPOCH_MS: u64 = 1_800_000_000_000;

/// Wall time `ms` **milliseconds** after [`EPOCH_MS`].
pub const fn wall_ms(ms: u64) -> WallTime {
    WallTime::from_unix_millis(EPOCH_MS.saturating_add(ms))
}

/// The start of a scenario: the monotonic clock at [`Instant::ZERO`], the wall clock at
/// [`EPOCH_MS`]. Same as [`at_ms`]`(0)`.
pub const fn now() -> Now {
    at_ms(0)
}

/// Both clocks `ms` **milliseconds** after the start: monotonic `Instant::from_millis(ms)`,
/// wall [`wall_ms`]`(ms)`. This is how the simulator advances time.
pub const fn at_ms(ms: u64) -> Now {
    Now::new(Instant::from_millis(ms), wall_ms(ms))
}

/// Both clocks `secs` **seconds** after the start: monotonic `Instant::from_secs(secs)`,
/// wall [`wall_ms`]`(secs * 1000)`.
pub const fn at_secs(secs: u64) -> Now {
    Now::new(
        Instant::from_secs(secs),
        wall_ms(secs.saturating_mul(1_000)),
    )
}

/// The start of a scenario on a host that has already been up for `secs` **seconds**: the
/// monotonic clock at `Instant::from_secs(secs)`, the wall clock at [`EPOCH_MS`] (not advanced).
/// For tests where a zero monotonic reading would look like "never" or "just booted".
pub const fn uptime_secs(secs: u64) -> Now {
    Now::new(Instant::from_secs(secs), wall_ms(0))
}

/// The keypair seeded with 32 copies of `n`: `Keypair::from_seed([n; 32])`. Distinct `n`
/// give distinct, reproducible agents.
pub fn keypair(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}
