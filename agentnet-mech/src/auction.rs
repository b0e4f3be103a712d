//! Auctions: a requester's signed intent, providers' signed bids, a strategy-aware score
//! rule, bounded counter-offers, and an award with a fallback order (DESIGN §7, "collect
//! commitments/bids").
//!
//! ```text
//!  requester                                          providers
//!  announce Signed<IntentAnnouncement> ─────────────► bid_for(policy, intent, ...) → sign
//!  Auction::handle_bid ◄─── BID (round 0) ────────────
//!  bid_by: handle_timeout ─┬─ someone meets the reserve → Closed(Awarded{winner, pay, fallbacks})
//!                          ├─ no bids                   → Closed(NoBids)
//!                          └─ none meets it, rounds left → COUNTER (round r) ─► answer_counter
//!  Auction::handle_bid ◄─── BID (round r) ──────────── (accept at the counter price, or the floor)
//!  all answered / round timeout: evaluate again; after max_rounds → Closed(NoAgreement)
//! ```
//!
//! # The score rule
//! With the intent's reserve `B = budget_max` and a [`ScoreRule`] valuing a second of
//! delivery time at `λ` µ (`latency_value`):
//!
//! `score(bid) = B − price − ⌊λ · latency_ms / 1000⌋` (µ, exact integers).
//!
//! A bid is **eligible** ([`check_bid`]) when its fields are well-formed, it names this
//! intent and its requester, it is signed by the provider it names, its `max_tier` is at
//! least the intent's tier, its latency is within the intent's `max_latency_ms` (if any) and
//! its deposit is at least [`AuctionConfig::min_deposit`]. Ineligible bids are refused with a
//! typed [`AuctionError`] and never enter the table. Among the eligible bids with
//! `score ≥ 0` (the reserve) the highest score wins; ties go to the lower price, then the
//! lower provider id, so every node ranks the same bids the same way.
//!
//! **Second-score payment.** The winner is paid the price at which its score would equal the
//! runner-up's, or the reserve's (score 0) when it is alone:
//! `pay = price_w + (score_w − max(score_2, 0)) = B − ⌊λ·latency_w/1000⌋ − max(score_2, 0)`,
//! never above `B`. The same formula against the next place gives every eligible bid's pay
//! in the fallback order ([`rank`]; `fallbacks` of [`AuctionOutcome::Awarded`]).
//!
//! # Why truthful bids
//! The winner's promised latency becomes the session's execution deadline (the `Deadlines`
//! clause's `execute_ms`), and a delivery after it settles as `TimedOut(Execute)`: nothing
//! paid, the deposit refunded ([`settlement_amounts`](crate::session::settlement_amounts)).
//! Take a bidder whose work costs `C`, takes `d` ms and, done in time, comes good with
//! probability `s`; its **break-even price** is `v = C / s`. Write `L(T) = λT/1000` and
//! `X = B − max(score_2, 0)` for what the best rival leaves. A bid `(p, T)` wins iff
//! `B − p − L(T) ≥ max(score_2, 0)`, and then earns `s·g·(X − L(T)) − C`, where
//! `g = min(1, T/d)` is the follower model's rushed-job factor (`s_e = success_e ·
//! min(1, T/d)`, [`follower`](crate::follower)). The price only decides *whether* the bid
//! wins, never what it is paid.
//!
//! - **Price.** With the true latency (`g = 1`) winning is worth `s·(X − L(d) − v)`, which is
//!   positive exactly when the truthful bid `p = v` wins: asking more only loses profitable
//!   awards, asking less (below cost) only adds losing ones. Truthful price is dominant, as
//!   in a second-price auction.
//! - **Latency.** Promising `T = g·d < d` raises the score by `L(d) − L(T)` and the pay by the
//!   same amount, but is paid only with probability `s·g`. Comparing the two for every `X`:
//!   overstating by `g` beats the truthful bid for some rival field **iff `v < g·L(d)`**.
//!   So whenever the latency cost of the bidder's true delivery time does not exceed its
//!   break-even price (`L(d) ≤ v`, i.e. `λ·d/1000 ≤ C/s`), promising the true latency is
//!   (weakly) dominant for every overstatement factor, and together with the price argument
//!   truthful bidding is a dominant strategy. `λ` is the requester's to choose: a rule that
//!   prices time above the work itself invites promises no one keeps.
//!
//! [`evaluate`] measures this on the follower types with the auction's own ranking code, and
//! the tests check it (and that overstating does buy more wins, so the check is not vacuous).
//! Integer rounding moves the figures by at most a few µ.
//!
//! **What it does not protect against.** Collusion among bidders (a ring that keeps the
//! runner-up's score low raises the winner's pay); Sybil bids (one principal bidding under
//! many identities can set its own runner-up, or flood the table); a winner that accepts and
//! then fails for reasons the model does not capture (the fallback order and the session's
//! deposit and slashing rules handle what follows); and promises of speed worth more than
//! the work (`v < g·L(d)`, above). Identity, collusion and Sybil resistance are the trust
//! plane's: the host vets the winner (and each fallback) with the tiered verification
//! engine before it offers the task, and the ledger learns from every session.
//!
//! # Bounded and fair when full
//! At most [`AuctionConfig::max_bids`] bids are kept, one per provider. When the table is
//! full a new bid enters only by evicting the lowest-ranked bid kept, and only if it ranks
//! strictly higher ([`AuctionEvent::Evicted`]); otherwise it is refused
//! ([`AuctionError::Full`]). Room goes by merit, not by arrival order: Sybil identities can
//! flood bids, but only the best-scoring survive, and whoever wins is still vetted by the
//! trust plane before award.
//!
//! # Closing and counter-offers
//! Bids close at the intent's `bid_by`, converted at [`Auction::new`] to the monotonic clock
//! (`now.mono + (bid_by − now.wall)`). At [`Auction::handle_timeout`]:
//! - some kept bid meets the reserve: [`AuctionOutcome::Awarded`];
//! - no bids: [`AuctionOutcome::NoBids`];
//! - bids, none meeting the reserve, and fewer than [`AuctionConfig::max_rounds`] rounds
//!   held: one **counter-offer** goes to the best-ranked bidder not countered before whose
//!   latency leaves a positive price under the reserve. Its price is that price,
//!   `B − ⌊λ·latency/1000⌋`, the most the requester pays for that latency (score 0). The
//!   intent's `budget_min` is a hint to providers and does not bound a counter. One bidder
//!   per round, each at most once: a round walks one step down the ranking, so `max_rounds`
//!   rounds reach the best `max_rounds` bidders. The round lasts
//!   [`AuctionConfig::round_timeout`] (the counter's `answer_by`); it ends early once the
//!   countered bidder answers (a [`Bid`] with `round` = the counter's round, through
//!   [`Auction::handle_bid`]; [`Auction::poll_timeout`] then returns that moment), and the
//!   auction evaluates again;
//! - otherwise (no rounds left, or no one to counter): [`AuctionOutcome::NoAgreement`] with
//!   the best bid kept.
//!
//! An auction therefore closes by `bid_by + max_rounds · round_timeout`. After
//! [`AuctionEvent::Closed`] it takes nothing more ([`AuctionError::Late`]). A provider bids
//! once while bidding is open; later bids of the same or an earlier round are replays
//! ([`AuctionError::Replay`]); a round-`r` answer replaces its round-0 bid.
//!
//! # Driving it
//! After any input, drain [`Auction::poll_event`], then arm one timer at
//! [`Auction::poll_timeout`]; send each [`AuctionEvent::Counter`] to its provider; on
//! [`AuctionEvent::Closed`] vet and offer the task to the winner (or the fallbacks) with
//! the promised latency as execution deadline and `pay` as the payment. The crate docs have
//! a runnable example.

mod engine;
pub mod evaluate;
mod messages;
mod provider;
mod score;

pub use engine::{Auction, AuctionConfig, AuctionEvent, AuctionOutcome};
pub use messages::{AuctionError, Bid, Counter, MAX_CAPABILITY_LEN, is_capability_name};
pub use provider::{BidPolicy, answer_counter, bid_for};
pub use score::{Place, ScoreRule, check_bid, rank};

#[cfg(test)]
mod evaluate_tests;
#[cfg(test)]
mod tests;
