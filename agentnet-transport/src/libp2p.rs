//! A [`Transport`] over a rust-libp2p [`Swarm`](::libp2p::Swarm): peer discovery through a
//! Kademlia DHT, QUIC and TCP + Noise + Yamux, relays and hole punching through NATs
//! (feature `libp2p`).
//!
//! # What it does
//!
//! * **One identity.** An agent's Ed25519 key *is* its libp2p identity: the transport's
//!   `PeerId` is the agent's public key, and a link's [`LinkInfo::peer`] is the key the
//!   remote's `PeerId` holds (libp2p's Noise handshake and QUIC's TLS prove possession of it).
//!   The first thing each side sends on an agentnet stream is a hello naming the agent it
//!   speaks for; a hello that names another agent than the connection's key, or a peer whose
//!   key is not Ed25519, is refused ([`TransportEvent::Refused`]) and never becomes a link. So
//!   [`LinkInfo::peer`] means exactly what it means over [`TcpTransport`](crate::TcpTransport).
//! * **Frames** travel on one libp2p stream per link, protocol [`AGENTNET_PROTOCOL`]
//!   (`/agentnet/1`), whole and in order, with the same bounds as the TCP transport: a
//!   bounded per-link send queue ([`Transport::send`] never blocks; overflow is dropped and
//!   reported as [`TransportEvent::SendDropped`]), a frame size checked before buffering, an
//!   idle timeout with keepalives, a bounded event queue that stalls readers when full.
//! * **Discovery beyond the bootstrap list.** Every node runs Kademlia (protocol
//!   [`KAD_PROTOCOL`], agentnet's own DHT) and identify, so a node that knows one bootstrap
//!   peer learns the network's routing table. Topic membership is found through the DHT: for
//!   every topic the node follows ([`Transport::set_topics`], called by the
//!   [`Node`](crate::Node)), it announces itself as a *provider* of the topic's key
//!   (`BLAKE3` of the topic name under the domain `agentnet/v1/topic-provider-key`) and looks
//!   the key's providers up, at once and every [`Libp2pConfig::topic_refresh`], linking to up
//!   to [`Libp2pConfig::topic_peers`] of them per topic. The gossip mesh then forms over those
//!   links by agentnet's own rules: the DHT only introduces peers.
//! * **NATs.** AutoNAT asks peers to dial back and confirms which addresses are reachable;
//!   a node behind a NAT listens through relays ([`Libp2pConfig::relays`], circuit relay v2)
//!   and is reachable as `<relay>/p2p-circuit/p2p/<id>`; when a link runs over a relay, DCUtR
//!   tries a direct connection by hole punching, and once one exists (from hole punching or
//!   any other dial) the side that opened the link moves it there (the relayed link goes down with [`LinkDown::Duplicate`] and a
//!   direct one comes up: relayed circuits are limited in time and bytes). A public node can
//!   serve as a relay ([`Libp2pConfig::relay_server`]).
//! * **Limits** against free keys: libp2p connections are bounded in total, pending and per
//!   peer (`connection-limits`), with slots only dials may use, and inbound per remote IP
//!   address ([`Libp2pConfig::max_per_ip`]: a peer id is free, a host is not); agentnet links are bounded ([`Libp2pConfig::max_links`]) with
//!   slots kept for links this node opens, and when the inbound share is full a newcomer may
//!   evict an inbound link by the TCP transport's rule (stalled hellos first, then the
//!   youngest link of the largest address group, protecting the most recently useful and the
//!   longest connected links), so whoever filled the table first does not keep it. Hellos in
//!   progress are bounded by [`Libp2pConfig::max_pending`]; the DHT's record store has
//!   libp2p's bounds (records, provided keys, providers per key).
//!
//! # Addresses
//!
//! [`Transport::connect`] takes a multiaddr (`/ip4/10.0.0.5/tcp/7100/p2p/12D3…`,
//! `/dns4/example.org/udp/7100/quic-v1`, a relay circuit) or `host:port` for TCP
//! ([`parse_addr`]). With a `/p2p/<id>` suffix libp2p checks the peer's key before anything
//! else. [`LinkInfo::remote`] is the address given to `connect` for links this node dialed,
//! and the connection's remote multiaddr otherwise. [`Transport::local_addr`] is the first
//! external address, else the circuit address through the first relay (a node given relays is
//! taken to be behind a NAT), else the first non-loopback listen address, else the first
//! listen address, each with `/p2p/<own id>`, so it can be handed to others as it is (the
//! [`Node`](crate::Node) puts it in the descriptors it announces). A dial to an address with
//! `/p2p/<id>` also tries the addresses the DHT and identify know for that peer.
//!
//! # Duplicate links
//!
//! One link per peer, by the TCP transport's rule evaluated on both ends: keep the stream
//! opened by the side whose [`AgentId`] bytes are smaller; of two streams opened by the same
//! side, keep the first. A losing stream that never came up is reported
//! [`TransportEvent::Refused`]; an established link that loses goes down with
//! [`LinkDown::Duplicate`].
//!
//! # Wire format on the stream
//!
//! | bytes | field                                                                       |
//! |-------|-----------------------------------------------------------------------------|
//! | 8     | hello magic `agentnt1` (each side, once, first)                             |
//! | 32    | the Ed25519 public key of the agent the sender speaks for                    |
//!
//! then records: a 4-byte big-endian length `len` and `len` bytes of frame, `len` at most
//! [`Libp2pConfig::max_frame`]; the length `0xFFFF_FFFF` alone is a keepalive. Encryption and
//! integrity are the connection's (Noise over TCP, TLS 1.3 in QUIC).
//!
//! # What it does not do
//!
//! * No gossip through libp2p: gossipsub is not used; agentnet's own bodyless gossip runs
//!   over the links.
//! * No persistence of the DHT routing table: a restarted node finds the network again
//!   through its bootstrap addresses.
//! * No hole punching without a relay both sides can reach, and none through symmetric NATs
//!   on both sides (DCUtR's limits).

