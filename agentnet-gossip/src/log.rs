//! One author's log for one topic, as a receiver holds it.
//!
//! [`AuthorLog::insert`] classifies every verified header against what is already known:
//! a duplicate, a new entry (possibly revealing a gap to pull), or a conflict — a second
//! header at a known seq (an [`EquivocationProof`]) or a `prev` link that disagrees with a
//! neighbour we hold (the engine then pulls the referenced header to complete a proof).
//!
//! Memory is bounded: at most `max_entries` headers are kept, the oldest positions dropped
//! first, and expired entries are pruned by [`AuthorLog::prune`]. The head (highest seq and
//! its hash) survives both, so ordering and gap detection keep working after pruning.

use agentnet_core::{Hash, Signed, WallTime};

use crate::fraud::EquivocationProof;
use crate::header::LogHeader;

/// The outcome of offering a verified header to a log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Insert {
    /// Already held (same signed bytes at that seq).
    Duplicate,
    /// Stored. `missing` lists the seq range before it that is still unknown, if any.
    New {
        /// Inclusive range of missing positions below this entry, to be pulled.
        missing: Option<(u64, u64)>,
    },
    /// A different header at a seq already held: the author equivocated.
    Equivocation(Box<EquivocationProof>),
    /// The header's `prev` (or the next entry's `prev`) disagrees with a header we hold at an
    /// adjacent seq: the author wrote two different headers at `seq`, and we hold only one.
    PrevConflict {
        /// The position with two versions.
        seq: u64,
    },
    /// Older than everything retained and not the head: ignored (it was pruned or dropped
    /// for space, and re-learning it would only churn memory).
    Stale,
}

/// A receiver's view of one (author, topic) log.
#[derive(Clone, Debug)]
pub struct AuthorLog {
    /// Held headers in seq order. A sorted vector rather than a tree: logs are short (most
    /// hold a handful of live descriptors; at most `max_entries`), and a tree's fixed-size
    /// nodes cost several KiB per author even for one entry, which dominates memory when a
    /// node follows many authors.
    entries: Vec<Signed<LogHeader>>,
    head_seq: u64,
    head_hash: Option<Hash>,
    max_entries: usize,
    /// Lowest seq that may still be inserted (everything below was pruned or evicted).
    floor: u64,
}

impl AuthorLog {
    /// An empty log keeping at most `max_entries` headers (minimum 1).
    pub fn new(max_entries: usize) -> Self {
        AuthorLog {
            entries: Vec::new(),
            head_seq: 0,
            head_hash: None,
            max_entries: max_entries.max(1),
            floor: 1,
        }
    }

    /// The highest seq ever accepted (0 if none).
    pub fn head_seq(&self) -> u64 {
        self.head_seq
    }

    /// The hash of the head header, if any.
    pub fn head_hash(&self) -> Option<Hash> {
        self.head_hash
    }

    /// The lowest seq held, if any.
    pub fn low(&self) -> Option<u64> {
        self.entries.first().map(|h| h.seq)
    }

    /// The highest seq held, if any (below [`head_seq`](Self::head_seq) once the head is
    /// pruned or when a higher entry was refused for space).
    pub fn high(&self) -> Option<u64> {
        self.entries.last().map(|h| h.seq)
    }

    /// The lowest seq that may still be inserted; everything below was pruned or evicted.
    pub fn floor(&self) -> u64 {
        self.floor
    }

    /// Headers currently held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if no header is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The header at `seq`, if held.
    pub fn get(&self, seq: u64) -> Option<&Signed<LogHeader>> {
        self.position(seq).ok().map(|i| &self.entries[i])
    }

    /// Where `seq` is (`Ok`) or would be inserted (`Err`).
    fn position(&self, seq: u64) -> Result<usize, usize> {
        self.entries.binary_search_by_key(&seq, |h| h.seq)
    }

    /// Held headers with seq in `from..=to`, in order.
    pub fn range(&self, from: u64, to: u64) -> impl Iterator<Item = &Signed<LogHeader>> {
        let start = self.position(from).unwrap_or_else(|i| i);
        self.entries[start..]
            .iter()
            .take_while(move |h| h.seq <= to.max(from))
    }

