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

mod compact;

use agentnet_core::config::{ConfigError, check_range};
use std::collections::{BTreeMap, BTreeSet};

use agentnet_core::AgentId;
use agentnet_core::descriptor::Topic;
use agentnet_core::semantic::Embedding;
use thiserror::Error;

use crate::baid::PrincipalCommitment;
use crate::eigentrust::{EigenTrustError, EigenTrustParams, Solver, TrustGraph};
use crate::fraud::{Culprit, Offence};
use crate::report::MAX_REPORT_ENTRIES;

/// Switches of MG-EigenTrust (all on by default; turning one off is an ablation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MgOptions {
    /// Apply verified offences (burn/freeze stake, zero trust, flag the principal).
    pub slashing: bool,
    /// Admit cross-topic bridge evidence only through the consistency gate.
    pub gate: bool,
    /// Weight cross-topic bridge evidence by topic similarity (otherwise every other topic
    /// weighs 1).
    pub semantic_weight: bool,
    /// Collusion discount: a reporter's praise of several members of one circle of
    /// providers that deal with each other counts once, split among them (see the
    /// [module docs](self#collusion-discount)).
    pub collusion_discount: bool,
}

impl Default for MgOptions {
    fn default() -> Self {
        MgOptions {
            slashing: true,
            gate: true,
            semantic_weight: true,
            collusion_discount: true,
        }
    }
}

/// Which reputation computation to run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// MG-EigenTrust.
    MultiGraph(MgOptions),
    /// Independent per-topic EigenTrust with uniform pretrust.
    PerTopic,
    /// One EigenTrust over the flattened graph with fixed pretrusted agents.
    Global,
}

/// What slashing does with stake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SlashPolicy {
    /// The stake is destroyed.
    Burn,
    /// The stake is held (it no longer counts for pretrust); the host may release it after
    /// an appeal.
    Freeze,
}

/// Configuration of [`Reputation`].
#[derive(Clone, Debug, PartialEq)]
pub struct ReputationConfig {
    /// The method. Default MG-EigenTrust with every option on.
    pub method: Method,
    /// Power-iteration parameters (see [`EigenTrustParams`]).
    pub params: EigenTrustParams,
    /// `φ`: how many good outcomes one bad outcome cancels. Default 2.0; range 0..=100.
    pub failure_weight: f64,
    /// `β`: share of the MG pretrust that comes from cross-topic bridge evidence (the rest
    /// comes from stake). Default 0.5; range 0..=1.
    pub bridge_share: f64,
    /// `δ`: how much worse behaviour here may look than in the bridged topic before the gate
    /// closes. Default 0.15; range 0..=1.
    pub gate_tolerance: f64,
    /// `m`: verified weight needed in the other topic before it can bridge. Default 3.0;
    /// range 0..=1e6.
    pub gate_min_evidence: f64,
    /// What slashing does with stake. Default [`SlashPolicy::Burn`].
    pub slash_policy: SlashPolicy,
    /// Fixed pretrusted agents of [`Method::Global`] and [`Method::PerTopic`]. Default empty
    /// (uniform).
    pub pretrusted: BTreeSet<AgentId>,
    /// Most agents. Default 1 000 000; range 1..=`u32::MAX - 1`.
    pub max_agents: usize,
    /// Most topics. Default 64; range 1..=4 096.
    pub max_topics: usize,
}

impl ReputationConfig {
    /// Check every field against its documented range ([`params`](Self::params) has its own
    /// [`EigenTrustParams::validate`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "failure_weight",
            self.failure_weight,
            0.0..=100.0,
            "0..=100",
        )?;
        check_range("bridge_share", self.bridge_share, 0.0..=1.0, "0..=1")?;
        check_range("gate_tolerance", self.gate_tolerance, 0.0..=1.0, "0..=1")?;
        check_range(
            "gate_min_evidence",
            self.gate_min_evidence,
            0.0..=1e6,
            "0..=1e6",
        )?;
        check_range(
            "max_agents",
            self.max_agents,
            1..=u32::MAX as usize - 1,
            "1..=u32::MAX - 1",
        )?;
        check_range("max_topics", self.max_topics, 1..=4096, "1..=4096")
    }
}

