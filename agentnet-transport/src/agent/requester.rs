//! The requester's funnel: [`Agent::request`] (discover, select, choose the tier), the tier-1
//! gate, offers with canaries interleaved, committed inputs, results and grading, and each
//! try's verdict with fallback to the next candidate.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, Hash, Instant, Now, RequestId};
use agentnet_gossip::Candidate;
use agentnet_mech::mechanism::Tier;
use agentnet_mech::session::{Grade, SessionId, TaskSpec};
use agentnet_trust::canary::{CanaryOutcome, Expected, answer_hash};
use agentnet_trust::evidence::{TaskId, payload_hash};
use bytes::Bytes;
use rand_core::Rng;

use super::payload::{Incoming, Outgoing, seal_chunks};
use super::wire::{Direction, TaskInput};
use super::{
    Agent, AgentError, AgentEvent, Attempt, Ranked, Stage, TaskOutcome, TaskRequest, TierChoice,
    Verdict,
};

#[derive(Debug)]
pub(super) struct CanarySlot {
    pub(super) task: Hash,
    pub(super) outcome: Option<CanaryOutcome>,
}

/// One provider being tried.
#[derive(Debug)]
pub(super) struct Try {
    pub(super) provider: AgentId,
    pub(super) topic: Topic,
    pub(super) capability: String,
    /// When the real task was offered, and how long until its result was in.
    pub(super) offered_at: Instant,
    pub(super) took_ms: Option<u64>,
    /// The size class every input of this try is padded to (the largest of them).
    pub(super) pad_to: usize,
    pub(super) tier: Tier,
    pub(super) real: SessionId,
    /// Inputs to send on commitment, per session (the real one and the canaries).
    pub(super) inputs: BTreeMap<SessionId, Bytes>,
    pub(super) canaries: BTreeMap<SessionId, CanarySlot>,
    pub(super) result: Option<Bytes>,
    pub(super) receipts: usize,
    pub(super) evidence_rejected: bool,
    pub(super) graded: bool,
}

/// Terms a provider won in an auction ([`Agent::request_by_intent`]): they replace the
/// requester's [`Terms`](super::Terms) in the mechanism offered to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Award {
    /// Paid for an accepted delivery in time (flat + bonus), µ.
    pub(super) pay: u64,
    /// The deposit the provider bid, µ.
    pub(super) deposit: u64,
    /// The delivery time the provider promised: the session's execution deadline.
    pub(super) latency_ms: u32,
}

/// A provider to try: found by discovery (no award: the requester's own terms) or by an
/// auction (its award).
#[derive(Clone, Debug)]
pub(super) struct Pick {
    pub(super) provider: AgentId,
    pub(super) capability: String,
    pub(super) topic: Topic,
    pub(super) award: Option<Award>,
}

impl Pick {
    fn found(c: &Candidate) -> Self {
        Pick {
            provider: c.descriptor.provider,
            capability: c.descriptor.capability.clone(),
            topic: c.descriptor.topic.clone(),
            award: None,
        }
    }
}

#[derive(Debug)]
pub(super) struct Request {
    pub(super) task: TaskRequest,
    pub(super) tier: Tier,
    pub(super) queue: VecDeque<Pick>,
    pub(super) attempts: Vec<Attempt>,
    pub(super) tries: usize,
    pub(super) current: Option<Try>,
}

