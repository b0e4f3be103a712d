//! rust-libp2p rows of `bench_transport`: throughput and connect time of two `Swarm`s on
//! loopback, over TCP + Noise + Yamux or over QUIC, with nothing of agentnet in between.
//!
//! Each side is a `Swarm<libp2p_stream::Behaviour>` with an Ed25519 identity, driven by its own
//! tokio task (a `select!` over the swarm's events and a command channel; the task reports
//! listen addresses, established and closed connections back over a channel). Both transports
//! use rust-libp2p's default configurations (TCP with `TCP_NODELAY`, Noise XX, Yamux; QUIC v1),
//! except that connections stay up for 60 s without streams.
//!
//! - **Throughput** ([`throughput`]): a fresh swarm pair, one connection, one stream of protocol
//!   [`PROTOCOL`] opened by the dialer. The sender writes the same framing as the plain TCP
//!   row (4-byte big-endian length + bytes) through a 128 KiB `futures` `BufWriter`; the
//!   receiver reads with `futures::AsyncRead` into a 64 KiB buffer, appends to a `BytesMut` and
//!   splits frames off it as `Bytes` (one copy more than the tokio `read_buf` of the plain row).
//!   One empty frame crosses before the clock starts, so that stream negotiation is done; then
//!   the clock runs from the sender's start until the receiver holds the last frame.
//! - **Handshake** ([`handshakes`]): one swarm pair per run and a fresh dial per connect; timed
//!   inside the dialer's task from `Swarm::dial` until its `ConnectionEstablished` (TCP: TCP
//!   connect, multistream-select, Noise XX with the signed identity payloads, multistream-select,
//!   Yamux; QUIC: the QUIC + TLS 1.3 handshake with libp2p's self-signed certificates). The
//!   connection is closed, and both sides have reported `ConnectionClosed`, outside the
//!   measurement before the next dial.

use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use futures::io::BufWriter;
use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{Multiaddr, PeerId, StreamProtocol, Swarm, identity, noise, tcp, yamux};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::bench_link::{BenchResult, WAIT};

/// The stream protocol both rows speak.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/agentnet-bench/1");

/// Which rust-libp2p transport a row uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Libp2pKind {
    /// TCP, upgraded with Noise XX and multiplexed with Yamux.
    TcpNoiseYamux,
    /// QUIC v1 over UDP.
    Quic,
}

impl Libp2pKind {
    fn listen_addr(self) -> Multiaddr {
        let s = match self {
            Libp2pKind::TcpNoiseYamux => "/ip4/127.0.0.1/tcp/0",
            Libp2pKind::Quic => "/ip4/127.0.0.1/udp/0/quic-v1",
        };
        s.parse().expect("valid multiaddr")
    }
}

/// Commands to a swarm's task.
enum Cmd {
    Dial(PeerId, Multiaddr),
    Disconnect(PeerId),
}

/// What a swarm's task reports.
#[derive(Debug)]
enum Report {
    Listening(Multiaddr),
    /// A connection is up; `dial` is the time since `Swarm::dial` if this side dialed.
    Established {
        dial: Option<Duration>,
    },
    Closed,
    Failed(String),
}

/// One swarm in its own task, with the handles to use it.
struct Node {
    peer: PeerId,
    control: libp2p_stream::Control,
    cmds: mpsc::UnboundedSender<Cmd>,
    reports: mpsc::UnboundedReceiver<Report>,
    task: JoinHandle<()>,
}

impl Drop for Node {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn build_swarm(seed: u8) -> BenchResult<Swarm<libp2p_stream::Behaviour>> {
    let key = identity::Keypair::ed25519_from_bytes([seed; 32])?;
    Ok(libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::new().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_quic()
        .with_behaviour(|_| libp2p_stream::Behaviour::new())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build())
}

/// Runs `swarm` until the command channel closes (or the task is aborted).
async fn drive(
    mut swarm: Swarm<libp2p_stream::Behaviour>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    reports: mpsc::UnboundedSender<Report>,
) {
    let mut dialed_at: Option<Instant> = None;
    loop {
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                None => return,
                Some(Cmd::Dial(peer, addr)) => {
                    dialed_at = Some(Instant::now());
                    let opts = DialOpts::peer_id(peer).addresses(vec![addr]).build();
                    if let Err(e) = swarm.dial(opts) {
                        let _ = reports.send(Report::Failed(format!("dial: {e}")));
                    }
                }
                Some(Cmd::Disconnect(peer)) => {
                    let _ = swarm.disconnect_peer_id(peer);
                }
            },
            event = swarm.select_next_some() => {
                let report = match event {
                    SwarmEvent::NewListenAddr { address, .. } => Report::Listening(address),
                    SwarmEvent::ConnectionEstablished { endpoint, .. } => Report::Established {
                        dial: endpoint
                            .is_dialer()
                            .then(|| dialed_at.take().map(|t| t.elapsed()))
                            .flatten(),
                    },
                    SwarmEvent::ConnectionClosed { num_established: 0, .. } => Report::Closed,
                    SwarmEvent::OutgoingConnectionError { error, .. } => {
                        Report::Failed(format!("outgoing connection: {error}"))
                    }
                    SwarmEvent::IncomingConnectionError { error, .. } => {
                        Report::Failed(format!("incoming connection: {error}"))
                    }
                    _ => continue,
                };
                if reports.send(report).is_err() {
                    return;
                }
            }
        }
    }
}

