//! Designers: who revises a mechanism, and the built-in deterministic one.
//!
//! The [`MechanismLoop`](crate::stackelberg::MechanismLoop) asks a [`Designer`] for a revision
//! each iteration. A designer either answers at once ([`Proposal::Ready`]) or asks the host for
//! an LLM completion ([`Proposal::Ask`]) and answers when it arrives ([`Designer::answer`]).
//! Two ship here: [`BuiltInDesigner`] (below) and the LLM designer
//! ([`LlmDesigner`](crate::llm::LlmDesigner)).
//!
//! # The built-in designer: attribution by counterfactual clause change
//! The mechanism's parameters are seven [`Knob`]s, each belonging to one clause: the flat and
//! bonus payments (payment clause), the quality threshold, the deposit, the slashing ratio,
//! the verification tier and the execution deadline. Each knob has a step size.
//!
//! 1. **Counterfactuals.** Every knob is moved one step up and one step down, and every pair
//!    of knobs is moved together in all four sign combinations (some clauses only act
//!    together: a deposit without a slashing ratio, or a ratio without a deposit, changes
//!    nothing). Each candidate is evaluated on the whole scenario suite.
//! 2. **Attribution** (the numeric form of the paper's semantic gradient). A clause's *blame*
//!    is the largest drop in total violation (Σ over scenarios of IC + IR) that a single-knob
//!    change of that clause achieves; when nothing is violated, the largest drop in system
//!    loss. The blamed clause is the one with the most blame; [`ClauseBlame`] also carries the
//!    IC, IR and loss changes of that clause's best move.
//! 3. **Revision.** The candidate with the lowest objective
//!    ([`SuiteReport::objective`]) among those that regress on no scenario is proposed. The
//!    step of every knob it moved grows by half (an accepted move suggests a longer stride).
//!    When no candidate improves, every step halves and the search repeats within the same
//!    iteration (evaluations are cheap; loop iterations are not) until a step improves or
//!    every step is at its floor; then the best candidate is proposed once (the loop refuses
//!    it, and the trace shows why) and after that [`Proposal::Exhausted`]. A new scenario in
//!    the suite restarts the steps.

use std::fmt;

use crate::evaluate::{Scenario, SuiteReport};
use crate::mechanism::{
    Clause, ClauseKind, MAX_DEADLINE_MS, Mechanism, MechanismError, Tier, fraction, micros, ppm,
    units,
};

/// What a designer sees each iteration.
#[derive(Clone, Copy, Debug)]
pub struct DesignContext<'a> {
    /// 1-based iteration number.
    pub iteration: u32,
    /// The mechanism in force.
    pub incumbent: &'a Mechanism,
    /// Its evaluation on `suite`.
    pub report: &'a SuiteReport,
    /// Every scenario seen so far.
    pub suite: &'a [Scenario],
    /// Weight of violations against system loss in the objective.
    pub violation_weight: f64,
}

/// How much one clause is to blame for the violations.
#[derive(Clone, Debug, PartialEq)]
pub struct ClauseBlame {
    /// The clause.
    pub clause: ClauseKind,
    /// Blame, ≥ 0 (built-in: violation drop of the clause's best move; LLM: its weight).
    pub weight: f64,
    /// IC change of the clause's best single move (built-in only, else 0).
    pub ic_delta: f64,
    /// IR change of that move.
    pub ir_delta: f64,
    /// System-loss change of that move.
    pub loss_delta: f64,
    /// Why, in words.
    pub reason: String,
}

/// A proposed revision.
#[derive(Clone, Debug, PartialEq)]
pub struct Revision {
    /// The candidate mechanism (a revision of the incumbent; not yet validated).
    pub mechanism: Mechanism,
    /// Blame per clause, largest first.
    pub blame: Vec<ClauseBlame>,
    /// The designer's reasoning, for traces.
    pub rationale: String,
}

impl Revision {
    /// The most-blamed clause.
    pub fn blamed_clause(&self) -> Option<ClauseKind> {
        self.blame.first().map(|b| b.clause)
    }
}

