//! Bodies: fetching the body a header announced (from the relayer, then mesh peers, with
//! deadlines and fallbacks), serving and forwarding body requests, and ingesting a checked
//! body by its kind (descriptors into the discovery index; intents and provider states in
//! `intents` and `states`).

use super::*;

/// Where an upstream body comes from: the header that announced it (topic idx, author, seq)
/// and the link the header came from (`None` for this node's own entries).
type Upstream = (u32, AgentId, u64, Option<LinkId>);

/// The bodies concern: bodies cached to serve requests, where to forward a request for a body
/// not held, and the fetches in flight with their deadlines.
///
/// Bounds: the cache holds at most [`GossipConfig::body_cache_bytes`] bytes (oldest evicted
/// first); `upstream` at most [`GossipConfig::max_headers`] entries (oldest first; they never
/// expire by time); `pending` at most [`GossipConfig::max_pending_bodies`] fetches (the engine
/// makes room before starting one, see `make_pending_room`), and `deadlines` one entry per
/// fetch in `pending`.
///
/// Deadline: the earliest deadline of the fetches in flight
/// ([`next_deadline`](Self::next_deadline)), when the current candidate of that fetch is given
/// up for the next one.
#[derive(Debug)]
pub(super) struct Bodies {
    /// Bodies kept to serve requests (received for this node or forwarded).
    cache: BodyCache,
    /// Body hash → (topic idx, author, seq, link the header came from): where to forward a
    /// body request. Bounded by `max_headers`; entries never expire by time.
    upstream: Fifo<Hash, Upstream>,
    /// Fetches in flight (own and forwarded), by body hash.
    pending: BTreeMap<Hash, PendingBody>,
    /// (deadline, body hash) of every fetch in `pending`, earliest first.
    deadlines: BTreeSet<(Instant, Hash)>,
    /// Body fetches started so far (orders them: larger is newer).
    fetches: u64,
}

impl Bodies {
    pub(super) fn new(cache_bytes: usize, max_headers: usize) -> Self {
        Bodies {
            cache: BodyCache::new(cache_bytes),
            upstream: Fifo::new(max_headers),
            pending: BTreeMap::new(),
            deadlines: BTreeSet::new(),
            fetches: 0,
        }
    }

    /// The earliest deadline of a fetch in flight.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(d, _)| *d)
    }

    /// The next fetch whose current candidate's deadline has passed at `now`, its deadline
    /// taken off; deadlines no longer current are dropped on the way. `None` when no deadline
    /// is due.
    pub(super) fn pop_due(&mut self, now: Instant) -> Option<Hash> {
        while let Some(&(t, hash)) = self.deadlines.first() {
            if t > now {
                break;
            }
            self.deadlines.pop_first();
            if self.pending.get(&hash).is_some_and(|p| p.deadline == t) {
                return Some(hash);
            }
        }
        None
    }

    /// A cached body.
    pub(super) fn cached(&self, hash: &Hash) -> Option<&Bytes> {
        self.cache.get(hash)
    }

    /// Keep `body` (whose hash is `hash`) to serve requests.
    pub(super) fn cache(&mut self, hash: Hash, body: Bytes) {
        self.cache.insert(hash, body);
    }

    /// Approximate bytes held in the cache.
    pub(super) fn cache_bytes(&self) -> usize {
        self.cache.bytes()
    }

    /// Remember where a request for the body `hash` goes: the header at (`tidx`, `author`,
    /// `seq`) announced it, and came from `from`.
    pub(super) fn note_upstream(
        &mut self,
        hash: Hash,
        tidx: u32,
        author: AgentId,
        seq: u64,
        from: Option<LinkId>,
    ) {
        self.upstream.insert(hash, (tidx, author, seq, from), NEVER);
    }

    /// Where a request for the body `hash` goes, if known.
    pub(super) fn upstream(&self, hash: &Hash) -> Option<Upstream> {
        self.upstream.get(hash).copied()
    }

    /// The fetches in flight.
    pub(super) fn pending(&self) -> &BTreeMap<Hash, PendingBody> {
        &self.pending
    }

    /// The fetch of `hash` in flight, to change.
    pub(super) fn pending_mut(&mut self, hash: &Hash) -> Option<&mut PendingBody> {
        self.pending.get_mut(hash)
    }

    /// The order of a fetch starting now (larger is newer).
    pub(super) fn next_order(&mut self) -> u64 {
        let order = self.fetches;
        self.fetches += 1;
        order
    }

    /// Put the fetch `p` of `hash` in flight (its deadline already set by
    /// [`set_deadline`](Self::set_deadline)).
    pub(super) fn insert(&mut self, hash: Hash, p: PendingBody) {
        self.pending.insert(hash, p);
    }

    /// Take the fetch of `hash` out of flight, with its deadline.
    pub(super) fn remove(&mut self, hash: &Hash) -> Option<PendingBody> {
        let p = self.pending.remove(hash)?;
        self.deadlines.remove(&(p.deadline, *hash));
        Some(p)
    }

    /// Drop the deadline of the fetch `p` of `hash`.
    pub(super) fn clear_deadline(&mut self, hash: Hash, p: &PendingBody) {
        self.deadlines.remove(&(p.deadline, hash));
    }

    /// Give the fetch `p` of `hash` the deadline `at`.
    pub(super) fn set_deadline(&mut self, hash: Hash, p: &mut PendingBody, at: Instant) {
        p.deadline = at;
        self.deadlines.insert((at, hash));
    }

    /// The fetches whose current candidate is `link` (it went down).
    pub(super) fn stuck_on(&self, link: LinkId) -> Vec<Hash> {
        self.pending
            .iter()
            .filter(|(_, p)| p.current == Some(link))
            .map(|(h, _)| *h)
            .collect()
    }

    /// Forget `link` as a requester of every fetch in flight.
    pub(super) fn forget_requester(&mut self, link: LinkId) {
        for p in self.pending.values_mut() {
            p.requesters.retain(|r| *r != link);
        }
    }
}