impl Agent {
    /// Run the funnel for `task`. Progress comes as [`AgentEvent::Progress`], the end as
    /// [`AgentEvent::Completed`] with the same request id.
    pub fn request(&mut self, now: Now, task: TaskRequest) -> Result<RequestId, AgentError> {
        self.tick(now);
        let running = self.running_request_count();
        if running >= self.config.funnel.max_requests {
            return Err(AgentError::TooManyRequests(running));
        }
        if task.input.len() > self.config.payload.max_payload {
            return Err(AgentError::PayloadTooLarge {
                size: task.input.len(),
                max: self.config.payload.max_payload,
            });
        }
        if task.intent.trim().is_empty() {
            return Err(AgentError::BadRequest("the intent is empty".into()));
        }
        let id = self.next_request_id();
        let mut seen = BTreeSet::new();
        let found: Vec<Candidate> = self
            .gossip
            .discover(
                now,
                &task.intent,
                &task.requirements,
                self.config.funnel.max_candidates,
            )
            .into_iter()
            .filter(|c| c.descriptor.provider != self.me && seen.insert(c.descriptor.provider))
            .collect();
        // Selection: Pareto layers over relevance, reputation, observed-and-claimed QoS,
        // evidence offered and attestation (agentnet_trust::select).
        let inputs: Vec<agentnet_trust::select::Candidate> = found
            .iter()
            .map(|c| {
                let d = &c.descriptor;
                let resolved = self.registry.resolve(&d.provider);
                agentnet_trust::select::Candidate {
                    provider: self.canonical(&d.provider),
                    capability: d.capability.clone(),
                    similarity: c.similarity,
                    claimed_latency_ms: d.qos.latency_ms,
                    claimed_success_bp: d.qos.success_bp,
                    claimed_cost_micros: d.qos.cost_micros,
                    reputation: self.reputation(&d.provider, &d.topic),
                    evidence_tier: d.trust.tiers.iter().copied().max().unwrap_or(1).clamp(1, 3),
                    attested: resolved.is_some_and(|r| r.attested),
                    issued_at: d.issued_at,
                }
            })
            .collect();
        let draw = self.rng.next_u64();
        let chosen = agentnet_trust::select::select(inputs, &self.observations, draw);
        let mut pool: Vec<Option<Candidate>> = found.into_iter().map(Some).collect();
        let mut queue = VecDeque::new();
        let mut ranked = Vec::new();
        for ch in chosen {
            let at = pool.iter().position(|c| {
                c.as_ref().is_some_and(|c| {
                    self.canonical(&c.descriptor.provider) == ch.candidate.provider
                        && c.descriptor.capability == ch.candidate.capability
                })
            });
            let Some(c) = at.and_then(|i| pool[i].take()) else {
                continue;
            };
            ranked.push(Ranked {
                provider: c.descriptor.provider,
                capability: c.descriptor.capability.clone(),
                similarity: c.similarity,
                reputation: ch.objectives.reputation,
                layer: ch.layer,
                explored: ch.explored,
                demoted: ch.demoted,
            });
            queue.push_back(Pick::found(&c));
        }
        // A provider that says it is busy (a live state at or above `busy_load_bp`) is tried
        // after the others, in selection order; one that says it is unavailable was never a
        // candidate (discovery drops it). A lapsed state says nothing.
        let busy = self.config.funnel.busy_load_bp;
        let (idle, loaded): (VecDeque<Pick>, VecDeque<Pick>) = queue.into_iter().partition(|p| {
            self.gossip
                .provider_state(now, &p.provider)
                .is_none_or(|s| s.load_bp < busy)
        });
        let mut queue = idle;
        queue.extend(loaded);
        let (tier, reason) = match task.tier {
            TierChoice::Fixed(t) => (t, "set by the caller".to_string()),
            TierChoice::Auto => self.config.risk.tier(task.value_at_risk, task.side_effects),
        };
        self.event(AgentEvent::Progress {
            request: id,
            stage: Stage::Ranked(ranked),
        });
        self.event(AgentEvent::Progress {
            request: id,
            stage: Stage::TierChosen { tier, reason },
        });
        self.requests.insert(
            id,
            Request {
                task,
                tier,
                queue,
                attempts: Vec::new(),
                tries: 0,
                current: None,
            },
        );
        self.next_attempt(now, id);
        self.pump(now);
        Ok(id)
    }

