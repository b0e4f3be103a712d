//! Persistence: the [`tables`] an agent writes, one [`Effect::Persist`] batch per turn,
//! [`Agent::restore`] at start-up, and the codecs and keys of the stored records.

use std::collections::{BTreeMap, BTreeSet};

use agentnet_core::descriptor::Topic;
use agentnet_core::wire::Limits;
use agentnet_core::{AgentId, Effect, Hash, Now, Overflow, Record, RequestId, Signed};
use agentnet_mech::mechanism::Tier;
use agentnet_mech::session::SessionId;
use agentnet_trust::evidence::TaskId;
use agentnet_trust::fraud::FraudProof;
use agentnet_trust::ledger::LedgerRecord;
use bytes::Bytes;

use super::identity::MAX_OWN_ATTESTATIONS;
use super::payload::Incoming;
use super::provider::Job;
use super::wire::Direction;
use super::{Agent, AgentError, AgentEvent};

/// The tables an [`Agent`] persists ([`Record::table`]).
pub mod tables {
    /// A topic this agent follows (key: the topic; empty value).
    pub const GOSSIP_TOPIC: &str = "gossip.topic";
    /// An own log head per topic (key: the topic).
    pub const GOSSIP_HEAD: &str = "gossip.head";
    /// An accepted header of another author (key: topic, 0, author, seq; expires with it).
    pub const GOSSIP_HEADER: &str = "gossip.header";
    /// An accepted descriptor (key: provider, capability; expires with it).
    pub const GOSSIP_DESCRIPTOR: &str = "gossip.descriptor";
    /// An identity chain entry (key: the hash of its frame).
    pub const IDENTITY_ENTRY: &str = "identity.entry";
    /// A ledger row (key: topic, 0, peer).
    pub const LEDGER_ROW: &str = "ledger.row";
    /// A verified fraud proof (key: its id).
    pub const FRAUD_PROOF: &str = "fraud.proof";
    /// A task session's record (key: the session id), from the session engine.
    pub const SESSION: &str = "session";
    /// What this agent serves in a session it accepted (key: the session id).
    pub const JOB: &str = "agent.job";
    /// An issuer's attestation of this agent's own principal (key: its hash).
    pub const OWN_ATTESTATION: &str = "identity.own_attestation";
    /// The trust report builder's state (key: `all`), so report seqs continue after a restart.
    pub const REPORTS: &str = "report.builder";
    /// What this agent observed of a provider for a capability, for selection and demotion
    /// (key: provider, capability).
    pub const SELECTION_OBSERVED: &str = "selection.observed";
}

/// What [`Agent::restore`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RestoreReport {
    /// Records taken back.
    pub restored: usize,
    /// Records refused.
    pub refused: usize,
    /// The first reasons (at most 8): table and why.
    pub reasons: Vec<(String, String)>,
}

impl RestoreReport {
    fn refuse(&mut self, table: &str, why: impl ToString) {
        self.refused += 1;
        self.note(table, why);
    }

    fn note(&mut self, table: &str, why: impl ToString) {
        if self.reasons.len() < 8 {
            self.reasons.push((table.to_string(), why.to_string()));
        }
    }
}

fn decode_head(value: &[u8], limits: &Limits) -> Result<agentnet_gossip::OwnHead, String> {
    type Head = (
        String,
        u64,
        serde_bytes::ByteBuf,
        Option<serde_bytes::ByteBuf>,
    );
    let (topic, seq, header, body): Head =
        agentnet_core::wire::decode_cbor(value, limits).map_err(|e| e.to_string())?;
    Ok(agentnet_gossip::OwnHead {
        topic: Topic::new(&topic).map_err(|e| e.to_string())?,
        seq,
        header: Bytes::from(header.into_vec()),
        body: body.map(|b| Bytes::from(b.into_vec())),
    })
}

/// A ledger row as (topic, peer, pos and neg as IEEE-754 bits, time in Unix ms): integers only,
/// so the record decodes under the strict CBOR checker.
fn encode_row(r: &LedgerRecord) -> Result<Vec<u8>, agentnet_core::wire::WireError> {
    agentnet_core::wire::encode_cbor(&(
        r.topic.as_str(),
        r.peer,
        r.tally.pos.to_bits(),
        r.tally.neg.to_bits(),
        r.tally.at.as_unix_millis(),
    ))
}

/// The store key of a peer's header: topic, a zero byte, author, seq (big-endian).
pub(super) fn header_key(topic: &Topic, author: &AgentId, seq: u64) -> Vec<u8> {
    let mut key = topic.as_str().as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(author.as_bytes());
    key.extend_from_slice(&seq.to_be_bytes());
    key
}

