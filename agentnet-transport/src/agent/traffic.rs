//! Frames and bytes counted per plane ([`Agent::traffic`](super::Agent::traffic)).

use agentnet_core::wire::{MessageKind, Plane};

/// Traffic of one plane.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PlaneTraffic {
    /// Frames sent.
    pub sent_frames: u64,
    /// Bytes sent.
    pub sent_bytes: u64,
    /// Frames received.
    pub received_frames: u64,
    /// Bytes received.
    pub received_bytes: u64,
}

/// Traffic per plane: gossip, trust, execution (sessions), payload (handshake and payloads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Traffic {
    /// `0x01xx`.
    pub gossip: PlaneTraffic,
    /// `0x02xx`.
    pub trust: PlaneTraffic,
    /// `0x03xx`.
    pub execution: PlaneTraffic,
    /// `0x04xx`.
    pub payload: PlaneTraffic,
}

impl Traffic {
    pub(super) fn plane(&mut self, kind: Option<MessageKind>) -> Option<&mut PlaneTraffic> {
        match kind?.plane() {
            Plane::Gossip => Some(&mut self.gossip),
            Plane::Trust => Some(&mut self.trust),
            Plane::Execution => Some(&mut self.execution),
            Plane::Payload => Some(&mut self.payload),
            _ => None,
        }
    }
}