    pub(super) fn on_canary_verdict(&mut self, now: Now, v: agentnet_trust::canary::CanaryVerdict) {
        let peer = self.canonical(&v.provider());
        let _ = self.ledger.record_canary_as(&v, peer);
        self.durable.ledger_dirty.insert((v.topic().clone(), peer));
        // Find the canary session and grade it by its verdict.
        let found = self.requests.iter_mut().find_map(|(rid, r)| {
            let t = r.current.as_mut()?;
            let (sid, slot) = t.canaries.iter_mut().find(|(_, s)| s.task == v.id())?;
            slot.outcome = Some(v.outcome());
            Some((*rid, *sid))
        });
        if let Some((rid, sid)) = found {
            let passed = v.outcome() == CanaryOutcome::Passed;
            let grade = Grade::new(if passed { 1_000_000 } else { 0 }, passed);
            let _ = self.sessions.grade(now, sid, grade);
            self.check_real(now, rid);
        }
    }

    pub(super) fn on_committed(
        &mut self,
        now: Now,
        id: SessionId,
        provider: AgentId,
        deposit: u64,
    ) {
        let Some(rid) = self.by_session.get(&id).copied() else {
            return;
        };
        let Some(input) = self
            .requests
            .get(&rid)
            .and_then(|r| r.current.as_ref())
            .and_then(|t| t.inputs.get(&id).cloned())
        else {
            return;
        };
        let link = self
            .routes
            .get(&provider)
            .copied()
            .or_else(|| self.sessions.session(&id).and_then(|s| s.link));
        let x = self.registry.resolve(&provider).map(|r| r.current_x25519);
        let (Some(link), Some(x)) = (link, x) else {
            self.end_try(now, id, Verdict::Unreachable);
            return;
        };
        let pad_to = self
            .requests
            .get(&rid)
            .and_then(|r| r.current.as_ref())
            .map_or(0, |t| t.pad_to);
        match seal_chunks(
            &self.config.payload,
            &x,
            &id,
            Direction::Input,
            &input,
            pad_to,
            &mut self.rng,
        ) {
            Ok(chunks) => {
                if self
                    .sessions
                    .delegate(now, id, payload_hash(&input))
                    .is_ok()
                {
                    self.send_chunks(id, Direction::Input, link, &chunks);
                    self.outgoing.insert(
                        (id, Direction::Input),
                        Outgoing {
                            peer: provider,
                            chunks,
                        },
                    );
                    self.incoming.insert(
                        (id, Direction::Result),
                        Incoming::new(provider, None, now.mono + self.config.payload.resend_after),
                    );
                    let real = self
                        .requests
                        .get(&rid)
                        .and_then(|r| r.current.as_ref())
                        .is_some_and(|t| t.real == id);
                    if real {
                        self.event(AgentEvent::Progress {
                            request: rid,
                            stage: Stage::Delegated { provider, deposit },
                        });
                    }
                }
            }
            Err(e) => self.end_try(now, id, Verdict::Failed(e.to_string())),
        }
    }

    pub(super) fn try_of_mut(&mut self, id: SessionId) -> Option<&mut Try> {
        let rid = self.by_session.get(&id)?;
        self.requests
            .get_mut(rid)?
            .current
            .as_mut()
            .filter(|t| t.real == id || t.canaries.contains_key(&id))
    }

    pub(super) fn on_result(&mut self, now: Now, id: SessionId, bytes: Bytes) {
        let Some(rid) = self.by_session.get(&id).copied() else {
            return;
        };
        let Some(t) = self.requests.get_mut(&rid).and_then(|r| r.current.as_mut()) else {
            return;
        };
        if let Some(slot) = t.canaries.get(&id) {
            let provider = t.provider;
            let task = slot.task;
            let _ = self.canaries.handle_delivery(now, task, provider, &bytes);
        } else if t.real == id {
            t.result = Some(bytes);
            t.took_ms = Some(
                now.mono
                    .saturating_duration_since(t.offered_at)
                    .as_millis()
                    .try_into()
                    .unwrap_or(u64::MAX),
            );
            let (provider, receipts) = (t.provider, t.receipts);
            self.event(AgentEvent::Progress {
                request: rid,
                stage: Stage::Delivered { provider, receipts },
            });
            self.check_real(now, rid);
        }
    }

