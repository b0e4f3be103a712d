//! The Stackelberg mechanism-generation loop, as a sans-IO engine.
//!
//! The leader moves first by publishing a mechanism; followers best-respond to it. The loop
//! repeats, within an iteration budget:
//!
//! ```text
//! propose ─▶ followers best-respond (every scenario seen so far) ─▶ evaluate
//!    ▲                                                                 │
//!    └── accept only if nothing regresses ◀── revise ◀── attribute violations to clauses
//! ```
//!
//! Each iteration evaluates the incumbent on the suite, asks the [`Designer`] for a revision,
//! evaluates the candidate, and accepts it only if it is a valid mechanism, regresses on no
//! scenario ([`SuiteReport::regression_pass_rate`] = 1) and lowers the objective
//! ([`SuiteReport::objective`]). So every accepted mechanism has regression pass rate 1.0.
//!
//! # Driving it
//! The loop has the shape of every agentnet engine (see [`agentnet_core::engine`]), minus
//! frames: inputs are [`handle_timeout`](MechanismLoop::handle_timeout) and the completions of
//! its LLM requests; [`add_scenario`](MechanismLoop::add_scenario) is its one command; outputs
//! are [`poll_event`](MechanismLoop::poll_event) and
//! [`poll_timeout`](MechanismLoop::poll_timeout). There is no `step` method: the next
//! iteration is a deadline like any other. After an iteration ends, the loop asks for
//! `handle_timeout` at `end + `[`LoopConfig::iteration_interval`] (at once with the default
//! interval of zero); `handle_timeout(now)` at or after that deadline runs exactly one
//! iteration. So a host drives it with the same timer it arms for every other engine, the
//! simulator can run it in virtual time, and an `Agent` that owns it needs no special case.
//! One iteration per call keeps each call bounded (an iteration evaluates the whole suite)
//! and lets the host add scenarios between iterations.
//!
//! `poll_timeout` returns, in order of precedence: the deadline of the outstanding LLM
//! request; nothing when the loop is finished or has no scenario yet (nothing to do until
//! [`add_scenario`](MechanismLoop::add_scenario)); otherwise when the next iteration is due.
//! Early, late and spurious `handle_timeout` calls are harmless: the loop acts only on a
//! deadline that has passed.
//!
//! # LLM designers as effects
//! When the designer asks for a completion, the engine emits [`LoopEvent::LlmRequest`] with a
//! request id, the prompt and an absolute deadline, and waits. The host completes the prompt
//! with its language model and calls [`MechanismLoop::handle_llm_response`] (or
//! [`MechanismLoop::handle_llm_failure`]); a deadline that passes is noticed in
//! [`MechanismLoop::handle_timeout`]. A malformed or invalid answer, a model failure or a
//! timeout is reported ([`LoopEvent::LlmRefused`]) and retried up to
//! [`LoopConfig::max_llm_retries`] times; after that the iteration falls back to the built-in
//! designer. Answers to stale request ids are refused with a typed error and change nothing.
//!
//! # Drive loop
//! ```
//! use agentnet_core::{AgentId, Instant, Now, WallTime};
//! use agentnet_mech::design::BuiltInDesigner;
//! use agentnet_mech::evaluate::Scenario;
//! use agentnet_mech::follower::{Environment, FollowerType};
//! use agentnet_mech::mechanism::{Clause, Mechanism, UNIT};
//! use agentnet_mech::stackelberg::{LoopConfig, LoopEvent, MechanismLoop};
//!
//! let naive = Mechanism::new(AgentId::from_bytes([1; 32]), "review", 80 * UNIT,
//!     [Clause::Payment { flat: 60 * UNIT, bonus: 0 }]);
//! let mut lp = MechanismLoop::new(LoopConfig::default(), naive, Box::new(BuiltInDesigner::new()))?;
//! lp.add_scenario(Scenario {
//!     name: "mixed".into(),
//!     population: vec![FollowerType::honest(0.5), FollowerType::lazy(0.3), FollowerType::adversarial(0.2)],
//!     env: Environment::default(),
//! })?;
//! let mut now = Now::new(Instant::from_millis(0), WallTime::from_unix_millis(0));
//! // `None` once the loop has finished: nothing left to do until a new scenario arrives.
//! while let Some(deadline) = lp.poll_timeout() {
//!     // A host arms a timer; here virtual time jumps to the deadline.
//!     if deadline > now.mono {
//!         now = now.advance(deadline - now.mono);
//!     }
//!     lp.handle_timeout(now);
//!     while let Some(ev) = lp.poll_event() {
//!         match ev {
//!             LoopEvent::LlmRequest { .. } => unreachable!("the built-in designer never asks"),
//!             LoopEvent::Iteration(rec) => println!("{} accepted={}", rec.iteration, rec.accepted),
//!             _ => {}
//!         }
//!     }
//! }
//! assert!(lp.is_finished() && lp.report().metrics.passes());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use agentnet_core::config::{ConfigError, check_range};
use agentnet_core::{BoundedQueue, Instant, Now, Overflow};

