//! The cross-topic disguise-collusion experiment (arXiv 2606.17368), run on the production
//! trust plane: real keys, canaries graded by [`CanaryBook`], evidence packages checked by
//! [`verify_evidence`], fraud proofs built from the failed checks and verified, ledgers,
//! signed sparse trust reports through a [`ReportBook`], and [`Reputation`] computing every
//! method's scores. Nothing about who is malicious reaches the reputation code; it sees only
//! what the verification paths produce.
//!
//! # The world
//! - `nodes` agents, `topics` topics (the paper's five: code generation, code review/security,
//!   devops tool execution, data analysis, creative writing; up to three more for the harder
//!   runs: web research, translation, customer support). Every agent deposits `stake`
//!   per identity and has a principal commitment attested by a KYC issuer (the same person
//!   always gets the same commitment, so every identity of one principal shares it).
//! - Honest agents serve 2–3 random topics with quality `q ~ U(0.75, 0.98)` (the chance a
//!   task succeeds).
//! - A `malicious_fraction` of agents collude. Three quarters are **attackers**: they build
//!   their name in code generation (quality 0.97, the disguise) and also serve code review,
//!   where during `warmup` epochs they work like an ordinary honest reviewer (quality drawn
//!   like an honest agent's), so they earn no special standing *in that topic*. After
//!   warm-up they keep doing excellent code generation and sabotage code-review tasks from
//!   honest requesters with probability `sabotage_rate`. The rest are **bridges**: excellent
//!   (0.97) honest work in every topic except the two code topics, which earns them real
//!   trust there.
//! - A `defector_share` of the would-be attackers are **slow defectors** instead: excellent
//!   (0.97) in both code topics, and after warm-up they sabotage an honest requester's code
//!   review only with probability `defector_rate`, always behind a forged, consistent trace,
//!   so they never produce a fraud proof. Canaries look like work, so they fail the canary
//!   that goes with a sabotaged task. To the requesters they look like a weak honest reviewer
//!   (at the default 0.4 a verified acceptance rate of about 0.97·0.6 + 0.4·(1 − `notice`) ≈
//!   0.78, inside the honest range 0.75–0.98, so their record is never "more bad than good").
//!   They are staged with, vouched for and re-enter like attackers. This is the attack where
//!   slashing cannot help and only the gate, the semantic weight, the collusion discount and
//!   the ledger can.
//! - Collusion is staged tasks: good work with honest evidence, so the praise that follows
//!   is backed by checks that really pass — the only praise the ledger accepts. When a
//!   colluder needs a code task it hires a random fellow attacker with probability
//!   `collusion`; on top of that every bridge files `vouches` staged code tasks per epoch
//!   (alternating code generation and code review) with random attackers (slow defectors
//!   included). Bridges hold no
//!   trust in the code topics, so their vouching is worth something only to a method that
//!   lets trust cross topics.
//! - **Sybil re-entry**: an attacker whose identity was convicted by a fraud proof, or whose code-review score
//!   fell below `whitewash_below` × the median of code-review providers, abandons it and
//!   comes back under a fresh key with a fresh deposit (same principal). The colluders'
//!   staged tasks go to current identities, so a fresh one is praised from its first epoch.
//!
//! # One epoch
//! For every topic, `queries` tasks: a random requester (any agent) samples `candidates`
//! providers of the topic (keys convicted by a fraud proof are no candidates) and picks one
//! by EigenTrust's selection rule — proportional to the method's trust, or with probability
//! `explore` (and when all are zero) uniformly among the zero-trust candidates; `random`
//! picks uniformly — unless it is a colluder staging a task. Verification follows the
//! requester's risk policy:
//! - code review (high risk) always requires an evidence package (Tier 3); other topics do
//!   with probability `evidence_rate`. An honest provider's package verifies and the
//!   requester records the outcome (accepted with probability `q`). A saboteur either ships
//!   its real tool trace with the altered result (probability `sloppy`): the check fails
//!   with a final-output mismatch, which [`FraudProof::from_evidence_report`] turns into a
//!   receipt-contradiction proof that anyone can verify; or it forges a consistent trace:
//!   the check passes and the requester notices the sabotage itself with probability
//!   `notice` (a rejected outcome), otherwise it is fooled (an accepted outcome).
//! - With probability `canary_rate` the requester also sends the provider a canary (Tier
//!   2), indistinguishable from work; saboteurs fail it, honest agents pass with
//!   probability `q`.
//! - Tasks without a check produce no ledger entry.
//!
//! At the end of the epoch every agent sends its signed trust reports from its ledger, the
//! shared [`ReportBook`] applies them, and [`Reputation`] recomputes.
//! Each method differs only in its [`ReputationConfig`] and report salience:
//! `global_eigentrust` (one flattened graph, `pretrusted` fixed honest agents, full reports),
//! `per_topic_eigentrust` (the same fixed pretrusted agents per topic, full reports),
//! `mg_eigentrust` (stake and bridge pretrust, gate, semantic weight, collusion discount,
//! slashing, salient reports) and its four ablations (without slashing, gate, semantic weight,
//! collusion discount).
//!
//! **Fraud proofs are the same for every method.** A proof is self-verifying, so it travels
//! to every agent under every method (`random` included): every agent's ledger drops the
//! convicted key and refuses further entries about it (so no method's reports mention it
//! again), and no requester hires a convicted key. The proof is handed to every method's
//! [`Reputation::slash`]; what only MG with slashing adds is its own mechanism: the stake is
//! burned (the attackers' ROI), and the principal is flagged, so every other and every
//! future key of the same principal is convicted too (a Sybil re-entry gains nothing). Under
//! the baselines and the ablation without slashing a fresh key of the same principal starts
//! clean.
//!
//! # Metrics (per method, pooled over seeds)
//! - `attack_success`: sabotaged code-review tasks ÷ honest requesters' code-review tasks
//!   after warm-up (damage is done when the result is delivered, whether or not it is caught
//!   later).
//! - `attacker_roi`: `(gain × sabotaged tasks − stake burned) ÷ capital`, where capital is
//!   the colluders' deposits: one `stake` per colluding agent at the start plus a fresh one
//!   for every Sybil that replaces a *slashed* identity (a whitewashed identity withdraws its
//!   deposit and moves it to the new key). Burn-only: the colluders' operating cost is left
//!   out, as in the paper.
//! - Attacker policy: an identity is replaced when it is slashed, or when it has sabotaged
//!   and its code-review score fell below `whitewash_below` × the median of code-review
//!   providers.
//! - `detection_rate`: of the identities that sabotaged at least once, the fraction the
//!   method *flags* at the end: convicted by a fraud proof (public, so under every method) or
//!   slashed by MG, or its reported verified record in code review is
//!   more bad than good (`N > P` with `P + N ≥ flag_min_evidence`, summed over the reports
//!   the method received; the global baseline's reports are flattened, so its record is the
//!   flattened one).
//! - `false_positive_rate`: of honest identities, the fraction flagged (convicted or slashed,
//!   or a record more bad than good in a topic they serve).
//! - `defector_attack_success` and `defector_detection_rate`: the same two restricted to the
//!   slow defectors (their sabotaged tasks over the same denominator; their identities).
//! - `gate_open_colluders` / `gate_open_honest` (MG variants, a diagnostic): the share of
//!   unconvicted colluders / honest agents serving both code topics whose consistency gate
//!   from code generation into code review is open at the end, evaluated from MG's own
//!   evidence ([`Reputation::evidence`]).
//! - `cold_start_reputation`: an honest agent with a deposit joins at epoch `epochs / 2`;
//!   its mean score over its topics right after joining, before any interaction (`random`
//!   has no scores: 0).
//! - `control_entries_per_epoch`: trust-report entries sent per epoch by all agents.

