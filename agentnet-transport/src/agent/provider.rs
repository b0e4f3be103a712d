//! The provider side: [`Agent::serve`] and its withdrawal, offers accepted or declined by
//! the [`ServePolicy`], the input handed to the host as [`Effect::Execute`], and the result
//! delivered (with an evidence package at tier 3).

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::{AgentId, Effect, Hash, Instant, Now, Record, RequestId, Signed};
#[cfg(doc)]
use agentnet_gossip::GossipEngine;
use agentnet_mech::mechanism::{Mechanism, Tier};
use agentnet_mech::session::SessionId;
use agentnet_trust::evidence::{ReceiptChain, TaskId, payload_hash};
use bytes::Bytes;

use super::payload::{Incoming, Outgoing, seal_chunks};
use super::wire::{Direction, TaskInput};
use super::{Agent, AgentError, AgentEvent, Executed, ServePolicy, tables};

#[derive(Debug)]
pub(super) struct Service {
    pub(super) topic: Topic,
    /// The descriptor's summary: what intents are matched against.
    pub(super) summary: String,
    pub(super) policy: ServePolicy,
}

/// A provider-side session.
#[derive(Debug)]
pub(super) struct Job {
    pub(super) requester: AgentId,
    pub(super) capability: String,
    pub(super) topic: Topic,
    pub(super) task: TaskId,
    pub(super) tier: Tier,
    pub(super) input_hash: Option<Hash>,
    pub(super) deliver_by: Instant,
    pub(super) delegated_at: agentnet_core::WallTime,
    pub(super) executing: bool,
}

impl Agent {
    /// Serve a capability: announce `descriptor` and accept offers for it under `policy`.
    /// Work arrives as [`Effect::Execute`].
    pub fn serve(
        &mut self,
        now: Now,
        descriptor: CapabilityDescriptor,
        policy: ServePolicy,
    ) -> Result<(), AgentError> {
        let capability = descriptor.capability.clone();
        let topic = descriptor.topic.clone();
        let summary = descriptor.intent.summary.clone();
        if policy.advertise {
            self.announce(now, descriptor)?;
        } else {
            descriptor
                .validate(now, &self.config.gossip.descriptor_rules)
                .map_err(|e| AgentError::BadRequest(e.to_string()))?;
            // Unannounced, it still follows the topic, where intents are announced.
            self.gossip.subscribe(now, topic.clone())?;
        }
        self.ensure_topic(&topic);
        self.served.insert(
            capability,
            Service {
                topic,
                summary,
                policy,
            },
        );
        self.refresh_intent_interest();
        self.pump(now);
        Ok(())
    }

    /// Stop serving a capability and stop re-issuing its descriptor (it expires at its TTL);
    /// also the way to withdraw a capability that was only announced. False if it was
    /// neither served nor announced.
    pub fn unserve(&mut self, capability: &str) -> bool {
        let announced = self.gossip.withdraw(capability);
        let served = self.served.remove(capability).is_some();
        self.refresh_intent_interest();
        served || announced
    }

    /// Stop serving a capability and retract its descriptor at once: peers receive a signed
    /// retraction (a newer version marked `retracted`), stop offering the capability and
    /// refuse replays of the old descriptor until it would have expired
    /// ([`GossipEngine::retract`]). Use this for a capability that is compromised or gone;
    /// [`unserve`](Self::unserve) lets it expire instead. False if it was neither served nor
    /// announced.
    pub fn retract(&mut self, now: Now, capability: &str) -> Result<bool, AgentError> {
        self.tick(now);
        let announced = self
            .gossip
            .retract(now, capability)
            .map_err(|e| AgentError::Gossip(e.to_string()))?
            .is_some();
        let served = self.served.remove(capability).is_some();
        self.refresh_intent_interest();
        self.pump(now);
        Ok(served || announced)
    }

    /// The application ran [`Effect::Execute`] `id`. The result is sealed to the requester,
    /// sent in chunks and delivered (at tier 3 with a signed receipt chain and evidence
    /// package); a failure delivers nothing, and the requester's deadline settles the session.
    pub fn handle_executed(
        &mut self,
        now: Now,
        id: RequestId,
        executed: Executed,
    ) -> Result<(), AgentError> {
        self.tick(now);
        let sid = *self
            .executing
            .get(&id)
            .ok_or(AgentError::UnknownEffect(id))?;
        let r = self.deliver(now, sid, executed);
        self.executing.remove(&id);
        if let Some(job) = self.jobs.get_mut(&sid) {
            job.executing = false;
        }
        self.pump(now);
        r
    }

