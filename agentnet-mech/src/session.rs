//! Task sessions: negotiate → execute → settle, one sans-IO engine per agent serving both the
//! requester and the provider role (DESIGN §7).
//!
//! # What it does
//!
//! [`Sessions`] runs the five-message protocol by which a requester hands a task to a provider
//! under a signed [`Mechanism`] and settles it by that mechanism's rules:
//!
//! ```text
//!  requester                                            provider
//!  offer() ──── OFFER (task, topic, signed mechanism) ──► Event::Offered
//!  Event::Committed ◄── COMMIT (accept + deposit) ─────── accept() / decline()
//!  delegate() ─ DELEGATE (input hash) ──────────────────► Event::Delegated
//!  verify evidence ◄── DELIVER (result hash, evidence) ── deliver()
//!  Event::Delivered → grade()
//!  settle ───── SETTLE (outcome, payment, refund, slashed) ► check → Event::Settled / Disputed
//!  Event::Settled, Event::Feedback / Event::Offence
//! ```
//!
//! It verifies every message (signature, author, counterparty, stage, deadline), checks tier-3
//! evidence packages with [`verify_evidence`] and turns a provable contradiction into a
//! [`FraudProof`], computes what the mechanism says is owed ([`settlement_amounts`]), signs
//! the settlement statement, and reports what the trust plane needs ([`Event::Feedback`] for
//! [`Ledger::record_task`](agentnet_trust::ledger::Ledger::record_task), [`Event::Offence`]
//! for [`Ledger::record_offence`](agentnet_trust::ledger::Ledger::record_offence)). On the
//! provider side it checks the statement it receives against the mechanism and its own view,
//! and disputes it when it is wrong.
//!
//! # What it does not do
//!
//! **It does not move money.** It computes and signs settlement statements ([`Settle`]); the
//! host's payment rail (escrow, ledger, chain) executes them, and the statement is built to be
//! checked by that rail on its own: it names both parties, the mechanism id, the amounts and,
//! for a slashing, the fraud proof. It does not carry task payloads either: inputs and results
//! travel however the host likes, and the protocol names them by hash ([`payload_hash`]).
//! It does not choose providers, grade results or run canaries: the host does, and tells the
//! engine ([`Sessions::grade`]). It performs no I/O, reads no clock and draws no randomness.
//!
//! [`payload_hash`]: agentnet_trust::evidence::payload_hash
//!
//! # Driving it
//!
//! ```text
//! sessions.restore(now, stored records)             // at start-up (module docs, "Persistence")
//! loop {
//!     input = frame on a link | timer fired | host decision (offer, accept, grade, ...)
//!     sessions.handle_message(now, link, frame) / handle_timeout(now) / sessions.<command>(now, ...)
//!     loop {                                        // until one pass yields nothing
//!         frames = every sessions.poll_transmit(); events = every sessions.poll_event()
//!         write every Event::Persist of `events` durably    // BEFORE sending `frames`
//!         send every frame on its link
//!         act on the other events: Offered → accept/decline, Committed → delegate,
//!             Delegated → work, Delivered → grade, Settled → pay, Feedback/Offence → ledger
//!         if the pass yielded nothing { break }
//!     }
//!     arm one timer at sessions.poll_timeout()      // read last
//! }
//! ```
//!
//! This is the drive contract of [`agentnet_core::engine`]: after any input or command, drain
//! transmits and events until both are empty, then read `poll_timeout`. The host's answers to
//! events (`accept`, `delegate`, `grade`, ...) are commands, so each is followed by the same
//! drain; a host that defers them can use [`agentnet_core::engine::drain`] for the inner loop.
//!
//! A whole tier-1 session between two engines, frames carried by hand:
//!
//! ```
//! use agentnet_core::descriptor::Topic;
//! use agentnet_core::{Engine, Hash, Instant, Keypair, LinkId, Now, Signed, WallTime};
//! use agentnet_mech::mechanism::{Clause, Mechanism, UNIT};
//! use agentnet_mech::session::{Event, Grade, Outcome, SessionConfig, Sessions, TaskSpec};
//! use agentnet_trust::evidence::TaskId;
//!
//! let (alice, bob) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
//! let mut requester = Sessions::new(SessionConfig::default(), Box::new(Keypair::from_seed([1; 32])))?;
//! let mut provider = Sessions::new(SessionConfig::default(), Box::new(Keypair::from_seed([2; 32])))?;
//! let now = Now::new(Instant::ZERO, WallTime::from_unix_millis(1_800_000_000_000));
//! fn carry(from: &mut Sessions, to: &mut Sessions, now: Now) {
//!     while let Some(t) = from.poll_transmit() {
//!         to.handle_message(now, LinkId(1), t.payload).unwrap();
//!     }
//! }
//! // The next event that is not a record to store (a real host stores those).
//! fn next(e: &mut Sessions) -> Option<Event> {
//!     std::iter::from_fn(|| e.poll_event()).find(|e| !matches!(e, Event::Persist { .. }))
//! }
//!
//! // Alice signs the rules she pays by and offers Bob a task under them.
//! let rules = Mechanism::new(alice.id(), "summaries", 10 * UNIT, [
//!     Clause::Payment { flat: 2 * UNIT, bonus: 8 * UNIT },
//!     Clause::QualityThreshold { min_score: 700_000 },
//!     Clause::Deposit { amount: 5 * UNIT },
//! ]);
//! let task = TaskSpec::new(TaskId(Hash([9; 32])), Topic::new("text/summary")?, Hash([8; 32]));
//! let id = requester.offer(now, bob.id(), LinkId(1), task, Signed::sign(&alice, rules)?)?;
//! carry(&mut requester, &mut provider, now);
//! assert!(matches!(next(&mut provider), Some(Event::Offered { .. })));
//! provider.accept(now, id)?;
//! carry(&mut provider, &mut requester, now);
//! assert!(matches!(next(&mut requester), Some(Event::Committed { .. })));
//! requester.delegate(now, id, Hash([7; 32]))?;
//! carry(&mut requester, &mut provider, now);
//! assert!(matches!(next(&mut provider), Some(Event::Delegated { .. })));
//! provider.deliver(now, id, Hash([6; 32]), None)?;
//! carry(&mut provider, &mut requester, now);
//! assert!(matches!(next(&mut requester), Some(Event::Delivered { .. })));
//! assert_eq!(requester.grade(now, id, Grade::new(900_000, false))?, Outcome::Accepted);
//! carry(&mut requester, &mut provider, now);
//! let Some(Event::Settled(s)) = next(&mut provider) else { panic!("not settled") };
//! assert_eq!((s.payment(), s.refund(), s.slashed()), (10 * UNIT, 5 * UNIT, 0));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decisions
//!
//! - **The requester must be the mechanism's leader.** A mechanism's payment clauses and
//!   budget are promises of the leader that signed it, and the settlement statement is signed
//!   by the requester; requiring one key for both means a provider holds the payer's own
//!   signature on the promise *and* on the statement, and a requester cannot borrow a
//!   reputable leader's signed rules to look trustworthy. A requester that likes someone
//!   else's rules re-signs them as its own mechanism (same clauses, its own id).
//! - **Session ids** are `BLAKE3("agentnet/v1/session-id"; requester ‖ provider ‖ task ‖
//!   offered_at)` ([`SessionId::derive`]): deterministic, recomputed and checked by the
//!   provider, and unique per requester, provider, task and millisecond.
//! - **A commitment names the offer's hash** ([`Commit::offer`]), so a provider commits to the
//!   exact offer bytes (topic, description, mechanism) and a requester that signed two offers
//!   under one id cannot hold it to the other.
//! - **Evidence**: when present it is always verified; at [`Tier::Evidence`] it is required
//!   (a DELIVER without it is refused with [`SessionError::EvidenceRequired`] and the provider
//!   may still deliver before the deadline). A package that fails verification settles the
//!   session as [`Outcome::Rejected`] (the flat fee is "paid on every delivery", the bonus is
//!   lost) and raises [`Event::EvidenceRejected`]; one that proves a contradiction settles it
//!   as [`Outcome::Fraud`]. The evidence window runs from the requester's delegation time to
//!   the delivery's arrival, widened by [`SessionConfig::max_skew`]. The host must check that
//!   the result bytes it received hash to [`Event::Delivered`]'s `result_hash` before grading.
//! - **Only an offence in this session forfeits its deposit**: the slashing clause ("on a
//!   verified fraud proof") is applied to a proof tied to this session — a receipt
//!   contradiction in the package of this session's delivery ([`Sessions::report_fraud`],
//!   and the provider's check of the statement); older or unrelated offences are the trust
//!   plane's to punish. The proof travels in the statement, so the provider and the rail can
//!   check it.
//!
//! # Settlement
//!
//! `flat`, `bonus`, `deposit` and `ratio` are the mechanism's; the score is the host's
//! [`Grade`]. A delivery is **accepted** when `score ≥ min_score` and, at [`Tier::Canary`], the
//! canaries passed (at [`Tier::Evidence`] a delivery only reaches grading with verified
//! evidence). Slashing is integer arithmetic rounded down:
//! `slashed = ⌊deposit × ratio / 1 000 000⌋` ([`slashed_amount`]); the rest of the deposit is
//! refunded.
//!
//! | outcome | payment | refund | slashed | events besides `Settled` |
//! |---|---|---|---|---|
//! | `Accepted` | flat + bonus | deposit | 0 | `Feedback(Accepted, evidence)` |
//! | `Rejected` | flat | deposit | 0 | `Feedback(Rejected, evidence)` |
//! | `Fraud` | 0 | deposit − slashed | ⌊deposit × ratio / 10⁶⌋ | `Offence` |
//! | `TimedOut(Commit)` / `TimedOut(Delegate)` | 0 | deposit | 0 | — |
//! | `TimedOut(Execute)` | 0 | deposit | 0 | `Feedback(Rejected, None)` |
//! | `TimedOut(Grade)` | flat | deposit | 0 | — (nothing was judged) |
//!
//! "refund" is the part of the deposit returned *if it was posted*; a statement for a session
//! that never got a commitment refunds nothing real. A declined offer ends with
//! [`Event::Declined`] and no statement.
//!
//! # Settlement threats
//!
//! What a provider or requester could do to settle a session against the mechanism, and what
//! stops it (issue 15, finding 9):
//!
//! - **A conviction too large to sign.** A fraud statement carries the provider's package
//!   as its proof, so it is a few hundred bytes larger than the DELIVER that brought it; a
//!   package sized between the two would make the conviction unsignable and the deposit
//!   safe. Every delivery is measured against the worst-case fraud statement it could lead
//!   to, by both engines, and one that would not fit [`SessionConfig::limits`] is refused
//!   ([`SessionError::EvidenceTooLarge`]): every delivery taken can be convicted.
//! - **A chain too long to check.** A package over [`SessionConfig::max_receipts`] is not
//!   walked (bounded work), so a contradiction in it would go unseen and the delivery would
//!   settle as merely `Rejected`, flat fee paid. Such a delivery is refused
//!   ([`SessionError::TooManyReceipts`], by both engines) and never judged; the provider can
//!   deliver again within the deadline or times out with nothing paid. Both sides should
//!   use the same `max_receipts` (the default is 32): a provider's engine checks its own.
//! - **An execution timeout out of time.** A requester could claim `TimedOut(Execute)` (pay
//!   nothing, record a failure) while the provider is still within its delivery window, or
//!   after it delivered. The provider refuses such a statement with the session unchanged:
//!   before its own delivery deadline less [`SessionConfig::max_skew`]
//!   ([`SessionError::EarlyTimeout`]), and at any time after its delivery
//!   ([`SessionError::TimeoutAfterDelivery`]; a delivered provider is owed a grade).
//! - **An old proof reused.** A fraud proof verifies forever and names no session, so one
//!   old offence could be cited to slash every later deposit of the same provider. Only a
//!   proof about this session slashes it: a receipt contradiction whose package is the one
//!   this session's DELIVER carried. [`Sessions::report_fraud`] refuses anything else
//!   ([`SessionError::ProofNotForSession`]) and the provider disputes a statement citing it
//!   ([`DisputeReason::ProofNotForSession`]).
//!
//! # Timeouts
//!
//! Deadlines are absolute [`Instant`]s on the local monotonic clock, taken from the
//! mechanism's [`Deadlines`](crate::mechanism::Deadlines); [`Engine::poll_timeout`] returns
//! the earliest. Deadlines that have passed are acted on at the start of every input and
//! command, so the result does not depend on how promptly the host calls `handle_timeout`.
//!
//! | side | waiting for | deadline | when it passes |
//! |---|---|---|---|
//! | requester | COMMIT | offer + `commit_ms` | settle `TimedOut(Commit)` (sent as a cancellation, in case a commitment is in flight) |
//! | requester | its host's `delegate` | commitment + `commit_ms` | settle `TimedOut(Delegate)` |
//! | requester | DELIVER | delegation + `execute_ms` | settle `TimedOut(Execute)`: nothing paid, deposit refunded, `Feedback(Rejected)` |
//! | requester | its host's `grade` | delivery + ⌈`settle_ms` / 2⌉ | settle `TimedOut(Grade)`: flat paid (half the settlement window is left for the statement to travel) |
//! | provider | its host's `accept`/`decline` | `offered_at + commit_ms` (offer's wall clock) | [`Event::OfferExpired`]; nothing was committed |
//! | provider | DELEGATE | commitment + `commit_ms` + `settle_ms` | [`Event::SettlementOverdue`] |
//! | provider | SETTLE (not delivered) | delegation + `execute_ms` + `settle_ms`; `deliver` is refused after delegation + `execute_ms` | [`Event::SettlementOverdue`] |
//! | provider | SETTLE (delivered) | delivery + `settle_ms` | [`Event::SettlementOverdue`] |
//!
//! Every row ends the session. The provider's waits are longer than the requester's matching
//! deadline by a `settle_ms`, so a requester that settles on time is heard before the
//! provider gives up.
//!
//! A `TimedOut(Execute)` statement is taken by the provider only once its own delivery
//! deadline (delegation's arrival + `execute_ms`; without a delegation, commitment +
//! `execute_ms`) is at most [`SessionConfig::max_skew`] away, and never after it delivered
//! (module docs, "Settlement threats").
//!
//! # Disputes
//!
//! An authentic statement is never an error, with one exception: the provider ends the
//! session with [`Event::Settled`] when the statement is exactly right and
//! [`Event::Disputed`] (with a [`DisputeReason`] and the signed statement as evidence)
//! otherwise. Exactly right means: the session's parties, task and mechanism id; payment at
//! most flat + bonus and equal to what the outcome pays; refund + slashed = deposit, with
//! slashed as computed above; a `Fraud` outcome carries a proof that verifies, convicts this
//! provider and is about this session's delivered package (and no other outcome carries
//! one); and the outcome is possible given what the provider saw — a judgement and fraud
//! need its delivery, an execution timeout needs its commitment, and a requester that signed
//! a DELEGATE cannot claim the commitment or the delegation never happened. The grade itself
//! is the requester's judgement and cannot be checked; everything that follows from it can.
//! The exception: a `TimedOut(Execute)` statement that comes before the provider's delivery
//! deadline (less the skew) or after its delivery is refused with a typed error and the
//! session left as it was, since the requester may still settle it correctly (see
//! "Settlement threats").
//!
//! # Threat model and checks
//!
//! `from: LinkId` is routing only: who sent a message is the verified signer, never the link.
//! Every frame goes through, in order, and the first failure is a typed [`SessionError`] with
//! no state changed (the session stays usable; the one exception is routing: a message whose
//! signature verifies gives its signer's unlinked restored sessions a link, see
//! "Persistence"):
//!
//! 1. frame size, header, kind and CBOR structure ([`SessionConfig::limits`]), then the
//!    signature over the received bytes and the author field (= signer) of the message;
//! 2. the session: unknown ([`SessionError::UnknownSession`]), ended — a late or replayed
//!    message — ([`SessionError::Ended`]), a message the other role receives
//!    ([`SessionError::WrongRole`]), signed by someone other than the counterparty
//!    ([`SessionError::WrongSender`]);
//! 3. the stage: a message for a stage already passed is [`SessionError::Replayed`] (the first
//!    one stands), one that comes too early is [`SessionError::OutOfOrder`];
//! 4. the content: the commitment's offer hash and deposit, the evidence the tier requires;
//!    for offers, the addressee, the session id derivation, the topic, the embedded mechanism
//!    (leader signature, [`Mechanism::validate`], leader = requester) and freshness.
//!
//! Replays of an offer are refused while the offer is fresh (within `commit_ms` of
//! `offered_at`) and, after its session ended, as long as the session id is remembered (the
//! last [`SessionConfig::max_sessions`] ended sessions). Each message type signs under its own
//! context, so no signature can be replayed as another message.
//!
//! Offers the host has not answered count against [`SessionConfig::max_sessions`]; since
//! identities are cheap, a host facing offer floods should filter offers from unknown
//! requesters before handing them over, or decline quickly. The engine penalises no link;
//! the host sees every error and decides.
//!
//! Queues are bounded ([`SessionConfig::max_queued_events`],
//! [`SessionConfig::max_queued_transmits`]) [`BoundedQueue`]s; on overflow the oldest entry is
//! dropped, counted, and reported by one [`Event::Overflow`] per queue (`"events"`,
//! `"transmits"`, `"parked"`) when the events are next polled ([`Event::Persist`]s are dropped
//! last; events still leave in the order they were queued).
//!
//! # Persistence
//!
//! A restarted agent loses no session it acknowledged. Persistence is an effect (DESIGN §2):
//! the engine never writes anything; whenever a session is created or changes state (offer
//! sent or received, commitment sent or received, delegation, delivery) it queues
//! [`Event::Persist`] with the session's new record, and when a session ends (settled,
//! disputed, declined, expired) it queues one with `record: None`: delete it. The `Persist`
//! comes before the event describing the change. At start-up the host hands the stored
//! records to [`Sessions::restore`].
//!
//! **The host's rule: write every [`Event::Persist`] of a drain pass durably before sending
//! that pass's transmits.** A drain pass is one round of "take every queued transmit and
//! every queued event" after an input or command (the loop under "Driving it"); the frames
//! that acknowledge a change (COMMIT, DELEGATE, DELIVER, SETTLE) are queued in the same pass
//! as its record. Under this rule a counterparty never sees a step this agent could forget:
//! after a crash the agent restores the state that frame announced, or the frame was never
//! sent and the step is simply asked for again. Deletions fall under the rule too: a
//! settled session whose record survived would be restored and could be settled a second
//! time. Writing a pass's records as one transaction, in the order they were queued (a later
//! record of a session replaces an earlier one), satisfies the rule.
//!
//! What a record holds: the signed messages of the session so far — the OFFER, the
//! accepting COMMIT, the DELEGATE, the DELIVER, each as its signer, signature and signed
//! bytes — and this agent's own times: the next deadline, and the delegation and delivery
//! times (the evidence window). Role, phase, counterparty, task,
//! mechanism, deposit and hashes are derived from the messages, and [`Sessions::restore`]
//! verifies every signature and re-runs the checks a message passed on receipt, so a record
//! cannot claim a commitment, delegation or delivery that was not signed by the party that
//! makes it. A delivery's evidence is verified again against the same window and the
//! result kept. Records are a version byte ([`RECORD_VERSION`]) and canonical CBOR, decoded
//! within [`SessionConfig::limits`] (at most 4 × `max_frame` + 1 KiB):
//!
//! ```text
//! RECORD_VERSION (1 byte) ‖ CBOR map, keys in this order:
//!   offer         [signer, signature, body]           the OFFER, as the requester signed it
//!   commit        null | [signer, signature, body]    the accepting COMMIT
//!   delegate      null | [signer, signature, body]    the DELEGATE
//!   deliver       null | [signer, signature, body]    the DELIVER
//!   deadline      wall-clock ms                       the session's next deadline
//!   delegated_at  null | wall-clock ms                when delegated (Delegated, Delivered)
//!   deliver_by    null | wall-clock ms                the delivery deadline (Delegated)
//!   delivered_at  null | wall-clock ms                when delivered (Delivered)
//! ```
//!
//! Each body is a byte string within [`Limits::max_bytes_len`], exactly the bytes that were
//! signed, so a record fits the same limits as the frames it came from. The phase is the
//! number of messages present; anything else (a gap, a declining commitment, another
//! session's message, times that do not fit the phase, unknown keys) is refused.
//!
//! **Deadlines** are monotonic [`Instant`]s, which mean nothing to another process. A
//! record stores each as the wall-clock time it falls on, computed from the [`Now`] of the
//! change; restore maps it back onto the new monotonic clock from its own `now`. A deadline
//! that passed while the agent was down fires at the first input after the restore
//! ([`Engine::poll_timeout`] returns the restore's `now`), with the outcome the timeout table
//! gives. The clocks are only as good as the host's wall clock across the restart.
//!
//! **Links** do not survive a restart. A restored session has no link
//! ([`SessionInfo::link`] is `None`) until its counterparty is heard: the next message whose
//! signature verifies and whose signer is the counterparty (for this session or any other)
//! gives it that message's link, as does the host with [`Sessions::set_link`] or
//! [`Sessions::set_peer_link`] (a host that authenticates links, as the Noise transport
//! does, calls the latter when a link to the counterparty comes up). Frames for a
//! counterparty with no known link wait ([`Sessions::parked_count`], bounded by
//! [`SessionConfig::max_queued_transmits`]) and leave on the first link it is known by.
//!
//! **Host steps**: the host's answer to an event is not durable (it is a command, not a
//! record), so for each restored session that waits on the host, restore queues the event
//! that asked for it again: [`Event::Offered`] (provider, not yet answered),
//! [`Event::Committed`] (requester, not yet delegated), [`Event::Delegated`] (provider, not
//! yet delivered), [`Event::Delivered`] (requester, not yet graded) — unless the deadline
//! has passed. A host that did answer before the crash got a frame out only after the
//! answer's record was written, so it would restore the later phase instead.
//!
//! Not kept across a restart: the memory of ended sessions (an offer replayed within its
//! short commitment window could be offered to the host again; the requester refuses
//! anything further for it), queued frames and events, and the overflow counters.

