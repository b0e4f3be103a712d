//! A lying transport for demonstrations and tests: a production [`Node`] whose outgoing
//! deliveries are rewritten, when switched on, into evidence packages that contradict their
//! own receipts (re-signed with the provider's own key, so the lie is attributable).
//!
//! This is how the quickstart and the CLI scenario stage a cheating provider: everything but
//! the wire is the honest production code, so what catches it is exactly what would catch a
//! real cheater — the requester's evidence check, the fraud proof, and every other agent's
//! verification of that proof.
//!
//! [`Node`]: agentnet_transport::Node

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use agentnet_core::{AgentId, Keypair, LinkId};
use agentnet_transport::agent::sim::forge_contradicting_delivery;
use agentnet_transport::{Transport, TransportError, TransportEvent};
use async_trait::async_trait;
use bytes::Bytes;

/// Wraps a transport; while `cheat` is set, DELIVER frames carrying evidence are forged.
pub struct Lying<T> {
    inner: T,
    keys: Keypair,
    cheat: Arc<AtomicBool>,
}

impl<T> core::fmt::Debug for Lying<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Lying")
            .field("cheat", &self.cheat.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<T> Lying<T> {
    /// Wrap `inner` (authenticated as `keys`); flip `cheat` to start lying.
    pub fn new(inner: T, keys: &Keypair, cheat: Arc<AtomicBool>) -> Self {
        Lying {
            inner,
            keys: Keypair::from_seed(*keys.seed()),
            cheat,
        }
    }
}

#[async_trait]
impl<T: Transport> Transport for Lying<T> {
    fn local_id(&self) -> AgentId {
        self.inner.local_id()
    }

    fn local_addr(&self) -> Option<String> {
        self.inner.local_addr()
    }

    fn send(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError> {
        let frame = if self.cheat.load(Ordering::Relaxed) {
            forge_contradicting_delivery(&self.keys, &frame).unwrap_or(frame)
        } else {
            frame
        };
        self.inner.send(link, frame)
    }

    fn connect(&self, addr: &str) -> Result<(), TransportError> {
        self.inner.connect(addr)
    }

    fn close(&self, link: LinkId) {
        self.inner.close(link);
    }

    async fn next_event(&mut self) -> Option<TransportEvent> {
        self.inner.next_event().await
    }
}
