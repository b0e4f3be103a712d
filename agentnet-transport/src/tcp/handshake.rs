//! The Noise XX handshake that turns a TCP connection into a link authenticated to an
//! [`AgentId`] (see the threat model in the [parent module](super)).
//!
//! ```text
//! initiator                                   responder
//!   len ‖ [e]                          ──▶                     msg 1, no payload
//!                                      ◀──  len ‖ [e, ee, s, es, binding_R]   msg 2
//!   len ‖ [s, se, binding_I]           ──▶                                    msg 3
//! ```
//!
//! Each side checks the other's binding as soon as it has it: the initiator after message 2
//! (so it never reveals its own binding to an unauthenticated responder), the responder after
//! message 3.

use bytes::Bytes;
use snow::StatelessTransportState;
use snow::params::NoiseParams;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use agentnet_core::seal::{KeyBinding, X25519Secret};
use agentnet_core::signed::SignedError;
use agentnet_core::wire::Limits;
use agentnet_core::{AgentId, Signed};

use super::codec::MSG_PREFIX;

/// The Noise protocol name every agentnet TCP link uses.
pub const NOISE_PATTERN: &str = "Noise_XX_25519_ChaChaPoly_BLAKE2s";
/// Where the primitives of [`NOISE_PATTERN`] come from: ring's ChaCha20-Poly1305 (and ring's
/// system randomness), snow's RustCrypto defaults for X25519 and BLAKE2s, which ring does not
/// offer through snow. On x86-64, ring's assembly seals about 1.6 times as fast as the
/// RustCrypto cipher snow picks by default, and the cipher bounds a link's throughput
/// (`bench_transport` measures both); the cipher is the same, so the wire is unchanged.
pub const NOISE_CRYPTO: &str = "ring ChaCha20-Poly1305, RustCrypto X25519 and BLAKE2s";

/// A snow builder for `params` with the primitives named in [`NOISE_CRYPTO`].
pub(super) fn noise_builder<'a>(params: NoiseParams) -> snow::Builder<'a> {
    use snow::resolvers::{DefaultResolver, FallbackResolver, RingResolver};
    snow::Builder::with_resolver(
        params,
        Box::new(FallbackResolver::new(
            Box::new(RingResolver),
            Box::new(DefaultResolver),
        )),
    )
}

/// Largest handshake message accepted or sent (bytes, without the length prefix). Message 2,
/// the largest, is 32 (e) + 48 (encrypted s) + the binding frame + 16 (tag); a binding frame
/// is about 200 bytes.
pub const HANDSHAKE_MAX_MSG: usize = 1024;

/// Why a handshake failed. The text is what [`TransportEvent::Refused`] carries.
///
/// [`TransportEvent::Refused`]: crate::TransportEvent::Refused
#[derive(Debug, Error)]
#[non_exhaustive]
pub(super) enum HandshakeError {
    /// Reading or writing the socket failed.
    #[error("i/o error during the handshake: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection before the handshake completed.
    #[error("connection closed during the handshake")]
    Eof,
    /// A handshake message longer than [`HANDSHAKE_MAX_MSG`].
    #[error("handshake message of {0} bytes exceeds the limit of {HANDSHAKE_MAX_MSG}")]
    TooLarge(usize),
    /// The Noise state machine refused a message (malformed, failed to decrypt).
    #[error("noise handshake failed: {0}")]
    Noise(#[from] snow::Error),
    /// The peer's key binding did not decode or its signature did not verify.
    #[error("invalid key binding: {0}")]
    Binding(#[from] SignedError),
    /// The binding is valid but binds an X25519 key other than the Noise static key.
    #[error(
        "key binding of {agent} is for another X25519 key than the one the peer proved in the handshake"
    )]
    BindingKeyMismatch {
        /// The agent the binding names.
        agent: String,
    },
    /// The Noise session ended without a remote static key (cannot happen with XX).
    #[error("peer presented no static key")]
    NoStaticKey,
    /// The peer is this transport's own identity.
    #[error("self-connection refused (the peer is this agent)")]
    SelfConnection,
}

/// What this side brings to every handshake.
pub(super) struct Local {
    /// This transport's identity.
    pub id: AgentId,
    params: NoiseParams,
    secret: X25519Secret,
    binding: Bytes,
    limits: Limits,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("id", &self.id)
            .field("static", &self.secret.public())
            .finish_non_exhaustive()
    }
}

impl Local {
    /// `binding` is this side's signed [`KeyBinding`] frame for `secret`'s public key.
    pub(super) fn new(id: AgentId, secret: X25519Secret, binding: Bytes) -> Result<Self, String> {
        let params: NoiseParams = NOISE_PATTERN
            .parse()
            .map_err(|e| format!("noise parameters: {e}"))?;
        // Message 2 carries e (32), the encrypted static key (32 + 16), the binding and a tag.
        if 32 + 48 + binding.len() + 16 > HANDSHAKE_MAX_MSG {
            return Err(format!(
                "key binding of {} bytes does not fit a handshake message",
                binding.len()
            ));
        }
        Ok(Local {
            id,
            params,
            secret,
            binding,
            limits: Limits::default(),
        })
    }

