//! Capability descriptors: signed, soft-state statements of what a provider can do.
//!
//! A [`CapabilityDescriptor`] names a provider, a capability (`image.generate`), a hierarchical
//! [`Topic`] (`creative/image`), the intent it serves (summary text, tags, optional quantized
//! embedding), input/output modes, hard [`Constraints`], a [`QosVector`], [`TrustClaims`],
//! endpoints, and a validity window (`issued_at` + `ttl_ms`). It travels as a
//! [`Signed<CapabilityDescriptor>`] whose signer must be the provider.
//!
//! # Soft state
//!
//! A descriptor is valid from `issued_at` until `issued_at + ttl_ms` ([`is_fresh`]); providers
//! re-issue before expiry ([`CapabilityDescriptor::refresh_at`]) and every index forgets
//! descriptors that were not refreshed. This is also how capability drift is absorbed: a stale
//! claim dies on its own. The TTL defaults to 15 s ([`DEFAULT_TTL`]) and must lie within the
//! receiver's [`DescriptorRules`] bounds.
//!
//! # Supersession
//!
//! For one (provider, capability) pair, a descriptor replaces another if it was issued later;
//! equal stamps are ordered by the body hash so every node picks the same winner
//! ([`supersedes`]). Receivers refuse stamps further in the future than their skew window, so a
//! provider cannot pin a descriptor forever with a far-future `issued_at`.
//!
//! # Numbers on the wire
//!
//! No floats travel: ratios are basis points (1/10 000), money is micro-units, times are
//! milliseconds. Validation ([`CapabilityDescriptor::validate`]) checks required fields, string
//! and list sizes, ranges and the TTL; [`ingest`] is the whole receive path for one frame and
//! [`ingest_batch`] for many.
//!
//! [`is_fresh`]: CapabilityDescriptor::is_fresh

use core::cmp::Ordering;
use core::fmt;
use core::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::hash::Hash;
use crate::identity::{AgentId, KeyCache};
use crate::semantic::TaggedEmbedding;
use crate::signed::{Signed, SignedError, SignedObject};
use crate::time::{Now, WallTime};
use crate::wire::{Limits, MessageKind};

/// Default descriptor lifetime: 15 s.
pub const DEFAULT_TTL: Duration = Duration::from_secs(15);

/// Size bounds every descriptor must respect (independent of receiver configuration).
pub mod bounds {
    /// Capability name: bytes.
    pub const NAME_MAX: usize = 64;
    /// Topic: bytes in total.
    pub const TOPIC_MAX: usize = 128;
    /// Topic: segments.
    pub const TOPIC_SEGMENTS_MAX: usize = 8;
    /// Intent summary: bytes.
    pub const SUMMARY_MAX: usize = 512;
    /// Tags: count, and bytes each.
    pub const TAGS_MAX: usize = 16;
    /// Bytes per tag.
    pub const TAG_LEN_MAX: usize = 32;
    /// Input or output modes: count.
    pub const MODES_MAX: usize = 8;
    /// Bytes per mode (a media type such as `text/plain`).
    pub const MODE_LEN_MAX: usize = 64;
    /// Schema reference: bytes.
    pub const SCHEMA_MAX: usize = 1024;
    /// Jurisdictions: count (ISO 3166-1 alpha-2 codes).
    pub const JURISDICTIONS_MAX: usize = 32;
    /// Endpoints: count.
    pub const ENDPOINTS_MAX: usize = 8;
    /// Bytes per endpoint.
    pub const ENDPOINT_LEN_MAX: usize = 256;
    /// Attestation kinds: count.
    pub const ATTESTATIONS_MAX: usize = 8;
    /// Price unit: bytes.
    pub const UNIT_MAX: usize = 16;
    /// Basis points in 100 %.
    pub const BP_MAX: u16 = 10_000;
}

/// A hierarchical topic such as `creative/image`: 1 to 8 `/`-separated segments of
/// `[a-z0-9_-]`, at most 128 bytes. The rule holds however a topic is made: decoding one
/// from the wire (or a store) checks it like [`Topic::new`], so no frame can carry a topic
/// that is empty, oversized or full of control characters into a table or a terminal.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Topic(String);

impl TryFrom<String> for Topic {
    type Error = DescriptorError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Topic::new(s)
    }
}

impl From<Topic> for String {
    fn from(t: Topic) -> String {
        t.0
    }
}

