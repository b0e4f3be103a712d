//! Settlement by the mechanism: what success, a low score, failed canaries, each timeout and a
//! declined offer pay, refund and slash.

use super::*;

#[test]
fn success_pays_flat_and_bonus_and_refunds_the_deposit() {
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    let package = honest_package(task_id(1), result());
    prov.deliver(at_ms(100), id, result(), Some(package.clone()))
        .unwrap();
    carry(&mut prov, &mut req, at_ms(100));

    let ev = drain_events(&mut req);
    let [
        Event::Delivered {
            id: got,
            provider,
            result_hash,
            evidence: Some(evidence),
            grade_by,
        },
    ] = &ev[..]
    else {
        panic!("{ev:?}")
    };
    assert_eq!((*got, *provider, *result_hash), (id, bob().id(), result()));
    assert_eq!(evidence.package_hash(), package.hash());
    assert_eq!(*grade_by, Instant::from_millis(100 + SETTLE_MS / 2));
    let info = req.session(&id).unwrap();
    assert_eq!(
        (info.phase, info.result_hash),
        (Phase::Delivered, Some(result()))
    );

    assert_eq!(
        req.grade(at_ms(200), id, Grade::new(900_000, false))
            .unwrap(),
        Outcome::Accepted
    );
    let ev = drain_events(&mut req);
    let s = settlement(&ev);
    assert_eq!(s.role, Role::Requester);
    assert_eq!(s.outcome(), Outcome::Accepted);
    assert_eq!(amounts(s), (FLAT + BONUS, DEPOSIT, 0));
    assert_eq!(s.statement.mechanism, rules(Tier::Evidence).id());
    assert_eq!(s.statement.provider, bob().id());
    let (outcome, evidence) = feedback(&ev).expect("feedback");
    assert_eq!(outcome, TaskOutcome::Accepted);
    assert_eq!(evidence.unwrap().provider(), bob().id());
    assert!(req.is_empty() && req.poll_timeout().is_none());

    // The provider checks the statement and accepts it.
    carry(&mut req, &mut prov, at_ms(210));
    let ev = drain_events(&mut prov);
    let s = settlement(&ev);
    assert_eq!(s.role, Role::Provider);
    assert_eq!(amounts(s), (FLAT + BONUS, DEPOSIT, 0));
    assert!(prov.is_empty() && prov.poll_timeout().is_none());
    assert!(prov.has_ended(&id));
}

#[test]
fn a_score_below_the_threshold_pays_the_flat_fee_only() {
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    prov.deliver(at_ms(100), id, result(), None).unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    assert!(matches!(
        drain_events(&mut req)[..],
        [Event::Delivered { evidence: None, .. }]
    ));
    assert_eq!(
        req.grade(at_ms(200), id, Grade::new(699_999, true))
            .unwrap(),
        Outcome::Rejected
    );
    let ev = drain_events(&mut req);
    assert_eq!(amounts(settlement(&ev)), (FLAT, DEPOSIT, 0));
    assert_eq!(feedback(&ev), Some((TaskOutcome::Rejected, None)));
    carry(&mut req, &mut prov, at_ms(210));
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::Rejected);
    assert_eq!(amounts(settlement(&ev)), (FLAT, DEPOSIT, 0));
}

#[test]
fn failed_canaries_forfeit_the_bonus_at_tier_two() {
    let (mut req, mut prov, id) = delegated(Tier::Canary);
    prov.deliver(at_ms(100), id, result(), None).unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    assert_eq!(
        req.grade(at_ms(200), id, Grade::new(PPM_MAX, false))
            .unwrap(),
        Outcome::Rejected
    );
    assert_eq!(
        amounts(settlement(&drain_events(&mut req))),
        (FLAT, DEPOSIT, 0)
    );
}

const PPM_MAX: u32 = 1_000_000;

#[test]
fn execution_timeout_refunds_the_deposit_and_pays_nothing() {
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    let deadline = Instant::from_millis(20 + EXECUTE_MS);
    assert_eq!(req.poll_timeout(), Some(deadline));
    // Early and spurious timeouts do nothing.
    req.handle_timeout(at_ms(20 + EXECUTE_MS - 1));
    assert!(drain_events(&mut req).is_empty());

    req.handle_timeout(at_ms(20 + EXECUTE_MS));
    let ev = drain_events(&mut req);
    let s = settlement(&ev);
    assert_eq!(s.outcome(), Outcome::TimedOut(Stage::Execute));
    assert_eq!(amounts(s), (0, DEPOSIT, 0));
    assert_eq!(feedback(&ev), Some((TaskOutcome::Rejected, None)));
    assert!(req.is_empty());

    // The provider's delivery window has closed too; its late result is refused locally.
    assert_eq!(
        prov.deliver(at_ms(20 + EXECUTE_MS), id, result(), None),
        Err(SessionError::DeadlinePassed(id))
    );
    carry(&mut req, &mut prov, at_ms(20 + EXECUTE_MS + 5));
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::TimedOut(Stage::Execute));
    assert_eq!(amounts(settlement(&ev)), (0, DEPOSIT, 0));
}

