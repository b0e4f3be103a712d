//! What an agent relays and keeps: proofs against free identities and future-dated trust reports
//! are refused, and what the gossip plane or identity registry evicts leaves the store too.

use super::*;

/// A proof against an identity of one's own, freshly minted for the purpose.
fn self_conviction(seed: u8, wall: agentnet_core::WallTime) -> (AgentId, Bytes) {
    use agentnet_gossip::{EntryKind, LogHeader};
    let kp = Keypair::from_seed([seed; 32]);
    let header = |body: &[u8]| {
        Signed::sign(
            &kp,
            LogHeader {
                author: kp.id(),
                topic: Topic::new(TOPIC).unwrap(),
                seq: 1,
                prev: None,
                kind: EntryKind::DESCRIPTOR,
                body_hash: agentnet_core::Hash::digest("agentnet/test/body", body),
                body_len: body.len() as u32,
                issued_at: wall,
                ttl_ms: 60_000,
                sketch: None,
            },
        )
        .unwrap()
    };
    let proof =
        agentnet_trust::fraud::FraudProof::equivocation(&header(b"one"), &header(b"two")).unwrap();
    (kp.id(), proof.to_frame())
}

#[test]
fn proofs_against_free_identities_are_not_relayed_or_stored() {
    let mut w = world(
        21,
        &[
            (Kind::Requester, ""),
            (Kind::Requester, ""),
            (Kind::Honest, SUMMARY),
        ],
        LinkModel::default(),
    );
    let b = w.ids[1];
    let from_a = link_to(&w, 1, 0);
    // A hands B a hundred proofs, each against a key nobody here ever dealt with.
    let mut strangers = Vec::new();
    for i in 0..100u8 {
        let (id, frame) = self_conviction(100 + i, w.sim.now().wall);
        strangers.push(id);
        let now = w.sim.now();
        use agentnet_core::Engine;
        w.sim
            .engine_mut(b)
            .unwrap()
            .handle_message(now, from_a, frame)
            .expect("a valid proof");
        w.sim.flush(b);
    }
    w.sim.run_for(Duration::from_secs(2));
    let hb = w.sim.engine(b).unwrap();
    // B believes them (its next choice of provider would skip them)...
    assert!(strangers.iter().all(|s| hb.agent().is_convicted(s)));
    // ...but keeps nothing on disk and passes nothing on.
    let stored = hb
        .store()
        .lock()
        .unwrap()
        .keys()
        .filter(|(t, _)| t == agentnet_transport::agent::tables::FRAUD_PROOF)
        .count();
    assert_eq!(stored, 0);
    let other = w.sim.engine(w.ids[2]).unwrap().agent();
    assert!(strangers.iter().all(|s| !other.is_convicted(s)));
}

#[test]
fn a_trust_report_dated_in_the_future_is_refused() {
    use agentnet_core::Engine;
    use agentnet_trust::report::{ReportEntry, TrustReport};
    let mut w = solo(22);
    // The requester works in the topic once it has requested there.
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"x")).tier(Tier::Reputation),
    );
    let provider = o.provider.expect("served");
    let req = w.ids[0];
    let link = link_to(&w, 0, 1);
    let kp = Keypair::from_seed([77; 32]);
    let report = |ahead: Duration| {
        Signed::sign(
            &kp,
            TrustReport {
                reporter: kp.id(),
                topic: Topic::new(TOPIC).unwrap(),
                seq: 1,
                at: w.sim.now().wall + ahead,
                base: None,
                entries: vec![ReportEntry::new(provider, 5.0, 0.0)],
            },
        )
        .unwrap()
        .to_frame()
    };
    let (late, fine) = (report(Duration::from_secs(3600)), report(Duration::ZERO));
    let now = w.sim.now();
    let host = w.sim.engine_mut(req).unwrap();
    let r = host.handle_message(now, link, late);
    assert!(
        matches!(r, Err(agentnet_transport::agent::AgentError::Report(_))),
        "{r:?}"
    );
    // The same reporter's honest report still applies (nothing was locked in).
    host.handle_message(now, link, fine)
        .expect("a current report");
}

/// Drain `agent`, apply every `Persist` to `store` (the keys of `table` held: puts minus
/// deletes) and acknowledge it.
fn apply_persists(
    agent: &mut Agent,
    now: Now,
    table: &str,
    store: &mut std::collections::BTreeSet<Bytes>,
) {
    use agentnet_core::Engine;
    use agentnet_core::effect::Effect;
    while agent.poll_transmit().is_some() || agent.poll_event().is_some() {}
    while let Some(e) = agent.poll_effect() {
        if let Effect::Persist { id, records } = e {
            for r in records.iter().filter(|r| r.table == table) {
                if r.value.is_some() {
                    store.insert(r.key.clone());
                } else {
                    store.remove(&r.key);
                }
            }
            agent.handle_persisted(now, id).unwrap();
        }
    }
}

