//! The agentic-P2P experiment (arXiv 2603.03753, its discrete-event simulation) on whole
//! agents: every node of the network is the production [`Agent`] run by the simulator
//! (`Sim<SimHost>`); the binary `agentic_p2p` sweeps it (Sybil fraction, network size,
//! descriptor TTL) and the tests in `examples/tests/agentic_p2p.rs` run shortened sweeps.
//!
//! # The world
//!
//! `N` agents ([`Config::nodes`]), all running [`Agent`] with its defaults unless said here:
//!
//! - **Requesters**: [`Config::requesters_per_policy`] per policy, for the four policies
//!   below, in the same world at the same time.
//! - **Observers**: [`Config::observers`] passive clients that follow the workflow topics and
//!   pull every descriptor; they never request and nobody dials them, so their view is what
//!   discovery alone delivers (they measure the discovery latency).
//! - **Sybils**: `round(sybil_fraction · N)` identities (at most the providers minus two),
//!   half on each workflow topic. Each announces an attractive, false descriptor: the intent
//!   text of a randomly chosen honest provider of its topic, copied word for word, a claimed
//!   success rate of 100 %, 50 ms latency, a near-zero cost and every verification tier. Its
//!   application returns a wrong result of the right shape for every task (real or canary),
//!   and at tier 3 it forges its delivery ([`forge_contradicting_delivery`]: the evidence
//!   package claims a result its own receipts never produced). Everything else is the
//!   production agent.
//! - **Honest providers**: the rest, alternating between the two topics, with one of four
//!   intent texts per topic and modest, true claims (success 80–98 %, latency 300–900 ms,
//!   cost 1–5 units). Their descriptors have TTL [`Config::ttl`]; the gossip engine
//!   re-issues them at 60 % of the TTL (its default `refresh_fraction`).
//!
//! **Capability drift.** Once per second of virtual time every honest provider that is not
//! stale becomes stale with probability [`Config::drift`]. A stale provider returns a wrong
//! result for each task (real or canary), independently, with probability [`Config::stale`].
//! It recovers when it next re-issues its descriptor (the gossip engine's refresh, seen as
//! its `Published` event): the refresh is when a provider re-checks what it claims, so the
//! TTL bounds how long a drifted capability stays in service, as in the paper.
//!
//! # The workflow
//!
//! Two steps, each one request through the Agent's funnel:
//!
//! 1. `creative/image`, intent "generate an image from my text prompt": input a 48-byte
//!    prompt, correct result `IMG:` + the first 32 hex digits of BLAKE3("image" ‖ input);
//! 2. `creative/publish`, intent "publish my image to a public gallery": input the result of
//!    step 1 (whatever was accepted), correct result `PUB:` + 32 hex digits of
//!    BLAKE3("publish" ‖ input).
//!
//! Wrong results (Sybils, stale providers) have the same shape with another hash, so only a
//! check against the function tells them apart. A requester starts a workflow every
//! [`Config::period`] when its previous one ended. **Workflow success**: both steps delivered
//! and both results correct (step 2 must equal `publish(image(prompt))`). **Task success**:
//! the share of step requests issued whose accepted result was correct (a request that ended
//! without a result counts as a failure). Workflows still open when the run ends count as
//! failures.
//!
//! Canaries are generated like real work: a canary for step 1 is a random prompt of the same
//! length, one for step 2 a random `IMG:` string of the same length; the requester knows the
//! functions, so it knows the answers ([`CanaryCase`]).
//!
//! Before each step the requester's host dials the providers it might use, like the `Node`
//! does before a request: it looks the intent up in its own index
//! ([`Agent::discover`], up to 64 candidates, restricted to the step's topic) and connects to
//! every one it has no link to yet, then waits [`DIAL_WAIT`] for the link handshakes. These
//! execution links also carry gossip (the agent does not distinguish links).
//!
//! # Policies (same world, same run)
//!
//! | policy | how it is expressed on the Agent |
//! |---|---|
//! | `naive` | the advertised best: the host picks, among the discovered candidates, the highest claimed success (then lowest claimed latency, then highest similarity), and pins the request to claims at least that good (`Requirements::min_success_bp`/`max_latency_ms`); tier 1, one attempt, no exploration |
//! | `reputation` | tier 1: the Agent's own selection (Pareto layers with reputation, exploration 0.1) and its tier-1 gate (no net failures in its ledger, reputation ≥ 0); up to [`Config::attempts`] offers (fallback only on a decline or timeout: tier 1 accepts any delivery whose hash matches) |
//! | `risk_aware` | tier 2: the same selection, canaries interleaved with each attempt (as many as the Agent's canary depth asks for, up to [`Config::canaries`]), fallback to the next candidate on a failed canary, up to [`Config::attempts`] offers |
//! | `full` | `risk_aware` on step 1, tier 3 (evidence package verified; a contradiction becomes a fraud proof) on the publishing step. The Agent checks one tier per request, so step 2 has no canary: tier 3 replaces tier 2 there |
//!
//! `naive` pins by claims because the Agent has no "use this provider" command; any other
//! candidate passing the pin claims to be at least as good, so it is also "advertised best".
//! Every requester takes up to 64 candidates from discovery (the Agent's default is 8: with
//! many Sybils copying honest texts the top 8 by similarity can all be Sybils, and the funnel
//! filters by trust after discovery). Reputation comes from the requester's own verified
//! interactions and from its peers' signed trust reports: requesters are linked with each
//! other, so `reputation` requesters learn from the canary failures `risk_aware` and `full`
//! requesters record, and a fraud proof found by a `full` requester convicts its Sybil for
//! everyone (that is the production trust plane, not a shortcut).
//!
//! # Discovery
//!
//! - `gossip`: agentnet gossip on a sparse random mesh: a ring over every agent plus
//!   [`Config::chords`] random links per agent (average degree about `2 + 2·chords`). Every
//!   agent follows both workflow topics (so headers cross the whole mesh); requesters and
//!   observers pull every body.
//! - `registry`: the paper's model, a central registry: one extra node (the production agent
//!   configured as a hub: its topic mesh holds every agent, `mesh_d` = N up to 1,024) every
//!   agent is linked to and nobody else; it relays every header to every client directly and
//!   serves every body. Requesters still dial providers for execution (those links carry
//!   gossip too); observers stay linked to the registry only.
//!
//! Requesters are linked to each other in both models (trust reports travel on links).
//!
//! # Metrics
//!
//! Measured over [`Config::rounds`] rounds of [`Config::period`] after a warm-up of
//! [`Config::warmup`] (links up, descriptors spread):
//!
//! - `workflow_success`, `task_success`: above, per policy.
//! - `canaries_sent`: canaries interleaved with real work (the `canaries` of every
//!   `Stage::Offered`), per policy. `fallbacks`: attempts after the first in every finished
//!   request: providers offered the task after the first one (attempts the tier-1 gate
//!   skipped without an offer — convicted, net failures, no link — do not count), per policy.
//! - `discovery_latency_ms`: for every descriptor (first issue or refresh) an observer pulls
//!   during the measurement, its arrival in the observer's index (the gossip `Descriptor`
//!   event) minus the descriptor's `issued_at`; the mean over all (observer, descriptor). It
//!   includes the header push, the body pull and signature checks, hop by hop.
//! - `control_msgs_per_node_per_s`: frames sent on the gossip (0x01) and trust (0x02) planes
//!   by all nodes (registry included) during the measurement, from each agent's
//!   [`Agent::traffic`], divided by the number of nodes and the measured seconds. Execution
//!   (sessions) and payload (handshakes, task data) frames are the data plane and are not
//!   counted.
//!
//! Everything is deterministic for a seed: the simulator, every agent's seed, the world and
//! the drift draws come from it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, QosVector, Topic, TrustClaims};
use agentnet_core::sim::{Latency, LinkModel, NodeId, Sim, SimConfig};
use agentnet_core::{AgentId, Keypair, Now, RequestId, Transmit};
use agentnet_gossip::{InterestProfile, Requirements};
use agentnet_mech::mechanism::{Tier, UNIT};
use agentnet_transport::agent::sim::{Handler, SimHost, forge_contradicting_delivery};
use agentnet_transport::agent::{
    Agent, AgentConfig, AgentEvent, CanaryCase, Executed, ServePolicy, Stage, TaskRequest, Verdict,
};
use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// Time a requester's host waits after dialing new providers before it requests (the link
/// handshakes and identity chains need a few round trips).
pub const DIAL_WAIT: Duration = Duration::from_millis(300);

