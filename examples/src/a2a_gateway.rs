//! The A2A JSON-RPC gateway's mapping: A2A messages in, agentnet requests out, agentnet
//! outcomes back as A2A tasks (`agentnet a2a`).
//!
//! An A2A client speaks JSON-RPC 2.0 over HTTP to one URL (the interface url of the gateway's
//! Agent Card). The gateway turns each message into one [`TaskRequest`] the whole agentnet
//! funnel runs (discover → select → verify → delegate → settle), and answers with the A2A
//! `Task` that describes the outcome. Everything here is pure (no network, no clock of its
//! own): [`parse_call`] reads a request body into a typed [`Call`], [`task_from_outcome`]
//! writes the task, [`rpc_error`] / [`rpc_result`] the envelopes, [`TaskTable`] keeps recent
//! tasks for `GetTask`.
//!
//! # Methods
//!
//! The A2A 1.0 JSON-RPC binding names methods after the gRPC service (`SendMessage`,
//! `GetTask`, ...); the 0.x binding used `message/send`, `tasks/get`, .... Both names are
//! accepted, and both are answered in the 1.0 shape (the one the gateway's card advertises:
//! `protocolVersion` `1.0`, binding `JSONRPC`): `SendMessage` returns
//! `{"task": Task}` (a `SendMessageResponse`), `GetTask` returns the `Task` itself, enums are
//! ProtoJSON names (`TASK_STATE_COMPLETED`, `ROLE_AGENT`), parts carry no `kind`.
//!
//! | Method (1.0 / 0.x)                                 | Answer                                                                 |
//! |----------------------------------------------------|------------------------------------------------------------------------|
//! | `SendMessage` / `message/send`                     | runs one request; `{"task": ...}` once it ends (or at once with `configuration.returnImmediately`) |
//! | `GetTask` / `tasks/get`                            | a task this gateway ran, while it is among the last [`TaskTable`] holds; else `-32001` |
//! | `CancelTask` / `tasks/cancel`                      | `-32001` unknown task; `-32002` otherwise: a funnel runs to its end      |
//! | `SendStreamingMessage`, `SubscribeToTask` / `message/stream`, `tasks/resubscribe` | `-32004` (the card declares no streaming) |
//! | push notification config methods (both names)      | `-32003` (the card declares no push notifications)                     |
//! | `GetExtendedAgentCard` / `agent/getAuthenticatedExtendedCard` | `-32004`                                                    |
//! | `ListTasks` / `tasks/list`                         | `-32004`: the gateway has no notion of who a client is, so listing would show every client's tasks to anyone |
//! | anything else                                      | `-32601`                                                               |
//!
//! Requests must be single JSON-RPC 2.0 objects with an `id`: A2A defines no notifications,
//! so a call without an `id` (or a batch) gets `-32600` rather than silence.
//!
//! # Message → request
//!
//! | A2A (`SendMessageRequest`)                 | agentnet (`TaskRequest`)            | Notes                                                        |
//! |--------------------------------------------|-------------------------------------|--------------------------------------------------------------|
//! | `message.parts[].text`                     | `input`                             | the text parts joined with `\n`; no text at all is `-32602`  |
//! | `message.parts[].text`                     | `intent`                            | the same text, cut to [`INTENT_MAX`] bytes at a character boundary |
//! | `message.metadata.agentnet.intent` (or `params.metadata.agentnet.intent`) | `intent` | overrides the text as intent (the text stays the input); at most [`INTENT_MAX`] bytes |
//! | `message.parts[]` `raw` / `url` / `data` / `file` | —                            | `-32005`: a part the gateway cannot carry is refused, not silently dropped |
//! | `message.contextId`                        | —                                   | echoed in the task (a fresh one is minted when absent); at most [`ID_MAX`] bytes |
//! | `message.taskId`                           | —                                   | tasks take one message: a known task is `-32004`, an unknown one `-32001` |
//! | `message.messageId`, `role`, `extensions`, `referenceTaskIds`, `parts[].mediaType`/`filename`/`metadata`, `configuration.acceptedOutputModes`, `historyLength`, `tenant` | — | lost (read leniently: neither checked nor used) |
//! | —                                          | `requirements`, `tier`, `value_at_risk`, `canaries` | the defaults: no constraints, tier chosen by the risk policy, nothing at risk, no canaries |
//!
//! # Outcome → task
//!
//! | agentnet (`TaskOutcome`)          | A2A `Task`                                                  |
//! |-----------------------------------|-------------------------------------------------------------|
//! | —                                 | `id`: minted by the gateway (a random UUID: it is the only thing guarding another client's result) |
//! | `result` `Ok(bytes)`              | `status.state` `TASK_STATE_COMPLETED`; `artifacts[0].parts[0]`: `text` (`text/plain`) if the bytes are UTF-8, else `raw` (base64, `application/octet-stream`) |
//! | `result` `Err(why)`               | `status.state` `TASK_STATE_FAILED`, `status.message` an agent message whose text is `why`; no artifacts |
//! | —                                 | `status.timestamp`: when the outcome was known (UTC, milliseconds) |
//! | `provider`                        | `metadata.agentnet.provider` (`did:key`)                    |
//! | `tier`                            | `metadata.agentnet.tier` (1, 2 or 3)                        |
//! | `attempts[]`                      | `metadata.agentnet.attempts[]`: `{provider, topic, tier, verdict}` |
//! | `fallback_count()`                | `metadata.agentnet.fallbacks`                               |
//! | `payment`                         | `metadata.agentnet.payment` (units)                         |
//! | —                                 | `metadata.agentnet.intent`: the intent the funnel matched   |
//! | `request`                         | lost (a node-local counter)                                 |
//! | —                                 | `history`: empty (the gateway keeps no conversation)        |
//!
//! Lost on the way in: anything that is not text, and every A2A notion of conversation (a
//! task takes one message and ends; contexts group nothing). Lost on the way out: the
//! evidence, canary and receipt details behind each verdict (only the verdict's name
//! travels), and the media type the provider declared (the artifact is `text/plain` or
//! opaque bytes).

