//! A leading agent's Stackelberg mechanism loop: the rules it offers, how settled tasks
//! become the loop's scenarios, and the loop's model calls as [`Effect::Llm`]s.

use std::collections::BTreeMap;

use agentnet_core::{Effect, Now, RequestId, Signed};
use agentnet_mech::mechanism::{Mechanism, Tier};

#[cfg(doc)]
use super::LeaderConfig;
use super::{Agent, AgentError, AgentEvent, Verdict};

/// How a settled real task went, as the leader's loop sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Observed {
    /// Accepted: the provider behaved as an honest follower.
    Honest,
    /// Rejected, timed out or failed a canary: shirking.
    Lazy,
    /// Proven fraud.
    Adversarial,
}

/// A leading agent's mechanism loop and what feeds it.
pub(super) struct Leader {
    pub(super) mloop: agentnet_mech::stackelberg::MechanismLoop,
    pub(super) observed: Vec<Observed>,
    pub(super) per_scenario: usize,
    pub(super) scenarios: u32,
    /// Effect ids of outstanding model calls → the loop's request ids.
    pub(super) llm: BTreeMap<RequestId, u64>,
}

impl Agent {
    /// The language model answered [`Effect::Llm`] `id` (a leading agent's mechanism loop
    /// asked for a revision). A malformed answer is the loop's business: it refuses it with a
    /// typed reason, retries, and falls back to the built-in designer.
    pub fn handle_llm_response(
        &mut self,
        now: Now,
        id: RequestId,
        text: &str,
    ) -> Result<(), AgentError> {
        self.tick(now);
        let (l, loop_id) = self.llm_request(id)?;
        let r = l.mloop.handle_llm_response(now, loop_id, text);
        self.pump(now);
        r.map_err(|e| AgentError::BadRequest(e.to_string()))
    }

    /// The language model failed [`Effect::Llm`] `id`.
    pub fn handle_llm_failure(
        &mut self,
        now: Now,
        id: RequestId,
        why: &str,
    ) -> Result<(), AgentError> {
        self.tick(now);
        let (l, loop_id) = self.llm_request(id)?;
        let r = l.mloop.handle_llm_failure(now, loop_id, why);
        self.pump(now);
        r.map_err(|e| AgentError::BadRequest(e.to_string()))
    }

    fn llm_request(&mut self, id: RequestId) -> Result<(&mut Leader, u64), AgentError> {
        let l = self.leader.as_mut().ok_or(AgentError::UnknownEffect(id))?;
        let loop_id = l.llm.remove(&id).ok_or(AgentError::UnknownEffect(id))?;
        Ok((l, loop_id))
    }

    pub(super) fn on_loop_event(&mut self, e: agentnet_mech::stackelberg::LoopEvent) {
        use agentnet_mech::stackelberg::LoopEvent as L;
        match e {
            L::LlmRequest {
                id: loop_id,
                prompt,
                deadline,
            } => {
                let id = self.next_request_id();
                if let Some(l) = self.leader.as_mut() {
                    l.llm.insert(id, loop_id);
                }
                self.effect(Effect::Llm {
                    id,
                    prompt: agentnet_core::effect::LlmPrompt {
                        system: prompt.system,
                        user: prompt.user,
                        schema: Some(prompt.schema),
                    },
                    deadline,
                });
            }
            L::Accepted(m) => self.event(AgentEvent::RulesRevised {
                clauses: m.clauses.iter().map(|c| c.text()).collect(),
            }),
            L::Overflow(o) => self.engine_overflow("leader", o),
            _ => {}
        }
    }

