//! One authenticated link's life: registered, its reader and writer run until it ends, then
//! reported down.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use agentnet_core::LinkId;

use super::codec::{FRAME_PREFIX, MSG_PREFIX, Opener, Sealer, TAG_LEN};
use super::handshake::Established;
use super::{Backlog, Outcome, Shared, Slot, closed_by_peer_or_io, refuse};
use crate::host::{LinkDown, LinkInfo, TransportEvent};
use crate::linkio::{report_down, until_down};

/// Read buffer of a new link (bytes): small, so that idle links stay cheap.
const READ_INITIAL: usize = 4 * 1024;
/// Read buffer a link's reader keeps free before each `read` once traffic flows (bytes).
const READ_CHUNK: usize = 64 * 1024;
/// Wire bytes a link's writer gathers before a `write` call (bytes).
const WRITE_BATCH: usize = 128 * 1024;
/// Register an authenticated connection (socket, remote address, handshake result), run it
/// until it ends, report it. `activity` (inbound links) is stamped whenever a frame arrives.
pub(super) async fn run_link(
    shared: Arc<Shared>,
    (stream, remote, est): (TcpStream, String, Established),
    outbound: bool,
    slot: Slot,
    activity: Option<Arc<AtomicU64>>,
    events: mpsc::Sender<TransportEvent>,
) -> Outcome {
    let cfg = &shared.cfg;
    let (queue_tx, queue_rx) = mpsc::channel(cfg.send_queue);
    let (stop_tx, stop_rx) = oneshot::channel();
    let backlog = Arc::new(Backlog::default());
    let registered = shared.register(
        &est,
        outbound,
        queue_tx,
        Arc::clone(&backlog),
        stop_tx,
        slot.conn,
    );
    let link = match registered {
        Ok(link) => link,
        Err(reason) => {
            drop((stream, slot));
            refuse(&events, remote, reason).await;
            return Outcome::Duplicate(est.peer);
        }
    };
    tracing::debug!(%link, peer = %est.peer.short(), %remote, outbound, "tcp link up");
    let up = TransportEvent::LinkUp(LinkInfo {
        link,
        peer: est.peer,
        remote,
        outbound,
    });
    let _ = events.send(up).await;
    let started = Instant::now();
    let noise = Arc::new(est.noise);
    let (rd, wr) = stream.into_split();
    let writer = shared.runtime.spawn(write_loop(
        wr,
        Sealer::new(Arc::clone(&noise)),
        queue_rx,
        link,
        Arc::clone(&backlog),
        events.clone(),
        cfg.idle_timeout / 3,
    ));
    let reader = read_loop(
        rd,
        Opener::new(noise, cfg.max_frame),
        link,
        &events,
        cfg.idle_timeout,
        activity.map(|a| (a, shared.epoch)),
    );
    let reason = until_down(stop_rx, writer, reader, cfg.close_linger).await;
    shared.unregister(link);
    drop(slot);
    tracing::debug!(%link, %reason, "tcp link down");
    report_down(&backlog, link, reason, &events).await;
    Outcome::Ran(started.elapsed())
}

