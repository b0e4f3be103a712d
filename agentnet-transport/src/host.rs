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

/// One authenticated link as the transport reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    /// The transport's handle for the link (unique for the transport's lifetime).
    pub link: LinkId,
    /// Who is at the other end. Transports only report a link once the peer has proven this
    /// identity (for TCP + Noise: a key binding signed by it for the Noise static key).
    pub peer: AgentId,
    /// The remote address in the transport's own notation, for logs.
    pub remote: String,
    /// True if this side dialed.
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
/// What a transport owes the node:
/// 1. Report a link with [`TransportEvent::LinkUp`] only after the peer proved its identity,
///    and report every link that went up exactly once with [`TransportEvent::LinkDown`].
/// 2. Deliver each frame whole and in order per link, or not at all; never deliver bytes from
///    one link as another's.
/// 3. Never block in [`send`](Transport::send): queue (bounded) and report drops with
///    [`TransportEvent::SendDropped`].
/// 4. Enforce a maximum frame size on both directions.
///
/// Links are identified by [`LinkId`]s the transport assigns and never reuses.
#[async_trait]
pub trait Transport: Send {
    /// The identity this transport authenticates as.
    fn local_id(&self) -> AgentId;

    /// Where peers can reach this transport (for logs and for telling others), if it listens.
    fn local_addr(&self) -> Option<String>;

    /// Queue `frame` on `link`. Returns at once.
    fn send(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError>;

    /// Start connecting to `addr` (transport-specific notation). The outcome arrives later as
    /// [`TransportEvent::LinkUp`] or [`TransportEvent::Refused`].
    fn connect(&self, addr: &str) -> Result<(), TransportError>;

    /// Close a link; a [`TransportEvent::LinkDown`] follows.
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
