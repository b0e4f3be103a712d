//! The node's side of embeddings a model outside the process computes: running the agent's
//! `Effect::Embed` through the [`Embedder`], and holding a discovery or request until its
//! intent has a vector.
//!
//! Why hold them: with a remote encoder, an intent the model has not embedded yet has the
//! zero vector, which matches nothing, so `discover` would answer "no candidates" and
//! `request` would fail for want of one. The command waits instead, until the vector is
//! there, or no embedding call is left in flight (the model failed: the command then runs
//! on what it has), or the agent's embed timeout passes. The wait list is bounded: past
//! [`MAX_WARMING`] commands run at once instead of waiting.

use super::driver::{Command, Done, Driver};
use super::*;

/// Most commands waiting for their intent's vector.
const MAX_WARMING: usize = 256;

/// A command waiting for its intent's vector.
pub(super) struct Warming {
    text: String,
    pub(super) until: Instant,
    cmd: Command,
}

impl Driver {
    /// Whether a command on `text` can run now: always with an encoder that computes its own
    /// vectors; with a remote one, once the text has a vector (asking for it if not).
    pub(super) fn warm(&mut self, now: Now, text: &str) -> bool {
        self.embedder.is_none()
            || self.warming.len() >= MAX_WARMING
            || self.agent.prepare_embedding(now, text)
    }

    /// Hold `cmd` until `text` has a vector (see the module docs).
    pub(super) fn park(&mut self, now: Now, text: String, cmd: Command) {
        let until = now.mono + self.cfg.agent.embed.timeout;
        self.warming.push(Warming { text, until, cmd });
    }

    /// Run the held commands whose wait is over.
    pub(super) fn unpark_warmed(&mut self, now: Now) {
        if self.warming.is_empty() {
            return;
        }
        let idle = !self.agent.embedding_in_flight();
        let (go, stay): (Vec<Warming>, Vec<Warming>) = std::mem::take(&mut self.warming)
            .into_iter()
            .partition(|w| idle || w.until <= now.mono || self.agent.embedding_ready(&w.text));
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
                // Only the two above are ever held.
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
