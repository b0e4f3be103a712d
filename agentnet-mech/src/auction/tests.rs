use core::time::Duration;

use agentnet_core::descriptor::{SideEffects, Topic};
use agentnet_core::intent::IntentAnnouncement;
use agentnet_core::test_support::{at_ms, keypair, wall_ms};
use agentnet_core::wire::Limits;
use agentnet_core::{Hash, Keypair, Signed};
use proptest::prelude::*;

use super::*;
use crate::mechanism::{MAX_AMOUNT, Tier, UNIT};

fn requester() -> Keypair {
    keypair(1)
}

fn intent_with(edit: impl FnOnce(&mut IntentAnnouncement)) -> Signed<IntentAnnouncement> {
    let k = requester();
    let mut i = IntentAnnouncement {
        requester: k.id(),
        nonce: 9,
        topic: Topic::new("creative/image").unwrap(),
        summary: "draw a cat".into(),
        tags: vec![],
        max_side_effects: SideEffects::None,
        tier: 2,
        max_latency_ms: Some(60_000),
        budget_min: UNIT,
        budget_max: 10 * UNIT,
        bid_by: wall_ms(1_000),
        deadline: wall_ms(100_000),
        endpoints: vec![],
        issued_at: wall_ms(0),
        ttl_ms: 60_000,
    };
    edit(&mut i);
    Signed::sign(&k, i).unwrap()
}

fn intent() -> Signed<IntentAnnouncement> {
    intent_with(|_| {})
}

fn auction_with(config: AuctionConfig) -> Auction {
    Auction::new(at_ms(0), &intent(), ScoreRule::default(), config).unwrap()
}

fn auction() -> Auction {
    auction_with(AuctionConfig::default())
}

/// A round-0 bid by `keypair(seed)` on `a`'s intent, edited.
fn bid_with(a: &Auction, seed: u8, edit: impl FnOnce(&mut Bid)) -> Signed<Bid> {
    let k = keypair(seed);
    let mut b = Bid {
        intent: a.intent_id(),
        requester: requester().id(),
        provider: k.id(),
        capability: "image.generate".into(),
        round: 0,
        price: 3 * UNIT,
        deposit: 0,
        latency_ms: 1_000,
        max_tier: Tier::Evidence,
        issued_at: wall_ms(10),
    };
    edit(&mut b);
    Signed::sign(&k, b).unwrap()
}

fn bid(a: &Auction, seed: u8, price: u64, latency_ms: u32) -> Signed<Bid> {
    bid_with(a, seed, |b| {
        b.price = price;
        b.latency_ms = latency_ms;
    })
}

fn drain(a: &mut Auction) -> Vec<AuctionEvent> {
    std::iter::from_fn(|| a.poll_event()).collect()
}

fn close_at(a: &mut Auction, ms: u64) -> Vec<AuctionEvent> {
    a.handle_timeout(at_ms(ms), &requester()).unwrap();
    drain(a)
}

#[test]
fn the_best_score_wins_at_the_second_score_pay_with_fallbacks() {
    let mut a = auction();
    // Scores (units): 10 − 3 − 2 = 5, 10 − 2 − 5 = 3, 10 − 9 − 1 = 0, 10 − 9 − 3 = −2.
    for (seed, price, lat) in [(2, 3, 2_000), (3, 2, 5_000), (4, 9, 1_000), (5, 9, 3_000)] {
        a.handle_bid(at_ms(5), bid(&a, seed, price * UNIT, lat))
            .unwrap();
    }
    assert!(close_at(&mut a, 999).is_empty(), "not before bid_by");
    assert_eq!(a.poll_timeout(), Some(at_ms(1_000).mono));
    let evs = close_at(&mut a, 1_000);
    let [
        AuctionEvent::Closed(AuctionOutcome::Awarded {
            winner,
            pay,
            fallbacks,
        }),
    ] = &evs[..]
    else {
        panic!("{evs:?}")
    };
    assert_eq!(winner.provider, keypair(2).id());
    assert_eq!(*pay, 5 * UNIT, "3 + (5 − 3)");
    let fb: Vec<_> = fallbacks.iter().map(|(b, p)| (b.provider, *p)).collect();
    assert_eq!(
        fb,
        vec![(keypair(3).id(), 5 * UNIT), (keypair(4).id(), 9 * UNIT)],
        "the score-−2 bid misses the reserve"
    );
    assert!(a.is_closed());
    let late = bid(&a, 6, UNIT, 1_000);
    assert_eq!(a.handle_bid(at_ms(1_001), late), Err(AuctionError::Late));
}

