//! Property tests of the gossip engine's invariants.

use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::test_support::{EPOCH_MS, at_ms};
use agentnet_core::wire::{Limits, peek_kind};
use agentnet_core::{AgentId, Engine, Hash, Keypair, LinkId, Signed, WallTime};
use agentnet_gossip::wire::{self, Message};
use agentnet_gossip::{EntryKind, Event, GossipConfig, GossipEngine, LogHeader, OwnHead};
use bytes::Bytes;
use proptest::prelude::*;

fn topic() -> Topic {
    Topic::new("p/t").unwrap()
}

fn engine(seed: u8, tweak: impl FnOnce(&mut GossipConfig)) -> GossipEngine {
    let mut c = GossipConfig::seeded([seed; 32]);
    tweak(&mut c);
    let mut e = GossipEngine::new(
        c,
        Box::new(Keypair::from_seed([seed; 32])),
        Box::new(HashedNgramEncoder::default()),
        at_ms(0),
    )
    .unwrap();
    e.subscribe(at_ms(0), topic()).unwrap();
    e
}

fn join(e: &mut GossipEngine, link: u64) {
    e.handle_link_up(at_ms(0), LinkId(link));
    let m = Message::Subscribe(wire::Subscribe {
        join: vec![topic()],
        leave: vec![],
    })
    .encode();
    e.handle_message(at_ms(0), LinkId(link), m).unwrap();
}

fn header(author: u8, seq: u64, prev: Option<Hash>, body: u8, skew_ms: i64) -> Bytes {
    let kp = Keypair::from_seed([author; 32]);
    let h = LogHeader {
        author: kp.id(),
        topic: topic(),
        seq,
        prev: if seq == 1 {
            None
        } else {
            Some(prev.unwrap_or(Hash([body; 32])))
        },
        kind: EntryKind::DESCRIPTOR,
        body_hash: wire::body_hash(&[body]),
        body_len: 1,
        issued_at: WallTime::from_unix_millis((EPOCH_MS as i64 + skew_ms) as u64),
        ttl_ms: 20_000,
        sketch: None,
    };
    Signed::sign(&kp, h).unwrap().to_frame()
}

/// `author`'s (0..32) header at `seq` (1..=4) in a well-linked log (each `prev` is the hash
/// of the header below), issued at `EPOCH_MS`; signed once per test binary.
fn chained(author: u8, seq: u64) -> Bytes {
    static CHAINS: std::sync::OnceLock<Vec<Vec<Bytes>>> = std::sync::OnceLock::new();
    let chains = CHAINS.get_or_init(|| {
        (0..32u8)
            .map(|a| {
                let mut prev = None;
                (1..=4)
                    .map(|s| {
                        let f = header(a, s, prev, 1, 0);
                        let h = Signed::<LogHeader>::from_frame(&f, &Limits::default());
                        prev = Some(h.unwrap().hash());
                        f
                    })
                    .collect()
            })
            .collect()
    });
    chains[usize::from(author)][seq as usize - 1].clone()
}

fn author_id(author: u8) -> AgentId {
    Keypair::from_seed([author; 32]).id()
}