use core::fmt;
use core::time::Duration;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use agentnet_core::config::{ConfigError, check_range};
use agentnet_core::descriptor::{DescriptorError, Topic};
use agentnet_core::hash::Hasher;
use agentnet_core::signed::SignedError;
use agentnet_core::wire::{self as frame, Limits, MessageKind, WireError};
use agentnet_core::{
    AgentId, BoundedQueue, Engine, Hash, Instant, Keypair, LinkId, Now, Overflow, Signature,
    Signed, SignedObject, Signer, Transmit, WallTime,
};
use agentnet_trust::evidence::{
    AttestationVerifier, EvidenceFault, EvidencePackage, EvidencePolicy, EvidenceReport,
    MAX_RECEIPTS, RejectAllAttestations, TaskId, VerifiedEvidence, verify_evidence,
};
use agentnet_trust::fraud::{FraudError, FraudProof, Offence};
use agentnet_trust::ledger::TaskOutcome;
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::mechanism::{Mechanism, MechanismError, Micros, PPM_ONE, Ppm, Tier};
use crate::wire;

mod amounts;
mod checks;
mod config;
mod deadlines;
mod events;
mod messages;
mod persist;
mod plumbing;
mod provider;
mod requester;
mod routing;

pub use amounts::*;
use checks::*;
pub use config::SessionConfig;
pub use events::{Event, SessionError, SessionInfo};
pub use messages::*;