#[test]
fn ties_go_to_the_lower_price_then_the_lower_id() {
    let mut a = auction();
    // Equal scores 5: price 3 at 2 s, price 4 at 1 s.
    a.handle_bid(at_ms(1), bid(&a, 2, 3 * UNIT, 2_000)).unwrap();
    a.handle_bid(at_ms(1), bid(&a, 3, 4 * UNIT, 1_000)).unwrap();
    assert_eq!(a.ranking()[0].0.price, 3 * UNIT);
    assert_eq!(
        a.ranking()[0].1,
        3 * UNIT,
        "tied runner-up: paid its own price"
    );
    let mut b = auction();
    b.handle_bid(at_ms(1), bid(&b, 7, 3 * UNIT, 2_000)).unwrap();
    b.handle_bid(at_ms(1), bid(&b, 8, 3 * UNIT, 2_000)).unwrap();
    let low = keypair(7).id().min(keypair(8).id());
    assert_eq!(b.ranking()[0].0.provider, low);
}

#[test]
fn no_bids_close_to_no_bids() {
    let mut a = auction();
    let evs = close_at(&mut a, 1_000);
    assert_eq!(evs, vec![AuctionEvent::Closed(AuctionOutcome::NoBids)]);
    assert!(a.is_closed() && a.poll_timeout().is_none());
    assert!(close_at(&mut a, 5_000).is_empty(), "closed is final");
}

#[test]
fn a_countered_bidder_that_accepts_wins_at_the_counter_price() {
    let mut a = auction();
    // 10 − 12 − 1 = −3: below the reserve.
    a.handle_bid(at_ms(5), bid(&a, 2, 12 * UNIT, 1_000))
        .unwrap();
    let evs = close_at(&mut a, 1_000);
    let [AuctionEvent::Counter(c)] = &evs[..] else {
        panic!("{evs:?}")
    };
    assert_eq!(
        (c.round, c.price, c.provider),
        (1, 9 * UNIT, keypair(2).id())
    );
    assert_eq!(c.answer_by, wall_ms(3_000));
    assert_eq!(c.signer(), requester().id());
    c.validate_fields().unwrap();
    assert_eq!(a.round(), 1);
    assert_eq!(a.poll_timeout(), Some(at_ms(3_000).mono));
    // The counter travels and comes back as a frame.
    let c = Signed::<Counter>::from_frame(&c.to_frame(), &Limits::default()).unwrap();
    let policy = BidPolicy {
        floor: 8 * UNIT,
        ask: None,
        latency_ms: 1_000,
        deposit: 0,
        max_tier: Tier::Evidence,
    };
    let answer = answer_counter(&policy, &c, "image.generate", at_ms(1_500));
    assert_eq!((answer.round, answer.price), (1, 9 * UNIT));
    a.handle_bid(at_ms(1_500), Signed::sign(&keypair(2), answer).unwrap())
        .unwrap();
    assert_eq!(
        a.poll_timeout(),
        Some(at_ms(1_500).mono),
        "answered: ends now"
    );
    let evs = close_at(&mut a, 1_500);
    let [AuctionEvent::Closed(AuctionOutcome::Awarded { winner, pay, .. })] = &evs[..] else {
        panic!("{evs:?}")
    };
    assert_eq!((winner.round, winner.price, *pay), (1, 9 * UNIT, 9 * UNIT));
}

