//! `agentnet mcp`: a node that offers the network to an MCP client (an agent framework, an
//! IDE, a chat app) as four tools, over stdio.
//!
//! Stdout carries the protocol and nothing else: the node prints no `listening` line, and
//! diagnostics go to stderr through `tracing` (`RUST_LOG`). Every failure a tool meets (bad
//! arguments, no candidates, a failed request, a stopped node) is a tool result with
//! `isError: true` and the reason as text, so the model calling it can read it and try
//! again; the server itself keeps answering. When stdin closes the server finishes the tool
//! calls still running, writes their results, shuts the node down and exits 0.

use super::*;

use std::collections::HashSet;
use std::future::Future;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ClientNotification, ClientRequest, ContentBlock, JsonRpcMessage,
};
use rmcp::schemars::JsonSchema;
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::Transport;
use rmcp::transport::async_rw::AsyncRwTransport;
use rmcp::{RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};
use serde_json::{Value, json};

/// The `mcp` command's arguments.
#[derive(clap::Args, Debug)]
pub(crate) struct McpArgs {
    #[command(flatten)]
    pub(crate) client: ClientArgs,
    /// How long after start a `discover` or `request` call waits for the node to learn of
    /// candidates, in seconds (later calls use what the node holds).
    #[arg(long, default_value_t = 10)]
    pub(crate) wait_secs: u64,
}

/// Start the node, serve MCP on stdio until stdin closes, stop the node.
pub(crate) async fn run_mcp(a: McpArgs) -> Result<(), Box<dyn Error>> {
    let node = start_requester(&a.client, agent_config()).await?;
    tracing::info!(id = %node.id(), addr = ?node.local_addr(), "agentnet mcp: node started");
    let node = Arc::new(node);
    let server = Tools {
        node: node.clone(),
        warm_until: WallClock::now() + Duration::from_secs(a.wait_secs),
    };
    let (stdin, stdout) = rmcp::transport::stdio();
    let transport = FinishInFlight::new(AsyncRwTransport::new_server(stdin, stdout));
    let served = match server.serve(transport).await {
        Ok(running) => running.waiting().await.map(drop).map_err(Box::from),
        // Input that ends before the handshake is a client that went away: as clean an end
        // as any other.
        Err(rmcp::service::ServerInitializeError::ConnectionClosed(_)) => Ok(()),
        Err(e) => Err(format!("MCP handshake: {e}").into()),
    };
    // The service and every call have let go of their handles by now; the retries only cover
    // a handler task that has written its result but not yet been dropped.
    let mut node = node;
    for _ in 0..50 {
        match Arc::try_unwrap(node) {
            Ok(n) => {
                n.shutdown().await?;
                return served;
            }
            Err(shared) => {
                node = shared;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    tracing::warn!("a tool call still holds the node; stopping it by dropping it");
    served
}

/// The MCP server: the node's task-level API as tools.
#[derive(Debug, Clone)]
struct Tools {
    node: Arc<Node>,
    /// Until then, `discover` and `request` wait for candidates (a fresh node has not yet
    /// pulled its peers' descriptors); after it, they use what the node holds at once, so
    /// asking an empty network fails fast.
    warm_until: WallClock,
}

/// `discover`'s arguments.
#[derive(Deserialize, JsonSchema, Debug)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
struct DiscoverParams {
    /// What is wanted, in plain words.
    intent: String,
    /// How many candidates to return (1 to 50; default 5).
    #[schemars(range(min = 1, max = 50))]
    k: Option<u32>,
    /// Only capabilities announced in this topic or under it (`text/transform`).
    topic: Option<String>,
}

/// `request`'s arguments.
#[derive(Deserialize, JsonSchema, Debug)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
struct RequestParams {
    /// What is wanted, in plain words.
    intent: String,
    /// The task input (UTF-8 text), handed to the provider.
    input: String,
    /// Verification tier: "auto" (default: the risk policy decides from value_at_risk),
    /// 1 (reputation), 2 (canaries) or 3 (signed evidence).
    #[schemars(schema_with = "tier_schema")]
    tier: Option<TierParam>,
    /// What a wrong result would cost, in units (for tier "auto"; default 0).
    value_at_risk: Option<f64>,
}

/// A tier given as text (`"auto"`, `"1"`) or as a number (`1`); checked by `task_request`.
#[derive(Deserialize, Debug)]
#[serde(untagged)]
enum TierParam {
    Text(String),
    Number(u64),
}

/// The tiers a model may pass, spelled out (the derived schema would say "any string or
/// integer").
fn tier_schema(_: &mut rmcp::schemars::SchemaGenerator) -> rmcp::schemars::Schema {
    rmcp::schemars::json_schema!({
        "anyOf": [
            {"type": "string", "enum": ["auto", "1", "2", "3"]},
            {"type": "integer", "minimum": 1, "maximum": 3},
            {"type": "null"},
        ],
    })
}

/// `reputation`'s arguments.
#[derive(Deserialize, JsonSchema, Debug)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
struct ReputationParams {
    /// The agent, as its `did:key:z…` id (a candidate's `provider`).
    agent: String,
    /// The topic the score is for (a candidate's `topic`).
    topic: String,
}

/// `announce`'s arguments.
#[derive(Deserialize, JsonSchema, Debug)]
#[schemars(crate = "rmcp::schemars")]
#[serde(deny_unknown_fields)]
struct AnnounceParams {
    /// The capability, with the fields of a descriptor file.
    descriptor: DescriptorFile,
}

/// A tool's answer: its JSON both as structured content and as text, or the reason it
/// failed as an error result.
fn reply(r: Result<Value, String>) -> CallToolResult {
    match r {
        Ok(v) => CallToolResult::structured(v),
        Err(why) => CallToolResult::error(vec![ContentBlock::text(why)]),
    }
}

#[tool_router]
impl Tools {
    #[tool(
        description = "Find agents on the network that can do something: ranks the capabilities \
        announced to this node against an intent in plain words. Returns candidates best first, \
        each with its provider (did:key), capability, topic, summary, claimed qos \
        (latency_ms, success_bp, cost_micros) and this node's reputation score for the \
        provider in that topic.",
        annotations(read_only_hint = true, open_world_hint = true)
    )]
    async fn discover(&self, Parameters(p): Parameters<DiscoverParams>) -> CallToolResult {
        reply(self.discover_json(p).await)
    }

    #[tool(
        description = "Hand a task to the network: picks the best provider for the intent, \
        verifies its result at the chosen tier, falls back to the next candidate on a failed \
        check, and settles payment. Returns outcome (\"success\" or why not), result (text), \
        provider, tier, attempts [{provider, topic, tier, verdict}], fallbacks and payment \
        (units).",
        annotations(open_world_hint = true)
    )]
    async fn request(&self, Parameters(p): Parameters<RequestParams>) -> CallToolResult {
        reply(self.request_json(p).await)
    }

    #[tool(
        description = "An agent's reputation in a topic as this node sees it: score (0 to 1) \
        and whether this node holds proof that it cheated (convicted).",
        annotations(read_only_hint = true)
    )]
    async fn reputation(&self, Parameters(p): Parameters<ReputationParams>) -> CallToolResult {
        reply(self.reputation_json(p).await)
    }

    #[tool(
        description = "Sign a capability descriptor as this node and announce it to the \
        network (re-announced before it expires while this server runs). The node announces \
        only: it does not execute tasks for it. Returns capability, topic, provider and \
        expires_at (Unix time, milliseconds).",
        annotations(open_world_hint = true)
    )]
    async fn announce(&self, Parameters(p): Parameters<AnnounceParams>) -> CallToolResult {
        reply(self.announce_json(p).await)
    }
}

