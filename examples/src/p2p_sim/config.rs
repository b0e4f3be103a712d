//! The agentic-P2P world's inputs and outputs: policies, discovery modes, the configuration, per-policy statistics and one run's result.

use std::time::Duration;

/// A selection and verification policy of a requester.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Policy {
    /// The advertised best, tier 1, one attempt.
    Naive,
    /// Tier 1 with the Agent's selection.
    Reputation,
    /// Tier 2: canaries and fallback.
    RiskAware,
    /// Tier 2 on step 1, tier 3 on the publishing step.
    Full,
}

impl Policy {
    /// Every policy, in report order.
    pub const ALL: [Policy; 4] = [
        Policy::Naive,
        Policy::Reputation,
        Policy::RiskAware,
        Policy::Full,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Policy::Naive => "naive",
            Policy::Reputation => "reputation",
            Policy::RiskAware => "risk_aware",
            Policy::Full => "full",
        }
    }
}

/// How descriptors reach requesters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Discovery {
    /// A central registry every agent is linked to.
    Registry,
    /// agentnet gossip on a sparse random mesh.
    Gossip,
}

impl Discovery {
    /// Both, in report order.
    pub const ALL: [Discovery; 2] = [Discovery::Registry, Discovery::Gossip];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Discovery::Registry => "registry",
            Discovery::Gossip => "gossip",
        }
    }
}

/// One run's settings (see the module docs for what each means).
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Agents (requesters, observers, honest providers and Sybils; the registry is extra).
    pub nodes: usize,
    /// Sybil identities as a fraction of `nodes`.
    pub sybil_fraction: f64,
    /// Per second, the probability an honest provider becomes stale.
    pub drift: f64,
    /// Per task, the probability a stale provider returns a wrong result.
    pub stale: f64,
    /// Descriptor TTL.
    pub ttl: Duration,
    /// Requesters per policy.
    pub requesters_per_policy: usize,
    /// Passive observers (discovery latency).
    pub observers: usize,
    /// Random links per agent on top of the ring (gossip discovery).
    pub chords: usize,
    /// Workflow rounds measured.
    pub rounds: usize,
    /// Time between workflow starts of one requester.
    pub period: Duration,
    /// Time before the measurement starts.
    pub warmup: Duration,
    /// Longest time open workflows get to end after the last round.
    pub grace: Duration,
    /// One-way link latency, uniform in `[min, max]` ms.
    pub latency_ms: (u64, u64),
    /// Providers offered the task per request (`FunnelConfig::max_attempts`) for every
    /// policy but `naive` (which has one). Default 3, the Agent's default.
    pub attempts: usize,
    /// Most canaries interleaved with a tier-2 attempt (`FunnelConfig::canaries.max`, 1..=8):
    /// the Agent picks between 1 and this from the share of bad providers its own checks met
    /// ([`agentnet_trust::depth`]); 1 is the fixed single canary. Default 4, the Agent's
    /// default.
    pub canaries: usize,
    /// The residual risk the canary depth aims for (`FunnelConfig::canaries.target`).
    /// Default 0.02, the Agent's default.
    pub canary_target: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            nodes: 100,
            sybil_fraction: 0.0,
            drift: 0.05,
            stale: 0.6,
            ttl: Duration::from_secs(15),
            requesters_per_policy: 2,
            observers: 2,
            chords: 2,
            rounds: 20,
            period: Duration::from_secs(2),
            warmup: Duration::from_secs(6),
            grace: Duration::from_secs(30),
            latency_ms: (10, 40),
            attempts: 3,
            canaries: 4,
            canary_target: 0.02,
        }
    }
}

impl Config {
    /// Providers (honest and Sybil).
    pub fn providers(&self) -> usize {
        self.nodes
            .saturating_sub(4 * self.requesters_per_policy + self.observers)
    }

    /// Sybil identities.
    pub fn sybils(&self) -> usize {
        let want = (self.sybil_fraction * self.nodes as f64).round() as usize;
        want.min(self.providers().saturating_sub(2))
    }

