//! A custom [`Transport`]: agentnet links over Unix domain sockets, in about 400 lines.
//!
//! This is the template for plugging agentnet into any byte stream (a Unix socket, a serial
//! line, a WebSocket, a QUIC stream). What a transport owes the
//! [`Node`](agentnet_transport::Node) is written once, on the [`Transport`] trait; the
//! conformance suite (`agentnet_transport::conformance`, cargo feature `conformance`) checks
//! it, and `tests/custom_transport.rs` runs the suite against this transport. Where this file
//! keeps the promises:
//!
//! * **Authenticated links, safe against replay.** Each side first sends a fresh random
//!   32-byte challenge, then a proof: its number for the link, its agent id and its signature
//!   (domain `agentnet/v1/hello-proof`) over the *peer's* challenge, its id and the number.
//!   The reader checks the signature against the claimed id and takes that id as the peer. A
//!   proof answers one challenge only, so a hello recorded on one connection fails on every
//!   other. (It authenticates the peer, not the bytes after it: the socket itself must not be
//!   writable by others, which holds for a Unix socket in a private directory. Over a network,
//!   bind the session keys too, as the TCP transport does with Noise.)
//! * **No self-links, one link per peer.** A hello from the transport's own identity is
//!   refused. Of two links to one peer, both ends keep the one dialed by the smaller
//!   [`AgentId`], and of two dialed by the same side the one that side numbered lower (see
//!   `register`): the loser is refused, or goes down with [`LinkDown::Duplicate`].
//! * **Whole frames, in order.** Frames are sent as a 4-byte big-endian length and the bytes;
//!   the reader refuses lengths above [`MAX_FRAME`] before allocating.
//! * **Never block in `send`.** Each link has a bounded queue drained by a writer task; a
//!   full queue drops the frame and reports [`TransportEvent::SendDropped`] (counts that do
//!   not fit in the event queue are kept and reported with the next drop or at link down).
//! * **One `LinkUp`, one `LinkDown`, frames between them.** All events of a link come from its
//!   own task, which reports `LinkDown` last; [`Transport::close`] and the duplicate rule only
//!   tell that task to stop. After a local close the task lets the writer flush for up to
//!   [`LINGER`] first. `next_event` is a channel receive, cancel-safe as
//!   [`Transport::next_event`] requires.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use agentnet_core::hash::domain::HELLO_PROOF;
use agentnet_core::{AgentId, Keypair, LinkId, Signature, WallTime};
use agentnet_transport::{LinkDown, LinkInfo, Transport, TransportError, TransportEvent};
use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

/// Largest frame carried, bytes.
pub const MAX_FRAME: usize = 1 << 20;
/// Frames queued per link before `send` drops.
pub const LINK_QUEUE: usize = 256;
/// How long a new connection may take to send its challenge and its proof.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a closed link's writer may take to flush its queue.
pub const LINGER: Duration = Duration::from_secs(2);

/// Links over Unix sockets; one per node.
#[derive(Debug)]
pub struct UnixTransport {
    shared: Arc<Shared>,
    events: mpsc::Receiver<TransportEvent>,
}

/// What the link, accept and dial tasks share with the transport.
#[derive(Debug)]
struct Shared {
    id: AgentId,
    /// Signs this side's hello proofs.
    keys: Keypair,
    next: AtomicU64,
    links: Mutex<HashMap<LinkId, Entry>>,
    /// The socket path of [`UnixTransport::listen`] and its accept task.
    listening: Mutex<Option<(String, AbortHandle)>>,
    events_tx: mpsc::Sender<TransportEvent>,
}

/// One link that is up.
#[derive(Debug)]
struct Entry {
    peer: AgentId,
    /// The duplicate rule's order: who dialed, and the dialer's number for the link.
    rank: (AgentId, u64),
    queue: mpsc::Sender<Bytes>,
    /// Drops not reported yet.
    dropped: Arc<AtomicU64>,
    /// Tells the link's task to stop, and why.
    stop: oneshot::Sender<LinkDown>,
}

impl Shared {
    fn links(&self) -> MutexGuard<'_, HashMap<LinkId, Entry>> {
        self.links.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl UnixTransport {
    /// A transport for `keys` (signs the hello proofs it shows peers). `now` is unused and
    /// kept for the signature other transports share.
    pub fn new(keys: &Keypair, _now: WallTime) -> Self {
        let (events_tx, events) = mpsc::channel(1024);
        let shared = Shared {
            id: keys.id(),
            keys: Keypair::from_seed(*keys.seed()),
            next: AtomicU64::new(0),
            links: Mutex::new(HashMap::new()),
            listening: Mutex::new(None),
            events_tx,
        };
        UnixTransport {
            shared: Arc::new(shared),
            events,
        }
    }

    /// Run a link over `stream` (one end of `UnixStream::pair()`, or an accepted/dialed socket).
    pub fn attach(&self, stream: UnixStream, remote: String, outbound: bool) {
        attach(self.shared.clone(), stream, remote, outbound);
    }

    /// Accept links on a socket path until the transport is dropped; the path becomes
    /// [`Transport::local_addr`]. Listens on one path at most.
    pub fn listen(&self, path: &Path) -> std::io::Result<()> {
        let mut listening = self.shared.listening.lock().expect("listening");
        if listening.is_some() {
            return Err(std::io::Error::other("already listening"));
        }
        let listener = tokio::net::UnixListener::bind(path)?;
        let shared = self.shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                attach(shared.clone(), s, "unix:accepted".into(), false);
            }
        });
        *listening = Some((path.to_string_lossy().into_owned(), task.abort_handle()));
        Ok(())
    }
}

