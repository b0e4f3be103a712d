//! Unit tests of the simulator kernel with a scriptable probe engine.

use core::time::Duration;
use std::collections::VecDeque;

use bytes::Bytes;

use super::*;
use crate::engine::{Engine, Transmit};
use crate::time::{Instant, Now};

/// Records every input as an event; sends what it is told to; optional periodic timer.
#[derive(Debug, Default)]
struct Probe {
    out: VecDeque<Transmit>,
    events: VecDeque<String>,
    deadline: Option<Instant>,
    period: Option<Duration>,
    incarnation: u32,
}

impl Probe {
    fn periodic(now: Now, period: Duration) -> Self {
        Probe {
            deadline: Some(now.mono + period),
            period: Some(period),
            ..Self::default()
        }
    }

    fn send(&mut self, to: NodeId, payload: &'static [u8]) {
        self.out.push_back(Transmit {
            link: to.link(),
            payload: Bytes::from_static(payload),
        });
    }
}

impl Engine for Probe {
    type Event = String;
    type Error = String;

    fn handle_message(&mut self, _now: Now, from: LinkId, payload: Bytes) -> Result<(), String> {
        if payload.starts_with(b"bad") {
            return Err(format!("bad frame from {from}"));
        }
        self.events.push_back(format!(
            "msg {} {}",
            from.0,
            String::from_utf8_lossy(&payload)
        ));
        Ok(())
    }

    fn handle_timeout(&mut self, now: Now) {
        if self.deadline.is_some_and(|d| now.mono >= d) {
            self.events
                .push_back(format!("timeout {}", now.mono.as_micros()));
            self.deadline = self.period.map(|p| now.mono + p);
        }
    }

    fn handle_link_up(&mut self, _now: Now, link: LinkId) {
        self.events.push_back(format!("up {}", link.0));
    }

