//! Intents and bids: a request that asks the network for offers instead of picking from
//! descriptors ([`Agent::request_by_intent`]), the provider side that answers such calls with
//! signed bids ([`ServePolicy::bid`](super::ServePolicy::bid)), and provider states (load and
//! availability as short-lived soft state, [`Agent::announce_state`]).
//!
//! # The requester
//! [`Agent::request_by_intent`] signs an
//! [`IntentAnnouncement`] (the task's intent as
//! its summary, the topic, the side effects, the tier the risk policy chose, the budget range,
//! when bids close and when the work is due) and announces it through bodyless gossip: the
//! header travels the topic's mesh, and only providers whose interest matches pull the body.
//! Their bids come back on the execution plane and enter an
//! [`Auction`] (the score rule, its second-score payment
//! and why overstating speed does not pay are in [`agentnet_mech::auction`]). When bids close
//! the auction awards, counter-offers a bounded number of rounds, or ends (no bids, no
//! agreement: the request completes with that reason). An award becomes an ordinary funnel
//! request whose candidates are the ranked bids: each is gated like any candidate (not
//! convicted, tier-1 reputation, reachable), offered the mechanism of its award (its pay, its
//! deposit, its promised latency as the execution deadline) at the request's tier with its
//! canaries, and on failure the next bid is tried. Progress arrives as
//! [`Stage::Announced`], [`Stage::Bid`], [`Stage::Countered`] and [`Stage::Awarded`], then the
//! usual stages and one [`AgentEvent::Completed`].
//!
//! # The provider
//! A service whose [`ServePolicy::bid`](super::ServePolicy::bid) is set follows intents in
//! its topic (the same topic: an award is offered in the intent's topic): the agent's intent interest (a gossip profile) is rebuilt from the summaries of
//! those services whenever one is served or withdrawn, so the bodies of other intents are
//! never pulled. An intent that arrives is matched to the most similar such service
//! ([`IntentConfig::match_threshold`]); a truthful bid (its floor price, its latency, its
//! deposit, its highest tier) is signed and sent to the requester, or kept until a link to it
//! is up ([`AgentEvent::IntentReceived`] carries the requester's endpoints so the host can
//! dial). A counter-offer is answered by [`answer_counter`]: accepted at the countered
//! price when it reaches the floor, otherwise the floor is restated. A service with
//! [`ServePolicy::advertise`](super::ServePolicy::advertise) off is never announced: it is
//! found only through intents.
//!
//! # Bounds
//! Auctions running count against [`FunnelConfig::max_requests`](super::FunnelConfig); each
//! keeps at most [`AuctionConfig::max_bids`] bids, and a bidder whose deliveries this agent
//! has verified keeps its room against any number of fresh identities
//! ([`Auction::handle_bid_with_standing`]); a convicted bidder is not heard. A provider remembers at most
//! [`IntentConfig::max_answered`] intents it bid on (oldest forgotten first: a counter to a
//! forgotten intent is refused) and keeps at most [`IntentConfig::max_pending`] bids waiting
//! for a link (oldest dropped first; each is dropped anyway when its intent's bids close).
//! Auctions are not persisted: a requester that restarts has committed to nothing, and its
//! request ended with it.

use std::collections::{BTreeMap, VecDeque};

use agentnet_core::descriptor::Topic;
use agentnet_core::intent::{IntentAnnouncement, IntentId};
use agentnet_core::{AgentId, Instant, LinkId, Now, RequestId, Signed, WallTime};
use agentnet_mech::auction::{
    Auction, AuctionConfig, AuctionEvent, AuctionOutcome, Bid, BidPolicy, Counter, ScoreRule,
    answer_counter, bid_for,
};
use agentnet_mech::mechanism::{Micros, Tier};
use bytes::Bytes;
use core::time::Duration;
use rand_core::Rng;

use super::requester::{Award, Pick, Request};
use super::{Agent, AgentError, AgentEvent, Stage, TaskRequest, TierChoice};

