//! Intents and provider states: publishing them as own entries, who pulls their bodies, what
//! is reported, forged bodies, the state rate limit and expiry, and states in discovery.

use super::*;
use agentnet_core::descriptor::{QosVector, SideEffects};

fn t0() -> Now {
    uptime_secs(10)
}

/// An entry header by `kp` in `topic` of `kind` at `seq` for `body`, issued at the epoch,
/// living 15 s.
fn entry(kp: &Keypair, t: &Topic, seq: u64, kind: EntryKind, body: &[u8]) -> Signed<LogHeader> {
    let h = LogHeader {
        author: kp.id(),
        topic: t.clone(),
        seq,
        prev: None,
        kind,
        body_hash: wire::body_hash(body),
        body_len: body.len() as u32,
        issued_at: WallTime::from_unix_millis(EPOCH_MS),
        ttl_ms: 15_000,
        sketch: None,
    };
    Signed::sign(kp, h).unwrap()
}

/// A valid intent of `requester` in `topic`, issued `ago_ms` before the epoch, living `ttl` ms.
fn intent(requester: AgentId, topic: &str, ago_ms: u64, ttl: u32) -> IntentAnnouncement {
    let issued = EPOCH_MS - ago_ms;
    IntentAnnouncement {
        requester,
        nonce: 7,
        topic: Topic::new(topic).unwrap(),
        summary: "generate an image from my text prompt".into(),
        tags: vec!["image".into()],
        max_side_effects: SideEffects::None,
        tier: 1,
        max_latency_ms: None,
        budget_min: 1,
        budget_max: 100,
        bid_by: WallTime::from_unix_millis(issued + 1_000),
        deadline: WallTime::from_unix_millis(issued + 60_000),
        endpoints: vec![],
        issued_at: WallTime::from_unix_millis(issued),
        ttl_ms: ttl,
    }
}

/// Offer the header `h` from link 1 and answer the body request with `body`; returns whether
/// a body was asked for, and the events after the answer.
fn deliver(
    e: &mut GossipEngine,
    now: Now,
    h: &Signed<LogHeader>,
    body: &Bytes,
) -> (bool, Vec<Event>) {
    e.handle_message(now, LinkId(1), h.to_frame()).unwrap();
    let (tx, _) = drain(e);
    let asked = tx
        .iter()
        .any(|t| t.link == LinkId(1) && peek_kind(&t.payload) == Some(kind::BODY_REQUEST));
    if !asked {
        return (false, Vec::new());
    }
    let m = Message::Body(wire::Body {
        hash: h.body_hash,
        body: body.to_vec(),
    })
    .encode();
    e.handle_message(now, LinkId(1), m).unwrap();
    (true, drain(e).1)
}

fn intents(ev: &[Event]) -> Vec<IntentId> {
    ev.iter()
        .filter_map(|e| match e {
            Event::Intent(i) => Some(IntentAnnouncement::id_of(i)),
            _ => None,
        })
        .collect()
}

#[test]
fn an_intent_is_pulled_by_the_intent_interest_only_and_reported_once() {
    let kp = Keypair::from_seed([9; 32]);
    let signed = Signed::sign(&kp, intent(kp.id(), "creative/image", 0, 30_000)).unwrap();
    let body = signed.to_frame();
    let h1 = entry(&kp, &topic(), 1, EntryKind::INTENT, &body);

    // Wanting every descriptor says nothing about intents.
    let mut e = engine(1);
    e.set_interest(InterestProfile::everything());
    peer(&mut e, 1);
    drain(&mut e);
    let (asked, _) = deliver(&mut e, t0(), &h1, &body);
    assert!(!asked, "the descriptor interest pulled an intent");
    assert_eq!(e.stats().bodies_requested, 0);

    let mut e = engine(1);
    e.set_intent_interest(InterestProfile::everything());
    assert!(e.intent_interest().everything);
    peer(&mut e, 1);
    drain(&mut e);
    let (asked, ev) = deliver(&mut e, t0(), &h1, &body);
    assert!(asked);
    assert_eq!(intents(&ev), vec![IntentAnnouncement::id_of(&signed)]);
    // The same intent in another entry of the author is not reported again (the body is
    // held, so nothing is even asked for).
    let mut h2 = entry(&kp, &topic(), 2, EntryKind::INTENT, &body)
        .value()
        .clone();
    h2.prev = Some(h1.hash());
    let h2 = Signed::sign(&kp, h2).unwrap();
    let (_, ev) = deliver(&mut e, t0(), &h2, &body);
    assert!(intents(&ev).is_empty());
    assert_eq!(e.penalty(LinkId(1)), 0);
}