use crate::a2a::{
    AgentCapabilities, AgentCard, AgentInterface, CardOptions, DEFAULT_MODE, DescriptorSpec,
    PROTOCOL_BINDING, PROTOCOL_VERSION, card_from_descriptors,
};
use agentnet_core::money::UNIT;
use agentnet_transport::agent::TaskOutcome;
use serde_json::{Map, Value, json};
use std::collections::{HashMap, VecDeque};

/// Longest intent, bytes (a descriptor summary's bound: the intent is matched against them).
pub const INTENT_MAX: usize = 512;
/// Longest client-chosen id (`contextId`, `taskId`, task id in `GetTask`), bytes.
pub const ID_MAX: usize = 256;

/// JSON-RPC 2.0 and A2A 1.0 (`§5.4`) error codes.
pub mod code {
    /// The body is not JSON.
    pub const PARSE_ERROR: i64 = -32700;
    /// The JSON is not a JSON-RPC 2.0 request object.
    pub const INVALID_REQUEST: i64 = -32600;
    /// No such method.
    pub const METHOD_NOT_FOUND: i64 = -32601;
    /// The method's parameters are wrong.
    pub const INVALID_PARAMS: i64 = -32602;
    /// The gateway failed (or is full).
    pub const INTERNAL: i64 = -32603;
    /// A2A `TaskNotFoundError`.
    pub const TASK_NOT_FOUND: i64 = -32001;
    /// A2A `TaskNotCancelableError`.
    pub const TASK_NOT_CANCELABLE: i64 = -32002;
    /// A2A `PushNotificationNotSupportedError`.
    pub const PUSH_NOT_SUPPORTED: i64 = -32003;
    /// A2A `UnsupportedOperationError`.
    pub const UNSUPPORTED_OPERATION: i64 = -32004;
    /// A2A `ContentTypeNotSupportedError`.
    pub const CONTENT_TYPE_NOT_SUPPORTED: i64 = -32005;
}

/// Most skills a gateway card lists (peers choose how many capabilities they announce).
pub const SKILLS_MAX: usize = 256;

