//! [`GossipEngine`]: the sans-IO gossip state machine. See the crate docs for the protocol and
//! the drive contract.
//!
//! This file holds the engine's state, getters, commands, input routing and the header check
//! order, timers and output plumbing; each concern behind them has its own module under
//! `engine/`: `own` (this node's entries), `mesh` (graft, prune, choke), `repair` (lazy
//! announcements, digests, vectors, pulls), `bodies` (fetching, serving, ingesting) and
//! `admission` (who gets a place when a table is full).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use agentnet_core::descriptor::{self, CapabilityDescriptor, DescriptorError, Topic};
use agentnet_core::hash::Hasher;
use agentnet_core::identity::KeyCache;
use agentnet_core::semantic::{SemanticEncoder, Sketch};
use agentnet_core::wire::PROTOCOL_VERSION;
use agentnet_core::{
    AgentId, BoundedQueue, ConfigError, Engine, Hash, Instant, LinkId, Now, Signed, Signer,
    Transmit, WallTime,
};
use bytes::Bytes;
use core::fmt;
use core::time::Duration;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

use crate::config::GossipConfig;
use crate::discover::{
    Candidate, DiscoveryIndex, IndexInsert, InterestProfile, Requirements, intent_text,
};
use crate::events::{CommandError, Event, GossipError, OwnHead};
use crate::fraud::{Equivocation, EquivocationProof};
use crate::header::{EntryKind, HeaderError, LogHeader};
use crate::log::{AuthorLog, Insert};
use crate::queue::{Bucket, Class};
use crate::state::{
    Admission, BodyCache, Fifo, LinkState, PendingBody, SeenEntry, TopicState, Wanted,
};
use crate::wire::{self, Message, ShortId};

/// Most announced-but-missing ids tracked across topics.
const MAX_WANTED: usize = 4096;
/// Most announcers remembered per missing id.
const MAX_ANNOUNCERS: usize = 4;
/// Most topics remembered per link from its `Subscribe` messages.
const MAX_LINK_TOPICS: usize = 1024;
/// Most banned links remembered.
const MAX_BANS: usize = 4096;
/// How long an accepted header stays available for `IWant`.
const HISTORY_TTL: Duration = Duration::from_secs(30);
/// Most `Pull`s or pushes started by one `Vector`.
const MAX_REPAIRS_PER_VECTOR: usize = 64;
/// Most log summaries in one `Vector` answering a `Digest` (whole buckets only; about 60 bytes
/// each): the answer to a small unsolicited digest stays a few KiB, not `max_items` summaries.
const MAX_VECTOR_LOGS: usize = 4 * MAX_REPAIRS_PER_VECTOR;
/// After this node asks a link for repairs (`IWant`, `Pull`) or answers its `Digest` with a
/// `Vector` (the peer then pushes what we lack), copies from that link may be answers rather than eager pushes: such duplicates do
/// not choke the link (a choke would cut an eager path that is working).
const REPAIR_WINDOW: Duration = Duration::from_secs(2);
/// Deadline of entries that leave a [`Fifo`] only by count.
const NEVER: Instant = Instant::from_micros(u64::MAX);

/// Counters for experiments and monitoring. Monotone; never reset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GossipStats {
    /// Header frames received (including duplicates).
    pub headers_received: u64,
    /// Headers accepted as new.
    pub headers_accepted: u64,
    /// Header frames recognised as duplicates before any decoding.
    pub duplicates: u64,
    /// Frames refused with an error.
    pub refused: u64,
    /// Headers dropped because a memory cap was reached.
    pub dropped_full: u64,
    /// Authors without standing evicted from a full topic to admit a newcomer.
    pub evicted_unproven: u64,
    /// Body fetches for unproven authors given up to make room in a full pending-body table.
    pub fetches_evicted: u64,
    /// Headers of unproven authors dropped unverified because the node-wide verification
    /// budget (`verify_rate`) was spent.
    pub unverified_busy: u64,
    /// Single entries of authors without standing (or an author's own oldest entry)
    /// evicted to keep the total header cap.
    pub evicted_headers: u64,
    /// Bodies this node asked for on its own behalf.
    pub bodies_requested: u64,
    /// Bodies this node received for itself, checked and ingested.
    pub bodies_fetched: u64,
    /// Bodies sent to other nodes.
    pub bodies_served: u64,
    /// Equivocations learned (locally detected or from proofs).
    pub equivocations: u64,
    /// `Digest`s ignored because the same link sent one for the same topic less than half an
    /// anti-entropy period before.
    pub digests_throttled: u64,
}

#[derive(Debug)]
struct OwnLog {
    seq: u64,
    head: Option<Hash>,
    /// Entries signed but waiting for the host to persist their head.
    waiting: BTreeMap<u64, (Signed<LogHeader>, Bytes, Bytes)>,
}

#[derive(Debug)]
struct OwnCapability {
    template: CapabilityDescriptor,
    refresh_at: WallTime,
}

