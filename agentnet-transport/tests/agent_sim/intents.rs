//! Intents, bids and provider states in the simulator: a requester announces an intent,
//! providers that follow matching intents bid (one of them never advertised), the auction
//! awards by its score rule, and the award runs through the funnel and settles at the
//! auction's pay.

use agentnet_core::intent::IntentId;
use agentnet_mech::auction::BidPolicy;
use agentnet_transport::agent::{IntentRequest, Stage};

use super::*;

const IMAGE: &str = "creative/image";

/// What a provider of the intent world serves, and on which terms it bids.
struct Offer {
    capability: &'static str,
    topic: &'static str,
    summary: &'static str,
    bid: Option<BidPolicy>,
    advertise: bool,
}

fn bid(floor_units: u64, latency_ms: u32) -> Option<BidPolicy> {
    Some(BidPolicy {
        floor: floor_units * UNIT,
        ask: None,
        latency_ms,
        deposit: 0,
        max_tier: Tier::Evidence,
    })
}

/// Node 0 is the requester; node `i + 1` serves `offers[i]` (answering in upper case).
fn intent_world(run: u8, offers: &[Offer]) -> World {
    intent_world_with(run, offers, |_| {})
}

/// [`intent_world`], the requester's config passed through `configure`.
fn intent_world_with(run: u8, offers: &[Offer], configure: impl Fn(&mut AgentConfig)) -> World {
    let mut sim = Sim::new(SimConfig::seeded(u64::from(run) + 100));
    let now = sim.now();
    let mut ids = Vec::new();
    for i in 0..=offers.len() {
        let s = seed(i as u8 + 1, run);
        let mut ac = config(s);
        if i == 0 {
            configure(&mut ac);
        }
        let agent = Agent::new(Keypair::from_seed(s), ac, now).expect("valid config");
        let handler = (i > 0).then(upper);
        let id = sim.add_node(SimHost::new(agent, handler));
        if i > 0 {
            let o = &offers[i - 1];
            let d = CapabilityDescriptor::builder(
                Keypair::from_seed(s).id(),
                o.capability,
                o.topic,
                o.summary,
            )
            .ttl(Duration::from_secs(600))
            .build(now)
            .expect("descriptor");
            let policy = ServePolicy {
                bid: o.bid,
                advertise: o.advertise,
                ..ServePolicy::default()
            };
            sim.command(id, |h, now| h.agent_mut().serve(now, d, policy))
                .expect("up")
                .expect("serve");
        } else {
            follow(&mut sim, id, IMAGE);
        }
        ids.push(id);
    }
    linked(sim, ids)
}

/// The stages of request `id` at node 0 and its outcome, running until it completes; and
/// every `IntentReceived` any node reported (node index, intent, whether it bid).
#[derive(Debug)]
struct Ran {
    stages: Vec<Stage>,
    outcome: TaskOutcome,
    received: Vec<(usize, IntentId, bool)>,
}

fn run_intent(w: &mut World, req: IntentRequest) -> Ran {
    let id = w
        .sim
        .command(w.ids[0], |h, now| h.agent_mut().request_by_intent(now, req))
        .expect("up")
        .expect("announced");
    let mut stages = Vec::new();
    let mut received = Vec::new();
    for _ in 0..1200 {
        w.sim.run_for(Duration::from_millis(100));
        for (_, node, e) in w.sim.drain_events() {
            let at = w.ids.iter().position(|n| *n == node).expect("a node");
            match e {
                AgentEvent::Progress { request, stage } if at == 0 && request == id => {
                    stages.push(stage)
                }
                AgentEvent::IntentReceived { intent, bid, .. } => {
                    received.push((at, intent, bid.is_some()))
                }
                AgentEvent::Completed(o) if at == 0 && o.request == id => {
                    return Ran {
                        stages,
                        outcome: *o,
                        received,
                    };
                }
                _ => {}
            }
        }
    }
    panic!("the request did not end: {stages:?}");
}

fn image_request(budget_units: u64) -> IntentRequest {
    let task = TaskRequest::new("generate an image from my text prompt", &b"a cat"[..])
        .tier(Tier::Reputation);
    IntentRequest::new(task, Topic::new(IMAGE).unwrap(), budget_units * UNIT)
}

const IMAGES: &str = "generate an image from a text prompt";

