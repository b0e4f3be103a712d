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
//! counterparty with no known link wait ([`Sessions::parked`], bounded by
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

mod persist;

pub use persist::{MAX_RESTORE_ERRORS, RECORD_VERSION, RestoreError, RestoreReport};

/// Domain of [`SessionId::derive`].
const SESSION_ID_DOMAIN: &str = "agentnet/v1/session-id";

// =============================================================================================
// Configuration
// =============================================================================================

/// Settings of a [`Sessions`] engine. Start from [`SessionConfig::default`]; out-of-range values
/// are refused with a [`ConfigError`] when the engine is built ([`validate`](Self::validate)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionConfig {
    /// Sessions held at once, both roles together, unanswered offers included. Sessions;
    /// default 1 024; range 1..=1 000 000. Beyond it new offers are refused
    /// ([`SessionError::Full`]). Also the number of ended session ids remembered to refuse
    /// late and replayed messages.
    pub max_sessions: usize,
    /// Events queued for the application. Events; default 1 024; range 16..=1 000 000. On
    /// overflow the oldest event is dropped and [`Event::Overflow`] reports it.
    pub max_queued_events: usize,
    /// Frames queued for sending. Frames; default 1 024; range 16..=1 000 000. On overflow the
    /// oldest frame is dropped and [`Event::Overflow`] reports it. The same bound applies,
    /// separately, to frames parked for counterparties no link is known for
    /// ([`Sessions::parked`]).
    pub max_queued_transmits: usize,
    /// Decoding limits for every frame, and for the mechanism, evidence and proof envelopes
    /// nested in them; outgoing frames are checked against them too. Default
    /// [`Limits::default`] (64 KiB frames, 16 KiB strings). A receipt envelope takes about
    /// 350 bytes and a fraud settlement carries the whole package, so `max_bytes_len` should
    /// exceed `max_receipts × 350 + 1 KiB` (the defaults do: 32 receipts ≈ 12 KiB); hosts
    /// that accept larger packages raise `max_bytes_len` and `max_frame` together. A delivery
    /// whose package would make its fraud settlement exceed these limits is refused
    /// ([`SessionError::EvidenceTooLarge`]; module docs, "Settlement threats"). Session
    /// records ([`Sessions::restore`]) are decoded within them too and are at most
    /// 4 × `max_frame` + 1 KiB long.
    pub limits: Limits,
    /// Clock skew tolerated between agents' wall clocks: how far in the future an offer's
    /// `offered_at` may be, and how far receipts may lie outside the evidence window. Default
    /// 30 s; range 0..=10 min.
    pub max_skew: Duration,
    /// Most receipts accepted in one evidence package. Receipts; default 32; range
    /// 1..=[`MAX_RECEIPTS`]. Bounds the signature checks one delivery can cost.
    pub max_receipts: usize,
    /// Whether tier-3 evidence must carry an attestation the configured
    /// [`AttestationVerifier`] accepts. Default `false`.
    pub require_attestation: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_sessions: 1024,
            max_queued_events: 1024,
            max_queued_transmits: 1024,
            limits: Limits::default(),
            max_skew: Duration::from_secs(30),
            max_receipts: 32,
            require_attestation: false,
        }
    }
}

impl SessionConfig {
    /// Check every field against its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "max_sessions",
            self.max_sessions,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "max_queued_events",
            self.max_queued_events,
            16..=1_000_000,
            "16..=1000000",
        )?;
        check_range(
            "max_queued_transmits",
            self.max_queued_transmits,
            16..=1_000_000,
            "16..=1000000",
        )?;
        check_range(
            "max_skew",
            self.max_skew,
            Duration::ZERO..=EvidencePolicy::MAX_SKEW,
            "0..=10 min",
        )?;
        check_range(
            "max_receipts",
            self.max_receipts,
            1..=MAX_RECEIPTS,
            "1..=MAX_RECEIPTS (256)",
        )
    }
}

// =============================================================================================
// Identifiers, stages, outcomes, amounts
// =============================================================================================

/// A session's identity; see [`SessionId::derive`].
#[derive(
    Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct SessionId(pub Hash);

impl SessionId {
    /// `BLAKE3("agentnet/v1/session-id"; requester ‖ provider ‖ task ‖ offered_at as u64 LE)`.
    pub fn derive(
        requester: &AgentId,
        provider: &AgentId,
        task: &TaskId,
        offered_at: WallTime,
    ) -> SessionId {
        let mut h = Hasher::new(SESSION_ID_DOMAIN);
        h.update(requester.as_bytes())
            .update(provider.as_bytes())
            .update(task.0.as_bytes())
            .update_u64(offered_at.as_unix_millis());
        SessionId(h.finalize())
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "session:{}", &self.0.to_hex()[..16])
    }
}

/// Which side of a session this engine is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Offers the task, delegates, grades, settles.
    Requester,
    /// Commits, executes, delivers, is paid.
    Provider,
}

/// Where a session stands. Ordered: a session only moves forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Offer sent (requester) or received and not yet answered (provider).
    Offered,
    /// The provider accepted and posted its deposit; delegation is next.
    Committed,
    /// The task was delegated; delivery is next.
    Delegated,
    /// The result was delivered; settlement is next.
    Delivered,
}

/// The step that did not happen in time (in [`Outcome::TimedOut`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Stage {
    /// The provider did not commit.
    Commit,
    /// The requester's host did not delegate after the commitment.
    Delegate,
    /// The provider did not deliver (with the evidence its tier requires).
    Execute,
    /// The requester's host did not grade the delivery.
    Grade,
}

/// How a session was settled. Part of the signed [`Settle`] statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Outcome {
    /// Delivered and accepted: flat fee and bonus.
    Accepted,
    /// Delivered, not accepted (score below the threshold, canaries failed, evidence refused):
    /// flat fee only.
    Rejected,
    /// A verified fraud proof names the provider: nothing paid, deposit slashed.
    Fraud,
    /// A stage missed its deadline; see the module docs for what each pays.
    TimedOut(Stage),
}

/// What a settlement moves, in micro-units ([`settlement_amounts`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Amounts {
    /// Paid by the requester to the provider.
    pub payment: Micros,
    /// Part of the provider's deposit returned to it.
    pub refund: Micros,
    /// Part of the provider's deposit forfeited.
    pub slashed: Micros,
}

/// The part of `deposit` a fraud forfeits: `⌊deposit × ratio / 1 000 000⌋`, computed in 128-bit
/// integers (no overflow, no floats), rounded down; `ratio` above one is treated as one.
pub fn slashed_amount(deposit: Micros, ratio: Ppm) -> Micros {
    let ratio = ratio.min(PPM_ONE);
    let s = u128::from(deposit) * u128::from(ratio) / u128::from(PPM_ONE);
    // ratio <= 1 000 000, so s <= deposit and fits.
    s as Micros
}

/// What `mechanism` says a session with `outcome` moves (the table in the module docs).
pub fn settlement_amounts(mechanism: &Mechanism, outcome: Outcome) -> Amounts {
    let (flat, bonus) = mechanism.payment().unwrap_or((0, 0));
    let deposit = mechanism.deposit();
    let kept = |payment| Amounts {
        payment,
        refund: deposit,
        slashed: 0,
    };
    match outcome {
        Outcome::Accepted => kept(flat.saturating_add(bonus)),
        Outcome::Rejected | Outcome::TimedOut(Stage::Grade) => kept(flat),
        Outcome::TimedOut(Stage::Commit | Stage::Delegate | Stage::Execute) => kept(0),
        Outcome::Fraud => {
            let slashed = slashed_amount(deposit, mechanism.slashing_ratio());
            Amounts {
                payment: 0,
                refund: deposit - slashed,
                slashed,
            }
        }
    }
}

/// The requester's judgement of a delivery, given to [`Sessions::grade`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grade {
    /// Checked quality, 0..=1 000 000 ppm.
    pub score: Ppm,
    /// Whether the canary challenges mixed into the task were answered correctly. Only read at
    /// [`Tier::Canary`], where `false` forfeits the bonus whatever the score (fail closed).
    pub canaries_passed: bool,
}

impl Grade {
    /// A grade.
    pub fn new(score: Ppm, canaries_passed: bool) -> Self {
        Grade {
            score,
            canaries_passed,
        }
    }
}

/// What the requester offers: the task's id, topic and description hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskSpec {
    /// The task's id (named by receipts, evidence and the ledger).
    pub id: TaskId,
    /// The topic the task belongs to (the ledger's key).
    pub topic: Topic,
    /// [`payload_hash`](agentnet_trust::evidence::payload_hash) of the task description the
    /// host sends alongside.
    pub description_hash: Hash,
}

impl TaskSpec {
    /// A task specification.
    pub fn new(id: TaskId, topic: Topic, description_hash: Hash) -> Self {
        TaskSpec {
            id,
            topic,
            description_hash,
        }
    }
}

// =============================================================================================
// Wire messages
// =============================================================================================

/// OFFER ([`wire::OFFER`]), requester → provider: a task under a mechanism.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    /// [`SessionId::derive`] of the fields below; checked by the provider.
    pub session: SessionId,
    /// The requester; must be the signer and the mechanism's leader.
    pub requester: AgentId,
    /// The provider the offer is addressed to.
    pub provider: AgentId,
    /// The task.
    pub task: TaskId,
    /// The task's topic; validated on receipt.
    pub topic: Topic,
    /// Hash of the task description.
    pub description_hash: Hash,
    /// When the offer was made (requester's wall clock).
    pub offered_at: WallTime,
    /// The `Signed<Mechanism>` envelope ([`Signed::to_envelope`]) exactly as the leader
    /// signed it.
    #[serde(with = "bytes_field")]
    pub mechanism: Bytes,
}

/// COMMIT ([`wire::COMMIT`]), provider → requester: the answer to an offer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The session.
    pub session: SessionId,
    /// The provider; must be the signer.
    pub provider: AgentId,
    /// [`Signed::hash`] of the offer answered: a commitment to exactly those bytes.
    pub offer: Hash,
    /// Accept (and post the deposit) or decline.
    pub accept: bool,
    /// The deposit posted: the mechanism's deposit when accepting, 0 when declining.
    pub deposit: Micros,
}

/// DELEGATE ([`wire::DELEGATE`]), requester → provider: the task input, after a commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delegate {
    /// The session.
    pub session: SessionId,
    /// The requester; must be the signer.
    pub requester: AgentId,
    /// Hash of the input the host sends alongside.
    pub input_hash: Hash,
}