pub use persist::{MAX_RESTORE_ERRORS, RECORD_VERSION, RestoreError, RestoreReport};

/// Domain of [`SessionId::derive`].
const SESSION_ID_DOMAIN: &str = agentnet_core::hash::domain::SESSION_ID;

#[derive(Clone, Debug)]
enum State {
    Offered,
    Committed,
    Delegated {
        input: Hash,
        /// Wall time of the delegation (this agent's clock): the evidence window's start.
        at: WallTime,
        /// Delivery deadline (both sides).
        deliver_by: Instant,
    },
    Delivered {
        input: Hash,
        result: Hash,
        evidence: Option<VerifiedEvidence>,
        /// Wall time of the delegation (this agent's clock).
        delegated_at: WallTime,
        /// Wall time of the delivery (sent or received, this agent's clock): the evidence
        /// window's end.
        delivered_at: WallTime,
    },
}

impl State {
    fn phase(&self) -> Phase {
        match self {
            State::Offered => Phase::Offered,
            State::Committed => Phase::Committed,
            State::Delegated { .. } => Phase::Delegated,
            State::Delivered { .. } => Phase::Delivered,
        }
    }
}

#[derive(Clone, Debug)]
struct Session {
    role: Role,
    requester: AgentId,
    provider: AgentId,
    /// `None` after a restore, until the counterparty speaks or the host sets one.
    link: Option<LinkId>,
    task: TaskId,
    topic: Topic,
    /// The offer as signed by the requester, and its [`Signed::hash`].
    offer: Signed<Offer>,
    offer_hash: Hash,
    /// The provider's accepting commitment, once made.
    commit: Option<Signed<Commit>>,
    /// The requester's delegation, once made.
    delegate: Option<Signed<Delegate>>,
    /// The provider's delivery, once made (and, at the requester, taken).
    deliver: Option<Signed<Deliver>>,
    mechanism: Signed<Mechanism>,
    mechanism_id: Hash,
    deadline: Instant,
    state: State,
}