#[derive(Clone, Debug)]
enum Input {
    Valid {
        author: u8,
        seq: u64,
        body: u8,
        skew_ms: i64,
    },
    Flip {
        author: u8,
        seq: u64,
        at: usize,
        bit: u8,
    },
    Junk(Vec<u8>),
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        4 => (1u8..4, 1u64..6, any::<u8>(), -40_000i64..40_000)
            .prop_map(|(author, seq, body, skew_ms)| Input::Valid { author, seq, body, skew_ms }),
        2 => (1u8..4, 1u64..6, any::<usize>(), 0u8..8)
            .prop_map(|(author, seq, at, bit)| Input::Flip { author, seq, at, bit }),
        1 => proptest::collection::vec(any::<u8>(), 0..80).prop_map(Input::Junk),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever arrives, every header frame the engine sends is one that verifies, passes the
    /// field and freshness checks, and belongs to the topic.
    #[test]
    fn no_invalid_header_is_ever_relayed(inputs in proptest::collection::vec(input(), 1..40)) {
        let mut e = engine(9, |_| {});
        join(&mut e, 1);
        join(&mut e, 2);
        let rules = e.config().header_rules;
        let mut t = 0u64;
        for i in inputs {
            t += 50;
            let frame = match i {
                Input::Valid { author, seq, body, skew_ms } => header(author, seq, None, body, skew_ms),
                Input::Flip { author, seq, at, bit } => {
                    let mut v = header(author, seq, None, 0, 0).to_vec();
                    let n = v.len();
                    v[at % n] ^= 1 << bit;
                    Bytes::from(v)
                }
                Input::Junk(v) => Bytes::from(v),
            };
            let _ = e.handle_message(at_ms(t), LinkId(1), frame);
            e.handle_timeout(at_ms(t));
            while let Some(tx) = e.poll_transmit() {
                if peek_kind(&tx.payload) == Some(wire::kind::HEADER) {
                    let h = Signed::<LogHeader>::from_frame(&tx.payload, &Limits::default());
                    prop_assert!(h.is_ok(), "relayed a header that does not verify");
                    let h = h.unwrap();
                    prop_assert!(h.validate(at_ms(t), &rules).is_ok());
                    prop_assert_eq!(&h.topic, &topic());
                }
            }
            while e.poll_event().is_some() {}
        }
    }

    /// Across any interleaving of publishes, persistence confirmations and restarts (from
    /// what was persisted), the seqs this node sends strictly increase and never repeat.
    #[test]
    fn own_seq_strictly_increases_across_restarts(ops in proptest::collection::vec(0u8..3, 1..30)) {
        let mut e = engine(5, |_| {});
        let mut stored: Option<OwnHead> = None;
        let mut waiting: Vec<(Topic, u64)> = Vec::new();
        let mut sent: Vec<u64> = Vec::new();
        let mut t = 0u64;
        let id = Keypair::from_seed([5; 32]).id();
        for op in ops {
            t += 100;
            match op {
                0 => {
                    let d = CapabilityDescriptor::builder(id, "c.x", "p/t", "prop test")
                        .ttl(Duration::from_secs(60))
                        .build(at_ms(t))
                        .unwrap();
                    e.publish(at_ms(t), d).unwrap();
                }
                1 => {
                    for (tp, s) in waiting.drain(..) {
                        e.handle_persisted(at_ms(t), &tp, s);
                    }
                }
                _ => {
                    // Restart: everything not persisted is lost.
                    e = GossipEngine::new(
                        GossipConfig::seeded([5; 32]),
                        Box::new(Keypair::from_seed([5; 32])),
                        Box::new(HashedNgramEncoder::default()),
                        at_ms(t),
                    ).unwrap();
                    e.restore(at_ms(t), stored.clone()).unwrap();
                    waiting.clear();
                }
            }
            while let Some(ev) = e.poll_event() {
                match ev {
                    Event::PersistHead(h) => {
                        // The host stores it at once; the confirmation comes with op 1.
                        waiting.push((h.topic.clone(), h.seq));
                        if stored.as_ref().is_none_or(|s| s.seq < h.seq) {
                            stored = Some(h);
                        }
                    }
                    Event::Published { seq, .. } => {
                        prop_assert!(sent.last().is_none_or(|l| *l < seq), "seq {seq} after {sent:?}");
                        sent.push(seq);
                    }
                    _ => {}
                }
            }
            while e.poll_transmit().is_some() {}
        }
    }