#[test]
fn what_the_gossip_plane_evicts_leaves_the_store_too() {
    use agentnet_core::{Engine, LinkId};
    use agentnet_gossip::header::{EntryKind, LogHeader};
    use agentnet_transport::agent::tables;
    // A node whose topic holds 4 authors, flooded by 40 free identities over 8 links (so
    // they evict each other): the records the store would hold after applying every Persist
    // (puts minus deletes) never exceed what the gossip engine holds.
    let t0 = Now::new(
        agentnet_core::Instant::from_secs(1),
        agentnet_core::WallTime::from_unix_millis(1_800_000_000_000),
    );
    let mut c = config(seed(1, 90));
    c.gossip.max_authors_per_topic = 4;
    let mut agent = Agent::new(Keypair::from_seed(seed(1, 90)), c, t0).unwrap();
    let topic = Topic::new(TOPIC).unwrap();
    agent.subscribe(t0, topic.clone()).unwrap();
    for l in 1..=8 {
        agent.handle_link_up(t0, LinkId(l));
    }
    let mut store = std::collections::BTreeSet::new();
    let apply = |agent: &mut Agent, store: &mut std::collections::BTreeSet<Bytes>| {
        apply_persists(agent, t0, tables::GOSSIP_HEADER, store)
    };
    apply(&mut agent, &mut store);
    for n in 0..40u8 {
        let kp = Keypair::from_seed([n.wrapping_add(100); 32]);
        let h = LogHeader {
            author: kp.id(),
            topic: topic.clone(),
            seq: 1,
            prev: None,
            kind: EntryKind::DESCRIPTOR,
            body_hash: agentnet_gossip::wire::body_hash(b"sybil"),
            body_len: 5,
            issued_at: t0.wall,
            ttl_ms: 600_000,
            sketch: None,
        };
        let frame = Signed::sign(&kp, h).unwrap().to_frame();
        let _ = agent.handle_message(t0, LinkId(1 + u64::from(n % 8)), frame);
        apply(&mut agent, &mut store);
        let held = agent.gossip().header_count();
        assert!(store.len() <= held, "store {} > engine {held}", store.len());
    }
    assert!(
        agent.gossip().stats().evicted_unproven > 0,
        "the flood evicted"
    );
    assert_eq!(store.len(), agent.gossip().header_count());
}

#[test]
fn free_identity_chains_do_not_lock_a_full_registry_and_leave_the_store_with_it() {
    use agentnet_core::{Engine, LinkId};
    use agentnet_transport::agent::tables;
    use agentnet_trust::baid::{BaidInputs, BindingEntry, PrincipalCommitment};
    // A registry of 6 chains (the agent's own among them), flooded with geneses of free keys
    // from one link: an honest provider's genesis from another link still gets in and stays
    // while the flood goes on, and the store holds exactly the chains the registry holds.
    let t0 = Now::new(
        agentnet_core::Instant::from_secs(1),
        agentnet_core::WallTime::from_unix_millis(1_800_000_000_000),
    );
    let mut c = config(seed(1, 91));
    c.registry.max_chains = 6;
    let mut agent = Agent::new(Keypair::from_seed(seed(1, 91)), c, t0).unwrap();
    agent.handle_link_up(t0, LinkId(1));
    agent.handle_link_up(t0, LinkId(2));
    let mut store = std::collections::BTreeSet::new();
    let apply = |agent: &mut Agent, store: &mut std::collections::BTreeSet<Bytes>| {
        apply_persists(agent, t0, tables::IDENTITY_ENTRY, store)
    };
    apply(&mut agent, &mut store);
    let genesis = |n: u8| {
        let k = Keypair::from_seed([n; 32]);
        let inputs = BaidInputs {
            code_hash: agentnet_core::Hash([1; 32]),
            config_digest: agentnet_core::Hash([2; 32]),
            principal: PrincipalCommitment::new(b"p", &[n; 32]),
            salt: [n; 32],
        };
        let e = BindingEntry::genesis(&k, k.x25519().public(), inputs, t0.wall).unwrap();
        (k.id(), e.to_frame())
    };
    let me = agent.id();
    for n in 100..110 {
        agent.handle_message(t0, LinkId(1), genesis(n).1).unwrap();
        apply(&mut agent, &mut store);
    }
    let (honest, frame) = genesis(7);
    agent.handle_message(t0, LinkId(2), frame).unwrap();
    apply(&mut agent, &mut store);
    for n in 110..150 {
        agent.handle_message(t0, LinkId(1), genesis(n).1).unwrap();
        apply(&mut agent, &mut store);
        assert!(agent.registry().resolve(&honest).is_some(), "after {n}");
        assert!(
            agent.registry().resolve(&me).is_some(),
            "its own chain stays"
        );
        assert_eq!(agent.registry().chain_count(), 6);
        assert_eq!(store.len(), 6, "the store holds what the registry holds");
    }
}
