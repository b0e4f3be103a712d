//! Frames and the canonical CBOR codec, with hard limits checked before anything is allocated.
//!
//! # Frame layout
//!
//! ```text
//! +---------+----------------+--------------------------------+
//! | version | kind (u16, BE) | payload: one canonical CBOR item |
//! |  1 byte |     2 bytes    |        len - 3 bytes             |
//! +---------+----------------+--------------------------------+
//! ```
//!
//! The transport delimits frames (TCP uses a length prefix); a frame is always handled as one
//! whole byte slice. [`decode_frame`] checks, in this order: the frame size limit, the header
//! length, the protocol version, the message kind, then the payload's CBOR structure.
//!
//! # Canonical CBOR
//!
//! Payloads are CBOR (RFC 8949) written by `ciborium` from `serde` types with a fixed field
//! order, so the same value always encodes to the same bytes. Signatures and hashes cover the
//! bytes that travel; nothing is ever re-encoded to be verified. On the way in, [`check_cbor`]
//! walks the item **without allocating** and refuses, with a typed [`WireError`]:
//! indefinite lengths, non-minimal integer or length encodings, floats, tags, simple values
//! other than `false`/`true`/`null`, byte or text strings longer than
//! [`Limits::max_bytes_len`], arrays and maps with more than [`Limits::max_items`] entries,
//! nesting deeper than [`Limits::max_depth`], any declared length larger than the bytes that
//! remain, and trailing bytes. Only then does `ciborium` build the value, so a hostile peer
//! cannot make a node allocate more than the frame it already holds.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use thiserror::Error;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u8 = 1;
/// Bytes in a frame header (version + kind).
pub const HEADER_LEN: usize = 3;

/// What a frame carries. Kinds are grouped by plane: `0x00xx` core, `0x01xx` gossip,
/// `0x02xx` trust, `0x03xx` mechanisms and sessions, `0x04xx` the adaptation layer's link
/// handshake and task payloads, `0x7fxx` reserved for applications ([`MessageKind::plane`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct MessageKind(pub u16);

impl MessageKind {
    /// A signed capability descriptor ([`crate::descriptor`]).
    pub const SIGNED_DESCRIPTOR: MessageKind = kinds::SIGNED_DESCRIPTOR;
    /// A signed binding of an X25519 key to an agent id ([`crate::seal::KeyBinding`]).
    pub const KEY_BINDING: MessageKind = kinds::KEY_BINDING;
    /// A sealed box ([`crate::seal`]).
    pub const SEALED: MessageKind = kinds::SEALED;
    /// First kind of the application range; kinds from here to `0x7fff` are never assigned by
    /// agentnet.
    pub const APPLICATION_START: MessageKind = MessageKind(0x7f00);

    /// The registered name of this kind (`"header"`, `"offer"`, ...; [`kinds::ALL`]), or
    /// `None` for a kind agentnet does not assign.
    pub fn name(self) -> Option<&'static str> {
        kinds::ALL.iter().find(|(k, _)| *k == self).map(|(_, n)| *n)
    }
}

/// The registered name (`"ihave"`), or the kind in hex (`"0x7f01"`) when it has none.
impl core::fmt::Display for MessageKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "0x{:04x}", self.0),
        }
    }
}

pub mod kinds;

/// The plane a message kind belongs to (its high byte), for routing frames to engines.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[non_exhaustive]
pub enum Plane {
    /// `0x00xx`: core objects (descriptors, key bindings, sealed boxes).
    Core,
    /// `0x01xx`: bodyless gossip.
    Gossip,
    /// `0x02xx`: trust and verification.
    Trust,
    /// `0x03xx`: mechanisms and task sessions.
    Execution,
    /// `0x04xx`: the adaptation layer's link handshake and task payloads.
    Payload,
    /// `0x7fxx`: reserved for applications.
    Application,
    /// Any other high byte.
    Unassigned(u8),
}

