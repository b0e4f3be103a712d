//! A conformance suite for [`Transport`] implementations (cargo feature `conformance`).
//!
//! Each check makes fresh transports through a [`TransportFactory`], drives them through the
//! trait alone and panics with a message naming the promise of the [`Transport`] contract
//! that was broken. [`run_all`] runs every check; each check is also a `pub async fn` of its
//! own, to run one at a time while fixing a transport.
//!
//! What the checks need:
//!
//! * A tokio runtime with its time driver (`#[tokio::test]`); the checks spawn one task.
//! * Transports that listen: dial addresses come from [`Transport::local_addr`] of the
//!   transport made for the other side.
//! * Send queues that hold 101 frames on one link (the frame check sends them at once and
//!   counts a [`TransportEvent::SendDropped`] as a failure).
//!
//! Every wait for an event a promise says must come is bounded by [`WAIT`]; every watch for
//! an event a promise says must not come lasts [`QUIET`]. A broken transport fails, it does
//! not hang the suite. Identities are `Keypair::from_seed([n; 32])` for small `n`.
//!
//! ```
//! use agentnet_core::Keypair;
//! use agentnet_transport::conformance::{self, TransportFactory};
//! use agentnet_transport::mem::DEFAULT_MAX_FRAME;
//! use agentnet_transport::{MemoryNetwork, Transport};
//!
//! /// Every transport a new endpoint of one in-memory network.
//! struct Memory {
//!     net: MemoryNetwork,
//!     made: u32,
//! }
//!
//! #[async_trait::async_trait]
//! impl TransportFactory for Memory {
//!     async fn make(&mut self, keys: &Keypair) -> Box<dyn Transport> {
//!         self.made += 1;
//!         let name = format!("endpoint-{}", self.made);
//!         Box::new(self.net.transport(&name, keys.id()).unwrap())
//!     }
//!
//!     fn max_frame(&self) -> usize {
//!         DEFAULT_MAX_FRAME
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mut memory = Memory { net: MemoryNetwork::new(), made: 0 };
//! conformance::run_all(&mut memory).await;
//! # });
//! ```

use std::collections::HashSet;
use std::fmt;
use std::time::Duration;

use agentnet_core::{AgentId, Keypair, LinkId};
use async_trait::async_trait;
use bytes::Bytes;
use futures::FutureExt;

use crate::host::{LinkDown, LinkInfo, Transport, TransportError, TransportEvent};

/// Longest wait for an event the contract says must come.
pub const WAIT: Duration = Duration::from_secs(10);
/// How long a check watches for events the contract says must not come.
pub const QUIET: Duration = Duration::from_millis(300);

/// Makes fresh transports for the suite.
#[async_trait]
pub trait TransportFactory: Send {
    /// A new transport authenticating as `keys`, listening (so that
    /// [`Transport::local_addr`] is an address the other transports can dial).
    async fn make(&mut self, keys: &Keypair) -> Box<dyn Transport>;

    /// The largest frame the transports carry (bytes).
    fn max_frame(&self) -> usize;
}

/// Run every check, in the order they are listed in the module.
pub async fn run_all<F: TransportFactory + ?Sized>(factory: &mut F) {
    link_up(factory).await;
    frames_whole_and_in_order(factory).await;
    oversized_send_fails(factory).await;
    unknown_link_fails(factory).await;
    close_is_final(factory).await;
    self_connect_is_refused(factory).await;
    one_link_per_peer(factory).await;
    next_event_is_cancel_safe(factory).await;
    link_ids_are_not_reused(factory).await;
    bad_address_is_refused(factory).await;
}

/// Promises 1 and 10: a connect brings one link up on both sides, with the right peers and
/// `outbound` flags.
pub async fn link_up<F: TransportFactory + ?Sized>(factory: &mut F) {
    pair(factory).await;
}

