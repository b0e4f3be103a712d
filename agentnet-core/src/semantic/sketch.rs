//! [`Sketch`]: the 256-bit sign sketch (SimHash) of an embedding for gossip headers.

use super::*;

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
