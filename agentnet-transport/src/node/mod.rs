//! [`Node`]: the async shell that executes one sans-IO [`Agent`] over a real [`Transport`], a
//! [`Store`], a [`Clock`], the application's task handlers and (optionally) a
//! [`LanguageModel`].
//!
//! A node owns one driver task (spawned on the caller's tokio runtime). The task is the only
//! place the agent lives; the [`Node`] handle talks to it through a bounded command queue and
//! hears from it through a broadcast channel of [`NodeEvent`]s. Per turn the driver:
//!
//! 1. waits for the first of: a command, a transport event, the agent's deadline
//!    (`poll_timeout`), a finished task handler or model call, the next store pruning or
//!    bootstrap redial;
//! 2. feeds it to the agent (`handle_message`, `handle_link_up/down`, `handle_timeout`, a
//!    command such as `request`, or a completion such as `handle_executed`);
//! 3. drains the agent, pass after pass until a pass yields nothing: frames are collected,
//!    events are published, effects are executed — every [`Effect::Persist`] of the pass is
//!    written as **one** store batch and acknowledged (`handle_persisted`), then the pass's
//!    frames are sent. So nothing the agent acknowledges to a peer (a commitment and its
//!    deposit, a delegation, an own log entry) leaves before the state behind it is on disk.
//!    [`Effect::Execute`] runs the application's handler for the capability on its own tokio
//!    task (bounded by the task's deadline); [`Effect::Llm`] calls the language model;
//!    [`Effect::Embed`] calls the [`Embedder`] (see `NodeBuilder::embedder`).
//!
//! Frames are not inspected here: the agent routes them by plane. The node fills the
//! endpoints of the descriptors it announces from its listen address, so a provider found
//! through relays can be dialed, and reuses a link it already has to an agent.
//!
//! The node does not discover peers beyond its bootstrap list, the peers that dial it and the
//! endpoints of descriptors it requests from; it redials bootstrap addresses with exponential
//! backoff whenever it has no link to them.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::effect::ExecuteTask;
use agentnet_core::semantic::{
    HashedNgramEncoder, RemoteEncoder, RemoteEncoderLimits, SemanticEncoder,
};
use agentnet_core::wire::peek_kind;
use agentnet_core::{AgentId, Effect, Engine, Instant, Keypair, LinkId, Now, RequestId};
use agentnet_gossip::{Candidate, Event as GossipEvent, InterestProfile, Requirements};
use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::agent::{
    Agent, AgentConfig, AgentError, AgentEvent, ConfigError, Executed, ServePolicy, Stage,
    TaskOutcome, TaskRequest, Traffic,
};
use crate::host::{
    Clock, Embedder, LanguageModel, LinkDown, LinkInfo, Prompt, SystemClock, Transport,
};
use crate::store::{MemoryStore, RedbStore, Store, StoreError, Write};

mod builder;
mod config;
mod driver;
mod effects;
mod embed;
mod events;
mod intent;
mod load;
mod workflow;

pub use builder::NodeBuilder;
pub use config::NodeConfig;
pub use events::{FrameCount, NodeError, NodeEvent, NodeStats};

use driver::{Command, Driver, Redial};

/// The application's side of a served capability: task and input in, result out.
pub type Handler =
    Arc<dyn Fn(ExecuteTask, Bytes) -> Pin<Box<dyn Future<Output = Executed> + Send>> + Send + Sync>;

/// A running request: its stages as they happen, then its outcome.
#[derive(Debug)]
pub struct RequestHandle {
    id: RequestId,
    stages: mpsc::UnboundedReceiver<Stage>,
    outcome: oneshot::Receiver<TaskOutcome>,
}

impl RequestHandle {
    /// The request's id (as in [`AgentEvent::Progress`] and [`AgentEvent::Completed`]).
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The next stage; `None` once the request ended (then call [`outcome`](Self::outcome)).
    pub async fn next_stage(&mut self) -> Option<Stage> {
        self.stages.recv().await
    }

