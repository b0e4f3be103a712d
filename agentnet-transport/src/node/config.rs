//! [`NodeConfig`]: the node's settings beyond the agent's own, with their ranges.

use super::*;

/// Node settings beyond the agent's own.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The agent's configuration (its `seed` is replaced by the node's seed).
    pub agent: AgentConfig,
    /// Addresses to dial at start and to keep a link to (transport notation). Default none.
    pub bootstrap: Vec<String>,
    /// Topics to subscribe to at start. Default none (announcing subscribes on its own).
    pub topics: Vec<Topic>,
    /// Subscribe to every topic a linked peer says it follows. Default false; useful for
    /// clients that want to discover across all topics they can reach. Bounded by
    /// `max_peer_topics` and `max_peer_topics_per_link`, and such topics always yield to the
    /// node's own: when the gossip engine's topic table is full, an own `subscribe`,
    /// `announce` or `serve` leaves the most recently followed peer topic to make room.
    pub follow_peer_topics: bool,
    /// Most topics followed because peers follow them. Default 16; range 0..=4096.
    pub max_peer_topics: usize,
    /// Most of those one link may introduce (so one peer, or one free identity, cannot take
    /// them all). Default 4; range 1..=`max_peer_topics` (any value when it is 0).
    pub max_peer_topics_per_link: usize,
    /// First redial delay for a bootstrap address without a link. Default 500 ms; range
    /// 10 ms..=`redial_max`.
    pub redial_initial: Duration,
    /// Largest redial delay (the delay doubles per failure). Default 30 s; range
    /// 10 ms..=1 day.
    pub redial_max: Duration,
    /// How often expired records are deleted from the store. Default 60 s; range 1 s..=1 day.
    pub prune_interval: Duration,
    /// Commands queued from handles before callers wait. Default 256; range 1..=1 000 000.
    pub command_queue: usize,
    /// Events buffered per event receiver before the slowest one lags (and is told how many
    /// it missed). Default 1024; range 1..=1 000 000.
    pub event_capacity: usize,
    /// Largest token count asked of the language model per call. Default 1024; range
    /// 1..=1 000 000.
    pub llm_max_tokens: u32,
    /// How long a request waits for links to the candidates it had to dial before it goes
    /// on with those it reached (the others count as unreachable). Over relays or slow
    /// links, raise it. Default 3 s; range 10 ms..=10 min.
    pub dial_wait: Duration,
    /// Tasks this node's handlers run at once before it states itself unavailable. With it
    /// set the node announces its load (tasks running ÷ capacity, basis points) and
    /// availability as provider state ([`Agent::announce_state`](crate::agent::Agent::announce_state))
    /// whenever a task starts or ends, and restates it every half state TTL while any runs;
    /// requesters skip it while unavailable and try it last while busy. It still takes the
    /// offers it accepts (the state is advice to requesters, not a limit). Default `None`
    /// (no state announced); range 1..=1 000 000.
    pub capacity: Option<u32>,
}

impl NodeConfig {
    /// Check the node's own fields against their documented ranges (the agent's part is
    /// checked by [`AgentConfig::validate`]). [`NodeBuilder::start`] refuses a config that
    /// fails with [`NodeError::NodeConfig`].
    pub fn validate(&self) -> Result<(), agentnet_core::ConfigError> {
        use agentnet_core::config::check_range;
        let ms = Duration::from_millis;
        let day = Duration::from_secs(86_400);
        check_range("redial_max", self.redial_max, ms(10)..=day, "10 ms..=1 day")?;
        check_range(
            "dial_wait",
            self.dial_wait,
            ms(10)..=Duration::from_secs(600),
            "10 ms..=10 min",
        )?;
        if let Some(c) = self.capacity {
            check_range("capacity", c, 1..=1_000_000, "1..=1000000")?;
        }
        check_range(
            "redial_initial",
            self.redial_initial,
            ms(10)..=self.redial_max,
            "10 ms..=redial_max",
        )?;
        check_range(
            "prune_interval",
            self.prune_interval,
            Duration::from_secs(1)..=day,
            "1 s..=1 day",
        )?;
        check_range(
            "command_queue",
            self.command_queue,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "event_capacity",
            self.event_capacity,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "max_peer_topics",
            self.max_peer_topics,
            0..=4096,
            "0..=4096",
        )?;
        if self.max_peer_topics > 0 {
            check_range(
                "max_peer_topics_per_link",
                self.max_peer_topics_per_link,
                1..=self.max_peer_topics,
                "1..=max_peer_topics",
            )?;
        }
        check_range(
            "llm_max_tokens",
            self.llm_max_tokens,
            1..=1_000_000,
            "1..=1000000",
        )
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            agent: AgentConfig::default(),
            bootstrap: Vec::new(),
            topics: Vec::new(),
            follow_peer_topics: false,
            max_peer_topics: 16,
            max_peer_topics_per_link: 4,
            redial_initial: Duration::from_millis(500),
            redial_max: Duration::from_secs(30),
            prune_interval: Duration::from_secs(60),
            command_queue: 256,
            event_capacity: 1024,
            llm_max_tokens: 1024,
            dial_wait: Duration::from_secs(3),
            capacity: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_node_config_is_refused_by_name() {
        NodeConfig::default().validate().unwrap();
        let c = NodeConfig {
            command_queue: 0,
            ..NodeConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "command_queue");
        let c = NodeConfig {
            redial_initial: Duration::from_secs(60),
            ..NodeConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().field, "redial_initial");
    }
}
