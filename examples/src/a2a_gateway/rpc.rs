//! JSON-RPC requests in, JSON-RPC envelopes out.

use super::{ID_MAX, INTENT_MAX};
use serde_json::{Map, Value, json};

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