#[test]
fn unanswered_rounds_walk_down_the_ranking_then_end_without_agreement() {
    let mut a = auction();
    a.handle_bid(at_ms(5), bid(&a, 2, 12 * UNIT, 1_000))
        .unwrap(); // −3
    a.handle_bid(at_ms(5), bid(&a, 3, 13 * UNIT, 2_000))
        .unwrap(); // −5
    a.handle_bid(at_ms(5), bid(&a, 4, 14 * UNIT, 2_000))
        .unwrap(); // −6
    let who = |evs: &[AuctionEvent]| match evs {
        [AuctionEvent::Counter(c)] => (c.round, c.provider, c.price),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        who(&close_at(&mut a, 1_000)),
        (1, keypair(2).id(), 9 * UNIT)
    );
    // Silence: the round times out and the next bidder is countered.
    assert!(close_at(&mut a, 2_999).is_empty());
    assert_eq!(
        who(&close_at(&mut a, 3_000)),
        (2, keypair(3).id(), 8 * UNIT)
    );
    // The second bidder refuses by restating its floor in round 2.
    let refusal = bid_with(&a, 3, |b| {
        b.round = 2;
        b.price = 13 * UNIT;
        b.latency_ms = 2_000;
    });
    a.handle_bid(at_ms(3_100), refusal).unwrap();
    let evs = close_at(&mut a, 3_100);
    let [AuctionEvent::Closed(AuctionOutcome::NoAgreement { best, rounds })] = &evs[..] else {
        panic!("{evs:?}")
    };
    assert_eq!(*rounds, 2);
    assert_eq!(best.as_ref().unwrap().provider, keypair(2).id());
    assert!(a.is_closed());
}

#[test]
fn one_unanswered_round_times_out_to_no_agreement() {
    let mut a = auction_with(AuctionConfig {
        max_rounds: 1,
        ..AuctionConfig::default()
    });
    a.handle_bid(at_ms(5), bid(&a, 2, 12 * UNIT, 1_000))
        .unwrap();
    assert!(matches!(
        &close_at(&mut a, 1_000)[..],
        [AuctionEvent::Counter(_)]
    ));
    let late = bid_with(&a, 2, |b| {
        b.round = 1;
        b.price = 9 * UNIT;
    });
    let evs = close_at(&mut a, 3_000);
    assert!(matches!(
        &evs[..],
        [AuctionEvent::Closed(AuctionOutcome::NoAgreement {
            rounds: 1,
            ..
        })]
    ));
    assert_eq!(a.handle_bid(at_ms(3_001), late), Err(AuctionError::Late));
}

#[test]
fn zero_rounds_and_uncounterable_bids_end_at_once() {
    let mut a = auction_with(AuctionConfig {
        max_rounds: 0,
        ..AuctionConfig::default()
    });
    a.handle_bid(at_ms(5), bid(&a, 2, 12 * UNIT, 1_000))
        .unwrap();
    assert!(matches!(
        &close_at(&mut a, 1_000)[..],
        [AuctionEvent::Closed(AuctionOutcome::NoAgreement {
            rounds: 0,
            best: Some(_)
        })]
    ));
    // A latency whose cost alone exceeds the reserve leaves nothing to counter.
    let mut b = auction();
    b.handle_bid(at_ms(5), bid(&b, 2, UNIT, 20_000)).unwrap();
    assert!(matches!(
        &close_at(&mut b, 1_000)[..],
        [AuctionEvent::Closed(AuctionOutcome::NoAgreement {
            rounds: 0,
            ..
        })]
    ));
}