use std::collections::BTreeSet;

use agentnet_core::descriptor::Topic;
use agentnet_core::semantic::{HashedNgramConfig, HashedNgramEncoder, SemanticEncoder};
use agentnet_core::sim::SimRng;
use agentnet_core::wire::Limits;
use agentnet_core::{AgentId, Hash, Instant, Keypair, Now, Signed, WallTime};
use agentnet_trust::baid::PrincipalCommitment;
use agentnet_trust::canary::{CanaryBook, CanaryConfig, Expected};
use agentnet_trust::eigentrust::EigenTrustParams;
use agentnet_trust::evidence::{
    Answer, EvidencePackage, EvidencePolicy, ReceiptChain, RejectAllAttestations, TaskId,
    verify_evidence,
};
use agentnet_trust::fraud::{Culprit, FraudProof};
use agentnet_trust::ledger::{Ledger, LedgerConfig, TaskOutcome};
use agentnet_trust::mg::{Method, MgOptions, Reputation, ReputationConfig};
use agentnet_trust::report::{
    ReportBook, ReportBookConfig, ReportBuilder, SalienceConfig, TrustReport,
};
use core::time::Duration;

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

    fn method(self) -> Option<Method> {
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

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Honest,
    Attacker,
    /// The slow defector: never ships a contradicting trace.
    Defector,
    Bridge,
}

impl Role {
    /// Attackers and slow defectors: the colluders that serve the code topics and defect.
    fn defects(self) -> bool {
        matches!(self, Role::Attacker | Role::Defector)
    }
}

#[derive(Debug)]
struct Node {
    role: Role,
    topics: Vec<usize>,
    quality: Vec<f64>,
    principal: PrincipalCommitment,
    identity: usize,
    ledger: Ledger,
    builder: ReportBuilder,
    canaries: CanaryBook,
}

#[derive(Debug)]
struct Identity {
    key: Keypair,
    node: usize,
    sabotaged: u64,
    active: bool,
}

struct World {
    cfg: ExperimentConfig,
    method: MethodName,
    rng: SimRng,
    topics: Vec<Topic>,
    nodes: Vec<Node>,
    ids: Vec<Identity>,
    rep: Option<Reputation>,
    book: ReportBook,
    global_topic: Topic,
    limits: Limits,
    /// Identities convicted by a verified fraud proof. The proof is self-verifying and
    /// travels to every agent, so this set is public knowledge under every method.
    convicted: BTreeSet<AgentId>,
    /// Report salience of this method.
    salience: SalienceConfig,
    /// Every agent's ledger configuration.
    ledger_cfg: LedgerConfig,
    result: RunResult,
    task_counter: u64,
}

fn seed_bytes(seed: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&seed.to_le_bytes());
    s[8..16].copy_from_slice(b"mg-trust");
    s
}

fn now_at(epoch: usize, step: u64) -> Now {
    let ms = (epoch as u64) * 3_600_000 + step;
    Now::new(
        Instant::from_millis(ms),
        WallTime::from_unix_millis(1_800_000_000_000 + ms),
    )
}