    /// The rules offered at `tier`: a leader's current mechanism (its verification clause set
    /// to the tier the risk policy chose, deadlines from the terms if it has none), otherwise
    /// the configured terms.
    pub(super) fn mechanism(&self, tier: Tier) -> Result<Signed<Mechanism>, Verdict> {
        let t = &self.config.terms;
        let fixed = Mechanism::new(
            self.me,
            "agentnet-terms",
            t.flat.saturating_add(t.bonus),
            t.clauses(tier),
        );
        let m = match &self.leader {
            None => fixed,
            Some(l) => {
                let mut m = l.mloop.incumbent().clone();
                m.leader = self.me;
                m.set(agentnet_mech::mechanism::Clause::Verification { tier });
                if m.clause(agentnet_mech::mechanism::ClauseKind::Deadlines)
                    .is_none()
                {
                    for c in t.clauses(tier) {
                        if c.kind() == agentnet_mech::mechanism::ClauseKind::Deadlines {
                            m.set(c);
                        }
                    }
                }
                if m.validate().is_ok() { m } else { fixed }
            }
        };
        Signed::sign(&self.keys, m).map_err(|e| Verdict::Failed(e.to_string()))
    }

    /// The mechanism offered to the winner of an auction: the requester's terms with the
    /// award's pay (its flat part as in the terms, at most the pay; the rest the bonus), the
    /// deposit bid, and the promised latency as the execution deadline, so a provider that
    /// promised more speed than it has misses the deadline and is paid nothing
    /// ([`agentnet_mech::auction`]). A leader's loop does not rewrite auction terms.
    pub(super) fn award_mechanism(
        &self,
        tier: Tier,
        a: super::requester::Award,
    ) -> Result<Signed<Mechanism>, Verdict> {
        let t = self.config.terms;
        let flat = t.flat.min(a.pay);
        let terms = super::Terms {
            flat,
            bonus: a.pay - flat,
            deposit: a.deposit,
            execute: core::time::Duration::from_millis(u64::from(a.latency_ms.max(1))),
            ..t
        };
        let m = Mechanism::new(self.me, "agentnet-award", a.pay, terms.clauses(tier));
        Signed::sign(&self.keys, m).map_err(|e| Verdict::Failed(e.to_string()))
    }

    /// A leading agent's mechanism loop (read-only): its suite of observed scenarios, its
    /// iteration history and its incumbent.
    pub fn mechanism_loop(&self) -> Option<&agentnet_mech::stackelberg::MechanismLoop> {
        self.leader.as_ref().map(|l| &l.mloop)
    }

    /// The rules this agent offers now at tier 1 (a leader's loop incumbent, or the terms).
    pub fn current_mechanism(&self) -> Mechanism {
        match self.mechanism(Tier::Reputation) {
            Ok(m) => m.into_value(),
            Err(_) => Mechanism::new(self.me, "agentnet-terms", 0, []),
        }
    }

    /// A leader records how a settled real task went; every
    /// [`LeaderConfig::outcomes_per_scenario`] outcomes become one scenario of its loop.
    pub(super) fn observe(&mut self, verdict: &Verdict) {
        let Some(l) = self.leader.as_mut() else {
            return;
        };
        let o = match verdict {
            Verdict::Accepted => Observed::Honest,
            Verdict::Fraud => Observed::Adversarial,
            Verdict::CanaryFailed
            | Verdict::Rejected
            | Verdict::EvidenceRejected
            | Verdict::TimedOut(_) => Observed::Lazy,
            _ => return,
        };
        l.observed.push(o);
        if l.observed.len() < l.per_scenario {
            return;
        }
        let seen = core::mem::take(&mut l.observed);
        let share =
            |k: Observed| seen.iter().filter(|o| **o == k).count() as f64 / seen.len() as f64;
        use agentnet_mech::follower::FollowerType;
        let population: Vec<FollowerType> = [
            (
                share(Observed::Honest),
                FollowerType::honest as fn(f64) -> FollowerType,
            ),
            (share(Observed::Lazy), FollowerType::lazy),
            (share(Observed::Adversarial), FollowerType::adversarial),
        ]
        .into_iter()
        .filter(|(s, _)| *s > 0.0)
        .map(|(s, make)| make(s))
        .collect();
        l.scenarios += 1;
        let scenario = agentnet_mech::evaluate::Scenario {
            name: format!("observed-{}", l.scenarios),
            population,
            env: agentnet_mech::follower::Environment::default(),
        };
        // A full suite keeps the scenarios it has (every accepted rule must still pass them).
        let _ = l.mloop.add_scenario(scenario);
    }
}
