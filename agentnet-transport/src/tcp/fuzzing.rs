//! Entry points for the fuzz targets in `fuzz/` (not a stable API): the link protocol's
//! handshake and record codec driven in memory, without sockets or a runtime, between two
//! fixed identities.

use std::sync::Arc;

use agentnet_core::seal::{KeyBinding, X25519Secret};
use agentnet_core::{AgentId, Keypair, Signed, WallTime};
use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

use super::codec::{CodecError, FRAME_PREFIX, MSG_PREFIX, Opener, Sealer, TAG_LEN};
use super::handshake::{self, Established, HANDSHAKE_MAX_MSG, Local};

/// The handshake identity of `Keypair::from_seed([seed; 32])`.
fn local(seed: u8) -> Local {
    let keypair = Keypair::from_seed([seed; 32]);
    let binding = KeyBinding {
        agent: keypair.id(),
        x25519: keypair.x25519().public(),
        issued_at: WallTime::from_unix_millis(1_800_000_000_000),
    };
    let binding = Signed::sign(&keypair, binding)
        .expect("a fixed key signs")
        .to_frame();
    let secret = X25519Secret::from_bytes(keypair.x25519().to_bytes());
    Local::new(keypair.id(), secret, binding).expect("a binding fits a handshake message")
}

/// A change the man in the middle makes to handshake message `msg` (0, 1 or 2).
#[derive(Clone, Debug)]
pub enum HandshakeEdit {
    /// XOR `mask` into the byte at `at` (modulo the message length).
    Flip {
        /// Which message.
        msg: u8,
        /// Where.
        at: usize,
        /// What (0 changes nothing).
        mask: u8,
    },
    /// Replace the whole message.
    Replace {
        /// Which message.
        msg: u8,
        /// The new bytes (at most `u16::MAX`).
        bytes: Vec<u8>,
    },
}

/// What a handshake between a dialer (seed 1) and an acceptor (seed 2) came to.
#[derive(Debug)]
pub struct HandshakeRun {
    /// The dialer's outcome: the peer it authenticated, or the error text.
    pub initiator: Result<AgentId, String>,
    /// The acceptor's outcome.
    pub responder: Result<AgentId, String>,
    /// Whether any edit changed a byte.
    pub tampered: bool,
    /// Whether both sides derived the same handshake hash (only meaningful if both succeeded).
    pub same_hash: bool,
}

async fn read_msg(io: &mut DuplexStream) -> Option<Vec<u8>> {
    let mut prefix = [0u8; MSG_PREFIX];
    io.read_exact(&mut prefix).await.ok()?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    io.read_exact(&mut msg).await.ok()?;
    Some(msg)
}

async fn write_msg(io: &mut DuplexStream, msg: &[u8]) -> Option<()> {
    let len = u16::try_from(msg.len()).ok()?;
    io.write_all(&len.to_be_bytes()).await.ok()?;
    io.write_all(msg).await.ok()
}

/// Run the real dialing and accepting handshakes against each other through a man in the
/// middle that applies `edits` to the three messages.
pub fn handshake(edits: &[HandshakeEdit]) -> HandshakeRun {
    let (dialer, acceptor) = (local(1), local(2));
    let (mut i_io, mut mi) = duplex(4 * HANDSHAKE_MAX_MSG);
    let (mut r_io, mut mr) = duplex(4 * HANDSHAKE_MAX_MSG);
    let mut tampered = false;
    let mitm = async {
        for n in 0u8..3 {
            let (from, to) = if n == 1 {
                (&mut mr, &mut mi)
            } else {
                (&mut mi, &mut mr)
            };
            let Some(mut msg) = read_msg(from).await else {
                break;
            };
            for e in edits {
                match e {
                    HandshakeEdit::Flip { msg: m, at, mask } if *m == n && !msg.is_empty() => {
                        let i = at % msg.len();
                        msg[i] ^= mask;
                        tampered |= *mask != 0;
                    }
                    HandshakeEdit::Replace { msg: m, bytes } if *m == n => {
                        tampered |= *bytes != msg;
                        msg.clone_from(bytes);
                    }
                    _ => {}
                }
            }
            if write_msg(to, &msg).await.is_none() {
                break;
            }
        }
        // Closing both pipes ends whichever side still waits.
        drop(mi);
        drop(mr);
    };
    let (i, r, ()) = futures::executor::block_on(async {
        futures::join!(
            async {
                let r = handshake::initiate(&mut i_io, &dialer).await;
                drop(i_io);
                r
            },
            async {
                let r = handshake::respond(&mut r_io, &acceptor).await;
                drop(r_io);
                r
            },
            mitm
        )
    });
    let same_hash = matches!((&i, &r), (Ok(a), Ok(b)) if a.hash == b.hash);
    HandshakeRun {
        initiator: i.map(|e| e.peer).map_err(|e| e.to_string()),
        responder: r.map(|e| e.peer).map_err(|e| e.to_string()),
        tampered,
        same_hash,
    }
}

