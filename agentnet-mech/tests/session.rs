//! Task sessions end to end: a requester and a provider `Sessions` engine, frames carried
//! between them by hand, on virtual time.

use agentnet_core::descriptor::Topic;
use agentnet_core::signed::SignedError;
use agentnet_core::wire::{Limits, MessageKind, WireError, encode_cbor, frame_from_payload};
use agentnet_core::{
    AgentId, Engine, Hash, Instant, Keypair, LinkId, Now, Signed, SignedObject, WallTime,
};
use agentnet_mech::mechanism::{Clause, Mechanism, Micros, Tier, UNIT};
use agentnet_mech::session::{Commit, Delegate, Deliver, Offer};
use agentnet_mech::session::{
    DisputeReason, Event, Grade, Outcome, Phase, Role, SessionConfig, SessionError, SessionId,
    Sessions, Settle, Settlement, Stage,
};
use agentnet_mech::wire;
use agentnet_trust::evidence::{
    Attestation, EvidencePackage, MAX_ATTESTATION_LEN, ReceiptChain, TaskId, VerifiedEvidence,
    payload_hash,
};
use agentnet_trust::fraud::{FraudKind, FraudProof};
use agentnet_trust::ledger::TaskOutcome;
use bytes::Bytes;
use proptest::prelude::*;

mod common;
use agentnet_core::test_support::{EPOCH_MS, at_ms, wall_ms};
use common::*;

// =============================================================================================
// Fixtures
// =============================================================================================

/// An odd ratio, so that slashing has to round.
const RATIO: u32 = 333_333;

fn engine(kp: Keypair) -> Sessions {
    Sessions::new(SessionConfig::default(), Box::new(kp)).unwrap()
}

fn rules(tier: Tier) -> Mechanism {
    Mechanism::new(
        alice().id(),
        "code-review",
        100 * UNIT,
        [
            Clause::Payment {
                flat: FLAT,
                bonus: BONUS,
            },
            Clause::QualityThreshold { min_score: 700_000 },
            Clause::Deposit { amount: DEPOSIT },
            Clause::Slashing { ratio: RATIO },
            Clause::Verification { tier },
            Clause::Deadlines {
                commit_ms: COMMIT_MS,
                execute_ms: EXECUTE_MS,
                settle_ms: SETTLE_MS,
            },
        ],
    )
}

fn signed_rules(tier: Tier) -> Signed<Mechanism> {
    Signed::sign(&alice(), rules(tier)).unwrap()
}

fn drain_frames(e: &mut Sessions) -> Vec<Bytes> {
    std::iter::from_fn(|| e.poll_transmit())
        .map(|t| t.payload)
        .collect()
}

/// Every queued event but the records to store (tests/session_restore.rs covers those).
fn drain_events(e: &mut Sessions) -> Vec<Event> {
    std::iter::from_fn(|| e.poll_event())
        .filter(|e| !matches!(e, Event::Persist { .. }))
        .collect()
}

/// Move every queued frame from `from` to `to`; every one must be accepted.
fn carry(from: &mut Sessions, to: &mut Sessions, now: Now) {
    for f in drain_frames(from) {
        to.handle_message(now, LINK, f).expect("frame accepted");
    }
}

