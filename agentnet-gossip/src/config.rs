//! Gossip engine settings. Every field has a unit, a default and a sensible range; start from
//! [`GossipConfig::default`] and change what you need.

use core::time::Duration;

use agentnet_core::config::{ConfigError, check_range};
use agentnet_core::descriptor::DescriptorRules;
use agentnet_core::wire::Limits;

use crate::discover::IndexLimits;
use crate::header::HeaderRules;

/// Settings of a [`GossipEngine`](crate::GossipEngine).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct GossipConfig {
    /// Seed of the engine's private RNG (mesh choices, anti-entropy partners, jitter).
    /// Default: all zeros. Give every node its own.
    pub seed: [u8; 32],

    // ----- mesh -------------------------------------------------------------------------
    /// Target mesh degree per topic. Default 6; range 1..=1 024 (degrees beyond a few dozen
    /// are for hubs: a registry-like node that pushes to every subscriber directly).
    pub mesh_d: usize,
    /// Graft up to `mesh_d` when below this. Default 4; range 1..=`mesh_d`.
    pub mesh_d_lo: usize,
    /// Prune down to `mesh_d` when above this. Default 12; range `mesh_d`..=4 096.
    pub mesh_d_hi: usize,
    /// How long a pruned peer must wait before grafting again. Default 30 s; range 1 s..=10 min.
    pub prune_backoff: Duration,
    /// Period of mesh maintenance, anti-entropy and expiry. Default 1 s; range 50 ms..=60 s.
    pub heartbeat: Duration,
    /// Period at which queued lazy-push ids are sent. Default 100 ms; range 10 ms..=`heartbeat`.
    pub lazy_interval: Duration,
    /// How many of the mesh peers that choked a header's author get its id (`IHave`) instead.
    /// Default 2; range 0..=`mesh_d_hi`. These announcements are what repairs a tree whose
    /// eager copy was lost.
    pub lazy_fanout: usize,
    /// How long to wait for an eager copy after an `IHave` before asking with `IWant`.
    /// Default 150 ms; range 0..=10 s.
    pub iwant_delay: Duration,

    // ----- anti-entropy -----------------------------------------------------------------
    /// Period of anti-entropy rounds (one random topic peer per subscribed topic per round).
    /// Default 2 s; range 100 ms..=10 min.
    pub anti_entropy: Duration,
    /// Anti-entropy compares and repairs only entries issued at least this long ago (by their
    /// signed `issued_at`); younger ones are still spreading through the push trees, and
    /// repairing them would only add duplicate copies. Default 500 ms; range 0..=60 s. It
    /// delays the healing of a partition by at most this much.
    pub settle: Duration,
    /// Buckets of the version-vector digest. Default 16; range 1..=256.
    pub digest_buckets: u16,
    /// Most headers sent for one `Pull`. Default 64; range 1..=1024.
    pub max_pull: u64,

    // ----- body pull ---------------------------------------------------------------------
    /// How long to wait for a body before trying another peer. Default 1 s; range 10 ms..=60 s.
    pub body_timeout: Duration,
    /// Peers tried per body before giving up. Default 3; range 1..=16.
    pub body_attempts: u8,
    /// Rounds of retries after every tried peer failed to deliver a body this node wants
    /// (while it still holds the header): the same peers are asked again, the first retry
    /// `body_timeout` after the round ends, each later one after twice the previous wait. A
    /// lost request on a link with a single peer is then not fatal. Default 3; range 0..=16
    /// (0: give up after the first round).
    pub body_retries: u8,
    /// How many times a body request may be forwarded toward the author. Default 8; range 0..=32.
    pub body_hops: u8,
    /// Most body requests in flight (own and forwarded). Default 1 024; range 1..=65 536.
    /// When full, a fetch for an author with standing, or announced by a link that announced
    /// fewer pending fetches than the busiest one, takes the place of that link's newest
    /// fetch for an unproven author; a link announcing bodies nobody serves recycles only its
    /// own share.
    pub max_pending_bodies: usize,
    /// Bodies kept to serve others (bytes, all bodies together). Default 4 MiB; range 0..=1 GiB.
    pub body_cache_bytes: usize,

    // ----- memory --------------------------------------------------------------------------
    /// Headers kept per (author, topic) log. Default 64; range 1..=65 536.
    pub max_entries_per_author: usize,
    /// Authors tracked per topic. Default 4 096; range 1..=1 000 000. When a topic is full, a
    /// new author takes the place of an author whose entries all expired, else of the most
    /// recently admitted author *without standing* from the link that introduced the most
    /// such authors — unless the newcomer's own link introduced as many (then it is
    /// refused). Authors with standing are never evicted for a newcomer. See the crate docs,
    /// "Memory and queues".
    pub max_authors_per_topic: usize,
    /// Headers kept across all topics and authors. Default 65 536; range 1..=10 000 000.
    /// When full, a new position evicts the oldest entry of the author without standing that
    /// holds the most entries (an unproven author that is itself the largest recycles its
    /// own oldest entry); with no such author, an author recycles its own oldest entry if it
    /// is older than the new one, and a new author is refused.
    pub max_headers: usize,
    /// Authors the host vouches for, count
    /// ([`GossipEngine::set_standing`](crate::GossipEngine::set_standing)). Default 4 096;
    /// range 0..=1 000 000.
    pub max_standing: usize,
    /// How long an author's log must have been held in a topic before the author has
    /// standing there by age (it is then never evicted for a newcomer). Default 5 min;
    /// range 1 s..=7 days. Age cannot be bought with fresh keys; a shorter age protects
    /// flooders sooner, a longer one leaves honest newcomers exposed longer.
    pub standing_age: Duration,
    /// Topics this node may subscribe to at once. Default 64; range 1..=4 096.
    pub max_topics: usize,
    /// Frame ids remembered for duplicate suppression. Default 65 536; range 1..=10 000 000.
    pub seen_capacity: usize,
    /// How long a frame id is remembered. Default 2 min; range 1 s..=1 h. Must exceed the
    /// longest time a frame can circulate, or old copies would be taken for new ones (they are
    /// still caught by the log, at the cost of a signature check).
    pub seen_ttl: Duration,
    /// Decompressed author keys kept to speed up verification. Default 1 024; range 2..=1 000 000.
    pub key_cache: usize,
    /// Index limits for descriptors (bodies) held for discovery.
    pub index: IndexLimits,

    // ----- queues --------------------------------------------------------------------------
    /// Frames queued for sending, all classes together. Default 16 384; range 16..=1 000 000.
    pub max_queued_transmits: usize,
    /// Events queued for the application. Default 4 096; range 16..=1 000 000.
    pub max_queued_events: usize,

    // ----- validation and rate limits -----------------------------------------------------
    /// Decoding limits for every frame.
    pub limits: Limits,
    /// Header checks (skew, TTL, body size).
    pub header_rules: HeaderRules,
    /// Descriptor checks for pulled bodies and own publishes.
    pub descriptor_rules: DescriptorRules,
    /// New headers accepted per author per second (token bucket rate). Default 20; range 1..=10 000.
    pub author_rate: u32,
    /// Burst of the per-author bucket. Default 60; range 1..=100 000.
    pub author_burst: u32,
    /// Frames accepted per link per second (token bucket rate). Default 2 000; range 1..=1 000 000.
    pub link_rate: u32,
    /// Burst of the per-link bucket. Default 4 000; range 1..=1 000 000.
    pub link_burst: u32,
    /// Headers of authors without standing whose signatures are verified per second, across
    /// all links together (token bucket rate): the node's CPU guard against many links each
    /// within its own `link_rate`. Headers of authors with standing are always verified.
    /// Default 5 000; range 1..=1 000 000.
    pub verify_rate: u32,
    /// Burst of the verification budget. Default 10 000; range 1..=10 000 000.
    pub verify_burst: u32,
    /// Penalty points at which a link is ignored (see [`crate::events::Event::LinkBanned`]).
    /// Each malformed, forged or invalid frame costs 10, each rate-limit drop 1; points decay by
    /// 1 per heartbeat. Default 100; range 1..=1 000 000.
    pub ban_threshold: u32,
    /// How long a banned link is ignored. Default 5 min; range 1 s..=1 day.
    pub ban_duration: Duration,

    // ----- own publishing --------------------------------------------------------------------
    /// Fraction of a descriptor's TTL after which the engine re-issues it. Default 0.6; range
    /// 0.1..=0.95.
    pub refresh_fraction: f64,
    /// Whether own entries wait for the host to confirm [`Event::PersistHead`](crate::Event::PersistHead)
    /// before they are sent. Default `true`. Turning it off makes publishing immediate but lets
    /// a node that restarts without its log reuse a seq — which peers prove as equivocation.
    /// Only for nodes without durable storage that accept that risk, and for experiments.
    pub persist_before_publish: bool,
    /// Minimum similarity (cosine) for [`GossipEngine::discover`](crate::GossipEngine::discover)
    /// results. Default 0.05; range -1..=1.
    pub min_similarity: f32,

    // ----- intents and provider states ---------------------------------------------------
    /// Intent ids remembered so each intent is reported ([`Event::Intent`](crate::Event::Intent))
    /// once, count. Default 4 096; range 1..=1 000 000. An id is kept for the longest intent
    /// lifetime (1 h) plus the skew window, or until it is the oldest of this many.
    pub max_seen_intents: usize,
    /// Lifetime of the provider states this node publishes
    /// ([`GossipEngine::publish_state`](crate::GossipEngine::publish_state)). Default 5 s;
    /// range 100 ms..=60 s. A state not refreshed within it lapses everywhere: a provider that
    /// goes quiet leaves no stale claim behind.
    pub state_ttl: Duration,
    /// Least time between two state publications of this node. Default 1 s; range 0..=60 s.
    /// A state given sooner waits, replacing any state already waiting, and goes out when the
    /// interval has passed. Each publication is one log entry per topic, so about
    /// `state_ttl / state_min_interval` state entries are live in each of the node's logs.
    pub state_min_interval: Duration,
    /// Provider states held (one per provider), count. Default 4 096; range 1..=1 000 000.
    /// When full, a new state takes the place of the one that expires soonest if it expires
    /// later itself.
    pub max_states: usize,
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            seed: [0; 32],
            mesh_d: 6,
            mesh_d_lo: 4,
            mesh_d_hi: 12,
            prune_backoff: Duration::from_secs(30),
            heartbeat: Duration::from_secs(1),
            lazy_interval: Duration::from_millis(100),
            lazy_fanout: 2,
            iwant_delay: Duration::from_millis(150),
            anti_entropy: Duration::from_secs(2),
            settle: Duration::from_millis(500),
            digest_buckets: 16,
            max_pull: 64,
            body_timeout: Duration::from_secs(1),
            body_attempts: 3,
            body_retries: 3,
            body_hops: 8,
            max_pending_bodies: 1024,
            body_cache_bytes: 4 << 20,
            max_entries_per_author: 64,
            max_authors_per_topic: 4096,
            max_headers: 65_536,
            max_standing: 4096,
            standing_age: Duration::from_secs(300),
            max_topics: 64,
            seen_capacity: 65_536,
            seen_ttl: Duration::from_secs(120),
            key_cache: 1024,
            index: IndexLimits::default(),
            max_queued_transmits: 16_384,
            max_queued_events: 4096,
            limits: Limits::default(),
            header_rules: HeaderRules::default(),
            descriptor_rules: DescriptorRules::default(),
            author_rate: 20,
            author_burst: 60,
            verify_rate: 5_000,
            verify_burst: 10_000,
            link_rate: 2000,
            link_burst: 4000,
            ban_threshold: 100,
            ban_duration: Duration::from_secs(300),
            refresh_fraction: 0.6,
            persist_before_publish: true,
            min_similarity: 0.05,
            max_seen_intents: 4096,
            state_ttl: Duration::from_secs(5),
            state_min_interval: Duration::from_secs(1),
            max_states: 4096,
        }
    }
}

