//! Admission under memory pressure: which header, author, descriptor or body fetch gets a
//! place when a table is full (the rules and their threat model are in the crate docs,
//! "Memory and queues"), and telling the host what left before its expiry.

use super::*;

/// The admission record of a log admitted now, introduced by `by`; numbers it from `counter`
/// (larger is newer).
pub(super) fn next_admission(counter: &mut u64, by: Option<LinkId>, at: Instant) -> Admission {
    let order = *counter;
    *counter += 1;
    Admission {
        by,
        at,
        order,
        unproven: None,
    }
}

impl GossipEngine {
    /// Admission under memory pressure (see the crate docs, "Memory and queues"): a full
    /// topic evicts an unproven author rather than refusing everyone new, and a full header
    /// table evicts single entries of unproven authors rather than dropping honest refreshes.
    pub(super) fn insert_header(
        &mut self,
        now: Now,
        from: Option<LinkId>,
        id: Hash,
        frame: Bytes,
        h: Signed<LogHeader>,
    ) -> Result<(), GossipError> {
        let max_authors = self.cfg.max_authors_per_topic;
        let max_entries = self.cfg.max_entries_per_author;
        let age = self.cfg.standing_age;
        let vouched = self.standing.contains(&h.author);
        let Some(ts) = self.topics.get_mut(&h.topic) else {
            return Ok(());
        };
        let tidx = ts.idx;
        ts.graduate(now.mono, age);
        let held = ts.logs.get(&h.author);
        // Only a header the log would store needs room; anything else (duplicate, fork,
        // stale) is classified below without touching other authors.
        let stores = held.is_none_or(|l| l.check(&h).is_none());
        if stores && held.is_none() && ts.logs.len() >= max_authors {
            // Make room by forgetting an author that holds no entry (they expired or were
            // evicted), an unproven one first; else evict the newest unproven author of the
            // largest introducer group, unless the newcomer's own group is as large (a
            // flooding link then competes only with itself). A vouched newcomer always may.
            match (ts.idle(), ts.victim()) {
                (Some(a), _) => {
                    ts.forget(&a);
                }
                (None, Some((v, vlink, size)))
                    if vouched || (vlink != from && ts.unproven_from(from) < size) =>
                {
                    let seqs = ts.seqs(&v);
                    self.headers_total -= ts.forget(&v);
                    self.stats.evicted_unproven += 1;
                    if !seqs.is_empty() {
                        self.events.push(Event::HeadersForgotten {
                            topic: h.topic.clone(),
                            author: v,
                            seqs,
                        });
                    }
                }
                _ => {
                    self.stats.dropped_full += 1;
                    return Ok(());
                }
            }
        }
        let grows = ts.logs.get(&h.author).is_none_or(AuthorLog::has_room);
        if stores && grows && self.headers_total >= self.cfg.max_headers {
            let standing = vouched
                || ts
                    .admitted
                    .get(&h.author)
                    .is_some_and(|a| a.unproven.is_none());
            if !self.make_header_room(now, &h.topic, &h.author, h.seq, standing) {
                self.stats.dropped_full += 1;
                return Ok(());
            }
        }
        let Some(ts) = self.topics.get_mut(&h.topic) else {
            return Ok(());
        };
        if !ts.logs.contains_key(&h.author) {
            let a = next_admission(&mut self.admissions, from, now.mono);
            ts.admit(h.author, AuthorLog::new(max_entries), a, vouched);
        }
        let log = ts.logs.get_mut(&h.author).expect("held or just admitted");
        let before = log.len();
        // A full log drops its oldest entry for a new one: remember which, for the host.
        let oldest = (!log.has_room()).then(|| log.low()).flatten();
        let outcome = log.insert(h.clone());
        let pushed_out = oldest.filter(|&seq| log.get(seq).is_none());
        let after = log.len();
        self.headers_total = self.headers_total + after - before;
        ts.sync_len(&h.author);
        if let Some(seq) = pushed_out {
            self.forgotten(h.topic.clone(), h.author, vec![seq]);
        }
        let seen_until = now.mono + self.cfg.seen_ttl;
        let seen = SeenEntry {
            topic: Some(tidx),
            author: h.author,
        };
        match outcome {
            Insert::Duplicate | Insert::Stale => {
                self.seen.insert(id, seen, seen_until);
                if let Some(l) = from {
                    self.on_duplicate(now, l, tidx, h.author);
                }
                Ok(())
            }
            Insert::PrevConflict { seq } => {
                // A fork we cannot prove yet: fetch the other version of `seq` from the
                // relayer; its arrival completes an equivocation proof. Not the relayer's
                // fault, so no penalty and nothing relayed.
                if let Some(l) = from {
                    self.pull(now, l, &h.topic, h.author, seq, seq);
                }
                Err(GossipError::PrevConflict { seq })
            }
            Insert::Equivocation(proof) => {
                self.seen.insert(id, seen, seen_until);
                let what = Equivocation {
                    author: h.author,
                    topic: h.topic.clone(),
                    seq: h.seq,
                };
                self.on_equivocation(now, from, what, *proof);
                Ok(())
            }
            Insert::New { missing } => {
                self.seen.insert(id, seen, seen_until);
                if let (Some((lo, hi)), Some(l)) = (missing, from) {
                    let lo = lo.max(hi.saturating_sub(self.cfg.max_pull - 1));
                    self.pull(now, l, &h.topic, h.author, lo, hi);
                }
                self.accept(now, from, id, frame, h, tidx);
                Ok(())
            }
        }
    }