/// Simulation step between looks at the requesters.
const TICK: Duration = Duration::from_millis(50);

/// Most candidates a requester takes from discovery (the funnel's upper bound).
const CANDIDATES: usize = 64;

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

/// The two workflow steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Image,
    Publish,
}

impl Step {
    fn topic(self) -> &'static str {
        match self {
            Step::Image => "creative/image",
            Step::Publish => "creative/publish",
        }
    }

    fn capability(self) -> &'static str {
        match self {
            Step::Image => "image.generate",
            Step::Publish => "image.publish",
        }
    }

    fn intent(self) -> &'static str {
        match self {
            Step::Image => "generate an image from my text prompt",
            Step::Publish => "publish my image to a public gallery",
        }
    }

    /// Intent texts of honest providers.
    fn offers(self) -> [&'static str; 4] {
        match self {
            Step::Image => [
                "Generate an image from a text prompt",
                "Text to image generation: illustrations and pictures from prompts",
                "Image generation service for creative prompts",
                "Render pictures and artwork from a description",
            ],
            Step::Publish => [
                "Publish an image to a public gallery",
                "Image publishing and hosting in an online gallery",
                "Post pictures to a gallery for creative teams",
                "Publish media and artwork online",
            ],
        }
    }

    fn tag(self) -> (&'static str, &'static str) {
        match self {
            Step::Image => ("IMG:", "image"),
            Step::Publish => ("PUB:", "publish"),
        }
    }

    /// The correct result for `input`.
    fn apply(self, input: &[u8]) -> Bytes {
        let (prefix, domain) = self.tag();
        shaped(prefix, domain, input)
    }

    /// A wrong result of the same shape (`how`: who got it wrong).
    fn wrong(self, input: &[u8], how: &str) -> Bytes {
        let (prefix, domain) = self.tag();
        shaped(prefix, &format!("{domain}/{how}"), input)
    }
}