#[tool_handler(
    name = "agentnet",
    instructions = "Tools of an agentnet node: find agents on a peer-to-peer network \
    (discover), hand them a task with verification and payment (request), check an agent's \
    standing (reputation), and announce a capability (announce)."
)]
impl ServerHandler for Tools {}

impl Tools {
    /// Wait (until `warm_until`) for the node to learn of candidates.
    async fn warm_up(&self, intent: &str, requirements: &Requirements) -> Result<usize, String> {
        await_candidates(&self.node, intent, requirements, self.warm_until, None)
            .await
            .map_err(|e| format!("node: {e}"))
    }

    async fn discover_json(&self, p: DiscoverParams) -> Result<Value, String> {
        let k = p.k.unwrap_or(5);
        if !(1..=50).contains(&k) {
            return Err(format!("k {k}: use 1 to 50"));
        }
        let requirements = Requirements {
            topic: p.topic.as_deref().map(topic).transpose()?,
            ..Requirements::default()
        };
        self.warm_up(&p.intent, &requirements).await?;
        let found = self
            .node
            .discover(&p.intent, requirements, k as usize)
            .await
            .map_err(|e| format!("node: {e}"))?;
        let mut candidates = Vec::with_capacity(found.len());
        for c in &found {
            let d = &c.descriptor;
            let (score, _) = self
                .node
                .reputation(d.provider, d.topic.clone())
                .await
                .map_err(|e| format!("node: {e}"))?;
            candidates.push(json!({
                "provider": d.provider.to_string(),
                "capability": d.capability,
                "topic": d.topic.as_str(),
                "summary": d.intent.summary,
                "similarity": c.similarity,
                "qos": {
                    "latency_ms": c.qos.latency_ms,
                    "success_bp": c.qos.success_bp,
                    "cost_micros": c.qos.cost_micros,
                },
                "reputation": score,
            }));
        }
        Ok(json!({ "intent": p.intent, "candidates": candidates }))
    }

    async fn request_json(&self, p: RequestParams) -> Result<Value, String> {
        let tier = match p.tier {
            None => "auto".to_string(),
            Some(TierParam::Text(t)) => t,
            Some(TierParam::Number(n)) => n.to_string(),
        };
        let input = Bytes::from(p.input.into_bytes());
        let task = task_request(&p.intent, input, &tier, p.value_at_risk.unwrap_or(0.0))?;
        if self.warm_up(&p.intent, &task.requirements).await? == 0 {
            return Err(format!("no candidates on the network for \"{}\"", p.intent));
        }
        let outcome = self
            .node
            .request(task)
            .await
            .map_err(|e| format!("node: {e}"))?;
        let out = outcome_json(&outcome);
        match &outcome.result {
            Ok(_) => Ok(out),
            // A failed request is an error result that still carries the whole outcome (the
            // attempts and their verdicts say why).
            Err(why) => Err(format!("request failed: {why}\n{out}")),
        }
    }

