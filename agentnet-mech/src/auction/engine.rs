//! The requester's auction engine (sans-IO): bids in, counter-offers and the outcome out.

use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use agentnet_core::config::check_range;
use agentnet_core::intent::{IntentAnnouncement, IntentId};
use agentnet_core::{AgentId, Instant, Now, Signed, Signer};

use super::messages::{AuctionError, Bid, Counter};
use super::score::{ScoreRule, check_bid, check_rule, order, rank};
use crate::mechanism::Micros;

/// Bounds of an [`Auction`]. Start from [`AuctionConfig::default`]; out-of-range values are
/// refused when the auction is built ([`validate`](Self::validate)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuctionConfig {
    /// Bids kept at once. Default 32; range 1..=1024. When full, a new bid enters only by
    /// evicting the lowest-scoring bid kept, and only if it scores higher — except that a bid
    /// from a provider with standing ([`Auction::handle_bid_with_standing`]) is never
    /// evicted for one without, and evicts the lowest-scoring bid without standing first.
    pub max_bids: usize,
    /// Counter-offer rounds after bids close. Default 2; range 0..=8.
    pub max_rounds: u8,
    /// How long a countered bidder has to answer. Default 2 s; range 10 ms..=60 s.
    pub round_timeout: Duration,
    /// Least deposit a bid must offer, µ. Default 0.
    pub min_deposit: Micros,
}

impl Default for AuctionConfig {
    fn default() -> Self {
        AuctionConfig {
            max_bids: 32,
            max_rounds: 2,
            round_timeout: Duration::from_secs(2),
            min_deposit: 0,
        }
    }
}

impl AuctionConfig {
    /// Check every field against its documented range.
    pub fn validate(&self) -> Result<(), agentnet_core::ConfigError> {
        check_range("max_bids", self.max_bids, 1..=1024, "1..=1024")?;
        check_range("max_rounds", self.max_rounds, 0..=8, "0..=8")?;
        check_range(
            "round_timeout",
            self.round_timeout,
            Duration::from_millis(10)..=Duration::from_secs(60),
            "10 ms..=60 s",
        )
    }
}

/// How an auction ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuctionOutcome {
    /// A bid met the reserve and won.
    Awarded {
        /// The winning bid; its latency is the session's execution deadline.
        winner: Signed<Bid>,
        /// What the winner is paid on a delivery within its latency (second-score pay), µ.
        pay: Micros,
        /// The other bids meeting the reserve, best first, each with its pay against the one
        /// below it: the order to fall back on if the winner fails (is refused by the trust
        /// plane, declines or times out).
        fallbacks: Vec<(Signed<Bid>, Micros)>,
    },
    /// Bids came, none met the reserve, and the counter-offer rounds did not change that.
    NoAgreement {
        /// The best-scoring bid kept, if any.
        best: Option<Signed<Bid>>,
        /// Counter-offer rounds held.
        rounds: u8,
    },
    /// No eligible bid arrived before bids closed.
    NoBids,
}

/// What an [`Auction`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuctionEvent {
    /// A counter-offer to send to its provider.
    Counter(Signed<Counter>),
    /// The table was full and this bid was dropped for a better-scoring one.
    Evicted(Signed<Bid>),
    /// The auction is over; nothing follows.
    Closed(AuctionOutcome),
}

/// Events kept undrained before the oldest eviction report is dropped.
const MAX_EVENTS: usize = 64;

/// A requester's auction of one intent. See the [module docs](super).
#[derive(Debug)]
pub struct Auction {
    intent: Signed<IntentAnnouncement>,
    id: IntentId,
    rule: ScoreRule,
    config: AuctionConfig,
    /// The kept bids, one per provider.
    bids: BTreeMap<AgentId, Signed<Bid>>,
    /// Kept bidders the requester vouched for (see `handle_bid_with_standing`).
    standing: BTreeSet<AgentId>,
    /// 0 while bidding; `r` during counter round `r`.
    round: u8,
    /// Countered in the current round and not yet answered.
    waiting: BTreeSet<AgentId>,
    /// Countered in an earlier round (not countered again).
    countered: BTreeSet<AgentId>,
    /// End of bidding or of the current round; `None` once closed.
    deadline: Option<Instant>,
    events: VecDeque<AuctionEvent>,
}

