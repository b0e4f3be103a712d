//! Mechanisms: the versioned, signed rules under which agents cooperate on a task.
//!
//! A [`Mechanism`] is a list of [`Clause`]s — payment rule, quality threshold, deposit,
//! slashing ratio, required verification tier, deadlines, and custom clauses — published by a
//! leader. Every clause has typed parameters and a natural-language rendering
//! ([`Clause::text`]); the parameters are authoritative and the text is rendered from them, so
//! the two never disagree (custom clauses carry their own text). A mechanism is identified by
//! the hash of its canonical CBOR encoding ([`Mechanism::id`]) and travels signed by its leader
//! (`Signed<Mechanism>`, kind [`MECHANISM`](crate::wire::MECHANISM)).
//!
//! The wire has no floats: money is in micro-units ([`Micros`], 10⁻⁶ of the task's currency
//! unit) and ratios in parts per million ([`Ppm`]). [`Mechanism::validate`] checks ranges,
//! uniqueness and the budget and names the offending clause and field in its error.

use std::collections::BTreeMap;
use std::fmt;

use agentnet_core::signed::SignedObject;
use agentnet_core::wire::{MessageKind, encode_cbor};
use agentnet_core::{AgentId, Hash};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Money in micro-units of the task's currency: core's one money type.
pub use agentnet_core::money::Micros;
/// A ratio in parts per million (0..=1 000 000).
pub type Ppm = u32;

/// One unit of money in [`Micros`].
pub use agentnet_core::money::UNIT;
/// One in [`Ppm`].
pub const PPM_ONE: Ppm = 1_000_000;
/// Largest amount any clause or budget may name: 10⁹ units.
pub const MAX_AMOUNT: Micros = 1_000_000_000 * UNIT;
/// Longest deadline: 30 days, in milliseconds.
pub const MAX_DEADLINE_MS: u64 = 30 * 24 * 3_600_000;
/// Most clauses in one mechanism.
pub const MAX_CLAUSES: usize = 32;
/// Longest mechanism name, custom-clause name or custom-clause text, in bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Longest custom-clause text, in bytes.
pub const MAX_TEXT_LEN: usize = 1024;
/// Most parameters of one custom clause.
pub const MAX_CUSTOM_PARAMS: usize = 16;

/// Convert [`Micros`] to units.
pub use agentnet_core::money::units;

/// Convert units to [`Micros`], rounding to the nearest micro-unit; `None` if negative, not
/// finite or above [`MAX_AMOUNT`].
pub fn micros(units: f64) -> Option<Micros> {
    let m = (units * UNIT as f64).round();
    (m.is_finite() && m >= 0.0 && m <= MAX_AMOUNT as f64).then_some(m as Micros)
}

/// Convert [`Ppm`] to a fraction.
pub fn fraction(p: Ppm) -> f64 {
    f64::from(p) / f64::from(PPM_ONE)
}

/// Convert a fraction to [`Ppm`]; `None` outside `[0, 1]` or not finite.
pub fn ppm(x: f64) -> Option<Ppm> {
    (x.is_finite() && (0.0..=1.0).contains(&x)).then(|| (x * f64::from(PPM_ONE)).round() as Ppm)
}

/// The verification a mechanism requires of every delivery (the papers' tiers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Tier {
    /// Tier 1: reputation only; no per-task check beyond what the ledger learns later.
    Reputation = 1,
    /// Tier 2: canary challenge-response mixed into the work.
    Canary = 2,
    /// Tier 3: a signed evidence package (tool receipts, optional attestation).
    Evidence = 3,
}

impl Tier {
    /// All tiers, lowest first.
    pub const ALL: [Tier; 3] = [Tier::Reputation, Tier::Canary, Tier::Evidence];

    /// Index 0..=2 (for per-tier tables).
    pub fn index(self) -> usize {
        self as usize - 1
    }

    /// The tier `n` (1..=3).
    pub fn from_number(n: u8) -> Option<Tier> {
        match n {
            1 => Some(Tier::Reputation),
            2 => Some(Tier::Canary),
            3 => Some(Tier::Evidence),
            _ => None,
        }
    }
}

impl From<Tier> for u8 {
    fn from(t: Tier) -> u8 {
        t as u8
    }
}

impl TryFrom<u8> for Tier {
    type Error = String;
    fn try_from(n: u8) -> Result<Tier, String> {
        Tier::from_number(n).ok_or_else(|| format!("verification tier {n} is not 1, 2 or 3"))
    }
}

