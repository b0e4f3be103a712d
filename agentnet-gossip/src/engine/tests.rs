//! Unit tests of the engine, driven by hand (no simulator): one engine under test and frames
//! built directly.

use super::*;
use agentnet_core::Keypair;
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::wire::{Limits, peek_kind};

use crate::wire::kind;

const T0: u64 = 1_800_000_000_000;

fn now() -> Now {
    Now::new(Instant::from_secs(10), WallTime::from_unix_millis(T0))
}

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
        now(),
    )
    .unwrap();
    e.subscribe(now(), topic()).unwrap();
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
    e.handle_link_up(now(), l);
    let sub = Message::Subscribe(wire::Subscribe {
        join: vec![topic()],
        leave: vec![],
    })
    .encode();
    e.handle_message(now(), l, sub).unwrap();
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
        issued_at: WallTime::from_unix_millis(T0),
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

#[test]
fn new_header_is_relayed_to_eager_peers_but_not_back() {
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let f = header(&kp, 1, None, b"body").to_frame();
    e.handle_message(now(), LinkId(1), f.clone()).unwrap();
    let (t, ev) = drain(&mut e);
    let headers: Vec<&Transmit> = t
        .iter()
        .filter(|t| peek_kind(&t.payload) == Some(kind::HEADER))
        .collect();
    assert_eq!(headers.len(), 1);
    assert_eq!(headers[0].link, LinkId(2));
    assert_eq!(headers[0].payload, f, "relayed as the exact signed bytes");
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::Header {
            seq: 1,
            wanted: false,
            ..
        }
    )));
    assert_eq!(e.header_count(), 1);
}

#[test]
fn duplicate_is_dropped_before_decoding_and_chokes_the_sender() {
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let f = header(&kp, 1, None, b"body").to_frame();
    e.handle_message(now(), LinkId(1), f.clone()).unwrap();
    drain(&mut e);
    e.handle_message(now(), LinkId(2), f).unwrap();
    let (t, _) = drain(&mut e);
    assert_eq!(e.stats().duplicates, 1);
    assert_eq!(kinds(&t), vec![kind::CHOKE.0], "only a choke goes back");
    assert_eq!(t[0].link, LinkId(2));
    match Message::decode(&t[0].payload, &Limits::default()).unwrap() {
        Message::Choke(c) => assert_eq!(c.author, kp.id(), "the choke names the author"),
        m => panic!("{m:?}"),
    }
}

#[test]
fn chokes_are_per_author_and_undone_by_iwant() {
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    peer(&mut e, 3);
    drain(&mut e);
    let (a, b) = (Keypair::from_seed([9; 32]), Keypair::from_seed([8; 32]));
    for kp in [&a, &b] {
        let f = header(kp, 1, None, b"x").to_frame();
        e.handle_message(now(), LinkId(1), f).unwrap();
    }
    drain(&mut e);
    assert_eq!(e.eager_for(&topic(), &a.id()).len(), 3);
    // Link 2 chokes author a only.
    let choke = Message::Choke(wire::Choke {
        topic: topic(),
        author: a.id(),
    })
    .encode();
    e.handle_message(now(), LinkId(2), choke).unwrap();
    assert_eq!(e.eager_for(&topic(), &a.id()), vec![LinkId(1), LinkId(3)]);
    assert_eq!(
        e.eager_for(&topic(), &b.id()).len(),
        3,
        "b's tree untouched"
    );
    let fa = header(&a, 2, Some(header(&a, 1, None, b"x").hash()), b"y").to_frame();
    let fb = header(&b, 2, Some(header(&b, 1, None, b"x").hash()), b"y").to_frame();
    e.handle_message(now(), LinkId(1), fa.clone()).unwrap();
    e.handle_message(now(), LinkId(1), fb.clone()).unwrap();
    let (t, _) = drain(&mut e);
    let to2: Vec<&Bytes> = t
        .iter()
        .filter(|t| t.link == LinkId(2))
        .map(|t| &t.payload)
        .collect();
    assert_eq!(to2, vec![&fb], "a's header is not pushed to 2, b's is");
    // An IWant for a's header grafts link 2 back onto a's tree.
    let iwant = Message::IWant(wire::IWant {
        topic: topic(),
        ids: vec![ShortId::of(&wire::frame_id(&fa))],
    })
    .encode();
    e.handle_message(now(), LinkId(2), iwant).unwrap();
    let (t, _) = drain(&mut e);
    assert!(t.iter().any(|t| t.link == LinkId(2) && t.payload == fa));
    assert_eq!(e.eager_for(&topic(), &a.id()).len(), 3);
}

#[test]
fn forged_header_is_refused_penalised_and_not_relayed() {
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let mut bad = header(&kp, 1, None, b"body").to_frame().to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let r = e.handle_message(now(), LinkId(1), Bytes::from(bad));
    assert!(matches!(r, Err(GossipError::Signed(_))), "{r:?}");
    let (t, ev) = drain(&mut e);
    assert!(t.is_empty(), "nothing relayed");
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::LinkPenalized {
            link: LinkId(1),
            ..
        }
    )));
    assert_eq!(e.penalty(LinkId(1)), 10);
    assert_eq!(e.header_count(), 0);
}

#[test]
fn stale_future_and_malformed_headers_are_refused() {
    let mut e = engine(1);
    peer(&mut e, 1);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let mut future = header(&kp, 1, None, b"b").value().clone();
    future.issued_at = WallTime::from_unix_millis(T0 + 120_000);
    let f = Signed::sign(&kp, future).unwrap().to_frame();
    assert!(matches!(
        e.handle_message(now(), LinkId(1), f),
        Err(GossipError::Header(_))
    ));
    let late = now().advance(Duration::from_secs(20));
    let f = header(&kp, 1, None, b"b").to_frame();
    assert!(matches!(
        e.handle_message(late, LinkId(1), f),
        Err(GossipError::Header(_))
    ));
    for junk in [&[][..], &[1, 1], &[9, 1, 1, 0], &[1, 0x01, 0x01, 0xff]] {
        assert!(
            e.handle_message(now(), LinkId(1), Bytes::copy_from_slice(junk))
                .is_err()
        );
    }
    assert_eq!(e.header_count(), 0);
    assert!(drain(&mut e).0.is_empty());
}

