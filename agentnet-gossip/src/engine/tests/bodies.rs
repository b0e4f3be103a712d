//! Descriptor bodies: pulling, checking and indexing them, giving up, and forwarding body
//! requests toward the author.

use super::*;

#[test]
fn body_is_pulled_checked_and_indexed_with_fallback() {
    let mut e = engine(1);
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let d = CapabilityDescriptor::builder(kp.id(), "image.gen", "creative/image", "make images")
        .build(uptime_secs(10))
        .unwrap();
    let body = Signed::sign(&kp, d).unwrap().to_frame();
    let h = header(&kp, 1, None, &body);
    e.handle_message(uptime_secs(10), LinkId(1), h.to_frame())
        .unwrap();
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
        e.handle_message(uptime_secs(10), LinkId(1), wrong),
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
        e.handle_message(uptime_secs(10), LinkId(3), wrong),
        Err(GossipError::Unexpected(_))
    ));
    assert_eq!(e.pending_body_count(), 1);
    // The right bytes are self-certifying: accepted from any link (here a late answer from
    // a peer other than the one being asked).
    let right = Message::Body(wire::Body {
        hash: h.body_hash,
        body: body.to_vec(),
    })
    .encode();
    e.handle_message(uptime_secs(10), LinkId(3), right.clone())
        .unwrap();
    let (_, ev) = drain(&mut e);
    assert!(ev.iter().any(|e| matches!(e, Event::Descriptor(_))));
    assert_eq!(e.pending_body_count(), 0);
    assert!(matches!(
        e.handle_message(uptime_secs(10), LinkId(2), right),
        Err(GossipError::LateBody)
    ));
    let c = e.discover(
        uptime_secs(10),
        "image generation",
        &Requirements::default(),
        5,
    );
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].descriptor.provider, kp.id());
}

#[test]
fn body_fetch_gives_up_after_deadlines() {
    let mut e = engine_with(1, |c| {
        c.body_attempts = 2;
        c.body_retries = 0;
    });
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    peer(&mut e, 2);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let h = header(&kp, 1, None, b"some body bytes");
    e.handle_message(uptime_secs(10), LinkId(1), h.to_frame())
        .unwrap();
    let mut t = uptime_secs(10);
    let mut gave_up = false;
    for _ in 0..10 {
        t = t.advance(Duration::from_millis(600));
        e.handle_timeout(t);
        let (_, ev) = drain(&mut e);
        gave_up |= ev.contains(&Event::BodyUnavailable { hash: h.body_hash });
    }
    assert!(gave_up);
    assert_eq!(e.pending_body_count(), 0);
}

/// Drive `e` from timer to timer until `until` (monotonic seconds after `start`), recording
/// when a BODY request went out on which link, and when the body was given up.
fn body_timeline(
    e: &mut GossipEngine,
    start: Now,
    until: Duration,
    hash: Hash,
) -> (Vec<(Duration, LinkId)>, Option<Duration>) {
    let mut asked = Vec::new();
    let mut gave_up = None;
    let mut record = |e: &mut GossipEngine, at: Now| {
        let (t, ev) = drain(e);
        let since = at.mono - start.mono;
        for t in t
            .iter()
            .filter(|t| peek_kind(&t.payload) == Some(kind::BODY_REQUEST))
        {
            asked.push((since, t.link));
        }
        if ev.contains(&Event::BodyUnavailable { hash }) {
            gave_up.get_or_insert(since);
        }
    };
    record(e, start);
    while let Some(next) = e.poll_timeout() {
        let at = start.at(next);
        if at.mono - start.mono > until {
            break;
        }
        e.handle_timeout(at);
        record(e, at);
    }
    (asked, gave_up)
}

