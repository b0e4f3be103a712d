//! Canary challenge-response (Tier 2 of the verification funnel): the requester's side.
//!
//! A canary is a task whose answer the requester already knows. The host sends it to a
//! provider exactly like real work — same message kind, a task id drawn from the same seeded
//! generator, a prompt from the same distribution — so a provider that cheats only when it
//! thinks nobody checks is caught at the rate canaries are mixed in. This module keeps the
//! book of outstanding canaries: what answer is expected, from whom, in which topic, and by
//! when. An answer or the deadline closes each entry with a [`CanaryVerdict`], the only canary
//! result the [`Ledger`](crate::ledger::Ledger) accepts. Answers come in two forms: a signed
//! [`Answer`] (with `subject` = the canary id; [`CanaryBook::handle_answer`]), or the result of
//! an ordinary task session that the host has already authenticated
//! ([`CanaryBook::handle_delivery`]), which is how a canary indistinguishable from real work
//! comes back.
//!
//! The book has one output path: every verdict, whatever closed the canary, is queued and
//! leaves through [`CanaryBook::poll_verdict`]. The input methods return only whether the
//! input was accepted. Returning the verdict as well would give hosts two places to look, and a
//! host that took it from the return value while also draining the queue would record it
//! twice; one queue also keeps the book shaped like every other engine.
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

use std::collections::{BTreeMap, BTreeSet};

use agentnet_core::config::{ConfigError, check_range};
use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, BoundedQueue, Hash, Instant, Now, Overflow, Signed, WallTime};
use core::time::Duration;
use thiserror::Error;

use crate::evidence::Answer;

/// Hash domain of canary answers.
pub const ANSWER_DOMAIN: &str = agentnet_core::hash::domain::CANARY_ANSWER;

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