/// DELIVER ([`wire::DELIVER`]), provider → requester: the result, with evidence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliver {
    /// The session.
    pub session: SessionId,
    /// The provider; must be the signer.
    pub provider: AgentId,
    /// [`payload_hash`](agentnet_trust::evidence::payload_hash) of the result the host sends
    /// alongside.
    pub result_hash: Hash,
    /// A `Signed<EvidencePackage>` envelope; required at [`Tier::Evidence`].
    #[serde(with = "opt_bytes_field")]
    pub evidence: Option<Bytes>,
}

/// SETTLE ([`wire::SETTLE`]), requester → provider: the signed settlement statement the
/// payment rail executes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settle {
    /// The session.
    pub session: SessionId,
    /// The requester (payer); must be the signer.
    pub requester: AgentId,
    /// The provider (payee, depositor).
    pub provider: AgentId,
    /// The task.
    pub task: TaskId,
    /// [`Mechanism::id`] of the mechanism applied.
    pub mechanism: Hash,
    /// How the session ended.
    pub outcome: Outcome,
    /// Paid to the provider, µ.
    pub payment: Micros,
    /// Deposit returned to the provider, µ.
    pub refund: Micros,
    /// Deposit forfeited, µ.
    pub slashed: Micros,
    /// The fraud proof justifying a slashing; present exactly when the outcome is
    /// [`Outcome::Fraud`].
    pub proof: Option<FraudProof>,
    /// When the statement was made (requester's wall clock).
    pub settled_at: WallTime,
}

impl SignedObject for Offer {
    const CONTEXT: &'static str = "agentnet/v1/session-offer";
    const KIND: MessageKind = wire::OFFER;
    fn author(&self) -> Option<AgentId> {
        Some(self.requester)
    }
}

impl SignedObject for Commit {
    const CONTEXT: &'static str = "agentnet/v1/session-commit";
    const KIND: MessageKind = wire::COMMIT;
    fn author(&self) -> Option<AgentId> {
        Some(self.provider)
    }
}

impl SignedObject for Delegate {
    const CONTEXT: &'static str = "agentnet/v1/session-delegate";
    const KIND: MessageKind = wire::DELEGATE;
    fn author(&self) -> Option<AgentId> {
        Some(self.requester)
    }
}

impl SignedObject for Deliver {
    const CONTEXT: &'static str = "agentnet/v1/session-deliver";
    const KIND: MessageKind = wire::DELIVER;
    fn author(&self) -> Option<AgentId> {
        Some(self.provider)
    }
}

impl SignedObject for Settle {
    const CONTEXT: &'static str = "agentnet/v1/session-settle";
    const KIND: MessageKind = wire::SETTLE;
    fn author(&self) -> Option<AgentId> {
        Some(self.requester)
    }
}

/// Serde for [`Bytes`] as one CBOR byte string (never an array of integers).
mod bytes_field {
    use bytes::Bytes;
    use core::fmt;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        // `deserialize_byte_buf`, not `deserialize_bytes`: the CBOR decoder serves borrowed
        // bytes only up to its 4 KiB scratch buffer and refuses longer strings that way, which
        // would cap evidence and mechanism envelopes far below `Limits::max_bytes_len`. The
        // frame was structure-checked against the limits first, so the length is bounded.
        d.deserialize_byte_buf(ByteString)
    }

    struct ByteString;

    impl Visitor<'_> for ByteString {
        type Value = Bytes;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
            Ok(Bytes::copy_from_slice(v))
        }
        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
            Ok(Bytes::from(v))
        }
    }
}

/// Serde for `Option<Bytes>`: `null` or one CBOR byte string.
mod opt_bytes_field {
    use bytes::Bytes;
    use core::fmt;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serialize, Serializer};

    struct Raw<'a>(&'a Bytes);

    impl Serialize for Raw<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::bytes_field::serialize(self.0, s)
        }
    }

    pub(super) fn serialize<S: Serializer>(b: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&Raw(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        d.deserialize_option(OptByteString)
    }

    struct OptByteString;

    impl<'de> Visitor<'de> for OptByteString {
        type Value = Option<Bytes>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null or a byte string")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::bytes_field::deserialize(d).map(Some)
        }
    }
}

// =============================================================================================
// Events and errors
// =============================================================================================

/// A settlement statement as signed by the requester, with this engine's role in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Whether this engine was the requester (it signed the statement) or the provider (it
    /// checked and accepted it).
    pub role: Role,
    /// The task's topic.
    pub topic: Topic,
    /// The signed statement; [`Signed::to_frame`] gives the bytes to hand to a payment rail.
    pub statement: Signed<Settle>,
}

impl Settlement {
    /// The session.
    pub fn id(&self) -> SessionId {
        self.statement.session
    }
    /// How it ended.
    pub fn outcome(&self) -> Outcome {
        self.statement.outcome
    }
    /// Paid to the provider, µ.
    pub fn payment(&self) -> Micros {
        self.statement.payment
    }
    /// Deposit returned, µ.
    pub fn refund(&self) -> Micros {
        self.statement.refund
    }
    /// Deposit forfeited, µ.
    pub fn slashed(&self) -> Micros {
        self.statement.slashed
    }
}

/// Why a provider disputes a settlement statement.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisputeReason {
    /// The statement names other parties or another task than the session's.
    #[error("the statement names other parties or another task")]
    WrongSession,
    /// The statement applies another mechanism than the one offered.
    #[error("statement applies mechanism {found}, the offer's is {expected}")]
    MechanismMismatch {
        /// The offer's mechanism id.
        expected: Hash,
        /// The statement's.
        found: Hash,
    },
    /// The payment exceeds what the mechanism can pay (flat + bonus).
    #[error("payment {payment} µ exceeds the mechanism's maximum {max} µ")]
    Overpaid {
        /// Stated payment.
        payment: Micros,
        /// flat + bonus.
        max: Micros,
    },
    /// Refund and slashed amount do not add up to the deposit.
    #[error("refund {refund} µ + slashed {slashed} µ != deposit {deposit} µ")]
    DepositMismatch {
        /// Stated refund.
        refund: Micros,
        /// Stated slashing.
        slashed: Micros,
        /// The mechanism's deposit.
        deposit: Micros,
    },
    /// The outcome cannot have happened given what this provider did (e.g. accepted or
    /// rejected without a delivery, fraud or a delegation timeout without a commitment).
    #[error("outcome {outcome:?} is impossible in phase {phase:?}")]
    ImpossibleOutcome {
        /// Stated outcome.
        outcome: Outcome,
        /// The provider's phase.
        phase: Phase,
    },
    /// The payment is not what the mechanism pays for the stated outcome.
    #[error("outcome {outcome:?} pays {expected} µ, statement says {payment} µ")]
    WrongPayment {
        /// Stated outcome.
        outcome: Outcome,
        /// Stated payment.
        payment: Micros,
        /// What the mechanism pays.
        expected: Micros,
    },
    /// The slashed amount is not what the mechanism forfeits for the stated outcome.
    #[error("slashed {slashed} µ, the mechanism forfeits {expected} µ")]
    WrongSlashing {
        /// Stated slashing.
        slashed: Micros,
        /// What the mechanism forfeits.
        expected: Micros,
    },
    /// A fraud outcome without a proof.
    #[error("fraud claimed without a proof")]
    MissingProof,
    /// A proof attached to an outcome that is not fraud.
    #[error("a proof is attached to a non-fraud outcome")]
    UnexpectedProof,
    /// The attached proof does not verify.
    #[error("fraud proof does not verify: {0}")]
    InvalidProof(FraudError),
    /// The attached proof convicts someone else.
    #[error("fraud proof convicts {offender}, not this provider")]
    NotTheOffender {
        /// Whom it convicts.
        offender: AgentId,
    },
    /// The attached proof convicts this provider of something outside this session (it is
    /// not about the package of this session's delivery).
    #[error("fraud proof is not about this session ({0})")]
    ProofNotForSession(&'static str),
}

/// What the engine reports to its application.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    // ----- provider side ----------------------------------------------------------------------
    /// A verified offer: answer with [`Sessions::accept`] or [`Sessions::decline`] before
    /// `answer_by`.
    Offered {
        /// The session.
        id: SessionId,
        /// Who offers (the mechanism's leader).
        requester: AgentId,
        /// The task.
        task: TaskId,
        /// Its topic.
        topic: Topic,
        /// Hash of the task description.
        description_hash: Hash,
        /// The rules, verified and valid.
        mechanism: Box<Signed<Mechanism>>,
        /// Deadline for the answer.
        answer_by: Instant,
    },
    /// The requester delegated: do the work and [`Sessions::deliver`] before `deliver_by`.
    Delegated {
        /// The session.
        id: SessionId,
        /// The requester.
        requester: AgentId,
        /// The task.
        task: TaskId,
        /// Hash of the input.
        input_hash: Hash,
        /// Delivery deadline.
        deliver_by: Instant,
    },
    /// The host did not answer an offer in time; the session ended, nothing was committed.
    OfferExpired {
        /// The session.
        id: SessionId,
        /// The requester.
        requester: AgentId,
    },
    /// The requester owed a delegation or a settlement statement and sent none in time; the
    /// session ended. The host pursues its deposit and payment through its payment rail.
    SettlementOverdue {
        /// The session.
        id: SessionId,
        /// The requester.
        requester: AgentId,
        /// Where the session stood.
        phase: Phase,
    },
    /// A settlement statement the provider finds wrong; the session ended. The statement is
    /// signed by the requester, so it is evidence for whatever dispute process the host runs.
    Disputed {
        /// The session.
        id: SessionId,
        /// What is wrong.
        reason: DisputeReason,
        /// The statement.
        statement: Box<Signed<Settle>>,
    },

    // ----- requester side ---------------------------------------------------------------------
    /// The provider accepted and posted `deposit`: call [`Sessions::delegate`] before
    /// `delegate_by`.
    Committed {
        /// The session.
        id: SessionId,
        /// The provider.
        provider: AgentId,
        /// The deposit posted, µ.
        deposit: Micros,
        /// Deadline for the delegation.
        delegate_by: Instant,
    },
    /// The provider declined; the session ended, nothing is owed.
    Declined {
        /// The session.
        id: SessionId,
        /// The provider.
        provider: AgentId,
    },
    /// A delivery passed the checks its tier requires: check the result bytes against
    /// `result_hash`, then [`Sessions::grade`] before `grade_by`.
    Delivered {
        /// The session.
        id: SessionId,
        /// The provider.
        provider: AgentId,
        /// Hash of the result.
        result_hash: Hash,
        /// The verified evidence, if a package came with the delivery.
        evidence: Option<VerifiedEvidence>,
        /// Deadline for the grade.
        grade_by: Instant,
    },
    /// A delivery's evidence package failed verification without proving fraud; the session
    /// settles as [`Outcome::Rejected`]. `report.rejection()` is what
    /// [`Ledger::record_rejection`](agentnet_trust::ledger::Ledger::record_rejection) takes.
    EvidenceRejected {
        /// The session.
        id: SessionId,
        /// The provider.
        provider: AgentId,
        /// Every fault found.
        report: EvidenceReport,
    },
    /// A task outcome for the trust ledger
    /// ([`Ledger::record_task`](agentnet_trust::ledger::Ledger::record_task) when `evidence`
    /// is present). `peer` is the provider's signing key: resolve it to its canonical id.
    Feedback {
        /// The session.
        id: SessionId,
        /// The provider.
        peer: AgentId,
        /// The task's topic.
        topic: Topic,
        /// The judgement.
        outcome: TaskOutcome,
        /// The verified evidence, if any.
        evidence: Option<VerifiedEvidence>,
    },
    /// A verified fraud proof (for
    /// [`Ledger::record_offence`](agentnet_trust::ledger::Ledger::record_offence) and the
    /// reputation engine).
    Offence(Offence),

    // ----- both sides -------------------------------------------------------------------------
    /// The session is settled; the requester signed this statement (and sent it), or the
    /// provider checked it. Execute it on the payment rail.
    Settled(Box<Settlement>),
    /// An offer was refused because [`SessionConfig::max_sessions`] sessions are held.
    TableFull {
        /// The bound.
        max: usize,
    },
    /// Queue overflow: this many items of one queue (`"events"`, `"transmits"` or
    /// `"parked"`) were dropped since its last report.
    Overflow(Overflow),
    /// A deadline passed but no statement could be made (the signer failed, or the statement
    /// would exceed [`SessionConfig::limits`]); the session ended without one.
    SettleFailed {
        /// The session.
        id: SessionId,
        /// Why.
        error: SessionError,
    },
    /// Store `record` durably under `id`, replacing the session's previous record, or delete
    /// it when `record` is `None` (the session ended). After a restart the stored records go to
    /// [`Sessions::restore`]. Queued whenever a session is created or changes state, before
    /// the event that describes the change; see the module docs, "Persistence", for the rule
    /// the host must follow.
    Persist {
        /// The session.
        id: SessionId,
        /// The session's record ([`Sessions::export`] gives the same bytes), or `None`.
        record: Option<Bytes>,
    },
}

