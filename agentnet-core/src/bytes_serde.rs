//! Serde helpers that write bytes as CBOR byte strings, never as arrays of integers: for
//! [`Bytes`](::bytes::Bytes) fields ([`bytes`], [`opt_bytes`], [`bytes_list`]; every crate's wire
//! types use these), and for core's fixed-size byte newtypes (`struct X(pub [u8; N])`, a byte
//! string of exactly `N` bytes).

/// Implements `Serialize` and `Deserialize` for a tuple struct wrapping `[u8; $n]`.
macro_rules! fixed_bytes_serde {
    ($t:ident, $n:literal) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_bytes(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let b: serde_bytes::ByteArray<$n> = serde_bytes::deserialize(d)?;
                Ok($t(b.into_array()))
            }
        }
    };
}

/// Serde for [`Bytes`](::bytes::Bytes) as one CBOR byte string (never an array of integers):
/// `#[serde(with = "agentnet_core::bytes_serde::bytes")]`.
///
/// Decoding asks for an owned buffer (`deserialize_byte_buf`), not borrowed bytes: the CBOR
/// decoder serves borrowed bytes only up to its 4 KiB scratch buffer and refuses longer strings
/// that way, which would cap envelopes far below [`Limits::max_bytes_len`](crate::wire::Limits).
/// Frames are structure-checked against the limits before decoding, so the length is bounded
/// by bytes the receiver already holds.
pub mod bytes {
    use bytes::Bytes;
    use core::fmt;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    /// Write `b` as one byte string.
    pub fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }

    /// Read one byte string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        d.deserialize_byte_buf(ByteString)
    }

    struct ByteString;

    impl Visitor<'_> for ByteString {
        type Value = Bytes;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a byte string")
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Bytes, E> {
            Ok(Bytes::copy_from_slice(v))
        }
        fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Bytes, E> {
            Ok(Bytes::from(v))
        }
    }
}

/// Serde for `Option<Bytes>` as `null` or one CBOR byte string:
/// `#[serde(with = "agentnet_core::bytes_serde::opt_bytes")]`.
pub mod opt_bytes {
    use bytes::Bytes;
    use core::fmt;
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serialize, Serializer};

    struct Raw<'a>(&'a Bytes);

    impl Serialize for Raw<'_> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::bytes::serialize(self.0, s)
        }
    }

    /// Write `null` or one byte string.
    pub fn serialize<S: Serializer>(b: &Option<Bytes>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => s.serialize_some(&Raw(b)),
            None => s.serialize_none(),
        }
    }

    /// Read `null` or one byte string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        d.deserialize_option(OptByteString)
    }

    struct OptByteString;

    impl<'de> Visitor<'de> for OptByteString {
        type Value = Option<Bytes>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("null or a byte string")
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            super::bytes::deserialize(d).map(Some)
        }
    }
}

/// Serde for `Vec<Bytes>` as a CBOR array of byte strings:
/// `#[serde(with = "agentnet_core::bytes_serde::bytes_list")]`.
pub mod bytes_list {
    use bytes::Bytes;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Write an array of byte strings.
    pub fn serialize<S: Serializer>(list: &[Bytes], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(list.len()))?;
        for b in list {
            seq.serialize_element(serde_bytes::Bytes::new(b))?;
        }
        seq.end()
    }

    /// Read an array of byte strings. The frame was structure-checked against the limits
    /// before decoding, so the count and every length are bounded by bytes the receiver holds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Bytes>, D::Error> {
        let list = Vec::<serde_bytes::ByteBuf>::deserialize(d)?;
        Ok(list
            .into_iter()
            .map(|b| Bytes::from(b.into_vec()))
            .collect())
    }
}
