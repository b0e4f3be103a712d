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
//! sketches are comparable only when they come from the same encoder; none of the wire forms
//! carry the encoder's identity, so the protocol layer must carry [`id`] next to them and compare
//! only like with like.
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
}

// ---------------------------------------------------------------------------------------------
// Hashing primitives (fixed forever: changing any constant changes every embedding)
// ---------------------------------------------------------------------------------------------

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Family tag for word unigram features.
const TAG_WORD: u8 = 0x01;
/// Family tag for word bigram features.
const TAG_BIGRAM: u8 = 0x02;
/// Family tag for character n-gram features.
const TAG_CHAR: u8 = 0x03;
/// Separates the two words of a bigram; never occurs in UTF-8.
const BIGRAM_SEP: u8 = 0xff;

/// Incremental FNV-1a 64.
#[derive(Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    const fn new() -> Self {
        Fnv(FNV_OFFSET)
    }

    #[inline]
    fn byte(mut self, b: u8) -> Self {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(FNV_PRIME);
        self
    }

    #[inline]
    fn bytes(mut self, bs: &[u8]) -> Self {
        for &b in bs {
            self = self.byte(b);
        }
        self
    }

    /// FNV-1a state, then the MurmurHash3 `fmix64` finaliser to spread every input bit over
    /// every output bit.
    #[inline]
    fn finish(self) -> u64 {
        fmix64(self.0)
    }
}

/// MurmurHash3's 64-bit finaliser.
#[inline]
const fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// SplitMix64's output function applied to `x + golden ratio`: a stateless 64-bit mixer.
#[inline]
const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Maps a feature hash to `(bucket, sign)`: bucket from the high 32 bits by multiply-shift range
/// reduction, sign from bit 0.
#[inline]
fn bucket_and_sign(h: u64, dim: usize) -> (usize, f32) {
    let bucket = ((h >> 32) * dim as u64) >> 32;
    let sign = if h & 1 == 0 { 1.0 } else { -1.0 };
    (bucket as usize, sign)
}

// ---------------------------------------------------------------------------------------------
// Hashed n-gram encoder
// ---------------------------------------------------------------------------------------------

/// Settings of [`HashedNgramEncoder`]. Start from [`Default`] (or [`HashedNgramConfig::with_dim`])
/// and adjust fields; [`HashedNgramEncoder::new`] validates them.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct HashedNgramConfig {
    /// Number of hash buckets, i.e. the embedding dimension. Default 256; must be in
    /// [`MIN_DIM`]`..=`[`MAX_DIM`]. Larger values mean fewer collisions and bigger vectors.
    pub dim: usize,
    /// Shortest character n-gram, counted in Unicode scalar values including the `^` and `$`
    /// word-boundary markers. Default 3; must be in `1..=8`.
    pub char_ngram_min: usize,
    /// Longest character n-gram. Default 4; must be in `char_ngram_min..=8`.
    pub char_ngram_max: usize,
    /// Weight of each word (unigram) feature. Default 1.0.
    pub word_weight: f32,
    /// Weight of each adjacent word pair (bigram) feature. Default 0.7.
    pub bigram_weight: f32,
    /// Weight of each character n-gram feature. Default 0.4. Character n-grams are what make
    /// "translate" and "translation" similar; a word of `n` letters yields about `2n` of them.
    pub char_ngram_weight: f32,
    /// Drop a small built-in list of English function words ("the", "to", "for", ...). When a
    /// text consists only of such words, they are kept. Default true.
    pub stop_words: bool,
}

impl HashedNgramConfig {
    /// The defaults with a different dimension.
    pub fn with_dim(dim: usize) -> Self {
        HashedNgramConfig {
            dim,
            ..Self::default()
        }
    }

    /// Checks every field against its documented range.
    pub fn validate(&self) -> Result<(), SemanticError> {
        if !(MIN_DIM..=MAX_DIM).contains(&self.dim) {
            return Err(SemanticError::DimOutOfRange { dim: self.dim });
        }
        if !(1..=8).contains(&self.char_ngram_min) {
            return Err(SemanticError::InvalidConfig(
                "char_ngram_min must be in 1..=8",
            ));
        }
        if !(self.char_ngram_min..=8).contains(&self.char_ngram_max) {
            return Err(SemanticError::InvalidConfig(
                "char_ngram_max must be in char_ngram_min..=8",
            ));
        }
        for w in [self.word_weight, self.bigram_weight, self.char_ngram_weight] {
            if !(w.is_finite() && w >= 0.0) {
                return Err(SemanticError::InvalidConfig(
                    "weights must be finite and non-negative",
                ));
            }
        }
        Ok(())
    }
}

impl Default for HashedNgramConfig {
    fn default() -> Self {
        HashedNgramConfig {
            dim: 256,
            char_ngram_min: 3,
            char_ngram_max: 4,
            word_weight: 1.0,
            bigram_weight: 0.7,
            char_ngram_weight: 0.4,
            stop_words: true,
        }
    }
}

