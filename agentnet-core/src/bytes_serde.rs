//! Serde for fixed-size byte newtypes (`struct X(pub [u8; N])`): a CBOR byte string of exactly
//! `N` bytes, never an array of integers.

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