fn settlement(events: &[Event]) -> &Settlement {
    events
        .iter()
        .find_map(|e| match e {
            Event::Settled(s) => Some(&**s),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no settlement in {events:?}"))
}

fn feedback(events: &[Event]) -> Option<(TaskOutcome, Option<VerifiedEvidence>)> {
    events.iter().find_map(|e| match e {
        Event::Feedback {
            peer,
            topic,
            outcome,
            evidence,
            ..
        } => {
            assert_eq!(*peer, bob().id());
            assert_eq!(topic.as_str(), "code/review");
            Some((*outcome, evidence.clone()))
        }
        _ => None,
    })
}

fn amounts(s: &Settlement) -> (Micros, Micros, Micros) {
    (s.payment(), s.refund(), s.slashed())
}

/// Fresh engines after Alice offered Bob task 1 at 0 ms and the offer arrived (events kept).
fn offered(tier: Tier) -> (Sessions, Sessions, SessionId) {
    let (mut req, mut prov) = (engine(alice()), engine(bob()));
    let id = req
        .offer(at_ms(0), bob().id(), LINK, task(1), signed_rules(tier))
        .unwrap();
    carry(&mut req, &mut prov, at_ms(0));
    (req, prov, id)
}

/// A session between fresh engines driven to the point where the provider has been delegated
/// the task (offer at 0 ms, commitment at 10 ms, delegation at 20 ms); events drained.
fn delegated(tier: Tier) -> (Sessions, Sessions, SessionId) {
    let (mut req, mut prov, id) = offered(tier);
    prov.accept(at_ms(10), id).unwrap();
    carry(&mut prov, &mut req, at_ms(10));
    req.delegate(at_ms(20), id, input()).unwrap();
    carry(&mut req, &mut prov, at_ms(20));
    drain_events(&mut req);
    let ev = drain_events(&mut prov);
    assert!(
        matches!(ev[..], [Event::Offered { .. }, Event::Delegated { .. }]),
        "{ev:?}"
    );
    (req, prov, id)
}

/// An honest package: two receipts inside the window (delegation at 20 ms, delivery at 100).
fn honest_package(task: TaskId, result: Hash) -> Signed<EvidencePackage> {
    let b = bob();
    let mut chain = ReceiptChain::new(b.id(), task);
    let mid = payload_hash(b"lint output");
    chain
        .record(&b, "lint", input(), mid, wall_ms(25), wall_ms(40))
        .unwrap();
    chain
        .record(&b, "review", mid, result, wall_ms(40), wall_ms(90))
        .unwrap();
    chain.finish(&b, result, None).unwrap()
}

/// A package whose intact receipt chain ends in `result()` but which claims `claimed`: built
/// honestly, then re-signed with the result changed (what a cheating provider would do).
fn contradicting_package(task: TaskId, claimed: Hash) -> Signed<EvidencePackage> {
    let b = bob();
    // `EvidencePackage::build` (behind `ReceiptChain::finish`) refuses to sign a lie.
    assert!(EvidencePackage::build(&b, task, claimed, &[], None).is_err());
    let honest = honest_package(task, result());
    let mut lie = honest.value().clone();
    lie.result_hash = claimed;
    Signed::sign(&b, lie).unwrap()
}

/// Build a frame whose envelope is signed by `key` over the encoding of `value`, whatever
/// author `value` names (the forger's path; `Signed::sign` refuses to do this).
fn forged<T: SignedObject>(value: &T, key: &Keypair) -> Bytes {
    let body = encode_cbor(value).unwrap();
    let sig = key.sign_bytes(T::CONTEXT, &body);
    let mut env = vec![0x83, 0x58, 0x20];
    env.extend_from_slice(key.id().as_bytes());
    env.extend_from_slice(&[0x58, 0x40]);
    env.extend_from_slice(&sig.0);
    match body.len() {
        n if n < 24 => env.push(0x40 | n as u8),
        n if n < 256 => env.extend_from_slice(&[0x58, n as u8]),
        n => {
            env.push(0x59);
            env.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    env.extend_from_slice(&body);
    frame_from_payload(T::KIND, &env)
}

fn sign_frame<T: SignedObject>(key: &Keypair, value: T) -> Bytes {
    Signed::sign(key, value).unwrap().to_frame()
}

// =============================================================================================
// Settlement by the mechanism
// =============================================================================================

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

// =============================================================================================
// Evidence and fraud
// =============================================================================================

#[test]
fn a_contradicting_evidence_package_settles_as_fraud_and_slashes() {
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    let claimed = payload_hash(b"a result no tool produced");
    let lie = contradicting_package(task_id(1), claimed);
    prov.deliver(at_ms(100), id, claimed, Some(lie)).unwrap();
    carry(&mut prov, &mut req, at_ms(100));

    let ev = drain_events(&mut req);
    let s = settlement(&ev);
    assert_eq!(s.outcome(), Outcome::Fraud);
    // ⌊30 000 001 × 333 333 / 1 000 000⌋ = ⌊9 999 990.333…⌋
    let slashed = 9_999_990;
    assert_eq!(amounts(s), (0, DEPOSIT - slashed, slashed));
    assert_eq!(DEPOSIT - slashed, 20_000_011);
    assert!(s.statement.proof.is_some());
    let offence = ev
        .iter()
        .find_map(|e| match e {
            Event::Offence(o) => Some(o),
            _ => None,
        })
        .expect("offence");
    assert_eq!(offence.offender, bob().id());
    assert_eq!(offence.kind, FraudKind::ReceiptContradiction);
    assert_eq!(feedback(&ev), None, "the offence is the ledger's input");

    // The statement carries the proof, so the provider cannot dispute it.
    carry(&mut req, &mut prov, at_ms(110));
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::Fraud);
    assert_eq!(amounts(settlement(&ev)), (0, DEPOSIT - slashed, slashed));
}

#[test]
fn evidence_that_fails_without_proving_fraud_settles_as_rejected() {
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    // Receipts from long before the delegation: outside the window, which proves nothing to
    // third parties.
    let b = bob();
    let mut chain = ReceiptChain::new(b.id(), task_id(1));
    chain
        .record(
            &b,
            "review",
            input(),
            result(),
            WallTime::from_unix_millis(EPOCH_MS - 3_600_000),
            WallTime::from_unix_millis(EPOCH_MS - 3_500_000),
        )
        .unwrap();
    let stale = chain.finish(&b, result(), None).unwrap();
    prov.deliver(at_ms(100), id, result(), Some(stale)).unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    let ev = drain_events(&mut req);
    assert_eq!(settlement(&ev).outcome(), Outcome::Rejected);
    assert_eq!(amounts(settlement(&ev)), (FLAT, DEPOSIT, 0));
    assert_eq!(feedback(&ev), Some((TaskOutcome::Rejected, None)));
    let report = ev
        .iter()
        .find_map(|e| match e {
            Event::EvidenceRejected { report, .. } => Some(report),
            _ => None,
        })
        .expect("evidence rejected");
    assert_eq!(report.rejection().unwrap().provider(), bob().id());
    carry(&mut req, &mut prov, at_ms(110));
    assert_eq!(
        settlement(&drain_events(&mut prov)).outcome(),
        Outcome::Rejected
    );
}

#[test]
fn tier_three_requires_evidence_and_a_corrected_delivery_is_accepted() {
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    assert_eq!(
        prov.deliver(at_ms(100), id, result(), None),
        Err(SessionError::EvidenceRequired(id))
    );
    // A delivery without evidence that reaches the requester anyway is refused, state unchanged.
    let bare = sign_frame(
        &bob(),
        Deliver {
            session: id,
            provider: bob().id(),
            result_hash: result(),
            evidence: None,
        },
    );
    assert_eq!(
        req.handle_message(at_ms(100), LINK, bare),
        Err(SessionError::EvidenceRequired(id))
    );
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    // A package for another result is the host's wiring mistake, caught before signing.
    assert!(matches!(
        prov.deliver(
            at_ms(100),
            id,
            payload_hash(b"other"),
            Some(honest_package(task_id(1), result()))
        ),
        Err(SessionError::EvidenceMismatch { .. })
    ));
    prov.deliver(
        at_ms(100),
        id,
        result(),
        Some(honest_package(task_id(1), result())),
    )
    .unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    assert!(matches!(
        drain_events(&mut req)[..],
        [Event::Delivered {
            evidence: Some(_),
            ..
        }]
    ));
}

#[test]
fn report_fraud_needs_a_proof_that_convicts_the_provider_in_this_session() {
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    let limits = Limits::default();

    // A proof that does not verify, and a genuine proof against someone else: typed errors,
    // session untouched.
    let junk = FraudProof::ReceiptContradiction {
        package: Bytes::from_static(b"\x83\x01\x02\x03"),
    };
    assert!(matches!(
        req.report_fraud(at_ms(30), id, &junk),
        Err(SessionError::Fraud(_))
    ));
    let m = mallory();
    let mut chain = ReceiptChain::new(m.id(), task_id(9));
    chain
        .record(&m, "tool", input(), result(), wall_ms(1), wall_ms(2))
        .unwrap();
    let honest = chain.finish(&m, result(), None).unwrap();
    let mut lie = honest.value().clone();
    lie.result_hash = payload_hash(b"lie");
    let against_mallory =
        FraudProof::receipt_contradiction(&Signed::sign(&m, lie).unwrap(), &limits).unwrap();
    assert_eq!(
        req.report_fraud(at_ms(30), id, &against_mallory),
        Err(SessionError::WrongOffender {
            id,
            offender: m.id(),
            provider: bob().id()
        })
    );
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty());

    // A proof against the provider from anywhere else (here: another task's package) is not
    // this session's: it slashes nothing here (issue 15, finding 9).
    let proof = FraudProof::receipt_contradiction(
        &contradicting_package(task_id(42), payload_hash(b"lie")),
        &limits,
    )
    .unwrap();
    assert!(matches!(
        req.report_fraud(at_ms(40), id, &proof),
        Err(SessionError::ProofNotForSession { .. })
    ));
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty());
    assert!(
        drain_events(&mut prov)
            .iter()
            .all(|e| !matches!(e, Event::Settled(_)))
    );
}

#[test]
fn report_fraud_needs_a_commitment() {
    let mut req = engine(alice());
    let id = req
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    let proof = FraudProof::receipt_contradiction(
        &contradicting_package(task_id(42), payload_hash(b"lie")),
        &Limits::default(),
    )
    .unwrap();
    assert!(matches!(
        req.report_fraud(at_ms(1), id, &proof),
        Err(SessionError::WrongPhase {
            phase: Phase::Offered,
            ..
        })
    ));
}

// =============================================================================================
// Hostile input
// =============================================================================================

#[test]
fn hostile_frames_get_typed_errors_and_the_session_survives() {
    let (mut req, mut prov) = (engine(alice()), engine(bob()));
    let id = req
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    let offer_frame = drain_frames(&mut req).pop().unwrap();
    prov.handle_message(at_ms(0), LINK, offer_frame.clone())
        .unwrap();
    prov.accept(at_ms(10), id).unwrap();
    let commit = drain_frames(&mut prov).pop().unwrap();
    let offer_hash = Signed::<Offer>::from_frame(&offer_frame, &Limits::default())
        .unwrap()
        .hash();
    let good = |deposit, offer| Commit {
        session: id,
        provider: bob().id(),
        offer,
        accept: true,
        deposit,
    };
    let now = at_ms(11);
    let mut send = |f: Bytes| req.handle_message(now, LinkId(99), f);

    // Malformed and oversized.
    assert!(matches!(
        send(Bytes::new()),
        Err(SessionError::Wire(WireError::TruncatedHeader { .. }))
    ));
    assert!(matches!(
        send(Bytes::from_static(&[0xff; 10])),
        Err(SessionError::Wire(WireError::UnsupportedVersion { .. }))
    ));
    let mut huge = commit.to_vec();
    huge.resize(70_000, 0);
    assert!(matches!(
        send(Bytes::from(huge)),
        Err(SessionError::Wire(WireError::FrameTooLarge { .. }))
    ));
    assert!(matches!(
        send(frame_from_payload(MessageKind(0x0399), &[0xa0])),
        Err(SessionError::Wire(WireError::UnknownKind(0x0399)))
    ));
    assert!(matches!(
        send(frame_from_payload(wire::COMMIT, &[0x83, 0x01])),
        Err(SessionError::Wire(WireError::LengthExceedsInput { .. }))
    ));
    assert!(matches!(
        send(frame_from_payload(wire::COMMIT, &[0xa0])),
        Err(SessionError::Wire(WireError::Schema(_)))
    ));
    // Forged: a flipped signature bit; a body naming Bob signed by Mallory.
    let mut flipped = commit.to_vec();
    flipped[50] ^= 1;
    assert!(matches!(
        send(Bytes::from(flipped)),
        Err(SessionError::Signed(SignedError::BadSignature(_)))
    ));
    assert!(matches!(
        send(forged(&good(DEPOSIT, offer_hash), &mallory())),
        Err(SessionError::Signed(SignedError::SignerMismatch { .. }))
    ));
    // Validly signed, but by someone other than the counterparty.
    let by_mallory = Commit {
        provider: mallory().id(),
        ..good(DEPOSIT, offer_hash)
    };
    assert_eq!(
        send(sign_frame(&mallory(), by_mallory)),
        Err(SessionError::WrongSender {
            id,
            expected: bob().id(),
            got: mallory().id()
        })
    );
    // Unknown session; wrong content; wrong role; too early.
    let stranger = SessionId(Hash([9; 32]));
    assert_eq!(
        send(sign_frame(
            &bob(),
            Commit {
                session: stranger,
                ..good(DEPOSIT, offer_hash)
            }
        )),
        Err(SessionError::UnknownSession(stranger))
    );
    assert_eq!(
        send(sign_frame(&bob(), good(DEPOSIT - 1, offer_hash))),
        Err(SessionError::WrongDeposit {
            id,
            expected: DEPOSIT,
            got: DEPOSIT - 1
        })
    );
    assert!(matches!(
        send(sign_frame(&bob(), good(DEPOSIT, Hash([0; 32])))),
        Err(SessionError::OfferMismatch { .. })
    ));
    assert!(matches!(
        send(sign_frame(
            &bob(),
            Delegate {
                session: id,
                requester: bob().id(),
                input_hash: input()
            }
        )),
        Err(SessionError::WrongRole {
            role: Role::Requester,
            ..
        })
    ));
    let early = Deliver {
        session: id,
        provider: bob().id(),
        result_hash: result(),
        evidence: None,
    };
    assert_eq!(
        send(sign_frame(&bob(), early)),
        Err(SessionError::OutOfOrder {
            id,
            what: "DELIVER",
            phase: Phase::Offered
        })
    );

    // None of it touched the session: the real commitment is accepted, once.
    assert_eq!(send(commit.clone()), Ok(()));
    assert_eq!(
        send(commit),
        Err(SessionError::Replayed {
            id,
            what: "COMMIT",
            phase: Phase::Committed
        })
    );
    let ev = drain_events(&mut req);
    assert!(
        matches!(
            ev[..],
            [Event::Committed {
                deposit: DEPOSIT,
                ..
            }]
        ),
        "{ev:?}"
    );
    // Replies go where the counterparty last spoke from (link 99), never by identity.
    assert_eq!(req.session(&id).unwrap().link, Some(LinkId(99)));
    drain_events(&mut prov);

    // Provider side: a replayed offer and delegation are refused.
    assert!(matches!(
        prov.handle_message(at_ms(12), LINK, offer_frame),
        Err(SessionError::Replayed { what: "OFFER", .. })
    ));
    req.delegate(at_ms(20), id, input()).unwrap();
    let delegation = drain_frames(&mut req).pop().unwrap();
    prov.handle_message(at_ms(20), LINK, delegation.clone())
        .unwrap();
    assert!(matches!(
        prov.handle_message(at_ms(21), LINK, delegation),
        Err(SessionError::Replayed {
            what: "DELEGATE",
            ..
        })
    ));

    // ... and the session still completes.
    prov.deliver(at_ms(100), id, result(), None).unwrap();
    let delivery = drain_frames(&mut prov).pop().unwrap();
    req.handle_message(at_ms(100), LINK, delivery.clone())
        .unwrap();
    assert!(matches!(
        req.handle_message(at_ms(101), LINK, delivery),
        Err(SessionError::Replayed {
            what: "DELIVER",
            ..
        })
    ));
    assert_eq!(
        req.grade(at_ms(200), id, Grade::new(800_000, false)),
        Ok(Outcome::Accepted)
    );
    let statement = drain_frames(&mut req).pop().unwrap();
    prov.handle_message(at_ms(201), LINK, statement.clone())
        .unwrap();
    assert_eq!(
        amounts(settlement(&drain_events(&mut prov))),
        (FLAT + BONUS, DEPOSIT, 0)
    );
    // A replayed statement after the end.
    assert_eq!(
        prov.handle_message(at_ms(202), LINK, statement),
        Err(SessionError::Ended(id))
    );
}

#[test]
fn offers_are_checked_before_anything_is_stored() {
    let mut prov = engine(bob());
    let a = alice();
    let offer =
        |requester: &Keypair, provider: AgentId, offered_at: WallTime, mech: &Signed<Mechanism>| {
            let session = SessionId::derive(&requester.id(), &provider, &task_id(1), offered_at);
            Offer {
                session,
                requester: requester.id(),
                provider,
                task: task_id(1),
                topic: Topic::new("code/review").unwrap(),
                description_hash: Hash([1; 32]),
                offered_at,
                mechanism: Bytes::from(mech.to_envelope()),
            }
        };
    let mech = signed_rules(Tier::Reputation);
    let now = at_ms(10_000);
    let mut send = |f: Bytes| prov.handle_message(now, LINK, f);

    assert_eq!(
        send(sign_frame(
            &a,
            offer(&a, mallory().id(), wall_ms(10_000), &mech)
        )),
        Err(SessionError::NotAddressedToUs(mallory().id()))
    );
    let mut bad_id = offer(&a, bob().id(), wall_ms(10_000), &mech);
    bad_id.task = task_id(2);
    assert!(matches!(
        send(sign_frame(&a, bad_id)),
        Err(SessionError::BadSessionId(_))
    ));
    assert_eq!(
        send(sign_frame(
            &a,
            offer(&a, bob().id(), wall_ms(10_000 + 60_000), &mech)
        )),
        Err(SessionError::FromTheFuture { ahead_ms: 60_000 })
    );
    assert_eq!(
        send(sign_frame(
            &a,
            offer(&a, bob().id(), wall_ms(10_000 - COMMIT_MS - 7), &mech)
        )),
        Err(SessionError::StaleOffer { late_ms: 7 })
    );
    // Mallory offers under Alice's rules: the requester must be the leader.
    let m = mallory();
    assert_eq!(
        send(sign_frame(
            &m,
            offer(&m, bob().id(), wall_ms(10_000), &mech)
        )),
        Err(SessionError::NotLeader {
            requester: m.id(),
            leader: a.id()
        })
    );
    // A tampered mechanism envelope.
    let mut tampered = offer(&a, bob().id(), wall_ms(10_000), &mech);
    let mut env = tampered.mechanism.to_vec();
    let last = env.len() - 1;
    env[last] ^= 1;
    tampered.mechanism = Bytes::from(env);
    assert!(matches!(
        send(sign_frame(&a, tampered)),
        Err(SessionError::MechanismEnvelope(_))
    ));
    // An invalid mechanism, validly signed.
    let mut broke = rules(Tier::Reputation);
    broke.budget = 1;
    let broke = Signed::sign(&a, broke).unwrap();
    assert!(matches!(
        send(sign_frame(
            &a,
            offer(&a, bob().id(), wall_ms(10_000), &broke)
        )),
        Err(SessionError::Mechanism(_))
    ));
    // An invalid topic, validly signed: it does not even decode (a `Topic` is checked when
    // decoded).
    let good = offer(&a, bob().id(), wall_ms(10_000), &mech);
    let text = good.topic.as_str().to_string();
    let mut body = encode_cbor(&good).unwrap();
    let at = body
        .windows(text.len())
        .position(|w| w == text.as_bytes())
        .unwrap();
    body[at] = body[at].to_ascii_uppercase();
    let sig = a.sign_bytes(<Offer as SignedObject>::CONTEXT, &body);
    let env = encode_cbor(&(a.id(), sig, ciborium::Value::Bytes(body))).unwrap();
    let frame = frame_from_payload(<Offer as SignedObject>::KIND, &env);
    let r = send(frame);
    assert!(
        matches!(r, Err(SessionError::Wire(WireError::Schema(ref e))) if e.contains("invalid topic")),
        "{r:?}"
    );
    assert!(prov.is_empty());
    assert!(drain_events(&mut prov).is_empty());

    // The genuine offer is accepted.
    prov.handle_message(
        now,
        LINK,
        sign_frame(&a, offer(&a, bob().id(), wall_ms(10_000), &mech)),
    )
    .unwrap();
    assert_eq!(prov.len(), 1);
}

#[test]
fn commands_check_role_and_phase() {
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    assert!(matches!(
        req.accept(at_ms(30), id),
        Err(SessionError::WrongRole {
            role: Role::Requester,
            what: "accept",
            ..
        })
    ));
    assert!(matches!(
        prov.grade(at_ms(30), id, Grade::new(1, true)),
        Err(SessionError::WrongRole {
            role: Role::Provider,
            ..
        })
    ));
    assert!(matches!(
        req.grade(at_ms(30), id, Grade::new(1, true)),
        Err(SessionError::WrongPhase {
            phase: Phase::Delegated,
            ..
        })
    ));
    assert!(matches!(
        req.delegate(at_ms(30), id, input()),
        Err(SessionError::WrongPhase { .. })
    ));
    prov.deliver(at_ms(100), id, result(), None).unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    assert_eq!(
        req.grade(at_ms(110), id, Grade::new(1_000_001, true)),
        Err(SessionError::InvalidScore(1_000_001))
    );
    assert_eq!(
        req.offer(
            at_ms(0),
            alice().id(),
            LINK,
            task(2),
            signed_rules(Tier::Reputation)
        ),
        Err(SessionError::SelfDealing)
    );
    // Bob cannot offer under Alice's mechanism.
    assert!(matches!(
        prov.offer(
            at_ms(0),
            alice().id(),
            LINK,
            task(2),
            signed_rules(Tier::Reputation)
        ),
        Err(SessionError::NotLeader { .. })
    ));
    assert_eq!(
        req.offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Reputation)
        ),
        Err(SessionError::DuplicateSession(id))
    );
}

