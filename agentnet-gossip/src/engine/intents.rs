//! Intents: announcing this node's calls for bids, the separate interest that decides which
//! intents of others to pull, and reporting each pulled intent once.

use super::*;

impl GossipEngine {
    /// Announce `intent` (which must name this node as requester) in its topic: sign it,
    /// append it to this node's log in that topic as an entry of kind [`EntryKind::INTENT`]
    /// (TTL and `issued_at` the intent's own, sketch of its summary and tags, see
    /// [`announcement_text`]), subscribing to the topic if needed. Providers whose intent
    /// interest ([`set_intent_interest`](Self::set_intent_interest)) matches the sketch pull
    /// it and report [`Event::Intent`].
    ///
    /// Returns the log position and the intent's id ([`IntentAnnouncement::id_of`], which
    /// bids name). As with [`publish`](Self::publish), the entry is sent once the host has
    /// persisted its head. Intents are not re-issued: one that lapses is gone; announce a new
    /// one (another nonce) to ask again.
    ///
    /// Refuses an intent of another requester ([`CommandError::NotOurs`]) or one that fails
    /// [`IntentAnnouncement::validate`] under [`GossipConfig::descriptor_rules`]
    /// ([`CommandError::Descriptor`]).
    pub fn publish_intent(
        &mut self,
        now: Now,
        intent: IntentAnnouncement,
    ) -> Result<(Topic, u64, IntentId), CommandError> {
        if intent.requester != self.me {
            return Err(CommandError::NotOurs(intent.requester));
        }
        let signed = Signed::sign(&*self.signer, intent)?;
        self.publish_signed_intent(now, &signed)
    }

    /// [`publish_intent`](Self::publish_intent) for an intent the caller signed already (the
    /// requester's agent signs once, and judges bids by exactly the announcement sent). It
    /// must be signed by this node's key.
    pub fn publish_signed_intent(
        &mut self,
        now: Now,
        signed: &Signed<IntentAnnouncement>,
    ) -> Result<(Topic, u64, IntentId), CommandError> {
        if signed.requester != self.me {
            return Err(CommandError::NotOurs(signed.requester));
        }
        signed.validate(now, &self.cfg.descriptor_rules)?;
        let sketch = self.sketch_of(&announcement_text(signed));
        let (topic, issued_at, ttl_ms) = (signed.topic.clone(), signed.issued_at, signed.ttl_ms);
        let id = IntentAnnouncement::id_of(signed);
        let (topic, seq) = self.append_own(
            now,
            OwnEntry {
                topic,
                kind: EntryKind::INTENT,
                body: signed.to_frame(),
                issued_at,
                ttl_ms,
                sketch,
            },
        )?;
        self.after_input(now);
        Ok((topic, seq, id))
    }

    /// Decide which intents of others to pull from now on: an [`EntryKind::INTENT`] header is
    /// wanted when `profile` wants its topic and sketch ([`InterestProfile::wants`]). Separate
    /// from the descriptor interest ([`set_interest`](Self::set_interest)): a provider
    /// describes here the work it would bid on, which need not be a capability it announces.
    /// Default [`InterestProfile::none`].
    pub fn set_intent_interest(&mut self, profile: InterestProfile) {
        self.intent_interest = profile;
    }

    /// The intent interest in force.
    pub fn intent_interest(&self) -> &InterestProfile {
        &self.intent_interest
    }

    /// An interest profile wanting headers similar to `texts`, sketched with this engine's
    /// encoder (so they compare with what peers using the same model announce); see
    /// [`InterestProfile::from_texts`].
    pub fn interest_from_texts(&self, texts: &[&str], threshold: f32) -> InterestProfile {
        InterestProfile::from_texts(&*self.encoder, texts, threshold)
    }

    /// Cosine similarity of two texts under this engine's encoder (`[-1, 1]`; 0 when either
    /// has no vector yet, as with a remote encoder's miss).
    pub fn text_similarity(&self, a: &str, b: &str) -> f32 {
        let (x, y) = (self.encoder.encode(a), self.encoder.encode(b));
        if x.is_zero() || y.is_zero() {
            return 0.0;
        }
        x.cosine(&y)
    }

    /// Ingest an intent body the header `h` announced (already checked against the header's
    /// hash). Bad or foreign bodies are skipped: the relayer delivered what the author
    /// committed to.
    pub(super) fn ingest_intent(&mut self, now: Now, h: &Signed<LogHeader>, body: &Bytes) {
        let Ok(i) =
            Signed::<IntentAnnouncement>::from_frame_cached(body, &self.cfg.limits, &mut self.keys)
        else {
            return;
        };
        if i.requester != h.author
            || i.topic != h.topic
            || i.validate(now, &self.cfg.descriptor_rules).is_err()
            || self.is_equivocator(&h.topic, &h.author)
        {
            return;
        }
        self.stats.bodies_fetched += 1;
        let id = IntentAnnouncement::id_of(&i);
        if self.intents_seen.get(&id).is_some() {
            return;
        }
        // Remembered as long as the intent could still be accepted (it was issued at most the
        // skew window ahead and lives at most the longest intent TTL): the same deadline
        // offset for every id keeps the set's expiry in insertion order.
        let memory =
            Duration::from_millis(u64::from(agentnet_core::intent::bounds::INTENT_TTL_MAX))
                + self.cfg.descriptor_rules.max_skew;
        self.intents_seen
            .insert(id, (), now.mono.saturating_add(memory));
        self.emit(Event::Intent(Box::new(i)));
    }
}