/// The default encoder: deterministic, model-free feature hashing of words, word pairs and
/// character n-grams. Output is identical on every platform and across releases.
///
/// # Algorithm (version 1)
///
/// 1. **Tokenise.** Walk the text's Unicode scalar values. Alphanumeric ones
///    ([`char::is_alphanumeric`]) are lower-cased ([`char::to_lowercase`]) and appended to the
///    current word. Apostrophes (`'`, `’`, `ʼ`) and combining diacritics (U+0300..=U+036F) are
///    dropped without ending the word ("don't" → "dont"). Anything else ends the word.
///    With [`stop_words`](HashedNgramConfig::stop_words) on, built-in English function words are
///    dropped unless every word is one.
/// 2. **Features.** For each remaining word `w`: the unigram `w`; each character n-gram of
///    `^w$` for `n` in the configured range. For each adjacent pair `(a, b)`: the bigram.
/// 3. **Hash.** A feature's hash is FNV-1a 64 (offset basis `0xcbf29ce484222325`, prime
///    `0x100000001b3`) over a family tag byte (`0x01` word, `0x02` bigram, `0x03` character
///    n-gram) followed by the feature's UTF-8 bytes (a bigram is `a`, `0xff`, `b`), then passed
///    through MurmurHash3's `fmix64`. Bucket = `((h >> 32) * dim) >> 32`; sign = `+` when bit 0
///    of `h` is clear, `-` when set.
/// 4. **Accumulate and normalise.** Add `sign * family weight` to the bucket, in feature order
///    (words in order, each followed by its n-grams by increasing `n` then position; then
///    bigrams), in `f32`; then L2-normalise ([`Embedding::new`]).
///
/// Encoding a 20-word sentence takes a few microseconds in a release build.
#[derive(Clone, Debug)]
pub struct HashedNgramEncoder {
    config: HashedNgramConfig,
    id: String,
}

impl HashedNgramEncoder {
    /// An encoder with `config`, after [`HashedNgramConfig::validate`].
    pub fn new(config: HashedNgramConfig) -> Result<Self, SemanticError> {
        config.validate()?;
        let id = format!(
            "agentnet/hashed-ngram/v1;dim={};char={}..={};w={},{},{};stop={}",
            config.dim,
            config.char_ngram_min,
            config.char_ngram_max,
            config.word_weight,
            config.bigram_weight,
            config.char_ngram_weight,
            config.stop_words,
        );
        Ok(HashedNgramEncoder { config, id })
    }

    /// The configuration in use.
    pub fn config(&self) -> &HashedNgramConfig {
        &self.config
    }

    fn add(&self, acc: &mut [f32], h: u64, weight: f32) {
        let (bucket, sign) = bucket_and_sign(h, acc.len());
        acc[bucket] += sign * weight;
    }

    fn add_char_ngrams(
        &self,
        acc: &mut [f32],
        word: &str,
        padded: &mut Vec<u8>,
        starts: &mut Vec<usize>,
    ) {
        padded.clear();
        starts.clear();
        padded.push(b'^');
        padded.extend_from_slice(word.as_bytes());
        padded.push(b'$');
        // Byte offset of every scalar value, plus the end.
        starts.push(0);
        starts.extend(word.char_indices().map(|(i, _)| i + 1));
        starts.push(word.len() + 1);
        starts.push(padded.len());
        let chars = starts.len() - 1;
        let w = self.config.char_ngram_weight;
        for n in self.config.char_ngram_min..=self.config.char_ngram_max {
            if n > chars {
                break;
            }
            for k in 0..=chars - n {
                let gram = &padded[starts[k]..starts[k + n]];
                let h = Fnv::new().byte(TAG_CHAR).bytes(gram).finish();
                self.add(acc, h, w);
            }
        }
    }
}

impl Default for HashedNgramEncoder {
    fn default() -> Self {
        Self::new(HashedNgramConfig::default()).expect("default config is valid")
    }
}

impl SemanticEncoder for HashedNgramEncoder {
    fn dim(&self) -> usize {
        self.config.dim
    }

    fn encode(&self, text: &str) -> Embedding {
        let mut words = String::with_capacity(text.len());
        let mut spans: Vec<(usize, usize)> = Vec::new();
        tokenize(text, &mut words, &mut spans);
        if self.config.stop_words && spans.iter().any(|&(s, e)| !is_stop_word(&words[s..e])) {
            spans.retain(|&(s, e)| !is_stop_word(&words[s..e]));
        }
        let mut acc = vec![0.0f32; self.config.dim];
        if spans.is_empty() {
            return Embedding(acc);
        }
        let cfg = &self.config;
        let mut padded = Vec::new();
        let mut starts = Vec::new();
        for &(s, e) in &spans {
            let word = &words[s..e];
            if cfg.word_weight > 0.0 {
                let h = Fnv::new().byte(TAG_WORD).bytes(word.as_bytes()).finish();
                self.add(&mut acc, h, cfg.word_weight);
            }
            if cfg.char_ngram_weight > 0.0 {
                self.add_char_ngrams(&mut acc, word, &mut padded, &mut starts);
            }
        }
        if cfg.bigram_weight > 0.0 {
            for pair in spans.windows(2) {
                let a = &words[pair[0].0..pair[0].1];
                let b = &words[pair[1].0..pair[1].1];
                let h = Fnv::new()
                    .byte(TAG_BIGRAM)
                    .bytes(a.as_bytes())
                    .byte(BIGRAM_SEP)
                    .bytes(b.as_bytes())
                    .finish();
                self.add(&mut acc, h, cfg.bigram_weight);
            }
        }
        Embedding::new(acc)
    }

