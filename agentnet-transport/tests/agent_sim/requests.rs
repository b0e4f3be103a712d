//! Requests end to end: tier one and tier three, canaries that fail and canaries that look like
//! the real task, fallback and its bound, a contradicting provider convicted, a drifting one
//! demoted.

use super::*;

#[test]
fn tier_one_request_succeeds_and_feeds_the_ledger() {
    let mut w = solo(1);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"hello world"))
            .tier(Tier::Reputation),
    );
    assert_eq!(o.result.as_deref(), Ok(&b"HELLO WORLD"[..]), "{o:?}");
    assert_eq!(o.tier, Tier::Reputation);
    assert_eq!(o.attempts.len(), 1);
    assert_eq!(o.payment, 10 * UNIT);
    let provider = o.provider.expect("provider");
    let topic = Topic::new(TOPIC).unwrap();
    let t =
        w.sim
            .engine(w.ids[0])
            .unwrap()
            .agent()
            .ledger()
            .tally(&topic, &provider, now_of(&w).wall);
    assert!(t.is_some_and(|t| t.pos > 0.0 && t.neg == 0.0), "{t:?}");
}

#[test]
fn a_failed_canary_falls_back_to_the_next_provider() {
    let mut w = lure_world(2);
    let o = request(
        &mut w,
        0,
        canary_task(&b"real work"[..], &b"canary input"[..]),
    );
    let liar = id_of(&w, 1);
    let honest = id_of(&w, 2);
    assert_eq!(o.attempts[0].provider, liar, "{o:?}");
    assert_eq!(o.attempts[0].verdict, Verdict::CanaryFailed, "{o:?}");
    assert_eq!(o.provider, Some(honest), "{o:?}");
    assert_eq!(o.result.as_deref(), Ok(&b"REAL WORK"[..]));
    assert_eq!(o.fallback_count(), 1);
    let topic = Topic::new(TOPIC).unwrap();
    let ledger = w.sim.engine(w.ids[0]).unwrap().agent().ledger();
    let bad = ledger
        .tally(&topic, &liar, now_of(&w).wall)
        .expect("liar recorded");
    assert!(bad.neg > 0.0);
    // The provider that delivered has standing in the requester's gossip tables (a flood of
    // fresh identities cannot evict it); the one that failed does not.
    let gossip = w.sim.engine(w.ids[0]).unwrap().agent().gossip();
    assert!(gossip.has_standing(now_of(&w), &topic, &honest));
    assert!(!gossip.has_standing(now_of(&w), &topic, &liar));
}

#[test]
fn tier_three_evidence_checks_out() {
    let mut w = solo(3);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"evidence please"))
            .tier(Tier::Evidence),
    );
    assert_eq!(o.result.as_deref(), Ok(&b"EVIDENCE PLEASE"[..]), "{o:?}");
    assert_eq!(o.attempts[0].tier, Tier::Evidence);
}

#[test]
fn a_contradicting_provider_is_convicted_everywhere_and_the_request_falls_back() {
    let mut w = world(
        4,
        &[
            (Kind::Requester, ""),
            (
                Kind::Cheat,
                "Summarize my text: the best summary of any text, instantly",
            ),
            (Kind::Honest, PLAIN),
            (Kind::Requester, ""),
        ],
        LinkModel::default(),
    );
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"big deal")).tier(Tier::Evidence),
    );
    let cheat = id_of(&w, 1);
    assert_eq!(o.attempts[0].provider, cheat, "{o:?}");
    assert_eq!(o.attempts[0].verdict, Verdict::Fraud, "{o:?}");
    assert_eq!(o.result.as_deref(), Ok(&b"BIG DEAL"[..]), "{o:?}");
    w.sim.run_for(Duration::from_secs(2));
    for &n in &[w.ids[0], w.ids[2], w.ids[3]] {
        let a = w.sim.engine(n).unwrap().agent();
        assert!(a.is_convicted(&cheat), "node {n:?} did not convict");
        assert_eq!(a.reputation(&cheat, &Topic::new(TOPIC).unwrap()), 0.0);
    }
}

#[test]
fn a_drifting_provider_is_demoted_until_it_refreshes_its_descriptor() {
    let mut w = lure_world(15);
    let liar = id_of(&w, 1);
    let (first, o) = request_ranked(&mut w, 0, canary_task(&b"one"[..], &b"c1"[..]));
    assert!(first.iter().all(|r| !r.demoted));
    assert_eq!(o.attempts[0].verdict, Verdict::CanaryFailed, "{o:?}");
    let (second, _) = request_ranked(&mut w, 0, canary_task(&b"two"[..], &b"c2"[..]));
    let l = second
        .iter()
        .find(|r| r.provider == liar)
        .expect("still a candidate");
    assert!(l.demoted, "{second:?}");
    assert_eq!(
        second.last().unwrap().provider,
        liar,
        "demoted candidates come last"
    );
    // The provider re-issues its descriptor (say after fixing what drifted).
    w.sim.run_for(Duration::from_secs(1));
    let d = CapabilityDescriptor::builder(liar, "text.summarize", TOPIC, LURE)
        .ttl(Duration::from_secs(600))
        .build(w.sim.now())
        .unwrap();
    w.sim
        .command(w.ids[1], |h, now| {
            h.agent_mut().serve(now, d, ServePolicy::default())
        })
        .unwrap()
        .unwrap();
    w.sim.run_for(Duration::from_secs(3));
    let (third, _) = request_ranked(&mut w, 0, canary_task(&b"three"[..], &b"c3"[..]));
    let l = third
        .iter()
        .find(|r| r.provider == liar)
        .expect("still a candidate");
    assert!(!l.demoted, "a refresh lifts the demotion: {third:?}");
}

