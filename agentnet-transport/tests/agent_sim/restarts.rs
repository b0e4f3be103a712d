//! Restarts: agents restarted (or rebuilt as a leader) keep their identity, ledger, index,
//! observations and sessions.

use super::*;

#[test]
fn a_restarted_agent_keeps_its_identity_ledger_and_index() {
    let mut w = solo(8);
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"before")).tier(Tier::Reputation),
    );
    let provider = o.provider.expect("served");
    let topic = Topic::new(TOPIC).unwrap();
    let req = w.ids[0];
    let (me, chain) = {
        let h = w.sim.engine(req).unwrap();
        let me = h.agent().id();
        let chain = h.agent().registry().resolve(&me).unwrap().chain;
        (me, chain)
    };
    restart_requester(&mut w, 0, 8);
    let h = w.sim.engine(req).unwrap();
    assert_eq!(
        h.agent().registry().resolve(&me).unwrap().chain,
        chain,
        "same identity chain"
    );
    let t = h.agent().ledger().tally(&topic, &provider, now_of(&w).wall);
    assert!(t.is_some_and(|t| t.pos > 0.0), "ledger row survived: {t:?}");
    assert!(
        !h.agent()
            .discover(now_of(&w), "summarize my text", &Default::default(), 4)
            .is_empty(),
        "the index survived"
    );
    let o = request(
        &mut w,
        0,
        TaskRequest::new("summarize my text", Bytes::from_static(b"after")).tier(Tier::Reputation),
    );
    assert_eq!(o.result.as_deref(), Ok(&b"AFTER"[..]), "{o:?}");
}

#[test]
fn a_provider_restarting_mid_session_still_delivers_and_the_deposit_is_refunded() {
    let mut w = solo(9);
    let prov = w.ids[1];
    w.sim.engine_mut(prov).unwrap().exec_delay = Duration::from_secs(2);
    let store = w.sim.engine(prov).unwrap().store().clone();
    let s = seed(2, 9);
    w.sim.set_factory(move |_node, now, _incarnation| {
        let agent = Agent::new(Keypair::from_seed(s), config(s), now).unwrap();
        let (host, report) = SimHost::restored(agent, Some(upper()), store.clone(), now);
        assert_eq!(report.refused, 0, "{report:?}");
        host
    });
    let id = w
        .sim
        .command(w.ids[0], |h, now| {
            h.agent_mut().request(
                now,
                TaskRequest::new("summarize my text", Bytes::from_static(b"survive"))
                    .tier(Tier::Evidence),
            )
        })
        .unwrap()
        .unwrap();
    // Committed (deposit posted), delegated, executing: then the provider dies.
    w.sim.run_for(Duration::from_millis(600));
    let sessions = w.sim.engine(prov).unwrap().agent().sessions().len();
    assert_eq!(sessions, 1, "the provider holds the open session");
    w.sim.crash(prov).unwrap();
    w.sim.run_for(Duration::from_millis(500));
    w.sim.restart(prov).unwrap();
    w.sim.connect(w.ids[0], prov);
    let mut settled = None;
    let mut outcome = None;
    for _ in 0..300 {
        w.sim.run_for(Duration::from_millis(100));
        for (_, node, e) in w.sim.drain_events() {
            if node != w.ids[0] {
                continue;
            }
            match e {
                AgentEvent::Progress {
                    stage:
                        agentnet_transport::agent::Stage::Settled {
                            payment, refund, ..
                        },
                    ..
                } => settled = Some((payment, refund)),
                AgentEvent::Completed(o) if o.request == id => outcome = Some(*o),
                _ => {}
            }
        }
        if outcome.is_some() {
            break;
        }
    }
    let o = outcome.expect("the request ended");
    assert_eq!(o.result.as_deref(), Ok(&b"SURVIVE"[..]), "{o:?}");
    assert_eq!(o.attempts.len(), 1, "no fallback was needed: {o:?}");
    assert_eq!(
        settled,
        Some((10 * UNIT, 5 * UNIT)),
        "paid in full, deposit intact"
    );
}