    fn id(&self) -> &str {
        &self.id
    }
}

/// Scalar values dropped without ending a word: apostrophes and combining diacritics.
fn is_word_joiner(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '\u{02bc}' | '\u{0300}'..='\u{036f}')
}

/// Splits `text` into lower-cased words, appended to `out`; `spans` receives their byte ranges.
fn tokenize(text: &str, out: &mut String, spans: &mut Vec<(usize, usize)>) {
    let mut start = out.len();
    for c in text.chars() {
        if c.is_alphanumeric() {
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        } else if !is_word_joiner(c) {
            if out.len() > start {
                spans.push((start, out.len()));
            }
            start = out.len();
        }
    }
    if out.len() > start {
        spans.push((start, out.len()));
    }
}

/// The built-in English function words dropped before hashing.
fn is_stop_word(w: &str) -> bool {
    matches!(
        w,
        "a" | "an"
            | "the"
            | "and"
            | "or"
            | "of"
            | "to"
            | "in"
            | "on"
            | "at"
            | "by"
            | "for"
            | "from"
            | "with"
            | "into"
            | "as"
            | "is"
            | "are"
            | "be"
            | "it"
            | "its"
            | "this"
            | "that"
            | "my"
            | "your"
            | "our"
            | "me"
            | "i"
            | "we"
            | "you"
    )
}

// ---------------------------------------------------------------------------------------------
// Quantized embedding
// ---------------------------------------------------------------------------------------------

/// An [`Embedding`] quantized to symmetric int8, for the wire.
///
/// `values[i] = round(x[i] * 127 / max|x|)`, in `-127..=127`. The scale is not transmitted: an
/// embedding is a direction, so [`cosine`](QuantizedEmbedding::cosine) works on the integers
/// directly and [`dequantize`](QuantizedEmbedding::dequantize) re-normalises. Nothing
/// floating-point is encoded.
///
/// Encodes as a CBOR map `{"dim": uint, "values": bytes}`, each value one two's-complement byte.
/// Decoding validates: `dim` in [`MIN_DIM`]`..=`[`MAX_DIM`], exactly `dim` values, none -128.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QuantizedEmbedding {
    dim: u16,
    values: Vec<i8>,
}

impl QuantizedEmbedding {
    /// Quantizes `e`. Fails when its dimension is outside [`MIN_DIM`]`..=`[`MAX_DIM`]. The zero
    /// vector quantizes to all zeros.
    pub fn quantize(e: &Embedding) -> Result<Self, SemanticError> {
        let dim = e.dim();
        if !(MIN_DIM..=MAX_DIM).contains(&dim) {
            return Err(SemanticError::DimOutOfRange { dim });
        }
        let max = e.as_slice().iter().fold(0.0f32, |m, &v| m.max(v.abs()));
        let values = if max > 0.0 {
            let k = 127.0 / max;
            e.as_slice()
                .iter()
                .map(|&v| (v * k).round().clamp(-127.0, 127.0) as i8)
                .collect()
        } else {
            vec![0; dim]
        };
        Ok(QuantizedEmbedding {
            dim: dim as u16,
            values,
        })
    }

    /// Builds one from decoded parts, validating as deserialisation does.
    pub fn from_parts(dim: u16, values: Vec<i8>) -> Result<Self, SemanticError> {
        let d = usize::from(dim);
        if !(MIN_DIM..=MAX_DIM).contains(&d) {
            return Err(SemanticError::DimOutOfRange { dim: d });
        }
        if values.len() != d {
            return Err(SemanticError::LengthMismatch {
                dim: d,
                len: values.len(),
            });
        }
        if let Some(index) = values.iter().position(|&v| v == i8::MIN) {
            return Err(SemanticError::ValueOutOfRange { index });
        }
        Ok(QuantizedEmbedding { dim, values })
    }

    /// Number of components.
    pub fn dim(&self) -> usize {
        usize::from(self.dim)
    }

    /// The quantized components.
    pub fn values(&self) -> &[i8] {
        &self.values
    }

    /// Back to a unit-length [`Embedding`] (zero stays zero).
    pub fn dequantize(&self) -> Embedding {
        Embedding::new(self.values.iter().map(|&v| f32::from(v)).collect())
    }

