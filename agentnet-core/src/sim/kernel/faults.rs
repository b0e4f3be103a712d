//! [`Sim`] fault injection: crash, restart, churn and scheduled faults.

use super::*;

impl<E: Engine> Sim<E>
where
    E::Event: fmt::Debug,
{
    // ----- crash, restart, churn -----

    /// Crash a node: its engine is dropped, its timer cancelled, frames in flight to or from it
    /// are dropped on arrival ([`DropCause::NodeDown`]), and every up neighbour gets
    /// `handle_link_down` (in ascending id order). Links stay configured and come back up on
    /// [`restart`](Self::restart).
    pub fn crash(&mut self, id: NodeId) -> Result<(), SimError> {
        let x = self.k.check(id)?;
        if !self.k.nodes[x as usize].up {
            return Err(SimError::NodeDown(id));
        }
        self.engines[x as usize] = None;
        let st = &mut self.k.nodes[x as usize];
        st.up = false;
        st.timer_gen = st.timer_gen.wrapping_add(1);
        st.timer_at = NO_TIMER;
        self.k.metrics.crashes += 1;
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::CRASH, t).u32(x);
        }
        for i in 0..self.k.nodes[x as usize].adj.len() {
            self.k.bump_epoch(x, i);
            let p = self.k.nodes[x as usize].adj[i].peer;
            if self.k.nodes[p as usize].up {
                self.link_down(p, x);
            }
        }
        Ok(())
    }

    /// Restart a crashed node with a fresh engine from the factory (incarnation + 1). Its
    /// outputs are drained, then for each up neighbour in ascending order the node gets
    /// `handle_link_up(LinkId(peer))` and the neighbour `handle_link_up(LinkId(node))`.
    pub fn restart(&mut self, id: NodeId) -> Result<(), SimError> {
        let x = self.k.check(id)?;
        if self.k.nodes[x as usize].up {
            return Err(SimError::NodeUp(id));
        }
        let factory = self.factory.as_mut().ok_or(SimError::NoFactory)?;
        let incarnation = self.k.nodes[x as usize].incarnation.wrapping_add(1);
        let engine = factory.build(id, self.k.now, incarnation);
        let st = &mut self.k.nodes[x as usize];
        st.incarnation = incarnation;
        st.up = true;
        st.churn_down = false;
        self.engines[x as usize] = Some(engine);
        self.k.metrics.restarts += 1;
        if self.k.trace.enabled() {
            let t = self.k.mono();
            self.k.trace.begin(tag::RESTART, t).u32(x).u32(incarnation);
        }
        self.with_engine(x, |_, _| ());
        for i in 0..self.k.nodes[x as usize].adj.len() {
            let p = self.k.nodes[x as usize].adj[i].peer;
            if self.k.nodes[p as usize].up {
                self.link_up(x, p);
                self.link_up(p, x);
            }
        }
        Ok(())
    }

    /// Start churn (replacing any running churn): `round(fraction · nodes)` nodes picked at
    /// random alternate between up and down, with exponential durations. Needs a factory.
    /// Returns how many nodes churn.
    ///
    /// Each picked node's first toggle comes after an up-time draw (a down-time draw if it is
    /// already down). A toggle crashes an up node and restarts a down one, however it went
    /// down, so explicit crashes of churning nodes are eventually undone by churn.
    pub fn start_churn(&mut self, config: ChurnConfig) -> Result<usize, SimError> {
        if self.factory.is_none() {
            return Err(SimError::NoFactory);
        }
        config.validate()?;
        self.stop_churn();
        let n = self.k.nodes.len();
        let count = ((config.fraction * n as f64).round() as usize).min(n);
        let mut pick: Vec<u32> = (0..n as u32).collect();
        for i in 0..count {
            let j = i + self.k.churn_rng.below((n - i) as u64) as usize;
            pick.swap(i, j);
        }
        pick.truncate(count);
        pick.sort_unstable();
        let generation = self.k.churn_gen;
        for &node in &pick {
            let st = &mut self.k.nodes[node as usize];
            st.churning = true;
            let mean = if st.up {
                config.mean_up
            } else {
                config.mean_down
            };
            let at = self.k.mono().saturating_add(self.k.churn_delay(mean));
            self.k.queue.push(at, Ev::Churn { node, generation });
        }
        self.k.churn = Some(config);
        Ok(count)
    }

    /// Stop churn: pending toggles are cancelled and every node churn had taken down is
    /// restarted now, so the network is whole again.
    pub fn stop_churn(&mut self) {
        self.k.churn_gen = self.k.churn_gen.wrapping_add(1);
        if self.k.churn.take().is_none() {
            return;
        }
        for x in 0..self.k.nodes.len() {
            let st = &mut self.k.nodes[x];
            let revive = st.churn_down && !st.up;
            st.churning = false;
            st.churn_down = false;
            if revive {
                let _ = self.restart(NodeId(x as u32));
            }
        }
    }

    pub(super) fn churn_toggle(&mut self, node: u32) {
        let Some(cfg) = self.k.churn.clone() else {
            return;
        };
        let id = NodeId(node);
        let next = if self.k.nodes[node as usize].up {
            if self.crash(id).is_ok() {
                self.k.nodes[node as usize].churn_down = true;
            }
            cfg.mean_down
        } else {
            let _ = self.restart(id);
            cfg.mean_up
        };
        let at = self.k.mono().saturating_add(self.k.churn_delay(next));
        let generation = self.k.churn_gen;
        self.k.queue.push(at, Ev::Churn { node, generation });
    }

    // ----- scheduled faults -----

    /// Apply `fault` at virtual time `at` (or now, if `at` has passed). Faults at the same time
    /// apply in the order scheduled, after everything already queued for that time. Faults
    /// that cannot apply then (unknown node, restart without factory, ...) are counted in
    /// [`Metrics::faults_failed`].
    pub fn schedule(&mut self, at: Instant, fault: Fault) {
        let slot = self.k.alloc_fault(fault);
        let t = at.as_micros().max(self.k.mono());
        self.k.queue.push(t, Ev::Fault(slot));
    }

    /// Apply `fault` now; `Err` if it cannot apply.
    pub fn apply(&mut self, fault: Fault) -> Result<(), SimError> {
        match fault {
            Fault::Partition(groups) => self.set_groups(groups.iter().map(Vec::as_slice)),
            Fault::Heal => self.heal(),
            Fault::Crash(id) => self.crash(id)?,
            Fault::Restart(id) => self.restart(id)?,
            Fault::Connect(a, b) => {
                self.k.check(a)?;
                self.k.check(b)?;
                self.connect(a, b);
            }
            Fault::Disconnect(a, b) => {
                self.k.check(a)?;
                self.k.check(b)?;
                self.disconnect(a, b);
            }
            Fault::SetLinkModel(a, b, m) => self.set_link_model(a, b, m),
            Fault::SetDefaultLinkModel(m) => self.set_default_link_model(m),
        }
        Ok(())
    }
}