#[test]
fn forged_or_stale_intents_are_not_reported_and_cost_the_relay_nothing() {
    let author = Keypair::from_seed([9; 32]);
    let other = Keypair::from_seed([8; 32]);
    let bodies = [
        // Signed by someone else than the entry's author.
        Signed::sign(&other, intent(other.id(), "creative/image", 0, 30_000)).unwrap(),
        // Announced in another topic than the entry's.
        Signed::sign(&author, intent(author.id(), "creative/audio", 0, 30_000)).unwrap(),
        // Lapsed: issued 10 s ago, living 5 s.
        Signed::sign(
            &author,
            intent(author.id(), "creative/image", 10_000, 5_000),
        )
        .unwrap(),
    ];
    for (i, s) in bodies.iter().enumerate() {
        let mut e = engine(1);
        e.set_intent_interest(InterestProfile::everything());
        peer(&mut e, 1);
        drain(&mut e);
        let body = s.to_frame();
        let h = entry(&author, &topic(), 1, EntryKind::INTENT, &body);
        let (asked, ev) = deliver(&mut e, t0(), &h, &body);
        assert!(asked, "case {i}");
        assert!(intents(&ev).is_empty(), "case {i} reported");
        assert_eq!(e.penalty(LinkId(1)), 0, "case {i} penalised");
    }
    // Not an intent at all (a descriptor body under an intent header).
    let mut e = engine(1);
    e.set_intent_interest(InterestProfile::everything());
    peer(&mut e, 1);
    drain(&mut e);
    let d = CapabilityDescriptor::builder(author.id(), "image.gen", "creative/image", "images")
        .build(t0())
        .unwrap();
    let body = Signed::sign(&author, d).unwrap().to_frame();
    let h = entry(&author, &topic(), 1, EntryKind::INTENT, &body);
    let (asked, ev) = deliver(&mut e, t0(), &h, &body);
    assert!(asked);
    assert!(
        ev.iter()
            .all(|e| !matches!(e, Event::Intent(_) | Event::Descriptor(_)))
    );
}

#[test]
fn publish_intent_signs_sketches_and_persists_one_entry() {
    let mut e = engine(3);
    let me = e.id();
    assert!(matches!(
        e.publish_intent(
            t0(),
            intent(
                Keypair::from_seed([4; 32]).id(),
                "creative/image",
                0,
                30_000
            )
        ),
        Err(CommandError::NotOurs(_))
    ));
    let mut bad = intent(me, "creative/image", 0, 30_000);
    bad.tier = 9;
    assert!(matches!(
        e.publish_intent(t0(), bad),
        Err(CommandError::Descriptor(_))
    ));
    let i = intent(me, "creative/image", 0, 30_000);
    let (t, seq, id) = e.publish_intent(t0(), i.clone()).unwrap();
    assert_eq!((t.clone(), seq), (topic(), 1));
    let head = drain(&mut e)
        .1
        .into_iter()
        .find_map(|e| match e {
            Event::PersistHead(h) => Some(h),
            _ => None,
        })
        .expect("the head is persisted first");
    let h = Signed::<LogHeader>::from_frame(&head.header, &Limits::default()).unwrap();
    assert_eq!(h.kind, EntryKind::INTENT);
    assert_eq!((h.issued_at, h.ttl_ms), (i.issued_at, i.ttl_ms));
    assert!(h.sketch.is_some());
    let body = head.body.unwrap();
    let back = Signed::<IntentAnnouncement>::from_frame(&body, &Limits::default()).unwrap();
    assert_eq!(*back, i);
    assert_eq!(IntentAnnouncement::id_of(&back), id);
    assert_eq!(h.body_hash, wire::body_hash(&body));
    // The sketch is the one the intent's text gets: an interest in that text wants it.
    let enc = HashedNgramEncoder::default();
    let p = InterestProfile::from_texts(&enc, &[&announcement_text(&i)], 0.9);
    assert!(p.wants(&t, h.sketch.as_ref()));
}