use crate::design::{
    BuiltInDesigner, ClauseBlame, DesignContext, DesignError, Designer, LlmPrompt, Proposal,
    Revision,
};
use crate::evaluate::{Metrics, Scenario, SuiteReport};
use crate::mechanism::{ClauseKind, Mechanism, MechanismError};

/// Loop settings.
#[derive(Clone, Debug, PartialEq)]
pub struct LoopConfig {
    /// Iteration budget. Default 20; range 1..=10 000.
    pub max_iterations: u32,
    /// Weight of violations (IC + IR, in task values) against system loss in the objective.
    /// Default 10; range 1e-9..=1e9.
    pub violation_weight: f64,
    /// Extra attempts after a refused LLM answer before falling back to the built-in
    /// designer. Default 2; range 0..=10.
    pub max_llm_retries: u32,
    /// How long the host may take to answer an LLM request. Default 120 s; range 1 ms..=1 day.
    pub llm_timeout: Duration,
    /// Pause between the end of one iteration and the start of the next (the next iteration
    /// is a deadline [`MechanismLoop::poll_timeout`] returns). Default zero: back to back, as
    /// fast as the host calls [`MechanismLoop::handle_timeout`]. A leader that improves its
    /// rules in the background while serving tasks sets a pause so the loop does not compete
    /// with the work it governs.
    pub iteration_interval: Duration,
    /// Most scenarios in the suite. Default 64; range 1..=4096.
    pub max_scenarios: usize,
    /// Most undrained events; the oldest are dropped beyond it and reported by
    /// [`LoopEvent::Overflow`]. Default 1024; range 1..=1 000 000.
    pub max_events: usize,
}

impl LoopConfig {
    /// Check every field against its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "max_iterations",
            self.max_iterations,
            1..=10_000,
            "1..=10000",
        )?;
        check_range(
            "violation_weight",
            self.violation_weight,
            1e-9..=1e9,
            "1e-9..=1e9",
        )?;
        check_range("max_llm_retries", self.max_llm_retries, 0..=10, "0..=10")?;
        check_range(
            "llm_timeout",
            self.llm_timeout,
            Duration::from_millis(1)..=Duration::from_secs(86_400),
            "1 ms..=1 day",
        )?;
        check_range("max_scenarios", self.max_scenarios, 1..=4096, "1..=4096")?;
        check_range("max_events", self.max_events, 1..=1_000_000, "1..=1000000")
    }
}

impl Default for LoopConfig {
    fn default() -> Self {
        LoopConfig {
            max_iterations: 20,
            violation_weight: 10.0,
            max_llm_retries: 2,
            llm_timeout: Duration::from_secs(120),
            iteration_interval: Duration::ZERO,
            max_scenarios: 64,
            max_events: 1024,
        }
    }
}

/// Why the loop refused a command.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum LoopError {
    /// The initial mechanism is invalid.
    #[error("initial mechanism is invalid: {0}")]
    Invalid(#[from] MechanismError),
    /// A config value is outside its range.
    #[error("config: {0}")]
    Config(#[from] ConfigError),
    /// The suite is full.
    #[error("suite holds {0} scenarios already")]
    SuiteFull(usize),
    /// An LLM answer or failure for a request that is not outstanding (stale or unknown).
    #[error("LLM request {0} is not outstanding")]
    UnknownRequest(u64),
}

/// Which designer produced a candidate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DesignedBy {
    /// The configured designer.
    Designer(&'static str),
    /// The built-in designer, after the LLM's answers were refused.
    Fallback,
}

impl DesignedBy {
    /// A name for traces.
    pub fn name(self) -> &'static str {
        match self {
            DesignedBy::Designer(n) => n,
            DesignedBy::Fallback => "builtin-fallback",
        }
    }
}

