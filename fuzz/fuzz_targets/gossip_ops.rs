//! A stateful, structured run of one `GossipEngine` with small caps: arbitrary sequences of
//! operations across four adversarial links over time. Headers and descriptors are built
//! through the public API and signed with fixed keys (`Keypair::from_seed([k; 32])`, k in
//! 1..=8), so they get past the signature check into the log, the caps, the body pull and
//! discovery. Link 0 carries only an honest author (key 0) that publishes well-formed
//! consecutive entries within the rate limit and answers the engine's body requests and pulls.
//!
//! After every operation: no panic; the header, author, per-author, pending-body, body-cache,
//! duplicate-memory, index and queue caps hold; `handle_timeout` at the deadline moves the
//! deadline past `now` (no busy loop); and each honest header that arrives is stored and its
//! descriptor reaches discovery — unless the engine dropped it because its tables were full
//! (`GossipStats::dropped_full` grew during the delivery): a topic's author table or the
//! global header table filled by Sybil authors is a known limitation, counted in that
//! statistic, and is the only excuse.
#![no_main]

use std::collections::BTreeMap;
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::semantic::HashedNgramEncoder;
use agentnet_core::signed::Signed;
use agentnet_core::{AgentId, Engine, Hash, Instant, Keypair, LinkId, Now, WallTime};
use agentnet_gossip::discover::IndexLimits;
use agentnet_gossip::wire::{self as gw, Message, ShortId};
use agentnet_gossip::{EntryKind, Event, GossipConfig, GossipEngine, InterestProfile, LogHeader};
use bytes::Bytes;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

/// Topics the fuzzer picks from; the engine subscribes to the first two.
const TOPICS: [&str; 3] = ["fuzz/a", "fuzz/b", "other/c"];
const CAPS: [&str; 3] = ["cap.one", "cap.two", "cap.three"];
/// Seqs the fuzzer uses stay below this (plus the occasional huge one), so logs are countable.
const SEQ_SPAN: u64 = 24;
const HONEST_LINK: LinkId = LinkId(0);
const HONEST_TTL: Duration = Duration::from_secs(60);

#[derive(Arbitrary, Debug)]
enum BodyChoice {
    /// A valid signed descriptor by the header's author for capability `cap`.
    Descriptor { cap: u8, ttl_s: u16 },
    /// Arbitrary bytes.
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// A header by Sybil author `author`, delivered on `link`.
    Header {
        author: u8,
        topic: u8,
        seq: u8,
        huge_seq: bool,
        prev_right: bool,
        kind: u8,
        ttl_s: u16,
        issued_offset_s: i16,
        body_len_delta: i8,
        body: BodyChoice,
        link: u8,
    },
    /// The honest author publishes its next entry on link 0.
    Honest,
    LinkUp(u8),
    LinkDown(u8),
    Advance(u16),
    AdvanceSecs(u8),
    Timeout,
    /// A `Body` answering one of the bodies built so far (or a random hash).
    Body {
        link: u8,
        which: u8,
        mutate: Option<(u16, u8)>,
    },
    BodyRequest {
        link: u8,
        which: u8,
        hops: u8,
    },
    BodyMissing {
        link: u8,
        which: u8,
    },
    Pull {
        link: u8,
        topic: u8,
        author: u8,
        from: u16,
        to: u16,
    },
    Digest {
        link: u8,
        topic: u8,
        buckets: Vec<u64>,
    },
    Vector {
        link: u8,
        topic: u8,
        buckets: Vec<u16>,
        logs: Vec<(u8, u16, u16, u16)>,
    },
    IHave {
        link: u8,
        topic: u8,
        which: Vec<u8>,
    },
    IWant {
        link: u8,
        topic: u8,
        which: Vec<u8>,
    },
    Graft {
        link: u8,
        topics: Vec<u8>,
    },
    Prune {
        link: u8,
        topic: u8,
        backoff_ms: u32,
    },
    Choke {
        link: u8,
        topic: u8,
        author: u8,
    },
    Subscribe {
        link: u8,
        join: Vec<u8>,
        leave: Vec<u8>,
    },
    /// Deliver again a header frame built earlier, on another link.
    Replay {
        link: u8,
        which: u8,
    },
    /// The engine publishes its own descriptor.
    Publish {
        topic: u8,
        cap: u8,
        ttl_s: u8,
    },
    Withdraw {
        cap: u8,
    },
}