/// The identities `handshake` uses: (dialer, acceptor).
pub fn identities() -> (AgentId, AgentId) {
    (
        Keypair::from_seed([1; 32]).id(),
        Keypair::from_seed([2; 32]).id(),
    )
}

fn established_pair() -> (Established, Established) {
    let (dialer, acceptor) = (local(1), local(2));
    let (mut a, mut b) = duplex(4 * HANDSHAKE_MAX_MSG);
    let (i, r) = futures::executor::block_on(async {
        futures::join!(
            handshake::initiate(&mut a, &dialer),
            handshake::respond(&mut b, &acceptor)
        )
    });
    (
        i.expect("in-memory handshake"),
        r.expect("in-memory handshake"),
    )
}

/// What the sending side puts on the link.
#[derive(Clone, Debug)]
pub enum LinkSend {
    /// A frame, as the link writer sends it (length prefix, then the bytes).
    Frame(Vec<u8>),
    /// Raw plaintext on the record stream (an authenticated but malicious peer).
    Plain(Vec<u8>),
    /// Seal the pending plaintext now (an empty message is a keepalive).
    Seal,
}

/// What the receiving side got from [`link`].
#[derive(Debug)]
pub struct LinkRun {
    /// The frames the sender sent with [`LinkSend::Frame`], in order.
    pub sent: Vec<Bytes>,
    /// The frames the receiver delivered, in order, before any error.
    pub delivered: Vec<Bytes>,
    /// Why the receiver dropped the link, if it did.
    pub error: Option<String>,
    /// Whether any wire edit changed a byte.
    pub tampered: bool,
    /// Whether the stream carried only [`LinkSend::Frame`]s and seals.
    pub frames_only: bool,
}

/// After a real handshake, seal `sends` as the link writer does, apply `edits` (position
/// modulo the wire length, XOR mask) to the wire bytes, and read them as the link reader does
/// (message length, open, split frames) with a frame limit of `max_frame`.
pub fn link(sends: &[LinkSend], edits: &[(usize, u8)], max_frame: usize) -> LinkRun {
    let (i, r) = established_pair();
    let mut sealer = Sealer::new(Arc::new(i.noise));
    let mut opener = Opener::new(Arc::new(r.noise), max_frame);
    let mut sent = Vec::new();
    let mut frames_only = true;
    let push = |sealer: &mut Sealer, mut data: &[u8]| {
        while !data.is_empty() {
            let n = sealer.push(data).expect("sealing in memory");
            data = &data[n..];
        }
    };
    for s in sends {
        match s {
            LinkSend::Frame(f) => {
                let len = u32::try_from(f.len()).expect("fuzz frames are small");
                let mut prefix = [0u8; FRAME_PREFIX];
                prefix.copy_from_slice(&len.to_be_bytes());
                push(&mut sealer, &prefix);
                push(&mut sealer, f);
                sent.push(Bytes::copy_from_slice(f));
            }
            LinkSend::Plain(p) => {
                frames_only = false;
                push(&mut sealer, p);
            }
            LinkSend::Seal => sealer.seal().expect("sealing in memory"),
        }
    }
    if sealer.has_plain() {
        sealer.seal().expect("sealing in memory");
    }
    let mut wire = sealer.out().to_vec();
    let mut tampered = false;
    if !wire.is_empty() {
        for (at, mask) in edits {
            let n = wire.len();
            wire[at % n] ^= mask;
            tampered |= *mask != 0;
        }
    }
    let mut buf = BytesMut::from(&wire[..]);
    let mut delivered = Vec::new();
    let error = (|| -> Result<(), CodecError> {
        while buf.len() >= MSG_PREFIX {
            let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
            if len < TAG_LEN {
                return Err(CodecError::ShortMessage(len));
            }
            if buf.len() < MSG_PREFIX + len {
                break;
            }
            opener.open(&buf[MSG_PREFIX..MSG_PREFIX + len])?;
            buf.advance(MSG_PREFIX + len);
            while let Some(f) = opener.next_frame()? {
                delivered.push(f);
            }
        }
        Ok(())
    })()
    .err()
    .map(|e| e.to_string());
    LinkRun {
        sent,
        delivered,
        error,
        tampered,
        frames_only,
    }
}