impl GossipEngine {
    pub(super) fn body_for(&self, hash: &Hash) -> Option<Bytes> {
        if let Some((_, b)) = self.own_bodies.get(hash) {
            return Some(b.clone());
        }
        self.bodies.cached(hash).cloned()
    }

    /// Start (or join) a fetch of the body of `h`, first from `first`, then from mesh peers.
    pub(super) fn start_fetch(
        &mut self,
        now: Now,
        h: Signed<LogHeader>,
        first: Option<LinkId>,
        own: bool,
        requester: Option<(LinkId, u8)>,
    ) {
        let standing = self.has_standing(now, &h.topic, &h.author);
        if self.bodies.pending().len() >= self.cfg.max_pending_bodies
            && !self.make_pending_room(first, standing)
        {
            if let Some((l, _)) = requester {
                self.send_msg(
                    Class::Control,
                    l,
                    Message::BodyMissing(wire::BodyMissing { hash: h.body_hash }),
                );
            }
            if own {
                self.emit(Event::BodyUnavailable { hash: h.body_hash });
            }
            return;
        }
        let mut candidates: VecDeque<LinkId> = VecDeque::new();
        if let Some(l) = first {
            candidates.push_back(l);
        }
        if let Some(ts) = self.topics.get(&h.topic) {
            let mut others: Vec<LinkId> = ts
                .mesh
                .iter()
                .copied()
                .filter(|l| Some(*l) != first && requester.map(|r| r.0) != Some(*l))
                .collect();
            shuffle(&mut self.rng, &mut others);
            candidates.extend(others);
        }
        candidates.truncate(usize::from(self.cfg.body_attempts));
        let hops = requester.map_or(self.cfg.body_hops, |(_, h)| h);
        let hash = h.body_hash;
        let mut p = PendingBody {
            header: h,
            own,
            requesters: requester.map(|r| r.0).into_iter().collect(),
            pool: candidates.iter().copied().collect(),
            candidates,
            tried: Vec::new(),
            current: None,
            retries: 0,
            waiting: false,
            deadline: now.mono,
            hops,
            first,
            standing,
            order: self.bodies.next_order(),
        };
        if self.ask_next(now, hash, &mut p) {
            self.bodies.insert(hash, p);
        }
    }