/// Promise 6: many small frames (one empty) and one frame of exactly the maximum size
/// arrive whole and in order, both ways at once.
pub async fn frames_whole_and_in_order<F: TransportFactory + ?Sized>(factory: &mut F) {
    let max = factory.max_frame();
    let mut p = pair(factory).await;
    let frames: Vec<Bytes> = (0..100usize)
        .map(|i| Bytes::from(vec![i as u8; i * 7 % 300]))
        .chain([Bytes::from(
            (0..max).map(|i| (i % 251) as u8).collect::<Vec<u8>>(),
        )])
        .collect();
    for f in &frames {
        send(&*p.a, p.la, f.clone(), "6 (frames a -> b)");
        send(&*p.b, p.lb, f.clone(), "6 (frames b -> a)");
    }
    let got_b = frames_on(&mut *p.b, p.lb, frames.len(), "6 (frames a -> b)").await;
    let got_a = frames_on(&mut *p.a, p.la, frames.len(), "6 (frames b -> a)").await;
    for (got, dir) in [(got_b, "a -> b"), (got_a, "b -> a")] {
        for (i, (g, f)) in got.iter().zip(&frames).enumerate() {
            if g != f {
                fail(
                    "6 (whole frames in order)",
                    format!("{dir}: frame {i} has {} bytes, sent {}", g.len(), f.len()),
                );
            }
        }
    }
}

/// Promise 7: sending a frame one byte over the maximum fails with `FrameTooLarge` and
/// leaves the link working.
pub async fn oversized_send_fails<F: TransportFactory + ?Sized>(factory: &mut F) {
    let max = factory.max_frame();
    let mut p = pair(factory).await;
    match p.a.send(p.la, Bytes::from(vec![0; max + 1])) {
        Err(TransportError::FrameTooLarge { len, max: m }) if len == max + 1 && m == max => {}
        other => fail(
            "7 (oversized send)",
            format!("send of {} bytes returned {other:?}", max + 1),
        ),
    }
    send(&*p.a, p.la, Bytes::from_static(b"after"), "7");
    let got = frames_on(&mut *p.b, p.lb, 1, "7 (link survives an oversized send)").await;
    if got[0] != Bytes::from_static(b"after") {
        fail("7", "the oversized frame or part of it was delivered");
    }
}

/// Promise 8: `send` on a link the transport never reported fails with `UnknownLink`.
pub async fn unknown_link_fails<F: TransportFactory + ?Sized>(factory: &mut F) {
    let p = pair(factory).await;
    let unknown = LinkId(p.la.0 ^ (1 << 63));
    match p.a.send(unknown, Bytes::from_static(b"x")) {
        Err(TransportError::UnknownLink(l)) if l == unknown => {}
        other => fail("8 (unknown link)", format!("send returned {other:?}")),
    }
}

/// Promises 2, 8 and 9: `close` flushes queued frames, then each side reports exactly one
/// `LinkDown` (`ClosedLocally` on the closing side) and nothing after it; sends on the closed
/// link fail.
pub async fn close_is_final<F: TransportFactory + ?Sized>(factory: &mut F) {
    let mut p = pair(factory).await;
    for i in 0..20u8 {
        send(&*p.a, p.la, Bytes::from(vec![i; 64]), "9");
        // Frames towards the closing side: none may be reported after its LinkDown.
        let _ = p.b.send(p.lb, Bytes::from(vec![i; 64]));
    }
    p.a.close(p.la);
    p.a.close(p.la);
    p.a.close(LinkId(p.la.0 ^ (1 << 63)));
    loop {
        match next(&mut *p.a, "9 (close reports LinkDown)").await {
            TransportEvent::Frame { link, .. } if link == p.la => {}
            TransportEvent::LinkDown { link, reason } if link == p.la => {
                if reason != LinkDown::ClosedLocally {
                    fail("9", format!("closing side reported {reason:?}"));
                }
                break;
            }
            ev => unexpected("9 (close reports LinkDown)", &ev),
        }
    }
    let got = frames_on(&mut *p.b, p.lb, 20, "9 (close flushes queued frames)").await;
    if got.iter().enumerate().any(|(i, f)| f[..] != [i as u8; 64]) {
        fail("9", "frames queued before close arrived changed");
    }
    match next(&mut *p.b, "2 (the peer sees the link go down)").await {
        TransportEvent::LinkDown { link, .. } if link == p.lb => {}
        ev => unexpected("2 (the peer sees the link go down)", &ev),
    }
    for (t, link, side) in [(&mut p.a, p.la, "closing"), (&mut p.b, p.lb, "peer")] {
        match t.send(link, Bytes::from_static(b"late")) {
            Err(TransportError::UnknownLink(_) | TransportError::Closed) => {}
            other => fail("8 (send after close)", format!("{side} side: {other:?}")),
        }
        if let Some(ev) = quiet(&mut **t).await {
            unexpected("2 (nothing after LinkDown)", &ev);
        }
    }
}