#[test]
fn repeated_bad_input_bans_the_link() {
    let mut e = engine(1);
    peer(&mut e, 1);
    drain(&mut e);
    for _ in 0..10 {
        let _ = e.handle_message(now(), LinkId(1), Bytes::from_static(&[1, 1, 3, 0xff]));
    }
    let (_, ev) = drain(&mut e);
    assert!(ev.contains(&Event::LinkBanned { link: LinkId(1) }));
    let kp = Keypair::from_seed([9; 32]);
    let f = header(&kp, 1, None, b"b").to_frame();
    assert_eq!(
        e.handle_message(now(), LinkId(1), f),
        Err(GossipError::Banned(LinkId(1)))
    );
    assert!(e.mesh(&topic()).is_empty());
}

#[test]
fn per_author_rate_limit() {
    let mut e = engine_with(1, |c| {
        c.author_rate = 1;
        c.author_burst = 2;
    });
    peer(&mut e, 1);
    let kp = Keypair::from_seed([9; 32]);
    let h1 = header(&kp, 1, None, b"1");
    let h2 = header(&kp, 2, Some(h1.hash()), b"2");
    let h3 = header(&kp, 3, Some(h2.hash()), b"3");
    e.handle_message(now(), LinkId(1), h1.to_frame()).unwrap();
    e.handle_message(now(), LinkId(1), h2.to_frame()).unwrap();
    assert_eq!(
        e.handle_message(now(), LinkId(1), h3.to_frame()),
        Err(GossipError::RateLimited)
    );
    // Refused for rate, not remembered: the same bytes are accepted once tokens return.
    let later = now().advance(Duration::from_secs(2));
    e.handle_message(later, LinkId(1), h3.to_frame()).unwrap();
    assert_eq!(e.head_seq(&topic(), &kp.id()), 3);
}

#[test]
fn gap_triggers_a_range_pull_and_pull_is_answered() {
    let mut e = engine(1);
    peer(&mut e, 1);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let h1 = header(&kp, 1, None, b"1");
    let h2 = header(&kp, 2, Some(h1.hash()), b"2");
    let h3 = header(&kp, 3, Some(h2.hash()), b"3");
    e.handle_message(now(), LinkId(1), h3.to_frame()).unwrap();
    let (t, _) = drain(&mut e);
    let pull = t
        .iter()
        .find(|t| peek_kind(&t.payload) == Some(kind::PULL))
        .expect("a pull");
    match Message::decode(&pull.payload, &Limits::default()).unwrap() {
        Message::Pull(p) => assert_eq!((p.from, p.to), (1, 2)),
        m => panic!("{m:?}"),
    }
    e.handle_message(now(), LinkId(1), h1.to_frame()).unwrap();
    e.handle_message(now(), LinkId(1), h2.to_frame()).unwrap();
    drain(&mut e);
    // Serving: another peer asks for the range.
    peer(&mut e, 2);
    drain(&mut e);
    let ask = Message::Pull(wire::Pull {
        topic: topic(),
        author: kp.id(),
        from: 2,
        to: 9,
    })
    .encode();
    e.handle_message(now(), LinkId(2), ask).unwrap();
    let (t, _) = drain(&mut e);
    let frames: Vec<Bytes> = t.into_iter().map(|t| t.payload).collect();
    assert_eq!(frames, vec![h2.to_frame(), h3.to_frame()]);
}

#[test]
fn equivocation_becomes_a_proof_event_and_is_gossiped() {
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    e.handle_message(now(), LinkId(1), header(&kp, 1, None, b"a").to_frame())
        .unwrap();
    e.handle_message(now(), LinkId(1), header(&kp, 1, None, b"b").to_frame())
        .unwrap();
    let (t, ev) = drain(&mut e);
    let proof = ev
        .iter()
        .find_map(|e| match e {
            Event::Equivocation { what, proof } => Some((what.clone(), proof.clone())),
            _ => None,
        })
        .expect("equivocation event");
    assert_eq!(proof.0.seq, 1);
    assert!(proof.1.verify(&Limits::default()).is_ok());
    assert!(
        t.iter()
            .any(|t| t.link == LinkId(2) && peek_kind(&t.payload) == Some(kind::EQUIVOCATION))
    );
    assert!(e.is_equivocator(&topic(), &kp.id()));
    // Its log is forgotten (and the host told so): the proof is what remains.
    assert!(ev.iter().any(|e| matches!(
        e,
        Event::HeadersForgotten { author, seqs, .. } if *author == kp.id() && *seqs == vec![1]
    )));
    assert_eq!(e.author_count(&topic()), 0);
    assert_eq!(e.header_count(), 0);
    e.assert_consistent();
    // Later entries of the equivocator are not relayed.
    let h1 = header(&kp, 1, None, b"a");
    e.handle_message(
        now(),
        LinkId(1),
        header(&kp, 2, Some(h1.hash()), b"c").to_frame(),
    )
    .unwrap();
    let (t, _) = drain(&mut e);
    assert!(
        t.iter()
            .all(|t| peek_kind(&t.payload) != Some(kind::HEADER))
    );
}

#[test]
fn an_entry_pushed_out_of_a_full_author_log_is_reported() {
    let mut e = engine_with(1, |c| c.max_entries_per_author = 2);
    peer(&mut e, 1);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let mut forgotten = Vec::new();
    for h in chain(&kp, 4, |_| b"x".to_vec()) {
        e.handle_message(now(), LinkId(1), h.to_frame()).unwrap();
        let (_, ev) = drain(&mut e);
        for x in ev {
            if let Event::HeadersForgotten { seqs, .. } = x {
                forgotten.extend(seqs);
            }
        }
    }
    assert_eq!(forgotten, vec![1, 2], "the two oldest made room");
    assert_eq!(e.header_count(), 2);
}

#[test]
fn the_equivocator_set_is_bounded_and_forgets_the_oldest() {
    let mut e = engine_with(1, |c| c.max_authors_per_topic = 4);
    peer(&mut e, 1);
    drain(&mut e);
    let keys: Vec<Keypair> = (10..20).map(|i| Keypair::from_seed([i; 32])).collect();
    for kp in &keys {
        for body in [&b"a"[..], b"b"] {
            e.handle_message(now(), LinkId(1), header(kp, 1, None, body).to_frame())
                .unwrap();
        }
        drain(&mut e);
    }
    let held: Vec<bool> = keys
        .iter()
        .map(|k| e.is_equivocator(&topic(), &k.id()))
        .collect();
    assert_eq!(held.iter().filter(|h| **h).count(), 4, "{held:?}");
    assert!(
        held[6..].iter().all(|h| *h),
        "the newest proofs are kept: {held:?}"
    );
    e.assert_consistent();
}