impl World {
    fn new(cfg: &ExperimentConfig, method: MethodName, seed: u64) -> Self {
        let mut rng = SimRng::stream(seed_bytes(seed), 1);
        let k = cfg.topics.clamp(2, TOPICS.len());
        let topics: Vec<Topic> = TOPICS[..k]
            .iter()
            .map(|(t, _)| Topic::new(*t).expect("valid topic"))
            .collect();
        let encoder =
            HashedNgramEncoder::new(HashedNgramConfig::default()).expect("default config");
        let malicious = (cfg.nodes as f64 * cfg.malicious_fraction).round() as usize;
        let attackers = (malicious as f64 * 0.75).round() as usize;
        let defectors = (attackers as f64 * cfg.defector_share.clamp(0.0, 1.0)).round() as usize;
        let mut roles: Vec<Role> = (0..cfg.nodes)
            .map(|i| {
                if i < defectors {
                    Role::Defector
                } else if i < attackers {
                    Role::Attacker
                } else if i < malicious {
                    Role::Bridge
                } else {
                    Role::Honest
                }
            })
            .collect();
        shuffle(&mut rng, &mut roles);
        let ledger_cfg = LedgerConfig {
            half_life: Duration::from_secs(3600 * cfg.half_life_epochs.max(1)),
            failure_weight: cfg.failure_weight,
            rejection_weight: cfg.failure_weight,
            ..Default::default()
        };
        let salience = salience(method, ledger_cfg.half_life);
        let mut w = World {
            cfg: cfg.clone(),
            method,
            rng,
            topics,
            nodes: Vec::new(),
            ids: Vec::new(),
            rep: None,
            book: ReportBook::new(ReportBookConfig {
                half_life: ledger_cfg.half_life,
                ..Default::default()
            })
            .expect("valid config"),
            global_topic: Topic::new("all").expect("valid topic"),
            limits: Limits::default(),
            salience,
            ledger_cfg,
            convicted: BTreeSet::new(),
            result: RunResult::default(),
            task_counter: 0,
        };
        for role in roles {
            let topics = match role {
                Role::Attacker | Role::Defector => vec![SOURCE, TARGET],
                Role::Bridge => w.pick_other_topics(),
                Role::Honest => {
                    let count = 2 + w.rng.below(2) as usize;
                    w.pick_topics(count)
                }
            };
            let quality = topics
                .iter()
                .map(|&t| match role {
                    Role::Attacker if t == TARGET => 0.75 + 0.23 * w.rng.unit(),
                    Role::Attacker | Role::Defector | Role::Bridge => 0.97,
                    Role::Honest => 0.75 + 0.23 * w.rng.unit(),
                })
                .collect();
            w.push_node(role, topics, quality);
        }
        // Baselines: a few honest agents are pretrusted.
        let honest: Vec<usize> = (0..w.nodes.len())
            .filter(|&i| w.nodes[i].role == Role::Honest)
            .collect();
        let mut picks = honest;
        shuffle(&mut w.rng, &mut picks);
        picks.truncate(cfg.pretrusted);
        for node in 0..w.nodes.len() {
            w.new_identity(node);
        }
        // The baselines' fixed pretrusted agents (MG ignores the set).
        let pretrusted: BTreeSet<AgentId> = picks
            .iter()
            .map(|&n| w.ids[w.nodes[n].identity].key.id())
            .collect();
        if let Some(m) = method.method() {
            let mut r = Reputation::new(ReputationConfig {
                method: m,
                params: EigenTrustParams {
                    alpha: cfg.alpha,
                    epsilon: 1e-9,
                    max_iterations: 1000,
                },
                failure_weight: cfg.failure_weight,
                bridge_share: cfg.bridge_share,
                pretrusted,
                ..Default::default()
            })
            .expect("valid reputation config");
            if method == MethodName::GlobalEigenTrust {
                r.add_topic(w.global_topic.clone(), encoder.encode("all"))
                    .expect("one topic");
            } else {
                for (i, t) in w.topics.iter().enumerate() {
                    r.add_topic(t.clone(), encoder.encode(TOPICS[i].1))
                        .expect("few topics");
                }
            }
            for id in &w.ids {
                r.register(id.key.id(), Some(w.nodes[id.node].principal))
                    .expect("bounded");
                r.set_stake(id.key.id(), cfg.stake).expect("valid stake");
            }
            w.rep = Some(r);
        }
        w.result.deposited = 0.0;
        for id in &w.ids {
            if w.nodes[id.node].role != Role::Honest {
                w.result.deposited += cfg.stake;
            }
        }
        w
    }

    /// Add an agent with a fresh principal commitment (no identity yet).
    fn push_node(&mut self, role: Role, topics: Vec<usize>, quality: Vec<f64>) -> usize {
        let mut blinding = [0u8; 32];
        blinding[..8].copy_from_slice(&self.rng.next_u64().to_le_bytes());
        let node = self.nodes.len();
        self.nodes.push(Node {
            role,
            topics,
            quality,
            principal: PrincipalCommitment::new(format!("principal-{node}").as_bytes(), &blinding),
            identity: usize::MAX,
            ledger: Ledger::new(self.ledger_cfg).expect("valid config"),
            builder: ReportBuilder::new(self.salience).expect("valid config"),
            canaries: CanaryBook::new(CanaryConfig::default()).expect("valid config"),
        });
        node
    }

    /// A bridge's topics: every topic other than the two code topics (or code generation
    /// alone when there are only two topics).
    fn pick_other_topics(&self) -> Vec<usize> {
        let others: Vec<usize> = (0..self.topics.len())
            .filter(|t| *t != SOURCE && *t != TARGET)
            .collect();
        if others.is_empty() {
            vec![SOURCE]
        } else {
            others
        }
    }

    fn pick_topics(&mut self, n: usize) -> Vec<usize> {
        let mut all: Vec<usize> = (0..self.topics.len()).collect();
        shuffle(&mut self.rng, &mut all);
        all.truncate(n.min(self.topics.len()));
        all.sort_unstable();
        all
    }

