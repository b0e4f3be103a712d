//! [`BoundedQueue`]: the one bounded queue every engine uses for its outputs, with one
//! overflow policy and one overflow report ([`Overflow`]).
//!
//! **Policy.** The capacity is fixed when the queue is built. Items carry a priority class
//! (`0` is the highest; plain [`push`](BoundedQueue::push) uses class 0, so a queue that never
//! names a class is a plain FIFO). [`pop`](BoundedQueue::pop) returns the oldest item of the
//! highest non-empty class — or, for a queue built
//! [`in_arrival_order`](BoundedQueue::in_arrival_order), the oldest item of all (classes then
//! only decide what is dropped, e.g. an event queue that must not reorder events but drops
//! persistence requests last). When a push finds the queue full, **the oldest item of the lowest
//! priority class** (the new item included) is dropped: a new item evicts the oldest item of
//! the lowest class queued if that class is not above its own, and is itself dropped when
//! everything queued outranks it. What stays is always the newest items of the highest
//! classes.
//!
//! **Report.** Every drop is counted. [`take_overflow`](BoundedQueue::take_overflow) returns
//! the drops not yet reported, as one [`Overflow`]; engines call it when their outputs are
//! drained and emit one overflow event carrying it, so a burst of drops becomes one event.

use std::collections::VecDeque;

/// Items dropped from a full [`BoundedQueue`] since the last report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Overflow {
    /// Which queue overflowed (e.g. `"transmits"`, `"events"`).
    pub queue: &'static str,
    /// Items dropped since the previous report of this queue.
    pub dropped: u64,
}

/// A queue of at most a fixed number of items with priority classes; see the module docs.
#[derive(Clone, Debug)]
pub struct BoundedQueue<T> {
    name: &'static str,
    /// One FIFO per class of (arrival number, item); index 0 is the highest priority. Grown
    /// on first use of a class.
    classes: Vec<VecDeque<(u64, T)>>,
    /// Next arrival number.
    next: u64,
    /// Pop the oldest of all rather than the oldest of the highest class.
    arrival_order: bool,
    len: usize,
    cap: usize,
    dropped: u64,
    unreported: u64,
}

impl<T> BoundedQueue<T> {
    /// An empty queue named `name` (reported in [`Overflow::queue`]) holding at most
    /// `capacity` items. A capacity of 0 drops every item.
    pub fn new(name: &'static str, capacity: usize) -> Self {
        BoundedQueue {
            name,
            classes: vec![VecDeque::new()],
            next: 0,
            arrival_order: false,
            len: 0,
            cap: capacity,
            dropped: 0,
            unreported: 0,
        }
    }

    /// The same queue, but [`pop`](Self::pop) returns items in arrival order whatever their
    /// class; classes then only decide which item is dropped when the queue is full.
    #[must_use]
    pub fn in_arrival_order(mut self) -> Self {
        self.arrival_order = true;
        self
    }

    /// The queue's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Items queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Most items held.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Free slots.
    pub fn remaining(&self) -> usize {
        self.cap - self.len
    }

    /// Append `item` in class 0; when full, drop the oldest item. Returns the dropped item,
    /// if any.
    pub fn push(&mut self, item: T) -> Option<T> {
        self.push_class(item, 0)
    }

    /// Append `item` in `class` (0 is the highest priority). When full, drop the oldest item of
    /// the lowest class among those queued and the new one; returns the dropped item, if any.
    pub fn push_class(&mut self, item: T, class: u8) -> Option<T> {
        let c = usize::from(class);
        if self.classes.len() <= c {
            self.classes.resize_with(c + 1, VecDeque::new);
        }
        let n = self.next;
        self.next += 1;
        if self.len < self.cap {
            self.classes[c].push_back((n, item));
            self.len += 1;
            return None;
        }
        self.dropped += 1;
        self.unreported += 1;
        let lowest = self.classes.iter().rposition(|q| !q.is_empty());
        match lowest {
            Some(l) if l >= c => {
                let victim = self.classes[l].pop_front().map(|(_, t)| t);
                self.classes[c].push_back((n, item));
                victim
            }
            _ => Some(item),
        }
    }

    /// The class [`pop`](Self::pop) takes from next.
    fn next_class(&self) -> Option<usize> {
        if self.arrival_order {
            (0..self.classes.len())
                .filter_map(|c| self.classes[c].front().map(|(n, _)| (*n, c)))
                .min()
                .map(|(_, c)| c)
        } else {
            self.classes.iter().position(|q| !q.is_empty())
        }
    }