    fn handle_link_down(&mut self, _now: Now, link: LinkId) {
        self.events.push_back(format!("down {}", link.0));
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_event(&mut self) -> Option<String> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
}

fn config() -> SimConfig {
    SimConfig {
        link: LinkModel::constant(Duration::from_millis(10)),
        ..SimConfig::seeded(1)
    }
}

fn texts(sim: &mut Sim<Probe>) -> Vec<(u64, u32, String)> {
    sim.drain_events()
        .into_iter()
        .map(|(now, n, e)| (now.mono.as_micros(), n.0, e))
        .collect()
}

fn pair() -> (Sim<Probe>, NodeId, NodeId) {
    let mut sim = Sim::new(config());
    let a = sim.add_node(Probe::default());
    let b = sim.add_node(Probe::default());
    assert!(sim.connect(a, b));
    sim.drain_events();
    (sim, a, b)
}

#[test]
fn link_ids_name_the_peer_and_delivery_takes_the_latency() {
    let mut sim = Sim::new(config());
    let a = sim.add_node(Probe::default());
    let b = sim.add_node(Probe::default());
    assert!(sim.connect(a, b));
    assert!(!sim.connect(b, a), "already connected");
    assert!(!sim.connect(a, a), "no self links");
    assert_eq!(
        texts(&mut sim),
        vec![(0, 0, "up 1".into()), (0, 1, "up 0".into())]
    );
    sim.command(a, |e, _| e.send(b, b"hi"));
    assert!(sim.run_until_idle(100));
    assert_eq!(texts(&mut sim), vec![(10_000, 1, "msg 0 hi".into())]);
    assert_eq!(sim.now().mono, Instant::from_millis(10));
    let m = sim.metrics();
    assert_eq!(
        (m.total.sent, m.total.delivered, m.total.bytes_delivered),
        (1, 1, 2)
    );
    assert_eq!(m.total.latency.max(), Some(10_000));
    assert_eq!(
        sim.now().wall.as_unix_millis(),
        config().start.wall.as_unix_millis() + 10
    );
}

#[test]
fn sends_without_a_link_are_dropped() {
    let (mut sim, a, _b) = pair();
    let c = sim.add_node(Probe::default());
    sim.command(a, |e, _| {
        e.send(c, b"x");
        e.send(NodeId(99), b"y");
        e.out.push_back(Transmit {
            link: LinkId(u64::MAX),
            payload: Bytes::new(),
        });
    });
    assert_eq!(sim.metrics().total.dropped_no_link, 3);
    assert_eq!(sim.metrics().total.sent, 3);
    assert!(sim.run_until_idle(10));
    assert!(texts(&mut sim).is_empty());
}

#[test]
fn timers_fire_once_per_deadline_and_stale_entries_are_ignored() {
    let mut sim = Sim::new(config());
    let a = sim.add_node(Probe::periodic(sim.now(), Duration::from_millis(100)));
    sim.run_until(Instant::from_millis(350));
    let fired: Vec<u64> = texts(&mut sim).into_iter().map(|(t, _, _)| t).collect();
    assert_eq!(fired, vec![100_000, 200_000, 300_000]);
    assert_eq!(sim.metrics().timers_fired, 3);
    // Move the deadline earlier, then later, then cancel: only live entries fire.
    sim.command(a, |e, now| {
        e.period = None;
        e.deadline = Some(now.mono + Duration::from_millis(10));
    });
    sim.command(a, |e, now| {
        e.deadline = Some(now.mono + Duration::from_millis(20))
    });
    sim.run_until(Instant::from_millis(365));
    assert!(texts(&mut sim).is_empty());
    assert!(sim.run_until_idle(100));
    assert_eq!(texts(&mut sim), vec![(370_000, 0, "timeout 370000".into())]);
    sim.command(a, |e, now| {
        e.deadline = Some(now.mono + Duration::from_millis(10))
    });
    sim.command(a, |e, _| e.deadline = None);
    assert!(sim.run_until_idle(100));
    assert!(texts(&mut sim).is_empty());
    assert_eq!(sim.metrics().timers_fired, 4);
}

#[test]
fn past_deadlines_fire_at_once_and_never_deadlines_never() {
    let mut sim = Sim::new(config());
    sim.run_until(Instant::from_secs(1));
    let a = sim.add_node(Probe {
        deadline: Some(Instant::ZERO),
        ..Probe::default()
    });
    let b = sim.add_node(Probe {
        deadline: Some(Instant::MAX),
        ..Probe::default()
    });
    assert!(sim.run_until_idle(10));
    assert_eq!(
        texts(&mut sim),
        vec![(1_000_000, a.0, "timeout 1000000".into())]
    );
    assert_eq!(sim.engine(b).unwrap().deadline, Some(Instant::MAX));
}

#[test]
fn partitions_drop_at_send_and_in_flight_and_heal() {
    let (mut sim, a, b) = pair();
    sim.partition(&[&[a], &[b]]);
    assert!(sim.is_partitioned());
    sim.command(a, |e, _| e.send(b, b"1"));
    assert_eq!(sim.metrics().total.dropped_partition, 1);
    sim.heal();
    sim.command(a, |e, _| e.send(b, b"2"));
    sim.run_for(Duration::from_millis(5));
    sim.partition(&[&[a]]); // b falls into the implicit rest group
    sim.run_for(Duration::from_millis(10));
    assert_eq!(sim.metrics().total.dropped_partition, 2);
    sim.heal();
    sim.command(b, |e, _| e.send(a, b"3"));
    sim.run_until_idle(10);
    assert_eq!(texts(&mut sim), vec![(25_000, 0, "msg 1 3".into())]);
    let m = &sim.metrics().total;
    assert_eq!(m.sent + m.duplicated, m.delivered + m.dropped());
}

#[test]
fn disconnect_drops_in_flight_frames_and_tells_both_ends() {
    let (mut sim, a, b) = pair();
    sim.command(a, |e, _| e.send(b, b"x"));
    sim.run_for(Duration::from_millis(1));
    assert!(sim.disconnect(a, b));
    assert!(!sim.disconnect(a, b));
    // Reconnecting does not revive the old frame.
    assert!(sim.connect(a, b));
    sim.run_until_idle(10);
    let ev = texts(&mut sim);
    assert_eq!(
        ev.iter()
            .map(|(_, n, e)| format!("{n}:{e}"))
            .collect::<Vec<_>>(),
        vec!["0:down 1", "1:down 0", "0:up 1", "1:up 0"]
    );
    assert_eq!(sim.metrics().total.dropped_no_link, 1);
}

fn factory_sim() -> Sim<Probe> {
    Sim::with_factory(config(), |_id: NodeId, _now: Now, incarnation: u32| Probe {
        incarnation,
        ..Probe::default()
    })
}

#[test]
fn crash_drops_inflight_cancels_timers_and_restart_uses_the_factory() {
    let mut sim = factory_sim();
    let a = sim.spawn().unwrap();
    let b = sim.spawn().unwrap();
    let c = sim.spawn().unwrap();
    sim.connect(a, b);
    sim.connect(b, c);
    sim.command(b, |e, now| {
        e.deadline = Some(now.mono + Duration::from_millis(50))
    });
    sim.command(a, |e, _| e.send(b, b"to-b"));
    sim.command(b, |e, _| e.send(c, b"from-b"));
    sim.drain_events();
    sim.run_for(Duration::from_millis(5));
    sim.crash(b).unwrap();
    assert_eq!(sim.crash(b), Err(SimError::NodeDown(b)));
    assert!(!sim.is_up(b) && sim.engine(b).is_none());
    assert!(sim.command(b, |_, _| ()).is_none());
    // Both in-flight frames (to and from b) die; the peers see the link go down.
    sim.command(a, |e, _| e.send(b, b"late"));
    sim.run_for(Duration::from_millis(100));
    assert_eq!(
        texts(&mut sim)
            .into_iter()
            .map(|(_, n, e)| format!("{n}:{e}"))
            .collect::<Vec<_>>(),
        vec!["0:down 1", "2:down 1"]
    );
    assert_eq!(sim.metrics().total.dropped_node_down, 3);
    assert_eq!(sim.metrics().timers_fired, 0);

    sim.restart(b).unwrap();
    assert_eq!(sim.restart(b), Err(SimError::NodeUp(b)));
    assert_eq!(sim.incarnation(b), Some(1));
    assert_eq!(sim.engine(b).unwrap().incarnation, 1);
    assert_eq!(
        texts(&mut sim)
            .into_iter()
            .map(|(_, n, e)| format!("{n}:{e}"))
            .collect::<Vec<_>>(),
        vec!["1:up 0", "0:up 1", "1:up 2", "2:up 1"]
    );
    sim.command(a, |e, _| e.send(b, b"again"));
    sim.run_until_idle(10);
    assert_eq!(texts(&mut sim)[0].2, "msg 0 again");
    assert_eq!((sim.metrics().crashes, sim.metrics().restarts), (1, 1));
}

#[test]
fn restart_without_factory_fails() {
    let (mut sim, a, _) = pair();
    sim.crash(a).unwrap();
    assert_eq!(sim.restart(a), Err(SimError::NoFactory));
    assert_eq!(sim.spawn(), Err(SimError::NoFactory));
    assert_eq!(sim.crash(NodeId(7)), Err(SimError::UnknownNode(NodeId(7))));
    let cfg = ChurnConfig {
        fraction: 0.5,
        mean_up: Duration::from_secs(1),
        mean_down: Duration::from_secs(1),
    };
    assert_eq!(sim.start_churn(cfg), Err(SimError::NoFactory));
}

#[test]
fn out_of_range_churn_is_refused_by_name() {
    let mut sim = factory_sim();
    sim.spawn().unwrap();
    let cfg = ChurnConfig {
        fraction: 1.5,
        mean_up: Duration::from_secs(1),
        mean_down: Duration::from_secs(1),
    };
    match sim.start_churn(cfg) {
        Err(SimError::Config(e)) => assert_eq!(e.field, "fraction"),
        other => panic!("expected a config error, got {other:?}"),
    }
    let cfg = ChurnConfig {
        fraction: 0.5,
        mean_up: Duration::ZERO,
        mean_down: Duration::from_secs(1),
    };
    assert_eq!(cfg.validate().unwrap_err().field, "mean_up");
}

#[test]
fn scheduled_faults_apply_at_their_time() {
    let mut sim = factory_sim();
    let a = sim.spawn().unwrap();
    let b = sim.spawn().unwrap();
    sim.schedule(Instant::from_millis(10), Fault::Connect(a, b));
    sim.schedule(
        Instant::from_millis(20),
        Fault::Partition(vec![vec![a], vec![b]]),
    );
    sim.schedule(Instant::from_millis(30), Fault::Heal);
    sim.schedule(Instant::from_millis(40), Fault::Crash(b));
    sim.schedule(Instant::from_millis(50), Fault::Restart(b));
    sim.schedule(Instant::from_millis(60), Fault::Crash(NodeId(9)));
    sim.schedule(
        Instant::from_millis(70),
        Fault::SetLinkModel(a, b, LinkModel::constant(Duration::from_millis(1))),
    );
    sim.schedule(Instant::from_millis(80), Fault::Disconnect(a, b));
    sim.run_until(Instant::from_millis(15));
    assert!(sim.is_connected(a, b));
    sim.run_until(Instant::from_millis(25));
    assert!(sim.is_partitioned());
    sim.run_until(Instant::from_millis(45));
    assert!(!sim.is_partitioned() && !sim.is_up(b));
    sim.run_until(Instant::from_millis(75));
    assert!(sim.is_up(b));
    sim.command(a, |e, _| e.send(b, b"fast"));
    sim.run_until(Instant::from_millis(76));
    assert!(
        texts(&mut sim)
            .iter()
            .any(|(t, _, e)| *t == 76_000 && e == "msg 0 fast")
    );
    sim.run_until_idle(100);
    assert!(!sim.is_connected(a, b));
    assert_eq!(
        (sim.metrics().faults_applied, sim.metrics().faults_failed),
        (7, 1)
    );
}

#[test]
fn churn_toggles_nodes_and_stop_restores_them() {
    let mut sim = factory_sim();
    let ids: Vec<NodeId> = (0..20).map(|_| sim.spawn().unwrap()).collect();
    for w in ids.windows(2) {
        sim.connect(w[0], w[1]);
    }
    let n = sim
        .start_churn(ChurnConfig {
            fraction: 0.25,
            mean_up: Duration::from_millis(200),
            mean_down: Duration::from_millis(100),
        })
        .unwrap();
    assert_eq!(n, 5);
    let mut min_up = usize::MAX;
    for _ in 0..50 {
        sim.run_for(Duration::from_millis(20));
        min_up = min_up.min(ids.iter().filter(|&&id| sim.is_up(id)).count());
    }
    assert!((15..20).contains(&min_up), "{min_up}");
    let m = sim.metrics();
    assert!(
        m.crashes >= 5 && m.restarts >= 3,
        "{} {}",
        m.crashes,
        m.restarts
    );
    sim.stop_churn();
    assert!(ids.iter().all(|&id| sim.is_up(id)));
    let crashes = sim.metrics().crashes;
    sim.run_for(Duration::from_secs(5));
    assert_eq!(sim.metrics().crashes, crashes);
}

#[test]
fn handle_errors_are_counted_and_kept() {
    let (mut sim, a, b) = pair();
    sim.command(a, |e, _| {
        e.send(b, b"bad1");
        e.send(b, b"bad2");
    });
    sim.run_until_idle(10);
    assert_eq!(sim.error_count(b), 2);
    assert_eq!(sim.error_count(a), 0);
    assert_eq!(sim.metrics().handle_errors, 2);
    let errs = sim.drain_errors();
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].2, "bad frame from link#0");
}