    /// Grade the real task once its result is here and every canary has a verdict.
    fn check_real(&mut self, now: Now, rid: RequestId) {
        let Some(t) = self.requests.get_mut(&rid).and_then(|r| r.current.as_mut()) else {
            return;
        };
        if t.graded || t.result.is_none() || t.canaries.values().any(|c| c.outcome.is_none()) {
            return;
        }
        t.graded = true;
        let passed = t
            .canaries
            .values()
            .all(|c| c.outcome == Some(CanaryOutcome::Passed));
        let grade = Grade::new(if passed { 1_000_000 } else { 0 }, passed);
        let real = t.real;
        let _ = self.sessions.grade(now, real, grade);
    }

    // =========================================================================================
    // Internals: the funnel
    // =========================================================================================

    /// Close the current try of the request owning session `id` with `verdict` and move on.
    pub(super) fn end_try(&mut self, now: Now, id: SessionId, verdict: Verdict) {
        self.end_try_paid(now, id, verdict, 0);
    }

    pub(super) fn end_try_paid(&mut self, now: Now, id: SessionId, verdict: Verdict, payment: u64) {
        let Some(rid) = self.by_session.get(&id).copied() else {
            return;
        };
        let Some(r) = self.requests.get_mut(&rid) else {
            return;
        };
        let Some(t) = r.current.take_if(|t| t.real == id) else {
            return;
        };
        let attempt = Attempt {
            provider: t.provider,
            topic: t.topic.clone(),
            tier: t.tier,
            verdict: verdict.clone(),
        };
        r.attempts.push(attempt.clone());
        self.event(AgentEvent::Progress {
            request: rid,
            stage: Stage::Verdict(attempt),
        });
        self.observe(&verdict);
        let canonical = self.canonical(&t.provider);
        // A check whose canaries were all answered (accepted) or one of which failed teaches
        // the canary depth; other endings (timeouts, evidence) say nothing about canaries.
        let checked = t.canaries.len();
        if matches!(verdict, Verdict::Accepted | Verdict::CanaryFailed) {
            let class = self.class_of(&t.provider, &t.capability);
            self.depth
                .record(class, checked, verdict == Verdict::CanaryFailed);
        }
        let evicted = match &verdict {
            Verdict::Accepted => self.observations.record_success(
                canonical,
                &t.capability,
                t.took_ms.unwrap_or(0),
                payment,
                now.wall,
            ),
            Verdict::CanaryFailed
            | Verdict::Rejected
            | Verdict::EvidenceRejected
            | Verdict::Fraud
            | Verdict::TimedOut(_) => {
                self.observations
                    .record_failure(canonical, &t.capability, now.wall)
            }
            _ => None,
        };
        // Observations (and demotions) survive a restart: a requester that comes back must
        // not hand its next task to the provider that just drifted.
        self.durable
            .observed_dirty
            .insert((canonical, t.capability.clone()));
        self.durable.observed_dirty.extend(evicted);
        if verdict == Verdict::Accepted {
            // A provider that delivered a checked result has standing in the gossip tables:
            // a flood of fresh identities cannot evict its log or its descriptors. The set is
            // bounded (`gossip.max_standing`); when full, later providers simply go without.
            // Its identity chain likewise stays in a full registry.
            let _ = self.gossip.set_standing(now, t.provider, true);
            self.registry.vouch(&t.provider);
            let result = t.result.unwrap_or_default();
            self.complete(rid, Ok(result), Some(t.provider), payment);
        } else {
            self.next_attempt(now, rid);
        }
    }

    pub(super) fn complete(
        &mut self,
        rid: RequestId,
        result: Result<Bytes, String>,
        provider: Option<AgentId>,
        payment: u64,
    ) {
        let Some(r) = self.requests.remove(&rid) else {
            return;
        };
        self.by_session.retain(|_, v| *v != rid);
        let outcome = TaskOutcome {
            request: rid,
            result,
            provider,
            tier: r.tier,
            attempts: r.attempts,
            payment,
        };
        self.workflows.on_completed(&outcome);
        self.event(AgentEvent::Completed(Box::new(outcome)));
    }

