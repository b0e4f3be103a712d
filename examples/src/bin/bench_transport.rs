//! agentnet's TCP + Noise transport against plain TCP, bare Noise and rust-libp2p (TCP + Noise
//! + Yamux, and QUIC), and agentnet's libp2p adapter on both, side by side in one run.
//!
//! Measures, over loopback, for every frame size in `--frame-sizes` (default 1 KiB and
//! 256 KiB):
//! - **Throughput** of one link or stream: the same number of frames of the same size, timed
//!   from the sender's start until the receiver holds the last frame (`frames_per_s`,
//!   `mb_per_s`, `vs_plain` = frames/s ÷ plain TCP's). Frames per run: `--frames`, at most
//!   `--run-mib` MiB. Rows:
//!   - `plain_tcp`: tokio TCP with a length-delimited framing (4-byte big-endian length +
//!     bytes, no encryption; a 128 KiB `BufWriter` on the sending side, frames split off a
//!     `BytesMut` as `Bytes` on the receiving side). What a byte costs without any security:
//!     two kernel copies.
//!   - `agentnet_tcp_noise`: agentnet's `TcpTransport` (sender queues with `send_wait`,
//!     receiver takes `Frame` events), through the generic helper
//!     [`agentnet_examples::bench_link::transport_throughput`]. Its time goes to the AEAD
//!     first: every byte is sealed by the sender and opened by the receiver with
//!     ChaCha20-Poly1305 (ring's implementation, which seals about 1.6 times as fast as the
//!     RustCrypto one snow picks by default; `aead_seal_mb_per_s_one_core` is one core's
//!     sealing speed with RustCrypto's, `aead_seal_mb_per_s_one_core_ring` with ring's, and
//!     `agentnet_noise_crypto` names what the transport uses), then to the kernel copies and
//!     the copies into and out of Noise messages, and at small frames to the per-frame
//!     hand-offs (send queue, event queue, task wake-ups). With sender, receiver and both
//!     ciphers on the same two cores, the row stays well below plain TCP whatever the framing.
//!   - `libp2p_tcp_noise_yamux` and `libp2p_quic`: two rust-libp2p swarms and one
//!     `libp2p-stream` stream carrying the plain row's framing (see
//!     [`agentnet_examples::bench_libp2p`]). TCP: libp2p's Noise
//!     (`Noise_XX_25519_ChaChaPoly_SHA256`, ring's ChaCha20-Poly1305 through snow, i.e. the
//!     same cipher code as `TcpTransport`) under Yamux, whose flow-control windows and
//!     per-stream frames add hand-offs; QUIC: quinn with rustls TLS 1.3 (libp2p offers
//!     ChaCha20-Poly1305 first), plus UDP packetisation, acknowledgements and congestion
//!     control in user space.
//!   - `agentnet_libp2p_tcp` and `agentnet_libp2p_quic`: agentnet's `Libp2pTransport` (the
//!     libp2p adapter, with DHT topic discovery off) through the same generic helper as
//!     `agentnet_tcp_noise`: the raw rows' stack plus the adapter's own path (`send` →
//!     bounded queue → writer task → stream; stream → reader → event queue → `next_event`).
//!     Its ratio to the raw row of the same stack is what the adapter costs.
//! - **Handshakes** (mean µs per connect over `--handshakes` connects):
//!   - `plain_tcp_us`: TCP connect and accept.
//!   - `bare_snow_us`: a bare snow `Noise_XX_25519_ChaChaPoly_BLAKE2s` handshake (the
//!     transport's primitives) over loopback TCP with a 2-byte length prefix and no payload
//!     (both sides done).
//!   - `agentnet_tcp_noise_us`: a full `TcpTransport` connect (dial → `LinkUp` reported on
//!     both sides: TCP connect, Noise XX, both key bindings signature-checked, link
//!     registered). `ratio_to_bare_snow` is this over `bare_snow_us`. What the transport adds is
//!     mostly the two Ed25519 checks of the key bindings (`binding_verify_us` is one of them),
//!     then the binding's CBOR decode and the task/channel hand-offs that report the link.
//!   - `libp2p_tcp_noise_yamux_us`, `libp2p_quic_us`: `Swarm::dial` until the dialer's
//!     `ConnectionEstablished`, fresh dial on one swarm pair each time.
//!   - `agentnet_libp2p_tcp_us`, `agentnet_libp2p_quic_us`: a full `Libp2pTransport` connect
//!     (dial, connection handshake, stream negotiation, hello round trip, `LinkUp` on both
//!     sides), a fresh pair of transports for every connect (built outside the measurement),
//!     since a closed link leaves its libp2p connection up for reuse.
//!
//!   Every connect is closed outside the measurement before the next one.
//!
//! Repetitions alternate between the contenders (the starting contender rotates) so that
//! frequency scaling and background load hit all alike; the median of the repetitions is
//! reported. Progress goes to stderr. Without `--json` a markdown table goes to stdout; with
//! `--json` one JSON object goes to stdout and the table to stderr.
//!
//! `cargo run --release -p agentnet-examples --bin bench_transport -- [--json]
//! [--frame-sizes 1024,262144] [--frame-size B] [--frames N] [--run-mib M] [--handshakes N]
//! [--reps R]`

