//! The agents of the agentic-P2P world: workflow steps, handlers, requesters, the world state and how a requester dials, requests and checks.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use agentnet_core::sim::{NodeId, Sim};
use agentnet_core::{AgentId, RequestId};
use agentnet_gossip::Requirements;
use agentnet_mech::mechanism::Tier;
use agentnet_transport::agent::sim::{Handler, SimHost};
use agentnet_transport::agent::{CanaryCase, Executed, TaskRequest};
use bytes::Bytes;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};

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

#[derive(Debug)]
pub(crate) enum Phase {
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
pub(crate) struct Requester {
    pub(crate) node: NodeId,
    pub(crate) policy: Policy,
    pub(crate) rng: ChaCha8Rng,
    pub(crate) prompt: Bytes,
    pub(crate) image: Option<Bytes>,
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

    pub(crate) fn start_step(&mut self, r: usize, step: Step, input: Bytes) {
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
    pub(crate) fn send(&mut self, r: usize, step: Step, input: Bytes) {
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
    pub(crate) fn finish(&mut self, r: usize, step: Step, result: Option<(Bytes, Bytes)>) {
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

    pub(crate) fn begin_workflow(&mut self, r: usize) {
        let q = &mut self.requesters[r];
        q.prompt = random_input(Step::Image, &mut q.rng);
        q.image = None;
        q.stats.workflows += 1;
        let prompt = q.prompt.clone();
        self.start_step(r, Step::Image, prompt);
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
