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

    fn add_char_ngrams(&self, acc: &mut [f32], word: &str, padded: &mut Vec<u8>, starts: &mut Vec<usize>) {
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
            for word in 0..4u64 {
                let r = splitmix64(base.wrapping_add(word));
                let lane = &mut acc[word as usize * 64..word as usize * 64 + 64];
                for (bit, a) in lane.iter_mut().enumerate() {
                    if (r >> bit) & 1 == 1 {
                        *a += x;
                    } else {
                        *a -= x;
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

impl Serialize for Sketch {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0)
    }
}

impl<'de> Deserialize<'de> for Sketch {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let b: serde_bytes::ByteArray<32> = serde_bytes::deserialize(d)?;
        Ok(Sketch(b.into_array()))
    }
}

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

    #[test]
    fn dump() {
        let e = enc();
        for t in ["translate documents to French", "generate an image from a text prompt", ""] {
            let v = e.encode(t);
            let bytes: Vec<u8> = v.as_slice().iter().flat_map(|x| x.to_le_bytes()).collect();
            println!("{t:?} {}", blake3::hash(&bytes).to_hex());
            let nz: Vec<(usize, f32)> = v.as_slice().iter().copied().enumerate().filter(|p| p.1 != 0.0).take(3).collect();
            println!("{nz:?} {}", e.id());
        }
        println!("{:#x} {:#x} {:#x}", Fnv::new().bytes(b"").0, Fnv::new().bytes(b"a").0, Fnv::new().bytes(b"foobar").0);
        println!("{:#x} {:#x}", Fnv::new().byte(TAG_WORD).bytes(b"image").finish(), Fnv::new().byte(TAG_CHAR).bytes(b"^tra").finish());
        println!("{:?}", enc().encode("translate documents to French").sketch().0);
        println!("{:#x} {:#x}", splitmix64(0), splitmix64(SKETCH_SEED));
    }
}
