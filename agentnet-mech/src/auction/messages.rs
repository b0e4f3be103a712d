//! The signed messages of an auction (bid, counter-offer), their field checks and the
//! auction's error type.

use agentnet_core::config::ConfigError;
use agentnet_core::descriptor::DescriptorError;
use agentnet_core::intent::IntentId;
use agentnet_core::signed::{SignedError, SignedObject};
use agentnet_core::wire::MessageKind;
use agentnet_core::{AgentId, WallTime};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::mechanism::{MAX_AMOUNT, Micros, Tier};
use crate::wire;

/// Longest capability name a bid may carry, bytes (the descriptor bound).
pub const MAX_CAPABILITY_LEN: usize = 64;

/// BID ([`wire::BID`]), provider → requester: an offer to do an intent's work.
///
/// Field order is the encoding order and is fixed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bid {
    /// The intent answered: [`IntentAnnouncement::id_of`](agentnet_core::intent::IntentAnnouncement::id_of).
    pub intent: IntentId,
    /// The intent's requester.
    pub requester: AgentId,
    /// The bidder; must be the signer.
    pub provider: AgentId,
    /// The capability the work would run under: 1..=[`MAX_CAPABILITY_LEN`] bytes of
    /// `[a-z0-9._-]`, not starting or ending with `.` (the descriptor rule).
    pub capability: String,
    /// 0 for a first bid; `r` for the answer to counter-offer round `r`.
    pub round: u8,
    /// The price asked, µ. Range 0..=[`MAX_AMOUNT`].
    pub price: Micros,
    /// The deposit the provider will post, µ. Range 0..=[`MAX_AMOUNT`].
    pub deposit: Micros,
    /// Promised delivery time after delegation, ms, ≥ 1. Becomes the session's execution
    /// deadline: a later delivery is paid nothing.
    pub latency_ms: u32,
    /// The highest verification tier the provider accepts; it accepts every tier up to it.
    pub max_tier: Tier,
    /// When the bid was made (provider's wall clock).
    pub issued_at: WallTime,
}

/// COUNTER ([`wire::COUNTER`]), requester → provider: "would you do it for this price?".
///
/// Field order is the encoding order and is fixed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    /// The intent.
    pub intent: IntentId,
    /// The requester; must be the signer.
    pub requester: AgentId,
    /// The bidder countered.
    pub provider: AgentId,
    /// The counter-offer round, from 1.
    pub round: u8,
    /// The price proposed, µ. Range 1..=[`MAX_AMOUNT`].
    pub price: Micros,
    /// When the counter was made (requester's wall clock).
    pub issued_at: WallTime,
    /// The answer (a [`Bid`] with `round` = this round) must arrive before this time.
    pub answer_by: WallTime,
}

impl SignedObject for Bid {
    const CONTEXT: &'static str = agentnet_core::hash::domain::BID;
    const KIND: MessageKind = wire::BID;
    fn author(&self) -> Option<AgentId> {
        Some(self.provider)
    }
}

impl SignedObject for Counter {
    const CONTEXT: &'static str = agentnet_core::hash::domain::COUNTER;
    const KIND: MessageKind = wire::COUNTER;
    fn author(&self) -> Option<AgentId> {
        Some(self.requester)
    }
}

/// Whether `name` is a capability name by the descriptor rule.
pub fn is_capability_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_CAPABILITY_LEN
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"._-".contains(&c))
        && b[0] != b'.'
        && b[b.len() - 1] != b'.'
}

impl Bid {
    /// Field checks that need no intent and no clock: the capability name, amounts within
    /// [`MAX_AMOUNT`], a latency of at least 1 ms.
    pub fn validate_fields(&self) -> Result<(), AuctionError> {
        if !is_capability_name(&self.capability) {
            return Err(AuctionError::Malformed {
                field: "capability",
            });
        }
        if self.price > MAX_AMOUNT {
            return Err(AuctionError::Malformed { field: "price" });
        }
        if self.deposit > MAX_AMOUNT {
            return Err(AuctionError::Malformed { field: "deposit" });
        }
        if self.latency_ms == 0 {
            return Err(AuctionError::Malformed {
                field: "latency_ms",
            });
        }
        Ok(())
    }
}

