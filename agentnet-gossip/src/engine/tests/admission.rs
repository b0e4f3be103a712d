//! Admission: verification budgets, sybil floods, authors with standing, author buckets and
//! the discovery index under pressure.

use super::*;

/// One header at seq 1 from each of the authors seeded `seeds`, relayed by `link`.
fn flood(e: &mut GossipEngine, at: Now, link: u64, seeds: core::ops::Range<u8>) {
    for n in seeds {
        let kp = Keypair::from_seed([n; 32]);
        let _ = e.handle_message(at, LinkId(link), header(&kp, 1, None, b"sybil").to_frame());
    }
    drain(e);
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
    e.handle_message(uptime_secs(10), LinkId(1), forged.into())
        .unwrap();
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
            uptime_secs(10),
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
    e.set_standing(uptime_secs(10), kp.id(), true).unwrap();
    e.handle_message(
        uptime_secs(10),
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
    flood(&mut e, uptime_secs(10), 1, 100..140);
    assert_eq!(e.author_count(&topic()), 8);
    e.assert_consistent();
    // An honest author arriving on another link takes the newest Sybil's place.
    let kp = Keypair::from_seed([9; 32]);
    let d = CapabilityDescriptor::builder(kp.id(), "image.gen", "creative/image", "make images")
        .build(uptime_secs(10))
        .unwrap();
    let body = Signed::sign(&kp, d).unwrap().to_frame();
    let h = header(&kp, 1, None, &body);
    e.handle_message(uptime_secs(10), LinkId(2), h.to_frame())
        .unwrap();
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
    e.handle_message(uptime_secs(10), LinkId(2), m).unwrap();
    let c = e.discover(
        uptime_secs(10),
        "image generation",
        &Requirements::default(),
        5,
    );
    assert!(c.iter().any(|c| c.descriptor.provider == kp.id()));
    // More Sybils from the flooding link recycle nothing: its group is the largest.
    let dropped = e.stats().dropped_full;
    flood(&mut e, uptime_secs(10), 1, 140..180);
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
    e.handle_message(uptime_secs(10), LinkId(2), h1.to_frame())
        .unwrap();
    flood(&mut e, uptime_secs(10), 1, 100..130);
    assert_eq!(e.header_count(), 8);
    e.assert_consistent();
    // The refresh (next seq) is stored; without standing the author recycles its own
    // oldest entry, as no unproven author holds more.
    let h2 = header(&honest, 2, Some(h1.hash()), b"2");
    e.handle_message(uptime_secs(10), LinkId(2), h2.to_frame())
        .unwrap();
    assert_eq!(e.head_seq(&topic(), &honest.id()), 2);
    assert!(e.header(&topic(), &honest.id(), 2).is_some());
    assert_eq!(e.header_count(), 8);
    e.assert_consistent();
    // With standing, the next refresh takes an unproven author's entry instead.
    e.set_standing(uptime_secs(10), honest.id(), true).unwrap();
    let h3 = header(&honest, 3, Some(h2.hash()), b"3");
    e.handle_message(uptime_secs(10), LinkId(2), h3.to_frame())
        .unwrap();
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
    e.set_standing(uptime_secs(10), vouched.id(), true).unwrap();
    send(&mut e, uptime_secs(10), 2, &vouched).unwrap();
    send(&mut e, uptime_secs(10), 2, &old).unwrap();
    let later = uptime_secs(10).advance(Duration::from_secs(3));
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
    let at = |ms| uptime_secs(10).advance(Duration::from_millis(ms));
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
        let mut at = uptime_secs(10);
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
        .build(uptime_secs(10))
        .unwrap();
    let body = Signed::sign(kp, d).unwrap().to_frame();
    let h = header(kp, 1, None, &body);
    e.handle_message(uptime_secs(10), LinkId(link), h.to_frame())
        .unwrap();
    let m = Message::Body(wire::Body {
        hash: h.body_hash,
        body: body.to_vec(),
    })
    .encode();
    e.handle_message(uptime_secs(10), LinkId(link), m).unwrap();
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
    e.set_standing(uptime_secs(10), vouched.id(), true).unwrap();
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