    /// A fresh key for `node` (its first identity or a Sybil re-entry), with a deposit.
    fn new_identity(&mut self, node: usize) {
        let mut seed = [0u8; 32];
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&self.rng.next_u64().to_le_bytes());
        }
        let key = Keypair::from_seed(seed);
        let id = key.id();
        if self.nodes[node].identity != usize::MAX {
            let old = self.nodes[node].identity;
            self.ids[old].active = false;
            self.result.sybils += 1;
            // A whitewashed identity withdraws its deposit and moves it to the new key; a
            // slashed one lost it, so the colluders put up fresh capital.
            let burned = self
                .rep
                .as_ref()
                .is_some_and(|r| r.is_slashed(&self.ids[old].key.id()));
            if self.nodes[node].role != Role::Honest && burned {
                self.result.deposited += self.cfg.stake;
            }
        }
        // A new key is a new reporter: its reports start again from a full row.
        self.nodes[node].builder = ReportBuilder::new(self.salience).expect("valid config");
        self.nodes[node].identity = self.ids.len();
        self.ids.push(Identity {
            key,
            node,
            sabotaged: 0,
            active: true,
        });
        let principal = self.nodes[node].principal;
        if let Some(r) = self.rep.as_mut() {
            r.register(id, Some(principal)).expect("bounded");
            r.set_stake(id, self.cfg.stake).expect("valid stake");
        }
    }

    fn score(&self, id: &AgentId, topic: usize) -> f64 {
        self.rep
            .as_ref()
            .map_or(0.0, |r| r.score(id, &self.topics[topic]))
    }

    fn next_task(&mut self) -> TaskId {
        self.task_counter += 1;
        let mut h = agentnet_core::hash::Hasher::new("agentnet/example/mg-task");
        h.update_u64(self.task_counter)
            .update_u64(self.rng.next_u64());
        TaskId(h.finalize())
    }

    fn run(mut self) -> RunResult {
        let epochs = self.cfg.epochs;
        for epoch in 0..epochs {
            if epoch == epochs / 2 {
                self.cold_start();
            }
            let mut target = 0u64;
            let mut sabotaged = 0u64;
            let mut step = 0u64;
            self.vouch(epoch, &mut step);
            for topic in 0..self.topics.len() {
                for _ in 0..self.cfg.queries {
                    step += 1;
                    let (t, s) = self.task(epoch, topic, step);
                    target += t;
                    sabotaged += s;
                }
            }
            self.result.per_epoch.push((target, sabotaged));
            self.result.target_tasks += target;
            self.result.sabotaged += sabotaged;
            let entries = self.exchange_reports(epoch);
            self.result.control_entries.push(entries);
            self.attackers_adapt(epoch);
        }
        self.final_metrics();
        self.result
    }

    /// One delegated task; returns (counts as a code-review task after warm-up, sabotaged).
    fn task(&mut self, epoch: usize, topic: usize, step: u64) -> (u64, u64) {
        let now = now_at(epoch, step * 10);
        let requester = self.rng.below(self.nodes.len() as u64) as usize;
        let colluder = self.nodes[requester].role != Role::Honest;
        if colluder && (topic == SOURCE || topic == TARGET) && self.rng.chance(self.cfg.collusion) {
            self.stage(now, requester, topic);
            return (0, 0);
        }
        // A key convicted by a public fraud proof is no candidate under any method.
        let mut providers: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| {
                i != requester
                    && self.nodes[i].topics.contains(&topic)
                    && !self
                        .convicted
                        .contains(&self.ids[self.nodes[i].identity].key.id())
            })
            .collect();
        if providers.is_empty() {
            return (0, 0);
        }
        let k = self.cfg.candidates.min(providers.len());
        for i in 0..k {
            let j = i + self.rng.below((providers.len() - i) as u64) as usize;
            providers.swap(i, j);
        }
        providers.truncate(k);
        let chosen = if self.rep.is_none() {
            providers[self.rng.below(k as u64) as usize]
        } else {
            self.select(&providers, topic)
        };
        let after_warmup = epoch >= self.cfg.warmup;
        // Attackers sabotage honest requesters' code reviews only; only those count.
        let counts = u64::from(topic == TARGET && after_warmup && !colluder);
        let role = self.nodes[chosen].role;
        let defects = counts == 1
            && match role {
                Role::Attacker => self.rng.chance(self.cfg.sabotage_rate),
                Role::Defector => self.rng.chance(self.cfg.defector_rate),
                _ => false,
            };
        let ident = self.nodes[chosen].identity;
        if defects {
            self.ids[ident].sabotaged += 1;
            if role == Role::Defector {
                self.result.defector_sabotaged += 1;
            }
        }
        let quality = {
            let n = &self.nodes[chosen];
            let pos = n.topics.iter().position(|t| *t == topic).expect("serves");
            n.quality[pos]
        };
        let high_risk = topic == TARGET;
        if high_risk || self.rng.chance(self.cfg.evidence_rate) {
            self.evidence_check(now, requester, chosen, topic, defects, quality);
        }
        if self.rng.chance(self.cfg.canary_rate) {
            self.canary(now, requester, chosen, topic, defects, quality);
        }
        (counts, counts * u64::from(defects))
    }

    /// A staged task: colluder `requester` hires a random fellow attacker or slow defector,
    /// which does the work well and ships honest evidence, so the praise that follows is
    /// backed by real checks.
    fn stage(&mut self, now: Now, requester: usize, topic: usize) {
        let attackers: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| i != requester && self.nodes[i].role.defects())
            .collect();
        if !attackers.is_empty() {
            let p = attackers[self.rng.below(attackers.len() as u64) as usize];
            self.evidence_check(now, requester, p, topic, false, 1.0);
        }
    }

    /// Bridges' extra staged tasks: each files `vouches` per epoch, alternating code generation
    /// and code review.
    fn vouch(&mut self, epoch: usize, step: &mut u64) {
        for b in 0..self.nodes.len() {
            if self.nodes[b].role != Role::Bridge {
                continue;
            }
            for v in 0..self.cfg.vouches {
                *step += 1;
                let topic = if v % 2 == 0 { SOURCE } else { TARGET };
                self.stage(now_at(epoch, *step * 10), b, topic);
            }
        }
    }

    /// EigenTrust's selection rule (Kamvar et al. 2003, §4.4): with probability
    /// `1 − explore` pick a candidate with probability proportional to its trust; otherwise,
    /// or when every candidate has zero trust, pick uniformly among the zero-trust candidates
    /// (so newcomers can earn trust at all), or among all if none has zero trust. Convicted
    /// identities are never explored.
    fn select(&mut self, candidates: &[usize], topic: usize) -> usize {
        let scores: Vec<f64> = candidates
            .iter()
            .map(|&p| self.score(&self.ids[self.nodes[p].identity].key.id(), topic))
            .collect();
        let total: f64 = scores.iter().sum();
        if total > 0.0 && !self.rng.chance(self.cfg.explore) {
            let mut x = self.rng.unit() * total;
            for (i, s) in scores.iter().enumerate() {
                if x < *s {
                    return candidates[i];
                }
                x -= s;
            }
            let last = scores.iter().rposition(|s| *s > 0.0).unwrap_or(0);
            return candidates[last];
        }
        // Exploration never hires a convicted identity (a known fraudster's key).
        let convicted = |p: usize| {
            self.rep
                .as_ref()
                .is_some_and(|r| r.is_convicted(&self.ids[self.nodes[p].identity].key.id()))
        };
        let zero: Vec<usize> = (0..candidates.len())
            .filter(|&i| scores[i] == 0.0 && !convicted(candidates[i]))
            .collect();
        let pool = if zero.is_empty() {
            let open: Vec<usize> = (0..candidates.len())
                .filter(|&i| !convicted(candidates[i]))
                .collect();
            if open.is_empty() {
                (0..candidates.len()).collect()
            } else {
                open
            }
        } else {
            zero
        };
        candidates[pool[self.rng.below(pool.len() as u64) as usize]]
    }

    fn evidence_check(
        &mut self,
        now: Now,
        requester: usize,
        provider: usize,
        topic: usize,
        defects: bool,
        quality: f64,
    ) {
        let task = self.next_task();
        let ident = self.nodes[provider].identity;
        let key = &self.ids[ident].key;
        let pid = key.id();
        let t0 = now.wall;
        let input = Hash::digest("agentnet/example/input", task.0.as_bytes());
        let mid = Hash::digest("agentnet/example/mid", task.0.as_bytes());
        let genuine = Hash::digest("agentnet/example/output", task.0.as_bytes());
        let altered = Hash::digest("agentnet/example/sabotage", task.0.as_bytes());
        // A slow defector never ships its real trace: it always forges a consistent one.
        let sloppy = defects
            && self.nodes[provider].role == Role::Attacker
            && self.rng.chance(self.cfg.sloppy);
        // The trace ends in the genuine output unless a saboteur forges it.
        let trace_end = if defects && !sloppy { altered } else { genuine };
        let delivered = if defects { altered } else { genuine };
        let mut chain = ReceiptChain::new(pid, task);
        chain
            .record(
                key,
                "analyze",
                input,
                mid,
                t0,
                t0.saturating_add(Duration::from_millis(2)),
            )
            .expect("valid receipt");
        chain
            .record(
                key,
                "report",
                mid,
                trace_end,
                t0.saturating_add(Duration::from_millis(2)),
                t0.saturating_add(Duration::from_millis(4)),
            )
            .expect("valid receipt");
        let package = if trace_end == delivered {
            chain.finish(key, delivered, None).expect("consistent")
        } else {
            // Shipping the real trace with an altered result: a package the honest builder
            // refuses to make, so the saboteur signs it by hand.
            Signed::sign(
                key,
                EvidencePackage {
                    agent: pid,
                    task,
                    result_hash: delivered,
                    receipts: chain
                        .receipts()
                        .iter()
                        .map(|r| bytes::Bytes::from(r.to_envelope()))
                        .collect(),
                    attestation: None,
                },
            )
            .expect("signing in memory")
        };
        let policy = EvidencePolicy::new(
            task,
            pid,
            delivered,
            t0.saturating_sub(Duration::from_secs(1)),
            t0.saturating_add(Duration::from_secs(60)),
        );
        let topic_name = self.topics[topic].clone();
        match verify_evidence(
            &package.to_envelope(),
            &policy,
            &RejectAllAttestations,
            &self.limits,
        ) {
            Ok(verified) => {
                let outcome = if defects {
                    if self.rng.chance(self.cfg.notice) {
                        TaskOutcome::Rejected
                    } else {
                        TaskOutcome::Accepted
                    }
                } else if self.rng.chance(quality) {
                    TaskOutcome::Accepted
                } else {
                    TaskOutcome::Rejected
                };
                let _ = self.nodes[requester].ledger.record_task(
                    &topic_name,
                    pid,
                    &verified,
                    outcome,
                    now.wall,
                );
            }
            Err(report) => {
                match FraudProof::from_evidence_report(&report, &self.limits)
                    .and_then(|p| p.verify(&self.limits))
                {
                    // Every method gets the proof. It travels to every agent (it is
                    // self-verifying): each drops the offender from its own ledger, so no
                    // method's reports mention it again, and nobody hires the convicted key.
                    // What differs is what `Reputation::slash` does with it: MG with slashing
                    // burns the stake and flags the principal (every key of it is convicted),
                    // the others only record it.
                    Ok(offence) => {
                        self.result.fraud_proofs += 1;
                        self.convicted.insert(pid);
                        let principal = self.nodes[provider].principal;
                        if let Some(r) = self.rep.as_mut()
                            && let Ok(agentnet_trust::mg::SlashOutcome::Slashed { stake }) =
                                r.slash(&Culprit::key(&offence).with_principal(principal), &offence)
                        {
                            self.result.burned += stake;
                        }
                        for n in &mut self.nodes {
                            n.ledger.record_offence(pid, &offence);
                        }
                    }
                    // A failed check that yields no verifiable proof (none here: every
                    // mismatch is provable) stays the requester's own negative entry.
                    Err(_) => {
                        if let Some(rej) = report.rejection() {
                            let _ = self.nodes[requester].ledger.record_rejection(
                                &topic_name,
                                pid,
                                &rej,
                                now.wall,
                            );
                        }
                    }
                }
            }
        }
    }

    fn canary(
        &mut self,
        now: Now,
        requester: usize,
        provider: usize,
        topic: usize,
        defects: bool,
        quality: f64,
    ) {
        let id = self.next_task().0;
        let ident = self.nodes[provider].identity;
        let pid = self.ids[ident].key.id();
        let expected = b"expected-answer";
        let topic_name = self.topics[topic].clone();
        if self.nodes[requester]
            .canaries
            .issue(
                now,
                id,
                pid,
                topic_name,
                Expected::exact(expected),
                Duration::from_secs(30),
            )
            .is_err()
        {
            return;
        }
        let correct = !defects && self.rng.chance(quality);
        let value = if correct {
            expected.to_vec()
        } else {
            b"something else".to_vec()
        };
        let answer = Answer::sign(&self.ids[ident].key, id, value, now.wall).expect("small answer");
        // The answer travels as a frame and is verified on receipt.
        let frame = answer.to_frame();
        let Ok(answer) = Signed::<Answer>::from_frame(&frame, &self.limits) else {
            return;
        };
        let node = &mut self.nodes[requester];
        // A refused answer closes nothing; whatever did close comes out of the verdict queue.
        let _ = node
            .canaries
            .handle_answer(now.advance(Duration::from_millis(5)), &answer);
        while let Some(verdict) = node.canaries.poll_verdict() {
            let _ = node.ledger.record_canary(&verdict);
        }
    }

    /// Every agent sends its reports; returns the number of entries sent.
    fn exchange_reports(&mut self, epoch: usize) -> u64 {
        if self.rep.is_none() {
            return 0;
        }
        let now = now_at(epoch, 3_599_000);
        let global = self.method == MethodName::GlobalEigenTrust;
        let mut entries = 0u64;
        let mut reports: Vec<bytes::Bytes> = Vec::new();
        for n in 0..self.nodes.len() {
            let mut rows: Vec<(Topic, Vec<(AgentId, agentnet_trust::ledger::Tally)>)> = Vec::new();
            for topic in &self.topics {
                rows.push((topic.clone(), self.nodes[n].ledger.row(topic, now.wall)));
            }
            if global {
                // One flattened row: tallies summed over topics.
                let mut flat: std::collections::BTreeMap<AgentId, agentnet_trust::ledger::Tally> =
                    std::collections::BTreeMap::new();
                for (_, row) in &rows {
                    for (p, t) in row {
                        let e = flat.entry(*p).or_insert(agentnet_trust::ledger::Tally {
                            pos: 0.0,
                            neg: 0.0,
                            at: now.wall,
                        });
                        e.pos += t.pos;
                        e.neg += t.neg;
                    }
                }
                rows = vec![(self.global_topic.clone(), flat.into_iter().collect())];
            }
            let key = &self.ids[self.nodes[n].identity].key;
            for (topic, row) in rows {
                if let Ok(Some(r)) = self.nodes[n]
                    .builder
                    .next_report(key, &topic, &row, now.wall)
                {
                    entries += r.value().entries.len() as u64;
                    reports.push(r.to_frame());
                }
            }
        }
        // Delivery: every report is decoded and verified by the receiver, then applied.
        let rep = self.rep.as_mut().expect("checked above");
        for frame in reports {
            // Every agent here reports honestly formed (if not honestly meant) reports, so a
            // refusal would be a bug in the experiment: fail loudly.
            let report = Signed::<TrustReport>::from_frame(&frame, &self.limits)
                .expect("a well-formed report verifies");
            self.book.apply(&report).expect("reports arrive in order");
            let topic = report.value().topic.clone();
            let reporter = report.value().reporter;
            rep.set_row(
                reporter,
                &topic,
                self.book.row_at(&topic, &reporter, now.wall),
            )
            .expect("rows within bounds");
        }
        rep.recompute().expect("valid inputs");
        entries
    }

    fn attackers_adapt(&mut self, epoch: usize) {
        let rep = self.rep.as_ref();
        let target = &self.topics[TARGET];
        let score = |id: &AgentId| rep.map_or(0.0, |r| r.score(id, target));
        let mut scores: Vec<f64> = (0..self.nodes.len())
            .filter(|&n| self.nodes[n].topics.contains(&TARGET))
            .map(|n| score(&self.ids[self.nodes[n].identity].key.id()))
            .collect();
        let median = crate::report::quantile(&mut scores, 0.5);
        let mut renew = Vec::new();
        for n in 0..self.nodes.len() {
            if !self.nodes[n].role.defects() {
                continue;
            }
            let ident = &self.ids[self.nodes[n].identity];
            let id = ident.key.id();
            // A key convicted by a public proof is useless under every method (MG's slash
            // convicts it too).
            let convicted = self.convicted.contains(&id) || rep.is_some_and(|r| r.is_slashed(&id));
            // An identity that has burned its name by sabotage and now ranks low is
            // abandoned; a fresh one is kept (re-entering again would not help it). `random`
            // keeps no scores, so nobody ranks low there.
            let whitewash = rep.is_some()
                && epoch >= self.cfg.warmup
                && ident.sabotaged > 0
                && score(&id) < self.cfg.whitewash_below * median;
            if convicted || whitewash {
                renew.push(n);
            }
        }
        for n in renew {
            self.new_identity(n);
        }
    }

    fn cold_start(&mut self) {
        let topics = self.pick_topics(2);
        let quality = topics.iter().map(|_| 0.9).collect();
        let node = self.push_node(Role::Honest, topics.clone(), quality);
        self.new_identity(node);
        let id = self.ids[self.nodes[node].identity].key.id();
        if let Some(r) = self.rep.as_mut() {
            r.recompute().expect("valid inputs");
            let s: f64 = topics.iter().map(|t| r.score(&id, &self.topics[*t])).sum();
            self.result.cold_start = s / topics.len() as f64;
        }
    }

    fn final_metrics(&mut self) {
        let rep = self.rep.as_ref();
        let now = now_at(self.cfg.epochs, 0).wall;
        let half_life = self.ledger_cfg.half_life;
        let global = self.method == MethodName::GlobalEigenTrust;
        // The reported verified record of `id` in `topic`: (P, N) summed over reporters
        // (`random` receives no reports: empty).
        let record = |id: &AgentId, topic: usize| -> (f64, f64) {
            if rep.is_none() {
                return (0.0, 0.0);
            }
            let t = if global {
                &self.global_topic
            } else {
                &self.topics[topic]
            };
            self.book
                .rows(t)
                .filter_map(|(_, row)| row.entries.get(id))
                .map(|tally| tally.at_time(now, half_life))
                .fold((0.0, 0.0), |acc, x| (acc.0 + x.pos, acc.1 + x.neg))
        };
        let min = self.cfg.flag_min_evidence;
        let bad = |id: &AgentId, topic: usize| {
            let (p, n) = record(id, topic);
            p + n >= min && n > p
        };
        // Convicted by a public proof (every method knows), or slashed by MG.
        let convicted =
            |id: &AgentId| self.convicted.contains(id) || rep.is_some_and(|r| r.is_slashed(id));
        let mut r = RunResult::default();
        for i in &self.ids {
            let id = i.key.id();
            let node = &self.nodes[i.node];
            match node.role {
                Role::Honest => {
                    r.honest += 1;
                    if convicted(&id) || node.topics.iter().any(|t| bad(&id, *t)) {
                        r.honest_flagged += 1;
                    }
                }
                role if i.sabotaged > 0 => {
                    let flagged = convicted(&id) || bad(&id, TARGET);
                    r.defecting += 1;
                    r.defecting_flagged += u64::from(flagged);
                    if role == Role::Defector {
                        r.defectors += 1;
                        r.defectors_flagged += u64::from(flagged);
                    }
                }
                _ => {}
            }
        }
        self.result.honest = r.honest;
        self.result.honest_flagged = r.honest_flagged;
        self.result.defecting = r.defecting;
        self.result.defecting_flagged = r.defecting_flagged;
        self.result.defectors = r.defectors;
        self.result.defectors_flagged = r.defectors_flagged;
        // Diagnostics of the consistency gate from code generation into code review, as MG
        // evaluates it from its evidence (see `agentnet_trust::mg`): open iff the record in
        // code generation is large enough and the one in code review is not worse by more
        // than the tolerance.
        if let (Some(rep), Some(Method::MultiGraph(_))) = (rep, self.method.method()) {
            let c = rep.config();
            let rate = |(p, n): (f64, f64)| (p + 1.0) / (p + n + 2.0);
            let (src, dst) = (&self.topics[SOURCE], &self.topics[TARGET]);
            let open = |id: &AgentId| {
                let there = rep.evidence(id, src);
                there.0 + there.1 >= c.gate_min_evidence
                    && rate(rep.evidence(id, dst)) >= rate(there) - c.gate_tolerance
            };
            for node in &self.nodes {
                if !(node.topics.contains(&SOURCE) && node.topics.contains(&TARGET)) {
                    continue;
                }
                let id = self.ids[node.identity].key.id();
                if rep.is_convicted(&id) {
                    continue;
                }
                let slot = match node.role {
                    Role::Honest => &mut self.result.gate_honest,
                    Role::Attacker | Role::Defector => &mut self.result.gate_colluders,
                    Role::Bridge => continue,
                };
                slot.0 += 1;
                slot.1 += u64::from(open(&id));
            }
        }
    }
}

