//! Canary challenge-response (Tier 2 of the verification funnel): the requester's side.
//!
//! A canary is a task whose answer the requester already knows. The host sends it to a
//! provider exactly like real work — same message kind, a task id drawn from the same seeded
//! generator, a prompt from the same distribution — so a provider that cheats only when it
//! thinks nobody checks is caught at the rate canaries are mixed in. This module keeps the
//! book of outstanding canaries: what answer is expected, from whom, in which topic, and by
//! when. A signed answer ([`Answer`], with `subject` = the canary id) or the deadline closes
//! each entry with a [`CanaryVerdict`], the only canary result the
//! [`Ledger`](crate::ledger::Ledger) accepts.
//!
//! What it does not do: choose when to send canaries or to whom (the verification policy
//! does), deliver them (the host does), or turn a failed canary into a fraud proof. A wrong
//! answer proves nothing to a third party, who cannot know the right answer; it is a negative
//! entry in this requester's ledger only. A provider that committed to an answer and then sent
//! a different one *is* provable — see [`crate::fraud`].
//!
//! Bounds: at most [`CanaryConfig::max_pending`] canaries are outstanding; issuing more is
//! refused with [`CanaryError::Full`]. Verdicts wait in a queue of the same bound; when it is
//! full the oldest verdict is dropped and counted in [`CanaryBook::dropped_verdicts`].

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, Hash, Instant, Now, Signed, WallTime};
use core::time::Duration;
use thiserror::Error;

use crate::evidence::Answer;

/// Hash domain of canary answers.
pub const ANSWER_DOMAIN: &str = "agentnet/v1/canary-answer";

/// The hash a canary answer is compared by: BLAKE3 of the answer bytes in [`ANSWER_DOMAIN`].
pub fn answer_hash(value: &[u8]) -> Hash {
    Hash::digest(ANSWER_DOMAIN, value)
}

/// What counts as a correct answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expected {
    /// Exactly this answer (by [`answer_hash`]).
    Exact(Hash),
    /// Any of these answers (for canaries with several correct forms). At most 16.
    AnyOf(Vec<Hash>),
}

impl Expected {
    /// The answer must be exactly `value`.
    pub fn exact(value: &[u8]) -> Self {
        Expected::Exact(answer_hash(value))
    }

    fn accepts(&self, h: &Hash) -> bool {
        match self {
            Expected::Exact(e) => e == h,
            Expected::AnyOf(v) => v.contains(h),
        }
    }
}

/// Limits of the canary book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanaryConfig {
    /// Most canaries outstanding at once, and most verdicts queued. Default 1 024; range
    /// 1..=65 536.
    pub max_pending: usize,
}

impl Default for CanaryConfig {
    fn default() -> Self {
        CanaryConfig { max_pending: 1024 }
    }
}

/// How a canary ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CanaryOutcome {
    /// The signed answer was correct and on time.
    Passed,
    /// The signed answer was wrong.
    Failed,
    /// No answer before the deadline.
    TimedOut,
}

/// The closed result of one canary. Only [`CanaryBook`] makes these, so a ledger entry built
/// from one is always backed by a challenge this node issued and an answer it checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryVerdict {
    id: Hash,
    provider: AgentId,
    topic: Topic,
    outcome: CanaryOutcome,
    at: WallTime,
}

impl CanaryVerdict {
    /// The canary's id (the task id it was sent under).
    pub fn id(&self) -> Hash {
        self.id
    }
    /// Who was challenged.
    pub fn provider(&self) -> AgentId {
        self.provider
    }
    /// The topic the canary tested.
    pub fn topic(&self) -> &Topic {
        &self.topic
    }
    /// How it ended.
    pub fn outcome(&self) -> CanaryOutcome {
        self.outcome
    }
    /// When it ended (wall clock of the requester).
    pub fn at(&self) -> WallTime {
        self.at
    }
}

/// Why a canary could not be issued or an answer was not accepted.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CanaryError {
    /// [`CanaryConfig::max_pending`] canaries are outstanding.
    #[error("too many canaries outstanding ({0})")]
    Full(usize),
    /// A canary with this id is already outstanding.
    #[error("canary {0:?} already outstanding")]
    Duplicate(Hash),
    /// `AnyOf` with no or more than 16 answers.
    #[error("expected answers must number 1..=16")]
    BadExpectation,
    /// No outstanding canary has this id (never issued, already closed, or timed out).
    #[error("no outstanding canary {0:?}")]
    Unknown(Hash),
    /// The answer is signed by someone other than the challenged provider. The canary stays
    /// open: a third party cannot close someone else's challenge.
    #[error("answer signed by {signer}, challenge was sent to {provider}")]
    WrongSigner {
        /// Who signed the answer.
        signer: AgentId,
        /// Who was challenged.
        provider: AgentId,
    },
}