struct Harness {
    now: Now,
    e: GossipEngine,
    cfg: GossipConfig,
    topics: Vec<Topic>,
    keys: Vec<Keypair>,
    ids: Vec<AgentId>,
    /// (author, topic, seq) → hash of a header built for it (the last one).
    built: BTreeMap<(u8, u8, u64), Hash>,
    frames: Vec<Bytes>,
    bodies: Vec<(Hash, Bytes)>,
    honest_seq: u64,
    honest_head: Option<Hash>,
    honest_last: Option<Instant>,
    honest_headers: BTreeMap<u64, Bytes>,
    honest_bodies: BTreeMap<Hash, Bytes>,
    links_up: [bool; 5],
    /// Bytes of every own body the engine made (own bodies are kept outside the body cache,
    /// until they expire).
    own_body_bytes: usize,
}

fn link(l: u8) -> LinkId {
    // Adversarial links are 1..=4; link 0 belongs to the honest author.
    LinkId(1 + u64::from(l % 4))
}

impl Harness {
    fn new() -> Harness {
        let now = Now::new(
            Instant::from_secs(5),
            WallTime::from_unix_millis(1_800_000_000_000),
        );
        let mut cfg = GossipConfig::seeded([7; 32]);
        cfg.max_authors_per_topic = 4;
        cfg.max_entries_per_author = 6;
        cfg.max_headers = 20;
        cfg.max_pending_bodies = 6;
        cfg.body_cache_bytes = 8 * 1024;
        cfg.seen_capacity = 48;
        cfg.key_cache = 4;
        cfg.max_queued_transmits = 64;
        cfg.max_queued_events = 32;
        cfg.max_topics = 4;
        cfg.max_pull = 8;
        // 9 authors with at most 3 capabilities each cannot fill it: discovery of the honest
        // author is then never excused by a full index.
        cfg.index = IndexLimits {
            max_entries: 64,
            max_per_provider: 4,
        };
        let mut e = GossipEngine::new(
            cfg.clone(),
            Box::new(Keypair::from_seed([200; 32])),
            Box::new(HashedNgramEncoder::default()),
            now,
        )
        .expect("valid config");
        let topics: Vec<Topic> = TOPICS.iter().map(|t| Topic::new(*t).unwrap()).collect();
        e.set_interest(InterestProfile::everything());
        e.subscribe(now, topics[0].clone()).unwrap();
        e.subscribe(now, topics[1].clone()).unwrap();
        let keys: Vec<Keypair> = (0..9u8).map(|k| Keypair::from_seed([k; 32])).collect();
        let ids = keys.iter().map(Keypair::id).collect();
        let mut h = Harness {
            now,
            e,
            cfg,
            topics,
            keys,
            ids,
            built: BTreeMap::new(),
            frames: Vec::new(),
            bodies: Vec::new(),
            honest_seq: 0,
            honest_head: None,
            honest_last: None,
            honest_headers: BTreeMap::new(),
            honest_bodies: BTreeMap::new(),
            links_up: [true, false, false, false, false],
            own_body_bytes: 0,
        };
        h.e.handle_link_up(now, HONEST_LINK);
        h.settle();
        h
    }

    fn topic(&self, t: u8) -> Topic {
        self.topics[usize::from(t) % self.topics.len()].clone()
    }

    fn sybil(&self, a: u8) -> u8 {
        1 + a % 8
    }

    fn deliver(&mut self, l: LinkId, frame: Bytes) {
        let _ = self.e.handle_message(self.now, l, frame);
        self.settle();
    }

    fn send(&mut self, l: u8, m: Message) {
        self.deliver(link(l), m.encode());
    }