/// One iteration, as recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct IterationRecord {
    /// 1-based.
    pub iteration: u32,
    /// Scenarios in the suite during the iteration.
    pub scenarios: usize,
    /// Who proposed the candidate.
    pub designed_by: DesignedBy,
    /// The candidate's id, when a valid candidate was evaluated.
    pub candidate: Option<agentnet_core::Hash>,
    /// The candidate's metrics on the suite (the incumbent's when there was no valid one).
    pub metrics: Metrics,
    /// The candidate's regression pass rate against the incumbent.
    pub regression_pass_rate: f64,
    /// Whether it became the incumbent.
    pub accepted: bool,
    /// The most-blamed clause.
    pub blamed_clause: Option<ClauseKind>,
    /// Blame per clause.
    pub blame: Vec<ClauseBlame>,
    /// The incumbent's metrics before the iteration.
    pub before: Metrics,
    /// The incumbent's metrics after it.
    pub after: Metrics,
    /// LLM answers refused during the iteration.
    pub llm_refusals: u32,
    /// Why the candidate was refused, if it was.
    pub refusal: Option<String>,
    /// The designer's reasoning.
    pub rationale: String,
}

/// What the loop reports.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum LoopEvent {
    /// Complete `prompt` and call [`MechanismLoop::handle_llm_response`] with `id` before
    /// `deadline`.
    LlmRequest {
        /// Request id (never reused).
        id: u64,
        /// What to ask.
        prompt: LlmPrompt,
        /// Absolute deadline.
        deadline: Instant,
    },
    /// An LLM answer (or failure) was refused; the loop retries or falls back.
    LlmRefused {
        /// The request.
        id: u64,
        /// Why.
        error: DesignError,
        /// Whether the loop now falls back to the built-in designer.
        fallback: bool,
    },
    /// An iteration ended.
    Iteration(Box<IterationRecord>),
    /// A new incumbent (publish it, signed, to followers).
    Accepted(Box<Mechanism>),
    /// The loop ended: budget spent, or the designer has nothing left to try.
    Finished {
        /// Iterations run.
        iterations: u32,
        /// Whether the incumbent passes every scenario (IC = IR = 0).
        passes: bool,
    },
    /// Events were dropped because nobody drained them (`queue: "events"`), since the last
    /// report.
    Overflow(Overflow),
}

#[derive(Debug)]
struct Pending {
    id: u64,
    deadline: Instant,
    refusals: u32,
}

/// The loop engine. See the module docs.
#[derive(Debug)]
pub struct MechanismLoop {
    config: LoopConfig,
    incumbent: Mechanism,
    report: SuiteReport,
    suite: Vec<Scenario>,
    designer: Box<dyn Designer>,
    fallback: BuiltInDesigner,
    iteration: u32,
    finished: bool,
    /// When the next iteration is due (if not finished, not waiting, and the suite is not
    /// empty).
    next_at: Instant,
    pending: Option<Pending>,
    next_request: u64,
    events: BoundedQueue<LoopEvent>,
    history: Vec<IterationRecord>,
}

impl MechanismLoop {
    /// A loop starting from `initial` (validated) with `designer`. Its first iteration is due
    /// as soon as it has a scenario.
    pub fn new(
        config: LoopConfig,
        initial: Mechanism,
        designer: Box<dyn Designer>,
    ) -> Result<Self, LoopError> {
        config.validate()?;
        initial.validate()?;
        Ok(MechanismLoop {
            report: SuiteReport::new(&initial, &[]),
            incumbent: initial,
            suite: Vec::new(),
            designer,
            fallback: BuiltInDesigner::new(),
            iteration: 0,
            finished: false,
            next_at: Instant::ZERO,
            pending: None,
            next_request: 1,
            events: BoundedQueue::new("events", config.max_events),
            history: Vec::new(),
            config,
        })
    }

    /// Add a scenario to the suite (it counts from the next evaluation on). A finished loop
    /// with iterations left in its budget resumes: its next iteration is due an interval
    /// after the last one ended, which is usually at once.
    pub fn add_scenario(&mut self, scenario: Scenario) -> Result<(), LoopError> {
        if self.suite.len() >= self.config.max_scenarios {
            return Err(LoopError::SuiteFull(self.suite.len()));
        }
        self.suite.push(scenario);
        self.report = SuiteReport::new(&self.incumbent, &self.suite);
        // New evidence can make a finished loop worth resuming.
        if self.finished && self.iteration < self.config.max_iterations {
            self.finished = false;
        }
        Ok(())
    }

