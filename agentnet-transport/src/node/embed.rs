//! The node's side of embeddings a model outside the process computes: running the agent's
//! `Effect::Embed` through the [`Embedder`], and holding a discovery or request until its
//! intent has a vector.
//!
//! Why hold them: with a remote encoder, a text the model has not embedded yet has the zero
//! vector, which matches nothing: an intent without its vector would find no candidates, and
//! a descriptor that arrived a moment ago would not be among them. The command waits
//! instead, until the intent has its vector and no embedding call is queued or in flight
//! (so the descriptors held have theirs), or the agent's embed timeout passes; a model that
//! fails ends the wait at once (its calls are given up), and the command runs on what it has. The wait list is bounded: past
//! [`MAX_WARMING`] commands run at once instead of waiting.

use super::driver::{Command, Done, Driver};
use super::*;

/// Most commands waiting for their intent's vector.
const MAX_WARMING: usize = 256;

/// A command waiting for its intent's vector.
pub(super) struct Warming {
    pub(super) until: Instant,
    cmd: Command,
}

impl Driver {
    /// Whether a command on `text` can run now: always with an encoder that computes its own
    /// vectors; with a remote one, once the text has a vector (asking for it if not) and no
    /// other call is pending.
    pub(super) fn warm(&mut self, now: Now, text: &str) -> bool {
        self.embedder.is_none()
            || self.warming.len() >= MAX_WARMING
            || (self.agent.prepare_embedding(now, text) && !self.agent.embedding_in_flight())
    }

    /// Hold `cmd` until the embedding calls are done (see the module docs).
    pub(super) fn park(&mut self, now: Now, cmd: Command) {
        let until = now.mono + self.cfg.agent.embed.timeout;
        self.warming.push(Warming { until, cmd });
    }

    /// Run the held commands whose wait is over.
    pub(super) fn unpark_warmed(&mut self, now: Now) {
        if self.warming.is_empty() {
            return;
        }
        let idle = !self.agent.embedding_in_flight();
        let (go, stay): (Vec<Warming>, Vec<Warming>) = std::mem::take(&mut self.warming)
            .into_iter()
            .partition(|w| idle || w.until <= now.mono);
        self.warming = stay;
        for w in go {
            match w.cmd {
                Command::Discover {
                    intent,
                    requirements,
                    k,
                    reply,
                } => {
                    let _ = reply.send(self.agent.discover(now, &intent, &requirements, k));
                }
                Command::Request(task, reply) => self.request_now(now, task, reply),
                Command::Workflow(wf, reply) => self.workflow_now(now, wf, reply),
                Command::Intent(req, reply) => self.intent_now(now, req, reply),
                // Only the four above are ever held.
                _ => {}
            }
        }
    }

    /// Run `Effect::Embed` on its own task, bounded by its deadline.
    pub(super) fn embed(&mut self, now: Now, id: RequestId, texts: Vec<String>, deadline: Instant) {
        let done = self.done.clone();
        let Some(model) = self.embedder.clone() else {
            let _ = done.send(Done::Embedded(id, Err("no embedder configured".into())));
            return;
        };
        let budget = deadline.saturating_duration_since(now.mono);
        tokio::spawn(async move {
            let r = model.embed(&texts, budget).await.map_err(|e| e.to_string());
            if let Err(e) = &r {
                tracing::debug!(error = %e, texts = texts.len(), "embedding call failed");
            }
            let _ = done.send(Done::Embedded(id, r));
        });
    }
}