    /// Offer a header whose signature, author and fields were already checked.
    pub fn insert(&mut self, h: Signed<LogHeader>) -> Insert {
        if let Some(refused) = self.check(&h) {
            return refused;
        }
        let seq = h.seq;
        let missing = self.missing_below(seq);
        if seq > self.head_seq {
            self.head_seq = seq;
            self.head_hash = Some(h.hash());
        }
        let at = self.position(seq).unwrap_or_else(|i| i);
        self.entries.insert(at, h);
        if self.entries.len() > self.max_entries {
            let excess = self.entries.len() - self.max_entries;
            self.floor = self.entries[excess - 1].seq.saturating_add(1);
            self.entries.drain(..excess);
        }
        Insert::New { missing }
    }

    /// What [`insert`](Self::insert) would answer for `h`, without changing anything:
    /// `None` if it would store `h` (`Insert::New`), else the refusal.
    pub fn check(&self, h: &Signed<LogHeader>) -> Option<Insert> {
        let seq = h.seq;
        if let Some(held) = self.get(seq) {
            if held.body() == h.body() {
                return Some(Insert::Duplicate);
            }
            return Some(match EquivocationProof::new(held, h) {
                Ok(p) => Insert::Equivocation(Box::new(p)),
                // Same author, topic and seq with different bytes always conflicts; a log
                // never mixes authors or topics, so this arm is unreachable in practice.
                Err(_) => Insert::Duplicate,
            });
        }
        if seq == self.head_seq && self.head_hash.is_some() {
            // The head was evicted from memory but its hash survives.
            return Some(if Some(h.hash()) == self.head_hash {
                Insert::Duplicate
            } else {
                Insert::PrevConflict { seq }
            });
        }
        if seq < self.floor {
            return Some(Insert::Stale);
        }
        // Validation keeps 1 <= seq <= MAX_SEQ; the checked forms make this code safe on its
        // own (a header at either end of u64 has no neighbour there).
        if let Some(below) = seq.checked_sub(1).and_then(|s| self.get(s))
            && h.prev != Some(below.hash())
        {
            return Some(Insert::PrevConflict { seq: below.seq });
        }
        if let Some(above) = seq.checked_add(1).and_then(|s| self.get(s))
            && above.prev != Some(h.hash())
        {
            return Some(Insert::PrevConflict { seq });
        }
        None
    }

    /// True if storing one more header would not drop an older one for `max_entries`.
    pub fn has_room(&self) -> bool {
        self.entries.len() < self.max_entries
    }

    /// The highest contiguous unknown range just below `seq`, if any.
    fn missing_below(&self, seq: u64) -> Option<(u64, u64)> {
        if seq <= self.floor {
            return None;
        }
        let below = self.position(seq).unwrap_or_else(|i| i);
        let known_below = below
            .checked_sub(1)
            .map_or(self.floor - 1, |i| self.entries[i].seq);
        (known_below.saturating_add(1) < seq).then_some((known_below + 1, seq - 1))
    }

    /// Drop the oldest held entry to make room elsewhere (the engine's total header cap);
    /// returns true if one was held. Like a drop for `max_entries`, its position and every
    /// position below it cannot be inserted again, and the head seq and hash are kept.
    pub fn evict_oldest(&mut self) -> bool {
        if self.entries.is_empty() {
            return false;
        }
        let h = self.entries.remove(0);
        self.floor = self.floor.max(h.seq.saturating_add(1));
        true
    }

