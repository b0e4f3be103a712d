//! Session ids, roles, phases and outcomes, and the settlement arithmetic: what each party is
//! paid, refunded or slashed for an outcome under a mechanism.

use super::*;

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
