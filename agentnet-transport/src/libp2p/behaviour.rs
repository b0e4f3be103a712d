//! The libp2p behaviours one agentnet node runs, combined, and how the swarm is built.

use std::time::Duration;

use ::libp2p::identity::Keypair as P2pKeypair;
use ::libp2p::swarm::NetworkBehaviour;
use ::libp2p::swarm::behaviour::toggle::Toggle;
use ::libp2p::{
    StreamProtocol, Swarm, SwarmBuilder, autonat, connection_limits, dcutr, identify, kad, noise,
    ping, relay, tcp, yamux,
};

use super::Libp2pConfig;
use crate::host::TransportError;

/// The stream protocol that carries agentnet frames.
pub const AGENTNET_PROTOCOL: StreamProtocol = StreamProtocol::new("/agentnet/1");
/// The Kademlia protocol of agentnet's DHT (its own, so it never mixes with other networks'
/// DHTs that share peers).
pub const KAD_PROTOCOL: StreamProtocol = StreamProtocol::new("/agentnet/kad/1.0.0");
/// What identify announces as the protocol version.
const IDENTIFY_VERSION: &str = "agentnet/1";

/// Every behaviour of a node: connection limits first (they refuse before the others see a
/// connection), then discovery, NAT traversal and the agentnet stream.
#[derive(NetworkBehaviour)]
#[behaviour(prelude = "::libp2p::swarm::derive_prelude")]
pub(crate) struct Behaviour {
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) per_ip: super::limits::PerIp,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) kad: kad::Behaviour<kad::store::MemoryStore>,
    pub(crate) autonat: autonat::Behaviour,
    pub(crate) relay_client: relay::client::Behaviour,
    pub(crate) relay_server: Toggle<relay::Behaviour>,
    pub(crate) dcutr: dcutr::Behaviour,
    pub(crate) stream: libp2p_stream::Behaviour,
}

/// Build the swarm for `key` with `cfg`'s limits: TCP + Noise + Yamux, QUIC, DNS and relayed
/// connections.
pub(crate) fn build_swarm(
    key: P2pKeypair,
    cfg: &Libp2pConfig,
) -> Result<Swarm<Behaviour>, TransportError> {
    let io = |e: &dyn std::fmt::Display| TransportError::Io(format!("libp2p: {e}"));
    let limits = connection_limits::ConnectionLimits::default()
        .with_max_established(Some(cfg.max_connections as u32))
        // Slots only dials may use, so peers that connect here cannot take every one.
        .with_max_established_incoming(Some(
            cfg.max_connections
                .saturating_sub(cfg.outbound_reserved)
                .max(1) as u32,
        ))
        .with_max_pending_incoming(Some(cfg.max_pending as u32))
        .with_max_pending_outgoing(Some(cfg.max_pending as u32))
        // Two per peer: a relayed connection and the direct one hole punching makes.
        .with_max_established_per_peer(Some(2));
    let kad_server = cfg.kad_server;
    let max_per_ip = cfg.max_per_ip;
    let relay_server = cfg.relay_server;
    let swarm = SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| io(&e))?
        .with_quic()
        .with_dns()
        .map_err(|e| io(&e))?
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| io(&e))?
        .with_behaviour(|key, relay_client| {
            let me = key.public().to_peer_id();
            let mut kad_cfg = kad::Config::new(KAD_PROTOCOL);
            kad_cfg.set_query_timeout(Duration::from_secs(30));
            // The memory store's own bounds hold: records, provided keys, providers per key.
            let mut kad =
                kad::Behaviour::with_config(me, kad::store::MemoryStore::new(me), kad_cfg);
            if kad_server {
                kad.set_mode(Some(kad::Mode::Server));
            }
            Behaviour {
                limits: connection_limits::Behaviour::new(limits),
                per_ip: super::limits::PerIp::new(max_per_ip),
                identify: identify::Behaviour::new(identify::Config::new(
                    IDENTIFY_VERSION.to_string(),
                    key.public(),
                )),
                ping: ping::Behaviour::new(ping::Config::new()),
                kad,
                autonat: autonat::Behaviour::new(me, autonat::Config::default()),
                relay_client,
                relay_server: Toggle::from(
                    relay_server.then(|| relay::Behaviour::new(me, relay::Config::default())),
                ),
                dcutr: dcutr::Behaviour::new(me),
                stream: libp2p_stream::Behaviour::new(),
            }
        })
        .map_err(|e| io(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
        .build();
    Ok(swarm)
}