#[test]
fn publish_waits_for_persistence_and_restore_continues_the_log() {
    let mut e = engine(3);
    peer(&mut e, 1);
    drain(&mut e);
    let d = CapabilityDescriptor::builder(e.id(), "image.gen", "creative/image", "make images")
        .build(now())
        .unwrap();
    let (t, seq) = e.publish(now(), d.clone()).unwrap();
    assert_eq!(seq, 1);
    let (tx, ev) = drain(&mut e);
    assert!(tx.is_empty(), "nothing leaves before the head is durable");
    let head = ev
        .into_iter()
        .find_map(|e| match e {
            Event::PersistHead(h) => Some(h),
            _ => None,
        })
        .unwrap();
    e.handle_persisted(now(), &t, seq);
    let (tx, ev) = drain(&mut e);
    assert_eq!(kinds(&tx), vec![kind::HEADER.0]);
    assert!(ev.contains(&Event::Published {
        topic: t.clone(),
        seq: 1
    }));

    // A new engine with the same key, restored from the durable head, continues at seq 2.
    let mut r = GossipEngine::new(
        GossipConfig::seeded([3; 32]),
        Box::new(Keypair::from_seed([3; 32])),
        Box::new(HashedNgramEncoder::default()),
        now(),
    )
    .unwrap();
    r.restore(now(), [head]).unwrap();
    assert_eq!(r.head_seq(&t, &r.id()), 1);
    let (_, seq2) = r.publish(now(), d).unwrap();
    assert_eq!(seq2, 2);
    let h2 = r.own.get(&t).unwrap().waiting.get(&2).unwrap().0.clone();
    let h1 = r.header(&t, &r.id(), 1).unwrap();
    assert_eq!(h2.prev, Some(h1.hash()));
    // A record signed by someone else is refused.
    let other = header(&Keypair::from_seed([8; 32]), 1, None, b"x");
    let bad = OwnHead {
        topic: t,
        seq: 1,
        header: other.to_frame(),
        body: None,
    };
    assert!(engine(4).restore(now(), [bad]).is_err());
}

#[test]
fn mesh_respects_degree_bounds_and_backoff() {
    let mut e = engine_with(1, |c| {
        c.mesh_d = 2;
        c.mesh_d_lo = 1;
        c.mesh_d_hi = 3;
    });
    for l in 1..=6 {
        peer(&mut e, l);
    }
    assert_eq!(
        e.mesh(&topic()).len(),
        2,
        "subscriptions fill the mesh up to D"
    );
    drain(&mut e);
    for l in 3..=6 {
        let g = Message::Graft(wire::Graft {
            topics: vec![topic()],
        })
        .encode();
        e.handle_message(now(), LinkId(l), g).unwrap();
    }
    assert_eq!(e.mesh(&topic()).len(), 3, "grafts accepted up to D_hi");
    let (t, _) = drain(&mut e);
    let prunes: Vec<LinkId> = t
        .iter()
        .filter(|t| peek_kind(&t.payload) == Some(kind::PRUNE))
        .map(|t| t.link)
        .collect();
    assert_eq!(prunes.len(), 3, "the rest are pruned with a backoff");
    // A peer that prunes us is not grafted again during its backoff.
    let member = e.mesh(&topic())[0];
    let p = Message::Prune(wire::Prune {
        topic: topic(),
        backoff_ms: 60_000,
    })
    .encode();
    e.handle_message(now(), member, p).unwrap();
    assert!(!e.mesh(&topic()).contains(&member));
    for s in 1..5 {
        e.handle_timeout(now().advance(Duration::from_secs(s)));
    }
    assert!(!e.mesh(&topic()).contains(&member));
    assert!(!e.mesh(&topic()).is_empty());
}

#[test]
fn body_is_pulled_checked_and_indexed_with_fallback() {
    let mut e = engine(1);
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let d = CapabilityDescriptor::builder(kp.id(), "image.gen", "creative/image", "make images")
        .build(now())
        .unwrap();
    let body = Signed::sign(&kp, d).unwrap().to_frame();
    let h = header(&kp, 1, None, &body);
    e.handle_message(now(), LinkId(1), h.to_frame()).unwrap();
    let (t, _) = drain(&mut e);
    let ask: Vec<LinkId> = t
        .iter()
        .filter(|t| peek_kind(&t.payload) == Some(kind::BODY_REQUEST))
        .map(|t| t.link)
        .collect();
    assert_eq!(ask, vec![LinkId(1)], "asked the relayer first");
    // Wrong bytes: refused, penalised, and the next peer is asked.
    let wrong = Message::Body(wire::Body {
        hash: h.body_hash,
        body: b"not it".to_vec(),
    })
    .encode();
    assert!(matches!(
        e.handle_message(now(), LinkId(1), wrong),
        Err(GossipError::Body(_))
    ));
    let (t, _) = drain(&mut e);
    assert!(
        t.iter()
            .any(|t| t.link == LinkId(2) && peek_kind(&t.payload) == Some(kind::BODY_REQUEST))
    );
    // Wrong bytes from a link that was not asked: refused, and nothing else changes.
    let wrong = Message::Body(wire::Body {
        hash: h.body_hash,
        body: b"also not it".to_vec(),
    })
    .encode();
    assert!(matches!(
        e.handle_message(now(), LinkId(3), wrong),
        Err(GossipError::Unexpected(_))
    ));
    assert_eq!(e.pending_bodies(), 1);
    // The right bytes are self-certifying: accepted from any link (here a late answer from
    // a peer other than the one being asked).
    let right = Message::Body(wire::Body {
        hash: h.body_hash,
        body: body.to_vec(),
    })
    .encode();
    e.handle_message(now(), LinkId(3), right.clone()).unwrap();
    let (_, ev) = drain(&mut e);
    assert!(ev.iter().any(|e| matches!(e, Event::Descriptor(_))));
    assert_eq!(e.pending_bodies(), 0);
    assert!(matches!(
        e.handle_message(now(), LinkId(2), right),
        Err(GossipError::LateBody)
    ));
    let c = e.discover(now(), "image generation", &Requirements::default(), 5);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].descriptor.provider, kp.id());
}