// =============================================================================================
// Disputes
// =============================================================================================

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

fn statement(id: SessionId, n: u8, outcome: Outcome, payment: Micros) -> Settle {
    Settle {
        session: id,
        requester: alice().id(),
        provider: bob().id(),
        task: task_id(n),
        mechanism: rules(Tier::Reputation).id(),
        outcome,
        payment,
        refund: DEPOSIT,
        slashed: 0,
        proof: None,
        settled_at: wall_ms(4),
    }
}

fn dispute_of(prov: &mut Sessions, st: Settle) -> DisputeReason {
    let id = st.session;
    prov.handle_message(at_ms(5), LINK, sign_frame(&alice(), st))
        .expect("an authentic statement is taken, even when wrong");
    let ev = drain_events(prov);
    let [
        Event::Disputed {
            id: got, reason, ..
        },
    ] = &ev[..]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(*got, id);
    assert!(prov.session(&id).is_none() && prov.has_ended(&id));
    reason.clone()
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

// =============================================================================================
// Bounds and determinism
// =============================================================================================

#[test]
fn the_session_table_is_bounded() {
    let mut cfg = SessionConfig::default();
    cfg.max_sessions = 2;
    let mut prov = Sessions::new(cfg.clone(), Box::new(bob())).unwrap();
    let mut req = engine(alice());
    for i in 1..=3 {
        req.offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(i),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    }
    let r: Vec<_> = drain_frames(&mut req)
        .into_iter()
        .map(|f| prov.handle_message(at_ms(0), LINK, f))
        .collect();
    assert!(r[0].is_ok() && r[1].is_ok());
    assert_eq!(r[2], Err(SessionError::Full { max: 2 }));
    assert!(drain_events(&mut prov).contains(&Event::TableFull { max: 2 }));
    assert_eq!(prov.len(), 2);

    let mut small = Sessions::new(cfg, Box::new(alice())).unwrap();
    small
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    small
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(2),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    assert_eq!(
        small.offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(3),
            signed_rules(Tier::Reputation)
        ),
        Err(SessionError::Full { max: 2 })
    );
}