    fn builder_keyed<'a>(&self, key: &'a [u8; 32]) -> Result<snow::Builder<'a>, snow::Error> {
        noise_builder(self.params.clone()).local_private_key(key)
    }
}

/// A completed handshake.
pub(super) struct Established {
    /// The transport-phase Noise session.
    pub noise: StatelessTransportState,
    /// Who the peer proved to be.
    pub peer: AgentId,
    /// The Noise handshake hash, identical on both sides (used to break duplicate ties).
    pub hash: [u8; 32],
}

impl std::fmt::Debug for Established {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Established")
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

async fn write_msg<S: AsyncWrite + Unpin>(io: &mut S, msg: &[u8]) -> Result<(), HandshakeError> {
    let len = u16::try_from(msg.len()).map_err(|_| HandshakeError::TooLarge(msg.len()))?;
    let mut wire = Vec::with_capacity(MSG_PREFIX + msg.len());
    wire.extend_from_slice(&len.to_be_bytes());
    wire.extend_from_slice(msg);
    io.write_all(&wire).await?;
    Ok(())
}

async fn read_msg<S: AsyncRead + Unpin>(
    io: &mut S,
    buf: &mut [u8],
) -> Result<usize, HandshakeError> {
    let eof = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            HandshakeError::Eof
        } else {
            HandshakeError::Io(e)
        }
    };
    let mut prefix = [0u8; MSG_PREFIX];
    io.read_exact(&mut prefix).await.map_err(eof)?;
    let len = usize::from(u16::from_be_bytes(prefix));
    let Some(msg) = buf.get_mut(..len) else {
        return Err(HandshakeError::TooLarge(len));
    };
    io.read_exact(msg).await.map_err(eof)?;
    Ok(len)
}

/// Check a peer's binding against the static key it proved; returns the peer's identity.
fn check_binding(
    local: &Local,
    payload: &[u8],
    remote_static: Option<&[u8]>,
) -> Result<AgentId, HandshakeError> {
    let binding =
        Signed::<KeyBinding>::from_frame(&Bytes::copy_from_slice(payload), &local.limits)?;
    let remote_static = remote_static.ok_or(HandshakeError::NoStaticKey)?;
    if remote_static != binding.x25519.0.as_slice() {
        return Err(HandshakeError::BindingKeyMismatch {
            agent: binding.agent.short(),
        });
    }
    // `Signed` already refused a binding whose named agent is not its signer.
    if binding.agent == local.id {
        return Err(HandshakeError::SelfConnection);
    }
    Ok(binding.agent)
}

fn finish(hs: snow::HandshakeState, peer: AgentId) -> Result<Established, HandshakeError> {
    let mut hash = [0u8; 32];
    let h = hs.get_handshake_hash();
    let n = h.len().min(32);
    hash[..n].copy_from_slice(&h[..n]);
    Ok(Established {
        noise: hs.into_stateless_transport_mode()?,
        peer,
        hash,
    })
}

/// Run the handshake as the dialing side.
pub(super) async fn initiate<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    local: &Local,
) -> Result<Established, HandshakeError> {
    let key = local.secret.to_bytes();
    let mut hs = local.builder_keyed(&key)?.build_initiator()?;
    let mut msg = vec![0u8; HANDSHAKE_MAX_MSG];
    let mut payload = vec![0u8; HANDSHAKE_MAX_MSG];
    let n = hs.write_message(&[], &mut msg)?;
    write_msg(io, &msg[..n]).await?;
    let n = read_msg(io, &mut msg).await?;
    let p = hs.read_message(&msg[..n], &mut payload)?;
    let peer = check_binding(local, &payload[..p], hs.get_remote_static())?;
    let n = hs.write_message(&local.binding, &mut msg)?;
    write_msg(io, &msg[..n]).await?;
    finish(hs, peer)
}

/// Run the handshake as the accepting side.
pub(super) async fn respond<S: AsyncRead + AsyncWrite + Unpin>(
    io: &mut S,
    local: &Local,
) -> Result<Established, HandshakeError> {
    let key = local.secret.to_bytes();
    let mut hs = local.builder_keyed(&key)?.build_responder()?;
    let mut msg = vec![0u8; HANDSHAKE_MAX_MSG];
    let mut payload = vec![0u8; HANDSHAKE_MAX_MSG];
    let n = read_msg(io, &mut msg).await?;
    // Message 1's payload (plaintext, unauthenticated) is ignored.
    hs.read_message(&msg[..n], &mut payload)?;
    let n = hs.write_message(&local.binding, &mut msg)?;
    write_msg(io, &msg[..n]).await?;
    let n = read_msg(io, &mut msg).await?;
    let p = hs.read_message(&msg[..n], &mut payload)?;
    let peer = check_binding(local, &payload[..p], hs.get_remote_static())?;
    finish(hs, peer)
}