impl MessageKind {
    /// The plane this kind belongs to.
    pub const fn plane(self) -> Plane {
        match (self.0 >> 8) as u8 {
            0x00 => Plane::Core,
            0x01 => Plane::Gossip,
            0x02 => Plane::Trust,
            0x03 => Plane::Execution,
            0x04 => Plane::Payload,
            0x7f => Plane::Application,
            other => Plane::Unassigned(other),
        }
    }
}

/// Decoding limits. The defaults suit control-plane traffic (descriptors, headers, reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest frame accepted, header included. Bytes; default 65 536; range 16..=16 MiB.
    pub max_frame: usize,
    /// Longest byte or text string. Bytes; default 16 384; range 0..=`max_frame`.
    pub max_bytes_len: usize,
    /// Most entries in one array or map (a map entry counts once). Default 1 024; range
    /// 0..=65 536.
    pub max_items: usize,
    /// Deepest nesting of arrays and maps; the top-level item is depth 1. Default 16; range
    /// 1..=64.
    pub max_depth: usize,
    /// Which message kinds [`decode_frame`] accepts: all kinds (`None`, the default) or only
    /// the ones in the inclusive range.
    pub accept_kind: Option<(u16, u16)>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_frame: 64 * 1024,
            max_bytes_len: 16 * 1024,
            max_items: 1024,
            max_depth: 16,
            accept_kind: None,
        }
    }
}

/// Every way a frame or payload can be wrong.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// The frame is shorter than its header.
    #[error("truncated frame: {len} bytes, header needs {HEADER_LEN}")]
    TruncatedHeader {
        /// Bytes received.
        len: usize,
    },
    /// The frame exceeds [`Limits::max_frame`].
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// Frame length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// The frame speaks a protocol version this build does not.
    #[error("unsupported protocol version {found} (this build speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion {
        /// Version byte found.
        found: u8,
    },
    /// The kind is outside what the receiver accepts.
    #[error("unknown message kind {0:#06x}")]
    UnknownKind(u16),
    /// The kind is valid but not the one the caller expected.
    #[error("wrong message kind: expected {expected:#06x}, found {found:#06x}")]
    WrongKind {
        /// Kind the caller asked for.
        expected: u16,
        /// Kind in the frame.
        found: u16,
    },
    /// The payload ended inside an item.
    #[error("truncated CBOR: item at offset {offset} needs more bytes")]
    Truncated {
        /// Offset of the incomplete item.
        offset: usize,
    },
    /// A declared string, array or map length exceeds the bytes that remain.
    #[error("declared length {declared} at offset {offset} exceeds the {remaining} bytes left")]
    LengthExceedsInput {
        /// Declared length (bytes, or minimum bytes for the declared entries).
        declared: u64,
        /// Bytes remaining after the length.
        remaining: usize,
        /// Offset of the item.
        offset: usize,
    },
    /// A byte or text string exceeds [`Limits::max_bytes_len`].
    #[error("string of {len} bytes exceeds the limit of {max}")]
    StringTooLong {
        /// Declared length.
        len: u64,
        /// Configured limit.
        max: usize,
    },
    /// An array or map exceeds [`Limits::max_items`].
    #[error("collection of {len} entries exceeds the limit of {max}")]
    TooManyItems {
        /// Declared entries.
        len: u64,
        /// Configured limit.
        max: usize,
    },
    /// Nesting exceeds [`Limits::max_depth`].
    #[error("nesting deeper than {max}")]
    TooDeep {
        /// Configured limit.
        max: usize,
    },
    /// Indefinite-length items are not canonical.
    #[error("indefinite-length item at offset {offset}")]
    IndefiniteLength {
        /// Offset of the item.
        offset: usize,
    },
    /// An integer or length used more bytes than needed.
    #[error("non-minimal integer encoding at offset {offset}")]
    NonCanonical {
        /// Offset of the item.
        offset: usize,
    },
    /// Floats, tags, `undefined` and unassigned simple values are not part of the wire format.
    #[error("unsupported CBOR item (major type {major}, info {info}) at offset {offset}")]
    Unsupported {
        /// CBOR major type.
        major: u8,
        /// Additional information bits.
        info: u8,
        /// Offset of the item.
        offset: usize,
    },
    /// Bytes follow the single top-level item.
    #[error("{count} trailing bytes after the payload")]
    TrailingBytes {
        /// Trailing byte count.
        count: usize,
    },
    /// Structurally valid CBOR that does not match the expected type.
    #[error("payload does not match the expected type: {0}")]
    Schema(String),
    /// A value could not be encoded (or encodes beyond the frame limit).
    #[error("cannot encode: {0}")]
    Encode(String),
}

