//! `GossipEngine::handle_message` on the header path.
//!
//! - `duplicate_header`: a header frame the engine already accepted arrives again. It must be
//!   recognised from its bytes alone (one BLAKE3 over the frame and a map lookup), before any
//!   decoding or signature verification. Goal: at most 2% of `verify_one_signature`.
//! - `new_header`: a fresh, valid header from a known author (the key is cached) is verified,
//!   checked, logged and relayed to two mesh peers.
//! - `verify_one_signature`: one strict Ed25519 verification of a header, the yardstick.
//!
//! Run: `cargo bench -p agentnet-gossip --bench handle_message`.

use std::hint::black_box;
use std::time::Duration;

use agentnet_core::descriptor::Topic;
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::test_support::{EPOCH_MS, uptime_secs};
use agentnet_core::{Engine, Hash, Keypair, LinkId, Signed, SignedObject, WallTime};
use agentnet_gossip::wire::{self, Message};
use agentnet_gossip::{EntryKind, GossipConfig, GossipEngine, LogHeader};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};

fn topic() -> Topic {
    Topic::new("bench/t").unwrap()
}

fn engine() -> GossipEngine {
    let mut c = GossipConfig::seeded([1; 32]);
    c.max_headers = 10_000_000;
    c.max_entries_per_author = 65_536;
    c.author_rate = 10_000;
    c.author_burst = 100_000;
    c.link_rate = 1_000_000;
    c.link_burst = 1_000_000;
    c.seen_capacity = 10_000_000;
    let mut e = GossipEngine::new(
        c,
        Box::new(Keypair::from_seed([1; 32])),
        Box::new(HashedNgramEncoder::default()),
        uptime_secs(1),
    )
    .unwrap();
    e.subscribe(uptime_secs(1), topic()).unwrap();
    for l in 1..=3 {
        e.handle_link_up(uptime_secs(1), LinkId(l));
        let m = Message::Subscribe(wire::Subscribe {
            join: vec![topic()],
            leave: vec![],
        })
        .encode();
        e.handle_message(uptime_secs(1), LinkId(l), m).unwrap();
    }
    while e.poll_transmit().is_some() {}
    while e.poll_event().is_some() {}
    e
}

/// `n` consecutive headers of one author, as frames.
fn chain(kp: &Keypair, n: u64) -> Vec<Signed<LogHeader>> {
    let mut prev: Option<Hash> = None;
    (1..=n)
        .map(|seq| {
            let body = seq.to_le_bytes();
            let h = LogHeader {
                author: kp.id(),
                topic: topic(),
                seq,
                prev,
                kind: EntryKind::DESCRIPTOR,
                body_hash: wire::body_hash(&body),
                body_len: body.len() as u32,
                issued_at: WallTime::from_unix_millis(EPOCH_MS),
                ttl_ms: 60_000,
                sketch: Some(agentnet_core::semantic::TaggedSketch {
                    encoder: agentnet_core::semantic::EncoderTag([1; 8]),
                    sketch: agentnet_core::semantic::Sketch([7; 32]),
                }),
            };
            let s = Signed::sign(kp, h).unwrap();
            prev = Some(s.hash());
            s
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let kp = Keypair::from_seed([9; 32]);
    let mut g = c.benchmark_group("gossip_handle_message");
    g.measurement_time(Duration::from_secs(4));

    let one = chain(&kp, 1).remove(0);
    let frame = one.to_frame();
    g.bench_function("verify_one_signature", |b| {
        b.iter(|| {
            kp.id()
                .verify(LogHeader::CONTEXT, black_box(one.body()), one.signature())
                .unwrap()
        })
    });

    let mut e = engine();
    e.handle_message(uptime_secs(1), LinkId(1), frame.clone())
        .unwrap();
    while e.poll_transmit().is_some() {}
    while e.poll_event().is_some() {}
    g.bench_function("duplicate_header", |b| {
        b.iter(|| {
            e.handle_message(uptime_secs(1), LinkId(2), black_box(frame.clone()))
                .unwrap();
            while e.poll_transmit().is_some() {}
        })
    });

    let frames: Vec<Bytes> = chain(&kp, 20_000).iter().map(Signed::to_frame).collect();
    g.bench_function("new_header", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters as usize;
            while left > 0 {
                let mut e = engine();
                let n = left.min(frames.len());
                // A benchmark measures wall time; the engine itself never reads a clock.
                #[allow(clippy::disallowed_methods)]
                let start = std::time::Instant::now();
                for f in &frames[..n] {
                    e.handle_message(uptime_secs(1), LinkId(1), f.clone())
                        .unwrap();
                    while e.poll_transmit().is_some() {}
                    while e.poll_event().is_some() {}
                }
                total += start.elapsed();
                left -= n;
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
