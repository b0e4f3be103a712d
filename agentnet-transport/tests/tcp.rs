//! The TCP + Noise transport over real sockets on 127.0.0.1.
//!
//! Every wait is bounded by a generous timeout on an expected event; nothing sleeps a fixed
//! time and then assumes something happened.
#![cfg(feature = "runtime")]

use std::net::SocketAddr;
use std::time::Duration;

use agentnet_core::seal::{KeyBinding, X25519Public};
use agentnet_core::test_support::keypair;
use agentnet_core::{Keypair, LinkId, Signed, WallTime};
use agentnet_transport::tcp::{NOISE_PATTERN, TcpConfig, TcpTransport};
use agentnet_transport::{LinkDown, LinkInfo, Transport, TransportError, TransportEvent};
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

const WAIT: Duration = Duration::from_secs(10);

fn listening() -> TcpConfig {
    TcpConfig {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..TcpConfig::default()
    }
}

async fn transport(n: u8, cfg: TcpConfig) -> TcpTransport {
    TcpTransport::bind(&keypair(n), cfg, 1_700_000_000_000)
        .await
        .unwrap()
}

async fn next(t: &mut TcpTransport) -> TransportEvent {
    tokio::time::timeout(WAIT, t.next_event())
        .await
        .expect("an event in time")
        .expect("transport still open")
}

async fn link_up(t: &mut TcpTransport) -> LinkInfo {
    match next(t).await {
        TransportEvent::LinkUp(info) => info,
        other => panic!("expected LinkUp, got {other:?}"),
    }
}

async fn refused(t: &mut TcpTransport) -> String {
    match next(t).await {
        TransportEvent::Refused { reason, .. } => reason,
        other => panic!("expected Refused, got {other:?}"),
    }
}

async fn link_down(t: &mut TcpTransport) -> (LinkId, LinkDown) {
    match next(t).await {
        TransportEvent::LinkDown { link, reason } => (link, reason),
        other => panic!("expected LinkDown, got {other:?}"),
    }
}

async fn frame(t: &mut TcpTransport) -> (LinkId, Bytes) {
    match next(t).await {
        TransportEvent::Frame { link, frame } => (link, frame),
        other => panic!("expected Frame, got {other:?}"),
    }
}

fn pattern(len: usize, salt: u8) -> Bytes {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ salt)
        .collect()
}

/// Two transports, `b` dialing `a`; returns both sides' link info.
async fn pair(
    a_cfg: TcpConfig,
    b_cfg: TcpConfig,
) -> (TcpTransport, LinkInfo, TcpTransport, LinkInfo) {
    let mut a = transport(1, a_cfg).await;
    let mut b = transport(2, b_cfg).await;
    b.connect(&a.listen_addr().unwrap().to_string()).unwrap();
    let lb = link_up(&mut b).await;
    let la = link_up(&mut a).await;
    (a, la, b, lb)
}

// ---- a hand-driven Noise peer -------------------------------------------------------------

fn binding(signer: &Keypair, x25519: X25519Public) -> Bytes {
    let b = KeyBinding {
        agent: signer.id(),
        x25519,
        issued_at: WallTime::from_unix_millis(1_700_000_000_000),
    };
    Signed::sign(signer, b).unwrap().to_frame()
}

async fn write_msg(s: &mut TcpStream, msg: &[u8]) {
    let mut wire = (msg.len() as u16).to_be_bytes().to_vec();
    wire.extend_from_slice(msg);
    s.write_all(&wire).await.unwrap();
}

async fn read_msg(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await?;
    let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut msg).await?;
    Ok(msg)
}

