//! # agentnet-mech
//!
//! The execution plane of agentnet (`DESIGN.md` §7): the rules under which agents cooperate on
//! a task, generated and repaired by a leader that anticipates how followers respond, and the
//! session that carries one task from offer to settlement.
//!
//! **What it does.**
//! - [`mechanism`]: versioned, signed, validated sets of clauses (payment rule, quality
//!   threshold, deposit, slashing ratio, verification tier, deadlines, custom clauses), each
//!   with typed parameters and text, identified by the hash of their encoding.
//! - [`follower`]: typed follower models (honest, lazy, adversarial, colluding, Sybil) and
//!   their exact best responses over a finite strategy space.
//! - [`evaluate`]: IC violation, IR violation, system loss, budget balance and regression over
//!   a suite of scenarios (formulas in the module docs).
//! - [`stackelberg`]: the mechanism-generation loop as a sans-IO engine, with two designers
//!   behind [`design::Designer`]: the built-in deterministic one ([`design`]) and the LLM
//!   designer ([`llm`]), whose model calls are effects the host completes.
//! - [`auction`]: a requester's auction of a signed intent: signed bids, a strategy-aware
//!   score rule with second-score payment, bounded counter-offer rounds, an award with a
//!   fallback order; and the provider's truthful bid ([`auction::bid_for`]).
//! - [`session`]: task sessions (negotiate → execute → settle) with deadlines, evidence checks,
//!   slashing on verified fraud proofs and feedback for the trust ledger.
//!
//! **What it does not do.** No I/O, no async, no clock reads, no randomness: time comes in as
//! [`agentnet_core::Now`], model answers as text through `handle_llm_response`. It never calls
//! a language model (the host does, e.g. with the OpenAI-compatible adapter in
//! `agentnet-transport`) and never moves money (sessions compute and sign settlement
//! statements; the host's payment rail executes them). The follower models are a planning
//! tool for the leader: the sessions do not assume followers behave as modelled.
//!
//! # Drive loop (mechanism generation)
//! Like every engine: after any input or command, drain the events, then arm one timer at
//! `poll_timeout`. The next iteration is such a deadline, so there is no `step` to call.
//! ```text
//! let mut lp = MechanismLoop::new(config, naive_mechanism, Box::new(LlmDesigner::new()))?;
//! lp.add_scenario(scenario)?;                       // more may arrive at any time
//! loop {
//!     input = timer fired | the model answered (or failed) request id | a new scenario
//!     lp.handle_timeout(now)                        // runs one due iteration, or expires a request
//!       / lp.handle_llm_response(now, id, &text)    // or lp.handle_llm_failure(now, id, why)
//!       / lp.add_scenario(scenario)?
//!     while let Some(ev) = lp.poll_event() {
//!         match ev {
//!             LoopEvent::LlmRequest { id, prompt, deadline } =>
//!                 host.ask_model(id, prompt, deadline),     // its answer is a later input
//!             LoopEvent::Accepted(m) => host.publish(Signed::sign(&leader_key, *m)?),
//!             LoopEvent::Iteration(record) => host.log(record),
//!             _ => {}
//!         }
//!     }
//!     arm one timer at lp.poll_timeout()            // None: idle until a new scenario
//! }
//! ```
//! A runnable version is in the [`stackelberg`] docs; the `mechanism_loop` example drives it
//! with both designers.
//!
//! # Drive loop (auction)
//! A requester auctions an intent; two providers bid truthfully; bids close at `bid_by` and
//! the better score wins, paid the price at which its score would equal the runner-up's.
//! ```
//! use agentnet_core::descriptor::{SideEffects, Topic};
//! use agentnet_core::intent::IntentAnnouncement;
//! use agentnet_core::{Instant, Keypair, Now, Signed, WallTime};
//! use agentnet_mech::auction::*;
//! use agentnet_mech::mechanism::{Tier, UNIT};
//! use core::time::Duration;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = Now::new(Instant::from_secs(100), WallTime::from_unix_millis(1_800_000_000_000));
//! let requester = Keypair::from_seed([1; 32]);
//! let intent = Signed::sign(&requester, IntentAnnouncement {
//!     requester: requester.id(),
//!     nonce: 7,
//!     topic: Topic::new("creative/image")?,
//!     summary: "draw a cat".into(),
//!     tags: vec![],
//!     max_side_effects: SideEffects::None,
//!     tier: 2,
//!     max_latency_ms: Some(60_000),
//!     budget_min: UNIT,
//!     budget_max: 10 * UNIT,
//!     bid_by: now.wall + Duration::from_secs(1),
//!     deadline: now.wall + Duration::from_secs(120),
//!     endpoints: vec![],
//!     issued_at: now.wall,
//!     ttl_ms: 60_000,
//! })?;
//! // One unit of value per second of delivery time.
//! let mut auction = Auction::new(now, &intent, ScoreRule::default(), AuctionConfig::default())?;
//!
//! // Providers: a fast one (3 units, 2 s) and a cheap, slow one (2 units, 5 s).
//! for (seed, floor, latency_ms) in [(2u8, 3 * UNIT, 2_000), (3, 2 * UNIT, 5_000)] {
//!     let key = Keypair::from_seed([seed; 32]);
//!     let policy = BidPolicy { floor, ask: None, latency_ms, deposit: 0, max_tier: Tier::Evidence };
//!     let bid = bid_for(&policy, &intent, key.id(), "image.generate", now).expect("in range");
//!     auction.handle_bid(now, Signed::sign(&key, bid)?)?;
//! }
//!
//! // The host's timer fires at poll_timeout; drain the events after each input.
//! let at = auction.poll_timeout().expect("bids close at bid_by");
//! auction.handle_timeout(now.at(at), &requester)?;
//! while let Some(ev) = auction.poll_event() {
//!     match ev {
//!         AuctionEvent::Counter(c) => { /* send to c.provider */ let _ = c; }
//!         AuctionEvent::Closed(AuctionOutcome::Awarded { winner, pay, fallbacks }) => {
//!             // Scores: 10 − 3 − 2 = 5 and 10 − 2 − 5 = 3: the fast bid wins and is paid
//!             // 3 + (5 − 3) = 5 units; the slow one is the fallback at its reserve pay.
//!             assert_eq!(winner.latency_ms, 2_000);
//!             assert_eq!(pay, 5 * UNIT);
//!             assert_eq!(fallbacks[0].1, 5 * UNIT);
//!         }
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! assert!(auction.is_closed() && auction.poll_timeout().is_none());
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod auction;
pub mod design;
pub mod evaluate;
pub mod follower;
pub mod llm;
pub mod mechanism;
pub mod session;
pub mod stackelberg;
pub mod wire;