/// The gateway's Agent Card: one skill per distinct capability in `reachable` (the first
/// descriptor of each wins; at most [`SKILLS_MAX`], by capability name), reached at `url`
/// over JSON-RPC. With nothing reachable yet the card lists no skills.
pub fn gateway_card(reachable: &[DescriptorSpec], url: &str, id: &str) -> AgentCard {
    let mut specs: Vec<DescriptorSpec> = Vec::new();
    for d in reachable {
        if !specs.iter().any(|s| s.capability == d.capability) {
            specs.push(d.clone());
        }
    }
    specs.sort_by(|a, b| a.capability.cmp(&b.capability));
    specs.truncate(SKILLS_MAX);
    let opts = CardOptions {
        url: url.to_owned(),
        name: Some("agentnet gateway".into()),
        description: Some(format!(
            "An A2A gateway into an agentnet network (node {id}): each message is handed to the \
             network's best verified provider for its intent. Skills are the capabilities \
             reachable now."
        )),
        version: None,
    };
    let mut card = card_from_descriptors(&specs, &opts).unwrap_or_else(|_| AgentCard {
        name: "agentnet gateway".into(),
        description: opts.description.clone().unwrap_or_default(),
        supported_interfaces: vec![AgentInterface {
            url: url.to_owned(),
            protocol_binding: PROTOCOL_BINDING.into(),
            protocol_version: PROTOCOL_VERSION.into(),
        }],
        version: "1.0.0".into(),
        capabilities: AgentCapabilities::default(),
        ..AgentCard::default()
    });
    // The gateway carries text in and text (or opaque bytes) out, whatever the skills say.
    card.default_input_modes = vec![DEFAULT_MODE.into()];
    card.default_output_modes = vec![DEFAULT_MODE.into()];
    card
}

/// A JSON-RPC error: code and a message in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcError {
    /// One of [`code`].
    pub code: i64,
    /// What went wrong.
    pub message: String,
}

impl RpcError {
    /// An error with `code` and `message`.
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError {
            code,
            message: message.into(),
        }
    }
}

/// One message to hand to the network.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendMessage {
    /// What is wanted (the text, or `metadata.agentnet.intent`).
    pub intent: String,
    /// The task input (the text parts, joined with `\n`).
    pub input: String,
    /// The client's `contextId`, if it gave one.
    pub context_id: Option<String>,
    /// The client's `taskId`, if it gave one (the gateway refuses follow-ups).
    pub task_id: Option<String>,
    /// Answer at once with a working task (`configuration.returnImmediately`).
    pub return_immediately: bool,
}

/// A request the gateway serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `SendMessage` / `message/send`.
    Send(SendMessage),
    /// `GetTask` / `tasks/get`.
    Get {
        /// The task id.
        id: String,
    },
    /// `CancelTask` / `tasks/cancel`.
    Cancel {
        /// The task id.
        id: String,
    },
}

/// A parsed request: its `id` (`null` when it could not be read) and the call or why not.
#[derive(Clone, Debug, PartialEq)]
pub struct Parsed {
    /// The JSON-RPC id to answer with.
    pub id: Value,
    /// The call, or the error to answer.
    pub call: Result<Call, RpcError>,
}