    /// Memory caps hold whatever the traffic: headers in total and per author, queued frames
    /// and remembered frame ids.
    #[test]
    fn caps_are_never_exceeded(seqs in proptest::collection::vec((1u8..12, 1u64..12), 1..80)) {
        let mut e = engine(7, |c| {
            c.max_headers = 20;
            c.max_entries_per_author = 3;
            c.max_authors_per_topic = 6;
            c.max_queued_transmits = 16;
            c.seen_capacity = 25;
            c.author_burst = 1000;
        });
        join(&mut e, 1);
        join(&mut e, 2);
        let mut t = 0u64;
        for (author, seq) in seqs {
            t += 10;
            let _ = e.handle_message(at_ms(t), LinkId(1), header(author, seq, None, 1, 0));
            prop_assert!(e.header_count() <= 20);
            prop_assert!(e.queued_transmit_count() <= 16);
            prop_assert!(e.seen_count() <= 25);
            for a in 1u8..12 {
                let id = Keypair::from_seed([a; 32]).id();
                let held = (1..12).filter(|s| e.header(&topic(), &id, *s).is_some()).count();
                prop_assert!(held <= 3);
            }
            while e.poll_event().is_some() {}
        }
    }

    /// Fair admission under any sequence of (author, relaying link, seq) arrivals: at most
    /// `max_authors_per_topic` authors and `max_headers` headers are held, the header count
    /// is exactly what the logs hold, no author that has standing (host-given or by age) and
    /// holds entries is ever evicted, and the next entry of a held author the host vouches
    /// for is never dropped for space.
    #[test]
    fn admission_caps_hold_and_authors_with_standing_stay(
        ops in proptest::collection::vec((1u8..20, 1u64..4, 1u64..5, 0u64..4), 1..120),
    ) {
        const AUTHORS: core::ops::Range<u8> = 1..20;
        let mut e = engine(7, |c| {
            c.max_headers = 12;
            c.max_entries_per_author = 3;
            c.max_authors_per_topic = 6;
            c.author_burst = 1000;
            c.standing_age = Duration::from_secs(2);
        });
        for l in 1..=3 {
            join(&mut e, l);
        }
        for a in 1u8..=3 {
            e.set_standing(at_ms(0), author_id(a), true).unwrap();
        }
        let mut t = 0u64;
        // Frames offered before are duplicates to the seen cache, whatever the logs hold.
        let mut offered = std::collections::BTreeSet::new();
        for (author, link, seq, dt) in ops {
            t += dt * 50;
            let at = at_ms(t);
            // Held: at least one entry (a log whose entries all expired or were evicted for
            // the header cap holds nothing and may make room).
            let holds =
                |e: &GossipEngine, a: &AgentId| (1..5).any(|s| e.header(&topic(), a, s).is_some());
            let held_with_standing: Vec<AgentId> = AUTHORS
                .map(author_id)
                .filter(|a| holds(&e, a) && e.has_standing(at, &topic(), a))
                .collect();
            let id = author_id(author);
            let vouched_next = author <= 3
                && holds(&e, &id)
                && seq == e.head_seq(&topic(), &id) + 1
                && offered.insert((author, seq));
            offered.insert((author, seq));
            let _ = e.handle_message(at, LinkId(link), chained(author, seq));
            e.handle_timeout(at);
            while e.poll_event().is_some() {}
            while e.poll_transmit().is_some() {}
            prop_assert!(e.author_count(&topic()) <= 6);
            prop_assert!(e.header_count() <= 12);
            let held: usize = AUTHORS
                .map(author_id)
                .map(|a| (1..5).filter(|s| e.header(&topic(), &a, *s).is_some()).count())
                .sum();
            prop_assert_eq!(held, e.header_count());
            if vouched_next {
                prop_assert!(
                    e.header(&topic(), &id, seq).is_some(),
                    "the next entry of a held author with standing was dropped"
                );
            }
            for a in &held_with_standing {
                prop_assert!(e.head_seq(&topic(), a) > 0, "an author with standing was evicted");
            }
        }
    }
}
