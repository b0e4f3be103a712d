//! Semantic intent matching: text embeddings, their wire forms, and a model-free default encoder.
//!
//! A capability descriptor carries an *intent* (a summary sentence and a few tags); discovery
//! matches a free-text query against it. This module turns text into an [`Embedding`] (a unit
//! vector compared by cosine similarity) through a pluggable [`SemanticEncoder`], and provides
//! the two forms that travel on the wire:
//!
//! - [`QuantizedEmbedding`]: the full vector as symmetric int8, compared by an integer dot
//!   product. No floating-point value is ever encoded.
//! - [`Sketch`]: a 32-byte sign sketch for gossip headers, compared by Hamming distance.
//!
//! # What the default encoder is, and is not
//!
//! [`HashedNgramEncoder`] is deterministic and needs no model file: it hashes words, word pairs
//! and character n-grams into a fixed number of buckets (feature hashing). It captures *lexical*
//! similarity only: shared words and shared word pieces ("translate" / "translation",
//! "text to image" / "text-to-image"). It is not a language model. It knows no synonyms
//! ("picture" and "image" are unrelated to it), no other languages' equivalents and no word order
//! beyond adjacent pairs. It is a reasonable floor that works everywhere, identically, forever.
//!
//! # Plugging a real model
//!
//! Hosts with an embedding model implement [`SemanticEncoder`] over it: [`dim`] is the model's
//! output size, [`encode`] runs the model and wraps the output with [`Embedding::new`] (which
//! normalises it), and [`id`] names the model and its version. Vectors, quantized vectors and
//! sketches are comparable only when they come from the same encoder: what travels carries the
//! encoder's [`EncoderTag`] ([`TaggedSketch`] in gossip headers, [`TaggedEmbedding`] in
//! descriptors), and comparing two of different encoders answers `None`, never a number.
//!
//! A model the engine cannot call synchronously (an embeddings server) sits behind a
//! [`RemoteEncoder`]: it answers from a cache, reports the texts it had no vector for, and
//! the host embeds them and hands the vectors back (see its docs). The engines stay
//! synchronous; `agentnet-transport` turns the misses into an `Effect::Embed`.
//!
//! [`dim`]: SemanticEncoder::dim
//! [`encode`]: SemanticEncoder::encode
//! [`id`]: SemanticEncoder::id
//!
//! # Example
//!
//! ```
//! use agentnet_core::semantic::{
//!     Embedding, HashedNgramEncoder, QuantizedEmbedding, SemanticEncoder, Sketch,
//! };
//!
//! let enc = HashedNgramEncoder::default();
//! let offer = enc.encode("Translate documents to French");
//! let close = enc.encode("french translation");
//! let far = enc.encode("review rust code for security bugs");
//! assert!(offer.cosine(&close) > offer.cosine(&far));
//!
//! // What goes on the wire.
//! let q = QuantizedEmbedding::quantize(&offer).unwrap();
//! assert!((q.cosine(&close.quantize().unwrap()) - offer.cosine(&close)).abs() < 0.02);
//! let s: Sketch = offer.sketch();
//! assert!(s.similarity(&close.sketch()) > s.similarity(&far.sketch()));
//!
//! // A host-provided model sits behind the same trait.
//! struct MyModel;
//! impl SemanticEncoder for MyModel {
//!     fn dim(&self) -> usize {
//!         384
//!     }
//!     fn encode(&self, text: &str) -> Embedding {
//!         let raw: Vec<f32> = vec![text.len() as f32; 384]; // run the model here
//!         Embedding::new(raw)
//!     }
//!     fn id(&self) -> &str {
//!         "example-model-v1"
//!     }
//! }
//! let boxed: Box<dyn SemanticEncoder> = Box::new(MyModel);
//! assert_eq!(boxed.encode("hi").dim(), 384);
//! ```

use core::fmt;

use serde::{Deserialize, Serialize};