fn shaped(prefix: &str, domain: &str, input: &[u8]) -> Bytes {
    let mut h = blake3::Hasher::new();
    h.update(domain.as_bytes());
    h.update(&[0]);
    h.update(input);
    let hex = h.finalize().to_hex();
    Bytes::from(format!("{prefix}{}", &hex[..32]))
}

fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

fn agent_seed(run: u64, index: usize) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&run.to_le_bytes());
    s[8..16].copy_from_slice(&(index as u64).to_le_bytes());
    s[16] = 0xA9;
    s
}

/// A random prompt (48 bytes) or image string of the step-1 result's length.
fn random_input(step: Step, rng: &mut ChaCha8Rng) -> Bytes {
    let mut raw = [0u8; 16];
    for b in raw.iter_mut() {
        *b = (rng.next_u64() & 0xff) as u8;
    }
    match step {
        Step::Image => {
            let mut s = String::from("prompt: ");
            for b in raw.iter().chain(raw[..4].iter()) {
                s.push_str(&format!("{b:02x}"));
            }
            Bytes::from(s)
        }
        Step::Publish => shaped("IMG:", "canary", &raw),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Requester(Policy),
    Observer,
    Honest(Step),
    Sybil(Step),
    Registry,
}

#[derive(Debug)]
enum Phase {
    Idle,
    Dialing {
        step: Step,
        input: Bytes,
        ready_at: agentnet_core::Instant,
    },
    Waiting {
        step: Step,
        input: Bytes,
        id: RequestId,
    },
}

#[derive(Debug)]
struct Requester {
    node: NodeId,
    policy: Policy,
    rng: ChaCha8Rng,
    prompt: Bytes,
    image: Option<Bytes>,
    phase: Phase,
    stats: PolicyStats,
}

struct World {
    sim: Sim<SimHost>,
    attempts: usize,
    canaries: usize,
    roles: Vec<Role>,
    nodes: Vec<NodeId>,
    by_agent: BTreeMap<AgentId, usize>,
    stale: Vec<Option<Arc<AtomicBool>>>,
    requesters: Vec<Requester>,
    observers: Vec<NodeId>,
}

fn honest_handler(step: Step, stale: Arc<AtomicBool>, p: f64, seed: [u8; 32]) -> Handler {
    let mut rng = ChaCha8Rng::from_seed(seed);
    Box::new(move |_task, input| {
        let bad = stale.load(Ordering::Relaxed) && unit(&mut rng) < p;
        let result = if bad {
            step.wrong(input, "stale")
        } else {
            step.apply(input)
        };
        Executed::Done {
            result,
            tools: Vec::new(),
        }
    })
}

fn sybil_handler(step: Step) -> Handler {
    Box::new(move |_task, input| Executed::Done {
        result: step.wrong(input, "sybil"),
        tools: Vec::new(),
    })
}

fn build(cfg: &Config, discovery: Discovery, seed: u64) -> World {
    let mut sc = SimConfig::seeded(seed);
    sc.link = LinkModel {
        latency: Latency::Uniform {
            min: Duration::from_millis(cfg.latency_ms.0),
            max: Duration::from_millis(cfg.latency_ms.1),
        },
        ..LinkModel::default()
    };
    sc.trace = false;
    sc.trace_events = false;
    let mut sim = Sim::new(sc);
    let mut rng = ChaCha8Rng::from_seed(agent_seed(seed, usize::MAX));
    let now = sim.now();
    // Roles, in node order: requesters, observers, providers (Sybils spread among them).
    let mut roles = Vec::new();
    for p in Policy::ALL {
        for _ in 0..cfg.requesters_per_policy {
            roles.push(Role::Requester(p));
        }
    }
    for _ in 0..cfg.observers {
        roles.push(Role::Observer);
    }
    let providers = cfg.providers();
    let sybils = cfg.sybils();
    let mut is_sybil = vec![false; providers];
    let mut placed = 0;
    while placed < sybils {
        let i = below(&mut rng, providers);
        if !is_sybil[i] {
            is_sybil[i] = true;
            placed += 1;
        }
    }
    let (mut h, mut s) = (0usize, 0usize);
    for sy in is_sybil {
        if sy {
            roles.push(Role::Sybil(if s % 2 == 0 {
                Step::Image
            } else {
                Step::Publish
            }));
            s += 1;
        } else {
            roles.push(Role::Honest(if h % 2 == 0 {
                Step::Image
            } else {
                Step::Publish
            }));
            h += 1;
        }
    }
    if discovery == Discovery::Registry {
        roles.push(Role::Registry);
    }
    let topics = [
        Topic::new(Step::Image.topic()).expect("valid topic"),
        Topic::new(Step::Publish.topic()).expect("valid topic"),
    ];
    let mut nodes = Vec::new();
    let mut by_agent = BTreeMap::new();
    let mut stale = Vec::new();
    let mut requesters = Vec::new();
    let mut observers = Vec::new();
    // Honest intent texts handed out per topic, so Sybils can copy them.
    let mut texts: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
    let mut pending_sybils = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        let s = agent_seed(seed, i);
        let keys = Keypair::from_seed(s);
        let id = keys.id();
        let mut ac = AgentConfig::seeded(s);
        ac.funnel.max_candidates = CANDIDATES;
        ac.funnel.max_attempts = cfg.attempts;
        ac.funnel.canaries.max = cfg.canaries;
        ac.funnel.canaries.target = cfg.canary_target;
        match role {
            Role::Requester(Policy::Naive) => {
                ac.selection.exploration = 0.0;
                ac.funnel.max_attempts = 1;
            }
            Role::Registry => {
                // A registry pushes to every client directly: its mesh holds all of them.
                let all = cfg.nodes.clamp(1, 1024);
                ac.gossip.mesh_d = all;
                ac.gossip.mesh_d_lo = all;
                ac.gossip.mesh_d_hi = all;
            }
            _ => {}
        }
        let agent = Agent::new(Keypair::from_seed(s), ac, now).expect("valid agent config");
        let mut flag = None;
        let host = match role {
            Role::Honest(step) => {
                let f = Arc::new(AtomicBool::new(false));
                flag = Some(f.clone());
                SimHost::new(agent, Some(honest_handler(*step, f, cfg.stale, s)))
            }
            Role::Sybil(step) => {
                let tamper_keys = Keypair::from_seed(s);
                SimHost::new(agent, Some(sybil_handler(*step))).with_tamper(Box::new(
                    move |t: Transmit| {
                        let payload = forge_contradicting_delivery(&tamper_keys, &t.payload)
                            .unwrap_or(t.payload);
                        Some(Transmit {
                            link: t.link,
                            payload,
                        })
                    },
                ))
            }
            _ => SimHost::new(agent, None),
        };
        let node = sim.add_node(host);
        nodes.push(node);
        by_agent.insert(id, i);
        stale.push(flag);
        // Every agent follows both workflow topics (headers cross the whole mesh); requesters,
        // observers and the registry pull every body.
        sim.command(node, |h, now| {
            let a = h.agent_mut();
            if matches!(role, Role::Requester(_) | Role::Observer | Role::Registry) {
                a.set_interest(InterestProfile::everything());
            }
            for t in &topics {
                a.subscribe(now, t.clone()).expect("subscribe");
            }
        })
        .expect("node is up");
        match role {
            Role::Honest(step) => {
                let offers = step.offers();
                let text = offers[below(&mut rng, offers.len())];
                texts.entry(step.topic()).or_default().push(text);
                let qos = QosVector {
                    latency_ms: 300 + below(&mut rng, 601) as u32,
                    success_bp: 8000 + below(&mut rng, 1801) as u16,
                    cost_micros: (1 + below(&mut rng, 5) as u64) * UNIT,
                    ..QosVector::default()
                };
                serve(&mut sim, node, id, *step, text, qos, cfg.ttl, now);
            }
            Role::Sybil(step) => pending_sybils.push((node, id, *step)),
            Role::Requester(p) => requesters.push(Requester {
                node,
                policy: *p,
                rng: ChaCha8Rng::from_seed(agent_seed(seed ^ 0x5EED, i)),
                prompt: Bytes::new(),
                image: None,
                phase: Phase::Idle,
                stats: PolicyStats::default(),
            }),
            Role::Observer => observers.push(node),
            Role::Registry => {}
        }
    }
    for (node, id, step) in pending_sybils {
        let pool = texts.get(step.topic()).cloned().unwrap_or_default();
        let text = if pool.is_empty() {
            step.offers()[0]
        } else {
            pool[below(&mut rng, pool.len())]
        };
        let qos = QosVector {
            latency_ms: 50,
            success_bp: 10_000,
            cost_micros: UNIT / 10,
            ..QosVector::default()
        };
        serve(&mut sim, node, id, step, text, qos, cfg.ttl, now);
    }
    // Links.
    let agents: Vec<usize> = (0..roles.len())
        .filter(|&i| roles[i] != Role::Registry)
        .collect();
    match discovery {
        Discovery::Gossip => {
            // A ring over a random order, plus random chords.
            let mut order = agents.clone();
            for i in (1..order.len()).rev() {
                let j = below(&mut rng, i + 1);
                order.swap(i, j);
            }
            let n = order.len();
            for k in 0..n {
                sim.connect(nodes[order[k]], nodes[order[(k + 1) % n]]);
            }
            for &a in &agents {
                for _ in 0..cfg.chords {
                    let b = agents[below(&mut rng, n)];
                    if a != b {
                        sim.connect(nodes[a], nodes[b]);
                    }
                }
            }
        }
        Discovery::Registry => {
            let hub = *nodes.last().expect("the registry");
            for &a in &agents {
                sim.connect(nodes[a], hub);
            }
        }
    }
    for a in 0..requesters.len() {
        for b in a + 1..requesters.len() {
            sim.connect(requesters[a].node, requesters[b].node);
        }
    }
    World {
        sim,
        attempts: cfg.attempts,
        canaries: cfg.canaries,
        roles,
        nodes,
        by_agent,
        stale,
        requesters,
        observers,
    }
}

