//! Post-handshake framing: application frames as a length-prefixed record stream, cut into
//! Noise transport messages (see the wire table in the [parent module](super)).
//!
//! [`Sealer`] turns frames into wire bytes, [`Opener`] turns decrypted Noise messages back
//! into frames. Both are plain state machines without I/O so the link tasks decide when to
//! read and write. The two directions of a link each own one and keep their own nonce, so the
//! reader and writer tasks never share mutable state (the Noise session is a
//! [`StatelessTransportState`] that takes the nonce as an argument).

use std::sync::Arc;

use bytes::{Buf, Bytes, BytesMut};
use snow::StatelessTransportState;
use thiserror::Error;

/// Largest Noise message (bytes), fixed by the Noise specification.
pub const NOISE_MAX_MSG: usize = 65_535;
/// Bytes the ChaChaPoly AEAD adds to every Noise transport message.
pub(super) const TAG_LEN: usize = 16;
/// Largest plaintext one Noise transport message carries (bytes).
pub const MAX_PLAINTEXT: usize = NOISE_MAX_MSG - TAG_LEN;
/// Bytes of the big-endian length that precedes every Noise message on the wire.
pub(super) const MSG_PREFIX: usize = 2;
/// Bytes of the big-endian length that precedes every frame in the plaintext stream.
pub(super) const FRAME_PREFIX: usize = 4;

/// Initial size of a link's decrypted-plaintext buffer (bytes); it grows with the traffic and
/// frames are split off it without copying. Small, so that idle links stay cheap.
const PLAIN_BUF: usize = 16 * 1024;

/// Why a byte stream could not be turned into frames (or frames into bytes).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub(super) enum CodecError {
    /// A Noise message shorter than its authentication tag.
    #[error("noise message of {0} bytes is shorter than its {TAG_LEN}-byte tag")]
    ShortMessage(usize),
    /// Authentication failed: tampered, reordered or foreign bytes.
    #[error("noise message failed to decrypt")]
    Decrypt,
    /// A frame declared a length above the link's maximum.
    #[error("peer declared a frame of {len} bytes, above the maximum of {max}")]
    FrameTooLarge {
        /// Declared length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The 64-bit message counter ran out (the link must be re-established).
    #[error("noise nonce space exhausted")]
    NonceExhausted,
    /// The Noise library refused to encrypt.
    #[error("noise encryption failed: {0}")]
    Encrypt(String),
}

/// The sending half: frames in, wire bytes (`len ‖ noise message` …) out.
pub(super) struct Sealer {
    noise: Arc<StatelessTransportState>,
    nonce: u64,
    /// Plaintext of the message being filled, at most [`MAX_PLAINTEXT`] bytes.
    plain: Vec<u8>,
    /// Sealed wire bytes waiting to be written.
    out: Vec<u8>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("nonce", &self.nonce)
            .field("plain", &self.plain.len())
            .field("out", &self.out.len())
            .finish()
    }
}

impl Sealer {
    /// A sealer over the sending cipher of `noise`, starting at nonce 0.
    pub(super) fn new(noise: Arc<StatelessTransportState>) -> Self {
        Sealer {
            noise,
            nonce: 0,
            plain: Vec::new(),
            out: Vec::new(),
        }
    }

    /// Append the start of `data` to the plaintext stream, sealing the current message when it
    /// is full. Returns how many bytes were taken (at least one if `data` is not empty).
    pub(super) fn push(&mut self, data: &[u8]) -> Result<usize, CodecError> {
        let n = (MAX_PLAINTEXT - self.plain.len()).min(data.len());
        self.plain.extend_from_slice(&data[..n]);
        if self.plain.len() == MAX_PLAINTEXT {
            self.seal()?;
        }
        Ok(n)
    }

    /// Seal the pending plaintext into one Noise message, even if it is empty (an empty
    /// message is the keepalive).
    pub(super) fn seal(&mut self) -> Result<(), CodecError> {
        if self.nonce == u64::MAX {
            return Err(CodecError::NonceExhausted);
        }
        let len = self.plain.len() + TAG_LEN;
        let prefix =
            u16::try_from(len).map_err(|_| CodecError::Encrypt("message too long".into()))?;
        let start = self.out.len();
        self.out.extend_from_slice(&prefix.to_be_bytes());
        self.out.resize(start + MSG_PREFIX + len, 0);
        let written = self
            .noise
            .write_message(self.nonce, &self.plain, &mut self.out[start + MSG_PREFIX..])
            .map_err(|e| CodecError::Encrypt(e.to_string()))?;
        if written != len {
            return Err(CodecError::Encrypt(format!(
                "sealed {written} bytes, expected {len}"
            )));
        }
        self.nonce += 1;
        self.plain.clear();
        Ok(())
    }