    /// Drain outputs (answering the honest link and acknowledging own persists) until quiet,
    /// checking the caps on the way.
    fn settle(&mut self) {
        for _ in 0..64 {
            self.check_caps();
            let mut inputs: Vec<(LinkId, Bytes)> = Vec::new();
            let mut persisted = Vec::new();
            while let Some(t) = self.e.poll_transmit() {
                if t.link == HONEST_LINK {
                    inputs.extend(self.honest_answer(&t.payload));
                }
            }
            while let Some(ev) = self.e.poll_event() {
                if let Event::PersistHead(h) = ev {
                    self.own_body_bytes += h.body.as_ref().map_or(0, Bytes::len);
                    persisted.push((h.topic, h.seq));
                }
            }
            if inputs.is_empty() && persisted.is_empty() {
                return;
            }
            for (topic, seq) in persisted {
                self.e.handle_persisted(self.now, &topic, seq);
            }
            for (l, f) in inputs {
                let _ = self.e.handle_message(self.now, l, f);
            }
        }
    }

    /// What the honest peer on link 0 answers: its bodies and its headers.
    fn honest_answer(&self, frame: &Bytes) -> Vec<(LinkId, Bytes)> {
        let Ok(m) = Message::decode(frame, &self.cfg.limits) else {
            return Vec::new();
        };
        match m {
            Message::BodyRequest(r) => match self.honest_bodies.get(&r.hash) {
                Some(b) => {
                    let body = Message::Body(gw::Body {
                        hash: r.hash,
                        body: b.to_vec(),
                    });
                    vec![(HONEST_LINK, body.encode())]
                }
                None => vec![(
                    HONEST_LINK,
                    Message::BodyMissing(gw::BodyMissing { hash: r.hash }).encode(),
                )],
            },
            Message::Pull(p) if p.author == self.ids[0] && p.topic == self.topics[0] => self
                .honest_headers
                .range(p.from..=p.to)
                .take(64)
                .map(|(_, f)| (HONEST_LINK, f.clone()))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn check_caps(&self) {
        let e = &self.e;
        let c = &self.cfg;
        assert!(
            e.header_count() <= c.max_headers,
            "{} headers",
            e.header_count()
        );
        assert!(
            e.pending_body_count() <= c.max_pending_bodies,
            "{} pending",
            e.pending_body_count()
        );
        assert!(e.queued_transmit_count() <= c.max_queued_transmits);
        assert!(e.seen_count() <= c.seen_capacity, "seen {}", e.seen_count());
        assert!(
            e.body_bytes() <= c.body_cache_bytes + self.own_body_bytes,
            "body bytes {}",
            e.body_bytes()
        );
        assert!(e.index().len() <= c.index.max_entries);
        assert!(e.topics().count() <= c.max_topics);
        let me = e.id();
        let mut total = 0;
        for t in &self.topics {
            let mut authors = 0;
            for a in self.ids.iter().chain(std::iter::once(&me)) {
                let held = (1..=SEQ_SPAN + 1)
                    .filter(|s| e.header(t, a, *s).is_some())
                    .count()
                    + usize::from(e.header(t, a, agentnet_gossip::header::MAX_SEQ).is_some());
                assert!(
                    held <= c.max_entries_per_author,
                    "{held} entries of one author"
                );
                if *a != me {
                    total += held;
                }
                authors += usize::from(held > 0);
            }
            assert!(
                authors <= c.max_authors_per_topic + 1,
                "{authors} authors in {t:?}"
            );
        }
        assert!(total <= e.header_count());
    }

    fn check_timeout(&mut self) {
        if let Some(t) = self.e.poll_timeout()
            && t <= self.now.mono
        {
            self.e.handle_timeout(self.now);
            self.settle();
            if let Some(t2) = self.e.poll_timeout() {
                assert!(
                    t2 > self.now.mono,
                    "deadline {t2:?} not past now {:?} after handle_timeout",
                    self.now.mono
                );
            }
        }
    }

    fn advance(&mut self, d: Duration) {
        let end = self.now.mono + d;
        // Fire every deadline on the way, as a host would.
        for _ in 0..1000 {
            match self.e.poll_timeout() {
                Some(t) if t < end => {
                    let step = if t > self.now.mono {
                        t - self.now.mono
                    } else {
                        Duration::ZERO
                    };
                    self.now = self.now.advance(step);
                    self.e.handle_timeout(self.now);
                    self.settle();
                    if step.is_zero() {
                        // The deadline was already due: handle_timeout must have moved it.
                        if let Some(t2) = self.e.poll_timeout() {
                            assert!(
                                t2 > self.now.mono,
                                "busy deadline {t2:?} at {:?}",
                                self.now.mono
                            );
                        }
                    }
                }
                _ => break,
            }
        }
        if end > self.now.mono {
            self.now = self.now.advance(end - self.now.mono);
        }
        self.e.handle_timeout(self.now);
        self.settle();
    }

    fn descriptor(&self, k: u8, cap: u8, topic: &Topic, ttl: Duration) -> Option<Bytes> {
        let d = CapabilityDescriptor::builder(
            self.ids[usize::from(k)],
            CAPS[usize::from(cap) % CAPS.len()],
            topic.as_str(),
            "fuzzing summary",
        )
        .ttl(ttl)
        .build(self.now)
        .ok()?;
        Some(Signed::sign(&self.keys[usize::from(k)], d).ok()?.to_frame())
    }

    /// The honest author's next entry: a descriptor with consecutive seq and the right prev,
    /// within the author rate, delivered on link 0. Checks that it is not starved.
    fn honest(&mut self) {
        let min_gap = Duration::from_millis(1000 / u64::from(self.cfg.author_rate) + 1);
        if let Some(last) = self.honest_last
            && self.now.mono < last + min_gap
        {
            self.advance(last + min_gap - self.now.mono);
        }
        let topic = self.topics[0].clone();
        let body = self
            .descriptor(0, 0, &topic, HONEST_TTL)
            .expect("honest descriptor");
        let header = LogHeader {
            author: self.ids[0],
            topic: topic.clone(),
            seq: self.honest_seq + 1,
            prev: self.honest_head,
            kind: EntryKind::DESCRIPTOR,
            body_hash: gw::body_hash(&body),
            body_len: body.len() as u32,
            issued_at: self.now.wall,
            ttl_ms: HONEST_TTL.as_millis() as u32,
            sketch: None,
        };
        let signed = Signed::sign(&self.keys[0], header).expect("sign");
        self.honest_seq += 1;
        self.honest_head = Some(signed.hash());
        self.honest_last = Some(self.now.mono);
        let frame = signed.to_frame();
        self.honest_headers.insert(self.honest_seq, frame.clone());
        self.honest_bodies.insert(gw::body_hash(&body), body);
        let full_before = self.e.stats().dropped_full;
        self.deliver(HONEST_LINK, frame);
        let excused = self.e.stats().dropped_full > full_before;
        if !excused {
            let honest = self.ids[0];
            assert!(
                self.e.header(&topic, &honest, self.honest_seq).is_some(),
                "honest header {} not stored (stats {:?})",
                self.honest_seq,
                self.e.stats()
            );
            assert!(
                self.e.index().get(&honest, CAPS[0]).is_some(),
                "honest descriptor not in discovery after its body was served (stats {:?})",
                self.e.stats()
            );
        }
    }

    #[allow(clippy::too_many_lines)]
    fn run(&mut self, op: Op) {
        match op {
            Op::Header {
                author,
                topic,
                seq,
                huge_seq,
                prev_right,
                kind,
                ttl_s,
                issued_offset_s,
                body_len_delta,
                body,
                link: l,
            } => {
                let k = self.sybil(author);
                let t = self.topic(topic);
                let ti = topic % 3;
                let seq = if huge_seq {
                    agentnet_gossip::header::MAX_SEQ + u64::from(seq % 2)
                } else {
                    u64::from(seq) % (SEQ_SPAN + 1)
                };
                let prev = if seq == 1 {
                    if prev_right {
                        None
                    } else {
                        Some(Hash([seq as u8; 32]))
                    }
                } else {
                    match self.built.get(&(k, ti, seq.wrapping_sub(1))) {
                        Some(h) if prev_right => Some(*h),
                        _ if prev_right && seq > 0 => Some(Hash([1; 32])),
                        _ => None,
                    }
                };
                let ttl = Duration::from_secs(u64::from(ttl_s % 4000));
                let body = match body {
                    BodyChoice::Descriptor { cap, ttl_s } => self
                        .descriptor(k, cap, &t, Duration::from_secs(u64::from(ttl_s % 4000)))
                        .unwrap_or_else(|| Bytes::from_static(b"x")),
                    BodyChoice::Raw(b) => Bytes::from(b),
                };
                let issued_at = if issued_offset_s >= 0 {
                    self.now.wall + Duration::from_secs(u64::from(issued_offset_s as u16 % 120))
                } else {
                    self.now.wall.saturating_sub(Duration::from_secs(u64::from(
                        issued_offset_s.unsigned_abs(),
                    )))
                };
                let header = LogHeader {
                    author: self.ids[usize::from(k)],
                    topic: t,
                    seq,
                    prev,
                    kind: EntryKind(u16::from(kind % 3)),
                    body_hash: gw::body_hash(&body),
                    body_len: (body.len() as i64 + i64::from(body_len_delta))
                        .clamp(0, u32::MAX.into()) as u32,
                    issued_at,
                    ttl_ms: ttl.as_millis() as u32,
                    sketch: None,
                };
                let Ok(signed) = Signed::sign(&self.keys[usize::from(k)], header) else {
                    return;
                };
                self.built.insert((k, ti, seq), signed.hash());
                let frame = signed.to_frame();
                if self.frames.len() < 64 {
                    self.frames.push(frame.clone());
                }
                if self.bodies.len() < 64 {
                    self.bodies.push((gw::body_hash(&body), body));
                }
                self.deliver(link(l), frame);
            }
            Op::Honest => self.honest(),
            Op::LinkUp(l) => {
                let id = link(l);
                self.links_up[id.0 as usize] = true;
                self.e.handle_link_up(self.now, id);
                self.settle();
            }
            Op::LinkDown(l) => {
                let id = link(l);
                self.links_up[id.0 as usize] = false;
                self.e.handle_link_down(self.now, id);
                self.settle();
            }
            Op::Advance(ms) => self.advance(Duration::from_millis(u64::from(ms))),
            Op::AdvanceSecs(s) => self.advance(Duration::from_secs(u64::from(s))),
            Op::Timeout => {
                self.e.handle_timeout(self.now);
                self.settle();
            }
            Op::Body {
                link: l,
                which,
                mutate,
            } => {
                let (hash, mut body) = self.body(which);
                let mut b = body.to_vec();
                if let Some((at, x)) = mutate
                    && !b.is_empty()
                {
                    let i = usize::from(at) % b.len();
                    b[i] ^= x | 1;
                }
                body = Bytes::from(b);
                self.send(
                    l,
                    Message::Body(gw::Body {
                        hash,
                        body: body.to_vec(),
                    }),
                );
            }
            Op::BodyRequest {
                link: l,
                which,
                hops,
            } => {
                let (hash, _) = self.body(which);
                self.send(l, Message::BodyRequest(gw::BodyRequest { hash, hops }));
            }
            Op::BodyMissing { link: l, which } => {
                let (hash, _) = self.body(which);
                self.send(l, Message::BodyMissing(gw::BodyMissing { hash }));
            }
            Op::Pull {
                link: l,
                topic,
                author,
                from,
                to,
            } => {
                let m = gw::Pull {
                    topic: self.topic(topic),
                    author: self.ids[usize::from(author % 9)],
                    from: u64::from(from),
                    to: u64::from(to),
                };
                self.send(l, Message::Pull(m));
            }
            Op::Digest {
                link: l,
                topic,
                mut buckets,
            } => {
                buckets.truncate(300);
                let m = gw::Digest {
                    topic: self.topic(topic),
                    buckets,
                };
                self.send(l, Message::Digest(m));
            }
            Op::Vector {
                link: l,
                topic,
                mut buckets,
                logs,
            } => {
                buckets.truncate(300);
                let logs = logs
                    .into_iter()
                    .take(32)
                    .map(|(a, head, low, count)| gw::LogSummary {
                        author: self.ids[usize::from(a % 9)],
                        head: u64::from(head),
                        low: u64::from(low),
                        count: u32::from(count),
                    })
                    .collect();
                let m = gw::Vector {
                    topic: self.topic(topic),
                    buckets,
                    logs,
                };
                self.send(l, Message::Vector(m));
            }
            Op::IHave {
                link: l,
                topic,
                which,
            } => {
                let ids = self.short_ids(&which);
                self.send(
                    l,
                    Message::IHave(gw::IHave {
                        topic: self.topic(topic),
                        ids,
                    }),
                );
            }
            Op::IWant {
                link: l,
                topic,
                which,
            } => {
                let ids = self.short_ids(&which);
                self.send(
                    l,
                    Message::IWant(gw::IWant {
                        topic: self.topic(topic),
                        ids,
                    }),
                );
            }
            Op::Graft { link: l, topics } => {
                let topics = topics.iter().take(8).map(|t| self.topic(*t)).collect();
                self.send(l, Message::Graft(gw::Graft { topics }));
            }
            Op::Prune {
                link: l,
                topic,
                backoff_ms,
            } => {
                let m = gw::Prune {
                    topic: self.topic(topic),
                    backoff_ms,
                };
                self.send(l, Message::Prune(m));
            }
            Op::Choke {
                link: l,
                topic,
                author,
            } => {
                let author = if author % 10 == 9 {
                    self.e.id()
                } else {
                    self.ids[usize::from(author % 9)]
                };
                self.send(
                    l,
                    Message::Choke(gw::Choke {
                        topic: self.topic(topic),
                        author,
                    }),
                );
            }
            Op::Subscribe {
                link: l,
                join,
                leave,
            } => {
                let join = join.iter().take(8).map(|t| self.topic(*t)).collect();
                let leave = leave.iter().take(8).map(|t| self.topic(*t)).collect();
                self.send(l, Message::Subscribe(gw::Subscribe { join, leave }));
            }
            Op::Replay { link: l, which } => {
                if !self.frames.is_empty() {
                    let f = self.frames[usize::from(which) % self.frames.len()].clone();
                    self.deliver(link(l), f);
                }
            }
            Op::Publish { topic, cap, ttl_s } => {
                let t = self.topic(topic);
                let d = CapabilityDescriptor::builder(
                    self.e.id(),
                    CAPS[usize::from(cap) % CAPS.len()],
                    t.as_str(),
                    "own capability",
                )
                .ttl(Duration::from_secs(u64::from(ttl_s)))
                .build(self.now);
                if let Ok(d) = d {
                    let _ = self.e.publish(self.now, d);
                    self.settle();
                }
            }
            Op::Withdraw { cap } => {
                self.e.withdraw(CAPS[usize::from(cap) % CAPS.len()]);
            }
        }
        self.check_timeout();
    }

    fn body(&self, which: u8) -> (Hash, Bytes) {
        if self.bodies.is_empty() || which == 255 {
            return (Hash([which; 32]), Bytes::from_static(b"nothing"));
        }
        self.bodies[usize::from(which) % self.bodies.len()].clone()
    }

    fn short_ids(&self, which: &[u8]) -> Vec<ShortId> {
        which
            .iter()
            .take(16)
            .map(|w| match self.frames.get(usize::from(*w)) {
                Some(f) => ShortId::of(&gw::frame_id(f)),
                None => ShortId(u64::from(*w)),
            })
            .collect()
    }
}

fuzz_target!(|ops: Vec<Op>| {
    let mut h = Harness::new();
    for op in ops.into_iter().take(256) {
        h.run(op);
    }
    // Whatever happened, a new honest entry still gets through.
    h.honest();
});
