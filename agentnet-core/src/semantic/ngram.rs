//! The default, model-free encoder: [`HashedNgramEncoder`] and its settings, with the
//! tokenizer and stop-word list it uses.

use super::*;

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
pub(super) fn tokenize(text: &str, out: &mut String, spans: &mut Vec<(usize, usize)>) {
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