/// The gossip engine. See the [crate docs](crate).
pub struct GossipEngine {
    cfg: GossipConfig,
    signer: Box<dyn Signer + Send>,
    me: AgentId,
    encoder: Box<dyn SemanticEncoder + Send>,
    rng: ChaCha8Rng,
    keys: KeyCache,
    links: BTreeMap<LinkId, LinkState>,
    points: BTreeMap<LinkId, u32>,
    bans: BTreeMap<LinkId, Instant>,
    topics: BTreeMap<Topic, TopicState>,
    topic_names: BTreeMap<u32, Topic>,
    next_topic_idx: u32,
    own: BTreeMap<Topic, OwnLog>,
    own_caps: BTreeMap<String, OwnCapability>,
    own_bodies: BTreeMap<Hash, (WallTime, Bytes)>,
    /// Frame ids already handled (duplicate suppression before decoding).
    seen: Fifo<Hash, SeenEntry>,
    /// Recently accepted header frames by short id, to answer `IWant`.
    history: Fifo<ShortId, (u32, AgentId, Bytes)>,
    /// Links asked for repairs recently, until when (see [`REPAIR_WINDOW`]). At most one
    /// entry per link.
    repairing: BTreeMap<LinkId, Instant>,
    bodies: BodyCache,
    /// Body hash → (topic idx, author, seq, link the header came from): where to forward a
    /// body request. Bounded by `max_headers`; entries never expire by time.
    upstream: Fifo<Hash, (u32, AgentId, u64, Option<LinkId>)>,
    pending: BTreeMap<Hash, PendingBody>,
    body_deadlines: BTreeSet<(Instant, Hash)>,
    wanted_deadlines: BTreeSet<(Instant, u32, ShortId)>,
    wanted_total: usize,
    index: DiscoveryIndex,
    interest: InterestProfile,
    /// Per-author rate buckets with their last use; `bucket_use` orders them by that use,
    /// so the bucket idle longest is the one forgotten when the table is full.
    author_buckets: BTreeMap<AgentId, (Bucket, Instant)>,
    bucket_use: BTreeSet<(Instant, AgentId)>,
    /// Authors the host vouches for (bounded by `max_standing`).
    standing: BTreeSet<AgentId>,
    /// Author logs admitted so far (orders admissions: larger is newer).
    admissions: u64,
    /// Body fetches started so far (orders them: larger is newer).
    fetches: u64,
    /// Node-wide budget for verifying unproven authors' headers.
    verify_budget: Bucket,
    headers_total: usize,
    transmits: BoundedQueue<Transmit>,
    events: BoundedQueue<Event>,
    next_heartbeat: Instant,
    next_lazy: Option<Instant>,
    next_timeout: Option<Instant>,
    stats: GossipStats,
}

