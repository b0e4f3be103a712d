//! [`QuantizedEmbedding`]: the symmetric int8 wire form of an embedding and its CBOR encoding.

use super::*;

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