#[derive(Clone, Debug)]
struct Pending {
    provider: AgentId,
    topic: Topic,
    expected: Expected,
    deadline: Instant,
}

/// The requester's book of outstanding canaries (a small sans-IO state machine: commands
/// [`issue`](Self::issue), inputs [`handle_answer`](Self::handle_answer) and
/// [`handle_timeout`](Self::handle_timeout), outputs [`poll_verdict`](Self::poll_verdict) and
/// [`poll_timeout`](Self::poll_timeout)).
#[derive(Debug, Default)]
pub struct CanaryBook {
    config: CanaryConfig,
    pending: BTreeMap<Hash, Pending>,
    deadlines: BTreeSet<(Instant, Hash)>,
    verdicts: VecDeque<CanaryVerdict>,
    dropped: u64,
}

impl CanaryBook {
    /// An empty book.
    pub fn new(config: CanaryConfig) -> Self {
        CanaryBook {
            config,
            ..Default::default()
        }
    }

    /// Record that canary `id` was sent to `provider` in `topic`, expecting `expected`
    /// within `timeout`. `id` must look like any other task id (draw it from the host's
    /// seeded generator).
    pub fn issue(
        &mut self,
        now: Now,
        id: Hash,
        provider: AgentId,
        topic: Topic,
        expected: Expected,
        timeout: Duration,
    ) -> Result<(), CanaryError> {
        if let Expected::AnyOf(v) = &expected
            && (v.is_empty() || v.len() > 16)
        {
            return Err(CanaryError::BadExpectation);
        }
        if self.pending.contains_key(&id) {
            return Err(CanaryError::Duplicate(id));
        }
        if self.pending.len() >= self.config.max_pending {
            return Err(CanaryError::Full(self.pending.len()));
        }
        let deadline = now.mono.saturating_add(timeout);
        self.pending.insert(
            id,
            Pending {
                provider,
                topic,
                expected,
                deadline,
            },
        );
        self.deadlines.insert((deadline, id));
        Ok(())
    }

    /// A signed answer arrived. Closes the canary with `Passed` or `Failed` and returns the
    /// verdict (it is also queued for [`poll_verdict`](Self::poll_verdict)).
    pub fn handle_answer(
        &mut self,
        now: Now,
        answer: &Signed<Answer>,
    ) -> Result<CanaryVerdict, CanaryError> {
        let id = answer.value().subject;
        let p = self.pending.get(&id).ok_or(CanaryError::Unknown(id))?;
        if answer.signer() != p.provider {
            return Err(CanaryError::WrongSigner {
                signer: answer.signer(),
                provider: p.provider,
            });
        }
        if now.mono >= p.deadline {
            // Late: the timeout decides, as if the answer never came.
            self.handle_timeout(now);
            return Err(CanaryError::Unknown(id));
        }
        let p = self.pending.remove(&id).expect("checked above");
        self.deadlines.remove(&(p.deadline, id));
        let outcome = if p.expected.accepts(&answer_hash(&answer.value().value)) {
            CanaryOutcome::Passed
        } else {
            CanaryOutcome::Failed
        };
        let v = CanaryVerdict {
            id,
            provider: p.provider,
            topic: p.topic,
            outcome,
            at: now.wall,
        };
        self.push(v.clone());
        Ok(v)
    }

    /// Close every canary whose deadline has passed with `TimedOut`.
    pub fn handle_timeout(&mut self, now: Now) {
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now.mono {
                break;
            }
            self.deadlines.pop_first();
            if let Some(p) = self.pending.remove(&id) {
                self.push(CanaryVerdict {
                    id,
                    provider: p.provider,
                    topic: p.topic,
                    outcome: CanaryOutcome::TimedOut,
                    at: now.wall,
                });
            }
        }
    }

    /// The earliest deadline of an outstanding canary.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|d| d.0)
    }

    /// The next closed canary, oldest first.
    pub fn poll_verdict(&mut self) -> Option<CanaryVerdict> {
        self.verdicts.pop_front()
    }

    /// Canaries outstanding.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Verdicts dropped because nobody polled them.
    pub fn dropped_verdicts(&self) -> u64 {
        self.dropped
    }

    fn push(&mut self, v: CanaryVerdict) {
        if self.verdicts.len() >= self.config.max_pending {
            self.verdicts.pop_front();
            self.dropped += 1;
        }
        self.verdicts.push_back(v);
    }
}
