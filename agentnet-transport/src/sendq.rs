//! What the TCP and libp2p transports share about a link's send side: the bounded queue's
//! backlog, how [`Transport::send`](crate::Transport::send) offers a frame to it, how drops
//! are reported, and how an I/O error reads as a link going down.

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use agentnet_core::LinkId;
use bytes::Bytes;
use tokio::sync::mpsc;

use crate::host::{LinkDown, TransportError, TransportEvent};

/// What a link's send queue holds beyond its frames: drops not yet reported and bytes queued.
#[derive(Default)]
pub(crate) struct Backlog {
    pub(crate) dropped: AtomicU64,
    pub(crate) bytes: AtomicUsize,
}

impl Backlog {
    /// Report the drops not yet reported, without waiting: if the event queue is full they
    /// stay counted for the next report (counts are coalesced, never lost).
    pub(crate) fn report_drops(&self, link: LinkId, events: &mpsc::Sender<TransportEvent>) {
        if self.dropped.load(Ordering::Relaxed) == 0 {
            return;
        }
        let frames = self.dropped.swap(0, Ordering::Relaxed);
        if frames > 0
            && events
                .try_send(TransportEvent::SendDropped { link, frames })
                .is_err()
        {
            self.dropped.fetch_add(frames, Ordering::Relaxed);
        }
    }

    /// A frame left the queue.
    pub(crate) fn sent(&self, len: usize) {
        self.bytes.fetch_sub(len, Ordering::Relaxed);
    }
}

/// Offer `frame` to `link`'s queue without waiting. Over `max_bytes` queued or the queue's
/// frame bound, the frame is dropped and the drop reported (`Ok`: dropping is the promised
/// backpressure); a queue whose link is gone is [`TransportError::UnknownLink`].
pub(crate) fn offer(
    queue: &mpsc::Sender<Bytes>,
    backlog: &Backlog,
    max_bytes: usize,
    events: &mpsc::Sender<TransportEvent>,
    link: LinkId,
    frame: Bytes,
) -> Result<(), TransportError> {
    let len = frame.len();
    let over = backlog.bytes.fetch_add(len, Ordering::Relaxed) + len > max_bytes;
    let sent = if over {
        Err(())
    } else {
        queue.try_send(frame).map_err(drop)
    };
    if sent.is_ok() {
        return Ok(());
    }
    backlog.bytes.fetch_sub(len, Ordering::Relaxed);
    if queue.is_closed() {
        return Err(TransportError::UnknownLink(link));
    }
    backlog.dropped.fetch_add(1, Ordering::Relaxed);
    backlog.report_drops(link, events);
    Ok(())
}

/// How an I/O error on a link's connection ends the link.
pub(crate) fn closed_by_peer_or_io(e: &io::Error) -> LinkDown {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe
        | io::ErrorKind::UnexpectedEof => LinkDown::ClosedByPeer,
        _ => LinkDown::Io(e.to_string()),
    }
}