    /// Ask the next candidate for `p`, start the next round of a fetch whose backoff is over,
    /// or end a round: wait before the next (see [`still_wanted`](Self::still_wanted)), or
    /// give up. False (after telling everyone) once the fetch is given up.
    pub(super) fn ask_next(&mut self, now: Now, hash: Hash, p: &mut PendingBody) -> bool {
        self.bodies.clear_deadline(hash, p);
        p.current = None;
        // A backoff is over: ask the same peers again, unless the body is no longer worth it
        // (then the fetch ends below).
        if std::mem::take(&mut p.waiting) && self.still_wanted(now, p) {
            p.candidates = p.pool.iter().copied().collect();
        }
        while let Some(l) = p.candidates.pop_front() {
            if !self.links.contains_key(&l) || self.policing.is_banned(now.mono, l) {
                continue;
            }
            if !p.tried.contains(&l) {
                p.tried.push(l);
            }
            p.current = Some(l);
            self.bodies
                .set_deadline(hash, p, now.mono + self.cfg.body_timeout);
            self.send_msg(
                Class::Control,
                l,
                Message::BodyRequest(wire::BodyRequest { hash, hops: p.hops }),
            );
            return true;
        }
        // Every candidate of this round failed. A lost request or answer is the usual cause
        // on a thin link, and with a single peer giving up now would leave the body unfetched
        // until the header is announced again; so the same peers are asked again, after
        // `body_timeout`, then twice as long each round (a peer that is slow or overloaded is
        // not hammered), at most `body_retries` times (the fetch keeps its pending slot, and
        // a fetch nobody can serve must end).
        if p.retries < self.cfg.body_retries && !p.pool.is_empty() && self.still_wanted(now, p) {
            p.retries += 1;
            p.waiting = true;
            let backoff = self
                .cfg
                .body_timeout
                .saturating_mul(1 << (p.retries - 1).min(31));
            self.bodies
                .set_deadline(hash, p, now.mono.saturating_add(backoff));
            // Forwarded requesters run their own timeouts and retries: they are told now
            // rather than held through a backoff they did not ask for.
            for r in std::mem::take(&mut p.requesters) {
                self.send_msg(
                    Class::Control,
                    r,
                    Message::BodyMissing(wire::BodyMissing { hash }),
                );
            }
            return true;
        }
        for r in &p.requesters {
            self.send_msg(
                Class::Control,
                *r,
                Message::BodyMissing(wire::BodyMissing { hash }),
            );
        }
        if p.own {
            self.emit(Event::BodyUnavailable { hash });
        }
        false
    }

    /// Whether the fetch `p` is worth another round: this node wants the body for itself
    /// (interests change), and still holds the header that announced it, unexpired.
    fn still_wanted(&self, now: Now, p: &PendingBody) -> bool {
        let h = &p.header;
        p.own
            && self.wants_body(h)
            && self
                .topics
                .get(&h.topic)
                .and_then(|ts| ts.logs.get(&h.author))
                .and_then(|log| log.get(h.seq))
                .is_some_and(|held| held.body_hash == h.body_hash && now.wall < held.expires_at())
    }

    pub(super) fn retry_body(&mut self, now: Now, hash: Hash) {
        let Some(mut p) = self.bodies.remove(&hash) else {
            return;
        };
        if self.ask_next(now, hash, &mut p) {
            self.bodies.insert(hash, p);
        }
    }

    pub(super) fn on_body_request(
        &mut self,
        now: Now,
        from: LinkId,
        m: wire::BodyRequest,
    ) -> Result<(), GossipError> {
        if let Some(body) = self.body_for(&m.hash) {
            self.stats.bodies_served += 1;
            let msg = Message::Body(wire::Body {
                hash: m.hash,
                body: body.to_vec(),
            });
            self.send_msg(Class::Forward, from, msg);
            return Ok(());
        }
        if let Some(p) = self.bodies.pending_mut(&m.hash) {
            if !p.requesters.contains(&from) && p.requesters.len() < 16 {
                p.requesters.push(from);
            }
            return Ok(());
        }
        // Forward toward the author along the path the header came by.
        let upstream = self.bodies.upstream(&m.hash);
        let header = upstream.and_then(|(tidx, author, seq, _)| {
            let topic = self.topic_names.get(&tidx)?;
            self.topics.get(topic)?.logs.get(&author)?.get(seq).cloned()
        });
        match (header, upstream) {
            (Some(h), Some((_, _, _, up))) if m.hops > 0 && h.body_hash == m.hash => {
                let first = up.filter(|l| *l != from);
                // The sender picks `hops`; a forwarded request never travels further than one
                // this node starts itself would, so no peer can send a request around the
                // mesh for 255 hops.
                let hops = (m.hops - 1).min(self.cfg.body_hops.saturating_sub(1));
                self.start_fetch(now, h, first, false, Some((from, hops)));
            }
            _ => self.send_msg(
                Class::Control,
                from,
                Message::BodyMissing(wire::BodyMissing { hash: m.hash }),
            ),
        }
        Ok(())
    }

    pub(super) fn on_body_missing(&mut self, now: Now, from: LinkId, hash: Hash) {
        let current = self
            .bodies
            .pending()
            .get(&hash)
            .is_some_and(|p| p.current == Some(from));
        if current {
            self.retry_body(now, hash);
        }
    }

