//! One vocabulary for what an engine asks its host to do.
//!
//! Engines never perform I/O. Besides frames ([`Transmit`](crate::Transmit)) and notifications
//! (each engine's `Event`), an engine may need the host to *do* something whose answer comes
//! back later: make records durable, ask a language model, or run a task for a requester.
//! Those requests are [`Effect`]s. They are kept apart from notifications so that a host can
//! never mistake "please do this and tell me" for "this happened":
//!
//! | effect | the host | completion |
//! |---|---|---|
//! | [`Effect::Persist`] | writes every record of the batch durably (one transaction) | `handle_persisted(now, id)` |
//! | [`Effect::Llm`] | sends the prompt to its language model before `deadline` | `handle_llm_response(now, id, text)` or `handle_llm_failure(now, id, why)` |
//! | [`Effect::Execute`] | runs the task on `input` (the provider's application) before `deadline` | `handle_executed(now, id, result)` |
//! | [`Effect::Embed`] | embeds `texts` with its embedding model before `deadline` | `handle_embedded(now, id, Ok(vectors))` or `handle_embedded(now, id, Err(why))` |
//!
//! Every effect carries a [`RequestId`] unique within the engine instance that issued it, and
//! exactly one completion is expected per effect. A completion that names an unknown or
//! already-completed id is refused with a typed error and changes nothing; an effect whose
//! deadline passes without a completion is treated by the engine as failed.
//!
//! Engines hand their state back to a restarted host as the records they once asked it to
//! persist: on start the host passes every stored record to the engine's `restore(records)`.

use std::borrow::Cow;

use bytes::Bytes;
use core::fmt;

use crate::descriptor::Topic;
use crate::hash::Hash;
use crate::identity::AgentId;
use crate::time::{Instant, WallTime};

/// Names one effect and its completion. Assigned by the engine, increasing from 1.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
pub struct RequestId(pub u64);

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "req#{}", self.0)
    }
}

/// One durable record: a key in a table, with an optional expiry. `value: None` deletes it.
///
/// Tables are plain names chosen by the engine (`"gossip.head"`, `"session"`, ...); the host's
/// store treats them as opaque and may drop a record once `expires` has passed.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Record {
    /// The table (engines name theirs with static strings; a store hands them back owned).
    pub table: Cow<'static, str>,
    /// The key inside the table.
    pub key: Bytes,
    /// The value, or `None` to delete the key.
    pub value: Option<Bytes>,
    /// After this wall-clock time the record is useless and may be dropped.
    pub expires: Option<WallTime>,
}

impl Record {
    /// A record to store.
    pub fn put(table: &'static str, key: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        Record {
            table: Cow::Borrowed(table),
            key: key.into(),
            value: Some(value.into()),
            expires: None,
        }
    }

    /// A deletion.
    pub fn delete(table: &'static str, key: impl Into<Bytes>) -> Self {
        Record {
            table: Cow::Borrowed(table),
            key: key.into(),
            value: None,
            expires: None,
        }
    }

    /// The same record with an expiry.
    #[must_use]
    pub fn expiring(mut self, at: WallTime) -> Self {
        self.expires = Some(at);
        self
    }
}

/// A prompt for the host's language model, with the JSON schema the answer must follow (if
/// any). The engine validates the answer itself; the schema helps models that support it.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct LlmPrompt {
    /// The system instruction.
    pub system: String,
    /// The user message.
    pub user: String,
    /// The JSON schema of the expected answer, as JSON text.
    pub schema: Option<String>,
}

/// Work a requester delegated to this agent, for the provider's application to run.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ExecuteTask {
    /// The requester (its verified signing key).
    pub requester: AgentId,
    /// The capability asked for (one this agent serves).
    pub capability: String,
    /// The capability's topic.
    pub topic: Topic,
    /// The requester's intent in plain words.
    pub intent: String,
    /// The task's id, as named by receipts and settlement.
    pub task: Hash,
}

/// What an engine asks its host to do. See the [module documentation](self).
#[derive(Clone, PartialEq, Eq, Debug)]
#[non_exhaustive]
pub enum Effect {
    /// Make `records` durable, all or nothing, then call `handle_persisted(now, id)`. Nothing
    /// that depends on them is acknowledged to peers before that call.
    Persist {
        /// The completion's id.
        id: RequestId,
        /// The batch.
        records: Vec<Record>,
    },
    /// Ask the language model; answer with `handle_llm_response` or `handle_llm_failure`.
    Llm {
        /// The completion's id.
        id: RequestId,
        /// What to ask.
        prompt: LlmPrompt,
        /// After this the engine stops waiting and treats the call as failed.
        deadline: Instant,
    },
    /// Run `task` on `input`; answer with `handle_executed`.
    Execute {
        /// The completion's id.
        id: RequestId,
        /// What to run, and for whom.
        task: ExecuteTask,
        /// The input bytes (already checked against the hash the requester signed).
        input: Bytes,
        /// After this a result can no longer be delivered.
        deadline: Instant,
    },
    /// Embed `texts` with the host's embedding model (the one named by the engine's
    /// [`SemanticEncoder::id`](crate::semantic::SemanticEncoder::id)); answer with
    /// `handle_embedded(now, id, vectors)`, one vector per text in order, or a failure.
    Embed {
        /// The completion's id.
        id: RequestId,
        /// What to embed; at most the engine's batch size, each at most its text bound.
        texts: Vec<String>,
        /// After this the engine stops waiting and treats the call as failed.
        deadline: Instant,
    },
}

impl Effect {
    /// The effect's completion id.
    pub fn id(&self) -> RequestId {
        match self {
            Effect::Persist { id, .. }
            | Effect::Llm { id, .. }
            | Effect::Execute { id, .. }
            | Effect::Embed { id, .. } => *id,
        }
    }
}
