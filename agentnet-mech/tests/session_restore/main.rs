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

#[path = "../common/mod.rs"]
mod common;
use agentnet_core::test_support::wall_ms;
use common::*;

mod deadlines;
mod links;
mod records;
mod same_session;

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
        if self.engine.parked_count() > 0 {
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