    /// True if plaintext is waiting to be sealed.
    pub(super) fn has_plain(&self) -> bool {
        !self.plain.is_empty()
    }

    /// Sealed bytes ready for the socket.
    pub(super) fn out(&self) -> &[u8] {
        &self.out
    }

    /// Forget the sealed bytes (after writing them).
    pub(super) fn clear_out(&mut self) {
        self.out.clear();
    }
}

/// The receiving half: Noise messages in, frames out.
pub(super) struct Opener {
    noise: Arc<StatelessTransportState>,
    nonce: u64,
    max_frame: usize,
    /// Decrypted stream not yet split into frames.
    plain: BytesMut,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opener")
            .field("nonce", &self.nonce)
            .field("max_frame", &self.max_frame)
            .field("plain", &self.plain.len())
            .finish()
    }
}

impl Opener {
    /// An opener over the receiving cipher of `noise`, refusing frames above `max_frame`.
    pub(super) fn new(noise: Arc<StatelessTransportState>, max_frame: usize) -> Self {
        Opener {
            noise,
            nonce: 0,
            max_frame,
            plain: BytesMut::with_capacity(PLAIN_BUF),
        }
    }

    /// Decrypt one Noise message (without its length prefix) onto the plaintext stream.
    pub(super) fn open(&mut self, msg: &[u8]) -> Result<(), CodecError> {
        if msg.len() < TAG_LEN {
            return Err(CodecError::ShortMessage(msg.len()));
        }
        if self.nonce == u64::MAX {
            return Err(CodecError::NonceExhausted);
        }
        let start = self.plain.len();
        self.plain.resize(start + msg.len() - TAG_LEN, 0);
        match self
            .noise
            .read_message(self.nonce, msg, &mut self.plain[start..])
        {
            Ok(n) => self.plain.truncate(start + n),
            Err(_) => {
                self.plain.truncate(start);
                return Err(CodecError::Decrypt);
            }
        }
        self.nonce += 1;
        Ok(())
    }

