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
//! - [`InterestProfile`]: what a node wants bodies for. Gossip headers carry a 32-byte intent
//!   [`Sketch`]; a node pulls a body when the header's topic is one it follows and the sketch is
//!   close enough to one of its own intent sketches.
//! - [`intent_text`]: the text the engine embeds for a descriptor.
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

use agentnet_core::descriptor::{
    CapabilityDescriptor, PrivacyScope, QosVector, Retention, SideEffects, Topic, compare_versions,
};
use agentnet_core::semantic::{Embedding, SemanticEncoder, Sketch};
use agentnet_core::{AgentId, Now, Signed, WallTime};

/// Clock skew tolerated when judging whether a descriptor is fresh (its `issued_at` may be at
/// most this far ahead of our wall clock). Matches the default
/// [`DescriptorRules::max_skew`](agentnet_core::descriptor::DescriptorRules::max_skew).
pub const FRESHNESS_SKEW: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// Requirements
// ---------------------------------------------------------------------------------------------

/// Hard constraints a requester filters on (all optional; the default admits everything).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Requirements {
    /// The descriptor's topic must be this topic or lie under it ([`Topic::is_within`]).
    pub topic: Option<Topic>,
    /// Highest acceptable price per call, micro-units. Free descriptors (no price) always
    /// pass; priced ones pass if `amount_micros <= max`.
    pub max_price_micros: Option<u64>,
    /// If set, a priced descriptor must be priced in this unit (free ones pass).
    pub price_unit: Option<String>,
    /// Weakest acceptable privacy scope: the descriptor's scope must be at least this
    /// (`Public < Confidential < LocalOnly`).
    pub min_privacy: Option<PrivacyScope>,
    /// Allowed jurisdictions (ISO 3166-1 alpha-2). If non-empty, the descriptor must name at
    /// least one jurisdiction and all of them must be in this list; an unspecified
    /// jurisdiction does not pass.
    pub jurisdictions: Vec<String>,
    /// Longest acceptable retention, days. `Retention::None` passes, `Days(d)` passes if
    /// `d <= max`, `Indefinite` fails.
    pub max_retention_days: Option<u16>,
    /// Strongest acceptable side effect (`None < ReadOnly < Reversible < Irreversible`).
    pub max_side_effects: Option<SideEffects>,
    /// A media type the descriptor must accept as input.
    pub input_mode: Option<String>,
    /// A media type the descriptor must produce as output.
    pub output_mode: Option<String>,
    /// Lowest acceptable claimed success rate, basis points.
    pub min_success_bp: Option<u16>,
    /// Highest acceptable claimed latency, milliseconds.
    pub max_latency_ms: Option<u32>,
}

