//! This node's own log entries: publishing, persisting before release, refreshing before
//! expiry, and what a restart gives back (headers and descriptors).

use super::*;

/// One own log entry to append: what the header says besides author, seq and prev, and the
/// body it commits to.
pub(super) struct OwnEntry {
    /// The log's topic.
    pub topic: Topic,
    /// What the body is.
    pub kind: EntryKind,
    /// The body frame (a signed descriptor, intent or provider state).
    pub body: Bytes,
    /// The header's `issued_at` (the body's own stamp).
    pub issued_at: WallTime,
    /// The header's TTL, ms (the body's own).
    pub ttl_ms: u32,
    /// The header's semantic sketch, if the body has a text to match.
    pub sketch: Option<TaggedSketch>,
}

impl GossipEngine {
    /// Feed back headers of other authors this node had accepted before a restart (the host's
    /// store kept them from [`Event::Header`]). Each frame goes through the full header path
    /// (signature, freshness, log checks) as if it came from no link: expired or invalid ones
    /// are skipped. Nothing is sent until links come up. Returns how many were taken back.
    pub fn restore_headers(&mut self, now: Now, frames: impl IntoIterator<Item = Bytes>) -> usize {
        let before = self.stats.headers_accepted;
        for f in frames {
            let _ = self.on_header(now, None, f);
        }
        self.after_input(now);
        (self.stats.headers_accepted - before) as usize
    }

    /// Feed back descriptors this node had indexed before a restart (the signed frames of
    /// [`Event::Descriptor`]). Each is verified and checked for freshness again, must belong
    /// to a subscribed topic and not to a proven equivocator, and is cached so it can be
    /// served to peers. Returns how many entered the index.
    pub fn restore_descriptors(
        &mut self,
        now: Now,
        frames: impl IntoIterator<Item = Bytes>,
    ) -> usize {
        let mut n = 0;
        for f in frames {
            let Ok(d) = descriptor::ingest_cached(
                &f,
                now,
                &self.cfg.descriptor_rules,
                &self.cfg.limits,
                &mut self.keys,
            ) else {
                continue;
            };
            if !self.topics.contains_key(&d.topic) || self.is_equivocator(&d.topic, &d.provider) {
                continue;
            }
            self.bodies.cache(wire::body_hash(&f), f.clone());
            if matches!(
                self.index_descriptor(now, d),
                IndexInsert::New | IndexInsert::Replaced
            ) {
                n += 1;
            }
        }
        self.after_input(now);
        n
    }