/// What kind of rule a clause is. A mechanism holds at most one clause of each standard kind
/// and any number of [`ClauseKind::Custom`] clauses with distinct names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ClauseKind {
    /// [`Clause::Payment`].
    Payment,
    /// [`Clause::QualityThreshold`].
    QualityThreshold,
    /// [`Clause::Deposit`].
    Deposit,
    /// [`Clause::Slashing`].
    Slashing,
    /// [`Clause::Verification`].
    Verification,
    /// [`Clause::Deadlines`].
    Deadlines,
    /// [`Clause::Custom`].
    Custom,
}

impl ClauseKind {
    /// The standard kinds, in canonical order.
    pub const STANDARD: [ClauseKind; 6] = [
        ClauseKind::Payment,
        ClauseKind::QualityThreshold,
        ClauseKind::Deposit,
        ClauseKind::Slashing,
        ClauseKind::Verification,
        ClauseKind::Deadlines,
    ];

    /// The snake-case name used in prompts, JSON and reports.
    pub fn name(self) -> &'static str {
        match self {
            ClauseKind::Payment => "payment",
            ClauseKind::QualityThreshold => "quality_threshold",
            ClauseKind::Deposit => "deposit",
            ClauseKind::Slashing => "slashing",
            ClauseKind::Verification => "verification",
            ClauseKind::Deadlines => "deadlines",
            ClauseKind::Custom => "custom",
        }
    }

    /// The kind named `name` ([`ClauseKind::name`]).
    pub fn from_name(name: &str) -> Option<ClauseKind> {
        ClauseKind::STANDARD
            .into_iter()
            .chain([ClauseKind::Custom])
            .find(|k| k.name() == name)
    }
}

impl fmt::Display for ClauseKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One rule of a mechanism.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Clause {
    /// The provider is paid `flat` on delivery and `bonus` more when the delivery is accepted
    /// (its checked score reaches the quality threshold and no fraud is found). A verified
    /// fraud forfeits both.
    Payment {
        /// Paid on every delivery. Range 0..=[`MAX_AMOUNT`].
        flat: Micros,
        /// Paid on acceptance. Range 0..=[`MAX_AMOUNT`].
        bonus: Micros,
    },
    /// A delivery earns the bonus only if its checked quality score is at least `min_score`.
    QualityThreshold {
        /// Range 0..=1 000 000 (0 accepts everything).
        min_score: Ppm,
    },
    /// The provider posts `amount` before it starts; refunded at settlement unless slashed.
    Deposit {
        /// Range 0..=[`MAX_AMOUNT`].
        amount: Micros,
    },
    /// On a verified fraud proof, `ratio` of the deposit is forfeited.
    Slashing {
        /// Range 0..=1 000 000.
        ratio: Ppm,
    },
    /// Every delivery is checked at this tier.
    Verification {
        /// The tier.
        tier: Tier,
    },
    /// How long each stage of a task session may take.
    Deadlines {
        /// From offer to commitment, ms. Range 1..=[`MAX_DEADLINE_MS`].
        commit_ms: u64,
        /// From delegation to delivery of result and evidence, ms. Range 1..=[`MAX_DEADLINE_MS`].
        execute_ms: u64,
        /// From delivery to settlement, ms. Range 1..=[`MAX_DEADLINE_MS`].
        settle_ms: u64,
    },
    /// A rule the built-in evaluator does not model: carried, hashed, signed and shown to
    /// designers and counterparties verbatim. Hosts that give it meaning evaluate it themselves.
    Custom {
        /// Unique within the mechanism; 1..=[`MAX_NAME_LEN`] bytes of `[a-z0-9_-]`.
        name: String,
        /// The rule in words; at most [`MAX_TEXT_LEN`] bytes.
        text: String,
        /// Integer parameters; at most [`MAX_CUSTOM_PARAMS`], names as for `name`.
        params: BTreeMap<String, i64>,
    },
}

impl Clause {
    /// The clause's kind.
    pub fn kind(&self) -> ClauseKind {
        match self {
            Clause::Payment { .. } => ClauseKind::Payment,
            Clause::QualityThreshold { .. } => ClauseKind::QualityThreshold,
            Clause::Deposit { .. } => ClauseKind::Deposit,
            Clause::Slashing { .. } => ClauseKind::Slashing,
            Clause::Verification { .. } => ClauseKind::Verification,
            Clause::Deadlines { .. } => ClauseKind::Deadlines,
            Clause::Custom { .. } => ClauseKind::Custom,
        }
    }