impl Session {
    fn counterparty(&self) -> AgentId {
        match self.role {
            Role::Requester => self.provider,
            Role::Provider => self.requester,
        }
    }

    fn ms(&self, pick: impl Fn(crate::mechanism::Deadlines) -> u64) -> Duration {
        Duration::from_millis(pick(self.mechanism.deadlines()))
    }
}

/// The result of checking a delivery's evidence.
enum EvidenceCheck {
    /// No package (allowed below tier 3).
    Absent,
    Verified(VerifiedEvidence),
    /// Failed, not provably.
    Failed(EvidenceReport),
    /// Failed with a provable contradiction.
    Fraud(Box<(FraudProof, Offence)>),
    /// More receipts than `max_receipts`: the chain was not examined, so the delivery is not
    /// taken (see `check_evidence`).
    TooManyReceipts {
        count: usize,
        max: usize,
    },
}

// =============================================================================================
// The engine
// =============================================================================================

/// The task session engine. See the [module docs](self).
pub struct Sessions {
    config: SessionConfig,
    signer: Box<dyn Signer + Send + Sync>,
    me: AgentId,
    attestations: Box<dyn AttestationVerifier + Send + Sync>,
    sessions: BTreeMap<SessionId, Session>,
    /// (deadline, session) for every live session.
    deadlines: BTreeSet<(Instant, SessionId)>,
    /// Recently ended sessions, to refuse late and replayed messages; FIFO-bounded by
    /// `max_sessions`.
    ended: BTreeSet<SessionId>,
    ended_order: VecDeque<SessionId>,
    /// Events in arrival order; [`Event::Persist`] is class 0 (dropped last), the rest class 1.
    events: BoundedQueue<Event>,
    transmits: BoundedQueue<Transmit>,
    /// Live sessions without a link (restored), by counterparty.
    unlinked: BTreeSet<(AgentId, SessionId)>,
    /// Frames for counterparties no link is known for, oldest first; bounded by
    /// `max_queued_transmits`.
    parked: BoundedQueue<(AgentId, Bytes)>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("me", &self.me)
            .field("sessions", &self.sessions.len())
            .field("queued_events", &self.events.len())
            .field("queued_transmits", &self.transmits.len())
            .finish_non_exhaustive()
    }
}