#[allow(clippy::too_many_arguments)]
fn serve(
    sim: &mut Sim<SimHost>,
    node: NodeId,
    id: AgentId,
    step: Step,
    text: &str,
    qos: QosVector,
    ttl: Duration,
    now: Now,
) {
    let d = CapabilityDescriptor::builder(id, step.capability(), step.topic(), text)
        .qos(qos)
        .trust(TrustClaims {
            baid: None,
            tiers: vec![1, 2, 3],
            attestations: Vec::new(),
        })
        .ttl(ttl)
        .build(now)
        .expect("valid descriptor");
    sim.command(node, |h, now| {
        h.agent_mut().serve(now, d, ServePolicy::default())
    })
    .expect("node is up")
    .expect("serve");
}

fn requirements(step: Step) -> Requirements {
    Requirements {
        topic: Some(Topic::new(step.topic()).expect("valid topic")),
        ..Requirements::default()
    }
}

impl World {
    /// Dial the candidates of `step` (naive: its pick only); the requirements to request
    /// with, and whether a new link was made.
    fn dial(&mut self, r: usize, step: Step) -> (Requirements, bool) {
        let node = self.requesters[r].node;
        let policy = self.requesters[r].policy;
        let now = self.sim.now();
        let mut req = requirements(step);
        let found = self
            .sim
            .engine(node)
            .expect("requester is up")
            .agent()
            .discover(now, step.intent(), &req, CANDIDATES);
        let me = self.sim.engine(node).expect("up").agent().id();
        let found: Vec<_> = found
            .into_iter()
            .filter(|c| c.descriptor.provider != me)
            .collect();
        let dial: Vec<AgentId> = if policy == Policy::Naive {
            // The advertised best: highest claimed success, then lowest latency, then
            // similarity, then id.
            let best = found.iter().max_by(|a, b| {
                a.qos
                    .success_bp
                    .cmp(&b.qos.success_bp)
                    .then(b.qos.latency_ms.cmp(&a.qos.latency_ms))
                    .then(a.similarity.total_cmp(&b.similarity))
                    .then(b.descriptor.provider.cmp(&a.descriptor.provider))
            });
            match best {
                Some(b) => {
                    req.min_success_bp = Some(b.qos.success_bp);
                    req.max_latency_ms = Some(b.qos.latency_ms);
                    vec![b.descriptor.provider]
                }
                None => Vec::new(),
            }
        } else {
            found.iter().map(|c| c.descriptor.provider).collect()
        };
        let mut dialed = false;
        for p in dial {
            if let Some(&i) = self.by_agent.get(&p) {
                let other = self.nodes[i];
                if !self.sim.is_connected(node, other) {
                    self.sim.connect(node, other);
                    dialed = true;
                }
            }
        }
        (req, dialed)
    }