/// Promise 4: dialing one's own address never brings a link up.
pub async fn self_connect_is_refused<F: TransportFactory + ?Sized>(factory: &mut F) {
    let mut a = factory.make(&keys(1)).await;
    if a.connect(&addr(&*a)).is_ok() {
        match next(&mut *a, "4 (self-connect is refused)").await {
            TransportEvent::Refused { .. } => {}
            ev => unexpected("4 (self-connect is refused)", &ev),
        }
    }
    // A transport may refuse both ends of the connection.
    while let Some(ev) = quiet(&mut *a).await {
        if !matches!(ev, TransportEvent::Refused { .. }) {
            unexpected("4 (self-connect is refused)", &ev);
        }
    }
}

/// Promise 5: a second connect to a linked peer, from either side, leaves one link per peer
/// on each side, the same on both: the loser is refused or goes down as a duplicate.
pub async fn one_link_per_peer<F: TransportFactory + ?Sized>(factory: &mut F) {
    let p = pair(factory).await;
    let (mut a, mut b) = (p.a, p.b);
    let (mut la, mut lb) = (p.la, p.lb);
    for round in 0..2 {
        // Round 0: the side that dialed dials again; round 1: the other side dials.
        let (dialer, other, dl, ol) = if round == 0 {
            (&mut a, &mut b, &mut la, &mut lb)
        } else {
            (&mut b, &mut a, &mut lb, &mut la)
        };
        let to = addr(&**other);
        if dialer.connect(&to).is_err() {
            fail("5", "connect to a linked peer returned an error");
        }
        let mut mine = Links::new(*dl, other.local_id());
        let mut theirs = Links::new(*ol, dialer.local_id());
        // The dialer learns the outcome: refused, or the new link up and the old one down.
        let old = *dl;
        while !mine.refused && (mine.up.contains(&old) || mine.up.len() != 1) {
            let ev = next(&mut **dialer, "5 (second link settled)").await;
            mine.apply(ev);
        }
        *dl = mine.only();
        send(&**dialer, *dl, Bytes::from_static(b"ping"), "5");
        loop {
            match next(&mut **other, "5 (both ends keep the same link)").await {
                TransportEvent::Frame { link, frame } if frame == "ping"[..] => {
                    if !theirs.up.contains(&link) {
                        fail("5", "frame on a link that is not up");
                    }
                    *ol = link;
                    break;
                }
                ev => theirs.apply(ev),
            }
        }
        // The loser's LinkDown may come after the winner's frames.
        while theirs.up.len() != 1 {
            let ev = next(&mut **other, "5 (one link per peer)").await;
            theirs.apply(ev);
        }
        for (t, links) in [(&mut **dialer, &mut mine), (&mut **other, &mut theirs)] {
            while let Some(ev) = quiet(t).await {
                links.apply(ev);
            }
        }
        if theirs.only() != *ol || mine.only() != *dl {
            fail("5", "the ends kept different links");
        }
        send(&**other, *ol, Bytes::from_static(b"pong"), "5");
        let got = frames_on(&mut **dialer, *dl, 1, "5 (both ends keep the same link)").await;
        if got[0] != "pong"[..] {
            fail("5", "wrong frame on the kept link");
        }
    }
}