    /// Check the settings can build a world.
    pub fn validate(&self) -> Result<(), String> {
        if self.requesters_per_policy == 0 {
            return Err("requesters_per_policy must be at least 1".into());
        }
        if self.providers() < 2 + self.sybils() || self.providers() < 2 {
            return Err(format!(
                "{} nodes leave {} providers: need at least 2 honest ones",
                self.nodes,
                self.providers()
            ));
        }
        if !(0.0..=1.0).contains(&self.sybil_fraction)
            || !(0.0..=1.0).contains(&self.drift)
            || !(0.0..=1.0).contains(&self.stale)
        {
            return Err("sybil fraction, drift and stale are probabilities".into());
        }
        if self.ttl < Duration::from_secs(1) {
            return Err("the descriptor TTL must be at least 1 s".into());
        }
        if !(1..=16).contains(&self.attempts) || !(1..=8).contains(&self.canaries) {
            return Err("attempts must be in 1..=16 and canaries in 1..=8".into());
        }
        if !(0.0001..=1.0).contains(&self.canary_target) {
            return Err("the canary target is a probability in 0.0001..=1".into());
        }
        if self.latency_ms.0 > self.latency_ms.1 {
            return Err("latency min exceeds max".into());
        }
        Ok(())
    }
}

/// What one policy did in one run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PolicyStats {
    /// Workflows started.
    pub workflows: u64,
    /// Workflows whose two results were correct.
    pub workflows_ok: u64,
    /// Step requests issued.
    pub tasks: u64,
    /// Step requests whose accepted result was correct.
    pub tasks_ok: u64,
    /// Canaries interleaved with real work.
    pub canaries_sent: u64,
    /// Attempts after the first.
    pub fallbacks: u64,
}

impl PolicyStats {
    /// Workflow success rate (0 without workflows).
    pub fn workflow_success(&self) -> f64 {
        ratio(self.workflows_ok, self.workflows)
    }

    /// Task success rate (0 without tasks).
    pub fn task_success(&self) -> f64 {
        ratio(self.tasks_ok, self.tasks)
    }

    /// Add another run's counts.
    pub fn add(&mut self, o: &PolicyStats) {
        self.workflows += o.workflows;
        self.workflows_ok += o.workflows_ok;
        self.tasks += o.tasks;
        self.tasks_ok += o.tasks_ok;
        self.canaries_sent += o.canaries_sent;
        self.fallbacks += o.fallbacks;
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// One run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    /// The discovery model.
    pub discovery: Discovery,
    /// Per policy, in [`Policy::ALL`] order.
    pub policies: Vec<(Policy, PolicyStats)>,
    /// Descriptor arrivals at observers measured.
    pub discovery_samples: u64,
    /// Sum of their latencies, ms.
    pub discovery_latency_sum_ms: f64,
    /// Control frames (gossip and trust planes) sent during the measurement.
    pub control_frames: u64,
    /// Nodes in the simulation (the registry included).
    pub sim_nodes: usize,
    /// Measured virtual seconds.
    pub measured_s: f64,
    /// Honest providers stale at the end of each drift step, summed (for the mean).
    pub stale_provider_seconds: u64,
    /// Drift steps taken.
    pub drift_steps: u64,
    /// Honest providers.
    pub honest: usize,
}

impl RunResult {
    /// Mean discovery latency, ms (0 without samples).
    pub fn discovery_latency_ms(&self) -> f64 {
        if self.discovery_samples == 0 {
            0.0
        } else {
            self.discovery_latency_sum_ms / self.discovery_samples as f64
        }
    }

    /// Control frames per node per second.
    pub fn control_msgs_per_node_per_s(&self) -> f64 {
        if self.sim_nodes == 0 || self.measured_s <= 0.0 {
            0.0
        } else {
            self.control_frames as f64 / self.sim_nodes as f64 / self.measured_s
        }
    }

    /// The policy's stats.
    pub fn policy(&self, p: Policy) -> &PolicyStats {
        &self
            .policies
            .iter()
            .find(|(q, _)| *q == p)
            .expect("every policy is reported")
            .1
    }
}