    /// Topics the peer on `link` says it follows (from its `Subscribe` messages).
    pub fn link_topics(&self, link: LinkId) -> Vec<Topic> {
        self.links
            .get(&link)
            .map(|l| l.topics.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Sign and append a descriptor (or, marked `retracted`, a retraction) to the own log of
    /// its topic; see [`append_own`](Self::append_own).
    pub(super) fn publish_descriptor(
        &mut self,
        now: Now,
        mut d: CapabilityDescriptor,
    ) -> Result<(Topic, u64), CommandError> {
        d.issued_at = d
            .issued_at
            .max(now.wall.saturating_sub(Duration::from_secs(1)));
        let sketch = self.sketch_of(&intent_text(&d));
        let kind = if d.retracted {
            EntryKind::RETRACTION
        } else {
            EntryKind::DESCRIPTOR
        };
        let (topic, issued_at, ttl_ms) = (d.topic.clone(), d.issued_at, d.ttl_ms);
        let body = Signed::sign(&*self.signer, d)?.to_frame();
        self.append_own(
            now,
            OwnEntry {
                topic,
                kind,
                body,
                issued_at,
                ttl_ms,
                sketch,
            },
        )
    }

    /// The sketch a header carries for `text`, embedded with this node's encoder. A zero
    /// vector (nothing to encode, or a remote model's vector not here yet) sketches to
    /// nothing useful: no sketch rather than one that matches at random.
    pub(super) fn sketch_of(&self, text: &str) -> Option<TaggedSketch> {
        let emb = self.encoder.encode(text);
        (!emb.is_zero()).then(|| TaggedSketch::new(&*self.encoder, &emb))
    }

    /// Append an entry of any kind to this node's log in `e.topic` (subscribing to the topic
    /// if needed): build and sign the header at the next seq, then either hand its head to
    /// the host to persist ([`Event::PersistHead`]; the entry is released by
    /// [`handle_persisted`](Self::handle_persisted)) or, without
    /// [`GossipConfig::persist_before_publish`], release it at once. Every own entry —
    /// descriptor, retraction, intent, provider state — goes through here.
    pub(super) fn append_own(
        &mut self,
        now: Now,
        e: OwnEntry,
    ) -> Result<(Topic, u64), CommandError> {
        let OwnEntry {
            topic,
            kind,
            body,
            issued_at,
            ttl_ms,
            sketch,
        } = e;
        self.subscribe(now, topic.clone())?;
        let own = self.own.entry(topic.clone()).or_insert(OwnLog {
            seq: 0,
            head: None,
            waiting: BTreeMap::new(),
        });
        let header = LogHeader {
            author: self.me,
            topic: topic.clone(),
            seq: own.seq + 1,
            prev: own.head,
            kind,
            body_hash: wire::body_hash(&body),
            body_len: body.len() as u32,
            issued_at,
            ttl_ms,
            sketch,
        };
        let signed = Signed::sign(&*self.signer, header)?;
        own.seq = signed.seq;
        own.head = Some(signed.hash());
        let seq = signed.seq;
        let frame = signed.to_frame();
        if self.cfg.persist_before_publish {
            own.waiting
                .insert(seq, (signed, frame.clone(), body.clone()));
            self.emit(Event::PersistHead(OwnHead {
                topic: topic.clone(),
                seq,
                header: frame,
                body: Some(body),
            }));
        } else {
            self.release_own(now, signed, frame, body);
        }
        Ok((topic, seq))
    }

    /// Keep an own entry: log, seen, history, body.
    pub(super) fn store_own(
        &mut self,
        now: Now,
        h: Signed<LogHeader>,
        frame: Bytes,
        body: Bytes,
    ) -> bool {
        let Some(ts) = self.topics.get_mut(&h.topic) else {
            return false;
        };
        let idx = ts.idx;
        if !ts.logs.contains_key(&self.me) {
            let log = AuthorLog::new(self.cfg.max_entries_per_author);
            let a = admission::next_admission(&mut self.admissions, None, now.mono);
            ts.admit(self.me, log, a, true);
        }
        // Own entries are always kept; at the header cap they make room like any author
        // with standing (if nothing may go, the cap is exceeded by own entries only).
        let grows = ts.logs.get(&self.me).is_some_and(AuthorLog::has_room);
        if grows && self.headers_total >= self.cfg.max_headers {
            let me = self.me;
            self.make_header_room(now, &h.topic, &me, h.seq, true);
        }
        let Some(log) = self
            .topics
            .get_mut(&h.topic)
            .and_then(|t| t.logs.get_mut(&self.me))
        else {
            return false;
        };
        let before = log.len();
        let inserted = matches!(log.insert(h.clone()), Insert::New { .. });
        self.headers_total = self.headers_total + log.len() - before;
        if let Some(ts) = self.topics.get_mut(&h.topic) {
            ts.sync_len(&self.me);
        }
        let id = wire::frame_id(&frame);
        self.seen.insert(
            id,
            SeenEntry {
                topic: Some(idx),
                author: self.me,
            },
            now.mono + self.cfg.seen_ttl,
        );
        self.history.insert(
            ShortId::of(&id),
            (idx, self.me, frame),
            now.mono + HISTORY_TTL,
        );
        if !body.is_empty() {
            self.own_bodies.insert(h.body_hash, (h.expires_at(), body));
        }
        self.bodies
            .note_upstream(h.body_hash, idx, self.me, h.seq, None);
        inserted
    }

    pub(super) fn release_own(
        &mut self,
        now: Now,
        h: Signed<LogHeader>,
        frame: Bytes,
        body: Bytes,
    ) {
        let topic = h.topic.clone();
        let seq = h.seq;
        if !self.store_own(now, h, frame.clone(), body) {
            return;
        }
        let id = ShortId::of(&wire::frame_id(&frame));
        let me = self.me;
        self.push_header(now, Class::Publish, &topic, &me, None, id, &frame);
        self.emit(Event::Published { topic, seq });
    }

    pub(super) fn refresh_own(&mut self, now: Now) {
        let due: Vec<String> = self
            .own_caps
            .iter()
            .filter(|(_, c)| c.refresh_at <= now.wall)
            .map(|(k, _)| k.clone())
            .collect();
        for cap in due {
            let Some(c) = self.own_caps.get(&cap) else {
                continue;
            };
            let mut d = c.template.clone();
            d.issued_at = now.wall;
            let refresh_at = d.refresh_at(self.cfg.refresh_fraction);
            if self.publish_descriptor(now, d).is_ok()
                && let Some(c) = self.own_caps.get_mut(&cap)
            {
                c.refresh_at = refresh_at;
            } else {
                self.own_caps.remove(&cap);
            }
        }
    }
}
