//! What requesters and providers announce besides capabilities: **intents** (a requester's
//! signed, expiring "I need this done") and **provider states** (a provider's load and
//! availability as short-lived soft state).
//!
//! Both travel like capability descriptors: as the body of a signed log entry
//! ([`EntryKind::INTENT`](crate::log_header::EntryKind::INTENT),
//! [`EntryKind::STATE`](crate::log_header::EntryKind::STATE)) whose small header is pushed
//! through the topic mesh while the body is pulled only by the nodes that want it: an
//! intent by providers whose interest matches its sketch (so a provider that never
//! advertised the capability can still answer), a state by nodes that hold a descriptor of
//! its provider. This module holds the types, their field bounds and their validation; the
//! gossip plane carries them and the adaptation layer acts on them.
//!
//! # Validity
//! Both are soft state, valid from `issued_at` (allowing the receiver's clock-skew window)
//! to `issued_at + ttl_ms`. An intent also names when bids close (`bid_by`) and when the work
//! must be done (`deadline`); it is useless after its deadline, so its TTL may not outlive
//! it by more than the skew window. A provider state lives at most [`bounds::STATE_TTL_MAX`]
//! (60 s, default 5 s): a provider that stops refreshing it leaves no claim behind for long.

use core::time::Duration;

use serde::{Deserialize, Serialize};

use crate::descriptor::{
    DescriptorError, DescriptorRules, SideEffects, Topic, bounds as cd_bounds, check_count,
    check_len, malformed,
};
use crate::hash::Hash;
use crate::identity::AgentId;
use crate::money::Micros;
use crate::signed::{Signed, SignedObject};
use crate::time::{Now, WallTime};
use crate::wire::{MessageKind, kinds};

/// Field bounds of intents and provider states (in addition to the descriptor bounds they
/// reuse for summaries, tags and endpoints).
pub mod bounds {
    /// Longest intent TTL: 1 h (an intent is a short-lived call for bids).
    pub const INTENT_TTL_MAX: u32 = 3_600_000;
    /// Shortest intent or state TTL: 100 ms.
    pub const TTL_MIN: u32 = 100;
    /// Longest provider-state TTL: 60 s.
    pub const STATE_TTL_MAX: u32 = 60_000;
    /// Default provider-state TTL: 5 s.
    pub const STATE_TTL_DEFAULT: u32 = 5_000;
    /// The largest load, basis points (as [`QosVector::load_bp`](crate::descriptor::QosVector::load_bp)).
    pub const LOAD_BP_MAX: u16 = 10_000;
}

/// The id of an intent: [`Signed::hash`] of its signed envelope. Bids and counter-offers name
/// it, so they commit to exactly the announcement they answer.
pub type IntentId = Hash;

/// A requester's signed call for bids: what it needs, where, under which constraints, for
/// how much and by when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntentAnnouncement {
    /// The requester; must be the signer and the log entry's author.
    pub requester: AgentId,
    /// Distinguishes the requester's intents (any value; two intents with the same fields
    /// and nonce are the same intent).
    pub nonce: u64,
    /// The topic the work belongs to; the intent is announced in this topic's log.
    pub topic: Topic,
    /// What is needed, in words (1..=512 bytes), matched against providers' interests.
    pub summary: String,
    /// Lower-case tags (at most 16 of at most 32 bytes).
    pub tags: Vec<String>,
    /// The strongest side effect the work may have.
    pub max_side_effects: SideEffects,
    /// The verification tier the requester will apply (1 reputation, 2 canaries, 3
    /// evidence); a bid must accept at least this tier.
    pub tier: u8,
    /// Longest acceptable delivery time after delegation, ms; `None`: no bound.
    pub max_latency_ms: Option<u32>,
    /// The least the requester expects to pay, µ (a hint to providers; bids below it are
    /// still taken).
    pub budget_min: Micros,
    /// The most the requester will pay, µ: the auction's reserve.
    pub budget_max: Micros,
    /// When bids close (requester's wall clock).
    pub bid_by: WallTime,
    /// When the work must be done.
    pub deadline: WallTime,
    /// Where providers can reach the requester to bid (transport addresses; may be empty
    /// when providers are expected to be linked already).
    pub endpoints: Vec<String>,
    /// When the intent was announced.
    pub issued_at: WallTime,
    /// Lifetime after `issued_at`, ms (100 ms..=1 h, and not past `deadline` + skew).
    pub ttl_ms: u32,
}

