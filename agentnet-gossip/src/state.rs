//! The engine's internal tables: per-topic mesh and logs, per-link state, the seen cache, the
//! recent-frame history and pending body fetches. All bounded; all ordered maps, so nothing
//! the engine outputs depends on hash-map iteration order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, Hash, Instant, LinkId, Signed};
use bytes::Bytes;

use crate::header::LogHeader;
use crate::log::AuthorLog;
use crate::queue::Bucket;
use crate::wire::ShortId;

/// How a mesh peer is served for one topic (Plumtree's eager/lazy split).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// New headers are sent in full.
    Eager,
    /// Only short ids are announced ([`crate::wire::IHave`]).
    Lazy,
}

/// One subscribed topic.
#[derive(Debug)]
pub(crate) struct TopicState {
    /// Interned index (used by the seen cache).
    pub idx: u32,
    /// Links that told us they are subscribed.
    pub peers: BTreeSet<LinkId>,
    /// Our mesh for this topic and how we push to each member.
    pub mesh: BTreeMap<LinkId, Push>,
    /// Links we must not graft before the instant.
    pub backoff: BTreeMap<LinkId, Instant>,
    /// Logs by author.
    pub logs: BTreeMap<AgentId, AuthorLog>,
    /// Authors proven to equivocate in this topic.
    pub equivocators: BTreeSet<AgentId>,
    /// Ids to announce lazily at the next flush, with the link each came from.
    pub lazy: Vec<(ShortId, Option<LinkId>)>,
    /// Announced ids we do not have yet: announcers, in order.
    pub wanted: BTreeMap<ShortId, Wanted>,
    /// Next anti-entropy round.
    pub next_sync: Instant,
}

/// An id learned from `IHave` that has not arrived.
#[derive(Debug)]
pub(crate) struct Wanted {
    pub deadline: Instant,
    pub announcers: VecDeque<LinkId>,
}

impl TopicState {
    pub fn new(idx: u32, next_sync: Instant) -> Self {
        TopicState {
            idx,
            peers: BTreeSet::new(),
            mesh: BTreeMap::new(),
            backoff: BTreeMap::new(),
            logs: BTreeMap::new(),
            equivocators: BTreeSet::new(),
            lazy: Vec::new(),
            wanted: BTreeMap::new(),
            next_sync,
        }
    }

    pub fn header_count(&self) -> usize {
        self.logs.values().map(AuthorLog::len).sum()
    }

    pub fn eager_peers(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.mesh
            .iter()
            .filter(|(_, p)| **p == Push::Eager)
            .map(|(l, _)| *l)
    }

    pub fn lazy_peers(&self) -> impl Iterator<Item = LinkId> + '_ {
        self.mesh
            .iter()
            .filter(|(_, p)| **p == Push::Lazy)
            .map(|(l, _)| *l)
    }
}

/// Per-link state.
#[derive(Debug)]
pub(crate) struct LinkState {
    /// Topics the peer says it subscribes to (bounded by the engine's topic limit).
    pub topics: BTreeSet<Topic>,
    /// Frames accepted from the link.
    pub bucket: Bucket,
}

/// A frame id remembered for duplicate suppression.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SeenEntry {
    /// Interned topic of the header, if it was one we keep.
    pub topic: Option<u32>,
}

/// A map bounded in count whose entries also expire. Entries are inserted in time order
/// (deadlines never decrease for one map's callers), so both eviction and expiry pop from the
/// front of one queue. Used for duplicate suppression (frame id → [`SeenEntry`]), recent
/// history (short id → frame, for `IWant`) and body upstreams (body hash → where its header
/// came from).
#[derive(Debug)]
pub(crate) struct Fifo<K, V> {
    map: BTreeMap<K, V>,
    order: VecDeque<(Instant, K)>,
    cap: usize,
}

impl<K: Ord + Copy, V> Fifo<K, V> {
    pub fn new(cap: usize) -> Self {
        Fifo {
            map: BTreeMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }

    /// Insert or replace `k`; a new key lives until `expires` or until it is the oldest of
    /// more than `cap` keys.
    pub fn insert(&mut self, k: K, v: V, expires: Instant) {
        if self.map.insert(k, v).is_none() {
            self.order.push_back((expires, k));
        }
        while self.map.len() > self.cap {
            let Some((_, old)) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&old);
        }
    }

    pub fn expire(&mut self, now: Instant) {
        while let Some(&(t, k)) = self.order.front() {
            if t > now {
                break;
            }
            self.order.pop_front();
            self.map.remove(&k);
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
}

/// Who is waiting for a body.
#[derive(Debug)]
pub(crate) struct PendingBody {
    /// The header that announced it (topic, author, kind, expected hash).
    pub header: Signed<LogHeader>,
    /// True if this node wants it for itself.
    pub own: bool,
    /// Links whose forwarded requests wait on it.
    pub requesters: Vec<LinkId>,
    /// Links to try, in order (the first is being tried now).
    pub candidates: VecDeque<LinkId>,
    /// Links already tried.
    pub tried: Vec<LinkId>,
    /// When to give up on the current candidate.
    pub deadline: Instant,
    /// Hops to put on forwarded requests.
    pub hops: u8,
}

/// Bodies kept to serve requests, bounded in total bytes; oldest evicted first.
#[derive(Debug)]
pub(crate) struct BodyCache {
    map: BTreeMap<Hash, Bytes>,
    order: VecDeque<Hash>,
    bytes: usize,
    cap: usize,
}

impl BodyCache {
    pub fn new(cap: usize) -> Self {
        BodyCache {
            map: BTreeMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            cap,
        }
    }

    pub fn insert(&mut self, hash: Hash, body: Bytes) {
        if body.len() > self.cap || self.map.contains_key(&hash) {
            return;
        }
        self.bytes += body.len();
        self.map.insert(hash, body);
        self.order.push_back(hash);
        while self.bytes > self.cap {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if let Some(b) = self.map.remove(&old) {
                self.bytes -= b.len();
            }
        }
    }

    pub fn get(&self, hash: &Hash) -> Option<&Bytes> {
        self.map.get(hash)
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }
}
