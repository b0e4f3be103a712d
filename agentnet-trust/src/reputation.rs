//! Reputation: MG-EigenTrust (multi-topic EigenTrust with dynamic pretrust and slashing) and
//! the two baselines it is compared with.
//!
//! [`Reputation`] turns local-trust rows — each reporter's verified tallies `(pos, neg)` per
//! peer and topic, from its own [`Ledger`](crate::ledger::Ledger) or from signed
//! [`TrustReport`](crate::report::TrustReport)s — into a global trust score per (agent,
//! topic). It is a plain sans-IO object: the host feeds rows, stakes and verified offences,
//! calls [`recompute`](Reputation::recompute) when it wants fresh scores (e.g. once per
//! epoch), and reads [`score`](Reputation::score). No clock, no randomness; the same inputs
//! give bit-identical scores.
//!
//! # Formulas
//! Notation: agents `i, j`; topics `τ, σ`; `a` = [`EigenTrustParams::alpha`]; `φ` =
//! [`ReputationConfig::failure_weight`]; `(pos_ij^τ, neg_ij^τ)` = what reporter `i` says about
//! `j` in `τ`.
//!
//! **Local trust** (all methods): `w_ij^τ = max(0, pos_ij^τ − φ · neg_ij^τ)`, normalised per
//! row inside EigenTrust ([`crate::eigentrust`]).
//!
//! **Per-topic EigenTrust** ([`Method::PerTopic`]): for each topic independently,
//! `t_τ = (1 − a)·C_τᵀ·t_τ + a·u`, with `u` uniform over the fixed set
//! [`ReputationConfig::pretrusted`] (uniform over everyone if it is empty): plain EigenTrust,
//! run once per topic.
//!
//! **Flattened global EigenTrust** ([`Method::Global`]): one graph with
//! `w_ij = max(0, Σ_τ pos_ij^τ − φ · Σ_τ neg_ij^τ)` and pretrust uniform over the fixed set
//! [`ReputationConfig::pretrusted`] (uniform over everyone if it is empty); every topic reads
//! the same score.
//!
//! **MG-EigenTrust** ([`Method::MultiGraph`]): per topic, `t_τ = (1 − a)·C_τᵀ·t_τ + a·p_τ`
//! with a dynamic pretrust
//!
//! ```text
//! p_τ(j)    = (1 − β) · S(j) / Σ_k S(k)  +  β · B_τ(j) / Σ_k B_τ(k)
//! S(j)      = e(j) · stake(j)
//! B_τ(j)    = e(j) · Σ_{σ≠τ} w_τσ · g_τσ(j) · t_σ(j)  /  Σ_{σ≠τ} w_τσ
//! w_τσ      = max(0, cos(emb_τ, emb_σ))            (semantic weight; 1 when disabled)
//! g_τσ(j)   = [ P_σ(j) + N_σ(j) ≥ m ]  ·  [ r_τ(j) ≥ r_σ(j) − δ ]   (consistency gate; 1 when disabled)
//! r_τ(j)    = (P_τ(j) + 1) / (P_τ(j) + N_τ(j) + 2)
//! P_τ(j)    = Σ_i ω_i · d_ij^τ · pos_ij^τ ,   N_τ(j) = Σ_i ω_i · neg_ij^τ   (d: collusion discount, below)
//! ω_i       = min(1, n · max_σ t_σ(i))            (a reporter counts fully once it has average trust somewhere)
//! e(j)      = 0 if j is slashed or its principal is flagged, else 1
//! ```
//!
//! `β` = [`ReputationConfig::bridge_share`], `m` = [`ReputationConfig::gate_min_evidence`],
//! `δ` = [`ReputationConfig::gate_tolerance`]; `t_σ` and `ω` are from the previous
//! [`recompute`](Reputation::recompute) (the first one uses `ω = 1` and no bridge). If one of
//! the two pretrust parts is empty the other takes its weight; if both are, `p_τ` is uniform
//! over eligible agents.
//!
//! The gate is what defeats the *disguise*: an agent that earns trust in one topic and
//! defects in a related one shows verified failures in the second, `r_τ` falls below
//! `r_σ − δ`, and the trust it earned elsewhere stops flowing into its pretrust here. The
//! semantic weight keeps trust from unrelated topics (creative writing → security review)
//! from counting at all.
//!
//! ## Collusion discount
//! (MG with [`MgOptions::collusion_discount`].) Staged tasks are real work with evidence that
//! really verifies, so a clique can fill every ledger it controls with praise the checks
//! accept: its members hire each other, and accomplices (who may hold real trust elsewhere)
//! vouch for all of them. Each such praise passes every check; what gives the clique away is
//! its shape: the praised providers deal with each other. The discount treats praise of
//! several providers that deal with each other as praise of one party, split among them:
//!
//! ```text
//! N_τ(j)   = { k : w_jk^τ > 0  or  w_kj^τ > 0 }       (j's praise relations in τ, either direction)
//! R_τ(i)   = { k : w_ik^τ > 0 }                        (whom i praises in τ)
//! d_ij^τ   = 1 / (1 + |R_τ(i) ∩ N_τ(j)|)
//! w'_ij^τ  = max(0, d_ij^τ · pos_ij^τ − φ · neg_ij^τ)
//! ```
//!
//! (`j ∉ N_τ(j)` and `i ∉ R_τ(i)`, so the count is of the *other* providers `i` praises that
//! have praised `j` or been praised by it; convicted agents and their rows are left out
//! first.) In the topic graph row `i` keeps its old total `Σ_k w_ik^τ`: entry `j` gets
//! `w'_ij^τ`, and what the discount removed, `Σ_k (w_ik^τ − w'_ik^τ)`, goes to a sink that
//! trusts nobody, so that share of `i`'s trust is passed on by the pretrust `p_τ`, like the
//! trust of an agent with an empty row; the agents' scores are then rescaled to sum 1. The
//! same `d` weighs the positive evidence `P_τ` that the gate reads.
//!
//! What follows from the formula:
//! - A reporter none of whose praised providers have dealt with each other in `τ` — the
//!   common case for an independent requester — is not discounted at all (`d = 1`).
//! - A reporter that praises `k` providers that all deal with each other (a clique) gives
//!   each of them `1/k` of its praise: together they receive what one of them would. The
//!   clique's members praising each other are such reporters too, so trust that circulates
//!   inside a clique mostly drains back to the pretrust instead of compounding.
//! - Complaints (`neg`) are never discounted: collusion inflates praise; discounting
//!   complaints would only shield a circle.
//!
//! Threat model and limits. It is aimed at cliques whose praise stays among providers that
//! deal with each other, and at accomplices that spread their praise over several members.
//! It does not see: accomplices that each praise a single member (every such row has
//! `d = 1`; they matter only as much as the accomplices' own trust in `τ`, which is what the
//! stake pretrust bounds); members that never deal with each other in `τ` (relations in other
//! topics do not count); a clique of two. It costs honest agents too: a requester that
//! praises two honest providers that once hired each other gives each half its praise.
//! Cost per recompute and topic: the neighbourhoods (O(edges)), one intersection
//! per entry (O(|R_τ(i)| · log |N_τ(j)|), rows are at most
//! [`MAX_REPORT_ENTRIES`] long), and the topic graph is
//! rebuilt, so the solver does a full residual pass instead of a warm patch.
//!
//! **Slashing** (MG with [`MgOptions::slashing`]): a verified [`Offence`] against `j`
//! burns or freezes its stake ([`SlashPolicy`]), marks `j` slashed and flags its principal
//! commitment. Every identity of a flagged principal, present or future, is *convicted*:
//! `e = 0` (no pretrust), every edge into it and every report from it are dropped, so its
//! trust is zero in every topic. A fresh key of a convicted principal starts with nothing,
//! and its associates' praise cannot lift it (whitewashing gains nothing). The threat model
//! behind that choice: the principal is the accountable party, and an issuer attests one
//! commitment per principal, so a new key is the same party; identities with no attested
//! principal are not covered and must earn trust from zero like any newcomer.
//! Baselines and the ablation without slashing record the offence and do nothing else.
//!
//! # Bounds
//! At most [`ReputationConfig::max_agents`] agents and [`ReputationConfig::max_topics`]
//! topics; rows longer than [`crate::report::MAX_REPORT_ENTRIES`] are refused. A full agent
//! table first forgets every agent nothing refers to ([`Reputation::compact`]: no stake,
//! offence, principal or row), so ids named once by free keys cannot keep honest newcomers
//! out.

