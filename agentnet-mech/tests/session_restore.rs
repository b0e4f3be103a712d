//! Task sessions across a restart: an agent stores the records its `Sessions` engine asks it
//! to persist, crashes, and a fresh engine restored from those records finishes the session
//! exactly as if nothing had happened.

use std::collections::BTreeMap;

use agentnet_core::signed::SignedError;
use agentnet_core::wire::WireError;
use agentnet_core::{Engine, Hash, Instant, Keypair, LinkId, Now, Signed, Transmit};
use agentnet_mech::mechanism::{Clause, Mechanism, Micros, Tier, UNIT};
use agentnet_mech::session::{
    Commit, Event, Grade, MAX_RESTORE_ERRORS, Outcome, Phase, RECORD_VERSION, RestoreError,
    RestoreReport, Role, SessionConfig, SessionId, Sessions, Settlement, Stage,
};
use agentnet_trust::evidence::{EvidencePackage, ReceiptChain, TaskId, payload_hash};
use agentnet_trust::ledger::TaskOutcome;
use bytes::Bytes;
use ciborium::Value;
use proptest::prelude::*;

mod common;
use agentnet_core::test_support::wall_ms;
use common::*;

// =============================================================================================
// Fixtures
// =============================================================================================

fn rules(tier: Tier) -> Signed<Mechanism> {
    rules_by(&alice(), tier)
}

/// The same rules, led by `leader`.
fn rules_by(leader: &Keypair, tier: Tier) -> Signed<Mechanism> {
    let m = Mechanism::new(
        leader.id(),
        "code-review",
        100 * UNIT,
        [
            Clause::Payment {
                flat: FLAT,
                bonus: BONUS,
            },
            Clause::QualityThreshold { min_score: 700_000 },
            Clause::Deposit { amount: DEPOSIT },
            Clause::Slashing { ratio: 333_333 },
            Clause::Verification { tier },
            Clause::Deadlines {
                commit_ms: COMMIT_MS,
                execute_ms: EXECUTE_MS,
                settle_ms: SETTLE_MS,
            },
        ],
    );
    Signed::sign(leader, m).unwrap()
}

/// Two receipts inside the window (delegation at 20 ms, delivery at 100 ms).
fn honest_package(task: TaskId) -> Signed<EvidencePackage> {
    let b = bob();
    let mut chain = ReceiptChain::new(b.id(), task);
    let mid = payload_hash(b"lint output");
    chain
        .record(&b, "lint", input(), mid, wall_ms(25), wall_ms(40))
        .unwrap();
    chain
        .record(&b, "review", mid, result(), wall_ms(40), wall_ms(90))
        .unwrap();
    chain.finish(&b, result(), None).unwrap()
}

// =============================================================================================
// A host that follows the persistence rule
// =============================================================================================

/// One agent as its host runs it: the engine, the durable table of session records, the
/// monotonic clock's origin (every process gets its own), and the events it has seen.
struct Host {
    seed: u8,
    config: SessionConfig,
    engine: Sessions,
    store: BTreeMap<SessionId, Bytes>,
    /// The monotonic reading at wall time `EPOCH_MS`.
    origin: u64,
    /// The counterparty this host brings a link up to when frames wait for one.
    peer: Keypair,
    events: Vec<Event>,
}

impl Host {
    fn new(seed: u8, origin: u64, peer: Keypair) -> Self {
        Self::with_config(seed, origin, peer, SessionConfig::default())
    }

    fn with_config(seed: u8, origin: u64, peer: Keypair, config: SessionConfig) -> Self {
        Host {
            seed,
            engine: Sessions::new(config.clone(), Box::new(Keypair::from_seed([seed; 32])))
                .unwrap(),
            config,
            store: BTreeMap::new(),
            origin,
            peer,
            events: Vec::new(),
        }
    }

    /// This process's view of time `ms` after the start of the scenario.
    fn now(&self, ms: u64) -> Now {
        Now::new(Instant::from_millis(self.origin + ms), wall_ms(ms))
    }

