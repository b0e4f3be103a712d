//! What a node reports: its errors, its events and its counters.

use super::*;
use agentnet_core::wire::MessageKind;

/// Why a node call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The builder is missing something or holds contradictory settings.
    #[error("configuration: {0}")]
    Config(String),
    /// The agent refused its configuration.
    #[error(transparent)]
    AgentConfig(#[from] ConfigError),
    /// A node setting ([`NodeConfig`], outside its `agent` part) is out of its range.
    #[error("node configuration: {0}")]
    NodeConfig(#[source] agentnet_core::ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The agent refused a command.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// The transport refused a call.
    #[error(transparent)]
    Transport(#[from] crate::host::TransportError),
    /// The identity in the data directory differs from the one given to the builder.
    #[error("the data directory belongs to {stored}, not {given}")]
    IdentityMismatch {
        /// Identity stored in the directory.
        stored: AgentId,
        /// Identity given to the builder.
        given: AgentId,
    },
    /// The driver task has stopped.
    #[error("node has stopped")]
    Stopped,
    /// The operating system's random source failed.
    #[error("entropy: {0}")]
    Entropy(String),
}

/// What a node reports to its application.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum NodeEvent {
    /// A link to an authenticated peer is up.
    LinkUp(LinkInfo),
    /// A link went down.
    LinkDown {
        /// The link.
        link: LinkId,
        /// The peer it connected to.
        peer: AgentId,
        /// Why.
        reason: LinkDown,
    },
    /// A connection was refused before becoming a link.
    Refused {
        /// Remote address.
        remote: String,
        /// Why.
        reason: String,
    },
    /// Frames were dropped on a congested link.
    SendDropped {
        /// The link.
        link: LinkId,
        /// How many.
        frames: u64,
    },
    /// Something the gossip plane reported (headers, descriptors, ...).
    Gossip(GossipEvent),
    /// Something the agent reported (request stages and outcomes, offers served, peers
    /// verified, convictions, ...). Gossip events arrive as [`NodeEvent::Gossip`] instead.
    Agent(AgentEvent),
    /// A batch could not be written; what it held stays unacknowledged until a later write
    /// works.
    StoreFailed(String),
    /// This receiver fell behind and missed this many events.
    Lagged(u64),
}

/// Frames of one kind and their bytes (frame headers included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameCount {
    /// Frames.
    pub frames: u64,
    /// Bytes.
    pub bytes: u64,
}

impl FrameCount {
    /// Count one frame of `len` bytes.
    pub fn add(&mut self, len: usize) {
        self.frames += 1;
        self.bytes += len as u64;
    }
}

/// Traffic and error counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeStats {
    /// Frames and bytes sent, by frame kind (kinds print their registered names).
    pub sent: BTreeMap<MessageKind, FrameCount>,
    /// Frames and bytes received, by frame kind.
    pub received: BTreeMap<MessageKind, FrameCount>,
    /// Frames the agent refused (malformed, forged, stale, rate-limited, ...).
    pub refused: u64,
    /// Links up now.
    pub links: usize,
    /// Traffic by plane, as the agent counts it.
    pub planes: Traffic,
    /// Headers held by the gossip plane.
    pub headers: usize,
    /// Descriptors in the discovery index.
    pub descriptors: usize,
}