#[test]
fn body_fetch_gives_up_after_deadlines() {
    let mut e = engine_with(1, |c| c.body_attempts = 2);
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let h = header(&kp, 1, None, b"some body bytes");
    e.handle_message(now(), LinkId(1), h.to_frame()).unwrap();
    let mut t = now();
    let mut gave_up = false;
    for _ in 0..10 {
        t = t.advance(Duration::from_millis(600));
        e.handle_timeout(t);
        let (_, ev) = drain(&mut e);
        gave_up |= ev.contains(&Event::BodyUnavailable { hash: h.body_hash });
    }
    assert!(gave_up);
    assert_eq!(e.pending_bodies(), 0);
}

/// Relay R got the header of `body` from link 1 (toward the author) and link 2 asks it for
/// the body with `hops`: the relay, the header, and the request R forwarded (link, hops).
fn forwarded_body_request(body: &[u8], hops: u8) -> (GossipEngine, Signed<LogHeader>, LinkId, u8) {
    let mut r = engine(1);
    peer(&mut r, 1);
    peer(&mut r, 2);
    drain(&mut r);
    let kp = Keypair::from_seed([9; 32]);
    let h = header(&kp, 1, None, body);
    r.handle_message(now(), LinkId(1), h.to_frame()).unwrap();
    drain(&mut r);
    let ask = Message::BodyRequest(wire::BodyRequest {
        hash: h.body_hash,
        hops,
    })
    .encode();
    r.handle_message(now(), LinkId(2), ask).unwrap();
    let (t, _) = drain(&mut r);
    let fwd = t
        .iter()
        .find(|t| peek_kind(&t.payload) == Some(kind::BODY_REQUEST))
        .unwrap();
    match Message::decode(&fwd.payload, &Limits::default()).unwrap() {
        Message::BodyRequest(b) => (r, h, fwd.link, b.hops),
        m => panic!("{m:?}"),
    }
}

#[test]
fn relay_forwards_body_requests_toward_the_author() {
    let body = b"the body".to_vec();
    let (mut r, h, link, hops) = forwarded_body_request(&body, 3);
    assert_eq!(link, LinkId(1));
    assert_eq!(hops, 2);
    let resp = Message::Body(wire::Body {
        hash: h.body_hash,
        body: body.clone(),
    })
    .encode();
    r.handle_message(now(), LinkId(1), resp.clone()).unwrap();
    let (t, ev) = drain(&mut r);
    assert_eq!(t.len(), 1);
    assert_eq!((t[0].link, &t[0].payload), (LinkId(2), &resp));
    assert!(
        !ev.iter().any(|e| matches!(e, Event::Descriptor(_))),
        "relays do not index"
    );
    assert!(r.index().is_empty());
}

#[test]
fn lazy_push_and_iwant_repair() {
    // Node with one lazy peer announces ids; a node receiving an IHave asks after the delay.
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let first = header(&kp, 1, None, b"x");
    e.handle_message(now(), LinkId(1), first.to_frame())
        .unwrap();
    let choke = Message::Choke(wire::Choke {
        topic: topic(),
        author: kp.id(),
    })
    .encode();
    e.handle_message(now(), LinkId(2), choke).unwrap();
    drain(&mut e);
    let f = header(&kp, 2, Some(first.hash()), b"y").to_frame();
    e.handle_message(now(), LinkId(1), f.clone()).unwrap();
    let (t, _) = drain(&mut e);
    assert!(
        t.iter().all(|t| t.link != LinkId(2)),
        "no eager copy to a lazy peer"
    );
    e.handle_timeout(now().advance(Duration::from_millis(200)));
    let (t, _) = drain(&mut e);
    let ihave = t
        .iter()
        .find(|t| peek_kind(&t.payload) == Some(kind::IHAVE))
        .unwrap();
    assert_eq!(ihave.link, LinkId(2));

    let mut b = engine(2);
    peer(&mut b, 7);
    drain(&mut b);
    b.handle_message(now(), LinkId(7), ihave.payload.clone())
        .unwrap();
    assert!(drain(&mut b).0.is_empty(), "waits for an eager copy first");
    b.handle_timeout(now().advance(Duration::from_millis(300)));
    let (t, _) = drain(&mut b);
    let iwant = t
        .iter()
        .find(|t| peek_kind(&t.payload) == Some(kind::IWANT))
        .expect("asks");
    e.handle_message(now(), LinkId(2), iwant.payload.clone())
        .unwrap();
    let (t, _) = drain(&mut e);
    assert!(t.iter().any(|t| t.link == LinkId(2) && t.payload == f));
    assert!(
        e.eager_for(&topic(), &kp.id()).contains(&LinkId(2)),
        "grafted back to eager"
    );
}

#[test]
fn idle_engine_polls_nothing_and_keeps_its_deadline() {
    let mut e = engine(1);
    drain(&mut e);
    let d = e.poll_timeout().unwrap();
    for _ in 0..3 {
        assert!(e.poll_transmit().is_none());
        assert!(e.poll_event().is_none());
        assert_eq!(e.poll_timeout(), Some(d));
    }
    // An early timeout changes nothing.
    e.handle_timeout(now());
    assert_eq!(e.poll_timeout(), Some(d));
}

#[test]
fn overflow_drops_lowest_class_and_reports() {
    let mut e = engine_with(1, |c| c.max_queued_transmits = 16);
    peer(&mut e, 1);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let hs = chain(&kp, 20, |s| vec![s as u8]);
    for h in &hs {
        e.handle_message(now(), LinkId(1), h.to_frame()).unwrap();
    }
    drain(&mut e);
    // 20 repair frames requested at once into a 16-frame queue.
    let ask = Message::Pull(wire::Pull {
        topic: topic(),
        author: kp.id(),
        from: 1,
        to: 20,
    })
    .encode();
    e.handle_message(now(), LinkId(1), ask).unwrap();
    assert!(e.queued_transmits() <= 16);
    let (_, ev) = drain(&mut e);
    // One report for the transmit queue, with every drop of the input; the kept frames are
    // the newest repair frames.
    let reports: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Overflow(o) => Some(*o),
            _ => None,
        })
        .collect();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].queue, "transmits");
    assert!(reports[0].dropped >= 4);
}