impl Requirements {
    /// True if `d` meets every requirement that is set.
    pub fn admits(&self, d: &CapabilityDescriptor) -> bool {
        let c = &d.constraints;
        if let Some(t) = &self.topic
            && !d.topic.is_within(t)
        {
            return false;
        }
        if let Some(p) = &c.price {
            if let Some(max) = self.max_price_micros
                && p.amount_micros > max
            {
                return false;
            }
            if let Some(unit) = &self.price_unit
                && p.unit != *unit
            {
                return false;
            }
        }
        if let Some(min) = self.min_privacy
            && c.privacy < min
        {
            return false;
        }
        if !self.jurisdictions.is_empty()
            && (c.jurisdictions.is_empty()
                || !c
                    .jurisdictions
                    .iter()
                    .all(|j| self.jurisdictions.contains(j)))
        {
            return false;
        }
        if let Some(max) = self.max_retention_days {
            let ok = match c.retention {
                Retention::None => true,
                Retention::Days(days) => days <= max,
                Retention::Indefinite => false,
            };
            if !ok {
                return false;
            }
        }
        if let Some(max) = self.max_side_effects
            && c.side_effects > max
        {
            return false;
        }
        if let Some(m) = &self.input_mode
            && !d.io.inputs.contains(m)
        {
            return false;
        }
        if let Some(m) = &self.output_mode
            && !d.io.outputs.contains(m)
        {
            return false;
        }
        if let Some(min) = self.min_success_bp
            && d.qos.success_bp < min
        {
            return false;
        }
        if let Some(max) = self.max_latency_ms
            && d.qos.latency_ms > max
        {
            return false;
        }
        true
    }
}

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
    /// The provider's claimed QoS (a copy of `descriptor.qos`).
    pub qos: QosVector,
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
        if k == 0 {
            return Vec::new();
        }
        let mut hits: Vec<(f32, &Signed<CapabilityDescriptor>)> = self
            .entries
            .values()
            .flat_map(|p| p.caps.values())
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
            .map(|(similarity, d)| Candidate {
                descriptor: d.clone(),
                similarity,
                qos: d.qos,
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
fn rank(sa: f32, a: &CapabilityDescriptor, sb: f32, b: &CapabilityDescriptor) -> Ordering {
    sb.total_cmp(&sa)
        .then_with(|| b.qos.success_bp.cmp(&a.qos.success_bp))
        .then_with(|| a.qos.latency_ms.cmp(&b.qos.latency_ms))
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
    /// Sketches of the intents this node cares about.
    pub intents: Vec<Sketch>,
    /// Lowest [`Sketch::similarity`] (an estimate of cosine, `[-1, 1]`) with any intent for a
    /// header to be wanted. Default 0.5; meaningful range about 0.2..=0.9 (sketch similarity
    /// is within about ±0.1 of the true cosine).
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
            .map(|e| e.sketch())
            .collect();
        InterestProfile {
            topics: Vec::new(),
            intents,
            threshold,
            everything: false,
        }
    }

    /// Restrict to headers within these topics (empty: any topic).
    pub fn with_topics(mut self, topics: Vec<Topic>) -> Self {
        self.topics = topics;
        self
    }

    /// True if a header with this topic and sketch should have its body pulled: the topic is
    /// followed, and either the profile wants everything or the sketch is at least `threshold`
    /// similar to one of the intents. A header without a sketch matches only `everything`.
    pub fn wants(&self, topic: &Topic, sketch: Option<&Sketch>) -> bool {
        if !self.topics.is_empty() && !self.topics.iter().any(|t| topic.is_within(t)) {
            return false;
        }
        if self.everything {
            return true;
        }
        let Some(s) = sketch else {
            return false;
        };
        self.intents
            .iter()
            .any(|i| i.similarity(s) >= self.threshold)
    }
}

/// The text the engine embeds for a descriptor: the summary, then the tags, joined by spaces.
pub fn intent_text(d: &CapabilityDescriptor) -> String {
    let mut s = d.intent.summary.clone();
    for t in &d.intent.tags {
        s.push(' ');
        s.push_str(t);
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use agentnet_core::descriptor::{Constraints, Price};
    use agentnet_core::semantic::HashedNgramEncoder;
    use agentnet_core::{Instant, Keypair};

    fn now() -> Now {
        Now::new(Instant::ZERO, WallTime::from_unix_millis(1_800_000_000_000))
    }

    fn kp(n: u8) -> Keypair {
        Keypair::from_seed([n; 32])
    }

    fn desc(k: &Keypair, cap: &str, summary: &str, ttl_s: u64, at: Now) -> CapabilityDescriptor {
        CapabilityDescriptor::builder(k.id(), cap, "topic/x", summary)
            .tags(["tag"])
            .ttl(Duration::from_secs(ttl_s))
            .build(at)
            .unwrap()
    }

    fn signed(k: &Keypair, d: CapabilityDescriptor) -> Signed<CapabilityDescriptor> {
        Signed::sign(k, d).unwrap()
    }

    fn sd(k: &Keypair, cap: &str, ttl_s: u64) -> Signed<CapabilityDescriptor> {
        signed(k, desc(k, cap, "do a thing", ttl_s, now()))
    }

    fn emb() -> Embedding {
        Embedding::from_slice(&[1.0; 16])
    }

    #[test]
    fn default_requirements_admit_everything() {
        let d = desc(&kp(1), "a.b", "summary", 15, now());
        assert!(Requirements::default().admits(&d));
    }

    #[test]
    fn requirements_filter_each_field() {
        let base = desc(&kp(1), "a.b", "summary", 15, now());
        let t = |s: &str| Topic::new(s).unwrap();
        type Mutate = fn(&mut CapabilityDescriptor);
        // (requirements, mutation that must fail them, mutation that must pass them)
        let cases: Vec<(Requirements, Mutate, Mutate)> = vec![
            (
                Requirements {
                    topic: Some(t("topic")),
                    ..Default::default()
                },
                |d| d.topic = Topic::new("other/x").unwrap(),
                |d| d.topic = Topic::new("topic/x/y").unwrap(),
            ),
            (
                Requirements {
                    max_price_micros: Some(100),
                    ..Default::default()
                },
                |d| {
                    d.constraints.price = Some(Price {
                        amount_micros: 101,
                        unit: "USD".into(),
                    })
                },
                |d| {
                    d.constraints.price = Some(Price {
                        amount_micros: 100,
                        unit: "USD".into(),
                    })
                },
            ),
            (
                Requirements {
                    price_unit: Some("USD".into()),
                    ..Default::default()
                },
                |d| {
                    d.constraints.price = Some(Price {
                        amount_micros: 1,
                        unit: "credits".into(),
                    })
                },
                |d| {
                    d.constraints.price = Some(Price {
                        amount_micros: 1,
                        unit: "USD".into(),
                    })
                },
            ),
            (
                Requirements {
                    min_privacy: Some(PrivacyScope::Confidential),
                    ..Default::default()
                },
                |d| d.constraints.privacy = PrivacyScope::Public,
                |d| d.constraints.privacy = PrivacyScope::LocalOnly,
            ),
            (
                Requirements {
                    jurisdictions: vec!["DE".into(), "FR".into()],
                    ..Default::default()
                },
                |d| d.constraints.jurisdictions = vec!["DE".into(), "US".into()],
                |d| d.constraints.jurisdictions = vec!["FR".into(), "DE".into()],
            ),
            (
                Requirements {
                    jurisdictions: vec!["DE".into()],
                    ..Default::default()
                },
                |d| d.constraints.jurisdictions = vec![],
                |d| d.constraints.jurisdictions = vec!["DE".into()],
            ),
            (
                Requirements {
                    max_retention_days: Some(7),
                    ..Default::default()
                },
                |d| d.constraints.retention = Retention::Days(8),
                |d| d.constraints.retention = Retention::Days(7),
            ),
            (
                Requirements {
                    max_retention_days: Some(7),
                    ..Default::default()
                },
                |d| d.constraints.retention = Retention::Indefinite,
                |d| d.constraints.retention = Retention::None,
            ),
            (
                Requirements {
                    max_side_effects: Some(SideEffects::ReadOnly),
                    ..Default::default()
                },
                |d| d.constraints.side_effects = SideEffects::Reversible,
                |d| d.constraints.side_effects = SideEffects::ReadOnly,
            ),
            (
                Requirements {
                    input_mode: Some("image/png".into()),
                    ..Default::default()
                },
                |d| d.io.inputs = vec!["text/plain".into()],
                |d| d.io.inputs = vec!["text/plain".into(), "image/png".into()],
            ),
            (
                Requirements {
                    output_mode: Some("image/png".into()),
                    ..Default::default()
                },
                |d| d.io.outputs = vec!["text/plain".into()],
                |d| d.io.outputs = vec!["image/png".into()],
            ),
            (
                Requirements {
                    min_success_bp: Some(9_000),
                    ..Default::default()
                },
                |d| d.qos.success_bp = 8_999,
                |d| d.qos.success_bp = 9_000,
            ),
            (
                Requirements {
                    max_latency_ms: Some(500),
                    ..Default::default()
                },
                |d| d.qos.latency_ms = 501,
                |d| d.qos.latency_ms = 500,
            ),
        ];
        for (i, (req, fail, pass)) in cases.into_iter().enumerate() {
            let mut d = base.clone();
            fail(&mut d);
            assert!(!req.admits(&d), "case {i} should refuse");
            let mut d = base.clone();
            pass(&mut d);
            assert!(req.admits(&d), "case {i} should admit");
        }
        // Free descriptors pass price limits and units.
        let req = Requirements {
            max_price_micros: Some(0),
            price_unit: Some("USD".into()),
            ..Default::default()
        };
        assert!(base.constraints.price.is_none());
        assert!(req.admits(&base));
        // Several requirements together.
        let mut d = base.clone();
        d.constraints = Constraints {
            privacy: PrivacyScope::Confidential,
            jurisdictions: vec!["FR".into()],
            ..Constraints::default()
        };
        let req = Requirements {
            topic: Some(t("topic/x")),
            min_privacy: Some(PrivacyScope::Confidential),
            jurisdictions: vec!["FR".into()],
            max_side_effects: Some(SideEffects::None),
            ..Default::default()
        };
        assert!(req.admits(&d));
    }

    #[test]
    fn supersession_newer_replaces_older_refused_duplicate() {
        let k = kp(1);
        let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
        let v1 = signed(&k, desc(&k, "a.b", "first", 15, now()));
        let later = now().advance(Duration::from_secs(1));
        let v2 = signed(&k, desc(&k, "a.b", "second", 15, later));
        assert_eq!(idx.insert(now(), v1.clone(), emb()), IndexInsert::New);
        assert_eq!(idx.insert(now(), v1.clone(), emb()), IndexInsert::Duplicate);
        assert_eq!(idx.insert(later, v2.clone(), emb()), IndexInsert::Replaced);
        idx.assert_consistent();
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.get(&k.id(), "a.b"), Some(&v2));
        assert_eq!(idx.next_expiry(), Some(v2.expires_at()));
        assert_eq!(idx.insert(later, v1, emb()), IndexInsert::Older);
        assert_eq!(idx.insert(later, v2.clone(), emb()), IndexInsert::Duplicate);
        assert_eq!(idx.get(&k.id(), "a.b"), Some(&v2));
        // Same stamp, different content: the hash decides, deterministically.
        let v3 = signed(&k, desc(&k, "a.b", "third", 15, later));
        let expected = if compare_versions(&v3, &v2) == Ordering::Greater {
            IndexInsert::Replaced
        } else {
            IndexInsert::Older
        };
        assert_eq!(idx.insert(later, v3, emb()), expected);
        idx.assert_consistent();
        assert_eq!(idx.len(), 1);
        // Another capability of the same provider is a new key.
        assert_eq!(
            idx.insert(later, sd(&k, "a.c", 15), emb()),
            IndexInsert::New
        );
        assert_eq!(idx.len(), 2);
        assert!(idx.remove(&k.id(), "a.c"));
        assert!(!idx.remove(&k.id(), "a.c"));
        idx.assert_consistent();
    }

    #[test]
    fn expired_and_future_descriptors_are_refused() {
        let k = kp(1);
        let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
        let d = sd(&k, "a.b", 10);
        let after = now().advance(Duration::from_secs(10));
        assert_eq!(idx.insert(after, d.clone(), emb()), IndexInsert::Expired);
        // Issued 31 s ahead of our clock: outside the skew window.
        let future = signed(
            &k,
            desc(&k, "a.c", "x", 60, now().advance(Duration::from_secs(31))),
        );
        assert_eq!(idx.insert(now(), future, emb()), IndexInsert::Expired);
        let near = signed(
            &k,
            desc(&k, "a.d", "x", 60, now().advance(Duration::from_secs(29))),
        );
        assert_eq!(idx.insert(now(), near, emb()), IndexInsert::New);
        assert!(idx.get(&k.id(), "a.b").is_none());
        idx.assert_consistent();
    }

    #[test]
    fn prune_and_next_expiry() {
        let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
        assert_eq!(idx.next_expiry(), None);
        let (a, b, c) = (kp(1), kp(2), kp(3));
        idx.insert(now(), sd(&a, "a.x", 10), emb());
        idx.insert(now(), sd(&b, "b.x", 20), emb());
        idx.insert(now(), sd(&c, "c.x", 20), emb());
        idx.insert(now(), sd(&a, "a.y", 30), emb());
        idx.assert_consistent();
        let at = |s: u64| now().wall + Duration::from_secs(s);
        assert_eq!(idx.next_expiry(), Some(at(10)));
        assert_eq!(idx.prune(at(9)), 0);
        assert_eq!(idx.len(), 4);
        assert_eq!(idx.prune(at(10)), 1, "expires_at <= now is dropped");
        idx.assert_consistent();
        assert!(idx.get(&a.id(), "a.x").is_none());
        assert_eq!(idx.next_expiry(), Some(at(20)));
        assert_eq!(idx.prune(at(25)), 2);
        idx.assert_consistent();
        assert_eq!(idx.len(), 1);
        assert_eq!(idx.next_expiry(), Some(at(30)));
        assert_eq!(idx.prune(at(1_000)), 1);
        assert!(idx.is_empty());
        assert_eq!(idx.next_expiry(), None);
        idx.assert_consistent();
    }

    #[test]
    fn query_skips_stale_unpruned_entries() {
        let k = kp(1);
        let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
        idx.insert(now(), sd(&k, "a.x", 10), emb());
        idx.insert(now(), sd(&k, "a.y", 20), emb());
        let later = now().advance(Duration::from_secs(15));
        let got = idx.query(later, &emb(), &Requirements::default(), -1.0, 10);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].descriptor.capability, "a.y");
        assert_eq!(idx.len(), 2, "query does not prune");
    }

    #[test]
    fn per_provider_and_total_caps_with_eviction() {
        let (a, b, c) = (kp(1), kp(2), kp(3));
        let mut idx = DiscoveryIndex::new(IndexLimits {
            max_entries: 3,
            max_per_provider: 2,
        })
        .unwrap();
        assert_eq!(
            idx.insert(now(), sd(&a, "a.x", 10), emb()),
            IndexInsert::New
        );
        assert_eq!(
            idx.insert(now(), sd(&a, "a.y", 40), emb()),
            IndexInsert::New
        );
        assert_eq!(
            idx.insert(now(), sd(&a, "a.z", 50), emb()),
            IndexInsert::Full
        );
        assert_eq!(
            idx.insert(now(), sd(&b, "b.x", 20), emb()),
            IndexInsert::New
        );
        idx.assert_consistent();
        assert_eq!(idx.len(), 3);
        // Full; the unproven provider with the most entries (a) loses its entry expiring
        // soonest (a.x), whatever the newcomer's TTL.
        assert_eq!(idx.insert(now(), sd(&c, "c.x", 5), emb()), IndexInsert::New);
        idx.assert_consistent();
        assert_eq!(idx.len(), 3);
        assert!(idx.get(&a.id(), "a.x").is_none());
        // Every provider holds one entry; the newest (c) is the victim, and a newcomer from c
        // itself would only displace c: refused, long TTL or not.
        assert_eq!(
            idx.insert(now(), sd(&c, "c.y", 3600), emb()),
            IndexInsert::Full
        );
        // A new provider displaces the newest unproven provider's entry (c.x); a provider
        // holding as many entries as the victim does not (a.z).
        let d = kp(4);
        assert_eq!(idx.insert(now(), sd(&d, "d.x", 5), emb()), IndexInsert::New);
        assert!(idx.get(&c.id(), "c.x").is_none());
        assert_eq!(
            idx.insert(now(), sd(&a, "a.z", 30), emb()),
            IndexInsert::Full
        );
        idx.assert_consistent();
        // Refreshing a held entry never needs room.
        let refreshed = signed(
            &a,
            desc(
                &a,
                "a.y",
                "again",
                30,
                now().advance(Duration::from_secs(1)),
            ),
        );
        assert_eq!(idx.insert(now(), refreshed, emb()), IndexInsert::Replaced);
        idx.assert_consistent();
        assert_eq!(idx.remove_provider(&a.id()).len(), 1);
        assert!(idx.remove_provider(&a.id()).is_empty());
        idx.assert_consistent();
        assert_eq!(idx.len(), 2);
        assert!(idx.get(&b.id(), "b.x").is_some() && idx.get(&d.id(), "d.x").is_some());
    }

    #[test]
    fn sybil_descriptors_do_not_displace_providers_with_standing() {
        let honest = kp(1);
        let mut idx = DiscoveryIndex::new(IndexLimits {
            max_entries: 4,
            max_per_provider: 4,
        })
        .unwrap();
        // Long-TTL Sybils, then a provider with standing and a short TTL: the newest entry
        // and the one expiring soonest, so only its standing keeps it.
        for n in 10..13 {
            idx.insert(now(), sd(&kp(n), "s.x", 3600), emb());
        }
        let h = sd(&honest, "h.x", 10);
        assert_eq!(
            idx.insert_with_standing(now(), h, emb(), true),
            IndexInsert::New
        );
        for n in 13..40 {
            let _ = idx.insert(now(), sd(&kp(n), "s.x", 3600), emb());
            idx.assert_consistent();
            assert!(idx.get(&honest.id(), "h.x").is_some(), "after sybil {n}");
        }
        assert_eq!(idx.len(), 4);
        // An honest newcomer without standing still gets in, evicting an unproven entry,
        // and the provider with standing stays.
        let newcomer = kp(50);
        assert_eq!(
            idx.insert(now(), sd(&newcomer, "n.x", 10), emb()),
            IndexInsert::New
        );
        assert!(idx.get(&newcomer.id(), "n.x").is_some());
        assert!(idx.get(&honest.id(), "h.x").is_some());
        // A Sybil with many entries loses them first.
        let greedy = kp(60);
        idx.insert(now(), sd(&greedy, "g.a", 3600), emb());
        assert_eq!(
            idx.insert(now(), sd(&greedy, "g.b", 3600), emb()),
            IndexInsert::Full,
            "a provider as large as the largest unproven one recycles nothing"
        );
        // When everything held has standing, an unproven newcomer is refused.
        let mut idx = DiscoveryIndex::new(IndexLimits {
            max_entries: 1,
            max_per_provider: 1,
        })
        .unwrap();
        let h = sd(&honest, "h.x", 10);
        idx.insert_with_standing(now(), h, emb(), true);
        assert_eq!(
            idx.insert(now(), sd(&kp(9), "s.x", 3600), emb()),
            IndexInsert::Full
        );
        // Until the host withdraws the standing.
        idx.set_standing(&honest.id(), false);
        assert_eq!(
            idx.insert(now(), sd(&kp(9), "s.x", 3600), emb()),
            IndexInsert::New
        );
        idx.assert_consistent();
    }

    #[test]
    fn query_ranks_by_similarity() {
        let enc = HashedNgramEncoder::default();
        let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
        let offers = [
            (
                1,
                "text.translate-fr",
                "translate english text to french",
                ["translation", "french"],
            ),
            (
                2,
                "text.translate-de",
                "translate english text to german",
                ["translation", "german"],
            ),
            (
                3,
                "image.generate",
                "generate an image from a text prompt",
                ["image", "diffusion"],
            ),
            (
                4,
                "code.review",
                "review rust code for security bugs",
                ["code", "security"],
            ),
        ];
        for (seed, cap, summary, tags) in offers {
            let k = kp(seed);
            let d = CapabilityDescriptor::builder(k.id(), cap, "topic/x", summary)
                .tags(tags)
                .ttl(Duration::from_secs(60))
                .build(now())
                .unwrap();
            let e = enc.encode(&intent_text(&d));
            assert_eq!(idx.insert(now(), signed(&k, d), e), IndexInsert::New);
        }
        let q = enc.encode("translation to french");
        let got = idx.query(now(), &q, &Requirements::default(), -1.0, 10);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].descriptor.capability, "text.translate-fr");
        assert_eq!(got[1].descriptor.capability, "text.translate-de");
        assert!(got.windows(2).all(|w| w[0].similarity >= w[1].similarity));
        assert_eq!(got[0].qos, got[0].descriptor.qos);
        // k and min_similarity cut the list.
        let top = idx.query(now(), &q, &Requirements::default(), -1.0, 1);
        assert_eq!(top.len(), 1);
        assert_eq!(top[0].descriptor.capability, "text.translate-fr");
        let cut = idx.query(now(), &q, &Requirements::default(), got[1].similarity, 10);
        assert_eq!(cut.len(), 2);
        assert!(
            idx.query(now(), &q, &Requirements::default(), -1.0, 0)
                .is_empty()
        );
        // Requirements filter before ranking.
        let req = Requirements {
            output_mode: Some("image/png".into()),
            ..Default::default()
        };
        assert!(idx.query(now(), &q, &req, -1.0, 10).is_empty());
    }

    #[test]
    fn query_tie_breaks_on_qos_then_key() {
        let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
        let mk = |seed: u8, cap: &str, success_bp: u16, latency_ms: u32| {
            let k = kp(seed);
            let d = CapabilityDescriptor::builder(k.id(), cap, "topic/x", "same intent")
                .qos(QosVector {
                    success_bp,
                    latency_ms,
                    ..QosVector::default()
                })
                .build(now())
                .unwrap();
            signed(&k, d)
        };
        let entries = [
            mk(1, "c.slow", 9_000, 900),
            mk(2, "c.fast", 9_000, 100),
            mk(3, "c.best", 9_900, 2_000),
            mk(4, "c.tie-b", 9_000, 100),
            mk(4, "c.tie-a", 9_000, 100),
        ];
        for d in entries.iter().cloned() {
            assert_eq!(idx.insert(now(), d, emb()), IndexInsert::New);
        }
        let got = idx.query(now(), &emb(), &Requirements::default(), 0.0, 10);
        let caps: Vec<_> = got
            .iter()
            .map(|c| c.descriptor.capability.as_str())
            .collect();
        assert_eq!(caps[0], "c.best");
        assert_eq!(caps[4], "c.slow");
        // The three (9 000 bp, 100 ms) entries are ordered by (provider, capability).
        let mut middle: Vec<_> = got[1..4]
            .iter()
            .map(|c| (c.descriptor.provider, c.descriptor.capability.clone()))
            .collect();
        let sorted = {
            let mut m = middle.clone();
            m.sort();
            m
        };
        assert_eq!(middle, sorted);
        middle.dedup();
        assert_eq!(middle.len(), 3);
        // Partial selection agrees with the full order.
        let top2 = idx.query(now(), &emb(), &Requirements::default(), 0.0, 2);
        assert_eq!(
            top2.iter().map(|c| c.descriptor.hash()).collect::<Vec<_>>(),
            got[..2]
                .iter()
                .map(|c| c.descriptor.hash())
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn intent_text_joins_summary_and_tags() {
        let k = kp(1);
        let d = CapabilityDescriptor::builder(k.id(), "a.b", "topic/x", "Do things")
            .tags(["one", "two"])
            .build(now())
            .unwrap();
        assert_eq!(intent_text(&d), "Do things one two");
        let bare = desc(&k, "a.b", "Do things", 15, now());
        let mut bare = bare;
        bare.intent.tags.clear();
        assert_eq!(intent_text(&bare), "Do things");
    }

    #[test]
    fn interest_profile_wants_related_sketches() {
        let enc = HashedNgramEncoder::default();
        let p = InterestProfile::from_texts(
            &enc,
            &["translate documents to french", ""],
            DEFAULT_INTEREST_THRESHOLD,
        );
        assert_eq!(p.intents.len(), 1, "empty text is skipped");
        let topic = Topic::new("language/translation").unwrap();
        let related = enc.encode("french translation of documents").sketch();
        let unrelated = enc.encode("review rust code for security bugs").sketch();
        let rel = p.intents[0].similarity(&related);
        let unrel = p.intents[0].similarity(&unrelated);
        assert!(rel >= 0.6, "related similarity {rel}");
        assert!(unrel <= 0.3, "unrelated similarity {unrel}");
        assert!(p.wants(&topic, Some(&related)));
        assert!(!p.wants(&topic, Some(&unrelated)));
        assert!(
            !p.wants(&topic, None),
            "no sketch matches only `everything`"
        );

        // Topic restriction.
        let p = p.with_topics(vec![Topic::new("language").unwrap()]);
        assert!(p.wants(&topic, Some(&related)));
        assert!(!p.wants(&Topic::new("code/review").unwrap(), Some(&related)));

        // none / everything.
        assert!(!InterestProfile::none().wants(&topic, Some(&related)));
        assert!(!InterestProfile::none().wants(&topic, None));
        assert_eq!(InterestProfile::default(), InterestProfile::none());
        assert!(InterestProfile::everything().wants(&topic, None));
        assert!(InterestProfile::everything().wants(&topic, Some(&unrelated)));
        let narrowed = InterestProfile::everything().with_topics(vec![Topic::new("code").unwrap()]);
        assert!(!narrowed.wants(&topic, None));
        assert!(narrowed.wants(&Topic::new("code/review").unwrap(), None));
    }
}
