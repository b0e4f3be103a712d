//! Which inbound connection gives up its slot when a new one arrives and the inbound slots are
//! full.
//!
//! # Threat model
//!
//! Keys are free, so a link authenticated to *some* agent proves nothing about its worth; an
//! attacker with a handful of hosts can open connections until every inbound slot is taken and
//! then keep them open with keepalives, cutting the node off from every honest peer that dials
//! it later. Refusing newcomers when full hands the slots to whoever came first. Instead, a
//! newcomer that finds the slots full may push out one existing inbound connection chosen so
//! that what the attacker cannot cheaply fake protects a connection (the rule follows Bitcoin
//! Core's inbound eviction):
//!
//! 1. **Handshakes that never finish go first.** A connection still in its handshake after
//!    [`STALE_HANDSHAKE`] (or half the handshake timeout, if that is shorter) is the oldest such
//!    one evicted. An honest handshake takes a few round trips; a stalled one only holds a
//!    slot.
//! 2. Otherwise, among authenticated inbound links, **protect** the quarter that delivered a
//!    frame most recently (useful, live peers; keepalives do not count), then half of the
//!    rest by longest time connected (a peer that has been here long cannot be displaced by a
//!    burst of new connections, however many keys and addresses the burst uses).
//! 3. From what is left, take the **largest address group** (IPv4 address, IPv6 /64: what
//!    one host controls; ties go to the group holding the youngest connection) and evict its
//!    **youngest** connection. Many connections from one host are the cheap ones, and the
//!    youngest is the one that has shown least.
//! 4. If nothing is left (every link protected, no stale handshake), the newcomer is refused.
//!
//! Outbound links are never candidates: they are the peers this node chose, and their slots
//! are reserved apart ([`super::TcpConfig::outbound_reserved`]).
//!
//! What it does not stop: an attacker whose links are both old and recently active keeps its
//! slots, like any peer that behaves; eviction bounds what *new* connections can take, not what
//! patient ones hold.

use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

/// A handshake older than this may be evicted (if the handshake timeout is longer than twice
/// this).
pub(super) const STALE_HANDSHAKE: Duration = Duration::from_secs(1);

/// What the eviction rule knows of one inbound connection.
#[derive(Clone, Debug)]
pub(crate) struct Candidate {
    /// The connection's number in the transport's table.
    pub id: u64,
    /// Its address group ([`ip_group`](super::slots::ip_group)).
    pub group: IpAddr,
    /// When it was accepted.
    pub opened: Instant,
    /// Authenticated (a link), or still in its handshake.
    pub established: bool,
    /// When it last delivered a frame (links only; keepalives do not count).
    pub last_frame: Option<Instant>,
}

