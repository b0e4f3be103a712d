//! # agentnet-gossip
//!
//! The semantic discovery plane of agentnet: how agents learn who can do what, cheaply and
//! without a registry (`DESIGN.md` §4–§5). One sans-IO state machine, [`GossipEngine`], does
//! bodyless gossip over per-author sequential logs, pulls the bodies its owner is interested
//! in, keeps soft state fresh and answers intent queries locally.
//!
//! **What it does.** Each author keeps, per topic, an append-only log of small signed
//! [`LogHeader`]s (author, topic, seq, previous header hash, kind, body hash and length,
//! issued-at, TTL, 32-byte semantic sketch). Headers travel eagerly through a bounded topic mesh;
//! bodies (signed capability descriptors, retractions, requesters' intents, providers' states;
//! see "Entry kinds") never ride along: a node that wants a header's body — by its
//! [`InterestProfile`] matching the header's sketch, or because it describes a provider the
//! node holds — fetches the body by hash. Sequence numbers expose gaps (pulled by
//! range) and forks (turned into a self-verifying [`EquivocationProof`] that is gossiped and
//! reported). Anti-entropy heals partitions and churn. Expired entries vanish; newer descriptors
//! supersede older ones; memory is bounded everywhere. [`GossipEngine::discover`] ranks the
//! fresh descriptors held against an intent.
//!
//! **What it does not do.** No sockets, clocks, threads or OS randomness: time arrives as
//! [`Now`](agentnet_core::Now), randomness from [`GossipConfig::seed`], and every effect leaves
//! as a value. It does not authenticate links (the transport does: a [`LinkId`](agentnet_core::LinkId) is routing only)
//! and does not decide whom to trust: candidates carry self-reported QoS, and trust-aware
//! selection belongs to `agentnet-trust`. Equivocation proofs are handed to the application
//! ([`Event::Equivocation`]) for the trust plane to act on.
//!
//! # Entry kinds
//!
//! Every entry is one position in its author's log in a topic; the header's
//! [`kind`](EntryKind) says what its body is and decides who pulls it:
//!
//! | kind | body | published by | body pulled by |
//! |---|---|---|---|
//! | [`DESCRIPTOR`](EntryKind::DESCRIPTOR) | signed [`CapabilityDescriptor`](agentnet_core::descriptor::CapabilityDescriptor) | [`GossipEngine::publish`], re-issued before it expires | nodes whose interest ([`GossipEngine::set_interest`]) wants the sketch |
//! | [`RETRACTION`](EntryKind::RETRACTION) | the descriptor marked `retracted` | [`GossipEngine::retract`] | the same, and every node holding a descriptor of the author |
//! | [`INTENT`](EntryKind::INTENT) | signed [`IntentAnnouncement`](agentnet_core::intent::IntentAnnouncement) | [`GossipEngine::publish_intent`], never re-issued | nodes whose *intent* interest ([`GossipEngine::set_intent_interest`]) wants the sketch |
//! | [`STATE`](EntryKind::STATE) | signed [`ProviderState`](agentnet_core::intent::ProviderState) | [`GossipEngine::publish_state`], in every topic of the node's capabilities; never re-issued | nodes holding a descriptor of the author |
//!
//! The two interests are separate: a node pulls descriptors to find providers, and intents
//! to find work to bid on, and the two rarely read alike. An intent's sketch is made from its
//! summary and tags ([`discover::announcement_text`]) as a descriptor's is. A pulled intent
//! is checked (signature, requester = entry author, topic, [`validate`](agentnet_core::intent::IntentAnnouncement::validate))
//! and reported once per id ([`Event::Intent`]); a pulled state is checked (provider = entry
//! author, freshness) and kept, one per provider and only for providers in the discovery
//! index ([`Event::ProviderState`], [`GossipEngine::provider_state`]). A body that fails its
//! checks is dropped without penalising the relay, which delivered exactly what the author
//! committed to. Every own entry, of any kind, waits for its head to be persisted (see
//! "Persistence").
//!
//! # Drive loop
//!
//! [`GossipEngine`] implements [`Engine`](agentnet_core::Engine); drive it like every agentnet
//! engine (see [`agentnet_core::engine`] for the full contract): after any input or command,
//! drain transmits and events until both are empty, then read `poll_timeout`.
//!
//! ```text
//! engine = GossipEngine::new(config, signer, encoder, now)?       // ConfigError if out of range
//! engine.restore(now, durable_heads)?            // own log heads saved before a restart
//! engine.subscribe(now, topic)?; engine.set_interest(profile)
//! loop {
//!     input  = frame on a link | timer fired | link up/down | app command (publish, discover)
//!     engine.handle_*(now, input)
//!     loop {                                     // until one pass yields nothing
//!         while let Some(t) = engine.poll_transmit() { send t.payload on t.link }
//!         while let Some(e) = engine.poll_event()    {
//!             Event::PersistHead(h) => { store h durably; engine.handle_persisted(now, &h.topic, h.seq) }
//!             Event::Equivocation { proof, .. } => hand proof to the trust plane,
//!             other => deliver to the application,
//!         }
//!         if neither loop yielded anything { break }
//!     }
//!     arm one timer at engine.poll_timeout()     // absolute deadline, read last
//! }
//! ```
//!
//! `handle_persisted` is an input: it releases the entry to the mesh, so its frames come out of
//! the next pass. A host that needs no such acknowledgement can use
//! [`agentnet_core::engine::drain`] for the inner loop; one that does (the `Node` in
//! `agentnet-transport` writes one durable batch per turn) collects the heads during the drain,
//! writes them, acknowledges them and drains again.
//!
//! ```
//! use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
//! use agentnet_core::semantic::HashedNgramEncoder;
//! use agentnet_core::{Engine, Instant, Keypair, Now, WallTime};
//! use agentnet_gossip::{Event, GossipConfig, GossipEngine};
//!
//! let now = Now::new(Instant::ZERO, WallTime::from_unix_millis(1_800_000_000_000));
//! let key = Keypair::from_seed([7; 32]);
//! let me = key.id();
//! let mut node = GossipEngine::new(
//!     GossipConfig::seeded([7; 32]),
//!     Box::new(key),
//!     Box::new(HashedNgramEncoder::default()),
//!     now,
//! )?;
//! let d = CapabilityDescriptor::builder(me, "image.generate", "creative/image", "generate images from text")
//!     .build(now)?;
//! let (topic, seq) = node.publish(now, d)?;
//! // The head must be durable before the entry leaves the node.
//! let persisted = std::iter::from_fn(|| node.poll_event())
//!     .any(|e| matches!(e, Event::PersistHead(h) if h.seq == seq));
//! assert!(persisted);
//! node.handle_persisted(now, &topic, seq);
//! assert!(std::iter::from_fn(|| node.poll_event()).any(|e| matches!(e, Event::Published { .. })));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Protocol
//!
//! The wire messages and their priority classes are listed in [`wire`]. In short:
//!
//! - **Mesh.** [`Subscribe`](wire::Subscribe) tells every link which topics a node follows. Per
//!   topic the engine keeps a mesh of `mesh_d_lo..=mesh_d_hi` subscribed peers (target
//!   `mesh_d`), grafting ([`Graft`](wire::Graft)) when below the low mark and pruning
//!   ([`Prune`](wire::Prune), with a backoff the peer must respect) when above the high mark, at
//!   every heartbeat and on link changes.
//! - **Eager push, lazy repair: one Plumtree tree per author.** A new header goes in full to
//!   every mesh peer except those that *choked its author*. A node that receives a copy of an
//!   author's header it already has answers [`Choke`](wire::Choke) naming that author, and the
//!   sender then sends only ids of that author's headers over that edge. So each author's first
//!   header floods the mesh (about mesh-degree copies per node) and leaves behind the tree of
//!   first-arrival paths for that author — with stable link latencies, its lowest-latency
//!   tree — and every later header of the author costs about one copy per node at close to
//!   flooding's latency. Trees are per author because a tree shared by all authors is pruned by
//!   each author's duplicates in a different place and ends up thin and slow for all of them.
//!   The state is one short list of choked links per (topic, author) held in the log. Choked
//!   peers get batched 8-byte ids ([`IHave`](wire::IHave), at most `lazy_fanout` of them per
//!   header); a node that sees an id and no copy within `iwant_delay` asks with
//!   [`IWant`](wire::IWant), which also puts it back on that author's tree at the sender (tree
//!   repair after loss or churn). A mesh link that leaves or re-grafts loses its chokes.
//!   Duplicates that arrive while a link is answering our repair requests choke nothing.
//! - **Anti-entropy.** Every `anti_entropy` period, per topic, a random topic peer gets a
//!   [`Digest`](wire::Digest): one 64-bit hash per author bucket over (author, head, lowest held,
//!   count) of the *settled* entries (issued at least `settle` ago; younger ones are still on
//!   their way down the trees, and repairing them would only duplicate them). For buckets that differ the peer answers with its [`Vector`](wire::Vector) of log
//!   summaries; the node then [`Pull`](wire::Pull)s the seqs it lacks and pushes the entries
//!   above the peer's heads. Gaps seen on arrival (a header with seq above the next expected)
//!   are pulled at once from the relayer.
//! - **Body pull.** If the [`InterestProfile`] wants a header (topic and sketch similarity), the
//!   node sends [`BodyRequest`](wire::BodyRequest) to the link the header came from, with a
//!   deadline (`body_timeout`) and fallback to other mesh peers (`body_attempts`); when all of
//!   them fail, the same peers are asked again after a doubling backoff (`body_retries`
//!   rounds), so one lost request on a thin link does not lose the body. A relay that
//!   does not hold the body forwards the request toward the author along the path the header
//!   took (at most `body_hops` times) and passes the [`Body`](wire::Body) back, caching it.
//!   Every body is checked against the header's `body_hash` and length; a descriptor body is
//!   then verified (signature, provider = header author, topic, freshness) before it enters the
//!   [`DiscoveryIndex`]. Relays cache bodies to serve them but do not index them.
//! - **Equivocation.** Two different signed headers at one (author, topic, seq) — seen directly
//!   or completed by pulling the other version when a `prev` link disagrees — become an
//!   [`EquivocationProof`]. The engine reports it once, floods it to its topic peers (control
//!   class), drops the author's log in that topic and its descriptors from its index, and stops
//!   relaying the author in that topic. Proofs are verified strictly, one signature at a time,
//!   with no other state.
//!
//! # Validation order
//!
//! A header frame is checked in this order, and relayed only if it passes everything:
//!
//! 1. **duplicate** — BLAKE3 of the exact received bytes against the seen cache, before any
//!    decoding or verification (`cargo bench -p agentnet-gossip --bench handle_message`
//!    measures it);
//! 2. **size** and 3. **version**;
//! 4. **per-link rate limit** — before the signature, because it is the CPU guard;
//! 5. **claimed topic and author**, decoded but not yet believed: a header in a topic this
//!    node does not follow is dropped unverified, and one whose claimed author has no standing
//!    draws on the node-wide verification budget (`verify_rate`; spent →
//!    [`GossipError::Busy`], not penalised);
//! 6. **signature** (strict Ed25519, author = signer; the fields are believed only after
//!    verifying);
//! 7. **fields and clock skew** ([`HeaderRules`]: future skew window, TTL, body size, expiry);
//! 8. **per-author rate limit** (new positions only);
//! 9. **seq/prev** consistency against the author's log (gap → pull, fork → proof), and
//!    admission within the memory caps (see "Memory and queues").
//!
//! A refused frame returns a typed [`GossipError`]; the relaying link is penalised (10 points
//! for malformed, forged or invalid input, 2 for unexpected messages, 1 for rate-limit drops;
//! points decay by one per heartbeat) and banned for `ban_duration` at `ban_threshold`. Nothing
//! else changes: a refused header is not stored, not remembered as seen, and not relayed.
//! Refusals that are not the relayer's fault cost nothing: a `prev` conflict
//! ([`GossipError::PrevConflict`], the author forked; the engine pulls the evidence instead), an
//! entry whose TTL ran out in flight, and a late body after a retry ([`GossipError::LateBody`]).
//! Repair answers never include entries past their TTL.
//!
//! # Persistence
//!
//! An author's seq must never repeat, also across a restart. [`GossipEngine::publish`] signs the
//! entry and emits [`Event::PersistHead`] with the header frame and body; nothing is sent until
//! the host calls [`GossipEngine::handle_persisted`]. After a restart the host passes the stored
//! heads to [`GossipEngine::restore`], and the log continues from there (the restored head is
//! served to peers that miss it). A node restarted *without* its heads reuses seqs — peers
//! prove that as equivocation; that is the intended consequence.
//! [`GossipConfig::persist_before_publish`] turns the wait off for hosts without storage.
//! `simhost` (feature `simhost`) plays the durable host in simulations.
//!
//! # Memory and queues
//!
//! Every table is bounded by [`GossipConfig`]: headers per author log
//! (`max_entries_per_author`), authors per topic (`max_authors_per_topic`), headers in total
//! (`max_headers`), authors with host-given standing (`max_standing`), topics, the seen cache
//! and recent history (`seen_capacity`, `seen_ttl`), pending body fetches, the body cache
//! (bytes), the discovery index ([`IndexLimits`](discover::IndexLimits)), provider states
//! (`max_states`), intent ids already reported (`max_seen_intents`), and the outgoing and
//! event queues.
//!
//! **Admission under pressure.** Keys are free: anyone can mint thousands of authors and fill a
//! topic's tables before honest authors arrive, so a full table that refused everyone new would
//! hand the topic to whoever filled it first. A full table evicts instead, and chooses whom by
//! what fresh keys cannot buy:
//!
//! - *Standing.* An author has standing in a topic if it is this node, if the host vouches for
//!   it ([`GossipEngine::set_standing`], e.g. providers with reputation or verified
//!   deliveries), or if its log has been held in the topic for `standing_age` (age cannot be
//!   bought with new keys). Authors with standing are never evicted to admit another; the
//!   others are *unproven*.
//! - *Introducer.* Each log remembers the link that delivered its first admitted header — the
//!   relayer, not the author ([`LinkId`](agentnet_core::LinkId) is routing only); none for
//!   restored ones. Unproven authors are grouped by introducer.
//! - *Full topic.* A proven equivocator's log is dropped at once (the proof remains). A new
//!   author takes the place of an author holding no entry (expired or evicted), unproven
//!   first; else of the most recently admitted unproven author of the largest group
//!   ([`GossipStats::evicted_unproven`]) — unless the newcomer's own group is as large: then
//!   the newcomer is refused ([`GossipStats::dropped_full`]). A flooding link thus
//!   competes only with itself once it holds the largest share (a fair share per link without a
//!   fixed quota, as Bitcoin Core evicts inbound peers from the largest network group), while
//!   authors relayed by other links still get in. A newcomer the host vouches for evicts
//!   whatever group it comes from. If every held author has standing, newcomers are refused.
//! - *Header cap.* At `max_headers`, a new position evicts the oldest entry of the unproven
//!   author holding the most entries, in any topic ([`GossipStats::evicted_headers`]); an
//!   unproven author that itself holds as many recycles its own oldest entry, and with no
//!   unproven entry left an author recycles its own oldest (only ever for a newer one). So the
//!   next seq of a held author (an honest refresh) is never dropped for space. Own entries are
//!   always kept.
//! - *Discovery index.* The same standing protects a provider's descriptors
//!   ([`DiscoveryIndex::insert_with_standing`]); a full index evicts an entry of the unproven
//!   provider with the most entries, newest provider first. A long TTL buys no place.
//! - *Pending body fetches.* At `max_pending_bodies`, a fetch for an author with standing, or
//!   one announced by a link with fewer unproven fetches pending than the busiest link, takes
//!   the place of that link's newest unproven fetch ([`GossipStats::fetches_evicted`]; its
//!   requesters are told the body is missing). Announcing bodies nobody serves thus holds only
//!   the announcing link's own share.
//! - *What leaves early is reported.* Headers and descriptors dropped before they expire
//!   ([`Event::HeadersForgotten`], [`Event::DescriptorForgotten`]) are reported so a host's
//!   store stays bounded by the engine's tables.
//!
//! Threat model: an attacker with unlimited keys and some links, but no standing with the host
//! and no control over the links honest authors arrive on. It can churn the newest unproven
//! places and make honest newcomers wait for standing by age, but cannot evict authors with
//! standing, and each link it controls ends up with about an equal share of the unproven
//! places: a newcomer relayed by a link with a smaller share still gets in. More links buy a
//! proportionally larger share. Authors relayed by the attacker's own link (say a node's only
//! link) cannot be told from its Sybils; there only standing protects them. Choosing a victim
//! costs O(links + log authors) per newcomer at a full topic and O(topics + log authors) per
//! new position at the header cap.
//!
//! Outgoing frames wait in four priority classes ([`queue`]): control, then own publish, then
//! forwarding, then repair; overflow evicts the lowest class first and is reported in
//! [`Event::Overflow`].
//! Polling an idle engine is O(1): [`poll_timeout`](agentnet_core::Engine::poll_timeout)
//! returns a deadline computed after the last input.
//!
//! # Soft state
//!
//! Headers and descriptors leave every index when their TTL ends (checked at each heartbeat,
//! reported in [`Event::Expired`]); the head seq and hash of each log survive pruning so order
//! and gap detection keep working. A newer descriptor for the same (provider, capability)
//! replaces the older one. The engine re-issues its own descriptors after `refresh_fraction` of
//! their TTL until [`GossipEngine::withdraw`]; withdrawn descriptors disappear when their TTL
//! ends. [`GossipEngine::retract`] ends one at once: it publishes a signed retraction, a newer
//! version of the descriptor marked `retracted` in an entry of kind [`EntryKind::RETRACTION`]
//! with the descriptor's TTL. Receivers that want the descriptor, or hold any descriptor of its
//! author, pull it; it replaces the descriptor (queries never return it) and, held until its
//! TTL ends, makes a replay of any older version `Older`, so a compromised descriptor cannot
//! be replayed back into service.
//!
//! Intents and provider states are never re-issued by the engine. An intent lives its own TTL
//! (at most 1 h, ending by its deadline). A provider state lives
//! [`GossipConfig::state_ttl`] (default 5 s, at most 60 s); the host publishes a new one when
//! the provider's load or availability changes and at least once per TTL to keep it
//! ([`GossipConfig::state_min_interval`] spaces publications; a state given sooner waits for
//! its turn). Held states leave the table when they lapse (the engine's timer, included in
//! `poll_timeout`, prunes them), when the provider's last descriptor leaves the index, or
//! when it is proven to equivocate; a lapsed state is never returned. So a provider that goes
//! quiet, crashes or is cut off leaves no stale claim behind: its descriptor's own claims
//! speak again. While a state is live, [`GossipEngine::discover`] leaves the provider out if
//! it is not available and reports the state's load instead of the descriptor's.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
pub mod discover;
mod engine;
pub mod events;
pub mod fraud;
pub mod header;
pub mod log;
pub mod queue;
#[cfg(feature = "simhost")]
pub mod simhost;
mod state;
pub mod wire;

pub use config::GossipConfig;
pub use discover::{Candidate, DiscoveryIndex, InterestProfile, Requirements};
pub use engine::{GossipEngine, GossipStats};
pub use events::{CommandError, Event, GossipError, OwnHead};
pub use fraud::{Equivocation, EquivocationProof};
pub use header::{EntryKind, HeaderRules, LogHeader};
pub use log::{AuthorLog, Insert};
