//! Bounds and determinism: the session table and queues are bounded, and the same inputs give
//! byte-identical frames.

use super::*;

#[test]
fn the_session_table_is_bounded() {
    let mut cfg = SessionConfig::default();
    cfg.max_sessions = 2;
    let mut prov = Sessions::new(cfg.clone(), Box::new(bob())).unwrap();
    let mut req = engine(alice());
    for i in 1..=3 {
        req.offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(i),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    }
    let r: Vec<_> = drain_frames(&mut req)
        .into_iter()
        .map(|f| prov.handle_message(at_ms(0), LINK, f))
        .collect();
    assert!(r[0].is_ok() && r[1].is_ok());
    assert_eq!(r[2], Err(SessionError::Full { max: 2 }));
    assert!(drain_events(&mut prov).contains(&Event::TableFull { max: 2 }));
    assert_eq!(prov.len(), 2);

    let mut small = Sessions::new(cfg, Box::new(alice())).unwrap();
    small
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    small
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(2),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    assert_eq!(
        small.offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(3),
            signed_rules(Tier::Reputation)
        ),
        Err(SessionError::Full { max: 2 })
    );
}

#[test]
fn queue_overflow_drops_the_oldest_and_says_so() {
    let mut cfg = SessionConfig::default();
    cfg.max_queued_transmits = 16;
    let mut req = Sessions::new(cfg, Box::new(alice())).unwrap();
    for i in 0..20u8 {
        let provider = Keypair::from_seed([100 + i; 32]).id();
        req.offer(
            at_ms(0),
            provider,
            LINK,
            task(1),
            signed_rules(Tier::Reputation),
        )
        .unwrap();
    }
    assert_eq!(req.dropped_transmits(), 4);
    let frames = drain_frames(&mut req);
    assert_eq!(frames.len(), 16);
    let dropped: u64 = drain_events(&mut req)
        .iter()
        .map(|e| match e {
            Event::Overflow(o) if o.queue == "transmits" => o.dropped,
            _ => 0,
        })
        .sum();
    assert_eq!(dropped, 4);
    // The oldest were dropped: the first frame left is the fifth offer.
    let first = Signed::<Offer>::from_frame(&frames[0], &Limits::default()).unwrap();
    assert_eq!(first.provider, Keypair::from_seed([104; 32]).id());
}

/// Every frame of a complete tier-3 session, in order.
fn transcript() -> Vec<Bytes> {
    let (mut req, mut prov) = (engine(alice()), engine(bob()));
    let mut all = Vec::new();
    let mut hop = |from: &mut Sessions, to: &mut Sessions, now: Now| {
        for f in drain_frames(from) {
            all.push(f.clone());
            to.handle_message(now, LINK, f).unwrap();
        }
    };
    let id = req
        .offer(
            at_ms(0),
            bob().id(),
            LINK,
            task(1),
            signed_rules(Tier::Evidence),
        )
        .unwrap();
    hop(&mut req, &mut prov, at_ms(0));
    prov.accept(at_ms(10), id).unwrap();
    hop(&mut prov, &mut req, at_ms(10));
    req.delegate(at_ms(20), id, input()).unwrap();
    hop(&mut req, &mut prov, at_ms(20));
    prov.deliver(
        at_ms(100),
        id,
        result(),
        Some(honest_package(task_id(1), result())),
    )
    .unwrap();
    hop(&mut prov, &mut req, at_ms(100));
    req.grade(at_ms(200), id, Grade::new(750_000, false))
        .unwrap();
    hop(&mut req, &mut prov, at_ms(200));
    all
}

#[test]
fn the_same_inputs_give_byte_identical_frames() {
    let a = transcript();
    assert_eq!(a.len(), 5);
    assert_eq!(a, transcript());
}
