//! Tests of candidate selection: Pareto layers, standing, demotion, exploration, the bounded
//! table and config ranges.

use super::*;
use proptest::prelude::*;

fn cand(id: u8, sim: f32, rep: f64, lat: u32, succ: u16) -> Candidate {
    Candidate {
        provider: AgentId::from_bytes([id; 32]),
        capability: "cap".into(),
        similarity: sim,
        claimed_latency_ms: Some(lat),
        claimed_success_bp: Some(succ),
        claimed_cost_micros: Some(1000),
        reputation: rep,
        evidence_tier: 1,
        attested: false,
        issued_at: WallTime::from_unix_millis(1_000),
    }
}

fn obs() -> Observations {
    Observations::new(SelectionConfig {
        exploration: 0.0,
        ..SelectionConfig::default()
    })
    .unwrap()
}

#[test]
fn restored_pairs_obey_the_bound_and_out_of_range_values_are_refused() {
    let mut o = Observations::new(SelectionConfig {
        max_observed: 2,
        ..SelectionConfig::default()
    })
    .unwrap();
    let t = WallTime::from_unix_millis(5_000);
    let seen = |count| Observed {
        count,
        success: 0.5,
        latency_ms: 10.0,
        cost_micros: 1.0,
        last_failure: Some(t),
        at: t,
    };
    let id = |b| AgentId::from_bytes([b; 32]);
    assert_eq!(o.restore(id(1), "cap", seen(9)), (None, true));
    assert_eq!(o.restore(id(2), "cap", seen(1)), (None, true));
    // Full: the least-observed pair makes room.
    assert_eq!(
        o.restore(id(3), "cap", seen(4)),
        (Some((id(2), "cap".to_string())), true)
    );
    assert_eq!(o.get(&id(3), "cap"), Some(&seen(4)));
    let bad = Observed {
        success: f64::NAN,
        ..seen(3)
    };
    assert_eq!(o.restore(id(4), "cap", bad), (None, false));
    assert_eq!(o.len(), 2);
    assert!(o.get(&id(4), "cap").is_none());
    // A failure recorded after the restore reports the eviction it caused.
    assert_eq!(
        o.record_failure(id(5), "cap", t),
        Some((id(3), "cap".to_string()))
    );
}

#[test]
fn the_front_is_exactly_the_undominated_candidates() {
    let c = vec![
        cand(1, 0.9, 0.5, 100, 9000),  // good at everything
        cand(2, 0.8, 0.4, 200, 8000),  // dominated by 1
        cand(3, 0.95, 0.0, 300, 5000), // more relevant: on the front
        cand(4, 0.7, 0.1, 400, 4000),  // dominated
    ];
    let out = select(c, &obs(), 0);
    let front: Vec<u8> = out
        .iter()
        .filter(|c| c.layer == 0)
        .map(|c| c.candidate.provider.as_bytes()[0])
        .collect();
    assert_eq!(front, vec![1, 3], "reputation orders the front");
    assert!(
        out.iter()
            .all(|c| c.layer == 0 || [2, 4].contains(&c.candidate.provider.as_bytes()[0]))
    );
}

#[test]
fn a_copy_with_better_claims_does_not_outrank_a_provider_with_standing() {
    let honest = cand(1, 0.9, 0.3, 1000, 9000);
    let mut sybil = cand(2, 0.9, 0.0, 10, 10_000);
    sybil.claimed_cost_micros = Some(1);
    let mut o = obs();
    o.record_success(
        honest.provider,
        "cap",
        900,
        1000,
        WallTime::from_unix_millis(2_000),
    );
    let out = select(vec![sybil.clone(), honest.clone()], &o, 0);
    assert_eq!(out[0].candidate.provider, honest.provider, "{out:?}");
    // An exact copy with no standing cannot beat a provider with any.
    let copy = Candidate {
        provider: AgentId::from_bytes([3; 32]),
        reputation: 0.0,
        ..honest.clone()
    };
    let out = select(vec![copy, honest.clone()], &o, 0);
    assert_eq!(out[0].candidate.provider, honest.provider);
}

#[test]
fn a_strangers_boasts_do_not_order_it() {
    // Neither is vouched for: the boaster (2) gains nothing over the modest stranger (1),
    // which comes first on the id tie-break; once the modest one has reputation, its claims
    // count again and it dominates on that too.
    let modest = cand(1, 0.9, 0.0, 900, 8000);
    let mut boaster = cand(2, 0.9, 0.0, 10, 10_000);
    boaster.claimed_cost_micros = Some(0);
    let out = select(vec![boaster.clone(), modest.clone()], &obs(), 0);
    assert_eq!(out[0].candidate.provider, modest.provider, "{out:?}");
    assert_eq!((out[0].layer, out[1].layer), (0, 0));
    assert_eq!(out[0].objectives, out[1].objectives);
    let vouched = Candidate {
        reputation: 0.1,
        ..modest.clone()
    };
    let out = select(vec![boaster, vouched], &obs(), 0);
    assert_eq!(out[0].candidate.provider, modest.provider);
    assert_eq!(out[1].layer, 1, "dominated by a provider with standing");
}

