//! Provider states: publishing this node's own (rate-limited, never re-issued) and keeping the
//! latest live state of each provider the discovery index holds.
//!
//! A state is soft state by design: it lives `state_ttl` (at most 60 s) and is not refreshed
//! by the engine. A provider that keeps publishing keeps its state current; one that stops
//! (crashed, partitioned, or simply quiet) leaves no claim behind once the TTL passes.

use super::*;

/// What [`StateTable::offer`] did with a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StateOffer {
    /// Kept (new provider, or newer than the state held).
    Taken,
    /// Not newer than the state held for the provider, or already expired: ignored.
    Stale,
    /// The table is full and every held state expires no sooner than this one: ignored.
    Full,
}

/// The latest state of each provider, at most `cap` of them.
///
/// Bounds and fairness: one state per provider (a newer `issued_at` replaces the held one);
/// at `cap`, expired states make room first, then a newcomer takes the place of the state
/// that expires soonest, if it expires later itself. Room thus goes to the freshest
/// statements. Nobody can pin slots: every state lapses within 60 s (the longest state TTL)
/// unless its provider keeps signing new ones, and the engine offers only states of providers
/// it already admitted to its discovery index, so fresh keys alone buy nothing.
///
/// Expiry: `expiry` orders the states by when they lapse, so the next lapse
/// ([`next_expiry`](Self::next_expiry)) is read in O(log n) and pruning costs nothing when
/// nothing lapsed. [`live`](Self::live) never returns a lapsed state, pruned or not.
#[derive(Debug)]
pub(super) struct StateTable {
    cap: usize,
    by_provider: BTreeMap<AgentId, Signed<ProviderState>>,
    /// (expires_at, provider) of every held state.
    expiry: BTreeSet<(WallTime, AgentId)>,
}

impl StateTable {
    pub(super) fn new(cap: usize) -> Self {
        StateTable {
            cap,
            by_provider: BTreeMap::new(),
            expiry: BTreeSet::new(),
        }
    }

    /// Offer a verified state at wall time `now`; see the type docs for the rules.
    pub(super) fn offer(&mut self, now: WallTime, s: Signed<ProviderState>) -> StateOffer {
        let expires = s.expires_at();
        if expires <= now {
            return StateOffer::Stale;
        }
        let provider = s.provider;
        if let Some(held) = self.by_provider.get(&provider) {
            if s.issued_at <= held.issued_at {
                return StateOffer::Stale;
            }
            self.expiry.remove(&(held.expires_at(), provider));
        } else if self.by_provider.len() >= self.cap {
            self.prune(now);
            if self.by_provider.len() >= self.cap {
                let Some(&(first, victim)) = self.expiry.first() else {
                    return StateOffer::Full;
                };
                if expires <= first {
                    return StateOffer::Full;
                }
                self.remove(&victim);
            }
        }
        self.expiry.insert((expires, provider));
        self.by_provider.insert(provider, s);
        StateOffer::Taken
    }

    /// The state of `provider` if it is live at `now` (issued, not lapsed).
    pub(super) fn live(&self, now: WallTime, provider: &AgentId) -> Option<&Signed<ProviderState>> {
        self.by_provider
            .get(provider)
            .filter(|s| now < s.expires_at())
    }

    /// Drop the state of `provider`; true if one was held.
    pub(super) fn remove(&mut self, provider: &AgentId) -> bool {
        let Some(s) = self.by_provider.remove(provider) else {
            return false;
        };
        self.expiry.remove(&(s.expires_at(), *provider));
        true
    }

    /// Drop every state lapsed at `now`; returns how many.
    pub(super) fn prune(&mut self, now: WallTime) -> usize {
        let mut n = 0;
        while let Some(&(at, provider)) = self.expiry.first() {
            if at > now {
                break;
            }
            self.expiry.pop_first();
            self.by_provider.remove(&provider);
            n += 1;
        }
        n
    }

