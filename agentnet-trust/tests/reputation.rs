//! The ledger, canaries and the reputation methods, driven through their public APIs.

use agentnet_core::descriptor::Topic;
use agentnet_core::money::UNIT;
use agentnet_core::semantic::Embedding;
use agentnet_core::test_support::{at_ms, keypair};
use agentnet_core::wire::Limits;
use agentnet_core::{AgentId, Hash, Instant, Keypair, Signed, WallTime};
use agentnet_trust::baid::PrincipalCommitment;
use agentnet_trust::canary::{
    CanaryBook, CanaryConfig, CanaryError, CanaryOutcome, CanaryVerdict, Expected,
};
use agentnet_trust::evidence::{Answer, Commitment};
use agentnet_trust::fraud::{Culprit, FraudProof, Offence};
use agentnet_trust::ledger::{Ledger, LedgerConfig, LedgerError};
use agentnet_trust::reputation::{
    Method, MgOptions, Reputation, ReputationConfig, ReputationError, SlashOutcome, Stake,
};
use core::time::Duration;
use proptest::prelude::*;

fn topic(s: &str) -> Topic {
    Topic::new(s).unwrap()
}

/// A genuine offence by `k`: an answer that contradicts its own commitment.
fn offence(k: &Keypair) -> Offence {
    let subject = Hash::digest("test/subject", &[1]);
    let t = WallTime::from_unix_millis(1_800_000_000_000);
    let c = Signed::sign(k, Commitment::new(k.id(), subject, b"yes", t)).unwrap();
    let a = Answer::sign(k, subject, b"no".to_vec(), t).unwrap();
    FraudProof::answer_contradiction(&c, &a)
        .unwrap()
        .verify(&Limits::default())
        .unwrap()
}

fn slash(r: &mut Reputation, o: &Offence) -> Result<SlashOutcome, ReputationError> {
    r.slash(&Culprit::key(o), o)
}

/// Send canary number `i` (expecting `b"42"`) to `p` in `t` and grade `p`'s signed `answer`.
fn graded(c: &mut CanaryBook, p: &Keypair, t: &Topic, i: u8, answer: &[u8]) -> CanaryVerdict {
    let id = Hash::digest("test/canary", &[i]);
    c.issue(
        at_ms(0),
        id,
        p.id(),
        t.clone(),
        Expected::exact(b"42"),
        Duration::from_secs(5),
    )
    .unwrap();
    let a = Answer::sign(p, id, answer.to_vec(), at_ms(0).wall).unwrap();
    c.handle_answer(at_ms(10), &a).unwrap();
    let v = c.poll_verdict().expect("the answer closed the canary");
    assert_eq!(c.poll_verdict(), None);
    v
}

fn emb(v: &[f32]) -> Embedding {
    Embedding::from_slice(v)
}

/// Two related topics (gen, review) and an unrelated one (art).
fn topics() -> [(Topic, Embedding); 3] {
    [
        (topic("code/gen"), emb(&[1.0, 0.2, 0.0])),
        (topic("code/review"), emb(&[0.9, 0.4, 0.0])),
        (topic("art"), emb(&[0.0, 0.0, 1.0])),
    ]
}

fn engine(method: Method) -> Reputation {
    let mut r = Reputation::new(ReputationConfig {
        method,
        ..Default::default()
    })
    .unwrap();
    for (t, e) in topics() {
        r.add_topic(t, e).unwrap();
    }
    r
}

fn sum(r: &Reputation, t: &Topic) -> f64 {
    r.scores(t).iter().map(|s| s.1).sum()
}

