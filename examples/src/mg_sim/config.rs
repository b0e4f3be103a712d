//! The MG-EigenTrust simulation's inputs and raw output: the topic table, the compared methods, the experiment configuration and one run's result.

use agentnet_trust::reputation::{Method, MgOptions, ReputationConfig};

/// The paper's five topics, then three more for the harder runs (`topics` up to 8): (topic,
/// description encoded for the semantic weight).
pub const TOPICS: [(&str, &str); 8] = [
    (
        "code/generation",
        "code generation: write source code, functions and programs",
    ),
    (
        "code/review-security",
        "code review and security audit of source code for vulnerabilities",
    ),
    (
        "devops/tool-execution",
        "devops tool execution: run deployment and infrastructure tools",
    ),
    (
        "data/analysis",
        "data analysis: statistics, tables and charts over datasets",
    ),
    (
        "creative/writing",
        "creative writing: stories, poems and marketing copy",
    ),
    (
        "research/web-search",
        "web research: search the web and summarise sources",
    ),
    (
        "language/translation",
        "translation and localisation of documents between languages",
    ),
    (
        "support/customer",
        "customer support: answer user questions and tickets",
    ),
];
/// Where attackers build their reputation.
pub const SOURCE: usize = 0;
/// Where they defect.
pub const TARGET: usize = 1;

/// The methods compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodName {
    /// Uniform choice among the candidates, no reputation.
    Random,
    /// One flattened EigenTrust with fixed pretrusted agents.
    GlobalEigenTrust,
    /// Independent per-topic EigenTrust.
    PerTopicEigenTrust,
    /// MG-EigenTrust.
    MgEigenTrust,
    /// MG without slashing.
    MgWithoutSlashing,
    /// MG without the consistency gate.
    MgWithoutGate,
    /// MG without the semantic weight.
    MgWithoutSemanticWeight,
    /// MG without the collusion discount.
    MgWithoutCollusionDiscount,
}

impl MethodName {
    /// Every method, in report order.
    pub const ALL: [MethodName; 8] = [
        MethodName::Random,
        MethodName::GlobalEigenTrust,
        MethodName::PerTopicEigenTrust,
        MethodName::MgEigenTrust,
        MethodName::MgWithoutSlashing,
        MethodName::MgWithoutGate,
        MethodName::MgWithoutSemanticWeight,
        MethodName::MgWithoutCollusionDiscount,
    ];

    /// The `method` field of the JSON.
    pub fn name(self) -> &'static str {
        match self {
            MethodName::Random => "random",
            MethodName::GlobalEigenTrust => "global_eigentrust",
            MethodName::PerTopicEigenTrust => "per_topic_eigentrust",
            MethodName::MgEigenTrust => "mg_eigentrust",
            MethodName::MgWithoutSlashing => "mg_without_slashing",
            MethodName::MgWithoutGate => "mg_without_gate",
            MethodName::MgWithoutSemanticWeight => "mg_without_semantic_weight",
            MethodName::MgWithoutCollusionDiscount => "mg_without_collusion_discount",
        }
    }

    pub(super) fn method(self) -> Option<Method> {
        let mg = MgOptions::default();
        Some(match self {
            MethodName::Random => return None,
            MethodName::GlobalEigenTrust => Method::Global,
            MethodName::PerTopicEigenTrust => Method::PerTopic,
            MethodName::MgEigenTrust => Method::MultiGraph(mg),
            MethodName::MgWithoutSlashing => Method::MultiGraph(MgOptions {
                slashing: false,
                ..mg
            }),
            MethodName::MgWithoutGate => Method::MultiGraph(MgOptions { gate: false, ..mg }),
            MethodName::MgWithoutSemanticWeight => Method::MultiGraph(MgOptions {
                semantic_weight: false,
                ..mg
            }),
            MethodName::MgWithoutCollusionDiscount => Method::MultiGraph(MgOptions {
                collusion_discount: false,
                ..mg
            }),
        })
    }
}

