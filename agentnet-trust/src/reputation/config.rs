//! [`ReputationConfig`] and the switches it holds: the method ([`Method`]), MG options
//! ([`MgOptions`]) and what a slash does with stake ([`SlashPolicy`]).

use super::*;

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
    /// [module docs](super#collusion-discount)).
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