    /// Keep only the states of providers for which `keep` is true.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&AgentId) -> bool) {
        let gone: Vec<AgentId> = self
            .by_provider
            .keys()
            .filter(|p| !keep(p))
            .copied()
            .collect();
        for p in gone {
            self.remove(&p);
        }
    }

    /// When the next held state lapses.
    pub(super) fn next_expiry(&self) -> Option<WallTime> {
        self.expiry.first().map(|(at, _)| *at)
    }

    /// States held (live or lapsed but not yet pruned).
    pub(super) fn len(&self) -> usize {
        self.by_provider.len()
    }

    /// Panics unless the expiry set and the states agree and the bound holds.
    #[cfg(test)]
    pub(super) fn assert_consistent(&self) {
        assert!(self.by_provider.len() <= self.cap, "over the cap");
        assert_eq!(self.by_provider.len(), self.expiry.len());
        for (p, s) in &self.by_provider {
            assert_eq!(s.provider, *p);
            assert!(self.expiry.contains(&(s.expires_at(), *p)));
        }
    }
}

/// This node's own state publications: when the next may go out, and the newest state
/// given too soon, waiting for that moment.
#[derive(Debug, Default)]
pub(super) struct OwnState {
    /// The earliest time of the next publication (`state_min_interval` after the last).
    pub next_at: Option<Instant>,
    /// The newest state given before `next_at`: (load_bp, available, queued).
    pub waiting: Option<(u16, bool, u32)>,
    /// `issued_at` of the last publication (the next is stamped strictly later, so every
    /// publication supersedes the previous one at receivers).
    pub last_issued: Option<WallTime>,
}

impl OwnState {
    /// When a waiting state is due, if one waits.
    pub(super) fn deadline(&self) -> Option<Instant> {
        self.waiting.and(self.next_at)
    }
}

impl GossipEngine {
    /// Announce this node's current load (`load_bp`, basis points of its capacity,
    /// 0..=10 000), whether it takes new work (`available`) and how many tasks wait in its
    /// queue (`queued`), as a signed [`ProviderState`] with TTL
    /// [`GossipConfig::state_ttl`], in one log entry of kind [`EntryKind::STATE`] per topic
    /// where this node announces a capability ([`publish`](Self::publish)ed and neither
    /// withdrawn nor retracted; each topic once). Nodes holding a descriptor of this node
    /// pull it; their [`discover`](Self::discover) then skips this node while it is not
    /// available and reports the stated load.
    ///
    /// Returns how many entries were appended (each is sent once its head is persisted, as
    /// for [`publish`](Self::publish)). 0 means nothing went out now: either this node
    /// announces no capability, or the last publication was less than
    /// [`GossipConfig::state_min_interval`] ago — then this state waits (replacing any state
    /// already waiting) and goes out, stamped at that time, when the interval has passed (a
    /// timer included in [`poll_timeout`](Engine::poll_timeout)).
    ///
    /// States are never re-issued by the engine: call again whenever the state changes, and
    /// at least once per TTL to keep it. A state not refreshed lapses at its TTL everywhere —
    /// by design, so a provider that stops speaking stops being described.
    ///
    /// Refuses a `load_bp` above 10 000 ([`CommandError::Descriptor`]).
    pub fn publish_state(
        &mut self,
        now: Now,
        load_bp: u16,
        available: bool,
        queued: u32,
    ) -> Result<usize, CommandError> {
        if load_bp > agentnet_core::intent::bounds::LOAD_BP_MAX {
            return Err(DescriptorError::OutOfRange {
                field: "load_bp",
                value: u64::from(load_bp),
                min: 0,
                max: u64::from(agentnet_core::intent::bounds::LOAD_BP_MAX),
            }
            .into());
        }
        if self.own_state.next_at.is_some_and(|t| now.mono < t) {
            self.own_state.waiting = Some((load_bp, available, queued));
            self.after_input(now);
            return Ok(0);
        }
        self.own_state.waiting = None;
        let r = self.send_state(now, load_bp, available, queued);
        self.after_input(now);
        r
    }