/// Why a frame or command was refused. Nothing changed when one is returned.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// The frame is malformed, too large or of a kind this engine does not handle.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The signature does not verify, the author is not the signer, or this engine's signer
    /// failed.
    #[error(transparent)]
    Signed(#[from] SignedError),
    /// The mechanism envelope inside an offer is malformed or not validly signed.
    #[error("mechanism envelope refused: {0}")]
    MechanismEnvelope(SignedError),
    /// The mechanism breaks its own rules.
    #[error("invalid mechanism: {0}")]
    Mechanism(#[from] MechanismError),
    /// The requester is not the mechanism's leader (see the module docs).
    #[error("requester {requester} is not the mechanism's leader {leader}")]
    NotLeader {
        /// Who offers.
        requester: AgentId,
        /// Who signed the mechanism.
        leader: AgentId,
    },
    /// The topic is not a valid topic.
    #[error("invalid topic: {0}")]
    Topic(#[from] DescriptorError),
    /// The offer is addressed to another agent.
    #[error("offer addressed to {0}, not to this agent")]
    NotAddressedToUs(AgentId),
    /// Requester and provider are the same agent.
    #[error("an agent cannot offer a task to itself")]
    SelfDealing,
    /// The offer's session id is not derived from its fields.
    #[error("{0} is not derived from the offer's fields")]
    BadSessionId(SessionId),
    /// The offer is dated further in the future than the skew window.
    #[error("offer dated {ahead_ms} ms in the future")]
    FromTheFuture {
        /// How far ahead of this agent's clock.
        ahead_ms: u64,
    },
    /// The offer's commitment window has closed.
    #[error("offer expired {late_ms} ms ago")]
    StaleOffer {
        /// How long ago the window closed.
        late_ms: u64,
    },
    /// [`SessionConfig::max_sessions`] sessions are held.
    #[error("session table full ({max})")]
    Full {
        /// The bound.
        max: usize,
    },
    /// A session with this id already exists or existed recently (same requester, provider,
    /// task and millisecond).
    #[error("{0} already exists")]
    DuplicateSession(SessionId),
    /// No session with this id is known.
    #[error("unknown {0}")]
    UnknownSession(SessionId),
    /// The session has ended (settled, declined, timed out): a late or replayed message.
    #[error("{0} has ended")]
    Ended(SessionId),
    /// The message or command belongs to the other role of the session.
    #[error("{id}: {what} is not for the {role:?}")]
    WrongRole {
        /// The session.
        id: SessionId,
        /// This engine's role in it.
        role: Role,
        /// The message kind or command.
        what: &'static str,
    },
    /// The message is signed by someone other than the session's counterparty.
    #[error("{id}: signed by {got}, expected the counterparty {expected}")]
    WrongSender {
        /// The session.
        id: SessionId,
        /// The counterparty.
        expected: AgentId,
        /// The signer.
        got: AgentId,
    },
    /// The message repeats a stage the session has already passed; the first one stands.
    #[error("{id}: {what} repeats a stage already passed (session is {phase:?})")]
    Replayed {
        /// The session.
        id: SessionId,
        /// The message kind.
        what: &'static str,
        /// Where the session stands.
        phase: Phase,
    },
    /// The message arrived before the stage it belongs to.
    #[error("{id}: {what} arrived out of order (session is {phase:?})")]
    OutOfOrder {
        /// The session.
        id: SessionId,
        /// The message kind.
        what: &'static str,
        /// Where the session stands.
        phase: Phase,
    },
    /// The command is not valid where the session stands.
    #[error("{id}: {what} is not possible in phase {phase:?}")]
    WrongPhase {
        /// The session.
        id: SessionId,
        /// The command.
        what: &'static str,
        /// Where the session stands.
        phase: Phase,
    },
    /// The commitment answers another offer.
    #[error("{id}: the commitment names offer {found}, not {expected}")]
    OfferMismatch {
        /// The session.
        id: SessionId,
        /// Hash of the offer sent.
        expected: Hash,
        /// Hash the commitment names.
        found: Hash,
    },
    /// The commitment's deposit is not the mechanism's (or not 0 for a decline).
    #[error("{id}: deposit of {got} µ, expected {expected} µ")]
    WrongDeposit {
        /// The session.
        id: SessionId,
        /// What the mechanism requires.
        expected: Micros,
        /// What the commitment says.
        got: Micros,
    },
    /// The mechanism's tier requires an evidence package and the delivery has none.
    #[error("{0}: the mechanism requires an evidence package")]
    EvidenceRequired(SessionId),
    /// The package given to [`Sessions::deliver`] does not belong to the delivery.
    #[error("{id}: the evidence package {reason}")]
    EvidenceMismatch {
        /// The session.
        id: SessionId,
        /// What does not match.
        reason: &'static str,
    },
    /// The stage's deadline has passed.
    #[error("{0}: the deadline has passed")]
    DeadlinePassed(SessionId),
    /// A score above 1 000 000 ppm.
    #[error("score {0} ppm is above 1 000 000")]
    InvalidScore(Ppm),
    /// The fraud proof does not verify.
    #[error("fraud proof refused: {0}")]
    Fraud(#[from] FraudError),
    /// The fraud proof convicts someone other than the session's provider.
    #[error("{id}: the proof convicts {offender}, not the provider {provider}")]
    WrongOffender {
        /// The session.
        id: SessionId,
        /// Whom the proof convicts.
        offender: AgentId,
        /// The session's provider.
        provider: AgentId,
    },
    /// The fraud proof convicts the provider, but of nothing done in this session: only a
    /// receipt contradiction in the package of this session's delivery forfeits its deposit
    /// (module docs, "Settlement threats").
    #[error("{id}: the proof is not about this session ({reason})")]
    ProofNotForSession {
        /// The session.
        id: SessionId,
        /// What does not tie it to the session.
        reason: &'static str,
    },
    /// The evidence package holds more receipts than [`SessionConfig::max_receipts`]; its
    /// chain is not examined, so the delivery is not taken.
    #[error("{id}: the evidence package holds {count} receipts, at most {max} are taken")]
    TooManyReceipts {
        /// The session.
        id: SessionId,
        /// Receipts in the package.
        count: usize,
        /// [`SessionConfig::max_receipts`].
        max: usize,
    },
    /// The evidence package is so large that the fraud settlement carrying it would not fit
    /// [`SessionConfig::limits`]; the delivery is not taken (module docs, "Settlement
    /// threats").
    #[error("{id}: an evidence package of {len} bytes would not fit a fraud settlement")]
    EvidenceTooLarge {
        /// The session.
        id: SessionId,
        /// The package envelope's length.
        len: usize,
    },
    /// A `TimedOut(Execute)` statement arrived before the delivery deadline could have passed
    /// for the requester, even allowing [`SessionConfig::max_skew`].
    #[error("{id}: execution timeout claimed {early_ms} ms before the deadline (skew allowed)")]
    EarlyTimeout {
        /// The session.
        id: SessionId,
        /// How much too early, after allowing the skew.
        early_ms: u64,
    },
    /// A `TimedOut(Execute)` statement arrived after this provider delivered: the requester
    /// owes a grade (or `TimedOut(Grade)`), not an execution timeout.
    #[error("{0}: execution timeout claimed after the delivery")]
    TimeoutAfterDelivery(SessionId),
}

/// A read-only view of one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    /// The session.
    pub id: SessionId,
    /// This engine's role.
    pub role: Role,
    /// Where it stands.
    pub phase: Phase,
    /// The requester.
    pub requester: AgentId,
    /// The provider.
    pub provider: AgentId,
    /// The task.
    pub task: TaskId,
    /// Its topic.
    pub topic: Topic,
    /// [`Mechanism::id`] of the rules.
    pub mechanism_id: Hash,
    /// Hash of the delegated input, once delegated.
    pub input_hash: Option<Hash>,
    /// Hash of the delivered result, once delivered.
    pub result_hash: Option<Hash>,
    /// The link replies go to: the last one the counterparty spoke on, or the one the host
    /// set ([`Sessions::set_link`], [`Sessions::set_peer_link`]). `None` for a session
    /// restored after a restart until one is known; its frames wait meanwhile.
    pub link: Option<LinkId>,
    /// The next deadline.
    pub deadline: Instant,
}

// =============================================================================================
// Session state
// =============================================================================================

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
    signer: Box<dyn Signer + Send>,
    me: AgentId,
    attestations: Box<dyn AttestationVerifier + Send>,
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
    pub fn new(config: SessionConfig, signer: Box<dyn Signer + Send>) -> Result<Self, ConfigError> {
        Self::with_attestation_verifier(config, signer, Box::new(RejectAllAttestations))
    }

    /// An engine checking evidence attestations with `verifier`.
    pub fn with_attestation_verifier(
        config: SessionConfig,
        signer: Box<dyn Signer + Send>,
        verifier: Box<dyn AttestationVerifier + Send>,
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
    pub fn parked(&self) -> usize {
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

    // ----- persistence and routing ------------------------------------------------------------

    /// Take back the sessions of a previous run from their records (the last
    /// [`Event::Persist`] of each, or [`export`](Self::export)), at start-up, before any
    /// other input. Each record is decoded within [`SessionConfig::limits`], every signed
    /// message in it is verified again and checked as on receipt, and deadlines are mapped
    /// from wall-clock time onto `now.mono`; one that passed while the agent was down fires
    /// at the next input. A bad, forged, truncated or oversized record is refused with a
    /// [`RestoreError`] and changes nothing; at most [`SessionConfig::max_sessions`] sessions
    /// are held, later records are refused ([`RestoreError::Full`]).
    ///
    /// Restored sessions have no link until their counterparty speaks or the host names one
    /// ([`set_link`](Self::set_link), [`set_peer_link`](Self::set_peer_link)); frames for
    /// them wait ([`parked`](Self::parked)). For sessions waiting on the host, the event that
    /// asked for the step is queued again ([`Event::Offered`], [`Event::Committed`],
    /// [`Event::Delegated`], [`Event::Delivered`]) unless its deadline has passed. No
    /// [`Event::Persist`] is queued: the records are already stored.
    pub fn restore(&mut self, now: Now, records: impl IntoIterator<Item = Bytes>) -> RestoreReport {
        let mut report = RestoreReport::default();
        for (i, record) in records.into_iter().enumerate() {
            match self.restore_record(now, &record) {
                Ok(()) => report.restored += 1,
                Err(e) => {
                    report.refused += 1;
                    if report.errors.len() < MAX_RESTORE_ERRORS {
                        report.errors.push((i, e));
                    }
                }
            }
        }
        report
    }

    /// Send the session's frames on `link` from now on: for a restored session once the host
    /// has a link to its counterparty, or to re-route a live one. Frames parked for the
    /// counterparty leave on it. Routing only: who speaks is still known from signatures.
    pub fn set_link(&mut self, id: SessionId, link: LinkId) -> Result<(), SessionError> {
        self.live(id)?;
        self.route(id, link);
        Ok(())
    }

    /// The host knows that `link` reaches `peer` (say a link authenticated to it came up):
    /// every live session with `peer` as counterparty and no link adopts it, and frames
    /// parked for `peer` leave on it. Sessions that have a link keep it. Returns how many
    /// sessions adopted `link`.
    pub fn set_peer_link(&mut self, peer: AgentId, link: LinkId) -> usize {
        self.adopt(peer, link)
    }

    /// A new link to `peer` came up (after either side restarted, or the old link failed):
    /// every live session with `peer` moves to `link`, and for each one the message this side
    /// last sent and still waits on an answer to is sent again — the OFFER before a
    /// commitment, the DELEGATE before a delivery (requester); the accepting COMMIT before a
    /// delegation, the DELIVER before a settlement (provider). A message that did arrive the
    /// first time is refused by the peer as replayed and changes nothing there; one that was
    /// lost with the old link (or never left before a crash) gets through. Returns how many
    /// messages were sent again.
    pub fn resume_with(&mut self, peer: AgentId, link: LinkId) -> usize {
        self.adopt(peer, link);
        let mut again = Vec::new();
        for s in self.sessions.values_mut() {
            if s.counterparty() != peer {
                continue;
            }
            s.link = Some(link);
            let frame = match s.role {
                Role::Requester if s.deliver.is_some() => None,
                Role::Requester => match (&s.commit, &s.delegate) {
                    (_, Some(d)) => Some(d.to_frame()),
                    (None, None) => Some(s.offer.to_frame()),
                    (Some(_), None) => None,
                },
                Role::Provider => match (&s.commit, &s.delegate, &s.deliver) {
                    (_, _, Some(d)) => Some(d.to_frame()),
                    (Some(c), None, None) => Some(c.to_frame()),
                    _ => None,
                },
            };
            again.extend(frame);
        }
        let n = again.len();
        for f in again {
            self.transmit(link, f);
        }
        n
    }

    // ----- requester commands -----------------------------------------------------------------

    /// Offer `task` to `provider` (reached on `link`) under `mechanism`, which this agent must
    /// lead and which must be valid. Sends an OFFER; the session's id is returned and
    /// [`Event::Committed`] or [`Event::Declined`] follows (or a `TimedOut(Commit)`
    /// settlement after `commit_ms`).
    pub fn offer(
        &mut self,
        now: Now,
        provider: AgentId,
        link: LinkId,
        task: TaskSpec,
        mechanism: Signed<Mechanism>,
    ) -> Result<SessionId, SessionError> {
        self.run(now, |e| e.start_offer(now, provider, link, task, mechanism))
    }

    /// Hand the task's input (named by its hash) to the committed provider. Sends a DELEGATE;
    /// the provider has `execute_ms` to deliver.
    pub fn delegate(
        &mut self,
        now: Now,
        id: SessionId,
        input_hash: Hash,
    ) -> Result<(), SessionError> {
        self.run(now, |e| e.start_delegation(now, id, input_hash))
    }

    /// Judge a delivery and settle by the mechanism (module docs, "Settlement"). Sends the
    /// SETTLE statement and queues [`Event::Settled`] and [`Event::Feedback`]; returns the
    /// outcome.
    pub fn grade(
        &mut self,
        now: Now,
        id: SessionId,
        grade: Grade,
    ) -> Result<Outcome, SessionError> {
        self.run(now, |e| e.apply_grade(now, id, grade))
    }

    /// Settle the session as [`Outcome::Fraud`] on a fraud proof that verifies, convicts the
    /// session's provider and is about this session: a receipt contradiction in the package
    /// of this session's delivery ([`SessionError::ProofNotForSession`] otherwise; module
    /// docs, "Settlement threats"). Sends the SETTLE statement with the proof and queues
    /// [`Event::Settled`] and [`Event::Offence`]. A contradicting package is normally found
    /// and settled on as it arrives; a proof of anything else the provider did belongs to the
    /// trust plane ([`Ledger::record_offence`](agentnet_trust::ledger::Ledger::record_offence)),
    /// not to this session's deposit.
    pub fn report_fraud(
        &mut self,
        now: Now,
        id: SessionId,
        proof: &FraudProof,
    ) -> Result<(), SessionError> {
        self.run(now, |e| e.apply_fraud_report(now, id, proof))
    }

    // ----- provider commands ------------------------------------------------------------------

    /// Accept an offer and post the mechanism's deposit. Sends a COMMIT.
    pub fn accept(&mut self, now: Now, id: SessionId) -> Result<(), SessionError> {
        self.run(now, |e| e.answer(now, id, true))
    }

    /// Decline an offer. Sends a COMMIT that declines; the session ends.
    pub fn decline(&mut self, now: Now, id: SessionId) -> Result<(), SessionError> {
        self.run(now, |e| e.answer(now, id, false))
    }

    /// Deliver the result (named by its hash) with `evidence`, which the mechanism's tier may
    /// require and which must be this agent's package for the task and this result. Sends a
    /// DELIVER; refused once the delivery deadline has passed.
    pub fn deliver(
        &mut self,
        now: Now,
        id: SessionId,
        result_hash: Hash,
        evidence: Option<Signed<EvidencePackage>>,
    ) -> Result<(), SessionError> {
        self.run(now, |e| e.send_delivery(now, id, result_hash, evidence))
    }

    // =========================================================================================
    // Command implementations
    // =========================================================================================

    fn start_offer(
        &mut self,
        now: Now,
        provider: AgentId,
        link: LinkId,
        task: TaskSpec,
        mechanism: Signed<Mechanism>,
    ) -> Result<SessionId, SessionError> {
        if provider == self.me {
            return Err(SessionError::SelfDealing);
        }
        Topic::new(task.topic.as_str())?;
        mechanism.validate()?;
        if mechanism.leader != self.me {
            return Err(SessionError::NotLeader {
                requester: self.me,
                leader: mechanism.leader,
            });
        }
        let id = SessionId::derive(&self.me, &provider, &task.id, now.wall);
        if self.sessions.contains_key(&id) || self.ended.contains(&id) {
            return Err(SessionError::DuplicateSession(id));
        }
        self.check_room()?;
        let (offer, offer_frame) = self.sign(Offer {
            session: id,
            requester: self.me,
            provider,
            task: task.id,
            topic: task.topic.clone(),
            description_hash: task.description_hash,
            offered_at: now.wall,
            mechanism: Bytes::from(mechanism.to_envelope()),
        })?;
        let session = Session {
            role: Role::Requester,
            requester: self.me,
            provider,
            link: Some(link),
            task: task.id,
            topic: task.topic,
            offer_hash: offer.hash(),
            offer,
            commit: None,
            delegate: None,
            deliver: None,
            mechanism_id: mechanism.id(),
            mechanism,
            deadline: Instant::MAX,
            state: State::Offered,
        };
        let commit_by = now.mono + session.ms(|d| d.commit_ms);
        self.sessions.insert(id, session);
        self.arm(id, commit_by);
        self.persist(now, id);
        self.transmit(link, offer_frame);
        Ok(id)
    }

    fn start_delegation(
        &mut self,
        now: Now,
        id: SessionId,
        input_hash: Hash,
    ) -> Result<(), SessionError> {
        let s = self.own(id, Role::Requester, "delegate")?;
        if !matches!(s.state, State::Committed) {
            return Err(wrong_phase(id, "delegate", s));
        }
        let deliver_by = now.mono + s.ms(|d| d.execute_ms);
        let (peer, link) = (s.counterparty(), s.link);
        let (delegate, msg) = self.sign(Delegate {
            session: id,
            requester: self.me,
            input_hash,
        })?;
        self.set_state(
            id,
            State::Delegated {
                input: input_hash,
                at: now.wall,
                deliver_by,
            },
        );
        self.with(id, |s| s.delegate = Some(delegate));
        self.arm(id, deliver_by);
        self.persist(now, id);
        self.send(peer, link, msg);
        Ok(())
    }

    fn apply_grade(
        &mut self,
        now: Now,
        id: SessionId,
        grade: Grade,
    ) -> Result<Outcome, SessionError> {
        let s = self.own(id, Role::Requester, "grade")?;
        if !matches!(s.state, State::Delivered { .. }) {
            return Err(wrong_phase(id, "grade", s));
        }
        if grade.score > PPM_ONE {
            return Err(SessionError::InvalidScore(grade.score));
        }
        let outcome = judge(s.mechanism.value(), grade);
        self.settle(now, id, outcome, None)?;
        Ok(outcome)
    }

    fn apply_fraud_report(
        &mut self,
        now: Now,
        id: SessionId,
        proof: &FraudProof,
    ) -> Result<(), SessionError> {
        let s = self.own(id, Role::Requester, "report_fraud")?;
        // Before the commitment the provider has posted nothing the proof could forfeit.
        if matches!(s.state, State::Offered) {
            return Err(wrong_phase(id, "report_fraud", s));
        }
        let provider = s.provider;
        let offence = proof.verify(&self.config.limits)?;
        if offence.offender != provider {
            return Err(SessionError::WrongOffender {
                id,
                offender: offence.offender,
                provider,
            });
        }
        proof_of_this_delivery(s, proof, &self.config.limits)
            .map_err(|reason| SessionError::ProofNotForSession { id, reason })?;
        self.settle(
            now,
            id,
            Outcome::Fraud,
            Some(Box::new((proof.clone(), offence))),
        )
    }

    fn answer(&mut self, now: Now, id: SessionId, accept: bool) -> Result<(), SessionError> {
        let what = if accept { "accept" } else { "decline" };
        let s = self.own(id, Role::Provider, what)?;
        if !matches!(s.state, State::Offered) {
            return Err(wrong_phase(id, what, s));
        }
        let deposit = if accept { s.mechanism.deposit() } else { 0 };
        // After committing, the requester has commit_ms to delegate (or cancel); we wait one
        // settlement window longer so its cancellation can reach us.
        let overdue = now.mono + s.ms(|d| d.commit_ms) + s.ms(|d| d.settle_ms);
        let (peer, link, offer) = (s.counterparty(), s.link, s.offer_hash);
        let (commit, msg) = self.sign(Commit {
            session: id,
            provider: self.me,
            offer,
            accept,
            deposit,
        })?;
        if accept {
            self.set_state(id, State::Committed);
            self.with(id, |s| s.commit = Some(commit));
            self.arm(id, overdue);
            self.persist(now, id);
        } else {
            self.finish(id);
        }
        self.send(peer, link, msg);
        Ok(())
    }

    fn send_delivery(
        &mut self,
        now: Now,
        id: SessionId,
        result_hash: Hash,
        evidence: Option<Signed<EvidencePackage>>,
    ) -> Result<(), SessionError> {
        let s = self.own(id, Role::Provider, "deliver")?;
        let State::Delegated {
            input,
            deliver_by,
            at: delegated_at,
        } = s.state
        else {
            return Err(wrong_phase(id, "deliver", s));
        };
        if now.mono >= deliver_by {
            return Err(SessionError::DeadlinePassed(id));
        }
        match &evidence {
            None if s.mechanism.tier() == Tier::Evidence => {
                return Err(SessionError::EvidenceRequired(id));
            }
            None => {}
            Some(p) => {
                check_own_package(id, p, self.me, s.task, result_hash)?;
                // The requester would refuse it (see `check_evidence`); refuse it here first.
                let max = self.config.max_receipts;
                if p.receipts.len() > max {
                    return Err(SessionError::TooManyReceipts {
                        id,
                        count: p.receipts.len(),
                        max,
                    });
                }
            }
        }
        let evidence = evidence.map(|p| Bytes::from(p.to_envelope()));
        if let Some(env) = &evidence {
            // The requester refuses what it could not convict; refuse it here first.
            fraud_settlement_fits(id, s, env, &self.config.limits)?;
        }
        let overdue = now.mono + s.ms(|d| d.settle_ms);
        let (peer, link) = (s.counterparty(), s.link);
        let (deliver, msg) = self.sign(Deliver {
            session: id,
            provider: self.me,
            result_hash,
            evidence,
        })?;
        self.set_state(
            id,
            State::Delivered {
                input,
                result: result_hash,
                evidence: None,
                delegated_at,
                delivered_at: now.wall,
            },
        );
        self.with(id, |s| s.deliver = Some(deliver));
        self.arm(id, overdue);
        self.persist(now, id);
        self.send(peer, link, msg);
        Ok(())
    }

    /// Sign and send the settlement statement, then end the session and report. Called by the
    /// requester only. Nothing changes if signing fails.
    fn settle(
        &mut self,
        now: Now,
        id: SessionId,
        outcome: Outcome,
        fraud: Option<Box<(FraudProof, Offence)>>,
    ) -> Result<(), SessionError> {
        let s = self
            .sessions
            .get(&id)
            .ok_or(SessionError::UnknownSession(id))?;
        let amounts = settlement_amounts(s.mechanism.value(), outcome);
        let (proof, offence) = match fraud {
            Some(b) => {
                let (p, o) = *b;
                (Some(p), Some(o))
            }
            None => (None, None),
        };
        let (statement, statement_frame) = self.sign(Settle {
            session: id,
            requester: s.requester,
            provider: s.provider,
            task: s.task,
            mechanism: s.mechanism_id,
            outcome,
            payment: amounts.payment,
            refund: amounts.refund,
            slashed: amounts.slashed,
            proof,
            settled_at: now.wall,
        })?;
        let s = self.finish(id).ok_or(SessionError::UnknownSession(id))?;
        self.send(s.counterparty(), s.link, statement_frame);
        self.emit(Event::Settled(Box::new(Settlement {
            role: Role::Requester,
            topic: s.topic.clone(),
            statement,
        })));
        if let Some(o) = offence {
            self.emit(Event::Offence(o));
        }
        if let Some(outcome) = feedback_for(outcome) {
            let evidence = match s.state {
                State::Delivered { evidence, .. } => evidence,
                _ => None,
            };
            self.emit(Event::Feedback {
                id,
                peer: s.provider,
                topic: s.topic,
                outcome,
                evidence,
            });
        }
        Ok(())
    }

    // =========================================================================================
    // Inbound messages
    // =========================================================================================

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

    /// Provider: a new offer. Cheap checks first; the mechanism's signature last but one.
    fn on_offer(&mut self, now: Now, from: LinkId, m: Signed<Offer>) -> Result<(), SessionError> {
        let o = m.value();
        if o.provider != self.me {
            return Err(SessionError::NotAddressedToUs(o.provider));
        }
        if o.requester == self.me {
            return Err(SessionError::SelfDealing);
        }
        let id = o.session;
        if id != SessionId::derive(&o.requester, &o.provider, &o.task, o.offered_at) {
            return Err(SessionError::BadSessionId(id));
        }
        if let Some(s) = self.sessions.get(&id) {
            return Err(SessionError::Replayed {
                id,
                what: "OFFER",
                phase: s.state.phase(),
            });
        }
        if self.ended.contains(&id) {
            return Err(SessionError::Ended(id));
        }
        let ahead = o.offered_at.saturating_duration_since(now.wall);
        if ahead > self.config.max_skew {
            return Err(SessionError::FromTheFuture {
                ahead_ms: millis(ahead),
            });
        }
        Topic::new(o.topic.as_str())?;
        let mechanism = open_mechanism(&o.mechanism, &self.config.limits, o.requester)?;
        // The commitment window is judged on the offer's wall clock: once it has closed the
        // requester has given up, so a late (or replayed) offer is refused.
        let close = o.offered_at + Duration::from_millis(mechanism.deadlines().commit_ms);
        if now.wall >= close {
            return Err(SessionError::StaleOffer {
                late_ms: millis(now.wall.saturating_duration_since(close)),
            });
        }
        if self.sessions.len() >= self.config.max_sessions {
            let max = self.config.max_sessions;
            self.emit(Event::TableFull { max });
            return Err(SessionError::Full { max });
        }
        let answer_by = now.mono + close.saturating_duration_since(now.wall);
        let event = Event::Offered {
            id,
            requester: o.requester,
            task: o.task,
            topic: o.topic.clone(),
            description_hash: o.description_hash,
            mechanism: Box::new(mechanism.clone()),
            answer_by,
        };
        let session = Session {
            role: Role::Provider,
            requester: o.requester,
            provider: self.me,
            link: Some(from),
            task: o.task,
            topic: o.topic.clone(),
            offer_hash: m.hash(),
            offer: m,
            commit: None,
            delegate: None,
            deliver: None,
            mechanism_id: mechanism.id(),
            mechanism,
            deadline: Instant::MAX,
            state: State::Offered,
        };
        self.sessions.insert(id, session);
        self.arm(id, answer_by);
        self.persist(now, id);
        self.emit(event);
        Ok(())
    }

    /// Requester: the provider's answer.
    fn on_commit(&mut self, now: Now, from: LinkId, m: Signed<Commit>) -> Result<(), SessionError> {
        let id = m.session;
        let s = self.counterpart(id, Role::Requester, m.signer(), "COMMIT")?;
        if !matches!(s.state, State::Offered) {
            return Err(stage_error(id, "COMMIT", s.state.phase(), Phase::Offered));
        }
        if m.offer != s.offer_hash {
            return Err(SessionError::OfferMismatch {
                id,
                expected: s.offer_hash,
                found: m.offer,
            });
        }
        let expected = if m.accept { s.mechanism.deposit() } else { 0 };
        if m.deposit != expected {
            return Err(SessionError::WrongDeposit {
                id,
                expected,
                got: m.deposit,
            });
        }
        let provider = s.provider;
        if !m.accept {
            self.finish(id);
            self.emit(Event::Declined { id, provider });
            return Ok(());
        }
        // Policy: the host gets a commit window to delegate (the deposit is locked meanwhile).
        let delegate_by = now.mono + s.ms(|d| d.commit_ms);
        let deposit = m.deposit;
        self.route(id, from);
        self.set_state(id, State::Committed);
        self.with(id, |s| s.commit = Some(m));
        self.arm(id, delegate_by);
        self.persist(now, id);
        self.emit(Event::Committed {
            id,
            provider,
            deposit,
            delegate_by,
        });
        Ok(())
    }

    /// Provider: the task input.
    fn on_delegate(
        &mut self,
        now: Now,
        from: LinkId,
        m: Signed<Delegate>,
    ) -> Result<(), SessionError> {
        let id = m.session;
        let s = self.counterpart(id, Role::Provider, m.signer(), "DELEGATE")?;
        if !matches!(s.state, State::Committed) {
            return Err(stage_error(
                id,
                "DELEGATE",
                s.state.phase(),
                Phase::Committed,
            ));
        }
        let deliver_by = now.mono + s.ms(|d| d.execute_ms);
        // We wait for the requester's statement one settlement window past the delivery
        // deadline: if we fail to deliver, it owes us a TimedOut(Execute) refund.
        let overdue = deliver_by + s.ms(|d| d.settle_ms);
        let (requester, task, input_hash) = (s.requester, s.task, m.input_hash);
        self.route(id, from);
        self.set_state(
            id,
            State::Delegated {
                input: input_hash,
                at: now.wall,
                deliver_by,
            },
        );
        self.with(id, |s| s.delegate = Some(m));
        self.arm(id, overdue);
        self.persist(now, id);
        self.emit(Event::Delegated {
            id,
            requester,
            task,
            input_hash,
            deliver_by,
        });
        Ok(())
    }

    /// Requester: the result. Verifies the evidence and settles at once on fraud or refused
    /// evidence; otherwise waits for the host's grade.
    fn on_deliver(
        &mut self,
        now: Now,
        from: LinkId,
        m: Signed<Deliver>,
    ) -> Result<(), SessionError> {
        let id = m.session;
        let s = self.counterpart(id, Role::Requester, m.signer(), "DELIVER")?;
        let State::Delegated { input, at, .. } = s.state else {
            return Err(stage_error(
                id,
                "DELIVER",
                s.state.phase(),
                Phase::Delegated,
            ));
        };
        if s.mechanism.tier() == Tier::Evidence && m.evidence.is_none() {
            return Err(SessionError::EvidenceRequired(id));
        }
        if let Some(env) = &m.evidence {
            fraud_settlement_fits(id, s, env, &self.config.limits)?;
        }
        let provider = s.provider;
        let grade_by = now.mono + s.ms(|d| d.settle_ms.div_ceil(2));
        let check = match &m.evidence {
            None => EvidenceCheck::Absent,
            Some(env) => self.check_evidence(s, env, m.result_hash, at, now),
        };
        if let EvidenceCheck::TooManyReceipts { count, max } = check {
            return Err(SessionError::TooManyReceipts { id, count, max });
        }
        self.route(id, from);
        match check {
            EvidenceCheck::Fraud(fraud) if fraud.1.offender == provider => {
                self.settle(now, id, Outcome::Fraud, Some(fraud))
            }
            EvidenceCheck::Fraud(fraud) => {
                // A self-contradicting package signed by a third party: a real offence, worth
                // reporting, but not this provider's; its delivery simply fails.
                self.settle(now, id, Outcome::Rejected, None)?;
                let (_, offence) = *fraud;
                self.emit(Event::Offence(offence));
                Ok(())
            }
            EvidenceCheck::Failed(report) => {
                self.settle(now, id, Outcome::Rejected, None)?;
                self.emit(Event::EvidenceRejected {
                    id,
                    provider,
                    report,
                });
                Ok(())
            }
            EvidenceCheck::TooManyReceipts { count, max } => {
                Err(SessionError::TooManyReceipts { id, count, max })
            }
            EvidenceCheck::Absent | EvidenceCheck::Verified(_) => {
                let evidence = match check {
                    EvidenceCheck::Verified(v) => Some(v),
                    _ => None,
                };
                let result_hash = m.result_hash;
                self.set_state(
                    id,
                    State::Delivered {
                        input,
                        result: result_hash,
                        evidence: evidence.clone(),
                        delegated_at: at,
                        delivered_at: now.wall,
                    },
                );
                self.with(id, |s| s.deliver = Some(m));
                self.arm(id, grade_by);
                self.persist(now, id);
                self.emit(Event::Delivered {
                    id,
                    provider,
                    result_hash,
                    evidence,
                    grade_by,
                });
                Ok(())
            }
        }
    }

    /// Provider: the settlement statement. Accepted or disputed, it ends the session; an
    /// execution timeout that cannot have happened yet, or after our delivery, is refused
    /// with the session unchanged ([`check_execute_timeout`]).
    fn on_settle(&mut self, now: Now, from: LinkId, m: Signed<Settle>) -> Result<(), SessionError> {
        let id = m.session;
        let s = self.counterpart(id, Role::Provider, m.signer(), "SETTLE")?;
        if m.outcome == Outcome::TimedOut(Stage::Execute) {
            check_execute_timeout(id, s, now, self.config.max_skew)?;
        }
        let verdict = check_statement(s, m.value(), self.me, &self.config.limits);
        let topic = s.topic.clone();
        self.route(id, from);
        self.finish(id);
        self.emit(match verdict {
            Ok(()) => Event::Settled(Box::new(Settlement {
                role: Role::Provider,
                topic,
                statement: m,
            })),
            Err(reason) => Event::Disputed {
                id,
                reason,
                statement: Box::new(m),
            },
        });
        Ok(())
    }

    /// Verify a delivery's evidence against what this requester saw: its task, its provider,
    /// the delivered result, the window from delegation to now.
    fn check_evidence(
        &self,
        s: &Session,
        envelope: &[u8],
        result: Hash,
        delegated_at: WallTime,
        now: Now,
    ) -> EvidenceCheck {
        let limits = &self.config.limits;
        let mut policy = EvidencePolicy::new(
            s.task,
            s.provider,
            result,
            delegated_at,
            // A wall clock stepped backwards must not make the policy invalid.
            now.wall.max(delegated_at),
        );
        policy.max_skew = self.config.max_skew;
        policy.max_receipts = self.config.max_receipts;
        policy.require_attestation = self.config.require_attestation;
        let report = match verify_evidence(envelope, &policy, &*self.attestations, limits) {
            Ok(v) => return EvidenceCheck::Verified(v),
            Err(report) => report,
        };
        // Threat: a package over `max_receipts` is refused by `verify_evidence` before its
        // chain is walked (bounded work), so a contradiction inside it is never found. Settled
        // as merely `Rejected`, a cheating provider would pocket the flat fee and keep its
        // deposit by adding one receipt. Such a delivery is therefore not taken at all: the
        // provider may still deliver a package within the bound before the deadline, or it
        // times out (nothing paid).
        let too_many = report.faults().iter().find_map(|f| match f {
            EvidenceFault::TooManyReceipts { count, max } => Some((*count, *max)),
            _ => None,
        });
        if let Some((count, max)) = too_many {
            return EvidenceCheck::TooManyReceipts { count, max };
        }
        // Only a contradiction inside the provider's own signatures is fraud; every other fault
        // depends on our view and merely refuses the evidence.
        let proven = FraudProof::from_evidence_report(&report, limits)
            .and_then(|p| p.verify(limits).map(|o| (p, o)));
        match proven {
            Ok(fraud) => EvidenceCheck::Fraud(Box::new(fraud)),
            Err(_) => EvidenceCheck::Failed(report),
        }
    }

    // =========================================================================================
    // Deadlines
    // =========================================================================================

    /// Act on every deadline that has passed by `now`.
    fn expire(&mut self, now: Now) {
        while let Some(&(at, id)) = self.deadlines.first() {
            if at > now.mono {
                break;
            }
            self.deadlines.pop_first();
            self.on_deadline(now, id);
        }
    }

    fn on_deadline(&mut self, now: Now, id: SessionId) {
        let Some(s) = self.sessions.get(&id) else {
            return;
        };
        let (role, phase, requester) = (s.role, s.state.phase(), s.requester);
        match role {
            Role::Requester => {
                let stage = match phase {
                    Phase::Offered => Stage::Commit,
                    Phase::Committed => Stage::Delegate,
                    Phase::Delegated => Stage::Execute,
                    Phase::Delivered => Stage::Grade,
                };
                if let Err(error) = self.settle(now, id, Outcome::TimedOut(stage), None) {
                    self.finish(id);
                    self.emit(Event::SettleFailed { id, error });
                }
            }
            Role::Provider => {
                self.finish(id);
                self.emit(match phase {
                    Phase::Offered => Event::OfferExpired { id, requester },
                    phase => Event::SettlementOverdue {
                        id,
                        requester,
                        phase,
                    },
                });
            }
        }
    }

    // =========================================================================================
    // Plumbing
    // =========================================================================================

    /// Run an input or command: passed deadlines first, then `f`, then overflow reporting.
    fn run<R>(
        &mut self,
        now: Now,
        f: impl FnOnce(&mut Self) -> Result<R, SessionError>,
    ) -> Result<R, SessionError> {
        self.expire(now);
        f(self)
    }

    /// Sign `value` and frame it, refusing a frame the counterparty's limits (assumed equal to
    /// ours) would refuse: never send what we would not accept.
    fn sign<T: SignedObject>(&self, value: T) -> Result<(Signed<T>, Bytes), SessionError> {
        let signed = Signed::sign(&*self.signer, value)?;
        let bytes = signed.to_frame();
        frame::decode_frame_of(&bytes, T::KIND, &self.config.limits)?;
        Ok((signed, bytes))
    }

    fn check_room(&self) -> Result<(), SessionError> {
        if self.sessions.len() >= self.config.max_sessions {
            return Err(SessionError::Full {
                max: self.config.max_sessions,
            });
        }
        Ok(())
    }

    /// A live session this engine plays `role` in, for a command.
    fn own(&self, id: SessionId, role: Role, what: &'static str) -> Result<&Session, SessionError> {
        let s = self.live(id)?;
        if s.role != role {
            return Err(SessionError::WrongRole {
                id,
                role: s.role,
                what,
            });
        }
        Ok(s)
    }

    /// A live session this engine plays `role` in, for a message signed by `signer`, who must
    /// be the counterparty.
    fn counterpart(
        &self,
        id: SessionId,
        role: Role,
        signer: AgentId,
        what: &'static str,
    ) -> Result<&Session, SessionError> {
        let s = self.own(id, role, what)?;
        if signer != s.counterparty() {
            return Err(SessionError::WrongSender {
                id,
                expected: s.counterparty(),
                got: signer,
            });
        }
        Ok(s)
    }

    fn live(&self, id: SessionId) -> Result<&Session, SessionError> {
        match self.sessions.get(&id) {
            Some(s) => Ok(s),
            None if self.ended.contains(&id) => Err(SessionError::Ended(id)),
            None => Err(SessionError::UnknownSession(id)),
        }
    }

    fn set_state(&mut self, id: SessionId, state: State) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.state = state;
        }
    }

    fn with(&mut self, id: SessionId, f: impl FnOnce(&mut Session)) {
        if let Some(s) = self.sessions.get_mut(&id) {
            f(s);
        }
    }

    /// Replies go where the counterparty last spoke from (routing only, never identity).
    fn route(&mut self, id: SessionId, link: LinkId) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.link = Some(link);
            let peer = s.counterparty();
            self.unlinked.remove(&(peer, id));
            self.flush(peer, link);
        }
    }

    /// `peer` was heard on `link` (an authenticated message): its sessions without a link
    /// adopt it, and frames parked for it leave on it.
    fn adopt(&mut self, peer: AgentId, link: LinkId) -> usize {
        let lo = (peer, SessionId(Hash([0; 32])));
        let hi = (peer, SessionId(Hash([0xff; 32])));
        let waiting: Vec<SessionId> = self.unlinked.range(lo..=hi).map(|&(_, id)| id).collect();
        for id in &waiting {
            self.unlinked.remove(&(peer, *id));
            if let Some(s) = self.sessions.get_mut(id) {
                s.link = Some(link);
            }
        }
        self.flush(peer, link);
        waiting.len()
    }

    /// Send every frame parked for `peer` on `link`, oldest first.
    fn flush(&mut self, peer: AgentId, link: LinkId) {
        if self.parked.is_empty() {
            return;
        }
        let mine: Vec<Bytes> = self
            .parked
            .iter()
            .filter(|(p, _)| *p == peer)
            .map(|(_, f)| f.clone())
            .collect();
        self.parked.retain(|(p, _)| *p != peer);
        for frame in mine {
            self.transmit(link, frame);
        }
    }

    /// Send a session frame to `peer` on `link`, or park it until a link to `peer` is known.
    fn send(&mut self, peer: AgentId, link: Option<LinkId>, payload: Bytes) {
        let Some(link) = link else {
            self.parked.push((peer, payload));
            return;
        };
        self.transmit(link, payload);
    }

    /// Queue the session's current record ([`Event::Persist`]).
    fn persist(&mut self, now: Now, id: SessionId) {
        if let Some(record) = self.sessions.get(&id).map(|s| persist::encode(s, now)) {
            self.emit(Event::Persist {
                id,
                record: Some(record),
            });
        }
    }

    /// Replace the session's deadline.
    fn arm(&mut self, id: SessionId, at: Instant) {
        if let Some(s) = self.sessions.get_mut(&id) {
            self.deadlines.remove(&(s.deadline, id));
            s.deadline = at;
            self.deadlines.insert((at, id));
        }
    }

    /// End a session: forget it, remember its id as ended.
    fn finish(&mut self, id: SessionId) -> Option<Session> {
        let s = self.sessions.remove(&id)?;
        self.deadlines.remove(&(s.deadline, id));
        self.unlinked.remove(&(s.counterparty(), id));
        self.emit(Event::Persist { id, record: None });
        if self.ended.insert(id) {
            self.ended_order.push_back(id);
            while self.ended_order.len() > self.config.max_sessions {
                if let Some(old) = self.ended_order.pop_front() {
                    self.ended.remove(&old);
                }
            }
        }
        Some(s)
    }

    /// Queue an event; on overflow drop the oldest one that is not an [`Event::Persist`] (the
    /// oldest `Persist` when every queued event and the new one are).
    fn emit(&mut self, e: Event) {
        let class = if matches!(e, Event::Persist { .. }) {
            0
        } else {
            1
        };
        self.events.push_class(e, class);
    }

    fn transmit(&mut self, link: LinkId, payload: Bytes) {
        self.transmits.push(Transmit { link, payload });
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

/// Check, verify and decode a frame of `T`'s kind. Malformed input (frame, envelope or body)
/// is a [`SessionError::Wire`]; a bad signature or an author other than the signer is a
/// [`SessionError::Signed`].
fn open<T: SignedObject>(payload: &Bytes, limits: &Limits) -> Result<Signed<T>, SessionError> {
    Signed::<T>::from_frame(payload, limits).map_err(|e| match e {
        SignedError::Wire(w) => SessionError::Wire(w),
        other => SessionError::Signed(other),
    })
}

/// Open, verify and validate the mechanism embedded in an offer; its leader must be the
/// requester.
fn open_mechanism(
    envelope: &[u8],
    limits: &Limits,
    requester: AgentId,
) -> Result<Signed<Mechanism>, SessionError> {
    let m = Signed::<Mechanism>::from_envelope(envelope, limits)
        .map_err(SessionError::MechanismEnvelope)?;
    m.validate()?;
    // `Signed` already proved leader == signer.
    if m.leader != requester {
        return Err(SessionError::NotLeader {
            requester,
            leader: m.leader,
        });
    }
    Ok(m)
}

/// Accepted when the score reaches the threshold and, at tier 2, the canaries passed.
fn judge(mechanism: &Mechanism, grade: Grade) -> Outcome {
    let quality = grade.score >= mechanism.min_score();
    let canaries = mechanism.tier() != Tier::Canary || grade.canaries_passed;
    if quality && canaries {
        Outcome::Accepted
    } else {
        Outcome::Rejected
    }
}

/// The ledger judgement an outcome carries, if any (module docs, "Settlement").
fn feedback_for(outcome: Outcome) -> Option<TaskOutcome> {
    match outcome {
        Outcome::Accepted => Some(TaskOutcome::Accepted),
        Outcome::Rejected | Outcome::TimedOut(Stage::Execute) => Some(TaskOutcome::Rejected),
        Outcome::Fraud | Outcome::TimedOut(_) => None,
    }
}

/// Whether the fraud settlement that would convict the provider on `evidence` (a package
/// envelope) fits `limits`: the statement carries the package as its proof, so it is a few
/// hundred bytes larger than the package.
///
/// Threat: a provider delivers a self-contradicting package just large enough for the
/// DELIVER to pass and the SETTLE carrying it as a proof to exceed the limits; the requester
/// could not sign its conviction, and the provider would keep its deposit. So every
/// delivery is checked against the worst case of that statement (this session's fields and
/// amounts, the latest `settled_at`) before it is taken, by both sides, and one that fails
/// is refused with [`SessionError::EvidenceTooLarge`]: a provider cannot make its own
/// conviction unsignable, only its delivery untakeable (which earns it nothing). The
/// statement is signed with a throwaway key for the measurement; every signature and key
/// has the same length, so the size is exact.
fn fraud_settlement_fits(
    id: SessionId,
    s: &Session,
    evidence: &[u8],
    limits: &Limits,
) -> Result<(), SessionError> {
    let probe = Keypair::from_seed([0; 32]);
    let amounts = settlement_amounts(s.mechanism.value(), Outcome::Fraud);
    let worst = Settle {
        session: id,
        requester: probe.id(),
        provider: s.provider,
        task: s.task,
        mechanism: s.mechanism_id,
        outcome: Outcome::Fraud,
        payment: amounts.payment,
        refund: amounts.refund,
        slashed: amounts.slashed,
        proof: Some(FraudProof::ReceiptContradiction {
            package: Bytes::copy_from_slice(evidence),
        }),
        settled_at: WallTime::from_unix_millis(u64::MAX),
    };
    let fits = Signed::sign(&probe, worst).is_ok_and(|st| {
        frame::decode_frame_of(&st.to_frame(), <Settle as SignedObject>::KIND, limits).is_ok()
    });
    if fits {
        Ok(())
    } else {
        Err(SessionError::EvidenceTooLarge {
            id,
            len: evidence.len(),
        })
    }
}

/// A provider's own package must be for this task and result and signed by it: anything else
/// is a wiring mistake the requester would refuse.
fn check_own_package(
    id: SessionId,
    p: &Signed<EvidencePackage>,
    me: AgentId,
    task: TaskId,
    result: Hash,
) -> Result<(), SessionError> {
    let reason = if p.signer() != me {
        "is not signed by this agent"
    } else if p.task != task {
        "is for another task"
    } else if p.result_hash != result {
        "claims another result"
    } else {
        return Ok(());
    };
    Err(SessionError::EvidenceMismatch { id, reason })
}

/// Whether a verified `proof` against the provider is about this session: it must be a
/// receipt contradiction whose package is the one this session's DELIVER carried (compared
/// by [`Signed::hash`], so an envelope re-encoded canonically still matches).
///
/// Threat: a proof verifies forever and names no session, so a requester holding one old
/// offence of a provider (another task, another session, gossip) could cite it in every later
/// session and take every later deposit. The deposit of a session answers for what the
/// provider did in that session, and the one thing it does there that a proof can show is
/// the package it delivers; any other offence (equivocation, chain fork, answer
/// contradiction, a package of another delivery, even for the same task id) is the trust
/// plane's to punish ([`Event::Offence`], the ledger), not this deposit's. Checked by the
/// requester ([`Sessions::report_fraud`]) and by the provider (a statement citing anything
/// else is disputed).
fn proof_of_this_delivery(
    s: &Session,
    proof: &FraudProof,
    limits: &Limits,
) -> Result<(), &'static str> {
    let FraudProof::ReceiptContradiction { package } = proof else {
        return Err("only a receipt contradiction in this session's delivery forfeits its deposit");
    };
    let Some(delivered) = s.deliver.as_ref().and_then(|d| d.value().evidence.as_ref()) else {
        return Err("this session has no delivered evidence package");
    };
    let hash = |envelope: &[u8]| {
        Signed::<EvidencePackage>::from_envelope(envelope, limits)
            .ok()
            .map(|p| p.hash())
    };
    match (hash(package), hash(delivered)) {
        (Some(cited), Some(ours)) if cited == ours => Ok(()),
        _ => Err("the proof's package is not the one delivered in this session"),
    }
}