mod behaviour;
mod config;
mod driver;
mod limits;
mod link;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ::libp2p::identity::{Keypair as P2pKeypair, PublicKey};
use ::libp2p::multiaddr::Protocol;
use ::libp2p::{Multiaddr, PeerId};
use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, Keypair, LinkId};
use async_trait::async_trait;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

#[cfg(doc)]
use crate::host::LinkInfo;
use crate::host::{LinkDown, Transport, TransportError, TransportEvent};
use crate::linkio::Backlog;

pub use behaviour::{AGENTNET_PROTOCOL, KAD_PROTOCOL};
pub use config::Libp2pConfig;

/// Commands queued to the swarm task at most (commands); `connect` fails beyond it.
const COMMAND_QUEUE: usize = 1024;

/// The `PeerId` of an agent: its Ed25519 key as a libp2p public key.
pub fn peer_id_of(agent: &AgentId) -> Result<PeerId, TransportError> {
    let key = ::libp2p::identity::ed25519::PublicKey::try_from_bytes(agent.as_bytes())
        .map_err(|e| TransportError::BadAddress(format!("agent id is no Ed25519 key: {e}")))?;
    Ok(PublicKey::from(key).to_peer_id())
}

/// The agent a `PeerId` names: the Ed25519 key it holds, or `None` for another key type (RSA,
/// secp256k1, ECDSA peers cannot be agents).
pub fn agent_id_of(peer: &PeerId) -> Option<AgentId> {
    let mh: &::libp2p::multihash::Multihash<64> = peer.as_ref();
    // Identity multihash (code 0): the protobuf-encoded public key itself.
    if mh.code() != 0 {
        return None;
    }
    let key = PublicKey::try_decode_protobuf(mh.digest()).ok()?;
    let ed = key.try_into_ed25519().ok()?;
    AgentId::from_bytes_checked(ed.to_bytes()).ok()
}