use std::collections::BTreeMap;
use std::error::Error;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use agentnet_core::seal::KeyBinding;
use agentnet_core::wire::Limits;
use agentnet_core::{Keypair, Signed, WallTime};
use agentnet_examples::bench_libp2p::{self, Libp2pKind};
use agentnet_examples::bench_link::{self, WAIT, link_pair};
use agentnet_examples::report::median;
use agentnet_transport::libp2p::{Libp2pConfig, Libp2pTransport};
use agentnet_transport::tcp::{NOISE_CRYPTO, NOISE_PATTERN, TcpConfig, TcpTransport};
use bytes::{Buf, Bytes, BytesMut};
use clap::Parser;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Wall-clock stamp used for the key bindings (any value works: freshness is not checked).
const WALL_MS: u64 = 1_800_000_000_000;

/// agentnet's TCP + Noise transport vs plain TCP, bare Noise XX and rust-libp2p.
#[derive(Parser, Debug, Clone)]
#[command(
    version,
    about = "TcpTransport throughput and connect cost against plain length-delimited TCP, bare \
             Noise XX handshakes and rust-libp2p (TCP + Noise + Yamux, QUIC); see the source's \
             doc comment"
)]
struct Args {
    /// Print one JSON object on stdout (the table goes to stderr).
    #[arg(long)]
    json: bool,
    /// Bytes per frame, one throughput row per size.
    #[arg(long, value_delimiter = ',', default_value = "1024,262144")]
    frame_sizes: Vec<usize>,
    /// A single frame size (replaces --frame-sizes).
    #[arg(long)]
    frame_size: Option<usize>,
    /// Frames per throughput run (fewer where that would exceed --run-mib).
    #[arg(long, default_value_t = 200_000)]
    frames: u64,
    /// Upper bound on the bytes of one throughput run, in MiB.
    #[arg(long, default_value_t = 256)]
    run_mib: u64,
    /// Connects per handshake run.
    #[arg(long, default_value_t = 200)]
    handshakes: u32,
    /// Repetitions of each measurement (alternating contenders; the median is reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
}

/// The throughput rows. Another agentnet `Transport` (say the libp2p adapter) joins with: an
/// `impl SendWait` for it in `agentnet_examples::bench_link`; a variant here, in [`Self::ALL`],
/// [`Self::name`] and [`Self::label`]; an arm in [`Self::throughput`] doing what
/// [`agentnet_tcp_throughput`] does with two instances of it (`link_pair`, then
/// `bench_link::transport_throughput`); and for its connect time a row in [`HANDSHAKES`] whose
/// arm in [`handshake`] calls `bench_link::transport_handshakes` (as
/// [`agentnet_tcp_handshakes`] does), named by [`Self::handshake_row`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Contender {
    PlainTcp,
    AgentnetTcpNoise,
    Libp2pTcp,
    Libp2pQuic,
    AdapterTcp,
    AdapterQuic,
}

impl Contender {
    const ALL: [Contender; 6] = [
        Contender::PlainTcp,
        Contender::AgentnetTcpNoise,
        Contender::Libp2pTcp,
        Contender::Libp2pQuic,
        Contender::AdapterTcp,
        Contender::AdapterQuic,
    ];