    /// One drain pass by the rule: take every frame and event, write every record, and only
    /// then hand out the frames. Frames that wait for a link make the host bring one up.
    fn pass(&mut self) -> Vec<Transmit> {
        if self.engine.parked() > 0 {
            self.engine.set_peer_link(self.peer.id(), LINK);
        }
        let frames: Vec<Transmit> = std::iter::from_fn(|| self.engine.poll_transmit()).collect();
        let events: Vec<Event> = std::iter::from_fn(|| self.engine.poll_event()).collect();
        for e in events {
            match e {
                Event::Persist {
                    id,
                    record: Some(r),
                } => {
                    self.store.insert(id, r);
                }
                Event::Persist { id, record: None } => {
                    self.store.remove(&id);
                }
                e => self.events.push(e),
            }
        }
        frames
    }

    /// Crash, then start a new process (new monotonic origin) at `ms` and restore it from the
    /// store. Whatever was queued and not yet handed out is lost with the process.
    fn restart(&mut self, ms: u64, origin: u64) -> RestoreReport {
        self.engine = Sessions::new(
            self.config.clone(),
            Box::new(Keypair::from_seed([self.seed; 32])),
        )
        .unwrap();
        self.origin = origin;
        self.events.clear();
        let report = self
            .engine
            .restore(self.now(ms), self.store.values().cloned());
        assert!(
            self.engine.poll_transmit().is_none(),
            "restore sends nothing"
        );
        report
    }

    /// Every event queued since the last pass (records excluded).
    fn take_events(&mut self) -> Vec<Event> {
        self.pass_events_only();
        std::mem::take(&mut self.events)
    }

    fn pass_events_only(&mut self) {
        let events: Vec<Event> = std::iter::from_fn(|| self.engine.poll_event()).collect();
        for e in events {
            match e {
                Event::Persist {
                    id,
                    record: Some(r),
                } => {
                    self.store.insert(id, r);
                }
                Event::Persist { id, record: None } => {
                    self.store.remove(&id);
                }
                e => self.events.push(e),
            }
        }
    }