impl SignedObject for IntentAnnouncement {
    const CONTEXT: &'static str = crate::hash::domain::INTENT;
    const KIND: MessageKind = kinds::INTENT;
    fn author(&self) -> Option<AgentId> {
        Some(self.requester)
    }
}

fn check_ttl(field: &'static str, ttl: u32, max: u32) -> Result<(), DescriptorError> {
    if !(bounds::TTL_MIN..=max).contains(&ttl) {
        return Err(DescriptorError::OutOfRange {
            field,
            value: u64::from(ttl),
            min: u64::from(bounds::TTL_MIN),
            max: u64::from(max),
        });
    }
    Ok(())
}

/// Issued no further ahead than the skew window, and not yet expired.
fn check_window(
    now: Now,
    issued_at: WallTime,
    ttl_ms: u32,
    max_skew: Duration,
) -> Result<(), DescriptorError> {
    let skew = max_skew.as_millis() as u64;
    let issued = issued_at.as_unix_millis();
    let wall = now.wall.as_unix_millis();
    if issued > wall.saturating_add(skew) {
        return Err(DescriptorError::FromTheFuture {
            ahead_ms: issued - wall,
            max_skew_ms: skew,
        });
    }
    let exp = issued.saturating_add(u64::from(ttl_ms));
    if wall >= exp {
        return Err(DescriptorError::Expired { ago_ms: wall - exp });
    }
    Ok(())
}

impl IntentAnnouncement {
    /// When the announcement lapses.
    pub fn expires_at(&self) -> WallTime {
        self.issued_at + Duration::from_millis(u64::from(self.ttl_ms))
    }

    /// Field checks that need no clock: sizes, shapes, the budget range, the order of
    /// `issued_at ≤ bid_by ≤ deadline`, the tier and the TTL range.
    pub fn validate_fields(&self) -> Result<(), DescriptorError> {
        self.topic.check()?;
        check_len("summary", &self.summary, 1, cd_bounds::SUMMARY_MAX)?;
        if self.summary.trim().is_empty() {
            return Err(DescriptorError::Missing("summary"));
        }
        check_count("tags", &self.tags, 0, cd_bounds::TAGS_MAX)?;
        for t in &self.tags {
            check_len("tags", t, 1, cd_bounds::TAG_LEN_MAX)?;
            if t.chars()
                .any(|c| c.is_uppercase() || c.is_whitespace() || c.is_control())
            {
                return Err(malformed("tags", t));
            }
        }
        if !(1..=3).contains(&self.tier) {
            return Err(DescriptorError::OutOfRange {
                field: "tier",
                value: u64::from(self.tier),
                min: 1,
                max: 3,
            });
        }
        if self.max_latency_ms == Some(0) {
            return Err(DescriptorError::OutOfRange {
                field: "max_latency_ms",
                value: 0,
                min: 1,
                max: u64::from(u32::MAX),
            });
        }
        if self.budget_max == 0 || self.budget_min > self.budget_max {
            return Err(DescriptorError::OutOfRange {
                field: "budget_min",
                value: self.budget_min,
                min: 0,
                max: self.budget_max,
            });
        }
        let issued = self.issued_at.as_unix_millis();
        let (bid_by, deadline) = (self.bid_by.as_unix_millis(), self.deadline.as_unix_millis());
        if bid_by < issued || bid_by > deadline {
            return Err(DescriptorError::OutOfRange {
                field: "bid_by",
                value: bid_by,
                min: issued,
                max: deadline,
            });
        }
        check_count("endpoints", &self.endpoints, 0, cd_bounds::ENDPOINTS_MAX)?;
        for e in &self.endpoints {
            check_len("endpoints", e, 1, cd_bounds::ENDPOINT_LEN_MAX)?;
            if e.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(malformed("endpoints", e));
            }
        }
        check_ttl("ttl_ms", self.ttl_ms, bounds::INTENT_TTL_MAX)
    }

    /// [`validate_fields`](Self::validate_fields), then freshness under `rules` (its skew
    /// window; the descriptor TTL range does not apply) and a lifetime that ends no later
    /// than the deadline plus the skew window.
    pub fn validate(&self, now: Now, rules: &DescriptorRules) -> Result<(), DescriptorError> {
        self.validate_fields()?;
        let skew = rules.max_skew.as_millis() as u64;
        let exp = self.expires_at().as_unix_millis();
        let latest = self.deadline.as_unix_millis().saturating_add(skew);
        if exp > latest {
            return Err(DescriptorError::OutOfRange {
                field: "ttl_ms",
                value: u64::from(self.ttl_ms),
                min: u64::from(bounds::TTL_MIN),
                max: latest.saturating_sub(self.issued_at.as_unix_millis()),
            });
        }
        check_window(now, self.issued_at, self.ttl_ms, rules.max_skew)
    }

    /// The id bids name: the hash of the signed envelope.
    pub fn id_of(signed: &Signed<IntentAnnouncement>) -> IntentId {
        signed.hash()
    }
}

