//! The registry as a sans-IO [`Engine`]: frames in, events and timeouts out.

use super::*;

impl Engine for IdentityRegistry {
    type Event = IdentityEvent;
    type Error = IdentityError;

    /// Frames of kind [`crate::wire::BINDING`] and [`crate::wire::ATTESTATION`]; anything else
    /// is refused. Who signed is what counts; the link only decides, when the chain table is
    /// full, whose chains give way (see [Admission](IdentityRegistry#admission-when-the-chain-table-is-full)).
    fn handle_message(
        &mut self,
        now: Now,
        from: LinkId,
        payload: Bytes,
    ) -> Result<(), IdentityError> {
        match wire::peek_kind(&payload) {
            Some(k) if k == crate::wire::BINDING => {
                self.entry_from(now, &payload, Some(from)).map(drop)
            }
            Some(k) if k == crate::wire::ATTESTATION => {
                self.handle_attestation(now, &payload).map(drop)
            }
            _ => {
                self.observe(now);
                Err(self.not_ours(&payload))
            }
        }
    }

    /// Removes expired attestations (as many as the event queue has room to report).
    fn handle_timeout(&mut self, now: Now) {
        self.observe(now);
        while let Some(&(exp, principal, subject, issuer)) = self.expiry.first() {
            if exp > self.now.wall || self.events.remaining() == 0 {
                break;
            }
            self.expiry.pop_first();
            self.attestations.remove(&(principal, subject, issuer));
            self.push(IdentityEvent::AttestationExpired {
                principal,
                subject,
                issuer,
            });
        }
    }

    fn handle_link_up(&mut self, now: Now, _link: LinkId) {
        self.observe(now);
    }

    fn handle_link_down(&mut self, now: Now, _link: LinkId) {
        self.observe(now);
    }

    /// The registry never sends: forks leave as events for the host to gossip.
    fn poll_transmit(&mut self) -> Option<Transmit> {
        None
    }

    fn poll_event(&mut self) -> Option<IdentityEvent> {
        if let Some(o) = self.events.take_overflow() {
            return Some(IdentityEvent::Overflow(o));
        }
        self.events.pop()
    }

    /// The next attestation expiry, mapped onto the monotonic clock of the latest `Now`.
    fn poll_timeout(&self) -> Option<Instant> {
        let &(exp, _, _, _) = self.expiry.first()?;
        Some(self.now.mono + exp.saturating_duration_since(self.now.wall))
    }
}
