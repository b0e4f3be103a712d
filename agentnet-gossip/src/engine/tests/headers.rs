//! The header path: relaying, duplicates and chokes, refused and rate-limited headers, bans,
//! gaps, equivocations, bounded logs, and publishing with persistence and restore.

use super::*;

#[test]
fn new_header_is_relayed_to_eager_peers_but_not_back() {
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let f = header(&kp, 1, None, b"body").to_frame();
    e.handle_message(uptime_secs(10), LinkId(1), f.clone())
        .unwrap();
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
    e.handle_message(uptime_secs(10), LinkId(1), f.clone())
        .unwrap();
    drain(&mut e);
    e.handle_message(uptime_secs(10), LinkId(2), f).unwrap();
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
        e.handle_message(uptime_secs(10), LinkId(1), f).unwrap();
    }
    drain(&mut e);
    assert_eq!(e.eager_for(&topic(), &a.id()).len(), 3);
    // Link 2 chokes author a only.
    let choke = Message::Choke(wire::Choke {
        topic: topic(),
        author: a.id(),
    })
    .encode();
    e.handle_message(uptime_secs(10), LinkId(2), choke).unwrap();
    assert_eq!(e.eager_for(&topic(), &a.id()), vec![LinkId(1), LinkId(3)]);
    assert_eq!(
        e.eager_for(&topic(), &b.id()).len(),
        3,
        "b's tree untouched"
    );
    let fa = header(&a, 2, Some(header(&a, 1, None, b"x").hash()), b"y").to_frame();
    let fb = header(&b, 2, Some(header(&b, 1, None, b"x").hash()), b"y").to_frame();
    e.handle_message(uptime_secs(10), LinkId(1), fa.clone())
        .unwrap();
    e.handle_message(uptime_secs(10), LinkId(1), fb.clone())
        .unwrap();
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
    e.handle_message(uptime_secs(10), LinkId(2), iwant).unwrap();
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
    let r = e.handle_message(uptime_secs(10), LinkId(1), Bytes::from(bad));
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
    future.issued_at = WallTime::from_unix_millis(EPOCH_MS + 120_000);
    let f = Signed::sign(&kp, future).unwrap().to_frame();
    assert!(matches!(
        e.handle_message(uptime_secs(10), LinkId(1), f),
        Err(GossipError::Header(_))
    ));
    let late = uptime_secs(10).advance(Duration::from_secs(20));
    let f = header(&kp, 1, None, b"b").to_frame();
    assert!(matches!(
        e.handle_message(late, LinkId(1), f),
        Err(GossipError::Header(_))
    ));
    for junk in [&[][..], &[1, 1], &[9, 1, 1, 0], &[1, 0x01, 0x01, 0xff]] {
        assert!(
            e.handle_message(uptime_secs(10), LinkId(1), Bytes::copy_from_slice(junk))
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
        let _ = e.handle_message(
            uptime_secs(10),
            LinkId(1),
            Bytes::from_static(&[1, 1, 3, 0xff]),
        );
    }
    let (_, ev) = drain(&mut e);
    assert!(ev.contains(&Event::LinkBanned { link: LinkId(1) }));
    let kp = Keypair::from_seed([9; 32]);
    let f = header(&kp, 1, None, b"b").to_frame();
    assert_eq!(
        e.handle_message(uptime_secs(10), LinkId(1), f),
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
    e.handle_message(uptime_secs(10), LinkId(1), h1.to_frame())
        .unwrap();
    e.handle_message(uptime_secs(10), LinkId(1), h2.to_frame())
        .unwrap();
    assert_eq!(
        e.handle_message(uptime_secs(10), LinkId(1), h3.to_frame()),
        Err(GossipError::RateLimited)
    );
    // Refused for rate, not remembered: the same bytes are accepted once tokens return.
    let later = uptime_secs(10).advance(Duration::from_secs(2));
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
    e.handle_message(uptime_secs(10), LinkId(1), h3.to_frame())
        .unwrap();
    let (t, _) = drain(&mut e);
    let pull = t
        .iter()
        .find(|t| peek_kind(&t.payload) == Some(kind::PULL))
        .expect("a pull");
    match Message::decode(&pull.payload, &Limits::default()).unwrap() {
        Message::Pull(p) => assert_eq!((p.from, p.to), (1, 2)),
        m => panic!("{m:?}"),
    }
    e.handle_message(uptime_secs(10), LinkId(1), h1.to_frame())
        .unwrap();
    e.handle_message(uptime_secs(10), LinkId(1), h2.to_frame())
        .unwrap();
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
    e.handle_message(uptime_secs(10), LinkId(2), ask).unwrap();
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
    e.handle_message(
        uptime_secs(10),
        LinkId(1),
        header(&kp, 1, None, b"a").to_frame(),
    )
    .unwrap();
    e.handle_message(
        uptime_secs(10),
        LinkId(1),
        header(&kp, 1, None, b"b").to_frame(),
    )
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
        uptime_secs(10),
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
        e.handle_message(uptime_secs(10), LinkId(1), h.to_frame())
            .unwrap();
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
            e.handle_message(
                uptime_secs(10),
                LinkId(1),
                header(kp, 1, None, body).to_frame(),
            )
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
        .build(uptime_secs(10))
        .unwrap();
    let (t, seq) = e.publish(uptime_secs(10), d.clone()).unwrap();
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
    e.handle_persisted(uptime_secs(10), &t, seq);
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
        uptime_secs(10),
    )
    .unwrap();
    r.restore(uptime_secs(10), [head]).unwrap();
    assert_eq!(r.head_seq(&t, &r.id()), 1);
    let (_, seq2) = r.publish(uptime_secs(10), d).unwrap();
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
    assert!(engine(4).restore(uptime_secs(10), [bad]).is_err());
}

#[test]
fn a_header_seen_before_subscribing_is_taken_after() {
    // Not following the topic yet: the header is only remembered as seen.
    let mut e = engine(1);
    e.unsubscribe(uptime_secs(10), &topic());
    e.handle_link_up(uptime_secs(10), LinkId(1));
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let f = header(&kp, 1, None, b"body").to_frame();
    e.handle_message(uptime_secs(10), LinkId(1), f.clone())
        .unwrap();
    assert_eq!(e.header_count(), 0);
    // After subscribing, the same bytes (anti-entropy, a peer's push, a restore) are new.
    e.subscribe(uptime_secs(10), topic()).unwrap();
    e.handle_message(uptime_secs(10), LinkId(1), f).unwrap();
    assert_eq!(e.header_count(), 1);
    let (_, ev) = drain(&mut e);
    assert!(ev.iter().any(|e| matches!(e, Event::Header { seq: 1, .. })));
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
        future.issued_at = WallTime::from_unix_millis(EPOCH_MS + 120_000);
        let f = Signed::sign(&kp, future).unwrap().to_frame();
        assert!(matches!(
            e.handle_message(uptime_secs(10), LinkId(1), f),
            Err(GossipError::Header(HeaderError::FromTheFuture { .. }))
        ));
    }
    assert_eq!(e.penalty(LinkId(1)), 0);
    // A bad signature still costs.
    let kp = Keypair::from_seed([9; 32]);
    let mut forged = header(&kp, 1, None, b"b").to_frame().to_vec();
    let n = forged.len();
    forged[n - 1] ^= 1;
    assert!(
        e.handle_message(uptime_secs(10), LinkId(1), forged.into())
            .is_err()
    );
    assert!(e.penalty(LinkId(1)) > 0);
}
