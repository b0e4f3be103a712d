//! What the gossip engine reports to its application, and why it refuses input.

use agentnet_core::descriptor::{CapabilityDescriptor, DescriptorError, Topic};
use agentnet_core::intent::{IntentAnnouncement, ProviderState};
use agentnet_core::signed::SignedError;
use agentnet_core::wire::WireError;
use agentnet_core::{AgentId, Hash, LinkId, Overflow, Signed};
use bytes::Bytes;
use thiserror::Error;

use crate::fraud::{Equivocation, EquivocationProof, ProofError};
use crate::header::HeaderError;

/// The durable record of one own log head. The host must store it before the engine publishes
/// the entry (see [`Event::PersistHead`]) and hands the latest record per topic back through
/// [`GossipEngine::restore`](crate::GossipEngine::restore) after a restart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnHead {
    /// The log's topic.
    pub topic: Topic,
    /// The head seq.
    pub seq: u64,
    /// The complete signed header frame of the head (so a restarted node can still serve it).
    pub header: Bytes,
    /// The head entry's body, if it should be served after a restart.
    pub body: Option<Bytes>,
}

/// An event for the application.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Store `head` durably, then call
    /// [`handle_persisted`](crate::GossipEngine::handle_persisted) with its topic and seq; the
    /// entry is not sent before that.
    PersistHead(OwnHead),
    /// An own entry was pushed to the mesh.
    Published {
        /// Topic.
        topic: Topic,
        /// Seq.
        seq: u64,
    },
    /// A header from another author was accepted (first time seen).
    Header {
        /// Author.
        author: AgentId,
        /// Topic.
        topic: Topic,
        /// Seq.
        seq: u64,
        /// The header's hash.
        hash: Hash,
        /// Whether the interest profile asked for its body.
        wanted: bool,
    },
    /// A body this node asked for arrived, checked and ingested; the descriptor is now in the
    /// discovery index.
    Descriptor(Box<Signed<CapabilityDescriptor>>),
    /// A provider's signed retraction arrived (checked, and newer than what was held): the
    /// capability is no longer offered, and the retraction is held in the index until its
    /// TTL ends so replays of older versions are refused. Store it like a descriptor.
    Retracted(Box<Signed<CapabilityDescriptor>>),
    /// A requester's intent this node's intent interest
    /// ([`set_intent_interest`](crate::GossipEngine::set_intent_interest)) pulled: signed by
    /// the entry's author, announced in its own topic, valid and unexpired. Emitted once per
    /// intent id ([`IntentAnnouncement::id_of`]); the application decides whether to bid.
    Intent(Box<Signed<IntentAnnouncement>>),
    /// A provider's state was taken (newer than the one held for that provider, and the
    /// provider has a descriptor in the discovery index): until it lapses it is what
    /// [`provider_state`](crate::GossipEngine::provider_state) returns, and it filters and
    /// adjusts [`discover`](crate::GossipEngine::discover) results.
    ProviderState(Box<Signed<ProviderState>>),
    /// A body could not be fetched from any peer before the attempts ran out.
    BodyUnavailable {
        /// The body hash.
        hash: Hash,
    },
    /// An author equivocated. Emitted once per (author, topic) on first proof; hand the proof
    /// to the trust plane. The author's entries are no longer relayed.
    Equivocation {
        /// What the proof establishes.
        what: Equivocation,
        /// The proof.
        proof: Box<EquivocationProof>,
    },
    /// Entries expired and were removed from every index.
    Expired {
        /// Headers removed.
        headers: usize,
        /// Descriptors removed from the discovery index.
        descriptors: usize,
    },
    /// Headers this engine stopped holding before they expired: evicted under memory
    /// pressure (see the crate docs, "Memory and queues"), pushed out of a full author log, or
    /// the log of a proven equivocator. A host that stored them ([`Event::Header`]) should
    /// delete them, so its store is bounded by what the engine holds, not by what peers sent.
    HeadersForgotten {
        /// Topic.
        topic: Topic,
        /// Author.
        author: AgentId,
        /// The seqs no longer held.
        seqs: Vec<u64>,
    },
    /// A descriptor left the discovery index before it expired (evicted from a full index,
    /// or its provider was proven to equivocate). A host that stored it
    /// ([`Event::Descriptor`]) should delete it.
    DescriptorForgotten {
        /// The provider.
        provider: AgentId,
        /// The capability.
        capability: String,
    },
    /// A link sent bad input and was penalised.
    LinkPenalized {
        /// The link.
        link: LinkId,
        /// Its penalty points now.
        points: u32,
    },
    /// A link crossed the ban threshold; its frames are ignored until the ban ends. The host may
    /// also close it.
    LinkBanned {
        /// The link.
        link: LinkId,
    },
    /// Queued frames (`queue: "transmits"`) or events (`queue: "events"`) were dropped for lack
    /// of space: one event per queue per drain, with the drops since the previous report.
    Overflow(Overflow),
}

/// Why a frame was refused. By the time `handle_message` returns one, the engine has applied
/// the penalty and queued any event; nothing else changed.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GossipError {
    /// Malformed frame, unknown kind or version, over a size limit.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// A header or proof signature or envelope is bad.
    #[error(transparent)]
    Signed(#[from] SignedError),
    /// A header failed its field, skew or freshness checks.
    #[error(transparent)]
    Header(#[from] HeaderError),
    /// An equivocation proof does not verify.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// A body does not match the hash or topic of its header, or the descriptor inside is bad.
    #[error("bad body: {0}")]
    Body(String),
    /// A pulled descriptor failed validation.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// A body for a fetch that is already complete or abandoned (a late answer after a retry).
    /// Not penalised.
    #[error("late body")]
    LateBody,
    /// The link or the author exceeded its rate limit.
    #[error("rate limited")]
    RateLimited,
    /// The node's verification budget across all links
    /// ([`GossipConfig::verify_rate`](crate::GossipConfig::verify_rate)) is spent for now and
    /// the header's author has no standing: dropped unverified. Not the link's fault, so not
    /// penalised.
    #[error("verification budget spent")]
    Busy,
    /// The link is banned.
    #[error("{0} is banned")]
    Banned(LinkId),
    /// A header's `prev` link contradicts a header we hold (a fork we cannot prove yet).
    #[error("prev hash conflicts with the log at seq {seq}")]
    PrevConflict {
        /// The position with two versions.
        seq: u64,
    },
    /// A message that makes no sense in this state (unsolicited body, request for an unknown
    /// topic beyond limits, ...).
    #[error("unexpected message: {0}")]
    Unexpected(&'static str),
}

/// Why a command was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// The descriptor is invalid or not ours.
    #[error(transparent)]
    Descriptor(#[from] DescriptorError),
    /// The descriptor names another provider.
    #[error("descriptor provider {0} is not this node")]
    NotOurs(AgentId),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignedError),
    /// Too many topics.
    #[error("topic limit reached")]
    TooManyTopics,
    /// A restore record is not a valid own header.
    #[error("bad restore record: {0}")]
    Restore(String),
    /// The table of authors with host-given standing is full
    /// ([`GossipConfig::max_standing`](crate::GossipConfig::max_standing)).
    #[error("standing table full")]
    TooManyStanding,
}
