use proptest::prelude::*;

use super::ScoreRule;
use super::evaluate::*;
use crate::follower::{Effort, Environment, FollowerType};
use crate::mechanism::{Micros, Tier, UNIT};

/// Utilities closer than this are equal (units): integer rounding of prices and latency
/// costs moves them by a few µ.
const EPS: f64 = 1e-4;

/// Half a unit per hour of delivery time: the follower environment's delay cost.
const LAMBDA: Micros = UNIT / 2 / 3_600;

fn types() -> Vec<FollowerType> {
    vec![
        FollowerType::honest(1.0),
        FollowerType::lazy(1.0),
        FollowerType::adversarial(1.0),
        FollowerType::colluding(1.0),
        FollowerType::sybil(1.0),
    ]
}

fn setting(ty: FollowerType, effort: Effort, latency_value: Micros) -> BidderSetting {
    BidderSetting {
        ty,
        effort,
        tier: Tier::Canary,
        deposit: 10 * UNIT,
        env: Environment::default(),
        rule: ScoreRule::new(latency_value),
        budget_max: 120 * UNIT,
    }
}

/// Rivals priced from half to twice the bidder's break-even price, promising from a quarter
/// to twice its true latency: a field it sometimes beats and sometimes does not.
fn fields_for(s: &BidderSetting, seed: u8, draws: usize) -> Vec<Vec<Rival>> {
    let v = s.break_even().unwrap();
    let d = s.true_latency_ms();
    sample_fields(
        [seed; 32],
        draws,
        &FieldSpec {
            rivals: (1, 4),
            price: (v / 2, v * 2),
            latency_ms: (d / 4, d.saturating_mul(2)),
        },
    )
}

/// `v ≥ g·L(d)`: the condition under which no overstatement by `g` pays (module docs).
fn condition_holds(s: &BidderSetting, factor_ppm: u32) -> bool {
    let v = i128::from(s.break_even().unwrap());
    let l = s.rule.latency_cost(s.true_latency_ms());
    v * 1_000_000 >= l * i128::from(factor_ppm)
}

const FACTORS: [u32; 5] = [950_000, 900_000, 750_000, 500_000, 250_000];

#[test]
fn overstating_speed_or_underpricing_never_pays_for_the_built_in_types() {
    let mut more_wins = 0;
    println!(
        "{:<12} {:<6} {:>10} {:>9} {:>9} {:>9} {:>9}",
        "type", "effort", "report", "P(win)", "P(time)", "utility", "E[pay]"
    );
    for ty in types() {
        for effort in Effort::ALL {
            let s = setting(ty.clone(), effort, LAMBDA);
            for seed in 1..=4u8 {
                let fields = fields_for(&s, seed, 300);
                let truth = bidder_utility(&s, &fields, Report::TRUTHFUL).unwrap();
                assert!(truth.utility >= -EPS, "truthful bidding is never a loss");
                let show = |name: String, u: &BidderUtility| {
                    if seed == 1 {
                        println!(
                            "{:<12} {:<6} {:>10} {:>9.3} {:>9.3} {:>9.3} {:>9.3}",
                            ty.kind.name(),
                            format!("{effort:?}"),
                            name,
                            u.win_probability,
                            u.on_time,
                            u.utility,
                            u.expected_pay
                        );
                    }
                };
                show("truthful".into(), &truth);
                for f in FACTORS {
                    assert!(condition_holds(&s, f));
                    let over = bidder_utility(&s, &fields, Report::overstate_speed(f)).unwrap();
                    show(format!("speed×{:.2}", f64::from(f) / 1e6), &over);
                    assert!(
                        truth.utility >= over.utility - EPS,
                        "{:?} {effort:?} seed {seed} factor {f}: {truth:?} vs {over:?}",
                        ty.kind
                    );
                    assert!(over.win_probability >= truth.win_probability);
                    if over.win_probability > truth.win_probability {
                        more_wins += 1;
                    }
                }
                for f in [950_000, 800_000, 500_000] {
                    let under = bidder_utility(&s, &fields, Report::underprice(f)).unwrap();
                    show(format!("price×{:.2}", f64::from(f) / 1e6), &under);
                    assert!(
                        truth.utility >= under.utility - EPS,
                        "{:?} {effort:?} seed {seed} price factor {f}: {truth:?} vs {under:?}",
                        ty.kind
                    );
                    assert!(under.win_probability >= truth.win_probability);
                }
            }
        }
    }
    assert!(
        more_wins > 0,
        "overstating speed must buy wins somewhere, or the check is vacuous"
    );
}

#[test]
fn overstating_pays_when_time_is_priced_above_the_work() {
    // One unit per second: two hours of delivery time cost 7 200 units, far above the
    // honest type's break-even price (~22 units), so v < g·L(d) and a faster promise pays.
    let s = BidderSetting {
        budget_max: 20_000 * UNIT,
        ..setting(FollowerType::honest(1.0), Effort::Full, UNIT)
    };
    assert!(!condition_holds(&s, 500_000));
    let fields = fields_for(&s, 3, 300);
    let truth = bidder_utility(&s, &fields, Report::TRUTHFUL).unwrap();
    let over = bidder_utility(&s, &fields, Report::overstate_speed(500_000)).unwrap();
    assert!(
        over.utility > truth.utility + 1.0,
        "{truth:?} vs {over:?}: the documented limit of the rule"
    );
}

