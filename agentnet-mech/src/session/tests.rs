use super::*;
use crate::mechanism::{Clause, UNIT};
use agentnet_core::Keypair;
use agentnet_core::wire::{decode_cbor, encode_cbor};

fn mechanism(deposit: Micros, ratio: Ppm) -> Mechanism {
    Mechanism::new(
        Keypair::from_seed([1; 32]).id(),
        "unit",
        10 * UNIT,
        [
            Clause::Payment {
                flat: 2 * UNIT,
                bonus: 3 * UNIT,
            },
            Clause::Deposit { amount: deposit },
            Clause::Slashing { ratio },
        ],
    )
}

#[test]
fn slashing_rounds_down_in_integers() {
    assert_eq!(slashed_amount(3_000_001, 333_333), 999_999); // 999 999.33 rounded down
    assert_eq!(slashed_amount(999_999, 1), 0);
    assert_eq!(slashed_amount(u64::MAX, PPM_ONE), u64::MAX);
    assert_eq!(slashed_amount(10, PPM_ONE + 5), 10);
    let a = settlement_amounts(&mechanism(3_000_001, 500_000), Outcome::Fraud);
    assert_eq!(
        a,
        Amounts {
            payment: 0,
            refund: 1_500_001,
            slashed: 1_500_000
        }
    );
}

#[test]
fn amounts_follow_the_table() {
    let m = mechanism(7 * UNIT, PPM_ONE);
    let pay = |o| settlement_amounts(&m, o).payment;
    assert_eq!(pay(Outcome::Accepted), 5 * UNIT);
    assert_eq!(pay(Outcome::Rejected), 2 * UNIT);
    assert_eq!(pay(Outcome::TimedOut(Stage::Grade)), 2 * UNIT);
    for s in [Stage::Commit, Stage::Delegate, Stage::Execute] {
        assert_eq!(
            settlement_amounts(&m, Outcome::TimedOut(s)),
            Amounts {
                payment: 0,
                refund: 7 * UNIT,
                slashed: 0
            }
        );
    }
}

#[test]
fn session_ids_are_deterministic_and_bind_every_field() {
    let (a, b) = (
        Keypair::from_seed([1; 32]).id(),
        Keypair::from_seed([2; 32]).id(),
    );
    let t = TaskId(Hash([5; 32]));
    let w = WallTime::from_unix_millis(7);
    let id = SessionId::derive(&a, &b, &t, w);
    assert_eq!(id, SessionId::derive(&a, &b, &t, w));
    assert_ne!(id, SessionId::derive(&b, &a, &t, w));
    assert_ne!(id, SessionId::derive(&a, &b, &TaskId(Hash([6; 32])), w));
    assert_ne!(
        id,
        SessionId::derive(&a, &b, &t, WallTime::from_unix_millis(8))
    );
}

#[test]
fn messages_round_trip_with_byte_strings() {
    let kp = Keypair::from_seed([2; 32]);
    for evidence in [None, Some(Bytes::from_static(b"\x01\x02\x03"))] {
        let d = Deliver {
            session: SessionId(Hash([1; 32])),
            provider: kp.id(),
            result_hash: Hash([2; 32]),
            evidence,
        };
        let bytes = encode_cbor(&d).unwrap();
        assert_eq!(
            decode_cbor::<Deliver>(&bytes, &Limits::default()).unwrap(),
            d
        );
    }
    let s = Settle {
        session: SessionId(Hash([1; 32])),
        requester: kp.id(),
        provider: kp.id(),
        task: TaskId(Hash([3; 32])),
        mechanism: Hash([4; 32]),
        outcome: Outcome::TimedOut(Stage::Execute),
        payment: 1,
        refund: 2,
        slashed: 3,
        proof: None,
        settled_at: WallTime::from_unix_millis(9),
    };
    let bytes = encode_cbor(&s).unwrap();
    assert_eq!(
        decode_cbor::<Settle>(&bytes, &Limits::default()).unwrap(),
        s
    );
}

#[test]
fn out_of_range_config_is_refused_by_name() {
    SessionConfig::default().validate().unwrap();
    let d = SessionConfig::default;
    let field = |c: SessionConfig| c.validate().unwrap_err().field;
    assert_eq!(
        field(SessionConfig {
            max_sessions: 0,
            ..d()
        }),
        "max_sessions"
    );
    assert_eq!(
        field(SessionConfig {
            max_queued_events: 1,
            ..d()
        }),
        "max_queued_events"
    );
    assert_eq!(
        field(SessionConfig {
            max_receipts: MAX_RECEIPTS + 1,
            ..d()
        }),
        "max_receipts"
    );
    assert_eq!(
        field(SessionConfig {
            max_skew: Duration::from_secs(3600),
            ..d()
        }),
        "max_skew"
    );
    let signer = Box::new(agentnet_core::Keypair::from_seed([1; 32]));
    let e = Sessions::new(
        SessionConfig {
            max_sessions: 0,
            ..d()
        },
        signer,
    )
    .unwrap_err();
    assert_eq!(e.field, "max_sessions");
}

#[test]
fn judgement_needs_canaries_only_at_tier_two() {
    let mut m = mechanism(0, 0);
    m.set(Clause::QualityThreshold { min_score: 500_000 });
    assert_eq!(judge(&m, Grade::new(500_000, false)), Outcome::Accepted);
    assert_eq!(judge(&m, Grade::new(499_999, true)), Outcome::Rejected);
    m.set(Clause::Verification { tier: Tier::Canary });
    assert_eq!(judge(&m, Grade::new(900_000, false)), Outcome::Rejected);
    assert_eq!(judge(&m, Grade::new(900_000, true)), Outcome::Accepted);
}