    /// Run the next iteration (or start it, when the designer asks an LLM). Only called
    /// from `handle_timeout`, when nothing is outstanding and the iteration is due.
    fn iterate(&mut self, now: Now) {
        if self.iteration >= self.config.max_iterations {
            self.finish();
            return;
        }
        // `self.report` is current: `add_scenario` and every acceptance keep it so.
        self.iteration += 1;
        let proposal = self.with_designer(false, |d, ctx| d.propose(ctx));
        match proposal {
            Proposal::Ready(rev) => self.conclude(now, Ok(rev), self.designer_name(), 0),
            Proposal::Ask(prompt) => self.ask(now, prompt, 0),
            Proposal::Exhausted => {
                self.iteration -= 1;
                self.finish();
            }
        }
    }

    /// The host's language model answered request `id` with `text`.
    pub fn handle_llm_response(&mut self, now: Now, id: u64, text: &str) -> Result<(), LoopError> {
        let pending = self.take_pending(id)?;
        let result = self.with_designer(false, |d, ctx| d.answer(ctx, text));
        match result {
            Ok(rev) => {
                self.conclude(now, Ok(rev), self.designer_name(), pending.refusals);
            }
            Err(e) => self.refused(now, pending, e),
        }
        Ok(())
    }

    /// The host could not get an answer to request `id` (transport error, refusal).
    pub fn handle_llm_failure(&mut self, now: Now, id: u64, reason: &str) -> Result<(), LoopError> {
        let pending = self.take_pending(id)?;
        self.refused(now, pending, DesignError::Model(reason.to_string()));
        Ok(())
    }

    /// Time passed. An outstanding LLM request past its deadline counts as refused (and is
    /// retried or falls back); otherwise, when the next iteration is due, it runs (one per
    /// call). Does nothing before the deadline [`poll_timeout`](Self::poll_timeout) returned.
    pub fn handle_timeout(&mut self, now: Now) {
        if let Some(p) = &self.pending {
            if now.mono >= p.deadline {
                let p = self.pending.take().expect("checked");
                self.refused(now, p, DesignError::Timeout);
            }
            return;
        }
        if self.finished || self.suite.is_empty() || now.mono < self.next_at {
            return;
        }
        self.iterate(now);
    }