/// A prompt the loop hands to the host's language model.
#[derive(Clone, Debug, PartialEq)]
pub struct LlmPrompt {
    /// Instructions (the "system" message).
    pub system: String,
    /// The request (the "user" message).
    pub user: String,
    /// The JSON schema the answer must follow (also quoted inside `user`).
    pub schema: String,
    /// The template version that produced it.
    pub template: &'static str,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
}

/// A designer's reply to [`Designer::propose`].
#[derive(Clone, Debug, PartialEq)]
pub enum Proposal {
    /// A revision, now.
    Ready(Revision),
    /// Complete this prompt and pass the text to [`Designer::answer`].
    Ask(LlmPrompt),
    /// Nothing left to try.
    Exhausted,
}

/// Why a designer's answer was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum DesignError {
    /// [`Designer::answer`] without a pending question.
    #[error("no question is pending")]
    NotAsked,
    /// The answer is larger than accepted.
    #[error("answer of {len} bytes exceeds {max}")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The answer holds no JSON object.
    #[error("answer is not JSON: {0}")]
    NotJson(String),
    /// The JSON does not follow the schema.
    #[error("answer does not follow the schema: {0}")]
    Schema(String),
    /// A value is outside its range.
    #[error("{clause}.{field} = {value} is out of range")]
    OutOfRange {
        /// The clause.
        clause: String,
        /// The field.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// The revised mechanism breaks a mechanism rule.
    #[error("revised mechanism is invalid: {0}")]
    Invalid(#[from] MechanismError),
    /// The model could not be reached or gave nothing (reported by the host).
    #[error("language model failed: {0}")]
    Model(String),
    /// The model did not answer in time.
    #[error("language model timed out")]
    Timeout,
}

/// Revises mechanisms. See the module docs. Designers are `Send`, so an agent that owns a
/// mechanism loop can be driven from any thread.
pub trait Designer: fmt::Debug + Send {
    /// A short name for traces (`builtin`, `llm`).
    fn name(&self) -> &'static str;

    /// Start a revision of `ctx.incumbent`.
    fn propose(&mut self, ctx: &DesignContext<'_>) -> Proposal;

    /// The language model's answer to the last [`Proposal::Ask`].
    fn answer(&mut self, ctx: &DesignContext<'_>, text: &str) -> Result<Revision, DesignError> {
        let _ = (ctx, text);
        Err(DesignError::NotAsked)
    }

    /// Whether the loop accepted the last revision.
    fn observe(&mut self, accepted: bool) {
        let _ = accepted;
    }
}

/// One tunable parameter of a mechanism.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Knob {
    /// Payment clause, `flat`, units, `0..=budget`.
    Flat,
    /// Payment clause, `bonus`, units, `0..=budget`.
    Bonus,
    /// Quality threshold, fraction, `0..=1`.
    Threshold,
    /// Deposit, units, `0..=4 × budget`.
    Deposit,
    /// Slashing ratio, fraction, `0..=1`.
    Slashing,
    /// Verification tier, `1..=3`, steps of 1.
    Tier,
    /// Execution deadline, log₂ hours, `0.25 h..=720 h`.
    Execute,
}

impl Knob {
    /// Every knob.
    pub const ALL: [Knob; 7] = [
        Knob::Flat,
        Knob::Bonus,
        Knob::Threshold,
        Knob::Deposit,
        Knob::Slashing,
        Knob::Tier,
        Knob::Execute,
    ];

    /// The clause the knob belongs to.
    pub fn clause(self) -> ClauseKind {
        match self {
            Knob::Flat | Knob::Bonus => ClauseKind::Payment,
            Knob::Threshold => ClauseKind::QualityThreshold,
            Knob::Deposit => ClauseKind::Deposit,
            Knob::Slashing => ClauseKind::Slashing,
            Knob::Tier => ClauseKind::Verification,
            Knob::Execute => ClauseKind::Deadlines,
        }
    }

    fn initial_step(self, budget: f64) -> f64 {
        match self {
            Knob::Flat | Knob::Bonus => budget / 8.0,
            Knob::Deposit => budget / 4.0,
            Knob::Threshold => 0.1,
            Knob::Slashing => 0.25,
            Knob::Tier | Knob::Execute => 1.0,
        }
    }

    fn min_step(self, budget: f64) -> f64 {
        match self {
            Knob::Flat | Knob::Bonus | Knob::Deposit => (budget / 256.0).max(1e-6),
            Knob::Threshold => 0.005,
            Knob::Slashing => 0.02,
            Knob::Tier => 1.0,
            Knob::Execute => 0.05,
        }
    }

    fn range(self, budget: f64) -> (f64, f64) {
        match self {
            Knob::Flat | Knob::Bonus => (0.0, budget),
            Knob::Deposit => (0.0, 4.0 * budget),
            Knob::Threshold | Knob::Slashing => (0.0, 1.0),
            Knob::Tier => (1.0, 3.0),
            Knob::Execute => (
                (0.25f64).log2(),
                (MAX_DEADLINE_MS as f64 / 3_600_000.0).log2(),
            ),
        }
    }

    /// The knob's value in `m` (in the units of its variant docs).
    pub fn get(self, m: &Mechanism) -> f64 {
        let (flat, bonus) = m.payment().unwrap_or((0, 0));
        match self {
            Knob::Flat => units(flat),
            Knob::Bonus => units(bonus),
            Knob::Threshold => fraction(m.min_score()),
            Knob::Deposit => units(m.deposit()),
            Knob::Slashing => fraction(m.slashing_ratio()),
            Knob::Tier => f64::from(u8::from(m.tier())),
            Knob::Execute => (m.deadlines().execute_ms as f64 / 3_600_000.0).log2(),
        }
    }

    /// `m` with the knob set to `x` (clamped to its range; the clause is added if missing).
    pub fn set(self, m: &mut Mechanism, x: f64) {
        let (lo, hi) = self.range(units(m.budget));
        let x = x.clamp(lo, hi);
        let (flat, bonus) = m.payment().unwrap_or((0, 0));
        let money = |u: f64| micros(u).unwrap_or(0);
        let clause = match self {
            Knob::Flat => Clause::Payment {
                flat: money(x),
                bonus,
            },
            Knob::Bonus => Clause::Payment {
                flat,
                bonus: money(x),
            },
            Knob::Threshold => Clause::QualityThreshold {
                min_score: ppm(x).unwrap_or(0),
            },
            Knob::Deposit => Clause::Deposit { amount: money(x) },
            Knob::Slashing => Clause::Slashing {
                ratio: ppm(x).unwrap_or(0),
            },
            Knob::Tier => Clause::Verification {
                tier: Tier::from_number(x.round() as u8).unwrap_or(Tier::Reputation),
            },
            Knob::Execute => {
                let d = m.deadlines();
                // Whole minutes: deadlines people can read.
                let ms = ((x.exp2() * 60.0).round() as u64).max(1) * 60_000;
                Clause::Deadlines {
                    commit_ms: d.commit_ms,
                    execute_ms: ms.clamp(1, MAX_DEADLINE_MS),
                    settle_ms: d.settle_ms,
                }
            }
        };
        m.set(clause);
    }
}

/// The deterministic designer of the module docs.
#[derive(Clone, Debug, Default)]
pub struct BuiltInDesigner {
    /// Step per knob; set from the budget on first use.
    steps: Vec<(Knob, f64)>,
    /// The budget the steps were sized for, units.
    budget: f64,
    /// Knobs moved by the last improving proposal.
    last_moved: Vec<Knob>,
    /// Whether the search already came up empty at the step floor.
    exhausted: bool,
    /// Suite size the steps were adapted to; a new scenario restarts the search.
    suite_len: usize,
}

struct Candidate {
    mechanism: Mechanism,
    moved: Vec<Knob>,
    report: SuiteReport,
    objective: f64,
    no_regression: bool,
}

impl BuiltInDesigner {
    /// A designer with initial step sizes.
    pub fn new() -> Self {
        Self::default()
    }

    /// The step of `k`, sizing every step from `budget` when it changed (a new mechanism
    /// class).
    fn step(&mut self, k: Knob, budget: f64) -> f64 {
        if self.steps.is_empty() || self.budget != budget {
            self.budget = budget;
            self.steps = Knob::ALL
                .iter()
                .map(|&k| (k, k.initial_step(budget)))
                .collect();
        }
        self.steps
            .iter()
            .find(|(x, _)| *x == k)
            .map_or(k.initial_step(budget), |s| s.1)
    }

    /// Multiply the steps of `knobs` by `factor`, within `[min_step, 4 × initial_step]`.
    fn scale_steps(&mut self, knobs: &[Knob], factor: f64) {
        let budget = self.budget;
        for (k, s) in &mut self.steps {
            if knobs.contains(k) {
                *s = (*s * factor)
                    .max(k.min_step(budget))
                    .min(4.0 * k.initial_step(budget));
            }
        }
    }

    fn at_floor(&self) -> bool {
        !self.steps.is_empty()
            && self
                .steps
                .iter()
                .all(|(k, s)| *s <= k.min_step(self.budget) + 1e-12)
    }

    /// The mechanism moved by `moves` (knob, signed step); `None` if nothing changed or the
    /// result is invalid.
    fn moved(base: &Mechanism, moves: &[(Knob, f64)]) -> Option<Mechanism> {
        let mut m = base.revise(base.clauses.clone());
        for &(k, d) in moves {
            let x = k.get(&m);
            k.set(&mut m, x + d);
        }
        let same = moves.iter().all(|&(k, _)| k.get(&m) == k.get(base));
        (!same && m.validate().is_ok()).then_some(m)
    }

    fn candidates(&mut self, ctx: &DesignContext<'_>) -> (Vec<Candidate>, usize) {
        let budget = units(ctx.incumbent.budget);
        let steps: Vec<(Knob, f64)> = Knob::ALL
            .iter()
            .map(|&k| (k, self.step(k, budget)))
            .collect();
        let mut moves: Vec<Vec<(Knob, f64)>> = Vec::new();
        for &(k, s) in &steps {
            moves.push(vec![(k, s)]);
            moves.push(vec![(k, -s)]);
        }
        let singles = moves.len();
        for (i, &(a, sa)) in steps.iter().enumerate() {
            for &(b, sb) in &steps[i + 1..] {
                for (da, db) in [(sa, sb), (sa, -sb), (-sa, sb), (-sa, -sb)] {
                    moves.push(vec![(a, da), (b, db)]);
                }
            }
        }
        let mut out = Vec::new();
        let mut valid_singles = 0;
        for (i, mv) in moves.iter().enumerate() {
            let Some(m) = Self::moved(ctx.incumbent, mv) else {
                continue;
            };
            if i < singles {
                valid_singles += 1;
            }
            let report = SuiteReport::new(&m, ctx.suite);
            let objective = report.objective(ctx.violation_weight);
            let no_regression = report.regression_pass_rate(ctx.report) >= 1.0;
            out.push(Candidate {
                mechanism: m,
                moved: mv.iter().map(|x| x.0).collect(),
                report,
                objective,
                no_regression,
            });
        }
        (out, valid_singles)
    }

    /// Blame per clause from the single-knob candidates (module docs).
    fn attribute(ctx: &DesignContext<'_>, singles: &[Candidate]) -> Vec<ClauseBlame> {
        let total_violation = |r: &SuiteReport| {
            r.scenarios
                .iter()
                .map(|s| s.metrics.violation())
                .sum::<f64>()
        };
        let mean_loss = |r: &SuiteReport| r.metrics.system_loss;
        let base_v = total_violation(ctx.report);
        let base_l = mean_loss(ctx.report);
        let mut blame: Vec<ClauseBlame> = Vec::new();
        for c in singles {
            let clause = c.moved[0].clause();
            let gain = if base_v > 0.0 {
                base_v - total_violation(&c.report)
            } else {
                base_l - mean_loss(&c.report)
            };
            let entry = ClauseBlame {
                clause,
                weight: gain.max(0.0),
                ic_delta: c.report.metrics.ic_violation - ctx.report.metrics.ic_violation,
                ir_delta: c.report.metrics.ir_violation - ctx.report.metrics.ir_violation,
                loss_delta: c.report.metrics.system_loss - ctx.report.metrics.system_loss,
                reason: format!(
                    "moving {:?} from {:.4} to {:.4} changes the {} by {:+.4}",
                    c.moved[0],
                    c.moved[0].get(ctx.incumbent),
                    c.moved[0].get(&c.mechanism),
                    if base_v > 0.0 {
                        "total violation"
                    } else {
                        "system loss"
                    },
                    -gain
                ),
            };
            match blame.iter_mut().find(|b| b.clause == clause) {
                Some(b) if b.weight >= entry.weight => {}
                Some(b) => *b = entry,
                None => blame.push(entry),
            }
        }
        blame.sort_by(|a, b| {
            b.weight
                .partial_cmp(&a.weight)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.clause.cmp(&b.clause))
        });
        blame
    }
}