#[test]
fn queue_overflow_drops_the_oldest_and_says_so() {
    let mut cfg = SessionConfig::default();
    cfg.max_queued_transmits = 16;
    let mut req = Sessions::new(cfg, Box::new(alice())).unwrap();
    for i in 0..20u8 {
        let provider = Keypair::from_seed([100 + i; 32]).id();
        req.offer(
            at_ms(0),
            provider,
            LINK,
            task(1),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    }
    assert_eq!(req.dropped_transmits(), 4);
    let frames = drain_frames(&mut req);
    assert_eq!(frames.len(), 16);
    let dropped: u64 = drain_events(&mut req)
        .iter()
        .map(|e| match e {
            Event::Overflow(o) if o.queue == "transmits" => o.dropped,
            _ => 0,
        })
        .sum();
    assert_eq!(dropped, 4);
    // The oldest were dropped: the first frame left is the fifth offer.
    let first = Signed::<Offer>::from_frame(&frames[0], &Limits::default()).unwrap();
    assert_eq!(first.provider, Keypair::from_seed([104; 32]).id());
}

/// Every frame of a complete tier-3 session, in order.
fn transcript() -> Vec<Bytes> {
    let (mut req, mut prov) = (engine(alice()), engine(bob()));
    let mut all = Vec::new();
    let mut hop = |from: &mut Sessions, to: &mut Sessions, now: Now| {
        for f in drain_frames(from) {
            all.push(f.clone());
            to.handle_message(now, LINK, f).unwrap();
        }
    };
    let id = req
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Evidence),
        )
        .unwrap();
    hop(&mut req, &mut prov, at_ms(0));
    prov.accept(at_ms(10), id).unwrap();
    hop(&mut prov, &mut req, at_ms(10));
    req.delegate(at_ms(20), id, input()).unwrap();
    hop(&mut req, &mut prov, at_ms(20));
    prov.deliver(
        at_ms(100),
        id,
        result(),
        Some(honest_package(task_id(1), result())),
    )
    .unwrap();
    hop(&mut prov, &mut req, at_ms(100));
    req.grade(at_ms(200), id, Grade::new(750_000, false))
        .unwrap();
    hop(&mut req, &mut prov, at_ms(200));
    all
}

