//! [`Ticker`]: the smallest useful engine, for scale runs and calibrating the simulator.

use core::time::Duration;

use bytes::Bytes;

use crate::engine::{Engine, LinkId, Transmit};
use crate::time::{Instant, Now};

/// The 8-byte frame a [`Ticker`] sends: protocol version 1, message kind `0x0007`, then zeros.
pub const TICK_FRAME: [u8; 8] = [1, 0x00, 0x07, 0, 0, 0, 0, 0];

/// A load generator: every `period` it sends [`TICK_FRAME`] on its next link (round robin)
/// and counts what it receives. It has no events and refuses nothing, so a run measures the
/// kernel itself: the benchmarks and the 100 000-node tests use it.
#[derive(Clone, Debug)]
pub struct Ticker {
    next: Instant,
    period: Duration,
    links: Vec<LinkId>,
    turn: usize,
    out: Option<Transmit>,
    received: u64,
}

impl Ticker {
    /// A ticker whose first tick is at `first` and then every `period`.
    pub fn new(first: Instant, period: Duration) -> Self {
        Ticker {
            next: first,
            period,
            links: Vec::new(),
            turn: 0,
            out: None,
            received: 0,
        }
    }

    /// Frames received so far.
    pub fn received(&self) -> u64 {
        self.received
    }
}

impl Engine for Ticker {
    type Event = ();
    type Error = &'static str;

    fn handle_message(
        &mut self,
        _now: Now,
        _from: LinkId,
        _payload: Bytes,
    ) -> Result<(), Self::Error> {
        self.received += 1;
        Ok(())
    }

    fn handle_timeout(&mut self, now: Now) {
        if now.mono < self.next {
            return;
        }
        self.next = now.mono + self.period;
        if !self.links.is_empty() {
            let link = self.links[self.turn % self.links.len()];
            self.turn += 1;
            self.out = Some(Transmit {
                link,
                payload: Bytes::from_static(&TICK_FRAME),
            });
        }
    }

    fn handle_link_up(&mut self, _now: Now, link: LinkId) {
        self.links.push(link);
    }

    fn handle_link_down(&mut self, _now: Now, link: LinkId) {
        self.links.retain(|&l| l != link);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.take()
    }

    fn poll_event(&mut self) -> Option<()> {
        None
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Some(self.next)
    }
}