/// A decoded frame: header fields and the (already structure-checked) payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Protocol version (always [`PROTOCOL_VERSION`] after a successful decode).
    pub version: u8,
    /// Message kind.
    pub kind: MessageKind,
    /// The CBOR payload, a zero-copy slice of the received frame.
    pub payload: Bytes,
}

/// The kind of a frame without checking anything else: for routing and metrics.
pub fn peek_kind(frame: &[u8]) -> Option<MessageKind> {
    if frame.len() < HEADER_LEN {
        return None;
    }
    Some(MessageKind(u16::from_be_bytes([frame[1], frame[2]])))
}

/// Encode `value` as CBOR into a fresh vector.
pub fn encode_cbor<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(256);
    ciborium::into_writer(value, &mut out).map_err(|e| WireError::Encode(e.to_string()))?;
    Ok(out)
}

/// Encode `value` as a complete frame of `kind`.
pub fn encode_frame<T: Serialize + ?Sized>(
    kind: MessageKind,
    value: &T,
) -> Result<Bytes, WireError> {
    let payload = encode_cbor(value)?;
    Ok(frame_from_payload(kind, &payload))
}

/// Wrap an already encoded payload in a frame header.
pub fn frame_from_payload(kind: MessageKind, payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(HEADER_LEN + payload.len());
    b.put_u8(PROTOCOL_VERSION);
    b.put_u16(kind.0);
    b.put_slice(payload);
    b.freeze()
}

/// Check a frame's header and payload structure against `limits`.
pub fn decode_frame(frame: &Bytes, limits: &Limits) -> Result<Frame, WireError> {
    let (kind, payload) = check_header(frame, limits)?;
    check_cbor(&payload, limits)?;
    Ok(Frame {
        version: PROTOCOL_VERSION,
        kind,
        payload,
    })
}

/// Size, header length, version and accepted kind; the payload is not yet scanned.
fn check_header(frame: &Bytes, limits: &Limits) -> Result<(MessageKind, Bytes), WireError> {
    if frame.len() > limits.max_frame {
        return Err(WireError::FrameTooLarge {
            len: frame.len(),
            max: limits.max_frame,
        });
    }
    if frame.len() < HEADER_LEN {
        return Err(WireError::TruncatedHeader { len: frame.len() });
    }
    if frame[0] != PROTOCOL_VERSION {
        return Err(WireError::UnsupportedVersion { found: frame[0] });
    }
    let kind = MessageKind(u16::from_be_bytes([frame[1], frame[2]]));
    if let Some((lo, hi)) = limits.accept_kind
        && (kind.0 < lo || kind.0 > hi)
    {
        return Err(WireError::UnknownKind(kind.0));
    }
    Ok((kind, frame.slice(HEADER_LEN..)))
}

/// Check a frame that must be of kind `expected` and return its structure-checked payload.
/// The kind is compared before the payload is scanned, so unwanted frames cost nothing more.
pub fn decode_frame_of(
    frame: &Bytes,
    expected: MessageKind,
    limits: &Limits,
) -> Result<Bytes, WireError> {
    let (kind, payload) = check_header(frame, limits)?;
    if kind != expected {
        return Err(WireError::WrongKind {
            expected: expected.0,
            found: kind.0,
        });
    }
    check_cbor(&payload, limits)?;
    Ok(payload)
}

