//! The simulated world of the MG-EigenTrust experiment: agents, identities and reputation state, its construction and the epoch loop of one run.

use std::collections::BTreeSet;

use super::*;
use agentnet_core::descriptor::Topic;
use agentnet_core::semantic::{HashedNgramConfig, HashedNgramEncoder, SemanticEncoder};
use agentnet_core::sim::SimRng;
use agentnet_core::wire::Limits;
use agentnet_core::{AgentId, Instant, Keypair, Now, WallTime};
use agentnet_trust::baid::PrincipalCommitment;
use agentnet_trust::canary::{CanaryBook, CanaryConfig};
use agentnet_trust::eigentrust::EigenTrustParams;
use agentnet_trust::evidence::TaskId;
use agentnet_trust::ledger::{Ledger, LedgerConfig};
use agentnet_trust::report::{ReportBook, ReportBookConfig, ReportBuilder, SalienceConfig};
use agentnet_trust::reputation::{Reputation, ReputationConfig};
use core::time::Duration;

mod epoch;
mod task;

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
        rng.shuffle(&mut roles);
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
        w.rng.shuffle(&mut picks);
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
                r.set_stake(
                    id.key.id(),
                    agentnet_mech::mechanism::micros(cfg.stake).expect("valid stake"),
                )
                .expect("valid stake");
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
        self.rng.shuffle(&mut all);
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
            r.set_stake(
                id,
                agentnet_mech::mechanism::micros(self.cfg.stake).expect("valid stake"),
            )
            .expect("valid stake");
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

/// Run one method on one seed.
pub fn run(cfg: &ExperimentConfig, method: MethodName, seed: u64) -> RunResult {
    World::new(cfg, method, seed).run()
}
