//! Intent discovery over the descriptors a node holds, and the interest filter for body pull.
//!
//! # What is here
//!
//! - [`DiscoveryIndex`]: the fresh [`CapabilityDescriptor`]s this node holds, one per
//!   (provider, capability), each with the intent [`Embedding`] the engine computed for it when
//!   it arrived. Insertion applies supersession ([`compare_versions`]): a newer version replaces
//!   the held one, an older one or a byte-identical copy is refused. Memory is bounded by
//!   [`IndexLimits`] (a total cap and a per-provider cap); when the index is full, a newcomer
//!   evicts an entry of an *unproven* provider (one without standing), the provider holding
//!   the most entries first, the most recently admitted among equals — see
//!   [`DiscoveryIndex::insert_with_standing`]. Expired entries are dropped by
//!   [`DiscoveryIndex::prune`], which walks an expiry-ordered set and so costs nothing when
//!   nothing expired.
//! - [`DiscoveryIndex::query`]: the requester's side. Hard [`Requirements`] filter first
//!   (topic, price, privacy, jurisdiction, retention, side effects, I/O modes, claimed QoS);
//!   the survivors are ranked by cosine similarity between the query embedding and each entry's
//!   intent embedding, ties broken by claimed success rate (higher first), then claimed latency
//!   (lower first), then (provider, capability) so the order is total and reproducible.
//! - Provider states ([`DiscoveryIndex::query_with_states`], what
//!   [`GossipEngine::discover`](crate::GossipEngine::discover) uses): a provider whose live
//!   [`ProviderState`] says it is not `available` is left out, and a live state's `load_bp`
//!   replaces the load its descriptor claims in [`Candidate::qos`] (a state is minutes
//!   fresher than a descriptor). A state that lapsed says nothing: the candidate is back with
//!   its descriptor's own claims.
//! - [`InterestProfile`]: what a node wants bodies for. Gossip headers carry a 32-byte intent
//!   [`Sketch`](agentnet_core::semantic::Sketch); a node pulls a body when the header's topic
//!   is one it follows and the sketch is close enough to one of its own intent sketches.
//! - [`intent_text`] and [`announcement_text`]: the texts the engine embeds for a descriptor
//!   and for a requester's intent.
//!
//! # What is not here
//!
//! Ranking is semantic similarity plus QoS tie-breaks on the provider's *self-reported*
//! numbers. Nothing here knows whether a provider is honest: trust-aware selection (reputation,
//! canaries, evidence) comes from the trust plane, which re-ranks or filters these candidates.
//! Signature checks, field validation and the skew window are the ingest path's job
//! ([`agentnet_core::descriptor::ingest`]); the index assumes it is handed verified descriptors.
//! Embeddings are compared as they are given: the caller must encode queries and descriptors
//! with the same [`SemanticEncoder`].
//!
//! Like the rest of the crate this module is sans-IO: time arrives as arguments, there is no
//! randomness, and every collection that reaches an output is ordered (`BTreeMap`/`BTreeSet`).

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, QosVector, Topic, compare_versions};
use agentnet_core::intent::{IntentAnnouncement, ProviderState};
use agentnet_core::semantic::{Embedding, SemanticEncoder, TaggedSketch};
use agentnet_core::{AgentId, Now, Signed, WallTime};

/// Clock skew tolerated when judging whether a descriptor is fresh (its `issued_at` may be at
/// most this far ahead of our wall clock). Matches the default
/// [`DescriptorRules::max_skew`](agentnet_core::descriptor::DescriptorRules::max_skew).
pub const FRESHNESS_SKEW: Duration = Duration::from_secs(30);

mod requirements;
pub use requirements::Requirements;

// ---------------------------------------------------------------------------------------------
// Index
// ---------------------------------------------------------------------------------------------

/// One ranked result of [`DiscoveryIndex::query`].
#[derive(Clone, Debug)]
pub struct Candidate {
    /// The descriptor, as signed by its provider.
    pub descriptor: Signed<CapabilityDescriptor>,
    /// Cosine similarity between the query and the descriptor's intent embedding, `[-1, 1]`.
    pub similarity: f32,
    /// The provider's QoS: a copy of `descriptor.qos`, with `load_bp` taken from the
    /// provider's live state when there is one.
    pub qos: QosVector,
    /// The provider's live state at query time, if one is held (see
    /// [`DiscoveryIndex::query_with_states`]).
    pub state: Option<ProviderState>,
}

