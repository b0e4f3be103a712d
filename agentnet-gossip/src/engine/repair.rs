//! Repair: lazy announcements (`IHave` / `IWant`) for trees whose eager copy was lost,
//! anti-entropy digests and version vectors between peers, and range pulls for gaps.

use super::*;

/// The node-wide repair state: links whose copies may be repair answers, and the deadlines of
/// the announced-but-missing ids (each topic keeps its own ids in [`TopicState::wanted`];
/// this keeps their count across topics and when each is next due).
///
/// Bounds: `repairing` holds at most one entry per link, and no more than one above the number
/// of links up; `wanted_total` is at most [`MAX_WANTED`] (announcements beyond it are
/// ignored); `wanted_deadlines` holds one current entry per wanted id, plus entries left by ids
/// since received or forgotten with their topic, which are dropped when they come due.
///
/// Deadline: the earliest wanted id's ([`next_deadline`](Self::next_deadline)), when it is
/// asked for (`IWant`) from its next announcer. Repair windows have no timer: they are judged
/// against `now` ([`is_repairing`](Self::is_repairing)) and swept at each heartbeat.
#[derive(Debug, Default)]
pub(super) struct Repair {
    /// Links asked for repairs recently, until when (see [`REPAIR_WINDOW`]). At most one
    /// entry per link.
    repairing: BTreeMap<LinkId, Instant>,
    /// (deadline, topic idx, id) of the wanted ids, earliest first.
    wanted_deadlines: BTreeSet<(Instant, u32, ShortId)>,
    /// Wanted ids held across all topics.
    wanted_total: usize,
}

impl Repair {
    /// The earliest deadline of a wanted id.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.wanted_deadlines.first().map(|(d, _, _)| *d)
    }

    /// Count a newly wanted `id` of topic `tidx`, due at `deadline`; false (nothing changed)
    /// if [`MAX_WANTED`] ids are wanted already.
    pub(super) fn want(&mut self, deadline: Instant, tidx: u32, id: ShortId) -> bool {
        if self.wanted_total >= MAX_WANTED {
            return false;
        }
        self.wanted_total += 1;
        self.wanted_deadlines.insert((deadline, tidx, id));
        true
    }

    /// Make the wanted `id` of topic `tidx` due again at `deadline`.
    pub(super) fn reschedule(&mut self, deadline: Instant, tidx: u32, id: ShortId) {
        self.wanted_deadlines.insert((deadline, tidx, id));
    }

    /// `n` wanted ids are no longer wanted (received, asked of their last announcer, or
    /// forgotten with their topic).
    pub(super) fn unwant(&mut self, n: usize) {
        self.wanted_total -= n;
    }

    /// The next wanted deadline due at `now` (deadline, topic idx, id), taken off.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<(Instant, u32, ShortId)> {
        let &(t, tidx, id) = self.wanted_deadlines.first()?;
        if t > now {
            return None;
        }
        self.wanted_deadlines.pop_first();
        Some((t, tidx, id))
    }

    /// Note at `now` that copies from `link` may soon be repair answers; `links` is the number
    /// of links up (the table holds at most one more).
    pub(super) fn repairing_with(&mut self, now: Instant, link: LinkId, links: usize) {
        if self.repairing.len() < links + 1 || self.repairing.contains_key(&link) {
            self.repairing.insert(link, now + REPAIR_WINDOW);
        }
    }

    /// True if copies from `link` may be repair answers at `now`.
    pub(super) fn is_repairing(&self, now: Instant, link: LinkId) -> bool {
        self.repairing.get(&link).is_some_and(|u| now < *u)
    }

    /// `link` went down.
    pub(super) fn link_down(&mut self, link: LinkId) {
        self.repairing.remove(&link);
    }

    /// At each heartbeat: forget repair windows ended at `now`.
    pub(super) fn heartbeat(&mut self, now: Instant) {
        self.repairing.retain(|_, u| now < *u);
    }
}

impl GossipEngine {
    pub(super) fn on_ihave(
        &mut self,
        now: Now,
        from: LinkId,
        m: wire::IHave,
    ) -> Result<(), GossipError> {
        let deadline = now.mono + self.cfg.iwant_delay;
        let Some(ts) = self.topics.get_mut(&m.topic) else {
            return Ok(());
        };
        for id in m.ids {
            if self.history.get(&id).is_some() {
                continue;
            }
            match ts.wanted.get_mut(&id) {
                Some(w) => {
                    if w.announcers.len() < MAX_ANNOUNCERS && !w.announcers.contains(&from) {
                        w.announcers.push_back(from);
                    }
                }
                None => {
                    if !self.repair.want(deadline, ts.idx, id) {
                        continue;
                    }
                    ts.wanted.insert(
                        id,
                        Wanted {
                            deadline,
                            announcers: VecDeque::from([from]),
                        },
                    );
                }
            }
        }
        Ok(())
    }

