//! TCP + Noise transport: links over TCP, encrypted and mutually authenticated with the Noise
//! protocol `Noise_XX_25519_ChaChaPoly_BLAKE2s`, each link bound to the peer's [`AgentId`]
//! by a signed [`KeyBinding`].
//!
//! # What it does
//!
//! * Listens (optionally) and dials TCP; every connection runs a Noise XX handshake whose
//!   static keys are the agents' X25519 keys, and each side sends its [`KeyBinding`] (signed by
//!   its Ed25519 identity) inside the handshake. A link is reported up only after the peer's
//!   binding verified and matched the static key it proved.
//! * Carries frames of up to [`TcpConfig::max_frame`] bytes, whole and in order, through a
//!   bounded per-link send queue ([`Transport::send`] never blocks; overflow is dropped and
//!   reported as [`TransportEvent::SendDropped`], counts coalesced but never lost).
//! * Bounds everything a remote party can make it hold: connections in total and per remote
//!   IP (handshakes included), handshake time and message size, frame size (checked before
//!   buffering), idle time; keeps healthy idle links up with encrypted keepalives.
//! * Keeps one link per peer (see [Duplicate links](#duplicate-links)), refuses
//!   self-connections, and can keep redialing bootstrap addresses
//!   ([`TcpTransport::dial_persistent`]).
//!
//! # What it does not do
//!
//! * No NAT traversal, relaying, address discovery or peer selection: the caller says where to
//!   dial.
//! * No rekeying: a link ends after 2^64 − 1 messages per direction (never in practice).
//! * No check of a binding's `issued_at` and no revocation (see the threat model).
//! * No hiding of traffic patterns: message lengths and timing are visible on the wire.
//! * [`Transport::connect`] dials once; only [`TcpTransport::dial_persistent`] retries.
//!
//! # Wire format
//!
//! Every Noise message, handshake or transport, travels with a length prefix:
//!
//! | bytes       | field                                                              |
//! |-------------|--------------------------------------------------------------------|
//! | 2           | `n`: length of the Noise message, big-endian (16 ..= 65 535)       |
//! | `n`         | the Noise message                                                  |
//!
//! Handshake (XX; `binding` is the sender's signed [`KeyBinding`] frame,
//! `Signed::<KeyBinding>::to_frame`):
//!
//! | message | direction | Noise tokens        | payload              | size limit           |
//! |---------|-----------|---------------------|----------------------|----------------------|
//! | 1       | I → R     | `e`                 | empty (ignored)      | 1 024 bytes          |
//! | 2       | R → I     | `e, ee, s, es`      | responder's binding  | 1 024 bytes          |
//! | 3       | I → R     | `s, se`             | initiator's binding  | 1 024 bytes          |
//!
//! After the handshake, the plaintexts of the transport messages, concatenated in order, form
//! one stream of frame records:
//!
//! | bytes | field                                                                  |
//! |-------|------------------------------------------------------------------------|
//! | 4     | `len`: frame length, big-endian u32, at most [`TcpConfig::max_frame`]  |
//! | `len` | the frame                                                              |
//!
//! Each transport message's plaintext is at most [`MAX_PLAINTEXT`] = 65 535 − 16 bytes. A
//! frame larger than that spans several messages; the sender also packs several small frames
//! into one message when they are queued together, so a record may start anywhere in a
//! message. (A sender that starts every frame in a fresh message produces a valid stream too.)
//! A message with an empty plaintext is a keepalive: it carries no record and is never
//! reported. The receiver checks `len` against `max_frame` as soon as its four bytes are
//! decrypted, before buffering the frame, and closes the link with
//! [`LinkDown::Protocol`] if it is larger, as it does for a message that fails to decrypt or
//! is shorter than the 16-byte tag.
//!
//! # Threat model of the handshake
//!
//! * **What a link proves.** Noise XX authenticates both static X25519 keys: completing the
//!   handshake proves the peer holds the secret of the static key it sent, right now (the
//!   `es`/`se` DH results key everything after them). The binding, signed by the peer's
//!   Ed25519 identity key, proves that identity once declared that X25519 key its own. Both
//!   together: the peer is the agent named in the binding, or someone holding that agent's
//!   X25519 secret. [`LinkInfo::peer`](crate::host::LinkInfo::peer) is that agent.
//! * **Why `issued_at` is not checked.** A binding is public and replayable, but replaying it
//!   is useless without the X25519 secret, whose possession the handshake proves live on every
//!   connection. An expiry would add nothing against an attacker without the secret and would
//!   not stop one with it (there is no revocation channel at this layer; the X25519 secret is
//!   derived from the identity seed, so losing it means losing the identity). Freshness of
//!   bindings matters where they are stored and forwarded (sealing to a key), not here.
//! * **Confidentiality and integrity.** Transport messages are ChaCha20-Poly1305 (ring's
//!   implementation, see [`NOISE_CRYPTO`]) with per-direction keys from a fresh ephemeral DH, so they are forward secret; every message
//!   is authenticated and numbered by an implicit counter, so tampering, reordering, replay or
//!   truncation inside a message ends the link.
//! * **Identity hiding.** The responder's binding (message 2) is encrypted but revealed to
//!   whoever dials it; the initiator's (message 3) only to a responder that proved its own
//!   binding first (the initiator checks message 2 before sending message 3).
//! * **Denial of service.** Before a peer is authenticated it can hold at most one connection
//!   slot (bounded in total and per IP) for at most [`TcpConfig::handshake_timeout`], with
//!   1 KiB handshake buffers; connections over a limit are closed right after `accept`,
//!   before any per-connection buffer exists. When the inbound slots are full, a newcomer may
//!   evict one inbound connection instead of being refused (stalled handshakes first, then the
//!   youngest link of the largest address group, never the most recently useful or longest
//!   connected links: the rule and its threat model are in the `evict` module's source), so
//!   whoever filled the slots first with free keys does not keep them. An authenticated peer can make a link buffer at
//!   most one frame of [`TcpConfig::max_frame`] (plus one Noise message) and stalls against
//!   the bounded event queue rather than growing memory. An idle link holds about 20 KiB of
//!   buffers; a busy one up to `max_frame` + about 450 KiB, besides the frames waiting in its
//!   send queue and in the event queue.
//!
//! # Duplicate links
//!
//! A second link to a peer that already has one is settled when its handshake completes,
//! with a rule both ends evaluate alike: keep the link dialed by the side whose [`AgentId`]
//! bytes are smaller; if both links were dialed by the same side, keep the one with the
//! smaller Noise handshake hash. If the new link loses, it is never reported up: it is closed
//! and reported as [`TransportEvent::Refused`]. If the established link loses, it goes down
//! with [`LinkDown::Duplicate`] and the new one comes up.
//!
//! # Lifecycle
//!
//! Every link gets a fresh [`LinkId`] (a counter, never reused), exactly one
//! [`TransportEvent::LinkUp`] and exactly one [`TransportEvent::LinkDown`]; its frames are
//! reported between the two. [`Transport::close`] discards nothing already queued: the writer
//! flushes the queue for up to [`TcpConfig::close_linger`], then the link reports
//! [`LinkDown::ClosedLocally`]. [`TcpTransport::shutdown`] (also run on drop) closes every link
//! the same way and stops listening and dialing; [`Transport::next_event`] returns `None`
//! once everything has been reported. A connection reset by the peer counts as
//! [`LinkDown::ClosedByPeer`].

