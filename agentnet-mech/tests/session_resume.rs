//! `Sessions::resume_with`: after a link is lost, the message each side still waits on an
//! answer to goes out again on the new link; duplicates change nothing.

use agentnet_core::descriptor::Topic;
use agentnet_core::{Engine, Hash, Instant, Keypair, LinkId, Now, Signed, WallTime};
use agentnet_mech::mechanism::{Clause, Mechanism, UNIT};
use agentnet_mech::session::{Event, SessionConfig, SessionError, Sessions, TaskSpec};
use agentnet_trust::evidence::TaskId;

fn events(s: &mut Sessions) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event())
        .filter(|e| !matches!(e, Event::Persist { .. }))
        .collect()
}

#[test]
fn lost_messages_are_sent_again_on_a_new_link_and_duplicates_are_refused() {
    let (alice, bob) = (Keypair::from_seed([1; 32]), Keypair::from_seed([2; 32]));
    let mut req = Sessions::new(
        SessionConfig::default(),
        Box::new(Keypair::from_seed([1; 32])),
    )
    .unwrap();
    let mut prov = Sessions::new(
        SessionConfig::default(),
        Box::new(Keypair::from_seed([2; 32])),
    )
    .unwrap();
    let now = Now::new(
        Instant::from_secs(1),
        WallTime::from_unix_millis(1_800_000_000_000),
    );
    let rules = Mechanism::new(
        alice.id(),
        "resume",
        10 * UNIT,
        [Clause::Payment {
            flat: 2 * UNIT,
            bonus: 8 * UNIT,
        }],
    );
    let task = TaskSpec::new(
        TaskId(Hash([9; 32])),
        Topic::new("t/x").unwrap(),
        Hash([8; 32]),
    );
    let id = req
        .offer(
            now,
            bob.id(),
            LinkId(1),
            task,
            Signed::sign(&alice, rules).unwrap(),
        )
        .unwrap();
    // The OFFER is lost with link 1.
    while req.poll_transmit().is_some() {}
    assert_eq!(req.resume_with(bob.id(), LinkId(2)), 1);
    let t = req.poll_transmit().expect("the offer again");
    assert_eq!(t.link, LinkId(2));
    prov.handle_message(now, LinkId(7), t.payload).unwrap();
    assert!(
        events(&mut prov)
            .iter()
            .any(|e| matches!(e, Event::Offered { .. }))
    );
    prov.accept(now, id).unwrap();
    let commit = prov.poll_transmit().unwrap().payload;
    req.handle_message(now, LinkId(2), commit.clone()).unwrap();
    assert!(
        events(&mut req)
            .iter()
            .any(|e| matches!(e, Event::Committed { .. }))
    );
    // The provider re-sends its commitment after a reconnect: refused as a replay.
    assert_eq!(prov.resume_with(alice.id(), LinkId(8)), 1);
    let again = prov.poll_transmit().unwrap();
    assert_eq!(again.payload, commit);
    assert!(matches!(
        req.handle_message(now, LinkId(3), again.payload),
        Err(SessionError::Replayed { .. })
    ));
    req.delegate(now, id, Hash([7; 32])).unwrap();
    // The DELEGATE is lost; the requester resumes and it arrives.
    while req.poll_transmit().is_some() {}
    assert_eq!(req.resume_with(bob.id(), LinkId(4)), 1);
    prov.handle_message(now, LinkId(8), req.poll_transmit().unwrap().payload)
        .unwrap();
    assert!(
        events(&mut prov)
            .iter()
            .any(|e| matches!(e, Event::Delegated { .. }))
    );
    // Sessions with someone else are untouched.
    assert_eq!(
        req.resume_with(Keypair::from_seed([3; 32]).id(), LinkId(5)),
        0
    );
}