/// Two image providers bid (the cheaper one never advertised), a translator in another
/// topic and one in the same topic with an unrelated capability never see the intent's
/// body; the best score wins and is paid the second-best score's price.
#[test]
fn bids_are_awarded_by_score_and_paid_the_second_score() {
    let offers = [
        Offer {
            capability: "image.fast",
            topic: IMAGE,
            summary: IMAGES,
            bid: bid(3, 500),
            advertise: true,
        },
        Offer {
            capability: "image.cheap",
            topic: IMAGE,
            summary: IMAGES,
            bid: bid(2, 800),
            advertise: false,
        },
        Offer {
            capability: "legal.translate",
            topic: IMAGE,
            summary: "translate legal contracts into french",
            bid: bid(1, 100),
            advertise: true,
        },
        Offer {
            capability: "text.translate",
            topic: "text/translate",
            summary: IMAGES,
            bid: bid(1, 100),
            advertise: true,
        },
    ];
    let mut w = intent_world(1, &offers);
    let cheap = id_of(&w, 2);
    let r = run_intent(&mut w, image_request(10));
    // Only the two image providers pulled the intent.
    let mut who: Vec<usize> = r.received.iter().map(|x| x.0).collect();
    who.sort_unstable();
    who.dedup();
    assert_eq!(who, vec![1, 2], "{:?}", r.received);
    assert!(r.received.iter().all(|x| x.2), "both bid: {:?}", r.received);
    let bids = r
        .stages
        .iter()
        .filter(|s| matches!(s, Stage::Bid { .. }))
        .count();
    assert_eq!(bids, 2, "{:?}", r.stages);
    // Scores with the agent's default rule (0.1 unit per second of promised latency): fast
    // 10 − 3 − 0.05 = 6.95, cheap 10 − 2 − 0.08 = 7.92. Cheap wins and is paid the price
    // that would tie it with fast: 2 + (7.92 − 6.95) = 2.97 units.
    let pay = 2 * UNIT + 970_000;
    assert!(
        r.stages.contains(&Stage::Awarded {
            provider: cheap,
            pay,
            fallbacks: 1
        }),
        "{:?}",
        r.stages
    );
    assert_eq!(r.outcome.result.as_deref(), Ok(&b"A CAT"[..]), "{r:?}");
    assert_eq!(r.outcome.provider, Some(cheap));
    assert_eq!(r.outcome.payment, pay);
}

/// Nobody follows the intent: the request ends when bids close, with the reason.
#[test]
fn an_intent_without_bids_ends_with_no_bids() {
    let offers = [Offer {
        capability: "legal.translate",
        topic: IMAGE,
        summary: "translate legal contracts into french",
        bid: bid(1, 100),
        advertise: true,
    }];
    let mut w = intent_world(2, &offers);
    let r = run_intent(&mut w, image_request(10));
    let why = r.outcome.result.expect_err("no bids");
    assert!(why.contains("no provider bid"), "{why}");
    assert!(r.outcome.attempts.is_empty());
}

/// The only bid is above the budget: the requester counter-offers at the price that meets
/// its reserve (5 − 0.3 = 4.7 units for a 3 s promise), which is under the bidder's floor
/// (4.9): the bidder restates its floor, and the request ends within the configured rounds
/// with no agreement.
#[test]
fn counter_offers_end_within_their_bound() {
    let mut policy = bid(4, 3_000).expect("a policy");
    policy.floor = 4 * UNIT + 900_000;
    policy.ask = Some(8 * UNIT);
    let offers = [Offer {
        capability: "image.dear",
        topic: IMAGE,
        summary: IMAGES,
        bid: Some(policy),
        advertise: true,
    }];
    let mut w = intent_world(3, &offers);
    let r = run_intent(&mut w, image_request(5));
    let why = r.outcome.result.clone().expect_err("no agreement");
    assert!(why.contains("counter-offer"), "{why}");
    let counters = r
        .stages
        .iter()
        .filter(|s| matches!(s, Stage::Countered { .. }))
        .count();
    let rounds = AgentConfig::default().intents.auction.max_rounds as usize;
    assert!(counters >= 1 && counters <= rounds, "{:?}", r.stages);
}

