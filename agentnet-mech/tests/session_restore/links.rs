//! Links after a restart: a restored session adopts the link its counterparty speaks on, and the
//! host can name the link.

use super::*;

#[test]
fn a_restored_session_adopts_the_link_its_counterparty_speaks_on() {
    let (a, mut b, id) = delegated(Tier::Reputation);
    // Bob restarts after the delegation; Alice is now reached on another link.
    b.restart(25, 1);
    assert_eq!(b.engine.session(&id).unwrap().link, None);
    let ev = b.take_events();
    assert!(matches!(ev[..], [Event::Delegated { .. }]), "{ev:?}");
    // Bob's delivery waits for a link.
    b.engine.deliver(b.now(100), id, result(), None).unwrap();
    assert_eq!(b.engine.parked_count(), 1);
    assert!(b.engine.poll_transmit().is_none());
    // A message signed by someone else gives no link.
    let mut m = Host::new(3, 0, bob());
    let other = m
        .engine
        .offer(
            m.now(100),
            bob().id(),
            LinkId(66),
            task(9),
            rules_by(&mallory(), Tier::Reputation),
        )
        .unwrap();
    for t in m.pass() {
        b.engine
            .handle_message(b.now(100), LinkId(66), t.payload)
            .unwrap();
    }
    assert_eq!(b.engine.parked_count(), 1);
    assert_eq!(b.engine.session(&id).unwrap().link, None);
    assert!(b.engine.session(&other).is_some());
    // Alice speaks (on another session): Bob's session adopts her link, the frame leaves.
    let mut a = a;
    a.engine
        .offer(
            a.now(110),
            bob().id(),
            LinkId(42),
            task(2),
            rules(Tier::Reputation),
        )
        .unwrap();
    let frames = a.pass();
    b.engine
        .handle_message(b.now(110), LinkId(42), frames[0].payload.clone())
        .unwrap();
    assert_eq!(b.engine.parked_count(), 0);
    assert_eq!(b.engine.session(&id).unwrap().link, Some(LinkId(42)));
    let sent: Vec<Transmit> = std::iter::from_fn(|| b.engine.poll_transmit()).collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].link, LinkId(42));
    // ...and it is the delivery, which Alice takes.
    a.engine
        .handle_message(a.now(120), LinkId(42), sent[0].payload.clone())
        .unwrap();
    assert_eq!(a.engine.session(&id).unwrap().phase, Phase::Delivered);
}

#[test]
fn the_host_can_name_the_link() {
    let (mut a, _b, id) = delegated(Tier::Reputation);
    a.restart(25, 1);
    assert_eq!(a.engine.set_link(id, LinkId(5)), Ok(()));
    assert_eq!(a.engine.session(&id).unwrap().link, Some(LinkId(5)));
    // Later sessions are untouched by set_peer_link once linked.
    assert_eq!(a.engine.set_peer_link(bob().id(), LinkId(6)), 0);
    assert_eq!(a.engine.session(&id).unwrap().link, Some(LinkId(5)));
    let unknown = SessionId(Hash([9; 32]));
    assert!(a.engine.set_link(unknown, LinkId(5)).is_err());
}
