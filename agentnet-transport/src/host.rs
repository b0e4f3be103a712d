//! The host traits: what a [`Node`](crate::Node) needs from its surroundings.
//!
//! * [`Transport`] carries frames over authenticated links and reports link changes.
//! * [`LanguageModel`] completes prompts (the mechanism plane's follower models and
//!   capability checks call it through the node).
//! * [`Clock`] gives the node its notion of time; engines only ever see the [`Now`] values
//!   it produces.
//!
//! The traits are object safe (`Box<dyn Transport>`), so their async methods use
//! `async-trait`.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, Instant, LinkId, Now, WallTime};
use async_trait::async_trait;
use bytes::Bytes;
use thiserror::Error;

/// One authenticated link as the transport reports it (in [`TransportEvent::LinkUp`]; see the
/// [`Transport`] contract).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// The transport's handle for the link: unique for the transport's lifetime, never reused
    /// for a later link (also not after a reconnect to the same peer).
    pub link: LinkId,
    /// Who is at the other end. Transports only report a link once the peer has proven this
    /// identity (for TCP + Noise: a key binding signed by it for the Noise static key). Never
    /// the transport's own [`Transport::local_id`], and at most one link up per peer.
    pub peer: AgentId,
    /// The remote address in the transport's own notation, for logs and for matching the
    /// addresses a node was given (bootstrap lists). Where the transport can dial back, it is
    /// in the notation [`Transport::connect`] accepts: for an outbound link, the address
    /// exactly as passed to [`Transport::connect`] (a host name stays a host name, so the
    /// caller can match the link to what it dialed); for an inbound TCP link, the peer's
    /// socket address, not its listening port. It is **not an identity**: anyone may connect
    /// from any address; [`peer`](Self::peer) is what was proven.
    pub remote: String,
    /// True if this side dialed ([`Transport::connect`]), false if the peer did.
    pub outbound: bool,
}

/// Why a link ended.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LinkDown {
    /// The peer closed the connection.
    #[error("closed by peer")]
    ClosedByPeer,
    /// This side closed it ([`Transport::close`] or shutdown).
    #[error("closed locally")]
    ClosedLocally,
    /// No frame arrived within the idle timeout.
    #[error("idle timeout")]
    IdleTimeout,
    /// The peer broke the protocol (bad framing, oversized frame, failed decryption).
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// An I/O error.
    #[error("i/o error: {0}")]
    Io(String),
    /// A second link to the same peer won the tie-break and this one was closed.
    #[error("duplicate link to the same peer")]
    Duplicate,
    /// The inbound slots were full and this link was chosen to make room for a new inbound
    /// connection (see the transport's eviction rule).
    #[error("evicted to make room for another inbound connection")]
    Evicted,
}

/// What a transport reports.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportEvent {
    /// A link is authenticated and ready.
    LinkUp(LinkInfo),
    /// A link is gone; frames sent to it are discarded.
    LinkDown {
        /// The link.
        link: LinkId,
        /// Why.
        reason: LinkDown,
    },
    /// A complete frame arrived on a link.
    Frame {
        /// The link.
        link: LinkId,
        /// The frame (see `agentnet_core::wire`).
        frame: Bytes,
    },
    /// Frames for a link were dropped because its send queue was full (backpressure).
    SendDropped {
        /// The link.
        link: LinkId,
        /// Frames dropped since the last report.
        frames: u64,
    },
    /// An incoming or outgoing connection was refused before it became a link.
    Refused {
        /// The remote address.
        remote: String,
        /// Why (handshake failure, forged binding, limits, dial failure).
        reason: String,
    },
}

