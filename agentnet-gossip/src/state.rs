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

/// One subscribed topic.
#[derive(Debug)]
pub(crate) struct TopicState {
    /// Interned index (used by the seen cache).
    pub idx: u32,
    /// Links that told us they are subscribed.
    pub peers: BTreeSet<LinkId>,
    /// Our mesh for this topic: new headers go to these links, eagerly unless the link
    /// choked the header's author (see `lazy_to`).
    pub mesh: BTreeSet<LinkId>,
    /// Per-author push trees: for each author, the mesh links that asked (with
    /// [`crate::wire::Choke`]) to get only ids of that author's headers. Only authors with a
    /// log here (and this node itself) have an entry, so the map is bounded by
    /// `max_authors_per_topic + 1`; each list is bounded by the mesh.
    pub lazy_to: BTreeMap<AgentId, Vec<LinkId>>,
    /// Links we must not graft before the instant.
    pub backoff: BTreeMap<LinkId, Instant>,
    /// Logs by author.
    pub logs: BTreeMap<AgentId, AuthorLog>,
    /// Authors proven to equivocate in this topic.
    pub equivocators: BTreeSet<AgentId>,
    /// Ids to announce lazily at the next flush, per link (bounded: each accepted header
    /// adds at most `lazy_fanout` ids, and the flush empties it every `lazy_interval`).
    pub lazy: BTreeMap<LinkId, Vec<ShortId>>,
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
            mesh: BTreeSet::new(),
            lazy_to: BTreeMap::new(),
            backoff: BTreeMap::new(),
            logs: BTreeMap::new(),
            equivocators: BTreeSet::new(),
            lazy: BTreeMap::new(),
            wanted: BTreeMap::new(),
            next_sync,
        }
    }

    pub fn header_count(&self) -> usize {
        self.logs.values().map(AuthorLog::len).sum()
    }

    /// Mesh links that get `author`'s headers in full, and those that get only ids.
    pub fn push_targets(
        &self,
        author: &AgentId,
        except: Option<LinkId>,
    ) -> (Vec<LinkId>, Vec<LinkId>) {
        let lazy = self.lazy_to.get(author);
        self.mesh
            .iter()
            .copied()
            .filter(|l| Some(*l) != except)
            .partition(|l| lazy.is_none_or(|v| !v.contains(l)))
    }

    /// Forget `link` as a mesh member (and every per-author choke it sent).
    pub fn leave_mesh(&mut self, link: LinkId) {
        if self.mesh.remove(&link) {
            for v in self.lazy_to.values_mut() {
                v.retain(|l| *l != link);
            }
        }
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
    /// The header's author (meaningful when `topic` is set).
    pub author: AgentId,
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

    /// Keep only the entries for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.map.retain(|k, v| keep(k, v));
        let map = &self.map;
        self.order.retain(|(_, k)| map.contains_key(k));
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
