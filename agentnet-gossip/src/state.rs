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

/// Duplicate suppression: frame ids with a time-to-live, bounded in count. Insertion order is
/// time order, so expiry is a FIFO pop.
#[derive(Debug)]
pub(crate) struct Seen {
    map: BTreeMap<Hash, SeenEntry>,
    order: VecDeque<(Instant, Hash)>,
    cap: usize,
}

impl Seen {
    pub fn new(cap: usize) -> Self {
        Seen {
            map: BTreeMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    pub fn get(&self, id: &Hash) -> Option<SeenEntry> {
        self.map.get(id).copied()
    }

    pub fn insert(&mut self, id: Hash, entry: SeenEntry, expires: Instant) {
        if self.map.insert(id, entry).is_none() {
            self.order.push_back((expires, id));
        }
        while self.map.len() > self.cap {
            match self.order.pop_front() {
                Some((_, old)) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
    }

    pub fn expire(&mut self, now: Instant) {
        while let Some(&(t, id)) = self.order.front() {
            if t > now {
                break;
            }
            self.order.pop_front();
            self.map.remove(&id);
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
}

/// Recently accepted header frames by short id, to answer `IWant`. Bounded in count and age.
#[derive(Debug)]
pub(crate) struct History {
    map: BTreeMap<ShortId, (u32, Bytes)>,
    order: VecDeque<(Instant, ShortId)>,
    cap: usize,
}

impl History {
    pub fn new(cap: usize) -> Self {
        History {
            map: BTreeMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    pub fn insert(&mut self, id: ShortId, topic: u32, frame: Bytes, expires: Instant) {
        if self.map.insert(id, (topic, frame)).is_none() {
            self.order.push_back((expires, id));
        }
        while self.map.len() > self.cap {
            match self.order.pop_front() {
                Some((_, old)) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
    }

    pub fn get(&self, id: &ShortId) -> Option<&(u32, Bytes)> {
        self.map.get(id)
    }

    pub fn expire(&mut self, now: Instant) {
        while let Some(&(t, id)) = self.order.front() {
            if t > now {
                break;
            }
            self.order.pop_front();
            self.map.remove(&id);
        }
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

/// Where a body can be asked for: the link a header with that body hash first came from.
/// Bounded; oldest forgotten first.
#[derive(Debug)]
pub(crate) struct Upstream {
    map: BTreeMap<Hash, (u32, AgentId, u64, Option<LinkId>)>,
    order: VecDeque<Hash>,
    cap: usize,
}

impl Upstream {
    pub fn new(cap: usize) -> Self {
        Upstream {
            map: BTreeMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    /// Remember that the header (topic idx, author, seq) announcing `body` came from `link`.
    pub fn insert(&mut self, body: Hash, entry: (u32, AgentId, u64, Option<LinkId>)) {
        if self.map.insert(body, entry).is_none() {
            self.order.push_back(body);
        }
        while self.map.len() > self.cap {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            self.map.remove(&old);
        }
    }

    pub fn get(&self, body: &Hash) -> Option<(u32, AgentId, u64, Option<LinkId>)> {
        self.map.get(body).copied()
    }
}