    pub(super) fn on_iwant(&mut self, from: LinkId, m: wire::IWant) -> Result<(), GossipError> {
        let Some(ts) = self.topics.get_mut(&m.topic) else {
            return Ok(());
        };
        let tidx = ts.idx;
        for id in m.ids {
            if let Some((t, author, frame)) = self.history.get(&id)
                && *t == tidx
            {
                // Plumtree graft: the peer missed this author's header on its tree; push that
                // author's headers to it eagerly again.
                if let Some(v) = ts.lazy_to.get_mut(author) {
                    v.retain(|l| *l != from);
                }
                let f = frame.clone();
                self.transmits.push_class(
                    Transmit {
                        link: from,
                        payload: f,
                    },
                    Class::Forward.rank(),
                );
            }
        }
        Ok(())
    }

    pub(super) fn digest(&self, ts: &TopicState, settled: WallTime) -> Vec<u64> {
        let n = usize::from(self.cfg.digest_buckets);
        let mut hashers: Vec<Option<Hasher>> = (0..n).map(|_| None).collect();
        for s in self.summaries(ts, settled) {
            let b = usize::from(s.author.as_bytes()[0]) % n;
            hashers[b]
                .get_or_insert_with(|| Hasher::new(agentnet_core::hash::domain::GOSSIP_DIGEST))
                .update(s.author.as_bytes())
                .update_u64(s.head)
                .update_u64(s.low)
                .update_u64(u64::from(s.count));
        }
        hashers
            .into_iter()
            .map(|h| {
                h.map_or(0, |h| {
                    let d = h.finalize();
                    u64::from_be_bytes(d.0[..8].try_into().expect("8 bytes")).max(1)
                })
            })
            .collect()
    }