/// The libp2p identity of `keys` (the same Ed25519 key).
pub fn libp2p_keypair(keys: &Keypair) -> P2pKeypair {
    let mut seed = *keys.seed();
    // An Ed25519 secret key is any 32 bytes; this cannot fail.
    P2pKeypair::ed25519_from_bytes(&mut seed).expect("32 bytes are an Ed25519 secret key")
}

/// Parse an address as the libp2p transport takes it: a multiaddr, or `host:port` (TCP; an IP
/// literal or a DNS name).
pub fn parse_addr(addr: &str) -> Result<Multiaddr, TransportError> {
    let bad = |why: &str| TransportError::BadAddress(format!("{addr}: {why}"));
    if addr.starts_with('/') {
        return addr.parse().map_err(|e| bad(&format!("{e}")));
    }
    let s = addr.strip_prefix("tcp://").unwrap_or(addr);
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        let ip = match sa.ip() {
            IpAddr::V4(v4) => Protocol::Ip4(v4),
            IpAddr::V6(v6) => Protocol::Ip6(v6),
        };
        return Ok(Multiaddr::empty().with(ip).with(Protocol::Tcp(sa.port())));
    }
    let (host, port) = s
        .rsplit_once(':')
        .ok_or_else(|| bad("expected a multiaddr or host:port"))?;
    let port: u16 = port.parse().map_err(|_| bad("the port is not a number"))?;
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(bad("no host"));
    }
    Ok(Multiaddr::empty()
        .with(Protocol::Dns(host.to_string().into()))
        .with(Protocol::Tcp(port)))
}

/// One registered link.
struct LinkEntry {
    peer: AgentId,
    outbound: bool,
    /// Whether the link runs through a relay (then it moves once a direct connection exists).
    relayed: bool,
    queue: mpsc::Sender<Bytes>,
    backlog: Arc<Backlog>,
    stop: oneshot::Sender<LinkDown>,
    opened: Instant,
    group: IpAddr,
    /// Microseconds since [`Shared::epoch`] plus one of the last frame received (0: never).
    activity: Arc<AtomicU64>,
}

struct State {
    /// `None` once shut down.
    events: Option<mpsc::Sender<TransportEvent>>,
    next_link: u64,
    links: HashMap<LinkId, LinkEntry>,
    by_peer: HashMap<AgentId, LinkId>,
    /// Peers this node is opening a stream to (bounded by `max_pending`).
    opening: HashSet<PeerId>,
    /// Hellos in progress on inbound streams (bounded by `max_pending`).
    hellos: usize,
    /// Open connections per peer and their remote addresses (kept by the swarm task).
    conns: HashMap<PeerId, Vec<(::libp2p::swarm::ConnectionId, Multiaddr)>>,
}

impl State {
    /// Whether `peer` has a link, or one is being opened to it.
    fn linked_or_opening(&self, peer: &PeerId) -> bool {
        self.opening.contains(peer)
            || agent_id_of(peer).is_some_and(|a| self.by_peer.contains_key(&a))
    }

    fn remove_link(&mut self, link: LinkId) -> Option<LinkEntry> {
        let entry = self.links.remove(&link)?;
        if self.by_peer.get(&entry.peer) == Some(&link) {
            self.by_peer.remove(&entry.peer);
        }
        Some(entry)
    }
}

/// What the swarm task is asked to do.
enum Command {
    Dial {
        addr: Multiaddr,
        remote: String,
    },
    Topics(Vec<Topic>),
    /// A link this node opened over a relay came up while a direct connection exists.
    MoveOffRelay(PeerId),
}