/// The provider's check of a `TimedOut(Execute)` statement against its own clock.
///
/// Threat: the requester ends the session as "the provider did not deliver in time" while
/// the provider is still within its delivery window, or after it delivered: it pays nothing
/// for work done or about to be done and records a failure against the provider
/// ([`Event::Feedback`] `Rejected`). The requester's delivery deadline is its delegation time
/// plus `execute_ms`; ours is the delegation's arrival plus `execute_ms`, so it is later by
/// the DELEGATE's transit. A statement is refused while `now + max_skew` is before our
/// deadline (the skew absorbs transit and clock-rate differences). Without a DELEGATE (lost,
/// the session still `Committed`), the requester delegated at the earliest when we committed,
/// so the bound is our commitment time plus `execute_ms`. After our delivery the requester
/// owes a grade (or `TimedOut(Grade)`), never an execution timeout: refused too. Both
/// refusals leave the session as it was ([`SessionError::EarlyTimeout`],
/// [`SessionError::TimeoutAfterDelivery`]): the requester may still settle correctly, and
/// otherwise the provider's own deadline reports [`Event::SettlementOverdue`]. (A delivery
/// racing the requester's deadline ends the same way: the requester settled without it.)
fn check_execute_timeout(
    id: SessionId,
    s: &Session,
    now: Now,
    max_skew: Duration,
) -> Result<(), SessionError> {
    let earliest = match s.state {
        State::Delivered { .. } => return Err(SessionError::TimeoutAfterDelivery(id)),
        State::Delegated { deliver_by, .. } => deliver_by,
        // Our deadline while committed is commitment + commit_ms + settle_ms (`answer`).
        State::Committed => s
            .deadline
            .saturating_sub(s.ms(|d| d.commit_ms) + s.ms(|d| d.settle_ms))
            .saturating_add(s.ms(|d| d.execute_ms)),
        // Impossible before a commitment: disputed by `check_statement`.
        State::Offered => return Ok(()),
    };
    let skewed = now.mono.saturating_add(max_skew);
    if skewed < earliest {
        return Err(SessionError::EarlyTimeout {
            id,
            early_ms: millis(earliest.saturating_duration_since(skewed)),
        });
    }
    Ok(())
}