/// A bidder that opens above the budget is countered at the price that meets the reserve,
/// accepts it (it is above its floor) and wins at that price.
#[test]
fn a_counter_offer_accepted_wins_at_its_price() {
    let mut policy = bid(3, 1_000).expect("a policy");
    policy.ask = Some(8 * UNIT);
    let offers = [Offer {
        capability: "image.dear",
        topic: IMAGE,
        summary: IMAGES,
        bid: Some(policy),
        advertise: true,
    }];
    let mut w = intent_world(4, &offers);
    let dear = id_of(&w, 1);
    let r = run_intent(&mut w, image_request(5));
    // Score of the opening bid: 5 − 8 − 0.1 < 0. The counter is the price at which the
    // score is 0: 5 − 0.1 = 4.9 units, above the floor of 3: accepted, awarded at 4.9.
    let counter = 4 * UNIT + 900_000;
    assert!(
        r.stages.contains(&Stage::Countered {
            provider: dear,
            price: counter,
            round: 1
        }),
        "{:?}",
        r.stages
    );
    assert!(
        r.stages.contains(&Stage::Awarded {
            provider: dear,
            pay: counter,
            fallbacks: 0
        }),
        "{:?}",
        r.stages
    );
    assert_eq!(r.outcome.result.as_deref(), Ok(&b"A CAT"[..]), "{r:?}");
    assert_eq!(r.outcome.payment, counter);
}

/// A provider that states it is unavailable is not tried; when its state lapses (it is not
/// restated), it is a candidate again: no stale claim is left behind.
#[test]
fn an_unavailable_provider_is_skipped_until_its_state_lapses() {
    let mut w = world(
        5,
        &[
            (Kind::Requester, ""),
            (Kind::Honest, SUMMARY),
            (Kind::Honest, PLAIN),
        ],
        LinkModel::default(),
    );
    let busy = id_of(&w, 1);
    w.sim
        .command(w.ids[1], |h, now| {
            h.agent_mut().announce_state(now, 10_000, false, 0)
        })
        .expect("up")
        .expect("stated");
    w.sim.run_for(Duration::from_millis(500));
    let task = || TaskRequest::new("summarize my text", &b"abc"[..]).tier(Tier::Reputation);
    for _ in 0..3 {
        let o = request(&mut w, 0, task());
        assert!(
            o.attempts.iter().all(|a| a.provider != busy),
            "tried the unavailable provider: {o:?}"
        );
    }
    // The state's TTL (5 s by default) passes without a new statement.
    w.sim.run_for(Duration::from_secs(6));
    let held = w
        .sim
        .engine(w.ids[0])
        .unwrap()
        .agent()
        .gossip()
        .provider_state(w.sim.now(), &busy)
        .cloned();
    assert_eq!(held, None, "a lapsed state is gone");
    let found = w
        .sim
        .command(w.ids[0], |h, now| {
            h.agent_mut().discover(
                now,
                "summarize my text",
                &agentnet_gossip::Requirements::default(),
                8,
            )
        })
        .expect("up");
    assert!(found.iter().any(|c| c.descriptor.provider == busy));
}

/// A provider whose delivery the requester verified keeps its room in a full auction: with
/// room for one bid, a fresh identity bidding far lower does not push it out, so the award
/// goes to the proven provider (the stranger's better score counts only among bids kept).
#[test]
fn a_proven_bidder_keeps_its_room_against_a_cheaper_stranger() {
    let offers = [
        Offer {
            capability: "image.proven",
            topic: IMAGE,
            summary: IMAGES,
            bid: bid(5, 500),
            advertise: true,
        },
        Offer {
            capability: "image.new",
            topic: IMAGE,
            summary: IMAGES,
            bid: bid(1, 500),
            advertise: false,
        },
    ];
    let mut w = intent_world_with(6, &offers, |c| c.intents.auction.max_bids = 1);
    let proven = id_of(&w, 1);
    // A checked delivery first: the requester asks the only advertised provider directly.
    let task = TaskRequest::new("generate an image from my text prompt", &b"a dog"[..])
        .tier(Tier::Reputation);
    let o = request(&mut w, 0, task);
    assert_eq!(o.provider, Some(proven), "{o:?}");
    let r = run_intent(&mut w, image_request(10));
    let bids = r
        .stages
        .iter()
        .filter(|s| matches!(s, Stage::Bid { .. }))
        .count();
    assert!(bids >= 1, "{:?}", r.stages);
    assert_eq!(r.outcome.provider, Some(proven), "{r:?}");
}
