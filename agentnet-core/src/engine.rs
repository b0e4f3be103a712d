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
//! 2. **After any input or command, drain transmits and events until both are empty, then read
//!    [`poll_timeout`](Engine::poll_timeout)** and arm one timer for that absolute deadline.
//!    One pass is [`poll_transmit`](Engine::poll_transmit) until `None` (send each frame on its
//!    link), then [`poll_event`](Engine::poll_event) until `None` (deliver to the
//!    application); passes repeat until one yields nothing from either. [`drain`] does exactly
//!    this. The repetition is what makes the rule safe for every engine: an engine may build
//!    frames lazily while its events are polled, and a host that answers an event with another
//!    input (acknowledging a persisted record, say) has made a new input, after which the
//!    same rule applies again. Reading the deadline only once both queues are empty means the
//!    timer always reflects everything the engine has decided so far.
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
///
/// `#[must_use]`: a transmit that is dropped is a frame silently lost, which the protocols
/// treat as link loss and recover from only slowly. Discard one deliberately (`let _ = ...`).
#[must_use = "a dropped Transmit is a frame that is never sent"]
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
    #[must_use = "a polled Transmit leaves the engine's queue; send it or it is lost"]
    fn poll_transmit(&mut self) -> Option<Transmit>;

    /// The next event for the application, if any.
    #[must_use = "a polled event leaves the engine's queue; handle it or it is lost"]
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// The earliest absolute deadline at which the engine wants `handle_timeout`, if any.
    #[must_use = "an engine whose deadline is not armed never gets its handle_timeout"]
    fn poll_timeout(&self) -> Option<Instant>;
}

/// Drain `engine` as the drive contract's point 2 asks: transmits then events, repeated until a
/// whole pass yields neither, then return [`Engine::poll_timeout`] for the caller to arm.
///
/// `on_transmit` gets every frame (send it on [`Transmit::link`]); `on_event` gets every event.
/// Neither callback can reach the engine (it is borrowed here), so a host that must answer an
/// event with an input, such as acknowledging a persisted record, collects what it needs, makes
/// the call after `drain` returns, and drains again: that call is a new input.
///
/// Why loop at all when one pass usually suffices: nothing in the contract forbids an engine
/// from queueing a frame while its events are polled (building replies lazily, for example),
/// and a driver that stopped after one pass would then leave that frame unsent until the next,
/// unrelated input. The loop ends because every poll either removes an item or returns `None`;
/// an engine that produced outputs forever from polling alone would be broken anyway.
///
/// ```
/// use agentnet_core::engine::drain;
/// use agentnet_core::{Engine, Instant, LinkId, Now, Transmit};
/// # use bytes::Bytes;
/// # struct Echo(Vec<Transmit>, Vec<u32>);
/// # impl Engine for Echo {
/// #     type Event = u32;
/// #     type Error = std::convert::Infallible;
/// #     fn handle_message(&mut self, _: Now, from: LinkId, p: Bytes) -> Result<(), Self::Error> {
/// #         self.0.push(Transmit { link: from, payload: p });
/// #         self.1.push(7);
/// #         Ok(())
/// #     }
/// #     fn handle_timeout(&mut self, _: Now) {}
/// #     fn handle_link_up(&mut self, _: Now, _: LinkId) {}
/// #     fn handle_link_down(&mut self, _: Now, _: LinkId) {}
/// #     fn poll_transmit(&mut self) -> Option<Transmit> { self.0.pop() }
/// #     fn poll_event(&mut self) -> Option<u32> { self.1.pop() }
/// #     fn poll_timeout(&self) -> Option<Instant> { None }
/// # }
/// # let mut engine = Echo(Vec::new(), Vec::new());
/// # let now = Now::new(Instant::ZERO, agentnet_core::WallTime::from_unix_millis(0));
/// engine.handle_message(now, LinkId(1), Bytes::from_static(b"ping"))?;
/// let (mut sent, mut seen) = (Vec::new(), Vec::new());
/// let deadline = drain(&mut engine, |t| sent.push(t), |e| seen.push(e));
/// assert_eq!((sent.len(), seen, deadline), (1, vec![7], None));
/// # Ok::<(), std::convert::Infallible>(())
/// ```
pub fn drain<E: Engine + ?Sized>(
    engine: &mut E,
    mut on_transmit: impl FnMut(Transmit),
    mut on_event: impl FnMut(E::Event),
) -> Option<Instant> {
    loop {
        let mut idle = true;
        while let Some(t) = engine.poll_transmit() {
            idle = false;
            on_transmit(t);
        }
        while let Some(e) = engine.poll_event() {
            idle = false;
            on_event(e);
        }
        if idle {
            return engine.poll_timeout();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Queues a transmit the first time its events are polled, as a lazy engine may.
    struct Lazy {
        events: Vec<u8>,
        lazy: Option<Transmit>,
        polls: u32,
    }

    impl Engine for Lazy {
        type Event = u8;
        type Error = core::convert::Infallible;
        fn handle_message(&mut self, _: Now, _: LinkId, _: Bytes) -> Result<(), Self::Error> {
            Ok(())
        }
        fn handle_timeout(&mut self, _: Now) {}
        fn handle_link_up(&mut self, _: Now, _: LinkId) {}
        fn handle_link_down(&mut self, _: Now, _: LinkId) {}
        fn poll_transmit(&mut self) -> Option<Transmit> {
            self.polls += 1;
            if self.events.is_empty() {
                self.lazy.take()
            } else {
                None
            }
        }
        fn poll_event(&mut self) -> Option<u8> {
            self.events.pop()
        }
        fn poll_timeout(&self) -> Option<Instant> {
            Some(Instant::from_millis(5))
        }
    }

    #[test]
    fn drain_repeats_until_both_queues_are_empty() {
        let mut e = Lazy {
            events: vec![2, 1],
            lazy: Some(Transmit {
                link: LinkId(3),
                payload: Bytes::from_static(b"late"),
            }),
            polls: 0,
        };
        let (mut sent, mut seen) = (Vec::new(), Vec::new());
        let deadline = drain(&mut e, |t| sent.push(t.link), |ev| seen.push(ev));
        assert_eq!(seen, [1, 2]);
        assert_eq!(
            sent,
            [LinkId(3)],
            "the frame queued during the event pass is sent"
        );
        assert_eq!(deadline, Some(Instant::from_millis(5)));
        // Pass 1 (nothing, then events), pass 2 (the lazy frame), pass 3 (idle).
        assert_eq!(e.polls, 4);
    }
}