/// Whether `outcome` can have happened given the provider's `phase`. Messages can be lost, so
/// only what the provider's own actions or the requester's own signed DELEGATE rule out is
/// impossible: a judgement and fraud need a delivery; an execution timeout needs a commitment;
/// a requester that signed a delegation had the commitment and did delegate.
fn outcome_possible(outcome: Outcome, phase: Phase) -> bool {
    match outcome {
        Outcome::Accepted | Outcome::Rejected | Outcome::TimedOut(Stage::Grade) => {
            phase == Phase::Delivered
        }
        // Fraud is judged on this session's delivery only (`proof_of_this_delivery`).
        Outcome::Fraud => phase == Phase::Delivered,
        Outcome::TimedOut(Stage::Execute) => phase >= Phase::Committed,
        Outcome::TimedOut(Stage::Delegate) => phase == Phase::Committed,
        Outcome::TimedOut(Stage::Commit) => phase <= Phase::Committed,
    }
}

/// The provider's check of a settlement statement: it must be exactly what the mechanism
/// says for its outcome, consistent with what the provider did, and a slashing must carry a
/// proof that convicts this provider. The requester's grade itself cannot be checked (it is the
/// requester's judgement); everything that follows from it can.
fn check_statement(
    s: &Session,
    st: &Settle,
    me: AgentId,
    limits: &Limits,
) -> Result<(), DisputeReason> {
    if st.requester != s.requester || st.provider != s.provider || st.task != s.task {
        return Err(DisputeReason::WrongSession);
    }
    if st.mechanism != s.mechanism_id {
        return Err(DisputeReason::MechanismMismatch {
            expected: s.mechanism_id,
            found: st.mechanism,
        });
    }
    let m = s.mechanism.value();
    let (flat, bonus) = m.payment().unwrap_or((0, 0));
    let max = flat.saturating_add(bonus);
    if st.payment > max {
        return Err(DisputeReason::Overpaid {
            payment: st.payment,
            max,
        });
    }
    let deposit = m.deposit();
    if st.refund.checked_add(st.slashed) != Some(deposit) {
        return Err(DisputeReason::DepositMismatch {
            refund: st.refund,
            slashed: st.slashed,
            deposit,
        });
    }
    let phase = s.state.phase();
    if !outcome_possible(st.outcome, phase) {
        return Err(DisputeReason::ImpossibleOutcome {
            outcome: st.outcome,
            phase,
        });
    }
    let expected = settlement_amounts(m, st.outcome);
    if st.payment != expected.payment {
        return Err(DisputeReason::WrongPayment {
            outcome: st.outcome,
            payment: st.payment,
            expected: expected.payment,
        });
    }
    if st.slashed != expected.slashed {
        return Err(DisputeReason::WrongSlashing {
            slashed: st.slashed,
            expected: expected.slashed,
        });
    }
    match (st.outcome, &st.proof) {
        (Outcome::Fraud, None) => Err(DisputeReason::MissingProof),
        (Outcome::Fraud, Some(p)) => {
            let offence = p.verify(limits).map_err(DisputeReason::InvalidProof)?;
            if offence.offender != me {
                return Err(DisputeReason::NotTheOffender {
                    offender: offence.offender,
                });
            }
            proof_of_this_delivery(s, p, limits).map_err(DisputeReason::ProofNotForSession)
        }
        (_, Some(_)) => Err(DisputeReason::UnexpectedProof),
        (_, None) => Ok(()),
    }
}

