//! Deadlines: arming a session's deadline and acting on the ones that have passed.

use super::*;

impl Sessions {
    /// Act on every deadline that has passed by `now`.
    pub(super) fn expire(&mut self, now: Now) {
        while let Some(&(at, id)) = self.deadlines.first() {
            if at > now.mono {
                break;
            }
            self.deadlines.pop_first();
            self.on_deadline(now, id);
        }
    }

    pub(super) fn on_deadline(&mut self, now: Now, id: SessionId) {
        let Some(s) = self.sessions.get(&id) else {
            return;
        };
        let (role, phase, requester) = (s.role, s.state.phase(), s.requester);
        match role {
            Role::Requester => {
                let stage = match phase {
                    Phase::Offered => Stage::Commit,
                    Phase::Committed => Stage::Delegate,
                    Phase::Delegated => Stage::Execute,
                    Phase::Delivered => Stage::Grade,
                };
                if let Err(error) = self.settle(now, id, Outcome::TimedOut(stage), None) {
                    self.finish(id);
                    self.emit(Event::SettleFailed { id, error });
                }
            }
            Role::Provider => {
                self.finish(id);
                self.emit(match phase {
                    Phase::Offered => Event::OfferExpired { id, requester },
                    phase => Event::SettlementOverdue {
                        id,
                        requester,
                        phase,
                    },
                });
            }
        }
    }

    /// Replace the session's deadline.
    pub(super) fn arm(&mut self, id: SessionId, at: Instant) {
        if let Some(s) = self.sessions.get_mut(&id) {
            self.deadlines.remove(&(s.deadline, id));
            s.deadline = at;
            self.deadlines.insert((at, id));
        }
    }
}