    fn settlement(&self) -> &Settlement {
        self.events
            .iter()
            .find_map(|e| match e {
                Event::Settled(s) => Some(&**s),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no settlement in {:?}", self.events))
    }
}

/// Hand `from`'s frames of one pass to `to` at `ms`; every one must be accepted.
fn carry(from: &mut Host, to: &mut Host, ms: u64) {
    for t in from.pass() {
        assert_eq!(t.link, LINK);
        to.engine
            .handle_message(to.now(ms), LINK, t.payload)
            .expect("frame accepted");
    }
    to.pass_events_only();
}

fn alice_host() -> Host {
    Host::new(1, 1_000_000, bob())
}

fn bob_host() -> Host {
    Host::new(2, 2_000_000, alice())
}

// =============================================================================================
// The same session, with and without a restart
// =============================================================================================

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

/// Alice and Bob after the delegation (offer 0, commit 10, delegation 20), records stored.
fn delegated(tier: Tier) -> (Host, Host, SessionId) {
    let (mut a, mut b) = (alice_host(), bob_host());
    let id = a
        .engine
        .offer(a.now(0), bob().id(), LINK, task(1), rules(tier))
        .unwrap();
    carry(&mut a, &mut b, 0);
    b.engine.accept(b.now(10), id).unwrap();
    carry(&mut b, &mut a, 10);
    a.engine.delegate(a.now(20), id, input()).unwrap();
    carry(&mut a, &mut b, 20);
    (a, b, id)
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

// =============================================================================================
// Deadlines that pass while the agent is down
// =============================================================================================

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

// =============================================================================================
// Links after a restart
// =============================================================================================

#[test]
fn a_restored_session_adopts_the_link_its_counterparty_speaks_on() {
    let (a, mut b, id) = delegated(Tier::Reputation);
    // Bob restarts after the delegation; Alice is now reached on another link.
    b.restart(25, 1);
    assert_eq!(b.engine.session(&id).unwrap().link, None);
    let ev = b.take_events();
    assert!(matches!(ev[..], [Event::Delegated { .. }]), "{ev:?}");
    // Bob's delivery waits for a link.
    b.engine.deliver(b.now(100), id, result(), None).unwrap();
    assert_eq!(b.engine.parked(), 1);
    assert!(b.engine.poll_transmit().is_none());
    // A message signed by someone else gives no link.
    let mut m = Host::new(3, 0, bob());
    let other = m
        .engine
        .offer(
            m.now(100),
            bob().id(),
            LinkId(66),
            task(9),
            rules_by(&mallory(), Tier::Reputation),
        )
        .unwrap();
    for t in m.pass() {
        b.engine
            .handle_message(b.now(100), LinkId(66), t.payload)
            .unwrap();
    }
    assert_eq!(b.engine.parked(), 1);
    assert_eq!(b.engine.session(&id).unwrap().link, None);
    assert!(b.engine.session(&other).is_some());
    // Alice speaks (on another session): Bob's session adopts her link, the frame leaves.
    let mut a = a;
    a.engine
        .offer(
            a.now(110),
            bob().id(),
            LinkId(42),
            task(2),
            rules(Tier::Reputation),
        )
        .unwrap();
    let frames = a.pass();
    b.engine
        .handle_message(b.now(110), LinkId(42), frames[0].payload.clone())
        .unwrap();
    assert_eq!(b.engine.parked(), 0);
    assert_eq!(b.engine.session(&id).unwrap().link, Some(LinkId(42)));
    let sent: Vec<Transmit> = std::iter::from_fn(|| b.engine.poll_transmit()).collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].link, LinkId(42));
    // ...and it is the delivery, which Alice takes.
    a.engine
        .handle_message(a.now(120), LinkId(42), sent[0].payload.clone())
        .unwrap();
    assert_eq!(a.engine.session(&id).unwrap().phase, Phase::Delivered);
}

#[test]
fn the_host_can_name_the_link() {
    let (mut a, _b, id) = delegated(Tier::Reputation);
    a.restart(25, 1);
    assert_eq!(a.engine.set_link(id, LinkId(5)), Ok(()));
    assert_eq!(a.engine.session(&id).unwrap().link, Some(LinkId(5)));
    // Later sessions are untouched by set_peer_link once linked.
    assert_eq!(a.engine.set_peer_link(bob().id(), LinkId(6)), 0);
    assert_eq!(a.engine.session(&id).unwrap().link, Some(LinkId(5)));
    let unknown = SessionId(Hash([9; 32]));
    assert!(a.engine.set_link(unknown, LinkId(5)).is_err());
}

// =============================================================================================
// Bad records
// =============================================================================================

/// Alice's and Bob's records after the delegation.
fn records() -> (Bytes, Bytes) {
    let (a, b, id) = delegated(Tier::Reputation);
    (a.store[&id].clone(), b.store[&id].clone())
}

fn restore_one(seed: u8, record: Bytes) -> Result<Sessions, RestoreError> {
    let mut e = Sessions::new(
        SessionConfig::default(),
        Box::new(Keypair::from_seed([seed; 32])),
    )
    .unwrap();
    let r = e.restore(Now::new(Instant::ZERO, wall_ms(30)), [record]);
    match &r.errors[..] {
        [] => {
            assert_eq!((r.restored, r.refused), (1, 0));
            Ok(e)
        }
        [(0, err)] => {
            assert_eq!((r.restored, r.refused), (0, 1));
            assert!(e.is_empty());
            assert!(e.poll_event().is_none() && e.poll_transmit().is_none());
            Err(err.clone())
        }
        other => panic!("{other:?}"),
    }
}

/// The record's CBOR map and a way back to bytes.
fn open_record(r: &Bytes) -> Vec<(Value, Value)> {
    let v: Value = ciborium::from_reader(&r[1..]).unwrap();
    v.into_map().unwrap()
}

fn seal_record(map: Vec<(Value, Value)>) -> Bytes {
    let mut out = vec![RECORD_VERSION];
    ciborium::into_writer(&Value::Map(map), &mut out).unwrap();
    Bytes::from(out)
}

fn field<'a>(map: &'a mut [(Value, Value)], name: &str) -> &'a mut Value {
    &mut map
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(name))
        .unwrap()
        .1
}

#[test]
fn garbage_truncated_and_oversized_records_are_refused() {
    let (rec, _) = records();
    assert!(restore_one(1, rec.clone()).is_ok());
    assert_eq!(
        restore_one(1, Bytes::new()).err(),
        Some(RestoreError::Empty)
    );
    let mut v2 = rec.to_vec();
    v2[0] = 2;
    assert_eq!(
        restore_one(1, Bytes::from(v2)).err(),
        Some(RestoreError::UnsupportedVersion { found: 2 })
    );
    for cut in 1..rec.len() {
        assert!(
            matches!(
                restore_one(1, rec.slice(..cut)).err(),
                Some(RestoreError::Malformed(_))
            ),
            "cut at {cut}"
        );
    }
    let huge = Bytes::from(vec![RECORD_VERSION; 4 * 65_536 + 1_025]);
    assert!(matches!(
        restore_one(1, huge).err(),
        Some(RestoreError::TooLarge { .. })
    ));
    // Trailing bytes, unknown fields, a missing message.
    let mut long = rec.to_vec();
    long.push(0);
    assert!(matches!(
        restore_one(1, Bytes::from(long)).err(),
        Some(RestoreError::Malformed(WireError::TrailingBytes { .. }))
    ));
    let mut map = open_record(&rec);
    map.push((Value::Text("extra".into()), Value::Integer(1.into())));
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Malformed(WireError::Schema(_)))
    ));
    let map: Vec<_> = open_record(&rec)
        .into_iter()
        .filter(|(k, _)| k.as_text() != Some("offer"))
        .collect();
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Malformed(WireError::Schema(_)))
    ));
}

