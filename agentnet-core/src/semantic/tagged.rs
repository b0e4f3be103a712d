//! Wire forms that name the encoder that made them: [`EncoderTag`], [`TaggedSketch`] and
//! [`TaggedEmbedding`].
//!
//! Two vectors are comparable only when one encoder made both: the cosine of a lexical n-gram
//! vector with a language model's vector is a number with no meaning, and so is the Hamming
//! distance between their sketches. Everything that travels carries the encoder's tag, and the
//! comparison methods here answer `None` instead of a number when the tags differ, so a
//! comparison across encoders cannot happen by accident.

use super::*;

/// An 8-byte name for a [`SemanticEncoder`] on the wire: the first 8 bytes of BLAKE3
/// `derive_key("agentnet/v1/encoder-tag", id)` over the encoder's [`id`](SemanticEncoder::id).
///
/// Eight bytes keep headers small. Tags are not a security boundary (an author chooses its
/// sketch, and with it the tag, freely); they keep honest nodes with different models from
/// comparing unlike vectors. Two distinct ids collide with probability 2⁻⁶⁴.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EncoderTag(pub [u8; 8]);

impl EncoderTag {
    /// The tag of the encoder whose [`id`](SemanticEncoder::id) is `id`.
    pub fn of(id: &str) -> EncoderTag {
        let h = crate::Hash::digest(crate::hash::domain::ENCODER_TAG, id.as_bytes());
        let mut t = [0u8; 8];
        t.copy_from_slice(&h.as_bytes()[..8]);
        EncoderTag(t)
    }
}

impl fmt::Debug for EncoderTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EncoderTag(")?;
        for b in &self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

fixed_bytes_serde!(EncoderTag, 8);

/// A [`Sketch`] with the tag of the encoder whose vector it sketches: what a gossip header
/// carries. Encodes as a CBOR map `{"encoder": bytes(8), "sketch": bytes(32)}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaggedSketch {
    /// Which encoder made the vector.
    pub encoder: EncoderTag,
    /// The sign sketch of the vector.
    pub sketch: Sketch,
}

impl TaggedSketch {
    /// Sketches `e`, made by `encoder`.
    pub fn new<E: SemanticEncoder + ?Sized>(encoder: &E, e: &Embedding) -> TaggedSketch {
        TaggedSketch {
            encoder: encoder.tag(),
            sketch: e.sketch(),
        }
    }

    /// [`Sketch::similarity`] when both come from the same encoder; `None` otherwise.
    pub fn similarity(&self, other: &TaggedSketch) -> Option<f32> {
        (self.encoder == other.encoder).then(|| self.sketch.similarity(&other.sketch))
    }
}

/// A [`QuantizedEmbedding`] with the tag of the encoder that made it: what a descriptor's
/// intent may carry. Encodes as a CBOR map `{"encoder": bytes(8), "vector": {...}}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TaggedEmbedding {
    /// Which encoder made the vector.
    pub encoder: EncoderTag,
    /// The quantized vector.
    pub vector: QuantizedEmbedding,
}

impl TaggedEmbedding {
    /// Quantizes `e`, made by `encoder`. Fails as [`QuantizedEmbedding::quantize`] does.
    pub fn new<E: SemanticEncoder + ?Sized>(
        encoder: &E,
        e: &Embedding,
    ) -> Result<TaggedEmbedding, SemanticError> {
        Ok(TaggedEmbedding {
            encoder: encoder.tag(),
            vector: QuantizedEmbedding::quantize(e)?,
        })
    }

    /// [`QuantizedEmbedding::cosine`] when both come from the same encoder; `None` otherwise.
    pub fn cosine(&self, other: &TaggedEmbedding) -> Option<f32> {
        (self.encoder == other.encoder).then(|| self.vector.cosine(&other.vector))
    }
}
