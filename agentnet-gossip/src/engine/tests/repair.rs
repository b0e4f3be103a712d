//! Repair: lazy push with IWANT, anti-entropy digests and vectors, and restores versus the
//! wire's rate limits.

use super::*;

#[test]
fn lazy_push_and_iwant_repair() {
    // Node with one lazy peer announces ids; a node receiving an IHave asks after the delay.
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let first = header(&kp, 1, None, b"x");
    e.handle_message(uptime_secs(10), LinkId(1), first.to_frame())
        .unwrap();
    let choke = Message::Choke(wire::Choke {
        topic: topic(),
        author: kp.id(),
    })
    .encode();
    e.handle_message(uptime_secs(10), LinkId(2), choke).unwrap();
    drain(&mut e);
    let f = header(&kp, 2, Some(first.hash()), b"y").to_frame();
    e.handle_message(uptime_secs(10), LinkId(1), f.clone())
        .unwrap();
    let (t, _) = drain(&mut e);
    assert!(
        t.iter().all(|t| t.link != LinkId(2)),
        "no eager copy to a lazy peer"
    );
    e.handle_timeout(uptime_secs(10).advance(Duration::from_millis(200)));
    let (t, _) = drain(&mut e);
    let ihave = t
        .iter()
        .find(|t| peek_kind(&t.payload) == Some(kind::IHAVE))
        .unwrap();
    assert_eq!(ihave.link, LinkId(2));

    let mut b = engine(2);
    peer(&mut b, 7);
    drain(&mut b);
    b.handle_message(uptime_secs(10), LinkId(7), ihave.payload.clone())
        .unwrap();
    assert!(drain(&mut b).0.is_empty(), "waits for an eager copy first");
    b.handle_timeout(uptime_secs(10).advance(Duration::from_millis(300)));
    let (t, _) = drain(&mut b);
    let iwant = t
        .iter()
        .find(|t| peek_kind(&t.payload) == Some(kind::IWANT))
        .expect("asks");
    e.handle_message(uptime_secs(10), LinkId(2), iwant.payload.clone())
        .unwrap();
    let (t, _) = drain(&mut e);
    assert!(t.iter().any(|t| t.link == LinkId(2) && t.payload == f));
    assert!(
        e.eager_for(&topic(), &kp.id()).contains(&LinkId(2)),
        "grafted back to eager"
    );
}

#[test]
fn anti_entropy_leaves_unsettled_entries_to_the_trees() {
    let mut e = engine(1);
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let f = header(&kp, 1, None, b"x").to_frame();
    e.handle_message(uptime_secs(10), LinkId(1), f).unwrap();
    drain(&mut e);
    let empty = Message::Digest(wire::Digest {
        topic: topic(),
        buckets: vec![0; usize::from(e.config().digest_buckets)],
    })
    .encode();
    // Issued just now: still travelling down its tree, so the digests agree.
    e.handle_message(uptime_secs(10), LinkId(2), empty.clone())
        .unwrap();
    assert!(
        drain(&mut e).0.is_empty(),
        "no vector for an unsettled entry"
    );
    // Once settled, the difference is reported (to a digest sent after the link's next
    // anti-entropy turn: one per period is taken up).
    let later = uptime_secs(10)
        .advance(e.config().anti_entropy.max(e.config().settle) + Duration::from_millis(1));
    e.handle_message(later, LinkId(2), empty).unwrap();
    let (t, _) = drain(&mut e);
    assert_eq!(kinds(&t), vec![kind::VECTOR.0]);
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
        e.handle_message(
            uptime_secs(10),
            LinkId(1),
            header(&kp, 1, None, b"x").to_frame(),
        )
        .unwrap();
    }
    drain(&mut e);
    assert_eq!(e.header_count(), n as usize);
    (e, uptime_secs(10).advance(Duration::from_secs(60)))
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
    assert_eq!(e.restore_headers(uptime_secs(10), frames.clone()), 30);
    assert_eq!(e.header_count(), 30);
    // The same frames from a link are held to the limits.
    let mut wire = engine_with(1, tight);
    peer(&mut wire, 1);
    for f in frames {
        let _ = wire.handle_message(uptime_secs(10), LinkId(1), f);
    }
    assert!(wire.header_count() < 30, "{}", wire.header_count());
}