/// A descriptor of `kp` in the test topic, valid 60 s from `t0()`, claiming `load_bp`.
fn descriptor(kp: &Keypair, load_bp: u16) -> Bytes {
    let d = CapabilityDescriptor::builder(kp.id(), "image.gen", "creative/image", "make images")
        .ttl(Duration::from_secs(60))
        .qos(QosVector {
            load_bp: Some(load_bp),
            ..QosVector::default()
        })
        .build(t0())
        .unwrap();
    Signed::sign(kp, d).unwrap().to_frame()
}

fn provider_state(kp: &Keypair, load_bp: u16, available: bool, ttl: u32) -> Bytes {
    let s = ProviderState {
        provider: kp.id(),
        load_bp,
        available,
        queued: 2,
        issued_at: t0().wall,
        ttl_ms: ttl,
    };
    Signed::sign(kp, s).unwrap().to_frame()
}

fn found(e: &GossipEngine, now: Now, who: AgentId) -> Option<Candidate> {
    e.discover(now, "make images", &Requirements::default(), 8)
        .into_iter()
        .find(|c| c.descriptor.provider == who)
}

#[test]
fn a_state_is_pulled_only_for_a_held_provider_and_lapses() {
    let p = Keypair::from_seed([9; 32]);
    let stranger = Keypair::from_seed([8; 32]);
    let mut e = engine(1);
    peer(&mut e, 1);
    assert_eq!(e.restore_descriptors(t0(), [descriptor(&p, 1_000)]), 1);
    drain(&mut e);

    // No descriptor of the stranger: its state is not even asked for.
    let body = provider_state(&stranger, 0, false, 5_000);
    let h = entry(&stranger, &topic(), 1, EntryKind::STATE, &body);
    let (asked, _) = deliver(&mut e, t0(), &h, &body);
    assert!(!asked);
    assert_eq!(e.stats().bodies_requested, 0);

    // The held provider says it is busy: reported, kept, and discovery skips it.
    assert!(found(&e, t0(), p.id()).is_some());
    let body = provider_state(&p, 9_000, false, 5_000);
    let h = entry(&p, &topic(), 1, EntryKind::STATE, &body);
    let (asked, ev) = deliver(&mut e, t0(), &h, &body);
    assert!(asked);
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::ProviderState(s) if s.provider == p.id()))
    );
    let s = e.provider_state(t0(), &p.id()).expect("held");
    assert!(!s.available);
    assert!(
        found(&e, t0(), p.id()).is_none(),
        "an unavailable provider is found"
    );
    // The next deadline is no later than the state's lapse.
    let lapse = t0().mono + Duration::from_secs(5);
    assert!(e.poll_timeout().is_some_and(|t| t <= lapse));

    // Past its TTL the state says nothing: gone from the table, the provider is back.
    let later = t0().advance(Duration::from_secs(5));
    assert!(e.provider_state(later, &p.id()).is_none());
    e.handle_timeout(later);
    assert_eq!(e.state_count(), 0);
    let c = found(&e, later, p.id()).expect("found again");
    assert!(c.state.is_none());
    assert_eq!(c.qos.load_bp, Some(1_000), "the descriptor's own claim");
}

#[test]
fn a_live_state_replaces_the_claimed_load_and_forgeries_are_skipped() {
    let p = Keypair::from_seed([9; 32]);
    let other = Keypair::from_seed([8; 32]);
    let mut e = engine(1);
    peer(&mut e, 1);
    e.restore_descriptors(t0(), [descriptor(&p, 1_000)]);
    e.restore_descriptors(t0(), [descriptor(&other, 1_000)]);
    drain(&mut e);
    // A state of `other` in an entry of `p`: not taken.
    let forged = provider_state(&other, 0, false, 5_000);
    let h = entry(&p, &topic(), 1, EntryKind::STATE, &forged);
    let (asked, ev) = deliver(&mut e, t0(), &h, &forged);
    assert!(asked);
    assert!(!ev.iter().any(|e| matches!(e, Event::ProviderState(_))));
    assert!(e.provider_state(t0(), &other.id()).is_none());
    assert_eq!(e.penalty(LinkId(1)), 0);

    let mut h2 = entry(&p, &topic(), 2, EntryKind::STATE, &[])
        .value()
        .clone();
    let body = provider_state(&p, 7_500, true, 5_000);
    h2.prev = Some(h.hash());
    h2.body_hash = wire::body_hash(&body);
    h2.body_len = body.len() as u32;
    let h2 = Signed::sign(&p, h2).unwrap();
    let (_, ev) = deliver(&mut e, t0(), &h2, &body);
    assert!(ev.iter().any(|e| matches!(e, Event::ProviderState(_))));
    let c = found(&e, t0(), p.id()).expect("available");
    assert_eq!(c.qos.load_bp, Some(7_500));
    assert_eq!(c.state.as_ref().map(|s| s.queued), Some(2));
    // The other provider keeps its claim.
    assert_eq!(
        found(&e, t0(), other.id()).unwrap().qos.load_bp,
        Some(1_000)
    );
}