impl Drop for UnixTransport {
    fn drop(&mut self) {
        if let Some((_, task)) = self.shared.listening.lock().expect("listening").take() {
            task.abort();
        }
        for (_, e) in self.shared.links().drain() {
            let _ = e.stop.send(LinkDown::ClosedLocally);
        }
    }
}

fn attach(shared: Arc<Shared>, stream: UnixStream, remote: String, outbound: bool) {
    let link = LinkId(shared.next.fetch_add(1, Ordering::Relaxed));
    tokio::spawn(run_link(shared, stream, remote, outbound, link));
}

/// One link's whole life: hello, registration, frames, and the one `LinkDown`.
async fn run_link(
    shared: Arc<Shared>,
    stream: UnixStream,
    remote: String,
    outbound: bool,
    link: LinkId,
) {
    let events = &shared.events_tx;
    let (mut rd, mut wr) = stream.into_split();
    let (queue, rx) = mpsc::channel::<Bytes>(LINK_QUEUE);
    // No link until the peer has answered this side's challenge.
    let hello =
        match tokio::time::timeout(HELLO_TIMEOUT, hello(&shared, link, &mut rd, &mut wr)).await {
            Ok(Ok((peer, _))) if peer == shared.id => Err("self-connection".to_string()),
            Ok(hello) => hello,
            Err(_) => Err("no hello in time".to_string()),
        };
    let mut writer = tokio::spawn(write_frames(wr, rx));
    let (stop_tx, mut stop) = oneshot::channel();
    let dropped = Arc::new(AtomicU64::new(0));
    let registered = hello.and_then(|(peer, number)| {
        let rank = if outbound {
            (shared.id, link.0)
        } else {
            (peer, number)
        };
        let (queue, dropped) = (queue, dropped.clone());
        register(
            &shared,
            link,
            Entry {
                peer,
                rank,
                queue,
                dropped,
                stop: stop_tx,
            },
        )
        .map(|()| peer)
    });
    let peer = match registered {
        Ok(peer) => peer,
        Err(reason) => {
            writer.abort();
            let _ = events
                .send(TransportEvent::Refused { remote, reason })
                .await;
            return;
        }
    };
    let up = LinkInfo {
        link,
        peer,
        remote,
        outbound,
    };
    let _ = events.send(TransportEvent::LinkUp(up)).await;
    let reason = loop {
        tokio::select! {
            read = read_frame(&mut rd) => match read {
                Ok(frame) => {
                    let _ = events.send(TransportEvent::Frame { link, frame }).await;
                }
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    break LinkDown::ClosedByPeer;
                }
                Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                    break LinkDown::Protocol(e.to_string());
                }
                Err(e) => break LinkDown::Io(e.to_string()),
            },
            why = &mut stop => break why.unwrap_or(LinkDown::ClosedLocally),
        }
    };
    // Gone from the table (if the peer ended it), the queue's sender is dropped: the writer
    // sends what is queued and closes our half.
    drop(shared.links().remove(&link));
    if tokio::time::timeout(LINGER, &mut writer).await.is_err() {
        writer.abort();
    }
    let frames = dropped.swap(0, Ordering::Relaxed);
    if frames > 0 {
        let _ = events
            .send(TransportEvent::SendDropped { link, frames })
            .await;
    }
    let _ = events.send(TransportEvent::LinkDown { link, reason }).await;
}

/// Enter a link in the table, settling duplicates: of two links to one peer, keep the one of
/// smaller rank (both ends compute the same ranks).
fn register(shared: &Shared, link: LinkId, entry: Entry) -> Result<(), String> {
    let mut links = shared.links();
    let old = links.iter().find(|(_, e)| e.peer == entry.peer);
    if let Some((&old, e)) = old {
        if e.rank < entry.rank {
            return Err(format!(
                "duplicate link to {}: {old} is kept",
                e.peer.short()
            ));
        }
        if let Some(loser) = links.remove(&old) {
            let _ = loser.stop.send(LinkDown::Duplicate);
        }
    }
    links.insert(link, entry);
    Ok(())
}