    /// Tell the host that `author`'s entries `seqs` in `topic` are no longer held.
    pub(super) fn forgotten(&mut self, topic: Topic, author: AgentId, seqs: Vec<u64>) {
        if !seqs.is_empty() {
            self.emit(Event::HeadersForgotten {
                topic,
                author,
                seqs,
            });
        }
    }

    /// Free one header for position `seq` of `author` in `topic` (the table is at
    /// `max_headers`): evict the oldest entry of the unproven author holding the most
    /// entries in any topic (the newest admitted among equals). An unproven `author` that
    /// holds at least as many recycles its own oldest entry instead; with no unproven author
    /// holding anything, `author` recycles its own oldest entry. An author recycles only an
    /// entry older than `seq`. False if nothing may go.
    pub(super) fn make_header_room(
        &mut self,
        now: Now,
        topic: &Topic,
        author: &AgentId,
        seq: u64,
        standing: bool,
    ) -> bool {
        let age = self.cfg.standing_age;
        for ts in self.topics.values_mut() {
            ts.graduate(now.mono, age);
        }
        let own = self.topics.get(topic).and_then(|t| t.logs.get(author));
        let own_len = own.map_or(0, AuthorLog::len);
        let own_older = own.and_then(AuthorLog::low).is_some_and(|low| low < seq);
        let heaviest = self
            .topics
            .iter()
            .filter_map(|(t, ts)| {
                let &(len, order, a) = ts.unproven_by_len.last()?;
                (len > 0).then_some((len, order, a, t))
            })
            .max_by(|x, y| (x.0, x.1, x.2).cmp(&(y.0, y.1, y.2)))
            .map(|(len, _, a, t)| (len, a, t.clone()));
        let (t, a) = match heaviest {
            Some((len, a, t)) if standing || len > own_len => (t, a),
            _ if own_older => (topic.clone(), *author),
            _ => return false,
        };
        let Some(ts) = self.topics.get_mut(&t) else {
            return false;
        };
        let Some(log) = ts.logs.get_mut(&a) else {
            return false;
        };
        let oldest = log.low();
        if !log.evict_oldest() {
            return false;
        }
        ts.sync_len(&a);
        self.headers_total -= 1;
        self.stats.evicted_headers += 1;
        if let Some(seq) = oldest {
            self.forgotten(t, a, vec![seq]);
        }
        true
    }

    /// The pending-body table is full: make room for a fetch announced by `first` (whose
    /// author has `standing` or not) by giving up the newest fetch of an unproven author from
    /// the link that announced the most of those — unless the newcomer is unproven and its own
    /// link announced as many (a link that floods headers nobody serves only recycles its own
    /// share; authors with standing always get a place). False if nothing may go.
    pub(super) fn make_pending_room(&mut self, first: Option<LinkId>, standing: bool) -> bool {
        let mut groups: BTreeMap<Option<LinkId>, (usize, u64, Hash)> = BTreeMap::new();
        for (hash, p) in self.bodies.pending().iter().filter(|(_, p)| !p.standing) {
            let g = groups.entry(p.first).or_insert((0, 0, *hash));
            g.0 += 1;
            if p.order >= g.1 {
                g.1 = p.order;
                g.2 = *hash;
            }
        }
        let Some((&link, &(size, _, victim))) = groups
            .iter()
            .max_by(|a, b| a.1.0.cmp(&b.1.0).then(a.0.cmp(b.0)))
        else {
            return false;
        };
        let own_group = groups.get(&first).map_or(0, |g| g.0);
        if !standing && (link == first || own_group >= size) {
            return false;
        }
        let Some(p) = self.bodies.remove(&victim) else {
            return false;
        };
        self.stats.fetches_evicted += 1;
        for r in &p.requesters {
            self.send_msg(
                Class::Control,
                *r,
                Message::BodyMissing(wire::BodyMissing { hash: victim }),
            );
        }
        if p.own {
            self.emit(Event::BodyUnavailable { hash: victim });
        }
        true
    }
}