#[test]
fn refused_bids_are_typed_and_change_nothing() {
    let cfg = AuctionConfig {
        min_deposit: 5,
        ..AuctionConfig::default()
    };
    let mut a = auction_with(cfg);
    a.handle_bid(at_ms(5), bid_with(&a, 2, |b| b.deposit = 5))
        .unwrap();
    let before = format!("{a:?}");
    let other = intent_with(|i| i.nonce = 10);
    let malformed = |field: &'static str| AuctionError::Malformed { field };
    let cases: Vec<(Signed<Bid>, AuctionError)> = vec![
        (
            bid_with(&a, 3, |b| {
                b.deposit = 5;
                b.intent = IntentAnnouncement::id_of(&other);
            }),
            AuctionError::WrongIntent,
        ),
        (
            bid_with(&a, 3, |b| {
                b.deposit = 5;
                b.requester = keypair(9).id();
            }),
            AuctionError::WrongRequester,
        ),
        (
            bid_with(&a, 2, |b| b.deposit = 5),
            AuctionError::Replay { round: 0, kept: 0 },
        ),
        (
            bid_with(&a, 3, |b| b.capability = String::new()),
            malformed("capability"),
        ),
        (
            bid_with(&a, 3, |b| b.capability = "x".repeat(65)),
            malformed("capability"),
        ),
        (
            bid_with(&a, 3, |b| b.capability = "Image Gen".into()),
            malformed("capability"),
        ),
        (
            bid_with(&a, 3, |b| b.latency_ms = 0),
            malformed("latency_ms"),
        ),
        (
            bid_with(&a, 3, |b| b.price = MAX_AMOUNT + 1),
            malformed("price"),
        ),
        (
            bid_with(&a, 3, |b| b.deposit = MAX_AMOUNT + 1),
            malformed("deposit"),
        ),
        (
            bid_with(&a, 3, |b| {
                b.deposit = 5;
                b.max_tier = Tier::Reputation;
            }),
            AuctionError::TierTooLow {
                offered: Tier::Reputation,
                required: Tier::Canary,
            },
        ),
        (
            bid_with(&a, 3, |b| {
                b.deposit = 5;
                b.latency_ms = 60_001;
            }),
            AuctionError::TooSlow {
                latency_ms: 60_001,
                max_ms: 60_000,
            },
        ),
        (
            bid_with(&a, 3, |b| b.deposit = 4),
            AuctionError::DepositTooLow { deposit: 4, min: 5 },
        ),
        (
            bid_with(&a, 3, |b| {
                b.deposit = 5;
                b.round = 3;
            }),
            AuctionError::TooManyRounds { round: 3, max: 2 },
        ),
        (
            bid_with(&a, 3, |b| {
                b.deposit = 5;
                b.round = 1;
            }),
            AuctionError::NotCountered {
                round: 1,
                current: 0,
            },
        ),
    ];
    for (b, want) in cases {
        assert_eq!(a.handle_bid(at_ms(6), b), Err(want.clone()), "{want}");
        assert_eq!(format!("{a:?}"), before, "{want} changed the state");
    }
    // A bid naming another provider than its signer cannot be signed, nor decoded.
    let forged = Bid {
        provider: keypair(4).id(),
        ..(*bid_with(&a, 3, |_| {})).clone()
    };
    assert!(Signed::sign(&keypair(3), forged.clone()).is_err());
    let genuine = bid_with(&a, 3, |b| b.deposit = 5);
    let mut frame = genuine.to_frame().to_vec();
    let at = frame.len() - 3;
    frame[at] ^= 1;
    assert!(Signed::<Bid>::from_frame(&frame.into(), &Limits::default()).is_err());
    // A wrong signer at the close is refused before anything happens.
    let e = a.handle_timeout(at_ms(1_000), &keypair(9)).unwrap_err();
    assert!(matches!(e, AuctionError::WrongSigner { .. }));
    assert_eq!(format!("{a:?}"), before);
    // At bid_by the auction no longer takes first bids.
    assert_eq!(a.handle_bid(at_ms(1_000), genuine), Err(AuctionError::Late));
}