/// What [`DiscoveryIndex::insert`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexInsert {
    /// Stored under a (provider, capability) not held before.
    New,
    /// Stored, replacing an older version of the same (provider, capability).
    Replaced,
    /// The same signed descriptor is already held; nothing changed.
    Duplicate,
    /// A newer version of the same (provider, capability) is held; refused.
    Older,
    /// Not fresh (expired, or issued further ahead than [`FRESHNESS_SKEW`]); refused.
    Expired,
    /// No room: the provider is at its cap, or the index is at its cap and no held entry may
    /// be evicted for this one (every holder has standing, or the newcomer's provider
    /// already holds as many entries as the largest unproven provider); refused.
    Full,
}

/// Bounds on a [`DiscoveryIndex`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexLimits {
    /// Descriptors held in total, count. Default 10 000; range 1..=100 000 000.
    /// When full, an expired entry makes room first; otherwise a newcomer evicts one entry
    /// of the unproven provider (no standing) holding the most entries, the most recently
    /// admitted among equals, unless its own provider already holds as many; providers with
    /// standing are never evicted. A long TTL buys no place: anyone can sign one, so TTL
    /// only chooses which entry of the chosen provider goes (the one expiring soonest).
    pub max_entries: usize,
    /// Descriptors held per provider, count. Default 32; range 1..=100 000 000. A
    /// provider at its cap cannot add capabilities (it can still refresh held ones).
    pub max_per_provider: usize,
}

impl IndexLimits {
    /// Check both limits against their documented ranges (field names `index.*`, as nested
    /// in [`GossipConfig`](crate::GossipConfig)).
    pub fn validate(&self) -> Result<(), agentnet_core::ConfigError> {
        use agentnet_core::config::check_range;
        check_range(
            "index.max_entries",
            self.max_entries,
            1..=100_000_000,
            "1..=100000000",
        )?;
        check_range(
            "index.max_per_provider",
            self.max_per_provider,
            1..=100_000_000,
            "1..=100000000",
        )
    }
}

impl Default for IndexLimits {
    fn default() -> Self {
        IndexLimits {
            max_entries: 10_000,
            max_per_provider: 32,
        }
    }
}

#[derive(Debug)]
struct Entry {
    descriptor: Signed<CapabilityDescriptor>,
    embedding: Embedding,
}

/// One provider's entries and its standing.
#[derive(Debug)]
struct Provider {
    caps: BTreeMap<String, Entry>,
    /// Whether the provider has standing (it is then never evicted for a newcomer).
    standing: bool,
    /// Admission counter when the provider got its first held entry: larger is newer.
    order: u64,
}

/// The fresh descriptors this node holds, keyed by (provider, capability). Bounded by
/// [`IndexLimits`]; see the module docs.
#[derive(Debug)]
pub struct DiscoveryIndex {
    limits: IndexLimits,
    /// provider → capability → entry.
    entries: BTreeMap<AgentId, Provider>,
    /// (expires_at, provider, capability) of every entry.
    expiry: BTreeSet<(WallTime, AgentId, String)>,
    /// Number of entries.
    len: usize,
    /// Next provider admission number.
    next_order: u64,
    /// What the last insert evicted (one slot: see [`DiscoveryIndex::last_evicted`]).
    last_evicted: Option<(AgentId, String)>,
}