    /// The clause in words, rendered from its parameters.
    pub fn text(&self) -> String {
        match self {
            Clause::Payment { flat, bonus } => format!(
                "The provider is paid {} on delivery and a further {} when the delivery is \
                 accepted; a verified fraud forfeits both.",
                Money(*flat),
                Money(*bonus)
            ),
            Clause::QualityThreshold { min_score } => format!(
                "A delivery is accepted only if its checked quality score is at least {:.3}.",
                fraction(*min_score)
            ),
            Clause::Deposit { amount } => format!(
                "The provider posts a deposit of {} before starting; it is refunded at \
                 settlement unless slashed.",
                Money(*amount)
            ),
            Clause::Slashing { ratio } => format!(
                "On a verified fraud proof, {:.1}% of the deposit is forfeited.",
                fraction(*ratio) * 100.0
            ),
            Clause::Verification { tier } => match tier {
                Tier::Reputation => "Deliveries are judged by reputation only (tier 1).".into(),
                Tier::Canary => {
                    "Every task carries canary challenges the provider must answer (tier 2).".into()
                }
                Tier::Evidence => "Every delivery must come with a signed evidence package of \
                                   tool receipts (tier 3)."
                    .into(),
            },
            Clause::Deadlines {
                commit_ms,
                execute_ms,
                settle_ms,
            } => format!(
                "Commit within {}, deliver within {} of delegation, settle within {} of \
                 delivery; a missed deadline ends the session as a timeout.",
                Millis(*commit_ms),
                Millis(*execute_ms),
                Millis(*settle_ms)
            ),
            Clause::Custom { text, .. } => text.clone(),
        }
    }

    fn check(&self) -> Result<(), MechanismError> {
        let range = |field: &'static str, v: u64, lo: u64, hi: u64| {
            if v < lo || v > hi {
                Err(MechanismError::OutOfRange {
                    clause: self.kind(),
                    field,
                    value: v,
                    min: lo,
                    max: hi,
                })
            } else {
                Ok(())
            }
        };
        match self {
            Clause::Payment { flat, bonus } => {
                range("flat", *flat, 0, MAX_AMOUNT)?;
                range("bonus", *bonus, 0, MAX_AMOUNT)
            }
            Clause::QualityThreshold { min_score } => {
                range("min_score", u64::from(*min_score), 0, u64::from(PPM_ONE))
            }
            Clause::Deposit { amount } => range("amount", *amount, 0, MAX_AMOUNT),
            Clause::Slashing { ratio } => range("ratio", u64::from(*ratio), 0, u64::from(PPM_ONE)),
            Clause::Verification { .. } => Ok(()),
            Clause::Deadlines {
                commit_ms,
                execute_ms,
                settle_ms,
            } => {
                range("commit_ms", *commit_ms, 1, MAX_DEADLINE_MS)?;
                range("execute_ms", *execute_ms, 1, MAX_DEADLINE_MS)?;
                range("settle_ms", *settle_ms, 1, MAX_DEADLINE_MS)
            }
            Clause::Custom { name, text, params } => {
                check_name(name)?;
                if text.len() > MAX_TEXT_LEN {
                    return Err(MechanismError::TooLong {
                        what: "custom clause text",
                        len: text.len(),
                        max: MAX_TEXT_LEN,
                    });
                }
                if params.len() > MAX_CUSTOM_PARAMS {
                    return Err(MechanismError::TooMany {
                        what: "custom clause parameters",
                        count: params.len(),
                        max: MAX_CUSTOM_PARAMS,
                    });
                }
                params.keys().try_for_each(|k| check_name(k))
            }
        }
    }
}

fn check_name(name: &str) -> Result<(), MechanismError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(MechanismError::TooLong {
            what: "name",
            len: name.len(),
            max: MAX_NAME_LEN,
        });
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(MechanismError::BadName(name.to_string()));
    }
    Ok(())
}

/// Displays money in units with up to six decimals.
struct Money(Micros);

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (whole, frac) = (self.0 / UNIT, self.0 % UNIT);
        if frac == 0 {
            write!(f, "{whole} units")
        } else {
            let s = format!("{frac:06}");
            write!(f, "{whole}.{} units", s.trim_end_matches('0'))
        }
    }
}

/// Displays a duration in the largest whole unit that fits.
struct Millis(u64);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if ms.is_multiple_of(3_600_000) {
            write!(f, "{} h", ms / 3_600_000)
        } else if ms.is_multiple_of(60_000) {
            write!(f, "{} min", ms / 60_000)
        } else if ms.is_multiple_of(1000) {
            write!(f, "{} s", ms / 1000)
        } else {
            write!(f, "{ms} ms")
        }
    }
}