#[test]
fn a_lost_body_request_to_a_single_peer_is_retried_with_backoff_then_given_up() {
    let mut e = engine_with(1, |c| {
        c.body_timeout = Duration::from_millis(500);
        c.body_retries = 2;
    });
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let h = header(&kp, 1, None, b"some body bytes");
    let start = uptime_secs(10);
    e.handle_message(start, LinkId(1), h.to_frame()).unwrap();
    let (asked, gave_up) = body_timeline(&mut e, start, Duration::from_secs(10), h.body_hash);
    let ms = Duration::from_millis;
    // Asked at once; timed out at 0.5 s; asked again after 0.5 s of backoff (1.0 s), then
    // after 1 s (2.5 s); that retry times out at 3.0 s and the fetch is given up.
    assert_eq!(
        asked,
        vec![
            (ms(0), LinkId(1)),
            (ms(1000), LinkId(1)),
            (ms(2500), LinkId(1))
        ]
    );
    assert_eq!(gave_up, Some(ms(3000)));
    assert_eq!(e.pending_body_count(), 0);
}

#[test]
fn a_retried_body_request_that_is_answered_ends_the_fetch() {
    let mut e = engine_with(1, |c| c.body_timeout = Duration::from_millis(500));
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let d = CapabilityDescriptor::builder(kp.id(), "image.gen", "creative/image", "make images")
        .build(uptime_secs(10))
        .unwrap();
    let body = Signed::sign(&kp, d).unwrap().to_frame();
    let h = header(&kp, 1, None, &body);
    let start = uptime_secs(10);
    e.handle_message(start, LinkId(1), h.to_frame()).unwrap();
    let (asked, _) = body_timeline(&mut e, start, Duration::from_millis(1200), h.body_hash);
    assert_eq!(asked.len(), 2, "first request lost, retried: {asked:?}");
    let answer = Message::Body(wire::Body {
        hash: h.body_hash,
        body: body.to_vec(),
    })
    .encode();
    e.handle_message(
        start.advance(Duration::from_millis(1200)),
        LinkId(1),
        answer,
    )
    .unwrap();
    let (_, ev) = drain(&mut e);
    assert!(ev.iter().any(|e| matches!(e, Event::Descriptor(_))));
    assert_eq!(e.pending_body_count(), 0);
    // Nothing more is asked.
    let (asked, gave_up) = body_timeline(
        &mut e,
        start.advance(Duration::from_millis(1200)),
        Duration::from_secs(20),
        h.body_hash,
    );
    assert!(asked.is_empty() && gave_up.is_none());
}

#[test]
fn a_body_retry_needs_the_header_still_held() {
    // The header's TTL (15 s) ends before the second retry (asked at 0 s and 8 s; the round
    // ends at 12 s): the fetch ends then instead of asking again for a body nobody can use.
    let mut e = engine_with(1, |c| {
        c.body_timeout = Duration::from_secs(4);
        c.body_retries = 3;
    });
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    drain(&mut e);
    let kp = Keypair::from_seed([9; 32]);
    let h = header(&kp, 1, None, b"some body bytes");
    let start = uptime_secs(10);
    e.handle_message(start, LinkId(1), h.to_frame()).unwrap();
    let (asked, gave_up) = body_timeline(&mut e, start, Duration::from_secs(60), h.body_hash);
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(gave_up.is_some());
    assert_eq!(e.pending_body_count(), 0);
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
    r.handle_message(uptime_secs(10), LinkId(1), h.to_frame())
        .unwrap();
    drain(&mut r);
    let ask = Message::BodyRequest(wire::BodyRequest {
        hash: h.body_hash,
        hops,
    })
    .encode();
    r.handle_message(uptime_secs(10), LinkId(2), ask).unwrap();
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
    r.handle_message(uptime_secs(10), LinkId(1), resp.clone())
        .unwrap();
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
fn a_forwarded_body_request_never_travels_further_than_an_own_one() {
    let (_, _, _, hops) = forwarded_body_request(b"the body", u8::MAX);
    assert_eq!(hops, GossipConfig::seeded([1; 32]).body_hops - 1);
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
            let _ = e.handle_message(uptime_secs(10), LinkId(1), h.to_frame());
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
    e.handle_message(uptime_secs(10), LinkId(2), h.to_frame())
        .unwrap();
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