#[test]
fn a_leader_turns_real_outcomes_into_scenarios_and_offers_its_loops_rules() {
    use agentnet_transport::agent::LeaderConfig;
    let mut w = lure_world(10);
    // Make the requester a leader: rebuild it with a loop, restoring its state.
    let req = w.ids[0];
    let store = w.sim.engine(req).unwrap().store().clone();
    let s = seed(1, 10);
    w.sim.set_factory(move |_node, now, _incarnation| {
        let mut c = config(s);
        let mut leader = LeaderConfig {
            outcomes_per_scenario: 3,
            ..LeaderConfig::default()
        };
        leader.loop_config.iteration_interval = Duration::from_millis(10);
        c.leader = Some(leader);
        let mut agent = Agent::new(Keypair::from_seed(s), c, now).unwrap();
        agent.set_interest(agentnet_gossip::InterestProfile::everything());
        SimHost::restored(agent, None, store.clone(), now).0
    });
    w.sim.crash(req).unwrap();
    w.sim.restart(req).unwrap();
    for &other in &w.ids[1..] {
        w.sim.connect(req, other);
    }
    w.sim.run_for(Duration::from_secs(2));
    let before = w.sim.engine(req).unwrap().agent().current_mechanism();
    for i in 0..4u8 {
        let o = request(
            &mut w,
            0,
            canary_task(Bytes::from(vec![b'a' + i; 16]), vec![b'k' + i; 8]),
        );
        assert!(o.result.is_ok(), "{o:?}");
    }
    w.sim.run_for(Duration::from_secs(3));
    let agent = w.sim.engine(req).unwrap().agent();
    let lp = agent.mechanism_loop().expect("a leader");
    assert!(!lp.suite().is_empty(), "outcomes became a scenario");
    assert!(
        lp.suite()[0].population.len() >= 2,
        "honest and shirking followers were observed"
    );
    assert!(!lp.history().is_empty(), "the loop ran");
    // What it offers now is the loop's incumbent (with the tier chosen per request).
    let now = agent.current_mechanism();
    let mut incumbent = lp.incumbent().clone();
    incumbent.leader = agent.id();
    incumbent.set(agentnet_mech::mechanism::Clause::Verification {
        tier: Tier::Reputation,
    });
    for c in &incumbent.clauses {
        if c.kind() != agentnet_mech::mechanism::ClauseKind::Deadlines {
            assert!(now.clauses.contains(c), "{c:?} offered");
        }
    }
    if lp.history().iter().any(|r| r.accepted) {
        assert_ne!(now, before, "an accepted revision changes what is offered");
    }
}

#[test]
fn a_restarted_requester_keeps_its_observations_and_demotions() {
    let mut w = lure_world(20);
    let liar = id_of(&w, 1);
    let honest = id_of(&w, 2);
    let o = request(&mut w, 0, canary_task(&b"one"[..], &b"c1"[..]));
    assert_eq!(o.attempts[0].verdict, Verdict::CanaryFailed, "{o:?}");
    assert_eq!(o.provider, Some(honest), "{o:?}");
    let req = w.ids[0];
    let before: Vec<_> = w
        .sim
        .engine(req)
        .unwrap()
        .agent()
        .observations()
        .iter()
        .map(|(p, c, o)| (*p, c.to_string(), *o))
        .collect();
    assert_eq!(
        before.len(),
        2,
        "the liar's failure and the honest delivery"
    );
    restart_requester(&mut w, 0, 20);
    let after: Vec<_> = w
        .sim
        .engine(req)
        .unwrap()
        .agent()
        .observations()
        .iter()
        .map(|(p, c, o)| (*p, c.to_string(), *o))
        .collect();
    assert_eq!(before, after);
    // The liar is still demoted, so the next request goes straight to the honest provider.
    let (ranked, o) = request_ranked(&mut w, 0, canary_task(&b"two"[..], &b"c2"[..]));
    let l = ranked.iter().find(|r| r.provider == liar).expect("listed");
    assert!(l.demoted, "{ranked:?}");
    assert_eq!(o.attempts.len(), 1, "{o:?}");
    assert_eq!(o.provider, Some(honest), "{o:?}");
}
