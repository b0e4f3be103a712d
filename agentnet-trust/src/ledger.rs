//! The interaction ledger: this agent's own, verified experience of each peer, per topic.
//!
//! Local trust is the input of every reputation method in [`crate::reputation`]. It must not be
//! something a peer can talk its way into, so the ledger accepts only outcomes backed by a
//! check this node made itself:
//!
//! - a [`CanaryVerdict`] (a challenge this node issued and graded, or that timed out);
//! - a task outcome together with [`VerifiedEvidence`] (an evidence package that passed
//!   [`verify_evidence`](crate::evidence::verify_evidence) for the exact result received);
//! - a task outcome the node judged itself on bytes the provider's signature commits to
//!   ([`Ledger::record_checked_task`], weighted lower: the provider signed the result's hash
//!   in its delivery, but no third party could check the judgement);
//! - an [`EvidenceRejection`]: a package that the provider signed and that failed
//!   verification — attributable to the provider because its signature is on it;
//! - a verified [`Offence`] (a fraud proof), which zeroes the peer in every topic and keeps
//!   it at zero.
//!
//! Those types have no public constructors outside this crate's verifiers, so "fed only by
//! verified interactions" is a property of the API, not a convention.
//!
//! # Values and decay
//! For each (peer, topic) the ledger keeps two decayed tallies, `pos` (weight of good
//! outcomes) and `neg` (weight of bad ones). A tally recorded at time `t₀` is worth
//! `v · 2^(−(now − t₀)/half_life)` when read at `now`; decay is computed on read from the
//! `now` passed in, never from a clock. The local trust of a peer is
//!
//! ```text
//! s(peer, topic) = max(0, pos − failure_weight · neg)
//! ```
//!
//! so one failure cancels `failure_weight` successes (default 2: cheating must cost more than
//! honest work earns).
//!
//! # Identity
//! Key the ledger by the peer's *canonical* id from the identity registry (the key that
//! started its identity chain), not by the key that signed the latest message: then a key
//! rotation keeps the history, and an old key cannot start a fresh record.
//!
//! # Bounds
//! At most [`LedgerConfig::max_topics`] topics and [`LedgerConfig::max_peers`] peers per
//! topic. A new peer in a full topic evicts the peer with the smallest total weight
//! `pos + neg` as of the record's time (ties: the smallest id), and the eviction is counted.

use std::collections::{BTreeMap, BTreeSet};

use agentnet_core::config::{ConfigError, check_range};
use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, WallTime};
use core::time::Duration;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::canary::{CanaryOutcome, CanaryVerdict};
use crate::evidence::{EvidenceRejection, VerifiedEvidence};
use crate::fraud::Offence;

/// Ledger parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LedgerConfig {
    /// Half-life of recorded outcomes. Default 7 days; range 1 s..=10 years.
    pub half_life: Duration,
    /// How many successes one failure cancels in the local trust. Default 2.0; range 0..=100.
    pub failure_weight: f64,
    /// Weight of a passed or failed canary. Default 1.0; range 0..=100.
    pub canary_weight: f64,
    /// Weight of a task outcome backed by evidence. Default 1.0; range 0..=100.
    pub task_weight: f64,
    /// Weight of a task outcome checked without an evidence package (tiers 1 and 2: the
    /// provider signed the delivery of a result whose bytes the requester checked against
    /// the signed hash and judged itself). Default 0.5; range 0..=100.
    pub checked_weight: f64,
    /// Weight of an evidence package that failed verification (counted in `neg`). Default
    /// 2.0; range 0..=100.
    pub rejection_weight: f64,
    /// Most topics tracked. Default 64; range 1..=4 096.
    pub max_topics: usize,
    /// Most peers tracked per topic. Default 4 096; range 1..=1 000 000.
    pub max_peers: usize,
}

impl LedgerConfig {
    /// Check every field against its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "half_life",
            self.half_life,
            Duration::from_secs(1)..=Duration::from_secs(10 * 365 * 86_400),
            "1 s..=10 years",
        )?;
        for (field, w) in [
            ("failure_weight", self.failure_weight),
            ("canary_weight", self.canary_weight),
            ("task_weight", self.task_weight),
            ("checked_weight", self.checked_weight),
            ("rejection_weight", self.rejection_weight),
        ] {
            check_range(field, w, 0.0..=100.0, "0..=100")?;
        }
        check_range("max_topics", self.max_topics, 1..=4096, "1..=4096")?;
        check_range("max_peers", self.max_peers, 1..=1_000_000, "1..=1000000")
    }
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            half_life: Duration::from_secs(7 * 24 * 3600),
            failure_weight: 2.0,
            canary_weight: 1.0,
            task_weight: 1.0,
            checked_weight: 0.5,
            rejection_weight: 2.0,
            max_topics: 64,
            max_peers: 4096,
        }
    }
}

/// How a delegated task turned out, as judged by the requester on the verified result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskOutcome {
    /// The result met the task's quality bar.
    Accepted,
    /// The result was delivered with valid evidence but did not meet the bar.
    Rejected,
}

