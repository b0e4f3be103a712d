//! The engine's internal tables: per-topic mesh and logs, per-link state, the seen cache, the
//! recent-frame history and pending body fetches. All bounded; all ordered maps, so nothing
//! the engine outputs depends on hash-map iteration order.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

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
    /// How each author in `logs` was admitted (same keys as `logs`).
    pub admitted: BTreeMap<AgentId, Admission>,
    /// Authors without standing, grouped by the link that introduced them (`None`: restored
    /// from the host's store), oldest admission first. Empty groups are removed. See
    /// [`TopicState::victim`].
    pub unproven_by_link: BTreeMap<Option<LinkId>, BTreeSet<(u64, AgentId)>>,
    /// Authors without standing by (headers held, admission order): the last one is the
    /// unproven author holding the most headers, newest first among equals.
    pub unproven_by_len: BTreeSet<(usize, u64, AgentId)>,
    /// Authors in `logs` that hold no entry (expired or evicted): the first to make room.
    pub empty: BTreeSet<AgentId>,
    /// Authors proven to equivocate in this topic, and the order they were proven in
    /// (bounded: see [`TopicState::mark_equivocator`]).
    pub equivocators: BTreeSet<AgentId>,
    pub equivocator_order: VecDeque<AgentId>,
    /// Ids to announce lazily at the next flush, per link (bounded: each accepted header
    /// adds at most `lazy_fanout` ids, and the flush empties it every `lazy_interval`).
    pub lazy: BTreeMap<LinkId, Vec<ShortId>>,
    /// Announced ids we do not have yet: announcers, in order.
    pub wanted: BTreeMap<ShortId, Wanted>,
    /// Next anti-entropy round.
    pub next_sync: Instant,
}

/// How an author's log entered a topic's table.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Admission {
    /// The link that delivered the author's first admitted header (`None`: own or restored).
    pub by: Option<LinkId>,
    /// When the log was admitted (standing by age counts from here).
    pub at: Instant,
    /// Engine-wide admission counter: a larger value is a more recent admission.
    pub order: u64,
    /// `Some(headers held)` while the author is in the unproven sets (the length it is
    /// filed under there); `None` once it has standing.
    pub unproven: Option<usize>,
}

/// An id learned from `IHave` that has not arrived.
#[derive(Debug)]
pub(crate) struct Wanted {
    pub deadline: Instant,
    pub announcers: VecDeque<LinkId>,
}

impl TopicState {
    pub(crate) fn new(idx: u32, next_sync: Instant) -> Self {
        TopicState {
            idx,
            peers: BTreeSet::new(),
            mesh: BTreeSet::new(),
            lazy_to: BTreeMap::new(),
            backoff: BTreeMap::new(),
            logs: BTreeMap::new(),
            admitted: BTreeMap::new(),
            unproven_by_link: BTreeMap::new(),
            unproven_by_len: BTreeSet::new(),
            empty: BTreeSet::new(),
            equivocators: BTreeSet::new(),
            equivocator_order: VecDeque::new(),
            lazy: BTreeMap::new(),
            wanted: BTreeMap::new(),
            next_sync,
        }
    }

    /// Remember `author` as a proven equivocator; false if it already was. At most `cap`
    /// are remembered: free keys can equivocate by the thousand, and each costs the attacker
    /// two signed headers, so the set forgets the one proven longest ago (its log is already
    /// gone; if it comes back, its next conflicting pair proves it again).
    pub(crate) fn mark_equivocator(&mut self, author: AgentId, cap: usize) -> bool {
        if !self.equivocators.insert(author) {
            return false;
        }
        self.equivocator_order.push_back(author);
        while self.equivocator_order.len() > cap.max(1) {
            if let Some(old) = self.equivocator_order.pop_front() {
                self.equivocators.remove(&old);
            }
        }
        true
    }

    pub(crate) fn header_count(&self) -> usize {
        self.logs.values().map(AuthorLog::len).sum()
    }

    /// Hold a new author `log`, admitted as `a`, filed as unproven unless `standing`.
    pub(crate) fn admit(&mut self, author: AgentId, log: AuthorLog, a: Admission, standing: bool) {
        let len = log.len();
        if len == 0 {
            self.empty.insert(author);
        }
        self.logs.insert(author, log);
        self.admitted.insert(
            author,
            Admission {
                unproven: None,
                ..a
            },
        );
        if !standing {
            self.make_unproven(&author, len);
        }
    }

    /// File `author` (admitted) among the unproven with `len` headers, if it is not yet.
    pub(crate) fn make_unproven(&mut self, author: &AgentId, len: usize) {
        let Some(a) = self.admitted.get_mut(author) else {
            return;
        };
        if a.unproven.is_some() {
            return;
        }
        a.unproven = Some(len);
        self.unproven_by_link
            .entry(a.by)
            .or_default()
            .insert((a.order, *author));
        self.unproven_by_len.insert((len, a.order, *author));
    }

    /// Take `author` out of the unproven sets (it gained standing, or leaves).
    pub(crate) fn make_proven(&mut self, author: &AgentId) {
        let Some(a) = self.admitted.get_mut(author) else {
            return;
        };
        let Some(len) = a.unproven.take() else {
            return;
        };
        if let Some(g) = self.unproven_by_link.get_mut(&a.by) {
            g.remove(&(a.order, *author));
            if g.is_empty() {
                self.unproven_by_link.remove(&a.by);
            }
        }
        self.unproven_by_len.remove(&(len, a.order, *author));
    }