struct Shared {
    id: AgentId,
    peer_id: PeerId,
    cfg: Libp2pConfig,
    runtime: tokio::runtime::Handle,
    state: Mutex<State>,
    shutdown: watch::Sender<bool>,
    epoch: Instant,
    commands: mpsc::Sender<Command>,
    control: libp2p_stream::Control,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain maps and counters; a panic elsewhere leaves them usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn events(&self) -> Option<mpsc::Sender<TransportEvent>> {
        self.lock().events.clone()
    }

    fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Report a dial or stream that did not become a link (waiting for room in the event
    /// queue: the outcome of a `connect` must not be lost).
    async fn refused(&self, remote: String, reason: String) {
        tracing::debug!(%remote, %reason, "libp2p connection refused");
        if let Some(events) = self.events() {
            let _ = events
                .send(TransportEvent::Refused { remote, reason })
                .await;
        }
    }
}

/// A [`Transport`] over rust-libp2p (see the [module docs](self)).
pub struct Libp2pTransport {
    shared: Arc<Shared>,
    events: mpsc::Receiver<TransportEvent>,
    local_addr: Option<String>,
    listen_addrs: Vec<Multiaddr>,
}

impl fmt::Debug for Libp2pTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("Libp2pTransport")
            .field("id", &self.shared.id)
            .field("peer_id", &self.shared.peer_id)
            .field("listen", &self.listen_addrs)
            .field("links", &st.links.len())
            .finish()
    }
}

impl Libp2pTransport {
    /// Start a transport authenticating as `keys` with `cfg`: build the swarm, listen on
    /// `cfg.listen` (waiting until each listener has an address), reserve slots on
    /// `cfg.relays`, and spawn the swarm task on the current tokio runtime.
    pub async fn start(
        keys: &Keypair,
        cfg: Libp2pConfig,
    ) -> Result<Libp2pTransport, TransportError> {
        cfg.validate()?;
        let mut swarm = behaviour::build_swarm(libp2p_keypair(keys), &cfg)?;
        let peer_id = *swarm.local_peer_id();
        for a in &cfg.external_addrs {
            swarm.add_external_address(a.clone());
        }
        let listen_addrs = driver::listen(&mut swarm, &cfg).await?;
        if cfg.relay_server && cfg.external_addrs.is_empty() {
            // A relay serves only once it has a confirmed external address; a node told to
            // relay without one is taken to be reachable where it listens.
            for a in &listen_addrs {
                swarm.add_external_address(a.clone());
            }
        }
        let mut control = swarm.behaviour().stream.new_control();
        let incoming = control
            .accept(AGENTNET_PROTOCOL)
            .map_err(|e| TransportError::Io(format!("libp2p: {e}")))?;
        let (tx, rx) = mpsc::channel(cfg.event_queue);
        let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_QUEUE);
        let local_addr = pick_local_addr(&cfg, &listen_addrs, peer_id);
        let shared = Arc::new(Shared {
            id: keys.id(),
            peer_id,
            cfg,
            runtime: tokio::runtime::Handle::current(),
            state: Mutex::new(State {
                events: Some(tx),
                next_link: 0,
                links: HashMap::new(),
                by_peer: HashMap::new(),
                opening: HashSet::new(),
                hellos: 0,
                conns: HashMap::new(),
            }),
            shutdown: watch::Sender::new(false),
            epoch: Instant::now(),
            commands: cmd_tx,
            control,
        });
        let stop = shared.shutdown.subscribe();
        shared.runtime.spawn(driver::run(
            Arc::clone(&shared),
            swarm,
            cmd_rx,
            incoming,
            stop,
        ));
        Ok(Libp2pTransport {
            shared,
            events: rx,
            local_addr,
            listen_addrs,
        })
    }

    /// The libp2p identity (the agent's key).
    pub fn peer_id(&self) -> PeerId {
        self.shared.peer_id
    }

    /// The addresses the listeners bound, as multiaddrs without `/p2p/` (port 0 resolved).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// The settings the transport runs with.
    pub fn config(&self) -> &Libp2pConfig {
        &self.shared.cfg
    }

    /// The links currently up, in id order.
    pub fn links(&self) -> Vec<LinkId> {
        let mut v: Vec<LinkId> = self.shared.lock().links.keys().copied().collect();
        v.sort();
        v
    }

    /// Open libp2p connections (with or without an agentnet link).
    pub fn connection_count(&self) -> usize {
        self.shared.lock().conns.values().map(Vec::len).sum()
    }

    /// Queue `frame` on `link`, waiting for room instead of dropping (benchmarks, bulk
    /// transfers). Fails like [`Transport::send`] otherwise.
    pub async fn send_wait(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError> {
        self.check_len(&frame)?;
        let (queue, backlog) = {
            let st = self.shared.lock();
            if st.events.is_none() {
                return Err(TransportError::Closed);
            }
            match st.links.get(&link) {
                Some(e) => (e.queue.clone(), Arc::clone(&e.backlog)),
                None => return Err(TransportError::UnknownLink(link)),
            }
        };
        let len = frame.len();
        backlog.bytes.fetch_add(len, Ordering::Relaxed);
        queue.send(frame).await.map_err(|_| {
            backlog.bytes.fetch_sub(len, Ordering::Relaxed);
            TransportError::UnknownLink(link)
        })
    }

    /// Close every link (each reports [`LinkDown::ClosedLocally`]) and stop the swarm. Also run
    /// on drop. [`Transport::next_event`] returns `None` once everything is reported.
    pub fn shutdown(&self) {
        let entries: Vec<LinkEntry> = {
            let mut st = self.shared.lock();
            st.events = None;
            st.by_peer.clear();
            st.links.drain().map(|(_, e)| e).collect()
        };
        for e in entries {
            let _ = e.stop.send(LinkDown::ClosedLocally);
        }
        self.shared.shutdown.send_replace(true);
    }

    fn check_len(&self, frame: &Bytes) -> Result<(), TransportError> {
        if frame.len() > self.shared.cfg.max_frame {
            return Err(TransportError::FrameTooLarge {
                len: frame.len(),
                max: self.shared.cfg.max_frame,
            });
        }
        Ok(())
    }
}

