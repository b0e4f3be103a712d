//! Deadlines that pass while the agent is down settle at the first input after the restart.

use super::*;

#[test]
fn an_execution_deadline_missed_while_down_settles_at_the_first_input() {
    let (mut a, mut b, _) = delegated(Tier::Reputation);
    // Alice is down from 25 ms until well after the delivery deadline (20 + 60 000 ms).
    let back = 20 + EXECUTE_MS + 1_000;
    a.restart(back, 7);
    assert!(a.take_events().is_empty(), "nothing re-announced");
    // The deadline has passed: it is due now, and fires at the first input.
    assert_eq!(a.engine.poll_timeout(), Some(a.now(back).mono));
    a.engine.handle_timeout(a.now(back));
    // Bob, still up, has not given up yet (he waits a settlement window longer).
    carry(&mut a, &mut b, back);
    let s = a.settlement();
    assert_eq!(s.outcome(), Outcome::TimedOut(Stage::Execute));
    assert_eq!((s.payment(), s.refund(), s.slashed()), (0, DEPOSIT, 0));
    assert!(a.events.iter().any(|e| matches!(
        e,
        Event::Feedback {
            outcome: TaskOutcome::Rejected,
            ..
        }
    )));
    assert_eq!(b.settlement().outcome(), Outcome::TimedOut(Stage::Execute));
    assert!(a.store.is_empty() && b.store.is_empty());
}

#[test]
fn a_grade_deadline_missed_while_down_pays_the_flat_fee() {
    let (mut a, mut b, id) = delegated(Tier::Reputation);
    b.engine.deliver(b.now(100), id, result(), None).unwrap();
    carry(&mut b, &mut a, 100);
    // The grade window is ⌈settle_ms / 2⌉ after the delivery.
    let back = 100 + SETTLE_MS / 2 + 1;
    a.restart(back, 9);
    assert!(
        a.take_events().is_empty(),
        "a passed deadline is not re-announced"
    );
    a.engine.handle_timeout(a.now(back));
    carry(&mut a, &mut b, back);
    let s = a.settlement();
    assert_eq!(s.outcome(), Outcome::TimedOut(Stage::Grade));
    assert_eq!((s.payment(), s.refund(), s.slashed()), (FLAT, DEPOSIT, 0));
    assert_eq!(b.settlement().outcome(), Outcome::TimedOut(Stage::Grade));
}

#[test]
fn a_provider_down_past_its_deadlines_ends_its_sessions_at_the_first_input() {
    // Committed, then down longer than commit_ms + settle_ms: the requester owed a DELEGATE.
    let (mut a, mut b) = (alice_host(), bob_host());
    let id = a
        .engine
        .offer(a.now(0), bob().id(), LINK, task(1), rules(Tier::Reputation))
        .unwrap();
    carry(&mut a, &mut b, 0);
    b.engine.accept(b.now(10), id).unwrap();
    b.pass();
    let back = 10 + COMMIT_MS + SETTLE_MS;
    b.restart(back, 1);
    b.engine.handle_timeout(b.now(back));
    let ev = b.take_events();
    assert!(
        matches!(
            ev[..],
            [Event::SettlementOverdue {
                phase: Phase::Committed,
                ..
            }]
        ),
        "{ev:?}"
    );
    assert!(b.store.is_empty());

    // An offer not answered before its window closed expires, and is not offered again.
    let (mut a, mut b) = (alice_host(), bob_host());
    a.engine
        .offer(a.now(0), bob().id(), LINK, task(2), rules(Tier::Reputation))
        .unwrap();
    carry(&mut a, &mut b, 0);
    b.restart(COMMIT_MS, 1);
    // Any input fires it, a command included.
    let ev = b.take_events();
    assert!(ev.is_empty(), "{ev:?}");
    b.engine.handle_timeout(b.now(COMMIT_MS));
    let ev = b.take_events();
    assert!(matches!(ev[..], [Event::OfferExpired { .. }]), "{ev:?}");
}