#[test]
fn event_record_is_bounded() {
    let mut sim = Sim::new(SimConfig {
        max_events: 2,
        ..config()
    });
    sim.add_node(Probe::periodic(sim.now(), Duration::from_millis(1)));
    sim.run_for(Duration::from_millis(5));
    assert_eq!(sim.events().len(), 2);
    assert_eq!(sim.metrics().events_recorded, 2);
    assert_eq!(sim.metrics().events_dropped, 3);
}

fn lossy_run(seed: u64) -> (crate::hash::Hash, Metrics) {
    let mut sim = Sim::new(SimConfig {
        link: LinkModel::uniform(Duration::from_millis(1), Duration::from_millis(9))
            .with_loss(0.2)
            .with_duplicate(0.1),
        ..SimConfig::seeded(seed)
    });
    let ids: Vec<NodeId> = (0..4)
        .map(|_| sim.add_node(Probe::periodic(sim.now(), Duration::from_millis(7))))
        .collect();
    for &x in &ids {
        for &y in &ids {
            if x < y {
                sim.connect(x, y);
            }
        }
    }
    for round in 0..50u64 {
        for &x in &ids {
            let to = ids[((x.0 as u64 + round) % 3 + 1 + x.0 as u64) as usize % 4];
            sim.command(x, |e, _| e.send(to, b"ping"));
        }
        sim.run_for(Duration::from_millis(3));
    }
    sim.run_for(Duration::from_secs(1));
    (sim.trace_hash(), sim.metrics().clone())
}

