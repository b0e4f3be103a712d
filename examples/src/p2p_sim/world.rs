//! The agents of the agentic-P2P world: workflow steps, handlers, requesters, the world state and how a requester dials, starts its workflow and checks the steps.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use agentnet_core::sim::{NodeId, Sim};
use agentnet_core::{AgentId, RequestId};
use agentnet_gossip::Requirements;
use agentnet_mech::mechanism::Tier;
use agentnet_transport::agent::sim::{Handler, SimHost};
use agentnet_transport::agent::{
    CanaryCase, Executed, TaskRequest, Workflow, WorkflowOutcome, WorkflowStep,
};
use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

/// The name of step 1 in the workflow.
pub(crate) const IMAGE_STEP: &str = "image";

/// The name of step 2, fed by step 1's result.
pub(crate) const PUBLISH_STEP: &str = "publish";

/// The two workflow steps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    Image,
    Publish,
}

impl Step {
    pub(crate) fn topic(self) -> &'static str {
        match self {
            Step::Image => "creative/image",
            Step::Publish => "creative/publish",
        }
    }

    pub(crate) fn capability(self) -> &'static str {
        match self {
            Step::Image => "image.generate",
            Step::Publish => "image.publish",
        }
    }

    pub(crate) fn intent(self) -> &'static str {
        match self {
            Step::Image => "generate an image from my text prompt",
            Step::Publish => "publish my image to a public gallery",
        }
    }

    /// Intent texts of honest providers.
    pub(crate) fn offers(self) -> [&'static str; 4] {
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

    pub(crate) fn tag(self) -> (&'static str, &'static str) {
        match self {
            Step::Image => ("IMG:", "image"),
            Step::Publish => ("PUB:", "publish"),
        }
    }

    /// The correct result for `input`.
    pub(crate) fn apply(self, input: &[u8]) -> Bytes {
        let (prefix, domain) = self.tag();
        shaped(prefix, domain, input)
    }

    /// A wrong result of the same shape (`how`: who got it wrong).
    pub(crate) fn wrong(self, input: &[u8], how: &str) -> Bytes {
        let (prefix, domain) = self.tag();
        shaped(prefix, &format!("{domain}/{how}"), input)
    }
}

pub(crate) fn shaped(prefix: &str, domain: &str, input: &[u8]) -> Bytes {
    let mut h = blake3::Hasher::new();
    h.update(domain.as_bytes());
    h.update(&[0]);
    h.update(input);
    let hex = h.finalize().to_hex();
    Bytes::from(format!("{prefix}{}", &hex[..32]))
}

pub(crate) fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    (rng.next_u64() % n.max(1) as u64) as usize
}

pub(crate) fn agent_seed(run: u64, index: usize) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&run.to_le_bytes());
    s[8..16].copy_from_slice(&(index as u64).to_le_bytes());
    s[16] = 0xA9;
    s
}

/// A random prompt (48 bytes) or image string of the step-1 result's length.
pub(crate) fn random_input(step: Step, rng: &mut ChaCha8Rng) -> Bytes {
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
pub(crate) enum Role {
    Requester(Policy),
    Observer,
    Honest(Step),
    Sybil(Step),
    Registry,
}

/// Where a requester is in its workflow.
#[derive(Debug)]
pub(crate) enum Phase {
    Idle,
    /// The candidates of both steps were dialed; the workflow starts at `ready_at`.
    Dialing {
        ready_at: agentnet_core::Instant,
    },
    /// The workflow `id` runs in the agent.
    Running {
        id: RequestId,
    },
}

#[derive(Debug)]
pub(crate) struct Requester {
    pub(crate) node: NodeId,
    pub(crate) policy: Policy,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) prompt: Bytes,
    pub(crate) phase: Phase,
    pub(crate) stats: PolicyStats,
}

pub(crate) struct World {
    pub(crate) sim: Sim<SimHost>,
    pub(crate) attempts: usize,
    pub(crate) canaries: usize,
    pub(crate) roles: Vec<Role>,
    pub(crate) nodes: Vec<NodeId>,
    pub(crate) by_agent: BTreeMap<AgentId, usize>,
    pub(crate) stale: Vec<Option<Arc<AtomicBool>>>,
    pub(crate) requesters: Vec<Requester>,
    pub(crate) observers: Vec<NodeId>,
}