    /// When the loop next wants [`handle_timeout`](Self::handle_timeout): the outstanding LLM
    /// request's deadline; else, unless the loop is finished or has no scenario, when the
    /// next iteration is due. `None` means nothing will happen until an input or command.
    #[must_use = "a loop whose deadline is not armed never runs its next iteration"]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if let Some(p) = &self.pending {
            return Some(p.deadline);
        }
        if self.finished || self.suite.is_empty() {
            return None;
        }
        Some(self.next_at)
    }

    /// The next event.
    #[must_use = "a polled event leaves the loop's queue; handle it or it is lost"]
    pub fn poll_event(&mut self) -> Option<LoopEvent> {
        if let Some(o) = self.events.take_overflow() {
            return Some(LoopEvent::Overflow(o));
        }
        self.events.pop()
    }

    /// The mechanism in force.
    pub fn incumbent(&self) -> &Mechanism {
        &self.incumbent
    }

    /// The incumbent's evaluation on the suite.
    pub fn report(&self) -> &SuiteReport {
        &self.report
    }

    /// Every scenario seen so far.
    pub fn suite(&self) -> &[Scenario] {
        &self.suite
    }

    /// Every iteration so far.
    pub fn history(&self) -> &[IterationRecord] {
        &self.history
    }

    /// Whether the loop has ended (budget spent or nothing left to try). A finished loop
    /// returns no deadline; [`add_scenario`](Self::add_scenario) may resume it.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    fn designer_name(&self) -> DesignedBy {
        DesignedBy::Designer(self.designer.name())
    }

    /// Call `f` with the configured designer (or the built-in fallback) and the context.
    fn with_designer<R>(
        &mut self,
        fallback: bool,
        f: impl FnOnce(&mut dyn Designer, &DesignContext<'_>) -> R,
    ) -> R {
        let ctx = DesignContext {
            iteration: self.iteration,
            incumbent: &self.incumbent,
            report: &self.report,
            suite: &self.suite,
            violation_weight: self.config.violation_weight,
        };
        if fallback {
            f(&mut self.fallback, &ctx)
        } else {
            f(self.designer.as_mut(), &ctx)
        }
    }

    fn take_pending(&mut self, id: u64) -> Result<Pending, LoopError> {
        match &self.pending {
            Some(p) if p.id == id => Ok(self.pending.take().expect("checked")),
            _ => Err(LoopError::UnknownRequest(id)),
        }
    }

    fn ask(&mut self, now: Now, prompt: LlmPrompt, refusals: u32) {
        let id = self.next_request;
        self.next_request += 1;
        let deadline = now.mono.saturating_add(self.config.llm_timeout);
        self.pending = Some(Pending {
            id,
            deadline,
            refusals,
        });
        self.push(LoopEvent::LlmRequest {
            id,
            prompt,
            deadline,
        });
    }

    fn refused(&mut self, now: Now, pending: Pending, error: DesignError) {
        let refusals = pending.refusals + 1;
        let fallback = refusals > self.config.max_llm_retries;
        self.push(LoopEvent::LlmRefused {
            id: pending.id,
            error: error.clone(),
            fallback,
        });
        if fallback {
            let proposal = self.with_designer(true, |d, ctx| d.propose(ctx));
            match proposal {
                Proposal::Ready(rev) => self.conclude(now, Ok(rev), DesignedBy::Fallback, refusals),
                // Neither designer has anything left: the loop ends here.
                _ => {
                    self.conclude(now, Err(error.to_string()), DesignedBy::Fallback, refusals);
                    self.finish();
                }
            }
        } else {
            // Ask again; the designer builds the prompt afresh (it may mention the refusal).
            let proposal = self.with_designer(false, |d, ctx| d.propose(ctx));
            match proposal {
                Proposal::Ask(prompt) => self.ask(now, prompt, refusals),
                Proposal::Ready(rev) => self.conclude(now, Ok(rev), self.designer_name(), refusals),
                Proposal::Exhausted => {
                    self.conclude(now, Err(error.to_string()), self.designer_name(), refusals)
                }
            }
        }
    }

    /// Evaluate the candidate (if any), accept or refuse it, record the iteration, and
    /// schedule the next one.
    fn conclude(
        &mut self,
        now: Now,
        revision: Result<Revision, String>,
        by: DesignedBy,
        refusals: u32,
    ) {
        let before = self.report.metrics;
        let mut rec = IterationRecord {
            iteration: self.iteration,
            scenarios: self.suite.len(),
            designed_by: by,
            candidate: None,
            metrics: before,
            regression_pass_rate: 1.0,
            accepted: false,
            blamed_clause: None,
            blame: Vec::new(),
            before,
            after: before,
            llm_refusals: refusals,
            refusal: None,
            rationale: String::new(),
        };
        match revision {
            Err(reason) => rec.refusal = Some(reason),
            Ok(rev) => {
                rec.blamed_clause = rev.blamed_clause();
                rec.blame = rev.blame;
                rec.rationale = rev.rationale;
                let cand = rev.mechanism;
                match cand.validate() {
                    Err(e) => rec.refusal = Some(format!("invalid: {e}")),
                    Ok(()) => {
                        let report = SuiteReport::new(&cand, &self.suite);
                        let rate = report.regression_pass_rate(&self.report);
                        let better = report.objective(self.config.violation_weight)
                            < self.report.objective(self.config.violation_weight) - 1e-12;
                        rec.candidate = Some(cand.id());
                        rec.metrics = report.metrics;
                        rec.regression_pass_rate = rate;
                        if rate < 1.0 {
                            rec.refusal = Some(format!("regresses (pass rate {rate:.3})"));
                        } else if !better {
                            rec.refusal = Some("does not lower the objective".into());
                        } else {
                            rec.accepted = true;
                            self.incumbent = cand;
                            self.report = report;
                            rec.after = self.report.metrics;
                        }
                    }
                }
            }
        }
        let accepted = rec.accepted;
        match by {
            DesignedBy::Fallback => self.fallback.observe(accepted),
            DesignedBy::Designer(_) => self.designer.observe(accepted),
        }
        self.history.push(rec.clone());
        self.push(LoopEvent::Iteration(Box::new(rec)));
        if accepted {
            self.push(LoopEvent::Accepted(Box::new(self.incumbent.clone())));
        }
        self.next_at = now.mono.saturating_add(self.config.iteration_interval);
        if self.iteration >= self.config.max_iterations {
            self.finish();
        }
    }

    fn finish(&mut self) {
        if !self.finished {
            self.finished = true;
            self.push(LoopEvent::Finished {
                iterations: self.iteration,
                passes: self.report.metrics.passes(),
            });
        }
    }

    fn push(&mut self, e: LoopEvent) {
        self.events.push(e);
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn out_of_range_config_is_refused_by_name() {
        LoopConfig::default().validate().unwrap();
        let e = LoopConfig {
            max_iterations: 0,
            ..LoopConfig::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "max_iterations");
        let e = LoopConfig {
            violation_weight: 0.0,
            ..LoopConfig::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "violation_weight");
        let e = LoopConfig {
            max_events: 0,
            ..LoopConfig::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.to_string(), "max_events = 0 is outside 1..=1000000");
    }
}
