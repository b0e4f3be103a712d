//! [`Libp2pConfig`]: the libp2p transport's settings, with their units, defaults and ranges.

use std::time::Duration;

use ::libp2p::Multiaddr;
use agentnet_core::config::{ConfigError, check_range};

use crate::tcp::MAX_FRAME_LIMIT;

#[cfg(doc)]
use super::Libp2pTransport;
#[cfg(doc)]
use crate::host::{LinkDown, Transport, TransportEvent};

/// Settings of a [`Libp2pTransport`]. Values outside a field's range are refused by
/// [`Libp2pTransport::start`] ([`Libp2pConfig::validate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Libp2pConfig {
    /// Addresses to listen on, as multiaddrs: `/ip4/0.0.0.0/tcp/7100` (TCP + Noise + Yamux),
    /// `/ip4/0.0.0.0/udp/7100/quic-v1` (QUIC). Port 0 picks a free port. Empty (default):
    /// dial only. [`parse_addr`](super::parse_addr) also takes `host:port` (TCP).
    pub listen: Vec<Multiaddr>,
    /// Addresses under which others can reach this node, if the node knows them (a public IP
    /// or a port forwarded through a NAT). They are announced through identify and Kademlia
    /// and head [`Transport::local_addr`]. Default empty: AutoNAT confirms reachable listen
    /// addresses by asking peers to dial back.
    pub external_addrs: Vec<Multiaddr>,
    /// Relays to listen through, each `/…/p2p/<relay peer id>` of a node that runs
    /// [`relay_server`](Self::relay_server). The node reserves a slot on each and becomes
    /// reachable as `<relay>/p2p-circuit/p2p/<own id>` from behind a NAT; a peer that links
    /// over a relay then tries a direct connection by hole punching (DCUtR). Default empty.
    pub relays: Vec<Multiaddr>,
    /// Serve as a relay for other nodes (circuit relay v2, with libp2p's default limits on
    /// reservations and circuits). Only useful on a publicly reachable node; without
    /// [`external_addrs`](Self::external_addrs) its listen addresses are taken as reachable
    /// (libp2p serves relaying only from a confirmed external address). Default false.
    pub relay_server: bool,
    /// Answer Kademlia queries and store provider records for others (DHT server mode).
    /// Default true, right for a node others can dial; set false behind a NAT, and the mode
    /// follows AutoNAT (server once a public address is confirmed).
    pub kad_server: bool,
    /// Links this node opens per followed topic to the topic's other followers, found as
    /// provider records in the DHT ([`Transport::set_topics`]). 0 turns topic discovery off
    /// (the node still announces its own topics). Default 8; range 0 ..= 64.
    pub topic_peers: usize,
    /// How often the node looks its topics' followers up again and refreshes its routing
    /// table (a lookup also runs at once when the topics change and after the first
    /// connection). Default 60 s; range 1 s ..= 1 day.
    pub topic_refresh: Duration,
    /// Largest frame carried, in either direction (bytes). Default 1 MiB (1 048 576); range
    /// 0 ..= [`MAX_FRAME_LIMIT`].
    pub max_frame: usize,
    /// Frames queued per link for sending before new ones are dropped (frames). Default
    /// 1 024; range 1 ..= 1 048 576.
    pub send_queue: usize,
    /// Bytes queued per link for sending before new frames are dropped (bytes). Default
    /// 16 MiB; range `max_frame` (at least 1) ..= 4 GiB.
    pub send_queue_bytes: usize,
    /// Events queued for [`Transport::next_event`] (events). When full, links stop reading
    /// (stream backpressure). Default 4 096; range 1 ..= 1 048 576.
    pub event_queue: usize,
    /// Time allowed to dial a connection and, separately, for the agentnet hello on a new
    /// stream. Default 10 s; range 1 ms ..= 1 h.
    pub handshake_timeout: Duration,
    /// A link that receives nothing (not even a keepalive) for this long goes down with
    /// [`LinkDown::IdleTimeout`]; each side sends a keepalive record after a third of it
    /// without sending. Default 60 s; range 3 ms ..= 1 day.
    pub idle_timeout: Duration,
    /// How long a locally closed link keeps flushing its send queue (duration). Default 2 s;
    /// range 0 ..= 1 h.
    pub close_linger: Duration,
    /// Agentnet links at most, inbound and outbound (links). When the inbound share is full,
    /// a newcomer may evict an inbound link by the TCP transport's rule (see the module
    /// docs). Default 256; range 1 ..= 65 536.
    pub max_links: usize,
    /// Link slots kept for links this node opens: inbound links are admitted up to
    /// `max_links - outbound_reserved`. Default 32; range 0 .. `max_links`.
    pub outbound_reserved: usize,
    /// libp2p connections at most, established (connections; Kademlia, identify and relay
    /// traffic need connections without agentnet links). Inbound ones are admitted up to
    /// `max_connections - outbound_reserved`. Default 512; range 1 ..= 65 536.
    pub max_connections: usize,
    /// Established inbound connections from one remote IP address (connections; IPv6 per
    /// /64, relayed connections not counted): what one host can take of the connection
    /// slots whatever number of keys it mints. Default 16; range 1 ..= 65 536.
    pub max_per_ip: usize,
    /// Connections being set up at once, inbound and outbound each (connections). Default
    /// 64; range 1 ..= 65 536.
    pub max_pending: usize,
}