/// Promise 11: `next_event` futures dropped before completion (polled once, or losing a
/// `select!` against a short sleep) lose no event while frames flow.
pub async fn next_event_is_cancel_safe<F: TransportFactory + ?Sized>(factory: &mut F) {
    const N: u32 = 200;
    let mut p = pair(factory).await;
    let (a, la) = (p.a, p.la);
    let sender = tokio::spawn(async move {
        for i in 0..N {
            send(&*a, la, Bytes::copy_from_slice(&i.to_be_bytes()), "11");
            if i.is_multiple_of(10) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        a
    });
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    let mut polls = 0u64;
    while got.len() < N as usize {
        if tokio::time::Instant::now() > deadline {
            fail(
                "11 (cancel-safe next_event)",
                format!("{} of {N} frames", got.len()),
            );
        }
        polls += 1;
        let ev = if polls.is_multiple_of(2) {
            p.b.next_event().now_or_never().flatten()
        } else {
            tokio::select! {
                ev = p.b.next_event() => ev,
                () = tokio::time::sleep(Duration::from_micros(200)) => None,
            }
        };
        match ev {
            None => tokio::task::yield_now().await,
            Some(TransportEvent::Frame { link, frame }) if link == p.lb => got.push(frame),
            Some(ev) => unexpected("11 (cancel-safe next_event)", &ev),
        }
    }
    for (i, f) in got.iter().enumerate() {
        if f[..] != (i as u32).to_be_bytes() {
            fail("11 (cancel-safe next_event)", format!("frame {i} lost"));
        }
    }
    if let Err(e) = sender.await {
        fail("11", format!("the sending task failed: {e}"));
    }
}

/// Promise 3: links made again after a close, dialed from either side, get fresh ids.
pub async fn link_ids_are_not_reused<F: TransportFactory + ?Sized>(factory: &mut F) {
    let mut a = factory.make(&keys(1)).await;
    let mut b = factory.make(&keys(2)).await;
    let (mut seen_a, mut seen_b) = (HashSet::new(), HashSet::new());
    for round in 0..4u32 {
        let (da, db) = (addr(&*a), addr(&*b));
        if round.is_multiple_of(2) {
            connect(&*a, &db, "3");
        } else {
            connect(&*b, &da, "3");
        }
        let ia = up(&mut *a, b.local_id(), round % 2 == 0, "3").await;
        let ib = up(&mut *b, a.local_id(), round % 2 == 1, "3").await;
        if !seen_a.insert(ia.link) || !seen_b.insert(ib.link) {
            fail("3 (link ids are never reused)", format!("round {round}"));
        }
        a.close(ia.link);
        down(&mut *a, ia.link, "3").await;
        down(&mut *b, ib.link, "3").await;
    }
}

/// Promise 10: connecting to an unparsable address fails with `BadAddress` or is reported
/// as `Refused`, promptly.
pub async fn bad_address_is_refused<F: TransportFactory + ?Sized>(factory: &mut F) {
    let mut a = factory.make(&keys(1)).await;
    match a.connect("\0 not an address \0") {
        Err(TransportError::BadAddress(_)) => {}
        Ok(()) => match next(&mut *a, "10 (bad address)").await {
            TransportEvent::Refused { .. } => {}
            ev => unexpected("10 (bad address)", &ev),
        },
        Err(e) => fail("10 (bad address)", format!("connect returned {e:?}")),
    }
}

/// Two transports linked by one connect from `a`.
struct Pair {
    a: Box<dyn Transport>,
    b: Box<dyn Transport>,
    la: LinkId,
    lb: LinkId,
}

async fn pair<F: TransportFactory + ?Sized>(factory: &mut F) -> Pair {
    let (ka, kb) = (keys(1), keys(2));
    let mut a = factory.make(&ka).await;
    let mut b = factory.make(&kb).await;
    if a.local_id() != ka.id() || b.local_id() != kb.id() {
        fail(
            "1",
            "local_id is not the identity the transport was made for",
        );
    }
    let dialed = addr(&*b);
    connect(&*a, &dialed, "10 (connect)");
    let info = up(&mut *a, kb.id(), true, "1 (dialing side)").await;
    if info.remote != dialed {
        fail(
            "1",
            format!(
                "an outbound link's remote is {:?}, not the address dialed ({dialed:?})",
                info.remote
            ),
        );
    }
    let la = info.link;
    let lb = up(&mut *b, ka.id(), false, "1 (accepting side)").await.link;
    Pair { a, b, la, lb }
}

/// The links to one peer a side has up, as its events say.
struct Links {
    up: HashSet<LinkId>,
    peer: AgentId,
    refused: bool,
}

impl Links {
    fn new(link: LinkId, peer: AgentId) -> Self {
        Links {
            up: HashSet::from([link]),
            peer,
            refused: false,
        }
    }

    fn apply(&mut self, ev: TransportEvent) {
        match ev {
            TransportEvent::LinkUp(info) if info.peer == self.peer => {
                if !self.up.insert(info.link) {
                    fail(
                        "3 (link ids are never reused)",
                        "LinkUp for a link that is up",
                    );
                }
            }
            TransportEvent::LinkDown {
                link,
                reason: LinkDown::Duplicate | LinkDown::ClosedByPeer,
            } if self.up.remove(&link) => {}
            TransportEvent::Refused { .. } => self.refused = true,
            ev => unexpected("5 (second link settled)", &ev),
        }
    }

    fn only(&self) -> LinkId {
        match self.up.iter().collect::<Vec<_>>()[..] {
            [l] => *l,
            _ => fail(
                "5 (one link per peer)",
                format!("{} links up", self.up.len()),
            ),
        }
    }
}

fn keys(n: u8) -> Keypair {
    Keypair::from_seed([n; 32])
}

fn fail(promise: &str, what: impl fmt::Display) -> ! {
    panic!("transport conformance, promise {promise}: {what}")
}

fn unexpected(promise: &str, ev: &TransportEvent) -> ! {
    fail(promise, format!("unexpected event {ev:?}"))
}

fn addr(t: &dyn Transport) -> String {
    t.local_addr()
        .unwrap_or_else(|| fail("setup", "the factory made a transport without local_addr"))
}

fn connect(t: &dyn Transport, to: &str, promise: &str) {
    if let Err(e) = t.connect(to) {
        fail(promise, format!("connect to {to:?} returned {e:?}"));
    }
}

fn send(t: &dyn Transport, link: LinkId, frame: Bytes, promise: &str) {
    if let Err(e) = t.send(link, frame) {
        fail(promise, format!("send on a link that is up returned {e:?}"));
    }
}

async fn next(t: &mut dyn Transport, promise: &str) -> TransportEvent {
    match tokio::time::timeout(WAIT, t.next_event()).await {
        Ok(Some(ev)) => ev,
        Ok(None) => fail(promise, "the event stream ended"),
        Err(_) => fail(promise, format!("no event within {WAIT:?}")),
    }
}

/// The next event within [`QUIET`], if any.
async fn quiet(t: &mut dyn Transport) -> Option<TransportEvent> {
    tokio::time::timeout(QUIET, t.next_event())
        .await
        .ok()
        .flatten()
}

async fn up(t: &mut dyn Transport, peer: AgentId, outbound: bool, promise: &str) -> LinkInfo {
    match next(t, promise).await {
        TransportEvent::LinkUp(info) if info.peer == peer && info.outbound == outbound => info,
        ev => unexpected(promise, &ev),
    }
}

async fn down(t: &mut dyn Transport, link: LinkId, promise: &str) {
    match next(t, promise).await {
        TransportEvent::LinkDown { link: l, .. } if l == link => {}
        ev => unexpected(promise, &ev),
    }
}

/// `n` frames on `link`; any other event fails `promise`.
async fn frames_on(t: &mut dyn Transport, link: LinkId, n: usize, promise: &str) -> Vec<Bytes> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        match next(t, promise).await {
            TransportEvent::Frame { link: l, frame } if l == link => got.push(frame),
            ev => unexpected(promise, &ev),
        }
    }
    got
}