/// Bounds and rules of intents, bids and auctions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IntentConfig {
    /// The requester's auction: bids kept, counter-offer rounds, round timeout, least
    /// deposit ([`AuctionConfig`]).
    pub auction: AuctionConfig,
    /// How the requester scores bids ([`ScoreRule`]): the value of one second of promised
    /// delivery time. Default 0.1 unit per second. Overstating speed does not pay as long as
    /// this value times a bidder's true delivery time stays below its price
    /// ([`agentnet_mech::auction`] derives the condition): price time at what it is worth
    /// to the requester, no more. A missed promise is also a failed delivery in this agent's
    /// observations, so a provider that overstates is ranked lower next time.
    pub score: ScoreRule,
    /// Least similarity (the gossip encoder's cosine, `[-1, 1]`) between an intent and a
    /// service's summary for the service to bid. Default 0.3; range -1..=1. The same value is
    /// the gossip intent interest's threshold.
    pub match_threshold: f32,
    /// Intents a provider remembers having bid on (to answer their counter-offers). Default
    /// 256; range 1..=65 536.
    pub max_answered: usize,
    /// Bids waiting for a link to their requester. Default 64; range 1..=4 096.
    pub max_pending: usize,
}

impl Default for IntentConfig {
    fn default() -> Self {
        IntentConfig {
            auction: AuctionConfig::default(),
            score: ScoreRule::new(agentnet_mech::mechanism::UNIT / 10),
            match_threshold: 0.3,
            max_answered: 256,
            max_pending: 64,
        }
    }
}

/// A request put to the network as an intent: [`Agent::request_by_intent`].
#[derive(Clone, Debug)]
pub struct IntentRequest {
    /// The task (its intent text is the announcement's summary; its tier, canaries, value at
    /// risk and side effects apply as in [`Agent::request`]).
    pub task: TaskRequest,
    /// The topic the intent is announced in.
    pub topic: Topic,
    /// The least the requester expects to pay, µ (a hint to providers).
    pub budget_min: Micros,
    /// The most it pays, µ: the auction's reserve.
    pub budget_max: Micros,
    /// How long bids are taken. Default 2 s.
    pub bid_window: Duration,
    /// How long until the work must be done (the announcement lives as long). Default 60 s;
    /// at most 1 h.
    pub deadline: Duration,
    /// Longest delivery time accepted, ms (`None`: any).
    pub max_latency_ms: Option<u32>,
    /// Where providers can reach this agent (the host's listening addresses).
    pub endpoints: Vec<String>,
}

impl IntentRequest {
    /// An intent for `task` in `topic`, paying at most `budget_max` µ; bids for 2 s, work due
    /// within 60 s.
    pub fn new(task: TaskRequest, topic: Topic, budget_max: Micros) -> Self {
        IntentRequest {
            task,
            topic,
            budget_min: 0,
            budget_max,
            bid_window: Duration::from_secs(2),
            deadline: Duration::from_secs(60),
            max_latency_ms: None,
            endpoints: Vec::new(),
        }
    }
}

/// A requester's auction in progress.
#[derive(Debug)]
pub(super) struct Bidding {
    auction: Auction,
    intent: IntentId,
    task: TaskRequest,
    tier: Tier,
    topic: Topic,
}

/// An intent this provider bid on.
#[derive(Debug, Clone)]
struct Answered {
    requester: AgentId,
    capability: String,
    policy: BidPolicy,
}

/// The agent's intents: auctions it runs, intents it bid on, bids waiting for a link.
#[derive(Debug, Default)]
pub(super) struct Intents {
    bidding: BTreeMap<RequestId, Bidding>,
    by_intent: BTreeMap<IntentId, RequestId>,
    answered: BTreeMap<IntentId, Answered>,
    answered_order: VecDeque<IntentId>,
    /// (requester, frame, dropped at): oldest first.
    pending: VecDeque<(AgentId, Bytes, Instant)>,
}

impl Intents {
    pub(super) fn running(&self) -> usize {
        self.bidding.len()
    }

    pub(super) fn deadline(&self) -> Option<Instant> {
        let auctions = self
            .bidding
            .values()
            .filter_map(|b| b.auction.poll_timeout());
        let pending = self.pending.iter().map(|p| p.2);
        auctions.chain(pending).min()
    }
}