/// Read a JSON-RPC request body. Never panics; every failure is an [`RpcError`] to answer.
pub fn parse_call(body: &[u8]) -> Parsed {
    let fail = |id: Value, code: i64, msg: &str| Parsed {
        id,
        call: Err(RpcError::new(code, msg)),
    };
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            return fail(
                Value::Null,
                code::PARSE_ERROR,
                &format!("invalid JSON: {e}"),
            );
        }
    };
    let Value::Object(req) = v else {
        return fail(
            Value::Null,
            code::INVALID_REQUEST,
            "the request must be one JSON-RPC 2.0 object (batches are not supported)",
        );
    };
    let id = match req.get("id") {
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        _ => {
            return fail(
                Value::Null,
                code::INVALID_REQUEST,
                "the request needs an id (a string or a number)",
            );
        }
    };
    if req.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return fail(id, code::INVALID_REQUEST, "jsonrpc must be \"2.0\"");
    }
    let Some(method) = req.get("method").and_then(Value::as_str) else {
        return fail(id, code::INVALID_REQUEST, "method must be a string");
    };
    let params = match req.get("params") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(p)) => p.clone(),
        Some(_) => return fail(id, code::INVALID_PARAMS, "params must be an object"),
    };
    let unsupported = |what: &str| Err(RpcError::new(code::UNSUPPORTED_OPERATION, what));
    let call = match method {
        "SendMessage" | "message/send" => parse_send(&params).map(Call::Send),
        "GetTask" | "tasks/get" => task_id_param(&params).map(|id| Call::Get { id }),
        "CancelTask" | "tasks/cancel" => task_id_param(&params).map(|id| Call::Cancel { id }),
        "SendStreamingMessage" | "message/stream" | "SubscribeToTask" | "tasks/resubscribe" => {
            unsupported("streaming is not supported (the agent card declares streaming: false)")
        }
        "GetExtendedAgentCard" | "agent/getAuthenticatedExtendedCard" => {
            unsupported("there is no extended agent card")
        }
        "ListTasks" | "tasks/list" => {
            unsupported("tasks are not listed: the gateway cannot tell whose they are")
        }
        m if m.contains("PushNotificationConfig")
            || m.starts_with("tasks/pushNotificationConfig/") =>
        {
            Err(RpcError::new(
                code::PUSH_NOT_SUPPORTED,
                "push notifications are not supported",
            ))
        }
        m => Err(RpcError::new(
            code::METHOD_NOT_FOUND,
            format!("method not found: {}", cut(m, 64)),
        )),
    };
    Parsed { id, call }
}

fn bad(msg: impl Into<String>) -> RpcError {
    RpcError::new(code::INVALID_PARAMS, msg)
}

/// An optional string field of at most [`ID_MAX`] bytes.
fn opt_id(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, RpcError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) if s.len() <= ID_MAX => Ok(Some(s.clone())),
        Some(Value::String(_)) => Err(bad(format!("{key} is longer than {ID_MAX} bytes"))),
        Some(_) => Err(bad(format!("{key} must be a string"))),
    }
}

fn task_id_param(params: &Map<String, Value>) -> Result<String, RpcError> {
    opt_id(params, "id")?.ok_or_else(|| bad("params.id (the task id) is required"))
}

/// `metadata.agentnet.intent` of an object, if set.
fn intent_override(obj: &Map<String, Value>) -> Result<Option<String>, RpcError> {
    let Some(v) = obj
        .get("metadata")
        .and_then(|m| m.get("agentnet"))
        .and_then(|a| a.get("intent"))
    else {
        return Ok(None);
    };
    match v.as_str().map(str::trim) {
        Some(s) if !s.is_empty() && s.len() <= INTENT_MAX => Ok(Some(s.to_owned())),
        Some(s) if !s.is_empty() => Err(bad(format!(
            "metadata.agentnet.intent is longer than {INTENT_MAX} bytes"
        ))),
        _ => Err(bad("metadata.agentnet.intent must be a non-empty string")),
    }
}

