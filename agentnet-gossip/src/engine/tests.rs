//! Unit tests of the engine, driven by hand (no simulator): one engine under test and frames
//! built directly.

use super::*;
use agentnet_core::Keypair;
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::wire::{Limits, peek_kind};

use crate::wire::kind;
use agentnet_core::test_support::{EPOCH_MS, uptime_secs};

fn topic() -> Topic {
    Topic::new("creative/image").unwrap()
}

fn engine_with(seed: u8, tweak: impl FnOnce(&mut GossipConfig)) -> GossipEngine {
    let mut cfg = GossipConfig::seeded([seed; 32]);
    tweak(&mut cfg);
    let mut e = GossipEngine::new(
        cfg,
        Box::new(Keypair::from_seed([seed; 32])),
        Box::new(HashedNgramEncoder::default()),
        uptime_secs(10),
    )
    .unwrap();
    e.subscribe(uptime_secs(10), topic()).unwrap();
    e
}

fn engine(seed: u8) -> GossipEngine {
    engine_with(seed, |_| {})
}

fn drain(e: &mut GossipEngine) -> (Vec<Transmit>, Vec<Event>) {
    let t = std::iter::from_fn(|| e.poll_transmit()).collect();
    let v = std::iter::from_fn(|| e.poll_event()).collect();
    (t, v)
}

/// Connect `link`, have it announce the topic, and leave it in the mesh.
fn peer(e: &mut GossipEngine, link: u64) {
    let l = LinkId(link);
    e.handle_link_up(uptime_secs(10), l);
    let sub = Message::Subscribe(wire::Subscribe {
        join: vec![topic()],
        leave: vec![],
    })
    .encode();
    e.handle_message(uptime_secs(10), l, sub).unwrap();
}

/// A signed header by `kp` at `seq`, with a descriptor-like body.
fn header(kp: &Keypair, seq: u64, prev: Option<Hash>, body: &[u8]) -> Signed<LogHeader> {
    let h = LogHeader {
        author: kp.id(),
        topic: topic(),
        seq,
        prev,
        kind: EntryKind::DESCRIPTOR,
        body_hash: wire::body_hash(body),
        body_len: body.len() as u32,
        issued_at: WallTime::from_unix_millis(EPOCH_MS),
        ttl_ms: 15_000,
        sketch: None,
    };
    Signed::sign(kp, h).unwrap()
}

/// Consecutive signed headers by `kp` at seqs `1..=n`, each linked to the previous one; the
/// body of seq `s` is `body(s)`.
fn chain(kp: &Keypair, n: u64, body: impl Fn(u64) -> Vec<u8>) -> Vec<Signed<LogHeader>> {
    let mut prev = None;
    (1..=n)
        .map(|s| {
            let h = header(kp, s, prev, &body(s));
            prev = Some(h.hash());
            h
        })
        .collect()
}

fn kinds(ts: &[Transmit]) -> Vec<u16> {
    ts.iter()
        .map(|t| peek_kind(&t.payload).unwrap().0)
        .collect()
}

mod admission;
mod bodies;
mod entries;
mod headers;
mod mesh;
mod output;
mod repair;
