//! Throughput and connect-time measurements over any pair of [`Transport`]s, for
//! `bench_transport`: connect two transports, move a fixed number of equal frames from one to
//! the other, and time connects.
//!
//! A transport joins the benchmark by implementing [`SendWait`] (queue a frame, waiting for
//! room instead of dropping it: [`Transport::send`] drops when the link's queue is full, which
//! a bulk sender must not do) and then calling [`link_pair`], [`transport_throughput`] and
//! [`transport_handshakes`] with two instances of it; `bench_transport`'s `Contender` enum
//! lists the rows.

use std::error::Error;
use std::time::{Duration, Instant};

use agentnet_core::LinkId;
use agentnet_transport::tcp::TcpTransport;
use agentnet_transport::{Transport, TransportError, TransportEvent};
use async_trait::async_trait;
use bytes::Bytes;

/// Errors of the benchmark helpers.
pub type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// How long any single wait may take before a measurement gives up.
pub const WAIT: Duration = Duration::from_secs(60);

/// A transport that can queue a frame with backpressure: waits for room in the link's queue
/// instead of dropping the frame.
#[async_trait]
pub trait SendWait: Transport {
    /// Queue `frame` on `link`, waiting while the queue is full. Fails if the link is gone.
    async fn send_wait(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError>;
}

#[async_trait]
impl SendWait for TcpTransport {
    async fn send_wait(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError> {
        TcpTransport::send_wait(self, link, frame).await
    }
}

#[async_trait]
impl SendWait for agentnet_transport::libp2p::Libp2pTransport {
    async fn send_wait(&self, link: LinkId, frame: Bytes) -> Result<(), TransportError> {
        agentnet_transport::libp2p::Libp2pTransport::send_wait(self, link, frame).await
    }
}

/// The next event of `t`, or an error if none comes within [`WAIT`] or `t` shut down.
pub async fn next_event<T: Transport + ?Sized>(t: &mut T) -> BenchResult<TransportEvent> {
    tokio::time::timeout(WAIT, t.next_event())
        .await
        .map_err(|_| "timed out waiting for a transport event")?
        .ok_or_else(|| "transport closed".into())
}

/// Waits for the next [`TransportEvent::LinkUp`] of `t` (an error on `Refused`).
pub async fn wait_up<T: Transport + ?Sized>(t: &mut T) -> BenchResult<LinkId> {
    loop {
        match next_event(t).await? {
            TransportEvent::LinkUp(info) => return Ok(info.link),
            TransportEvent::Refused { reason, .. } => return Err(reason.into()),
            _ => {}
        }
    }
}

/// Waits for the next [`TransportEvent::LinkDown`] of `t`.
pub async fn wait_down<T: Transport + ?Sized>(t: &mut T) -> BenchResult<()> {
    loop {
        if let TransportEvent::LinkDown { .. } = next_event(t).await? {
            return Ok(());
        }
    }
}

/// Has `dialer` connect to `listener` (which must listen) and waits until both report the
/// link. Returns `(listener's link, dialer's link)`.
pub async fn link_pair<L, D>(listener: &mut L, dialer: &mut D) -> BenchResult<(LinkId, LinkId)>
where
    L: Transport + ?Sized,
    D: Transport + ?Sized,
{
    let addr = listener.local_addr().ok_or("listener does not listen")?;
    dialer.connect(&addr)?;
    let (l, d) = tokio::join!(wait_up(listener), wait_up(dialer));
    Ok((l?, d?))
}

/// Seconds to move `frames` frames of `size` bytes from `sender` (on `send_link`) to
/// `receiver` (on `recv_link`): timed from the sender's first `send_wait` until the receiver
/// holds the last frame. The sender runs in its own task and is handed back afterwards, so its
/// link stays up until the measurement is over.
pub async fn transport_throughput<S, R>(
    sender: S,
    send_link: LinkId,
    receiver: &mut R,
    recv_link: LinkId,
    frames: u64,
    size: usize,
) -> BenchResult<(f64, S)>
where
    S: SendWait + 'static,
    R: Transport + ?Sized,
{
    let payload = Bytes::from(vec![0xA5; size]);
    let start = Instant::now();
    let task = tokio::spawn(async move {
        for _ in 0..frames {
            sender.send_wait(send_link, payload.clone()).await?;
        }
        Ok::<_, TransportError>(sender)
    });
    let mut got = 0u64;
    while got < frames {
        match next_event(receiver).await? {
            TransportEvent::Frame { link, frame } if link == recv_link => {
                if frame.len() != size {
                    return Err(format!("frame of {} bytes, sent {size}", frame.len()).into());
                }
                got += 1;
            }
            TransportEvent::LinkDown { reason, .. } => {
                return Err(format!("link went down: {reason}").into());
            }
            _ => {}
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let sender = task.await??;
    Ok((secs, sender))
}

/// Mean microseconds per full connect of `dialer` to `listener`: from `connect` until both
/// report [`TransportEvent::LinkUp`]. Each link is closed (both sides report `LinkDown`)
/// outside the measurement before the next connect, so no connect meets a duplicate link.
pub async fn transport_handshakes<L, D>(
    listener: &mut L,
    dialer: &mut D,
    n: u32,
) -> BenchResult<f64>
where
    L: Transport + ?Sized,
    D: Transport + ?Sized,
{
    let n = n.max(1);
    let mut total = Duration::ZERO;
    for _ in 0..n {
        let start = Instant::now();
        let (_, link) = link_pair(listener, dialer).await?;
        total += start.elapsed();
        dialer.close(link);
        let (l, d) = tokio::join!(wait_down(listener), wait_down(dialer));
        l?;
        d?;
    }
    Ok(total.as_secs_f64() * 1e6 / f64::from(n))
}
