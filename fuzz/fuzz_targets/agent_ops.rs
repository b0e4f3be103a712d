//! A stateful run of three sans-IO agents (one requester, two providers; each behind a
//! `SimHost` that persists, executes and fails LLM calls) wired by fuzzer-chosen operations:
//! deliver the next frame of a link (as sent, bit-flipped, truncated or dropped), deliver an
//! arbitrary frame, take links down and up, advance time, announce, serve, request. Never a
//! panic; bounded state stays bounded (gossip headers, requests in flight, sessions).
#![no_main]

use std::collections::VecDeque;
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::{Engine, Instant, Keypair, LinkId, Now, WallTime};
use agentnet_gossip::InterestProfile;
use agentnet_transport::agent::sim::{Handler, SimHost};
use agentnet_transport::agent::{Agent, AgentConfig, Executed, ServePolicy, TaskRequest};
use bytes::Bytes;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const N: usize = 3;
const TOPIC: &str = "text/summary";
const CAPS: [&str; 2] = ["text.summarize", "text.shout"];
/// Frames kept in flight per directed link; older ones are lost, as on a congested link.
const IN_FLIGHT: usize = 256;

#[derive(Arbitrary, Debug)]
enum Op {
    /// Deliver the next frame from `from` to `to`, changed by `how`.
    Deliver {
        from: u8,
        to: u8,
        how: How,
    },
    /// Deliver everything in flight, unchanged.
    Flush,
    /// An arbitrary frame with a version byte on `to`'s link from `from`.
    Inject {
        from: u8,
        to: u8,
        kind: u16,
        body: Vec<u8>,
    },
    Down {
        a: u8,
        b: u8,
    },
    Up {
        a: u8,
        b: u8,
    },
    Advance(u16),
    AdvanceSecs(u8),
    Serve {
        who: u8,
        cap: u8,
        ttl_s: u16,
    },
    Unserve {
        who: u8,
        cap: u8,
    },
    Request {
        who: u8,
        intent: u8,
        input: Vec<u8>,
        value: u16,
    },
}

#[derive(Arbitrary, Debug)]
enum How {
    AsSent,
    Drop,
    Flip(u16, u8),
    Truncate(u16),
    Duplicate,
}

struct World {
    now: Now,
    hosts: Vec<SimHost>,
    /// in_flight[from][to]
    in_flight: Vec<Vec<VecDeque<Bytes>>>,
    up: [[bool; N]; N],
}

fn handler() -> Handler {
    Box::new(|_task, input| Executed::Done {
        result: Bytes::from(input.to_ascii_uppercase()),
        tools: Vec::new(),
    })
}

/// The link id agent `a` uses for its peer `b`.
fn link(b: usize) -> LinkId {
    LinkId(b as u64 + 1)
}

impl World {
    fn new() -> World {
        let now = Now::new(
            Instant::from_secs(1),
            WallTime::from_unix_millis(1_800_000_000_000),
        );
        let mut hosts = Vec::new();
        for i in 0..N {
            let mut cfg = AgentConfig::seeded([i as u8 + 40; 32]);
            cfg.gossip.max_headers = 64;
            cfg.gossip.max_authors_per_topic = 8;
            cfg.trust_interval = Duration::from_millis(500);
            let agent =
                Agent::new(Keypair::from_seed([i as u8 + 10; 32]), cfg, now).expect("agent");
            let h = if i == 0 { None } else { Some(handler()) };
            hosts.push(SimHost::new(agent, h));
        }
        hosts[0]
            .agent_mut()
            .set_interest(InterestProfile::everything());
        let _ = hosts[0]
            .agent_mut()
            .subscribe(now, Topic::new(TOPIC).unwrap());
        let mut w = World {
            now,
            hosts,
            in_flight: vec![vec![VecDeque::new(); N]; N],
            up: [[false; N]; N],
        };
        for a in 0..N {
            for b in (a + 1)..N {
                w.connect(a, b);
            }
        }
        w.collect();
        w
    }

    fn connect(&mut self, a: usize, b: usize) {
        if a == b || self.up[a][b] {
            return;
        }
        self.up[a][b] = true;
        self.up[b][a] = true;
        self.hosts[a].handle_link_up(self.now, link(b));
        self.hosts[b].handle_link_up(self.now, link(a));
    }

    fn disconnect(&mut self, a: usize, b: usize) {
        if a == b || !self.up[a][b] {
            return;
        }
        self.up[a][b] = false;
        self.up[b][a] = false;
        self.in_flight[a][b].clear();
        self.in_flight[b][a].clear();
        self.hosts[a].handle_link_down(self.now, link(b));
        self.hosts[b].handle_link_down(self.now, link(a));
    }