/// A provider's signed, short-lived statement of how busy it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderState {
    /// The provider; must be the signer and the log entry's author.
    pub provider: AgentId,
    /// How loaded it is, basis points of its capacity (0..=10 000), the unit of
    /// [`QosVector::load_bp`](crate::descriptor::QosVector::load_bp).
    pub load_bp: u16,
    /// Whether it takes new work at all.
    pub available: bool,
    /// Tasks waiting in its queue.
    pub queued: u32,
    /// When the state was stated.
    pub issued_at: WallTime,
    /// Lifetime after `issued_at`, ms (100 ms..=60 s; default 5 s).
    pub ttl_ms: u32,
}

impl SignedObject for ProviderState {
    const CONTEXT: &'static str = crate::hash::domain::PROVIDER_STATE;
    const KIND: MessageKind = kinds::PROVIDER_STATE;
    fn author(&self) -> Option<AgentId> {
        Some(self.provider)
    }
}

impl ProviderState {
    /// A state issued at `now` with the default TTL.
    pub fn new(provider: AgentId, load_bp: u16, available: bool, queued: u32, now: Now) -> Self {
        ProviderState {
            provider,
            load_bp,
            available,
            queued,
            issued_at: now.wall,
            ttl_ms: bounds::STATE_TTL_DEFAULT,
        }
    }

    /// When the state lapses.
    pub fn expires_at(&self) -> WallTime {
        self.issued_at + Duration::from_millis(u64::from(self.ttl_ms))
    }

    /// Whether the state still speaks at `now` (issued, not expired).
    pub fn is_live(&self, now: Now, max_skew: Duration) -> bool {
        check_window(now, self.issued_at, self.ttl_ms, max_skew).is_ok()
    }

    /// Field checks that need no clock: the load range and the TTL range.
    pub fn validate_fields(&self) -> Result<(), DescriptorError> {
        if self.load_bp > bounds::LOAD_BP_MAX {
            return Err(DescriptorError::OutOfRange {
                field: "load_bp",
                value: u64::from(self.load_bp),
                min: 0,
                max: u64::from(bounds::LOAD_BP_MAX),
            });
        }
        check_ttl("ttl_ms", self.ttl_ms, bounds::STATE_TTL_MAX)
    }

