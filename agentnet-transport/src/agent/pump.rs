//! The pump, run after every input and command: every sub-engine drained until nothing moves,
//! each output handed across planes, then the turn's records flushed and the next deadline
//! computed.

use agentnet_core::{Engine, Now};

use super::Agent;

impl Agent {
    // =========================================================================================
    // Internals: the pump (cross-plane hand-offs)
    // =========================================================================================

    /// Drain every sub-engine until nothing moves, handing outputs across planes, then
    /// recompute the deadline.
    pub(super) fn pump(&mut self, now: Now) {
        loop {
            let mut moved = false;
            while let Some(t) = self.gossip.poll_transmit() {
                moved = true;
                self.send(t.link, t.payload);
            }
            while let Some(e) = self.gossip.poll_event() {
                moved = true;
                self.on_gossip_event(now, e);
            }
            while let Some(e) = self.registry.poll_event() {
                moved = true;
                self.on_identity_event(now, e);
            }
            while let Some(t) = self.sessions.poll_transmit() {
                moved = true;
                self.send(t.link, t.payload);
            }
            while let Some(e) = self.sessions.poll_event() {
                moved = true;
                self.on_session_event(now, e);
            }
            while let Some(v) = self.canaries.poll_verdict() {
                moved = true;
                self.on_canary_verdict(now, v);
            }
            while let Some(e) = self.leader.as_mut().and_then(|l| l.mloop.poll_event()) {
                moved = true;
                self.on_loop_event(e);
            }
            if let Some(o) = self.canaries.take_overflow() {
                self.engine_overflow("canary", o);
            }
            if !moved {
                break;
            }
        }
        self.pump_embeds(now);
        self.settle_workflows(now);
        self.flush_batch();
        let incoming = self
            .incoming
            .values()
            .filter_map(|i| i.deadline(&self.config.payload))
            .min();
        self.timeout = [
            self.gossip.poll_timeout(),
            self.registry.poll_timeout(),
            self.sessions.poll_timeout(),
            self.canaries.poll_timeout(),
            incoming,
            Some(self.next_trust),
            self.leader.as_ref().and_then(|l| l.mloop.poll_timeout()),
            self.embeds.deadline(),
            self.intents.deadline(),
        ]
        .into_iter()
        .flatten()
        .min();
    }
}