    /// Summaries of the *settled* entries (issued at or before `settled`) of every author log
    /// that holds any, except equivocators, in author order. Two nodes holding the same
    /// settled entries produce the same summaries; a node with a gap differs in `count` or
    /// `low`. Entries younger than [`GossipConfig::settle`] are still travelling down their
    /// push tree: leaving them out keeps anti-entropy from racing the tree with duplicate
    /// copies. Both sides judge age by the signed `issued_at`, so they agree on what is
    /// settled up to their wall clocks' difference.
    pub(super) fn summaries<'a>(
        &self,
        ts: &'a TopicState,
        settled: WallTime,
    ) -> impl Iterator<Item = wire::LogSummary> + 'a {
        ts.logs.iter().filter_map(move |(a, l)| {
            if ts.equivocators.contains(a) {
                return None;
            }
            let mut it = l.range(0, u64::MAX).filter(|h| h.issued_at <= settled);
            let first = it.next()?;
            let (mut head, mut count) = (first.seq, 1u32);
            for h in it {
                head = h.seq;
                count += 1;
            }
            Some(wire::LogSummary {
                author: *a,
                head,
                low: first.seq,
                count,
            })
        })
    }

    pub(super) fn settled(&self, now: Now) -> WallTime {
        now.wall.saturating_sub(self.cfg.settle)
    }

    pub(super) fn bucket_of(&self, a: &AgentId) -> u16 {
        u16::from(a.as_bytes()[0]) % self.cfg.digest_buckets
    }

    pub(super) fn on_digest(
        &mut self,
        now: Now,
        from: LinkId,
        m: wire::Digest,
    ) -> Result<(), GossipError> {
        if !self.topics.contains_key(&m.topic) {
            return Ok(());
        }
        let n = usize::from(self.cfg.digest_buckets);
        if m.buckets.len() != n {
            return Ok(());
        }
        // Cost control. A digest costs two passes over the topic's logs and may be answered
        // with a vector hundreds of times its size, and nobody asked for it: take up at most
        // one per link and topic per half anti-entropy period (an honest peer sends one per
        // topic per period, to one peer), and answer with at most MAX_VECTOR_LOGS summaries.
        let window = self.cfg.anti_entropy / 2;
        if let Some(link) = self.links.get_mut(&from) {
            if link
                .digests
                .get(&m.topic)
                .is_some_and(|last| now.mono < *last + window)
            {
                self.stats.digests_throttled += 1;
                return Ok(());
            }
            if !link.digests.contains_key(&m.topic) {
                let followed = &self.topics;
                link.digests.retain(|t, _| followed.contains_key(t));
            }
            link.digests.insert(m.topic.clone(), now.mono);
        }
        let Some(ts) = self.topics.get(&m.topic) else {
            return Ok(());
        };
        let settled = self.settled(now);
        let mine = self.digest(ts, settled);
        let diff: Vec<u16> = (0..n)
            .filter(|&i| mine[i] != m.buckets[i])
            .map(|i| i as u16)
            .collect();
        if diff.is_empty() {
            return Ok(());
        }
        // Whole buckets only, so the peer never mistakes a summary left out for a log we
        // lack; starting at a differing bucket that moves on every anti-entropy period, so
        // successive rounds cover them all.
        let mut by_bucket: BTreeMap<u16, Vec<wire::LogSummary>> = BTreeMap::new();
        for s in self.summaries(ts, settled) {
            let b = self.bucket_of(&s.author);
            if diff.contains(&b) {
                by_bucket.entry(b).or_default().push(s);
            }
        }
        let max = MAX_VECTOR_LOGS.min(self.cfg.limits.max_items.saturating_sub(1).max(1));
        let period = self.cfg.anti_entropy.as_micros().max(1) as u64;
        let start = (now.mono.as_micros() / period) as usize % diff.len();
        let (mut buckets, mut logs) = (Vec::new(), Vec::new());
        for &b in diff[start..].iter().chain(&diff[..start]) {
            let in_bucket = by_bucket.remove(&b).unwrap_or_default();
            if !buckets.is_empty() && logs.len() + in_bucket.len() > max {
                continue;
            }
            // A single bucket larger than the cap goes alone, cut to the cap: the peer may
            // push a few entries we hold, which costs it, not us.
            logs.extend(in_bucket.into_iter().take(max - logs.len()));
            buckets.push(b);
        }
        buckets.sort_unstable();
        let m = Message::Vector(wire::Vector {
            topic: m.topic,
            buckets,
            logs,
        });
        // The peer will push what we lack in these buckets.
        self.repairing_with(now, from);
        self.send_msg(Class::Repair, from, m);
        Ok(())
    }

    /// The peer's summaries for the buckets that differed: pull every seq it holds that we
    /// lack (within the last `max_pull` of its log), and push the entries above its head.
    pub(super) fn on_vector(
        &mut self,
        now: Now,
        from: LinkId,
        m: wire::Vector,
    ) -> Result<(), GossipError> {
        let Some(ts) = self.topics.get(&m.topic) else {
            return Ok(());
        };
        let theirs: BTreeMap<AgentId, wire::LogSummary> =
            m.logs.iter().map(|s| (s.author, *s)).collect();
        let mut pulls = Vec::new();
        'authors: for s in theirs.values() {
            if s.author == self.me || ts.equivocators.contains(&s.author) || s.low > s.head {
                continue;
            }
            let log = ts.logs.get(&s.author);
            let floor = log.map_or(1, AuthorLog::floor);
            let start = s
                .low
                .max(s.head.saturating_sub(self.cfg.max_pull - 1))
                .max(floor);
            let mut run: Option<(u64, u64)> = None;
            for seq in start..=s.head {
                let have = log.is_some_and(|l| l.get(seq).is_some());
                match (have, run) {
                    (false, None) => run = Some((seq, seq)),
                    (false, Some((lo, _))) => run = Some((lo, seq)),
                    (true, Some((lo, hi))) => {
                        pulls.push((s.author, lo, hi));
                        run = None;
                    }
                    (true, None) => {}
                }
                if pulls.len() >= MAX_REPAIRS_PER_VECTOR {
                    break 'authors;
                }
            }
            if let Some((lo, hi)) = run {
                pulls.push((s.author, lo, hi));
            }
        }
        let mut push = Vec::new();
        let settled = self.settled(now);
        for s in self.summaries(ts, settled) {
            if !m.buckets.contains(&self.bucket_of(&s.author)) {
                continue;
            }
            let their_head = theirs.get(&s.author).map_or(0, |t| t.head);
            if s.head > their_head && push.len() < MAX_REPAIRS_PER_VECTOR {
                let lo = (their_head + 1).max(s.head.saturating_sub(self.cfg.max_pull - 1));
                if let Some(l) = ts.logs.get(&s.author) {
                    push.extend(
                        l.range(lo, s.head)
                            .filter(|h| now.wall < h.expires_at() && h.issued_at <= settled)
                            .map(Signed::to_frame),
                    );
                }
            }
        }
        for (author, lo, hi) in pulls {
            self.pull(now, from, &m.topic, author, lo, hi);
        }
        for f in push {
            self.send(Class::Repair, from, f);
        }
        Ok(())
    }

    pub(super) fn on_pull(
        &mut self,
        now: Now,
        from: LinkId,
        m: wire::Pull,
    ) -> Result<(), GossipError> {
        let Some(ts) = self.topics.get(&m.topic) else {
            return Ok(());
        };
        if ts.equivocators.contains(&m.author) || m.from > m.to {
            return Ok(());
        }
        let to = m.to.min(m.from.saturating_add(self.cfg.max_pull - 1));
        let frames: Vec<Bytes> = ts
            .logs
            .get(&m.author)
            .map(|l| {
                // Entries past their TTL wait for the next heartbeat's pruning; never serve
                // them (the receiver would refuse them as expired).
                l.range(m.from, to)
                    .filter(|h| now.wall < h.expires_at())
                    .map(Signed::to_frame)
                    .collect()
            })
            .unwrap_or_default();
        for f in frames {
            self.send(Class::Repair, from, f);
        }
        Ok(())
    }

    /// Ask `link` for `author`'s entries `from..=to`; its answers will be repairs.
    pub(super) fn pull(
        &mut self,
        now: Now,
        link: LinkId,
        topic: &Topic,
        author: AgentId,
        from: u64,
        to: u64,
    ) {
        self.repairing_with(now, link);
        let m = wire::Pull {
            topic: topic.clone(),
            author,
            from,
            to,
        };
        self.send_msg(Class::Control, link, Message::Pull(m));
    }

    /// Note that copies from `link` may soon be repair answers.
    pub(super) fn repairing_with(&mut self, now: Now, link: LinkId) {
        self.repair.repairing_with(now.mono, link, self.links.len());
    }

    pub(super) fn wanted_due(&mut self, now: Now) {
        let mut asks: BTreeMap<(LinkId, u32), Vec<ShortId>> = BTreeMap::new();
        while let Some((t, tidx, id)) = self.repair.pop_due(now.mono) {
            let Some(topic) = self.topic_names.get(&tidx) else {
                continue;
            };
            let Some(ts) = self.topics.get_mut(topic) else {
                continue;
            };
            let Some(w) = ts.wanted.get_mut(&id) else {
                continue;
            };
            if w.deadline != t {
                continue;
            }
            match w.announcers.pop_front() {
                Some(a) if self.history.get(&id).is_none() => {
                    asks.entry((a, tidx)).or_default().push(id);
                    if w.announcers.is_empty() {
                        ts.wanted.remove(&id);
                        self.repair.unwant(1);
                    } else {
                        w.deadline = now.mono + self.cfg.body_timeout;
                        self.repair.reschedule(w.deadline, tidx, id);
                    }
                }
                _ => {
                    ts.wanted.remove(&id);
                    self.repair.unwant(1);
                }
            }
        }
        for ((l, tidx), ids) in asks {
            self.repairing_with(now, l);
            if let Some(topic) = self.topic_names.get(&tidx).cloned() {
                self.send_msg(
                    Class::Control,
                    l,
                    Message::IWant(wire::IWant { topic, ids }),
                );
            }
        }
    }

    pub(super) fn anti_entropy(&mut self, now: Now, topic: &Topic) {
        let Some(ts) = self.topics.get(topic) else {
            return;
        };
        if ts.next_sync > now.mono {
            return;
        }
        let peers: Vec<LinkId> = ts.peers.iter().copied().collect();
        let digest = self.digest(ts, self.settled(now));
        let next = now.mono + self.cfg.anti_entropy;
        if let Some(ts) = self.topics.get_mut(topic) {
            ts.next_sync = next;
        }
        if peers.is_empty() {
            return;
        }
        let l = peers[self.rng.next_u64() as usize % peers.len()];
        self.send_msg(
            Class::Control,
            l,
            Message::Digest(wire::Digest {
                topic: topic.clone(),
                buckets: digest,
            }),
        );
    }

    pub(super) fn schedule_lazy(&mut self, now: Now) {
        if self.next_lazy.is_none() {
            self.next_lazy = Some(now.mono + self.cfg.lazy_interval);
        }
    }

    pub(super) fn flush_lazy(&mut self) {
        let mut out: Vec<(LinkId, Message)> = Vec::new();
        let max = self.cfg.limits.max_items.max(1);
        for (topic, ts) in self.topics.iter_mut() {
            for (l, ids) in core::mem::take(&mut ts.lazy) {
                for chunk in ids.chunks(max) {
                    let m = Message::IHave(wire::IHave {
                        topic: topic.clone(),
                        ids: chunk.to_vec(),
                    });
                    out.push((l, m));
                }
            }
        }
        for (l, m) in out {
            self.send_msg(Class::Control, l, m);
        }
    }
}