/// Why a mechanism is invalid.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MechanismError {
    /// A parameter is outside its documented range.
    #[error("{clause}.{field} = {value} is outside {min}..={max}")]
    OutOfRange {
        /// The clause.
        clause: ClauseKind,
        /// The parameter.
        field: &'static str,
        /// Its value (money in µ, ratios in ppm, times in ms).
        value: u64,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// Two clauses of one standard kind, or two custom clauses with one name.
    #[error("duplicate clause {0}")]
    Duplicate(String),
    /// Every mechanism needs a payment clause.
    #[error("no payment clause")]
    MissingPayment,
    /// The most the mechanism can pay for one task exceeds the leader's budget.
    #[error("payment of up to {payout} µ exceeds the budget of {budget} µ")]
    OverBudget {
        /// Flat plus bonus.
        payout: Micros,
        /// The mechanism's budget.
        budget: Micros,
    },
    /// A string is too long.
    #[error("{what} of {len} bytes exceeds {max}")]
    TooLong {
        /// Which string.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Too many items.
    #[error("{count} {what} exceed {max}")]
    TooMany {
        /// Which items.
        what: &'static str,
        /// How many there are.
        count: usize,
        /// The bound.
        max: usize,
    },
    /// A name with characters outside `[a-z0-9_-]`.
    #[error("name {0:?} may only hold a-z, 0-9, '_' and '-'")]
    BadName(String),
}

/// A versioned set of clauses published by a leader. See the module docs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mechanism {
    /// The publishing leader; must be the signer of a `Signed<Mechanism>`.
    pub leader: AgentId,
    /// A short name for the task class it governs, `[a-z0-9_-]`, 1..=64 bytes.
    pub name: String,
    /// Version, counted from 1; a revision has its parent's version + 1.
    pub version: u32,
    /// The [`Mechanism::id`] of the mechanism this one revises, if any.
    pub parent: Option<Hash>,
    /// The most the leader pays for one task, µ. Range 0..=[`MAX_AMOUNT`].
    pub budget: Micros,
    /// The clauses, in canonical order after [`Mechanism::normalize`].
    pub clauses: Vec<Clause>,
}

impl SignedObject for Mechanism {
    const CONTEXT: &'static str = agentnet_core::hash::domain::MECHANISM;
    const KIND: MessageKind = crate::wire::MECHANISM;
    fn author(&self) -> Option<AgentId> {
        Some(self.leader)
    }
}

/// Domain of [`Mechanism::id`].
const ID_DOMAIN: &str = agentnet_core::hash::domain::MECHANISM_ID;

impl Mechanism {
    /// A mechanism with the given clauses, normalized (not yet validated).
    pub fn new(
        leader: AgentId,
        name: &str,
        budget: Micros,
        clauses: impl IntoIterator<Item = Clause>,
    ) -> Self {
        let mut m = Mechanism {
            leader,
            name: name.to_string(),
            version: 1,
            parent: None,
            budget,
            clauses: clauses.into_iter().collect(),
        };
        m.normalize();
        m
    }

    /// Sort the clauses into canonical order (standard kinds in [`ClauseKind::STANDARD`]
    /// order, then custom clauses by name), so equal rule sets encode and hash equally.
    pub fn normalize(&mut self) {
        self.clauses.sort_by(|a, b| {
            let key = |c: &Clause| match c {
                Clause::Custom { name, .. } => (c.kind(), name.clone()),
                _ => (c.kind(), String::new()),
            };
            key(a).cmp(&key(b))
        });
    }

    /// The hash of the canonical encoding: the mechanism's identity.
    pub fn id(&self) -> Hash {
        let bytes = encode_cbor(self).expect("a mechanism always encodes");
        Hash::digest(ID_DOMAIN, &bytes)
    }

