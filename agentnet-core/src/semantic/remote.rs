//! [`RemoteEncoder`]: a [`SemanticEncoder`] whose vectors a model outside the engine computes.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::*;

/// Limits of a [`RemoteEncoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RemoteEncoderLimits {
    /// Vectors kept, count; the oldest answer is evicted first. Default 4 096; range
    /// 1..=1 000 000. Memory is about `cache_entries × dim × 4` bytes (24 MiB at 1 536
    /// dimensions). The discovery index keeps its own copy of every descriptor's vector, so
    /// the cache only has to hold what is between an answer and its use, plus recent queries.
    pub cache_entries: usize,
    /// Texts waiting to be asked for, count; misses beyond it are dropped and asked for the
    /// next time they are encoded. Default 1 024; range 1..=1 000 000.
    pub max_pending: usize,
    /// Longest text embedded, bytes; longer texts are cut at a character boundary first (the
    /// host is asked for the cut text). Default 8 192; range 16..=1 048 576.
    pub max_text_bytes: usize,
}

impl Default for RemoteEncoderLimits {
    fn default() -> Self {
        RemoteEncoderLimits {
            cache_entries: 4096,
            max_pending: 1024,
            max_text_bytes: 8192,
        }
    }
}

/// A [`SemanticEncoder`] for a model the engine cannot call: an embeddings server, a GPU
/// process. The engine stays synchronous; the host runs the model.
///
/// [`encode`](SemanticEncoder::encode) answers from a bounded cache. A text it has no vector
/// for yields [`Embedding::zeros`] (so it ranks by the QoS tie-breaks only) and is remembered
/// as a *miss*. The engine takes misses with [`take_misses`](SemanticEncoder::take_misses) and
/// hands them to the host as an embedding request (in `agentnet-transport`, `Effect::Embed`);
/// the host's vectors come back through [`answer`](SemanticEncoder::answer), after which the
/// engine re-embeds what it encoded while the vector was missing. A text asked for and not yet
/// answered is not asked for again; one the host could not embed (`answer(text, None)`) is
/// asked for again the next time it is encoded.
///
/// What peers send decides which texts are encoded, so every table here is bounded
/// ([`RemoteEncoderLimits`]): the cache evicts its oldest answer, and misses beyond the
/// pending bound wait for a later encode. Neither lets a flood of texts stop the engine; it
/// only costs the flooder's descriptors their ranking until their vectors arrive.
#[derive(Debug)]
pub struct RemoteEncoder {
    id: String,
    tag: EncoderTag,
    dim: usize,
    limits: RemoteEncoderLimits,
    cache: BTreeMap<String, Embedding>,
    order: VecDeque<String>,
    /// Encoded without a vector and not yet taken.
    misses: RefCell<BTreeSet<String>>,
    /// Taken (asked of the host) and not yet answered.
    asked: BTreeSet<String>,
}

impl RemoteEncoder {
    /// An encoder named `id` (the model and its version: it decides which vectors are
    /// comparable) producing vectors of `dim` components.
    pub fn new(
        id: impl Into<String>,
        dim: usize,
        limits: RemoteEncoderLimits,
    ) -> Result<Self, SemanticError> {
        if !(MIN_DIM..=MAX_DIM).contains(&dim) {
            return Err(SemanticError::DimOutOfRange { dim });
        }
        if !(1..=1_000_000).contains(&limits.cache_entries) {
            return Err(SemanticError::InvalidConfig(
                "cache_entries must be 1..=1000000",
            ));
        }
        if !(1..=1_000_000).contains(&limits.max_pending) {
            return Err(SemanticError::InvalidConfig(
                "max_pending must be 1..=1000000",
            ));
        }
        if !(16..=1 << 20).contains(&limits.max_text_bytes) {
            return Err(SemanticError::InvalidConfig(
                "max_text_bytes must be 16..=1048576",
            ));
        }
        let id = id.into();
        Ok(RemoteEncoder {
            tag: EncoderTag::of(&id),
            id,
            dim,
            limits,
            cache: BTreeMap::new(),
            order: VecDeque::new(),
            misses: RefCell::new(BTreeSet::new()),
            asked: BTreeSet::new(),
        })
    }

    /// Vectors held.
    pub fn cached(&self) -> usize {
        self.cache.len()
    }

    /// Texts taken and not yet answered.
    pub fn outstanding(&self) -> usize {
        self.asked.len()
    }

    /// Texts encoded without a vector and not yet taken.
    pub fn pending(&self) -> usize {
        self.misses.borrow().len()
    }

    fn cut<'a>(&self, text: &'a str) -> &'a str {
        if text.len() <= self.limits.max_text_bytes {
            return text;
        }
        let mut end = self.limits.max_text_bytes;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        &text[..end]
    }
}

impl SemanticEncoder for RemoteEncoder {
    fn dim(&self) -> usize {
        self.dim
    }

    fn encode(&self, text: &str) -> Embedding {
        let text = self.cut(text);
        if text.trim().is_empty() {
            return Embedding::zeros(self.dim);
        }
        if let Some(e) = self.cache.get(text) {
            return e.clone();
        }
        if !self.asked.contains(text) {
            let mut misses = self.misses.borrow_mut();
            if misses.len() < self.limits.max_pending {
                misses.insert(text.to_owned());
            }
        }
        Embedding::zeros(self.dim)
    }

    fn id(&self) -> &str {
        &self.id
    }

    fn tag(&self) -> EncoderTag {
        self.tag
    }

    fn is_ready(&self, text: &str) -> bool {
        let text = self.cut(text);
        text.trim().is_empty() || self.cache.contains_key(text)
    }

    fn take_misses(&mut self) -> Vec<String> {
        let misses = std::mem::take(self.misses.get_mut());
        self.asked.extend(misses.iter().cloned());
        misses.into_iter().collect()
    }

    fn answer(&mut self, text: &str, vector: Option<Vec<f32>>) -> Result<(), SemanticError> {
        let text = self.cut(text);
        if !self.asked.remove(text) {
            // Not asked for (or already answered): nothing to fill. Ignoring it keeps a host
            // that answers twice from growing the cache with texts nobody encoded.
            return Ok(());
        }
        let Some(v) = vector else {
            return Ok(());
        };
        if v.len() != self.dim {
            return Err(SemanticError::DimMismatch {
                expected: self.dim,
                got: v.len(),
            });
        }
        if self.cache.len() >= self.limits.cache_entries
            && let Some(old) = self.order.pop_front()
        {
            self.cache.remove(&old);
        }
        self.order.push_back(text.to_owned());
        self.cache.insert(text.to_owned(), Embedding::new(v));
        Ok(())
    }
}