#[test]
fn anti_entropy_leaves_unsettled_entries_to_the_trees() {
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let f = header(&kp, 1, None, b"x").to_frame();
    e.handle_message(now(), LinkId(1), f).unwrap();
    drain(&mut e);
    let empty = Message::Digest(wire::Digest {
        topic: topic(),
        buckets: vec![0; usize::from(e.config().digest_buckets)],
    })
    .encode();
    // Issued just now: still travelling down its tree, so the digests agree.
    e.handle_message(now(), LinkId(2), empty.clone()).unwrap();
    assert!(
        drain(&mut e).0.is_empty(),
        "no vector for an unsettled entry"
    );
    // Once settled, the difference is reported (to a digest sent after the link's next
    // anti-entropy turn: one per period is taken up).
    let later =
        now().advance(e.config().anti_entropy.max(e.config().settle) + Duration::from_millis(1));
    e.handle_message(later, LinkId(2), empty).unwrap();
    let (t, _) = drain(&mut e);
    assert_eq!(kinds(&t), vec![kind::VECTOR.0]);
}

#[test]
fn a_header_seen_before_subscribing_is_taken_after() {
    // Not following the topic yet: the header is only remembered as seen.
    let mut e = engine(1);
    e.unsubscribe(now(), &topic());
    e.handle_link_up(now(), LinkId(1));
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let f = header(&kp, 1, None, b"body").to_frame();
    e.handle_message(now(), LinkId(1), f.clone()).unwrap();
    assert_eq!(e.header_count(), 0);
    // After subscribing, the same bytes (anti-entropy, a peer's push, a restore) are new.
    e.subscribe(now(), topic()).unwrap();
    e.handle_message(now(), LinkId(1), f).unwrap();
    assert_eq!(e.header_count(), 1);
    let (_, ev) = drain(&mut e);
    assert!(ev.iter().any(|e| matches!(e, Event::Header { seq: 1, .. })));
}

#[test]
fn a_forwarded_body_request_never_travels_further_than_an_own_one() {
    let (_, _, _, hops) = forwarded_body_request(b"the body", u8::MAX);
    assert_eq!(hops, GossipConfig::seeded([1; 32]).body_hops - 1);
}

#[test]
fn headers_outside_the_time_window_do_not_cost_the_relay() {
    // A relay whose clock is ahead of ours (or an author stamping at the edge of the skew
    // window) forwards headers we see as from the future, many of them: the relay is not
    // penalised for our clock, let alone banned.
    let mut e = engine(1);
    peer(&mut e, 1);
    drain(&mut e);
    for i in 0..50u8 {
        let kp = Keypair::from_seed([100 + i; 32]);
        let mut future = header(&kp, 1, None, b"b").value().clone();
        future.issued_at = WallTime::from_unix_millis(T0 + 120_000);
        let f = Signed::sign(&kp, future).unwrap().to_frame();
        assert!(matches!(
            e.handle_message(now(), LinkId(1), f),
            Err(GossipError::Header(HeaderError::FromTheFuture { .. }))
        ));
    }
    assert_eq!(e.penalty(LinkId(1)), 0);
    // A bad signature still costs.
    let kp = Keypair::from_seed([9; 32]);
    let mut forged = header(&kp, 1, None, b"b").to_frame().to_vec();
    let n = forged.len();
    forged[n - 1] ^= 1;
    assert!(e.handle_message(now(), LinkId(1), forged.into()).is_err());
    assert!(e.penalty(LinkId(1)) > 0);
}

/// One header at seq 1 from each of the authors seeded `seeds`, relayed by `link`.
fn flood(e: &mut GossipEngine, at: Now, link: u64, seeds: core::ops::Range<u8>) {
    for n in seeds {
        let kp = Keypair::from_seed([n; 32]);
        let _ = e.handle_message(at, LinkId(link), header(&kp, 1, None, b"sybil").to_frame());
    }
    drain(e);
}

#[test]
fn unanswered_fetches_from_one_link_do_not_starve_another_links_bodies() {
    let mut e = engine_with(1, |c| c.max_pending_bodies = 4);
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    // Link 1 announces Sybil entries (distinct bodies) it never serves.
    let sybils = |e: &mut GossipEngine, seeds: core::ops::Range<u8>| {
        for n in seeds {
            let kp = Keypair::from_seed([n; 32]);
            let h = header(&kp, 1, None, &[n; 8]);
            let _ = e.handle_message(now(), LinkId(1), h.to_frame());
        }
        drain(e);
    };
    sybils(&mut e, 100..110);
    assert_eq!(
        e.stats().fetches_evicted,
        0,
        "a link never evicts its own fetches"
    );
    // An honest author's header on link 2 still gets its body asked for.
    let kp = Keypair::from_seed([9; 32]);
    let h = header(&kp, 1, None, b"honest body");
    e.handle_message(now(), LinkId(2), h.to_frame()).unwrap();
    let (t, _) = drain(&mut e);
    assert!(
        t.iter()
            .any(|t| t.link == LinkId(2) && peek_kind(&t.payload) == Some(kind::BODY_REQUEST)),
        "the fetch was refused for lack of room"
    );
    assert_eq!(e.stats().fetches_evicted, 1);
    // Link 1 cannot push it out again: its newcomers only recycle its own share.
    sybils(&mut e, 110..120);
    assert_eq!(e.stats().fetches_evicted, 1);
}

#[test]
fn headers_in_unfollowed_topics_are_not_verified() {
    let mut e = engine(1);
    peer(&mut e, 1);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let mut h = header(&kp, 1, None, b"x").into_value();
    h.topic = Topic::new("elsewhere/t").unwrap();
    let signed = Signed::sign(&kp, h).unwrap();
    let sig = signed.signature().0;
    let mut forged = signed.to_frame().to_vec();
    let at = forged
        .windows(64)
        .position(|w| w == sig)
        .expect("the signature travels");
    forged[at] ^= 1;
    // Dropped before the signature is checked: no verification, no penalty, no header.
    e.handle_message(now(), LinkId(1), forged.into()).unwrap();
    assert_eq!(e.penalty(LinkId(1)), 0);
    assert_eq!(e.header_count(), 0);
}