#[test]
fn evaluation_is_deterministic_and_bounded() {
    let s = setting(FollowerType::lazy(1.0), Effort::Low, LAMBDA);
    let f1 = fields_for(&s, 9, 50);
    assert_eq!(f1, fields_for(&s, 9, 50));
    assert_ne!(f1, fields_for(&s, 10, 50));
    assert!(f1.iter().all(|f| (1..=4).contains(&f.len())));
    assert!(bidder_utility(&s, &[], Report::TRUTHFUL).is_none());
    // An effort that never succeeds has no break-even price.
    let mut ty = FollowerType::honest(1.0);
    ty.effort[Effort::Full as usize].success = 0.0;
    let dead = setting(ty, Effort::Full, LAMBDA);
    assert!(dead.break_even().is_none());
    assert!(bidder_utility(&dead, &f1, Report::TRUTHFUL).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn no_overstatement_pays_while_time_costs_less_than_the_work(
        seed in any::<[u8; 32]>(),
        kind in 0usize..5,
        effort in 0usize..3,
        factor in 50_000u32..1_000_000,
        price_factor in 300_000u32..=1_000_000,
        lambda in 0u64..=2_000,
        rivals in (1usize..=3, 0usize..=4),
    ) {
        let s = setting(types()[kind].clone(), Effort::ALL[effort], lambda);
        let v = s.break_even().unwrap();
        let d = s.true_latency_ms();
        let fields = sample_fields(seed, 120, &FieldSpec {
            rivals: (rivals.0, rivals.0 + rivals.1),
            price: (v / 3, v * 3),
            latency_ms: (d / 5, d.saturating_mul(3)),
        });
        let truth = bidder_utility(&s, &fields, Report::TRUTHFUL).unwrap();
        let both = Report { latency_ppm: factor, price_ppm: price_factor };
        // Pricing below break-even never pays; a faster promise does not while v ≥ g·L(d).
        let under = bidder_utility(&s, &fields, Report::underprice(price_factor)).unwrap();
        prop_assert!(truth.utility >= under.utility - EPS, "{:?} vs {:?}", truth, under);
        if condition_holds(&s, factor) {
            for r in [Report::overstate_speed(factor), both] {
                let other = bidder_utility(&s, &fields, r).unwrap();
                prop_assert!(truth.utility >= other.utility - EPS, "{:?}: {:?} vs {:?}", r, truth, other);
            }
        }
    }
}

#[test]
fn the_evaluation_awards_as_the_auction_engine_does() {
    use super::{Auction, AuctionConfig, AuctionEvent, AuctionOutcome, Bid};
    use agentnet_core::Signed;
    use agentnet_core::descriptor::{SideEffects, Topic};
    use agentnet_core::intent::IntentAnnouncement;
    use agentnet_core::test_support::{at_ms, keypair, wall_ms};

    let s = setting(FollowerType::honest(1.0), Effort::Full, LAMBDA);
    let requester = keypair(1);
    let intent = Signed::sign(
        &requester,
        IntentAnnouncement {
            requester: requester.id(),
            nonce: 1,
            topic: Topic::new("creative/image").unwrap(),
            summary: "render".into(),
            tags: vec![],
            max_side_effects: SideEffects::None,
            tier: 2,
            max_latency_ms: None,
            budget_min: 0,
            budget_max: s.budget_max,
            bid_by: wall_ms(1_000),
            deadline: wall_ms(100_000),
            endpoints: vec![],
            issued_at: wall_ms(0),
            ttl_ms: 60_000,
        },
    )
    .unwrap();
    let signed = |seed: u8, b: Bid| {
        let k = keypair(seed);
        let b = Bid {
            intent: IntentAnnouncement::id_of(&intent),
            requester: requester.id(),
            provider: k.id(),
            ..b
        };
        Signed::sign(&k, b).unwrap()
    };
    let mut won = 0;
    for report in [Report::TRUTHFUL, Report::overstate_speed(500_000)] {
        for field in fields_for(&s, 5, 24) {
            let mut a = Auction::new(
                at_ms(0),
                &intent,
                s.rule,
                AuctionConfig {
                    max_rounds: 0,
                    ..AuctionConfig::default()
                },
            )
            .unwrap();
            let mine = s.bid(report).unwrap();
            a.handle_bid(at_ms(1), signed(2, mine.clone())).unwrap();
            for (i, r) in field.iter().enumerate() {
                let b = Bid {
                    price: r.price,
                    latency_ms: r.latency_ms.max(1),
                    ..mine.clone()
                };
                a.handle_bid(at_ms(1), signed(10 + i as u8, b)).unwrap();
            }
            a.handle_timeout(at_ms(1_000), &requester).unwrap();
            let alone = bidder_utility(&s, std::slice::from_ref(&field), report).unwrap();
            match a.poll_event() {
                Some(AuctionEvent::Closed(AuctionOutcome::Awarded { winner, pay, .. }))
                    if winner.provider == keypair(2).id() =>
                {
                    won += 1;
                    assert_eq!(alone.win_probability, 1.0);
                    let expected = alone.on_time * crate::mechanism::units(pay);
                    assert!((alone.expected_pay - expected).abs() < 1e-9);
                }
                _ => assert_eq!(alone.win_probability, 0.0),
            }
        }
    }
    assert!(won > 0 && won < 48, "both outcomes occur ({won} of 48)");
}
