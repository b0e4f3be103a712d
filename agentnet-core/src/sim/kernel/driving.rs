//! [`Sim`] driving: stepping the event loop, delivering frames and running for a time.

use super::*;

impl<E: Engine> Sim<E>
where
    E::Event: fmt::Debug,
{
    // ----- driving -----

    /// Process the next event (a delivery, timer, fault or churn toggle), advancing the clock
    /// to its time. Returns `false` when nothing is pending. Cancelled timer entries are
    /// skipped on the way, and the clock moves past them too.
    pub fn step(&mut self) -> bool {
        self.step_until(u64::MAX)
    }

    pub(super) fn step_until(&mut self, limit: u64) -> bool {
        while let Some((t, ev)) = self.k.queue.pop_until(limit) {
            self.k.advance_to(t);
            match ev {
                Ev::Timer { node, generation } => {
                    let st = &mut self.k.nodes[node as usize];
                    if st.timer_gen != generation {
                        continue;
                    }
                    st.timer_at = NO_TIMER;
                    self.k.metrics.timers_fired += 1;
                    if self.k.trace.enabled() {
                        self.k.trace.begin(tag::TIMEOUT, t).u32(node);
                    }
                    self.with_engine(node, |e, now| e.handle_timeout(now));
                }
                Ev::Deliver(slot) => self.deliver(slot),
                Ev::Fault(slot) => {
                    let f = self.k.faults[slot as usize]
                        .take()
                        .expect("scheduled fault");
                    self.k.free_faults.push(slot);
                    match self.apply(f) {
                        Ok(()) => self.k.metrics.faults_applied += 1,
                        Err(_) => self.k.metrics.faults_failed += 1,
                    }
                }
                Ev::Churn { node, generation } => {
                    if generation != self.k.churn_gen {
                        continue;
                    }
                    self.churn_toggle(node);
                }
            }
            self.k.steps += 1;
            return true;
        }
        false
    }

    pub(super) fn deliver(&mut self, slot: u32) {
        let f = self.k.flights[slot as usize]
            .take()
            .expect("in-flight frame");
        self.k.free_flights.push(slot);
        if let Err(cause) = self.k.admit(&f) {
            return self
                .k
                .record_drop(f.src, f.dst.into(), f.kind, f.payload.len(), cause);
        }
        let now = self.k.mono();
        self.k
            .metrics
            .on_delivered(f.kind, f.payload.len(), now - f.sent_at);
        if self.k.trace.enabled() {
            self.k
                .trace
                .begin(tag::MESSAGE, now)
                .u32(f.dst)
                .u32(f.src)
                .bytes(&f.payload);
        }
        let eng = self.engines[f.dst as usize]
            .as_mut()
            .expect("up node has an engine");
        if let Err(e) = eng.handle_message(self.k.now, LinkId(f.src.into()), f.payload) {
            self.k.on_error(f.dst, &e);
        }
        self.k.flush(f.dst, eng);
    }

    /// Process every event due at or before `t`, then set the clock to `t` (if later).
    /// Returns the number of events processed.
    pub fn run_until(&mut self, t: Instant) -> u64 {
        let before = self.k.steps;
        while self.step_until(t.as_micros()) {}
        self.k.advance_to(t.as_micros());
        self.k.steps - before
    }

    /// [`run_until`](Self::run_until) `now + d`.
    pub fn run_for(&mut self, d: Duration) -> u64 {
        let t = self.k.now.mono + d;
        self.run_until(t)
    }

    /// Process events until none is pending or `max_steps` were processed. Returns `true` if
    /// the simulation went idle. (Engines with periodic timers never go idle; use
    /// [`run_for`](Self::run_for) for those.)
    pub fn run_until_idle(&mut self, max_steps: u64) -> bool {
        for _ in 0..max_steps {
            if !self.step() {
                return true;
            }
        }
        self.k.queue.is_empty()
    }
}
