//! The provider's side: a bidding policy and the truthful bid and counter answer it implies.

use agentnet_core::intent::IntentAnnouncement;
use agentnet_core::{AgentId, Now, Signed};

use super::messages::{Bid, Counter};
use crate::mechanism::{Micros, Tier};

/// What a provider is willing to do for one capability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BidPolicy {
    /// The least price it accepts, µ (its cost of doing the work, risk included).
    pub floor: Micros,
    /// The price it opens with, µ, when above the floor (`None`: the floor). Asking more
    /// than the floor never wins an auction the floor would lose and can lose one the floor
    /// would win at a profit (the module docs), but a host may still open high; a
    /// counter-offer at or above the floor is then accepted.
    pub ask: Option<Micros>,
    /// The delivery time it can keep, ms (≥ 1).
    pub latency_ms: u32,
    /// The deposit it posts, µ.
    pub deposit: Micros,
    /// The highest verification tier it accepts.
    pub max_tier: Tier,
}

/// The bid on `intent` under `policy`: price = the ask (at least the floor; the floor when
/// there is no ask: the truthful bid), the policy's latency, deposit and tier, round 0,
/// issued at `now`. `None` when the floor exceeds the intent's
/// `budget_max`, the policy does not accept the intent's tier (or the tier is invalid), the
/// latency misses the intent's bound, or the latency is 0.
///
/// Truthful is the right bid under the auction's rule: the module docs show why neither a
/// lower price nor a shorter latency than the provider can keep pays.
pub fn bid_for(
    policy: &BidPolicy,
    intent: &Signed<IntentAnnouncement>,
    provider: AgentId,
    capability: &str,
    now: Now,
) -> Option<Bid> {
    let tier = Tier::from_number(intent.tier)?;
    if policy.floor > intent.budget_max
        || policy.max_tier < tier
        || policy.latency_ms == 0
        || intent.max_latency_ms.is_some_and(|m| policy.latency_ms > m)
    {
        return None;
    }
    Some(Bid {
        intent: IntentAnnouncement::id_of(intent),
        requester: intent.requester,
        provider,
        capability: capability.to_string(),
        round: 0,
        price: policy.ask.map_or(policy.floor, |a| a.max(policy.floor)),
        deposit: policy.deposit,
        latency_ms: policy.latency_ms,
        max_tier: policy.max_tier,
        issued_at: now.wall,
    })
}

/// The answer to `counter` under `policy`: a bid of the counter's round at the counter's
/// price when that price is at least the floor (accept); otherwise the floor restated in
/// that round, which the requester reads as a refusal (its score stays below the reserve).
pub fn answer_counter(
    policy: &BidPolicy,
    counter: &Signed<Counter>,
    capability: &str,
    now: Now,
) -> Bid {
    Bid {
        intent: counter.intent,
        requester: counter.requester,
        provider: counter.provider,
        capability: capability.to_string(),
        round: counter.round,
        price: counter.price.max(policy.floor),
        deposit: policy.deposit,
        latency_ms: policy.latency_ms,
        max_tier: policy.max_tier,
        issued_at: now.wall,
    }
}