    /// The next complete frame, if the stream holds one. Refuses a declared length above the
    /// maximum as soon as its four bytes are in, before any of the frame is buffered beyond
    /// the Noise message that carried the length.
    pub(super) fn next_frame(&mut self) -> Result<Option<Bytes>, CodecError> {
        let Some(header) = self.plain.get(..FRAME_PREFIX) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        if len > self.max_frame {
            return Err(CodecError::FrameTooLarge {
                len,
                max: self.max_frame,
            });
        }
        if self.plain.len() < FRAME_PREFIX + len {
            return Ok(None);
        }
        let mut frame = self.plain.split_to(FRAME_PREFIX + len);
        frame.advance(FRAME_PREFIX);
        Ok(Some(frame.freeze()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (Arc<StatelessTransportState>, Arc<StatelessTransportState>) {
        let params: snow::params::NoiseParams =
            "Noise_NN_25519_ChaChaPoly_BLAKE2s".parse().unwrap();
        let mut i = snow::Builder::new(params.clone())
            .build_initiator()
            .unwrap();
        let mut r = snow::Builder::new(params).build_responder().unwrap();
        let (mut a, mut b) = ([0u8; 256], [0u8; 256]);
        let n = i.write_message(&[], &mut a).unwrap();
        r.read_message(&a[..n], &mut b).unwrap();
        let n = r.write_message(&[], &mut a).unwrap();
        i.read_message(&a[..n], &mut b).unwrap();
        (
            Arc::new(i.into_stateless_transport_mode().unwrap()),
            Arc::new(r.into_stateless_transport_mode().unwrap()),
        )
    }

    /// Feed every message in `wire` to `opener`, collecting frames.
    fn drain(opener: &mut Opener, mut wire: &[u8]) -> Result<Vec<Bytes>, CodecError> {
        let mut frames = vec![];
        while wire.len() >= MSG_PREFIX {
            let len = usize::from(u16::from_be_bytes([wire[0], wire[1]]));
            opener.open(&wire[MSG_PREFIX..MSG_PREFIX + len])?;
            wire = &wire[MSG_PREFIX + len..];
            while let Some(f) = opener.next_frame()? {
                frames.push(f);
            }
        }
        assert!(wire.is_empty());
        Ok(frames)
    }

    fn push_frame(s: &mut Sealer, frame: &[u8]) {
        let mut data: &[u8] = &(frame.len() as u32).to_be_bytes();
        while !data.is_empty() {
            let n = s.push(data).unwrap();
            data = &data[n..];
        }
        let mut data = frame;
        while !data.is_empty() {
            let n = s.push(data).unwrap();
            data = &data[n..];
        }
    }

    /// The transport's cipher (ring) and snow's default (RustCrypto) speak the same wire, in
    /// both directions.
    #[test]
    fn ring_and_rustcrypto_interoperate() {
        let params: snow::params::NoiseParams =
            "Noise_NN_25519_ChaChaPoly_BLAKE2s".parse().unwrap();
        let mut i = crate::tcp::handshake::noise_builder(params.clone())
            .build_initiator()
            .unwrap();
        let mut r =
            snow::Builder::with_resolver(params, Box::new(snow::resolvers::DefaultResolver))
                .build_responder()
                .unwrap();
        let (mut a, mut b) = ([0u8; 256], [0u8; 256]);
        let n = i.write_message(&[], &mut a).unwrap();
        r.read_message(&a[..n], &mut b).unwrap();
        let n = r.write_message(&[], &mut a).unwrap();
        i.read_message(&a[..n], &mut b).unwrap();
        let i = Arc::new(i.into_stateless_transport_mode().unwrap());
        let r = Arc::new(r.into_stateless_transport_mode().unwrap());
        let frame: Vec<u8> = (0..100_000u32).map(|k| k as u8).collect();
        for (from, to) in [(i.clone(), r.clone()), (r, i)] {
            let mut s = Sealer::new(from);
            let mut o = Opener::new(to, 1 << 20);
            push_frame(&mut s, &frame);
            s.seal().unwrap();
            let got = drain(&mut o, s.out()).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!(&got[0][..], &frame[..]);
        }
    }

    #[test]
    fn frames_round_trip_across_message_boundaries() {
        let (i, r) = pair();
        let mut s = Sealer::new(i);
        let mut o = Opener::new(r, 1 << 20);
        let frames: Vec<Vec<u8>> = [
            0usize,
            1,
            1000,
            MAX_PLAINTEXT - 4,
            MAX_PLAINTEXT,
            300_000,
            7,
        ]
        .iter()
        .enumerate()
        .map(|(k, &n)| (0..n).map(|j| (j + k) as u8).collect())
        .collect();
        for f in &frames {
            push_frame(&mut s, f);
        }
        s.seal().unwrap();
        // An empty message (keepalive) is swallowed.
        s.seal().unwrap();
        let got = drain(&mut o, s.out()).unwrap();
        assert_eq!(got.len(), frames.len());
        for (g, f) in got.iter().zip(&frames) {
            assert_eq!(&g[..], &f[..]);
        }
        // Every message respects the Noise size limit.
        let mut wire = s.out();
        while !wire.is_empty() {
            let len = usize::from(u16::from_be_bytes([wire[0], wire[1]]));
            assert!((TAG_LEN..=NOISE_MAX_MSG).contains(&len));
            wire = &wire[MSG_PREFIX + len..];
        }
    }

    #[test]
    fn oversized_declaration_is_refused_from_its_header() {
        let (i, r) = pair();
        let mut s = Sealer::new(i);
        let mut o = Opener::new(r, 100);
        s.push(&101u32.to_be_bytes()).unwrap();
        s.seal().unwrap();
        assert_eq!(
            drain(&mut o, s.out()),
            Err(CodecError::FrameTooLarge { len: 101, max: 100 })
        );
    }

    #[test]
    fn tampering_short_messages_and_replays_fail() {
        let (i, r) = pair();
        let mut s = Sealer::new(i);
        push_frame(&mut s, b"hello");
        s.seal().unwrap();
        let wire = s.out().to_vec();
        let mut o = Opener::new(r.clone(), 100);
        let mut bad = wire.clone();
        bad[5] ^= 1;
        assert_eq!(drain(&mut o, &bad), Err(CodecError::Decrypt));
        let mut o = Opener::new(r.clone(), 100);
        assert_eq!(o.open(&[0; 15]), Err(CodecError::ShortMessage(15)));
        let mut o = Opener::new(r, 100);
        assert_eq!(drain(&mut o, &wire).unwrap().len(), 1);
        assert_eq!(drain(&mut o, &wire), Err(CodecError::Decrypt), "replay");
    }
}