#[test]
fn commit_timeout_ends_the_session_and_pays_nothing() {
    // Nobody answers: the requester gives up at commit_ms, the provider's offer expires.
    let (mut req, mut prov, id) = offered(Tier::Reputation);
    let ev = drain_events(&mut prov);
    let [Event::Offered { answer_by, .. }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(*answer_by, Instant::from_millis(COMMIT_MS));
    assert_eq!(req.poll_timeout(), Some(Instant::from_millis(COMMIT_MS)));

    req.handle_timeout(at_ms(COMMIT_MS));
    let ev = drain_events(&mut req);
    let s = settlement(&ev);
    assert_eq!(s.outcome(), Outcome::TimedOut(Stage::Commit));
    assert_eq!(amounts(s), (0, DEPOSIT, 0));
    assert_eq!(feedback(&ev), None, "no judgement without work");

    prov.handle_timeout(at_ms(COMMIT_MS));
    assert_eq!(
        drain_events(&mut prov),
        vec![Event::OfferExpired {
            id,
            requester: alice().id()
        }]
    );
    assert_eq!(
        prov.accept(at_ms(COMMIT_MS), id),
        Err(SessionError::Ended(id))
    );
    // The requester's cancellation arrives after the provider gave up: a late message.
    let cancel = drain_frames(&mut req).pop().unwrap();
    assert_eq!(
        prov.handle_message(at_ms(COMMIT_MS + 1), LINK, cancel),
        Err(SessionError::Ended(id))
    );
}

#[test]
fn a_commitment_in_flight_at_the_commit_deadline_is_cancelled_and_refunded() {
    let (mut req, mut prov, id) = offered(Tier::Reputation);
    prov.accept(at_ms(COMMIT_MS - 10), id).unwrap();
    let commit = drain_frames(&mut prov).pop().unwrap();
    req.handle_timeout(at_ms(COMMIT_MS));
    assert_eq!(
        req.handle_message(at_ms(COMMIT_MS + 1), LINK, commit),
        Err(SessionError::Ended(id))
    );
    carry(&mut req, &mut prov, at_ms(COMMIT_MS + 2));
    let ev = drain_events(&mut prov);
    let s = settlement(&ev);
    assert_eq!(s.outcome(), Outcome::TimedOut(Stage::Commit));
    assert_eq!(amounts(s), (0, DEPOSIT, 0));
}

#[test]
fn a_missing_grade_pays_the_flat_fee_before_the_provider_gives_up() {
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    prov.deliver(at_ms(100), id, result(), None).unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    drain_events(&mut req);
    let grade_by = 100 + SETTLE_MS / 2;
    assert_eq!(req.poll_timeout(), Some(Instant::from_millis(grade_by)));
    req.handle_timeout(at_ms(grade_by));
    let ev = drain_events(&mut req);
    assert_eq!(settlement(&ev).outcome(), Outcome::TimedOut(Stage::Grade));
    assert_eq!(amounts(settlement(&ev)), (FLAT, DEPOSIT, 0));
    assert_eq!(feedback(&ev), None);
    // The statement reaches the provider well within its settlement window.
    assert_eq!(
        prov.poll_timeout(),
        Some(Instant::from_millis(100 + SETTLE_MS))
    );
    carry(&mut req, &mut prov, at_ms(grade_by + 50));
    assert_eq!(
        settlement(&drain_events(&mut prov)).outcome(),
        Outcome::TimedOut(Stage::Grade)
    );
}

#[test]
fn a_provider_without_a_statement_reports_the_settlement_overdue() {
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    prov.deliver(at_ms(100), id, result(), None).unwrap();
    drain_frames(&mut prov); // the delivery is lost
    prov.handle_timeout(at_ms(100 + SETTLE_MS));
    assert_eq!(
        drain_events(&mut prov),
        vec![Event::SettlementOverdue {
            id,
            requester: alice().id(),
            phase: Phase::Delivered
        }]
    );
    assert!(prov.is_empty());
    // The requester, never having received the delivery, settles TimedOut(Execute) later.
    req.handle_timeout(at_ms(20 + EXECUTE_MS));
    assert_eq!(
        settlement(&drain_events(&mut req)).outcome(),
        Outcome::TimedOut(Stage::Execute)
    );
}

#[test]
fn a_requester_that_never_delegates_refunds_the_deposit() {
    let (mut req, mut prov, id) = offered(Tier::Reputation);
    prov.accept(at_ms(10), id).unwrap();
    carry(&mut prov, &mut req, at_ms(10));
    let ev = drain_events(&mut req);
    let [Event::Committed { delegate_by, .. }] = &ev[..] else {
        panic!("{ev:?}")
    };
    assert_eq!(*delegate_by, Instant::from_millis(10 + COMMIT_MS));
    req.handle_timeout(at_ms(10 + COMMIT_MS));
    let ev = drain_events(&mut req);
    assert_eq!(
        settlement(&ev).outcome(),
        Outcome::TimedOut(Stage::Delegate)
    );
    assert_eq!(amounts(settlement(&ev)), (0, DEPOSIT, 0));
    carry(&mut req, &mut prov, at_ms(10 + COMMIT_MS + 1));
    let ev = drain_events(&mut prov);
    assert_eq!(
        settlement(&ev).outcome(),
        Outcome::TimedOut(Stage::Delegate)
    );
}

#[test]
fn a_declined_offer_ends_both_sides_with_nothing_owed() {
    let (mut req, mut prov, id) = offered(Tier::Reputation);
    prov.decline(at_ms(5), id).unwrap();
    assert!(prov.is_empty() && prov.has_ended(&id));
    carry(&mut prov, &mut req, at_ms(6));
    assert_eq!(
        drain_events(&mut req),
        vec![Event::Declined {
            id,
            provider: bob().id()
        }]
    );
    assert!(req.is_empty() && req.poll_timeout().is_none());
    assert!(
        drain_frames(&mut req).is_empty(),
        "a decline needs no statement"
    );
}