impl Topic {
    /// A validated topic.
    pub fn new(s: impl Into<String>) -> Result<Self, DescriptorError> {
        let t = Topic(s.into());
        t.check()?;
        Ok(t)
    }

    pub(crate) fn check(&self) -> Result<(), DescriptorError> {
        let s = &self.0;
        if s.is_empty() || s.len() > bounds::TOPIC_MAX {
            return Err(DescriptorError::InvalidTopic(truncate(s)));
        }
        let mut n = 0;
        for seg in s.split('/') {
            n += 1;
            if seg.is_empty()
                || !seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
            {
                return Err(DescriptorError::InvalidTopic(truncate(s)));
            }
        }
        if n > bounds::TOPIC_SEGMENTS_MAX {
            return Err(DescriptorError::InvalidTopic(truncate(s)));
        }
        Ok(())
    }

    /// The topic text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True if `self` is `parent` or lies under it (`creative/image` is within `creative`).
    pub fn is_within(&self, parent: &Topic) -> bool {
        self.0 == parent.0
            || (self.0.starts_with(&parent.0)
                && self.0.as_bytes().get(parent.0.len()) == Some(&b'/'))
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Topic({})", self.0)
    }
}

/// What the capability is for, in words (and optionally as a vector).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// One or two sentences; required; at most 512 bytes.
    pub summary: String,
    /// Lower-case keywords; at most 16 of at most 32 bytes each.
    pub tags: Vec<String>,
    /// The summary embedded by the provider's encoder, quantized, with that encoder's tag
    /// (optional). Receivers compare it only with vectors of the same encoder; discovery
    /// re-encodes the summary with the receiver's own encoder.
    pub embedding: Option<TaggedEmbedding>,
}

/// Input and output modes (media types such as `text/plain`, `image/png`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IoModes {
    /// Accepted inputs; at least one.
    pub inputs: Vec<String>,
    /// Produced outputs; at least one.
    pub outputs: Vec<String>,
    /// Optional reference to a request/response schema (URI or inline JSON Schema), at most
    /// 1 024 bytes.
    pub schema: Option<String>,
}

/// A price per call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    /// Amount in millionths of `unit`.
    pub amount_micros: crate::money::Micros,
    /// Currency or credit unit (`USD`, `credits`), 1 to 16 bytes.
    pub unit: String,
}

/// Where data handed to the capability may go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrivacyScope {
    /// Inputs may be processed by third-party services.
    Public,
    /// Inputs stay with the provider's organisation.
    Confidential,
    /// Inputs never leave the provider's machine.
    LocalOnly,
}

/// How long the provider keeps inputs and outputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retention {
    /// Nothing is kept after the call returns.
    None,
    /// Kept for at most this many days.
    Days(u16),
    /// Kept indefinitely.
    Indefinite,
}

/// The strongest effect the capability can have outside itself. Ordered from harmless to
/// dangerous, so a requester can cap it (`side_effects <= SideEffects::Reversible`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SideEffects {
    /// Pure computation.
    None,
    /// Reads external state (search, fetch).
    ReadOnly,
    /// Changes external state in a way that can be undone.
    Reversible,
    /// Changes external state irreversibly (publish, pay, delete).
    Irreversible,
}

/// Hard constraints a requester filters on before ranking.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraints {
    /// Price per call, if not free.
    pub price: Option<Price>,
    /// Data handling scope.
    pub privacy: PrivacyScope,
    /// ISO 3166-1 alpha-2 codes where processing happens (empty: unspecified).
    pub jurisdictions: Vec<String>,
    /// Data retention.
    pub retention: Retention,
    /// Strongest side effect.
    pub side_effects: SideEffects,
}

impl Default for Constraints {
    fn default() -> Self {
        Constraints {
            price: None,
            privacy: PrivacyScope::Public,
            jurisdictions: Vec::new(),
            retention: Retention::None,
            side_effects: SideEffects::None,
        }
    }
}