#[test]
fn a_spent_verification_budget_drops_strangers_but_not_authors_with_standing() {
    let mut e = engine_with(1, |c| {
        c.verify_rate = 1;
        c.verify_burst = 5;
    });
    for l in 1..=5 {
        peer(&mut e, l);
    }
    drain(&mut e);
    // Twenty fresh authors over five links, each link well within its own rate.
    for n in 0..20u8 {
        let kp = Keypair::from_seed([n.wrapping_add(100); 32]);
        let r = e.handle_message(
            now(),
            LinkId(1 + u64::from(n % 5)),
            header(&kp, 1, None, &[n; 4]).to_frame(),
        );
        if n >= 5 {
            assert_eq!(r, Err(GossipError::Busy), "header {n}");
        }
    }
    assert_eq!(e.stats().unverified_busy, 15);
    assert_eq!(e.header_count(), 5);
    assert!(
        (1..=5).all(|l| e.penalty(LinkId(l)) == 0),
        "not the links' fault"
    );
    // An author the host vouches for is still verified and taken.
    let kp = Keypair::from_seed([9; 32]);
    e.set_standing(now(), kp.id(), true).unwrap();
    e.handle_message(
        now(),
        LinkId(1),
        header(&kp, 1, None, b"vouched").to_frame(),
    )
    .unwrap();
    assert_eq!(e.head_seq(&topic(), &kp.id()), 1);
}

#[test]
fn sybils_from_one_link_do_not_lock_newcomers_out_of_a_full_topic() {
    let mut e = engine_with(1, |c| c.max_authors_per_topic = 8);
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    peer(&mut e, 2);
    flood(&mut e, now(), 1, 100..140);
    assert_eq!(e.author_count(&topic()), 8);
    e.assert_consistent();
    // An honest author arriving on another link takes the newest Sybil's place.
    let kp = Keypair::from_seed([9; 32]);
    let d = CapabilityDescriptor::builder(kp.id(), "image.gen", "creative/image", "make images")
        .build(now())
        .unwrap();
    let body = Signed::sign(&kp, d).unwrap().to_frame();
    let h = header(&kp, 1, None, &body);
    e.handle_message(now(), LinkId(2), h.to_frame()).unwrap();
    assert_eq!(e.head_seq(&topic(), &kp.id()), 1);
    assert_eq!(e.author_count(&topic()), 8);
    assert_eq!(e.stats().evicted_unproven, 1);
    e.assert_consistent();
    // Its body is pulled and its descriptor reaches discovery; the host hears which
    // header the evicted Sybil lost, so it can delete it from its store.
    let (t, ev) = drain(&mut e);
    let forgotten: Vec<&Event> = ev
        .iter()
        .filter(|e| matches!(e, Event::HeadersForgotten { .. }))
        .collect();
    assert!(
        matches!(forgotten[..], [Event::HeadersForgotten { seqs, .. }] if *seqs == vec![1]),
        "{forgotten:?}"
    );
    assert!(
        t.iter()
            .any(|t| t.link == LinkId(2) && peek_kind(&t.payload) == Some(kind::BODY_REQUEST))
    );
    let m = Message::Body(wire::Body {
        hash: h.body_hash,
        body: body.to_vec(),
    })
    .encode();
    e.handle_message(now(), LinkId(2), m).unwrap();
    let c = e.discover(now(), "image generation", &Requirements::default(), 5);
    assert!(c.iter().any(|c| c.descriptor.provider == kp.id()));
    // More Sybils from the flooding link recycle nothing: its group is the largest.
    let dropped = e.stats().dropped_full;
    flood(&mut e, now(), 1, 140..180);
    assert_eq!(e.head_seq(&topic(), &kp.id()), 1);
    assert_eq!(e.stats().dropped_full, dropped + 40);
    e.assert_consistent();
}

#[test]
fn an_honest_refresh_is_admitted_when_the_header_table_is_full() {
    let mut e = engine_with(1, |c| c.max_headers = 8);
    peer(&mut e, 1);
    peer(&mut e, 2);
    let honest = Keypair::from_seed([9; 32]);
    let h1 = header(&honest, 1, None, b"1");
    e.handle_message(now(), LinkId(2), h1.to_frame()).unwrap();
    flood(&mut e, now(), 1, 100..130);
    assert_eq!(e.header_count(), 8);
    e.assert_consistent();
    // The refresh (next seq) is stored; without standing the author recycles its own
    // oldest entry, as no unproven author holds more.
    let h2 = header(&honest, 2, Some(h1.hash()), b"2");
    e.handle_message(now(), LinkId(2), h2.to_frame()).unwrap();
    assert_eq!(e.head_seq(&topic(), &honest.id()), 2);
    assert!(e.header(&topic(), &honest.id(), 2).is_some());
    assert_eq!(e.header_count(), 8);
    e.assert_consistent();
    // With standing, the next refresh takes an unproven author's entry instead.
    e.set_standing(now(), honest.id(), true).unwrap();
    let h3 = header(&honest, 3, Some(h2.hash()), b"3");
    e.handle_message(now(), LinkId(2), h3.to_frame()).unwrap();
    assert!(e.header(&topic(), &honest.id(), 2).is_some());
    assert!(e.header(&topic(), &honest.id(), 3).is_some());
    assert_eq!(e.header_count(), 8);
    e.assert_consistent();
}