#[test]
fn ledger_decays_on_read_and_weighs_failures() {
    let mut c = CanaryBook::new(CanaryConfig::default()).unwrap();
    let p = keypair(2);
    let t = topic("code/review");
    let mut l = Ledger::new(LedgerConfig {
        half_life: Duration::from_secs(100),
        ..Default::default()
    })
    .unwrap();
    for (i, answer) in [b"42", b"42", b"42", b"41"].into_iter().enumerate() {
        l.record_canary(&graded(&mut c, &p, &t, i as u8, answer))
            .unwrap();
    }
    let at0 = l.tally(&t, &p.id(), at_ms(10).wall).unwrap();
    assert_eq!((at0.pos, at0.neg), (3.0, 1.0));
    assert_eq!(l.local_trust(&t, &p.id(), at_ms(10).wall), 1.0); // 3 − 2·1
    let later = l.tally(&t, &p.id(), at_ms(100_010).wall).unwrap();
    assert!((later.pos - 1.5).abs() < 1e-9 && (later.neg - 0.5).abs() < 1e-9);
    // Export and restore keep everything.
    let mut back = Ledger::new(*l.config()).unwrap();
    back.restore(l.export(), l.convicted().copied()).unwrap();
    assert_eq!(back.export(), l.export());
    // A conviction zeroes the peer and keeps it at zero.
    l.record_offence(p.id(), &offence(&p));
    assert_eq!(l.local_trust(&t, &p.id(), at_ms(20).wall), 0.0);
    let v = graded(&mut c, &p, &t, 9, b"42");
    assert_eq!(l.record_canary(&v), Err(LedgerError::Convicted(p.id())));
}

#[test]
fn ledger_is_bounded() {
    let mut c = CanaryBook::new(CanaryConfig::default()).unwrap();
    let mut l = Ledger::new(LedgerConfig {
        max_peers: 3,
        max_topics: 1,
        ..Default::default()
    })
    .unwrap();
    for i in 0..5u8 {
        l.record_canary(&graded(&mut c, &keypair(10 + i), &topic("a"), i, b"42"))
            .unwrap();
    }
    assert_eq!(l.row(&topic("a"), at_ms(2).wall).len(), 3);
    assert_eq!(l.evicted(), 2);
    let v = graded(&mut c, &keypair(30), &topic("b"), 30, b"42");
    assert_eq!(l.record_canary(&v), Err(LedgerError::TooManyTopics(1)));
}