/// Self-reported quality of service. Claims, not facts: the trust plane checks them.
///
/// Every field is optional, and `None` means the provider did not say: unknown stays
/// unknown. Nothing fills in a value the author left out (a default success rate would be a
/// claim nobody made), and whoever ranks by a field treats a missing one as unknown (below
/// any stated value in tie-breaks, failing a stated minimum, replaced by a prior in
/// selection), so leaving a field out never ranks a provider higher than stating it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QosVector {
    /// Typical end-to-end latency, milliseconds.
    pub latency_ms: Option<u32>,
    /// Success rate, basis points (0..=10 000).
    pub success_bp: Option<u16>,
    /// Typical cost per call, micro-units of the price unit.
    pub cost_micros: Option<crate::money::Micros>,
    /// Availability, basis points (0..=10 000).
    pub availability_bp: Option<u16>,
    /// Current load, basis points of capacity (0..=10 000).
    pub load_bp: Option<u16>,
}

impl QosVector {
    /// A vector stating every field.
    pub const fn stated(
        latency_ms: u32,
        success_bp: u16,
        cost_micros: crate::money::Micros,
        availability_bp: u16,
        load_bp: u16,
    ) -> Self {
        QosVector {
            latency_ms: Some(latency_ms),
            success_bp: Some(success_bp),
            cost_micros: Some(cost_micros),
            availability_bp: Some(availability_bp),
            load_bp: Some(load_bp),
        }
    }
}

/// What the provider offers as grounds for trust.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustClaims {
    /// The provider's BAID commitment, if it has one (see the trust plane).
    pub baid: Option<Hash>,
    /// Verification tiers it supports (1 reputation, 2 canary, 3 evidence), ascending.
    pub tiers: Vec<u8>,
    /// Attestation kinds it can present (`tee/sev-snp`, `zk/risc0`, ...).
    pub attestations: Vec<String>,
}

/// A signed, soft-state statement of one capability of one provider. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapabilityDescriptor {
    /// The provider; must be the signer.
    pub provider: AgentId,
    /// Capability name, dotted lower-case (`image.generate`), 1 to 64 bytes of `[a-z0-9._-]`.
    pub capability: String,
    /// Topic for narrowcast and filtering.
    pub topic: Topic,
    /// What it is for.
    pub intent: Intent,
    /// Input/output modes.
    pub io: IoModes,
    /// Hard constraints.
    pub constraints: Constraints,
    /// Claimed quality of service.
    pub qos: QosVector,
    /// Trust claims.
    pub trust: TrustClaims,
    /// How to reach the provider (multiaddrs, URLs), at most 8 of at most 256 bytes.
    pub endpoints: Vec<String>,
    /// When it was issued (provider's wall clock).
    pub issued_at: WallTime,
    /// Lifetime after `issued_at`, milliseconds.
    pub ttl_ms: u32,
    /// A retraction: the provider withdraws the capability *now*. A retraction is a newer
    /// version of the same (provider, capability), so it replaces the older descriptor
    /// everywhere it arrives and, held until its own TTL ends, makes any replay of an older
    /// version "older" rather than new; nobody offers a retracted capability in discovery.
    /// Absent from the encoding when false (descriptors that are not retractions encode as
    /// before). Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retracted: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl SignedObject for CapabilityDescriptor {
    const CONTEXT: &'static str = crate::hash::domain::DESCRIPTOR;
    const KIND: MessageKind = MessageKind::SIGNED_DESCRIPTOR;
    fn author(&self) -> Option<AgentId> {
        Some(self.provider)
    }
}

/// Receiver-side rules for descriptors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DescriptorRules {
    /// Shortest accepted TTL. Default 1 s; range 100 ms..=`max_ttl`.
    pub min_ttl: Duration,
    /// Longest accepted TTL. Default 1 h; range `min_ttl`..=~49 days (u32 ms).
    pub max_ttl: Duration,
    /// How far in the future `issued_at` may be, to absorb clock skew. Default 30 s;
    /// range 0..=10 min.
    pub max_skew: Duration,
}

impl Default for DescriptorRules {
    fn default() -> Self {
        DescriptorRules {
            min_ttl: Duration::from_secs(1),
            max_ttl: Duration::from_secs(3600),
            max_skew: Duration::from_secs(30),
        }
    }
}

