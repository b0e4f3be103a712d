//! The record stream of the libp2p transport's agentnet streams (not a stable API; public for
//! the fuzz targets): after the hello, each side writes records of a 4-byte big-endian length
//! and that many bytes of frame; the length `0xFFFF_FFFF` alone is a keepalive.
//!
//! [`next_record`] takes records off the front of a receive buffer. It checks a frame's
//! length against the maximum as soon as the four length bytes are in, before any of the
//! frame is buffered, so a peer cannot make a link hold more than one maximal frame.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use thiserror::Error;

/// The length that marks a keepalive.
pub const KEEPALIVE: u32 = u32::MAX;
/// Bytes of a record's length prefix.
pub const PREFIX: usize = 4;

/// One record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A frame.
    Frame(Bytes),
    /// A keepalive: nothing to deliver.
    Keepalive,
}

/// A record stream that breaks the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A length prefix announced a frame over the maximum.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    TooLarge {
        /// The announced length.
        len: u64,
        /// The maximum.
        max: usize,
    },
}

/// Take the next whole record off the front of `buf`: `Ok(None)` if it is not all in yet
/// (then `buf` has room reserved for the rest of a frame whose length is known).
pub fn next_record(buf: &mut BytesMut, max_frame: usize) -> Result<Option<Record>, RecordError> {
    if buf.len() < PREFIX {
        return Ok(None);
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if len == KEEPALIVE {
        buf.advance(PREFIX);
        return Ok(Some(Record::Keepalive));
    }
    let len = len as usize;
    if len > max_frame {
        return Err(RecordError::TooLarge {
            len: len as u64,
            max: max_frame,
        });
    }
    if buf.len() < PREFIX + len {
        buf.reserve(PREFIX + len - buf.len());
        return Ok(None);
    }
    buf.advance(PREFIX);
    Ok(Some(Record::Frame(buf.split_to(len).freeze())))
}

/// Append `record` to `out` as it travels.
pub fn encode(record: &Record, out: &mut BytesMut) {
    match record {
        Record::Keepalive => out.put_u32(KEEPALIVE),
        Record::Frame(f) => {
            // Frames are bounded by the transport's maximum, far below 4 GiB.
            out.put_u32(u32::try_from(f.len()).expect("a frame under 4 GiB"));
            out.put_slice(f);
        }
    }
}

/// Feed `data` to a receive buffer in the given chunk sizes (cycled; 0 counts as 1) and take
/// every record as it completes: what a link's reader does (fuzz and property tests).
pub fn decode_chunked(
    data: &[u8],
    chunks: &[usize],
    max_frame: usize,
) -> Result<Vec<Record>, RecordError> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut at = 0;
    let mut i = 0;
    while at < data.len() {
        let n = chunks
            .get(i % chunks.len().max(1))
            .copied()
            .unwrap_or(data.len())
            .max(1);
        let end = (at + n).min(data.len());
        buf.extend_from_slice(&data[at..end]);
        at = end;
        i += 1;
        while let Some(r) = next_record(&mut buf, max_frame)? {
            out.push(r);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record() -> impl Strategy<Value = Record> {
        prop_oneof![
            Just(Record::Keepalive),
            proptest::collection::vec(any::<u8>(), 0..300)
                .prop_map(|v| Record::Frame(Bytes::from(v))),
        ]
    }

    proptest! {
        /// Whatever the chunking, the records come out as they went in.
        #[test]
        fn records_survive_any_chunking(
            records in proptest::collection::vec(record(), 0..40),
            chunks in proptest::collection::vec(0usize..700, 1..8),
        ) {
            let mut wire = BytesMut::new();
            for r in &records {
                encode(r, &mut wire);
            }
            prop_assert_eq!(decode_chunked(&wire, &chunks, 300).unwrap(), records);
        }
    }

    #[test]
    fn an_oversized_length_is_refused_before_the_frame_arrives() {
        let mut buf = BytesMut::from(&301u32.to_be_bytes()[..]);
        assert_eq!(
            next_record(&mut buf, 300),
            Err(RecordError::TooLarge { len: 301, max: 300 })
        );
        let mut buf = BytesMut::from(&[0u8, 0, 1][..]);
        assert_eq!(next_record(&mut buf, 300), Ok(None));
        assert_eq!(buf.len(), 3, "an incomplete prefix stays");
    }
}
