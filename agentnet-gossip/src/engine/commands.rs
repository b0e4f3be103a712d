//! Host commands: standing, interest, subscriptions, publishing, withdrawing and retracting
//! capabilities, and restoring persisted logs.

use super::*;

impl GossipEngine {
    // =========================================================================================
    // Commands
    // =========================================================================================

    /// Vouch for `author` (`standing = true`) or stop vouching. The host decides whom: for
    /// example providers with reputation or verified deliveries. Authors with standing are
    /// never evicted from a full topic or the discovery index to admit newcomers, and
    /// are admitted into a full topic ahead of unproven authors. At most
    /// [`GossipConfig::max_standing`] authors; beyond that
    /// [`CommandError::TooManyStanding`] (withdraw some first).
    pub fn set_standing(
        &mut self,
        now: Now,
        author: AgentId,
        standing: bool,
    ) -> Result<(), CommandError> {
        if standing {
            if !self.standing.contains(&author) && self.standing.len() >= self.cfg.max_standing {
                return Err(CommandError::TooManyStanding);
            }
            self.standing.insert(author);
            for ts in self.topics.values_mut() {
                ts.make_proven(&author);
            }
            self.index.set_standing(&author, true);
        } else if self.standing.remove(&author) {
            let age = self.cfg.standing_age;
            let mut any = author == self.me;
            for ts in self.topics.values_mut() {
                let Some(a) = ts.admitted.get(&author) else {
                    continue;
                };
                if author == self.me || now.mono.saturating_duration_since(a.at) >= age {
                    any = true;
                    continue;
                }
                let len = ts.logs.get(&author).map_or(0, AuthorLog::len);
                ts.make_unproven(&author, len);
            }
            self.index.set_standing(&author, any);
        }
        Ok(())
    }

    /// Decide which bodies to pull from now on.
    pub fn set_interest(&mut self, profile: InterestProfile) {
        self.interest = profile;
    }

    /// The interest profile in force.
    pub fn interest(&self) -> &InterestProfile {
        &self.interest
    }

    /// Join `topic`: tell every link and graft mesh peers.
    pub fn subscribe(&mut self, now: Now, topic: Topic) -> Result<(), CommandError> {
        if self.topics.contains_key(&topic) {
            return Ok(());
        }
        if self.topics.len() >= self.cfg.max_topics {
            return Err(CommandError::TooManyTopics);
        }
        // Headers of topics this node did not follow were remembered only to make copies
        // free; one of them may be in this topic, and must be taken when it comes again
        // (from anti-entropy, or a restart's restore).
        self.seen.retain(|_, s| s.topic.is_some());
        let idx = self.next_topic_idx;
        self.next_topic_idx = self.next_topic_idx.wrapping_add(1);
        let sync = now.mono + jitter(&mut self.rng, self.cfg.anti_entropy);
        let mut ts = TopicState::new(idx, sync);
        for (l, st) in &self.links {
            if st.topics.contains(&topic) && !self.policing.is_banned(now.mono, *l) {
                ts.peers.insert(*l);
            }
        }
        self.topic_names.insert(idx, topic.clone());
        self.topics.insert(topic.clone(), ts);
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        let msg = Message::Subscribe(wire::Subscribe {
            join: vec![topic.clone()],
            leave: vec![],
        })
        .encode();
        for l in links {
            self.send(Class::Control, l, msg.clone());
        }
        self.maintain_mesh(now, &topic);
        self.after_input(now);
        Ok(())
    }

    /// Leave `topic`: tell every link, leave the mesh and forget the topic's headers (the own
    /// log's head is kept, so a later re-join continues the sequence).
    pub fn unsubscribe(&mut self, now: Now, topic: &Topic) {
        let Some(ts) = self.topics.remove(topic) else {
            return;
        };
        self.topic_names.remove(&ts.idx);
        self.headers_total -= ts.header_count();
        self.repair.unwant(ts.wanted.len());
        let msg = Message::Subscribe(wire::Subscribe {
            join: vec![],
            leave: vec![topic.clone()],
        })
        .encode();
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for l in links {
            self.send(Class::Control, l, msg.clone());
        }
        let prune = Message::Prune(wire::Prune {
            topic: topic.clone(),
            backoff_ms: self.cfg.prune_backoff.as_millis() as u32,
        })
        .encode();
        for l in &ts.mesh {
            self.send(Class::Control, *l, prune.clone());
        }
        self.after_input(now);
    }

