//! What the TCP and libp2p transports share about running a link: the bounded send queue's
//! backlog, how [`Transport::send`](crate::Transport::send) offers a frame to it, how drops
//! are reported, how a link's reader, writer and stop signal settle why it ended, and how an
//! I/O error reads as a link going down.

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use agentnet_core::LinkId;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

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

/// Run a link's `reader` beside its `writer` task until the link ends, and say why.
///
/// A local stop (`stop` fires, or its sender is dropped: closed locally) lets the writer flush
/// what is queued for up to `linger`. A local stop is always signalled before its effects (the
/// writer's end of stream, then the peer hanging up) can be seen, so a stop that is pending
/// when the link ends is the real reason. Checking it first (biased) is not enough on its own:
/// one poll of the reader can run long enough to see those effects, so it is checked again
/// after. The writer is aborted if it has not finished.
pub(crate) async fn until_down(
    mut stop: oneshot::Receiver<LinkDown>,
    mut writer: JoinHandle<Option<LinkDown>>,
    reader: impl Future<Output = LinkDown>,
    linger: Duration,
) -> LinkDown {
    // A finished JoinHandle must not be polled again: remember whether it was.
    let mut writer_done = false;
    let reason = tokio::select! {
        biased;
        s = &mut stop => {
            let reason = s.unwrap_or(LinkDown::ClosedLocally);
            writer_done = tokio::time::timeout(linger, &mut writer).await.is_ok();
            reason
        }
        w = &mut writer => {
            writer_done = true;
            match w {
                Ok(Some(reason)) => reason,
                // The queue closed: the link was removed, and `stop` says why.
                Ok(None) => (&mut stop).await.unwrap_or(LinkDown::ClosedLocally),
                Err(e) => LinkDown::Io(format!("writer task failed: {e}")),
            }
        }
        r = reader => r,
    };
    let reason = stop.try_recv().unwrap_or(reason);
    if !writer_done {
        writer.abort();
        let _ = writer.await;
    }
    reason
}

/// Report a link's end: the drops not yet reported, then its one `LinkDown` (waiting for room
/// in the event queue: neither may be lost).
pub(crate) async fn report_down(
    backlog: &Backlog,
    link: LinkId,
    reason: LinkDown,
    events: &mpsc::Sender<TransportEvent>,
) {
    let frames = backlog.dropped.swap(0, Ordering::Relaxed);
    if frames > 0 {
        let _ = events
            .send(TransportEvent::SendDropped { link, frames })
            .await;
    }
    let _ = events.send(TransportEvent::LinkDown { link, reason }).await;
}