    /// Cosine similarity computed from the integers: `dot(a, b) / (|a| |b|)`. Returns 0 when the
    /// dimensions differ or either vector is zero. Within about 0.01 of the float cosine of the
    /// original embeddings.
    pub fn cosine(&self, other: &QuantizedEmbedding) -> f32 {
        if self.values.len() != other.values.len() {
            return 0.0;
        }
        let (mut dot, mut na, mut nb) = (0i64, 0i64, 0i64);
        for (&a, &b) in self.values.iter().zip(&other.values) {
            let (a, b) = (i64::from(a), i64::from(b));
            dot += a * b;
            na += a * a;
            nb += b * b;
        }
        if na == 0 || nb == 0 {
            return 0.0;
        }
        let c = dot as f64 / ((na as f64).sqrt() * (nb as f64).sqrt());
        (c as f32).clamp(-1.0, 1.0)
    }
}

#[derive(Serialize)]
struct QuantizedWireOut<'a> {
    dim: u16,
    #[serde(with = "serde_bytes")]
    values: &'a [u8],
}

#[derive(Deserialize)]
struct QuantizedWireIn {
    dim: u16,
    #[serde(with = "serde_bytes")]
    values: Vec<u8>,
}

impl Serialize for QuantizedEmbedding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let bytes: Vec<u8> = self.values.iter().map(|&v| v as u8).collect();
        QuantizedWireOut {
            dim: self.dim,
            values: &bytes,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for QuantizedEmbedding {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = QuantizedWireIn::deserialize(d)?;
        let values = w.values.into_iter().map(|b| b as i8).collect();
        QuantizedEmbedding::from_parts(w.dim, values).map_err(serde::de::Error::custom)
    }
}

// ---------------------------------------------------------------------------------------------
// Sketch
// ---------------------------------------------------------------------------------------------

/// Seed of the sketch projection. Fixed forever.
const SKETCH_SEED: u64 = 0x6167_656e_746e_6574; // "agentnet"

/// `1 << k` for `k` in `0..32`.
const BIT_MASKS: [u32; 32] = {
    let mut m = [0u32; 32];
    let mut k = 0;
    while k < 32 {
        m[k] = 1 << k;
        k += 1;
    }
    m
};

/// A 256-bit sign sketch of an [`Embedding`] (SimHash), small enough for gossip headers.
///
/// Bit `j` (byte `j / 8`, bit `j % 8` counting from the least significant) is set when
/// `sum_i r(i, j) * x[i] > 0`, where `r(i, j)` is `+1` if bit `j % 64` of
/// `splitmix64(SEED + 4 * i + j / 64)` is set and `-1` otherwise: a fixed pseudo-random
/// ±1 projection onto 256 directions, the same for every dimension. `SEED` is
/// `0x6167656e746e6574` and `splitmix64(x)` is SplitMix64's output for state `x`
/// (add `0x9e3779b97f4a7c15`, then its two xor-shift-multiply rounds and a final xor-shift).
///
/// The number of differing bits between two sketches estimates the angle between the vectors,
/// so [`similarity`](Sketch::similarity) approximates their cosine (typically within ±0.1).
/// A zero embedding sketches to all zeros.
///
/// The sketch does not record which encoder produced the vector: comparing sketches from
/// different encoders (different [`SemanticEncoder::id`]) yields meaningless numbers, and keeping
/// them apart is the caller's job. Encodes as a 32-byte CBOR byte string.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sketch(pub [u8; 32]);

impl Sketch {
    /// Length of a sketch in bytes.
    pub const LEN: usize = 32;
    /// Length of a sketch in bits.
    pub const BITS: u32 = 256;

    /// Sketches `e` (any dimension).
    pub fn from_embedding(e: &Embedding) -> Sketch {
        let mut acc = [0.0f32; 256];
        for (i, &x) in e.as_slice().iter().enumerate() {
            if x == 0.0 {
                continue;
            }
            let base = SKETCH_SEED.wrapping_add((i as u64).wrapping_mul(4));
            for (word, lane) in acc.chunks_exact_mut(64).enumerate() {
                let r = splitmix64(base.wrapping_add(word as u64));
                // Low 32 bits drive the first 32 outputs, high 32 bits the rest. Written as a
                // mask-and-select over fixed masks so it vectorises.
                for (half, lane) in [r as u32, (r >> 32) as u32]
                    .into_iter()
                    .zip(lane.chunks_exact_mut(32))
                {
                    for (a, &m) in lane.iter_mut().zip(&BIT_MASKS) {
                        *a += if half & m != 0 { x } else { -x };
                    }
                }
            }
        }
        let mut out = [0u8; 32];
        for (j, &a) in acc.iter().enumerate() {
            if a > 0.0 {
                out[j / 8] |= 1 << (j % 8);
            }
        }
        Sketch(out)
    }

    /// The sketch bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Number of differing bits, `0..=256`.
    pub fn hamming(&self, other: &Sketch) -> u32 {
        self.0
            .iter()
            .zip(&other.0)
            .map(|(a, b)| (a ^ b).count_ones())
            .sum()
    }

    /// Estimated cosine similarity: `cos(pi * hamming / 256)`, in `[-1, 1]`.
    pub fn similarity(&self, other: &Sketch) -> f32 {
        let h = self.hamming(other) as f32;
        (core::f32::consts::PI * h / Self::BITS as f32).cos()
    }
}

