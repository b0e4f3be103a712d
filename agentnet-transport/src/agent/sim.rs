//! [`SimHost`]: an [`Agent`] with a host attached, as one [`Engine`], so the simulator
//! (`agentnet_core::sim::Sim<SimHost>`) runs whole agents end to end.
//!
//! The host part does what the `Node` runtime does with real I/O, in virtual time:
//! [`Effect::Persist`] records go into an in-memory table (kept by the host, so a factory can
//! hand them to a restarted agent) and are acknowledged at once; [`Effect::Execute`] runs the
//! application's [`Handler`] and answers after [`SimHost::exec_delay`] of virtual time;
//! [`Effect::Llm`] is answered with a failure (no model in the simulator); [`Effect::Embed`]
//! is answered at once by the host's [`EmbedFn`] if it has one (a deterministic stand-in
//! for an embeddings server; [`SimHost::with_embedder`]), with a failure otherwise.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agentnet_core::effect::ExecuteTask;
use agentnet_core::{Effect, Engine, Instant, LinkId, Now, Record, RequestId, Transmit};
use bytes::Bytes;

use super::{Agent, AgentError, AgentEvent, Executed, RestoreReport};

/// The application of a simulated provider: task and input in, result out.
pub type Handler = Box<dyn FnMut(&ExecuteTask, &Bytes) -> Executed + Send>;

/// Durable records of a simulated host, by (table, key). Shared with the factory that
/// rebuilds a crashed node, so a restarted agent gets back what it persisted.
pub type SimStore = Arc<Mutex<BTreeMap<(String, Bytes), Record>>>;

/// Rewrites (or drops) a frame on its way out: how simulations build adversaries that run
/// the production agent but lie on the wire (see [`SimHost::with_tamper`]).
pub type Tamper = Box<dyn FnMut(Transmit) -> Option<Transmit> + Send>;

/// A simulated embeddings model: one vector per text, or why not.
pub type EmbedFn = Box<dyn FnMut(&[String]) -> Result<Vec<Vec<f32>>, String> + Send>;

/// An [`Agent`] whose effects are completed by a simulated host.
pub struct SimHost {
    agent: Agent,
    handler: Option<Handler>,
    tamper: Option<Tamper>,
    embedder: Option<EmbedFn>,
    /// Virtual time between an `Execute` effect and its answer.
    pub exec_delay: Duration,
    pending: VecDeque<(Instant, RequestId, Executed)>,
    store: SimStore,
}

impl core::fmt::Debug for SimHost {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SimHost")
            .field("agent", &self.agent)
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl SimHost {
    /// Host `agent`; `handler` runs tasks for the capabilities it serves (`None`: every
    /// task fails).
    pub fn new(agent: Agent, handler: Option<Handler>) -> Self {
        SimHost {
            agent,
            handler,
            tamper: None,
            embedder: None,
            exec_delay: Duration::from_millis(20),
            pending: VecDeque::new(),
            store: SimStore::default(),
        }
    }

    /// An agent restored from `store` (what a crashed node persisted), persisting into it.
    pub fn restored(
        mut agent: Agent,
        handler: Option<Handler>,
        store: SimStore,
        now: Now,
    ) -> (Self, RestoreReport) {
        let records: Vec<Record> = store
            .lock()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default();
        let report = agent.restore(now, records);
        let mut host = SimHost::new(agent, handler);
        host.store = store;
        (host, report)
    }

    /// The same host persisting into `store`.
    #[must_use]
    pub fn with_store(mut self, store: SimStore) -> Self {
        self.store = store;
        self
    }

    /// The durable records.
    pub fn store(&self) -> &SimStore {
        &self.store
    }

    /// The same host with every outgoing frame passed through `tamper` first. Honest agents
    /// have none; an adversary in a simulation is an honest agent plus a tamper function
    /// (re-signing what it likes with its own key), so everything it does not change is the
    /// production code.
    #[must_use]
    pub fn with_tamper(mut self, tamper: Tamper) -> Self {
        self.tamper = Some(tamper);
        self
    }

    /// The same host running `handler` for the tasks it serves instead of the one it was
    /// built with (`None`: every task fails).
    #[must_use]
    pub fn with_handler(mut self, handler: Option<Handler>) -> Self {
        self.handler = handler;
        self
    }

    /// The same host answering the agent's `Effect::Embed`s with `embed` (for an agent built
    /// with a [`RemoteEncoder`](agentnet_core::semantic::RemoteEncoder)).
    #[must_use]
    pub fn with_embedder(mut self, embed: EmbedFn) -> Self {
        self.embedder = Some(embed);
        self
    }

    /// The agent.
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// The agent, for commands (call through `Sim::command` so outputs are drained).
    pub fn agent_mut(&mut self) -> &mut Agent {
        &mut self.agent
    }

    fn run_effects(&mut self, now: Now) {
        loop {
            let mut due = false;
            while let Some(e) = self.agent.poll_effect() {
                match e {
                    Effect::Persist { id, records } => {
                        if let Ok(mut store) = self.store.lock() {
                            for r in records {
                                let k = (r.table.to_string(), r.key.clone());
                                match r.value {
                                    Some(_) => store.insert(k, r),
                                    None => store.remove(&k),
                                };
                            }
                        }
                        let _ = self.agent.handle_persisted(now, id);
                    }
                    Effect::Execute {
                        id, task, input, ..
                    } => {
                        let out = match self.handler.as_mut() {
                            Some(h) => h(&task, &input),
                            None => Executed::Failed("no handler".into()),
                        };
                        self.pending
                            .push_back((now.mono + self.exec_delay, id, out));
                    }
                    Effect::Llm { id, .. } => {
                        let _ = self.agent.handle_llm_failure(now, id, "no model");
                    }
                    Effect::Embed { id, texts, .. } => {
                        let r = match self.embedder.as_mut() {
                            Some(f) => f(&texts),
                            None => Err("no embedding model".into()),
                        };
                        let _ = self.agent.handle_embedded(now, id, r);
                    }
                    _ => {}
                }
            }
            while self
                .pending
                .front()
                .is_some_and(|(at, _, _)| *at <= now.mono)
            {
                let (_, id, out) = self.pending.pop_front().expect("checked");
                let _ = self.agent.handle_executed(now, id, out);
                due = true;
            }
            if !due {
                break;
            }
        }
    }
}

impl Engine for SimHost {
    type Event = AgentEvent;
    type Error = AgentError;