    pub(super) fn on_body(
        &mut self,
        now: Now,
        from: LinkId,
        m: wire::Body,
    ) -> Result<(), GossipError> {
        let Some(p) = self.bodies.pending().get(&m.hash) else {
            // A late answer to a request already served by another peer (or given up) is
            // normal after a retry; a body nobody announced is not.
            if self.have_body(&m.hash) || self.bodies.upstream(&m.hash).is_some() {
                return Err(GossipError::LateBody);
            }
            return Err(GossipError::Unexpected("unsolicited body"));
        };
        let body = Bytes::from(m.body);
        if wire::body_hash(&body) != m.hash || body.len() != p.header.body_len as usize {
            if !p.tried.contains(&from) {
                return Err(GossipError::Unexpected("wrong body from a link not asked"));
            }
            // Wrong bytes: penalised by the caller; try the next peer (unless the fetch is
            // waiting out a backoff: then the next round comes when it ends).
            if !p.waiting {
                self.retry_body(now, m.hash);
            }
            return Err(GossipError::Body(
                "body does not match the header's hash".into(),
            ));
        }
        // The bytes are what the author committed to in a signed header, so they are accepted
        // from any link (a late answer to an earlier attempt included), cached and served
        // whatever they contain.
        let p = self.bodies.remove(&m.hash).expect("checked above");
        self.bodies.cache(m.hash, body.clone());
        for r in &p.requesters {
            self.stats.bodies_served += 1;
            let msg = Message::Body(wire::Body {
                hash: m.hash,
                body: body.to_vec(),
            });
            self.send_msg(Class::Forward, *r, msg);
        }
        if p.own {
            self.ingest_body(now, &p.header, &body)?;
        }
        Ok(())
    }

    /// Embed a verified descriptor's intent and put it in the discovery index.
    /// The provider's standing (in the descriptor's topic) decides whether it may be evicted
    /// for newcomers when the index is full.
    pub(super) fn index_descriptor(
        &mut self,
        now: Now,
        d: Signed<CapabilityDescriptor>,
    ) -> IndexInsert {
        let emb = self.encoder.encode(&intent_text(&d));
        let standing = self.has_standing(now, &d.topic, &d.provider);
        let r = self.index.insert_with_standing(now, d, emb, standing);
        if let Some((provider, capability)) = self.index.last_evicted().cloned() {
            self.emit(Event::DescriptorForgotten {
                provider,
                capability,
            });
        }
        r
    }

    /// Ingest a body this node pulled for itself, by the kind its header announced.
    pub(super) fn ingest_body(
        &mut self,
        now: Now,
        h: &Signed<LogHeader>,
        body: &Bytes,
    ) -> Result<(), GossipError> {
        match h.kind {
            EntryKind::DESCRIPTOR | EntryKind::RETRACTION => self.ingest_descriptor(now, h, body),
            EntryKind::INTENT => {
                self.ingest_intent(now, h, body);
                Ok(())
            }
            EntryKind::STATE => {
                self.ingest_state(now, h, body);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn ingest_descriptor(
        &mut self,
        now: Now,
        h: &Signed<LogHeader>,
        body: &Bytes,
    ) -> Result<(), GossipError> {
        let d = descriptor::ingest_cached(
            body,
            now,
            &self.cfg.descriptor_rules,
            &self.cfg.limits,
            &mut self.keys,
        );
        let d = match d {
            Ok(d) => d,
            // The author signed a header committing to a bad body: nothing to index. The
            // relayer delivered exactly what the author announced, so it is not penalised.
            Err(_) => return Ok(()),
        };
        // The header's kind must say what the body is: a retraction travels as one.
        let retraction = h.kind == EntryKind::RETRACTION;
        if d.provider != h.author || d.topic != h.topic || d.retracted != retraction {
            return Ok(());
        }
        if self.is_equivocator(&h.topic, &h.author) {
            return Ok(());
        }
        self.stats.bodies_fetched += 1;
        match self.index_descriptor(now, d.clone()) {
            IndexInsert::New | IndexInsert::Replaced if retraction => {
                self.emit(Event::Retracted(Box::new(d)));
            }
            IndexInsert::New | IndexInsert::Replaced => {
                self.emit(Event::Descriptor(Box::new(d)));
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn have_body(&self, hash: &Hash) -> bool {
        self.own_bodies.contains_key(hash) || self.bodies.cached(hash).is_some()
    }
}