impl Agent {
    /// Put `req` to the network as a signed intent and award it to the best bid (see the
    /// [module docs](self)). Returns the request id that [`AgentEvent::Completed`] will
    /// carry.
    pub fn request_by_intent(
        &mut self,
        now: Now,
        req: IntentRequest,
    ) -> Result<RequestId, AgentError> {
        self.tick(now);
        let running = self.running_request_count();
        if running >= self.config.funnel.max_requests {
            return Err(AgentError::TooManyRequests(running));
        }
        let task = req.task;
        if task.input.len() > self.config.payload.max_payload {
            return Err(AgentError::PayloadTooLarge {
                size: task.input.len(),
                max: self.config.payload.max_payload,
            });
        }
        let (tier, reason) = match task.tier {
            TierChoice::Fixed(t) => (t, "set by the caller".to_string()),
            TierChoice::Auto => self.config.risk.tier(task.value_at_risk, task.side_effects),
        };
        let deadline = req.deadline.min(Duration::from_secs(3600));
        let announcement = IntentAnnouncement {
            requester: self.me,
            nonce: self.rng.next_u64(),
            topic: req.topic.clone(),
            summary: task.intent.clone(),
            tags: Vec::new(),
            max_side_effects: task.side_effects,
            tier: tier as u8,
            max_latency_ms: req.max_latency_ms,
            budget_min: req.budget_min,
            budget_max: req.budget_max,
            bid_by: now.wall + req.bid_window.min(deadline),
            deadline: now.wall + deadline,
            endpoints: req.endpoints,
            issued_at: now.wall,
            ttl_ms: deadline.as_millis() as u32,
        };
        // Field checks happen in `Auction::new`, freshness when the gossip engine publishes.
        let signed = Signed::sign(&self.keys, announcement)?;
        let auction = Auction::new(
            now,
            &signed,
            self.config.intents.score,
            self.config.intents.auction,
        )
        .map_err(|e| AgentError::BadRequest(e.to_string()))?;
        let id = signed.hash();
        self.ensure_topic(&req.topic);
        self.gossip.publish_signed_intent(now, &signed)?;
        let rid = self.next_request_id();
        self.intents.by_intent.insert(id, rid);
        self.intents.bidding.insert(
            rid,
            Bidding {
                auction,
                intent: id,
                task,
                tier,
                topic: req.topic,
            },
        );
        self.event(AgentEvent::Progress {
            request: rid,
            stage: Stage::TierChosen { tier, reason },
        });
        self.event(AgentEvent::Progress {
            request: rid,
            stage: Stage::Announced {
                intent: id,
                bid_by: signed.bid_by,
            },
        });
        self.pump(now);
        Ok(rid)
    }

    /// State this agent's load and availability (short-lived soft state, see
    /// [`GossipEngine::publish_state`](agentnet_gossip::GossipEngine::publish_state)): requesters
    /// holding its descriptors skip it while it says it is unavailable and try it last while
    /// its load is at or above [`FunnelConfig::busy_load_bp`](super::FunnelConfig). The state
    /// lapses after its TTL unless stated again. Returns how many topic logs carry it.
    pub fn announce_state(
        &mut self,
        now: Now,
        load_bp: u16,
        available: bool,
        queued: u32,
    ) -> Result<usize, AgentError> {
        self.tick(now);
        let n = self.gossip.publish_state(now, load_bp, available, queued)?;
        self.pump(now);
        Ok(n)
    }

    /// Rebuild the gossip intent interest from the services that bid.
    pub(super) fn refresh_intent_interest(&mut self) {
        let threshold = self.config.intents.match_threshold;
        let bidding: Vec<(&Topic, &str)> = self
            .served
            .values()
            .filter(|s| s.policy.bid.is_some())
            .map(|s| (&s.topic, s.summary.as_str()))
            .collect();
        let profile = if bidding.is_empty() {
            agentnet_gossip::InterestProfile::none()
        } else {
            let texts: Vec<&str> = bidding.iter().map(|b| b.1).collect();
            let topics: Vec<Topic> = bidding.iter().map(|b| b.0.clone()).collect();
            self.gossip
                .interest_from_texts(&texts, threshold)
                .with_topics(topics)
        };
        self.gossip.set_intent_interest(profile);
    }