impl fmt::Debug for GossipEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GossipEngine")
            .field("me", &self.me)
            .field("topics", &self.topics.keys().collect::<Vec<_>>())
            .field("links", &self.links.len())
            .field("headers", &self.headers_total)
            .field("index", &self.index.len())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl GossipEngine {
    /// A new engine at `now` signing with `signer` and embedding intents with `encoder`.
    ///
    /// Refuses a config with a field outside its documented range
    /// ([`GossipConfig::validate`]).
    pub fn new(
        config: GossipConfig,
        signer: Box<dyn Signer + Send>,
        encoder: Box<dyn SemanticEncoder + Send>,
        now: Now,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        let cfg = config;
        let mut rng = ChaCha8Rng::from_seed(cfg.seed);
        let first_beat = now.mono + jitter(&mut rng, cfg.heartbeat);
        let me = signer.agent_id();
        let mut e = GossipEngine {
            me,
            signer,
            encoder,
            rng,
            keys: KeyCache::new(cfg.key_cache),
            links: BTreeMap::new(),
            points: BTreeMap::new(),
            bans: BTreeMap::new(),
            topics: BTreeMap::new(),
            topic_names: BTreeMap::new(),
            next_topic_idx: 0,
            own: BTreeMap::new(),
            own_caps: BTreeMap::new(),
            own_bodies: BTreeMap::new(),
            seen: Fifo::new(cfg.seen_capacity),
            history: Fifo::new(cfg.seen_capacity),
            repairing: BTreeMap::new(),
            bodies: BodyCache::new(cfg.body_cache_bytes),
            upstream: Fifo::new(cfg.max_headers),
            pending: BTreeMap::new(),
            body_deadlines: BTreeSet::new(),
            wanted_deadlines: BTreeSet::new(),
            wanted_total: 0,
            index: DiscoveryIndex::new(cfg.index)?,
            interest: InterestProfile::none(),
            author_buckets: BTreeMap::new(),
            bucket_use: BTreeSet::new(),
            standing: BTreeSet::new(),
            admissions: 0,
            fetches: 0,
            verify_budget: Bucket::full(cfg.verify_burst, now.mono),
            headers_total: 0,
            transmits: BoundedQueue::new("transmits", cfg.max_queued_transmits),
            events: BoundedQueue::new("events", cfg.max_queued_events),
            next_heartbeat: first_beat,
            next_lazy: None,
            next_timeout: Some(first_beat),
            stats: GossipStats::default(),
            cfg,
        };
        e.recompute_timeout();
        Ok(e)
    }

    // =========================================================================================
    // Getters
    // =========================================================================================

    /// This node's identity.
    pub fn id(&self) -> AgentId {
        self.me
    }

    /// The configuration in force (normalised).
    pub fn config(&self) -> &GossipConfig {
        &self.cfg
    }

    /// Counters.
    pub fn stats(&self) -> GossipStats {
        self.stats
    }

    /// Subscribed topics.
    pub fn topics(&self) -> impl Iterator<Item = &Topic> {
        self.topics.keys()
    }

    /// Mesh peers of `topic`.
    pub fn mesh(&self, topic: &Topic) -> Vec<LinkId> {
        self.topics
            .get(topic)
            .map(|t| t.mesh.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The mesh links that get `author`'s headers in `topic` as full frames (the rest of the
    /// mesh choked that author and gets ids only).
    pub fn eager_for(&self, topic: &Topic, author: &AgentId) -> Vec<LinkId> {
        self.topics
            .get(topic)
            .map(|t| t.push_targets(author, None).0)
            .unwrap_or_default()
    }

    /// Headers held across all topics.
    pub fn header_count(&self) -> usize {
        self.headers_total
    }

    /// Author logs held in `topic` (this node's own included).
    pub fn author_count(&self, topic: &Topic) -> usize {
        self.topics.get(topic).map_or(0, |t| t.logs.len())
    }

    /// True if `author` has standing in `topic` at `now`: it is this node, the host vouches
    /// for it ([`set_standing`](Self::set_standing)), or its log has been held in the topic
    /// for at least [`GossipConfig::standing_age`]. Authors with standing are never evicted
    /// to admit others (see the crate docs, "Memory and queues").
    pub fn has_standing(&self, now: Now, topic: &Topic, author: &AgentId) -> bool {
        *author == self.me
            || self.standing.contains(author)
            || self
                .topics
                .get(topic)
                .and_then(|t| t.admitted.get(author))
                .is_some_and(|a| self.aged(now, a.at))
    }

    fn aged(&self, now: Now, admitted_at: Instant) -> bool {
        now.mono.saturating_duration_since(admitted_at) >= self.cfg.standing_age
    }

    /// The highest seq known for `author` in `topic` (0 if none).
    pub fn head_seq(&self, topic: &Topic, author: &AgentId) -> u64 {
        if *author == self.me
            && let Some(o) = self.own.get(topic)
        {
            return o.seq;
        }
        self.topics
            .get(topic)
            .and_then(|t| t.logs.get(author))
            .map_or(0, AuthorLog::head_seq)
    }

    /// The header at (`topic`, `author`, `seq`), if held.
    pub fn header(&self, topic: &Topic, author: &AgentId, seq: u64) -> Option<&Signed<LogHeader>> {
        self.topics.get(topic)?.logs.get(author)?.get(seq)
    }

    /// True if `author` is proven to have equivocated in `topic`.
    pub fn is_equivocator(&self, topic: &Topic, author: &AgentId) -> bool {
        self.topics
            .get(topic)
            .is_some_and(|t| t.equivocators.contains(author))
    }

    /// The discovery index (descriptors whose bodies this node pulled).
    pub fn index(&self) -> &DiscoveryIndex {
        &self.index
    }

    /// Body fetches in flight (own and forwarded).
    pub fn pending_bodies(&self) -> usize {
        self.pending.len()
    }

    /// Frames waiting in the outgoing queue.
    pub fn queued_transmits(&self) -> usize {
        self.transmits.len()
    }

    /// Penalty points of `link`.
    pub fn penalty(&self, link: LinkId) -> u32 {
        self.points.get(&link).copied().unwrap_or(0)
    }

    /// Frame ids currently remembered for duplicate suppression.
    pub fn seen_len(&self) -> usize {
        self.seen.len()
    }

    /// Approximate bytes held in bodies (cache and own).
    pub fn body_bytes(&self) -> usize {
        self.bodies.bytes()
            + self
                .own_bodies
                .values()
                .map(|(_, b)| b.len())
                .sum::<usize>()
    }

    /// Ranked candidates for `intent` among the fresh descriptors held: hard `requirements`
    /// first, then cosine similarity of `intent` (embedded with this engine's encoder) to each
    /// descriptor's intent, QoS tie-breaks; at most `k`.
    pub fn discover(
        &self,
        now: Now,
        intent: &str,
        requirements: &Requirements,
        k: usize,
    ) -> Vec<Candidate> {
        let q = self.encoder.encode(intent);
        self.index
            .query(now, &q, requirements, self.cfg.min_similarity, k)
    }

    // =========================================================================================
    // Commands
    // =========================================================================================

    /// Vouch for `author` (`standing = true`) or stop vouching. The host decides whom: for
    /// example providers with reputation or verified deliveries. Authors with standing are
    /// never evicted from a full topic or the discovery index to admit newcomers, and
    /// are admitted into a full topic ahead of unproven authors. At most
    /// [`GossipConfig::max_standing`] authors; beyond that
    /// [`CommandError::TooManyStanding`] (withdraw some first).
    pub fn set_standing(
        &mut self,
        now: Now,
        author: AgentId,
        standing: bool,
    ) -> Result<(), CommandError> {
        if standing {
            if !self.standing.contains(&author) && self.standing.len() >= self.cfg.max_standing {
                return Err(CommandError::TooManyStanding);
            }
            self.standing.insert(author);
            for ts in self.topics.values_mut() {
                ts.make_proven(&author);
            }
            self.index.set_standing(&author, true);
        } else if self.standing.remove(&author) {
            let age = self.cfg.standing_age;
            let mut any = author == self.me;
            for ts in self.topics.values_mut() {
                let Some(a) = ts.admitted.get(&author) else {
                    continue;
                };
                if author == self.me || now.mono.saturating_duration_since(a.at) >= age {
                    any = true;
                    continue;
                }
                let len = ts.logs.get(&author).map_or(0, AuthorLog::len);
                ts.make_unproven(&author, len);
            }
            self.index.set_standing(&author, any);
        }
        Ok(())
    }

    /// Decide which bodies to pull from now on.
    pub fn set_interest(&mut self, profile: InterestProfile) {
        self.interest = profile;
    }

    /// The interest profile in force.
    pub fn interest(&self) -> &InterestProfile {
        &self.interest
    }

    /// Join `topic`: tell every link and graft mesh peers.
    pub fn subscribe(&mut self, now: Now, topic: Topic) -> Result<(), CommandError> {
        if self.topics.contains_key(&topic) {
            return Ok(());
        }
        if self.topics.len() >= self.cfg.max_topics {
            return Err(CommandError::TooManyTopics);
        }
        // Headers of topics this node did not follow were remembered only to make copies
        // free; one of them may be in this topic, and must be taken when it comes again
        // (from anti-entropy, or a restart's restore).
        self.seen.retain(|_, s| s.topic.is_some());
        let idx = self.next_topic_idx;
        self.next_topic_idx = self.next_topic_idx.wrapping_add(1);
        let sync = now.mono + jitter(&mut self.rng, self.cfg.anti_entropy);
        let mut ts = TopicState::new(idx, sync);
        for (l, st) in &self.links {
            if st.topics.contains(&topic) && !self.is_banned(now, *l) {
                ts.peers.insert(*l);
            }
        }
        self.topic_names.insert(idx, topic.clone());
        self.topics.insert(topic.clone(), ts);
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        let msg = Message::Subscribe(wire::Subscribe {
            join: vec![topic.clone()],
            leave: vec![],
        })
        .encode();
        for l in links {
            self.send(Class::Control, l, msg.clone());
        }
        self.maintain_mesh(now, &topic);
        self.after_input(now);
        Ok(())
    }

    /// Leave `topic`: tell every link, leave the mesh and forget the topic's headers (the own
    /// log's head is kept, so a later re-join continues the sequence).
    pub fn unsubscribe(&mut self, now: Now, topic: &Topic) {
        let Some(ts) = self.topics.remove(topic) else {
            return;
        };
        self.topic_names.remove(&ts.idx);
        self.headers_total -= ts.header_count();
        self.wanted_total -= ts.wanted.len();
        let msg = Message::Subscribe(wire::Subscribe {
            join: vec![],
            leave: vec![topic.clone()],
        })
        .encode();
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for l in links {
            self.send(Class::Control, l, msg.clone());
        }
        let prune = Message::Prune(wire::Prune {
            topic: topic.clone(),
            backoff_ms: self.cfg.prune_backoff.as_millis() as u32,
        })
        .encode();
        for l in &ts.mesh {
            self.send(Class::Control, *l, prune.clone());
        }
        self.after_input(now);
    }

    /// Announce `descriptor` (which must name this node as provider) in its topic, and keep
    /// re-issuing it before it expires until [`withdraw`](Self::withdraw). Subscribes to the
    /// topic if needed. Returns the (topic, seq) of the new log entry; the entry is sent after
    /// the host confirms [`Event::PersistHead`] through
    /// [`handle_persisted`](Self::handle_persisted) (unless
    /// [`GossipConfig::persist_before_publish`] is off).
    pub fn publish(
        &mut self,
        now: Now,
        descriptor: CapabilityDescriptor,
    ) -> Result<(Topic, u64), CommandError> {
        if descriptor.provider != self.me {
            return Err(CommandError::NotOurs(descriptor.provider));
        }
        descriptor.validate(now, &self.cfg.descriptor_rules)?;
        let r = self.publish_descriptor(now, descriptor.clone())?;
        let refresh_at = descriptor.refresh_at(self.cfg.refresh_fraction);
        self.own_caps.insert(
            descriptor.capability.clone(),
            OwnCapability {
                template: descriptor,
                refresh_at,
            },
        );
        self.after_input(now);
        Ok(r)
    }

    /// Stop re-issuing the capability. Receivers drop it when its TTL ends (until then it
    /// can still be found and replayed; [`retract`](Self::retract) ends it at once).
    pub fn withdraw(&mut self, capability: &str) -> bool {
        self.own_caps.remove(capability).is_some()
    }

    /// Withdraw the capability *now*: stop re-issuing it and publish a signed retraction
    /// (a newer version of the descriptor marked
    /// [`retracted`](CapabilityDescriptor::retracted), in a log entry of kind
    /// [`EntryKind::RETRACTION`], with the descriptor's TTL so it outlives every copy of
    /// the old one). Receivers replace the descriptor with it, stop offering the capability
    /// and refuse replays of older versions while it lasts. Returns the log position, or
    /// `None` if this engine does not announce `capability`.
    pub fn retract(
        &mut self,
        now: Now,
        capability: &str,
    ) -> Result<Option<(Topic, u64)>, CommandError> {
        let Some(own) = self.own_caps.remove(capability) else {
            return Ok(None);
        };
        let mut d = own.template;
        d.retracted = true;
        d.issued_at = now.wall;
        let r = self.publish_descriptor(now, d)?;
        self.after_input(now);
        Ok(Some(r))
    }

    /// The host stored the own head (`topic`, `seq`): send every entry up to it.
    pub fn handle_persisted(&mut self, now: Now, topic: &Topic, seq: u64) {
        let Some(o) = self.own.get_mut(topic) else {
            return;
        };
        let rest = o.waiting.split_off(&(seq + 1));
        let ready = core::mem::replace(&mut o.waiting, rest);
        for (_, (h, frame, body)) in ready {
            self.release_own(now, h, frame, body);
        }
        self.after_input(now);
    }

    /// Take back the own log heads persisted before a restart. Call once, right after
    /// [`new`](Self::new) and before anything else. Topics of restored heads are subscribed.
    pub fn restore(
        &mut self,
        now: Now,
        heads: impl IntoIterator<Item = OwnHead>,
    ) -> Result<(), CommandError> {
        for head in heads {
            let h = Signed::<LogHeader>::from_frame_cached(
                &head.header,
                &self.cfg.limits,
                &mut self.keys,
            )
            .map_err(|e| CommandError::Restore(e.to_string()))?;
            if h.author != self.me || h.topic != head.topic || h.seq != head.seq {
                return Err(CommandError::Restore(
                    "record is not this node's header for that topic and seq".into(),
                ));
            }
            let newer = self.own.get(&h.topic).is_none_or(|o| o.seq < h.seq);
            if !newer {
                continue;
            }
            self.own.insert(
                h.topic.clone(),
                OwnLog {
                    seq: h.seq,
                    head: Some(h.hash()),
                    waiting: BTreeMap::new(),
                },
            );
            self.subscribe(now, h.topic.clone())?;
            if h.validate(now, &self.cfg.header_rules).is_ok() {
                let body = head.body.unwrap_or_default();
                self.store_own(now, h, head.header, body);
            }
        }
        self.after_input(now);
        Ok(())
    }

    // =========================================================================================
    // Input
    // =========================================================================================

    fn is_banned(&self, now: Now, link: LinkId) -> bool {
        self.bans.get(&link).is_some_and(|until| now.mono < *until)
    }

    fn link_allows(&mut self, now: Now, link: LinkId) -> bool {
        let (rate, burst) = (self.cfg.link_rate, self.cfg.link_burst);
        let st = self.links.entry(link).or_insert_with(|| LinkState {
            topics: BTreeSet::new(),
            bucket: Bucket::full(burst, now.mono),
            digests: BTreeMap::new(),
        });
        st.bucket.take(now.mono, rate, burst)
    }

    fn on_message(&mut self, now: Now, from: LinkId, frame: Bytes) -> Result<(), GossipError> {
        if self.is_banned(now, from) {
            return Err(GossipError::Banned(from));
        }
        match wire::Message::decode(&frame, &self.cfg.limits) {
            Ok(Message::Header(f)) => self.on_header(now, Some(from), f),
            Ok(m) => {
                if !self.link_allows(now, from) {
                    return Err(GossipError::RateLimited);
                }
                match m {
                    Message::Equivocation(f) => self.on_proof(now, from, f),
                    Message::Subscribe(m) => self.on_subscribe(now, from, m),
                    Message::Graft(m) => self.on_graft(now, from, m),
                    Message::Prune(m) => self.on_prune(now, from, m),
                    Message::IHave(m) => self.on_ihave(now, from, m),
                    Message::IWant(m) => self.on_iwant(from, m),
                    Message::Choke(m) => {
                        self.on_choke(from, m);
                        Ok(())
                    }
                    Message::Digest(m) => self.on_digest(now, from, m),
                    Message::Vector(m) => self.on_vector(now, from, m),
                    Message::Pull(m) => self.on_pull(now, from, m),
                    Message::BodyRequest(m) => self.on_body_request(now, from, m),
                    Message::Body(m) => self.on_body(now, from, m),
                    Message::BodyMissing(m) => {
                        self.on_body_missing(now, from, m.hash);
                        Ok(())
                    }
                    Message::Header(_) => unreachable!("handled above"),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The header path, in the order documented in the crate docs.
    fn on_header(
        &mut self,
        now: Now,
        from: Option<LinkId>,
        frame: Bytes,
    ) -> Result<(), GossipError> {
        self.stats.headers_received += 1;
        // 1. Duplicate: one hash over the received bytes, nothing decoded or verified.
        let id = wire::frame_id(&frame);
        if let Some(&seen) = self.seen.get(&id) {
            self.stats.duplicates += 1;
            if let (Some(l), Some(t)) = (from, seen.topic) {
                self.on_duplicate(now, l, t, seen.author);
            }
            return Ok(());
        }
        // 2-3. Size and version (the kind is known to be a header).
        if frame.len() > self.cfg.limits.max_frame {
            return Err(agentnet_core::wire::WireError::FrameTooLarge {
                len: frame.len(),
                max: self.cfg.limits.max_frame,
            }
            .into());
        }
        if frame.first() != Some(&PROTOCOL_VERSION) {
            return Err(agentnet_core::wire::WireError::UnsupportedVersion {
                found: frame.first().copied().unwrap_or(0),
            }
            .into());
        }
        // Per-link rate limit before the signature: it is the CPU guard.
        if let Some(l) = from
            && !self.link_allows(now, l)
        {
            return Err(GossipError::RateLimited);
        }
        // Before paying for the signature, read (unverified) what the header claims: a
        // header in a topic this node does not follow is not verified at all, and one whose
        // claimed author has no standing draws on the node-wide verification budget. Nothing
        // read here is believed: a claim to be an author with standing is checked by the
        // signature right below, and a forgery costs the link its points.
        let unverified = Signed::<LogHeader>::peek_unverified(&frame, &self.cfg.limits)?;
        let claimed = unverified.claimed();
        if !self.topics.contains_key(&claimed.topic) {
            let seen = SeenEntry {
                topic: None,
                author: claimed.author,
            };
            self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
            return Ok(());
        }
        // The wire's guards (this budget, the per-author rate below) do not apply to what the
        // host restores (`from` = None): those headers were accepted before, and a restart
        // must not lose what it had acknowledged.
        if from.is_some()
            && !self.has_standing(now, &claimed.topic, &claimed.author)
            && !self
                .verify_budget
                .take(now.mono, self.cfg.verify_rate, self.cfg.verify_burst)
        {
            self.stats.unverified_busy += 1;
            return Err(GossipError::Busy);
        }
        // 4. Signature (and author == signer), then the decoded fields.
        let h = unverified.verify_cached(&mut self.keys)?;
        // 5. Skew window, TTL, body size, expiry.
        h.validate(now, &self.cfg.header_rules)?;
        let Some(ts) = self.topics.get(&h.topic) else {
            // Not our topic: remember it so copies cost nothing, keep nothing else.
            let seen = SeenEntry {
                topic: None,
                author: h.author,
            };
            self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
            return Ok(());
        };
        let tidx = ts.idx;
        if ts.equivocators.contains(&h.author) || h.author == self.me {
            // Proven equivocators are not relayed; our own entries come back to us only as
            // echoes of what we sent (a different own header would be someone replaying an
            // old one, which the own log handles).
            let seen = SeenEntry {
                topic: Some(tidx),
                author: h.author,
            };
            self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
            return Ok(());
        }
        // 6. Per-author rate limit (after the signature: the author is now known).
        let (rate, burst) = (self.cfg.author_rate, self.cfg.author_burst);
        let known_author = ts
            .logs
            .get(&h.author)
            .is_some_and(|l| l.get(h.seq).is_some());
        if from.is_some() && !known_author {
            if self.author_buckets.len() >= self.cfg.max_authors_per_topic * 2
                && !self.author_buckets.contains_key(&h.author)
            {
                // Forget the bucket idle longest (not one an attacker can pick by its key).
                if let Some((_, k)) = self.bucket_use.pop_first() {
                    self.author_buckets.remove(&k);
                }
            }
            let (b, used) = self
                .author_buckets
                .entry(h.author)
                .or_insert_with(|| (Bucket::full(burst, now.mono), now.mono));
            self.bucket_use.remove(&(*used, h.author));
            *used = now.mono;
            self.bucket_use.insert((now.mono, h.author));
            if !b.take(now.mono, rate, burst) {
                return Err(GossipError::RateLimited);
            }
        }
        // 7. Seq / prev against the log, with memory caps.
        self.insert_header(now, from, id, frame, h)
    }

    /// A new, valid header from another author: relay, announce, maybe fetch its body.
    fn accept(
        &mut self,
        now: Now,
        from: Option<LinkId>,
        id: Hash,
        frame: Bytes,
        h: Signed<LogHeader>,
        tidx: u32,
    ) {
        self.stats.headers_accepted += 1;
        let short = ShortId::of(&id);
        self.history.insert(
            short,
            (tidx, h.author, frame.clone()),
            now.mono + HISTORY_TTL,
        );
        self.upstream
            .insert(h.body_hash, (tidx, h.author, h.seq, from), NEVER);
        if let Some(ts) = self.topics.get_mut(&h.topic)
            && ts.wanted.remove(&short).is_some()
        {
            self.wanted_total -= 1;
        }
        self.push_header(
            now,
            Class::Forward,
            &h.topic,
            &h.author,
            from,
            short,
            &frame,
        );
        // A retraction is wanted by whoever wants the descriptor it ends, and by any node
        // holding a descriptor of its author (it must learn the capability is gone).
        let wanted = match h.kind {
            EntryKind::DESCRIPTOR => self.interest.wants(&h.topic, h.sketch.as_ref()),
            EntryKind::RETRACTION => {
                self.interest.wants(&h.topic, h.sketch.as_ref())
                    || self.index.holds_provider(&h.author)
            }
            _ => false,
        };
        self.emit(Event::Header {
            author: h.author,
            topic: h.topic.clone(),
            seq: h.seq,
            hash: h.hash(),
            wanted,
        });
        if wanted && !self.have_body(&h.body_hash) && !self.pending.contains_key(&h.body_hash) {
            self.stats.bodies_requested += 1;
            self.start_fetch(now, h, from, true, None);
        }
    }

    /// Send a header along `author`'s push tree: in full to the mesh links that did not choke
    /// the author, as an id (batched, at most `lazy_fanout` links) to those that did.
    #[allow(clippy::too_many_arguments)]
    fn push_header(
        &mut self,
        now: Now,
        class: Class,
        topic: &Topic,
        author: &AgentId,
        from: Option<LinkId>,
        id: ShortId,
        frame: &Bytes,
    ) {
        let Some(ts) = self.topics.get_mut(topic) else {
            return;
        };
        let (eager, mut lazy) = ts.push_targets(author, from);
        shuffle(&mut self.rng, &mut lazy);
        lazy.truncate(self.cfg.lazy_fanout);
        for l in &lazy {
            ts.lazy.entry(*l).or_default().push(id);
        }
        for l in eager {
            self.send(class, l, frame.clone());
        }
        if !lazy.is_empty() {
            self.schedule_lazy(now);
        }
    }

    /// Plumtree, one tree per author: a second copy of `author`'s header from a mesh peer means
    /// that peer's edge is redundant for this author's messages; ask it to send only ids of
    /// them. Every author thus converges on its own tree of first-arrival (lowest-latency)
    /// paths, and no author's choices cut another author's paths. Repeated duplicates repeat
    /// the choke (it may have been lost); duplicates that are likely answers to our repair
    /// requests choke nothing.
    fn on_duplicate(&mut self, now: Now, link: LinkId, tidx: u32, author: AgentId) {
        if self.repairing.get(&link).is_some_and(|u| now.mono < *u) {
            return;
        }
        let Some(topic) = self.topic_names.get(&tidx) else {
            return;
        };
        let Some(ts) = self.topics.get(topic) else {
            return;
        };
        if !ts.mesh.contains(&link) {
            return;
        }
        let m = Message::Choke(wire::Choke {
            topic: topic.clone(),
            author,
        });
        self.send_msg(Class::Control, link, m);
    }

    fn on_equivocation(
        &mut self,
        now: Now,
        from: Option<LinkId>,
        what: Equivocation,
        proof: EquivocationProof,
    ) {
        let cap = self.cfg.max_authors_per_topic;
        let Some(ts) = self.topics.get_mut(&what.topic) else {
            return;
        };
        if !ts.mark_equivocator(what.author, cap) {
            return;
        }
        // The proof is all that is kept of a proven equivocator: its log (never relayed or
        // served again) makes room for others.
        let seqs = ts.seqs(&what.author);
        self.headers_total -= ts.forget(&what.author);
        self.stats.equivocations += 1;
        let frame = proof.to_frame();
        let id = wire::frame_id(&frame);
        let peers: Vec<LinkId> = ts
            .peers
            .iter()
            .copied()
            .filter(|l| Some(*l) != from)
            .collect();
        let tidx = ts.idx;
        let seen = SeenEntry {
            topic: Some(tidx),
            author: what.author,
        };
        self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
        for l in peers {
            self.send(Class::Control, l, frame.clone());
        }
        self.forgotten(what.topic.clone(), what.author, seqs);
        for capability in self.index.remove_provider(&what.author) {
            self.emit(Event::DescriptorForgotten {
                provider: what.author,
                capability,
            });
        }
        self.emit(Event::Equivocation {
            what,
            proof: Box::new(proof),
        });
    }

    fn on_proof(&mut self, now: Now, from: LinkId, frame: Bytes) -> Result<(), GossipError> {
        let id = wire::frame_id(&frame);
        if self.seen.get(&id).is_some() {
            return Ok(());
        }
        // Strict, one signature at a time, no other state: every honest node agrees.
        let (proof, what) = EquivocationProof::from_frame(&frame, &self.cfg.limits)?;
        let seen = SeenEntry {
            topic: None,
            author: what.author,
        };
        self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
        self.on_equivocation(now, Some(from), what, proof);
        Ok(())
    }

    // =========================================================================================
    // Timers
    // =========================================================================================

    fn heartbeat(&mut self, now: Now) {
        let topics: Vec<Topic> = self.topics.keys().cloned().collect();
        for t in &topics {
            self.maintain_mesh(now, t);
            self.anti_entropy(now, t);
        }
        // Soft state: expired headers leave every log, expired descriptors the index.
        let mut headers = 0;
        for ts in self.topics.values_mut() {
            let mut pruned = Vec::new();
            for (a, log) in ts.logs.iter_mut() {
                let n = log.prune(now.wall);
                if n > 0 {
                    headers += n;
                    pruned.push(*a);
                }
            }
            for a in pruned {
                ts.sync_len(&a);
            }
        }
        self.headers_total -= headers;
        let descriptors = self.index.prune(now.wall);
        self.own_bodies.retain(|_, (exp, _)| now.wall < *exp);
        if headers + descriptors > 0 {
            self.emit(Event::Expired {
                headers,
                descriptors,
            });
        }
        self.seen.expire(now.mono);
        self.history.expire(now.mono);
        self.bans.retain(|_, u| now.mono < *u);
        self.repairing.retain(|_, u| now.mono < *u);
        let me = self.me;
        for ts in self.topics.values_mut() {
            let logs = &ts.logs;
            ts.lazy_to
                .retain(|a, v| !v.is_empty() && (*a == me || logs.contains_key(a)));
        }
        self.points.retain(|_, p| {
            *p = p.saturating_sub(1);
            *p > 0
        });
        self.refresh_own(now);
    }

    // =========================================================================================
    // Output plumbing
    // =========================================================================================

    fn send(&mut self, class: Class, link: LinkId, payload: Bytes) {
        self.transmits
            .push_class(Transmit { link, payload }, class.rank());
    }

    fn send_msg(&mut self, class: Class, link: LinkId, m: Message) {
        self.send(class, link, m.encode());
    }

    fn emit(&mut self, e: Event) {
        self.events.push(e);
    }

    fn penalize(&mut self, now: Now, link: LinkId, points: u32) {
        if points == 0 {
            return;
        }
        let p = self.points.entry(link).or_insert(0);
        *p = p.saturating_add(points);
        let p = *p;
        self.emit(Event::LinkPenalized { link, points: p });
        if p >= self.cfg.ban_threshold {
            self.points.remove(&link);
            if self.bans.len() >= MAX_BANS
                && let Some((&k, _)) = self.bans.iter().min_by_key(|(_, u)| **u)
            {
                self.bans.remove(&k);
            }
            self.bans.insert(link, now.mono + self.cfg.ban_duration);
            for ts in self.topics.values_mut() {
                ts.mesh.remove(&link);
                ts.peers.remove(&link);
            }
            self.emit(Event::LinkBanned { link });
        }
    }

    /// After every input or command: recompute the deadline. (Overflow is reported by
    /// [`poll_event`](Engine::poll_event), ahead of the queued events.)
    fn after_input(&mut self, _now: Now) {
        self.recompute_timeout();
    }

    /// Check the admission bookkeeping: `headers_total` is the sum of the log lengths, every
    /// log has an admission record and vice versa, the unproven sets agree with them, and the
    /// per-topic author cap holds. Panics on inconsistency.
    #[cfg(test)]
    pub(crate) fn assert_consistent(&self) {
        let mut total = 0;
        for ts in self.topics.values() {
            total += ts.header_count();
            assert!(ts.logs.len() <= self.cfg.max_authors_per_topic);
            assert!(
                ts.logs.keys().eq(ts.admitted.keys()),
                "admissions and logs differ"
            );
            let mut unproven = 0;
            for (a, adm) in &ts.admitted {
                if let Some(len) = adm.unproven {
                    unproven += 1;
                    assert_eq!(len, ts.logs[a].len(), "filed length of {a:?}");
                    assert!(ts.unproven_by_len.contains(&(len, adm.order, *a)));
                    assert!(ts.unproven_by_link[&adm.by].contains(&(adm.order, *a)));
                    assert!(*a != self.me && !self.standing.contains(a));
                }
            }
            assert_eq!(ts.unproven_by_len.len(), unproven);
            let grouped: usize = ts.unproven_by_link.values().map(BTreeSet::len).sum();
            assert_eq!(grouped, unproven);
            assert!(ts.unproven_by_link.values().all(|g| !g.is_empty()));
            let empty: Vec<_> = ts
                .logs
                .iter()
                .filter(|(_, l)| l.is_empty())
                .map(|(a, _)| a)
                .collect();
            assert!(ts.empty.iter().eq(empty), "empty logs");
        }
        assert_eq!(total, self.headers_total, "headers_total");
        assert_eq!(self.author_buckets.len(), self.bucket_use.len());
    }

    fn recompute_timeout(&mut self) {
        let mut t = self.next_heartbeat;
        if let Some(l) = self.next_lazy {
            t = t.min(l);
        }
        if let Some((d, _)) = self.body_deadlines.first() {
            t = t.min(*d);
        }
        if let Some((d, _, _)) = self.wanted_deadlines.first() {
            t = t.min(*d);
        }
        self.next_timeout = Some(t);
    }
}

impl Engine for GossipEngine {
    type Event = Event;
    type Error = GossipError;

    fn handle_message(
        &mut self,
        now: Now,
        from: LinkId,
        payload: Bytes,
    ) -> Result<(), GossipError> {
        let r = self.on_message(now, from, payload);
        if let Err(e) = &r {
            self.stats.refused += 1;
            let points = match e {
                // Not the relayer's fault: a fork by the author, or an entry outside this
                // node's time window: its TTL ran out in flight (honest relays race with
                // expiry), or its stamp is ahead of this node's clock by more than the skew
                // (the author's clock, or ours, is off; the relay's clock may be right).
                // Punishing the relay for the window would let anyone stamping at the edge
                // of it get honest relays banned by every receiver whose clock lags. The
                // per-link rate limit, checked before the signature, still bounds the cost.
                GossipError::Banned(_)
                | GossipError::PrevConflict { .. }
                | GossipError::Header(HeaderError::Expired | HeaderError::FromTheFuture { .. })
                | GossipError::Descriptor(
                    DescriptorError::Expired { .. } | DescriptorError::FromTheFuture { .. },
                )
                | GossipError::LateBody
                | GossipError::Busy => 0,
                GossipError::RateLimited => 1,
                GossipError::Unexpected(_) => 2,
                _ => 10,
            };
            self.penalize(now, from, points);
        }
        self.after_input(now);
        r
    }

    fn handle_timeout(&mut self, now: Now) {
        self.wanted_due(now);
        while let Some(&(t, hash)) = self.body_deadlines.first() {
            if t > now.mono {
                break;
            }
            self.body_deadlines.pop_first();
            if self.pending.get(&hash).is_some_and(|p| p.deadline == t) {
                self.retry_body(now, hash);
            }
        }
        if self.next_lazy.is_some_and(|t| t <= now.mono) {
            self.next_lazy = None;
            self.flush_lazy();
        }
        if self.next_heartbeat <= now.mono {
            self.next_heartbeat = now.mono + self.cfg.heartbeat;
            self.heartbeat(now);
        }
        self.after_input(now);
    }

    fn handle_link_up(&mut self, now: Now, link: LinkId) {
        let burst = self.cfg.link_burst;
        self.links.entry(link).or_insert_with(|| LinkState {
            topics: BTreeSet::new(),
            bucket: Bucket::full(burst, now.mono),
            digests: BTreeMap::new(),
        });
        if !self.topics.is_empty() {
            let join: Vec<Topic> = self.topics.keys().cloned().collect();
            self.send_msg(
                Class::Control,
                link,
                Message::Subscribe(wire::Subscribe {
                    join,
                    leave: vec![],
                }),
            );
        }
        self.after_input(now);
    }

    fn handle_link_down(&mut self, now: Now, link: LinkId) {
        self.links.remove(&link);
        self.repairing.remove(&link);
        for ts in self.topics.values_mut() {
            ts.peers.remove(&link);
            ts.leave_mesh(link);
            ts.backoff.remove(&link);
        }
        let stuck: Vec<Hash> = self
            .pending
            .iter()
            .filter(|(_, p)| p.tried.last() == Some(&link))
            .map(|(h, _)| *h)
            .collect();
        for h in stuck {
            self.retry_body(now, h);
        }
        for p in self.pending.values_mut() {
            p.requesters.retain(|r| *r != link);
        }
        let topics: Vec<Topic> = self.topics.keys().cloned().collect();
        for t in topics {
            self.maintain_mesh(now, &t);
        }
        self.after_input(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop()
    }

    fn poll_event(&mut self) -> Option<Event> {
        // Drops not yet reported come first, one event per queue; the reports take no queue
        // slot, so they are never lost themselves.
        if let Some(o) = self.transmits.take_overflow() {
            return Some(Event::Overflow(o));
        }
        if let Some(o) = self.events.take_overflow() {
            return Some(Event::Overflow(o));
        }
        self.events.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_timeout
    }
}

fn jitter(rng: &mut ChaCha8Rng, period: Duration) -> Duration {
    let us = period.as_micros().max(1) as u64;
    Duration::from_micros(rng.next_u64() % us)
}

fn shuffle<T>(rng: &mut ChaCha8Rng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
}

mod admission;
mod bodies;
mod mesh;
mod own;
mod repair;
#[cfg(test)]
mod tests;