    /// The key in the JSON output.
    fn name(self) -> &'static str {
        match self {
            Contender::PlainTcp => "plain_tcp",
            Contender::AgentnetTcpNoise => "agentnet_tcp_noise",
            Contender::Libp2pTcp => "libp2p_tcp_noise_yamux",
            Contender::Libp2pQuic => "libp2p_quic",
            Contender::AdapterTcp => "agentnet_libp2p_tcp",
            Contender::AdapterQuic => "agentnet_libp2p_quic",
        }
    }

    /// The row label in the table.
    fn label(self) -> &'static str {
        match self {
            Contender::PlainTcp => "plain tokio TCP (same framing, no crypto)",
            Contender::AgentnetTcpNoise => "agentnet `TcpTransport` (TCP + Noise XX)",
            Contender::Libp2pTcp => "rust-libp2p TCP + Noise + Yamux",
            Contender::Libp2pQuic => "rust-libp2p QUIC",
            Contender::AdapterTcp => "agentnet `Libp2pTransport`, TCP + Noise + Yamux",
            Contender::AdapterQuic => "agentnet `Libp2pTransport`, QUIC",
        }
    }

    /// Its connect time's row in [`HANDSHAKES`].
    fn handshake_row(self) -> usize {
        match self {
            Contender::PlainTcp => 0,
            Contender::AgentnetTcpNoise => 2,
            Contender::Libp2pTcp => 3,
            Contender::Libp2pQuic => 4,
            Contender::AdapterTcp => 5,
            Contender::AdapterQuic => 6,
        }
    }

    /// Seconds to move `frames` frames of `size` bytes.
    async fn throughput(self, frames: u64, size: usize) -> Res<f64> {
        match self {
            Contender::PlainTcp => plain_throughput(frames, size).await,
            Contender::AgentnetTcpNoise => agentnet_tcp_throughput(frames, size).await,
            Contender::Libp2pTcp => {
                bench_libp2p::throughput(Libp2pKind::TcpNoiseYamux, frames, size).await
            }
            Contender::Libp2pQuic => bench_libp2p::throughput(Libp2pKind::Quic, frames, size).await,
            Contender::AdapterTcp => adapter_throughput(TCP_LISTEN, frames, size).await,
            Contender::AdapterQuic => adapter_throughput(QUIC_LISTEN, frames, size).await,
        }
    }
}

/// The handshake rows: (JSON key, table label).
const HANDSHAKES: [(&str, &str); 7] = [
    ("plain_tcp_us", "plain TCP connect"),
    ("bare_snow_us", "bare snow XX over TCP"),
    ("agentnet_tcp_noise_us", "agentnet `TcpTransport`"),
    (
        "libp2p_tcp_noise_yamux_us",
        "rust-libp2p TCP + Noise + Yamux",
    ),
    ("libp2p_quic_us", "rust-libp2p QUIC"),
    (
        "agentnet_libp2p_tcp_us",
        "agentnet `Libp2pTransport`, TCP + Noise + Yamux",
    ),
    (
        "agentnet_libp2p_quic_us",
        "agentnet `Libp2pTransport`, QUIC",
    ),
];

/// Mean µs per connect of handshake row `i` of [`HANDSHAKES`].
async fn handshake(i: usize, n: u32) -> Res<f64> {
    match i {
        0 => plain_connects(n).await,
        1 => bare_handshakes(n).await,
        2 => agentnet_tcp_handshakes(n).await,
        3 => bench_libp2p::handshakes(Libp2pKind::TcpNoiseYamux, n).await,
        4 => bench_libp2p::handshakes(Libp2pKind::Quic, n).await,
        5 => adapter_handshakes(TCP_LISTEN, n).await,
        6 => adapter_handshakes(QUIC_LISTEN, n).await,
        _ => Err(format!("no handshake row {i}").into()),
    }
}