impl Auction {
    /// An auction of `intent` under `rule` and `config`. Bids close at the intent's
    /// `bid_by`, converted to the monotonic clock at `now`: `now.mono + (bid_by − now.wall)`
    /// (at once if `bid_by` has passed). Refuses an out-of-range config or rule and an
    /// intent that fails its field checks.
    pub fn new(
        now: Now,
        intent: &Signed<IntentAnnouncement>,
        rule: ScoreRule,
        config: AuctionConfig,
    ) -> Result<Auction, AuctionError> {
        config.validate()?;
        check_rule(&rule)?;
        intent.validate_fields()?;
        let wait = intent.bid_by.saturating_duration_since(now.wall);
        Ok(Auction {
            id: IntentAnnouncement::id_of(intent),
            intent: intent.clone(),
            rule,
            config,
            bids: BTreeMap::new(),
            standing: BTreeSet::new(),
            round: 0,
            waiting: BTreeSet::new(),
            countered: BTreeSet::new(),
            deadline: Some(now.mono.saturating_add(wait)),
            events: VecDeque::new(),
        })
    }

    /// Take a bid: a first bid (round 0) while bidding is open, or the answer to this
    /// round's counter-offer from the provider it was sent to. Checks in order: closed or
    /// past the deadline → [`Late`](AuctionError::Late); the bid's own eligibility
    /// ([`check_bid`]); its round; then room in the table. A refused bid changes nothing.
    pub fn handle_bid(&mut self, now: Now, bid: Signed<Bid>) -> Result<(), AuctionError> {
        self.handle_bid_with_standing(now, bid, false)
    }