impl Node {
    fn spawn(seed: u8, listen: Option<Multiaddr>) -> BenchResult<Node> {
        let mut swarm = build_swarm(seed)?;
        if let Some(addr) = listen {
            swarm.listen_on(addr)?;
        }
        let peer = *swarm.local_peer_id();
        let control = swarm.behaviour().new_control();
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (rep_tx, rep_rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(swarm, cmd_rx, rep_tx));
        Ok(Node {
            peer,
            control,
            cmds: cmd_tx,
            reports: rep_rx,
            task,
        })
    }

    fn send(&self, cmd: Cmd) -> BenchResult<()> {
        self.cmds.send(cmd).map_err(|_| "swarm task gone".into())
    }

    async fn report(&mut self) -> BenchResult<Report> {
        match tokio::time::timeout(WAIT, self.reports.recv()).await {
            Err(_) => Err("timed out waiting for the swarm".into()),
            Ok(None) => Err("swarm task gone".into()),
            Ok(Some(Report::Failed(e))) => Err(e.into()),
            Ok(Some(r)) => Ok(r),
        }
    }

    async fn listening(&mut self) -> BenchResult<Multiaddr> {
        loop {
            if let Report::Listening(addr) = self.report().await? {
                return Ok(addr);
            }
        }
    }

    async fn established(&mut self) -> BenchResult<Option<Duration>> {
        loop {
            if let Report::Established { dial } = self.report().await? {
                return Ok(dial);
            }
        }
    }

    async fn closed(&mut self) -> BenchResult<()> {
        loop {
            if let Report::Closed = self.report().await? {
                return Ok(());
            }
        }
    }
}

/// A listening swarm and a dialing one, not yet connected; returns the listen address too.
async fn pair(kind: Libp2pKind) -> BenchResult<(Node, Node, Multiaddr)> {
    let mut listener = Node::spawn(11, Some(kind.listen_addr()))?;
    let dialer = Node::spawn(12, None)?;
    let addr = listener.listening().await?;
    Ok((listener, dialer, addr))
}

/// Dials `listener` from `dialer` and waits until both report the connection; returns the
/// dialer's time from `dial` to `ConnectionEstablished`.
async fn connect(
    listener: &mut Node,
    dialer: &mut Node,
    addr: &Multiaddr,
) -> BenchResult<Duration> {
    dialer.send(Cmd::Dial(listener.peer, addr.clone()))?;
    let (d, l) = tokio::join!(dialer.established(), listener.established());
    l?;
    d?.ok_or_else(|| "the dialer's connection was not its own dial".into())
}

/// Seconds to move `frames` frames of `size` bytes over one libp2p stream (see the module
/// docs for what is timed).
pub async fn throughput(kind: Libp2pKind, frames: u64, size: usize) -> BenchResult<f64> {
    let (mut listener, mut dialer, addr) = pair(kind).await?;
    let mut incoming = listener.control.accept(PROTOCOL)?;
    connect(&mut listener, &mut dialer, &addr).await?;
    let mut out = dialer.control.open_stream(listener.peer, PROTOCOL).await?;
    // One empty frame: negotiation finishes and the receiver holds the stream.
    out.write_all(&0u32.to_be_bytes()).await?;
    out.flush().await?;
    let (_, mut rx) = tokio::time::timeout(WAIT, incoming.next())
        .await?
        .ok_or("no inbound stream")?;
    let mut hello = [0u8; 4];
    rx.read_exact(&mut hello).await?;

    let len = u32::try_from(size)?;
    let payload = vec![0xA5u8; size];
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        let mut w = BufWriter::with_capacity(128 * 1024, out);
        for _ in 0..frames {
            w.write_all(&len.to_be_bytes()).await?;
            w.write_all(&payload).await?;
        }
        w.flush().await?;
        Ok::<_, std::io::Error>(w)
    });
    let mut scratch = vec![0u8; 64 * 1024];
    let mut buf = BytesMut::with_capacity(128 * 1024);
    let mut got = 0u64;
    while got < frames {
        let n = rx.read(&mut scratch).await?;
        if n == 0 {
            return Err("libp2p sender closed early".into());
        }
        buf.extend_from_slice(&scratch[..n]);
        while buf.len() >= 4 {
            let n = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
            if buf.len() < 4 + n {
                buf.reserve(4 + n - buf.len());
                break;
            }
            let mut f = buf.split_to(4 + n);
            f.advance(4);
            let frame = f.freeze();
            if frame.len() != size {
                return Err("libp2p frame of the wrong size".into());
            }
            got += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let _w = sender.await??;
    Ok(secs)
}

/// Mean microseconds from `dial` to `ConnectionEstablished` on the dialer, over `n` fresh
/// dials between one swarm pair (see the module docs).
pub async fn handshakes(kind: Libp2pKind, n: u32) -> BenchResult<f64> {
    let n = n.max(1);
    let (mut listener, mut dialer, addr) = pair(kind).await?;
    let mut total = Duration::ZERO;
    for _ in 0..n {
        total += connect(&mut listener, &mut dialer, &addr).await?;
        dialer.send(Cmd::Disconnect(listener.peer))?;
        let (d, l) = tokio::join!(dialer.closed(), listener.closed());
        d?;
        l?;
    }
    Ok(total.as_secs_f64() * 1e6 / f64::from(n))
}