    /// Re-file an author under its log's current length (call after every change of the
    /// log's length).
    pub(crate) fn sync_len(&mut self, author: &AgentId) {
        let len = self.logs.get(author).map_or(0, AuthorLog::len);
        if len == 0 {
            self.empty.insert(*author);
        } else {
            self.empty.remove(author);
        }
        let Some(a) = self.admitted.get_mut(author) else {
            return;
        };
        if let Some(old) = a.unproven
            && old != len
        {
            self.unproven_by_len.remove(&(old, a.order, *author));
            self.unproven_by_len.insert((len, a.order, *author));
            a.unproven = Some(len);
        }
    }

    /// Forget `author`'s log and admission; returns the headers it held.
    /// The seqs `author`'s log holds here.
    pub(crate) fn seqs(&self, author: &AgentId) -> Vec<u64> {
        self.logs
            .get(author)
            .map_or_else(Vec::new, |l| l.range(0, u64::MAX).map(|h| h.seq).collect())
    }

    pub(crate) fn forget(&mut self, author: &AgentId) -> usize {
        self.make_proven(author);
        self.admitted.remove(author);
        self.empty.remove(author);
        self.lazy_to.remove(author);
        self.logs.remove(author).map_or(0, |l| l.len())
    }

    /// An author to forget for a newcomer at no cost: one that holds no entry, an unproven
    /// one first.
    pub(crate) fn idle(&self) -> Option<AgentId> {
        self.unproven_by_len
            .first()
            .filter(|(len, _, _)| *len == 0)
            .map(|(_, _, a)| *a)
            .or_else(|| self.empty.first().copied())
    }

    /// Unproven authors admitted at least `age` before `now` have held their log long
    /// enough: they gain standing by age. Admissions are filed in order, so each group is
    /// walked from its oldest member and the walk stops at the first young one.
    pub(crate) fn graduate(&mut self, now: Instant, age: Duration) {
        let mut aged = Vec::new();
        for g in self.unproven_by_link.values() {
            for (_, a) in g {
                match self.admitted.get(a) {
                    Some(adm) if now.saturating_duration_since(adm.at) >= age => aged.push(*a),
                    _ => break,
                }
            }
        }
        for a in aged {
            self.make_proven(&a);
        }
    }

    /// How many unproven authors `link` introduced.
    pub(crate) fn unproven_from(&self, link: Option<LinkId>) -> usize {
        self.unproven_by_link.get(&link).map_or(0, BTreeSet::len)
    }

    /// The author to evict for a newcomer when the table is full: the most recently
    /// admitted unproven author of the largest introducer group (ties between groups go to
    /// the highest link id, deterministic). Returns it with its group's link and size.
    pub(crate) fn victim(&self) -> Option<(AgentId, Option<LinkId>, usize)> {
        let (link, g) = self.unproven_by_link.iter().max_by_key(|(_, g)| g.len())?;
        let (_, a) = g.last()?;
        Some((*a, *link, g.len()))
    }

    /// Mesh links that get `author`'s headers in full, and those that get only ids.
    pub(crate) fn push_targets(
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
    pub(crate) fn leave_mesh(&mut self, link: LinkId) {
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
    /// When the link's last `Digest` for each followed topic was taken up (anti-entropy
    /// throttle; only followed topics, so bounded by the engine's topic limit).
    pub digests: BTreeMap<Topic, Instant>,
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
/// history (short id → frame, for `IWant`), body upstreams (body hash → where its header
/// came from) and the intents already reported (intent id → nothing).
#[derive(Debug)]
pub(crate) struct Fifo<K, V> {
    map: BTreeMap<K, V>,
    order: VecDeque<(Instant, K)>,
    cap: usize,
}

impl<K: Ord + Copy, V> Fifo<K, V> {
    pub(crate) fn new(cap: usize) -> Self {
        Fifo {
            map: BTreeMap::new(),
            order: VecDeque::new(),
            cap,
        }
    }

    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }

    /// Insert or replace `k`; a new key lives until `expires` or until it is the oldest of
    /// more than `cap` keys.
    pub(crate) fn insert(&mut self, k: K, v: V, expires: Instant) {
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

    pub(crate) fn expire(&mut self, now: Instant) {
        while let Some(&(t, k)) = self.order.front() {
            if t > now {
                break;
            }
            self.order.pop_front();
            self.map.remove(&k);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Keep only the entries for which `keep` is true.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
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
    /// Links still to try in this round, in order.
    pub candidates: VecDeque<LinkId>,
    /// Links asked at least once (each once; at most `body_attempts`).
    pub tried: Vec<LinkId>,
    /// Every round asks these links, in this order (the first round's candidates; at most
    /// `body_attempts`).
    pub pool: Vec<LinkId>,
    /// The link being asked now (`None` between rounds).
    pub current: Option<LinkId>,
    /// Rounds started after the first (at most `body_retries`).
    pub retries: u8,
    /// True while waiting out the backoff before the next round.
    pub waiting: bool,
    /// When to give up on the current candidate, or (while `waiting`) when to start the next
    /// round.
    pub deadline: Instant,
    /// Hops to put on forwarded requests.
    pub hops: u8,
    /// The link that announced the header (the fetch's group when the table is full).
    pub first: Option<LinkId>,
    /// Whether the header's author had standing when the fetch started.
    pub standing: bool,
    /// Start order (larger is newer).
    pub order: u64,
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
    pub(crate) fn new(cap: usize) -> Self {
        BodyCache {
            map: BTreeMap::new(),
            order: VecDeque::new(),
            bytes: 0,
            cap,
        }
    }

    pub(crate) fn insert(&mut self, hash: Hash, body: Bytes) {
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

    pub(crate) fn get(&self, hash: &Hash) -> Option<&Bytes> {
        self.map.get(hash)
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}