/// Why an outcome was not recorded.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// [`LedgerConfig::max_topics`] topics are tracked already.
    #[error("too many topics ({0})")]
    TooManyTopics(usize),
    /// The peer was convicted by a fraud proof; nothing more is recorded about it.
    #[error("peer {0} is convicted")]
    Convicted(AgentId),
}

/// Two decayed tallies as of `at`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tally {
    /// Weight of good outcomes as of `at`.
    pub pos: f64,
    /// Weight of bad outcomes as of `at`.
    pub neg: f64,
    /// When the weights were last brought up to date.
    pub at: WallTime,
}

impl Tally {
    /// The tally decayed to `now` (never grows; a `now` before `at` leaves it unchanged).
    #[must_use]
    pub fn at_time(&self, now: WallTime, half_life: Duration) -> Tally {
        let f = decay(now.saturating_duration_since(self.at), half_life);
        Tally {
            pos: self.pos * f,
            neg: self.neg * f,
            at: now.max(self.at),
        }
    }
}

fn decay(elapsed: Duration, half_life: Duration) -> f64 {
    let h = half_life.as_secs_f64().max(1e-3);
    (-(elapsed.as_secs_f64() / h) * core::f64::consts::LN_2).exp()
}

/// One ledger row for persistence and reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LedgerRecord {
    /// The topic.
    pub topic: Topic,
    /// The peer (canonical id).
    pub peer: AgentId,
    /// Its tallies.
    pub tally: Tally,
}

/// This agent's verified experience per (topic, peer). See the [module docs](self).
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    config: LedgerConfig,
    topics: BTreeMap<Topic, BTreeMap<AgentId, Tally>>,
    convicted: BTreeSet<AgentId>,
    evicted: u64,
}

