//! An in-process transport: every [`MemoryTransport`] made from one [`MemoryNetwork`] can
//! connect to the others by name. For tests and single-process demos.
//!
//! Links are authenticated by construction (the network knows which identity registered each
//! name). Frames travel through bounded channels: a receiver that falls behind makes the
//! sender drop frames and report [`TransportEvent::SendDropped`], as a real transport does
//! under backpressure.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use agentnet_core::{AgentId, LinkId};
use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::host::{LinkDown, LinkInfo, Transport, TransportError, TransportEvent};

/// Events queued per transport before senders start dropping frames. Default of
/// [`MemoryNetwork::new`].
pub const DEFAULT_QUEUE: usize = 4096;
/// Largest frame the in-memory transport carries (bytes), like the TCP transport's default.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

struct Endpoint {
    id: AgentId,
    tx: mpsc::Sender<TransportEvent>,
}

struct HalfLink {
    owner: String,
    peer: String,
    /// The identity registered for `peer`.
    peer_id: AgentId,
    peer_link: LinkId,
    dropped: u64,
}

#[derive(Default)]
struct Hub {
    endpoints: HashMap<String, Endpoint>,
    links: HashMap<LinkId, HalfLink>,
    next_link: u64,
}

/// A set of in-memory transports that can reach each other by name.
#[derive(Clone)]
pub struct MemoryNetwork {
    hub: Arc<Mutex<Hub>>,
    queue: usize,
    max_frame: usize,
}

impl fmt::Debug for MemoryNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hub = self.lock();
        f.debug_struct("MemoryNetwork")
            .field("endpoints", &hub.endpoints.len())
            .field("links", &hub.links.len())
            .finish()
    }
}

impl Default for MemoryNetwork {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryNetwork {
    /// An empty network with [`DEFAULT_QUEUE`] and [`DEFAULT_MAX_FRAME`].
    pub fn new() -> Self {
        Self::with_limits(DEFAULT_QUEUE, DEFAULT_MAX_FRAME)
    }

    /// An empty network whose transports queue `queue` events (minimum 1) and carry frames of
    /// at most `max_frame` bytes.
    pub fn with_limits(queue: usize, max_frame: usize) -> Self {
        MemoryNetwork {
            hub: Arc::new(Mutex::new(Hub::default())),
            queue: queue.max(1),
            max_frame,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Hub> {
        // A panic while holding the lock leaves plain maps behind; keep using them.
        self.hub.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Register `name` for the identity `id` and return its transport. Fails if the name is
    /// taken.
    pub fn transport(&self, name: &str, id: AgentId) -> Result<MemoryTransport, TransportError> {
        let (tx, rx) = mpsc::channel(self.queue);
        let mut hub = self.lock();
        if hub.endpoints.contains_key(name) {
            return Err(TransportError::BadAddress(format!("{name} is taken")));
        }
        hub.endpoints.insert(name.to_string(), Endpoint { id, tx });
        Ok(MemoryTransport {
            net: self.clone(),
            name: name.to_string(),
            id,
            rx,
        })
    }
}

/// One endpoint of a [`MemoryNetwork`].
pub struct MemoryTransport {
    net: MemoryNetwork,
    name: String,
    id: AgentId,
    rx: mpsc::Receiver<TransportEvent>,
}

impl fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryTransport")
            .field("name", &self.name)
            .field("id", &self.id)
            .finish()
    }
}

impl MemoryTransport {
    /// Links this transport currently has.
    pub fn links(&self) -> Vec<LinkId> {
        let hub = self.net.lock();
        let mut v: Vec<LinkId> = hub
            .links
            .iter()
            .filter(|(_, h)| h.owner == self.name)
            .map(|(l, _)| *l)
            .collect();
        v.sort();
        v
    }
}

/// Deliver `ev` to the endpoint `to`; false if its queue is full or it is gone.
fn deliver(hub: &Hub, to: &str, ev: TransportEvent) -> bool {
    hub.endpoints
        .get(to)
        .is_some_and(|e| e.tx.try_send(ev).is_ok())
}

/// Deliver `evs` in order to the endpoint `to` even if its queue is full (the rest then from a
/// task): for reports that must not be lost (link down, refused).
fn report(hub: &Hub, to: &str, evs: impl IntoIterator<Item = TransportEvent>) {
    let Some(e) = hub.endpoints.get(to) else {
        return;
    };
    let mut evs = evs.into_iter();
    while let Some(ev) = evs.next() {
        if let Err(mpsc::error::TrySendError::Full(ev)) = e.tx.try_send(ev) {
            let tx = e.tx.clone();
            let rest: Vec<TransportEvent> = std::iter::once(ev).chain(evs).collect();
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(async move {
                    for ev in rest {
                        let _ = tx.send(ev).await;
                    }
                });
            }
            return;
        }
    }
}

/// Remove both halves of `link`, telling each owner why.
fn tear_down(hub: &mut Hub, link: LinkId, local: LinkDown, remote: LinkDown) {
    let Some(half) = hub.links.remove(&link) else {
        return;
    };
    let peer_dropped = hub.links.remove(&half.peer_link).map_or(0, |h| h.dropped);
    for (to, l, dropped, reason) in [
        (half.owner, link, half.dropped, local),
        (half.peer, half.peer_link, peer_dropped, remote),
    ] {
        // Drops whose report did not fit in the owner's queue are reported before the end.
        let drops = (dropped > 0).then_some(TransportEvent::SendDropped {
            link: l,
            frames: dropped,
        });
        let down = TransportEvent::LinkDown { link: l, reason };
        report(hub, &to, drops.into_iter().chain([down]));
    }
}

/// Why `from` (identity `from_id`) may not link to `to` (identity `to_id`), if it may not.
fn refusal(hub: &Hub, from: &str, from_id: AgentId, to: &str, to_id: AgentId) -> Option<String> {
    if to_id == from_id {
        return Some("self-connection".into());
    }
    // Both halves of a link are made at once, so "keep the link that exists" is a rule both
    // ends agree on.
    let linked = |owner: &str, peer: AgentId| {
        hub.links
            .values()
            .any(|h| h.owner == owner && h.peer_id == peer)
    };
    (linked(from, to_id) || linked(to, from_id))
        .then(|| format!("duplicate link to {}", to_id.short()))
}

#[async_trait]
impl Transport for MemoryTransport {
    fn local_id(&self) -> AgentId {
        self.id
    }