impl Counter {
    /// Field checks: a round of at least 1, a price in 1..=[`MAX_AMOUNT`], `answer_by` not
    /// before `issued_at`.
    pub fn validate_fields(&self) -> Result<(), AuctionError> {
        if self.round == 0 {
            return Err(AuctionError::Malformed { field: "round" });
        }
        if self.price == 0 || self.price > MAX_AMOUNT {
            return Err(AuctionError::Malformed { field: "price" });
        }
        if self.answer_by < self.issued_at {
            return Err(AuctionError::Malformed { field: "answer_by" });
        }
        Ok(())
    }
}

/// Why an auction refused a bid, a configuration, an intent or a signer. A refused input
/// leaves the auction as it was.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuctionError {
    /// The configuration or score rule is out of range.
    #[error("auction config: {0}")]
    Config(#[from] ConfigError),
    /// The intent announcement fails its field checks.
    #[error("intent: {0}")]
    BadIntent(#[from] DescriptorError),
    /// The bid answers another intent.
    #[error("the bid names another intent")]
    WrongIntent,
    /// The bid names another requester than the intent's.
    #[error("the bid names another requester")]
    WrongRequester,
    /// The bid was not signed by the provider it names.
    #[error("bid by {provider} signed by {signer}")]
    NotSigner {
        /// Who signed.
        signer: AgentId,
        /// Whom the bid names.
        provider: AgentId,
    },
    /// A field is out of its documented range or shape.
    #[error("malformed field {field}")]
    Malformed {
        /// The field.
        field: &'static str,
    },
    /// The bid accepts only tiers below the intent's.
    #[error("bid accepts up to tier {offered:?}, the intent requires {required:?}")]
    TierTooLow {
        /// The bid's `max_tier`.
        offered: Tier,
        /// The intent's tier.
        required: Tier,
    },
    /// The promised latency exceeds the intent's bound.
    #[error("latency {latency_ms} ms exceeds the bound {max_ms} ms")]
    TooSlow {
        /// Promised.
        latency_ms: u32,
        /// The intent's `max_latency_ms`.
        max_ms: u32,
    },
    /// The deposit is below [`AuctionConfig::min_deposit`](super::AuctionConfig::min_deposit).
    #[error("deposit {deposit} µ is below the minimum {min} µ")]
    DepositTooLow {
        /// Offered.
        deposit: Micros,
        /// Required.
        min: Micros,
    },
    /// Bidding (or the bid's counter round) is over, or the auction is closed.
    #[error("the auction no longer takes this bid")]
    Late,
    /// The bid's round exceeds the configured number of counter rounds.
    #[error("round {round} exceeds the {max} counter rounds")]
    TooManyRounds {
        /// The bid's round.
        round: u8,
        /// `max_rounds`.
        max: u8,
    },
    /// An answer to a counter-offer that was not sent to this provider in this round.
    #[error("round {round} was not offered to this provider (current round {current})")]
    NotCountered {
        /// The bid's round.
        round: u8,
        /// The auction's round.
        current: u8,
    },
    /// The provider already has a bid of this round or a later one.
    #[error("replayed round {round}: the provider's kept bid is of round {kept}")]
    Replay {
        /// The bid's round.
        round: u8,
        /// The round of the bid kept.
        kept: u8,
    },
    /// The table is full and the bid does not score above the lowest-scoring bid kept.
    #[error("the bid table is full and the bid does not outscore its lowest entry")]
    Full,
    /// [`Auction::handle_timeout`](super::Auction::handle_timeout) was given a signer other
    /// than the requester.
    #[error("signer {signer} is not the requester {requester}")]
    WrongSigner {
        /// The signer given.
        signer: AgentId,
        /// The intent's requester.
        requester: AgentId,
    },
    /// Signing a counter-offer failed.
    #[error("signing: {0}")]
    Sign(#[from] SignedError),
}