/// Why a descriptor was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DescriptorError {
    /// The frame, envelope or signature was refused.
    #[error(transparent)]
    Signed(#[from] SignedError),
    /// A required field is empty.
    #[error("required field `{0}` is empty")]
    Missing(&'static str),
    /// A string is too long.
    #[error("field `{field}` is {len} bytes, limit {max}")]
    TooLong {
        /// Field name.
        field: &'static str,
        /// Length found.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A list has too many entries.
    #[error("field `{field}` has {len} entries, limit {max}")]
    TooMany {
        /// Field name.
        field: &'static str,
        /// Entries found.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A number is outside its range.
    #[error("field `{field}` = {value} is outside {min}..={max}")]
    OutOfRange {
        /// Field name.
        field: &'static str,
        /// Value found.
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// A field has characters or a shape it may not have.
    #[error("field `{field}` is malformed: {value:?}")]
    Malformed {
        /// Field name.
        field: &'static str,
        /// The value (truncated).
        value: String,
    },
    /// The topic is not a valid hierarchical topic.
    #[error("invalid topic {0:?}")]
    InvalidTopic(String),
    /// `issued_at` is further in the future than the skew window.
    #[error("issued {ahead_ms} ms in the future (skew window {max_skew_ms} ms)")]
    FromTheFuture {
        /// How far ahead of the receiver's clock.
        ahead_ms: u64,
        /// The receiver's window.
        max_skew_ms: u64,
    },
    /// The descriptor has expired.
    #[error("expired {ago_ms} ms ago")]
    Expired {
        /// How long ago.
        ago_ms: u64,
    },
    /// The body names a provider other than the signer.
    #[error("provider is not the signer")]
    NotProvider,
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

pub(crate) fn check_len(
    field: &'static str,
    s: &str,
    min: usize,
    max: usize,
) -> Result<(), DescriptorError> {
    if s.len() < min {
        return Err(DescriptorError::Missing(field));
    }
    if s.len() > max {
        return Err(DescriptorError::TooLong {
            field,
            len: s.len(),
            max,
        });
    }
    Ok(())
}

pub(crate) fn check_count<T>(
    field: &'static str,
    v: &[T],
    min: usize,
    max: usize,
) -> Result<(), DescriptorError> {
    if v.len() < min {
        return Err(DescriptorError::Missing(field));
    }
    if v.len() > max {
        return Err(DescriptorError::TooMany {
            field,
            len: v.len(),
            max,
        });
    }
    Ok(())
}

fn check_bp(field: &'static str, v: Option<u16>) -> Result<(), DescriptorError> {
    let Some(v) = v else { return Ok(()) };
    if v > bounds::BP_MAX {
        return Err(DescriptorError::OutOfRange {
            field,
            value: u64::from(v),
            min: 0,
            max: u64::from(bounds::BP_MAX),
        });
    }
    Ok(())
}

pub(crate) fn malformed(field: &'static str, s: &str) -> DescriptorError {
    DescriptorError::Malformed {
        field,
        value: truncate(s),
    }
}

impl CapabilityDescriptor {
    /// Start a descriptor with the required fields; see [`DescriptorBuilder`].
    pub fn builder(
        provider: AgentId,
        capability: impl Into<String>,
        topic: &str,
        summary: impl Into<String>,
    ) -> DescriptorBuilder {
        DescriptorBuilder::new(provider, capability, topic, summary)
    }

    /// The end of the validity window.
    pub fn expires_at(&self) -> WallTime {
        self.issued_at + Duration::from_millis(u64::from(self.ttl_ms))
    }

    /// Valid now: already issued (allowing `max_skew`) and not yet expired.
    pub fn is_fresh(&self, now: Now, max_skew: Duration) -> bool {
        self.issued_at <= now.wall + max_skew && now.wall < self.expires_at()
    }

    /// When the provider should re-issue: after `fraction` (0.0..=1.0, typically 0.5–0.8) of
    /// the TTL has passed.
    pub fn refresh_at(&self, fraction: f64) -> WallTime {
        let f = fraction.clamp(0.0, 1.0);
        self.issued_at + Duration::from_millis((f64::from(self.ttl_ms) * f) as u64)
    }

    /// The (provider, capability) pair under which newer descriptors replace older ones.
    pub fn key(&self) -> (AgentId, &str) {
        (self.provider, &self.capability)
    }

    /// Check every field and bound, independent of time.
    pub fn validate_fields(&self) -> Result<(), DescriptorError> {
        check_len("capability", &self.capability, 1, bounds::NAME_MAX)?;
        let name = self.capability.as_bytes();
        if !name
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            || name[0] == b'.'
            || name[name.len() - 1] == b'.'
        {
            return Err(malformed("capability", &self.capability));
        }
        self.topic.check()?;
        check_len(
            "intent.summary",
            &self.intent.summary,
            1,
            bounds::SUMMARY_MAX,
        )?;
        if self.intent.summary.trim().is_empty() {
            return Err(DescriptorError::Missing("intent.summary"));
        }
        check_count("intent.tags", &self.intent.tags, 0, bounds::TAGS_MAX)?;
        for t in &self.intent.tags {
            check_len("intent.tags", t, 1, bounds::TAG_LEN_MAX)?;
            if t.chars()
                .any(|c| c.is_uppercase() || c.is_whitespace() || c.is_control())
            {
                return Err(malformed("intent.tags", t));
            }
        }
        check_count("io.inputs", &self.io.inputs, 1, bounds::MODES_MAX)?;
        check_count("io.outputs", &self.io.outputs, 1, bounds::MODES_MAX)?;
        for m in self.io.inputs.iter().chain(&self.io.outputs) {
            check_len("io.modes", m, 1, bounds::MODE_LEN_MAX)?;
            if m.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(malformed("io.modes", m));
            }
        }
        if let Some(s) = &self.io.schema {
            check_len("io.schema", s, 1, bounds::SCHEMA_MAX)?;
        }
        if let Some(p) = &self.constraints.price {
            check_len("constraints.price.unit", &p.unit, 1, bounds::UNIT_MAX)?;
        }
        check_count(
            "constraints.jurisdictions",
            &self.constraints.jurisdictions,
            0,
            bounds::JURISDICTIONS_MAX,
        )?;
        for j in &self.constraints.jurisdictions {
            if j.len() != 2 || !j.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(malformed("constraints.jurisdictions", j));
            }
        }
        if let Retention::Days(0) = self.constraints.retention {
            return Err(DescriptorError::OutOfRange {
                field: "constraints.retention",
                value: 0,
                min: 1,
                max: u64::from(u16::MAX),
            });
        }
        check_bp("qos.success_bp", self.qos.success_bp)?;
        check_bp("qos.availability_bp", self.qos.availability_bp)?;
        check_bp("qos.load_bp", self.qos.load_bp)?;
        check_count("trust.tiers", &self.trust.tiers, 0, 3)?;
        let mut last = 0u8;
        for &t in &self.trust.tiers {
            if !(1..=3).contains(&t) || t <= last {
                return Err(DescriptorError::OutOfRange {
                    field: "trust.tiers",
                    value: u64::from(t),
                    min: 1,
                    max: 3,
                });
            }
            last = t;
        }
        check_count(
            "trust.attestations",
            &self.trust.attestations,
            0,
            bounds::ATTESTATIONS_MAX,
        )?;
        for a in &self.trust.attestations {
            check_len("trust.attestations", a, 1, bounds::TAG_LEN_MAX)?;
        }
        check_count("endpoints", &self.endpoints, 0, bounds::ENDPOINTS_MAX)?;
        for e in &self.endpoints {
            check_len("endpoints", e, 1, bounds::ENDPOINT_LEN_MAX)?;
        }
        Ok(())
    }

    /// Check every field, the TTL bounds and the validity window against `now`.
    pub fn validate(&self, now: Now, rules: &DescriptorRules) -> Result<(), DescriptorError> {
        self.validate_fields()?;
        let ttl = u64::from(self.ttl_ms);
        let (min, max) = (
            rules.min_ttl.as_millis() as u64,
            rules.max_ttl.as_millis() as u64,
        );
        if ttl < min || ttl > max {
            return Err(DescriptorError::OutOfRange {
                field: "ttl_ms",
                value: ttl,
                min,
                max,
            });
        }
        let skew = rules.max_skew.as_millis() as u64;
        let issued = self.issued_at.as_unix_millis();
        let wall = now.wall.as_unix_millis();
        if issued > wall.saturating_add(skew) {
            return Err(DescriptorError::FromTheFuture {
                ahead_ms: issued - wall,
                max_skew_ms: skew,
            });
        }
        let exp = self.expires_at().as_unix_millis();
        if wall >= exp {
            return Err(DescriptorError::Expired { ago_ms: wall - exp });
        }
        Ok(())
    }
}

mod builder;
mod ingest;
#[cfg(test)]
mod tests;

pub use builder::DescriptorBuilder;
pub use ingest::{
    compare_versions, ingest, ingest_batch, ingest_batch_cached, ingest_cached, supersedes,
};
