//! Embeddings a model outside the agent computes: the gossip engine's encoder misses become
//! [`Effect::Embed`]s, and the host's vectors come back through
//! [`Agent::handle_embedded`].
//!
//! With the default encoder (which computes its own vectors) nothing here ever runs. With a
//! [`RemoteEncoder`](agentnet_core::semantic::RemoteEncoder) the gossip engine embeds every
//! descriptor it indexes and every discovery query from a cache; what is missing is asked for
//! here, in batches, with a bounded number of calls in flight and a deadline on each. A
//! descriptor indexed before its vector arrived is re-embedded when it does; until then it
//! does not match any query (its similarity is 0). A failed or late call gives its texts up:
//! they are asked for again the next time they are encoded (a descriptor's next version, the
//! next query), so a model server that is down costs ranking quality, never progress.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use agentnet_core::{Effect, Instant, Now, RequestId};

use super::{Agent, AgentError, ConfigError};

/// Bounds of the embedding calls an agent makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EmbedConfig {
    /// Texts per [`Effect::Embed`]. Default 64; range 1..=2 048.
    pub batch: usize,
    /// Embedding calls in flight at once. Default 4; range 1..=64.
    pub max_in_flight: usize,
    /// Texts waiting for a call, beyond which new misses are dropped (and asked for again
    /// when next encoded). Default 4 096; range 1..=1 000 000.
    pub max_queued: usize,
    /// How long a call may take before its texts are given up. Default 10 s; range
    /// 10 ms..=10 min.
    pub timeout: Duration,
}

impl Default for EmbedConfig {
    fn default() -> Self {
        EmbedConfig {
            batch: 64,
            max_in_flight: 4,
            max_queued: 4096,
            timeout: Duration::from_secs(10),
        }
    }
}

impl EmbedConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        use super::config::check;
        check("embed.batch", self.batch, 1, 2048, "1..=2048")?;
        check("embed.max_in_flight", self.max_in_flight, 1, 64, "1..=64")?;
        check(
            "embed.max_queued",
            self.max_queued,
            1,
            1_000_000,
            "1..=1000000",
        )?;
        check(
            "embed.timeout",
            self.timeout,
            Duration::from_millis(10),
            Duration::from_secs(600),
            "10 ms..=10 min",
        )
    }
}

/// The agent's embedding calls: texts waiting, and calls in flight.
#[derive(Debug, Default)]
pub(super) struct Embeds {
    queue: VecDeque<String>,
    in_flight: BTreeMap<RequestId, (Vec<String>, Instant)>,
}

impl Embeds {
    /// The earliest deadline of a call in flight.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.in_flight.values().map(|(_, d)| *d).min()
    }
}

impl Agent {
    /// The host ran [`Effect::Embed`] `id`: one vector per text, in order, or why it could
    /// not. Descriptors indexed while their vectors were missing are re-embedded. An answer
    /// with the wrong number of vectors, or a vector of the wrong dimension, counts as a
    /// failure for the texts it concerns (and the first is an error).
    pub fn handle_embedded(
        &mut self,
        now: Now,
        id: RequestId,
        result: Result<Vec<Vec<f32>>, String>,
    ) -> Result<(), AgentError> {
        self.tick(now);
        let (texts, _) = self
            .embeds
            .in_flight
            .remove(&id)
            .ok_or(AgentError::UnknownEffect(id))?;
        let r = match result {
            Ok(v) if v.len() == texts.len() => {
                self.gossip.handle_embedded(&texts, Some(v));
                Ok(())
            }
            Ok(v) => {
                self.gossip.handle_embedded(&texts, None);
                Err(AgentError::BadRequest(format!(
                    "the embedding answer has {} vectors for {} texts",
                    v.len(),
                    texts.len()
                )))
            }
            Err(_) => {
                self.gossip.handle_embedded(&texts, None);
                Ok(())
            }
        };
        self.pump(now);
        r
    }

    /// Whether the encoder has a real vector for `text` now (always, with an encoder that
    /// computes its own).
    pub fn embedding_ready(&self, text: &str) -> bool {
        self.gossip.embedding_ready(text)
    }

    /// Ask for `text`'s vector if the encoder has none yet (an [`Effect::Embed`] follows);
    /// returns whether it is ready now. A host runs this before [`discover`](Self::discover)
    /// or [`request`](Self::request) with a remote encoder and waits for
    /// [`embedding_ready`](Self::embedding_ready) (or for no call to be
    /// [`embedding_in_flight`](Self::embedding_in_flight)), so the query is ranked by meaning
    /// rather than by the tie-breaks alone.
    pub fn prepare_embedding(&mut self, now: Now, text: &str) -> bool {
        self.tick(now);
        let ready = self.gossip.prepare_embedding(text);
        self.pump(now);
        ready
    }

    /// Whether any embedding call is queued or in flight.
    pub fn embedding_in_flight(&self) -> bool {
        !self.embeds.in_flight.is_empty() || !self.embeds.queue.is_empty()
    }

    /// Move the encoder's misses into calls (run by the pump), and give up calls past their
    /// deadline (run on every input).
    pub(super) fn pump_embeds(&mut self, now: Now) {
        let late: Vec<RequestId> = self
            .embeds
            .in_flight
            .iter()
            .filter(|(_, (_, d))| *d <= now.mono)
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            if let Some((texts, _)) = self.embeds.in_flight.remove(&id) {
                self.gossip.handle_embedded(&texts, None);
            }
        }
        let cfg = self.config.embed;
        for t in self.gossip.take_embedding_misses() {
            if self.embeds.queue.len() < cfg.max_queued {
                self.embeds.queue.push_back(t);
            } else {
                // Dropped here; answering "failed" lets the encoder ask for it again later.
                self.gossip.handle_embedded(&[t], None);
            }
        }
        while self.embeds.in_flight.len() < cfg.max_in_flight && !self.embeds.queue.is_empty() {
            let n = cfg.batch.min(self.embeds.queue.len());
            let texts: Vec<String> = self.embeds.queue.drain(..n).collect();
            let id = self.next_request_id();
            let deadline = now.mono + cfg.timeout;
            self.embeds.in_flight.insert(id, (texts.clone(), deadline));
            self.effect(Effect::Embed {
                id,
                texts,
                deadline,
            });
        }
    }
}