    /// Announce `descriptor` (which must name this node as provider) in its topic, and keep
    /// re-issuing it before it expires until [`withdraw`](Self::withdraw). Subscribes to the
    /// topic if needed. Returns the (topic, seq) of the new log entry; the entry is sent after
    /// the host confirms [`Event::PersistHead`] through
    /// [`handle_persisted`](Self::handle_persisted) (unless
    /// [`GossipConfig::persist_before_publish`] is off).
    pub fn publish(
        &mut self,
        now: Now,
        descriptor: CapabilityDescriptor,
    ) -> Result<(Topic, u64), CommandError> {
        if descriptor.provider != self.me {
            return Err(CommandError::NotOurs(descriptor.provider));
        }
        descriptor.validate(now, &self.cfg.descriptor_rules)?;
        let r = self.publish_descriptor(now, descriptor.clone())?;
        let refresh_at = descriptor.refresh_at(self.cfg.refresh_fraction);
        self.own_caps.insert(
            descriptor.capability.clone(),
            OwnCapability {
                template: descriptor,
                refresh_at,
            },
        );
        self.after_input(now);
        Ok(r)
    }

    /// Stop re-issuing the capability. Receivers drop it when its TTL ends (until then it
    /// can still be found and replayed; [`retract`](Self::retract) ends it at once).
    pub fn withdraw(&mut self, capability: &str) -> bool {
        self.own_caps.remove(capability).is_some()
    }

    /// Withdraw the capability *now*: stop re-issuing it and publish a signed retraction
    /// (a newer version of the descriptor marked
    /// [`retracted`](CapabilityDescriptor::retracted), in a log entry of kind
    /// [`EntryKind::RETRACTION`], with the descriptor's TTL so it outlives every copy of
    /// the old one). Receivers replace the descriptor with it, stop offering the capability
    /// and refuse replays of older versions while it lasts. Returns the log position, or
    /// `None` if this engine does not announce `capability`.
    pub fn retract(
        &mut self,
        now: Now,
        capability: &str,
    ) -> Result<Option<(Topic, u64)>, CommandError> {
        let Some(own) = self.own_caps.remove(capability) else {
            return Ok(None);
        };
        let mut d = own.template;
        d.retracted = true;
        d.issued_at = now.wall;
        let r = self.publish_descriptor(now, d)?;
        self.after_input(now);
        Ok(Some(r))
    }

    /// The host stored the own head (`topic`, `seq`): send every entry up to it.
    pub fn handle_persisted(&mut self, now: Now, topic: &Topic, seq: u64) {
        let Some(o) = self.own.get_mut(topic) else {
            return;
        };
        let rest = o.waiting.split_off(&(seq + 1));
        let ready = core::mem::replace(&mut o.waiting, rest);
        for (_, (h, frame, body)) in ready {
            self.release_own(now, h, frame, body);
        }
        self.after_input(now);
    }

    /// Take back the own log heads persisted before a restart. Call once, right after
    /// [`new`](Self::new) and before anything else. Topics of restored heads are subscribed.
    pub fn restore(
        &mut self,
        now: Now,
        heads: impl IntoIterator<Item = OwnHead>,
    ) -> Result<(), CommandError> {
        for head in heads {
            let h = Signed::<LogHeader>::from_frame_cached(
                &head.header,
                &self.cfg.limits,
                &mut self.keys,
            )
            .map_err(|e| CommandError::Restore(e.to_string()))?;
            if h.author != self.me || h.topic != head.topic || h.seq != head.seq {
                return Err(CommandError::Restore(
                    "record is not this node's header for that topic and seq".into(),
                ));
            }
            let newer = self.own.get(&h.topic).is_none_or(|o| o.seq < h.seq);
            if !newer {
                continue;
            }
            self.own.insert(
                h.topic.clone(),
                OwnLog {
                    seq: h.seq,
                    head: Some(h.hash()),
                    waiting: BTreeMap::new(),
                },
            );
            self.subscribe(now, h.topic.clone())?;
            if h.validate(now, &self.cfg.header_rules).is_ok() {
                let body = head.body.unwrap_or_default();
                self.store_own(now, h, head.header, body);
            }
        }
        self.after_input(now);
        Ok(())
    }
}