impl Sessions {
    /// An engine signing with `signer`, accepting no attestation format
    /// ([`RejectAllAttestations`]: evidence counts as unattested, and
    /// [`SessionConfig::require_attestation`] then fails closed).
    ///
    /// Refuses a config with a field outside its documented range
    /// ([`SessionConfig::validate`]).
    pub fn new(
        config: SessionConfig,
        signer: Box<dyn Signer + Send + Sync>,
    ) -> Result<Self, ConfigError> {
        Self::with_attestation_verifier(config, signer, Box::new(RejectAllAttestations))
    }

    /// An engine checking evidence attestations with `verifier`.
    pub fn with_attestation_verifier(
        config: SessionConfig,
        signer: Box<dyn Signer + Send + Sync>,
        verifier: Box<dyn AttestationVerifier + Send + Sync>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Sessions {
            me: signer.agent_id(),
            signer,
            attestations: verifier,
            sessions: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            ended: BTreeSet::new(),
            ended_order: VecDeque::new(),
            events: BoundedQueue::new("events", config.max_queued_events).in_arrival_order(),
            transmits: BoundedQueue::new("transmits", config.max_queued_transmits),
            unlinked: BTreeSet::new(),
            parked: BoundedQueue::new("parked", config.max_queued_transmits),
            config,
        })
    }

    // ----- getters ----------------------------------------------------------------------------

    /// This agent.
    pub fn me(&self) -> AgentId {
        self.me
    }

    /// The configuration in force.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// A view of a live session.
    pub fn session(&self, id: &SessionId) -> Option<SessionInfo> {
        let s = self.sessions.get(id)?;
        let (input_hash, result_hash) = match &s.state {
            State::Offered | State::Committed => (None, None),
            State::Delegated { input, .. } => (Some(*input), None),
            State::Delivered { input, result, .. } => (Some(*input), Some(*result)),
        };
        Some(SessionInfo {
            id: *id,
            role: s.role,
            phase: s.state.phase(),
            requester: s.requester,
            provider: s.provider,
            task: s.task,
            topic: s.topic.clone(),
            mechanism_id: s.mechanism_id,
            input_hash,
            result_hash,
            link: s.link,
            deadline: s.deadline,
        })
    }

    /// The ids of the live sessions, in order.
    pub fn ids(&self) -> impl Iterator<Item = &SessionId> {
        self.sessions.keys()
    }

    /// Live sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is live.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Whether `id` ended recently (and is remembered as ended).
    pub fn has_ended(&self, id: &SessionId) -> bool {
        self.ended.contains(id)
    }

    /// Events dropped on overflow since the engine started.
    pub fn dropped_events(&self) -> u64 {
        self.events.dropped()
    }

    /// Frames dropped on overflow since the engine started (parked frames included).
    pub fn dropped_transmits(&self) -> u64 {
        self.transmits.dropped() + self.parked.dropped()
    }

    /// Frames waiting for a link to their counterparty (module docs, "Persistence").
    pub fn parked_count(&self) -> usize {
        self.parked.len()
    }

    /// The record of every live session as of `now`, by session id: the same bytes the last
    /// [`Event::Persist`] of each session carried, up to its deadlines' wall-clock times
    /// (taken from `now`). A host whose store lost records, or that let [`Event::Persist`]s be
    /// dropped on overflow, replaces its whole table with this snapshot.
    pub fn export(&self, now: Now) -> Vec<(SessionId, Bytes)> {
        self.sessions
            .iter()
            .map(|(id, s)| (*id, persist::encode(s, now)))
            .collect()
    }

    // ----- requester commands -----------------------------------------------------------------

    fn on_frame(&mut self, now: Now, from: LinkId, payload: Bytes) -> Result<(), SessionError> {
        let limits = self.config.limits;
        // Every authenticated message routes the sessions restored without a link to its
        // signer (see `adopt`), whatever becomes of it afterwards.
        match frame::peek_kind(&payload) {
            Some(wire::OFFER) => {
                let m = open::<Offer>(&payload, &limits)?;
                self.adopt(m.signer(), from);
                self.on_offer(now, from, m)
            }
            Some(wire::COMMIT) => {
                let m = open::<Commit>(&payload, &limits)?;
                self.adopt(m.signer(), from);
                self.on_commit(now, from, m)
            }
            Some(wire::DELEGATE) => {
                let m = open::<Delegate>(&payload, &limits)?;
                self.adopt(m.signer(), from);
                self.on_delegate(now, from, m)
            }
            Some(wire::DELIVER) => {
                let m = open::<Deliver>(&payload, &limits)?;
                self.adopt(m.signer(), from);
                self.on_deliver(now, from, m)
            }
            Some(wire::SETTLE) => {
                let m = open::<Settle>(&payload, &limits)?;
                self.adopt(m.signer(), from);
                self.on_settle(now, from, m)
            }
            // Not ours: report the most specific wire error (malformed beats unknown kind).
            _ => Err(match frame::decode_frame(&payload, &limits) {
                Err(e) => e.into(),
                Ok(f) => WireError::UnknownKind(f.kind.0).into(),
            }),
        }
    }
}