fn kp(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A listening `TcpTransport` and a dialing one, both accepting frames of `frame_size`.
async fn transports(frame_size: usize) -> Res<(TcpTransport, TcpTransport)> {
    let max_frame = frame_size.max(TcpConfig::default().max_frame);
    let a = TcpTransport::bind(
        &kp(1),
        TcpConfig {
            listen: Some(loopback()),
            max_frame,
            ..TcpConfig::default()
        },
        WALL_MS,
    )
    .await?;
    let b = TcpTransport::bind(
        &kp(2),
        TcpConfig {
            max_frame,
            ..TcpConfig::default()
        },
        WALL_MS,
    )
    .await?;
    Ok((a, b))
}

/// Seconds to move `frames` frames over a TcpTransport link.
async fn agentnet_tcp_throughput(frames: u64, size: usize) -> Res<f64> {
    let (mut a, mut b) = transports(size).await?;
    let (la, lb) = link_pair(&mut a, &mut b).await?;
    let (secs, _b) = bench_link::transport_throughput(b, lb, &mut a, la, frames, size).await?;
    Ok(secs)
}

const TCP_LISTEN: &str = "/ip4/127.0.0.1/tcp/0";
const QUIC_LISTEN: &str = "/ip4/127.0.0.1/udp/0/quic-v1";

/// Two agentnet libp2p transports listening on `listen`, accepting frames of `frame_size`.
async fn adapters(listen: &str, frame_size: usize) -> Res<(Libp2pTransport, Libp2pTransport)> {
    let cfg = Libp2pConfig {
        listen: vec![listen.parse()?],
        max_frame: frame_size.max(Libp2pConfig::default().max_frame),
        // Only the two of them: no DHT lookups in the measurement.
        topic_peers: 0,
        ..Libp2pConfig::default()
    };
    let a = Libp2pTransport::start(&kp(11), cfg.clone()).await?;
    let b = Libp2pTransport::start(&kp(12), cfg).await?;
    Ok((a, b))
}

/// Seconds to move `frames` frames over an agentnet `Libp2pTransport` link.
async fn adapter_throughput(listen: &str, frames: u64, size: usize) -> Res<f64> {
    let (mut a, mut b) = adapters(listen, size).await?;
    let (la, lb) = link_pair(&mut a, &mut b).await?;
    let (secs, _b) = bench_link::transport_throughput(b, lb, &mut a, la, frames, size).await?;
    Ok(secs)
}

/// Mean microseconds per full `Libp2pTransport` connect: dial, connection handshake,
/// stream, hello, `LinkUp` on both sides. A fresh pair of transports for every connect (a
/// closed link leaves its libp2p connection up for reuse, which would time only the stream);
/// building the pair is outside the measurement.
async fn adapter_handshakes(listen: &str, n: u32) -> Res<f64> {
    let mut total = Duration::ZERO;
    for _ in 0..n.max(1) {
        let (mut a, mut b) = adapters(listen, 1024).await?;
        let start = Instant::now();
        link_pair(&mut a, &mut b).await?;
        total += start.elapsed();
    }
    Ok(total.as_secs_f64() * 1e6 / f64::from(n.max(1)))
}

/// Mean microseconds per full TcpTransport connect (dial → LinkUp on both sides).
async fn agentnet_tcp_handshakes(n: u32) -> Res<f64> {
    let (mut a, mut b) = transports(1024).await?;
    bench_link::transport_handshakes(&mut a, &mut b, n).await
}

/// Seconds to move `frames` frames over plain TCP with the same framing.
async fn plain_throughput(frames: u64, size: usize) -> Res<f64> {
    let listener = TcpListener::bind(loopback()).await?;
    let addr = listener.local_addr()?;
    let client = TcpStream::connect(addr).await?;
    let (mut server, _) = listener.accept().await?;
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let len = u32::try_from(size)?;
    let payload = Bytes::from(vec![0xA5; size]);
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        let mut w = BufWriter::with_capacity(128 * 1024, client);
        for _ in 0..frames {
            w.write_all(&len.to_be_bytes()).await?;
            w.write_all(&payload).await?;
        }
        w.flush().await?;
        Ok::<_, std::io::Error>(w)
    });
    let mut buf = BytesMut::with_capacity(128 * 1024);
    let mut got = 0u64;
    while got < frames {
        if buf.capacity() - buf.len() < 16 * 1024 {
            buf.reserve(64 * 1024);
        }
        if server.read_buf(&mut buf).await? == 0 {
            return Err("plain sender closed early".into());
        }
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
                return Err("plain frame of the wrong size".into());
            }
            got += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    let _w = sender.await??;
    Ok(secs)
}