impl Ledger {
    /// An empty ledger. Refuses a config with a field outside its documented range
    /// ([`LedgerConfig::validate`]).
    pub fn new(config: LedgerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Ledger {
            config,
            ..Default::default()
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// Record a closed canary in its topic.
    pub fn record_canary(&mut self, verdict: &CanaryVerdict) -> Result<(), LedgerError> {
        self.record_canary_as(verdict, verdict.provider())
    }

    /// Record a closed canary against `peer`, the canonical id of the verdict's provider key
    /// (the key the canary was issued to may be a later key of the same identity chain).
    pub fn record_canary_as(
        &mut self,
        verdict: &CanaryVerdict,
        peer: AgentId,
    ) -> Result<(), LedgerError> {
        let w = self.config.canary_weight;
        let (pos, neg) = match verdict.outcome() {
            CanaryOutcome::Passed => (w, 0.0),
            CanaryOutcome::Failed | CanaryOutcome::TimedOut => (0.0, w),
        };
        self.add(verdict.topic(), peer, pos, neg, verdict.at())
    }

    /// Record a task outcome backed by verified evidence. `peer` is the provider's canonical
    /// id (the evidence names the key that signed it; resolve it through the registry).
    pub fn record_task(
        &mut self,
        topic: &Topic,
        peer: AgentId,
        evidence: &VerifiedEvidence,
        outcome: TaskOutcome,
        now: WallTime,
    ) -> Result<(), LedgerError> {
        let _ = evidence; // its existence is the point: only verified packages get here
        let w = self.config.task_weight;
        let (pos, neg) = match outcome {
            TaskOutcome::Accepted => (w, 0.0),
            TaskOutcome::Rejected => (0.0, w),
        };
        self.add(topic, peer, pos, neg, now)
    }

    /// Record a task outcome this node judged without an evidence package: the provider
    /// signed the delivery (a session DELIVER naming the result's hash) and this node checked
    /// the received bytes against that hash before judging them. Weighted by
    /// [`LedgerConfig::checked_weight`], below evidence-backed outcomes, because nothing
    /// but this node's own judgement stands behind it. `peer` is the canonical id.
    pub fn record_checked_task(
        &mut self,
        topic: &Topic,
        peer: AgentId,
        outcome: TaskOutcome,
        now: WallTime,
    ) -> Result<(), LedgerError> {
        let w = self.config.checked_weight;
        let (pos, neg) = match outcome {
            TaskOutcome::Accepted => (w, 0.0),
            TaskOutcome::Rejected => (0.0, w),
        };
        self.add(topic, peer, pos, neg, now)
    }

    /// Record an evidence package the provider signed that failed verification.
    pub fn record_rejection(
        &mut self,
        topic: &Topic,
        peer: AgentId,
        rejection: &EvidenceRejection,
        now: WallTime,
    ) -> Result<(), LedgerError> {
        let _ = rejection;
        self.add(topic, peer, 0.0, self.config.rejection_weight, now)
    }

    /// A verified fraud proof convicted `peer` (canonical id): drop its record in every topic
    /// and refuse further entries about it.
    pub fn record_offence(&mut self, peer: AgentId, offence: &Offence) {
        let _ = offence;
        for rows in self.topics.values_mut() {
            rows.remove(&peer);
        }
        self.convicted.insert(peer);
    }

    /// The stored (undecayed) row of `peer` in `topic`, for persistence.
    pub fn record(&self, topic: &Topic, peer: &AgentId) -> Option<LedgerRecord> {
        let tally = *self.topics.get(topic)?.get(peer)?;
        Some(LedgerRecord {
            topic: topic.clone(),
            peer: *peer,
            tally,
        })
    }

    /// Forget `peer`'s conviction (the host no longer keeps the proof: its proof store is
    /// bounded). Entries about `peer` are accepted again; returns whether it was convicted.
    pub fn forget_conviction(&mut self, peer: &AgentId) -> bool {
        self.convicted.remove(peer)
    }

    /// Whether `peer` was convicted by a fraud proof.
    pub fn is_convicted(&self, peer: &AgentId) -> bool {
        self.convicted.contains(peer)
    }

    /// The tallies for `peer` in `topic`, decayed to `now`.
    pub fn tally(&self, topic: &Topic, peer: &AgentId, now: WallTime) -> Option<Tally> {
        self.topics
            .get(topic)?
            .get(peer)
            .map(|t| t.at_time(now, self.config.half_life))
    }

    /// Local trust `max(0, pos − failure_weight · neg)` of `peer` in `topic` at `now`.
    pub fn local_trust(&self, topic: &Topic, peer: &AgentId, now: WallTime) -> f64 {
        self.tally(topic, peer, now)
            .map_or(0.0, |t| self.trust_of(&t))
    }

    /// Local trust `max(0, pos − failure_weight · neg)` of a tally.
    pub fn trust_of(&self, t: &Tally) -> f64 {
        (t.pos - self.config.failure_weight * t.neg).max(0.0)
    }

    /// Every peer's tallies in `topic` at `now`, by peer id.
    pub fn row(&self, topic: &Topic, now: WallTime) -> Vec<(AgentId, Tally)> {
        self.topics.get(topic).map_or_else(Vec::new, |rows| {
            rows.iter()
                .map(|(p, t)| (*p, t.at_time(now, self.config.half_life)))
                .collect()
        })
    }

    /// The topics with at least one peer.
    pub fn topics(&self) -> impl Iterator<Item = &Topic> {
        self.topics.keys()
    }

    /// Peers evicted because a topic was full.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Every record, for persistence (the convicted set is in [`convicted`](Self::convicted)).
    pub fn export(&self) -> Vec<LedgerRecord> {
        self.topics
            .iter()
            .flat_map(|(topic, rows)| {
                rows.iter().map(|(peer, tally)| LedgerRecord {
                    topic: topic.clone(),
                    peer: *peer,
                    tally: *tally,
                })
            })
            .collect()
    }

    /// Convicted peers, for persistence.
    pub fn convicted(&self) -> impl Iterator<Item = &AgentId> {
        self.convicted.iter()
    }

    /// Rebuild from persisted records and convictions (bounds apply as when recording).
    pub fn restore(
        &mut self,
        records: impl IntoIterator<Item = LedgerRecord>,
        convicted: impl IntoIterator<Item = AgentId>,
    ) -> Result<(), LedgerError> {
        self.convicted.extend(convicted);
        for r in records {
            self.add(&r.topic, r.peer, r.tally.pos, r.tally.neg, r.tally.at)?;
        }
        Ok(())
    }

    fn add(
        &mut self,
        topic: &Topic,
        peer: AgentId,
        pos: f64,
        neg: f64,
        now: WallTime,
    ) -> Result<(), LedgerError> {
        if self.convicted.contains(&peer) {
            return Err(LedgerError::Convicted(peer));
        }
        if !self.topics.contains_key(topic) && self.topics.len() >= self.config.max_topics {
            return Err(LedgerError::TooManyTopics(self.topics.len()));
        }
        let half_life = self.config.half_life;
        let rows = self.topics.entry(topic.clone()).or_default();
        if !rows.contains_key(&peer) && rows.len() >= self.config.max_peers {
            let victim = rows
                .iter()
                .map(|(p, t)| {
                    let t = t.at_time(now, half_life);
                    (t.pos + t.neg, *p)
                })
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .map(|(_, p)| p);
            if let Some(v) = victim {
                rows.remove(&v);
                self.evicted += 1;
            }
        }
        let t = rows.entry(peer).or_insert(Tally {
            pos: 0.0,
            neg: 0.0,
            at: now,
        });
        let mut d = t.at_time(now, half_life);
        d.pos += pos;
        d.neg += neg;
        *t = d;
        Ok(())
    }
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn out_of_range_config_is_refused_by_name() {
        LedgerConfig::default().validate().unwrap();
        let e = Ledger::new(LedgerConfig {
            failure_weight: -1.0,
            ..LedgerConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.field, "failure_weight");
        let e = Ledger::new(LedgerConfig {
            max_topics: 0,
            ..LedgerConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "max_topics = 0 is outside 1..=4096");
    }
}
