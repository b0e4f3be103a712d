//! Inbound connections per address group: what one host may hold of a node's connection
//! slots.
//!
//! libp2p's `connection-limits` bounds connections in total, pending and per peer, but a
//! peer id is free: one host can mint a thousand and take every inbound slot. This behaviour
//! bounds established inbound connections per remote IP address (IPv6 per /64; the grouping
//! of the TCP transport), so filling the table takes as many hosts as slots. Relayed
//! connections are not counted here (their remote address is the relay's; the relay bounds
//! its own circuits).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use ::libp2p::core::Endpoint;
use ::libp2p::core::transport::PortUse;
use ::libp2p::swarm::{
    ConnectionClosed, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm, dummy,
};
use ::libp2p::{Multiaddr, PeerId};

use super::{addr_group, is_relayed};

/// Refused: the remote's address group holds its share already.
#[derive(Debug)]
struct PerIpExceeded {
    group: IpAddr,
    limit: usize,
}

impl std::fmt::Display for PerIpExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} inbound connections from {} already",
            self.limit, self.group
        )
    }
}

impl std::error::Error for PerIpExceeded {}

/// See the module docs.
pub(crate) struct PerIp {
    limit: usize,
    by_group: HashMap<IpAddr, usize>,
    /// Counted connections and their group.
    counted: HashMap<ConnectionId, IpAddr>,
}

impl PerIp {
    pub(crate) fn new(limit: usize) -> Self {
        PerIp {
            limit,
            by_group: HashMap::new(),
            counted: HashMap::new(),
        }
    }

    fn check(&self, remote: &Multiaddr) -> Result<Option<IpAddr>, ConnectionDenied> {
        if is_relayed(remote) {
            return Ok(None);
        }
        let group = addr_group(remote);
        if self.by_group.get(&group).copied().unwrap_or(0) >= self.limit {
            return Err(ConnectionDenied::new(PerIpExceeded {
                group,
                limit: self.limit,
            }));
        }
        Ok(Some(group))
    }
}

impl NetworkBehaviour for PerIp {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.check(remote).map(drop)
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        // Checked again: several connections from one group may have been pending at once.
        if let Some(group) = self.check(remote)? {
            *self.by_group.entry(group).or_default() += 1;
            self.counted.insert(id, group);
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm<'_>) {
        if let FromSwarm::ConnectionClosed(ConnectionClosed { connection_id, .. }) = event
            && let Some(group) = self.counted.remove(&connection_id)
            && let Some(n) = self.by_group.get_mut(&group)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_group.remove(&group);
            }
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_host_holds_at_most_its_share_and_gets_it_back_on_close() {
        let mut b = PerIp::new(2);
        let from = |s: &str| s.parse::<Multiaddr>().unwrap();
        let a = from("/ip4/10.0.0.1/tcp/1");
        let peer = PeerId::random();
        let local = from("/ip4/10.0.0.9/tcp/7");
        for i in 0..2 {
            b.handle_established_inbound_connection(
                ConnectionId::new_unchecked(i),
                peer,
                &local,
                &a,
            )
            .unwrap();
        }
        assert!(
            b.handle_pending_inbound_connection(ConnectionId::new_unchecked(9), &local, &a)
                .is_err()
        );
        // Another host, and relayed connections, are not affected.
        assert!(
            b.handle_pending_inbound_connection(
                ConnectionId::new_unchecked(9),
                &local,
                &from("/ip4/10.0.0.2/tcp/1")
            )
            .is_ok()
        );
        let relayed = from("/ip4/10.0.0.1/tcp/1/p2p-circuit");
        assert!(
            b.handle_established_inbound_connection(
                ConnectionId::new_unchecked(5),
                peer,
                &local,
                &relayed
            )
            .is_ok()
        );
        // The same /64 is one host.
        let mut v6 = PerIp::new(1);
        v6.handle_established_inbound_connection(
            ConnectionId::new_unchecked(1),
            peer,
            &local,
            &from("/ip6/2001:db8::1/tcp/1"),
        )
        .unwrap();
        assert!(
            v6.handle_pending_inbound_connection(
                ConnectionId::new_unchecked(2),
                &local,
                &from("/ip6/2001:db8::2/tcp/1")
            )
            .is_err()
        );
    }
}
