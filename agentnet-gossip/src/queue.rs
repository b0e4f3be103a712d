//! Bounded outgoing queues with priority classes, and token buckets for rate limits.
//!
//! Frames wait in the shared [`BoundedQueue`](agentnet_core::BoundedQueue) in four FIFO
//! classes — [`Class::Control`] > [`Class::Publish`] > [`Class::Forward`] > [`Class::Repair`] —
//! and leave highest class first. The total is capped; when full, the oldest frame of the
//! lowest class queued (the new frame included) is dropped: a new frame evicts a frame of a
//! class no higher than its own, and is itself dropped if everything queued outranks it.
//! Control traffic (mesh upkeep, requests, fraud proofs) therefore survives a flood of
//! forwarding, and repair traffic yields to everything. Every drop is counted and reported by
//! the engine in an [`Event::Overflow`](crate::Event::Overflow).

use agentnet_core::Instant;

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

impl Class {
    /// The class number used in the shared [`BoundedQueue`](agentnet_core::BoundedQueue)
    /// (0 is the highest priority).
    pub fn rank(self) -> u8 {
        self as u8
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
    use agentnet_core::{LinkId, Transmit};
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
        let mut q = agentnet_core::BoundedQueue::new("transmits", 3);
        q.push_class(t(1), Class::Repair.rank());
        q.push_class(t(2), Class::Forward.rank());
        q.push_class(t(3), Class::Repair.rank());
        // Full: a control frame evicts the oldest repair frame.
        assert!(q.push_class(t(4), Class::Control.rank()).is_some());
        assert_eq!(q.len(), 3);
        // Full again: a repair frame evicts the remaining (older) repair frame.
        assert!(q.push_class(t(5), Class::Repair.rank()).is_some());
        assert_eq!(q.take_overflow().map(|o| o.dropped), Some(2));
        assert_eq!(q.take_overflow(), None);
        let order: Vec<u8> = std::iter::from_fn(|| q.pop())
            .map(|t| t.payload[0])
            .collect();
        assert_eq!(order, vec![4, 2, 5]);
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
