use super::*;
use agentnet_core::Keypair;
use agentnet_core::signed::Signed;
use agentnet_core::wire::Limits;

fn leader() -> Keypair {
    Keypair::from_seed([7; 32])
}

fn sample() -> Mechanism {
    Mechanism::new(
        leader().id(),
        "code-review",
        80 * UNIT,
        [
            Clause::Verification {
                tier: Tier::Evidence,
            },
            Clause::Payment {
                flat: 10 * UNIT,
                bonus: 60 * UNIT,
            },
            Clause::Deposit { amount: 30 * UNIT },
            Clause::Slashing { ratio: PPM_ONE },
        ],
    )
}

#[test]
fn canonical_order_makes_equal_rules_hash_equally() {
    let a = sample();
    let mut b = a.clone();
    b.clauses.reverse();
    assert_ne!(a.id(), b.id());
    b.normalize();
    assert_eq!(a.id(), b.id());
    assert_eq!(a.clauses[0].kind(), ClauseKind::Payment);
}

#[test]
fn signed_mechanism_round_trips_and_refuses_a_foreign_leader() {
    let m = sample();
    let s = Signed::sign(&leader(), m.clone()).unwrap();
    let back = Signed::<Mechanism>::from_frame(&s.to_frame(), &Limits::default()).unwrap();
    assert_eq!(back.value(), &m);
    assert!(Signed::sign(&Keypair::from_seed([8; 32]), m).is_err());
}

#[test]
fn validation_names_the_offending_clause() {
    let mut m = sample();
    m.set(Clause::Payment {
        flat: 30 * UNIT,
        bonus: 60 * UNIT,
    });
    assert!(matches!(
        m.validate(),
        Err(MechanismError::OverBudget { .. })
    ));
    let mut m = sample();
    m.set(Clause::Slashing { ratio: PPM_ONE + 1 });
    assert!(matches!(
        m.validate(),
        Err(MechanismError::OutOfRange {
            clause: ClauseKind::Slashing,
            field: "ratio",
            ..
        })
    ));
    let mut m = sample();
    m.clauses.push(Clause::Deposit { amount: 1 });
    assert!(matches!(m.validate(), Err(MechanismError::Duplicate(_))));
    let mut m = sample();
    m.remove(ClauseKind::Payment);
    assert_eq!(m.validate(), Err(MechanismError::MissingPayment));
    let mut m = sample();
    m.set(Clause::Custom {
        name: "Bad Name".into(),
        text: String::new(),
        params: BTreeMap::new(),
    });
    assert!(matches!(m.validate(), Err(MechanismError::BadName(_))));
    assert!(sample().validate().is_ok());
}

#[test]
fn revision_links_to_its_parent() {
    let m = sample();
    let r = m.revise(m.clauses.clone());
    assert_eq!(r.version, 2);
    assert_eq!(r.parent, Some(m.id()));
    assert_ne!(r.id(), m.id());
}

#[test]
fn text_renders_parameters() {
    let t = sample().text();
    assert!(
        t.contains("paid 10 units on delivery and a further 60 units"),
        "{t}"
    );
    assert!(t.contains("100.0% of the deposit"), "{t}");
    assert!(t.contains("tier 3"));
    assert_eq!(format!("{}", Money(1_500_000)), "1.5 units");
    assert_eq!(format!("{}", Millis(7_200_000)), "2 h");
}

#[test]
fn a_bad_tier_number_is_a_decode_error_not_a_panic() {
    let mut bytes = encode_cbor(&sample()).unwrap();
    // The tier is the last byte of the encoding (3 in the Verification clause).
    let last = bytes.len() - 1;
    assert_eq!(bytes[last], 3);
    bytes[last] = 9;
    assert!(agentnet_core::wire::decode_cbor::<Mechanism>(&bytes, &Limits::default()).is_err());
}