mod codec;
mod config;
pub(crate) mod evict;
#[doc(hidden)]
pub mod fuzzing;
mod handshake;
mod link;
mod slots;
mod tasks;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agentnet_core::seal::{KeyBinding, X25519Secret};
use agentnet_core::{AgentId, Keypair, LinkId, Signed, WallTime};
use async_trait::async_trait;
use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, oneshot, watch};
use tokio::time::Instant;

use crate::host::{LinkDown, Transport, TransportError, TransportEvent};
use crate::linkio::{Backlog, closed_by_peer_or_io};

pub use codec::{MAX_PLAINTEXT, NOISE_MAX_MSG};
pub use config::{MAX_FRAME_LIMIT, TcpConfig};
pub use handshake::{HANDSHAKE_MAX_MSG, NOISE_CRYPTO, NOISE_PATTERN};

use handshake::{Established, Local};
use link::run_link;
#[cfg(feature = "libp2p")]
pub(crate) use slots::ip_group;
use slots::{InboundTicket, Slot};
use tasks::{accept_loop, dial, persistent_dialer};

/// Pause after a failed `accept` (e.g. out of file descriptors) before trying again.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);
/// One registered link.
struct LinkEntry {
    peer: AgentId,
    outbound: bool,
    hash: [u8; 32],
    queue: mpsc::Sender<Bytes>,
    /// Frames dropped and not yet reported, bytes queued.
    backlog: Arc<Backlog>,
    /// Tells the link task why it is being closed (dropping it means "closed locally").
    stop: oneshot::Sender<LinkDown>,
}