async fn write_frames(mut wr: OwnedWriteHalf, mut rx: mpsc::Receiver<Bytes>) {
    while let Some(f) = rx.recv().await {
        if write_frame(&mut wr, &f).await.is_err() {
            break;
        }
    }
}

async fn write_frame(wr: &mut OwnedWriteHalf, f: &[u8]) -> std::io::Result<()> {
    wr.write_all(&(f.len() as u32).to_be_bytes()).await?;
    wr.write_all(f).await
}

/// The signed bytes of a hello proof: the challenge it answers, the prover's id, its number
/// for the link.
fn proof_input(challenge: &[u8], id: &AgentId, number: u64) -> Vec<u8> {
    [challenge, id.as_bytes(), &number.to_be_bytes()].concat()
}

/// Both sides: send a fresh challenge, read the peer's, answer it, read and check the peer's
/// answer to ours. Returns the peer's identity and its number for the link.
async fn hello(
    shared: &Shared,
    link: LinkId,
    rd: &mut (impl AsyncReadExt + Unpin),
    wr: &mut OwnedWriteHalf,
) -> Result<(AgentId, u64), String> {
    let mut ours = [0u8; 32];
    getrandom::fill(&mut ours).map_err(|e| format!("no randomness: {e}"))?;
    write_frame(wr, &ours).await.map_err(|e| e.to_string())?;
    let theirs = read_frame(rd).await.map_err(|e| e.to_string())?;
    if theirs.len() != 32 {
        return Err("bad challenge".into());
    }
    let sig = shared
        .keys
        .sign_bytes(HELLO_PROOF, &proof_input(&theirs, &shared.id, link.0));
    let mut proof = BytesMut::with_capacity(8 + 32 + 64);
    proof.extend_from_slice(&link.0.to_be_bytes());
    proof.extend_from_slice(shared.id.as_bytes());
    proof.extend_from_slice(sig.as_bytes());
    write_frame(wr, &proof).await.map_err(|e| e.to_string())?;
    let proof = read_frame(rd).await.map_err(|e| e.to_string())?;
    if proof.len() != 8 + 32 + 64 {
        return Err("bad hello proof".into());
    }
    let number = u64::from_be_bytes(proof[..8].try_into().expect("8 bytes"));
    let peer = AgentId::from_bytes(proof[8..40].try_into().expect("32 bytes"));
    let sig = Signature(proof[40..].try_into().expect("64 bytes"));
    peer.verify(HELLO_PROOF, &proof_input(&ours, &peer, number), &sig)
        .map_err(|e| format!("hello proof does not verify: {e}"))?;
    Ok((peer, number))
}

async fn read_frame(rd: &mut (impl AsyncReadExt + Unpin)) -> std::io::Result<Bytes> {
    let mut len = [0u8; 4];
    rd.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("frame of {len} bytes"),
        ));
    }
    let mut buf = vec![0u8; len];
    rd.read_exact(&mut buf).await?;
    Ok(Bytes::from(buf))
}

#[async_trait]
impl Transport for UnixTransport {
    fn local_id(&self) -> AgentId {
        self.shared.id
    }

    fn local_addr(&self) -> Option<String> {
        let listening = self.shared.listening.lock().expect("listening");
        listening.as_ref().map(|(path, _)| path.clone())
    }

    fn send(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError> {
        if frame.len() > MAX_FRAME {
            return Err(TransportError::FrameTooLarge {
                len: frame.len(),
                max: MAX_FRAME,
            });
        }
        let links = self.shared.links();
        let entry = links.get(&link).ok_or(TransportError::UnknownLink(link))?;
        if entry.queue.try_send(frame).is_err() {
            // Coalesce: report every drop not reported yet; keep the count if the report
            // does not fit (the next drop or the link's end reports it).
            entry.dropped.fetch_add(1, Ordering::Relaxed);
            let frames = entry.dropped.swap(0, Ordering::Relaxed);
            let report = TransportEvent::SendDropped { link, frames };
            if self.shared.events_tx.try_send(report).is_err() {
                entry.dropped.fetch_add(frames, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    fn connect(&self, addr: &str) -> Result<(), TransportError> {
        let (shared, path) = (self.shared.clone(), addr.to_string());
        tokio::spawn(async move {
            match UnixStream::connect(&path).await {
                Ok(s) => attach(shared, s, path, true),
                Err(e) => {
                    let ev = TransportEvent::Refused {
                        remote: path,
                        reason: e.to_string(),
                    };
                    let _ = shared.events_tx.send(ev).await;
                }
            }
        });
        Ok(())
    }

    fn close(&self, link: LinkId) {
        // The link's task flushes the queue and reports the link down.
        if let Some(e) = self.shared.links().remove(&link) {
            let _ = e.stop.send(LinkDown::ClosedLocally);
        }
    }

    async fn next_event(&mut self) -> Option<TransportEvent> {
        self.events.recv().await
    }
}