/// Dial `addr` and run the initiator side of XX with `static_key`, sending `payload` in
/// message 3.
async fn manual_dial(
    stream: TcpStream,
    static_key: [u8; 32],
    payload: &[u8],
) -> (TcpStream, snow::TransportState) {
    let mut s = stream;
    let mut hs = snow::Builder::new(NOISE_PATTERN.parse().unwrap())
        .local_private_key(&static_key)
        .unwrap()
        .build_initiator()
        .unwrap();
    let mut buf = vec![0u8; 65_535];
    let mut out = vec![0u8; 65_535];
    let n = hs.write_message(&[], &mut buf).unwrap();
    write_msg(&mut s, &buf[..n]).await;
    let m2 = read_msg(&mut s).await.unwrap();
    hs.read_message(&m2, &mut out).unwrap();
    let n = hs.write_message(payload, &mut buf).unwrap();
    write_msg(&mut s, &buf[..n]).await;
    (s, hs.into_transport_mode().unwrap())
}

async fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).await.unwrap()
}

/// Read transport messages until EOF, returning the frames in the plaintext stream.
async fn read_frames(mut s: TcpStream, mut noise: snow::TransportState) -> Vec<Bytes> {
    let mut plain = Vec::new();
    let mut out = vec![0u8; 65_535];
    let mut frames = vec![];
    while let Ok(msg) = read_msg(&mut s).await {
        let n = noise.read_message(&msg, &mut out).unwrap();
        plain.extend_from_slice(&out[..n]);
        while plain.len() >= 4 {
            let len = u32::from_be_bytes(plain[..4].try_into().unwrap()) as usize;
            if plain.len() < 4 + len {
                break;
            }
            frames.push(Bytes::copy_from_slice(&plain[4..4 + len]));
            plain.drain(..4 + len);
        }
    }
    assert!(plain.is_empty(), "stream ended inside a frame");
    frames
}