/// Read Noise messages, deliver frames, until the connection ends or breaks the protocol.
async fn read_loop(
    mut rd: OwnedReadHalf,
    mut opener: Opener,
    link: LinkId,
    events: &mpsc::Sender<TransportEvent>,
    idle: Duration,
    activity: Option<(Arc<AtomicU64>, Instant)>,
) -> LinkDown {
    let mut buf = BytesMut::with_capacity(READ_INITIAL);
    let mut busy = false;
    let mut deadline = Instant::now() + idle;
    loop {
        let mut got_message = false;
        let mut got_frame = false;
        while buf.len() >= MSG_PREFIX {
            let len = usize::from(u16::from_be_bytes([buf[0], buf[1]]));
            if len < TAG_LEN {
                return LinkDown::Protocol(format!(
                    "noise message of {len} bytes is shorter than its tag"
                ));
            }
            if buf.len() < MSG_PREFIX + len {
                buf.reserve(MSG_PREFIX + len - buf.len());
                break;
            }
            if let Err(e) = opener.open(&buf[MSG_PREFIX..MSG_PREFIX + len]) {
                return LinkDown::Protocol(e.to_string());
            }
            buf.advance(MSG_PREFIX + len);
            got_message = true;
            loop {
                match opener.next_frame() {
                    Ok(Some(frame)) => {
                        if !got_frame && let Some((stamp, epoch)) = &activity {
                            // Stamped before the frame is reported, so whoever sees the frame
                            // sees the link as active. Microseconds since the epoch, plus one
                            // so that 0 means "never".
                            let us = epoch.elapsed().as_micros();
                            let us = u64::try_from(us).unwrap_or(u64::MAX).saturating_add(1);
                            stamp.store(us, Ordering::Relaxed);
                        }
                        got_frame = true;
                        let ev = TransportEvent::Frame { link, frame };
                        if events.send(ev).await.is_err() {
                            return LinkDown::ClosedLocally;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => return LinkDown::Protocol(e.to_string()),
                }
            }
        }
        if got_message {
            deadline = Instant::now() + idle;
        }
        // Keep at least a quarter of a read's worth free (reserving reclaims consumed space
        // before it allocates). Reads are small until one fills the buffer: then the link is
        // busy and reads go full size.
        let chunk = if busy { READ_CHUNK } else { READ_INITIAL };
        if buf.capacity() - buf.len() < chunk / 4 {
            buf.reserve(chunk);
        }
        let spare = buf.capacity() - buf.len();
        match tokio::time::timeout_at(deadline, rd.read_buf(&mut buf)).await {
            Err(_) => return LinkDown::IdleTimeout,
            Ok(Ok(0)) => return LinkDown::ClosedByPeer,
            Ok(Ok(n)) => busy |= n == spare,
            Ok(Err(e)) => return closed_by_peer_or_io(&e),
        }
    }
}

/// Feeds one link's socket from its send queue.
struct Writer {
    wr: OwnedWriteHalf,
    sealer: Sealer,
}

impl Writer {
    async fn write_out(&mut self) -> Result<(), LinkDown> {
        if !self.sealer.out().is_empty() {
            self.wr
                .write_all(self.sealer.out())
                .await
                .map_err(|e| closed_by_peer_or_io(&e))?;
            self.sealer.clear_out();
        }
        Ok(())
    }

    async fn push(&mut self, mut data: &[u8]) -> Result<(), LinkDown> {
        while !data.is_empty() {
            let n = self
                .sealer
                .push(data)
                .map_err(|e| LinkDown::Io(e.to_string()))?;
            data = &data[n..];
            if self.sealer.out().len() >= WRITE_BATCH {
                self.write_out().await?;
            }
        }
        Ok(())
    }

    async fn frame(&mut self, frame: &[u8]) -> Result<(), LinkDown> {
        // `send` refuses frames above max_frame <= MAX_FRAME_LIMIT < 2^32.
        let len = u32::try_from(frame.len())
            .map_err(|_| LinkDown::Io(format!("frame of {} bytes", frame.len())))?;
        let mut prefix = [0u8; FRAME_PREFIX];
        prefix.copy_from_slice(&len.to_be_bytes());
        self.push(&prefix).await?;
        self.push(frame).await
    }

    /// Seal what is pending (an empty message if `keepalive`) and write everything.
    async fn flush(&mut self, keepalive: bool) -> Result<(), LinkDown> {
        if keepalive || self.sealer.has_plain() {
            self.sealer
                .seal()
                .map_err(|e| LinkDown::Io(e.to_string()))?;
        }
        self.write_out().await
    }
}

/// Returns `Some(reason)` if the connection failed, `None` once the queue closed (the link was
/// removed locally) and everything queued was written.
async fn write_loop(
    wr: OwnedWriteHalf,
    sealer: Sealer,
    mut queue: mpsc::Receiver<Bytes>,
    link: LinkId,
    backlog: Arc<Backlog>,
    events: mpsc::Sender<TransportEvent>,
    keepalive: Duration,
) -> Option<LinkDown> {
    let mut w = Writer { wr, sealer };
    let result: Result<(), LinkDown> = async {
        let mut next_keepalive = Instant::now() + keepalive;
        loop {
            let first = tokio::select! {
                f = queue.recv() => f,
                () = tokio::time::sleep_until(next_keepalive) => {
                    w.flush(true).await?;
                    next_keepalive = Instant::now() + keepalive;
                    continue;
                }
            };
            let Some(frame) = first else {
                w.flush(false).await?;
                let _ = w.wr.shutdown().await;
                return Ok(());
            };
            w.frame(&frame).await?;
            backlog.sent(frame.len());
            // Pack whatever else is already queued into the same messages and writes.
            while let Ok(frame) = queue.try_recv() {
                w.frame(&frame).await?;
                backlog.sent(frame.len());
            }
            w.flush(false).await?;
            next_keepalive = Instant::now() + keepalive;
            backlog.report_drops(link, &events);
        }
    }
    .await;
    result.err()
}