/// The provider states among `ev`'s persisted heads: (topic, load).
fn persisted_states(ev: &[Event]) -> Vec<(Topic, u16)> {
    ev.iter()
        .filter_map(|e| match e {
            Event::PersistHead(h) => {
                let hd = Signed::<LogHeader>::from_frame(&h.header, &Limits::default()).unwrap();
                (hd.kind == EntryKind::STATE).then(|| {
                    let b = h.body.as_ref().unwrap();
                    let s = Signed::<ProviderState>::from_frame(b, &Limits::default()).unwrap();
                    assert_eq!(hd.ttl_ms, 5_000);
                    (hd.topic.clone(), s.load_bp)
                })
            }
            _ => None,
        })
        .collect()
}

#[test]
fn states_go_to_every_capability_topic_at_most_once_per_interval() {
    let mut e = engine(3);
    let me = e.id();
    // Nothing announced: nothing to attach a state to.
    assert_eq!(e.publish_state(t0(), 100, true, 0).unwrap(), 0);
    assert!(persisted_states(&drain(&mut e).1).is_empty());
    let audio = Topic::new("creative/audio").unwrap();
    for (cap, t) in [
        ("image.gen", "creative/image"),
        ("image.edit", "creative/image"),
        ("audio.mix", "creative/audio"),
    ] {
        let d = CapabilityDescriptor::builder(me, cap, t, "make things")
            .build(t0())
            .unwrap();
        e.publish(t0(), d).unwrap();
    }
    drain(&mut e);
    assert!(matches!(
        e.publish_state(t0(), 10_001, true, 0),
        Err(CommandError::Descriptor(_))
    ));
    assert_eq!(e.publish_state(t0(), 100, true, 0).unwrap(), 2);
    let first = persisted_states(&drain(&mut e).1);
    assert_eq!(first, vec![(audio.clone(), 100), (topic(), 100)]);

    // 100 ms later: waits; a newer one replaces it while waiting.
    let soon = t0().advance(Duration::from_millis(100));
    assert_eq!(e.publish_state(soon, 200, true, 0).unwrap(), 0);
    let soon2 = t0().advance(Duration::from_millis(300));
    assert_eq!(e.publish_state(soon2, 300, false, 0).unwrap(), 0);
    assert!(persisted_states(&drain(&mut e).1).is_empty());
    let due = t0().mono + Duration::from_secs(1);
    assert!(e.poll_timeout().is_some_and(|t| t <= due));
    e.handle_timeout(t0().advance(Duration::from_millis(999)));
    assert!(
        persisted_states(&drain(&mut e).1).is_empty(),
        "before the interval"
    );
    let at = t0().advance(Duration::from_secs(1));
    e.handle_timeout(at);
    assert_eq!(
        persisted_states(&drain(&mut e).1),
        vec![(audio.clone(), 300), (topic(), 300)]
    );
    // Nothing waits any more: no further state goes out.
    e.handle_timeout(t0().advance(Duration::from_secs(3)));
    assert!(persisted_states(&drain(&mut e).1).is_empty());

    // A withdrawn capability's topic gets no state; a retracted one neither.
    e.withdraw("audio.mix");
    e.retract(t0().advance(Duration::from_secs(3)), "image.edit")
        .unwrap();
    drain(&mut e);
    let n = e
        .publish_state(t0().advance(Duration::from_secs(3)), 50, true, 1)
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(persisted_states(&drain(&mut e).1), vec![(topic(), 50)]);
}