/// MG variants send salient changes only; the baselines send full rows every epoch, as plain
/// EigenTrust deployments do.
fn salience(method: MethodName, half_life: Duration) -> SalienceConfig {
    let base = match method {
        MethodName::MgEigenTrust
        | MethodName::MgWithoutSlashing
        | MethodName::MgWithoutGate
        | MethodName::MgWithoutSemanticWeight
        | MethodName::MgWithoutCollusionDiscount => SalienceConfig::default(),
        _ => SalienceConfig::ALWAYS_FULL,
    };
    SalienceConfig { half_life, ..base }
}

fn shuffle<T>(rng: &mut SimRng, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        v.swap(i, j);
    }
}

/// Run one method on one seed.
pub fn run(cfg: &ExperimentConfig, method: MethodName, seed: u64) -> RunResult {
    World::new(cfg, method, seed).run()
}

/// Pooled metrics of one method over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Which method.
    pub method: MethodName,
    /// See the module docs.
    pub attack_success: f64,
    /// See the module docs.
    pub attacker_roi: f64,
    /// See the module docs.
    pub detection_rate: f64,
    /// See the module docs.
    pub false_positive_rate: f64,
    /// See the module docs.
    pub cold_start_reputation: f64,
    /// See the module docs.
    pub control_entries_per_epoch: f64,
    /// Attack success per epoch (after warm-up; 0 before), averaged over seeds.
    pub per_epoch: Vec<f64>,
    /// Fraud proofs verified per seed.
    pub fraud_proofs_per_seed: f64,
    /// Sybil identities per seed.
    pub sybils_per_seed: f64,
    /// The slow defectors' share of `attack_success` (tasks they sabotaged ÷ the same
    /// denominator).
    pub defector_attack_success: f64,
    /// `detection_rate` restricted to slow-defector identities (0 when none sabotaged).
    pub defector_detection_rate: f64,
    /// MG variants: share of unconvicted colluders serving both code topics whose code
    /// generation → code review gate is open at the end.
    pub gate_open_colluders: f64,
    /// MG variants: the same share for honest agents serving both code topics.
    pub gate_open_honest: f64,
}

