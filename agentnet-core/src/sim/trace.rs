//! The running trace hash: a BLAKE3 digest of everything that happened, in order.

use core::fmt;

use crate::hash::{Hash, Hasher, domain};

/// Buffered input to the hasher; BLAKE3 is fastest fed in large pieces, and its digest does
/// not depend on how the input was split.
const FLUSH_AT: usize = 16 * 1024;

/// Record tags. Each record is `tag, time (u64 LE, µs)` followed by tag-specific fields; see the
/// module documentation of [`crate::sim`] for the list.
pub(crate) mod tag {
    pub(crate) const SEND: u8 = b'S';
    pub(crate) const MESSAGE: u8 = b'M';
    pub(crate) const TIMEOUT: u8 = b'T';
    pub(crate) const LINK_UP: u8 = b'U';
    pub(crate) const LINK_DOWN: u8 = b'D';
    pub(crate) const DROP: u8 = b'X';
    pub(crate) const ERROR: u8 = b'!';
    pub(crate) const EVENT: u8 = b'E';
    pub(crate) const CRASH: u8 = b'C';
    pub(crate) const RESTART: u8 = b'R';
    pub(crate) const CONNECT: u8 = b'K';
    pub(crate) const DISCONNECT: u8 = b'k';
    pub(crate) const PARTITION: u8 = b'P';
    pub(crate) const HEAL: u8 = b'H';
    pub(crate) const LINK_MODEL: u8 = b'L';
    pub(crate) const NODE: u8 = b'N';
}

#[derive(Clone, Debug)]
pub(crate) struct Trace {
    enabled: bool,
    buf: Vec<u8>,
    hasher: Hasher,
}

impl Trace {
    pub(crate) fn new(enabled: bool) -> Self {
        Trace {
            enabled,
            buf: Vec::with_capacity(if enabled { FLUSH_AT + 1024 } else { 0 }),
            hasher: Hasher::new(domain::SIM_TRACE),
        }
    }

    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.enabled
    }

    /// Start a record. Callers check [`enabled`](Self::enabled) first.
    #[inline]
    pub(crate) fn begin(&mut self, tag: u8, time: u64) -> &mut Self {
        if self.buf.len() >= FLUSH_AT {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
        self.buf.push(tag);
        self.buf.extend_from_slice(&time.to_le_bytes());
        self
    }

    #[inline]
    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.buf.push(v);
        self
    }

    #[inline]
    pub(crate) fn u16(&mut self, v: u16) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    #[inline]
    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    #[inline]
    pub(crate) fn u64(&mut self, v: u64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_le_bytes());
        self
    }

    /// Length-prefixed bytes.
    #[inline]
    pub(crate) fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32);
        self.buf.extend_from_slice(b);
        self
    }

    /// Length-prefixed `Debug` text of `value`, formatted straight into the buffer.
    pub(crate) fn debug(&mut self, value: &dyn fmt::Debug) -> &mut Self {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        let _ = fmt::write(&mut Sink(&mut self.buf), format_args!("{value:?}"));
        let len = (self.buf.len() - at - 4) as u32;
        self.buf[at..at + 4].copy_from_slice(&len.to_le_bytes());
        self
    }

    pub(crate) fn finalize(&self) -> Hash {
        let mut h = self.hasher.clone();
        h.update(&self.buf);
        h.finalize()
    }
}

struct Sink<'a>(&'a mut Vec<u8>);

impl fmt::Write for Sink<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_ignores_buffering_and_tracks_content() {
        let mut a = Trace::new(true);
        let mut b = Trace::new(true);
        for i in 0..5_000u64 {
            a.begin(tag::MESSAGE, i)
                .u32(7)
                .bytes(&[1, 2, 3])
                .debug(&("ev", i));
        }
        let mut flat = Vec::new();
        for i in 0..5_000u64 {
            flat.push(tag::MESSAGE);
            flat.extend_from_slice(&i.to_le_bytes());
            flat.extend_from_slice(&7u32.to_le_bytes());
            flat.extend_from_slice(&3u32.to_le_bytes());
            flat.extend_from_slice(&[1, 2, 3]);
            let text = format!("{:?}", ("ev", i));
            flat.extend_from_slice(&(text.len() as u32).to_le_bytes());
            flat.extend_from_slice(text.as_bytes());
        }
        assert_eq!(a.finalize(), Hash::digest(domain::SIM_TRACE, &flat));
        b.begin(tag::MESSAGE, 0);
        assert_ne!(a.finalize(), b.finalize());
        assert_eq!(a.finalize(), a.finalize());
    }
}