#[test]
fn the_same_inputs_give_byte_identical_frames() {
    let a = transcript();
    assert_eq!(a.len(), 5);
    assert_eq!(a, transcript());
}

// =============================================================================================
// Fuzz
// =============================================================================================

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic, and an engine with live sessions in every phase stays
    /// consistent: every refused frame leaves the sessions as they were.
    #[test]
    fn arbitrary_bytes_never_panic(
        raw in proptest::collection::vec(any::<u8>(), 0..600),
        kind in 0x0300u16..0x0308,
        framed in any::<bool>(),
    ) {
        let (mut req, mut prov, id) = delegated(Tier::Evidence);
        let payload = if framed {
            frame_from_payload(MessageKind(kind), &raw)
        } else {
            Bytes::from(raw)
        };
        let before = (req.session(&id), prov.session(&id));
        let r1 = req.handle_message(at_ms(30), LINK, payload.clone());
        let r2 = prov.handle_message(at_ms(30), LINK, payload);
        if r1.is_err() {
            prop_assert_eq!(&req.session(&id), &before.0);
        }
        if r2.is_err() {
            prop_assert_eq!(&prov.session(&id), &before.1);
        }
    }

    /// Every single-byte corruption of a genuine delivery is refused or harmless; never a panic.
    #[test]
    fn corrupted_deliveries_never_panic(pos in any::<prop::sample::Index>(), bit in 0u8..8) {
        let (mut req, mut prov, id) = delegated(Tier::Evidence);
        prov.deliver(at_ms(100), id, result(), Some(honest_package(task_id(1), result()))).unwrap();
        let mut f = drain_frames(&mut prov).pop().unwrap().to_vec();
        let i = pos.index(f.len());
        f[i] ^= 1 << bit;
        let _ = req.handle_message(at_ms(100), LINK, Bytes::from(f));
        while req.poll_event().is_some() {}
        prop_assert!(req.len() <= 1);
    }
}

