//! The TCP + Noise transport against plain TCP and bare Noise, side by side in one run.
//!
//! Measures, over loopback:
//! - **Throughput**: `--frames` frames of `--frame-size` bytes over one established
//!   `TcpTransport` link (sender queues with `send_wait`, receiver takes `Frame` events), against
//!   plain tokio TCP with the same length-delimited framing (4-byte big-endian length + bytes,
//!   no encryption; a 128 KiB `BufWriter` on the sending side, frames split off a `BytesMut`
//!   as `Bytes` on the receiving side). Timed from the sender's start until the receiver holds
//!   the last frame. `ratio` = transport frames/s ÷ plain frames/s.
//!   What dominates the transport's side is the AEAD: every byte is sealed by the sender and
//!   opened by the receiver with ChaCha20-Poly1305, which one core runs at a fraction of the
//!   speed at which loopback TCP copies (`aead_seal_mb_per_s_one_core` reports the ceiling on
//!   the machine at hand). With both directions' crypto, the kernel copies and the tasks
//!   sharing the same cores, the ratio is bounded well below 1 whatever the framing does; at
//!   small frames the per-frame hand-offs (send queue, event queue, task wake-ups) add to it.
//! - **Handshakes**: `--handshakes` full `TcpTransport` connects (dial → `LinkUp` reported on
//!   both sides: TCP connect, Noise XX, both key bindings signed-checked, link registered),
//!   against as many bare snow `Noise_XX_25519_ChaChaPoly_BLAKE2s` handshakes over loopback
//!   TCP with the same length prefix and no payload. `ratio` = transport mean ÷ bare mean.
//!   What the transport adds per connect is dominated by the two Ed25519 signature checks of
//!   the key bindings (one per side, strict verification including key decompression;
//!   `binding_verify_us` reports one of them alone), then the binding's CBOR decode and the
//!   task/channel hand-offs that report the link.
//!
//! Repetitions alternate between the contenders so that frequency scaling and background load
//! hit both alike; the median of the repetitions is reported. Progress goes to stderr; with
//! `--json` one JSON object goes to stdout.
//!
//! `cargo run --release -p agentnet-examples --bin bench_transport -- [--json] [--frame-size B]
//! [--frames N] [--handshakes N] [--reps R]`

use agentnet_examples::report::median;
use std::error::Error;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use agentnet_core::seal::KeyBinding;
use agentnet_core::wire::Limits;
use agentnet_core::{Keypair, LinkId, Signed, WallTime};
use agentnet_transport::tcp::{NOISE_PATTERN, TcpConfig, TcpTransport};
use agentnet_transport::{Transport, TransportEvent};
use bytes::{Buf, Bytes, BytesMut};
use clap::Parser;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

type Res<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// Wall-clock stamp used for the key bindings (any value works: freshness is not checked).
const WALL_MS: u64 = 1_800_000_000_000;
/// How long any single wait may take before the benchmark gives up.
const WAIT: Duration = Duration::from_secs(60);

/// TCP + Noise transport vs plain TCP (throughput) and vs bare snow XX (handshakes).
#[derive(Parser, Debug, Clone)]
#[command(
    version,
    about = "TcpTransport throughput against plain length-delimited TCP, and its connect cost \
             against bare Noise XX handshakes (see the source's doc comment)"
)]
struct Args {
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    /// Bytes per frame in the throughput runs.
    #[arg(long, default_value_t = 1024)]
    frame_size: usize,
    /// Frames per throughput run.
    #[arg(long, default_value_t = 200_000)]
    frames: u64,
    /// Connects per handshake run.
    #[arg(long, default_value_t = 200)]
    handshakes: u32,
    /// Repetitions of each measurement (alternating contenders; the median is reported).
    #[arg(long, default_value_t = 3)]
    reps: usize,
}

