//! Timers: the heartbeat and recomputing the next deadline.

use super::*;

impl GossipEngine {
    // =========================================================================================
    // Timers
    // =========================================================================================

    pub(super) fn heartbeat(&mut self, now: Now) {
        let topics: Vec<Topic> = self.topics.keys().cloned().collect();
        for t in &topics {
            self.maintain_mesh(now, t);
            self.anti_entropy(now, t);
        }
        // Soft state: expired headers leave every log, expired descriptors the index.
        let mut headers = 0;
        for ts in self.topics.values_mut() {
            let mut pruned = Vec::new();
            for (a, log) in ts.logs.iter_mut() {
                let n = log.prune(now.wall);
                if n > 0 {
                    headers += n;
                    pruned.push(*a);
                }
            }
            for a in pruned {
                ts.sync_len(&a);
            }
        }
        self.headers_total -= headers;
        let descriptors = self.index.prune(now.wall);
        // A state speaks only for a provider still described here.
        let index = &self.index;
        self.states.retain(|p| index.holds_provider(p));
        self.intents_seen.expire(now.mono);
        self.own_bodies.retain(|_, (exp, _)| now.wall < *exp);
        if headers + descriptors > 0 {
            self.emit(Event::Expired {
                headers,
                descriptors,
            });
        }
        self.seen.expire(now.mono);
        self.history.expire(now.mono);
        self.policing.heartbeat(now.mono);
        self.repair.heartbeat(now.mono);
        let me = self.me;
        for ts in self.topics.values_mut() {
            let logs = &ts.logs;
            ts.lazy_to
                .retain(|a, v| !v.is_empty() && (*a == me || logs.contains_key(a)));
        }
        self.refresh_own(now);
    }

    pub(super) fn recompute_timeout(&mut self) {
        let mut t = self.next_heartbeat;
        if let Some(l) = self.next_lazy {
            t = t.min(l);
        }
        if let Some(d) = self.bodies.next_deadline() {
            t = t.min(d);
        }
        if let Some(d) = self.repair.next_deadline() {
            t = t.min(d);
        }
        if let Some(d) = self.next_state {
            t = t.min(d);
        }
        self.next_timeout = Some(t);
    }
}