/// Pool runs of one method.
pub fn summarize(cfg: &ExperimentConfig, method: MethodName, runs: &[RunResult]) -> Summary {
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let sum = |f: &dyn Fn(&RunResult) -> f64| runs.iter().map(f).sum::<f64>();
    let sabotaged = sum(&|r| r.sabotaged as f64);
    let per_epoch = (0..cfg.epochs)
        .map(|e| {
            let (t, s) = runs.iter().fold((0u64, 0u64), |acc, r| {
                let (t, s) = r.per_epoch.get(e).copied().unwrap_or((0, 0));
                (acc.0 + t, acc.1 + s)
            });
            ratio(s as f64, t as f64)
        })
        .collect();
    let seeds = runs.len().max(1) as f64;
    Summary {
        method,
        attack_success: ratio(sabotaged, sum(&|r| r.target_tasks as f64)),
        attacker_roi: ratio(
            cfg.gain * sabotaged - sum(&|r| r.burned),
            sum(&|r| r.deposited),
        ),
        detection_rate: ratio(
            sum(&|r| r.defecting_flagged as f64),
            sum(&|r| r.defecting as f64),
        ),
        false_positive_rate: ratio(sum(&|r| r.honest_flagged as f64), sum(&|r| r.honest as f64)),
        cold_start_reputation: sum(&|r| r.cold_start) / seeds,
        control_entries_per_epoch: ratio(
            sum(&|r| r.control_entries.iter().sum::<u64>() as f64),
            sum(&|r| r.control_entries.len() as f64),
        ),
        per_epoch,
        fraud_proofs_per_seed: sum(&|r| r.fraud_proofs as f64) / seeds,
        sybils_per_seed: sum(&|r| r.sybils as f64) / seeds,
        defector_attack_success: ratio(
            sum(&|r| r.defector_sabotaged as f64),
            sum(&|r| r.target_tasks as f64),
        ),
        defector_detection_rate: ratio(
            sum(&|r| r.defectors_flagged as f64),
            sum(&|r| r.defectors as f64),
        ),
        gate_open_colluders: ratio(
            sum(&|r| r.gate_colluders.1 as f64),
            sum(&|r| r.gate_colluders.0 as f64),
        ),
        gate_open_honest: ratio(
            sum(&|r| r.gate_honest.1 as f64),
            sum(&|r| r.gate_honest.0 as f64),
        ),
    }
}