impl Default for Libp2pConfig {
    fn default() -> Self {
        Libp2pConfig {
            listen: Vec::new(),
            external_addrs: Vec::new(),
            relays: Vec::new(),
            relay_server: false,
            kad_server: true,
            topic_peers: 8,
            topic_refresh: Duration::from_secs(60),
            max_frame: 1 << 20,
            send_queue: 1024,
            send_queue_bytes: 16 << 20,
            event_queue: 4096,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            close_linger: Duration::from_secs(2),
            max_links: 256,
            outbound_reserved: 32,
            max_connections: 512,
            max_per_ip: 16,
            max_pending: 64,
        }
    }
}

impl Libp2pConfig {
    /// Check every field against its documented range ([`Libp2pTransport::start`] refuses a
    /// config that fails).
    pub fn validate(&self) -> Result<(), ConfigError> {
        const MS: Duration = Duration::from_millis(1);
        const HOUR: Duration = Duration::from_secs(3600);
        const DAY: Duration = Duration::from_secs(86_400);
        check_range("topic_peers", self.topic_peers, 0..=64, "0..=64")?;
        check_range(
            "topic_refresh",
            self.topic_refresh,
            Duration::from_secs(1)..=DAY,
            "1 s..=1 day",
        )?;
        check_range(
            "max_frame",
            self.max_frame,
            0..=MAX_FRAME_LIMIT,
            "0..=MAX_FRAME_LIMIT (1 GiB)",
        )?;
        check_range("send_queue", self.send_queue, 1..=1 << 20, "1..=1048576")?;
        check_range(
            "send_queue_bytes",
            self.send_queue_bytes,
            self.max_frame.max(1)..=1 << 32,
            "max_frame..=4 GiB",
        )?;
        check_range("event_queue", self.event_queue, 1..=1 << 20, "1..=1048576")?;
        check_range(
            "handshake_timeout",
            self.handshake_timeout,
            MS..=HOUR,
            "1 ms..=1 h",
        )?;
        check_range(
            "idle_timeout",
            self.idle_timeout,
            3 * MS..=DAY,
            "3 ms..=1 day",
        )?;
        check_range(
            "close_linger",
            self.close_linger,
            Duration::ZERO..=HOUR,
            "0..=1 h",
        )?;
        check_range("max_links", self.max_links, 1..=1 << 16, "1..=65536")?;
        check_range(
            "outbound_reserved",
            self.outbound_reserved,
            0..=self.max_links.saturating_sub(1),
            "0..max_links",
        )?;
        check_range(
            "max_connections",
            self.max_connections,
            1..=1 << 16,
            "1..=65536",
        )?;
        check_range("max_per_ip", self.max_per_ip, 1..=1 << 16, "1..=65536")?;
        check_range("max_pending", self.max_pending, 1..=1 << 16, "1..=65536")
    }
}
