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
//! Two steps, run as one workflow of the Agent ([`Agent::workflow`]: each step one request
//! through the funnel, with its own tier, canaries, requirements, fallback and settlement):
//!
//! 1. `image`: `creative/image`, intent "generate an image from my text prompt": input a
//!    48-byte prompt, correct result `IMG:` + the first 32 hex digits of
//!    BLAKE3("image" ‖ input);
//! 2. `publish`, fed by `image` (`WorkflowStep::from`): `creative/publish`, intent "publish my
//!    image to a public gallery": input the result of step 1 (whatever was accepted), correct
//!    result `PUB:` + 32 hex digits of BLAKE3("publish" ‖ input).
//!
//! Wrong results (Sybils, stale providers) have the same shape with another hash, so only a
//! check against the function tells them apart. A requester starts a workflow every
//! [`Config::period`] when its previous one ended, with one [`Agent::workflow`] call holding
//! both steps, and counts it when the Agent reports its end ([`AgentEvent::WorkflowCompleted`],
//! every step's outcome). The Agent hands step 1's accepted result to step 2 by itself: a
//! wrong result step 1 accepted (a stale provider or Sybil that passed the step's checks) is a
//! success for the Agent, so step 2 runs on it, as the requester cannot tell. A step 1 that
//! ended without a result (every attempt failed, or the request could not start) makes the
//! Agent skip step 2.
//!
//! **Workflow success**: both steps delivered and both results correct (step 2 must equal
//! `publish(image(prompt))`). **Task success**: the share of step requests issued whose
//! accepted result was correct (a request that ended without a result counts as a failure).
//! Step 1 is always issued; step 2 only when step 1 delivered a result. A step 2 the Agent
//! skipped for want of an input was never requested, so it is not a task: it counts neither
//! for nor against task success (the workflow is a failure all the same). A workflow the Agent
//! refuses to start counts as a step 1 that ended without a result. Workflows still open when
//! the run ends count as failures, with their step 1 as a failed task (their outcome, and so
//! whether step 2 was issued, is not known).
//!
//! Canaries are generated like real work, for each step when the workflow starts: a canary
//! for step 1 is a random prompt of the same length, one for step 2 a random `IMG:` string of
//! the same length; the requester knows the functions, so it knows the answers
//! ([`CanaryCase`]).
//!
//! Before each workflow the requester's host dials the providers it might use for either
//! step, like [`Node::workflow`] does: for each step it looks the intent up in its own index
//! ([`Agent::discover`], up to 64 candidates, restricted to the step's topic) and connects to
//! every one it has no link to yet, then waits [`DIAL_WAIT`] for the link handshakes (not at
//! all if every link was up) before it starts the workflow. At the start it looks both steps
//! up again (the index may have changed meanwhile) for the requirements it gives each step.
//! These execution links also carry gossip (the agent does not distinguish links).
//!
//! # Policies (same world, same run)
//!
//! | policy | how it is expressed on the Agent |
//! |---|---|
//! | `naive` | the advertised best: for each step the host picks, among the discovered candidates, the highest claimed success (then lowest claimed latency, then highest similarity), dials that pick only, and pins the step's request to claims at least that good (`Requirements::min_success_bp`/`max_latency_ms`); both steps are picked when the workflow starts; tier 1, one attempt, no exploration |
//! | `reputation` | tier 1: the Agent's own selection (Pareto layers with reputation, exploration 0.1) and its tier-1 gate (no net failures in its ledger, reputation ≥ 0); up to [`Config::attempts`] offers (fallback only on a decline or timeout: tier 1 accepts any delivery whose hash matches) |
//! | `risk_aware` | tier 2: the same selection, canaries interleaved with each attempt (as many as the Agent's canary depth asks for, up to [`Config::canaries`]), fallback to the next candidate on a failed canary, up to [`Config::attempts`] offers |
//! | `full` | `risk_aware` on step 1, tier 3 (evidence package verified; a contradiction becomes a fraud proof) on the publishing step. The Agent checks one tier per request (per step), so step 2 has no canary: tier 3 replaces tier 2 there |
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
//!   `Stage::Offered`), per policy. `fallbacks`: attempts after the first in every step that
//!   ran in a finished workflow: providers offered the task after the first one (attempts the
//!   tier-1 gate skipped without an offer — convicted, net failures, no link — do not count),
//!   per policy.
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
//!
//! [`Agent`]: agentnet_transport::agent::Agent
//! [`Agent::workflow`]: agentnet_transport::agent::Agent::workflow
//! [`AgentEvent::WorkflowCompleted`]: agentnet_transport::agent::AgentEvent::WorkflowCompleted
//! [`Node::workflow`]: agentnet_transport::node::Node::workflow
//! [`Agent::discover`]: agentnet_transport::agent::Agent::discover
//! [`Agent::traffic`]: agentnet_transport::agent::Agent::traffic
//! [`CanaryCase`]: agentnet_transport::agent::CanaryCase
//! [`forge_contradicting_delivery`]: agentnet_transport::agent::sim::forge_contradicting_delivery

use std::time::Duration;

mod build;
mod config;
mod run;
mod world;

pub use config::{Config, Discovery, Policy, PolicyStats, RunResult};
pub use run::{knee, run};

use build::*;
use world::*;

/// Time a requester's host waits after dialing new providers before it starts a workflow (the
/// link handshakes and identity chains need a few round trips).
pub const DIAL_WAIT: Duration = Duration::from_millis(300);

/// Simulation step between looks at the requesters.
const TICK: Duration = Duration::from_millis(50);

/// Most candidates a requester takes from discovery (the funnel's upper bound).
const CANDIDATES: usize = 64;