    /// Try the next candidate, or end the request.
    pub(super) fn next_attempt(&mut self, now: Now, rid: RequestId) {
        loop {
            let Some(r) = self.requests.get_mut(&rid) else {
                return;
            };
            if r.tries >= self.config.funnel.max_attempts {
                let why = format!("{} providers tried, none delivered", r.tries);
                self.complete(rid, Err(why), None, 0);
                return;
            }
            let Some(c) = r.queue.pop_front() else {
                let why = if r.tries == 0 && r.attempts.is_empty() {
                    "no candidate found".to_string()
                } else {
                    "no candidate left".to_string()
                };
                self.complete(rid, Err(why), None, 0);
                return;
            };
            let tier = r.tier;
            let provider = c.provider;
            let topic = c.topic.clone();
            match self.gate(&c) {
                Ok(()) => {}
                Err(verdict) => {
                    let attempt = Attempt {
                        provider,
                        topic: topic.clone(),
                        tier,
                        verdict,
                    };
                    let r = self.requests.get_mut(&rid).expect("present");
                    r.attempts.push(attempt.clone());
                    self.event(AgentEvent::Progress {
                        request: rid,
                        stage: Stage::Verdict(attempt),
                    });
                    continue;
                }
            }
            match self.offer_to(now, rid, &c, tier, &topic) {
                Ok(()) => return,
                Err(verdict) => {
                    let attempt = Attempt {
                        provider,
                        topic: topic.clone(),
                        tier,
                        verdict,
                    };
                    let r = self.requests.get_mut(&rid).expect("present");
                    r.tries += 1;
                    r.attempts.push(attempt.clone());
                    self.event(AgentEvent::Progress {
                        request: rid,
                        stage: Stage::Verdict(attempt),
                    });
                }
            }
        }
    }

    /// Whether this agent has seen `provider` deliver `capability` (a checked, accepted
    /// result): the class the canary depth is estimated for.
    pub(super) fn class_of(
        &self,
        provider: &AgentId,
        capability: &str,
    ) -> agentnet_trust::depth::Class {
        let proven = self
            .observations
            .get(&self.canonical(provider), capability)
            .is_some_and(|o| o.success > 0.0);
        if proven {
            agentnet_trust::depth::Class::Proven
        } else {
            agentnet_trust::depth::Class::Stranger
        }
    }

    /// The checks before any offer: not convicted, tier-1 reputation, reachable.
    fn gate(&mut self, c: &Pick) -> Result<(), Verdict> {
        let provider = c.provider;
        if self.is_convicted(&provider) {
            return Err(Verdict::Convicted);
        }
        let canonical = self.canonical(&provider);
        let topic = &c.topic;
        let score = self.reputation.score(&canonical, topic);
        let net_failures = self
            .ledger
            .tally(topic, &canonical, agentnet_core::WallTime::UNIX_EPOCH)
            .is_some_and(|t| t.neg * self.ledger.config().failure_weight > t.pos);
        if score < self.config.funnel.min_reputation || net_failures {
            return Err(Verdict::BelowReputation { score });
        }
        if !self.routes.contains_key(&provider) || self.registry.resolve(&provider).is_none() {
            return Err(Verdict::Unreachable);
        }
        Ok(())
    }

    fn random_hash(&mut self) -> Hash {
        let mut b = [0u8; 32];
        self.rng.fill_bytes(&mut b);
        Hash(b)
    }