/// Why a transport call failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The link does not exist (any more).
    #[error("unknown link {0}")]
    UnknownLink(LinkId),
    /// The address could not be parsed or resolved.
    #[error("bad address {0:?}")]
    BadAddress(String),
    /// The frame exceeds the transport's maximum frame size.
    #[error("frame of {len} bytes exceeds the maximum of {max}")]
    FrameTooLarge {
        /// Frame length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The transport has shut down.
    #[error("transport closed")]
    Closed,
    /// An I/O error.
    #[error("i/o error: {0}")]
    Io(String),
    /// The transport's configuration has a field outside its documented range.
    #[error("config: {0}")]
    Config(#[from] agentnet_core::ConfigError),
}

/// Carries frames over links, each authenticated to an [`AgentId`].
///
/// This is the whole contract between a transport and the [`Node`](crate::Node): the node
/// relies on every promise below and checks none of them. The in-memory
/// ([`MemoryTransport`](crate::MemoryTransport)) and TCP + Noise
/// ([`TcpTransport`](crate::TcpTransport)) transports keep them; a transport of your own can
/// be checked with the `conformance` suite (cargo feature `conformance`), which tests each
/// promise that can be observed from outside.
///
/// # Links
///
/// 1. **Authenticated.** A link is reported with [`TransportEvent::LinkUp`] only after the peer
///    proved the identity in [`LinkInfo::peer`]. A connection that fails to prove one is
///    reported as [`TransportEvent::Refused`] and never as a link.
/// 2. **One up, one down.** Every link gets exactly one `LinkUp` and later exactly one
///    [`TransportEvent::LinkDown`]; its [`TransportEvent::Frame`]s and
///    [`TransportEvent::SendDropped`]s are reported between the two, never before or after.
/// 3. **Fresh ids.** [`LinkId`]s are assigned by the transport and never reused during its
///    lifetime, also not for a new link to the same peer.
/// 4. **No self-links.** A connection that turns out to reach the transport's own identity
///    (dialing one's own address) is refused, never reported up.
/// 5. **At most one link per peer.** A second link to a peer that already has one is settled
///    by a rule both ends evaluate alike, so that both keep the same link. The TCP rule: keep
///    the link dialed by the side whose [`AgentId`] bytes are smaller (and among links dialed
///    by the same side, the one with the smaller handshake hash). The loser is reported
///    [`TransportEvent::Refused`] if it was never up, or goes down with
///    [`LinkDown::Duplicate`] if it was (an end whose evaluation is overtaken by the other
///    end closing the loser may see [`LinkDown::ClosedByPeer`] instead). The `LinkUp` of the
///    winner may be reported before the `LinkDown` of the loser.
///
/// # Frames
///
/// 6. **Whole and in order.** Each frame is delivered whole or not at all, and the frames
///    delivered on a link keep the order in which they were sent. A sent frame goes missing
///    only if its link went down first or its drop was reported to the sender (8). Bytes of
///    one link are never delivered as another's.
/// 7. **Bounded size.** The transport has a maximum frame size. [`send`](Self::send) of a larger
///    frame fails with [`TransportError::FrameTooLarge`]; a larger frame announced by the peer
///    is refused before it is buffered and the link goes down with [`LinkDown::Protocol`].
///
/// # Calls
///
/// 8. **`send` never blocks.** It queues the frame (queues are bounded, in frames or bytes) and
///    returns at once. A frame that does not fit is dropped and the drop reported with
///    [`TransportEvent::SendDropped`]; counts of several drops may be coalesced into one
///    report but are never lost. `send` on a link that is unknown, already down or closed
///    fails with [`TransportError::UnknownLink`] (or [`TransportError::Closed`] once the
///    transport shut down).
/// 9. **`close` flushes.** [`close`](Self::close) sends what is already queued on the link
///    (within a bounded linger time), then the link is reported down with
///    [`LinkDown::ClosedLocally`]; the peer sees a down reason of its own
///    ([`LinkDown::ClosedByPeer`] normally). Closing an unknown link does nothing.
/// 10. **`connect` answers once.** [`connect`](Self::connect) returns at once; an address the
///     transport cannot parse fails with [`TransportError::BadAddress`] (or is reported as
///     `Refused`). Otherwise the outcome arrives later as a `LinkUp` or as `Refused`,
///     within bounded time (a transport-specific handshake timeout), never as silence.
/// 11. **`next_event` is cancel-safe** (see [`next_event`](Self::next_event)).
#[async_trait]
pub trait Transport: Send {
    /// The identity this transport authenticates as.
    fn local_id(&self) -> AgentId;

    /// Where peers can reach this transport, if it listens: an address in the notation
    /// [`connect`](Self::connect) accepts (for logs and for telling others).
    fn local_addr(&self) -> Option<String>;

    /// Queue `frame` on `link`. Returns at once, without waiting for room (promise 8).
    fn send(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError>;

    /// Start connecting to `addr` (transport-specific notation). The outcome arrives later as
    /// [`TransportEvent::LinkUp`] or [`TransportEvent::Refused`].
    fn connect(&self, addr: &str) -> Result<(), TransportError>;

    /// Close a link after flushing what is queued on it; a [`TransportEvent::LinkDown`] with
    /// [`LinkDown::ClosedLocally`] follows (promise 9).
    fn close(&self, link: LinkId);

    /// The next event. `None` once the transport has shut down and reported everything.
    ///
    /// Must be **cancel-safe**: the `Node` polls it inside `select!` and also polls it once
    /// without waiting to take ready events into the current turn, dropping the future if it
    /// is not ready; a future dropped before it completes must lose no event (a channel's
    /// `recv` is).
    async fn next_event(&mut self) -> Option<TransportEvent>;

    /// The topics the node follows, as a whole set: the [`Node`](crate::Node) calls this once
    /// at start and again whenever the set changes. A transport that finds peers by itself
    /// (the libp2p transport: one DHT provider record per topic) announces the node under
    /// these topics and links to other followers; the default ignores them.
    fn set_topics(&self, topics: &[Topic]) {
        let _ = topics;
    }
}

/// Why a completion failed.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The deadline passed first.
    #[error("timed out")]
    Timeout,
    /// The server answered with an HTTP error status.
    #[error("http status {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The start of the response body.
        body: String,
    },
    /// The answer was not the expected JSON shape.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// Could not reach the server.
    #[error("connection failed: {0}")]
    Connect(String),
    /// The model refused or produced nothing.
    #[error("empty completion")]
    Empty,
}

