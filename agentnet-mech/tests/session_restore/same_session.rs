//! The same session with and without a restart: a restart at any step on either side settles
//! the same, the restored session looks the same and keeps its deadline, and export gives the
//! last persisted records.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Requester,
    Provider,
}

/// What a run ends with, on each side.
#[derive(Debug, PartialEq, Eq)]
struct Ending {
    outcome: Outcome,
    amounts: (Micros, Micros, Micros),
    /// The statement's bytes (signed by the requester).
    statement: Bytes,
    /// The requester's feedback for the ledger.
    feedback: Option<(TaskOutcome, bool)>,
}

fn ending(requester: &Host, provider: &Host) -> Ending {
    let (r, p) = (requester.settlement(), provider.settlement());
    assert_eq!(r.statement.to_frame(), p.statement.to_frame());
    assert_eq!((r.role, p.role), (Role::Requester, Role::Provider));
    let feedback = requester.events.iter().find_map(|e| match e {
        Event::Feedback {
            outcome, evidence, ..
        } => Some((*outcome, evidence.is_some())),
        _ => None,
    });
    Ending {
        outcome: r.outcome(),
        amounts: (r.payment(), r.refund(), r.slashed()),
        statement: r.statement.to_frame(),
        feedback,
    }
}

/// The whole session (offer at 0 ms, commitment at 10, delegation at 20, delivery at 100,
/// grade at 200), with `crash` restarting one side right after a step (0 offer, 1 commit,
/// 2 delegation, 3 delivery), 5 ms later on the wall clock and with a new monotonic origin.
/// Returns both sides' ending and the events the restored side re-announced.
fn run(tier: Tier, crash: Option<(Side, u8)>) -> (Ending, Vec<Event>) {
    let (mut a, mut b) = (alice_host(), bob_host());
    let mut announced = Vec::new();
    let mut maybe_crash = |a: &mut Host, b: &mut Host, step: u8, ms: u64| {
        let Some((side, at)) = crash else { return };
        if at != step {
            return;
        }
        let host = match side {
            Side::Requester => a,
            Side::Provider => b,
        };
        // Lower than before: a new process's monotonic clock owes nothing to the old one.
        let report = host.restart(ms, 3);
        assert_eq!(
            report,
            RestoreReport {
                restored: 1,
                ..Default::default()
            }
        );
        announced = host.take_events();
    };
    let evidence = (tier == Tier::Evidence).then(|| honest_package(task_id(1)));

    let id = a
        .engine
        .offer(a.now(0), bob().id(), LINK, task(1), rules(tier))
        .unwrap();
    carry(&mut a, &mut b, 0);
    maybe_crash(&mut a, &mut b, 0, 5);
    b.engine.accept(b.now(10), id).unwrap();
    carry(&mut b, &mut a, 10);
    maybe_crash(&mut a, &mut b, 1, 15);
    a.engine.delegate(a.now(20), id, input()).unwrap();
    carry(&mut a, &mut b, 20);
    maybe_crash(&mut a, &mut b, 2, 25);
    b.engine
        .deliver(b.now(100), id, result(), evidence)
        .unwrap();
    carry(&mut b, &mut a, 100);
    maybe_crash(&mut a, &mut b, 3, 150);
    assert_eq!(
        a.engine
            .grade(a.now(200), id, Grade::new(900_000, false))
            .unwrap(),
        Outcome::Accepted
    );
    carry(&mut a, &mut b, 200);
    b.pass();
    // Both sides ended the session and deleted its record.
    assert!(a.engine.is_empty() && b.engine.is_empty());
    assert!(a.store.is_empty() && b.store.is_empty(), "records deleted");
    (ending(&a, &b), announced)
}

#[test]
fn a_restart_at_any_step_on_either_side_settles_the_same() {
    for tier in [Tier::Reputation, Tier::Evidence] {
        let (baseline, _) = run(tier, None);
        assert_eq!(baseline.outcome, Outcome::Accepted);
        // Accepted: flat + bonus paid, the whole deposit back.
        assert_eq!(baseline.amounts, (FLAT + BONUS, DEPOSIT, 0));
        assert_eq!(
            baseline.feedback,
            Some((TaskOutcome::Accepted, tier == Tier::Evidence))
        );
        for side in [Side::Requester, Side::Provider] {
            for step in 0..=3 {
                let (restarted, announced) = run(tier, Some((side, step)));
                assert_eq!(
                    restarted, baseline,
                    "{tier:?}: {side:?} restarted after {step}"
                );
                // What the restored side re-announces: the step its host owes, if any.
                let expected = match (side, step) {
                    (Side::Provider, 0) => Some("Offered"),
                    (Side::Requester, 1) => Some("Committed"),
                    (Side::Provider, 2) => Some("Delegated"),
                    (Side::Requester, 3) => Some("Delivered"),
                    _ => None,
                };
                let got = match &announced[..] {
                    [] => None,
                    [Event::Offered { .. }] => Some("Offered"),
                    [Event::Committed { .. }] => Some("Committed"),
                    [Event::Delegated { .. }] => Some("Delegated"),
                    [Event::Delivered { .. }] => Some("Delivered"),
                    other => panic!("unexpected re-announcement {other:?}"),
                };
                assert_eq!(got, expected, "{tier:?}: {side:?} restarted after {step}");
            }
        }
    }
}

#[test]
fn the_restored_session_looks_the_same_and_keeps_its_deadline() {
    let (mut a, b, id) = delegated(Tier::Reputation);
    let before = a.engine.session(&id).unwrap();
    a.restart(25, 40);
    let after = a.engine.session(&id).unwrap();
    // Same session; no link yet; the deadline falls on the same wall-clock time (delegation
    // at 20 ms + execute_ms), now read on the new process's monotonic clock.
    assert_eq!(after.link, None);
    assert_eq!(
        after.deadline,
        Instant::from_millis(40 + 20 + EXECUTE_MS),
        "mapped onto the new clock"
    );
    assert_eq!(
        before.deadline,
        Instant::from_millis(1_000_000 + 20 + EXECUTE_MS)
    );
    assert_eq!(
        (
            after.role,
            after.phase,
            after.requester,
            after.provider,
            after.task,
            after.topic.clone(),
            after.mechanism_id,
            after.input_hash,
            after.result_hash,
        ),
        (
            before.role,
            before.phase,
            before.requester,
            before.provider,
            before.task,
            before.topic,
            before.mechanism_id,
            before.input_hash,
            before.result_hash,
        )
    );
    assert_eq!(a.engine.poll_timeout(), Some(after.deadline));
    // The export of the restored engine is the record it was restored from.
    assert_eq!(a.engine.export(a.now(25)), vec![(id, a.store[&id].clone())]);
    drop(b);
}

#[test]
fn export_gives_the_last_persisted_records() {
    let (a, b, id) = delegated(Tier::Evidence);
    assert_eq!(a.engine.export(a.now(20)), vec![(id, a.store[&id].clone())]);
    assert_eq!(b.engine.export(b.now(20)), vec![(id, b.store[&id].clone())]);
    // Records are versioned.
    assert_eq!(a.store[&id][0], RECORD_VERSION);
}
