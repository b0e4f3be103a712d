//! One agentnet stream's life: the hello, admission into the link table (duplicates,
//! limits, eviction), the reader and writer, the report when it ends.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ::libp2p::{PeerId, Stream};
use bytes::{Bytes, BytesMut};
use futures::io::{AsyncReadExt, AsyncWriteExt, BufWriter, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use agentnet_core::{AgentId, LinkId};

use super::{Backlog, LinkEntry, Shared, addr_group, agent_id_of};
use crate::host::{LinkDown, LinkInfo, TransportEvent};
use crate::linkio::{self, closed_by_peer_or_io};
use crate::records::{self, KEEPALIVE, Record};
use crate::tcp::evict;

/// First bytes each side sends on an agentnet stream.
pub(super) const HELLO_MAGIC: &[u8; 8] = b"agentnt1";
/// Hello length: magic and the agent's key.
pub(super) const HELLO_LEN: usize = 8 + 32;
/// Largest read of a link (bytes).
const READ_BUFFER: usize = 64 * 1024;
/// Write buffer of a link (bytes): frames queued together leave in one write.
const WRITE_BUFFER: usize = 128 * 1024;

/// Exchange hellos: send ours, read theirs, check it names the agent `peer`'s key holds.
pub(super) async fn hello(
    stream: &mut Stream,
    me: AgentId,
    peer: PeerId,
    timeout: Duration,
) -> Result<AgentId, String> {
    let expected = agent_id_of(&peer).ok_or_else(|| {
        format!("peer {peer} has no Ed25519 key: only Ed25519 keys are agent ids")
    })?;
    let mut out = [0u8; HELLO_LEN];
    out[..8].copy_from_slice(HELLO_MAGIC);
    out[8..].copy_from_slice(me.as_bytes());
    let mut theirs = [0u8; HELLO_LEN];
    let exchange = async {
        stream.write_all(&out).await?;
        stream.flush().await?;
        stream.read_exact(&mut theirs).await
    };
    match tokio::time::timeout(timeout, exchange).await {
        Err(_) => return Err("no hello within the handshake timeout".into()),
        Ok(Err(e)) => return Err(format!("hello: {e}")),
        Ok(Ok(())) => {}
    }
    if &theirs[..8] != HELLO_MAGIC {
        return Err("not an agentnet hello".into());
    }
    let mut claimed = [0u8; 32];
    claimed.copy_from_slice(&theirs[8..]);
    if claimed != *expected.as_bytes() {
        return Err(format!(
            "peer {peer} claims agent {} but its key is agent {}",
            AgentId::from_bytes(claimed).short(),
            expected.short()
        ));
    }
    Ok(expected)
}

/// Where a stream with `peer` comes from, as a link reports it.
pub(super) struct Remote {
    /// The address given to `connect`, else the remote multiaddr of a connection to the peer
    /// (a direct one preferred), else `/p2p/<peer>`.
    pub(super) addr: String,
    /// Its address group for the eviction rule.
    pub(super) group: std::net::IpAddr,
    /// Whether that address runs through a relay.
    pub(super) relayed: bool,
}

/// See [`Remote`].
pub(super) fn remote_of(shared: &Shared, peer: PeerId, given: Option<String>) -> Remote {
    let st = shared.lock();
    let conn = st.conns.get(&peer).and_then(|c| {
        c.iter()
            .find(|(_, a)| !super::is_relayed(a))
            .or_else(|| c.first())
            .map(|(_, a)| a.clone())
    });
    let group = conn.as_ref().map_or(
        std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        addr_group,
    );
    let parsed = given.as_ref().and_then(|g| g.parse().ok()).or(conn);
    Remote {
        relayed: parsed.as_ref().is_some_and(super::is_relayed),
        addr: given
            .or_else(|| parsed.map(|a| a.to_string()))
            .unwrap_or_else(|| format!("/p2p/{peer}")),
        group,
    }
}

/// Enter an authenticated stream in the link table, settling duplicates and limits (see the
/// module docs).
fn register(shared: &Shared, new: LinkEntry) -> Result<LinkId, String> {
    let (peer, outbound) = (new.peer, new.outbound);
    let me = shared.id;
    let cfg = &shared.cfg;
    let mut st = shared.lock();
    if st.events.is_none() {
        return Err("transport shut down".into());
    }
    let mut replaces = None;
    if let Some(&old) = st.by_peer.get(&peer)
        && let Some(entry) = st.links.get(&old)
    {
        let opener = |outbound: bool| if outbound { me } else { peer };
        let (old_opener, new_opener) = (opener(entry.outbound), opener(outbound));
        if old_opener == new_opener || new_opener != me.min(peer) {
            return Err(format!("duplicate link to {}: {old} is kept", peer.short()));
        }
        replaces = Some(old);
    }
    if replaces.is_none() {
        let inbound = st.links.values().filter(|e| !e.outbound).count();
        if st.links.len() >= cfg.max_links {
            // Outbound links take any free slot; when the table is full, only eviction of an
            // inbound link makes room, and only for an inbound newcomer.
            if outbound {
                return Err("link table full".into());
            }
        }
        let inbound_max = cfg.max_links - cfg.outbound_reserved;
        if !outbound && (inbound >= inbound_max || st.links.len() >= cfg.max_links) {
            let now = Instant::now();
            let cands: Vec<evict::Candidate> = st
                .links
                .iter()
                .filter(|(_, e)| !e.outbound)
                .map(|(l, e)| {
                    let stamp = e.activity.load(Ordering::Relaxed);
                    evict::Candidate {
                        id: l.0,
                        group: e.group,
                        opened: e.opened,
                        established: true,
                        last_frame: (stamp > 0)
                            .then(|| shared.epoch + Duration::from_micros(stamp.saturating_sub(1))),
                    }
                })
                .collect();
            let Some(victim) = evict::choose(&cands, now, cfg.handshake_timeout) else {
                return Err("inbound links full".into());
            };
            if let Some(loser) = st.remove_link(LinkId(victim)) {
                let _ = loser.stop.send(LinkDown::Evicted);
            }
        }
    }
    if let Some(old) = replaces
        && let Some(loser) = st.remove_link(old)
    {
        let _ = loser.stop.send(LinkDown::Duplicate);
    }
    let link = LinkId(st.next_link);
    st.next_link += 1;
    st.links.insert(link, new);
    st.by_peer.insert(peer, link);
    Ok(link)
}

/// Run an authenticated stream: register it, carry frames until it ends, report it.
pub(super) async fn run(
    shared: Arc<Shared>,
    stream: Stream,
    peer_id: PeerId,
    peer: AgentId,
    outbound: bool,
    remote: Option<String>,
) {
    let Some(events) = shared.events() else {
        return;
    };
    let cfg = &shared.cfg;
    let Remote {
        addr: remote,
        group,
        relayed,
    } = remote_of(&shared, peer_id, remote);
    let (queue_tx, queue_rx) = mpsc::channel(cfg.send_queue);
    let (stop_tx, stop_rx) = oneshot::channel();
    let backlog = Arc::new(Backlog::default());
    let activity = Arc::new(AtomicU64::new(0));
    let registered = register(
        &shared,
        LinkEntry {
            peer,
            outbound,
            relayed,
            queue: queue_tx,
            backlog: Arc::clone(&backlog),
            stop: stop_tx,
            opened: Instant::now(),
            group,
            activity: Arc::clone(&activity),
        },
    );
    let link = match registered {
        Ok(link) => link,
        Err(reason) => {
            drop(stream);
            shared.refused(remote, reason).await;
            return;
        }
    };
    tracing::debug!(%link, peer = %peer.short(), %remote, outbound, "libp2p link up");
    let up = TransportEvent::LinkUp(LinkInfo {
        link,
        peer,
        remote,
        outbound,
    });
    let _ = events.send(up).await;
    if outbound && relayed {
        let direct = shared
            .lock()
            .conns
            .get(&peer_id)
            .is_some_and(|c| c.iter().any(|(_, a)| !super::is_relayed(a)));
        if direct {
            // A direct connection came up while this link was being opened over the relay.
            let _ = shared
                .commands
                .try_send(super::Command::MoveOffRelay(peer_id));
        }
    }
    let (rd, wr) = stream.split();
    let writer = shared.runtime.spawn(write_loop(
        wr,
        queue_rx,
        link,
        Arc::clone(&backlog),
        events.clone(),
        cfg.idle_timeout / 3,
    ));
    let reader = read_loop(
        rd,
        cfg.max_frame,
        link,
        &events,
        cfg.idle_timeout,
        (activity, shared.epoch),
    );
    let reason = linkio::until_down(stop_rx, writer, reader, cfg.close_linger).await;
    shared.lock().remove_link(link);
    tracing::debug!(%link, %reason, "libp2p link down");
    linkio::report_down(&backlog, link, reason, &events).await;
}

/// Read records and deliver frames until the stream ends or breaks the protocol. Bytes are
/// read in chunks of up to [`READ_BUFFER`] into one buffer and frames are split off it, so a
/// burst of small frames costs one read and no allocation per frame; a frame's length is
/// checked against `max_frame` as soon as its prefix is in, before it is buffered.
async fn read_loop(
    mut rd: ReadHalf<Stream>,
    max_frame: usize,
    link: LinkId,
    events: &mpsc::Sender<TransportEvent>,
    idle: Duration,
    (stamp, epoch): (Arc<AtomicU64>, Instant),
) -> LinkDown {
    let mut scratch = vec![0u8; READ_BUFFER];
    let mut buf = BytesMut::new();
    loop {
        loop {
            let frame = match records::next_record(&mut buf, max_frame) {
                Ok(None) => break,
                Ok(Some(Record::Keepalive)) => continue,
                Ok(Some(Record::Frame(f))) => f,
                Err(e) => return LinkDown::Protocol(e.to_string()),
            };
            // Stamped before the frame is reported (the eviction rule's "recently useful").
            let us = u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
            stamp.store(us.saturating_add(1), Ordering::Relaxed);
            if events
                .send(TransportEvent::Frame { link, frame })
                .await
                .is_err()
            {
                return LinkDown::ClosedLocally;
            }
        }
        match tokio::time::timeout(idle, rd.read(&mut scratch)).await {
            Err(_) => return LinkDown::IdleTimeout,
            Ok(Ok(0)) => return LinkDown::ClosedByPeer,
            Ok(Ok(n)) => buf.extend_from_slice(&scratch[..n]),
            Ok(Err(e)) => return closed_by_peer_or_io(&e),
        }
    }
}

/// Feed the stream from the send queue. `Some(reason)` if the stream failed, `None` once the
/// queue closed (the link was removed locally) and everything queued was written.
async fn write_loop(
    wr: WriteHalf<Stream>,
    mut queue: mpsc::Receiver<Bytes>,
    link: LinkId,
    backlog: Arc<Backlog>,
    events: mpsc::Sender<TransportEvent>,
    keepalive: Duration,
) -> Option<LinkDown> {
    let mut w = BufWriter::with_capacity(WRITE_BUFFER, wr);
    let result: io::Result<()> = async {
        loop {
            let first = tokio::select! {
                f = queue.recv() => f,
                () = tokio::time::sleep(keepalive) => {
                    w.write_all(&KEEPALIVE.to_be_bytes()).await?;
                    w.flush().await?;
                    continue;
                }
            };
            let Some(frame) = first else {
                w.flush().await?;
                let _ = w.close().await;
                return Ok(());
            };
            write_frame(&mut w, &frame).await?;
            backlog.sent(frame.len());
            while let Ok(frame) = queue.try_recv() {
                write_frame(&mut w, &frame).await?;
                backlog.sent(frame.len());
            }
            w.flush().await?;
            backlog.report_drops(link, &events);
        }
    }
    .await;
    result.err().map(|e| closed_by_peer_or_io(&e))
}

async fn write_frame(w: &mut BufWriter<WriteHalf<Stream>>, frame: &[u8]) -> io::Result<()> {
    // `send` refuses frames above max_frame <= MAX_FRAME_LIMIT < u32::MAX.
    let len = u32::try_from(frame.len()).map_err(|_| io::Error::other("frame too large"))?;
    w.write_all(&len.to_be_bytes()).await?;
    w.write_all(frame).await
}