fn kp(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

async fn next(t: &mut TcpTransport) -> Res<TransportEvent> {
    tokio::time::timeout(WAIT, t.next_event())
        .await
        .map_err(|_| "timed out waiting for a transport event")?
        .ok_or_else(|| "transport closed".into())
}

async fn wait_up(t: &mut TcpTransport) -> Res<LinkId> {
    loop {
        match next(t).await? {
            TransportEvent::LinkUp(info) => return Ok(info.link),
            TransportEvent::Refused { reason, .. } => return Err(reason.into()),
            _ => {}
        }
    }
}

async fn wait_down(t: &mut TcpTransport) -> Res<()> {
    loop {
        if let TransportEvent::LinkDown { .. } = next(t).await? {
            return Ok(());
        }
    }
}

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
async fn noise_throughput(frames: u64, size: usize) -> Res<f64> {
    let (mut a, mut b) = transports(size).await?;
    let addr = a.listen_addr().ok_or("not listening")?;
    b.connect(&addr.to_string())?;
    let lb = wait_up(&mut b).await?;
    let la = wait_up(&mut a).await?;
    let payload = Bytes::from(vec![0xA5; size]);
    let start = Instant::now();
    let sender = tokio::spawn(async move {
        for _ in 0..frames {
            b.send_wait(lb, payload.clone()).await?;
        }
        Ok::<_, agentnet_transport::TransportError>(b)
    });
    let mut got = 0u64;
    while got < frames {
        match next(&mut a).await? {
            TransportEvent::Frame { link, frame } if link == la => {
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
    let _b = sender.await??;
    Ok(secs)
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

/// Mean microseconds per full TcpTransport connect (dial → LinkUp on both sides).
async fn transport_handshakes(n: u32) -> Res<f64> {
    let (mut a, mut b) = transports(1024).await?;
    let addr = a.listen_addr().ok_or("not listening")?.to_string();
    let mut total = Duration::ZERO;
    for _ in 0..n {
        let start = Instant::now();
        b.connect(&addr)?;
        let (la, lb) = tokio::join!(wait_up(&mut a), wait_up(&mut b));
        total += start.elapsed();
        let (_la, lb) = (la?, lb?);
        // Tear down outside the measurement (a second link to the same peer would be a
        // duplicate).
        b.close(lb);
        let (da, db) = tokio::join!(wait_down(&mut a), wait_down(&mut b));
        da?;
        db?;
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
    let mut hs = snow::Builder::new(NOISE_PATTERN.parse()?)
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
    let mut hs = snow::Builder::new(NOISE_PATTERN.parse()?)
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

/// Single-core ChaCha20-Poly1305 sealing speed through snow (MB/s of plaintext), in the
/// largest Noise messages: the ceiling any encrypted transport on this machine works under
/// (the receiver pays about as much again to open).
fn aead_seal_mb_per_s() -> Res<f64> {
    let params: snow::params::NoiseParams = "Noise_NN_25519_ChaChaPoly_BLAKE2s".parse()?;
    let mut i = snow::Builder::new(params.clone()).build_initiator()?;
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

async fn run(args: Args) -> Res<serde_json::Value> {
    let (frames, size) = (args.frames.max(1), args.frame_size);
    let hs = args.handshakes.max(1);
    let reps = args.reps.max(1);
    let (mut plain_s, mut noise_s, mut bare_us, mut full_us) = (vec![], vec![], vec![], vec![]);
    for rep in 1..=reps {
        let p = plain_throughput(frames, size).await?;
        let n = noise_throughput(frames, size).await?;
        eprintln!(
            "rep {rep}/{reps} throughput: plain {:.0} frames/s, noise {:.0} frames/s ({:.2})",
            frames as f64 / p,
            frames as f64 / n,
            p / n
        );
        let b = bare_handshakes(hs).await?;
        let f = transport_handshakes(hs).await?;
        eprintln!(
            "rep {rep}/{reps} handshake: bare snow {b:.0} µs, transport {f:.0} µs ({:.2}x)",
            f / b
        );
        plain_s.push(p);
        noise_s.push(n);
        bare_us.push(b);
        full_us.push(f);
    }
    let verify = binding_verify_us()?;
    let aead = aead_seal_mb_per_s()?;
    let (p, n) = (median(&plain_s), median(&noise_s));
    let (b, f) = (median(&bare_us), median(&full_us));
    let mb = |secs: f64| frames as f64 * size as f64 / secs / 1e6;
    let out = json!({
        "frame_size": size,
        "frames": frames,
        "handshakes": hs,
        "reps": reps,
        "throughput": {
            "plain": { "frames_per_s": frames as f64 / p, "mb_per_s": mb(p), "secs": p },
            "noise": { "frames_per_s": frames as f64 / n, "mb_per_s": mb(n), "secs": n },
            "ratio": p / n,
            "aead_seal_mb_per_s_one_core": aead,
        },
        "handshake": {
            "bare_snow_us": b,
            "transport_us": f,
            "ratio": f / b,
            "binding_verify_us": verify,
        },
    });
    eprintln!(
        "median throughput: plain {:.0} frames/s ({:.0} MB/s), noise {:.0} frames/s ({:.0} MB/s), ratio {:.2}",
        frames as f64 / p,
        mb(p),
        frames as f64 / n,
        mb(n),
        p / n
    );
    eprintln!("one core seals {aead:.0} MB/s with ChaCha20-Poly1305 (64 KiB Noise messages)");
    eprintln!(
        "median handshake: bare snow {b:.0} µs, transport {f:.0} µs, ratio {:.2} (one binding check {verify:.0} µs)",
        f / b
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
    let out = rt.block_on(run(args))?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(())
}