// =============================================================================================
// Settlement loopholes (issue 15, finding 9)
// =============================================================================================

/// A lying package (an intact chain ending in `result()`, claiming `claimed`) with `n`
/// receipts whose tool names are `tool_len` bytes long and, if `pad` > 0, an attestation of
/// `pad` bytes: a cheat's package of whatever size it likes.
fn sized_lie(
    task: TaskId,
    n: usize,
    tool_len: usize,
    pad: usize,
    claimed: Hash,
) -> Signed<EvidencePackage> {
    let b = bob();
    let mut chain = ReceiptChain::new(b.id(), task);
    let tool = "t".repeat(tool_len);
    let mut prev = input();
    for i in 0..n {
        let out = if i + 1 == n {
            result()
        } else {
            payload_hash(&(i as u64).to_le_bytes())
        };
        chain
            .record(&b, &tool, prev, out, wall_ms(25), wall_ms(90))
            .unwrap();
        prev = out;
    }
    let attestation = (pad > 0).then(|| Attestation {
        format: "pad".into(),
        bytes: vec![0; pad],
    });
    let honest = chain.finish(&b, result(), attestation).unwrap();
    let mut lie = honest.value().clone();
    lie.result_hash = claimed;
    Signed::sign(&b, lie).unwrap()
}

