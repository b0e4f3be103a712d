//! Restoring sessions from their records and routing them to links (`set_link`,
//! `set_peer_link`, `resume_with`).

use super::*;

impl Sessions {
    // ----- persistence and routing ------------------------------------------------------------

    /// Take back the sessions of a previous run from their records (the last
    /// [`Event::Persist`] of each, or [`export`](Self::export)), at start-up, before any
    /// other input. Each record is decoded within [`SessionConfig::limits`], every signed
    /// message in it is verified again and checked as on receipt, and deadlines are mapped
    /// from wall-clock time onto `now.mono`; one that passed while the agent was down fires
    /// at the next input. A bad, forged, truncated or oversized record is refused with a
    /// [`RestoreError`] and changes nothing; at most [`SessionConfig::max_sessions`] sessions
    /// are held, later records are refused ([`RestoreError::Full`]).
    ///
    /// Restored sessions have no link until their counterparty speaks or the host names one
    /// ([`set_link`](Self::set_link), [`set_peer_link`](Self::set_peer_link)); frames for
    /// them wait ([`parked_count`](Self::parked_count)). For sessions waiting on the host, the event that
    /// asked for the step is queued again ([`Event::Offered`], [`Event::Committed`],
    /// [`Event::Delegated`], [`Event::Delivered`]) unless its deadline has passed. No
    /// [`Event::Persist`] is queued: the records are already stored.
    pub fn restore(&mut self, now: Now, records: impl IntoIterator<Item = Bytes>) -> RestoreReport {
        let mut report = RestoreReport::default();
        for (i, record) in records.into_iter().enumerate() {
            match self.restore_record(now, &record) {
                Ok(()) => report.restored += 1,
                Err(e) => {
                    report.refused += 1;
                    if report.errors.len() < MAX_RESTORE_ERRORS {
                        report.errors.push((i, e));
                    }
                }
            }
        }
        report
    }

    /// Send the session's frames on `link` from now on: for a restored session once the host
    /// has a link to its counterparty, or to re-route a live one. Frames parked for the
    /// counterparty leave on it. Routing only: who speaks is still known from signatures.
    pub fn set_link(&mut self, id: SessionId, link: LinkId) -> Result<(), SessionError> {
        self.live(id)?;
        self.route(id, link);
        Ok(())
    }

    /// The host knows that `link` reaches `peer` (say a link authenticated to it came up):
    /// every live session with `peer` as counterparty and no link adopts it, and frames
    /// parked for `peer` leave on it. Sessions that have a link keep it. Returns how many
    /// sessions adopted `link`.
    pub fn set_peer_link(&mut self, peer: AgentId, link: LinkId) -> usize {
        self.adopt(peer, link)
    }

    /// A new link to `peer` came up (after either side restarted, or the old link failed):
    /// every live session with `peer` moves to `link`, and for each one the message this side
    /// last sent and still waits on an answer to is sent again — the OFFER before a
    /// commitment, the DELEGATE before a delivery (requester); the accepting COMMIT before a
    /// delegation, the DELIVER before a settlement (provider). A message that did arrive the
    /// first time is refused by the peer as replayed and changes nothing there; one that was
    /// lost with the old link (or never left before a crash) gets through. Returns how many
    /// messages were sent again.
    pub fn resume_with(&mut self, peer: AgentId, link: LinkId) -> usize {
        self.adopt(peer, link);
        let mut again = Vec::new();
        for s in self.sessions.values_mut() {
            if s.counterparty() != peer {
                continue;
            }
            s.link = Some(link);
            let frame = match s.role {
                Role::Requester if s.deliver.is_some() => None,
                Role::Requester => match (&s.commit, &s.delegate) {
                    (_, Some(d)) => Some(d.to_frame()),
                    (None, None) => Some(s.offer.to_frame()),
                    (Some(_), None) => None,
                },
                Role::Provider => match (&s.commit, &s.delegate, &s.deliver) {
                    (_, _, Some(d)) => Some(d.to_frame()),
                    (Some(c), None, None) => Some(c.to_frame()),
                    _ => None,
                },
            };
            again.extend(frame);
        }
        let n = again.len();
        for f in again {
            self.transmit(link, f);
        }
        n
    }
}