struct State {
    /// `None` once shut down; tasks clone it when they start.
    events: Option<mpsc::Sender<TransportEvent>>,
    next_link: u64,
    links: HashMap<LinkId, LinkEntry>,
    by_peer: HashMap<AgentId, LinkId>,
    /// Open connections (handshakes and links).
    conns: usize,
    /// Of which inbound.
    inbound: usize,
    /// Inbound connections by address group ([`ip_group`](slots::ip_group)).
    per_ip: HashMap<IpAddr, usize>,
    /// Every inbound connection, handshakes and links, by connection number: what the
    /// eviction rule ([`evict`]) chooses from. An entry leaves when its slot is released.
    inbound_conns: BTreeMap<u64, InboundConn>,
    next_conn: u64,
    persistent: HashSet<String>,
}

/// One inbound connection, as the eviction rule sees it.
struct InboundConn {
    group: IpAddr,
    opened: Instant,
    /// Set once the handshake completed and the link registered.
    link: Option<LinkId>,
    /// When the link last delivered a frame, in microseconds since [`Shared::epoch`] plus one
    /// (0: never).
    activity: Arc<AtomicU64>,
    /// Ends the handshake (dropped or fired: evicted).
    evict: Option<oneshot::Sender<()>>,
}

impl State {
    fn remove_link(&mut self, link: LinkId) -> Option<LinkEntry> {
        let entry = self.links.remove(&link)?;
        if self.by_peer.get(&entry.peer) == Some(&link) {
            self.by_peer.remove(&entry.peer);
        }
        Some(entry)
    }

    /// Give back an inbound connection's place in the limits, once: `None` if it was already
    /// given back (evicted).
    fn release_inbound(&mut self, conn: u64) -> Option<InboundConn> {
        let entry = self.inbound_conns.remove(&conn)?;
        self.conns = self.conns.saturating_sub(1);
        self.inbound = self.inbound.saturating_sub(1);
        if let Some(n) = self.per_ip.get_mut(&entry.group) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_ip.remove(&entry.group);
            }
        }
        Some(entry)
    }
}

struct Shared {
    local: Local,
    cfg: TcpConfig,
    listen_addr: Option<SocketAddr>,
    runtime: tokio::runtime::Handle,
    state: Mutex<State>,
    shutdown: watch::Sender<bool>,
    /// Woken whenever a link leaves the table.
    link_gone: Notify,
    /// Origin of [`InboundConn::activity`].
    epoch: Instant,
}

/// How an outbound attempt ended (for the persistent dialer).
enum Outcome {
    /// No link came up.
    Failed,
    /// The link lost the duplicate rule against an existing link to `peer`.
    Duplicate(AgentId),
    /// A link was up for this long.
    Ran(Duration),
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state holds plain maps and counters; a panic elsewhere leaves them usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn events(&self) -> Result<mpsc::Sender<TransportEvent>, TransportError> {
        self.lock().events.clone().ok_or(TransportError::Closed)
    }

    fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }

    /// Take an outbound connection slot, or say which limit is full.
    /// Enter an authenticated connection in the link table, settling duplicates.
    fn register(
        &self,
        est: &Established,
        outbound: bool,
        queue: mpsc::Sender<Bytes>,
        backlog: Arc<Backlog>,
        stop: oneshot::Sender<LinkDown>,
        conn: Option<u64>,
    ) -> Result<LinkId, String> {
        let me = self.local.id;
        let mut st = self.lock();
        if st.events.is_none() {
            return Err("transport shut down".into());
        }
        if let Some(conn) = conn
            && !st.inbound_conns.contains_key(&conn)
        {
            return Err("evicted to make room for another inbound connection".into());
        }
        if let Some(&old) = st.by_peer.get(&est.peer)
            && let Some(entry) = st.links.get(&old)
        {
            let dialer = |outbound: bool| if outbound { me } else { est.peer };
            let (old_dialer, new_dialer) = (dialer(entry.outbound), dialer(outbound));
            let keep_new = if old_dialer != new_dialer {
                new_dialer == me.min(est.peer)
            } else {
                est.hash < entry.hash
            };
            if !keep_new {
                return Err(format!(
                    "duplicate link to {}: {old} is kept",
                    est.peer.short()
                ));
            }
            if let Some(loser) = st.remove_link(old) {
                let _ = loser.stop.send(LinkDown::Duplicate);
            }
            self.link_gone.notify_waiters();
        }
        let link = LinkId(st.next_link);
        st.next_link += 1;
        st.links.insert(
            link,
            LinkEntry {
                peer: est.peer,
                outbound,
                hash: est.hash,
                queue,
                backlog,
                stop,
            },
        );
        st.by_peer.insert(est.peer, link);
        if let Some(c) = conn.and_then(|c| st.inbound_conns.get_mut(&c)) {
            c.link = Some(link);
            c.evict = None;
        }
        Ok(link)
    }

    fn unregister(&self, link: LinkId) {
        if self.lock().remove_link(link).is_some() {
            self.link_gone.notify_waiters();
        }
    }
}