#[test]
fn authors_with_standing_stay_and_a_flooding_link_gets_only_its_share() {
    let mut e = engine_with(1, |c| {
        c.max_authors_per_topic = 8;
        c.standing_age = Duration::from_secs(2);
    });
    for l in 1..=3 {
        peer(&mut e, l);
    }
    let kp = |n: u8| Keypair::from_seed([n; 32]);
    let send = |e: &mut GossipEngine, at: Now, link: u64, author: &Keypair| {
        e.handle_message(at, LinkId(link), header(author, 1, None, b"x").to_frame())
    };
    // One author the host vouches for, one held long enough, one young from another link.
    let (vouched, old, young) = (kp(9), kp(10), kp(11));
    e.set_standing(now(), vouched.id(), true).unwrap();
    send(&mut e, now(), 2, &vouched).unwrap();
    send(&mut e, now(), 2, &old).unwrap();
    let later = now().advance(Duration::from_secs(3));
    send(&mut e, later, 3, &young).unwrap();
    assert!(e.has_standing(later, &topic(), &old.id()));
    assert!(!e.has_standing(later, &topic(), &young.id()));
    // Link 1 floods; it fills the free places, then only competes with itself.
    flood(&mut e, later, 1, 100..160);
    assert_eq!(e.author_count(&topic()), 8);
    for a in [&vouched, &old, &young] {
        assert_eq!(e.head_seq(&topic(), &a.id()), 1);
    }
    e.assert_consistent();
    // A newcomer from a smaller group still gets in, in place of the newest Sybil.
    let fresh = kp(12);
    send(&mut e, later, 3, &fresh).unwrap();
    assert_eq!(e.head_seq(&topic(), &fresh.id()), 1);
    assert_eq!(e.stats().evicted_unproven, 1);
    flood(&mut e, later, 1, 160..200);
    for a in [&vouched, &old, &young, &fresh] {
        assert_eq!(e.head_seq(&topic(), &a.id()), 1);
    }
    e.assert_consistent();
    // A newcomer the host vouches for gets in even through the flooding link, and stays
    // although it is the newest author that link introduced.
    let late = kp(14);
    e.set_standing(later, late.id(), true).unwrap();
    send(&mut e, later, 1, &late).unwrap();
    assert_eq!(e.head_seq(&topic(), &late.id()), 1);
    flood(&mut e, later, 3, 200..204);
    assert_eq!(e.head_seq(&topic(), &late.id()), 1);
    e.assert_consistent();
    // Once everything held has standing (here by age), a newcomer is refused.
    let much_later = later.advance(Duration::from_secs(3));
    let dropped = e.stats().dropped_full;
    send(&mut e, much_later, 3, &kp(13)).unwrap();
    assert_eq!(e.head_seq(&topic(), &kp(13).id()), 0);
    assert_eq!(e.stats().dropped_full, dropped + 1);
    // Withdrawn host standing makes an author evictable again (if it is young).
    e.set_standing(much_later, vouched.id(), false).unwrap();
    assert!(
        e.has_standing(much_later, &topic(), &vouched.id()),
        "still old enough"
    );
    e.assert_consistent();
}

#[test]
fn the_author_bucket_idle_longest_is_forgotten() {
    let mut e = engine_with(1, |c| {
        c.max_authors_per_topic = 1; // two buckets
        c.author_rate = 1;
        c.author_burst = 1;
    });
    peer(&mut e, 1);
    let mut pair = [Keypair::from_seed([20; 32]), Keypair::from_seed([21; 32])];
    pair.sort_by_key(|k| k.id());
    // `recent` has the lowest id, which the old rule would have forgotten.
    let [recent, idle] = pair;
    let at = |ms| now().advance(Duration::from_millis(ms));
    let i1 = header(&idle, 1, None, b"1");
    e.handle_message(at(0), LinkId(1), i1.to_frame()).unwrap();
    let r1 = header(&recent, 1, None, b"1");
    let _ = e.handle_message(at(1), LinkId(1), r1.to_frame());
    // A third author needs a bucket: the one idle longest (idle's, empty) goes.
    let third = Keypair::from_seed([22; 32]);
    let _ = e.handle_message(at(2), LinkId(1), header(&third, 1, None, b"1").to_frame());
    let i2 = header(&idle, 2, Some(i1.hash()), b"2");
    e.handle_message(at(3), LinkId(1), i2.to_frame()).unwrap();
    assert_eq!(e.head_seq(&topic(), &idle.id()), 2);
    e.assert_consistent();
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..Default::default() })]

    /// The admission bookkeeping (header total, admissions, unproven groups, empty logs,
    /// rate buckets) stays consistent under arrivals from several links, host standing
    /// toggled on and off, eviction, and expiry.
    #[test]
    fn admission_bookkeeping_stays_consistent(
        ops in proptest::collection::vec((0usize..10, 1u64..4, 1u64..5, 0u64..4, 0u8..8), 1..80),
    ) {
        let mut e = engine_with(1, |c| {
            c.max_headers = 7;
            c.max_entries_per_author = 3;
            c.max_authors_per_topic = 5;
            c.author_burst = 1000;
            c.standing_age = Duration::from_secs(1);
        });
        for l in 1..=3 {
            peer(&mut e, l);
        }
        let chains: Vec<(Keypair, Vec<Signed<LogHeader>>)> = (30u8..40)
            .map(|n| {
                let kp = Keypair::from_seed([n; 32]);
                let headers = chain(&kp, 4, |s| vec![n, s as u8]);
                (kp, headers)
            })
            .collect();
        let mut at = now();
        for (author, link, seq, dt, toggle) in ops {
            at = at.advance(Duration::from_millis(dt * 100));
            let (kp, chain) = &chains[author];
            match toggle {
                0 => e.set_standing(at, kp.id(), true).unwrap(),
                1 => e.set_standing(at, kp.id(), false).unwrap(),
                _ => {}
            }
            let _ = e.handle_message(at, LinkId(link), chain[seq as usize - 1].to_frame());
            e.handle_timeout(at);
            drain(&mut e);
            e.assert_consistent();
            proptest::prop_assert!(e.header_count() <= 7);
        }
    }
}

/// `kp` announces a descriptor (TTL `ttl_s`) through `link`, and `link` serves its body.
fn deliver_descriptor(e: &mut GossipEngine, link: u64, kp: &Keypair, ttl_s: u64) {
    let d = CapabilityDescriptor::builder(kp.id(), "image.gen", "creative/image", "make images")
        .ttl(Duration::from_secs(ttl_s))
        .build(now())
        .unwrap();
    let body = Signed::sign(kp, d).unwrap().to_frame();
    let h = header(kp, 1, None, &body);
    e.handle_message(now(), LinkId(link), h.to_frame()).unwrap();
    let m = Message::Body(wire::Body {
        hash: h.body_hash,
        body: body.to_vec(),
    })
    .encode();
    e.handle_message(now(), LinkId(link), m).unwrap();
    drain(e);
}

