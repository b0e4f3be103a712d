//! Hashing primitives shared by the n-gram encoder and the sketch projection (FNV-1a with
//! the `fmix64` finaliser, SplitMix64, bucket/sign mapping).

// ---------------------------------------------------------------------------------------------
// Hashing primitives (fixed forever: changing any constant changes every embedding)
// ---------------------------------------------------------------------------------------------

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// Family tag for word unigram features.
pub(super) const TAG_WORD: u8 = 0x01;
/// Family tag for word bigram features.
pub(super) const TAG_BIGRAM: u8 = 0x02;
/// Family tag for character n-gram features.
pub(super) const TAG_CHAR: u8 = 0x03;
/// Separates the two words of a bigram; never occurs in UTF-8.
pub(super) const BIGRAM_SEP: u8 = 0xff;

/// Incremental FNV-1a 64.
#[derive(Clone, Copy)]
pub(super) struct Fnv(pub(super) u64);

impl Fnv {
    pub(super) const fn new() -> Self {
        Fnv(FNV_OFFSET)
    }

    #[inline]
    pub(super) fn byte(mut self, b: u8) -> Self {
        self.0 ^= u64::from(b);
        self.0 = self.0.wrapping_mul(FNV_PRIME);
        self
    }

    #[inline]
    pub(super) fn bytes(mut self, bs: &[u8]) -> Self {
        for &b in bs {
            self = self.byte(b);
        }
        self
    }

    /// FNV-1a state, then the MurmurHash3 `fmix64` finaliser to spread every input bit over
    /// every output bit.
    #[inline]
    pub(super) fn finish(self) -> u64 {
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
pub(super) const fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Maps a feature hash to `(bucket, sign)`: bucket from the high 32 bits by multiply-shift range
/// reduction, sign from bit 0.
#[inline]
pub(super) fn bucket_and_sign(h: u64, dim: usize) -> (usize, f32) {
    let bucket = ((h >> 32) * dim as u64) >> 32;
    let sign = if h & 1 == 0 { 1.0 } else { -1.0 };
    (bucket as usize, sign)
}
