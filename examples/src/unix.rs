//! A custom [`Transport`]: agentnet links over Unix domain sockets, in under 200 lines.
//!
//! This is the template for plugging agentnet into any byte stream (a Unix socket, a serial
//! line, a WebSocket, a QUIC stream). What a transport owes the [`Node`](agentnet_transport::Node),
//! and where this file does it:
//!
//! 1. **Authenticated links.** A link is reported up only with the peer's [`AgentId`]. Here
//!    each side first sends its signed [`KeyBinding`]; the reader verifies the signature and
//!    takes the signer as the peer (see [`UnixTransport::attach`]). Caveat of this example: a
//!    binding can be replayed by whoever saw it, so this proves identity only between
//!    processes that trust the socket's other end (same user, same machine). The TCP
//!    transport proves possession of the bound key with Noise instead.
//! 2. **Whole frames, in order.** Frames are sent as a 4-byte big-endian length and the bytes;
//!    the reader refuses lengths above [`MAX_FRAME`] before allocating.
//! 3. **Never block in `send`.** Each link has a bounded queue drained by a writer task; a
//!    full queue drops the frame and reports [`TransportEvent::SendDropped`].
//! 4. **Exactly one `LinkUp` and one `LinkDown` per link**, `next_event` cancel-safe (it is an
//!    `mpsc` receive).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use agentnet_core::seal::KeyBinding;
use agentnet_core::wire::Limits;
use agentnet_core::{AgentId, Keypair, LinkId, Signed, WallTime};
use agentnet_transport::{LinkDown, LinkInfo, Transport, TransportError, TransportEvent};
use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

/// Largest frame carried, bytes.
pub const MAX_FRAME: usize = 1 << 20;
/// Frames queued per link before `send` drops.
pub const LINK_QUEUE: usize = 256;

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
    binding: Bytes,
    next: AtomicU64,
    links: Mutex<HashMap<LinkId, mpsc::Sender<Bytes>>>,
    events_tx: mpsc::Sender<TransportEvent>,
}

impl UnixTransport {
    /// A transport for `keys` (signs the binding it shows peers).
    pub fn new(keys: &Keypair, now: WallTime) -> Self {
        let binding = KeyBinding {
            agent: keys.id(),
            x25519: keys.x25519().public(),
            issued_at: now,
        };
        let binding = Signed::sign(keys, binding).expect("own binding").to_frame();
        let (events_tx, events) = mpsc::channel(1024);
        let shared = Shared {
            id: keys.id(),
            binding,
            next: AtomicU64::new(0),
            links: Mutex::new(HashMap::new()),
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

    /// Accept links on a socket path until the transport is dropped.
    pub fn listen(&self, path: &Path) -> std::io::Result<()> {
        let listener = tokio::net::UnixListener::bind(path)?;
        let shared = self.shared.clone();
        tokio::spawn(async move {
            while let Ok((s, _)) = listener.accept().await {
                attach(shared.clone(), s, "unix:accepted".into(), false);
            }
        });
        Ok(())
    }
}

fn attach(shared: Arc<Shared>, stream: UnixStream, remote: String, outbound: bool) {
    let link = LinkId(shared.next.fetch_add(1, Ordering::Relaxed));
    let (tx, mut rx) = mpsc::channel::<Bytes>(LINK_QUEUE);
    tokio::spawn(async move {
        let events = &shared.events_tx;
        let (mut rd, mut wr) = stream.into_split();
        let mut frame = Some(shared.binding.clone());
        let writer = tokio::spawn(async move {
            while let Some(f) = frame {
                let len = (f.len() as u32).to_be_bytes();
                if wr.write_all(&len).await.is_err() || wr.write_all(&f).await.is_err() {
                    break;
                }
                frame = rx.recv().await;
            }
        });
        // The first frame is the peer's binding: no link until it verifies.
        let peer = match read_frame(&mut rd).await {
            Ok(f) => match Signed::<KeyBinding>::from_frame(&f, &Limits::default()) {
                Ok(b) => b.agent,
                Err(e) => return refuse(events, remote, format!("bad binding: {e}"), writer).await,
            },
            Err(e) => return refuse(events, remote, e.to_string(), writer).await,
        };
        shared.links.lock().expect("links").insert(link, tx);
        let up = LinkInfo {
            link,
            peer,
            remote,
            outbound,
        };
        let _ = events.send(TransportEvent::LinkUp(up)).await;
        let reason = loop {
            match read_frame(&mut rd).await {
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
            }
        };
        // A local close removed the entry first and already reported the link down.
        if shared.links.lock().expect("links").remove(&link).is_some() {
            let _ = events.send(TransportEvent::LinkDown { link, reason }).await;
        }
        writer.abort();
    });
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

async fn refuse(
    events: &mpsc::Sender<TransportEvent>,
    remote: String,
    reason: String,
    writer: tokio::task::JoinHandle<()>,
) {
    writer.abort();
    let _ = events
        .send(TransportEvent::Refused { remote, reason })
        .await;
}

#[async_trait]
impl Transport for UnixTransport {
    fn local_id(&self) -> AgentId {
        self.shared.id
    }

    fn local_addr(&self) -> Option<String> {
        None
    }

    fn send(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError> {
        if frame.len() > MAX_FRAME {
            return Err(TransportError::FrameTooLarge {
                len: frame.len(),
                max: MAX_FRAME,
            });
        }
        let links = self.shared.links.lock().expect("links");
        let tx = links.get(&link).ok_or(TransportError::UnknownLink(link))?;
        if tx.try_send(frame).is_err() {
            let dropped = TransportEvent::SendDropped { link, frames: 1 };
            let _ = self.shared.events_tx.try_send(dropped);
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
        // Dropping the queue ends the writer, which closes our half; the peer sees EOF.
        if self
            .shared
            .links
            .lock()
            .expect("links")
            .remove(&link)
            .is_some()
        {
            let ev = TransportEvent::LinkDown {
                link,
                reason: LinkDown::ClosedLocally,
            };
            let _ = self.shared.events_tx.try_send(ev);
        }
    }

    async fn next_event(&mut self) -> Option<TransportEvent> {
        self.events.recv().await
    }
}