mod collusion;
mod compact;
mod compute;
mod config;
mod slash;

pub use config::*;
pub use slash::*;

use agentnet_core::config::{ConfigError, check_range};
use std::collections::{BTreeMap, BTreeSet};

use agentnet_core::AgentId;
use agentnet_core::descriptor::Topic;
use agentnet_core::money::Micros;
use agentnet_core::semantic::Embedding;
use thiserror::Error;

use crate::baid::PrincipalCommitment;
use crate::eigentrust::{EigenTrustError, EigenTrustParams, Solver, TrustGraph};
use crate::fraud::{Culprit, Offence};
use crate::report::MAX_REPORT_ENTRIES;

/// Why an input was refused.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReputationError {
    /// [`ReputationConfig::max_agents`] reached.
    #[error("too many agents ({0})")]
    TooManyAgents(usize),
    /// [`ReputationConfig::max_topics`] reached.
    #[error("too many topics ({0})")]
    TooManyTopics(usize),
    /// The topic was never added.
    #[error("unknown topic {0:?}")]
    UnknownTopic(Topic),
    /// The topic was added before.
    #[error("topic {0:?} already added")]
    DuplicateTopic(Topic),
    /// A row is too long or has a bad value.
    #[error("bad row: {0}")]
    BadRow(&'static str),
    /// A configuration field is out of its documented range.
    #[error("bad configuration: {0}")]
    Config(#[from] ConfigError),
    /// The power iteration refused its input.
    #[error(transparent)]
    EigenTrust(#[from] EigenTrustError),
    /// The culprit passed to [`Reputation::slash`] is not the offence's offender.
    #[error("the culprit is not the offence's offender")]
    NotTheOffender,
}

#[derive(Clone, Debug)]
struct AgentState {
    id: AgentId,
    principal: Option<PrincipalCommitment>,
    stake: Micros,
    burned: Micros,
    frozen: Micros,
    slashed: bool,
    offences: u32,
}

#[derive(Clone, Debug)]
struct TopicState {
    topic: Topic,
    embedding: Embedding,
    /// Reporter → sorted (peer, pos, neg).
    rows: BTreeMap<u32, Vec<(u32, f32, f32)>>,
    dirty: BTreeSet<u32>,
    graph: TrustGraph,
    solver: Solver,
    scores: Vec<f64>,
    pos: Vec<f64>,
    neg: Vec<f64>,
}

/// Per-run statistics.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RecomputeStats {
    /// Solver sweeps per topic (one entry for [`Method::Global`]); 0 when nothing changed.
    pub iterations: Vec<u32>,
    /// Whether every run converged.
    pub converged: bool,
}

/// The reputation engine. See the [module docs](self) for the formulas.
#[derive(Clone, Debug)]
pub struct Reputation {
    config: ReputationConfig,
    agents: Vec<AgentState>,
    index: BTreeMap<AgentId, u32>,
    topics: Vec<TopicState>,
    topic_index: BTreeMap<Topic, usize>,
    flagged: BTreeSet<PrincipalCommitment>,
    global: Option<(TrustGraph, Solver, Vec<f64>)>,
    rebuild_all: bool,
}

impl Reputation {
    /// A new engine with no agents and no topics.
    pub fn new(config: ReputationConfig) -> Result<Self, ReputationError> {
        config.params.validate()?;
        config.validate()?;
        let global = matches!(config.method, Method::Global)
            .then(|| (TrustGraph::default(), Solver::new(), Vec::new()));
        Ok(Reputation {
            config,
            agents: Vec::new(),
            index: BTreeMap::new(),
            topics: Vec::new(),
            topic_index: BTreeMap::new(),
            flagged: BTreeSet::new(),
            global,
            rebuild_all: false,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ReputationConfig {
        &self.config
    }

    /// Add a topic with its embedding (used for the semantic weight; encode the topic's
    /// description with the host's [`SemanticEncoder`](agentnet_core::semantic::SemanticEncoder)).
    pub fn add_topic(&mut self, topic: Topic, embedding: Embedding) -> Result<(), ReputationError> {
        if self.topic_index.contains_key(&topic) {
            return Err(ReputationError::DuplicateTopic(topic));
        }
        if self.topics.len() >= self.config.max_topics {
            return Err(ReputationError::TooManyTopics(self.topics.len()));
        }
        let n = self.agents.len();
        self.topic_index.insert(topic.clone(), self.topics.len());
        self.topics.push(TopicState {
            topic,
            embedding,
            rows: BTreeMap::new(),
            dirty: BTreeSet::new(),
            graph: TrustGraph::new(n)?,
            solver: Solver::new(),
            scores: Vec::new(),
            pos: vec![0.0; n],
            neg: vec![0.0; n],
        });
        Ok(())
    }

    /// Register an agent (by canonical id) with its principal commitment, if known. Agents
    /// named in rows are registered automatically without a principal. Registering again
    /// sets a principal that was unknown; it never changes a known one.
    pub fn register(
        &mut self,
        agent: AgentId,
        principal: Option<PrincipalCommitment>,
    ) -> Result<(), ReputationError> {
        let i = self.ensure(agent)?;
        let a = &mut self.agents[i as usize];
        if a.principal.is_none() {
            a.principal = principal;
            if principal.is_some_and(|p| self.flagged.contains(&p)) {
                // Edges into it may exist already: rebuild without them.
                self.rebuild_all = true;
            }
        }
        Ok(())
    }

    /// Set an agent's stake. A slashed agent's stake stays zero. MG pretrust weighs eligible
    /// agents by stake in whole units (`stake / UNIT` as `f64`), so only ratios matter.
    pub fn set_stake(&mut self, agent: AgentId, stake: Micros) -> Result<(), ReputationError> {
        let i = self.ensure(agent)?;
        let a = &mut self.agents[i as usize];
        if !a.slashed {
            a.stake = stake;
        }
        Ok(())
    }

    /// Replace `reporter`'s row in `topic`: `(peer, pos, neg)` tallies, as from its ledger or
    /// a [`ReportBook`](crate::report::ReportBook). Self-entries are ignored.
    pub fn set_row(
        &mut self,
        reporter: AgentId,
        topic: &Topic,
        entries: impl IntoIterator<Item = (AgentId, f32, f32)>,
    ) -> Result<(), ReputationError> {
        let t = *self
            .topic_index
            .get(topic)
            .ok_or_else(|| ReputationError::UnknownTopic(topic.clone()))?;
        let mut row: Vec<(AgentId, f32, f32)> = Vec::new();
        for (peer, pos, neg) in entries {
            if !(pos.is_finite() && neg.is_finite() && pos >= 0.0 && neg >= 0.0) {
                return Err(ReputationError::BadRow("tally negative or not finite"));
            }
            if peer != reporter {
                row.push((peer, pos, neg));
            }
            if row.len() > MAX_REPORT_ENTRIES {
                return Err(ReputationError::BadRow("too many entries"));
            }
        }
        // Register everyone first so a refusal leaves no partial row behind.
        let needed = row
            .iter()
            .map(|e| e.0)
            .chain([reporter])
            .filter(|id| !self.index.contains_key(id))
            .collect::<BTreeSet<_>>()
            .len();
        if self.agents.len() + needed > self.config.max_agents {
            // Make room from agents nothing refers to; the reporter's old row (replaced
            // below) still counts as a reference, which only keeps more.
            self.compact()?;
            if self.agents.len() + needed > self.config.max_agents {
                return Err(ReputationError::TooManyAgents(self.agents.len()));
            }
        }
        let r = self.ensure(reporter)?;
        let mut ix: Vec<(u32, f32, f32)> = Vec::with_capacity(row.len());
        for (peer, pos, neg) in row {
            ix.push((self.ensure(peer)?, pos, neg));
        }
        ix.sort_by_key(|e| e.0);
        ix.dedup_by_key(|e| e.0);
        let ts = &mut self.topics[t];
        ts.rows.insert(r, ix);
        ts.dirty.insert(r);
        Ok(())
    }

    /// Every agent's score in `topic` from the last [`recompute`](Self::recompute), in
    /// registration order.
    pub fn scores(&self, topic: &Topic) -> Vec<(AgentId, f64)> {
        (0..self.agents.len())
            .map(|j| (self.agents[j].id, self.score_ix(topic, j)))
            .collect()
    }

    /// Global trust of `agent` in `topic` from the last [`recompute`](Self::recompute)
    /// (0 for unknown agents or topics, and before the first recompute). A convicted agent
    /// reads 0 from the moment of the slash, without waiting for the next recompute.
    pub fn score(&self, agent: &AgentId, topic: &Topic) -> f64 {
        self.index
            .get(agent)
            .map_or(0.0, |&j| self.score_ix(topic, j as usize))
    }

    fn score_ix(&self, topic: &Topic, j: usize) -> f64 {
        if self.convicted(j) {
            return 0.0;
        }
        if let Some((_, _, s)) = &self.global {
            return s.get(j).copied().unwrap_or(0.0);
        }
        self.topic_index
            .get(topic)
            .and_then(|&t| self.topics[t].scores.get(j).copied())
            .unwrap_or(0.0)
    }

    /// Number of agents.
    pub fn agent_count(&self) -> usize {
        self.agents.len()
    }

    /// The topics, in the order added.
    pub fn topics(&self) -> impl Iterator<Item = &Topic> {
        self.topics.iter().map(|t| &t.topic)
    }

    /// Verified evidence `(P_τ(j), N_τ(j))` for `agent` in `topic` from the last MG recompute
    /// (zeros for the baselines); `P_τ` is counted after the collusion discount when it is
    /// on.
    pub fn evidence(&self, agent: &AgentId, topic: &Topic) -> (f64, f64) {
        let (Some(&j), Some(&t)) = (self.index.get(agent), self.topic_index.get(topic)) else {
            return (0.0, 0.0);
        };
        let ts = &self.topics[t];
        (
            ts.pos.get(j as usize).copied().unwrap_or(0.0),
            ts.neg.get(j as usize).copied().unwrap_or(0.0),
        )
    }

    fn ensure(&mut self, agent: AgentId) -> Result<u32, ReputationError> {
        if let Some(&i) = self.index.get(&agent) {
            return Ok(i);
        }
        if self.agents.len() >= self.config.max_agents {
            self.compact()?;
        }
        if self.agents.len() >= self.config.max_agents {
            return Err(ReputationError::TooManyAgents(self.agents.len()));
        }
        let i = self.agents.len() as u32;
        self.agents.push(AgentState {
            id: agent,
            principal: None,
            stake: 0,
            burned: 0,
            frozen: 0,
            slashed: false,
            offences: 0,
        });
        self.index.insert(agent, i);
        for ts in &mut self.topics {
            ts.pos.push(0.0);
            ts.neg.push(0.0);
        }
        Ok(i)
    }
}

#[cfg(test)]
mod tests;