    /// Drop entries that expired at `now`; the head seq and hash are kept. Positions at or
    /// below the highest removed entry cannot be inserted again (they expired, or something
    /// older than them did); unknown positions above it stay open for gap repair.
    pub fn prune(&mut self, now: WallTime) -> usize {
        let before = self.entries.len();
        let mut highest_removed = None;
        self.entries.retain(|h| {
            let keep = now < h.expires_at();
            if !keep {
                highest_removed = Some(h.seq);
            }
            keep
        });
        if let Some(r) = highest_removed {
            self.floor = self.floor.max(r.saturating_add(1));
        }
        before - self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{LogHeader, test_header};
    use agentnet_core::Keypair;
    use agentnet_core::wire::Limits;

    struct Author {
        kp: Keypair,
        prev: Option<Hash>,
        seq: u64,
    }

    impl Author {
        fn new(seed: u8) -> Self {
            Author {
                kp: Keypair::from_seed([seed; 32]),
                prev: None,
                seq: 0,
            }
        }

        fn next(&mut self, body: &[u8], ttl_ms: u32) -> Signed<LogHeader> {
            self.seq += 1;
            let h = self.make(self.seq, self.prev, body, ttl_ms);
            self.prev = Some(h.hash());
            h
        }

        fn make(
            &self,
            seq: u64,
            prev: Option<Hash>,
            body: &[u8],
            ttl_ms: u32,
        ) -> Signed<LogHeader> {
            let h = LogHeader {
                issued_at: WallTime::from_unix_millis(1_000),
                ttl_ms,
                sketch: None,
                ..test_header(&self.kp, seq, prev, body)
            };
            Signed::sign(&self.kp, h).unwrap()
        }
    }

    #[test]
    fn in_order_duplicates_and_gaps() {
        let mut a = Author::new(1);
        let mut log = AuthorLog::new(16);
        let h1 = a.next(b"1", 10_000);
        assert_eq!(log.insert(h1.clone()), Insert::New { missing: None });
        assert_eq!(log.insert(h1), Insert::Duplicate);
        let h2 = a.next(b"2", 10_000);
        let h3 = a.next(b"3", 10_000);
        let h4 = a.next(b"4", 10_000);
        assert_eq!(
            log.insert(h4),
            Insert::New {
                missing: Some((2, 3))
            }
        );
        assert_eq!(log.head_seq(), 4);
        assert_eq!(
            log.insert(h3),
            Insert::New {
                missing: Some((2, 2))
            }
        );
        assert_eq!(log.insert(h2), Insert::New { missing: None });
        assert_eq!(log.len(), 4);
    }

    #[test]
    fn equivocation_and_prev_conflicts() {
        let mut a = Author::new(2);
        let mut log = AuthorLog::new(16);
        let h1 = a.next(b"1", 10_000);
        let h2 = a.next(b"2", 10_000);
        log.insert(h1.clone());
        log.insert(h2.clone());
        // A second version of seq 2.
        let fork = a.make(2, Some(h1.hash()), b"2-bis", 10_000);
        match log.insert(fork) {
            Insert::Equivocation(p) => {
                let e = p.verify(&Limits::default()).unwrap();
                assert_eq!((e.author, e.seq), (a.kp.id(), 2));
            }
            other => panic!("expected equivocation, got {other:?}"),
        }
        // A seq-3 header that builds on a different seq-2 reveals a fork we cannot prove yet.
        let other_two = a.make(2, Some(h1.hash()), b"2-ter", 10_000);
        let h3 = a.make(3, Some(other_two.hash()), b"3", 10_000);
        assert_eq!(log.insert(h3), Insert::PrevConflict { seq: 2 });
        assert_eq!(log.head_seq(), 2, "conflicting headers change nothing");
    }

    #[test]
    fn seqs_at_the_ends_of_u64_do_not_overflow() {
        let a = Author::new(4);
        let mut log = AuthorLog::new(4);
        let top = a.make(u64::MAX, Some(Hash([7; 32])), b"top", 10_000);
        assert_eq!(
            top.validate(
                agentnet_core::Now::new(
                    agentnet_core::Instant::ZERO,
                    WallTime::from_unix_millis(1_000)
                ),
                &crate::header::HeaderRules::default()
            ),
            Err(crate::header::HeaderError::SeqTooLarge { seq: u64::MAX })
        );
        // Even past validation the log stays consistent.
        assert_eq!(
            log.insert(top),
            Insert::New {
                missing: Some((1, u64::MAX - 1))
            }
        );
        let below = a.make(u64::MAX - 1, Some(Hash([8; 32])), b"below", 10_000);
        assert_eq!(
            log.insert(below),
            Insert::PrevConflict { seq: u64::MAX - 1 }
        );
        assert_eq!(log.head_seq(), u64::MAX);
    }

    #[test]
    fn bounded_and_pruned_but_head_survives() {
        let mut a = Author::new(3);
        let mut log = AuthorLog::new(4);
        let hs: Vec<_> = (0..10).map(|i| a.next(&[i], 5_000)).collect();
        for h in &hs {
            assert!(matches!(log.insert(h.clone()), Insert::New { .. }));
            assert!(log.len() <= 4);
        }
        assert_eq!(log.insert(hs[0].clone()), Insert::Stale);
        assert_eq!(log.prune(WallTime::from_unix_millis(10_000)), 4);
        assert!(log.is_empty());
        assert_eq!(log.head_seq(), 10);
        assert_eq!(log.insert(hs[9].clone()), Insert::Duplicate);
        // The author's next entry is new, with no gap below it.
        assert_eq!(
            log.insert(a.next(b"11", 5_000)),
            Insert::New { missing: None }
        );
    }
}
