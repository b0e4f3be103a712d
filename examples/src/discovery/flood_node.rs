//! The flooding node: a host around the shared flooding engine that keeps a discovery index and publishes a provider's descriptor.

use std::fmt;
use std::time::Duration;

use super::*;
use crate::flood::{FloodEngine, FloodError};
use agentnet_core::descriptor::{CapabilityDescriptor, DescriptorRules};
use agentnet_core::semantic::{HashedNgramEncoder, SemanticEncoder};
use agentnet_core::{Engine, Instant, Keypair, LinkId, Now, Signed, Transmit, WallTime};
use agentnet_gossip::discover::{IndexLimits, intent_text};
use agentnet_gossip::{Candidate, DiscoveryIndex, GossipConfig, Requirements};
use bytes::Bytes;

// =============================================================================================
// The flooding node
// =============================================================================================

pub(crate) fn flood_valid(d: &Signed<CapabilityDescriptor>, now: Now) -> bool {
    d.validate(now, &DescriptorRules::default()).is_ok()
}

/// A host around [`FloodEngine`]: keeps a discovery index of the descriptors delivered to it and,
/// for a provider, signs and injects its descriptor and re-issues it on the engine's refresh rule.
pub(crate) struct FloodNode {
    pub(crate) inner: FloodEngine<CapabilityDescriptor>,
    pub(crate) index: DiscoveryIndex,
    pub(crate) encoder: HashedNgramEncoder,
    pub(crate) provider: Option<(Keypair, CapabilityDescriptor)>,
    pub(crate) refresh_at: Option<WallTime>,
    pub(crate) start_at: Option<Instant>,
    pub(crate) next_beat: Instant,
    pub(crate) delivered: u64,
    pub(crate) deliveries: Vec<FloodDelivery>,
}

/// A descriptor version delivered to a flooding node for the first time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FloodDelivery {
    pub(crate) issued_at: WallTime,
}

impl fmt::Debug for FloodNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FloodNode")
            .field("inner", &self.inner)
            .field("index", &self.index.len())
            .field("provider", &self.provider.is_some())
            .field("delivered", &self.delivered)
            .finish_non_exhaustive()
    }
}

impl FloodNode {
    pub(crate) fn new(
        now: Now,
        phase: Duration,
        provider: Option<(Keypair, CapabilityDescriptor)>,
        restarted: bool,
    ) -> Self {
        let start_at = (restarted && provider.is_some()).then_some(now.mono);
        FloodNode {
            inner: FloodEngine::new(65_536, flood_valid),
            index: DiscoveryIndex::new(IndexLimits::default()).expect("default limits are valid"),
            encoder: HashedNgramEncoder::default(),
            provider,
            refresh_at: None,
            start_at,
            next_beat: now.mono + phase,
            delivered: 0,
            deliveries: Vec::new(),
        }
    }

    /// Sign a fresh copy of the own descriptor and flood it.
    pub(crate) fn provide(&mut self, now: Now) {
        let Some((kp, template)) = &self.provider else {
            return;
        };
        let mut d = template.clone();
        d.issued_at = now.wall;
        self.refresh_at = Some(d.refresh_at(REFRESH_FRACTION));
        let signed = Signed::sign(kp, d).expect("signing works");
        self.inner.inject(signed.to_frame());
    }

    pub(crate) fn discover(
        &self,
        now: Now,
        intent: &str,
        req: &Requirements,
        k: usize,
    ) -> Vec<Candidate> {
        let q = self.encoder.encode(intent);
        let min = GossipConfig::default().min_similarity;
        self.index.query(now, &q, req, min, k)
    }
}

impl Engine for FloodNode {
    type Event = FloodDelivery;
    type Error = FloodError;

    fn handle_message(&mut self, now: Now, from: LinkId, payload: Bytes) -> Result<(), FloodError> {
        let r = self.inner.handle_message(now, from, payload);
        while let Some(ev) = self.inner.poll_event() {
            self.delivered += 1;
            self.deliveries.push(FloodDelivery {
                issued_at: ev.object.issued_at,
            });
            let emb = self.encoder.encode(&intent_text(&ev.object));
            self.index.insert(now, ev.object, emb);
        }
        r
    }

    fn handle_timeout(&mut self, now: Now) {
        if self.start_at.is_some_and(|t| t <= now.mono) {
            self.start_at = None;
            self.provide(now);
        }
        if self.next_beat <= now.mono {
            self.next_beat = now.mono + FLOOD_HEARTBEAT;
            self.index.prune(now.wall);
            if self.refresh_at.is_some_and(|t| t <= now.wall) {
                self.provide(now);
            }
        }
    }

    fn handle_link_up(&mut self, now: Now, link: LinkId) {
        self.inner.handle_link_up(now, link);
    }

    fn handle_link_down(&mut self, now: Now, link: LinkId) {
        self.inner.handle_link_down(now, link);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.inner.poll_transmit()
    }

    fn poll_event(&mut self) -> Option<FloodDelivery> {
        self.deliveries.pop()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        Some(match self.start_at {
            Some(t) => t.min(self.next_beat),
            None => self.next_beat,
        })
    }
}