/// A DELIVER for session `id` carrying `package`, signed by Bob by hand (no engine checks).
fn deliver_frame(id: SessionId, claimed: Hash, package: &Signed<EvidencePackage>) -> Bytes {
    sign_frame(
        &bob(),
        Deliver {
            session: id,
            provider: bob().id(),
            result_hash: claimed,
            evidence: Some(Bytes::from(package.to_envelope())),
        },
    )
}

/// The largest `x` in `0..=hi` with `ok(x)`, for a predicate that holds at 0 and turns false
/// once.
fn largest(hi: usize, ok: impl Fn(usize) -> bool) -> usize {
    assert!(ok(0) && !ok(hi));
    let (mut lo, mut hi) = (0, hi);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if ok(mid) { lo = mid } else { hi = mid }
    }
    lo
}

#[test]
fn a_cheat_cannot_make_its_own_fraud_settlement_too_large_to_sign() {
    let claimed = payload_hash(b"a result no tool produced");
    let lie = |pad| sized_lie(task_id(1), 24, 100, pad, claimed);
    // The largest lie a DELIVER frame can carry within the default limits.
    let (_, _, id) = offered(Tier::Evidence);
    let frame_fits = |pad| {
        Signed::<Deliver>::from_frame(&deliver_frame(id, claimed, &lie(pad)), &Limits::default())
            .is_ok()
    };
    let biggest = largest(MAX_ATTESTATION_LEN, frame_fits);

    // Its fraud settlement (the statement carries the package) would not fit a frame, so it
    // is refused at delivery with nothing changed: the cheat gets no delivery it could hide
    // behind, and at the deadline it is paid nothing.
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    let err = req
        .handle_message(at_ms(100), LINK, deliver_frame(id, claimed, &lie(biggest)))
        .unwrap_err();
    assert!(
        matches!(err, SessionError::EvidenceTooLarge { id: got, .. } if got == id),
        "{err:?}"
    );
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty() && drain_events(&mut req).is_empty());
    // An honest provider's engine refuses to send such a package in the first place.
    assert!(matches!(
        prov.deliver(at_ms(100), id, claimed, Some(lie(biggest))),
        Err(SessionError::EvidenceTooLarge { .. })
    ));
    assert_eq!(prov.session(&id).unwrap().phase, Phase::Delegated);

    // Every package a delivery may carry can be convicted: the largest one the engines take
    // settles as fraud, slashing the deposit, and the provider accepts the statement.
    let deliverable = |pad| {
        let (_, mut p, id) = delegated(Tier::Evidence);
        p.deliver(at_ms(100), id, claimed, Some(lie(pad))).is_ok()
    };
    let edge = largest(biggest, deliverable);
    prov.deliver(at_ms(100), id, claimed, Some(lie(edge)))
        .unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    let ev = drain_events(&mut req);
    assert_eq!(settlement(&ev).outcome(), Outcome::Fraud);
    assert_eq!(amounts(settlement(&ev)), (0, 20_000_011, 9_999_990));
    carry(&mut req, &mut prov, at_ms(110));
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::Fraud);
    assert_eq!(amounts(settlement(&ev)), (0, 20_000_011, 9_999_990));
}

