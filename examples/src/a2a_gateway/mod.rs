//! The A2A JSON-RPC gateway's mapping: A2A messages in, agentnet requests out, agentnet
//! outcomes back as A2A tasks (`agentnet a2a`).
//!
//! An A2A client speaks JSON-RPC 2.0 over HTTP to one URL (the interface url of the gateway's
//! Agent Card). The gateway turns each message into one
//! [`TaskRequest`](agentnet_transport::agent::TaskRequest) the whole agentnet
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
//! Over HTTP (`agentnet a2a`): the card at `GET /.well-known/agent-card.json`; calls as
//! `POST /` (or the path of `--public-url`) with `Content-Type: application/json` (or
//! `application/a2a+json`; anything else is `415`). JSON-RPC errors travel with `200`; the
//! edge's own refusals are HTTP statuses: `413` for a body over 1 MiB, `408` for one that
//! trickles in, `503` with `Retry-After` and a `-32603` body when the in-flight tasks are at
//! their bound, `404` for other paths, `405` for other methods.
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

mod rpc;
mod task;
#[cfg(test)]
mod tests;

pub use rpc::*;
pub use task::*;

use crate::a2a::{
    AgentCapabilities, AgentCard, AgentInterface, CardOptions, DEFAULT_MODE, DescriptorSpec,
    PROTOCOL_BINDING, PROTOCOL_VERSION, card_from_descriptors,
};

/// Longest intent, bytes (a descriptor summary's bound: the intent is matched against them).
pub const INTENT_MAX: usize = 512;
/// Longest client-chosen id (`contextId`, `taskId`, task id in `GetTask`), bytes.
pub const ID_MAX: usize = 256;

/// Most skills a gateway card lists (peers choose how many capabilities they announce).
pub const SKILLS_MAX: usize = 256;

/// The gateway's Agent Card: one skill per distinct capability in `reachable` (the first
/// descriptor of each in (capability, topic, summary) order describes it; at most
/// [`SKILLS_MAX`], by capability name), reached at `url`
/// over JSON-RPC. With nothing reachable yet the card lists no skills.
pub fn gateway_card(reachable: &[DescriptorSpec], url: &str, id: &str) -> AgentCard {
    // Sorted first, so the same descriptors make the same card whatever order they came in.
    let mut sorted: Vec<&DescriptorSpec> = reachable.iter().collect();
    sorted.sort_by(|a, b| {
        (&a.capability, &a.topic, &a.summary).cmp(&(&b.capability, &b.topic, &b.summary))
    });
    let mut specs: Vec<DescriptorSpec> = Vec::new();
    for d in sorted {
        if specs.last().is_none_or(|s| s.capability != d.capability) {
            specs.push(d.clone());
        }
    }
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