    fn offer_to(
        &mut self,
        now: Now,
        rid: RequestId,
        c: &Pick,
        tier: Tier,
        topic: &Topic,
    ) -> Result<(), Verdict> {
        let provider = c.provider;
        let capability = c.capability.clone();
        let link = *self.routes.get(&provider).ok_or(Verdict::Unreachable)?;
        self.ensure_topic(topic);
        let r = self
            .requests
            .get(&rid)
            .ok_or(Verdict::Failed("gone".into()))?;
        let intent = r.task.intent.clone();
        let input = r.task.input.clone();
        // Tier 2 needs canaries this provider has not seen; otherwise check it at tier 3.
        // Tier 3 interleaves them too when the request carries some (evidence is added to
        // the canaries, not put in their place).
        let mut cases = Vec::new();
        if tier >= Tier::Canary {
            let depth = self.depth.depth(self.class_of(&provider, &capability));
            for case in &r.task.canaries {
                let key = Hash::digest(agentnet_core::hash::domain::CANARY_CASE, &case.input);
                if cases.len() < depth
                    && !self.canary_uses.contains(&(key, self.canonical(&provider)))
                {
                    cases.push((key, case.clone()));
                }
            }
        }
        let tier = if tier == Tier::Canary && cases.is_empty() {
            Tier::Evidence
        } else {
            tier
        };
        let mechanism = match c.award {
            None => self.mechanism(tier)?,
            Some(a) => self.award_mechanism(tier, a)?,
        };
        let encode = |input: &Bytes| {
            agentnet_core::wire::encode_cbor(&TaskInput {
                capability: capability.clone(),
                intent: intent.clone(),
                input: input.clone(),
            })
            .map(Bytes::from)
        };
        let spec = |id: Hash| {
            TaskSpec::new(
                TaskId(id),
                topic.clone(),
                payload_hash(capability.as_bytes()),
            )
        };
        // The real task and the canaries, offered in a random order.
        let mut order: Vec<Option<usize>> = (0..cases.len()).map(Some).collect();
        order.push(None);
        for i in (1..order.len()).rev() {
            let j = (self.rng.next_u64() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut inputs = BTreeMap::new();
        let mut canaries = BTreeMap::new();
        let mut real = None;
        let timeout =
            self.config.terms.commit + self.config.terms.execute + self.config.terms.settle;
        for slot in order {
            let task_id = self.random_hash();
            let bytes = match slot {
                None => encode(&input),
                Some(i) => encode(&cases[i].1.input),
            }
            .map_err(|e| Verdict::Failed(e.to_string()))?;
            let sid = self
                .sessions
                .offer(now, provider, link, spec(task_id), mechanism.clone())
                .map_err(|e| Verdict::Failed(e.to_string()))?;
            self.by_session.insert(sid, rid);
            inputs.insert(sid, bytes);
            match slot {
                None => real = Some(sid),
                Some(i) => {
                    let (key, case) = &cases[i];
                    let _ = self.canaries.issue(
                        now,
                        task_id,
                        provider,
                        topic.clone(),
                        if case.trailing_newline {
                            let mut nl = case.expected.to_vec();
                            nl.push(b'\n');
                            Expected::AnyOf(vec![answer_hash(&case.expected), answer_hash(&nl)])
                        } else {
                            Expected::exact(&case.expected)
                        },
                        timeout,
                    );
                    let peer = self.canonical(&provider);
                    self.canary_uses.insert((*key, peer));
                    canaries.insert(
                        sid,
                        CanarySlot {
                            task: task_id,
                            outcome: None,
                        },
                    );
                }
            }
        }
        let real = real.expect("the real task is always offered");
        let clauses = mechanism.clauses.iter().map(|c| c.text()).collect();
        let n = canaries.len();
        let pad_to = inputs.values().map(Bytes::len).max().unwrap_or(0);
        let r = self.requests.get_mut(&rid).expect("present");
        r.tries += 1;
        r.current = Some(Try {
            pad_to,
            capability: capability.clone(),
            offered_at: now.mono,
            took_ms: None,
            provider,
            topic: topic.clone(),
            tier,
            real,
            inputs,
            canaries,
            result: None,
            receipts: 0,
            evidence_rejected: false,
            graded: false,
        });
        self.event(AgentEvent::Progress {
            request: rid,
            stage: Stage::Offered {
                provider,
                tier,
                clauses,
                canaries: n,
            },
        });
        Ok(())
    }
}