#[test]
fn forged_records_are_refused() {
    let (rec, bob_rec) = records();
    // Bob's commitment, stored in Alice's record: find its signature and flip one bit.
    let map = open_record(&rec);
    let commit = map
        .iter()
        .find(|(k, _)| k.as_text() == Some("commit"))
        .unwrap()
        .1
        .as_array()
        .unwrap()
        .clone();
    let sig = commit[1].as_bytes().unwrap().clone();
    let at = rec.windows(64).position(|w| w == &sig[..]).unwrap();
    let mut bad = rec.to_vec();
    bad[at] ^= 1;
    assert!(matches!(
        restore_one(1, Bytes::from(bad)).err(),
        Some(RestoreError::Forged {
            message: "COMMIT",
            error: SignedError::BadSignature(_)
        })
    ));
    // A changed body (the deposit, say) breaks the signature just the same.
    let body = commit[2].as_bytes().unwrap().clone();
    let at = rec
        .windows(body.len())
        .position(|w| w == &body[..])
        .unwrap();
    let mut bad = rec.to_vec();
    bad[at + body.len() - 1] ^= 1;
    assert!(matches!(
        restore_one(1, Bytes::from(bad)).err(),
        Some(RestoreError::Forged {
            message: "COMMIT",
            ..
        })
    ));
    // A commitment Mallory signed in Bob's name: author and signer differ.
    let mut map = open_record(&rec);
    let fake = Signed::sign(
        &mallory(),
        Commit {
            session: SessionId(Hash([1; 32])),
            provider: mallory().id(),
            offer: Hash([2; 32]),
            accept: true,
            deposit: DEPOSIT,
        },
    )
    .unwrap();
    *field(&mut map, "commit") = Value::Array(vec![
        Value::Bytes(bob().id().as_bytes().to_vec()),
        Value::Bytes(fake.signature().0.to_vec()),
        Value::Bytes(fake.body().to_vec()),
    ]);
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Forged {
            message: "COMMIT",
            ..
        })
    ));
    // Mallory's own, valid commitment: not the provider's, not this session's.
    let mut map = open_record(&rec);
    *field(&mut map, "commit") = Value::Array(vec![
        Value::Bytes(mallory().id().as_bytes().to_vec()),
        Value::Bytes(fake.signature().0.to_vec()),
        Value::Bytes(fake.body().to_vec()),
    ]);
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Inconsistent { .. })
    ));
    // A delegation without the commitment before it.
    let mut map = open_record(&rec);
    *field(&mut map, "commit") = Value::Null;
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Inconsistent { .. })
    ));
    // Times that do not fit the phase.
    let mut map = open_record(&rec);
    *field(&mut map, "deliver_by") = Value::Null;
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Inconsistent { .. })
    ));
    // Another agent's record.
    assert!(matches!(
        restore_one(3, rec.clone()).err(),
        Some(RestoreError::NotOurs(_))
    ));
    // Bob's record is Bob's, not Alice's: each side restores its own.
    assert!(restore_one(2, bob_rec.clone()).is_ok());
    assert!(restore_one(1, bob_rec).is_ok(), "Alice is its requester");
}

#[test]
fn evidence_that_no_longer_verifies_refuses_the_record() {
    let (mut a, mut b, id) = delegated(Tier::Evidence);
    b.engine
        .deliver(b.now(100), id, result(), Some(honest_package(task_id(1))))
        .unwrap();
    carry(&mut b, &mut a, 100);
    let rec = a.store[&id].clone();
    assert!(restore_one(1, rec.clone()).is_ok());
    // The same record under a policy that requires attestations.
    let mut cfg = SessionConfig::default();
    cfg.require_attestation = true;
    let mut e = Sessions::new(cfg, Box::new(alice())).unwrap();
    let r = e.restore(Now::new(Instant::ZERO, wall_ms(150)), [rec]);
    assert_eq!(r.errors, vec![(0, RestoreError::Evidence(id))]);
}