impl Drop for Libp2pTransport {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// See the module docs' Addresses section.
fn pick_local_addr(cfg: &Libp2pConfig, listen: &[Multiaddr], me: PeerId) -> Option<String> {
    let loopback = |a: &Multiaddr| {
        a.iter().any(|p| match p {
            Protocol::Ip4(ip) => ip.is_loopback(),
            Protocol::Ip6(ip) => ip.is_loopback(),
            _ => false,
        })
    };
    let circuit = cfg
        .relays
        .first()
        .map(|r| r.clone().with(Protocol::P2pCircuit));
    let mut a = cfg
        .external_addrs
        .first()
        .cloned()
        .or(circuit)
        .or_else(|| listen.iter().find(|a| !loopback(a)).cloned())
        .or_else(|| listen.first().cloned())?;
    if !matches!(a.iter().last(), Some(Protocol::P2p(_))) {
        a.push(Protocol::P2p(me));
    }
    Some(a.to_string())
}

#[async_trait]
impl Transport for Libp2pTransport {
    fn local_id(&self) -> AgentId {
        self.shared.id
    }

    fn local_addr(&self) -> Option<String> {
        self.local_addr.clone()
    }

    fn send(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError> {
        self.check_len(&frame)?;
        let st = self.shared.lock();
        let Some(events) = &st.events else {
            return Err(TransportError::Closed);
        };
        let Some(entry) = st.links.get(&link) else {
            return Err(TransportError::UnknownLink(link));
        };
        crate::linkio::offer(
            &entry.queue,
            &entry.backlog,
            self.shared.cfg.send_queue_bytes,
            events,
            link,
            frame,
        )
    }

    fn connect(&self, addr: &str) -> Result<(), TransportError> {
        let parsed = parse_addr(addr)?;
        if self.shared.is_shut_down() {
            return Err(TransportError::Closed);
        }
        self.shared
            .commands
            .try_send(Command::Dial {
                addr: parsed,
                remote: addr.to_string(),
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    TransportError::Io("too many dials queued".into())
                }
                mpsc::error::TrySendError::Closed(_) => TransportError::Closed,
            })
    }

