//! The node's own load as provider state ([`NodeConfig::capacity`]): the tasks its handlers
//! are running, stated as load and availability whenever one starts or ends, and restated
//! while any runs so the state does not lapse mid-task. An idle node says nothing more: its
//! last state lapses at its TTL, and a lapsed state means "no claim", which is what an idle
//! provider should be.

use super::driver::Driver;
use super::*;

/// Tasks running and when the node last stated its load.
#[derive(Debug, Default)]
pub(super) struct Load {
    running: u32,
    /// When the load must be stated again (while tasks run).
    restate_at: Option<Instant>,
}

impl Driver {
    /// A handler started (`+1`) or ended (`-1`): state the new load.
    pub(super) fn load_changed(&mut self, now: Now, started: bool) {
        let Some(capacity) = self.cfg.capacity else {
            return;
        };
        self.load.running = if started {
            self.load.running.saturating_add(1)
        } else {
            self.load.running.saturating_sub(1)
        };
        self.state_load(now, capacity);
    }

    /// Restate the load if it is due (tasks are running and half the state's TTL passed).
    pub(super) fn restate_load(&mut self, now: Now) {
        if let (Some(capacity), Some(at)) = (self.cfg.capacity, self.load.restate_at)
            && at <= now.mono
        {
            self.state_load(now, capacity);
        }
    }

    /// When [`restate_load`](Self::restate_load) is next due.
    pub(super) fn load_deadline(&self) -> Option<Instant> {
        self.load.restate_at
    }

    fn state_load(&mut self, now: Now, capacity: u32) {
        let running = self.load.running;
        let load_bp = (u64::from(running) * 10_000 / u64::from(capacity.max(1))).min(10_000) as u16;
        // The gossip engine coalesces statements closer than its minimum interval.
        if let Err(e) = self
            .agent
            .announce_state(now, load_bp, running < capacity, 0)
        {
            tracing::debug!(error = %e, "load not stated");
        }
        let ttl = self.cfg.agent.gossip.state_ttl;
        self.load.restate_at = (running > 0).then(|| now.mono + ttl / 2);
    }
}