impl Engine for Sessions {
    type Event = Event;
    type Error = SessionError;

    /// Frames of kinds [`wire::OFFER`] ..= [`wire::SETTLE`]; anything else is refused. See the
    /// module docs for the checks.
    fn handle_message(
        &mut self,
        now: Now,
        from: LinkId,
        payload: Bytes,
    ) -> Result<(), SessionError> {
        self.run(now, |e| e.on_frame(now, from, payload))
    }

    /// Acts on every deadline that has passed (the timeout table in the module docs).
    fn handle_timeout(&mut self, now: Now) {
        self.expire(now);
    }

    /// Sessions outlive links: replies go to the link the counterparty last used, and the
    /// deadlines bound how long a silent counterparty is waited for.
    fn handle_link_up(&mut self, now: Now, _link: LinkId) {
        self.handle_timeout(now);
    }

    /// See [`handle_link_up`](Self::handle_link_up).
    fn handle_link_down(&mut self, now: Now, _link: LinkId) {
        self.handle_timeout(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop()
    }

    /// Unreported drops come first (one [`Event::Overflow`] per queue; the reports take no
    /// queue slot), then the queued events in order.
    fn poll_event(&mut self) -> Option<Event> {
        let report = self
            .transmits
            .take_overflow()
            .or_else(|| self.parked.take_overflow())
            .or_else(|| self.events.take_overflow());
        if let Some(o) = report {
            return Some(Event::Overflow(o));
        }
        self.events.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|&(at, _)| at)
    }
}

// =============================================================================================
// Pure helpers
// =============================================================================================

#[cfg(test)]
mod tests;