/// Mean microseconds per plain TCP connect (connect returned and the connection accepted).
async fn plain_connects(n: u32) -> Res<f64> {
    let listener = TcpListener::bind(loopback()).await?;
    let addr = listener.local_addr()?;
    let mut total = Duration::ZERO;
    for _ in 0..n {
        let start = Instant::now();
        let (c, a) = tokio::join!(TcpStream::connect(addr), listener.accept());
        total += start.elapsed();
        let (c, (s, _)) = (c?, a?);
        c.set_nodelay(true)?;
        drop((c, s));
    }
    Ok(total.as_secs_f64() * 1e6 / f64::from(n))
}

async fn write_msg(s: &mut TcpStream, msg: &[u8]) -> Res<()> {
    let len = u16::try_from(msg.len())?;
    let mut wire = Vec::with_capacity(2 + msg.len());
    wire.extend_from_slice(&len.to_be_bytes());
    wire.extend_from_slice(msg);
    s.write_all(&wire).await?;
    Ok(())
}

async fn read_msg(s: &mut TcpStream, buf: &mut [u8]) -> Res<usize> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await?;
    let n = usize::from(u16::from_be_bytes(len));
    let msg = buf.get_mut(..n).ok_or("handshake message too long")?;
    s.read_exact(msg).await?;
    Ok(n)
}

async fn bare_respond(mut s: TcpStream, key: [u8; 32]) -> Res<()> {
    let mut hs = snow::Builder::with_resolver(NOISE_PATTERN.parse()?, ring_resolver())
        .local_private_key(&key)?
        .build_responder()?;
    let (mut msg, mut payload) = (vec![0u8; 1024], vec![0u8; 1024]);
    let n = read_msg(&mut s, &mut msg).await?;
    hs.read_message(&msg[..n], &mut payload)?;
    let n = hs.write_message(&[], &mut msg)?;
    write_msg(&mut s, &msg[..n]).await?;
    let n = read_msg(&mut s, &mut msg).await?;
    hs.read_message(&msg[..n], &mut payload)?;
    hs.into_transport_mode()?;
    Ok(())
}

async fn bare_initiate(addr: SocketAddr, key: [u8; 32]) -> Res<()> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut hs = snow::Builder::with_resolver(NOISE_PATTERN.parse()?, ring_resolver())
        .local_private_key(&key)?
        .build_initiator()?;
    let (mut msg, mut payload) = (vec![0u8; 1024], vec![0u8; 1024]);
    let n = hs.write_message(&[], &mut msg)?;
    write_msg(&mut s, &msg[..n]).await?;
    let n = read_msg(&mut s, &mut msg).await?;
    hs.read_message(&msg[..n], &mut payload)?;
    let n = hs.write_message(&[], &mut msg)?;
    write_msg(&mut s, &msg[..n]).await?;
    hs.into_transport_mode()?;
    Ok(())
}

/// Mean microseconds per bare snow XX handshake over loopback TCP (both sides done).
async fn bare_handshakes(n: u32) -> Res<f64> {
    let listener = TcpListener::bind(loopback()).await?;
    let addr = listener.local_addr()?;
    let (server_key, client_key) = (kp(1).x25519().to_bytes(), kp(2).x25519().to_bytes());
    let (done_tx, mut done_rx) = mpsc::channel::<Res<()>>(4);
    let server = tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                return;
            };
            let _ = s.set_nodelay(true);
            let done = done_tx.clone();
            tokio::spawn(async move {
                let _ = done.send(bare_respond(s, server_key).await).await;
            });
        }
    });
    let mut total = Duration::ZERO;
    for _ in 0..n {
        let start = Instant::now();
        bare_initiate(addr, client_key).await?;
        tokio::time::timeout(WAIT, done_rx.recv())
            .await?
            .ok_or("responder gone")??;
        total += start.elapsed();
    }
    server.abort();
    Ok(total.as_secs_f64() * 1e6 / f64::from(n))
}

