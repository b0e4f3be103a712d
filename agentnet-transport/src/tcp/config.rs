//! [`TcpConfig`]: the transport's settings, with their units, defaults and ranges.

use std::net::SocketAddr;
use std::time::Duration;

use agentnet_core::config::{ConfigError, check_range};

#[cfg(doc)]
use super::TcpTransport;
#[cfg(doc)]
use crate::host::{LinkDown, Transport, TransportError};

/// Upper bound accepted for [`TcpConfig::max_frame`] (bytes): the record length is a u32 and a
/// frame is buffered whole, so keep it sane.
pub const MAX_FRAME_LIMIT: usize = 1 << 30;

/// Settings of a [`TcpTransport`]. Values outside a field's range are refused by
/// [`TcpTransport::bind`] ([`TcpConfig::validate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpConfig {
    /// Address to listen on; `None` (default) dials only. Port 0 picks a free port (see
    /// [`TcpTransport::listen_addr`]).
    pub listen: Option<SocketAddr>,
    /// Largest frame carried, in either direction (bytes). Default 1 MiB (1 048 576); range
    /// 0 ..= [`MAX_FRAME_LIMIT`].
    pub max_frame: usize,
    /// Frames queued per link for sending before new ones are dropped (frames). Default 1 024;
    /// range 1 ..= 1 048 576.
    pub send_queue: usize,
    /// Bytes queued per link for sending before new frames are dropped (bytes). A peer that
    /// reads slowly holds at most this much of this node's memory, whatever the frame sizes.
    /// Default 16 MiB; range `max_frame` (at least 1) ..= 4 GiB.
    pub send_queue_bytes: usize,
    /// Events queued for [`Transport::next_event`] (events). When full, links stop reading
    /// (TCP backpressure) and drop reports are coalesced. Default 4 096; range 1 ..= 1 048 576.
    pub event_queue: usize,
    /// Time allowed for the TCP connect (when dialing) and, separately, for the Noise
    /// handshake. Default 5 s; range 1 ms ..= 1 h.
    pub handshake_timeout: Duration,
    /// A link that receives nothing (not even a keepalive) for this long goes down with
    /// [`LinkDown::IdleTimeout`]. Each side sends an empty encrypted keepalive after a third of
    /// it without sending anything. Default 60 s; range 3 ms ..= 1 day.
    pub idle_timeout: Duration,
    /// How long a locally closed link keeps flushing its send queue before the connection is
    /// dropped. Default 2 s; range 0 ..= 1 h.
    pub close_linger: Duration,
    /// Open connections in total, inbound and outbound, handshakes included (connections).
    /// When full, an inbound newcomer may evict an inbound connection (see the module docs'
    /// denial-of-service note). Default 256; range 1 ..= 1 048 576.
    pub max_connections: usize,
    /// Open inbound connections from one remote IP address, handshakes included
    /// (connections). IPv6 addresses count per /64 (one host usually holds a whole /64) and
    /// IPv4-mapped IPv6 addresses as their IPv4 address. A newcomer over this limit is refused
    /// (it never evicts anyone). Default 16; range 1 ..= 1 048 576 (a value at or above
    /// `max_connections` means no per-IP limit).
    pub max_per_ip: usize,
    /// Connection slots only outbound dials may use: inbound connections are admitted up to
    /// `max_connections - outbound_reserved`, so peers that connect to this node cannot take
    /// every slot and cut it off from the peers it chooses. Default 32; range 0 ..
    /// `max_connections`.
    pub outbound_reserved: usize,
    /// First delay before [`TcpTransport::dial_persistent`] redials. Default 250 ms; range
    /// 1 ms ..= `backoff_max`.
    pub backoff_initial: Duration,
    /// Longest redial delay; the delay doubles after each attempt up to this, and returns to
    /// `backoff_initial` after a link that stayed up at least this long. Default 30 s; range
    /// 1 ms ..= 1 day.
    pub backoff_max: Duration,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            listen: None,
            max_frame: 1 << 20,
            send_queue: 1024,
            send_queue_bytes: 16 << 20,
            event_queue: 4096,
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            close_linger: Duration::from_secs(2),
            max_connections: 256,
            max_per_ip: 16,
            outbound_reserved: 32,
            backoff_initial: Duration::from_millis(250),
            backoff_max: Duration::from_secs(30),
        }
    }
}

impl TcpConfig {
    /// Check every field against its documented range ([`TcpTransport::bind`] refuses a
    /// config that fails with [`TransportError::Config`]).
    pub fn validate(&self) -> Result<(), ConfigError> {
        const MS: Duration = Duration::from_millis(1);
        const HOUR: Duration = Duration::from_secs(3600);
        const DAY: Duration = Duration::from_secs(86_400);
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
        check_range(
            "max_connections",
            self.max_connections,
            1..=1 << 20,
            "1..=1048576",
        )?;
        check_range("max_per_ip", self.max_per_ip, 1..=1 << 20, "1..=1048576")?;
        check_range(
            "outbound_reserved",
            self.outbound_reserved,
            0..=self.max_connections.saturating_sub(1),
            "0..max_connections",
        )?;
        check_range("backoff_max", self.backoff_max, MS..=DAY, "1 ms..=1 day")?;
        check_range(
            "backoff_initial",
            self.backoff_initial,
            MS..=self.backoff_max,
            "1 ms..=backoff_max",
        )
    }
}