/// Wait until the transport shuts down.
async fn stopped(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which also means shut down.
    let _ = rx.wait_for(|&down| down).await;
}

/// Log and report a connection that did not become a link.
async fn refuse(events: &mpsc::Sender<TransportEvent>, remote: String, reason: String) {
    tracing::warn!(%remote, %reason, "tcp connection refused");
    let _ = events
        .send(TransportEvent::Refused { remote, reason })
        .await;
}

/// A TCP + Noise [`Transport`] (see the [module docs](self)).
pub struct TcpTransport {
    shared: Arc<Shared>,
    events: mpsc::Receiver<TransportEvent>,
}

impl fmt::Debug for TcpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.shared.lock();
        f.debug_struct("TcpTransport")
            .field("id", &self.shared.local.id)
            .field("listen", &self.shared.listen_addr)
            .field("links", &st.links.len())
            .field("connections", &st.conns)
            .finish()
    }
}

impl TcpTransport {
    /// A transport authenticating as `keypair`, listening if `cfg.listen` is set. Signs the
    /// key binding (`issued_at = now_wall_ms`, Unix milliseconds) sent in every handshake.
    /// Must run inside a tokio runtime; its tasks run there.
    pub async fn bind(
        keypair: &Keypair,
        cfg: TcpConfig,
        now_wall_ms: u64,
    ) -> Result<TcpTransport, TransportError> {
        cfg.validate()?;
        let id = keypair.id();
        let binding = KeyBinding {
            agent: id,
            x25519: keypair.x25519().public(),
            issued_at: WallTime::from_unix_millis(now_wall_ms),
        };
        let binding = Signed::sign(keypair, binding)
            .map_err(|e| TransportError::Io(format!("cannot sign the key binding: {e}")))?
            .to_frame();
        let secret = X25519Secret::from_bytes(keypair.x25519().to_bytes());
        let local = Local::new(id, secret, binding).map_err(TransportError::Io)?;
        let listener = match cfg.listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|e| TransportError::Io(format!("bind {addr}: {e}")))?,
            ),
            None => None,
        };
        let listen_addr = match &listener {
            Some(l) => Some(
                l.local_addr()
                    .map_err(|e| TransportError::Io(e.to_string()))?,
            ),
            None => None,
        };
        let (tx, rx) = mpsc::channel(cfg.event_queue);
        let shared = Arc::new(Shared {
            local,
            cfg,
            listen_addr,
            runtime: tokio::runtime::Handle::current(),
            state: Mutex::new(State {
                events: Some(tx),
                next_link: 0,
                links: HashMap::new(),
                by_peer: HashMap::new(),
                conns: 0,
                per_ip: HashMap::new(),
                inbound: 0,
                inbound_conns: BTreeMap::new(),
                next_conn: 0,
                persistent: HashSet::new(),
            }),
            shutdown: watch::Sender::new(false),
            link_gone: Notify::new(),
            epoch: Instant::now(),
        });
        if let Some(listener) = listener {
            let events = shared.events()?;
            let stop = shared.shutdown.subscribe();
            shared
                .runtime
                .spawn(accept_loop(Arc::clone(&shared), listener, events, stop));
        }
        Ok(TcpTransport { shared, events: rx })
    }

    /// The address the transport listens on (with the real port if it asked for port 0).
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.shared.listen_addr
    }

    /// The settings in force.
    pub fn config(&self) -> &TcpConfig {
        &self.shared.cfg
    }

    /// Open TCP connections: links plus handshakes in progress, inbound and outbound.
    pub fn connection_count(&self) -> usize {
        self.shared.lock().conns
    }

    /// Links currently up, in id order.
    pub fn links(&self) -> Vec<LinkId> {
        let mut v: Vec<LinkId> = self.shared.lock().links.keys().copied().collect();
        v.sort();
        v
    }

    /// The peer at the other end of `link`, if it is up.
    pub fn peer(&self, link: LinkId) -> Option<AgentId> {
        self.shared.lock().links.get(&link).map(|e| e.peer)
    }

    /// Queue `frame` on `link`, waiting for room instead of dropping (for bulk senders that
    /// prefer backpressure, e.g. benchmarks). Fails if the link is gone.
    pub async fn send_wait(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError> {
        self.check_len(&frame)?;
        let queue = {
            let st = self.shared.lock();
            if st.events.is_none() {
                return Err(TransportError::Closed);
            }
            match st.links.get(&link) {
                Some(e) => e.queue.clone(),
                None => return Err(TransportError::UnknownLink(link)),
            }
        };
        queue
            .send(frame)
            .await
            .map_err(|_| TransportError::UnknownLink(link))
    }

    /// Keep a link to `addr` (`host:port`, optionally `tcp://host:port`): dial now, and
    /// whenever no link from this dialer is up, redial after a delay that starts at
    /// [`TcpConfig::backoff_initial`] and doubles up to [`TcpConfig::backoff_max`]. If the
    /// peer turns out to be linked already (the duplicate rule kept another link), wait until
    /// that link goes down. For bootstrap peers. Calling it again for the same address does
    /// nothing.
    pub fn dial_persistent(&self, addr: &str) -> Result<(), TransportError> {
        let target = parse_target(addr)?;
        let events = {
            let mut st = self.shared.lock();
            let events = st.events.clone().ok_or(TransportError::Closed)?;
            if !st.persistent.insert(target.clone()) {
                return Ok(());
            }
            events
        };
        let stop = self.shared.shutdown.subscribe();
        self.shared.runtime.spawn(persistent_dialer(
            Arc::clone(&self.shared),
            target,
            events,
            stop,
        ));
        Ok(())
    }

    /// Stop redialing `addr` (a link it holds stays up). Returns false if it was not
    /// persistent.
    pub fn stop_persistent(&self, addr: &str) -> bool {
        match parse_target(addr) {
            Ok(target) => self.shared.lock().persistent.remove(&target),
            Err(_) => false,
        }
    }

    /// Close every link (each reports [`LinkDown::ClosedLocally`]), stop listening and
    /// dialing. [`Transport::next_event`] returns `None` after the last report. Idempotent;
    /// also run on drop.
    pub fn shutdown(&self) {
        let entries: Vec<LinkEntry> = {
            let mut st = self.shared.lock();
            st.events = None;
            st.persistent.clear();
            st.by_peer.clear();
            st.links.drain().map(|(_, e)| e).collect()
        };
        for e in entries {
            let _ = e.stop.send(LinkDown::ClosedLocally);
        }
        self.shared.shutdown.send_replace(true);
        self.shared.link_gone.notify_waiters();
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

impl Drop for TcpTransport {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Check a dial target: `host:port` (or `tcp://host:port`) with a numeric port. Returns it
/// as given: that is what the link's `remote` reports (see [`LinkInfo`](crate::LinkInfo)).
fn parse_target(addr: &str) -> Result<String, TransportError> {
    check_address(addr)?;
    Ok(addr.to_string())
}

/// Whether `addr` is an address [`TcpTransport`] can dial: `host:port` or
/// `tcp://host:port`, with a numeric port (a host name is resolved when dialed). For hosts
/// that check what they were given before starting.
pub fn check_address(addr: &str) -> Result<(), TransportError> {
    let bad = || TransportError::BadAddress(addr.to_string());
    let s = socket_part(addr);
    if s.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let (host, port) = s.rsplit_once(':').ok_or_else(bad)?;
    if host.is_empty() || host.contains(['/', ' ']) || port.parse::<u16>().is_err() {
        return Err(bad());
    }
    Ok(())
}

/// `addr` without a `tcp://` prefix: what the socket connects to.
pub(crate) fn socket_part(addr: &str) -> &str {
    addr.strip_prefix("tcp://").unwrap_or(addr)
}

#[async_trait]
impl Transport for TcpTransport {
    fn local_id(&self) -> AgentId {
        self.shared.local.id
    }

    fn local_addr(&self) -> Option<String> {
        self.shared.listen_addr.map(|a| a.to_string())
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
        // The byte bound: the frame's bytes are reserved first (the writer gives them back
        // once the frame is written), so many large frames to a slow reader cannot pile up.
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
        let target = parse_target(addr)?;
        let events = self.shared.events()?;
        let stop = self.shared.shutdown.subscribe();
        let shared = Arc::clone(&self.shared);
        self.shared.runtime.spawn(async move {
            let _ = dial(shared, target, events, stop).await;
        });
        Ok(())
    }

    fn close(&self, link: LinkId) {
        let entry = self.shared.lock().remove_link(link);
        if let Some(e) = entry {
            let _ = e.stop.send(LinkDown::ClosedLocally);
            self.shared.link_gone.notify_waiters();
        }
    }

    async fn next_event(&mut self) -> Option<TransportEvent> {
        self.events.recv().await
    }
}