    /// The request for `step` on `input`, at the policy's tier, with its canaries.
    fn task(&mut self, r: usize, step: Step, input: Bytes, req: Requirements) -> TaskRequest {
        let tier = match (self.requesters[r].policy, step) {
            (Policy::Naive | Policy::Reputation, _) => Tier::Reputation,
            (Policy::Full, Step::Publish) => Tier::Evidence,
            _ => Tier::Canary,
        };
        let mut task = TaskRequest::new(step.intent(), input).tier(tier);
        task.requirements = req;
        if tier == Tier::Canary {
            let rng = &mut self.requesters[r].rng;
            let canaries = (0..self.attempts * self.canaries)
                .map(|_| {
                    let c = random_input(step, rng);
                    let expected = step.apply(&c);
                    CanaryCase::new(c, expected)
                })
                .collect();
            task = task.canaries(canaries);
        }
        task
    }

    fn start_step(&mut self, r: usize, step: Step, input: Bytes) {
        let (_, dialed) = self.dial(r, step);
        let now = self.sim.now().mono;
        let ready_at = if dialed {
            now.saturating_add(DIAL_WAIT)
        } else {
            now
        };
        self.requesters[r].phase = Phase::Dialing {
            step,
            input,
            ready_at,
        };
    }

    /// Request `step` once the dialed links had time to come up (the pick and the candidates
    /// are looked up again: the index may have changed meanwhile).
    fn send(&mut self, r: usize, step: Step, input: Bytes) {
        let (req, _) = self.dial(r, step);
        let task = self.task(r, step, input.clone(), req);
        let node = self.requesters[r].node;
        self.requesters[r].stats.tasks += 1;
        let started = self
            .sim
            .command(node, |h, now| h.agent_mut().request(now, task))
            .expect("requester is up");
        match started {
            Ok(id) => self.requesters[r].phase = Phase::Waiting { step, input, id },
            Err(_) => self.finish(r, step, None),
        }
    }