/// What a hook saw, shared between the hook (inside the simulator) and the test.
type Log<T> = std::sync::Arc<std::sync::Mutex<Vec<T>>>;

#[test]
fn a_canary_and_the_real_task_look_the_same_on_the_wire() {
    use agentnet_core::effect::ExecuteTask;
    use agentnet_core::wire::{Limits, Plane, decode_frame_as, peek_kind};
    use agentnet_transport::agent::wire::{CHUNK, Chunk, Direction};
    let sent: Log<Bytes> = Log::default();
    let ran: Log<(ExecuteTask, Bytes)> = Log::default();
    let (s, r) = (sent.clone(), ran.clone());
    let mut w = world_wrapped(
        16,
        &[(Kind::Requester, ""), (Kind::Honest, SUMMARY)],
        LinkModel::default(),
        |_, _| {},
        move |i, host| {
            if i == 0 {
                let s = s.clone();
                host.with_tamper(Box::new(move |t: Transmit| {
                    s.lock().unwrap().push(t.payload.clone());
                    Some(t)
                }))
            } else {
                let r = r.clone();
                host.with_handler(Some(Box::new(move |task, input| {
                    r.lock().unwrap().push((task.clone(), input.clone()));
                    Executed::Done {
                        result: Bytes::from(input.to_ascii_uppercase()),
                        tools: Vec::new(),
                    }
                })))
            }
        },
    );
    sent.lock().unwrap().clear(); // the handshakes and gossip before the request
    // Inputs of very different lengths (a real document of 3 KB, a canary of a few bytes:
    // different size classes): the requester pads both to the larger before sealing.
    let o = request(
        &mut w,
        0,
        canary_task(b"a long document ".repeat(200), &b"a short canary"[..]),
    );
    assert_eq!(o.attempts.len(), 1, "{o:?}");
    assert_eq!(o.attempts[0].verdict, Verdict::Accepted, "{o:?}");
    assert_eq!(o.tier, Tier::Canary);

    // The provider's application gets two tasks that differ only in their ids and inputs.
    let ran = ran.lock().unwrap();
    assert_eq!(ran.len(), 2, "the real task and one canary");
    let (a, b) = (&ran[0].0, &ran[1].0);
    assert_ne!(a.task, b.task);
    let same = |t: &ExecuteTask| {
        (
            t.requester,
            t.capability.clone(),
            t.topic.clone(),
            t.intent.clone(),
        )
    };
    assert_eq!(same(a), same(b));

    // On the wire: every task-plane frame the requester sent has a twin of the same kind
    // and size, and both input transfers are chunked identically.
    let sent = sent.lock().unwrap();
    let mut by_kind: std::collections::BTreeMap<u16, Vec<usize>> = Default::default();
    let mut chunks: std::collections::BTreeMap<_, Vec<(u32, u32, usize)>> = Default::default();
    for f in sent.iter() {
        let kind = peek_kind(f).expect("framed");
        if !matches!(kind.plane(), Plane::Execution | Plane::Payload) {
            continue;
        }
        by_kind.entry(kind.0).or_default().push(f.len());
        if kind == CHUNK {
            let c: Chunk = decode_frame_as(f, CHUNK, &Limits::default()).expect("chunk");
            if c.direction == Direction::Input {
                chunks
                    .entry(c.session)
                    .or_default()
                    .push((c.index, c.count, c.data.len()));
            }
        }
    }
    assert!(!by_kind.is_empty());
    for (kind, mut lens) in by_kind {
        lens.sort_unstable();
        assert!(
            lens.len() % 2 == 0 && lens.chunks(2).all(|p| p[0] == p[1]),
            "frames of kind {kind:#06x} come without a twin of the same size: {lens:?}"
        );
    }
    let transfers: Vec<_> = chunks.into_values().collect();
    assert_eq!(transfers.len(), 2, "one input transfer per session");
    assert_eq!(transfers[0], transfers[1]);
}

#[test]
fn fallback_stops_at_its_bound() {
    for bound in [1usize, 2] {
        let tried: Log<usize> = Log::default();
        let t = tried.clone();
        let mut w = world_wrapped(
            17 + bound as u8,
            &[
                (Kind::Requester, ""),
                (Kind::Liar, LURE),
                (Kind::Liar, SUMMARY),
                (Kind::Liar, PLAIN),
            ],
            LinkModel::default(),
            |i, c| {
                if i == 0 {
                    c.funnel.max_attempts = bound;
                }
            },
            move |i, host| {
                if i == 0 {
                    return host;
                }
                let t = t.clone();
                host.with_handler(Some(Box::new(move |_, _| {
                    t.lock().unwrap().push(i);
                    Executed::Done {
                        result: Bytes::from_static(b"SOMETHING ELSE ENTIRELY"),
                        tools: Vec::new(),
                    }
                })))
            },
        );
        let o = request(&mut w, 0, canary_task(&b"work"[..], &b"probe"[..]));
        assert!(o.result.is_err(), "{o:?}");
        assert_eq!(o.attempts.len(), bound, "{o:?}");
        assert!(
            o.attempts
                .iter()
                .all(|a| a.verdict == Verdict::CanaryFailed),
            "{o:?}"
        );
        assert_eq!(o.fallback_count(), bound - 1);
        // Only the providers attempted ever ran anything.
        let mut ran: Vec<usize> = tried.lock().unwrap().clone();
        ran.sort_unstable();
        ran.dedup();
        assert_eq!(ran.len(), bound, "{ran:?}");
    }
}
