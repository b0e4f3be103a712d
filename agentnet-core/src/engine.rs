//! The one sans-IO shape every agentnet state machine has.
//!
//! An [`Engine`] owns protocol state and nothing else: no sockets, no clock, no threads, no
//! randomness it did not get as a seed. A driver (the `Node` runtime in `agentnet-transport`, the
//! simulator in [`crate::sim`], or a unit test) feeds it inputs and drains its outputs.
//!
//! # The drive contract
//!
//! 1. **Inputs** are `handle_*` calls, each with the current [`Now`]:
//!    [`handle_message`](Engine::handle_message) for a frame that arrived on a link,
//!    [`handle_timeout`](Engine::handle_timeout) when the deadline from
//!    [`poll_timeout`](Engine::poll_timeout) has passed, and
//!    [`handle_link_up`](Engine::handle_link_up) / [`handle_link_down`](Engine::handle_link_down)
//!    as links come and go. Engines also have commands of their own (`publish`, `discover`, ...),
//!    which are plain methods and follow the same rule.
//! 2. **After every input or command**, the driver drains the outputs, in this order:
//!    [`poll_transmit`](Engine::poll_transmit) until `None` (send each frame on its link),
//!    [`poll_event`](Engine::poll_event) until `None` (deliver to the application), then reads
//!    [`poll_timeout`](Engine::poll_timeout) and arms one timer for that absolute deadline.
//! 3. When the timer fires, call `handle_timeout(now)` with `now.mono >=` the deadline. Engines
//!    tolerate early, late and spurious calls: they act only on deadlines that have passed.
//! 4. `from: LinkId` is routing only. It says which link a frame came in on, never who wrote it;
//!    authorship is established by verifying a signature inside the frame.
//! 5. `handle_message` returns `Err` for input that is malformed, oversized, forged, replayed or
//!    stale. By then the engine has applied any penalty and queued any event; its state is
//!    consistent and the driver simply carries on.
//! 6. Outputs are bounded: engines drop by priority when their queues fill and say so in an
//!    event. Polling an idle engine is O(1).
//!
//! Given the same configuration, seed and sequence of inputs, an engine produces byte-identical
//! outputs in the same order.

use core::fmt;

use bytes::Bytes;

use crate::time::{Instant, Now};

/// A driver-assigned handle for one link (a connection, a simulated edge). Opaque to engines:
/// they use it to address replies and to keep per-link state such as rate limits and penalties.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct LinkId(pub u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link#{}", self.0)
    }
}

/// A frame an engine wants sent on one link.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Transmit {
    /// The link to send it on.
    pub link: LinkId,
    /// The complete frame (see [`crate::wire`]).
    pub payload: Bytes,
}

/// The sans-IO state machine shape shared by every agentnet engine. See the
/// [module documentation](self) for the drive contract.
pub trait Engine {
    /// What the engine reports to its application.
    type Event;
    /// Why `handle_message` refused a frame.
    type Error: fmt::Debug + fmt::Display;

    /// A frame arrived on `from`.
    fn handle_message(&mut self, now: Now, from: LinkId, payload: Bytes)
    -> Result<(), Self::Error>;

    /// The deadline last returned by [`poll_timeout`](Engine::poll_timeout) may have passed.
    fn handle_timeout(&mut self, now: Now);

    /// A link is ready to carry frames.
    fn handle_link_up(&mut self, now: Now, link: LinkId);

    /// A link is gone; frames addressed to it are no longer deliverable.
    fn handle_link_down(&mut self, now: Now, link: LinkId);

    /// The next frame to send, if any.
    fn poll_transmit(&mut self) -> Option<Transmit>;

    /// The next event for the application, if any.
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// The earliest absolute deadline at which the engine wants `handle_timeout`, if any.
    fn poll_timeout(&self) -> Option<Instant>;
}