#[test]
fn a_failure_demotes_until_the_descriptor_is_refreshed() {
    let a = cand(1, 0.9, 0.5, 100, 9000);
    let b = cand(2, 0.5, 0.1, 500, 5000);
    let mut o = obs();
    o.record_failure(a.provider, "cap", WallTime::from_unix_millis(5_000));
    let out = select(vec![a.clone(), b.clone()], &o, 0);
    assert_eq!(out[0].candidate.provider, b.provider);
    assert!(out[1].demoted);
    let refreshed = Candidate {
        issued_at: WallTime::from_unix_millis(6_000),
        ..a.clone()
    };
    let out = select(vec![refreshed, b], &o, 0);
    assert_eq!(
        out[0].candidate.provider, a.provider,
        "refresh lifts the demotion"
    );
}

#[test]
fn exploration_is_bounded_and_only_picks_strangers() {
    let known = cand(1, 0.9, 0.5, 100, 9000);
    let new = cand(2, 0.1, 0.0, 900, 1000);
    let mut o = Observations::new(SelectionConfig {
        exploration: 0.25,
        ..SelectionConfig::default()
    })
    .unwrap();
    o.record_success(
        known.provider,
        "cap",
        100,
        1000,
        WallTime::from_unix_millis(2_000),
    );
    let mut explored = 0;
    for d in 0..4000u64 {
        let draw = d.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let out = select(vec![known.clone(), new.clone()], &o, draw);
        if out[0].explored {
            assert_eq!(out[0].candidate.provider, new.provider);
            explored += 1;
        }
    }
    assert!((700..1300).contains(&explored), "{explored} of 4000");
}

#[test]
fn the_table_is_bounded_and_keeps_the_observed() {
    let mut o = Observations::new(SelectionConfig {
        max_observed: 4,
        ..SelectionConfig::default()
    })
    .unwrap();
    let t = WallTime::from_unix_millis(1);
    for _ in 0..5 {
        o.record_success(AgentId::from_bytes([1; 32]), "cap", 10, 1, t);
    }
    for i in 2..50u8 {
        o.record_failure(AgentId::from_bytes([i; 32]), "cap", t);
    }
    assert_eq!(o.len(), 4);
    assert!(
        o.get(&AgentId::from_bytes([1; 32]), "cap").is_some(),
        "the well-observed stays"
    );
}

#[test]
fn configs_out_of_range_are_refused() {
    let bad = SelectionConfig {
        exploration: 1.5,
        ..SelectionConfig::default()
    };
    assert_eq!(Observations::new(bad).unwrap_err().field, "exploration");
}

proptest! {
    #[test]
    fn layer_zero_is_the_brute_force_front(
        specs in prop::collection::vec((0u8..5, 0u8..5, 0u32..4, 0u16..4), 1..12)
    ) {
        let c: Vec<Candidate> = specs
            .iter()
            .enumerate()
            .map(|(i, (s, r, l, k))| cand(i as u8, f32::from(*s) / 4.0, f64::from(*r) / 4.0, 100 * (l + 1), 2500 * k))
            .collect();
        let out = select(c, &obs(), 0);
        for x in &out {
            let dominated = out.iter().any(|y| y.objectives.dominates(&x.objectives));
            prop_assert_eq!(x.layer == 0, !dominated);
        }
        // Layers never decrease along the order.
        prop_assert!(out.windows(2).all(|w| w[0].layer <= w[1].layer));
    }
}

/// A claim left out is not a claim: a vouched provider who states nothing is ranked on the
/// prior, never above one who states the same as the prior, and a boaster who states more
/// than the others does not lose to silence.
#[test]
fn a_claim_left_out_stands_at_the_prior() {
    let mut o = obs();
    let stated = cand(1, 0.9, 0.5, 500, 9000);
    let mut silent = cand(2, 0.9, 0.5, 500, 9000);
    silent.claimed_latency_ms = None;
    silent.claimed_success_bp = None;
    silent.claimed_cost_micros = None;
    let at = WallTime::from_unix_millis(2_000);
    o.record_success(stated.provider, "cap", 500, 1000, at);
    o.record_success(silent.provider, "cap", 500, 1000, at);
    let out = select(vec![silent.clone(), stated.clone()], &o, 0);
    let obj = |p| {
        out.iter()
            .find(|c| c.candidate.provider == p)
            .map(|c| c.objectives.success)
            .unwrap()
    };
    assert!(obj(stated.provider) >= obj(silent.provider), "{out:?}");
    for c in &out {
        for v in [
            c.objectives.success,
            c.objectives.speed,
            c.objectives.thrift,
        ] {
            assert!(v.is_finite(), "{out:?}");
        }
    }
}
