//! The score rule, eligibility, the ranking and the second-score payment (formulas in the
//! module docs of [`auction`](super)). Everything that decides a winner is integer
//! arithmetic.

use core::cmp::Ordering;

use agentnet_core::Signed;
use agentnet_core::intent::{IntentAnnouncement, IntentId};

use super::messages::{AuctionError, Bid};
use crate::mechanism::{MAX_AMOUNT, Micros, Tier, UNIT};

/// How the requester weighs delivery time against price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScoreRule {
    /// What one second of promised delivery time is worth to the requester, µ per second.
    /// Default [`UNIT`] (one unit per second); range 0..=[`MAX_AMOUNT`].
    pub latency_value: Micros,
}

impl Default for ScoreRule {
    fn default() -> Self {
        ScoreRule {
            latency_value: UNIT,
        }
    }
}

impl ScoreRule {
    /// A rule valuing a second of delivery time at `latency_value` µ.
    pub fn new(latency_value: Micros) -> Self {
        ScoreRule { latency_value }
    }

    /// What a promised latency costs the requester, µ: `⌊latency_value · latency_ms / 1000⌋`
    /// (exact, rounded down; non-decreasing in the latency).
    pub fn latency_cost(&self, latency_ms: u32) -> i128 {
        i128::from(self.latency_value) * i128::from(latency_ms) / 1000
    }

    /// `budget_max − price − latency_cost(latency_ms)`, µ; at least 0 meets the reserve.
    pub fn score(&self, budget_max: Micros, price: Micros, latency_ms: u32) -> i128 {
        i128::from(budget_max) - i128::from(price) - self.latency_cost(latency_ms)
    }

    /// The score of `bid` under reserve `budget_max`.
    pub fn score_of(&self, budget_max: Micros, bid: &Bid) -> i128 {
        self.score(budget_max, bid.price, bid.latency_ms)
    }

    /// The price that gives a bid of `latency_ms` the score 0 (the most the requester pays
    /// for that latency), or `None` when the latency alone exceeds the reserve.
    pub fn reserve_price(&self, budget_max: Micros, latency_ms: u32) -> Option<Micros> {
        let p = i128::from(budget_max) - self.latency_cost(latency_ms);
        Micros::try_from(p).ok()
    }
}

/// Rank order: higher score first; ties to the lower price, then the lower provider id.
pub(crate) fn order(rule: &ScoreRule, budget_max: Micros, a: &Bid, b: &Bid) -> Ordering {
    rule.score_of(budget_max, b)
        .cmp(&rule.score_of(budget_max, a))
        .then(a.price.cmp(&b.price))
        .then(a.provider.cmp(&b.provider))
}

/// One place of a ranking ([`rank`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Place {
    /// Index of the bid in the slice ranked.
    pub index: usize,
    /// Its score, µ (≥ 0).
    pub score: i128,
    /// What it is paid if it is awarded the work: the price at which its score would equal
    /// the next place's, or the reserve (score 0) when it is last. Never above the reserve.
    pub pay: Micros,
}

/// Rank `bids` under `rule` and reserve `budget_max`: the bids meeting the reserve
/// (score ≥ 0), best first (higher score; ties to the lower price, then the lower provider
/// id), each with
/// its second-score pay computed against the place below it:
/// `pay = price + (score − max(score_next, 0))`, at most `budget_max`. The first place is
/// the winner; the rest are the fallback order should it fail. Eligibility is not checked
/// here ([`check_bid`] does; an [`Auction`](super::Auction) holds only eligible bids).
pub fn rank(rule: &ScoreRule, budget_max: Micros, bids: &[&Bid]) -> Vec<Place> {
    let mut idx: Vec<usize> = (0..bids.len())
        .filter(|&i| rule.score_of(budget_max, bids[i]) >= 0)
        .collect();
    idx.sort_by(|&i, &j| order(rule, budget_max, bids[i], bids[j]));
    let scores: Vec<i128> = idx
        .iter()
        .map(|&i| rule.score_of(budget_max, bids[i]))
        .collect();
    idx.iter()
        .enumerate()
        .map(|(k, &i)| {
            let next = scores.get(k + 1).copied().unwrap_or(0).max(0);
            let pay = i128::from(bids[i].price) + (scores[k] - next);
            // score ≥ next ≥ 0 and pay = budget_max − latency cost − next ≤ budget_max.
            let pay = Micros::try_from(pay.clamp(0, i128::from(budget_max))).unwrap_or(0);
            Place {
                index: i,
                score: scores[k],
                pay,
            }
        })
        .collect()
}

/// What a bid must satisfy to take part in the auction of `intent` (id `intent_id`):
/// its field checks ([`Bid::validate_fields`]), naming this intent and requester, signed by
/// its provider, `max_tier` at least the intent's tier, `latency_ms` within the intent's
/// bound if it has one, and a deposit of at least `min_deposit`. The score does not enter:
/// a bid below the reserve is eligible (and may be countered).
pub fn check_bid(
    intent: &IntentAnnouncement,
    intent_id: &IntentId,
    min_deposit: Micros,
    bid: &Signed<Bid>,
) -> Result<(), AuctionError> {
    bid.validate_fields()?;
    if bid.intent != *intent_id {
        return Err(AuctionError::WrongIntent);
    }
    if bid.requester != intent.requester {
        return Err(AuctionError::WrongRequester);
    }
    if bid.signer() != bid.provider {
        return Err(AuctionError::NotSigner {
            signer: bid.signer(),
            provider: bid.provider,
        });
    }
    let required =
        Tier::from_number(intent.tier).ok_or(AuctionError::Malformed { field: "tier" })?;
    if bid.max_tier < required {
        return Err(AuctionError::TierTooLow {
            offered: bid.max_tier,
            required,
        });
    }
    if let Some(max_ms) = intent.max_latency_ms
        && bid.latency_ms > max_ms
    {
        return Err(AuctionError::TooSlow {
            latency_ms: bid.latency_ms,
            max_ms,
        });
    }
    if bid.deposit < min_deposit {
        return Err(AuctionError::DepositTooLow {
            deposit: bid.deposit,
            min: min_deposit,
        });
    }
    Ok(())
}

/// Range check of a score rule (for [`Auction::new`](super::Auction::new)).
pub(crate) fn check_rule(rule: &ScoreRule) -> Result<(), AuctionError> {
    agentnet_core::config::check_range(
        "latency_value",
        rule.latency_value,
        0..=MAX_AMOUNT,
        "0..=MAX_AMOUNT",
    )?;
    Ok(())
}