/// The connection to evict so a newcomer fits, or `None` to refuse the newcomer (see the
/// module docs for the rule). `handshake_timeout` is the transport's.
pub(crate) fn choose(
    cands: &[Candidate],
    now: Instant,
    handshake_timeout: Duration,
) -> Option<u64> {
    let grace = STALE_HANDSHAKE.min(handshake_timeout / 2);
    let stale = cands
        .iter()
        .filter(|c| !c.established && now.saturating_duration_since(c.opened) >= grace)
        .min_by_key(|c| (c.opened, c.id));
    if let Some(c) = stale {
        return Some(c.id);
    }
    let mut links: Vec<&Candidate> = cands.iter().filter(|c| c.established).collect();
    // Protect the most recently useful quarter: latest frame first, never-delivered last.
    let recent = links.len() / 4;
    links.sort_by_key(|c| (std::cmp::Reverse(c.last_frame), c.id));
    let mut rest: Vec<&Candidate> = links.split_off(recent);
    // Then half of the rest by time connected: oldest first.
    let elders = rest.len() / 2;
    rest.sort_by_key(|c| (c.opened, c.id));
    let rest = rest.split_off(elders);
    // The largest group; ties to the group with the youngest member. Then its youngest.
    let mut groups: Vec<(IpAddr, usize, Instant)> = Vec::new();
    for c in &rest {
        match groups.iter_mut().find(|(g, _, _)| *g == c.group) {
            Some((_, n, youngest)) => {
                *n += 1;
                *youngest = (*youngest).max(c.opened);
            }
            None => groups.push((c.group, 1, c.opened)),
        }
    }
    let (group, _, _) = groups
        .into_iter()
        .max_by_key(|&(g, n, youngest)| (n, youngest, g))?;
    rest.into_iter()
        .filter(|c| c.group == group)
        .max_by_key(|c| (c.opened, c.id))
        .map(|c| c.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HS: Duration = Duration::from_secs(5);

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    struct World {
        t0: Instant,
        cands: Vec<Candidate>,
    }

    impl World {
        fn new() -> Self {
            World {
                t0: Instant::now(),
                cands: vec![],
            }
        }

        /// A connection from `group` opened `at` seconds in; `frame` seconds in, if it
        /// delivered one; `None` for a handshake.
        fn add(&mut self, group: &str, at: u64, established: bool, frame: Option<u64>) -> u64 {
            let id = self.cands.len() as u64;
            self.cands.push(Candidate {
                id,
                group: ip(group),
                opened: self.t0 + Duration::from_secs(at),
                established,
                last_frame: frame.map(|f| self.t0 + Duration::from_secs(f)),
            });
            id
        }

        fn choose(&self, now: u64) -> Option<u64> {
            choose(&self.cands, self.t0 + Duration::from_secs(now), HS)
        }
    }

    #[test]
    fn a_stalled_handshake_goes_before_any_link() {
        let mut w = World::new();
        for i in 0..4 {
            w.add("10.0.0.1", i, true, None);
        }
        let old = w.add("10.0.0.9", 10, false, None);
        w.add("10.0.0.9", 11, false, None);
        assert_eq!(w.choose(12), Some(old));
        // A handshake younger than the grace is not stale: a link goes instead.
        let v = w.choose(10).unwrap();
        assert!(w.cands[v as usize].established);
    }

    #[test]
    fn a_burst_of_new_links_from_one_host_evicts_itself_not_the_elders() {
        let mut w = World::new();
        let honest: Vec<u64> = (0..8)
            .map(|i| w.add(&format!("192.0.2.{i}"), i, true, Some(50)))
            .collect();
        let burst: Vec<u64> = (0..8)
            .map(|i| w.add("198.51.100.7", 100 + i, true, None))
            .collect();
        assert_eq!(w.choose(200), Some(*burst.last().unwrap()));
        assert!(!honest.contains(&w.choose(200).unwrap()));
    }

    #[test]
    fn many_hosts_cannot_displace_the_long_connected_and_the_active() {
        let mut w = World::new();
        // Honest: four long-connected quiet peers, four recently active ones.
        let quiet: Vec<u64> = (0..4)
            .map(|i| w.add(&format!("192.0.2.{i}"), i, true, Some(1)))
            .collect();
        let active: Vec<u64> = (0..4)
            .map(|i| w.add(&format!("203.0.113.{i}"), 300 + i, true, Some(999)))
            .collect();
        // Attackers: 8 distinct hosts, connected later, idle.
        let attackers: Vec<u64> = (0..8)
            .map(|i| w.add(&format!("198.51.100.{i}"), 500 + i, true, None))
            .collect();
        let mut left = w.cands.clone();
        let mut evicted = vec![];
        // Keep evicting: the attackers go first, youngest first.
        for _ in 0..8 {
            let v = choose(&left, w.t0 + Duration::from_secs(1000), HS).unwrap();
            evicted.push(v);
            left.retain(|c| c.id != v);
        }
        let mut want = attackers.clone();
        want.reverse();
        assert_eq!(evicted, want);
        assert!(quiet.iter().chain(&active).all(|id| !evicted.contains(id)));
    }

    #[test]
    fn everything_protected_refuses_the_newcomer() {
        let mut w = World::new();
        assert_eq!(w.choose(0), None);
        w.add("192.0.2.1", 0, false, None);
        // A fresh handshake is not stale and there is no link.
        assert_eq!(w.choose(0), None);
    }

    #[test]
    fn a_single_link_can_be_evicted() {
        let mut w = World::new();
        let only = w.add("192.0.2.1", 0, true, Some(1));
        assert_eq!(w.choose(5), Some(only));
    }
}