impl GossipConfig {
    /// The default configuration with `seed`.
    pub fn seeded(seed: [u8; 32]) -> Self {
        GossipConfig {
            seed,
            ..Self::default()
        }
    }

    /// Check every field against its documented range; the engine refuses a config that
    /// fails ([`GossipEngine::new`](crate::GossipEngine::new)). Nested
    /// [`IndexLimits`] are checked too.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let ms = Duration::from_millis;
        check_range("mesh_d", self.mesh_d, 1..=1024, "1..=1024")?;
        check_range("mesh_d_lo", self.mesh_d_lo, 1..=self.mesh_d, "1..=mesh_d")?;
        check_range(
            "mesh_d_hi",
            self.mesh_d_hi,
            self.mesh_d..=4096,
            "mesh_d..=4096",
        )?;
        check_range(
            "prune_backoff",
            self.prune_backoff,
            ms(1000)..=ms(600_000),
            "1 s..=10 min",
        )?;
        check_range(
            "heartbeat",
            self.heartbeat,
            ms(50)..=ms(60_000),
            "50 ms..=60 s",
        )?;
        check_range(
            "lazy_interval",
            self.lazy_interval,
            ms(10)..=self.heartbeat,
            "10 ms..=heartbeat",
        )?;
        check_range(
            "lazy_fanout",
            self.lazy_fanout,
            0..=self.mesh_d_hi,
            "0..=mesh_d_hi",
        )?;
        check_range(
            "iwant_delay",
            self.iwant_delay,
            ms(0)..=ms(10_000),
            "0..=10 s",
        )?;
        check_range(
            "anti_entropy",
            self.anti_entropy,
            ms(100)..=ms(600_000),
            "100 ms..=10 min",
        )?;
        check_range("settle", self.settle, ms(0)..=ms(60_000), "0..=60 s")?;
        check_range("digest_buckets", self.digest_buckets, 1..=256, "1..=256")?;
        check_range("max_pull", self.max_pull, 1..=1024, "1..=1024")?;
        check_range(
            "body_timeout",
            self.body_timeout,
            ms(10)..=ms(60_000),
            "10 ms..=60 s",
        )?;
        check_range("body_attempts", self.body_attempts, 1..=16, "1..=16")?;
        check_range("body_retries", self.body_retries, 0..=16, "0..=16")?;
        check_range("body_hops", self.body_hops, 0..=32, "0..=32")?;
        check_range(
            "max_pending_bodies",
            self.max_pending_bodies,
            1..=65_536,
            "1..=65536",
        )?;
        check_range(
            "body_cache_bytes",
            self.body_cache_bytes,
            0..=1 << 30,
            "0..=1 GiB",
        )?;
        check_range(
            "max_entries_per_author",
            self.max_entries_per_author,
            1..=65_536,
            "1..=65536",
        )?;
        check_range(
            "max_authors_per_topic",
            self.max_authors_per_topic,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "max_headers",
            self.max_headers,
            1..=10_000_000,
            "1..=10000000",
        )?;
        check_range(
            "max_standing",
            self.max_standing,
            0..=1_000_000,
            "0..=1000000",
        )?;
        check_range(
            "standing_age",
            self.standing_age,
            ms(1000)..=ms(7 * 86_400_000),
            "1 s..=7 days",
        )?;
        check_range("max_topics", self.max_topics, 1..=4096, "1..=4096")?;
        check_range(
            "seen_capacity",
            self.seen_capacity,
            1..=10_000_000,
            "1..=10000000",
        )?;
        check_range(
            "seen_ttl",
            self.seen_ttl,
            ms(1000)..=ms(3_600_000),
            "1 s..=1 h",
        )?;
        check_range("key_cache", self.key_cache, 2..=1_000_000, "2..=1000000")?;
        self.index.validate()?;
        check_range(
            "max_queued_transmits",
            self.max_queued_transmits,
            16..=1_000_000,
            "16..=1000000",
        )?;
        check_range(
            "max_queued_events",
            self.max_queued_events,
            16..=1_000_000,
            "16..=1000000",
        )?;
        check_range("author_rate", self.author_rate, 1..=10_000, "1..=10000")?;
        check_range("author_burst", self.author_burst, 1..=100_000, "1..=100000")?;
        check_range(
            "verify_rate",
            self.verify_rate,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "verify_burst",
            self.verify_burst,
            1..=10_000_000,
            "1..=10000000",
        )?;
        check_range("link_rate", self.link_rate, 1..=1_000_000, "1..=1000000")?;
        check_range("link_burst", self.link_burst, 1..=1_000_000, "1..=1000000")?;
        check_range(
            "ban_threshold",
            self.ban_threshold,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "ban_duration",
            self.ban_duration,
            ms(1000)..=ms(86_400_000),
            "1 s..=1 day",
        )?;
        check_range(
            "refresh_fraction",
            self.refresh_fraction,
            0.1..=0.95,
            "0.1..=0.95",
        )?;
        check_range("min_similarity", self.min_similarity, -1.0..=1.0, "-1..=1")?;
        check_range(
            "max_seen_intents",
            self.max_seen_intents,
            1..=1_000_000,
            "1..=1000000",
        )?;
        check_range(
            "state_ttl",
            self.state_ttl,
            ms(100)..=ms(60_000),
            "100 ms..=60 s",
        )?;
        check_range(
            "state_min_interval",
            self.state_min_interval,
            ms(0)..=ms(60_000),
            "0..=60 s",
        )?;
        check_range("max_states", self.max_states, 1..=1_000_000, "1..=1000000")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_out_of_range_is_refused_by_name() {
        GossipConfig::default().validate().unwrap();
        let d = GossipConfig::default;
        let bad = |c: GossipConfig| c.validate().unwrap_err().field;
        assert_eq!(bad(GossipConfig { mesh_d: 0, ..d() }), "mesh_d");
        let heartbeat = Duration::from_millis(1);
        assert_eq!(bad(GossipConfig { heartbeat, ..d() }), "heartbeat");
        let refresh_fraction = f64::NAN;
        assert_eq!(
            bad(GossipConfig {
                refresh_fraction,
                ..d()
            }),
            "refresh_fraction"
        );
        let e = GossipConfig {
            max_queued_events: 1,
            ..d()
        }
        .validate()
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "max_queued_events = 1 is outside 16..=1000000"
        );
        let standing_age = Duration::ZERO;
        assert_eq!(
            bad(GossipConfig {
                standing_age,
                ..d()
            }),
            "standing_age"
        );
        let max_standing = 2_000_000;
        assert_eq!(
            bad(GossipConfig {
                max_standing,
                ..d()
            }),
            "max_standing"
        );
        let state_ttl = Duration::from_millis(50);
        assert_eq!(bad(GossipConfig { state_ttl, ..d() }), "state_ttl");
        let state_ttl = Duration::from_secs(61);
        assert_eq!(bad(GossipConfig { state_ttl, ..d() }), "state_ttl");
        let state_min_interval = Duration::from_secs(61);
        assert_eq!(
            bad(GossipConfig {
                state_min_interval,
                ..d()
            }),
            "state_min_interval"
        );
        assert_eq!(
            bad(GossipConfig {
                max_states: 0,
                ..d()
            }),
            "max_states"
        );
        assert_eq!(
            bad(GossipConfig {
                max_seen_intents: 0,
                ..d()
            }),
            "max_seen_intents"
        );
        let mut c = GossipConfig::default();
        c.index.max_entries = 0;
        assert_eq!(c.validate().unwrap_err().field, "index.max_entries");
    }
}
