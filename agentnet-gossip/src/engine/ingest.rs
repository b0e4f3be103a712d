//! Header acceptance: the header path, inserting into a log, duplicates, equivocations and
//! equivocation proofs.

use super::*;

impl GossipEngine {
    /// The header path, in the order documented in the crate docs.
    pub(super) fn on_header(
        &mut self,
        now: Now,
        from: Option<LinkId>,
        frame: Bytes,
    ) -> Result<(), GossipError> {
        self.stats.headers_received += 1;
        // 1. Duplicate: one hash over the received bytes, nothing decoded or verified.
        let id = wire::frame_id(&frame);
        if let Some(&seen) = self.seen.get(&id) {
            self.stats.duplicates += 1;
            if let (Some(l), Some(t)) = (from, seen.topic) {
                self.on_duplicate(now, l, t, seen.author);
            }
            return Ok(());
        }
        // 2-3. Size and version (the kind is known to be a header).
        if frame.len() > self.cfg.limits.max_frame {
            return Err(agentnet_core::wire::WireError::FrameTooLarge {
                len: frame.len(),
                max: self.cfg.limits.max_frame,
            }
            .into());
        }
        if frame.first() != Some(&PROTOCOL_VERSION) {
            return Err(agentnet_core::wire::WireError::UnsupportedVersion {
                found: frame.first().copied().unwrap_or(0),
            }
            .into());
        }
        // Per-link rate limit before the signature: it is the CPU guard.
        if let Some(l) = from
            && !self.link_allows(now, l)
        {
            return Err(GossipError::RateLimited);
        }
        // Before paying for the signature, read (unverified) what the header claims: a
        // header in a topic this node does not follow is not verified at all, and one whose
        // claimed author has no standing draws on the node-wide verification budget. Nothing
        // read here is believed: a claim to be an author with standing is checked by the
        // signature right below, and a forgery costs the link its points.
        let unverified = Signed::<LogHeader>::peek_unverified(&frame, &self.cfg.limits)?;
        let claimed = unverified.claimed();
        if !self.topics.contains_key(&claimed.topic) {
            let seen = SeenEntry {
                topic: None,
                author: claimed.author,
            };
            self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
            return Ok(());
        }
        // The wire's guards (this budget, the per-author rate below) do not apply to what the
        // host restores (`from` = None): those headers were accepted before, and a restart
        // must not lose what it had acknowledged.
        if from.is_some()
            && !self.has_standing(now, &claimed.topic, &claimed.author)
            && !self
                .verify_budget
                .take(now.mono, self.cfg.verify_rate, self.cfg.verify_burst)
        {
            self.stats.unverified_busy += 1;
            return Err(GossipError::Busy);
        }
        // 4. Signature (and author == signer), then the decoded fields.
        let h = unverified.verify_cached(&mut self.keys)?;
        // 5. Skew window, TTL, body size, expiry.
        h.validate(now, &self.cfg.header_rules)?;
        let Some(ts) = self.topics.get(&h.topic) else {
            // Not our topic: remember it so copies cost nothing, keep nothing else.
            let seen = SeenEntry {
                topic: None,
                author: h.author,
            };
            self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
            return Ok(());
        };
        let tidx = ts.idx;
        if ts.equivocators.contains(&h.author) || h.author == self.me {
            // Proven equivocators are not relayed; our own entries come back to us only as
            // echoes of what we sent (a different own header would be someone replaying an
            // old one, which the own log handles).
            let seen = SeenEntry {
                topic: Some(tidx),
                author: h.author,
            };
            self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
            return Ok(());
        }
        // 6. Per-author rate limit (after the signature: the author is now known).
        let (rate, burst) = (self.cfg.author_rate, self.cfg.author_burst);
        let known_author = ts
            .logs
            .get(&h.author)
            .is_some_and(|l| l.get(h.seq).is_some());
        if from.is_some() && !known_author {
            if self.author_buckets.len() >= self.cfg.max_authors_per_topic * 2
                && !self.author_buckets.contains_key(&h.author)
            {
                // Forget the bucket idle longest (not one an attacker can pick by its key).
                if let Some((_, k)) = self.bucket_use.pop_first() {
                    self.author_buckets.remove(&k);
                }
            }
            let (b, used) = self
                .author_buckets
                .entry(h.author)
                .or_insert_with(|| (Bucket::full(burst, now.mono), now.mono));
            self.bucket_use.remove(&(*used, h.author));
            *used = now.mono;
            self.bucket_use.insert((now.mono, h.author));
            if !b.take(now.mono, rate, burst) {
                return Err(GossipError::RateLimited);
            }
        }
        // 7. Seq / prev against the log, with memory caps.
        self.insert_header(now, from, id, frame, h)
    }

    /// A new, valid header from another author: relay, announce, maybe fetch its body.
    pub(super) fn accept(
        &mut self,
        now: Now,
        from: Option<LinkId>,
        id: Hash,
        frame: Bytes,
        h: Signed<LogHeader>,
        tidx: u32,
    ) {
        self.stats.headers_accepted += 1;
        let short = ShortId::of(&id);
        self.history.insert(
            short,
            (tidx, h.author, frame.clone()),
            now.mono + HISTORY_TTL,
        );
        self.bodies
            .note_upstream(h.body_hash, tidx, h.author, h.seq, from);
        if let Some(ts) = self.topics.get_mut(&h.topic)
            && ts.wanted.remove(&short).is_some()
        {
            self.repair.unwant(1);
        }
        self.push_header(
            now,
            Class::Forward,
            &h.topic,
            &h.author,
            from,
            short,
            &frame,
        );
        let wanted = self.wants_body(&h);
        self.emit(Event::Header {
            author: h.author,
            topic: h.topic.clone(),
            seq: h.seq,
            hash: h.hash(),
            wanted,
        });
        if wanted
            && !self.have_body(&h.body_hash)
            && !self.bodies.pending().contains_key(&h.body_hash)
        {
            self.stats.bodies_requested += 1;
            self.start_fetch(now, h, from, true, None);
        }
    }

