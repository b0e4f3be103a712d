//! The engine's deadline when idle and the outgoing queue's overflow handling.

use super::*;

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
    e.handle_timeout(uptime_secs(10));
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
        e.handle_message(uptime_secs(10), LinkId(1), h.to_frame())
            .unwrap();
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
    e.handle_message(uptime_secs(10), LinkId(1), ask).unwrap();
    assert!(e.queued_transmit_count() <= 16);
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