#[test]
fn restore_is_bounded_and_reports_the_first_errors() {
    let (mut a, mut b) = (alice_host(), bob_host());
    for n in 1..=3 {
        a.engine
            .offer(a.now(0), bob().id(), LINK, task(n), rules(Tier::Reputation))
            .unwrap();
    }
    carry(&mut a, &mut b, 0);
    let recs: Vec<Bytes> = a.store.values().cloned().collect();
    let mut cfg = SessionConfig::default();
    cfg.max_sessions = 2;
    let mut e = Sessions::new(cfg, Box::new(alice())).unwrap();
    let r = e.restore(a.now(1), recs.clone());
    assert_eq!((r.restored, r.refused), (2, 1));
    assert_eq!(r.errors, vec![(2, RestoreError::Full { max: 2 })]);
    // A record given twice.
    let mut e = Sessions::new(SessionConfig::default(), Box::new(alice())).unwrap();
    let r = e.restore(a.now(1), [recs[0].clone(), recs[0].clone()]);
    assert!(matches!(r.errors[..], [(1, RestoreError::Duplicate(_))]));
    // Many bad records: all counted, the first few kept.
    let mut e = Sessions::new(SessionConfig::default(), Box::new(alice())).unwrap();
    let r = e.restore(a.now(1), (0..20).map(|_| Bytes::new()));
    assert_eq!((r.restored, r.refused), (0, 20));
    assert_eq!(r.errors.len(), MAX_RESTORE_ERRORS);
    assert_eq!(r.errors[3], (3, RestoreError::Empty));
}

#[test]
fn every_change_is_persisted_before_the_event_that_describes_it() {
    let (mut a, mut b) = (alice_host(), bob_host());
    let id = a
        .engine
        .offer(a.now(0), bob().id(), LINK, task(1), rules(Tier::Reputation))
        .unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| a.engine.poll_event()).collect();
    assert!(matches!(
        ev[..],
        [Event::Persist {
            record: Some(_),
            ..
        }]
    ));
    let frame = a.engine.poll_transmit().unwrap();
    b.engine
        .handle_message(b.now(0), LINK, frame.payload)
        .unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| b.engine.poll_event()).collect();
    assert!(
        matches!(
            ev[..],
            [
                Event::Persist {
                    record: Some(_),
                    ..
                },
                Event::Offered { .. }
            ]
        ),
        "{ev:?}"
    );
    b.engine.decline(b.now(1), id).unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| b.engine.poll_event()).collect();
    assert_eq!(ev, vec![Event::Persist { id, record: None }]);
}

// =============================================================================================
// Fuzz
// =============================================================================================

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes as records never panic, and whatever is refused changes nothing.
    #[test]
    fn arbitrary_records_never_panic(
        raw in proptest::collection::vec(any::<u8>(), 0..700),
        versioned in any::<bool>(),
    ) {
        let mut bytes = raw;
        if versioned {
            bytes.insert(0, RECORD_VERSION);
        }
        let mut e = Sessions::new(SessionConfig::default(), Box::new(alice())).unwrap();
        let r = e.restore(Now::new(Instant::ZERO, wall_ms(30)), [Bytes::from(bytes)]);
        prop_assert_eq!(r.restored + r.refused, 1);
        prop_assert_eq!(e.len(), r.restored);
    }

    /// Every single-bit corruption of a genuine record is refused or restores a session of
    /// this agent; never a panic.
    #[test]
    fn corrupted_records_never_panic(
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
        provider in any::<bool>(),
    ) {
        let (a, b) = records();
        let rec = if provider { b } else { a };
        let mut f = rec.to_vec();
        let i = pos.index(f.len());
        f[i] ^= 1 << bit;
        let seed = if provider { 2 } else { 1 };
        let mut e = Sessions::new(
            SessionConfig::default(),
            Box::new(Keypair::from_seed([seed; 32])),
        ).unwrap();
        let r = e.restore(Now::new(Instant::ZERO, wall_ms(30)), [Bytes::from(f)]);
        prop_assert_eq!(r.restored + r.refused, 1);
        prop_assert_eq!(e.len(), r.restored);
    }
}