/// Fresh identities bidding lower cannot push a vouched-for bidder out of a full table,
/// and a vouched-for bidder finds room in a table full of strangers; the award still goes by
/// score among the bids kept.
#[test]
fn standing_keeps_its_room_in_a_flooded_table() {
    let mut a = auction_with(AuctionConfig {
        max_bids: 3,
        ..AuctionConfig::default()
    });
    // Three strangers at 4 units fill the table.
    for seed in 2..5u8 {
        a.handle_bid(at_ms(5), bid(&a, seed, 4 * UNIT, 1_000))
            .unwrap();
    }
    // A proven provider at 6 units (a worse score) still gets in, evicting a stranger.
    let proven = bid(&a, 9, 6 * UNIT, 1_000);
    a.handle_bid_with_standing(at_ms(6), proven.clone(), true)
        .unwrap();
    assert!(a.bids().any(|b| b.provider == proven.provider));
    // A flood of strangers bidding 0 takes the other rooms but never the proven one's.
    for seed in 20..60u8 {
        let _ = a.handle_bid(at_ms(7), bid(&a, seed, 0, 1_000));
        assert!(a.bids().any(|b| b.provider == proven.provider));
        assert!(a.bids().count() <= 3);
    }
    // Without standing the same bid would have been refused by score.
    let mut b = auction_with(AuctionConfig {
        max_bids: 3,
        ..AuctionConfig::default()
    });
    for seed in 2..5u8 {
        b.handle_bid(at_ms(5), bid(&b, seed, 4 * UNIT, 1_000))
            .unwrap();
    }
    assert_eq!(
        b.handle_bid(at_ms(6), bid(&b, 9, 6 * UNIT, 1_000)),
        Err(AuctionError::Full)
    );
}

#[test]
fn a_flooded_table_keeps_the_best_scoring_bids() {
    let mut a = auction_with(AuctionConfig {
        max_bids: 4,
        ..AuctionConfig::default()
    });
    let mut accepted = Vec::new();
    for i in 0..40u8 {
        // Prices wander (deterministically) over 0..10 units.
        let price = (u64::from(i) * 37 + 11) % 41 * UNIT / 4;
        let b = bid(&a, 10 + i, price, 1_000);
        if a.handle_bid(at_ms(5), b.clone()).is_ok() {
            accepted.push(b);
        } else {
            assert_eq!(a.handle_bid(at_ms(5), b), Err(AuctionError::Full));
        }
        assert!(a.bids().count() <= 4);
    }
    let rule = ScoreRule::default();
    let mut all: Vec<&Bid> = accepted.iter().map(|b| &**b).collect();
    all.sort_by(|x, y| score::order(&rule, 10 * UNIT, x, y));
    let mut kept: Vec<&Bid> = a.bids().map(|b| &**b).collect();
    kept.sort_by(|x, y| score::order(&rule, 10 * UNIT, x, y));
    assert_eq!(
        kept,
        all[..4].to_vec(),
        "the best four of everything admitted"
    );
    let evicted = drain(&mut a)
        .into_iter()
        .filter(|e| matches!(e, AuctionEvent::Evicted(_)))
        .count();
    assert_eq!(evicted, accepted.len() - 4);
}