/// The store key of an identity entry or attestation: a hash of its frame.
pub(super) fn identity_record_key(frame: &Bytes) -> Vec<u8> {
    Hash::digest(agentnet_core::hash::domain::RECORD_KEY, frame)
        .0
        .to_vec()
}

/// The store key of a descriptor: provider, capability.
pub(super) fn descriptor_key(provider: &AgentId, capability: &str) -> Vec<u8> {
    let mut key = provider.as_bytes().to_vec();
    key.extend_from_slice(capability.as_bytes());
    key
}

/// A selection observation as a record: floats as their IEEE-754 bits (canonical CBOR has
/// no floats), so a restart restores them exactly.
fn encode_observed(
    provider: &AgentId,
    capability: &str,
    o: &agentnet_trust::select::Observed,
) -> Result<Vec<u8>, agentnet_core::wire::WireError> {
    agentnet_core::wire::encode_cbor(&(
        provider,
        capability,
        o.count,
        o.success.to_bits(),
        o.latency_ms.to_bits(),
        o.cost_micros.to_bits(),
        o.last_failure.map(|t| t.as_unix_millis()),
        o.at.as_unix_millis(),
    ))
}

type ObservedRecord = (AgentId, String, agentnet_trust::select::Observed);

fn decode_observed(value: &[u8], limits: &Limits) -> Result<ObservedRecord, String> {
    type Raw = (AgentId, String, u32, u64, u64, u64, Option<u64>, u64);
    let (provider, capability, count, success, latency, cost, failed, at): Raw =
        agentnet_core::wire::decode_cbor(value, limits).map_err(|e| e.to_string())?;
    Ok((
        provider,
        capability,
        agentnet_trust::select::Observed {
            count,
            success: f64::from_bits(success),
            latency_ms: f64::from_bits(latency),
            cost_micros: f64::from_bits(cost),
            last_failure: failed.map(agentnet_core::WallTime::from_unix_millis),
            at: agentnet_core::WallTime::from_unix_millis(at),
        },
    ))
}

fn decode_row(value: &[u8], limits: &Limits) -> Result<LedgerRecord, String> {
    let (topic, peer, pos, neg, at): (String, AgentId, u64, u64, u64) =
        agentnet_core::wire::decode_cbor(value, limits).map_err(|e| e.to_string())?;
    let (pos, neg) = (f64::from_bits(pos), f64::from_bits(neg));
    if !(pos.is_finite() && neg.is_finite() && pos >= 0.0 && neg >= 0.0) {
        return Err("tally negative or not finite".into());
    }
    Ok(LedgerRecord {
        topic: Topic::new(&topic).map_err(|e| e.to_string())?,
        peer,
        tally: agentnet_trust::ledger::Tally {
            pos,
            neg,
            at: agentnet_core::WallTime::from_unix_millis(at),
        },
    })
}

fn decode_job(key: &[u8], value: &[u8], limits: &Limits) -> Result<(SessionId, Job), String> {
    let id: [u8; 32] = key
        .try_into()
        .map_err(|_| "key is not a session id".to_string())?;
    let (requester, capability, topic, task, tier): (AgentId, String, String, Hash, u8) =
        agentnet_core::wire::decode_cbor(value, limits).map_err(|e| e.to_string())?;
    let tier = Tier::ALL
        .into_iter()
        .find(|t| *t as u8 == tier)
        .ok_or_else(|| format!("tier {tier}"))?;
    Ok((
        SessionId(Hash(id)),
        Job {
            requester,
            capability,
            topic: Topic::new(&topic).map_err(|e| e.to_string())?,
            task: TaskId(task),
            tier,
            input_hash: None,
            deliver_by: agentnet_core::Instant::ZERO,
            delegated_at: agentnet_core::WallTime::UNIX_EPOCH,
            executing: false,
        },
    ))
}

/// The agent's durability sub-state: the records of the current turn, gathered into one batch
/// ([`Effect::Persist`](agentnet_core::Effect)) when the turn's outputs are drained, and the
/// batches the host has not confirmed yet (with `handle_persisted`). The turn's part holds one
/// turn's changes; batches in flight are at most `max_queued` (the oldest is given up and
/// reported as an overflow of `"persisting"`). No deadline of its own: the batch is flushed
/// when the turn's outputs are drained.
#[derive(Debug, Default)]
pub(super) struct Durability {
    /// Persist batches in flight: the own log heads each one acknowledges.
    pub(super) persisting: BTreeMap<RequestId, Vec<(Topic, u64)>>,
    /// Records of the current turn, made durable as one batch.
    pub(super) batch: Vec<Record>,
    /// Own log heads the current batch acknowledges.
    pub(super) batch_acks: Vec<(Topic, u64)>,
    /// Ledger rows changed this turn.
    pub(super) ledger_dirty: BTreeSet<(Topic, AgentId)>,
    /// Selection observations changed (or evicted) this turn.
    pub(super) observed_dirty: BTreeSet<(AgentId, String)>,
}