    /// An intent arrived through gossip: bid with the best-matching service, if any.
    pub(super) fn on_intent(&mut self, now: Now, intent: Signed<IntentAnnouncement>) {
        if intent.requester == self.me {
            return;
        }
        let id = intent.hash();
        let threshold = self.config.intents.match_threshold;
        let mut best: Option<(f32, String, BidPolicy)> = None;
        let convicted = self.is_convicted(&intent.requester);
        for (name, s) in &self.served {
            let Some(policy) = s.policy.bid else { continue };
            // The same topic, not a narrower one: the award's offer names the intent's topic,
            // and a service takes offers in its own topic only.
            if intent.topic != s.topic || (convicted && s.policy.refuse_convicted) {
                continue;
            }
            let sim = self.gossip.text_similarity(&intent.summary, &s.summary);
            if sim >= threshold && best.as_ref().is_none_or(|b| sim > b.0) {
                best = Some((sim, name.clone(), policy));
            }
        }
        let bid = best.as_ref().and_then(|(_, capability, policy)| {
            bid_for(policy, &intent, self.me, capability, now)
                .and_then(|b| Signed::sign(&self.keys, b).ok())
                .map(|b| (b, capability.clone(), *policy))
        });
        let linked = self.routes.contains_key(&intent.requester);
        self.event(AgentEvent::IntentReceived {
            intent: id,
            requester: intent.requester,
            summary: intent.summary.clone(),
            bid: bid
                .as_ref()
                .map(|(b, c, _)| (c.clone(), b.price, b.latency_ms)),
            endpoints: if linked {
                Vec::new()
            } else {
                intent.endpoints.clone()
            },
        });
        let Some((bid, capability, policy)) = bid else {
            return;
        };
        self.remember_answered(
            id,
            Answered {
                requester: intent.requester,
                capability,
                policy,
            },
        );
        let until = now.mono + wall_until(now, intent.bid_by);
        self.send_or_keep(now, intent.requester, bid.to_frame(), until);
    }

    fn remember_answered(&mut self, id: IntentId, a: Answered) {
        if self.intents.answered.insert(id, a).is_none() {
            self.intents.answered_order.push_back(id);
        }
        while self.intents.answered_order.len() > self.config.intents.max_answered {
            if let Some(old) = self.intents.answered_order.pop_front() {
                self.intents.answered.remove(&old);
            }
        }
    }

    fn send_or_keep(&mut self, now: Now, to: AgentId, frame: Bytes, until: Instant) {
        if let Some(link) = self.routes.get(&to).copied() {
            self.send(link, frame);
            return;
        }
        if until <= now.mono {
            return;
        }
        self.intents.pending.push_back((to, frame, until));
        while self.intents.pending.len() > self.config.intents.max_pending {
            self.intents.pending.pop_front();
        }
    }