#[test]
fn config_rule_and_intent_are_checked_at_construction() {
    let bad = [
        AuctionConfig {
            max_bids: 0,
            ..AuctionConfig::default()
        },
        AuctionConfig {
            max_bids: 1025,
            ..AuctionConfig::default()
        },
        AuctionConfig {
            max_rounds: 9,
            ..AuctionConfig::default()
        },
        AuctionConfig {
            round_timeout: Duration::from_millis(9),
            ..AuctionConfig::default()
        },
        AuctionConfig {
            round_timeout: Duration::from_secs(61),
            ..AuctionConfig::default()
        },
    ];
    for c in bad {
        assert!(matches!(
            Auction::new(at_ms(0), &intent(), ScoreRule::default(), c),
            Err(AuctionError::Config(_))
        ));
    }
    let rule = ScoreRule::new(MAX_AMOUNT + 1);
    assert!(matches!(
        Auction::new(at_ms(0), &intent(), rule, AuctionConfig::default()),
        Err(AuctionError::Config(_))
    ));
    let bad_tier = intent_with(|i| i.tier = 0);
    assert!(matches!(
        Auction::new(
            at_ms(0),
            &bad_tier,
            ScoreRule::default(),
            AuctionConfig::default()
        ),
        Err(AuctionError::BadIntent(_))
    ));
    // A bid_by already past closes at the first timeout.
    let a = Auction::new(
        at_ms(5_000),
        &intent(),
        ScoreRule::default(),
        AuctionConfig::default(),
    )
    .unwrap();
    assert_eq!(a.poll_timeout(), Some(at_ms(5_000).mono));
}

#[test]
fn bid_for_is_truthful_and_refuses_what_it_cannot_meet() {
    let i = intent();
    let p = BidPolicy {
        floor: 4 * UNIT,
        ask: None,
        latency_ms: 2_000,
        deposit: 7,
        max_tier: Tier::Canary,
    };
    let me = keypair(2).id();
    let b = bid_for(&p, &i, me, "image.generate", at_ms(3)).unwrap();
    assert_eq!(
        (b.price, b.latency_ms, b.deposit, b.round),
        (4 * UNIT, 2_000, 7, 0)
    );
    assert_eq!(b.intent, IntentAnnouncement::id_of(&i));
    let none = |p: BidPolicy| bid_for(&p, &i, me, "image.generate", at_ms(3)).is_none();
    assert!(none(BidPolicy {
        floor: 11 * UNIT,
        ..p
    }));
    assert!(none(BidPolicy {
        max_tier: Tier::Reputation,
        ..p
    }));
    assert!(none(BidPolicy {
        latency_ms: 60_001,
        ..p
    }));
    assert!(none(BidPolicy { latency_ms: 0, ..p }));
    // Below the counter price it accepts; above it restates its floor.
    let mut a = auction();
    a.handle_bid(at_ms(5), Signed::sign(&keypair(2), b).unwrap())
        .unwrap();
    assert!(a.ranking().len() == 1);
    let c = Signed::sign(
        &requester(),
        Counter {
            intent: a.intent_id(),
            requester: requester().id(),
            provider: me,
            round: 1,
            price: 3 * UNIT,
            issued_at: wall_ms(1_000),
            answer_by: wall_ms(3_000),
        },
    )
    .unwrap();
    let refuse = answer_counter(&p, &c, "image.generate", at_ms(1_100));
    assert_eq!((refuse.round, refuse.price), (1, 4 * UNIT));
    let cheap = BidPolicy { floor: UNIT, ..p };
    assert_eq!(
        answer_counter(&cheap, &c, "image.generate", at_ms(1_100)).price,
        3 * UNIT
    );
}

#[test]
fn counter_fields_are_checked() {
    let c = Counter {
        intent: Hash::default(),
        requester: requester().id(),
        provider: keypair(2).id(),
        round: 1,
        price: UNIT,
        issued_at: wall_ms(5),
        answer_by: wall_ms(6),
    };
    c.validate_fields().unwrap();
    let field = |c: Counter| match c.validate_fields() {
        Err(AuctionError::Malformed { field }) => field,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        field(Counter {
            round: 0,
            ..c.clone()
        }),
        "round"
    );
    assert_eq!(
        field(Counter {
            price: 0,
            ..c.clone()
        }),
        "price"
    );
    assert_eq!(
        field(Counter {
            answer_by: wall_ms(4),
            ..c
        }),
        "answer_by"
    );
}