impl Agent {
    /// The records of [`Effect::Persist`] `id` are durable.
    pub fn handle_persisted(&mut self, now: Now, id: RequestId) -> Result<(), AgentError> {
        self.tick(now);
        let acks = self
            .durable
            .persisting
            .remove(&id)
            .ok_or(AgentError::UnknownEffect(id))?;
        for (topic, seq) in acks {
            self.gossip.handle_persisted(now, &topic, seq);
        }
        self.pump(now);
        Ok(())
    }

    /// Take back what this agent asked to persist before a restart: call once, right after
    /// [`new`](Self::new) and before any other input, with every record of every table the
    /// host stored. Records that do not decode or verify are refused (counted, with the
    /// first reasons) and the rest restored: own log heads (publishing continues the logs),
    /// accepted headers and descriptors, identity chains (this agent's own included, so its
    /// canonical id and reputation survive), ledger rows, fraud proofs (convictions) and selection observations (demotions).
    pub fn restore(
        &mut self,
        now: Now,
        records: impl IntoIterator<Item = Record>,
    ) -> RestoreReport {
        let mut report = RestoreReport::default();
        let mut heads = Vec::new();
        let mut headers = Vec::new();
        let mut descriptors = Vec::new();
        let mut identities = Vec::new();
        let mut rows = Vec::new();
        let mut proofs = Vec::new();
        let mut topics = Vec::new();
        let mut sessions = Vec::new();
        let mut jobs = Vec::new();
        let mut reports = None;
        for r in records {
            let Some(value) = r.value else { continue };
            match &*r.table {
                tables::GOSSIP_HEAD => match decode_head(&value, &self.limits) {
                    Ok(h) => heads.push(h),
                    Err(e) => report.refuse(&r.table, e),
                },
                tables::GOSSIP_HEADER => headers.push(value),
                tables::GOSSIP_TOPIC => match core::str::from_utf8(&r.key)
                    .ok()
                    .and_then(|t| Topic::new(t).ok())
                {
                    Some(t) => topics.push(t),
                    None => report.refuse(&r.table, "not a topic"),
                },
                tables::GOSSIP_DESCRIPTOR => descriptors.push(value),
                tables::IDENTITY_ENTRY => identities.push(value),
                tables::LEDGER_ROW => match decode_row(&value, &self.limits) {
                    Ok(row) => rows.push(row),
                    Err(e) => report.refuse(&r.table, e),
                },
                tables::FRAUD_PROOF => proofs.push(value),
                tables::SESSION => sessions.push(value),
                tables::JOB => match decode_job(&r.key, &value, &self.limits) {
                    Ok(j) => jobs.push(j),
                    Err(e) => report.refuse(&r.table, e),
                },
                tables::REPORTS => reports = Some(value),
                tables::SELECTION_OBSERVED => match decode_observed(&value, &self.limits) {
                    Ok((provider, capability, o)) => {
                        if self.observations.restore(provider, &capability, o).1 {
                            report.restored += 1;
                        } else {
                            report.refuse(tables::SELECTION_OBSERVED, "values out of range");
                        }
                    }
                    Err(e) => report.refuse(tables::SELECTION_OBSERVED, e),
                },
                tables::OWN_ATTESTATION => {
                    match Signed::<agentnet_trust::baid::IssuerAttestation>::from_frame(
                        &value,
                        &self.limits,
                    ) {
                        Ok(a) if self.own_attestations.len() < MAX_OWN_ATTESTATIONS => {
                            report.restored += 1;
                            self.own_attestations.push(a);
                        }
                        Ok(_) => report.refuse(&r.table, "too many"),
                        Err(e) => report.refuse(&r.table, e),
                    }
                }
                other => report.refuse(other, "unknown table".to_string()),
            }
        }
        let ids = self.registry.restore(now, identities);
        report.restored += ids.accepted;
        for (_, e) in ids.refused {
            report.refuse(tables::IDENTITY_ENTRY, e);
        }
        if let Some(chain) = self.registry.resolve(&self.me).map(|r| r.chain) {
            self.chain = self.registry.entries(&chain).cloned().collect();
            self.registry.vouch(&self.me);
        }
        report.restored += heads.len();
        if let Err(e) = self.gossip.restore(now, heads) {
            report.refuse(tables::GOSSIP_HEAD, e.to_string());
        }
        for t in topics {
            match self.gossip.subscribe(now, t) {
                Ok(()) => report.restored += 1,
                Err(e) => report.refuse(tables::GOSSIP_TOPIC, e.to_string()),
            }
        }
        report.restored += self.gossip.restore_headers(now, headers);
        report.restored += self.gossip.restore_descriptors(now, descriptors);
        report.restored += rows.len();
        for row in &rows {
            self.ensure_topic(&row.topic);
        }
        if let Err(e) = self.ledger.restore(rows, []) {
            report.refuse(tables::LEDGER_ROW, e.to_string());
        }
        for (sid, job) in jobs {
            self.incoming.insert(
                (sid, Direction::Input),
                Incoming::new(
                    job.requester,
                    None,
                    now.mono + self.config.payload.resend_after,
                ),
            );
            self.jobs.insert(sid, job);
        }
        let restored = self.sessions.restore(now, sessions);
        report.restored += restored.restored;
        report.refused += restored.refused;
        for (_, e) in restored.errors {
            report.note(tables::SESSION, e);
        }
        // Jobs whose session did not come back are dropped.
        let live: BTreeSet<SessionId> = self.sessions.ids().copied().collect();
        self.jobs.retain(|id, _| live.contains(id));
        self.incoming.retain(|(id, _), _| live.contains(id));
        if let Some(v) = reports {
            match agentnet_core::wire::decode_cbor::<Vec<serde_bytes::ByteBuf>>(
                &v,
                &self.record_limits(),
            ) {
                Ok(list) => {
                    if let Err(e) = self
                        .reports
                        .restore(list.into_iter().map(|b| Bytes::from(b.into_vec())))
                    {
                        report.refuse(tables::REPORTS, e);
                    }
                }
                Err(e) => report.refuse(tables::REPORTS, e),
            }
        }
        for frame in proofs {
            match FraudProof::from_frame(&frame, &self.limits) {
                Ok((proof, _)) => {
                    report.restored += 1;
                    let _ = self.on_proof(now, proof, None);
                }
                Err(e) => report.refuse(tables::FRAUD_PROOF, e.to_string()),
            }
        }
        // Everything above is already durable: do not write it again.
        self.pump(now);
        self.effects
            .retain(|e| !matches!(e, Effect::Persist { .. }));
        self.durable.persisting.clear();
        self.tick(now);
        self.trust_round(now);
        self.pump(now);
        report
    }