#[test]
fn canaries_time_out_refuse_strangers_and_stay_bounded() {
    let mut c = CanaryBook::new(CanaryConfig { max_pending: 2 }).unwrap();
    let (p, q) = (keypair(2), keypair(3));
    let t = topic("code/review");
    let id = |i: u8| Hash::digest("test/canary", &[i]);
    c.issue(
        at_ms(0),
        id(1),
        p.id(),
        t.clone(),
        Expected::exact(b"ok"),
        Duration::from_secs(1),
    )
    .unwrap();
    assert_eq!(
        c.issue(
            at_ms(0),
            id(1),
            p.id(),
            t.clone(),
            Expected::exact(b"ok"),
            Duration::from_secs(1)
        ),
        Err(CanaryError::Duplicate(id(1)))
    );
    c.issue(
        at_ms(0),
        id(2),
        p.id(),
        t.clone(),
        Expected::AnyOf(vec![]),
        Duration::from_secs(1),
    )
    .unwrap_err();
    c.issue(
        at_ms(0),
        id(2),
        p.id(),
        t.clone(),
        Expected::exact(b"ok"),
        Duration::from_secs(2),
    )
    .unwrap();
    assert!(matches!(
        c.issue(
            at_ms(0),
            id(3),
            p.id(),
            t.clone(),
            Expected::exact(b"ok"),
            Duration::from_secs(1)
        ),
        Err(CanaryError::Full(2))
    ));
    // Someone else cannot close p's canary.
    let stranger = Answer::sign(&q, id(1), b"ok".to_vec(), at_ms(0).wall).unwrap();
    assert!(matches!(
        c.handle_answer(at_ms(5), &stranger),
        Err(CanaryError::WrongSigner { .. })
    ));
    assert_eq!(c.poll_timeout(), Some(Instant::from_millis(1000)));
    c.handle_timeout(at_ms(1000));
    let v = c.poll_verdict().unwrap();
    assert_eq!((v.id(), v.outcome()), (id(1), CanaryOutcome::TimedOut));
    // A late answer does not pass.
    let late = Answer::sign(&p, id(2), b"ok".to_vec(), at_ms(0).wall).unwrap();
    assert!(c.handle_answer(at_ms(2500), &late).is_err());
    assert_eq!(c.poll_verdict().unwrap().outcome(), CanaryOutcome::TimedOut);
    assert_eq!(c.pending_count(), 0);
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn a_closed_clique_gets_nothing_under_mg_but_its_share_under_per_topic() {
    // Honest 0..4 with stake, trusting each other in code/review; clique 5..7 without stake
    // vouching only for each other.
    let agents: Vec<AgentId> = (0..8).map(|i| keypair(i + 1).id()).collect();
    let t = topic("code/review");
    for method in [Method::MultiGraph(MgOptions::default()), Method::PerTopic] {
        let mut r = engine(method);
        for (i, a) in agents.iter().enumerate() {
            let peers: Vec<(AgentId, f32, f32)> = if i < 5 {
                (0..5)
                    .filter(|&j| j != i)
                    .map(|j| (agents[j], 5.0, 0.0))
                    .collect()
            } else {
                (5..8)
                    .filter(|&j| j != i)
                    .map(|j| (agents[j], 50.0, 0.0))
                    .collect()
            };
            r.set_row(*a, &t, peers).unwrap();
            if i < 5 {
                r.set_stake(*a, 10 * UNIT).unwrap();
            }
        }
        r.recompute().unwrap();
        let clique: f64 = agents[5..].iter().map(|a| r.score(a, &t)).sum();
        match method {
            Method::PerTopic => assert!((clique - 3.0 / 8.0).abs() < 1e-3, "{clique}"),
            _ => assert!(clique < 1e-6, "{clique}"),
        }
        assert!((sum(&r, &t) - 1.0).abs() < 1e-9);
    }
}

#[test]
fn a_clique_praising_itself_gains_less_than_a_provider_with_the_same_independent_praise() {
    // Clique 0..4 (staked like everyone) hires each other: every member receives 15 of
    // praise from the other three. Provider 4 receives the same 15 from three independent
    // requesters 5..8 that praise nobody else. Everyone has the same stake.
    let agents: Vec<AgentId> = (0..8).map(|i| keypair(i + 1).id()).collect();
    let t = topic("code/review");
    let run = |discount: bool| {
        let mut r = engine(Method::MultiGraph(MgOptions {
            collusion_discount: discount,
            ..MgOptions::default()
        }));
        for (i, a) in agents.iter().enumerate() {
            let peers: Vec<(AgentId, f32, f32)> = if i < 4 {
                (0..4)
                    .filter(|&j| j != i)
                    .map(|j| (agents[j], 5.0, 0.0))
                    .collect()
            } else if i > 4 {
                vec![(agents[4], 5.0, 0.0)]
            } else {
                Vec::new()
            };
            r.set_row(*a, &t, peers).unwrap();
            r.set_stake(*a, 10 * UNIT).unwrap();
        }
        for _ in 0..3 {
            r.recompute().unwrap();
        }
        assert!((sum(&r, &t) - 1.0).abs() < 1e-9);
        let member = agents[..4]
            .iter()
            .map(|a| r.score(a, &t))
            .fold(0.0, f64::max);
        (member, r.score(&agents[4], &t))
    };
    let (member, honest) = run(true);
    let (member_off, honest_off) = run(false);
    eprintln!("discount: {member} vs {honest}; without: {member_off} vs {honest_off}");
    assert!(honest > 1.5 * member, "{honest} vs {member}");
    // The discount takes from the clique what its circulation added, and the independent
    // provider keeps its praise.
    assert!(member < 0.9 * member_off, "{member} vs {member_off}");
    assert!(honest >= honest_off, "{honest} vs {honest_off}");
}

#[test]
fn slashing_zeroes_every_topic_burns_stake_and_fresh_identities_of_the_principal_start_with_nothing()
 {
    let agents: Vec<Keypair> = (0..6).map(|i| keypair(i + 1)).collect();
    let ids: Vec<AgentId> = agents.iter().map(|k| k.id()).collect();
    let principal = |i: u8| PrincipalCommitment::new(&[i], &[7; 32]);
    let mut r = engine(Method::MultiGraph(MgOptions::default()));
    for (i, a) in ids.iter().enumerate() {
        r.register(*a, Some(principal(i as u8))).unwrap();
        r.set_stake(*a, 10 * UNIT).unwrap();
        for (t, _) in topics() {
            let row: Vec<_> = ids
                .iter()
                .filter(|p| *p != a)
                .map(|p| (*p, 3.0, 0.0))
                .collect();
            r.set_row(*a, &t, row).unwrap();
        }
    }
    r.recompute().unwrap();
    let bad = ids[5];
    for (t, _) in topics() {
        assert!(r.score(&bad, &t) > 0.1);
    }
    let out = slash(&mut r, &offence(&agents[5])).unwrap();
    assert_eq!(out, SlashOutcome::Slashed { stake: 10 * UNIT });
    assert_eq!(
        slash(&mut r, &offence(&agents[5])).unwrap(),
        SlashOutcome::AlreadySlashed
    );
    assert_eq!(
        r.stake(&bad),
        Stake {
            staked: 0,
            burned: 10 * UNIT,
            frozen: 0
        }
    );
    r.recompute().unwrap();
    for (t, _) in topics() {
        assert_eq!(r.score(&bad, &t), 0.0);
        assert!((sum(&r, &t) - 1.0).abs() < 1e-9);
    }
    // The same principal comes back under a fresh key, with stake, and honest peers even
    // vouch for it: it gets no pretrust.
    let fresh = keypair(99).id();
    r.register(fresh, Some(principal(5))).unwrap();
    r.set_stake(fresh, 10 * UNIT).unwrap();
    assert!(r.is_flagged(&principal(5)));
    assert!(!r.eligible_for_pretrust(&fresh));
    assert!(r.eligible_for_pretrust(&ids[0]));
    r.recompute().unwrap();
    for (t, _) in topics() {
        assert_eq!(r.score(&fresh, &t), 0.0, "no pretrust, no edges: nothing");
    }
    // A fresh identity of an honest principal does get pretrust from its stake.
    let newcomer = keypair(100).id();
    r.register(newcomer, Some(principal(50))).unwrap();
    r.set_stake(newcomer, 10 * UNIT).unwrap();
    r.recompute().unwrap();
    assert!(r.score(&newcomer, &topics()[0].0) > 0.0);
    // Baselines record the offence and do nothing else.
    let mut b = engine(Method::PerTopic);
    assert_eq!(
        slash(&mut b, &offence(&agents[5])).unwrap(),
        SlashOutcome::NotApplied
    );
    assert_eq!(b.offences(&bad), 1);
}

/// Agent 5 is excellent in code/gen and keeps failing in code/review.
fn disguise(opts: MgOptions) -> (f64, f64) {
    let ids: Vec<AgentId> = (0..8).map(|i| keypair(i + 1).id()).collect();
    let [(codegen, _), (review, _), (art, _)] = topics();
    let mut r = engine(Method::MultiGraph(opts));
    for (i, a) in ids.iter().enumerate() {
        r.set_stake(*a, 10 * UNIT).unwrap();
        let peers = |pos5: f32, neg5: f32| -> Vec<(AgentId, f32, f32)> {
            ids.iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(j, p)| {
                    if j == 5 {
                        (*p, pos5, neg5)
                    } else {
                        (*p, 2.0, 0.0)
                    }
                })
                .collect()
        };
        r.set_row(*a, &codegen, peers(20.0, 0.0)).unwrap();
        r.set_row(*a, &review, peers(1.0, 2.0)).unwrap();
        r.set_row(*a, &art, peers(2.0, 0.0)).unwrap();
    }
    for _ in 0..3 {
        r.recompute().unwrap();
    }
    (r.score(&ids[5], &review), r.score(&ids[0], &review))
}