/// Single-core ChaCha20-Poly1305 sealing speed through snow with `resolver` (MB/s of
/// plaintext), in the largest Noise messages: the ceiling an encrypted transport on this
/// machine works under with that implementation (the receiver pays about as much again to
/// open).
fn aead_seal_mb_per_s(resolver: snow::resolvers::BoxedCryptoResolver) -> Res<f64> {
    let params: snow::params::NoiseParams = "Noise_NN_25519_ChaChaPoly_BLAKE2s".parse()?;
    let mut i = snow::Builder::with_resolver(params.clone(), resolver).build_initiator()?;
    let mut r = snow::Builder::new(params).build_responder()?;
    let (mut m, mut p) = (vec![0u8; 1024], vec![0u8; 1024]);
    let n = i.write_message(&[], &mut m)?;
    r.read_message(&m[..n], &mut p)?;
    let n = r.write_message(&[], &mut m)?;
    i.read_message(&m[..n], &mut p)?;
    let noise = i.into_stateless_transport_mode()?;
    let plain = vec![0x5Au8; agentnet_transport::tcp::MAX_PLAINTEXT];
    let mut sealed = vec![0u8; agentnet_transport::tcp::NOISE_MAX_MSG];
    let rounds = 4096u64;
    let start = Instant::now();
    for nonce in 0..rounds {
        noise.write_message(nonce, &plain, &mut sealed)?;
        std::hint::black_box(&sealed);
    }
    Ok(rounds as f64 * plain.len() as f64 / start.elapsed().as_secs_f64() / 1e6)
}

/// snow's ring ChaCha20-Poly1305, with the RustCrypto resolver for what ring lacks (X25519,
/// BLAKE2s): the primitives `TcpTransport` uses (`agentnet_transport::tcp::NOISE_CRYPTO`).
fn ring_resolver() -> snow::resolvers::BoxedCryptoResolver {
    use snow::resolvers::{DefaultResolver, FallbackResolver, RingResolver};
    Box::new(FallbackResolver::new(
        Box::new(RingResolver),
        Box::new(DefaultResolver),
    ))
}

/// Mean microseconds to check one key binding frame (what each side does once per connect).
fn binding_verify_us() -> Res<f64> {
    let k = kp(3);
    let binding = KeyBinding {
        agent: k.id(),
        x25519: k.x25519().public(),
        issued_at: WallTime::from_unix_millis(WALL_MS),
    };
    let frame = Signed::sign(&k, binding)?.to_frame();
    let limits = Limits::default();
    let n = 2000u32;
    let start = Instant::now();
    for _ in 0..n {
        std::hint::black_box(Signed::<KeyBinding>::from_frame(
            std::hint::black_box(&frame),
            &limits,
        )?);
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(n))
}

/// "1 KiB", "256 KiB", "1000 B".
fn size_label(size: usize) -> String {
    if size >= 1024 && size.is_multiple_of(1024) {
        format!("{} KiB", size / 1024)
    } else {
        format!("{size} B")
    }
}

/// "3.10 M", "612 k", "1595".
fn rate_label(per_s: f64) -> String {
    if per_s >= 1e6 {
        format!("{:.2} M", per_s / 1e6)
    } else if per_s >= 1e5 {
        format!("{:.0} k", per_s / 1e3)
    } else {
        format!("{per_s:.0}")
    }
}

/// The markdown table of the medians in `out`.
fn table(out: &serde_json::Value) -> String {
    let sizes: Vec<usize> = out["frame_sizes"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_u64())
                .map(|v| v as usize)
                .collect()
        })
        .unwrap_or_default();
    let mut head = String::from("| |");
    let mut rule = String::from("|---|");
    for &s in &sizes {
        head += &format!(" {} frames/s (MB/s) | × plain |", size_label(s));
        rule += "---|---|";
    }
    head += " connect |\n";
    rule += "---|\n";
    let mut t = head + &rule;
    let rows = out["throughput"].as_array().cloned().unwrap_or_default();
    let hs = &out["handshake"];
    let connect_of = |key: &str| {
        hs[key]
            .as_f64()
            .map_or_else(|| "—".to_string(), |us| format!("{us:.0} µs"))
    };
    for c in Contender::ALL {
        t += &format!("| {} |", c.label());
        for &s in &sizes {
            let row = rows
                .iter()
                .find(|r| r["transport"] == c.name() && r["frame_size"] == s);
            match row {
                Some(r) => {
                    t += &format!(
                        " {} ({:.0}) | {:.2} |",
                        rate_label(r["frames_per_s"].as_f64().unwrap_or(0.0)),
                        r["mb_per_s"].as_f64().unwrap_or(0.0),
                        r["vs_plain"].as_f64().unwrap_or(0.0)
                    );
                }
                None => t += " — | — |",
            }
        }
        t += &format!(" {} |\n", connect_of(HANDSHAKES[c.handshake_row()].0));
    }
    t += &format!("| {} |", HANDSHAKES[1].1);
    for _ in &sizes {
        t += " — | — |";
    }
    t += &format!(" {} |\n", connect_of(HANDSHAKES[1].0));
    t
}