    /// Send a header along `author`'s push tree: in full to the mesh links that did not choke
    /// the author, as an id (batched, at most `lazy_fanout` links) to those that did.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn push_header(
        &mut self,
        now: Now,
        class: Class,
        topic: &Topic,
        author: &AgentId,
        from: Option<LinkId>,
        id: ShortId,
        frame: &Bytes,
    ) {
        let Some(ts) = self.topics.get_mut(topic) else {
            return;
        };
        let (eager, mut lazy) = ts.push_targets(author, from);
        shuffle(&mut self.rng, &mut lazy);
        lazy.truncate(self.cfg.lazy_fanout);
        for l in &lazy {
            ts.lazy.entry(*l).or_default().push(id);
        }
        for l in eager {
            self.send(class, l, frame.clone());
        }
        if !lazy.is_empty() {
            self.schedule_lazy(now);
        }
    }

    /// Plumtree, one tree per author: a second copy of `author`'s header from a mesh peer means
    /// that peer's edge is redundant for this author's messages; ask it to send only ids of
    /// them. Every author thus converges on its own tree of first-arrival (lowest-latency)
    /// paths, and no author's choices cut another author's paths. Repeated duplicates repeat
    /// the choke (it may have been lost); duplicates that are likely answers to our repair
    /// requests choke nothing.
    pub(super) fn on_duplicate(&mut self, now: Now, link: LinkId, tidx: u32, author: AgentId) {
        if self.repair.is_repairing(now.mono, link) {
            return;
        }
        let Some(topic) = self.topic_names.get(&tidx) else {
            return;
        };
        let Some(ts) = self.topics.get(topic) else {
            return;
        };
        if !ts.mesh.contains(&link) {
            return;
        }
        let m = Message::Choke(wire::Choke {
            topic: topic.clone(),
            author,
        });
        self.send_msg(Class::Control, link, m);
    }

    pub(super) fn on_equivocation(
        &mut self,
        now: Now,
        from: Option<LinkId>,
        what: Equivocation,
        proof: EquivocationProof,
    ) {
        let cap = self.cfg.max_authors_per_topic;
        let Some(ts) = self.topics.get_mut(&what.topic) else {
            return;
        };
        if !ts.mark_equivocator(what.author, cap) {
            return;
        }
        // The proof is all that is kept of a proven equivocator: its log (never relayed or
        // served again) makes room for others.
        let seqs = ts.seqs(&what.author);
        self.headers_total -= ts.forget(&what.author);
        self.stats.equivocations += 1;
        let frame = proof.to_frame();
        let id = wire::frame_id(&frame);
        let peers: Vec<LinkId> = ts
            .peers
            .iter()
            .copied()
            .filter(|l| Some(*l) != from)
            .collect();
        let tidx = ts.idx;
        let seen = SeenEntry {
            topic: Some(tidx),
            author: what.author,
        };
        self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
        for l in peers {
            self.send(Class::Control, l, frame.clone());
        }
        self.forgotten(what.topic.clone(), what.author, seqs);
        self.states.remove(&what.author);
        for capability in self.index.remove_provider(&what.author) {
            self.emit(Event::DescriptorForgotten {
                provider: what.author,
                capability,
            });
        }
        self.emit(Event::Equivocation {
            what,
            proof: Box::new(proof),
        });
    }

    pub(super) fn on_proof(
        &mut self,
        now: Now,
        from: LinkId,
        frame: Bytes,
    ) -> Result<(), GossipError> {
        let id = wire::frame_id(&frame);
        if self.seen.get(&id).is_some() {
            return Ok(());
        }
        // Strict, one signature at a time, no other state: every honest node agrees.
        let (proof, what) = EquivocationProof::from_frame(&frame, &self.cfg.limits)?;
        let seen = SeenEntry {
            topic: None,
            author: what.author,
        };
        self.seen.insert(id, seen, now.mono + self.cfg.seen_ttl);
        self.on_equivocation(now, Some(from), what, proof);
        Ok(())
    }

    /// Whether this node wants the body the header `h` announces. A retraction is wanted by
    /// whoever wants the descriptor it ends, and by any node holding a descriptor of its
    /// author (it must learn the capability is gone). An intent is wanted by the intent
    /// interest; a provider state by any node holding a descriptor of its author (it
    /// describes that provider, and is of no use to anyone else).
    pub(super) fn wants_body(&self, h: &LogHeader) -> bool {
        match h.kind {
            EntryKind::DESCRIPTOR => self.interest.wants(&h.topic, h.sketch.as_ref()),
            EntryKind::RETRACTION => {
                self.interest.wants(&h.topic, h.sketch.as_ref())
                    || self.index.holds_provider(&h.author)
            }
            EntryKind::INTENT => self.intent_interest.wants(&h.topic, h.sketch.as_ref()),
            EntryKind::STATE => self.index.holds_provider(&h.author),
            _ => false,
        }
    }
}