/// A message for a stage already passed is a replay; one for a later stage is out of order.
fn stage_error(id: SessionId, what: &'static str, phase: Phase, expected: Phase) -> SessionError {
    if phase > expected {
        SessionError::Replayed { id, what, phase }
    } else {
        SessionError::OutOfOrder { id, what, phase }
    }
}

fn wrong_phase(id: SessionId, what: &'static str, s: &Session) -> SessionError {
    SessionError::WrongPhase {
        id,
        what,
        phase: s.state.phase(),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mechanism::{Clause, UNIT};
    use agentnet_core::Keypair;
    use agentnet_core::wire::{decode_cbor, encode_cbor};

    fn mechanism(deposit: Micros, ratio: Ppm) -> Mechanism {
        Mechanism::new(
            Keypair::from_seed([1; 32]).id(),
            "unit",
            10 * UNIT,
            [
                Clause::Payment {
                    flat: 2 * UNIT,
                    bonus: 3 * UNIT,
                },
                Clause::Deposit { amount: deposit },
                Clause::Slashing { ratio },
            ],
        )
    }

    #[test]
    fn slashing_rounds_down_in_integers() {
        assert_eq!(slashed_amount(3_000_001, 333_333), 999_999); // 999 999.33 rounded down
        assert_eq!(slashed_amount(999_999, 1), 0);
        assert_eq!(slashed_amount(u64::MAX, PPM_ONE), u64::MAX);
        assert_eq!(slashed_amount(10, PPM_ONE + 5), 10);
        let a = settlement_amounts(&mechanism(3_000_001, 500_000), Outcome::Fraud);
        assert_eq!(
            a,
            Amounts {
                payment: 0,
                refund: 1_500_001,
                slashed: 1_500_000
            }
        );
    }

    #[test]
    fn amounts_follow_the_table() {
        let m = mechanism(7 * UNIT, PPM_ONE);
        let pay = |o| settlement_amounts(&m, o).payment;
        assert_eq!(pay(Outcome::Accepted), 5 * UNIT);
        assert_eq!(pay(Outcome::Rejected), 2 * UNIT);
        assert_eq!(pay(Outcome::TimedOut(Stage::Grade)), 2 * UNIT);
        for s in [Stage::Commit, Stage::Delegate, Stage::Execute] {
            assert_eq!(
                settlement_amounts(&m, Outcome::TimedOut(s)),
                Amounts {
                    payment: 0,
                    refund: 7 * UNIT,
                    slashed: 0
                }
            );
        }
    }

    #[test]
    fn session_ids_are_deterministic_and_bind_every_field() {
        let (a, b) = (
            Keypair::from_seed([1; 32]).id(),
            Keypair::from_seed([2; 32]).id(),
        );
        let t = TaskId(Hash([5; 32]));
        let w = WallTime::from_unix_millis(7);
        let id = SessionId::derive(&a, &b, &t, w);
        assert_eq!(id, SessionId::derive(&a, &b, &t, w));
        assert_ne!(id, SessionId::derive(&b, &a, &t, w));
        assert_ne!(id, SessionId::derive(&a, &b, &TaskId(Hash([6; 32])), w));
        assert_ne!(
            id,
            SessionId::derive(&a, &b, &t, WallTime::from_unix_millis(8))
        );
    }

    #[test]
    fn messages_round_trip_with_byte_strings() {
        let kp = Keypair::from_seed([2; 32]);
        for evidence in [None, Some(Bytes::from_static(b"\x01\x02\x03"))] {
            let d = Deliver {
                session: SessionId(Hash([1; 32])),
                provider: kp.id(),
                result_hash: Hash([2; 32]),
                evidence,
            };
            let bytes = encode_cbor(&d).unwrap();
            assert_eq!(
                decode_cbor::<Deliver>(&bytes, &Limits::default()).unwrap(),
                d
            );
        }
        let s = Settle {
            session: SessionId(Hash([1; 32])),
            requester: kp.id(),
            provider: kp.id(),
            task: TaskId(Hash([3; 32])),
            mechanism: Hash([4; 32]),
            outcome: Outcome::TimedOut(Stage::Execute),
            payment: 1,
            refund: 2,
            slashed: 3,
            proof: None,
            settled_at: WallTime::from_unix_millis(9),
        };
        let bytes = encode_cbor(&s).unwrap();
        assert_eq!(
            decode_cbor::<Settle>(&bytes, &Limits::default()).unwrap(),
            s
        );
    }

    #[test]
    fn out_of_range_config_is_refused_by_name() {
        SessionConfig::default().validate().unwrap();
        let d = SessionConfig::default;
        let field = |c: SessionConfig| c.validate().unwrap_err().field;
        assert_eq!(
            field(SessionConfig {
                max_sessions: 0,
                ..d()
            }),
            "max_sessions"
        );
        assert_eq!(
            field(SessionConfig {
                max_queued_events: 1,
                ..d()
            }),
            "max_queued_events"
        );
        assert_eq!(
            field(SessionConfig {
                max_receipts: MAX_RECEIPTS + 1,
                ..d()
            }),
            "max_receipts"
        );
        assert_eq!(
            field(SessionConfig {
                max_skew: Duration::from_secs(3600),
                ..d()
            }),
            "max_skew"
        );
        let signer = Box::new(agentnet_core::Keypair::from_seed([1; 32]));
        let e = Sessions::new(
            SessionConfig {
                max_sessions: 0,
                ..d()
            },
            signer,
        )
        .unwrap_err();
        assert_eq!(e.field, "max_sessions");
    }

    #[test]
    fn judgement_needs_canaries_only_at_tier_two() {
        let mut m = mechanism(0, 0);
        m.set(Clause::QualityThreshold { min_score: 500_000 });
        assert_eq!(judge(&m, Grade::new(500_000, false)), Outcome::Accepted);
        assert_eq!(judge(&m, Grade::new(499_999, true)), Outcome::Rejected);
        m.set(Clause::Verification { tier: Tier::Canary });
        assert_eq!(judge(&m, Grade::new(900_000, false)), Outcome::Rejected);
        assert_eq!(judge(&m, Grade::new(900_000, true)), Outcome::Accepted);
    }
}