    /// A step ended with `result` (`None`: no result).
    fn finish(&mut self, r: usize, step: Step, result: Option<(Bytes, Bytes)>) {
        let q = &mut self.requesters[r];
        q.phase = Phase::Idle;
        let Some((input, result)) = result else {
            return;
        };
        let correct = result == step.apply(&input);
        if correct {
            q.stats.tasks_ok += 1;
        }
        match step {
            Step::Image => {
                q.image = Some(result.clone());
                // Step 2 runs on whatever step 1 delivered (the requester cannot tell).
                self.start_step(r, Step::Publish, result);
            }
            Step::Publish => {
                let want = Step::Publish.apply(&Step::Image.apply(&q.prompt));
                if correct && result == want {
                    q.stats.workflows_ok += 1;
                }
            }
        }
    }

    fn begin_workflow(&mut self, r: usize) {
        let q = &mut self.requesters[r];
        q.prompt = random_input(Step::Image, &mut q.rng);
        q.image = None;
        q.stats.workflows += 1;
        let prompt = q.prompt.clone();
        self.start_step(r, Step::Image, prompt);
    }

    fn requester_of(&self, node: NodeId) -> Option<usize> {
        self.requesters.iter().position(|q| q.node == node)
    }

    fn control_frames(&self) -> u64 {
        self.nodes
            .iter()
            .filter_map(|&n| self.sim.engine(n))
            .map(|h| {
                let t = h.agent().traffic();
                t.gossip.sent_frames + t.trust.sent_frames
            })
            .sum()
    }
}