/// Decode a frame that must be of kind `expected` into `T`.
pub fn decode_frame_as<T: DeserializeOwned>(
    frame: &Bytes,
    expected: MessageKind,
    limits: &Limits,
) -> Result<T, WireError> {
    decode_checked(&decode_frame_of(frame, expected, limits)?)
}

/// Structure-check then decode a CBOR payload into `T`.
pub fn decode_cbor<T: DeserializeOwned>(payload: &[u8], limits: &Limits) -> Result<T, WireError> {
    check_cbor(payload, limits)?;
    decode_checked(payload)
}

/// Decode a payload that has already passed [`check_cbor`].
pub(crate) fn decode_checked<T: DeserializeOwned>(payload: &[u8]) -> Result<T, WireError> {
    ciborium::from_reader(payload).map_err(|e| WireError::Schema(schema_message(&e)))
}

fn schema_message<E: core::fmt::Debug>(e: &ciborium::de::Error<E>) -> String {
    match e {
        ciborium::de::Error::Semantic(_, msg) => msg.clone(),
        ciborium::de::Error::Syntax(off) => format!("syntax error at offset {off}"),
        ciborium::de::Error::Io(err) => format!("{err:?}"),
        ciborium::de::Error::RecursionLimitExceeded => "recursion limit".to_string(),
    }
}