impl DiscoveryIndex {
    /// An empty index with `limits`; refuses limits outside their documented ranges.
    pub fn new(limits: IndexLimits) -> Result<Self, agentnet_core::ConfigError> {
        limits.validate()?;
        Ok(DiscoveryIndex {
            limits,
            entries: BTreeMap::new(),
            expiry: BTreeSet::new(),
            len: 0,
            next_order: 0,
            last_evicted: None,
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> IndexLimits {
        self.limits
    }

    /// Gives entries held with a zero embedding (their encoder had no vector for them yet, as
    /// a [`RemoteEncoder`](agentnet_core::semantic::RemoteEncoder) before the host answers)
    /// the embedding `f` returns for them, where it returns one. Returns how many changed.
    pub fn reembed(
        &mut self,
        mut f: impl FnMut(&CapabilityDescriptor) -> Option<Embedding>,
    ) -> usize {
        let mut changed = 0;
        for e in self.entries.values_mut().flat_map(|p| p.caps.values_mut()) {
            if e.embedding.is_zero()
                && let Some(new) = f(&e.descriptor)
            {
                e.embedding = new;
                changed += 1;
            }
        }
        changed
    }

    /// Offer a verified descriptor from a provider without standing; see
    /// [`insert_with_standing`](Self::insert_with_standing).
    pub fn insert(
        &mut self,
        now: Now,
        d: Signed<CapabilityDescriptor>,
        embedding: Embedding,
    ) -> IndexInsert {
        self.insert_with_standing(now, d, embedding, false)
    }

    /// Offer a verified descriptor. `embedding` is the descriptor's intent vector as the
    /// engine's encoder sees it (the engine computes it once, at insert, usually from
    /// [`intent_text`]). `standing` says whether the host vouches for the provider (the
    /// engine passes its own standing rule: host-marked, or an author whose log it has held
    /// for [`GossipConfig::standing_age`](crate::GossipConfig::standing_age)); it is stored
    /// for the provider and updated by every insert (and by
    /// [`set_standing`](Self::set_standing)).
    ///
    /// Rules, in order: not fresh at `now` → [`IndexInsert::Expired`]; same (provider,
    /// capability) held: same hash → `Duplicate`, incoming older per [`compare_versions`] →
    /// `Older`, newer → `Replaced`. A new key: provider at `max_per_provider` → `Full`. Index
    /// at `max_entries`: an entry expired at `now` makes room; else the victim provider is
    /// the unproven one with the most entries, the most recently admitted among equals (then
    /// the highest id); if the newcomer has standing, or its provider holds fewer entries
    /// than the victim, the victim's entry expiring soonest is evicted (then `New`); else
    /// `Full`. So anyone minting providers only recycles the newest unproven places, never
    /// those of providers with standing, and a provider with many entries loses them first.
    ///
    /// Cost when full: O(providers) to choose the victim.
    pub fn insert_with_standing(
        &mut self,
        now: Now,
        d: Signed<CapabilityDescriptor>,
        embedding: Embedding,
        standing: bool,
    ) -> IndexInsert {
        self.last_evicted = None;
        if !d.is_fresh(now, FRESHNESS_SKEW) {
            return IndexInsert::Expired;
        }
        let provider = d.provider;
        let expires = d.expires_at();
        if let Some(p) = self.entries.get_mut(&provider) {
            p.standing = standing;
            if let Some(held) = p.caps.get_mut(d.capability.as_str()) {
                if held.descriptor.hash() == d.hash() {
                    return IndexInsert::Duplicate;
                }
                if compare_versions(&d, &held.descriptor) != Ordering::Greater {
                    return IndexInsert::Older;
                }
                let old_expires = held.descriptor.expires_at();
                if old_expires != expires {
                    let cap = d.capability.clone();
                    self.expiry.remove(&(old_expires, provider, cap.clone()));
                    self.expiry.insert((expires, provider, cap));
                }
                *held = Entry {
                    descriptor: d,
                    embedding,
                };
                return IndexInsert::Replaced;
            }
        }
        let provider_count = self.entries.get(&provider).map_or(0, |p| p.caps.len());
        if provider_count >= self.limits.max_per_provider {
            return IndexInsert::Full;
        }
        if self.len >= self.limits.max_entries {
            let victim = match self.expiry.first() {
                Some((at, p, c)) if *at <= now.wall => Some((*p, c.clone())),
                _ => self.victim(provider, provider_count, standing),
            };
            let Some((p, c)) = victim else {
                return IndexInsert::Full;
            };
            self.remove(&p, &c);
            self.last_evicted = Some((p, c));
        }
        let cap = d.capability.clone();
        self.expiry.insert((expires, provider, cap.clone()));
        let order = self.next_order;
        let p = self.entries.entry(provider).or_insert_with(|| Provider {
            caps: BTreeMap::new(),
            standing,
            order,
        });
        if p.order == order {
            self.next_order += 1;
        }
        p.caps.insert(
            cap,
            Entry {
                descriptor: d,
                embedding,
            },
        );
        self.len += 1;
        IndexInsert::New
    }

    /// The entry to evict for a newcomer from `provider` (holding `count` entries), if any:
    /// see [`insert_with_standing`](Self::insert_with_standing).
    fn victim(&self, provider: AgentId, count: usize, standing: bool) -> Option<(AgentId, String)> {
        let (id, p) = self
            .entries
            .iter()
            .filter(|(_, p)| !p.standing)
            .max_by_key(|(id, p)| (p.caps.len(), p.order, **id))?;
        if !standing && (*id == provider || count >= p.caps.len()) {
            return None;
        }
        let (cap, _) = p
            .caps
            .iter()
            .min_by_key(|(cap, e)| (e.descriptor.expires_at(), *cap))?;
        Some((*id, cap.clone()))
    }

    /// Record whether `provider` has standing (if it holds entries). The engine calls it
    /// when the host changes a provider's standing.
    pub fn set_standing(&mut self, provider: &AgentId, standing: bool) {
        if let Some(p) = self.entries.get_mut(provider) {
            p.standing = standing;
        }
    }

    /// The held descriptor for (provider, capability), fresh or not (until pruned).
    pub fn get(
        &self,
        provider: &AgentId,
        capability: &str,
    ) -> Option<&Signed<CapabilityDescriptor>> {
        self.entries
            .get(provider)
            .and_then(|p| p.caps.get(capability))
            .map(|e| &e.descriptor)
    }

    /// Whether any descriptor of `provider` is held.
    pub fn holds_provider(&self, provider: &AgentId) -> bool {
        self.entries.contains_key(provider)
    }

    /// What the last [`insert_with_standing`](Self::insert_with_standing) (or
    /// [`insert`](Self::insert)) evicted to make room, if anything: (provider, capability).
    pub fn last_evicted(&self) -> Option<&(AgentId, String)> {
        self.last_evicted.as_ref()
    }

    /// Drop every descriptor of `provider` (used when it equivocates); returns the
    /// capabilities dropped.
    pub fn remove_provider(&mut self, provider: &AgentId) -> Vec<String> {
        let Some(Provider { caps: m, .. }) = self.entries.remove(provider) else {
            return Vec::new();
        };
        for (cap, e) in m.iter() {
            self.expiry
                .remove(&(e.descriptor.expires_at(), *provider, cap.clone()));
        }
        self.len -= m.len();
        m.into_keys().collect()
    }

    /// Drop the descriptor for (provider, capability); true if one was held.
    pub fn remove(&mut self, provider: &AgentId, capability: &str) -> bool {
        let Some(p) = self.entries.get_mut(provider) else {
            return false;
        };
        let Some((cap, e)) = p.caps.remove_entry(capability) else {
            return false;
        };
        if p.caps.is_empty() {
            self.entries.remove(provider);
        }
        self.expiry
            .remove(&(e.descriptor.expires_at(), *provider, cap));
        self.len -= 1;
        true
    }

    /// Drop every entry with `expires_at <= now`; returns how many. Costs
    /// O(expired · log n): nothing is scanned when nothing expired.
    pub fn prune(&mut self, now: WallTime) -> usize {
        let mut n = 0;
        while let Some((at, _, _)) = self.expiry.first() {
            if *at > now {
                break;
            }
            let Some((_, provider, cap)) = self.expiry.pop_first() else {
                break;
            };
            if let Some(p) = self.entries.get_mut(&provider) {
                if p.caps.remove(&cap).is_some() {
                    self.len -= 1;
                    n += 1;
                }
                if p.caps.is_empty() {
                    self.entries.remove(&provider);
                }
            }
        }
        n
    }

    /// Number of descriptors held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True if no descriptor is held.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The earliest `expires_at` among held entries: when [`prune`](Self::prune) next has
    /// work to do.
    pub fn next_expiry(&self) -> Option<WallTime> {
        self.expiry.first().map(|(at, _, _)| *at)
    }

    /// Every held descriptor, ordered by (provider, capability); retractions included (see
    /// [`CapabilityDescriptor::retracted`]: they are never returned by `query`).
    pub fn iter(&self) -> impl Iterator<Item = &Signed<CapabilityDescriptor>> {
        self.entries
            .values()
            .flat_map(|p| p.caps.values())
            .map(|e| &e.descriptor)
    }

    /// Up to `k` held descriptors that are fresh at `now` (with [`FRESHNESS_SKEW`]), admitted
    /// by `req` and at least `min_similarity` similar to `query`, best first: cosine
    /// similarity descending, then claimed `success_bp` descending, then claimed `latency_ms`
    /// ascending, then (provider, capability) ascending.
    ///
    /// Scans every held entry (O(n · dim) plus O(n + k log k) selection).
    pub fn query(
        &self,
        now: Now,
        query: &Embedding,
        req: &Requirements,
        min_similarity: f32,
        k: usize,
    ) -> Vec<Candidate> {
        self.query_with_states(now, query, req, min_similarity, k, |_| None)
    }

    /// [`query`](Self::query), with providers' live states from `state` (provider → its
    /// state, `None` when none is live): a provider whose state says it is not `available`
    /// is left out before the `k` best are chosen, and a state's `load_bp` replaces the
    /// descriptor's claimed load in [`Candidate::qos`]; the state is copied into
    /// [`Candidate::state`]. Ranking is unchanged (load is not a ranking key here). `state`
    /// must return only states that are live at `now`.
    pub fn query_with_states<'s>(
        &self,
        now: Now,
        query: &Embedding,
        req: &Requirements,
        min_similarity: f32,
        k: usize,
        state: impl Fn(&AgentId) -> Option<&'s ProviderState>,
    ) -> Vec<Candidate> {
        if k == 0 {
            return Vec::new();
        }
        let mut hits: Vec<(f32, &Signed<CapabilityDescriptor>)> = self
            .entries
            .iter()
            .filter(|(provider, _)| state(provider).is_none_or(|s| s.available))
            .flat_map(|(_, p)| p.caps.values())
            .filter(|e| {
                !e.descriptor.retracted
                    && e.descriptor.is_fresh(now, FRESHNESS_SKEW)
                    && req.admits(&e.descriptor)
            })
            .filter_map(|e| {
                let s = query.cosine(&e.embedding);
                // `!(s >= min)` also drops NaN.
                (s >= min_similarity).then_some((s, &e.descriptor))
            })
            .collect();
        let order = |a: &(f32, &Signed<CapabilityDescriptor>),
                     b: &(f32, &Signed<CapabilityDescriptor>)| {
            rank(a.0, a.1, b.0, b.1)
        };
        if hits.len() > k {
            hits.select_nth_unstable_by(k - 1, order);
            hits.truncate(k);
        }
        hits.sort_unstable_by(order);
        hits.into_iter()
            .map(|(similarity, d)| {
                let state = state(&d.provider).cloned();
                let mut qos = d.qos;
                if let Some(s) = &state {
                    qos.load_bp = Some(s.load_bp);
                }
                Candidate {
                    descriptor: d.clone(),
                    similarity,
                    qos,
                    state,
                }
            })
            .collect()
    }

    /// Check that every internal structure agrees (entry count, expiry set, no empty provider
    /// maps). Panics on inconsistency.
    #[cfg(test)]
    pub(crate) fn assert_consistent(&self) {
        let mut n = 0;
        for (p, m) in &self.entries {
            let m = &m.caps;
            assert!(!m.is_empty(), "empty provider map for {p:?}");
            assert!(m.len() <= self.limits.max_per_provider);
            for (cap, e) in m {
                assert_eq!(e.descriptor.provider, *p);
                assert_eq!(&e.descriptor.capability, cap);
                assert!(
                    self.expiry
                        .contains(&(e.descriptor.expires_at(), *p, cap.clone())),
                    "missing expiry for {p:?}/{cap}"
                );
                n += 1;
            }
        }
        assert_eq!(n, self.len, "len counter");
        assert_eq!(self.expiry.len(), self.len, "expiry set size");
        assert!(self.len <= self.limits.max_entries);
    }
}

/// Total ranking order: similarity desc, success desc, latency asc, (provider, capability) asc.
/// A claim left out ranks after every stated one (`None` below any success rate, above any
/// latency): not saying never wins a tie.
fn rank(sa: f32, a: &CapabilityDescriptor, sb: f32, b: &CapabilityDescriptor) -> Ordering {
    sb.total_cmp(&sa)
        .then_with(|| b.qos.success_bp.cmp(&a.qos.success_bp))
        .then_with(|| {
            let l = |d: &CapabilityDescriptor| d.qos.latency_ms.unwrap_or(u32::MAX);
            l(a).cmp(&l(b))
        })
        .then_with(|| a.key().cmp(&b.key()))
}

// ---------------------------------------------------------------------------------------------
// Interest
// ---------------------------------------------------------------------------------------------

/// Default [`InterestProfile::threshold`].
pub const DEFAULT_INTEREST_THRESHOLD: f32 = 0.5;

/// What a node wants bodies for: intent sketches compared against a header's sketch.
#[derive(Clone, Debug, PartialEq)]
pub struct InterestProfile {
    /// Topics followed; a header's topic must be within one of them. Empty: any topic.
    pub topics: Vec<Topic>,
    /// Sketches of the intents this node cares about, each with its encoder's tag.
    pub intents: Vec<TaggedSketch>,
    /// Lowest [`Sketch::similarity`](agentnet_core::semantic::Sketch::similarity) (an
    /// estimate of cosine, `[-1, 1]`) with any intent for a header to be wanted. Default 0.5;
    /// meaningful range about 0.2..=0.9 (sketch similarity is within about ±0.1 of the true
    /// cosine).
    pub threshold: f32,
    /// Want every body on the followed topics, sketch or not.
    pub everything: bool,
}

impl Default for InterestProfile {
    /// [`InterestProfile::none`].
    fn default() -> Self {
        Self::none()
    }
}

impl InterestProfile {
    /// Wants nothing.
    pub fn none() -> Self {
        InterestProfile {
            topics: Vec::new(),
            intents: Vec::new(),
            threshold: DEFAULT_INTEREST_THRESHOLD,
            everything: false,
        }
    }

    /// Wants every body (narrow it with [`with_topics`](Self::with_topics)).
    pub fn everything() -> Self {
        InterestProfile {
            everything: true,
            ..Self::none()
        }
    }

    /// Wants headers whose sketch is at least `threshold` similar to the sketch of
    /// `encoder.encode(text)` for one of `texts`. Texts with nothing to encode are skipped.
    pub fn from_texts<E: SemanticEncoder + ?Sized>(
        encoder: &E,
        texts: &[&str],
        threshold: f32,
    ) -> Self {
        let intents = texts
            .iter()
            .map(|t| encoder.encode(t))
            .filter(|e| !e.is_zero())
            .map(|e| TaggedSketch::new(encoder, &e))
            .collect();
        InterestProfile {
            topics: Vec::new(),
            intents,
            threshold,
            everything: false,
        }
    }

    /// Restrict to headers within these topics (empty: any topic).
    #[must_use]
    pub fn with_topics(mut self, topics: Vec<Topic>) -> Self {
        self.topics = topics;
        self
    }

    /// True if a header with this topic and sketch should have its body pulled: the topic is
    /// followed, and either the profile wants everything or the sketch is at least `threshold`
    /// similar to one of the intents. A header without a sketch matches only `everything`.
    ///
    /// A sketch made by an encoder none of the intents share (another model: its
    /// [`TaggedSketch::encoder`] differs) cannot be compared, so it says nothing either way and
    /// the topic alone decides: a profile with intents wants it. Refusing it would split
    /// discovery by model; the body is re-embedded locally on arrival. (Sketches are no
    /// security boundary: an author picks its sketch, and its tag, freely.)
    pub fn wants(&self, topic: &Topic, sketch: Option<&TaggedSketch>) -> bool {
        if !self.topics.is_empty() && !self.topics.iter().any(|t| topic.is_within(t)) {
            return false;
        }
        if self.everything {
            return true;
        }
        let Some(s) = sketch else {
            return false;
        };
        let mut comparable = false;
        for i in &self.intents {
            if let Some(sim) = i.similarity(s) {
                if sim >= self.threshold {
                    return true;
                }
                comparable = true;
            }
        }
        !comparable && !self.intents.is_empty()
    }
}

/// The text the engine embeds for a descriptor: the summary, then the tags, joined by spaces.
pub fn intent_text(d: &CapabilityDescriptor) -> String {
    summary_and_tags(&d.intent.summary, &d.intent.tags)
}

/// The text the engine embeds for a requester's intent (the sketch of its log header, which
/// providers' intent interests match): the summary, then the tags, joined by spaces — the
/// same shape as [`intent_text`], so an intent and a descriptor saying the same thing embed
/// alike.
pub fn announcement_text(i: &IntentAnnouncement) -> String {
    summary_and_tags(&i.summary, &i.tags)
}

fn summary_and_tags(summary: &str, tags: &[String]) -> String {
    let mut s = summary.to_owned();
    for t in tags {
        s.push(' ');
        s.push_str(t);
    }
    s
}

#[cfg(test)]
mod tests;
