//! Disputes: the provider disputes settlement statements that overpay, mismatch or claim an
//! outcome it knows is impossible.

use super::*;

/// Sessions `1..=n` (one per task), all delivered; returns the ids.
fn delivered_many(n: u8) -> (Sessions, Sessions, Vec<SessionId>) {
    let (mut req, mut prov) = (engine(alice()), engine(bob()));
    let ids: Vec<SessionId> = (1..=n)
        .map(|i| {
            let id = req
                .offer(
                    at_ms(0),
                    bob().id(),
                    LINK,
                    task(i),
                    signed_rules(Tier::Reputation),
                )
                .unwrap();
            carry(&mut req, &mut prov, at_ms(0));
            prov.accept(at_ms(1), id).unwrap();
            carry(&mut prov, &mut req, at_ms(1));
            req.delegate(at_ms(2), id, input()).unwrap();
            carry(&mut req, &mut prov, at_ms(2));
            prov.deliver(at_ms(3), id, result(), None).unwrap();
            carry(&mut prov, &mut req, at_ms(3));
            id
        })
        .collect();
    drain_events(&mut req);
    drain_events(&mut prov);
    (req, prov, ids)
}

#[test]
fn the_provider_disputes_a_statement_that_overpays_or_mismatches() {
    let (_req, mut prov, ids) = delivered_many(6);
    assert_eq!(
        dispute_of(
            &mut prov,
            statement(ids[0], 1, Outcome::Accepted, FLAT + BONUS + 1)
        ),
        DisputeReason::Overpaid {
            payment: FLAT + BONUS + 1,
            max: FLAT + BONUS
        }
    );
    let mut other = statement(ids[1], 2, Outcome::Accepted, FLAT + BONUS);
    other.mechanism = Hash([0; 32]);
    assert!(matches!(
        dispute_of(&mut prov, other),
        DisputeReason::MechanismMismatch { .. }
    ));
    // "Accepted" but only the flat fee: the outcome dictates the payment.
    assert_eq!(
        dispute_of(&mut prov, statement(ids[2], 3, Outcome::Accepted, FLAT)),
        DisputeReason::WrongPayment {
            outcome: Outcome::Accepted,
            payment: FLAT,
            expected: FLAT + BONUS
        }
    );
    // Part of the deposit vanishes.
    let mut short = statement(ids[3], 4, Outcome::Rejected, FLAT);
    short.refund = DEPOSIT - 1;
    assert!(matches!(
        dispute_of(&mut prov, short),
        DisputeReason::DepositMismatch { .. }
    ));
    // A slashing without a proof.
    let mut slash = statement(ids[4], 5, Outcome::Fraud, 0);
    slash.slashed = 9_999_990;
    slash.refund = DEPOSIT - 9_999_990;
    assert_eq!(dispute_of(&mut prov, slash), DisputeReason::MissingProof);
    // Another task's statement under this session's id.
    let wrong = statement(ids[5], 1, Outcome::Accepted, FLAT + BONUS);
    assert_eq!(dispute_of(&mut prov, wrong), DisputeReason::WrongSession);
}

#[test]
fn an_outcome_the_provider_knows_is_impossible_is_disputed() {
    let (_req, mut prov, id) = delegated(Tier::Reputation);
    // "Accepted" though the provider never delivered.
    let st = Settle {
        session: id,
        requester: alice().id(),
        provider: bob().id(),
        task: task_id(1),
        mechanism: rules(Tier::Reputation).id(),
        outcome: Outcome::Accepted,
        payment: FLAT + BONUS,
        refund: DEPOSIT,
        slashed: 0,
        proof: None,
        settled_at: wall_ms(30),
    };
    assert_eq!(
        dispute_of(&mut prov, st),
        DisputeReason::ImpossibleOutcome {
            outcome: Outcome::Accepted,
            phase: Phase::Delegated
        }
    );
    // "The provider never committed" though the requester signed a delegation.
    let (_req, mut prov, id) = delegated(Tier::Reputation);
    let st = Settle {
        session: id,
        requester: alice().id(),
        provider: bob().id(),
        task: task_id(1),
        mechanism: rules(Tier::Reputation).id(),
        outcome: Outcome::TimedOut(Stage::Commit),
        payment: 0,
        refund: DEPOSIT,
        slashed: 0,
        proof: None,
        settled_at: wall_ms(30),
    };
    assert!(matches!(
        dispute_of(&mut prov, st),
        DisputeReason::ImpossibleOutcome { .. }
    ));
}
