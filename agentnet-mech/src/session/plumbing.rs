//! Engine plumbing: running inputs and commands, signing, session lookups and state changes,
//! link routing of outgoing frames, persistence events, and the event and transmit queues.

use super::*;

impl Sessions {
    // =========================================================================================
    // Plumbing
    // =========================================================================================

    /// Run an input or command: passed deadlines first, then `f`, then overflow reporting.
    pub(super) fn run<R>(
        &mut self,
        now: Now,
        f: impl FnOnce(&mut Self) -> Result<R, SessionError>,
    ) -> Result<R, SessionError> {
        self.expire(now);
        f(self)
    }

    /// Sign `value` and frame it, refusing a frame the counterparty's limits (assumed equal to
    /// ours) would refuse: never send what we would not accept.
    pub(super) fn sign<T: SignedObject>(
        &self,
        value: T,
    ) -> Result<(Signed<T>, Bytes), SessionError> {
        let signed = Signed::sign(&*self.signer, value)?;
        let bytes = signed.to_frame();
        frame::decode_frame_of(&bytes, T::KIND, &self.config.limits)?;
        Ok((signed, bytes))
    }

    pub(super) fn check_room(&self) -> Result<(), SessionError> {
        if self.sessions.len() >= self.config.max_sessions {
            return Err(SessionError::Full {
                max: self.config.max_sessions,
            });
        }
        Ok(())
    }

    /// A live session this engine plays `role` in, for a command.
    pub(super) fn own(
        &self,
        id: SessionId,
        role: Role,
        what: &'static str,
    ) -> Result<&Session, SessionError> {
        let s = self.live(id)?;
        if s.role != role {
            return Err(SessionError::WrongRole {
                id,
                role: s.role,
                what,
            });
        }
        Ok(s)
    }

    /// A live session this engine plays `role` in, for a message signed by `signer`, who must
    /// be the counterparty.
    pub(super) fn counterpart(
        &self,
        id: SessionId,
        role: Role,
        signer: AgentId,
        what: &'static str,
    ) -> Result<&Session, SessionError> {
        let s = self.own(id, role, what)?;
        if signer != s.counterparty() {
            return Err(SessionError::WrongSender {
                id,
                expected: s.counterparty(),
                got: signer,
            });
        }
        Ok(s)
    }

    pub(super) fn live(&self, id: SessionId) -> Result<&Session, SessionError> {
        match self.sessions.get(&id) {
            Some(s) => Ok(s),
            None if self.ended.contains(&id) => Err(SessionError::Ended(id)),
            None => Err(SessionError::UnknownSession(id)),
        }
    }

    pub(super) fn set_state(&mut self, id: SessionId, state: State) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.state = state;
        }
    }

    pub(super) fn with(&mut self, id: SessionId, f: impl FnOnce(&mut Session)) {
        if let Some(s) = self.sessions.get_mut(&id) {
            f(s);
        }
    }

    /// Replies go where the counterparty last spoke from (routing only, never identity).
    pub(super) fn route(&mut self, id: SessionId, link: LinkId) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.link = Some(link);
            let peer = s.counterparty();
            self.unlinked.remove(&(peer, id));
            self.flush(peer, link);
        }
    }

    /// `peer` was heard on `link` (an authenticated message): its sessions without a link
    /// adopt it, and frames parked for it leave on it.
    pub(super) fn adopt(&mut self, peer: AgentId, link: LinkId) -> usize {
        let lo = (peer, SessionId(Hash([0; 32])));
        let hi = (peer, SessionId(Hash([0xff; 32])));
        let waiting: Vec<SessionId> = self.unlinked.range(lo..=hi).map(|&(_, id)| id).collect();
        for id in &waiting {
            self.unlinked.remove(&(peer, *id));
            if let Some(s) = self.sessions.get_mut(id) {
                s.link = Some(link);
            }
        }
        self.flush(peer, link);
        waiting.len()
    }

    /// Send every frame parked for `peer` on `link`, oldest first.
    pub(super) fn flush(&mut self, peer: AgentId, link: LinkId) {
        if self.parked.is_empty() {
            return;
        }
        let mine: Vec<Bytes> = self
            .parked
            .iter()
            .filter(|(p, _)| *p == peer)
            .map(|(_, f)| f.clone())
            .collect();
        self.parked.retain(|(p, _)| *p != peer);
        for frame in mine {
            self.transmit(link, frame);
        }
    }

    /// Send a session frame to `peer` on `link`, or park it until a link to `peer` is known.
    pub(super) fn send(&mut self, peer: AgentId, link: Option<LinkId>, payload: Bytes) {
        let Some(link) = link else {
            self.parked.push((peer, payload));
            return;
        };
        self.transmit(link, payload);
    }

    /// Queue the session's current record ([`Event::Persist`]).
    pub(super) fn persist(&mut self, now: Now, id: SessionId) {
        if let Some(record) = self.sessions.get(&id).map(|s| persist::encode(s, now)) {
            self.emit(Event::Persist {
                id,
                record: Some(record),
            });
        }
    }

    /// End a session: forget it, remember its id as ended.
    pub(super) fn finish(&mut self, id: SessionId) -> Option<Session> {
        let s = self.sessions.remove(&id)?;
        self.deadlines.remove(&(s.deadline, id));
        self.unlinked.remove(&(s.counterparty(), id));
        self.emit(Event::Persist { id, record: None });
        if self.ended.insert(id) {
            self.ended_order.push_back(id);
            while self.ended_order.len() > self.config.max_sessions {
                if let Some(old) = self.ended_order.pop_front() {
                    self.ended.remove(&old);
                }
            }
        }
        Some(s)
    }

    /// Queue an event; on overflow drop the oldest one that is not an [`Event::Persist`] (the
    /// oldest `Persist` when every queued event and the new one are).
    pub(super) fn emit(&mut self, e: Event) {
        let class = if matches!(e, Event::Persist { .. }) {
            0
        } else {
            1
        };
        self.events.push_class(e, class);
    }

    pub(super) fn transmit(&mut self, link: LinkId, payload: Bytes) {
        self.transmits.push(Transmit { link, payload });
    }
}