    /// Check every documented rule: ranges, one clause per standard kind, unique custom
    /// names, a payment clause, payout within budget, canonical order, size bounds.
    pub fn validate(&self) -> Result<(), MechanismError> {
        check_name(&self.name)?;
        if self.budget > MAX_AMOUNT {
            return Err(MechanismError::OutOfRange {
                clause: ClauseKind::Payment,
                field: "budget",
                value: self.budget,
                min: 0,
                max: MAX_AMOUNT,
            });
        }
        if self.clauses.len() > MAX_CLAUSES {
            return Err(MechanismError::TooMany {
                what: "clauses",
                count: self.clauses.len(),
                max: MAX_CLAUSES,
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.clauses {
            c.check()?;
            let key = match c {
                Clause::Custom { name, .. } => format!("custom:{name}"),
                _ => c.kind().name().to_string(),
            };
            if !seen.insert(key.clone()) {
                return Err(MechanismError::Duplicate(key));
            }
        }
        let Some((flat, bonus)) = self.payment() else {
            return Err(MechanismError::MissingPayment);
        };
        let payout = flat.saturating_add(bonus);
        if payout > self.budget {
            return Err(MechanismError::OverBudget {
                payout,
                budget: self.budget,
            });
        }
        Ok(())
    }

    /// The clause of a standard `kind`, if present.
    pub fn clause(&self, kind: ClauseKind) -> Option<&Clause> {
        self.clauses.iter().find(|c| c.kind() == kind)
    }

    /// Replace the clause of `clause`'s standard kind (or the custom clause of its name), or
    /// add it; keeps canonical order.
    pub fn set(&mut self, clause: Clause) {
        let same = |c: &Clause| match (c, &clause) {
            (Clause::Custom { name: a, .. }, Clause::Custom { name: b, .. }) => a == b,
            _ => c.kind() == clause.kind(),
        };
        self.clauses.retain(|c| !same(c));
        self.clauses.push(clause);
        self.normalize();
    }

    /// Remove the clause of a standard `kind`.
    pub fn remove(&mut self, kind: ClauseKind) {
        self.clauses.retain(|c| c.kind() != kind);
    }

    /// `(flat, bonus)` of the payment clause.
    pub fn payment(&self) -> Option<(Micros, Micros)> {
        match self.clause(ClauseKind::Payment) {
            Some(Clause::Payment { flat, bonus }) => Some((*flat, *bonus)),
            _ => None,
        }
    }

    /// The quality threshold (0 when there is no clause: every delivery passes).
    pub fn min_score(&self) -> Ppm {
        match self.clause(ClauseKind::QualityThreshold) {
            Some(Clause::QualityThreshold { min_score }) => *min_score,
            _ => 0,
        }
    }

    /// The deposit (0 when there is no clause).
    pub fn deposit(&self) -> Micros {
        match self.clause(ClauseKind::Deposit) {
            Some(Clause::Deposit { amount }) => *amount,
            _ => 0,
        }
    }

    /// The slashing ratio (0 when there is no clause).
    pub fn slashing_ratio(&self) -> Ppm {
        match self.clause(ClauseKind::Slashing) {
            Some(Clause::Slashing { ratio }) => *ratio,
            _ => 0,
        }
    }

    /// The verification tier ([`Tier::Reputation`] when there is no clause).
    pub fn tier(&self) -> Tier {
        match self.clause(ClauseKind::Verification) {
            Some(Clause::Verification { tier }) => *tier,
            _ => Tier::Reputation,
        }
    }

    /// The deadlines, or [`Deadlines::DEFAULT`] when there is no clause.
    pub fn deadlines(&self) -> Deadlines {
        match self.clause(ClauseKind::Deadlines) {
            Some(Clause::Deadlines {
                commit_ms,
                execute_ms,
                settle_ms,
            }) => Deadlines {
                commit_ms: *commit_ms,
                execute_ms: *execute_ms,
                settle_ms: *settle_ms,
            },
            _ => Deadlines::DEFAULT,
        }
    }

    /// The whole mechanism in words, one numbered clause per line.
    pub fn text(&self) -> String {
        let mut s = format!(
            "Mechanism {} v{} (budget {} per task):\n",
            self.name,
            self.version,
            Money(self.budget)
        );
        for (i, c) in self.clauses.iter().enumerate() {
            s.push_str(&format!("{}. [{}] {}\n", i + 1, c.kind(), c.text()));
        }
        s
    }

    /// A revision of this mechanism: same leader and name, version + 1, parent = this id,
    /// with `clauses` (normalized, not validated).
    #[must_use]
    pub fn revise(&self, clauses: Vec<Clause>) -> Mechanism {
        let mut m = Mechanism {
            leader: self.leader,
            name: self.name.clone(),
            version: self.version.saturating_add(1),
            parent: Some(self.id()),
            budget: self.budget,
            clauses,
        };
        m.normalize();
        m
    }
}

/// The stage deadlines of a task session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadlines {
    /// Offer → commitment, ms.
    pub commit_ms: u64,
    /// Delegation → delivery, ms.
    pub execute_ms: u64,
    /// Delivery → settlement, ms.
    pub settle_ms: u64,
}

impl Deadlines {
    /// Used when a mechanism has no deadline clause: 1 min to commit, 24 h to deliver, 1 h to
    /// settle.
    pub const DEFAULT: Deadlines = Deadlines {
        commit_ms: 60_000,
        execute_ms: 24 * 3_600_000,
        settle_ms: 3_600_000,
    };
}

#[cfg(test)]
mod tests;