fn parse_send(params: &Map<String, Value>) -> Result<SendMessage, RpcError> {
    let Some(Value::Object(msg)) = params.get("message") else {
        return Err(bad("params.message (an object) is required"));
    };
    let Some(Value::Array(parts)) = msg.get("parts") else {
        return Err(bad("message.parts (an array) is required"));
    };
    let mut texts = Vec::new();
    for p in parts {
        // 1.0 parts are a oneof (`text`, `raw`, `url`, `data`); 0.x parts had a `kind` and
        // `file` / `data`. A part is text if it has a string `text` and is of no other kind.
        let kind = p.get("kind").and_then(Value::as_str);
        let other = ["raw", "url", "data", "file"]
            .iter()
            .any(|k| p.get(k).is_some_and(|v| !v.is_null()));
        match p.get("text").and_then(Value::as_str) {
            Some(t) if !other && kind.is_none_or(|k| k == "text") => texts.push(t),
            _ => {
                return Err(RpcError::new(
                    code::CONTENT_TYPE_NOT_SUPPORTED,
                    "only text parts are supported",
                ));
            }
        }
    }
    let input = texts.join("\n");
    if input.trim().is_empty() {
        return Err(bad("message.parts holds no text"));
    }
    let intent = match intent_override(msg)? {
        Some(i) => i,
        None => match intent_override(params)? {
            Some(i) => i,
            None => cut(input.trim(), INTENT_MAX),
        },
    };
    let return_immediately = params
        .get("configuration")
        .and_then(|c| c.get("returnImmediately"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(SendMessage {
        intent,
        input,
        context_id: opt_id(msg, "contextId")?,
        task_id: opt_id(msg, "taskId")?,
        return_immediately,
    })
}

/// `s` cut to at most `max` bytes at a character boundary.
pub fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_owned()
}

/// A JSON-RPC success response.
pub fn rpc_result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

/// A JSON-RPC error response; A2A errors carry a `google.rpc.ErrorInfo` with their reason.
pub fn rpc_error(id: &Value, e: &RpcError) -> Value {
    let reason = match e.code {
        code::TASK_NOT_FOUND => Some("TASK_NOT_FOUND"),
        code::TASK_NOT_CANCELABLE => Some("TASK_NOT_CANCELABLE"),
        code::PUSH_NOT_SUPPORTED => Some("PUSH_NOTIFICATION_NOT_SUPPORTED"),
        code::UNSUPPORTED_OPERATION => Some("UNSUPPORTED_OPERATION"),
        code::CONTENT_TYPE_NOT_SUPPORTED => Some("CONTENT_TYPE_NOT_SUPPORTED"),
        _ => None,
    };
    let mut err = json!({"code": e.code, "message": e.message});
    if let Some(r) = reason {
        err["data"] = json!([{
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": r,
            "domain": "a2a-protocol.org",
        }]);
    }
    json!({"jsonrpc": "2.0", "id": id, "error": err})
}

/// A task still running: `TASK_STATE_WORKING`.
pub fn working_task(id: &str, context_id: &str, intent: &str, now_ms: u64) -> Value {
    json!({
        "id": id,
        "contextId": context_id,
        "status": {"state": "TASK_STATE_WORKING", "timestamp": iso8601(now_ms)},
        "metadata": {"agentnet": {"intent": intent}},
    })
}

/// A task that failed before or outside the funnel (timed out, node stopped).
pub fn failed_task(id: &str, context_id: &str, intent: &str, why: &str, now_ms: u64) -> Value {
    json!({
        "id": id,
        "contextId": context_id,
        "status": failed_status(id, context_id, why, now_ms),
        "metadata": {"agentnet": {"intent": intent}},
    })
}

fn failed_status(id: &str, context_id: &str, why: &str, now_ms: u64) -> Value {
    json!({
        "state": "TASK_STATE_FAILED",
        "message": {
            "messageId": format!("{id}-status"),
            "contextId": context_id,
            "taskId": id,
            "role": "ROLE_AGENT",
            "parts": [{"text": why}],
        },
        "timestamp": iso8601(now_ms),
    })
}

/// The task an outcome ends: see the module docs for the mapping.
pub fn task_from_outcome(
    id: &str,
    context_id: &str,
    intent: &str,
    outcome: &TaskOutcome,
    now_ms: u64,
) -> Value {
    let units = |m: u64| m as f64 / UNIT as f64;
    let agentnet = json!({
        "intent": intent,
        "provider": outcome.provider.map(|p| p.to_string()),
        "tier": outcome.tier as u8,
        "attempts": outcome.attempts.iter().map(|a| json!({
            "provider": a.provider.to_string(),
            "topic": a.topic.as_str(),
            "tier": a.tier as u8,
            "verdict": a.verdict.name(),
        })).collect::<Vec<_>>(),
        "fallbacks": outcome.fallback_count(),
        "payment": units(outcome.payment),
    });
    match &outcome.result {
        Ok(bytes) => {
            let part = match std::str::from_utf8(bytes) {
                Ok(text) => json!({"text": text, "mediaType": "text/plain"}),
                Err(_) => json!({"raw": base64(bytes), "mediaType": "application/octet-stream"}),
            };
            json!({
                "id": id,
                "contextId": context_id,
                "status": {"state": "TASK_STATE_COMPLETED", "timestamp": iso8601(now_ms)},
                "artifacts": [{"artifactId": format!("{id}-result"), "name": "result", "parts": [part]}],
                "metadata": {"agentnet": agentnet},
            })
        }
        Err(why) => json!({
            "id": id,
            "contextId": context_id,
            "status": failed_status(id, context_id, why, now_ms),
            "metadata": {"agentnet": agentnet},
        }),
    }
}

/// Whether a task (as [`task_from_outcome`] and friends write it) has ended.
pub fn is_terminal(task: &Value) -> bool {
    task["status"]["state"] != "TASK_STATE_WORKING"
}

/// Unix milliseconds as an ISO 8601 UTC timestamp with milliseconds (`§5.6.1`).
pub fn iso8601(unix_ms: u64) -> String {
    let (secs, ms) = (unix_ms / 1000, unix_ms % 1000);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm, for days >= 0).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    let (h, mi, s) = (rem / 3600, rem % 3600 / 60, rem % 60);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// Standard base64 with padding (ProtoJSON `bytes`).
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A random (version 4) UUID: task ids are the only thing standing between one client and
/// another's result, so they must not be guessable.
pub fn random_uuid() -> String {
    let mut b = [0u8; 16];
    // No entropy means no unguessable ids; the gateway cannot run safely without it.
    getrandom::fill(&mut b).expect("the operating system's random source");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The last tasks the gateway ran, by id, at most `cap`: inserting into a full table evicts
/// the oldest. Ids are minted by the gateway, so no client can choose which entry goes.
#[derive(Debug)]
pub struct TaskTable {
    cap: usize,
    tasks: HashMap<String, Value>,
    order: VecDeque<String>,
}

impl TaskTable {
    /// An empty table holding at most `cap` tasks (at least one).
    pub fn new(cap: usize) -> TaskTable {
        TaskTable {
            cap: cap.max(1),
            tasks: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Insert or replace a task (keyed by its `id`); a replacement keeps its place in line.
    pub fn put(&mut self, task: Value) {
        let Some(id) = task["id"].as_str().map(str::to_owned) else {
            return;
        };
        if self.tasks.insert(id.clone(), task).is_none() {
            self.order.push_back(id);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.tasks.remove(&old);
                }
            }
        }
    }

    /// The task with this id, if still held.
    pub fn get(&self, id: &str) -> Option<&Value> {
        self.tasks.get(id)
    }

    /// How many tasks are held.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// True if no task is held.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentnet_core::Keypair;
    use agentnet_core::descriptor::Topic;
    use agentnet_core::effect::RequestId;
    use agentnet_mech::mechanism::Tier;
    use agentnet_transport::agent::{Attempt, Verdict};

    fn call(body: &str) -> (Value, Result<Call, RpcError>) {
        let p = parse_call(body.as_bytes());
        (p.id, p.call)
    }

    fn code_of(body: &str) -> i64 {
        call(body).1.expect_err("an error").code
    }

    fn send(params: &str) -> Result<SendMessage, RpcError> {
        let body =
            format!(r#"{{"jsonrpc":"2.0","id":7,"method":"SendMessage","params":{params}}}"#);
        match call(&body).1 {
            Ok(Call::Send(s)) => Ok(s),
            Ok(other) => panic!("not a send: {other:?}"),
            Err(e) => Err(e),
        }
    }

    #[test]
    fn both_method_names_send_a_message() {
        for m in ["SendMessage", "message/send"] {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":"a","method":"{m}","params":{{"message":{{"messageId":"m","role":"ROLE_USER","contextId":"c1","parts":[{{"text":"shout"}},{{"kind":"text","text":"this"}}]}}}}}}"#
            );
            let (id, c) = call(&body);
            assert_eq!(id, json!("a"));
            assert_eq!(
                c.unwrap(),
                Call::Send(SendMessage {
                    intent: "shout\nthis".into(),
                    input: "shout\nthis".into(),
                    context_id: Some("c1".into()),
                    task_id: None,
                    return_immediately: false,
                })
            );
        }
    }

    #[test]
    fn metadata_intent_overrides_the_text() {
        let s = send(r#"{"message":{"parts":[{"text":"hello"}],"metadata":{"agentnet":{"intent":"shout my text"}}}}"#).unwrap();
        assert_eq!(
            (s.intent.as_str(), s.input.as_str()),
            ("shout my text", "hello")
        );
        let s = send(r#"{"message":{"parts":[{"text":"hello"}]},"metadata":{"agentnet":{"intent":"upper"}},"configuration":{"returnImmediately":true}}"#).unwrap();
        assert_eq!(s.intent, "upper");
        assert!(s.return_immediately);
        let e =
            send(r#"{"message":{"parts":[{"text":"x"}],"metadata":{"agentnet":{"intent":7}}}}"#);
        assert_eq!(e.unwrap_err().code, code::INVALID_PARAMS);
        let long = "é".repeat(400);
        let s = send(&format!(
            r#"{{"message":{{"parts":[{{"text":"{long}"}}]}}}}"#
        ))
        .unwrap();
        assert!(s.intent.len() <= INTENT_MAX && long.starts_with(&s.intent));
        assert_eq!(s.input, long);
    }

    #[test]
    fn bad_requests_get_their_codes() {
        assert_eq!(code_of("{not json"), code::PARSE_ERROR);
        assert_eq!(code_of(""), code::PARSE_ERROR);
        assert_eq!(code_of("[]"), code::INVALID_REQUEST);
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","method":"SendMessage"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"1.0","id":1,"method":"SendMessage"}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":3}"#),
            code::INVALID_REQUEST
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"Nope"}"#),
            code::METHOD_NOT_FOUND
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":[1]}"#),
            code::INVALID_PARAMS
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"SendStreamingMessage"}"#),
            code::UNSUPPORTED_OPERATION
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"ListTasks"}"#),
            code::UNSUPPORTED_OPERATION
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"tasks/pushNotificationConfig/set"}"#),
            code::PUSH_NOT_SUPPORTED
        );
        assert_eq!(
            code_of(r#"{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{}}"#),
            code::INVALID_PARAMS
        );
        assert_eq!(send("{}").unwrap_err().code, code::INVALID_PARAMS);
        assert_eq!(
            send(r#"{"message":{"parts":[]}}"#).unwrap_err().code,
            code::INVALID_PARAMS
        );
        assert_eq!(
            send(r#"{"message":{"parts":[{"text":"  "}]}}"#)
                .unwrap_err()
                .code,
            code::INVALID_PARAMS
        );
        assert_eq!(
            send(r#"{"message":{"parts":[{"text":"a"},{"url":"https://x/y.png"}]}}"#)
                .unwrap_err()
                .code,
            code::CONTENT_TYPE_NOT_SUPPORTED
        );
        assert_eq!(
            send(r#"{"message":{"parts":[{"kind":"file","file":{}}]}}"#)
                .unwrap_err()
                .code,
            code::CONTENT_TYPE_NOT_SUPPORTED
        );
        let long = "c".repeat(ID_MAX + 1);
        let e = send(&format!(
            r#"{{"message":{{"contextId":"{long}","parts":[{{"text":"a"}}]}}}}"#
        ));
        assert_eq!(e.unwrap_err().code, code::INVALID_PARAMS);
        // The id is echoed once it could be read.
        let (id, _) = call(r#"{"jsonrpc":"2.0","id":12,"method":"Nope"}"#);
        assert_eq!(id, json!(12));
    }

    #[test]
    fn errors_are_json_rpc_envelopes() {
        let e = rpc_error(
            &json!(3),
            &RpcError::new(code::TASK_NOT_FOUND, "no such task"),
        );
        assert_eq!(e["jsonrpc"], "2.0");
        assert_eq!(e["id"], 3);
        assert_eq!(e["error"]["code"], -32001);
        assert_eq!(e["error"]["data"][0]["reason"], "TASK_NOT_FOUND");
        let e = rpc_error(&Value::Null, &RpcError::new(code::PARSE_ERROR, "x"));
        assert!(e["error"].get("data").is_none() && e["id"].is_null());
    }

    fn outcome(result: Result<&[u8], &str>) -> TaskOutcome {
        let p = Keypair::from_seed([9; 32]).id();
        TaskOutcome {
            request: RequestId(1),
            result: result
                .map(bytes::Bytes::copy_from_slice)
                .map_err(str::to_owned),
            provider: result.is_ok().then_some(p),
            tier: Tier::Canary,
            attempts: vec![Attempt {
                provider: p,
                topic: Topic::new("text/shout").unwrap(),
                tier: Tier::Canary,
                verdict: if result.is_ok() {
                    Verdict::Accepted
                } else {
                    Verdict::Declined
                },
            }],
            payment: UNIT / 2,
        }
    }

    #[test]
    fn outcomes_become_tasks() {
        let t = task_from_outcome("t1", "c1", "shout", &outcome(Ok(b"HELLO")), 0);
        assert_eq!(t["id"], "t1");
        assert_eq!(t["contextId"], "c1");
        assert_eq!(t["status"]["state"], "TASK_STATE_COMPLETED");
        assert_eq!(t["status"]["timestamp"], "1970-01-01T00:00:00.000Z");
        assert_eq!(t["artifacts"][0]["parts"][0]["text"], "HELLO");
        assert_eq!(t["artifacts"][0]["artifactId"], "t1-result");
        let m = &t["metadata"]["agentnet"];
        assert!(m["provider"].as_str().unwrap().starts_with("did:key:"));
        assert_eq!(m["tier"], 2);
        assert_eq!(m["payment"], 0.5);
        assert_eq!(m["attempts"][0]["verdict"], "accepted");
        assert!(is_terminal(&t));

        let t = task_from_outcome("t2", "c1", "shout", &outcome(Err("no candidates")), 0);
        assert_eq!(t["status"]["state"], "TASK_STATE_FAILED");
        assert_eq!(t["status"]["message"]["parts"][0]["text"], "no candidates");
        assert_eq!(t["status"]["message"]["role"], "ROLE_AGENT");
        assert!(t.get("artifacts").is_none());
        assert!(t["metadata"]["agentnet"]["provider"].is_null());

        let t = task_from_outcome("t3", "c", "i", &outcome(Ok(&[0xff, 0, 1])), 0);
        assert_eq!(t["artifacts"][0]["parts"][0]["raw"], "/wAB");
        assert!(!is_terminal(&working_task("t4", "c", "i", 0)));
        assert!(is_terminal(&failed_task("t5", "c", "i", "timed out", 0)));
    }

    #[test]
    fn timestamps_and_base64() {
        assert_eq!(iso8601(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(iso8601(1_798_761_599_999), "2026-12-31T23:59:59.999Z");
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        let u = random_uuid();
        assert_eq!((u.len(), &u[14..15]), (36, "4"));
        assert_ne!(u, random_uuid());
    }

    #[test]
    fn the_task_table_evicts_the_oldest() {
        let mut t = TaskTable::new(2);
        for id in ["a", "b"] {
            t.put(json!({"id": id, "v": 1}));
        }
        t.put(json!({"id": "a", "v": 2})); // a replacement keeps its place
        t.put(json!({"id": "c"}));
        assert!(t.get("a").is_none());
        assert_eq!(
            (t.len(), t.get("b").is_some(), t.get("c").is_some()),
            (2, true, true)
        );
        t.put(json!({"no": "id"}));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn the_card_lists_each_capability_once() {
        let spec = |c: &str| DescriptorSpec {
            capability: c.into(),
            topic: "text/shout".into(),
            summary: format!("{c} things"),
            tags: vec![],
            inputs: vec![],
            outputs: vec![],
        };
        let card = gateway_card(
            &[spec("b.shout"), spec("a.up"), spec("b.shout")],
            "http://h/",
            "did:key:z",
        );
        let ids: Vec<_> = card.skills.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["a.up", "b.shout"]);
        assert_eq!(card.supported_interfaces[0].url, "http://h/");
        assert_eq!(card.supported_interfaces[0].protocol_binding, "JSONRPC");
        let empty = gateway_card(&[], "http://h/", "did:key:z");
        assert!(empty.skills.is_empty());
        assert_eq!(empty.supported_interfaces[0].protocol_version, "1.0");
    }
}