/// Run one world: `cfg`, `discovery`, `seed`. Progress is the caller's.
pub fn run(cfg: &Config, discovery: Discovery, seed: u64) -> RunResult {
    let mut w = build(cfg, discovery, seed);
    let mut drift_rng = ChaCha8Rng::from_seed(agent_seed(seed ^ 0xD41F7, usize::MAX));
    let start = w.sim.now().mono;
    let measure_from = start.saturating_add(cfg.warmup);
    let rounds_end = measure_from.saturating_add(cfg.period * cfg.rounds as u32);
    let hard_end = rounds_end.saturating_add(cfg.grace);
    let mut next_round = measure_from;
    let mut rounds_started = 0usize;
    let mut next_drift = start.saturating_add(Duration::from_secs(1));
    let mut control_start = None;
    let mut control_end = None;
    let mut lat_sum = 0.0;
    let mut lat_n = 0u64;
    let mut stale_sum = 0u64;
    let mut drift_steps = 0u64;
    let honest = w.stale.iter().filter(|s| s.is_some()).count();
    let observers = w.observers.clone();
    loop {
        w.sim.run_for(TICK);
        let now = w.sim.now();
        let measuring = now.mono >= measure_from && now.mono <= rounds_end;
        for (at, node, e) in w.sim.drain_events() {
            let i = node.0 as usize;
            match e {
                AgentEvent::Gossip(agentnet_gossip::Event::Published { .. }) => {
                    if let Some(Some(f)) = w.stale.get(i) {
                        f.store(false, Ordering::Relaxed);
                    }
                }
                AgentEvent::Gossip(agentnet_gossip::Event::Descriptor(d))
                    if measuring && observers.contains(&node) =>
                {
                    let issued = d.value().issued_at;
                    let ms = at.wall.saturating_duration_since(issued).as_secs_f64() * 1000.0;
                    lat_sum += ms;
                    lat_n += 1;
                }
                AgentEvent::Progress {
                    stage: Stage::Offered { canaries, .. },
                    ..
                } => {
                    if let Some(r) = w.requester_of(node) {
                        w.requesters[r].stats.canaries_sent += canaries as u64;
                    }
                }
                AgentEvent::Completed(o) => {
                    let Some(r) = w.requester_of(node) else {
                        continue;
                    };
                    let (step, input) = match &w.requesters[r].phase {
                        Phase::Waiting { step, input, id } if *id == o.request => {
                            (*step, input.clone())
                        }
                        _ => continue,
                    };
                    // Attempts the gate skipped (convicted, below reputation, no link) were
                    // never offered work: only offers count toward fallbacks.
                    let offered = o
                        .attempts
                        .iter()
                        .filter(|a| {
                            !matches!(
                                a.verdict,
                                Verdict::Convicted
                                    | Verdict::BelowReputation { .. }
                                    | Verdict::Unreachable
                            )
                        })
                        .count();
                    w.requesters[r].stats.fallbacks += offered.saturating_sub(1) as u64;
                    let result = o.result.ok().map(|b| (input, b));
                    w.finish(r, step, result);
                }
                _ => {}
            }
        }
        // Drift, once per virtual second.
        while now.mono >= next_drift {
            next_drift = next_drift.saturating_add(Duration::from_secs(1));
            let mut stale_now = 0;
            for f in w.stale.iter().flatten() {
                if !f.load(Ordering::Relaxed) && unit(&mut drift_rng) < cfg.drift {
                    f.store(true, Ordering::Relaxed);
                }
                if f.load(Ordering::Relaxed) {
                    stale_now += 1;
                }
            }
            if measuring {
                stale_sum += stale_now;
                drift_steps += 1;
            }
        }
        if control_start.is_none() && now.mono >= measure_from {
            control_start = Some((w.control_frames(), now.mono));
        }
        if control_end.is_none() && now.mono >= rounds_end {
            control_end = Some((w.control_frames(), now.mono));
        }
        // New workflows, one per idle requester per round.
        if rounds_started < cfg.rounds && now.mono >= next_round {
            next_round = next_round.saturating_add(cfg.period);
            rounds_started += 1;
            for r in 0..w.requesters.len() {
                if matches!(w.requesters[r].phase, Phase::Idle) {
                    w.begin_workflow(r);
                }
            }
        }
        // Dialed steps whose links had time to come up.
        for r in 0..w.requesters.len() {
            if let Phase::Dialing {
                step,
                input,
                ready_at,
            } = &w.requesters[r].phase
                && now.mono >= *ready_at
            {
                let (step, input) = (*step, input.clone());
                w.send(r, step, input);
            }
        }
        let all_idle = w.requesters.iter().all(|q| matches!(q.phase, Phase::Idle));
        if (rounds_started >= cfg.rounds && control_end.is_some() && all_idle)
            || now.mono >= hard_end
        {
            break;
        }
    }
    let (c0, t0) = control_start.unwrap_or((0, measure_from));
    let (c1, t1) = control_end.unwrap_or_else(|| (w.control_frames(), w.sim.now().mono));
    let mut policies: Vec<(Policy, PolicyStats)> = Policy::ALL
        .iter()
        .map(|p| (*p, PolicyStats::default()))
        .collect();
    for q in &w.requesters {
        if let Some((_, s)) = policies.iter_mut().find(|(p, _)| *p == q.policy) {
            s.add(&q.stats);
        }
    }
    let _ = &w.roles;
    RunResult {
        discovery,
        policies,
        discovery_samples: lat_n,
        discovery_latency_sum_ms: lat_sum,
        control_frames: c1.saturating_sub(c0),
        sim_nodes: w.nodes.len(),
        measured_s: t1.saturating_duration_since(t0).as_secs_f64(),
        stale_provider_seconds: stale_sum,
        drift_steps,
        honest,
    }
}