    /// Limits for this agent's own stored records (larger than a frame's).
    fn record_limits(&self) -> Limits {
        Limits {
            max_frame: 1 << 24,
            max_bytes_len: 1 << 20,
            max_items: 65_536,
            ..self.limits
        }
    }

    /// Turn this turn's durable changes into one [`Effect::Persist`].
    pub(super) fn flush_batch(&mut self) {
        let dirty = core::mem::take(&mut self.durable.ledger_dirty);
        for (topic, peer) in dirty {
            let mut key = topic.as_str().as_bytes().to_vec();
            key.push(0);
            key.extend_from_slice(peer.as_bytes());
            let r = match self.ledger.record(&topic, &peer) {
                Some(rec) => match encode_row(&rec) {
                    Ok(v) => Record::put(tables::LEDGER_ROW, key, v),
                    Err(_) => continue,
                },
                None => Record::delete(tables::LEDGER_ROW, key),
            };
            self.durable.batch.push(r);
        }
        let dirty = core::mem::take(&mut self.durable.observed_dirty);
        for (provider, capability) in dirty {
            let mut key = provider.as_bytes().to_vec();
            key.extend_from_slice(capability.as_bytes());
            let r = match self.observations.get(&provider, &capability) {
                Some(o) => match encode_observed(&provider, &capability, o) {
                    Ok(v) => Record::put(tables::SELECTION_OBSERVED, key, v),
                    Err(_) => continue,
                },
                None => Record::delete(tables::SELECTION_OBSERVED, key),
            };
            self.durable.batch.push(r);
        }
        if self.durable.batch.is_empty() {
            return;
        }
        let id = self.next_request_id();
        let records = core::mem::take(&mut self.durable.batch);
        // A host that never completes its persists must not grow this table: the oldest
        // batch is forgotten (its own log heads then stay unpublished until re-announced).
        if self.durable.persisting.len() >= self.config.max_queued {
            self.durable.persisting.pop_first();
            self.event(AgentEvent::Overflow(Overflow {
                queue: "persisting",
                dropped: 1,
            }));
        }
        self.durable
            .persisting
            .insert(id, core::mem::take(&mut self.durable.batch_acks));
        self.effect(Effect::Persist { id, records });
    }
}
