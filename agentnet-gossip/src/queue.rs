//! Bounded outgoing queues with priority classes, and token buckets for rate limits.
//!
//! Frames wait in four FIFO classes — [`Class::Control`] > [`Class::Publish`] >
//! [`Class::Forward`] > [`Class::Repair`] — and leave highest class first. The total is capped;
//! when full, a new frame evicts the newest frame of the lowest non-empty class below its own,
//! or is itself dropped if nothing lower is queued. Control traffic (mesh upkeep, requests,
//! fraud proofs) therefore survives a flood of forwarding, and repair traffic yields to
//! everything. Every drop is counted and reported by the engine in an
//! [`Event::Overflow`](crate::Event::Overflow).

use std::collections::VecDeque;

use agentnet_core::{Instant, Transmit};

/// Priority class of a queued frame (highest first).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Mesh upkeep, requests, fraud proofs.
    Control = 0,
    /// This node's own new entries.
    Publish = 1,
    /// Relaying others' headers and bodies.
    Forward = 2,
    /// Anti-entropy answers and range pulls.
    Repair = 3,
}

const CLASSES: usize = 4;

/// The outgoing frame queue. See the module docs.
#[derive(Debug)]
pub struct TransmitQueue {
    q: [VecDeque<Transmit>; CLASSES],
    len: usize,
    cap: usize,
    dropped: u64,
    lowest_dropped: Option<Class>,
}

impl TransmitQueue {
    /// A queue holding at most `cap` frames.
    pub fn new(cap: usize) -> Self {
        TransmitQueue {
            q: Default::default(),
            len: 0,
            cap: cap.max(1),
            dropped: 0,
            lowest_dropped: None,
        }
    }

    /// Frames queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queue `t` in `class`; returns false if it (or a lower frame) had to be dropped.
    pub fn push(&mut self, class: Class, t: Transmit) -> bool {
        if self.len < self.cap {
            self.q[class as usize].push_back(t);
            self.len += 1;
            return true;
        }
        let victim = (class as usize + 1..CLASSES)
            .rev()
            .find(|&c| !self.q[c].is_empty());
        match victim {
            Some(c) => {
                self.q[c].pop_back();
                self.q[class as usize].push_back(t);
                self.note_drop(c);
            }
            None => self.note_drop(class as usize),
        }
        false
    }

    fn note_drop(&mut self, c: usize) {
        self.dropped += 1;
        let class = [
            Class::Control,
            Class::Publish,
            Class::Forward,
            Class::Repair,
        ][c];
        self.lowest_dropped = Some(self.lowest_dropped.map_or(class, |d| d.max(class)));
    }

    /// The next frame, highest class first. O(1).
    pub fn pop(&mut self) -> Option<Transmit> {
        if self.len == 0 {
            return None;
        }
        for q in &mut self.q {
            if let Some(t) = q.pop_front() {
                self.len -= 1;
                return Some(t);
            }
        }
        None
    }

    /// Drops since the last call, and the lowest class dropped.
    pub fn take_drops(&mut self) -> Option<(Class, u64)> {
        let c = self.lowest_dropped.take()?;
        let n = core::mem::take(&mut self.dropped);
        Some((c, n))
    }
}

/// A token bucket: `rate` tokens per second up to `burst`, refilled lazily from `now`.
#[derive(Clone, Copy, Debug)]
pub struct Bucket {
    tokens_milli: u64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn full(burst: u32, now: Instant) -> Self {
        Bucket {
            tokens_milli: u64::from(burst) * 1000,
            last: now,
        }
    }

    /// Take one token if available.
    pub fn take(&mut self, now: Instant, rate: u32, burst: u32) -> bool {
        let elapsed_us = now.saturating_duration_since(self.last).as_micros() as u64;
        // rate tokens/s = rate milli-tokens/ms = rate/1000 milli-tokens/µs.
        let refill = elapsed_us.saturating_mul(u64::from(rate)) / 1000;
        let cap = u64::from(burst) * 1000;
        if refill > 0 {
            self.tokens_milli = (self.tokens_milli + refill).min(cap);
            self.last = now;
        }
        if self.tokens_milli >= 1000 {
            self.tokens_milli -= 1000;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentnet_core::LinkId;
    use bytes::Bytes;
    use core::time::Duration;

    fn t(n: u8) -> Transmit {
        Transmit {
            link: LinkId(u64::from(n)),
            payload: Bytes::from(vec![n]),
        }
    }

    #[test]
    fn priority_order_and_overflow_drops_lowest() {
        let mut q = TransmitQueue::new(3);
        assert!(q.push(Class::Repair, t(1)));
        assert!(q.push(Class::Forward, t(2)));
        assert!(q.push(Class::Repair, t(3)));
        // Full: a control frame evicts the newest repair frame.
        assert!(!q.push(Class::Control, t(4)));
        assert_eq!(q.len(), 3);
        // Full again: a repair frame has nothing lower to evict and is dropped itself.
        assert!(!q.push(Class::Repair, t(5)));
        assert_eq!(q.take_drops(), Some((Class::Repair, 2)));
        assert_eq!(q.take_drops(), None);
        let order: Vec<u8> = std::iter::from_fn(|| q.pop())
            .map(|t| t.payload[0])
            .collect();
        assert_eq!(order, vec![4, 2, 1]);
        assert!(q.is_empty());
    }

    #[test]
    fn bucket_refills_at_rate_up_to_burst() {
        let t0 = Instant::ZERO;
        let mut b = Bucket::full(2, t0);
        assert!(b.take(t0, 10, 2));
        assert!(b.take(t0, 10, 2));
        assert!(!b.take(t0, 10, 2));
        // 10 per second: one token per 100 ms.
        assert!(!b.take(t0 + Duration::from_millis(50), 10, 2));
        assert!(b.take(t0 + Duration::from_millis(100), 10, 2));
        // Long idle refills only up to the burst.
        let later = t0 + Duration::from_secs(100);
        assert!(b.take(later, 10, 2));
        assert!(b.take(later, 10, 2));
        assert!(!b.take(later, 10, 2));
    }
}