/// A prompt for a [`LanguageModel`].
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    /// Instructions for the model (the "system" message).
    pub system: String,
    /// The request (the "user" message).
    pub user: String,
    /// Upper bound on generated tokens.
    pub max_tokens: u32,
    /// Sampling temperature (0 = most deterministic the backend offers).
    pub temperature: f32,
}

/// Completes prompts. Implementations must honour `deadline` (an absolute point on the
/// [`Clock`] that produced it, given here as the time left).
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// A short name for logs (e.g. the model id).
    fn name(&self) -> &str;

    /// Complete `prompt` within `timeout`.
    async fn complete(&self, prompt: &Prompt, timeout: Duration) -> Result<String, LlmError>;
}

/// Embeds texts with a model the agent cannot call itself (an embeddings server), for a node
/// whose encoder is a [`RemoteEncoder`](agentnet_core::semantic::RemoteEncoder): the node
/// runs the agent's `Effect::Embed`s through it. Set it with
/// [`NodeBuilder::embedder`](crate::NodeBuilder::embedder).
#[async_trait]
pub trait Embedder: Send + Sync {
    /// The model's identity (name, version, any setting that changes its vectors): it
    /// becomes the encoder id, and vectors of different ids are never compared.
    fn id(&self) -> &str;

    /// The length of every vector it returns.
    fn dim(&self) -> usize;

    /// One vector of [`dim`](Self::dim) components per text, in order, within `timeout`.
    async fn embed(&self, texts: &[String], timeout: Duration) -> Result<Vec<Vec<f32>>, LlmError>;
}

/// The node's time source. Engines see only the [`Now`] values it returns.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current monotonic and wall-clock time.
    fn now(&self) -> Now;
}

/// Monotonic time from tokio's clock (so `tokio::time::pause` in tests moves it), measured
/// from the clock's creation; wall time from the system clock, offset by the same monotonic
/// progress when tokio time is paused.
#[derive(Debug)]
pub struct SystemClock {
    start: tokio::time::Instant,
    wall_start: WallTime,
}

impl SystemClock {
    /// A clock starting now.
    pub fn new() -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        SystemClock {
            start: tokio::time::Instant::now(),
            wall_start: WallTime::from_unix_millis(wall),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Now {
        let since = self.start.elapsed();
        Now::new(
            Instant::from_micros(since.as_micros() as u64),
            self.wall_start.saturating_add(since),
        )
    }
}