    /// [`validate_fields`](Self::validate_fields), then freshness within `max_skew`.
    pub fn validate(&self, now: Now, max_skew: Duration) -> Result<(), DescriptorError> {
        self.validate_fields()?;
        check_window(now, self.issued_at, self.ttl_ms, max_skew)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Keypair;
    use crate::time::Instant;

    fn now(ms: u64) -> Now {
        Now::new(Instant::from_millis(ms), WallTime::from_unix_millis(ms))
    }

    fn intent(k: &Keypair, at: u64) -> IntentAnnouncement {
        IntentAnnouncement {
            requester: k.id(),
            nonce: 1,
            topic: Topic::new("creative/image").unwrap(),
            summary: "draw a cat".into(),
            tags: vec!["image".into()],
            max_side_effects: SideEffects::None,
            tier: 2,
            max_latency_ms: Some(2_000),
            budget_min: 1,
            budget_max: 10,
            bid_by: WallTime::from_unix_millis(at + 1_000),
            deadline: WallTime::from_unix_millis(at + 10_000),
            endpoints: vec![],
            issued_at: WallTime::from_unix_millis(at),
            ttl_ms: 5_000,
        }
    }

    #[test]
    fn an_intent_validates_and_round_trips_signed() {
        let k = Keypair::from_seed([1; 32]);
        let i = intent(&k, 1_000_000);
        let rules = DescriptorRules::default();
        i.validate(now(1_000_500), &rules).unwrap();
        let s = Signed::sign(&k, i.clone()).unwrap();
        let back = Signed::<IntentAnnouncement>::from_frame(
            &s.to_frame(),
            &crate::wire::Limits::default(),
        )
        .unwrap();
        assert_eq!(*back, i);
        assert_eq!(
            IntentAnnouncement::id_of(&back),
            IntentAnnouncement::id_of(&s)
        );
    }

    #[test]
    fn malformed_intents_are_refused_by_field() {
        let k = Keypair::from_seed([1; 32]);
        let rules = DescriptorRules::default();
        let t = now(1_000_000);
        let field = |e: DescriptorError| match e {
            DescriptorError::OutOfRange { field, .. }
            | DescriptorError::TooLong { field, .. }
            | DescriptorError::Malformed { field, .. } => field,
            DescriptorError::Missing(f) => f,
            DescriptorError::Expired { .. } => "expired",
            DescriptorError::FromTheFuture { .. } => "future",
            other => panic!("{other:?}"),
        };
        type Edit = Box<dyn Fn(&mut IntentAnnouncement)>;
        let cases: Vec<(&str, Edit)> = vec![
            ("summary", Box::new(|i| i.summary = " ".into())),
            ("summary", Box::new(|i| i.summary = "x".repeat(600))),
            ("tags", Box::new(|i| i.tags = vec!["Upper".into()])),
            ("tier", Box::new(|i| i.tier = 4)),
            ("budget_min", Box::new(|i| i.budget_min = 11)),
            ("budget_min", Box::new(|i| i.budget_max = 0)),
            (
                "bid_by",
                Box::new(|i| i.bid_by = WallTime::from_unix_millis(2_000_000)),
            ),
            ("ttl_ms", Box::new(|i| i.ttl_ms = 50)),
            ("ttl_ms", Box::new(|i| i.ttl_ms = 60_000)),
            ("max_latency_ms", Box::new(|i| i.max_latency_ms = Some(0))),
            ("endpoints", Box::new(|i| i.endpoints = vec!["a b".into()])),
            (
                "future",
                Box::new(|i| {
                    i.issued_at = WallTime::from_unix_millis(1_100_000);
                    i.bid_by = i.issued_at;
                    i.deadline = WallTime::from_unix_millis(1_200_000);
                }),
            ),
            ("expired", Box::new(|i| i.ttl_ms = 100)),
        ];
        for (want, edit) in cases {
            let mut i = intent(&k, 999_000);
            edit(&mut i);
            let e = i.validate(t, &rules).unwrap_err();
            assert_eq!(field(e), want, "{i:?}");
        }
    }

    #[test]
    fn a_provider_state_is_short_lived() {
        let k = Keypair::from_seed([2; 32]);
        let s = ProviderState::new(k.id(), 9_000, true, 3, now(10_000));
        s.validate(now(10_000), Duration::from_secs(30)).unwrap();
        assert!(s.is_live(now(14_999), Duration::ZERO));
        assert!(!s.is_live(now(15_000), Duration::ZERO));
        let mut bad = s.clone();
        bad.load_bp = 10_001;
        assert!(bad.validate_fields().is_err());
        bad = s.clone();
        bad.ttl_ms = 61_000;
        assert!(bad.validate_fields().is_err());
    }
}