    async fn reputation_json(&self, p: ReputationParams) -> Result<Value, String> {
        let agent: agentnet_core::AgentId = p
            .agent
            .parse()
            .map_err(|e| format!("agent {:?}: {e}", p.agent))?;
        let t = topic(&p.topic)?;
        let (score, convicted) = self
            .node
            .reputation(agent, t)
            .await
            .map_err(|e| format!("node: {e}"))?;
        Ok(
            json!({ "agent": agent.to_string(), "topic": p.topic, "score": score, "convicted": convicted }),
        )
    }

    async fn announce_json(&self, p: AnnounceParams) -> Result<Value, String> {
        let descriptor =
            build(&self.node, &p.descriptor).map_err(|e| format!("descriptor: {e}"))?;
        let expires_at = descriptor.issued_at.as_unix_millis() + u64::from(descriptor.ttl_ms);
        let (topic, _seq) = self
            .node
            .announce(descriptor)
            .await
            .map_err(|e| format!("announce: {e}"))?;
        Ok(json!({
            "capability": p.descriptor.capability,
            "topic": topic.as_str(),
            "provider": self.node.id().to_string(),
            "expires_at": expires_at,
        }))
    }
}

fn topic(t: &str) -> Result<Topic, String> {
    Topic::new(t).map_err(|e| format!("topic {t:?}: {e}"))
}

/// The stdio transport, except that the end of input waits for the tool calls still
/// running. rmcp stops reading at end of input and gives in-flight handlers a short grace
/// period (a few seconds) before it drops their results; a `request` easily takes longer,
/// and a user who pipes a call into `agentnet mcp` expects its answer. So this wrapper
/// reports end of input only once every `tools/call` it passed on has been answered (or
/// cancelled by the client), or after `DRAIN_LIMIT` in case one never is.
struct FinishInFlight<T> {
    inner: T,
    /// Ids of the `tools/call` requests not answered yet.
    pending: Arc<tokio::sync::watch::Sender<HashSet<rmcp::model::RequestId>>>,
    /// When input ended, the latest time to report it.
    input_ended: Option<tokio::time::Instant>,
}

/// Longest wait for the calls in flight once input ended: far above what one `request`
/// takes (its dials, sessions and program runs all have deadlines), only a backstop.
const DRAIN_LIMIT: Duration = Duration::from_secs(600);

impl<T> FinishInFlight<T> {
    fn new(inner: T) -> Self {
        FinishInFlight {
            inner,
            pending: Arc::new(tokio::sync::watch::Sender::new(HashSet::new())),
            input_ended: None,
        }
    }
}

impl<T: Transport<RoleServer>> Transport<RoleServer> for FinishInFlight<T> {
    type Error = T::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        let answered = match &item {
            JsonRpcMessage::Response(r) => Some(r.id.clone()),
            JsonRpcMessage::Error(e) => e.id.clone(),
            _ => None,
        };
        let sent = self.inner.send(item);
        let pending = self.pending.clone();
        async move {
            let r = sent.await;
            // Only once it is written: end of input must not overtake the answer.
            if let Some(id) = answered {
                pending.send_if_modified(|p| p.remove(&id));
            }
            r
        }
    }

    // Cancel-safe as rmcp needs (it races `receive` against its other events): a new call
    // after end of input goes straight back to waiting.
    async fn receive(&mut self) -> Option<RxJsonRpcMessage<RoleServer>> {
        if self.input_ended.is_none() {
            match self.inner.receive().await {
                Some(m) => {
                    match &m {
                        JsonRpcMessage::Request(r)
                            if matches!(r.request, ClientRequest::CallToolRequest(_)) =>
                        {
                            self.pending.send_modify(|p| {
                                p.insert(r.id.clone());
                            });
                        }
                        JsonRpcMessage::Notification(n) => {
                            if let ClientNotification::CancelledNotification(c) = &n.notification
                                && let Some(id) = &c.params.request_id
                            {
                                self.pending.send_if_modified(|p| p.remove(id));
                            }
                        }
                        _ => {}
                    }
                    return Some(m);
                }
                None => {
                    tracing::info!("stdin closed; finishing the tool calls in flight");
                    self.input_ended = Some(tokio::time::Instant::now() + DRAIN_LIMIT);
                }
            }
        }
        let mut pending = self.pending.subscribe();
        let until = self.input_ended.unwrap_or_else(tokio::time::Instant::now);
        if tokio::time::timeout_at(until, pending.wait_for(HashSet::is_empty))
            .await
            .is_err()
        {
            tracing::warn!("tool calls still running {DRAIN_LIMIT:?} after stdin closed");
        }
        None
    }

    async fn close(&mut self) -> Result<(), Self::Error> {
        self.inner.close().await
    }
}
