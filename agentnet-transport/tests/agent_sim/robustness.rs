//! Determinism and adversity: same seed same trace, hostile frames, loss and provider churn, and
//! full queues.

use super::*;

#[test]
fn same_seed_same_trace() {
    let run = || {
        let mut w = lure_world(5);
        let o = request(&mut w, 0, canary_task(&b"y"[..], &b"x"[..]));
        (o.attempts.len(), w.sim.trace_hash())
    };
    assert_eq!(run(), run());
}

#[test]
fn hostile_frames_get_typed_errors_and_change_nothing() {
    use agentnet_core::{Engine, LinkId};
    use agentnet_transport::agent::AgentError;
    use agentnet_transport::agent::wire::{self, Chunk, Direction, HelloProof, Resend};
    let mut w = solo(6);
    let now = w.sim.now();
    let session = agentnet_mech::session::SessionId(agentnet_core::Hash([1; 32]));
    let host = w.sim.engine_mut(w.ids[0]).unwrap();
    let chunk = agentnet_core::wire::encode_frame(
        wire::CHUNK,
        &Chunk {
            session,
            direction: Direction::Result,
            index: 0,
            count: 1,
            data: Bytes::from_static(b"x"),
        },
    )
    .unwrap();
    assert!(matches!(
        host.handle_message(now, LinkId(1), chunk),
        Err(AgentError::UnknownTransfer { .. })
    ));
    let resend = agentnet_core::wire::encode_frame(
        wire::RESEND,
        &Resend {
            session,
            direction: Direction::Input,
            missing: vec![0],
        },
    )
    .unwrap();
    assert!(matches!(
        host.handle_message(now, LinkId(1), resend),
        Err(AgentError::UnknownTransfer { .. })
    ));
    // A handshake proof answering no challenge on this link (a replay).
    let stranger = Keypair::from_seed([99; 32]);
    let proof = Signed::sign(
        &stranger,
        HelloProof {
            nonce: [0; 16],
            agent: stranger.id(),
        },
    )
    .unwrap()
    .to_frame();
    assert!(matches!(
        host.handle_message(now, LinkId(1), proof),
        Err(AgentError::BadHandshake(_))
    ));
    for junk in [
        Bytes::from_static(b""),
        Bytes::from_static(&[1, 0x04, 0x10, 0xff]),
        Bytes::from_static(&[1, 0x04, 0x99, 0xa0]),
        Bytes::from_static(&[1, 0x55, 0x00, 0xa0]),
        Bytes::from_static(&[9, 0x03, 0x02, 0xa0]),
    ] {
        assert!(host.handle_message(now, LinkId(1), junk).is_err());
    }
    // The agent still works.
    let routes = host.agent().peers().count();
    assert_eq!(routes, 1);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"still fine"))
            .tier(Tier::Reputation),
    );
    assert_eq!(o.result.as_deref(), Ok(&b"STILL FINE"[..]));
}

#[test]
fn the_funnel_always_ends_under_loss() {
    let lossy = LinkModel {
        loss: 0.05,
        ..LinkModel::default()
    };
    let mut w = world(
        7,
        &[
            (Kind::Requester, ""),
            (Kind::Honest, SUMMARY),
            (Kind::Honest, PLAIN),
            (Kind::Honest, "Text summarization service"),
        ],
        lossy,
    );
    let mut ok = 0;
    for i in 0..6u8 {
        let input = Bytes::from(vec![b'a' + i; 40_000]);
        let o = request(
            &mut w,
            0,
            canary_task(input.clone(), vec![b'q'; 39_000 + usize::from(i)]),
        );
        if let Ok(r) = &o.result {
            assert_eq!(r, &Bytes::from(input.to_ascii_uppercase()));
            ok += 1;
        }
    }
    // Each request ends (success or a reasoned failure); chunk loss is repaired by resends.
    assert!(ok >= 4, "only {ok} of 6 succeeded");
}

#[test]
fn the_funnel_completes_under_loss_and_provider_churn() {
    use agentnet_core::sim::Fault;
    use std::collections::BTreeMap;
    let lossy = LinkModel {
        loss: 0.02,
        ..LinkModel::default()
    };
    let mut w = world(
        11,
        &[
            (Kind::Requester, ""),
            (Kind::Honest, SUMMARY),
            (Kind::Honest, PLAIN),
            (Kind::Honest, "Text summarization service"),
            (Kind::Liar, LURE),
        ],
        lossy,
    );
    let mut stores = BTreeMap::new();
    for (i, &id) in w.ids.iter().enumerate().skip(1) {
        let liar = i == 4;
        stores.insert(
            id,
            (
                seed(i as u8 + 1, 11),
                w.sim.engine(id).unwrap().store().clone(),
                liar,
            ),
        );
    }
    let table = stores.clone();
    w.sim.set_factory(move |node, now, _incarnation| {
        let (s, store, liar) = table[&node].clone();
        let agent = Agent::new(Keypair::from_seed(s), config(s), now).unwrap();
        let handler = if liar { self::liar() } else { upper() };
        SimHost::restored(agent, Some(handler), store, now).0
    });
    // Providers go down and come back while requests run: each one in turn, 400 ms down
    // every 900 ms.
    let providers: Vec<NodeId> = stores.keys().copied().collect();
    let start = w.sim.now().mono;
    for k in 0..30u64 {
        let p = providers[(k as usize) % providers.len()];
        let at = start + Duration::from_millis(300 + 900 * k);
        w.sim.schedule(at, Fault::Crash(p));
        w.sim
            .schedule(at + Duration::from_millis(400), Fault::Restart(p));
    }
    let mut ok = 0;
    for i in 0..8u8 {
        let input = Bytes::from(vec![b'a' + i; 64]);
        let o = request(&mut w, 0, canary_task(input.clone(), vec![b'p' + i; 32]));
        if let Ok(r) = &o.result {
            assert_eq!(
                r,
                &Bytes::from(input.to_ascii_uppercase()),
                "only checked work is accepted"
            );
            ok += 1;
        }
    }
    assert!(ok >= 5, "only {ok} of 8 succeeded under churn");
}

#[test]
fn full_queues_drop_the_oldest_and_say_so() {
    use agentnet_core::{Engine, Instant, LinkId, WallTime};
    let now = Now::new(
        Instant::from_secs(1),
        WallTime::from_unix_millis(1_800_000_000_000),
    );
    let mut cfg = config(seed(1, 14));
    cfg.max_queued = 64;
    let mut a = Agent::new(Keypair::from_seed(seed(1, 14)), cfg, now).unwrap();
    // Every link that comes up queues a handshake challenge; nobody drains the frames.
    for l in 0..100 {
        a.handle_link_up(now, LinkId(l));
    }
    let overflow: u64 = std::iter::from_fn(|| a.poll_event())
        .filter_map(|e| match e {
            AgentEvent::Overflow(o) if o.queue == "transmits" => Some(o.dropped),
            _ => None,
        })
        .sum();
    assert!(overflow >= 36, "dropped {overflow}");
    let kept: Vec<_> = std::iter::from_fn(|| a.poll_transmit()).collect();
    assert_eq!(kept.len(), 64, "the queue holds its bound");
    assert_eq!(
        kept.last().unwrap().link,
        LinkId(99),
        "the newest frames are kept"
    );
    // Out-of-range settings are refused by name, never clamped.
    let mut bad = config(seed(1, 14));
    bad.max_queued = 1;
    let e = Agent::new(Keypair::from_seed(seed(1, 14)), bad, now).unwrap_err();
    assert_eq!(e.field(), Some("max_queued"));
}