impl Default for ReputationConfig {
    fn default() -> Self {
        ReputationConfig {
            method: Method::MultiGraph(MgOptions::default()),
            params: EigenTrustParams::default(),
            failure_weight: 2.0,
            bridge_share: 0.5,
            gate_tolerance: 0.15,
            gate_min_evidence: 3.0,
            slash_policy: SlashPolicy::Burn,
            pretrusted: BTreeSet::new(),
            max_agents: 1_000_000,
            max_topics: 64,
        }
    }
}

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
    /// A stake is negative or not finite.
    #[error("bad stake")]
    BadStake,
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

/// What a slash did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SlashOutcome {
    /// The agent is now slashed; this much stake was burned or frozen.
    Slashed {
        /// Stake burned or frozen by this slash.
        stake: f64,
    },
    /// The agent had already been slashed.
    AlreadySlashed,
    /// This method does not slash (a baseline or the ablation); the offence was recorded.
    NotApplied,
}

#[derive(Clone, Debug)]
struct AgentState {
    id: AgentId,
    principal: Option<PrincipalCommitment>,
    stake: f64,
    burned: f64,
    frozen: f64,
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

    /// Set an agent's stake (in the host's unit). A slashed agent's stake stays zero.
    pub fn set_stake(&mut self, agent: AgentId, stake: f64) -> Result<(), ReputationError> {
        if !stake.is_finite() || stake < 0.0 {
            return Err(ReputationError::BadStake);
        }
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

    /// Apply a verified offence to the identity it blames. `culprit` says who that is: the
    /// offending key's identity (its canonical id) and the principal, if any, proven to own
    /// it ([`Culprit`]: the identity registry makes one that blames a principal only when an
    /// issuer attestation names the chain). The principal registered for the identity is
    /// flagged too: register only proven principals. A culprit made from another offence is
    /// refused ([`ReputationError::NotTheOffender`]).
    pub fn slash(
        &mut self,
        culprit: &Culprit,
        offence: &Offence,
    ) -> Result<SlashOutcome, ReputationError> {
        if culprit.offender() != offence.offender {
            return Err(ReputationError::NotTheOffender);
        }
        let (agent, principal) = (culprit.agent(), culprit.principal());
        let i = self.ensure(agent)? as usize;
        self.agents[i].offences = self.agents[i].offences.saturating_add(1);
        let slashing = matches!(self.config.method, Method::MultiGraph(o) if o.slashing);
        if !slashing {
            return Ok(SlashOutcome::NotApplied);
        }
        for p in [principal, self.agents[i].principal].into_iter().flatten() {
            self.flagged.insert(p);
        }
        let a = &mut self.agents[i];
        if a.slashed {
            return Ok(SlashOutcome::AlreadySlashed);
        }
        a.slashed = true;
        let stake = std::mem::take(&mut a.stake);
        match self.config.slash_policy {
            SlashPolicy::Burn => a.burned += stake,
            SlashPolicy::Freeze => a.frozen += stake,
        }
        self.rebuild_all = true;
        Ok(SlashOutcome::Slashed { stake })
    }

    /// Recompute every topic's scores. Cost: one warm-started EigenTrust per topic (one in
    /// total for [`Method::Global`]) plus a pass over the rows.
    pub fn recompute(&mut self) -> Result<RecomputeStats, ReputationError> {
        let n = self.agents.len();
        let mut stats = RecomputeStats {
            iterations: Vec::new(),
            converged: true,
        };
        // 1. Bring each topic graph up to date with its rows.
        let excluded: Vec<bool> = (0..self.agents.len()).map(|j| self.convicted(j)).collect();
        let phi = self.config.failure_weight;
        let rebuild_all = std::mem::take(&mut self.rebuild_all);
        for ts in &mut self.topics {
            ts.graph.grow(n)?;
            let dirty: Vec<u32> = if rebuild_all {
                ts.rows.keys().copied().collect()
            } else {
                std::mem::take(&mut ts.dirty).into_iter().collect()
            };
            ts.dirty.clear(); // also after a full rebuild
            for r in dirty {
                let row = ts.rows.get(&r).map(Vec::as_slice).unwrap_or(&[]);
                let keep_row = !excluded[r as usize];
                ts.graph.set_row(
                    r,
                    row.iter()
                        .filter(|e| keep_row && !excluded[e.0 as usize])
                        .map(|&(j, pos, neg)| (j, local_trust(pos, neg, phi))),
                )?;
            }
        }
        match self.config.method {
            Method::Global => self.recompute_global(&mut stats)?,
            Method::PerTopic => {
                let p = self.fixed_pretrust();
                for ts in &mut self.topics {
                    let c = ts.solver.run(&ts.graph, &p, &self.config.params)?;
                    stats.iterations.push(c.iterations);
                    stats.converged &= c.converged;
                    ts.scores = ts.solver.scores().to_vec();
                }
            }
            Method::MultiGraph(opts) => self.recompute_mg(opts, &mut stats)?,
        }
        Ok(stats)
    }

    fn recompute_global(&mut self, stats: &mut RecomputeStats) -> Result<(), ReputationError> {
        let n = self.agents.len();
        let phi = self.config.failure_weight;
        // Flatten: sum pos and neg over topics per (reporter, peer).
        let mut flat: BTreeMap<u32, BTreeMap<u32, (f64, f64)>> = BTreeMap::new();
        for ts in &self.topics {
            for (r, row) in &ts.rows {
                let m = flat.entry(*r).or_default();
                for &(j, pos, neg) in row {
                    let e = m.entry(j).or_default();
                    e.0 += pos as f64;
                    e.1 += neg as f64;
                }
            }
        }
        let mut edges = Vec::new();
        for (r, m) in flat {
            for (j, (pos, neg)) in m {
                let w = (pos - phi * neg).max(0.0) as f32;
                edges.push((r, j, w));
            }
        }
        let graph = TrustGraph::from_edges(n, edges)?;
        let p = self.fixed_pretrust();
        let (g, solver, scores) = self
            .global
            .get_or_insert_with(|| (TrustGraph::default(), Solver::new(), Vec::new()));
        *g = graph;
        let c = solver.run(g, &p, &self.config.params)?;
        stats.iterations.push(c.iterations);
        stats.converged &= c.converged;
        *scores = solver.scores().to_vec();
        Ok(())
    }

    /// Uniform over [`ReputationConfig::pretrusted`], or over everyone if it is empty.
    fn fixed_pretrust(&self) -> Vec<f64> {
        if self.config.pretrusted.is_empty() {
            vec![1.0; self.agents.len()]
        } else {
            self.agents
                .iter()
                .map(|a| f64::from(u8::from(self.config.pretrusted.contains(&a.id))))
                .collect()
        }
    }

    fn recompute_mg(
        &mut self,
        opts: MgOptions,
        stats: &mut RecomputeStats,
    ) -> Result<(), ReputationError> {
        let n = self.agents.len();
        let k = self.topics.len();
        let excluded: Vec<bool> = (0..n).map(|j| self.convicted(j)).collect();
        // Reporter credibility ω: before the first run every reporter counts fully;
        // afterwards in proportion to its best trust in any topic, capped at 1 (so requesters
        // that serve other topics count, and fresh identities count for nothing until they
        // have earned trust somewhere).
        let first = self.topics.iter().all(|ts| ts.scores.is_empty());
        let omega: Vec<f64> = (0..n)
            .map(|i| {
                if first {
                    return 1.0;
                }
                let best = self
                    .topics
                    .iter()
                    .map(|ts| ts.scores.get(i).copied().unwrap_or(0.0))
                    .fold(0.0, f64::max);
                (n as f64 * best).min(1.0)
            })
            .collect();
        // Collusion discount d_ij per topic (1 everywhere when off), aligned with the rows.
        let phi = self.config.failure_weight;
        let discounts: Vec<BTreeMap<u32, Vec<f64>>> = self
            .topics
            .iter()
            .map(|ts| {
                if opts.collusion_discount {
                    circle_discounts(&ts.rows, &excluded, phi)
                } else {
                    ts.rows
                        .iter()
                        .map(|(r, row)| (*r, vec![1.0; row.len()]))
                        .collect()
                }
            })
            .collect();
        // Evidence per (topic, agent).
        for (ts, d) in self.topics.iter_mut().zip(&discounts) {
            ts.pos = vec![0.0; n];
            ts.neg = vec![0.0; n];
            for (r, row) in &ts.rows {
                if excluded[*r as usize] {
                    continue;
                }
                let omega = omega[*r as usize];
                for (&(j, pos, neg), &dij) in row.iter().zip(&d[r]) {
                    ts.pos[j as usize] += omega * dij * pos as f64;
                    ts.neg[j as usize] += omega * neg as f64;
                }
            }
        }
        let eligible: Vec<bool> = excluded.iter().map(|x| !x).collect();
        let stake: Vec<f64> = self
            .agents
            .iter()
            .zip(&eligible)
            .map(|(a, e)| if *e { a.stake } else { 0.0 })
            .collect();
        let stake_sum: f64 = stake.iter().sum();
        // Semantic weights between topics.
        let weight = |a: usize, b: usize| -> f64 {
            if opts.semantic_weight {
                f64::from(self.topics[a].embedding.cosine(&self.topics[b].embedding)).max(0.0)
            } else {
                1.0
            }
        };
        // Previous scores, padded with zeros for agents added since.
        let prev: Vec<Vec<f64>> = self
            .topics
            .iter()
            .map(|ts| {
                if ts.scores.is_empty() {
                    Vec::new()
                } else {
                    let mut v = ts.scores.clone();
                    v.resize(n, 0.0);
                    v
                }
            })
            .collect();
        let beta = self.config.bridge_share;
        let (m, delta) = (self.config.gate_min_evidence, self.config.gate_tolerance);
        let rate = |pos: f64, neg: f64| (pos + 1.0) / (pos + neg + 2.0);
        let mut pretrusts = Vec::with_capacity(k);
        for tau in 0..k {
            let mut bridge = vec![0.0; n];
            let weights: Vec<(usize, f64)> = (0..k)
                .filter(|&s| s != tau && !prev[s].is_empty())
                .map(|s| (s, weight(tau, s)))
                .filter(|(_, w)| *w > 0.0)
                .collect();
            let wsum: f64 = weights.iter().map(|w| w.1).sum();
            if wsum > 0.0 {
                let here = &self.topics[tau];
                for (j, b) in bridge.iter_mut().enumerate() {
                    if !eligible[j] {
                        continue;
                    }
                    let r_here = rate(here.pos[j], here.neg[j]);
                    let mut acc = 0.0;
                    for &(s, w) in &weights {
                        let there = &self.topics[s];
                        let open = !opts.gate
                            || (there.pos[j] + there.neg[j] >= m
                                && r_here >= rate(there.pos[j], there.neg[j]) - delta);
                        if open {
                            acc += w * prev[s][j];
                        }
                    }
                    *b = acc / wsum;
                }
            }
            let bridge_sum: f64 = bridge.iter().sum();
            let (ws, wb) = match (stake_sum > 0.0, bridge_sum > 0.0) {
                (true, true) => (1.0 - beta, beta),
                (true, false) => (1.0, 0.0),
                (false, true) => (0.0, 1.0),
                (false, false) => (0.0, 0.0),
            };
            let mut p: Vec<f64> = (0..n)
                .map(|j| {
                    let s = if ws > 0.0 {
                        ws * stake[j] / stake_sum
                    } else {
                        0.0
                    };
                    let b = if wb > 0.0 {
                        wb * bridge[j] / bridge_sum
                    } else {
                        0.0
                    };
                    s + b
                })
                .collect();
            if p.iter().all(|v| *v == 0.0) {
                p = eligible.iter().map(|e| f64::from(u8::from(*e))).collect();
            }
            pretrusts.push(p);
        }
        for ((ts, p), d) in self.topics.iter_mut().zip(pretrusts).zip(&discounts) {
            if opts.collusion_discount {
                // The discounted share of each row goes to a sink (index n) that trusts
                // nobody, so it is passed on by the pretrust; the agents' scores are then
                // renormalised to a distribution.
                let graph = discounted_graph(&ts.rows, d, &excluded, phi)?;
                let mut p = p;
                p.push(0.0);
                let c = ts.solver.run(&graph, &p, &self.config.params)?;
                stats.iterations.push(c.iterations);
                stats.converged &= c.converged;
                let t = ts.solver.scores();
                let total: f64 = t[..n].iter().sum();
                let scale = if total > 0.0 { 1.0 / total } else { 0.0 };
                ts.scores = t[..n].iter().map(|v| v * scale).collect();
            } else {
                let c = ts.solver.run(&ts.graph, &p, &self.config.params)?;
                stats.iterations.push(c.iterations);
                stats.converged &= c.converged;
                ts.scores = ts.solver.scores().to_vec();
            }
            // Convicted agents hold exactly zero (no pretrust and no edges in; this removes
            // the last rounding residue of a warm start).
            for (j, x) in excluded.iter().enumerate() {
                if *x {
                    ts.scores[j] = 0.0;
                }
            }
        }
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

    /// Whether `agent` is eligible for MG pretrust (`e(j) = 1`: not slashed, principal not
    /// flagged). A fresh identity of a slashed principal is not.
    pub fn eligible_for_pretrust(&self, agent: &AgentId) -> bool {
        self.index
            .get(agent)
            .is_some_and(|&j| !self.convicted(j as usize))
    }

    /// Whether `agent` is convicted: slashed, or an identity of a flagged principal. Its
    /// score is 0 in every topic; hosts should not hire it at all (not even to explore).
    pub fn is_convicted(&self, agent: &AgentId) -> bool {
        self.index
            .get(agent)
            .is_some_and(|&j| self.convicted(j as usize))
    }

    /// Slashed, or an identity of a flagged principal.
    fn convicted(&self, j: usize) -> bool {
        let a = &self.agents[j];
        a.slashed || a.principal.is_some_and(|p| self.flagged.contains(&p))
    }

    /// Whether `agent` was slashed.
    pub fn is_slashed(&self, agent: &AgentId) -> bool {
        self.index
            .get(agent)
            .is_some_and(|&j| self.agents[j as usize].slashed)
    }

    /// Whether a principal commitment is flagged.
    pub fn is_flagged(&self, principal: &PrincipalCommitment) -> bool {
        self.flagged.contains(principal)
    }

    /// Offences recorded against `agent` (whether or not this method slashes).
    pub fn offences(&self, agent: &AgentId) -> u32 {
        self.index
            .get(agent)
            .map_or(0, |&j| self.agents[j as usize].offences)
    }

    /// `(stake, burned, frozen)` of `agent`.
    pub fn stake(&self, agent: &AgentId) -> (f64, f64, f64) {
        self.index.get(agent).map_or((0.0, 0.0, 0.0), |&j| {
            let a = &self.agents[j as usize];
            (a.stake, a.burned, a.frozen)
        })
    }

    /// Number of agents.
    pub fn agents(&self) -> usize {
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
            stake: 0.0,
            burned: 0.0,
            frozen: 0.0,
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

/// `d_ij` for every entry of every row (aligned with the row; rows of convicted reporters
/// and entries about convicted peers get 1 and are dropped elsewhere): see the
/// [module docs](self#collusion-discount).
fn circle_discounts(
    rows: &BTreeMap<u32, Vec<(u32, f32, f32)>>,
    excluded: &[bool],
    phi: f64,
) -> BTreeMap<u32, Vec<f64>> {
    let n = excluded.len();
    let praises = |r: u32, j: u32, pos: f32, neg: f32| {
        !excluded[r as usize] && !excluded[j as usize] && local_trust(pos, neg, phi) > 0.0
    };
    // Undirected praise neighbourhoods N(j), sorted.
    let mut nbrs: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (&r, row) in rows {
        for &(j, pos, neg) in row {
            if praises(r, j, pos, neg) {
                nbrs[r as usize].push(j);
                nbrs[j as usize].push(r);
            }
        }
    }
    for v in &mut nbrs {
        v.sort_unstable();
        v.dedup();
    }
    rows.iter()
        .map(|(&r, row)| {
            // R_i: the peers this reporter praises (rows are sorted by peer).
            let praised: Vec<u32> = row
                .iter()
                .filter(|e| praises(r, e.0, e.1, e.2))
                .map(|e| e.0)
                .collect();
            let d = row
                .iter()
                .map(|&(j, _, _)| {
                    // 1 + |(R_i \ {j}) ∩ N(j)|; i itself is never in R_i.
                    let shared = sorted_intersection(&praised, &nbrs[j as usize]);
                    1.0 / (1 + shared) as f64
                })
                .collect();
            (r, d)
        })
        .collect()
}

/// Size of the intersection of two sorted, deduplicated lists: each element of the shorter
/// one looked up in the longer one, O(min · log max).
fn sorted_intersection(a: &[u32], b: &[u32]) -> usize {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    short
        .iter()
        .filter(|x| long.binary_search(x).is_ok())
        .count()
}

/// The topic graph with the collusion discount: `w_ij · d_ij` per entry, and what the
/// discount removed from the row as one edge to the sink at index `n`.
fn discounted_graph(
    rows: &BTreeMap<u32, Vec<(u32, f32, f32)>>,
    d: &BTreeMap<u32, Vec<f64>>,
    excluded: &[bool],
    phi: f64,
) -> Result<TrustGraph, ReputationError> {
    let n = excluded.len();
    let sink = n as u32;
    let mut edges = Vec::new();
    for (&r, row) in rows {
        if excluded[r as usize] {
            continue;
        }
        let mut removed = 0.0f64;
        for (&(j, pos, neg), &dij) in row.iter().zip(&d[&r]) {
            if excluded[j as usize] {
                continue;
            }
            let w = f64::from(local_trust(pos, neg, phi));
            if w > 0.0 {
                // Praise is discounted, complaints are not.
                let kept = f64::from(local_trust((f64::from(pos) * dij) as f32, neg, phi));
                if kept > 0.0 {
                    edges.push((r, j, kept as f32));
                }
                removed += w - kept;
            }
        }
        if removed > 0.0 {
            edges.push((r, sink, removed as f32));
        }
    }
    Ok(TrustGraph::from_edges(n + 1, edges)?)
}

fn local_trust(pos: f32, neg: f32, phi: f64) -> f32 {
    (pos as f64 - phi * neg as f64).max(0.0) as f32
}

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn out_of_range_config_is_refused_by_name() {
        ReputationConfig::default().validate().unwrap();
        let e = Reputation::new(ReputationConfig {
            bridge_share: 1.5,
            ..ReputationConfig::default()
        })
        .unwrap_err();
        assert!(matches!(e, ReputationError::Config(ref c) if c.field == "bridge_share"));
        let e = ReputationConfig {
            max_topics: 0,
            ..ReputationConfig::default()
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.field, "max_topics");
    }
}

#[cfg(test)]
mod collusion_tests {
    use super::*;
    use proptest::prelude::*;

    type Entry = (u32, f32, f32);
    type Rows = BTreeMap<u32, Vec<Entry>>;

    fn rows(list: &[(u32, &[Entry])]) -> Rows {
        list.iter().map(|(r, e)| (*r, e.to_vec())).collect()
    }

    #[test]
    fn praise_into_a_clique_is_split_and_independent_praise_is_not() {
        // 0, 1, 2 hire each other; voucher 3 praises all three; requester 4 praises 5, 6, 7,
        // which never dealt with each other.
        let r = rows(&[
            (0, &[(1, 5.0, 0.0), (2, 5.0, 0.0)]),
            (1, &[(0, 5.0, 0.0), (2, 5.0, 0.0)]),
            (2, &[(0, 5.0, 0.0), (1, 5.0, 0.0)]),
            (3, &[(0, 5.0, 0.0), (1, 5.0, 0.0), (2, 5.0, 0.0)]),
            (4, &[(5, 5.0, 0.0), (6, 5.0, 0.0), (7, 5.0, 0.0)]),
        ]);
        let d = circle_discounts(&r, &[false; 8], 2.0);
        assert_eq!(d[&3], vec![1.0 / 3.0; 3]);
        assert_eq!(d[&4], vec![1.0; 3]);
        // Inside the clique each member praises two that deal with each other.
        assert_eq!(d[&0], vec![0.5; 2]);
        // The graph keeps each row's total, the removed share going to the sink (index 8).
        let g = discounted_graph(&r, &d, &[false; 8], 2.0).unwrap();
        let row3: Vec<(u32, f32)> = g.row(3).collect();
        assert_eq!(row3.len(), 4);
        assert!((row3[3].1 - 10.0).abs() < 1e-5 && row3[3].0 == 8);
        assert_eq!(g.row(4).count(), 3);
        // A convicted member drops out of the neighbourhoods: 0 and 1 no longer share 2.
        let mut ex = [false; 8];
        ex[2] = true;
        let d = circle_discounts(&r, &ex, 2.0);
        assert_eq!(d[&3][0], 0.5);
        assert_eq!(d[&0][0], 1.0);
    }

    #[test]
    fn complaints_are_not_discounted() {
        let r = rows(&[(0, &[(1, 5.0, 0.0)]), (3, &[(0, 5.0, 0.0), (1, 4.0, 1.0)])]);
        let d = circle_discounts(&r, &[false; 4], 2.0);
        assert_eq!(d[&3], vec![0.5, 0.5]);
        let g = discounted_graph(&r, &d, &[false; 4], 2.0).unwrap();
        // 0: 0.5·5 kept; 1: max(0, 0.5·4 − 2·1) = 0; removed 2.5 + 2 to the sink.
        let row: Vec<(u32, f32)> = g.row(3).collect();
        assert_eq!(row, vec![(0, 2.5), (4, 4.5)]);
    }

    proptest! {
        /// `d_ij` is exactly `1 / (1 + #other providers i praises that praised j or were
        /// praised by j)`, in (0, 1], and the discounted graph keeps every row's total.
        #[test]
        fn discount_matches_its_definition(
            edges in proptest::collection::vec((0u32..8, 0u32..8, 0u8..4, 0u8..2), 0..40),
            convicted in proptest::collection::vec(any::<bool>(), 8),
        ) {
            let mut r: Rows = BTreeMap::new();
            for (a, b, pos, neg) in edges {
                if a != b {
                    r.entry(a).or_default().push((b, f32::from(pos), f32::from(neg)));
                }
            }
            for row in r.values_mut() {
                row.sort_by_key(|e| e.0);
                row.dedup_by_key(|e| e.0);
            }
            let phi = 2.0;
            let praises = |a: u32, b: u32| -> bool {
                !convicted[a as usize] && !convicted[b as usize]
                    && r.get(&a).is_some_and(|row| {
                        row.iter().any(|e| e.0 == b && local_trust(e.1, e.2, phi) > 0.0)
                    })
            };
            let d = circle_discounts(&r, &convicted, phi);
            for (&i, row) in &r {
                for (k, &(j, _, _)) in row.iter().enumerate() {
                    let shared = (0..8)
                        .filter(|&m| m != j && praises(i, m) && (praises(m, j) || praises(j, m)))
                        .count();
                    prop_assert_eq!(d[&i][k], 1.0 / (1 + shared) as f64);
                }
            }
            let g = discounted_graph(&r, &d, &convicted, phi).unwrap();
            for (&i, row) in &r {
                if convicted[i as usize] {
                    prop_assert_eq!(g.row(i).count(), 0);
                    continue;
                }
                let before: f64 = row
                    .iter()
                    .filter(|e| !convicted[e.0 as usize])
                    .map(|e| f64::from(local_trust(e.1, e.2, phi)))
                    .sum();
                let after: f64 = g.row(i).map(|e| f64::from(e.1)).sum();
                prop_assert!((before - after).abs() <= 1e-4 * before.max(1.0));
            }
        }
    }
}