    fn local_addr(&self) -> Option<String> {
        Some(self.name.clone())
    }

    fn send(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError> {
        if frame.len() > self.net.max_frame {
            return Err(TransportError::FrameTooLarge {
                len: frame.len(),
                max: self.net.max_frame,
            });
        }
        let mut hub = self.net.lock();
        let Some(half) = hub.links.get(&link).filter(|h| h.owner == self.name) else {
            return Err(TransportError::UnknownLink(link));
        };
        let (peer, peer_link) = (half.peer.clone(), half.peer_link);
        let ev = TransportEvent::Frame {
            link: peer_link,
            frame,
        };
        if !deliver(&hub, &peer, ev) {
            let dropped = {
                let h = hub.links.get_mut(&link).expect("looked up above");
                h.dropped += 1;
                h.dropped
            };
            let report = TransportEvent::SendDropped {
                link,
                frames: dropped,
            };
            if deliver(&hub, &self.name, report)
                && let Some(h) = hub.links.get_mut(&link)
            {
                h.dropped = 0;
            }
        }
        Ok(())
    }

    fn connect(&self, addr: &str) -> Result<(), TransportError> {
        let mut hub = self.net.lock();
        let refused = |reason: String| TransportEvent::Refused {
            remote: addr.to_string(),
            reason,
        };
        let Some(peer_id) = hub.endpoints.get(addr).map(|e| e.id) else {
            report(&hub, &self.name, [refused("no such endpoint".into())]);
            return Ok(());
        };
        if let Some(reason) = refusal(&hub, &self.name, self.id, addr, peer_id) {
            report(&hub, &self.name, [refused(reason)]);
            return Ok(());
        }
        let mine = LinkId(hub.next_link);
        let theirs = LinkId(hub.next_link + 1);
        hub.next_link += 2;
        hub.links.insert(
            mine,
            HalfLink {
                owner: self.name.clone(),
                peer: addr.to_string(),
                peer_id,
                peer_link: theirs,
                dropped: 0,
            },
        );
        hub.links.insert(
            theirs,
            HalfLink {
                owner: addr.to_string(),
                peer: self.name.clone(),
                peer_id: self.id,
                peer_link: mine,
                dropped: 0,
            },
        );
        let up_here = TransportEvent::LinkUp(LinkInfo {
            link: mine,
            peer: peer_id,
            remote: addr.to_string(),
            outbound: true,
        });
        let up_there = TransportEvent::LinkUp(LinkInfo {
            link: theirs,
            peer: self.id,
            remote: self.name.clone(),
            outbound: false,
        });
        // A side too busy to hear about the link never gets it; a side that heard of it up
        // hears of it down.
        let here = deliver(&hub, &self.name, up_here);
        if !(here && deliver(&hub, addr, up_there)) {
            hub.links.remove(&mine);
            hub.links.remove(&theirs);
            let ev = if here {
                TransportEvent::LinkDown {
                    link: mine,
                    reason: LinkDown::Io("peer's queue full".into()),
                }
            } else {
                refused("queue full".into())
            };
            report(&hub, &self.name, [ev]);
        }
        Ok(())
    }

    fn close(&self, link: LinkId) {
        let mut hub = self.net.lock();
        if hub.links.get(&link).is_some_and(|h| h.owner == self.name) {
            tear_down(
                &mut hub,
                link,
                LinkDown::ClosedLocally,
                LinkDown::ClosedByPeer,
            );
        }
    }

    async fn next_event(&mut self) -> Option<TransportEvent> {
        self.rx.recv().await
    }
}

impl Drop for MemoryTransport {
    fn drop(&mut self) {
        let mut hub = self.net.lock();
        hub.endpoints.remove(&self.name);
        let mine: Vec<LinkId> = hub
            .links
            .iter()
            .filter(|(_, h)| h.owner == self.name)
            .map(|(l, _)| *l)
            .collect();
        for l in mine {
            tear_down(&mut hub, l, LinkDown::ClosedLocally, LinkDown::ClosedByPeer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentnet_core::Keypair;

    fn id(n: u8) -> AgentId {
        Keypair::from_seed([n; 32]).id()
    }

    #[tokio::test]
    async fn connect_send_close() {
        let net = MemoryNetwork::new();
        let mut a = net.transport("a", id(1)).unwrap();
        let mut b = net.transport("b", id(2)).unwrap();
        assert!(net.transport("a", id(3)).is_err(), "names are unique");
        a.connect("b").unwrap();
        let Some(TransportEvent::LinkUp(la)) = a.next_event().await else {
            panic!()
        };
        let Some(TransportEvent::LinkUp(lb)) = b.next_event().await else {
            panic!()
        };
        assert_eq!((la.peer, lb.peer), (id(2), id(1)));
        assert!(la.outbound && !lb.outbound);
        a.send(la.link, Bytes::from_static(b"hello")).unwrap();
        assert_eq!(
            b.next_event().await,
            Some(TransportEvent::Frame {
                link: lb.link,
                frame: Bytes::from_static(b"hello")
            })
        );
        assert_eq!(
            b.send(la.link, Bytes::new()),
            Err(TransportError::UnknownLink(la.link)),
            "a link belongs to one side"
        );
        a.close(la.link);
        assert!(matches!(
            a.next_event().await,
            Some(TransportEvent::LinkDown {
                reason: LinkDown::ClosedLocally,
                ..
            })
        ));
        assert!(matches!(
            b.next_event().await,
            Some(TransportEvent::LinkDown {
                reason: LinkDown::ClosedByPeer,
                ..
            })
        ));
        assert!(a.send(la.link, Bytes::new()).is_err());
    }

    #[tokio::test]
    async fn full_queue_drops_and_reports() {
        let net = MemoryNetwork::with_limits(4, 16);
        let mut a = net.transport("a", id(1)).unwrap();
        let mut b = net.transport("b", id(2)).unwrap();
        a.connect("b").unwrap();
        let Some(TransportEvent::LinkUp(la)) = a.next_event().await else {
            panic!()
        };
        assert!(matches!(
            a.send(la.link, Bytes::from(vec![0; 17])),
            Err(TransportError::FrameTooLarge { len: 17, max: 16 })
        ));
        for i in 0..10u8 {
            a.send(la.link, Bytes::from(vec![i])).unwrap();
        }
        // b holds LinkUp + 3 frames; the other 7 were dropped and reported to a.
        let mut frames = 0;
        while let Ok(ev) = b.rx.try_recv() {
            frames += u32::from(matches!(ev, TransportEvent::Frame { .. }));
        }
        assert_eq!(frames, 3);
        let reported = |a: &mut MemoryTransport| {
            let mut n = 0;
            while let Ok(ev) = a.rx.try_recv() {
                if let TransportEvent::SendDropped { frames, .. } = ev {
                    n += frames;
                }
            }
            n
        };
        // a's own queue (4) took four reports; the other three drops wait for the next one.
        assert_eq!(reported(&mut a), 4);
        for i in 0..5u8 {
            a.send(la.link, Bytes::from(vec![i])).unwrap();
        }
        assert_eq!(reported(&mut a), 3 + 1, "no drop goes unreported");
    }

    #[tokio::test]
    async fn dropping_a_transport_takes_its_links_down() {
        let net = MemoryNetwork::new();
        let a = net.transport("a", id(1)).unwrap();
        let mut b = net.transport("b", id(2)).unwrap();
        a.connect("b").unwrap();
        assert!(matches!(
            b.next_event().await,
            Some(TransportEvent::LinkUp(_))
        ));
        drop(a);
        assert!(matches!(
            b.next_event().await,
            Some(TransportEvent::LinkDown {
                reason: LinkDown::ClosedByPeer,
                ..
            })
        ));
        assert!(b.links().is_empty());
        assert!(b.connect("a").is_ok());
        assert!(matches!(
            b.next_event().await,
            Some(TransportEvent::Refused { .. })
        ));
    }

    #[tokio::test]
    async fn self_and_second_links_are_refused() {
        let net = MemoryNetwork::new();
        let mut a = net.transport("a", id(1)).unwrap();
        let mut b = net.transport("b", id(2)).unwrap();
        let _a2 = net.transport("a2", id(1)).unwrap();
        for to in ["a", "a2"] {
            a.connect(to).unwrap();
            assert!(
                matches!(a.next_event().await, Some(TransportEvent::Refused { reason, .. }) if reason == "self-connection")
            );
        }
        assert!(a.links().is_empty());
        a.connect("b").unwrap();
        assert!(matches!(
            b.next_event().await,
            Some(TransportEvent::LinkUp(_))
        ));
        assert!(matches!(
            a.next_event().await,
            Some(TransportEvent::LinkUp(_))
        ));
        a.connect("b").unwrap();
        b.connect("a").unwrap();
        for t in [&mut a, &mut b] {
            assert!(matches!(
                t.next_event().await,
                Some(TransportEvent::Refused { .. })
            ));
            assert_eq!(t.links().len(), 1, "one link per peer");
            assert!(t.rx.try_recv().is_err(), "nothing else reported");
        }
    }

    #[tokio::test]
    async fn unreported_drops_are_reported_before_link_down() {
        let net = MemoryNetwork::with_limits(2, 16);
        let mut a = net.transport("a", id(1)).unwrap();
        let mut b = net.transport("b", id(2)).unwrap();
        a.connect("b").unwrap();
        let Some(TransportEvent::LinkUp(la)) = a.next_event().await else {
            panic!()
        };
        // b's queue takes its LinkUp and one frame; a's queue reports two of the four drops.
        for i in 0..5u8 {
            a.send(la.link, Bytes::from(vec![i])).unwrap();
        }
        let mut dropped = 0;
        while let Ok(ev) = a.rx.try_recv() {
            let TransportEvent::SendDropped { frames, .. } = ev else {
                panic!("{ev:?}")
            };
            dropped += frames;
        }
        assert_eq!(dropped, 2);
        a.close(la.link);
        assert_eq!(
            a.next_event().await,
            Some(TransportEvent::SendDropped {
                link: la.link,
                frames: 2
            }),
            "the other two, before the link's end"
        );
        assert!(matches!(
            a.next_event().await,
            Some(TransportEvent::LinkDown {
                reason: LinkDown::ClosedLocally,
                ..
            })
        ));
        let mut b_events = Vec::new();
        while b_events.len() < 3 {
            b_events.push(b.next_event().await.unwrap());
        }
        assert!(matches!(b_events[0], TransportEvent::LinkUp(_)));
        assert!(matches!(b_events[1], TransportEvent::Frame { .. }));
        assert!(matches!(b_events[2], TransportEvent::LinkDown { .. }));
    }
}