#[test]
fn long_lived_sybil_descriptors_do_not_displace_a_provider_with_standing() {
    let mut e = engine_with(1, |c| c.index.max_entries = 4);
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    peer(&mut e, 2);
    for n in 100..103u8 {
        deliver_descriptor(&mut e, 1, &Keypair::from_seed([n; 32]), 3000);
    }
    // The newest provider, and the one whose entry expires soonest: without standing it
    // would be the first to go.
    let vouched = Keypair::from_seed([9; 32]);
    deliver_descriptor(&mut e, 2, &vouched, 10);
    // The host vouches for the provider after its descriptor arrived.
    e.set_standing(now(), vouched.id(), true).unwrap();
    for n in 103..120u8 {
        deliver_descriptor(&mut e, 1, &Keypair::from_seed([n; 32]), 3000);
        assert!(e.index().get(&vouched.id(), "image.gen").is_some());
    }
    assert_eq!(e.index().len(), 4);
    // An honest newcomer without standing still enters, in an unproven provider's place.
    let honest = Keypair::from_seed([10; 32]);
    deliver_descriptor(&mut e, 2, &honest, 10);
    assert!(e.index().get(&honest.id(), "image.gen").is_some());
    assert!(e.index().get(&vouched.id(), "image.gen").is_some());
    e.index().assert_consistent();
}

/// A topic holding one settled header from each of `n` authors, and links 1 and 2.
fn settled_topic(n: u32) -> (GossipEngine, Now) {
    let mut e = engine_with(1, |c| {
        c.link_burst = 100_000;
        c.link_rate = 100_000;
    });
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    for i in 0..n {
        let mut seed = [3u8; 32];
        seed[..4].copy_from_slice(&i.to_be_bytes());
        let kp = Keypair::from_seed(seed);
        e.handle_message(now(), LinkId(1), header(&kp, 1, None, b"x").to_frame())
            .unwrap();
    }
    drain(&mut e);
    assert_eq!(e.header_count(), n as usize);
    (e, now().advance(Duration::from_secs(60)))
}

fn zero_digest(e: &GossipEngine) -> Bytes {
    Message::Digest(wire::Digest {
        topic: topic(),
        buckets: vec![0; usize::from(e.config().digest_buckets)],
    })
    .encode()
}

#[test]
fn unsolicited_digests_are_taken_up_once_per_link_topic_and_half_period() {
    let (mut e, t) = settled_topic(20);
    let digest = zero_digest(&e);
    // A burst of digests from one link: one answer; each of the rest costs one map lookup.
    for _ in 0..50 {
        e.handle_message(t, LinkId(1), digest.clone()).unwrap();
    }
    assert_eq!(kinds(&drain(&mut e).0), vec![kind::VECTOR.0]);
    assert_eq!(e.stats().digests_throttled, 49);
    // Another link is answered on its own account.
    e.handle_message(t, LinkId(2), digest.clone()).unwrap();
    assert_eq!(kinds(&drain(&mut e).0), vec![kind::VECTOR.0]);
    // An honest cadence (one per anti-entropy period) is always answered.
    let next = t.advance(e.config().anti_entropy);
    e.handle_message(next, LinkId(1), digest).unwrap();
    assert_eq!(kinds(&drain(&mut e).0), vec![kind::VECTOR.0]);
}

#[test]
fn a_vector_answering_a_digest_is_bounded_and_holds_whole_buckets() {
    let (mut e, t) = settled_topic(1000);
    let digest = zero_digest(&e);
    e.handle_message(t, LinkId(2), digest.clone()).unwrap();
    let (tx, _) = drain(&mut e);
    assert_eq!(tx.len(), 1);
    let v = match Message::decode(&tx[0].payload, &Limits::default()).unwrap() {
        Message::Vector(v) => v,
        m => panic!("{m:?}"),
    };
    // Before: every differing bucket, up to max_items (1 023) summaries, ~60 KiB for a
    // digest of ~40 bytes. Now a few KiB, and only buckets whose every log is listed.
    assert!(v.logs.len() <= 256, "{} summaries", v.logs.len());
    assert!(
        tx[0].payload.len() < 20 * 1024,
        "{} bytes",
        tx[0].payload.len()
    );
    assert!(!v.buckets.is_empty() && v.buckets.len() < 16);
    let buckets = usize::from(e.config().digest_buckets);
    let bucket = |a: &AgentId| (usize::from(a.as_bytes()[0]) % buckets) as u16;
    let mut held = vec![0usize; buckets];
    for i in 0..1000u32 {
        let mut seed = [3u8; 32];
        seed[..4].copy_from_slice(&i.to_be_bytes());
        held[usize::from(bucket(&Keypair::from_seed(seed).id()))] += 1;
    }
    for b in &v.buckets {
        let listed = v.logs.iter().filter(|s| bucket(&s.author) == *b).count();
        assert_eq!(listed, held[usize::from(*b)], "bucket {b} listed whole");
    }
    assert!(
        v.logs
            .iter()
            .all(|s| v.buckets.contains(&bucket(&s.author)))
    );
    // Rounds later, other buckets are covered.
    let later = t.advance(e.config().anti_entropy);
    e.handle_message(later, LinkId(2), digest).unwrap();
    let (tx, _) = drain(&mut e);
    let w = match Message::decode(&tx[0].payload, &Limits::default()).unwrap() {
        Message::Vector(w) => w,
        m => panic!("{m:?}"),
    };
    assert_ne!(w.buckets, v.buckets, "the next round starts elsewhere");
}

#[test]
fn a_restore_is_not_held_to_the_wires_rate_limits() {
    // A node that held a long log from one author and many authors (more than the
    // verification budget and the per-author burst allow at once) gets all of them back
    // after a restart: the limits guard the wire, not the node's own store.
    let tight = |c: &mut GossipConfig| {
        c.author_burst = 3;
        c.author_rate = 1;
        c.verify_burst = 5;
        c.verify_rate = 1;
    };
    let mut frames: Vec<Bytes> = chain(&Keypair::from_seed([9; 32]), 10, |s| vec![s as u8])
        .iter()
        .map(Signed::to_frame)
        .collect();
    for n in 20..40u8 {
        frames.push(header(&Keypair::from_seed([n; 32]), 1, None, b"x").to_frame());
    }
    let mut e = engine_with(1, tight);
    assert_eq!(e.restore_headers(now(), frames.clone()), 30);
    assert_eq!(e.header_count(), 30);
    // The same frames from a link are held to the limits.
    let mut wire = engine_with(1, tight);
    peer(&mut wire, 1);
    for f in frames {
        let _ = wire.handle_message(now(), LinkId(1), f);
    }
    assert!(wire.header_count() < 30, "{}", wire.header_count());
}