/// Smallest embedding dimension accepted by [`HashedNgramConfig`] and [`QuantizedEmbedding`].
pub const MIN_DIM: usize = 16;
/// Largest embedding dimension accepted by [`HashedNgramConfig`] and [`QuantizedEmbedding`].
pub const MAX_DIM: usize = 4096;

/// Errors from validating encoder configurations and decoded embeddings.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SemanticError {
    /// The dimension is outside [`MIN_DIM`]`..=`[`MAX_DIM`].
    #[error("embedding dimension {dim} is outside {MIN_DIM}..={MAX_DIM}")]
    DimOutOfRange {
        /// The offending dimension.
        dim: usize,
    },
    /// A quantized embedding's declared dimension differs from the number of values it carries.
    #[error("quantized embedding declares dimension {dim} but carries {len} values")]
    LengthMismatch {
        /// The declared dimension.
        dim: usize,
        /// The number of values present.
        len: usize,
    },
    /// A quantized value is -128, outside the symmetric range `-127..=127`.
    #[error("quantized value at index {index} is -128; symmetric int8 uses -127..=127")]
    ValueOutOfRange {
        /// Position of the first offending value.
        index: usize,
    },
    /// A vector handed to an encoder has the wrong number of components.
    #[error("the vector has {got} components; the encoder makes {expected}")]
    DimMismatch {
        /// The encoder's dimension.
        expected: usize,
        /// What was handed over.
        got: usize,
    },
    /// An encoder configuration field is out of range.
    #[error("invalid encoder configuration: {0}")]
    InvalidConfig(&'static str),
}

// ---------------------------------------------------------------------------------------------
// Embedding
// ---------------------------------------------------------------------------------------------

/// An L2-normalised vector: unit length, or all zeros when there was nothing to encode.
///
/// Embeddings are a local, in-memory form and never go on the wire; send a
/// [`QuantizedEmbedding`] or a [`Sketch`] instead. Every constructor normalises, so
/// [`cosine`](Embedding::cosine) is a plain dot product.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Embedding(Vec<f32>);

impl Embedding {
    /// Normalises `values` to unit length. Non-finite components (NaN, ±∞) are replaced by zero
    /// first; a vector with no non-zero finite component becomes the zero vector.
    pub fn new(mut values: Vec<f32>) -> Self {
        let mut sum_sq = 0.0f64;
        for v in &mut values {
            if !v.is_finite() {
                *v = 0.0;
            }
            sum_sq += f64::from(*v) * f64::from(*v);
        }
        if sum_sq > 0.0 && sum_sq.is_finite() {
            let inv = 1.0 / sum_sq.sqrt();
            for v in &mut values {
                *v = (f64::from(*v) * inv) as f32;
            }
        } else {
            values.iter_mut().for_each(|v| *v = 0.0);
        }
        Embedding(values)
    }

    /// Normalises a copy of `values`; see [`Embedding::new`].
    pub fn from_slice(values: &[f32]) -> Self {
        Self::new(values.to_vec())
    }

    /// The zero vector of dimension `dim`: what an encoder returns for text with no features.
    /// Its cosine with anything is 0.
    pub fn zeros(dim: usize) -> Self {
        Embedding(vec![0.0; dim])
    }

    /// Number of components.
    pub fn dim(&self) -> usize {
        self.0.len()
    }

    /// The components (unit length, or all zero).
    pub fn as_slice(&self) -> &[f32] {
        &self.0
    }

    /// The components, by value.
    pub fn into_vec(self) -> Vec<f32> {
        self.0
    }

    /// Whether every component is zero.
    pub fn is_zero(&self) -> bool {
        self.0.iter().all(|&v| v == 0.0)
    }

    /// Cosine similarity in `[-1, 1]`: the dot product of the two unit vectors. Returns 0 when
    /// the dimensions differ or either vector is zero.
    pub fn cosine(&self, other: &Embedding) -> f32 {
        if self.0.len() != other.0.len() {
            return 0.0;
        }
        let dot: f64 = self
            .0
            .iter()
            .zip(&other.0)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        (dot as f32).clamp(-1.0, 1.0)
    }