/// Walk one CBOR item (RFC 8949) and check every limit and canonical-form rule listed in the
/// module docs, allocating nothing. The walk is iterative: its own bookkeeping is a fixed
/// array of [`Limits::max_depth`] (at most 64) counters.
pub fn check_cbor(input: &[u8], limits: &Limits) -> Result<(), WireError> {
    const MAX_DEPTH_CAP: usize = 64;
    let max_depth = limits.max_depth.min(MAX_DEPTH_CAP);
    // pending[d] = items still to read in the container at depth d (depth 0 = top level).
    let mut pending = [0u64; MAX_DEPTH_CAP + 1];
    let mut depth = 0usize;
    pending[0] = 1;
    let mut pos = 0usize;
    loop {
        while depth > 0 && pending[depth] == 0 {
            depth -= 1;
        }
        if pending[depth] == 0 {
            break;
        }
        pending[depth] -= 1;
        let offset = pos;
        let initial = *input.get(pos).ok_or(WireError::Truncated { offset })?;
        pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let arg = match info {
            0..=23 => u64::from(info),
            24..=27 => {
                let n = 1usize << (info - 24);
                let bytes = input
                    .get(pos..pos + n)
                    .ok_or(WireError::Truncated { offset })?;
                pos += n;
                let mut v = 0u64;
                for &b in bytes {
                    v = (v << 8) | u64::from(b);
                }
                let min = match info {
                    24 => 24,
                    25 => 0x100,
                    26 => 0x1_0000,
                    _ => 0x1_0000_0000,
                };
                // Simple values (major 7) use info 24 only for values >= 32; floats are refused
                // below, so the same minimality rule applies to every major type we accept.
                if major != 7 && v < min {
                    return Err(WireError::NonCanonical { offset });
                }
                v
            }
            31 if matches!(major, 2..=5) => return Err(WireError::IndefiniteLength { offset }),
            _ => {
                return Err(WireError::Unsupported {
                    major,
                    info,
                    offset,
                });
            }
        };
        let remaining = input.len() - pos;
        match major {
            0 | 1 => {}
            2 | 3 => {
                if arg > limits.max_bytes_len as u64 {
                    return Err(WireError::StringTooLong {
                        len: arg,
                        max: limits.max_bytes_len,
                    });
                }
                if arg > remaining as u64 {
                    return Err(WireError::LengthExceedsInput {
                        declared: arg,
                        remaining,
                        offset,
                    });
                }
                let end = pos + arg as usize;
                if major == 3 && core::str::from_utf8(&input[pos..end]).is_err() {
                    return Err(WireError::Schema(format!(
                        "invalid UTF-8 in text at offset {offset}"
                    )));
                }
                pos = end;
            }
            4 | 5 => {
                if arg > limits.max_items as u64 {
                    return Err(WireError::TooManyItems {
                        len: arg,
                        max: limits.max_items,
                    });
                }
                let items = if major == 5 { arg * 2 } else { arg };
                if items > remaining as u64 {
                    return Err(WireError::LengthExceedsInput {
                        declared: items,
                        remaining,
                        offset,
                    });
                }
                if items > 0 {
                    if depth + 1 > max_depth {
                        return Err(WireError::TooDeep {
                            max: limits.max_depth,
                        });
                    }
                    depth += 1;
                    pending[depth] = items;
                }
            }
            7 => {
                // false, true, null only.
                if !matches!(info, 20..=22) {
                    return Err(WireError::Unsupported {
                        major,
                        info,
                        offset,
                    });
                }
            }
            _ => {
                return Err(WireError::Unsupported {
                    major,
                    info,
                    offset,
                });
            }
        }
    }
    if pos != input.len() {
        return Err(WireError::TrailingBytes {
            count: input.len() - pos,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Msg {
        name: String,
        n: u64,
        tags: Vec<String>,
        #[serde(with = "serde_bytes")]
        blob: Vec<u8>,
    }

    fn msg() -> Msg {
        Msg {
            name: "x".into(),
            n: 300,
            tags: vec!["a".into(), "b".into()],
            blob: vec![1, 2, 3],
        }
    }

    const KIND: MessageKind = MessageKind(0x7f01);

    #[test]
    fn frame_round_trip() {
        let f = encode_frame(KIND, &msg()).unwrap();
        assert_eq!(f[0], PROTOCOL_VERSION);
        assert_eq!(peek_kind(&f), Some(KIND));
        let back: Msg = decode_frame_as(&f, KIND, &Limits::default()).unwrap();
        assert_eq!(back, msg());
    }

    #[test]
    fn header_errors() {
        let l = Limits::default();
        let f = encode_frame(KIND, &msg()).unwrap();
        assert_eq!(
            decode_frame(&Bytes::from_static(&[1, 0]), &l),
            Err(WireError::TruncatedHeader { len: 2 })
        );
        let mut v = f.to_vec();
        v[0] = 9;
        assert_eq!(
            decode_frame(&Bytes::from(v), &l),
            Err(WireError::UnsupportedVersion { found: 9 })
        );
        assert_eq!(
            decode_frame_as::<Msg>(&f, MessageKind(0x7f02), &l),
            Err(WireError::WrongKind {
                expected: 0x7f02,
                found: 0x7f01
            })
        );
        let narrow = Limits {
            accept_kind: Some((1, 3)),
            ..l
        };
        assert_eq!(
            decode_frame(&f, &narrow),
            Err(WireError::UnknownKind(0x7f01))
        );
        let small = Limits { max_frame: 8, ..l };
        assert!(matches!(
            decode_frame(&f, &small),
            Err(WireError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn every_truncation_is_an_error() {
        let p = encode_cbor(&msg()).unwrap();
        for cut in 0..p.len() {
            assert!(
                check_cbor(&p[..cut], &Limits::default()).is_err(),
                "cut at {cut}"
            );
        }
        assert!(check_cbor(&p, &Limits::default()).is_ok());
    }

    #[test]
    fn structural_limits() {
        let l = Limits::default();
        // Trailing byte.
        let mut p = encode_cbor(&msg()).unwrap();
        p.push(0);
        assert_eq!(
            check_cbor(&p, &l),
            Err(WireError::TrailingBytes { count: 1 })
        );
        // Huge declared byte-string length (2^63) in a 9-byte input.
        let huge = [0x5b, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert!(matches!(
            check_cbor(&huge, &l),
            Err(WireError::StringTooLong { .. })
        ));
        // Declared length within the limit but beyond the input.
        let short = [0x59, 0x01, 0x00, 0xaa];
        assert!(matches!(
            check_cbor(&short, &l),
            Err(WireError::LengthExceedsInput { .. })
        ));
        // Huge array count.
        let arr = [0x9b, 0, 0, 0, 1, 0, 0, 0, 0];
        assert!(matches!(
            check_cbor(&arr, &l),
            Err(WireError::TooManyItems { .. })
        ));
        // Array count beyond input.
        let arr2 = [0x98, 0x20, 0x01];
        assert!(matches!(
            check_cbor(&arr2, &l),
            Err(WireError::LengthExceedsInput { .. })
        ));
        // Deep nesting: 100 nested one-element arrays.
        let mut deep = vec![0x81u8; 100];
        deep.push(0x00);
        assert_eq!(check_cbor(&deep, &l), Err(WireError::TooDeep { max: 16 }));
        // Indefinite-length array.
        assert!(matches!(
            check_cbor(&[0x9f, 0x01, 0xff], &l),
            Err(WireError::IndefiniteLength { .. })
        ));
        // Non-minimal integer: 1 encoded in two bytes.
        assert!(matches!(
            check_cbor(&[0x18, 0x01], &l),
            Err(WireError::NonCanonical { .. })
        ));
        // Float.
        assert!(matches!(
            check_cbor(&[0xf9, 0x3c, 0x00], &l),
            Err(WireError::Unsupported { major: 7, .. })
        ));
        // Tag.
        assert!(matches!(
            check_cbor(&[0xc1, 0x00], &l),
            Err(WireError::Unsupported { major: 6, .. })
        ));
        // Invalid UTF-8 in a text string.
        assert!(matches!(
            check_cbor(&[0x61, 0xff], &l),
            Err(WireError::Schema(_))
        ));
        // Bools and null are fine.
        assert!(check_cbor(&[0x83, 0xf4, 0xf5, 0xf6], &l).is_ok());
    }

    #[test]
    fn string_limit_is_enforced() {
        let l = Limits {
            max_bytes_len: 4,
            ..Limits::default()
        };
        let p = encode_cbor(&"hello").unwrap();
        assert_eq!(
            check_cbor(&p, &l),
            Err(WireError::StringTooLong { len: 5, max: 4 })
        );
    }

    #[test]
    fn schema_mismatch_is_typed() {
        let p = encode_cbor(&42u64).unwrap();
        assert!(matches!(
            decode_cbor::<Msg>(&p, &Limits::default()),
            Err(WireError::Schema(_))
        ));
    }

    #[test]
    fn long_byte_strings_decode() {
        let m = Msg {
            blob: vec![7; 12_000],
            ..msg()
        };
        let p = encode_cbor(&m).unwrap();
        assert_eq!(decode_cbor::<Msg>(&p, &Limits::default()).unwrap(), m);
    }

    #[test]
    fn every_kind_is_unique_and_in_its_plane() {
        let all = kinds::ALL;
        for (i, (k, name)) in all.iter().enumerate() {
            assert!(
                !matches!(k.plane(), Plane::Unassigned(_) | Plane::Application),
                "{name} outside the assigned planes"
            );
            for (k2, name2) in &all[i + 1..] {
                assert!(k < k2, "{name} and {name2} out of order or assigned twice");
                assert_ne!(name, name2, "name used twice");
            }
            assert_eq!(k.name(), Some(*name));
            assert_eq!(k.to_string(), *name);
        }
        assert_eq!(MessageKind(0x7f01).to_string(), "0x7f01");
        assert_eq!(MessageKind(0x7f01).name(), None);
    }
}