impl fmt::Debug for Sketch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sketch(")?;
        for b in &self.0[..6] {
            write!(f, "{b:02x}")?;
        }
        f.write_str("…)")
    }
}

fixed_bytes_serde!(Sketch, 32);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn enc() -> HashedNgramEncoder {
        HashedNgramEncoder::default()
    }

    fn cos(a: &str, b: &str) -> f32 {
        let e = enc();
        e.encode(a).cosine(&e.encode(b))
    }

    fn norm(e: &Embedding) -> f64 {
        e.as_slice()
            .iter()
            .map(|&v| f64::from(v) * f64::from(v))
            .sum::<f64>()
            .sqrt()
    }

    fn fingerprint(e: &Embedding) -> String {
        let bytes: Vec<u8> = e.as_slice().iter().flat_map(|x| x.to_le_bytes()).collect();
        blake3::hash(&bytes).to_hex().to_string()
    }

    const CORPUS: &[&str] = &[
        "generate an image from a text prompt",
        "text-to-image generation",
        "translate documents to French",
        "French translation",
        "review rust code for security bugs",
        "audit Rust crates for memory safety vulnerabilities",
        "summarise long PDF reports",
        "document summarization service",
        "transcribe audio recordings to text",
        "speech to text transcription",
        "book flights and hotels",
        "travel booking assistant",
        "answer questions about tax law",
        "image captioning: describe a photo in words",
        "Übersetze Dokumente ins Deutsche",
        "weather forecast for a city",
    ];

    #[test]
    fn hash_function_is_pinned() {
        // FNV-1a 64 published test vectors.
        assert_eq!(Fnv::new().0, 0xcbf2_9ce4_8422_2325);
        assert_eq!(Fnv::new().bytes(b"a").0, 0xaf63_dc4c_8601_ec8c);
        assert_eq!(Fnv::new().bytes(b"foobar").0, 0x8594_4171_f739_67e8);
        // SplitMix64's first output for seed 0.
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
        // Feature hashes as the encoder computes them.
        let word = Fnv::new().byte(TAG_WORD).bytes(b"image").finish();
        assert_eq!(word, 0x78bb_9e30_dcd9_ced8);
        let gram = Fnv::new().byte(TAG_CHAR).bytes(b"^tra").finish();
        assert_eq!(gram, 0x4439_2e62_a8ed_6197);
        assert_eq!(bucket_and_sign(word, 256), (0x78, 1.0));
        assert_eq!(bucket_and_sign(gram, 256), (0x44, -1.0));
    }

    #[test]
    fn encoding_is_pinned() {
        let e = enc();
        assert_eq!(
            e.id(),
            "agentnet/hashed-ngram/v1;dim=256;char=3..=4;w=1,0.7,0.4;stop=true"
        );
        let v = e.encode("translate documents to French");
        assert_eq!(
            fingerprint(&v),
            "6fe69502e3c9fbcb1e888d639161abd3881a1dd50f33be387e91d3fc84cc1050"
        );
        assert_eq!(v.as_slice()[4], 0.207_869_86);
        let v = e.encode("generate an image from a text prompt");
        assert_eq!(
            fingerprint(&v),
            "0c19b18d0ddae0bc6a25e3a77e6840fc13f0c78defc182ffdd190f1273cfb99c"
        );
        let s = e.encode("translate documents to French").sketch();
        assert_eq!(
            &s.0[..8],
            &[193, 68, 179, 3, 180, 189, 203, 245],
            "sketch projection changed"
        );
    }

    #[test]
    fn deterministic_bit_for_bit() {
        let a = enc();
        let b = HashedNgramEncoder::new(HashedNgramConfig::default()).unwrap();
        for t in CORPUS {
            let x = a.encode(t);
            let y = b.encode(t);
            let xb: Vec<u32> = x.as_slice().iter().map(|v| v.to_bits()).collect();
            let yb: Vec<u32> = y.as_slice().iter().map(|v| v.to_bits()).collect();
            assert_eq!(xb, yb);
            assert_eq!(x.sketch(), y.sketch());
        }
    }

    #[test]
    fn normalised_and_empty_is_zero() {
        let e = enc();
        for t in CORPUS {
            let v = e.encode(t);
            assert_eq!(v.dim(), 256);
            assert!((norm(&v) - 1.0).abs() < 1e-5, "{t}: {}", norm(&v));
            assert!((v.cosine(&v) - 1.0).abs() < 1e-5);
        }
        for t in ["", "   ", "!!! ??? ...", "\u{301}\u{301}"] {
            let v = e.encode(t);
            assert!(v.is_zero(), "{t:?}");
            assert_eq!(v.dim(), 256);
            assert_eq!(v.cosine(&e.encode("hello")), 0.0);
            assert_eq!(v.cosine(&v), 0.0);
            assert!(v.as_slice().iter().all(|x| !x.is_nan()));
        }
        // Only stop words: kept rather than dropped.
        assert!(!e.encode("to the").is_zero());
    }

    #[test]
    fn embedding_constructors() {
        let v = Embedding::new(vec![3.0, 4.0]);
        assert_eq!(v.as_slice(), &[0.6, 0.8]);
        let w = Embedding::from_slice(&[f32::NAN, 2.0, f32::INFINITY]);
        assert_eq!(w.as_slice(), &[0.0, 1.0, 0.0]);
        assert!(Embedding::new(vec![0.0; 4]).is_zero());
        assert!(Embedding::new(vec![f32::NAN; 4]).is_zero());
        assert!(Embedding::zeros(8).is_zero());
        // Mismatched dimensions compare as 0.
        assert_eq!(v.cosine(&Embedding::new(vec![1.0, 0.0, 0.0])), 0.0);
        assert!((v.cosine(&Embedding::new(vec![-3.0, -4.0])) + 1.0).abs() < 1e-6);
        // Huge finite values do not overflow to a zero or NaN vector.
        let h = Embedding::new(vec![f32::MAX, f32::MAX]);
        assert!((norm(&h) - 1.0).abs() < 1e-6);
        assert_eq!(v.clone().into_vec(), vec![0.6, 0.8]);
    }

    #[test]
    fn tokenisation() {
        let mut out = String::new();
        let mut spans = Vec::new();
        tokenize(
            "Don't STOP: text-to-image, Café\u{301}s ÉTÉ 3D",
            &mut out,
            &mut spans,
        );
        let words: Vec<&str> = spans.iter().map(|&(s, e)| &out[s..e]).collect();
        assert_eq!(
            words,
            ["dont", "stop", "text", "to", "image", "cafés", "été", "3d"]
        );
        // Case and punctuation do not matter.
        let e = enc();
        assert_eq!(
            e.encode("French translation!"),
            e.encode("  french, TRANSLATION ")
        );
    }

    #[test]
    fn similar_phrasings_rank_above_unrelated() {
        let groups: &[(&str, &str, &[&str])] = &[
            (
                "generate an image from a text prompt",
                "text-to-image generation",
                &[
                    "review rust code for security bugs",
                    "book flights and hotels",
                    "French translation",
                ],
            ),
            (
                "translate documents to French",
                "French translation",
                &[
                    "review rust code for security bugs",
                    "weather forecast for a city",
                    "text-to-image generation",
                ],
            ),
            (
                "transcribe audio recordings to text",
                "speech to text transcription",
                &[
                    "review rust code for security bugs",
                    "book flights and hotels",
                ],
            ),
            (
                "summarise documents",
                "document summarization service",
                &[
                    "review rust code for security bugs",
                    "travel booking assistant",
                ],
            ),
            (
                "review rust code for security bugs",
                "security review of Rust code",
                &[
                    "generate an image from a text prompt",
                    "translate documents to French",
                ],
            ),
        ];
        for (query, close, far) in groups {
            let near = cos(query, close);
            assert!(near > 0.25, "{query} ~ {close}: {near}");
            for f in *far {
                let c = cos(query, f);
                assert!(near > c + 0.15, "{query}: {close} ({near}) vs {f} ({c})");
                assert!(cos(close, f) < near, "{close} vs {f}");
            }
        }
    }

    #[test]
    fn ranking_a_catalogue() {
        let e = enc();
        let catalogue: Vec<(&str, Embedding)> = CORPUS.iter().map(|t| (*t, e.encode(t))).collect();
        let best = |q: &str| {
            let qv = e.encode(q);
            catalogue
                .iter()
                .filter(|(t, _)| *t != q)
                .max_by(|a, b| qv.cosine(&a.1).total_cmp(&qv.cosine(&b.1)))
                .unwrap()
                .0
        };
        assert_eq!(
            best("text-to-image generation"),
            "generate an image from a text prompt"
        );
        assert_eq!(best("French translation"), "translate documents to French");
        assert_eq!(
            best("audio transcription"),
            "transcribe audio recordings to text"
        );
        assert_eq!(best("summarize a report"), "summarise long PDF reports");
        assert_eq!(best("book a hotel"), "book flights and hotels");
        assert_eq!(
            best("rust security audit"),
            "review rust code for security bugs"
        );
    }

    #[test]
    fn config_validation_and_ids() {
        assert!(HashedNgramEncoder::new(HashedNgramConfig::with_dim(15)).is_err());
        assert!(HashedNgramEncoder::new(HashedNgramConfig::with_dim(4097)).is_err());
        assert_eq!(
            HashedNgramEncoder::new(HashedNgramConfig::with_dim(8)).unwrap_err(),
            SemanticError::DimOutOfRange { dim: 8 }
        );
        let c = HashedNgramConfig {
            char_ngram_min: 5,
            char_ngram_max: 4,
            ..HashedNgramConfig::default()
        };
        assert!(matches!(c.validate(), Err(SemanticError::InvalidConfig(_))));
        let mut c = HashedNgramConfig {
            bigram_weight: f32::NAN,
            ..HashedNgramConfig::default()
        };
        assert!(c.validate().is_err());
        c.bigram_weight = -1.0;
        assert!(c.validate().is_err());

        // Other dimensions work and give different ids.
        for dim in [16, 100, 384, 4096] {
            let e = HashedNgramEncoder::new(HashedNgramConfig::with_dim(dim)).unwrap();
            assert_eq!(e.dim(), dim);
            let v = e.encode("translate documents to French");
            assert_eq!(v.dim(), dim);
            assert!((norm(&v) - 1.0).abs() < 1e-5);
            assert_ne!(e.id(), enc().id());
        }
        // Disabling families still works; all disabled gives zero.
        let mut c = HashedNgramConfig {
            char_ngram_weight: 0.0,
            bigram_weight: 0.0,
            ..HashedNgramConfig::default()
        };
        let words_only = HashedNgramEncoder::new(c.clone()).unwrap();
        assert!(
            words_only
                .encode("French translation")
                .cosine(&words_only.encode("french"))
                > 0.5
        );
        c.word_weight = 0.0;
        assert!(
            HashedNgramEncoder::new(c)
                .unwrap()
                .encode("anything")
                .is_zero()
        );
    }

    #[test]
    fn trait_is_object_safe() {
        let boxed: Box<dyn SemanticEncoder> = Box::new(enc());
        assert_eq!(boxed.dim(), 256);
        assert_eq!(boxed.encode("x"), enc().encode("x"));
        let by_ref: &dyn SemanticEncoder = &boxed;
        assert_eq!(by_ref.id(), enc().id());
    }

    #[test]
    fn quantize_round_trip() {
        let e = enc();
        for t in CORPUS {
            let v = e.encode(t);
            let q = v.quantize().unwrap();
            assert_eq!(q.dim(), 256);
            assert!(q.values().iter().all(|&x| x != i8::MIN));
            assert!(q.values().iter().any(|&x| x.unsigned_abs() == 127));
            let back = q.dequantize();
            assert!(v.cosine(&back) >= 0.99, "{t}: {}", v.cosine(&back));
            assert!((norm(&back) - 1.0).abs() < 1e-5);
        }
        for a in CORPUS {
            for b in CORPUS {
                let (va, vb) = (e.encode(a), e.encode(b));
                let qc = va.quantize().unwrap().cosine(&vb.quantize().unwrap());
                assert!((qc - va.cosine(&vb)).abs() < 0.02, "{a} / {b}");
            }
        }
        let z = Embedding::zeros(64).quantize().unwrap();
        assert!(z.values().iter().all(|&x| x == 0));
        assert!(z.dequantize().is_zero());
        assert_eq!(z.cosine(&z), 0.0);
        assert_eq!(
            Embedding::zeros(8).quantize(),
            Err(SemanticError::DimOutOfRange { dim: 8 })
        );
        let q16 = Embedding::new(vec![1.0; 16]).quantize().unwrap();
        assert_eq!(q16.cosine(&e.encode("x").quantize().unwrap()), 0.0);
    }

    #[test]
    fn quantized_validation() {
        assert!(QuantizedEmbedding::from_parts(16, vec![1; 16]).is_ok());
        assert_eq!(
            QuantizedEmbedding::from_parts(16, vec![1; 15]),
            Err(SemanticError::LengthMismatch { dim: 16, len: 15 })
        );
        assert_eq!(
            QuantizedEmbedding::from_parts(4, vec![1; 4]),
            Err(SemanticError::DimOutOfRange { dim: 4 })
        );
        assert_eq!(
            QuantizedEmbedding::from_parts(5000, vec![1; 5000]),
            Err(SemanticError::DimOutOfRange { dim: 5000 })
        );
        let mut v = vec![0i8; 16];
        v[3] = i8::MIN;
        assert_eq!(
            QuantizedEmbedding::from_parts(16, v),
            Err(SemanticError::ValueOutOfRange { index: 3 })
        );
    }

    fn cbor<T: Serialize>(v: &T) -> Vec<u8> {
        let mut buf = Vec::new();
        ciborium::into_writer(v, &mut buf).unwrap();
        buf
    }

    #[test]
    fn quantized_serde() {
        let q = enc().encode("French translation").quantize().unwrap();
        let buf = cbor(&q);
        let back: QuantizedEmbedding = ciborium::from_reader(&buf[..]).unwrap();
        assert_eq!(back, q);
        // The values travel as one byte string: 256 raw bytes after a 2-byte length header.
        let header = [0x59, 0x01, 0x00];
        let pos = buf
            .windows(3)
            .position(|w| w == header)
            .expect("byte string");
        assert_eq!(buf.len(), pos + 3 + 256);
        // No CBOR float major type 7 items (0xf9..=0xfb) outside the byte string.
        assert!(buf[..pos].iter().all(|b| !(0xf9..=0xfb).contains(b)));

        // Decoding validates.
        #[derive(Serialize)]
        struct Raw {
            dim: u16,
            #[serde(with = "serde_bytes")]
            values: Vec<u8>,
        }
        let bad = cbor(&Raw {
            dim: 32,
            values: vec![0; 31],
        });
        assert!(ciborium::from_reader::<QuantizedEmbedding, _>(&bad[..]).is_err());
        let bad = cbor(&Raw {
            dim: 16,
            values: vec![0x80; 16],
        });
        assert!(ciborium::from_reader::<QuantizedEmbedding, _>(&bad[..]).is_err());
        let good = cbor(&Raw {
            dim: 16,
            values: vec![0xff; 16],
        });
        let q: QuantizedEmbedding = ciborium::from_reader(&good[..]).unwrap();
        assert!(q.values().iter().all(|&v| v == -1));
    }

    #[test]
    fn sketch_serde() {
        let s = enc().encode("French translation").sketch();
        let buf = cbor(&s);
        assert_eq!(&buf[..2], &[0x58, 32]);
        assert_eq!(buf.len(), 34);
        let back: Sketch = ciborium::from_reader(&buf[..]).unwrap();
        assert_eq!(back, s);
        let short = cbor(&serde_bytes::Bytes::new(&[0; 31]));
        assert!(ciborium::from_reader::<Sketch, _>(&short[..]).is_err());
    }

    #[test]
    fn sketch_tracks_cosine() {
        let e = enc();
        let vs: Vec<Embedding> = CORPUS.iter().map(|t| e.encode(t)).collect();
        let (mut sum, mut n, mut worst) = (0.0f32, 0, 0.0f32);
        for a in &vs {
            assert_eq!(a.sketch().similarity(&a.sketch()), 1.0);
            for b in &vs {
                let err = (a.sketch().similarity(&b.sketch()) - a.cosine(b)).abs();
                sum += err;
                n += 1;
                worst = worst.max(err);
            }
        }
        let mean = sum / n as f32;
        assert!(mean < 0.1, "mean error {mean}");
        assert!(worst < 0.35, "worst error {worst}");
        // Opposite vectors have opposite sketches.
        let v = &vs[0];
        let neg = Embedding::new(v.as_slice().iter().map(|x| -x).collect());
        assert_eq!(v.sketch().hamming(&neg.sketch()), 256);
        assert!((v.sketch().similarity(&neg.sketch()) + 1.0).abs() < 1e-6);
        // Works for other dimensions too.
        let e384 = HashedNgramEncoder::new(HashedNgramConfig::with_dim(384)).unwrap();
        let (a, b, c) = (
            e384.encode("translate documents to French"),
            e384.encode("French translation"),
            e384.encode("review rust code for security bugs"),
        );
        assert!(a.sketch().similarity(&b.sketch()) > a.sketch().similarity(&c.sketch()));
        assert_eq!(Embedding::zeros(256).sketch(), Sketch::default());
    }

    fn word_pool() -> impl Strategy<Value = String> {
        let words = prop::sample::select(vec![
            "image",
            "text",
            "generate",
            "translate",
            "french",
            "code",
            "rust",
            "review",
            "security",
            "audio",
            "speech",
            "summary",
            "document",
            "the",
            "to",
            "data",
            "model",
        ]);
        prop::collection::vec(words, 0..8).prop_map(|w| w.join(" "))
    }

    proptest! {
        #[test]
        fn encode_never_panics_or_nans(s in any::<String>()) {
            let v = enc().encode(&s);
            prop_assert_eq!(v.dim(), 256);
            prop_assert!(v.as_slice().iter().all(|x| x.is_finite()));
            let n = norm(&v);
            prop_assert!(v.is_zero() || (n - 1.0).abs() < 1e-5);
            let _ = v.sketch();
            prop_assert!(v.quantize().is_ok());
        }

        #[test]
        fn encode_printable(s in "\\PC{0,200}") {
            let v = enc().encode(&s);
            prop_assert!(v.as_slice().iter().all(|x| x.is_finite()));
            prop_assert_eq!(v.clone(), enc().encode(&s));
        }

        #[test]
        fn quantized_cosine_close_to_float(a in word_pool(), b in word_pool()) {
            let e = enc();
            let (va, vb) = (e.encode(&a), e.encode(&b));
            let (qa, qb) = (va.quantize().unwrap(), vb.quantize().unwrap());
            prop_assert!((qa.cosine(&qb) - va.cosine(&vb)).abs() < 0.02);
            prop_assert!(va.is_zero() || va.cosine(&qa.dequantize()) >= 0.99);
        }

        #[test]
        fn quantized_cosine_random_vectors(
            a in prop::collection::vec(-1.0f32..1.0, 64),
            b in prop::collection::vec(-1.0f32..1.0, 64),
        ) {
            let (va, vb) = (Embedding::new(a), Embedding::new(b));
            let (qa, qb) = (va.quantize().unwrap(), vb.quantize().unwrap());
            prop_assert!((qa.cosine(&qb) - va.cosine(&vb)).abs() < 0.02);
        }

        #[test]
        fn quantized_serde_round_trip(s in "\\PC{0,60}") {
            let q = enc().encode(&s).quantize().unwrap();
            let back: QuantizedEmbedding = ciborium::from_reader(&cbor(&q)[..]).unwrap();
            prop_assert_eq!(back, q);
            let sk = enc().encode(&s).sketch();
            let back: Sketch = ciborium::from_reader(&cbor(&sk)[..]).unwrap();
            prop_assert_eq!(back, sk);
        }
    }
}