/// The knee of a reliability/overhead trade-off: among points `(x, success, overhead)` (x in
/// increasing order), the `x` maximising `ŝ − ĉ`, where `ŝ` and `ĉ` are success and overhead
/// scaled to `[0, 1]` over the points (a constant series scales to 0). That is the point with
/// the best balance: going left buys overhead for little reliability, going right loses
/// reliability for little saving. Ties go to the smaller `x`. `None` without points.
pub fn knee(points: &[(f64, f64, f64)]) -> Option<f64> {
    let scale = |v: &[f64]| -> Vec<f64> {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        v.iter()
            .map(|x| if hi > lo { (x - lo) / (hi - lo) } else { 0.0 })
            .collect()
    };
    let s = scale(&points.iter().map(|p| p.1).collect::<Vec<_>>());
    let c = scale(&points.iter().map(|p| p.2).collect::<Vec<_>>());
    let mut best: Option<(f64, f64)> = None;
    for (i, p) in points.iter().enumerate() {
        let v = s[i] - c[i];
        if best.is_none_or(|(_, b)| v > b + 1e-12) {
            best = Some((p.0, v));
        }
    }
    best.map(|b| b.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knee_balances_success_and_overhead() {
        // Success falls slowly then fast; overhead falls fast then slowly.
        let pts = [
            (5.0, 1.0, 10.0),
            (10.0, 0.98, 5.0),
            (15.0, 0.96, 3.5),
            (30.0, 0.8, 2.5),
            (60.0, 0.5, 2.0),
        ];
        assert_eq!(knee(&pts), Some(15.0));
        assert_eq!(knee(&[]), None);
    }

    #[test]
    fn wrong_results_have_the_right_shape() {
        let x = b"prompt";
        assert_eq!(Step::Image.apply(x).len(), Step::Image.wrong(x, "s").len());
        assert_ne!(Step::Image.apply(x), Step::Image.wrong(x, "s"));
    }
}