    fn close(&self, link: LinkId) {
        let entry = self.shared.lock().remove_link(link);
        if let Some(e) = entry {
            let _ = e.stop.send(LinkDown::ClosedLocally);
        }
    }

    async fn next_event(&mut self) -> Option<TransportEvent> {
        self.events.recv().await
    }

    fn set_topics(&self, topics: &[Topic]) {
        // Dropped when the queue is full: the next change or refresh carries the whole set.
        let _ = self
            .shared
            .commands
            .try_send(Command::Topics(topics.to_vec()));
    }
}

/// The DHT key under which a topic's followers announce themselves.
fn topic_key(topic: &Topic) -> ::libp2p::kad::RecordKey {
    let h = agentnet_core::hash::Hash::digest(
        agentnet_core::hash::domain::TOPIC_PROVIDER_KEY,
        topic.as_str().as_bytes(),
    );
    ::libp2p::kad::RecordKey::new(h.as_bytes())
}

/// The address group of a connection's remote address, as the eviction rule counts them:
/// its IP (a relayed address counts as the relay's), or the unspecified address if it names
/// none (DNS).
fn addr_group(addr: &Multiaddr) -> IpAddr {
    for p in addr.iter() {
        match p {
            Protocol::Ip4(ip) => return crate::tcp::ip_group(IpAddr::V4(ip)),
            Protocol::Ip6(ip) => return crate::tcp::ip_group(IpAddr::V6(ip)),
            _ => {}
        }
    }
    IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
}

/// Whether an address runs through a relay.
fn is_relayed(addr: &Multiaddr) -> bool {
    addr.iter().any(|p| matches!(p, Protocol::P2pCircuit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_ids_and_peer_ids_are_the_same_key() {
        let k = Keypair::from_seed([7; 32]);
        let p = peer_id_of(&k.id()).unwrap();
        assert_eq!(p, libp2p_keypair(&k).public().to_peer_id());
        assert_eq!(agent_id_of(&p), Some(k.id()));
        // An identity multihash that holds no Ed25519 key.
        assert_eq!(agent_id_of(&PeerId::random()), None);
    }

    #[test]
    fn addresses_parse_as_multiaddrs_or_host_port() {
        assert_eq!(
            parse_addr("127.0.0.1:7100").unwrap().to_string(),
            "/ip4/127.0.0.1/tcp/7100"
        );
        assert_eq!(
            parse_addr("localhost:7100").unwrap().to_string(),
            "/dns/localhost/tcp/7100"
        );
        assert_eq!(
            parse_addr("/ip4/10.0.0.1/udp/9/quic-v1")
                .unwrap()
                .to_string(),
            "/ip4/10.0.0.1/udp/9/quic-v1"
        );
        for bad in ["", "localhost", "host:port", "/ip4/nonsense", ":80"] {
            assert!(
                matches!(parse_addr(bad), Err(TransportError::BadAddress(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn relayed_addresses_group_by_the_relay() {
        let a: Multiaddr = "/ip4/1.2.3.4/tcp/1/p2p-circuit".parse().unwrap();
        assert!(is_relayed(&a));
        assert_eq!(addr_group(&a), "1.2.3.4".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn topic_keys_differ_per_topic() {
        let a = topic_key(&Topic::new("text/translate").unwrap());
        let b = topic_key(&Topic::new("text/summarize").unwrap());
        assert_ne!(a, b);
    }
}