pub(crate) fn honest_handler(
    step: Step,
    stale: Arc<AtomicBool>,
    p: f64,
    seed: [u8; 32],
) -> Handler {
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

pub(crate) fn sybil_handler(step: Step) -> Handler {
    Box::new(move |_task, input| Executed::Done {
        result: step.wrong(input, "sybil"),
        tools: Vec::new(),
    })
}

impl World {
    /// Dial the candidates of `step` (naive: its pick only); the requirements to request
    /// with, and whether a new link was made.
    pub(crate) fn dial(&mut self, r: usize, step: Step) -> (Requirements, bool) {
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
                    req.min_success_bp = b.qos.success_bp;
                    req.max_latency_ms = b.qos.latency_ms;
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
    pub(crate) fn task(
        &mut self,
        r: usize,
        step: Step,
        input: Bytes,
        req: Requirements,
    ) -> TaskRequest {
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

    /// Dial the candidates of both steps; the requirements of each, and whether a new link
    /// was made.
    pub(crate) fn dial_workflow(&mut self, r: usize) -> ([Requirements; 2], bool) {
        let (image, a) = self.dial(r, Step::Image);
        let (publish, b) = self.dial(r, Step::Publish);
        ([image, publish], a || b)
    }

    /// A new workflow: a fresh prompt, both steps' candidates dialed, the start once the
    /// links had time to come up.
    pub(crate) fn begin_workflow(&mut self, r: usize) {
        let q = &mut self.requesters[r];
        q.prompt = random_input(Step::Image, &mut q.rng);
        q.stats.workflows += 1;
        let (_, dialed) = self.dial_workflow(r);
        let now = self.sim.now().mono;
        let ready_at = if dialed {
            now.saturating_add(DIAL_WAIT)
        } else {
            now
        };
        self.requesters[r].phase = Phase::Dialing { ready_at };
    }

    /// Start the dialed workflow: one [`Agent::workflow`] with both steps, step 2 fed by
    /// step 1's result (the candidates and the naive pick are looked up again: the index may
    /// have changed meanwhile).
    ///
    /// [`Agent::workflow`]: agentnet_transport::agent::Agent::workflow
    pub(crate) fn start_workflow(&mut self, r: usize) {
        let ([image_req, publish_req], _) = self.dial_workflow(r);
        let prompt = self.requesters[r].prompt.clone();
        let image = self.task(r, Step::Image, prompt, image_req);
        // The input is replaced by step 1's result when step 2 starts.
        let publish = self.task(r, Step::Publish, Bytes::new(), publish_req);
        let wf = Workflow {
            steps: vec![
                WorkflowStep::new(IMAGE_STEP, image),
                WorkflowStep::new(PUBLISH_STEP, publish).from(IMAGE_STEP),
            ],
        };
        let node = self.requesters[r].node;
        let started = self
            .sim
            .command(node, |h, now| h.agent_mut().workflow(now, wf))
            .expect("requester is up");
        let q = &mut self.requesters[r];
        match started {
            Ok(id) => q.phase = Phase::Running { id },
            Err(_) => {
                // Step 1 was asked for and ended without a result.
                q.stats.tasks += 1;
                q.phase = Phase::Idle;
            }
        }
    }

    /// The workflow of requester `r` ended: count its steps (see the module docs, "The
    /// workflow").
    pub(crate) fn finish(&mut self, r: usize, outcome: &WorkflowOutcome) {
        let q = &mut self.requesters[r];
        q.phase = Phase::Idle;
        let result = |name: &str| {
            outcome
                .steps
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.result().ok())
        };
        // Step 1 was requested (a request that could not start ended without a result).
        q.stats.tasks += 1;
        let Some(image) = result(IMAGE_STEP) else {
            // Step 2 had no input and was skipped: never requested, so not a task.
            return;
        };
        if *image == Step::Image.apply(&q.prompt) {
            q.stats.tasks_ok += 1;
        }
        // Step 2 runs on whatever step 1 delivered (the requester cannot tell).
        q.stats.tasks += 1;
        let Some(published) = result(PUBLISH_STEP) else {
            return;
        };
        if *published == Step::Publish.apply(image) {
            q.stats.tasks_ok += 1;
            let want = Step::Publish.apply(&Step::Image.apply(&q.prompt));
            if *published == want {
                q.stats.workflows_ok += 1;
            }
        }
    }

    /// The run ends with requester `r`'s workflow still open: a failed workflow (counted when
    /// it began) whose step 1, issued and without a result, is a failed task.
    pub(crate) fn abandon(&mut self, r: usize) {
        let q = &mut self.requesters[r];
        if matches!(q.phase, Phase::Running { .. }) {
            q.stats.tasks += 1;
        }
        q.phase = Phase::Idle;
    }

    pub(crate) fn requester_of(&self, node: NodeId) -> Option<usize> {
        self.requesters.iter().position(|q| q.node == node)
    }

    pub(crate) fn control_frames(&self) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_results_have_the_right_shape() {
        let x = b"prompt";
        assert_eq!(Step::Image.apply(x).len(), Step::Image.wrong(x, "s").len());
        assert_ne!(Step::Image.apply(x), Step::Image.wrong(x, "s"));
    }
}
