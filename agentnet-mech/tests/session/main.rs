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

#[path = "../common/mod.rs"]
mod common;
use agentnet_core::test_support::{EPOCH_MS, at_ms, wall_ms};
use common::*;

mod bounds;
mod disputes;
mod evidence;
mod hostile;
mod loopholes;
mod settlement;

/// An odd ratio, so that slashing has to round.
const RATIO: u32 = 333_333;

fn engine(kp: Keypair) -> Sessions {
    Sessions::new(SessionConfig::default(), Box::new(kp)).unwrap()
}

/// A multi-threaded host holds a `Sessions` (or an engine owning one) across `.await` and
/// shares it behind `Arc`: it must stay `Send + Sync`, and so must what it is built from. A
/// compile-time check: this fails to build if a `!Sync` field slips in.
#[test]
fn sessions_and_keypairs_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Sessions>();
    assert_send_sync::<Keypair>();
    assert_send_sync::<Event>();
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