    /// Move every transmit into its link's queue and check the bounds.
    fn collect(&mut self) {
        for a in 0..N {
            while let Some(t) = self.hosts[a].poll_transmit() {
                let b = (t.link.0 as usize).wrapping_sub(1);
                if b < N && self.up[a][b] {
                    let q = &mut self.in_flight[a][b];
                    q.push_back(t.payload);
                    if q.len() > IN_FLIGHT {
                        q.pop_front();
                    }
                }
            }
            while self.hosts[a].poll_event().is_some() {}
            let agent = self.hosts[a].agent();
            let cfg = agent.config();
            assert!(agent.gossip().header_count() <= cfg.gossip.max_headers);
            assert!(agent.gossip().pending_body_count() <= cfg.gossip.max_pending_bodies);
            assert!(agent.running_request_count() <= cfg.funnel.max_requests);
            assert!(
                agent.sessions().len() <= cfg.sessions.max_sessions,
                "{} sessions",
                agent.sessions().len()
            );
        }
    }

    fn deliver(&mut self, from: usize, to: usize, frame: Bytes) {
        let _ = self.hosts[to].handle_message(self.now, link(from), frame);
        self.collect();
    }

    fn advance(&mut self, d: Duration) {
        let end = self.now.mono + d;
        for _ in 0..200 {
            let next = self.hosts.iter().filter_map(|h| h.poll_timeout()).min();
            match next {
                Some(t) if t < end => {
                    if t > self.now.mono {
                        self.now = self.now.advance(t - self.now.mono);
                    }
                    for h in &mut self.hosts {
                        h.handle_timeout(self.now);
                    }
                    self.collect();
                    if t <= self.now.mono
                        && self.hosts.iter().filter_map(|h| h.poll_timeout()).min() == Some(t)
                    {
                        // Nobody moved its deadline: step forward instead of spinning.
                        self.now = self.now.advance(Duration::from_millis(1));
                    }
                }
                _ => break,
            }
        }
        if end > self.now.mono {
            self.now = self.now.advance(end - self.now.mono);
        }
        for h in &mut self.hosts {
            h.handle_timeout(self.now);
        }
        self.collect();
    }

    fn run(&mut self, op: Op) {
        let who = |x: u8| usize::from(x) % N;
        match op {
            Op::Deliver { from, to, how } => {
                let (a, b) = (who(from), who(to));
                let Some(f) = self.in_flight[a][b].pop_front() else {
                    return;
                };
                match how {
                    How::AsSent => self.deliver(a, b, f),
                    How::Drop => {}
                    How::Flip(at, x) => {
                        let mut v = f.to_vec();
                        if !v.is_empty() {
                            let i = usize::from(at) % v.len();
                            v[i] ^= x | 1;
                        }
                        self.deliver(a, b, Bytes::from(v));
                    }
                    How::Truncate(n) => {
                        let n = usize::from(n) % (f.len() + 1);
                        self.deliver(a, b, f.slice(..n));
                    }
                    How::Duplicate => {
                        self.deliver(a, b, f.clone());
                        self.deliver(a, b, f);
                    }
                }
            }
            Op::Flush => {
                for _ in 0..8 {
                    let mut any = false;
                    for a in 0..N {
                        for b in 0..N {
                            while let Some(f) = self.in_flight[a][b].pop_front() {
                                any = true;
                                self.deliver(a, b, f);
                            }
                        }
                    }
                    if !any {
                        break;
                    }
                }
            }
            Op::Inject {
                from,
                to,
                kind,
                body,
            } => {
                let (a, b) = (who(from), who(to));
                if a != b && self.up[a][b] {
                    let mut f = vec![1u8];
                    f.extend_from_slice(&kind.to_be_bytes());
                    f.extend_from_slice(&body);
                    self.deliver(a, b, Bytes::from(f));
                }
            }
            Op::Down { a, b } => self.disconnect(who(a), who(b)),
            Op::Up { a, b } => {
                self.connect(who(a), who(b));
                self.collect();
            }
            Op::Advance(ms) => self.advance(Duration::from_millis(u64::from(ms))),
            Op::AdvanceSecs(s) => self.advance(Duration::from_secs(u64::from(s % 120))),
            Op::Serve { who: w, cap, ttl_s } => {
                let i = who(w);
                let agent = self.hosts[i].agent_mut();
                let d = CapabilityDescriptor::builder(
                    agent.id(),
                    CAPS[usize::from(cap) % CAPS.len()],
                    TOPIC,
                    "summarize or shout text",
                )
                .ttl(Duration::from_secs(u64::from(ttl_s % 1200)))
                .build(self.now);
                if let Ok(d) = d {
                    let _ = agent.serve(self.now, d, ServePolicy::default());
                }
                self.collect();
            }
            Op::Unserve { who: w, cap } => {
                self.hosts[who(w)]
                    .agent_mut()
                    .unserve(CAPS[usize::from(cap) % CAPS.len()]);
            }
            Op::Request {
                who: w,
                intent,
                mut input,
                value,
            } => {
                input.truncate(256);
                let intents = ["summarize my text", "shout my text", ""];
                let mut task =
                    TaskRequest::new(intents[usize::from(intent) % intents.len()], input);
                task = task.value_at_risk(u64::from(value));
                let now = self.now;
                let _ = self.hosts[who(w)].agent_mut().request(now, task);
                self.collect();
            }
        }
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut w = World::new();
    for op in ops.into_iter().take(128) {
        w.run(op);
    }
});