#[test]
fn same_seed_same_trace_other_seed_other_trace() {
    let (h1, m1) = lossy_run(5);
    let (h2, m2) = lossy_run(5);
    let (h3, m3) = lossy_run(6);
    assert_eq!(h1, h2);
    assert_eq!(m1, m2);
    assert_ne!(h1, h3);
    assert_ne!(m1, m3);
    assert!(m1.total.dropped_loss > 0 && m1.total.duplicated > 0);
    assert_eq!(
        m1.total.sent + m1.total.duplicated,
        m1.total.delivered + m1.total.dropped()
    );
}

#[test]
fn trace_can_be_turned_off() {
    let mut sim: Sim<Probe> = Sim::new(SimConfig {
        trace: false,
        ..config()
    });
    let empty = sim.trace_hash();
    sim.add_node(Probe::periodic(sim.now(), Duration::from_millis(1)));
    sim.run_for(Duration::from_millis(5));
    assert_eq!(sim.trace_hash(), empty);
}

#[test]
fn per_pair_overrides_apply() {
    let mut sim = Sim::new(SimConfig {
        link_overrides: vec![(
            NodeId(1),
            NodeId(0),
            LinkModel::constant(Duration::from_millis(3)),
        )],
        ..config()
    });
    let a = sim.add_node(Probe::default());
    let b = sim.add_node(Probe::default());
    let c = sim.add_node(Probe::default());
    sim.connect(a, b);
    sim.connect_with(a, c, LinkModel::constant(Duration::from_millis(7)));
    sim.drain_events();
    sim.command(a, |e, _| {
        e.send(b, b"b");
        e.send(c, b"c");
    });
    sim.run_until_idle(10);
    let t: Vec<u64> = texts(&mut sim).into_iter().map(|(t, _, _)| t).collect();
    assert_eq!(t, vec![3_000, 7_000]);
    assert_eq!(sim.neighbors(a).collect::<Vec<_>>(), vec![b, c]);
}