    /// The oldest item of the highest non-empty class (of all classes, for a queue
    /// [`in_arrival_order`](Self::in_arrival_order)). O(1) when empty, O(classes) otherwise.
    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let c = self.next_class()?;
        let (_, item) = self.classes[c].pop_front()?;
        self.len -= 1;
        Some(item)
    }

    /// The item [`pop`](Self::pop) would return.
    pub fn peek(&self) -> Option<&T> {
        let c = self.next_class()?;
        self.classes[c].front().map(|(_, t)| t)
    }

    /// Every queued item, highest class first and oldest first within a class (not
    /// necessarily the order [`pop`](Self::pop) returns them in).
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.classes.iter().flatten().map(|(_, t)| t)
    }

    /// Keep only the items `keep` accepts (not counted as drops).
    pub fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        for q in &mut self.classes {
            q.retain(|(_, t)| keep(t));
        }
        self.len = self.classes.iter().map(VecDeque::len).sum();
    }

    /// Remove every item (not counted as drops).
    pub fn clear(&mut self) {
        self.classes.iter_mut().for_each(VecDeque::clear);
        self.len = 0;
    }

    /// Items dropped since the queue was built.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The drops not yet reported, if any; they count as reported afterwards.
    pub fn take_overflow(&mut self) -> Option<Overflow> {
        if self.unreported == 0 {
            return None;
        }
        Some(Overflow {
            queue: self.name,
            dropped: core::mem::take(&mut self.unreported),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_push_drops_oldest() {
        let mut q = BoundedQueue::new("q", 2);
        assert_eq!(q.push(1), None);
        assert_eq!(q.push(2), None);
        assert_eq!(q.push(3), Some(1));
        assert_eq!(q.len(), 2);
        assert_eq!(
            q.take_overflow(),
            Some(Overflow {
                queue: "q",
                dropped: 1
            })
        );
        assert_eq!(q.take_overflow(), None);
        assert_eq!(q.pop(), Some(2));
        assert_eq!(q.pop(), Some(3));
        assert_eq!(q.pop(), None);
        assert_eq!(q.dropped(), 1);
    }

    #[test]
    fn classes_pop_highest_first_and_drop_lowest_oldest() {
        let mut q = BoundedQueue::new("q", 3);
        q.push_class(1, 3);
        q.push_class(2, 2);
        q.push_class(3, 3);
        // Full: class 0 evicts the oldest of class 3.
        assert_eq!(q.push_class(4, 0), Some(1));
        // Full: another class-3 item evicts the oldest class-3 item.
        assert_eq!(q.push_class(5, 3), Some(3));
        // Full: nothing queued is below class 2 except 5 (class 3).
        assert_eq!(q.push_class(6, 2), Some(5));
        // Full of classes 0 and 2: a class-3 item is dropped itself.
        assert_eq!(q.push_class(7, 3), Some(7));
        assert_eq!(q.take_overflow().map(|o| o.dropped), Some(4));
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), vec![4, 2, 6]);
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![4, 2, 6]);
    }

    #[test]
    fn arrival_order_pops_oldest_and_drops_by_class() {
        let mut q = BoundedQueue::new("q", 3).in_arrival_order();
        q.push_class(1, 1);
        q.push_class(2, 0);
        q.push_class(3, 1);
        // Full: the oldest class-1 item goes, the order of the rest is kept.
        assert_eq!(q.push_class(4, 0), Some(1));
        assert_eq!(q.peek(), Some(&2));
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, vec![2, 3, 4]);
    }

    #[test]
    fn zero_capacity_drops_everything() {
        let mut q = BoundedQueue::new("q", 0);
        assert_eq!(q.push(1), Some(1));
        assert!(q.is_empty());
        assert_eq!(q.take_overflow().map(|o| o.dropped), Some(1));
    }

    proptest! {
        #[test]
        fn bounded_counted_and_keeps_newest_of_highest(
            cap in 0usize..8,
            arrival in any::<bool>(),
            ops in proptest::collection::vec(proptest::option::of(0u8..4), 0..64),
        ) {
            let mut q = BoundedQueue::new("p", cap);
            if arrival {
                q = q.in_arrival_order();
            }
            let (mut pushes, mut pops) = (0u64, 0u64);
            // Model: (class, seq) of every item still queued.
            let mut model: Vec<(u8, u64)> = Vec::new();
            for (seq, op) in ops.into_iter().enumerate() {
                let seq = seq as u64;
                match op {
                    Some(class) => {
                        pushes += 1;
                        q.push_class((class, seq), class);
                        model.push((class, seq));
                        if model.len() > cap {
                            // Keep the newest of the highest classes.
                            model.sort_by_key(|&(c, s)| (c, core::cmp::Reverse(s)));
                            model.truncate(cap);
                        }
                    }
                    None => {
                        let got = q.pop();
                        if arrival {
                            model.sort_by_key(|&(_, s)| s);
                        } else {
                            model.sort_by_key(|&(c, s)| (c, s));
                        }
                        let want = if model.is_empty() { None } else { Some(model.remove(0)) };
                        prop_assert_eq!(got, want);
                        if got.is_some() {
                            pops += 1;
                        }
                    }
                }
                prop_assert!(q.len() <= cap);
                prop_assert_eq!(q.dropped(), pushes - pops - q.len() as u64);
                let mut kept: Vec<_> = q.iter().copied().collect();
                kept.sort_unstable();
                let mut m = model.clone();
                m.sort_unstable();
                prop_assert_eq!(kept, m);
            }
        }
    }
}