/// Parameters of one run. See the module docs for their meaning.
#[derive(Clone, Debug, PartialEq)]
pub struct ExperimentConfig {
    /// Agents at the start. Default 100.
    pub nodes: usize,
    /// Topics (2..=8, the first ones of [`TOPICS`]). Default 5.
    pub topics: usize,
    /// Epochs. Default 50.
    pub epochs: usize,
    /// Tasks per topic per epoch. Default 50.
    pub queries: usize,
    /// Candidates sampled per task. Default 8.
    pub candidates: usize,
    /// Fraction of colluding agents. Default 0.2.
    pub malicious_fraction: f64,
    /// Share of the non-bridge colluders that are slow defectors instead of attackers.
    /// Default 0 (the paper's attack).
    pub defector_share: f64,
    /// Probability that a slow defector sabotages an honest requester's code review after
    /// warm-up (always behind a forged, consistent trace). Default 0.4.
    pub defector_rate: f64,
    /// Epochs of good behaviour before attackers defect. Default 10.
    pub warmup: usize,
    /// Deposit per identity. Default 10.
    pub stake: f64,
    /// What one successful sabotage is worth to the attackers. Default 1.
    pub gain: f64,
    /// Probability that an attacker sabotages an honest requester's code review after warm-up
    /// (below 1 the disguise extends into code review). Default 1.
    pub sabotage_rate: f64,
    /// `φ`: how many good outcomes one bad one cancels, in ledgers and reputation; also the
    /// weight of a failed evidence check. Default 2.
    pub failure_weight: f64,
    /// Probability that a colluder's code task is staged with a fellow attacker. Default 0.5.
    pub collusion: f64,
    /// Extra staged code tasks each bridge files per epoch with random attackers. Default 10.
    pub vouches: usize,
    /// Probability a requester explores among zero-trust candidates. Default 0.1.
    pub explore: f64,
    /// Probability a saboteur ships its real trace (caught by the evidence check). Default 0.5.
    pub sloppy: f64,
    /// Probability a requester notices sabotage behind a forged, consistent trace. Default 0.5.
    pub notice: f64,
    /// Probability of a canary alongside a task. Default 0.1.
    pub canary_rate: f64,
    /// Probability of an evidence check in low-risk topics. Default 0.3.
    pub evidence_rate: f64,
    /// EigenTrust `a` for every method. Default 0.15.
    pub alpha: f64,
    /// MG's `β` ([`ReputationConfig::bridge_share`]). Default: the library default.
    pub bridge_share: f64,
    /// Fixed pretrusted honest agents of the global baseline. Default 5.
    pub pretrusted: usize,
    /// Verified weight (reported `pos + neg`) needed before a record can flag an agent.
    /// Default 3.
    pub flag_min_evidence: f64,
    /// Attackers whitewash below this multiple of the median code-review score. Default 0.5.
    pub whitewash_below: f64,
    /// Ledger half-life in epochs. Default 10.
    pub half_life_epochs: u64,
}

impl Default for ExperimentConfig {
    fn default() -> Self {
        ExperimentConfig {
            nodes: 100,
            topics: 5,
            epochs: 50,
            queries: 50,
            candidates: 8,
            malicious_fraction: 0.2,
            defector_share: 0.0,
            defector_rate: 0.4,
            warmup: 10,
            stake: 10.0,
            gain: 1.0,
            sabotage_rate: 1.0,
            failure_weight: 2.0,
            collusion: 0.5,
            vouches: 10,
            explore: 0.1,
            sloppy: 0.5,
            notice: 0.5,
            canary_rate: 0.1,
            evidence_rate: 0.3,
            alpha: 0.15,
            bridge_share: ReputationConfig::default().bridge_share,
            pretrusted: 5,
            flag_min_evidence: 3.0,
            whitewash_below: 0.5,
            half_life_epochs: 10,
        }
    }
}

/// What one (method, seed) run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunResult {
    /// Per epoch: (code-review tasks after warm-up, sabotaged ones).
    pub per_epoch: Vec<(u64, u64)>,
    /// Sabotaged tasks.
    pub sabotaged: u64,
    /// Code-review tasks after warm-up.
    pub target_tasks: u64,
    /// Colluders' capital (see `attacker_roi`).
    pub deposited: f64,
    /// Stake burned by slashing.
    pub burned: f64,
    /// Identities that sabotaged at least once.
    pub defecting: u64,
    /// Of those, flagged at the end.
    pub defecting_flagged: u64,
    /// Honest identities.
    pub honest: u64,
    /// Of those, flagged at the end.
    pub honest_flagged: u64,
    /// Cold-start reputation of the newcomer.
    pub cold_start: f64,
    /// Trust-report entries sent, per epoch.
    pub control_entries: Vec<u64>,
    /// Fraud proofs verified.
    pub fraud_proofs: u64,
    /// Sybil identities created.
    pub sybils: u64,
    /// Of `sabotaged`, the tasks sabotaged by slow defectors.
    pub defector_sabotaged: u64,
    /// Slow-defector identities that sabotaged at least once (included in `defecting`).
    pub defectors: u64,
    /// Of those, flagged at the end (included in `defecting_flagged`).
    pub defectors_flagged: u64,
    /// MG variants: (current colluder identities serving both code topics, of those with the
    /// code generation → code review gate open at the end).
    pub gate_colluders: (u64, u64),
    /// MG variants: the same for honest agents serving both code topics.
    pub gate_honest: (u64, u64),
}