impl CanaryConfig {
    /// Check every field against its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("max_pending", self.max_pending, 1..=65_536, "1..=65536")
    }
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
    /// The answer is signed (or, for [`CanaryBook::handle_delivery`], delivered) by someone
    /// other than the challenged provider. The canary stays open: a third party cannot close
    /// someone else's challenge.
    #[error("answer signed by {signer}, challenge was sent to {provider}")]
    WrongSigner {
        /// Who signed (or delivered) the answer.
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
/// [`issue`](Self::issue), inputs [`handle_answer`](Self::handle_answer),
/// [`handle_delivery`](Self::handle_delivery) and [`handle_timeout`](Self::handle_timeout),
/// outputs [`poll_verdict`](Self::poll_verdict) and
/// [`poll_timeout`](Self::poll_timeout)).
#[derive(Debug)]
pub struct CanaryBook {
    config: CanaryConfig,
    pending: BTreeMap<Hash, Pending>,
    deadlines: BTreeSet<(Instant, Hash)>,
    verdicts: BoundedQueue<CanaryVerdict>,
}

impl Default for CanaryBook {
    fn default() -> Self {
        CanaryBook::new(CanaryConfig::default()).expect("the default config is valid")
    }
}

impl CanaryBook {
    /// An empty book. Refuses a config with a field outside its documented range
    /// ([`CanaryConfig::validate`]).
    pub fn new(config: CanaryConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(CanaryBook {
            config,
            pending: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            verdicts: BoundedQueue::new("verdicts", config.max_pending),
        })
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

    /// A signed answer to canary `answer.subject` arrived. Closes the canary with `Passed` or
    /// `Failed`; the verdict is queued for [`poll_verdict`](Self::poll_verdict), which is the
    /// only way verdicts leave the book (timeouts close canaries the same way, so a host
    /// drains one queue whatever closed them).
    ///
    /// Refused, changing nothing: an id with no outstanding canary ([`CanaryError::Unknown`]);
    /// an answer signed by anyone but the challenged provider ([`CanaryError::WrongSigner`];
    /// the canary stays open). An answer at or after the deadline is late: the timeout
    /// decides, exactly as if it had never come. The book closes every expired canary with
    /// `TimedOut` (this one included) and returns [`CanaryError::Unknown`].
    pub fn handle_answer(&mut self, now: Now, answer: &Signed<Answer>) -> Result<(), CanaryError> {
        let a = answer.value();
        self.close(now, a.subject, answer.signer(), answer_hash(&a.value))
    }

    /// The challenged provider delivered `value` as the result of canary `id`, authenticated by
    /// other means than a signed [`Answer`]: typically the provider's signed session delivery,
    /// whose result hash the requester has already checked against the received bytes. This is
    /// how a canary sent as an ordinary task (same session frames, same payload plane, no
    /// marker) is graded: the session proves who delivered what, and the book only compares.
    ///
    /// The caller vouches for `provider` being the author of `value`; the book checks that it
    /// is the challenged provider. Otherwise it behaves exactly like
    /// [`handle_answer`](Self::handle_answer): same refusals ([`CanaryError::Unknown`],
    /// [`CanaryError::WrongSigner`] with `signer = provider`), same rule for late deliveries,
    /// and `value` is compared by [`answer_hash`], so one [`Expected`] serves both paths.
    pub fn handle_delivery(
        &mut self,
        now: Now,
        id: Hash,
        provider: AgentId,
        value: &[u8],
    ) -> Result<(), CanaryError> {
        self.close(now, id, provider, answer_hash(value))
    }

    /// Grade the answer hashed `got` from `author` to canary `id`.
    fn close(&mut self, now: Now, id: Hash, author: AgentId, got: Hash) -> Result<(), CanaryError> {
        let p = self.pending.get(&id).ok_or(CanaryError::Unknown(id))?;
        if author != p.provider {
            return Err(CanaryError::WrongSigner {
                signer: author,
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
        let outcome = if p.expected.accepts(&got) {
            CanaryOutcome::Passed
        } else {
            CanaryOutcome::Failed
        };
        self.push(CanaryVerdict {
            id,
            provider: p.provider,
            topic: p.topic,
            outcome,
            at: now.wall,
        });
        Ok(())
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

    /// The next closed canary, oldest first: the book's one output. Drain it after every
    /// [`handle_answer`](Self::handle_answer), [`handle_delivery`](Self::handle_delivery) and
    /// [`handle_timeout`](Self::handle_timeout); undrained verdicts beyond
    /// [`CanaryConfig::max_pending`] are dropped oldest first.
    #[must_use = "a polled verdict leaves the book; record it or it is lost"]
    pub fn poll_verdict(&mut self) -> Option<CanaryVerdict> {
        self.verdicts.pop()
    }

    /// Verdicts dropped since the last call (`queue: "verdicts"`), if any: the book's overflow
    /// report, to be surfaced by the host as its overflow event.
    pub fn take_overflow(&mut self) -> Option<Overflow> {
        self.verdicts.take_overflow()
    }

    /// Canaries outstanding.
    pub fn pending_count(&self) -> usize {
        self.pending.len()
    }

    /// Verdicts dropped because nobody polled them.
    pub fn dropped_verdicts(&self) -> u64 {
        self.verdicts.dropped()
    }

    fn push(&mut self, v: CanaryVerdict) {
        self.verdicts.push(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentnet_core::Keypair;
    use agentnet_core::test_support::at_ms;

    #[test]
    fn out_of_range_config_is_refused_by_name() {
        let e = CanaryBook::new(CanaryConfig { max_pending: 0 }).unwrap_err();
        assert_eq!(e.field, "max_pending");
        assert!(
            CanaryBook::new(CanaryConfig {
                max_pending: 65_537
            })
            .is_err()
        );
    }

    fn id(i: u8) -> Hash {
        Hash::digest("test/canary", &[i])
    }

    fn provider() -> AgentId {
        Keypair::from_seed([2; 32]).id()
    }

    /// A book with canaries 1 and 2 sent to `provider()`, expecting `b"42"` within 1 s.
    fn book() -> CanaryBook {
        let mut c = CanaryBook::new(CanaryConfig::default()).unwrap();
        for i in [1, 2] {
            c.issue(
                at_ms(0),
                id(i),
                provider(),
                Topic::new("code/review").unwrap(),
                Expected::exact(b"42"),
                Duration::from_secs(1),
            )
            .unwrap();
        }
        c
    }

    #[test]
    fn a_delivery_passes_or_fails_by_answer_hash() {
        let mut c = book();
        assert_eq!(
            c.handle_delivery(at_ms(10), id(1), provider(), b"42"),
            Ok(())
        );
        assert_eq!(
            c.handle_delivery(at_ms(20), id(2), provider(), b"41"),
            Ok(())
        );
        let v = c.poll_verdict().unwrap();
        assert_eq!(
            (v.id(), v.outcome(), v.provider()),
            (id(1), CanaryOutcome::Passed, provider())
        );
        assert_eq!(v.at(), at_ms(10).wall);
        let v = c.poll_verdict().unwrap();
        assert_eq!((v.id(), v.outcome()), (id(2), CanaryOutcome::Failed));
        assert_eq!(c.poll_verdict(), None);
        assert_eq!((c.pending_count(), c.poll_timeout()), (0, None));
        // Closed is closed: a second delivery is unknown.
        assert_eq!(
            c.handle_delivery(at_ms(30), id(1), provider(), b"42"),
            Err(CanaryError::Unknown(id(1)))
        );
    }

    #[test]
    fn a_delivery_from_someone_else_leaves_the_canary_open() {
        let mut c = book();
        let other = Keypair::from_seed([3; 32]).id();
        assert_eq!(
            c.handle_delivery(at_ms(10), id(1), other, b"42"),
            Err(CanaryError::WrongSigner {
                signer: other,
                provider: provider()
            })
        );
        assert_eq!((c.pending_count(), c.poll_verdict()), (2, None));
        assert_eq!(
            c.handle_delivery(at_ms(11), id(1), provider(), b"42"),
            Ok(())
        );
        assert_eq!(c.poll_verdict().unwrap().outcome(), CanaryOutcome::Passed);
    }

    #[test]
    fn a_late_delivery_is_decided_by_the_timeout() {
        let mut c = book();
        // At the deadline is late, even with the right answer.
        assert_eq!(
            c.handle_delivery(at_ms(1000), id(1), provider(), b"42"),
            Err(CanaryError::Unknown(id(1)))
        );
        // Every expired canary closed, in deadline (then id) order.
        let mut closed: Vec<_> = std::iter::from_fn(|| c.poll_verdict())
            .map(|v| (v.id(), v.outcome()))
            .collect();
        closed.sort();
        let mut want = vec![
            (id(1), CanaryOutcome::TimedOut),
            (id(2), CanaryOutcome::TimedOut),
        ];
        want.sort();
        assert_eq!(closed, want);
        assert_eq!(c.pending_count(), 0);
    }

    #[test]
    fn a_delivery_for_an_unknown_canary_changes_nothing() {
        let mut c = book();
        assert_eq!(
            c.handle_delivery(at_ms(10), id(9), provider(), b"42"),
            Err(CanaryError::Unknown(id(9)))
        );
        assert_eq!((c.pending_count(), c.poll_verdict()), (2, None));
        assert_eq!(c.poll_timeout(), Some(Instant::from_millis(1000)));
    }

    #[test]
    fn answers_and_deliveries_grade_alike() {
        let key = Keypair::from_seed([2; 32]);
        let (mut a, mut d) = (book(), book());
        for (i, value) in [(1u8, &b"42"[..]), (2, b"no")] {
            let signed = Answer::sign(&key, id(i), value.to_vec(), at_ms(5).wall).unwrap();
            assert_eq!(a.handle_answer(at_ms(5), &signed), Ok(()));
            assert_eq!(d.handle_delivery(at_ms(5), id(i), key.id(), value), Ok(()));
        }
        let all = |c: &mut CanaryBook| std::iter::from_fn(|| c.poll_verdict()).collect::<Vec<_>>();
        assert_eq!(all(&mut a), all(&mut d));
    }
}