    /// The int8 wire form; see [`QuantizedEmbedding::quantize`].
    pub fn quantize(&self) -> Result<QuantizedEmbedding, SemanticError> {
        QuantizedEmbedding::quantize(self)
    }

    /// The 256-bit sign sketch; see [`Sketch::from_embedding`].
    pub fn sketch(&self) -> Sketch {
        Sketch::from_embedding(self)
    }
}

// ---------------------------------------------------------------------------------------------
// Encoder trait
// ---------------------------------------------------------------------------------------------

/// Turns text into an [`Embedding`]. Object safe: hosts may hold a `Box<dyn SemanticEncoder>`.
///
/// Implementations must be deterministic (the same text always gives the same vector) and must
/// always return vectors of length [`dim`](SemanticEncoder::dim).
pub trait SemanticEncoder {
    /// Length of every vector this encoder returns.
    fn dim(&self) -> usize;

    /// Embeds `text`. Text with nothing to encode yields [`Embedding::zeros`].
    fn encode(&self, text: &str) -> Embedding;

    /// The encoder's identity: model name, version and any setting that changes its output.
    /// Embeddings and sketches are comparable only between encoders with equal ids.
    fn id(&self) -> &str;

    /// The short form of [`id`](Self::id) that travels with sketches and embeddings
    /// ([`EncoderTag::of`]).
    fn tag(&self) -> EncoderTag {
        EncoderTag::of(self.id())
    }

    // Encoders backed by a model outside the engine ([`RemoteEncoder`]). An encoder that
    // computes every vector itself keeps these defaults.

    /// Whether [`encode`](Self::encode) has a real vector for `text` now. Default: always.
    fn is_ready(&self, _text: &str) -> bool {
        true
    }

    /// The texts encoded without a vector since the last call, for the host to embed. The
    /// engine asks for them and hands each answer to [`answer`](Self::answer). Default: none.
    fn take_misses(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// The host's vector for a text taken from [`take_misses`](Self::take_misses), or `None`
    /// when it could not embed it. A vector of the wrong dimension is refused. Default:
    /// ignored.
    fn answer(&mut self, _text: &str, _vector: Option<Vec<f32>>) -> Result<(), SemanticError> {
        Ok(())
    }
}

impl<T: SemanticEncoder + ?Sized> SemanticEncoder for &T {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn encode(&self, text: &str) -> Embedding {
        (**self).encode(text)
    }
    fn id(&self) -> &str {
        (**self).id()
    }
    fn tag(&self) -> EncoderTag {
        (**self).tag()
    }
    fn is_ready(&self, text: &str) -> bool {
        (**self).is_ready(text)
    }
}

impl<T: SemanticEncoder + ?Sized> SemanticEncoder for Box<T> {
    fn dim(&self) -> usize {
        (**self).dim()
    }
    fn encode(&self, text: &str) -> Embedding {
        (**self).encode(text)
    }
    fn id(&self) -> &str {
        (**self).id()
    }
    fn tag(&self) -> EncoderTag {
        (**self).tag()
    }
    fn is_ready(&self, text: &str) -> bool {
        (**self).is_ready(text)
    }
    fn take_misses(&mut self) -> Vec<String> {
        (**self).take_misses()
    }
    fn answer(&mut self, text: &str, vector: Option<Vec<f32>>) -> Result<(), SemanticError> {
        (**self).answer(text, vector)
    }
}

mod hashing;
mod ngram;
mod quantized;
mod remote;
#[cfg(test)]
mod remote_tests;
mod sketch;
mod tagged;
#[cfg(test)]
mod tests;

use hashing::*;
pub use ngram::{HashedNgramConfig, HashedNgramEncoder};
pub use quantized::QuantizedEmbedding;
pub use remote::{RemoteEncoder, RemoteEncoderLimits};
pub use sketch::Sketch;
pub use tagged::{EncoderTag, TaggedEmbedding, TaggedSketch};