/// What a countered bidder does in the property test.
#[derive(Clone, Copy, Debug)]
enum Answer {
    Accept,
    Refuse,
    Silence,
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        Just(Answer::Accept),
        Just(Answer::Refuse),
        Just(Answer::Silence)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_auction_closes_within_its_rounds(
        max_rounds in 0u8..=4,
        max_bids in 1usize..=6,
        timeout_ms in 10u64..=3_000,
        bids in prop::collection::vec((2u8..30, 0u64..=20, 1u32..=30_000, 0u64..=1_200), 0..24),
        answers in prop::collection::vec((answer(), 1u64..=5_000), 0..8),
    ) {
        let cfg = AuctionConfig {
            max_bids,
            max_rounds,
            round_timeout: Duration::from_millis(timeout_ms),
            ..AuctionConfig::default()
        };
        let mut a = auction_with(cfg);
        let mut bids = bids;
        bids.sort_by_key(|b| b.3);
        let mut queue = bids.into_iter().peekable();
        let (mut counters, mut closed_at, mut steps) = (0u8, None, 0);
        let mut answers = answers.into_iter();
        let mut clock = 0u64;
        while !a.is_closed() {
            steps += 1;
            prop_assert!(steps < 200);
            let due = a.poll_timeout().map(|t| (t - at_ms(0).mono).as_millis() as u64);
            match (queue.peek(), due) {
                (Some(&(seed, price, lat, t)), Some(d)) if t < d => {
                    queue.next();
                    clock = clock.max(t);
                    let b = bid(&a, seed, price * UNIT, lat);
                    let before = format!("{a:?}");
                    if a.handle_bid(at_ms(clock), b).is_err() {
                        prop_assert_eq!(format!("{a:?}"), before);
                    }
                }
                (_, Some(d)) => {
                    clock = clock.max(d);
                    a.handle_timeout(at_ms(clock), &requester()).unwrap();
                    for ev in drain(&mut a) {
                        match ev {
                            AuctionEvent::Counter(c) => {
                                counters += 1;
                                prop_assert_eq!(c.round, counters);
                                let (what, delay) = answers.next().unwrap_or((Answer::Silence, 0));
                                let floor = match what {
                                    Answer::Accept => c.price,
                                    Answer::Refuse => c.price + 1,
                                    Answer::Silence => continue,
                                };
                                let policy = BidPolicy {
                                    floor,
                                    ask: None,
                                    latency_ms: a.bids().find(|b| b.provider == c.provider).unwrap().latency_ms,
                                    deposit: 0,
                                    max_tier: Tier::Evidence,
                                };
                                let t = clock + delay;
                                let ans = answer_counter(&policy, &c, "image.generate", at_ms(t));
                                let seed = (2u8..30).find(|s| keypair(*s).id() == c.provider).unwrap();
                                let r = a.handle_bid(at_ms(t), Signed::sign(&keypair(seed), ans).unwrap());
                                // In time it is taken; after answer_by it is late.
                                prop_assert_eq!(r.is_ok(), delay < timeout_ms, "{:?}", r);
                                if r.is_ok() {
                                    clock = t;
                                }
                            }
                            AuctionEvent::Closed(o) => {
                                closed_at = Some(clock);
                                if let AuctionOutcome::NoAgreement { rounds, .. } = o {
                                    prop_assert_eq!(rounds, counters);
                                }
                            }
                            AuctionEvent::Evicted(_) => {}
                        }
                    }
                }
                (_, None) => break,
            }
            prop_assert!(a.bids().count() <= max_bids);
        }
        prop_assert!(counters <= max_rounds);
        let closed_at = closed_at.unwrap();
        prop_assert!(closed_at <= 1_000 + u64::from(max_rounds) * timeout_ms);
        prop_assert_eq!(a.poll_timeout(), None);
    }
}

#[test]
fn frames_round_trip() {
    let a = auction();
    let b = bid(&a, 2, UNIT, 500);
    let back = Signed::<Bid>::from_frame(&b.to_frame(), &Limits::default()).unwrap();
    assert_eq!(back, b);
    assert_eq!(back.round, 0);
}
