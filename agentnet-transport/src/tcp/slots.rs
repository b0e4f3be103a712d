//! Connection slots: the total, inbound, outbound-reserved and per-address limits, and the
//! eviction that makes room for an inbound newcomer (the rule itself is in [`super::evict`]).

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::{InboundConn, Shared, State, evict};
use crate::host::LinkDown;

/// The group an address counts in for the per-IP limit: an IPv4 address itself (also when
/// IPv4-mapped), an IPv6 address's /64 (a host is usually given a whole /64, so counting each
/// address apart would give one host 2^64 budgets).
pub(crate) fn ip_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// Holds one connection's place in the limits; releases it on drop.
pub(super) struct Slot {
    shared: Arc<Shared>,
    /// Inbound: the connection's number in [`State::inbound_conns`], where its place is kept
    /// (an eviction gives the place back early and removes the entry).
    pub(super) conn: Option<u64>,
}

/// What an inbound connection's task holds besides its [`Slot`].
pub(super) struct InboundTicket {
    /// Fires (or is dropped) when the connection is evicted during its handshake.
    pub(super) evicted: oneshot::Receiver<()>,
    pub(super) activity: Arc<AtomicU64>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        match self.conn {
            Some(conn) => {
                st.release_inbound(conn);
            }
            None => st.conns = st.conns.saturating_sub(1),
        }
    }
}

impl Shared {
    pub(super) fn admit_outbound(self: &Arc<Self>) -> Result<Slot, String> {
        let mut st = self.lock();
        if st.events.is_none() {
            return Err("transport shut down".into());
        }
        if st.conns >= self.cfg.max_connections {
            return Err(format!(
                "connection limit: {} open connections (max {})",
                st.conns, self.cfg.max_connections
            ));
        }
        st.conns += 1;
        drop(st);
        Ok(Slot {
            shared: Arc::clone(self),
            conn: None,
        })
    }

    /// Take an inbound connection slot from `ip`, evicting another inbound connection if the
    /// slots are full and the eviction rule ([`evict`]) names one, or say which limit is full.
    pub(super) fn admit_inbound(
        self: &Arc<Self>,
        ip: IpAddr,
    ) -> Result<(Slot, InboundTicket), String> {
        let group = ip_group(ip);
        let max_inbound = self.cfg.max_connections - self.cfg.outbound_reserved;
        let mut st = self.lock();
        if st.events.is_none() {
            return Err("transport shut down".into());
        }
        let n = st.per_ip.get(&group).copied().unwrap_or(0);
        if n >= self.cfg.max_per_ip {
            return Err(format!(
                "per-IP connection limit: {n} open connections from {group} (max {})",
                self.cfg.max_per_ip
            ));
        }
        if (st.conns >= self.cfg.max_connections || st.inbound >= max_inbound)
            && !self.evict_one(&mut st)
        {
            return Err(if st.inbound >= max_inbound {
                format!(
                    "inbound connection limit: {} open (max {max_inbound}; {} kept for dialing out)",
                    st.inbound, self.cfg.outbound_reserved
                )
            } else {
                format!(
                    "connection limit: {} open connections (max {})",
                    st.conns, self.cfg.max_connections
                )
            });
        }
        if st.conns >= self.cfg.max_connections {
            // The eviction freed an inbound slot but outbound connections hold the rest.
            return Err(format!(
                "connection limit: {} open connections (max {})",
                st.conns, self.cfg.max_connections
            ));
        }
        *st.per_ip.entry(group).or_default() += 1;
        st.inbound += 1;
        st.conns += 1;
        let conn = st.next_conn;
        st.next_conn += 1;
        let (evict_tx, evicted) = oneshot::channel();
        let activity = Arc::new(AtomicU64::new(0));
        st.inbound_conns.insert(
            conn,
            InboundConn {
                group,
                opened: Instant::now(),
                link: None,
                activity: Arc::clone(&activity),
                evict: Some(evict_tx),
            },
        );
        drop(st);
        let slot = Slot {
            shared: Arc::clone(self),
            conn: Some(conn),
        };
        Ok((slot, InboundTicket { evicted, activity }))
    }

    /// Evict the inbound connection the eviction rule names, giving its place back at once
    /// (its task notices and ends). False if the rule protects every one.
    fn evict_one(&self, st: &mut State) -> bool {
        let at = |us: u64| (us > 0).then(|| self.epoch + Duration::from_micros(us - 1));
        let cands: Vec<evict::Candidate> = st
            .inbound_conns
            .iter()
            .map(|(&id, c)| evict::Candidate {
                id,
                group: c.group,
                opened: c.opened,
                established: c.link.is_some(),
                last_frame: at(c.activity.load(Ordering::Relaxed)),
            })
            .collect();
        let Some(victim) = evict::choose(&cands, Instant::now(), self.cfg.handshake_timeout) else {
            return false;
        };
        let Some(mut entry) = st.release_inbound(victim) else {
            return false;
        };
        match entry.link.and_then(|link| st.remove_link(link)) {
            Some(link) => {
                let _ = link.stop.send(LinkDown::Evicted);
                self.link_gone.notify_waiters();
            }
            None => {
                if let Some(tx) = entry.evict.take() {
                    let _ = tx.send(());
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_count_per_64_and_mapped_ipv4_as_ipv4() {
        let g = |s: &str| ip_group(s.parse().unwrap());
        assert_eq!(g("2001:db8:1:2:aaaa::1"), g("2001:db8:1:2:ffff:1:2:3"));
        assert_ne!(g("2001:db8:1:2::1"), g("2001:db8:1:3::1"));
        assert_eq!(g("::ffff:192.0.2.7"), g("192.0.2.7"));
        assert_eq!(g("192.0.2.7"), "192.0.2.7".parse::<IpAddr>().unwrap());
        assert_ne!(g("192.0.2.7"), g("192.0.2.8"));
    }
}