// ---- tests -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_flow_both_ways_in_order_and_close_reports_both_sides() {
    let (mut a, la, mut b, lb) = pair(listening(), TcpConfig::default()).await;
    assert_eq!(la.peer, keypair(2).id());
    assert_eq!(lb.peer, keypair(1).id());
    assert!(lb.outbound && !la.outbound);
    assert_eq!(b.peer(lb.link), Some(keypair(1).id()));
    assert_eq!(a.connection_count(), 1);

    let frames = [pattern(0, 1), pattern(1024, 2), pattern(300 * 1024, 3)];
    for f in &frames {
        b.send(lb.link, f.clone()).unwrap();
        a.send(la.link, f.clone()).unwrap();
    }
    for f in &frames {
        assert_eq!(frame(&mut a).await, (la.link, f.clone()));
        assert_eq!(frame(&mut b).await, (lb.link, f.clone()));
    }

    let max = b.config().max_frame;
    assert_eq!(
        b.send(lb.link, Bytes::from(vec![0; max + 1])),
        Err(TransportError::FrameTooLarge { len: max + 1, max })
    );
    assert_eq!(
        b.send(LinkId(999), Bytes::new()),
        Err(TransportError::UnknownLink(LinkId(999)))
    );

    // Frames queued just before close are flushed, then both sides report the link down.
    b.send(lb.link, pattern(5000, 4)).unwrap();
    b.close(lb.link);
    assert_eq!(
        b.send(lb.link, Bytes::new()),
        Err(TransportError::UnknownLink(lb.link))
    );
    assert_eq!(link_down(&mut b).await, (lb.link, LinkDown::ClosedLocally));
    assert_eq!(frame(&mut a).await, (la.link, pattern(5000, 4)));
    assert_eq!(link_down(&mut a).await, (la.link, LinkDown::ClosedByPeer));
    assert!(a.links().is_empty() && b.links().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_is_refused_and_the_listener_keeps_serving() {
    let mut a = transport(1, listening()).await;
    let addr = a.listen_addr().unwrap();
    let mut raw = connect(addr).await;
    raw.write_all(b"GET / HTTP/1.1\r\nHost: example\r\n\r\n")
        .await
        .unwrap();
    let reason = refused(&mut a).await;
    assert!(reason.contains("handshake message"), "{reason}");
    // The connection was closed.
    let mut byte = [0u8; 1];
    let n = tokio::time::timeout(WAIT, raw.read(&mut byte))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));

    // A well-formed length around a message too short for an ephemeral key fails in Noise.
    let mut raw = connect(addr).await;
    write_msg(&mut raw, &[7u8; 10]).await;
    let reason = refused(&mut a).await;
    assert!(reason.contains("noise"), "{reason}");

    let mut b = transport(2, TcpConfig::default()).await;
    b.connect(&addr.to_string()).unwrap();
    assert_eq!(link_up(&mut a).await.peer, keypair(2).id());
    assert_eq!(link_up(&mut b).await.peer, keypair(1).id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_length_prefix_after_handshake_is_a_protocol_error() {
    let mut a = transport(1, listening()).await;
    let me = keypair(9);
    let (mut s, mut noise) = manual_dial(
        connect(a.listen_addr().unwrap()).await,
        me.x25519().to_bytes(),
        &binding(&me, me.x25519().public()),
    )
    .await;
    let up = link_up(&mut a).await;
    assert_eq!(up.peer, me.id());

    // A legitimate frame first, then a record declaring max_frame + 1 bytes.
    let mut buf = vec![0u8; 65_535];
    let mut plain = 3u32.to_be_bytes().to_vec();
    plain.extend_from_slice(b"abc");
    let n = noise.write_message(&plain, &mut buf).unwrap();
    write_msg(&mut s, &buf[..n]).await;
    assert_eq!(frame(&mut a).await, (up.link, Bytes::from_static(b"abc")));

    let too_big = (a.config().max_frame as u32 + 1).to_be_bytes();
    let n = noise.write_message(&too_big, &mut buf).unwrap();
    write_msg(&mut s, &buf[..n]).await;
    let (link, reason) = link_down(&mut a).await;
    assert_eq!(link, up.link);
    assert!(
        matches!(&reason, LinkDown::Protocol(m) if m.contains("above the maximum")),
        "{reason:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_handshake_is_refused_after_the_timeout() {
    let cfg = TcpConfig {
        handshake_timeout: Duration::from_millis(300),
        ..listening()
    };
    let mut a = transport(1, cfg).await;
    let mut raw = connect(a.listen_addr().unwrap()).await;
    // Half of message 1 (32 bytes announced, 16 sent), then silence.
    raw.write_all(&32u16.to_be_bytes()).await.unwrap();
    raw.write_all(&[1u8; 16]).await.unwrap();
    let reason = refused(&mut a).await;
    assert!(reason.contains("timed out"), "{reason}");
    assert_eq!(a.connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_or_mismatched_bindings_are_refused() {
    let mut a = transport(1, listening()).await;
    let addr = a.listen_addr().unwrap();
    let me = keypair(9);
    let other = keypair(10);

    // The right agent, but a binding for another X25519 key than the Noise static key.
    let wrong_key = binding(&me, other.x25519().public());
    // A valid binding of another agent, presented with my static key.
    let someone_else = binding(&other, other.x25519().public());
    // My binding with a byte of the signed body flipped.
    let mut tampered = binding(&me, me.x25519().public()).to_vec();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    // Not a binding at all.
    let garbage = vec![0x55u8; 40];

    for (payload, expect) in [
        (wrong_key.to_vec(), "another X25519 key"),
        (someone_else.to_vec(), "another X25519 key"),
        (tampered, "invalid key binding"),
        (garbage, "invalid key binding"),
    ] {
        let (mut s, _) = manual_dial(connect(addr).await, me.x25519().to_bytes(), &payload).await;
        let reason = refused(&mut a).await;
        assert!(reason.contains(expect), "{reason}");
        assert!(reason.contains("binding"), "{reason}");
        let mut byte = [0u8; 1];
        let n = tokio::time::timeout(WAIT, s.read(&mut byte)).await.unwrap();
        assert!(matches!(n, Ok(0) | Err(_)), "closed after refusal");
    }
    assert!(a.links().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limits_hold_without_exhausting_resources() {
    let cfg = TcpConfig {
        max_per_ip: 2,
        ..listening()
    };
    let mut a = transport(1, cfg).await;
    let addr = a.listen_addr().unwrap();
    let mut clients = vec![];
    for _ in 0..50 {
        clients.push(connect(addr).await);
    }
    let mut limit_refusals = 0;
    while limit_refusals < 48 {
        let reason = refused(&mut a).await;
        assert!(reason.contains("per-IP connection limit"), "{reason}");
        limit_refusals += 1;
        assert!(
            a.connection_count() <= 2,
            "{} connections",
            a.connection_count()
        );
    }
    assert_eq!(
        a.connection_count(),
        2,
        "the first two are held in handshake"
    );
    // Refused sockets are closed at once.
    let mut byte = [0u8; 1];
    let last = clients.last_mut().unwrap();
    let n = tokio::time::timeout(WAIT, last.read(&mut byte))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));
    // Hanging up the two pending handshakes frees their slots.
    drop(clients);
    for _ in 0..2 {
        let reason = refused(&mut a).await;
        assert!(reason.contains("closed during the handshake"), "{reason}");
    }
    assert_eq!(a.connection_count(), 0);
    // And the listener still serves.
    let mut b = transport(2, TcpConfig::default()).await;
    b.connect(&addr.to_string()).unwrap();
    link_up(&mut a).await;
    link_up(&mut b).await;
}

/// Frame `i` of a flood: its index, padded to 4 KiB.
fn indexed(i: u64) -> Bytes {
    let mut f = i.to_be_bytes().to_vec();
    f.resize(4096, i as u8);
    Bytes::from(f)
}

/// Send `n` [`indexed`] frames from a transport with `cfg` to a peer with a tiny receive
/// buffer that reads nothing until the transport closes the link; returns the frames the
/// peer got and the number of drops the transport reported.
async fn flood_a_slow_reader(cfg: TcpConfig, n: u64) -> (Vec<Bytes>, u64) {
    let mut a = transport(1, cfg).await;
    let me = keypair(9);
    let sock = TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(4096).unwrap();
    let stream = sock.connect(a.listen_addr().unwrap()).await.unwrap();
    let (s, noise) = manual_dial(
        stream,
        me.x25519().to_bytes(),
        &binding(&me, me.x25519().public()),
    )
    .await;
    let up = link_up(&mut a).await;
    for i in 0..n {
        a.send(up.link, indexed(i)).unwrap();
    }
    // Now read everything the transport still delivers, and close so the stream ends.
    let reader = tokio::spawn(read_frames(s, noise));
    a.close(up.link);
    let mut reported = 0;
    loop {
        match next(&mut a).await {
            TransportEvent::SendDropped { link, frames } => {
                assert_eq!(link, up.link);
                assert!(frames > 0);
                reported += frames;
            }
            TransportEvent::LinkDown { link, reason } => {
                assert_eq!((link, reason), (up.link, LinkDown::ClosedLocally));
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    let received = reader.await.unwrap();
    assert_eq!(
        received.len() as u64 + reported,
        n,
        "every frame delivered or reported"
    );
    (received, reported)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_send_queue_drops_and_every_drop_is_reported() {
    let cfg = TcpConfig {
        send_queue: 4,
        event_queue: 8,
        close_linger: WAIT,
        ..listening()
    };
    let (received, reported) = flood_a_slow_reader(cfg, 5000).await;
    assert!(reported > 0, "the queue of 4 overflowed");
    // Delivered frames are whole and in send order.
    let mut last = None;
    for f in &received {
        let i = u64::from_be_bytes(f[..8].try_into().unwrap());
        assert_eq!(*f, indexed(i));
        assert!(last.is_none_or(|l| i > l), "in order");
        last = Some(i);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_connections_are_refused() {
    let mut a = transport(1, listening()).await;
    a.connect(&format!("tcp://{}", a.listen_addr().unwrap()))
        .unwrap();
    let mut reasons = vec![refused(&mut a).await, refused(&mut a).await];
    reasons.sort();
    assert!(
        reasons.iter().any(|r| r.contains("self-connection")),
        "{reasons:?}"
    );
    assert!(a.links().is_empty());
    assert!(matches!(
        a.connect("no-port"),
        Err(TransportError::BadAddress(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_dials_keep_the_link_dialed_by_the_smaller_id() {
    let mut a = transport(1, listening()).await;
    let mut b = transport(2, listening()).await;
    let a_is_smaller = keypair(1).id() < keypair(2).id();
    a.connect(&b.listen_addr().unwrap().to_string()).unwrap();
    b.connect(&a.listen_addr().unwrap().to_string()).unwrap();

    // Each side settles on one link: two connection outcomes, then one link left up.
    async fn settle(t: &mut TcpTransport) -> LinkInfo {
        let (mut outcomes, mut up) = (0, Vec::<LinkInfo>::new());
        while outcomes < 2 || up.len() != 1 {
            match next(t).await {
                TransportEvent::LinkUp(info) => {
                    outcomes += 1;
                    up.push(info);
                }
                TransportEvent::Refused { .. } => outcomes += 1,
                TransportEvent::LinkDown { link, reason } => {
                    assert!(
                        matches!(reason, LinkDown::Duplicate | LinkDown::ClosedByPeer),
                        "{reason:?}"
                    );
                    up.retain(|i| i.link != link);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        up.pop().unwrap()
    }
    let (la, lb) = tokio::join!(settle(&mut a), settle(&mut b));
    assert_eq!(la.outbound, a_is_smaller);
    assert_eq!(lb.outbound, !a_is_smaller);
    assert_eq!(a.links(), vec![la.link]);
    assert_eq!(b.links(), vec![lb.link]);
    a.send(la.link, Bytes::from_static(b"one link")).unwrap();
    assert_eq!(
        frame(&mut b).await,
        (lb.link, Bytes::from_static(b"one link"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalives_hold_idle_links_and_silent_peers_time_out() {
    let idle = Duration::from_millis(600);
    let cfg = TcpConfig {
        idle_timeout: idle,
        ..listening()
    };
    let (mut a, la, mut b, lb) = pair(cfg.clone(), cfg).await;

    // A silent hand-driven peer (no keepalives) is timed out by `a`.
    let me = keypair(9);
    let (_silent, _) = manual_dial(
        connect(a.listen_addr().unwrap()).await,
        me.x25519().to_bytes(),
        &binding(&me, me.x25519().public()),
    )
    .await;
    let silent = link_up(&mut a).await;
    assert_eq!(
        link_down(&mut a).await,
        (silent.link, LinkDown::IdleTimeout)
    );

    // Meanwhile (over two idle periods) the healthy link stayed up and reported nothing.
    assert!(
        tokio::time::timeout(2 * idle, b.next_event())
            .await
            .is_err(),
        "no event on the idle but healthy link"
    );
    b.send(lb.link, Bytes::from_static(b"still here")).unwrap();
    assert_eq!(
        frame(&mut a).await,
        (la.link, Bytes::from_static(b"still here"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_dial_redials_after_the_link_drops() {
    let mut a = transport(1, listening()).await;
    let b_cfg = TcpConfig {
        backoff_initial: Duration::from_millis(20),
        ..TcpConfig::default()
    };
    let mut b = transport(2, b_cfg).await;
    let addr = a.listen_addr().unwrap().to_string();
    b.dial_persistent(&addr).unwrap();
    b.dial_persistent(&addr).unwrap(); // no second dialer
    let first_a = link_up(&mut a).await;
    let first_b = link_up(&mut b).await;

    a.close(first_a.link);
    assert_eq!(link_down(&mut a).await.1, LinkDown::ClosedLocally);
    assert_eq!(link_down(&mut b).await.1, LinkDown::ClosedByPeer);
    let second_a = link_up(&mut a).await;
    let second_b = link_up(&mut b).await;
    assert!(
        second_a.link > first_a.link && second_b.link > first_b.link,
        "ids never reused"
    );
    assert_eq!(a.links().len(), 1);

    assert!(b.stop_persistent(&addr));
    assert!(!b.stop_persistent(&addr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_and_drop_close_every_link() {
    let (mut a, la, b, _) = pair(listening(), TcpConfig::default()).await;
    drop(b);
    assert_eq!(link_down(&mut a).await, (la.link, LinkDown::ClosedByPeer));

    let (mut a, la, mut b, lb) = pair(listening(), TcpConfig::default()).await;
    a.shutdown();
    assert_eq!(link_down(&mut a).await, (la.link, LinkDown::ClosedLocally));
    assert_eq!(
        tokio::time::timeout(WAIT, a.next_event()).await.unwrap(),
        None,
        "everything reported"
    );
    assert_eq!(a.send(la.link, Bytes::new()), Err(TransportError::Closed));
    assert_eq!(a.connect("127.0.0.1:1"), Err(TransportError::Closed));
    assert_eq!(link_down(&mut b).await, (lb.link, LinkDown::ClosedByPeer));
}

#[tokio::test]
async fn out_of_range_config_is_refused_not_clamped() {
    let cfg = TcpConfig {
        max_per_ip: 0,
        ..listening()
    };
    match TcpTransport::bind(&keypair(1), cfg, 1_700_000_000_000).await {
        Err(TransportError::Config(e)) => assert_eq!(e.field, "max_per_ip"),
        other => panic!("expected a config error, got {:?}", other.err()),
    }
    let cfg = TcpConfig {
        backoff_initial: Duration::from_secs(60),
        ..TcpConfig::default()
    };
    assert_eq!(cfg.validate().unwrap_err().field, "backoff_initial");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_reader_holds_at_most_send_queue_bytes() {
    // A frame-count bound far away: only the byte bound can stop the queue growing.
    let cfg = TcpConfig {
        send_queue: 1 << 20,
        send_queue_bytes: 64 * 1024,
        max_frame: 8 * 1024,
        event_queue: 8,
        close_linger: WAIT,
        ..listening()
    };
    const N: u64 = 5000;
    let (received, reported) = flood_a_slow_reader(cfg, N).await;
    // 20 MB offered to a peer that reads nothing until the end: all but what the socket
    // buffers and 64 KiB of queue hold was dropped.
    assert!(
        reported > N / 2,
        "{reported} dropped, {} delivered",
        received.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_connections_cannot_take_the_slots_kept_for_dialing_out() {
    let cfg = TcpConfig {
        max_connections: 4,
        max_per_ip: 4,
        outbound_reserved: 2,
        ..listening()
    };
    let mut a = transport(1, cfg).await;
    let addr = a.listen_addr().unwrap();
    // Three inbound connections that never finish their handshakes: the third is refused.
    let mut held = vec![];
    for _ in 0..3 {
        held.push(connect(addr).await);
    }
    let reason = refused(&mut a).await;
    assert!(reason.contains("inbound connection limit"), "{reason}");
    assert_eq!(a.connection_count(), 2);
    // The node still dials out.
    let mut b = transport(2, listening()).await;
    a.connect(&b.listen_addr().unwrap().to_string()).unwrap();
    link_up(&mut a).await;
    link_up(&mut b).await;
    assert_eq!(a.connection_count(), 3);
    drop(held);
}

/// Inbound slots full: a small node that keeps no slot for dialing out.
fn full_house(max_connections: usize) -> TcpConfig {
    TcpConfig {
        max_connections,
        // Every test peer connects from 127.0.0.1: no per-IP limit.
        max_per_ip: 64,
        outbound_reserved: 0,
        handshake_timeout: Duration::from_secs(20),
        ..listening()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_handshakes_give_way_to_a_peer_that_completes_one() {
    let mut a = transport(1, full_house(3)).await;
    let addr = a.listen_addr().unwrap();
    // Three connections that never send a handshake message hold every slot.
    let mut held = vec![];
    for _ in 0..3 {
        held.push(connect(addr).await);
    }
    // While they are fresh, a newcomer is refused (a handshake gets its grace).
    let fresh = transport(2, TcpConfig::default()).await;
    fresh.connect(&addr.to_string()).unwrap();
    let reason = refused(&mut a).await;
    assert!(reason.contains("inbound connection limit"), "{reason}");
    // Once they have stalled past the grace (1 s), an honest peer takes the oldest one's slot.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut b = transport(3, TcpConfig::default()).await;
    b.connect(&addr.to_string()).unwrap();
    // Reported by different tasks, in any order.
    let (mut reason, mut info) = (None, None);
    while reason.is_none() || info.is_none() {
        match next(&mut a).await {
            TransportEvent::Refused { reason: r, .. } => reason = Some(r),
            TransportEvent::LinkUp(i) => info = Some(i),
            other => panic!("unexpected {other:?}"),
        }
    }
    let reason = reason.unwrap();
    assert!(reason.contains("evicted during the handshake"), "{reason}");
    assert_eq!(info.unwrap().peer, keypair(3).id());
    link_up(&mut b).await;
    assert_eq!(a.connection_count(), 3);
    // The oldest held connection is the one that was closed.
    let mut byte = [0u8; 1];
    let n = tokio::time::timeout(WAIT, held[0].read(&mut byte))
        .await
        .unwrap();
    assert!(matches!(n, Ok(0) | Err(_)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_links_from_free_keys_give_way_and_the_active_elder_stays() {
    let mut a = transport(1, full_house(4)).await;
    let addr = a.listen_addr().unwrap().to_string();
    // The honest peer came first and talks.
    let mut honest = transport(2, TcpConfig::default()).await;
    honest.connect(&addr).unwrap();
    let honest_link = link_up(&mut a).await.link;
    let to_a = link_up(&mut honest).await.link;
    // Free keys take the other three slots and stay silent.
    let mut sybils = vec![];
    let mut sybil_links = vec![];
    for n in 10..13 {
        let s = transport(n, TcpConfig::default()).await;
        s.connect(&addr).unwrap();
        sybil_links.push(link_up(&mut a).await.link);
        sybils.push(s);
    }
    honest.send(to_a, Bytes::from_static(b"useful")).unwrap();
    assert_eq!(
        frame(&mut a).await,
        (honest_link, Bytes::from_static(b"useful"))
    );
    // Each new peer that goes on to be useful takes the slot of the youngest idle Sybil, never
    // the honest elder's. (A newcomer that stays idle is itself the youngest idle link, and
    // the next newcomer takes its slot.)
    let mut newcomers = vec![];
    for (i, n) in (20..22).enumerate() {
        let mut newcomer = transport(n, TcpConfig::default()).await;
        newcomer.connect(&addr).unwrap();
        // The eviction and the newcomer's link are reported by different tasks, in any order.
        let (mut gone, mut up) = (None, None);
        while gone.is_none() || up.is_none() {
            match next(&mut a).await {
                TransportEvent::LinkDown { link, reason } => gone = Some((link, reason)),
                TransportEvent::LinkUp(info) => up = Some(info),
                other => panic!("unexpected {other:?}"),
            }
        }
        let (gone, up) = (gone.unwrap(), up.unwrap());
        assert_eq!(
            gone,
            (sybil_links[2 - i], LinkDown::Evicted),
            "youngest Sybil first"
        );
        assert_eq!(up.peer, keypair(n).id());
        let out = link_up(&mut newcomer).await.link;
        newcomer.send(out, Bytes::from_static(b"work")).unwrap();
        assert_eq!(frame(&mut a).await, (up.link, Bytes::from_static(b"work")));
        assert_eq!(a.connection_count(), 4);
        newcomers.push(newcomer);
    }
    // The honest elder never lost its link.
    assert_eq!(a.peer(honest_link), Some(keypair(2).id()));
}