    /// A verified link to `agent` came up: send the bids waiting for it.
    pub(super) fn flush_bids(&mut self, agent: AgentId, link: LinkId) {
        let (ready, rest): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut self.intents.pending)
            .into_iter()
            .partition(|p| p.0 == agent);
        self.intents.pending = rest;
        for (_, frame, _) in ready {
            self.send(link, frame);
        }
    }

    /// A BID frame: the requester's auction takes it or refuses it.
    pub(super) fn on_bid(&mut self, now: Now, frame: &Bytes) -> Result<(), AgentError> {
        let bid = Signed::<Bid>::from_frame(frame, &self.limits)?;
        let rid = *self
            .intents
            .by_intent
            .get(&bid.intent)
            .ok_or_else(|| AgentError::Auction("a bid for no auction running here".into()))?;
        let stage = Stage::Bid {
            provider: bid.provider,
            price: bid.price,
            latency_ms: bid.latency_ms,
            round: bid.round,
        };
        // A convicted bidder is not heard; one whose deliveries this agent has verified keeps
        // its room in a full auction against any number of fresh identities.
        if self.is_convicted(&bid.provider) {
            return Err(AgentError::Auction("the bidder is convicted".into()));
        }
        let standing =
            self.class_of(&bid.provider, &bid.capability) == agentnet_trust::depth::Class::Proven;
        let b = self
            .intents
            .bidding
            .get_mut(&rid)
            .ok_or_else(|| AgentError::Auction("a bid for no auction running here".into()))?;
        b.auction
            .handle_bid_with_standing(now, bid, standing)
            .map_err(|e| AgentError::Auction(e.to_string()))?;
        self.event(AgentEvent::Progress {
            request: rid,
            stage,
        });
        self.drive_auction(now, rid);
        Ok(())
    }

    /// A COUNTER frame: answer it if this agent bid on its intent.
    pub(super) fn on_counter(
        &mut self,
        now: Now,
        from: LinkId,
        frame: &Bytes,
    ) -> Result<(), AgentError> {
        let counter = Signed::<Counter>::from_frame(frame, &self.limits)?;
        let a = self
            .intents
            .answered
            .get(&counter.intent)
            .filter(|a| a.requester == counter.requester && counter.provider == self.me)
            .ok_or_else(|| AgentError::Auction("a counter-offer to no bid of ours".into()))?;
        let answer = answer_counter(&a.policy, &counter, &a.capability, now);
        let signed = Signed::sign(&self.keys, answer)?;
        let link = self.routes.get(&counter.requester).copied().unwrap_or(from);
        self.send(link, signed.to_frame());
        Ok(())
    }

    /// Run every auction's and pending bid's timers.
    pub(super) fn intents_timeout(&mut self, now: Now) {
        self.intents.pending.retain(|p| p.2 > now.mono);
        let due: Vec<RequestId> = self
            .intents
            .bidding
            .iter()
            .filter(|(_, b)| b.auction.poll_timeout().is_some_and(|t| t <= now.mono))
            .map(|(r, _)| *r)
            .collect();
        for rid in due {
            if let Some(b) = self.intents.bidding.get_mut(&rid) {
                // Signing with this agent's own key (the intent's requester) does not fail.
                let _ = b.auction.handle_timeout(now, &self.keys);
            }
            self.drive_auction(now, rid);
        }
    }

    /// Drain an auction's events: counter-offers go out, a close awards or ends the request.
    fn drive_auction(&mut self, now: Now, rid: RequestId) {
        loop {
            let Some(e) = self
                .intents
                .bidding
                .get_mut(&rid)
                .and_then(|b| b.auction.poll_event())
            else {
                return;
            };
            match e {
                AuctionEvent::Counter(c) => {
                    let stage = Stage::Countered {
                        provider: c.provider,
                        price: c.price,
                        round: c.round,
                    };
                    if let Some(link) = self.routes.get(&c.provider).copied() {
                        self.send(link, c.to_frame());
                    }
                    self.event(AgentEvent::Progress {
                        request: rid,
                        stage,
                    });
                }
                AuctionEvent::Closed(outcome) => {
                    self.close_auction(now, rid, outcome);
                    return;
                }
                _ => {}
            }
        }
    }

    fn close_auction(&mut self, now: Now, rid: RequestId, outcome: AuctionOutcome) {
        let Some(b) = self.intents.bidding.remove(&rid) else {
            return;
        };
        self.intents.by_intent.remove(&b.intent);
        let mut queue = VecDeque::new();
        let failure = match outcome {
            AuctionOutcome::Awarded {
                winner,
                pay,
                fallbacks,
            } => {
                self.event(AgentEvent::Progress {
                    request: rid,
                    stage: Stage::Awarded {
                        provider: winner.provider,
                        pay,
                        fallbacks: fallbacks.len(),
                    },
                });
                for (bid, pay) in std::iter::once((winner, pay)).chain(fallbacks) {
                    queue.push_back(Pick {
                        provider: bid.provider,
                        capability: bid.capability.clone(),
                        topic: b.topic.clone(),
                        award: Some(Award {
                            pay,
                            deposit: bid.deposit,
                            latency_ms: bid.latency_ms,
                        }),
                    });
                }
                None
            }
            AuctionOutcome::NoBids => Some("no provider bid on the intent".to_string()),
            AuctionOutcome::NoAgreement { rounds, .. } => Some(format!(
                "no bid within the budget after {rounds} counter-offer rounds"
            )),
        };
        self.requests.insert(
            rid,
            Request {
                task: b.task,
                tier: b.tier,
                queue,
                attempts: Vec::new(),
                tries: 0,
                current: None,
            },
        );
        match failure {
            Some(why) => self.complete(rid, Err(why), None, 0),
            None => self.next_attempt(now, rid),
        }
    }
}

/// How long from `now` until the wall-clock time `at` (zero if past).
fn wall_until(now: Now, at: WallTime) -> Duration {
    Duration::from_millis(
        at.as_unix_millis()
            .saturating_sub(now.wall.as_unix_millis()),
    )
}
