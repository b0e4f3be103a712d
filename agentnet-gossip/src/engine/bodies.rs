//! Bodies: fetching the body a header announced (from the relayer, then mesh peers, with
//! deadlines and fallbacks), serving and forwarding body requests, and ingesting a checked
//! descriptor into the discovery index.

use super::*;

impl GossipEngine {
    pub(super) fn body_for(&self, hash: &Hash) -> Option<Bytes> {
        if let Some((_, b)) = self.own_bodies.get(hash) {
            return Some(b.clone());
        }
        self.bodies.get(hash).cloned()
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
        if self.pending.len() >= self.cfg.max_pending_bodies
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
            candidates,
            tried: Vec::new(),
            deadline: now.mono,
            hops,
            first,
            standing,
            order: self.fetches,
        };
        self.fetches += 1;
        if self.ask_next(now, hash, &mut p) {
            self.pending.insert(hash, p);
        }
    }

    /// Ask the next candidate for `p`; false (after telling everyone) if none is left.
    pub(super) fn ask_next(&mut self, now: Now, hash: Hash, p: &mut PendingBody) -> bool {
        self.body_deadlines.remove(&(p.deadline, hash));
        while let Some(l) = p.candidates.pop_front() {
            if !self.links.contains_key(&l) || self.policing.is_banned(now.mono, l) {
                continue;
            }
            p.tried.push(l);
            p.deadline = now.mono + self.cfg.body_timeout;
            self.body_deadlines.insert((p.deadline, hash));
            self.send_msg(
                Class::Control,
                l,
                Message::BodyRequest(wire::BodyRequest { hash, hops: p.hops }),
            );
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

    pub(super) fn retry_body(&mut self, now: Now, hash: Hash) {
        let Some(mut p) = self.pending.remove(&hash) else {
            return;
        };
        if self.ask_next(now, hash, &mut p) {
            self.pending.insert(hash, p);
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
        if let Some(p) = self.pending.get_mut(&m.hash) {
            if !p.requesters.contains(&from) && p.requesters.len() < 16 {
                p.requesters.push(from);
            }
            return Ok(());
        }
        // Forward toward the author along the path the header came by.
        let upstream = self.upstream.get(&m.hash).copied();
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
            .pending
            .get(&hash)
            .is_some_and(|p| p.tried.last() == Some(&from));
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
        let Some(p) = self.pending.get(&m.hash) else {
            // A late answer to a request already served by another peer (or given up) is
            // normal after a retry; a body nobody announced is not.
            if self.have_body(&m.hash) || self.upstream.get(&m.hash).is_some() {
                return Err(GossipError::LateBody);
            }
            return Err(GossipError::Unexpected("unsolicited body"));
        };
        let body = Bytes::from(m.body);
        if wire::body_hash(&body) != m.hash || body.len() != p.header.body_len as usize {
            if !p.tried.contains(&from) {
                return Err(GossipError::Unexpected("wrong body from a link not asked"));
            }
            // Wrong bytes: penalised by the caller; try the next peer.
            self.retry_body(now, m.hash);
            return Err(GossipError::Body(
                "body does not match the header's hash".into(),
            ));
        }
        // The bytes are what the author committed to in a signed header, so they are accepted
        // from any link (a late answer to an earlier attempt included), cached and served
        // whatever they contain.
        let p = self.pending.remove(&m.hash).expect("checked above");
        self.body_deadlines.remove(&(p.deadline, m.hash));
        self.bodies.insert(m.hash, body.clone());
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

    pub(super) fn ingest_body(
        &mut self,
        now: Now,
        h: &Signed<LogHeader>,
        body: &Bytes,
    ) -> Result<(), GossipError> {
        if h.kind != EntryKind::DESCRIPTOR && h.kind != EntryKind::RETRACTION {
            return Ok(());
        }
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
        self.own_bodies.contains_key(hash) || self.bodies.get(hash).is_some()
    }
}