    /// The live state held for `provider` at `now` (as pulled from its entries), if any.
    /// Never returns a lapsed state, whether or not it has been pruned yet.
    pub fn provider_state(&self, now: Now, provider: &AgentId) -> Option<&ProviderState> {
        self.states.live(now.wall, provider).map(|s| &**s)
    }

    /// Provider states held, live or lapsed but not yet pruned (at most
    /// [`GossipConfig::max_states`]).
    pub fn state_count(&self) -> usize {
        self.states.len()
    }

    /// Sign the state and append it to the own log of every topic this node announces a
    /// capability in.
    fn send_state(
        &mut self,
        now: Now,
        load_bp: u16,
        available: bool,
        queued: u32,
    ) -> Result<usize, CommandError> {
        let topics: BTreeSet<Topic> = self
            .own_caps
            .values()
            .map(|c| c.template.topic.clone())
            .collect();
        if topics.is_empty() {
            return Ok(0);
        }
        let issued_at = match self.own_state.last_issued {
            Some(last) if last >= now.wall => last + Duration::from_millis(1),
            _ => now.wall,
        };
        let ttl_ms = self.cfg.state_ttl.as_millis() as u32;
        let state = ProviderState {
            provider: self.me,
            load_bp,
            available,
            queued,
            issued_at,
            ttl_ms,
        };
        let body = Signed::sign(&*self.signer, state)?.to_frame();
        self.own_state.last_issued = Some(issued_at);
        self.own_state.next_at = Some(now.mono + self.cfg.state_min_interval);
        let mut n = 0;
        for topic in topics {
            self.append_own(
                now,
                OwnEntry {
                    topic,
                    kind: EntryKind::STATE,
                    body: body.clone(),
                    issued_at,
                    ttl_ms,
                    sketch: None,
                },
            )?;
            n += 1;
        }
        Ok(n)
    }

    /// Timer work for states: drop lapsed ones, and publish a waiting own state whose
    /// interval has passed.
    pub(super) fn states_due(&mut self, now: Now) {
        self.states.prune(now.wall);
        if self.own_state.deadline().is_some_and(|t| t <= now.mono)
            && let Some((load_bp, available, queued)) = self.own_state.waiting.take()
        {
            // Only signing or a full topic table can fail here; the state is then dropped
            // (the host publishes a new one anyway).
            let _ = self.send_state(now, load_bp, available, queued);
        }
    }

    /// The next moment state work is due: a waiting own state, or the next lapse of a held
    /// state (wall time mapped onto the monotonic clock at `now`).
    pub(super) fn state_deadline(&self, now: Now) -> Option<Instant> {
        let lapse = self
            .states
            .next_expiry()
            .map(|w| now.mono + w.saturating_duration_since(now.wall));
        match (lapse, self.own_state.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Ingest a provider-state body the header `h` announced (already checked against the
    /// header's hash). Bad or foreign bodies are skipped: the relayer delivered what the
    /// author committed to.
    pub(super) fn ingest_state(&mut self, now: Now, h: &Signed<LogHeader>, body: &Bytes) {
        let Ok(s) =
            Signed::<ProviderState>::from_frame_cached(body, &self.cfg.limits, &mut self.keys)
        else {
            return;
        };
        if s.provider != h.author
            || s.validate(now, self.cfg.descriptor_rules.max_skew).is_err()
            || self.is_equivocator(&h.topic, &h.author)
            || !self.index.holds_provider(&s.provider)
        {
            return;
        }
        self.stats.bodies_fetched += 1;
        if self.states.offer(now.wall, s.clone()) == StateOffer::Taken {
            self.emit(Event::ProviderState(Box::new(s)));
        }
    }
}

#[cfg(test)]
mod tests;
