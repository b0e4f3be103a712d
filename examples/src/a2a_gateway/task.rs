//! A2A tasks from agentnet outcomes, and the table of recent ones.

use agentnet_core::money::UNIT;
use agentnet_transport::agent::TaskOutcome;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};

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