    /// Wait for the outcome.
    pub async fn outcome(self) -> Result<TaskOutcome, NodeError> {
        self.outcome.await.map_err(|_| NodeError::Stopped)
    }
}

/// A running agentnet node. See the [module docs](self) and the crate docs for an example.
///
/// Dropping the handle (and every clone of its command channel, i.e. this handle) stops the
/// driver; [`shutdown`](Self::shutdown) does so and waits for it.
pub struct Node {
    id: AgentId,
    addr: Option<String>,
    cmd: mpsc::Sender<Command>,
    events_tx: broadcast::Sender<NodeEvent>,
    events: broadcast::Receiver<NodeEvent>,
    llm: Option<Arc<dyn LanguageModel>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.id)
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Node {
    /// Start configuring a node.
    pub fn builder() -> NodeBuilder {
        NodeBuilder::new()
    }

    /// The node's identity.
    pub fn id(&self) -> AgentId {
        self.id
    }

    /// Where the transport listens, if it does.
    pub fn local_addr(&self) -> Option<&str> {
        self.addr.as_deref()
    }

    /// The language model given to the builder, if any.
    pub fn language_model(&self) -> Option<&Arc<dyn LanguageModel>> {
        self.llm.as_ref()
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        self.cmd
            .send(make(tx))
            .await
            .map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Announce a capability: the descriptor (whose provider must be this node) is signed,
    /// logged in its topic, made durable and gossiped, and re-issued before it expires until
    /// [`withdraw`](Self::withdraw). Without endpoints, the node's listen address is filled
    /// in. Returns the topic and log seq of the entry.
    pub async fn announce(
        &self,
        descriptor: CapabilityDescriptor,
    ) -> Result<(Topic, u64), NodeError> {
        self.call(|r| Command::Announce(Box::new(descriptor), r))
            .await?
    }

    /// Serve a capability: announce `descriptor` and run `handler` for every task accepted
    /// for it (by [`ServePolicy::default`]). The handler gets the task and its input and
    /// returns the result, with the tool calls that produced it if it wants them signed into
    /// receipts (tier 3 gets one receipt for the whole call otherwise).
    pub async fn serve<F, Fut>(
        &self,
        descriptor: CapabilityDescriptor,
        handler: F,
    ) -> Result<(), NodeError>
    where
        F: Fn(ExecuteTask, Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Executed> + Send + 'static,
    {
        self.serve_with(descriptor, ServePolicy::default(), handler)
            .await
    }

    /// [`serve`](Self::serve) under an explicit policy (least pay, largest deposit, ...).
    pub async fn serve_with<F, Fut>(
        &self,
        descriptor: CapabilityDescriptor,
        policy: ServePolicy,
        handler: F,
    ) -> Result<(), NodeError>
    where
        F: Fn(ExecuteTask, Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Executed> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |task, input| Box::pin(handler(task, input)));
        self.call(|r| Command::Serve(Box::new(descriptor), policy, handler, r))
            .await?
    }

    /// Run the whole funnel for `task` and wait for its outcome. Stages are also published
    /// as [`NodeEvent::Agent`] events; use [`start_request`](Self::start_request) to follow
    /// one request's stages.
    pub async fn request(&self, task: TaskRequest) -> Result<TaskOutcome, NodeError> {
        self.start_request(task).await?.outcome().await
    }

    /// Start the funnel for `task`; the handle yields its stages, then its outcome.
    pub async fn start_request(&self, task: TaskRequest) -> Result<RequestHandle, NodeError> {
        self.call(|r| Command::Request(Box::new(task), r)).await?
    }

    /// `agent`'s reputation in `topic` as this node sees it, and whether this node holds a
    /// fraud proof against it.
    pub async fn reputation(&self, agent: AgentId, topic: Topic) -> Result<(f64, bool), NodeError> {
        self.call(|r| Command::Reputation(agent, topic, r)).await
    }

    /// Every reputation score this node holds, by topic (highest first): (topic, agent,
    /// score, whether this node holds a fraud proof against it).
    pub async fn reputation_table(&self) -> Result<Vec<(Topic, AgentId, f64, bool)>, NodeError> {
        self.call(Command::ReputationTable).await
    }

    /// Stop re-issuing a capability (it expires with its TTL). False if it was not announced.
    pub async fn withdraw(&self, capability: &str) -> Result<bool, NodeError> {
        self.call(|r| Command::Withdraw(capability.to_string(), r))
            .await
    }

    /// Follow a topic (receive and relay its headers).
    pub async fn subscribe(&self, topic: Topic) -> Result<(), NodeError> {
        self.call(|r| Command::Subscribe(topic, r)).await?
    }

    /// Replace the interest profile (which announced descriptors to fetch and index).
    pub async fn set_interest(&self, profile: InterestProfile) -> Result<(), NodeError> {
        self.call(|r| Command::Interest(profile, r)).await
    }

    /// Rank the fresh descriptors this node holds against an intent in plain words.
    pub async fn discover(
        &self,
        intent: &str,
        requirements: Requirements,
        k: usize,
    ) -> Result<Vec<Candidate>, NodeError> {
        self.call(|reply| Command::Discover {
            intent: intent.to_string(),
            requirements,
            k,
            reply,
        })
        .await
    }

    /// Run a workflow: steps whose input is an earlier step's result, each through the
    /// whole funnel with its own tier and fallback, one settlement per step (see
    /// [`Agent::workflow`](crate::agent::Agent::workflow)). Returns when every step has
    /// ended; a step that failed after its fallbacks ends the workflow with its reason and
    /// skips the steps it feeds.
    pub async fn workflow(
        &self,
        wf: crate::agent::Workflow,
    ) -> Result<crate::agent::WorkflowOutcome, NodeError> {
        let rx = self.call(|r| Command::Workflow(Box::new(wf), r)).await??;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// The fresh descriptors this node holds (what [`discover`](Self::discover) ranks), at
    /// most `max`, in (provider, capability) order.
    pub async fn descriptors(&self, max: usize) -> Result<Vec<CapabilityDescriptor>, NodeError> {
        self.call(|r| Command::Descriptors(max, r)).await
    }

    /// Dial `addr` once (the outcome arrives as [`NodeEvent::LinkUp`] or
    /// [`NodeEvent::Refused`]).
    pub async fn connect(&self, addr: &str) -> Result<(), NodeError> {
        self.call(|r| Command::Connect(addr.to_string(), r)).await?
    }

    /// The links up now.
    pub async fn peers(&self) -> Result<Vec<LinkInfo>, NodeError> {
        self.call(Command::Peers).await
    }

    /// Traffic and engine counters.
    pub async fn stats(&self) -> Result<NodeStats, NodeError> {
        self.call(Command::Stats).await
    }

    /// The topics followed, each with whether it is followed only because a peer follows it
    /// (`NodeConfig::follow_peer_topics`; such topics are not kept across a restart).
    pub async fn topics(&self) -> Result<Vec<(Topic, bool)>, NodeError> {
        self.call(Command::Topics).await
    }

    /// The next event for this handle. `None` once the node has stopped and every event was
    /// read.
    pub async fn next_event(&mut self) -> Option<NodeEvent> {
        match self.events.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(n)) => Some(NodeEvent::Lagged(n)),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// Another receiver of the node's events (from now on).
    pub fn subscribe_events(&self) -> broadcast::Receiver<NodeEvent> {
        self.events_tx.subscribe()
    }

    /// Stop the driver (closing every link) and wait for it.
    pub async fn shutdown(mut self) -> Result<(), NodeError> {
        let _ = self.call(Command::Shutdown).await;
        if let Some(t) = self.task.take() {
            t.await.map_err(|_| NodeError::Stopped)?;
        }
        Ok(())
    }
}