async fn run(args: Args) -> Res<serde_json::Value> {
    let sizes: Vec<usize> = match args.frame_size {
        Some(s) => vec![s.max(1)],
        None => args.frame_sizes.iter().map(|&s| s.max(1)).collect(),
    };
    let run_bytes = args.run_mib.max(1) * 1024 * 1024;
    let frames_for = |size: usize| args.frames.min(run_bytes / size as u64).max(1);
    let hs = args.handshakes.max(1);
    let reps = args.reps.max(1);
    // (contender, size) → seconds per repetition; handshake row → µs per repetition.
    let mut secs: BTreeMap<(usize, usize), Vec<f64>> = BTreeMap::new();
    let mut hs_us: Vec<Vec<f64>> = vec![vec![]; HANDSHAKES.len()];
    let n = Contender::ALL.len();
    for rep in 0..reps {
        for &size in &sizes {
            let frames = frames_for(size);
            for k in 0..n {
                let ci = (rep + k) % n;
                let c = Contender::ALL[ci];
                let s = c.throughput(frames, size).await?;
                eprintln!(
                    "rep {}/{reps} {} {}: {:.0} frames/s ({:.0} MB/s)",
                    rep + 1,
                    size_label(size),
                    c.name(),
                    frames as f64 / s,
                    frames as f64 * size as f64 / s / 1e6
                );
                secs.entry((ci, size)).or_default().push(s);
            }
        }
        for k in 0..HANDSHAKES.len() {
            let i = (rep + k) % HANDSHAKES.len();
            let us = handshake(i, hs).await?;
            eprintln!(
                "rep {}/{reps} handshake {}: {us:.0} µs",
                rep + 1,
                HANDSHAKES[i].0
            );
            hs_us[i].push(us);
        }
    }
    let verify = binding_verify_us()?;
    let aead = aead_seal_mb_per_s(Box::new(snow::resolvers::DefaultResolver))?;
    let aead_ring = aead_seal_mb_per_s(ring_resolver())?;
    let mut rows = vec![];
    for &size in &sizes {
        let frames = frames_for(size);
        let plain = median(&secs[&(0, size)]);
        for (ci, c) in Contender::ALL.iter().enumerate() {
            let s = median(&secs[&(ci, size)]);
            rows.push(json!({
                "transport": c.name(),
                "frame_size": size,
                "frames": frames,
                "secs": s,
                "frames_per_s": frames as f64 / s,
                "mb_per_s": frames as f64 * size as f64 / s / 1e6,
                "vs_plain": plain / s,
            }));
        }
    }
    let mut handshake = serde_json::Map::new();
    for (i, (key, _)) in HANDSHAKES.iter().enumerate() {
        handshake.insert((*key).into(), json!(median(&hs_us[i])));
    }
    let (bare, full) = (median(&hs_us[1]), median(&hs_us[2]));
    handshake.insert("ratio_to_bare_snow".into(), json!(full / bare));
    handshake.insert("binding_verify_us".into(), json!(verify));
    let out = json!({
        "frame_sizes": sizes,
        "handshakes": hs,
        "reps": reps,
        "throughput": rows,
        "handshake": handshake,
        "agentnet_noise_crypto": NOISE_CRYPTO,
        "aead_seal_mb_per_s_one_core": aead,
        "aead_seal_mb_per_s_one_core_ring": aead_ring,
    });
    eprintln!(
        "one core seals {aead:.0} MB/s with RustCrypto ChaCha20-Poly1305, {aead_ring:.0} MB/s \
         with ring's (64 KiB Noise messages); one key binding check {verify:.0} µs"
    );
    Ok(out)
}

fn main() -> Res<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let json_out = args.json;
    let started = Instant::now();
    let out = rt.block_on(run(args))?;
    let table = table(&out);
    eprintln!("run took {:.0} s", started.elapsed().as_secs_f64());
    if json_out {
        eprint!("{table}");
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{table}");
    }
    Ok(())
}