    /// [`handle_bid`](Self::handle_bid) for a bidder the requester vouches for (`standing`:
    /// for example one whose deliveries it has verified). Standing decides only who keeps
    /// room in a full table, never the ranking or the pay: identities cost nothing, so a
    /// flood of fresh bidders scoring better could otherwise push every proven provider out
    /// of the table (and out of the fallbacks) before bids close. In a full table a bid with
    /// standing evicts the lowest-scoring bid without standing, whatever the scores (or, when
    /// every kept bid has standing, the lowest-scoring one if it scores higher); a bid
    /// without standing can only evict a lower-scoring bid without standing.
    pub fn handle_bid_with_standing(
        &mut self,
        now: Now,
        bid: Signed<Bid>,
        standing: bool,
    ) -> Result<(), AuctionError> {
        let Some(deadline) = self.deadline else {
            return Err(AuctionError::Late);
        };
        if now.mono >= deadline {
            return Err(AuctionError::Late);
        }
        check_bid(&self.intent, &self.id, self.config.min_deposit, &bid)?;
        if bid.round > self.config.max_rounds {
            return Err(AuctionError::TooManyRounds {
                round: bid.round,
                max: self.config.max_rounds,
            });
        }
        let kept = self.bids.get(&bid.provider);
        if let Some(k) = kept
            && bid.round <= k.round
        {
            return Err(AuctionError::Replay {
                round: bid.round,
                kept: k.round,
            });
        }
        if bid.round == 0 && self.round > 0 {
            return Err(AuctionError::Late);
        }
        if bid.round > 0 && (bid.round != self.round || !self.waiting.contains(&bid.provider)) {
            return Err(AuctionError::NotCountered {
                round: bid.round,
                current: self.round,
            });
        }
        if kept.is_none() && self.bids.len() >= self.config.max_bids {
            let budget = self.intent.budget_max;
            let worst_of = |with_standing: bool| {
                self.bids
                    .values()
                    .filter(|b| self.standing.contains(&b.provider) == with_standing)
                    .max_by(|a, b| order(&self.rule, budget, a, b))
                    .map(|w| w.provider)
            };
            let (worst, by_score) = match (worst_of(false), standing) {
                // A vouched-for bidder takes the room of the worst stranger, scores aside.
                (Some(w), true) => (w, false),
                (Some(w), false) => (w, true),
                (None, true) => match worst_of(true) {
                    Some(w) => (w, true),
                    None => return Err(AuctionError::Full),
                },
                (None, false) => return Err(AuctionError::Full),
            };
            if by_score && order(&self.rule, budget, &bid, &self.bids[&worst]).is_ge() {
                return Err(AuctionError::Full);
            }
            if let Some(evicted) = self.bids.remove(&worst) {
                self.standing.remove(&worst);
                self.push_event(AuctionEvent::Evicted(evicted));
            }
        }
        if bid.round > 0 {
            self.waiting.remove(&bid.provider);
            if self.waiting.is_empty() {
                // Everyone countered has answered: the round ends now.
                self.deadline = Some(now.mono);
            }
        }
        if standing {
            self.standing.insert(bid.provider);
        }
        self.bids.insert(bid.provider, bid);
        Ok(())
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due: the close of bidding or of
    /// the current counter round; `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }

    /// Close bidding or the current round if its deadline has come: award, counter, or end
    /// without agreement (module docs, "Closing"). `signer` must be the requester's; it
    /// signs the counter-offers. Before the deadline, and after the close, this does
    /// nothing. On an error nothing changes.
    pub fn handle_timeout(&mut self, now: Now, signer: &dyn Signer) -> Result<(), AuctionError> {
        let Some(deadline) = self.deadline else {
            return Ok(());
        };
        if now.mono < deadline {
            return Ok(());
        }
        if signer.agent_id() != self.intent.requester {
            return Err(AuctionError::WrongSigner {
                signer: signer.agent_id(),
                requester: self.intent.requester,
            });
        }
        if let Some(outcome) = self.award() {
            self.close(outcome);
            return Ok(());
        }
        if self.bids.is_empty() {
            self.close(AuctionOutcome::NoBids);
            return Ok(());
        }
        if self.round < self.config.max_rounds
            && let Some((provider, price)) = self.counter_target()
        {
            let answer_by = now.wall + self.config.round_timeout;
            let counter = Counter {
                intent: self.id,
                requester: self.intent.requester,
                provider,
                round: self.round + 1,
                price,
                issued_at: now.wall,
                answer_by,
            };
            let signed = Signed::sign(signer, counter)?;
            self.round += 1;
            self.countered.insert(provider);
            self.waiting = BTreeSet::from([provider]);
            self.deadline = Some(now.mono.saturating_add(self.config.round_timeout));
            self.push_event(AuctionEvent::Counter(signed));
            return Ok(());
        }
        let best = self.best().cloned();
        let rounds = self.round;
        self.close(AuctionOutcome::NoAgreement { best, rounds });
        Ok(())
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<AuctionEvent> {
        self.events.pop_front()
    }

    /// The bids kept, in provider-id order.
    pub fn bids(&self) -> impl Iterator<Item = &Signed<Bid>> {
        self.bids.values()
    }

    /// The bids meeting the reserve, best first, each with its second-score pay: the
    /// award as it would be if bidding closed now.
    pub fn ranking(&self) -> Vec<(Signed<Bid>, Micros)> {
        let kept: Vec<&Signed<Bid>> = self.bids.values().collect();
        let plain: Vec<&Bid> = kept.iter().map(|b| &***b).collect();
        rank(&self.rule, self.intent.budget_max, &plain)
            .into_iter()
            .map(|p| (kept[p.index].clone(), p.pay))
            .collect()
    }

    /// 0 while bidding; `r` during (or after) counter round `r`.
    pub fn round(&self) -> u8 {
        self.round
    }

    /// Whether the auction has closed.
    pub fn is_closed(&self) -> bool {
        self.deadline.is_none()
    }

    /// The intent auctioned.
    pub fn intent(&self) -> &Signed<IntentAnnouncement> {
        &self.intent
    }

    /// Its id (what bids must name).
    pub fn intent_id(&self) -> IntentId {
        self.id
    }

    /// The score rule.
    pub fn rule(&self) -> ScoreRule {
        self.rule
    }

    fn award(&self) -> Option<AuctionOutcome> {
        let mut ranked = self.ranking().into_iter();
        let (winner, pay) = ranked.next()?;
        Some(AuctionOutcome::Awarded {
            winner,
            pay,
            fallbacks: ranked.collect(),
        })
    }

    fn best(&self) -> Option<&Signed<Bid>> {
        let budget = self.intent.budget_max;
        self.bids
            .values()
            .min_by(|a, b| order(&self.rule, budget, a, b))
    }

    /// The best-scoring bidder not countered before whose latency leaves a positive price
    /// under the reserve, with that price (which gives it score 0).
    fn counter_target(&self) -> Option<(AgentId, Micros)> {
        let budget = self.intent.budget_max;
        let mut candidates: Vec<&Signed<Bid>> = self
            .bids
            .values()
            .filter(|b| !self.countered.contains(&b.provider))
            .collect();
        candidates.sort_by(|a, b| order(&self.rule, budget, a, b));
        candidates.into_iter().find_map(|b| {
            let price = self.rule.reserve_price(budget, b.latency_ms)?;
            (price > 0).then_some((b.provider, price))
        })
    }

    fn close(&mut self, outcome: AuctionOutcome) {
        self.deadline = None;
        self.waiting.clear();
        self.push_event(AuctionEvent::Closed(outcome));
    }

    fn push_event(&mut self, ev: AuctionEvent) {
        if self.events.len() >= MAX_EVENTS
            && let Some(i) = self
                .events
                .iter()
                .position(|e| matches!(e, AuctionEvent::Evicted(_)))
        {
            self.events.remove(i);
        }
        self.events.push_back(ev);
    }
}