/// The baselines MG must beat by 5×.
pub const BASELINES: [MethodName; 3] = [
    MethodName::Random,
    MethodName::GlobalEigenTrust,
    MethodName::PerTopicEigenTrust,
];

/// The headline goals of one point (issue 14), evaluated on pooled summaries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Goals {
    /// MG attack success ≤ 0.03.
    pub attack_success_le_0_03: bool,
    /// MG attack success at least 5× below every baseline's.
    pub five_x_below_every_baseline: bool,
    /// MG attacker ROI < 0.
    pub roi_lt_0: bool,
    /// MG detection ≥ 0.95.
    pub detection_ge_0_95: bool,
    /// MG false positives ≤ 0.10.
    pub false_positives_le_0_10: bool,
    /// The lowest baseline attack success ÷ MG's (∞ when MG's is 0).
    pub lowest_baseline_over_mg: f64,
}

impl Goals {
    /// Evaluate the goals; `None` unless `summaries` holds MG and every baseline.
    pub fn evaluate(summaries: &[Summary]) -> Option<Goals> {
        let by = |m: MethodName| summaries.iter().find(|s| s.method == m);
        let mg = by(MethodName::MgEigenTrust)?;
        let mut lowest = f64::INFINITY;
        for b in BASELINES {
            lowest = lowest.min(by(b)?.attack_success);
        }
        Some(Goals {
            attack_success_le_0_03: mg.attack_success <= 0.03,
            five_x_below_every_baseline: mg.attack_success * 5.0 <= lowest,
            roi_lt_0: mg.attacker_roi < 0.0,
            detection_ge_0_95: mg.detection_rate >= 0.95,
            false_positives_le_0_10: mg.false_positive_rate <= 0.10,
            lowest_baseline_over_mg: if mg.attack_success > 0.0 {
                lowest / mg.attack_success
            } else {
                f64::INFINITY
            },
        })
    }

    /// Whether all five hold.
    pub fn all_met(&self) -> bool {
        self.attack_success_le_0_03
            && self.five_x_below_every_baseline
            && self.roi_lt_0
            && self.detection_ge_0_95
            && self.false_positives_le_0_10
    }
}