    fn handle_message(&mut self, now: Now, from: LinkId, payload: Bytes) -> Result<(), AgentError> {
        let r = self.agent.handle_message(now, from, payload);
        self.run_effects(now);
        r
    }

    fn handle_timeout(&mut self, now: Now) {
        self.agent.handle_timeout(now);
        self.run_effects(now);
    }

    fn handle_link_up(&mut self, now: Now, link: LinkId) {
        self.agent.handle_link_up(now, link);
        self.run_effects(now);
    }

    fn handle_link_down(&mut self, now: Now, link: LinkId) {
        self.agent.handle_link_down(now, link);
        self.run_effects(now);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        loop {
            let t = self.agent.poll_transmit()?;
            match self.tamper.as_mut() {
                None => return Some(t),
                Some(f) => {
                    if let Some(t) = f(t) {
                        return Some(t);
                    }
                }
            }
        }
    }

    fn poll_event(&mut self) -> Option<AgentEvent> {
        self.agent.poll_event()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        // Effects a command left (the simulator drains only transmits and events after a
        // command): run them on the next tick rather than at the next input.
        if self.agent.has_effects() {
            return Some(Instant::ZERO);
        }
        let exec = self.pending.front().map(|p| p.0);
        match (self.agent.poll_timeout(), exec) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// An adversary's rewrite for [`SimHost::with_tamper`] (or a lying transport in a demo): a
/// DELIVER frame whose evidence package is replaced by one that claims a different result than
/// its own receipts produced, re-signed with `keys` (the provider's own key, so the lie is
/// attributable). Other frames are returned unchanged; a DELIVER without evidence too.
///
/// The receiving requester verifies the package, finds the receipts' final output differs
/// from the claimed result, and turns that into a receipt-contradiction fraud proof.
pub fn forge_contradicting_delivery(keys: &agentnet_core::Keypair, frame: &Bytes) -> Option<Bytes> {
    use agentnet_core::Signed;
    use agentnet_core::wire::{Limits, peek_kind};
    use agentnet_mech::session::Deliver;
    use agentnet_trust::evidence::{EvidencePackage, payload_hash};
    if peek_kind(frame) != Some(agentnet_mech::wire::DELIVER) {
        return None;
    }
    let limits = Limits::default();
    let d = Signed::<Deliver>::from_frame(frame, &limits).ok()?;
    let mut deliver = d.value().clone();
    let env = deliver.evidence.clone()?;
    let p = Signed::<EvidencePackage>::from_envelope(&env, &limits).ok()?;
    let mut forged = p.value().clone();
    let fake = payload_hash(b"a result the receipts never produced");
    forged.result_hash = fake;
    deliver.result_hash = fake;
    deliver.evidence = Some(Bytes::from(Signed::sign(keys, forged).ok()?.to_envelope()));
    Some(Signed::sign(keys, deliver).ok()?.to_frame())
}