impl Designer for BuiltInDesigner {
    fn name(&self) -> &'static str {
        "builtin"
    }

    fn propose(&mut self, ctx: &DesignContext<'_>) -> Proposal {
        if ctx.suite.len() != self.suite_len {
            // New scenarios: what the step sizes learned may no longer hold.
            self.suite_len = ctx.suite.len();
            self.steps.clear();
            self.exhausted = false;
        }
        let base = ctx.report.objective(ctx.violation_weight);
        // Search, halving every step while nothing improves, until a step improves or every
        // step is at its floor; evaluations are cheap, loop iterations are not.
        let (candidates, blame, pick) = loop {
            // Single-knob candidates come first.
            let (candidates, singles) = self.candidates(ctx);
            let blame = Self::attribute(ctx, &candidates[..singles]);
            let pick = candidates
                .iter()
                .enumerate()
                .filter(|(_, c)| c.no_regression && c.objective < base - 1e-12)
                .min_by(|a, b| a.1.objective.total_cmp(&b.1.objective))
                .map(|(i, _)| i);
            if pick.is_some() || self.at_floor() {
                break (candidates, blame, pick);
            }
            self.scale_steps(&Knob::ALL, 0.5);
        };
        let (chosen, improving) = match pick {
            Some(i) => (&candidates[i], true),
            // At the floor with nothing better: propose the best refusal-bound candidate once
            // more so the trace shows why, or stop.
            None => match candidates
                .iter()
                .min_by(|a, b| a.objective.total_cmp(&b.objective))
            {
                Some(c) if !self.exhausted => {
                    self.exhausted = true;
                    (c, false)
                }
                _ => return Proposal::Exhausted,
            },
        };
        self.last_moved = if improving {
            chosen.moved.clone()
        } else {
            Vec::new()
        };
        let rationale = format!(
            "{} {}: objective {:.4} → {:.4}",
            if improving {
                "step"
            } else {
                "no improving step; trying"
            },
            chosen
                .moved
                .iter()
                .map(|k| format!(
                    "{k:?} {:.4}→{:.4}",
                    k.get(ctx.incumbent),
                    k.get(&chosen.mechanism)
                ))
                .collect::<Vec<_>>()
                .join(", "),
            base,
            chosen.objective
        );
        Proposal::Ready(Revision {
            mechanism: chosen.mechanism.clone(),
            blame,
            rationale,
        })
    }

    fn observe(&mut self, accepted: bool) {
        let (knobs, factor) = if accepted {
            self.exhausted = false;
            (std::mem::take(&mut self.last_moved), 1.5)
        } else {
            (Knob::ALL.to_vec(), 0.5)
        };
        self.scale_steps(&knobs, factor);
    }
}