    fn deliver(&mut self, now: Now, sid: SessionId, executed: Executed) -> Result<(), AgentError> {
        let Executed::Done { result, tools } = executed else {
            return Ok(());
        };
        let job = self
            .jobs
            .get(&sid)
            .ok_or(AgentError::Undeliverable("the session has ended".into()))?;
        if result.len() > self.config.payload.max_payload {
            return Err(AgentError::PayloadTooLarge {
                size: result.len(),
                max: self.config.payload.max_payload,
            });
        }
        let result_hash = payload_hash(&result);
        let evidence = if job.tier == Tier::Evidence {
            let mut chain = ReceiptChain::new(self.me, job.task);
            let undeliverable = |e: agentnet_trust::evidence::EvidenceError| {
                AgentError::Undeliverable(e.to_string())
            };
            if tools.is_empty() {
                let input = job.input_hash.unwrap_or(Hash([0; 32]));
                chain
                    .record(
                        &self.keys,
                        &job.capability,
                        input,
                        result_hash,
                        job.delegated_at.min(now.wall),
                        now.wall,
                    )
                    .map_err(undeliverable)?;
            }
            for t in &tools {
                chain
                    .record(
                        &self.keys,
                        &t.tool,
                        t.input_hash,
                        t.output_hash,
                        t.started_at,
                        t.ended_at,
                    )
                    .map_err(undeliverable)?;
            }
            // An honest agent never signs a package whose receipts contradict its result.
            Some(
                chain
                    .finish(&self.keys, result_hash, None)
                    .map_err(undeliverable)?,
            )
        } else {
            None
        };
        let requester = job.requester;
        let x = self
            .registry
            .resolve(&requester)
            .map(|r| r.current_x25519)
            .ok_or_else(|| {
                AgentError::Undeliverable("the requester's identity is unknown".into())
            })?;
        // Sent now if the requester is reachable; otherwise it asks for the chunks when it
        // is back (the session's DELIVER waits in the session engine meanwhile).
        let link = self.routes.get(&requester).copied();
        let chunks = seal_chunks(
            &self.config.payload,
            &x,
            &sid,
            Direction::Result,
            &result,
            0,
            &mut self.rng,
        )?;
        self.sessions.deliver(now, sid, result_hash, evidence)?;
        if let Some(link) = link {
            self.send_chunks(sid, Direction::Result, link, &chunks);
        }
        self.outgoing.insert(
            (sid, Direction::Result),
            Outgoing {
                peer: requester,
                chunks,
            },
        );
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn on_offered(
        &mut self,
        now: Now,
        id: SessionId,
        requester: AgentId,
        topic: Topic,
        description_hash: Hash,
        mechanism: &Signed<Mechanism>,
        task: TaskId,
    ) {
        let capability = self
            .served
            .iter()
            .find(|(name, s)| s.topic == topic && payload_hash(name.as_bytes()) == description_hash)
            .map(|(name, s)| (name.clone(), s.policy));
        let decision = match &capability {
            None => Err("no such capability is served here".to_string()),
            Some((_, policy)) => {
                let (flat, bonus) = mechanism.payment().unwrap_or((0, 0));
                if policy.refuse_convicted && self.is_convicted(&requester) {
                    Err("the requester is convicted".into())
                } else if flat.saturating_add(bonus) < policy.min_pay {
                    Err(format!("pay {} below {}", flat + bonus, policy.min_pay))
                } else if mechanism.deposit() > policy.max_deposit {
                    Err(format!(
                        "deposit {} above {}",
                        mechanism.deposit(),
                        policy.max_deposit
                    ))
                } else {
                    Ok(())
                }
            }
        };
        let live = self.sessions.session(&id).is_some();
        let accepted = match (&decision, live) {
            (Ok(()), true) => {
                let r = self.sessions.accept(now, id);
                if r.is_ok() {
                    let (capability, _) = capability.clone().expect("decided on it");
                    if let Ok(v) = agentnet_core::wire::encode_cbor(&(
                        requester,
                        capability.as_str(),
                        topic.as_str(),
                        task.0,
                        mechanism.tier() as u8,
                    )) {
                        self.durable
                            .batch
                            .push(Record::put(tables::JOB, id.0.0.to_vec(), v));
                    }
                    self.jobs.insert(
                        id,
                        Job {
                            requester,
                            capability,
                            topic: topic.clone(),
                            task,
                            tier: mechanism.tier(),
                            input_hash: None,
                            deliver_by: now.mono,
                            delegated_at: now.wall,
                            executing: false,
                        },
                    );
                    self.incoming.insert(
                        (id, Direction::Input),
                        Incoming::new(requester, None, now.mono + self.config.payload.resend_after),
                    );
                }
                r.map_err(|e| e.to_string())
            }
            (Ok(()), false) => Err("the session is gone".to_string()),
            (Err(why), _) => {
                let _ = self.sessions.decline(now, id);
                Err(why.clone())
            }
        };
        self.event(AgentEvent::Offer {
            session: id,
            requester,
            capability: capability.map(|c| c.0),
            accepted,
        });
    }

    pub(super) fn on_input(&mut self, id: SessionId, bytes: Bytes) {
        let limits = self.limits_for_payload();
        let Some(job) = self.jobs.get_mut(&id) else {
            return;
        };
        let input: TaskInput = match agentnet_core::wire::decode_cbor(&bytes, &limits) {
            Ok(i) => i,
            Err(_) => return,
        };
        if input.capability != job.capability || job.executing {
            return;
        }
        job.executing = true;
        let task = agentnet_core::effect::ExecuteTask {
            requester: job.requester,
            capability: job.capability.clone(),
            topic: job.topic.clone(),
            intent: input.intent,
            task: job.task.0,
        };
        let deadline = job.deliver_by;
        let rid = self.next_request_id();
        self.executing.insert(rid, id);
        self.effect(Effect::Execute {
            id: rid,
            task,
            input: input.input,
            deadline,
        });
    }
}