#[test]
fn a_package_over_max_receipts_is_refused_not_waved_past_the_chain_check() {
    let (mut req, mut prov, id) = delegated(Tier::Evidence);
    let claimed = payload_hash(b"a result no tool produced");
    let max = SessionConfig::default().max_receipts;
    let over = sized_lie(task_id(1), max + 1, 4, 0, claimed);
    let too_many = SessionError::TooManyReceipts {
        id,
        count: max + 1,
        max,
    };
    // Sent by hand: refused, nothing changed (before, the chain went unchecked and the
    // session settled as merely Rejected, flat fee paid, deposit untouched).
    assert_eq!(
        req.handle_message(at_ms(100), LINK, deliver_frame(id, claimed, &over)),
        Err(too_many.clone())
    );
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty() && drain_events(&mut req).is_empty());
    // The provider's own engine does not send it.
    assert_eq!(
        prov.deliver(at_ms(100), id, claimed, Some(over)),
        Err(too_many)
    );
    assert_eq!(prov.session(&id).unwrap().phase, Phase::Delegated);
    // At `max_receipts` the chain is checked, and the same lie is fraud.
    let at_max = sized_lie(task_id(1), max, 4, 0, claimed);
    prov.deliver(at_ms(110), id, claimed, Some(at_max)).unwrap();
    carry(&mut prov, &mut req, at_ms(110));
    let ev = drain_events(&mut req);
    assert_eq!(settlement(&ev).outcome(), Outcome::Fraud);
    assert_eq!(amounts(settlement(&ev)), (0, 20_000_011, 9_999_990));
}

/// Alice's signed `TimedOut(Execute)` statement for session `id` (task 1), made at `ms`.
fn execute_timeout(id: SessionId, ms: u64) -> Bytes {
    let mut st = statement(id, 1, Outcome::TimedOut(Stage::Execute), 0);
    st.settled_at = wall_ms(ms);
    sign_frame(&alice(), st)
}

#[test]
fn an_execution_timeout_is_refused_before_the_deadline_or_after_the_delivery() {
    // Delegated at 20 ms: the delivery deadline is 60 020 ms, 30 s of skew allowed.
    let (_req, mut prov, id) = delegated(Tier::Reputation);
    let earliest = 20 + EXECUTE_MS - 30_000;
    for ms in [30, earliest - 1] {
        assert_eq!(
            prov.handle_message(at_ms(ms), LINK, execute_timeout(id, ms)),
            Err(SessionError::EarlyTimeout {
                id,
                early_ms: earliest - ms
            })
        );
        assert_eq!(prov.session(&id).unwrap().phase, Phase::Delegated);
        assert!(drain_events(&mut prov).is_empty());
    }
    // Within the skew of the deadline the statement stands.
    prov.handle_message(at_ms(earliest), LINK, execute_timeout(id, earliest))
        .unwrap();
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::TimedOut(Stage::Execute));

    // After its delivery the provider is owed a grade, not a timeout.
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    prov.deliver(at_ms(55_000), id, result(), None).unwrap();
    let delivery = drain_frames(&mut prov);
    let late = 20 + EXECUTE_MS;
    assert_eq!(
        prov.handle_message(at_ms(late), LINK, execute_timeout(id, late)),
        Err(SessionError::TimeoutAfterDelivery(id))
    );
    assert_eq!(prov.session(&id).unwrap().phase, Phase::Delivered);
    assert!(drain_events(&mut prov).is_empty());
    // The session is intact: a requester that took the delivery still settles it.
    for f in delivery {
        req.handle_message(at_ms(55_000), LINK, f).unwrap();
    }
    req.grade(at_ms(55_010), id, Grade::new(900_000, false))
        .unwrap();
    carry(&mut req, &mut prov, at_ms(55_020));
    let ev = drain_events(&mut prov);
    assert_eq!(settlement(&ev).outcome(), Outcome::Accepted);
}

#[test]
fn a_proof_from_another_session_slashes_nothing() {
    let limits = Limits::default();
    let (mut req, mut prov, id) = delegated(Tier::Reputation);
    // Bob's old offence: a lying package for another task, long settled.
    let old = FraudProof::receipt_contradiction(
        &contradicting_package(task_id(42), payload_hash(b"lie")),
        &limits,
    )
    .unwrap();
    assert!(matches!(
        req.report_fraud(at_ms(40), id, &old),
        Err(SessionError::ProofNotForSession { id: got, .. }) if got == id
    ));
    assert_eq!(req.session(&id).unwrap().phase, Phase::Delegated);
    assert!(drain_frames(&mut req).is_empty() && drain_events(&mut req).is_empty());

    // Bob delivers honestly; a lie for the same task that is not this delivery's package (an
    // earlier session of a re-submitted task) is no more this session's.
    prov.deliver(
        at_ms(100),
        id,
        result(),
        Some(honest_package(task_id(1), result())),
    )
    .unwrap();
    carry(&mut prov, &mut req, at_ms(100));
    drain_events(&mut req);
    let same_task = FraudProof::receipt_contradiction(
        &contradicting_package(task_id(1), payload_hash(b"lie")),
        &limits,
    )
    .unwrap();
    for proof in [&old, &same_task] {
        assert!(matches!(
            req.report_fraud(at_ms(110), id, proof),
            Err(SessionError::ProofNotForSession { .. })
        ));
        assert_eq!(req.session(&id).unwrap().phase, Phase::Delivered);
    }
    assert!(drain_frames(&mut req).is_empty() && drain_events(&mut req).is_empty());

    // A requester that signs such a slashing anyway is disputed by the provider.
    let mut st = statement(id, 1, Outcome::Fraud, 0);
    st.slashed = 9_999_990;
    st.refund = DEPOSIT - 9_999_990;
    st.mechanism = rules(Tier::Reputation).id();
    st.proof = Some(same_task);
    assert!(matches!(
        dispute_of(&mut prov, st),
        DisputeReason::ProofNotForSession(_)
    ));
}