#[test]
fn the_gate_stops_trust_earned_in_one_topic_from_flowing_into_one_where_the_agent_defects() {
    let (gated, honest) = disguise(MgOptions::default());
    let (open, _) = disguise(MgOptions {
        gate: false,
        ..Default::default()
    });
    assert!(gated < open, "gated {gated} open {open}");
    assert!(gated < honest, "gated {gated} honest {honest}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the rows, stakes and slashes, every method's scores per topic form a
    /// probability distribution and slashed agents hold zero under MG.
    #[test]
    fn scores_stay_a_distribution(
        rows in prop::collection::vec((0u8..12, 0usize..3, prop::collection::vec((0u8..12, 0.0f32..10.0, 0.0f32..5.0), 0..8)), 1..40),
        stakes in prop::collection::vec((0u8..12, 0u64..100 * UNIT), 0..12),
        slashed in prop::collection::vec(0u8..12, 0..3),
        method in 0usize..4,
    ) {
        let method = match method {
            0 => Method::PerTopic,
            1 => Method::Global,
            2 => Method::MultiGraph(MgOptions { gate: false, ..Default::default() }),
            _ => Method::MultiGraph(MgOptions::default()),
        };
        let keys: Vec<Keypair> = (0..12).map(|i| keypair(i + 1)).collect();
        let mut r = engine(method);
        let ts = topics();
        for (rep, t, row) in rows {
            let row: Vec<_> = row.into_iter().map(|(p, a, b)| (keys[p as usize].id(), a, b)).collect();
            r.set_row(keys[rep as usize].id(), &ts[t].0, row).unwrap();
            r.recompute().unwrap();
        }
        for (a, s) in stakes {
            r.set_stake(keys[a as usize].id(), s).unwrap();
        }
        for s in &slashed {
            slash(&mut r, &offence(&keys[*s as usize])).unwrap();
        }
        r.recompute().unwrap();
        for (t, _) in &ts {
            let s = r.scores(t);
            let total: f64 = s.iter().map(|x| x.1).sum();
            prop_assert!((total - 1.0).abs() < 1e-6, "sum {}", total);
            prop_assert!(s.iter().all(|x| x.1 >= 0.0 && x.1.is_finite()));
            if matches!(method, Method::MultiGraph(_)) {
                for sl in &slashed {
                    prop_assert_eq!(r.score(&keys[*sl as usize].id(), t), 0.0);
                }
            }
        }
    }
}

#[test]
fn a_slash_lands_only_on_the_offender_its_proof_names() {
    let mut r = engine(Method::MultiGraph(MgOptions::default()));
    let (bad, honest) = (keypair(1), keypair(2));
    r.set_stake(honest.id(), 10 * UNIT).unwrap();
    // A culprit made from the honest agent's (say, forged or mixed-up) offence cannot carry
    // out a slash with the offence the bad key really committed, nor the other way round.
    let blamed = Culprit::key(&offence(&honest));
    assert_eq!(
        r.slash(&blamed, &offence(&bad)),
        Err(ReputationError::NotTheOffender)
    );
    assert_eq!(r.offences(&honest.id()), 0);
    assert_eq!(r.stake(&honest.id()).staked, 10 * UNIT);
    assert!(!r.stake(&honest.id()).is_zero());
    assert!(!r.is_slashed(&honest.id()));
    // The matching pair slashes the offender.
    assert!(matches!(
        slash(&mut r, &offence(&bad)),
        Ok(SlashOutcome::Slashed { .. })
    ));
    assert!(r.is_slashed(&bad.id()));
}
