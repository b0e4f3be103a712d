//! [`GossipEngine`]: the sans-IO gossip state machine. See the crate docs for the protocol and
//! the drive contract.
//!
//! This file holds the engine's state, getters, commands, input routing and the header check
//! order, timers and output plumbing; each concern behind them has its own module under
//! `engine/`: `own` (this node's entries of every kind), `mesh` (graft, prune, choke), `repair`
//! (lazy announcements, digests, vectors, pulls), `bodies` (fetching, serving, ingesting),
//! `intents` (calls for bids), `states` (provider states) and `admission` (who gets a place
//! when a table is full).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use agentnet_core::descriptor::{self, CapabilityDescriptor, DescriptorError, Topic};
use agentnet_core::hash::Hasher;
use agentnet_core::identity::KeyCache;
use agentnet_core::intent::{IntentAnnouncement, IntentId, ProviderState};
use agentnet_core::semantic::{SemanticEncoder, TaggedSketch};
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
    Candidate, DiscoveryIndex, IndexInsert, InterestProfile, Requirements, announcement_text,
    intent_text,
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

use bodies::Bodies;
use own::OwnEntry;
use policing::Policing;
use repair::Repair;
use states::{OwnState, StateTable};

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
    /// Penalty points and bans ([`Policing`]).
    policing: Policing,
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
    /// Repair windows and wanted-id deadlines ([`Repair`]).
    repair: Repair,
    /// Body cache, upstreams and fetches in flight ([`Bodies`]).
    bodies: Bodies,
    index: DiscoveryIndex,
    interest: InterestProfile,
    /// Which intents of others to pull.
    intent_interest: InterestProfile,
    /// Ids of intents already reported (bounded by `max_seen_intents`).
    intents_seen: Fifo<IntentId, ()>,
    /// The latest live state of providers the index holds (bounded by `max_states`).
    states: StateTable,
    /// This node's own state publications (rate limit, the state waiting for it).
    own_state: OwnState,
    /// When state work is next due (see `state_deadline`), as of the last input.
    next_state: Option<Instant>,
    /// Per-author rate buckets with their last use; `bucket_use` orders them by that use,
    /// so the bucket idle longest is the one forgotten when the table is full.
    author_buckets: BTreeMap<AgentId, (Bucket, Instant)>,
    bucket_use: BTreeSet<(Instant, AgentId)>,
    /// Authors the host vouches for (bounded by `max_standing`).
    standing: BTreeSet<AgentId>,
    /// Author logs admitted so far (orders admissions: larger is newer).
    admissions: u64,
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
            policing: Policing::new(cfg.ban_threshold, cfg.ban_duration),
            topics: BTreeMap::new(),
            topic_names: BTreeMap::new(),
            next_topic_idx: 0,
            own: BTreeMap::new(),
            own_caps: BTreeMap::new(),
            own_bodies: BTreeMap::new(),
            seen: Fifo::new(cfg.seen_capacity),
            history: Fifo::new(cfg.seen_capacity),
            repair: Repair::default(),
            bodies: Bodies::new(cfg.body_cache_bytes, cfg.max_headers),
            index: DiscoveryIndex::new(cfg.index)?,
            interest: InterestProfile::none(),
            intent_interest: InterestProfile::none(),
            intents_seen: Fifo::new(cfg.max_seen_intents),
            states: StateTable::new(cfg.max_states),
            own_state: OwnState::default(),
            next_state: None,
            author_buckets: BTreeMap::new(),
            bucket_use: BTreeSet::new(),
            standing: BTreeSet::new(),
            admissions: 0,
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
    pub fn pending_body_count(&self) -> usize {
        self.bodies.pending().len()
    }

    /// Frames waiting in the outgoing queue.
    pub fn queued_transmit_count(&self) -> usize {
        self.transmits.len()
    }

    /// Penalty points of `link`.
    pub fn penalty(&self, link: LinkId) -> u32 {
        self.policing.points(link)
    }

    /// Frame ids currently remembered for duplicate suppression.
    pub fn seen_count(&self) -> usize {
        self.seen.len()
    }

    /// Approximate bytes held in bodies (cache and own).
    pub fn body_bytes(&self) -> usize {
        self.bodies.cache_bytes()
            + self
                .own_bodies
                .values()
                .map(|(_, b)| b.len())
                .sum::<usize>()
    }

    /// Ranked candidates for `intent` among the fresh descriptors held: hard `requirements`
    /// first, then cosine similarity of `intent` (embedded with this engine's encoder) to each
    /// descriptor's intent, QoS tie-breaks; at most `k`. Live provider states count
    /// ([`DiscoveryIndex::query_with_states`]): a provider whose state says it is not
    /// available is left out while that state lives, and a state's load replaces the load
    /// its descriptor claims ([`Candidate::qos`], [`Candidate::state`]).
    pub fn discover(
        &self,
        now: Now,
        intent: &str,
        requirements: &Requirements,
        k: usize,
    ) -> Vec<Candidate> {
        let q = self.encoder.encode(intent);
        self.index
            .query_with_states(now, &q, requirements, self.cfg.min_similarity, k, |p| {
                self.provider_state(now, p)
            })
    }

    /// Whether this engine's encoder has a real vector for `text` now (always, for an encoder
    /// that computes its own; see [`SemanticEncoder::is_ready`]).
    pub fn embedding_ready(&self, text: &str) -> bool {
        self.encoder.is_ready(text)
    }

    /// Encodes `text` if the encoder has no vector for it yet (so a remote encoder asks for
    /// it: it shows up in [`take_embedding_misses`](Self::take_embedding_misses)); returns
    /// whether it was ready.
    pub fn prepare_embedding(&mut self, text: &str) -> bool {
        if self.encoder.is_ready(text) {
            return true;
        }
        let _ = self.encoder.encode(text);
        false
    }

    /// The texts the encoder had no vector for since the last call (a
    /// [`RemoteEncoder`](agentnet_core::semantic::RemoteEncoder)'s misses), for the host to
    /// embed. Empty for an encoder that computes its own vectors.
    pub fn take_embedding_misses(&mut self) -> Vec<String> {
        self.encoder.take_misses()
    }

    /// The host embedded `texts` (taken from
    /// [`take_embedding_misses`](Self::take_embedding_misses)): `vectors` has one per text, in
    /// order, or is `None` when the host failed (the texts are asked for again the next time
    /// they are encoded). Descriptors indexed while their vector was missing are re-embedded.
    /// Returns how many index entries changed; a vector of the wrong dimension is refused
    /// (that text counts as failed).
    pub fn handle_embedded(&mut self, texts: &[String], vectors: Option<Vec<Vec<f32>>>) -> usize {
        let mut vectors = vectors.map(Vec::into_iter);
        let mut answered = std::collections::BTreeSet::new();
        for t in texts {
            let v = vectors.as_mut().and_then(Iterator::next);
            let ok = v.is_some();
            if self.encoder.answer(t, v).is_ok() && ok {
                answered.insert(t.as_str());
            }
        }
        if answered.is_empty() {
            return 0;
        }
        let encoder = &self.encoder;
        self.index.reembed(|d| {
            let text = intent_text(d);
            answered
                .contains(text.as_str())
                .then(|| encoder.encode(&text))
                .filter(|e| !e.is_zero())
        })
    }

    // =========================================================================================
    // Input
    // =========================================================================================

    fn on_message(&mut self, now: Now, from: LinkId, frame: Bytes) -> Result<(), GossipError> {
        if self.policing.is_banned(now.mono, from) {
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

    /// After every input or command: recompute the deadline. (Overflow is reported by
    /// [`poll_event`](Engine::poll_event), ahead of the queued events.)
    fn after_input(&mut self, now: Now) {
        self.next_state = self.state_deadline(now);
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
        self.states_due(now);
        while let Some(hash) = self.bodies.pop_due(now.mono) {
            self.retry_body(now, hash);
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
        self.repair.link_down(link);
        for ts in self.topics.values_mut() {
            ts.peers.remove(&link);
            ts.leave_mesh(link);
            ts.backoff.remove(&link);
        }
        let stuck: Vec<Hash> = self.bodies.stuck_on(link);
        for h in stuck {
            self.retry_body(now, h);
        }
        self.bodies.forget_requester(link);
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

/// Shuffle with the engine's generator (draws `next_u64() % n`, as the engine always has).
fn shuffle<T>(rng: &mut ChaCha8Rng, v: &mut [T]) {
    agentnet_core::sim::shuffle(v, |n| rng.next_u64() % n);
}

mod admission;
mod bodies;
mod commands;
mod ingest;
mod intents;
mod mesh;
mod own;
mod policing;
mod repair;
mod states;
#[cfg(test)]
mod tests;
mod timers;
