//! The swarm task: the one place the libp2p `Swarm` lives. It dials, accepts agentnet
//! streams, keeps the connection table, runs topic discovery through the DHT and moves
//! relayed links onto direct connections.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ::libp2p::core::transport::ListenerId;
use ::libp2p::kad::{self, GetProvidersOk, QueryResult, RecordKey};
use ::libp2p::multiaddr::Protocol;
use ::libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use ::libp2p::swarm::{ConnectionId, SwarmEvent};
use ::libp2p::{Multiaddr, PeerId, Swarm, dcutr, identify, relay};
use agentnet_core::descriptor::Topic;
use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, watch};

use super::behaviour::{Behaviour, BehaviourEvent};
use super::{AGENTNET_PROTOCOL, Command, KAD_PROTOCOL, Libp2pConfig, Shared, agent_id_of, link};
use crate::host::TransportError;

/// Topics announced and looked up at most (topics); more are ignored.
const MAX_TOPICS: usize = 256;
/// Attempts after the first to open a stream and exchange hellos on a standing connection.
const OPEN_RETRIES: u32 = 2;
/// Pause before such an attempt, times the attempt's number.
const OPEN_RETRY_PAUSE: Duration = Duration::from_millis(150);
/// Pause before a link moved off a relay is opened again, so the stream does not land on the
/// relayed connection being closed.
const REOPEN_PAUSE: Duration = Duration::from_millis(300);

/// Listen on `cfg.listen` and wait until each listener has reported an address.
pub(super) async fn listen(
    swarm: &mut Swarm<Behaviour>,
    cfg: &Libp2pConfig,
) -> Result<Vec<Multiaddr>, TransportError> {
    let mut pending = HashSet::new();
    for a in &cfg.listen {
        let id = swarm
            .listen_on(a.clone())
            .map_err(|e| TransportError::Io(format!("listen on {a}: {e}")))?;
        pending.insert(id);
    }
    let mut addrs = Vec::new();
    let deadline = tokio::time::Instant::now() + cfg.handshake_timeout.max(Duration::from_secs(5));
    while !pending.is_empty() {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .map_err(|_| TransportError::Io("a listener reported no address in time".into()))?;
        match ev {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                pending.remove(&listener_id);
                addrs.push(address);
            }
            SwarmEvent::ListenerError { error, .. } => {
                return Err(TransportError::Io(format!("listener failed: {error}")));
            }
            SwarmEvent::ListenerClosed { reason, .. } => {
                return Err(TransportError::Io(format!("listener closed: {reason:?}")));
            }
            _ => {}
        }
    }
    // A listener on an unspecified address reports every interface in one burst.
    while let Some(Some(ev)) = swarm.next().now_or_never() {
        if let SwarmEvent::NewListenAddr { address, .. } = ev {
            addrs.push(address);
        }
    }
    Ok(addrs)
}

/// A relay this node listens through, and its reservation's state.
struct Relay {
    addr: Multiaddr,
    /// The circuit listener while it stands.
    listener: Option<ListenerId>,
    /// When to ask again after the listener closed (a refused reservation, a lost relay
    /// connection: libp2p does not retry either).
    retry_at: tokio::time::Instant,
    backoff: Duration,
}

/// First pause before a relay reservation is asked for again; doubles up to
/// [`RELAY_BACKOFF_MAX`].
const RELAY_BACKOFF: Duration = Duration::from_secs(1);
/// Longest pause between reservation attempts on one relay.
const RELAY_BACKOFF_MAX: Duration = Duration::from_secs(60);

impl Relay {
    /// Ask for a reservation and listen through the relay if none stands and it is time.
    fn listen(&mut self, swarm: &mut Swarm<Behaviour>, now: tokio::time::Instant) {
        if self.listener.is_some() || self.retry_at > now {
            return;
        }
        let circuit = self.addr.clone().with(Protocol::P2pCircuit);
        match swarm.listen_on(circuit) {
            Ok(id) => self.listener = Some(id),
            Err(e) => {
                tracing::warn!(relay = %self.addr, error = %e, "cannot listen through relay");
                self.closed(now);
            }
        }
    }

    fn closed(&mut self, now: tokio::time::Instant) {
        self.listener = None;
        self.retry_at = now + self.backoff;
        self.backoff = (self.backoff * 2).min(RELAY_BACKOFF_MAX);
    }
}

/// What the swarm task keeps.
struct Task {
    shared: Arc<Shared>,
    /// Dials started by `connect`, with the address as given.
    dials: HashMap<ConnectionId, String>,
    /// Followed topics' keys and the peers linked for each through the DHT.
    topics: HashMap<RecordKey, HashSet<PeerId>>,
    /// Whether a first peer entered the routing table (then lookups can run).
    routed: bool,
    /// The relays to listen through (`Libp2pConfig::relays`).
    relays: Vec<Relay>,
}

/// Run the swarm until shutdown.
pub(super) async fn run(
    shared: Arc<Shared>,
    mut swarm: Swarm<Behaviour>,
    mut commands: mpsc::Receiver<Command>,
    incoming: libp2p_stream::IncomingStreams,
    mut stop: watch::Receiver<bool>,
) {
    let mut refresh = tokio::time::interval(shared.cfg.topic_refresh);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut task = Task {
        shared,
        dials: HashMap::new(),
        topics: HashMap::new(),
        routed: false,
        relays: Vec::new(),
    };
    let start = tokio::time::Instant::now();
    for addr in &task.shared.cfg.relays {
        let mut r = Relay {
            addr: addr.clone(),
            listener: None,
            retry_at: start,
            backoff: RELAY_BACKOFF,
        };
        r.listen(&mut swarm, start);
        task.relays.push(r);
    }
    // Inbound streams are taken on a task of their own: libp2p-stream hands each one over
    // through a channel with room for one and drops the next if it has not been taken, so
    // the taker must not wait behind the swarm's other events.
    let accepter = task
        .shared
        .runtime
        .spawn(accept_loop(Arc::clone(&task.shared), incoming));
    let mut upkeep = tokio::time::interval(RELAY_BACKOFF);
    upkeep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            r = stop.wait_for(|&down| down) => {
                let _ = r;
                break;
            }
            ev = swarm.select_next_some() => task.swarm_event(&mut swarm, ev),
            cmd = commands.recv() => match cmd {
                None => break,
                Some(Command::Dial { addr, remote }) => task.dial(&mut swarm, addr, remote),
                Some(Command::Topics(t)) => task.set_topics(&mut swarm, &t),
                Some(Command::MoveOffRelay(p)) => task.upgraded(&mut swarm, p),
            },
            _ = refresh.tick() => task.refresh(&mut swarm),
            now = upkeep.tick(), if !task.relays.is_empty() => {
                for r in &mut task.relays {
                    r.listen(&mut swarm, now);
                }
            }
        }
    }
    accepter.abort();
}

/// Take inbound agentnet streams as they come: hello, then a link, each on a task of its
/// own (at most `max_pending` hellos at once; a stream beyond that is dropped).
async fn accept_loop(shared: Arc<Shared>, mut incoming: libp2p_stream::IncomingStreams) {
    while let Some((peer, mut stream)) = incoming.next().await {
        {
            let mut st = shared.lock();
            if st.events.is_none() {
                return;
            }
            if st.hellos >= shared.cfg.max_pending {
                continue;
            }
            st.hellos += 1;
        }
        let shared = Arc::clone(&shared);
        let runtime = shared.runtime.clone();
        runtime.spawn(async move {
            let timeout = shared.cfg.handshake_timeout;
            let result = link::hello(&mut stream, shared.id, peer, timeout).await;
            shared.lock().hellos -= 1;
            match result {
                Ok(agent) => link::run(shared, stream, peer, agent, false, None).await,
                Err(reason) => {
                    let remote = link::remote_of(&shared, peer, None).addr;
                    shared.refused(remote, reason).await;
                }
            }
        });
    }
}

impl Task {
    fn refuse(&self, remote: String, reason: String) {
        // From a task of its own: the swarm task must not wait on a full event queue
        // (refusals are bounded by the dials in progress).
        let shared = Arc::clone(&self.shared);
        self.shared
            .runtime
            .spawn(async move { shared.refused(remote, reason).await });
    }

    fn dial(&mut self, swarm: &mut Swarm<Behaviour>, addr: Multiaddr, remote: String) {
        if self.dials.len() >= self.shared.cfg.max_pending {
            return self.refuse(remote, "too many dials in progress".into());
        }
        let target = match addr.iter().last() {
            Some(Protocol::P2p(p)) => Some(p),
            _ => None,
        };
        if target == Some(self.shared.peer_id) {
            return self.refuse(remote, "refusing to connect to self".into());
        }
        if let Some(p) = target
            && self.shared.lock().conns.contains_key(&p)
        {
            // Connected already (a link closed earlier, or the peer's DHT traffic): the
            // connection is reused, as libp2p means it to be.
            if self.linked(&p) {
                return self.refuse(remote, format!("already linked to {p}"));
            }
            return self.open(p, Some(remote), Duration::ZERO);
        }
        if let Some(p) = target {
            let bare: Multiaddr = addr
                .iter()
                .filter(|x| !matches!(x, Protocol::P2p(_)))
                .collect();
            if !super::is_relayed(&addr) {
                swarm.behaviour_mut().kad.add_address(&p, bare);
            }
        }
        // With a peer id, also the addresses the DHT and identify know for it (a provider
        // behind a NAT is reachable through the relay circuit it announced, even when the
        // address given is its private one).
        let opts = match target {
            Some(p) => DialOpts::peer_id(p)
                .addresses(vec![addr])
                .extend_addresses_through_behaviour()
                .condition(PeerCondition::Always)
                .build(),
            None => DialOpts::unknown_peer_id().address(addr).build(),
        };
        let id = opts.connection_id();
        match swarm.dial(opts) {
            Ok(()) => {
                self.dials.insert(id, remote);
            }
            Err(e) => self.refuse(remote, error_chain(&e)),
        }
    }

    /// Open an agentnet stream to `peer` on a task of its own (dialing it if needed).
    fn open(&self, peer: PeerId, remote: Option<String>, pause: Duration) {
        let shared = Arc::clone(&self.shared);
        {
            let mut st = shared.lock();
            if st.opening.len() >= shared.cfg.max_pending || !st.opening.insert(peer) {
                return;
            }
        }
        let mut control = shared.control.clone();
        let runtime = shared.runtime.clone();
        runtime.spawn(async move {
            tokio::time::sleep(pause).await;
            let timeout = shared.cfg.handshake_timeout;
            let mut attempt = 0;
            let result = loop {
                let opened = async {
                    let mut s = control
                        .open_stream(peer, AGENTNET_PROTOCOL)
                        .await
                        .map_err(|e| e.to_string())?;
                    let agent = link::hello(&mut s, shared.id, peer, timeout).await?;
                    Ok::<_, String>((s, agent))
                };
                let result = tokio::time::timeout(timeout * 2, opened)
                    .await
                    .unwrap_or_else(|_| Err("no stream within the handshake timeout".into()));
                // The remote drops an inbound stream it has no room to queue (libp2p-stream
                // does when its accept queue is full, under load): while the connection
                // stands, try again after a pause.
                let connected = shared.lock().conns.contains_key(&peer);
                if result.is_ok() || attempt >= OPEN_RETRIES || !connected || shared.is_shut_down()
                {
                    break result;
                }
                attempt += 1;
                tokio::time::sleep(OPEN_RETRY_PAUSE * attempt).await;
            };
            shared.lock().opening.remove(&peer);
            match result {
                Ok((s, agent)) => link::run(shared, s, peer, agent, true, remote).await,
                Err(reason) => {
                    let remote = remote.unwrap_or_else(|| format!("/p2p/{peer}"));
                    shared.refused(remote, reason).await;
                }
            }
        });
    }

    fn linked(&self, peer: &PeerId) -> bool {
        self.shared.lock().linked_or_opening(peer)
    }

    fn set_topics(&mut self, swarm: &mut Swarm<Behaviour>, topics: &[Topic]) {
        let keys: HashSet<RecordKey> = topics
            .iter()
            .take(MAX_TOPICS)
            .map(super::topic_key)
            .collect();
        let kad = &mut swarm.behaviour_mut().kad;
        self.topics.retain(|k, _| {
            let keep = keys.contains(k);
            if !keep {
                kad.stop_providing(k);
            }
            keep
        });
        for k in keys {
            if !self.topics.contains_key(&k) {
                announce_and_look_up(kad, &k, self.routed);
                self.topics.insert(k, HashSet::new());
            }
        }
    }

    fn refresh(&mut self, swarm: &mut Swarm<Behaviour>) {
        if !self.routed {
            return;
        }
        let kad = &mut swarm.behaviour_mut().kad;
        let _ = kad.bootstrap();
        for k in self.topics.keys() {
            announce_and_look_up(kad, k, true);
        }
    }

    /// Providers of a followed topic were found: link to some.
    fn providers(&mut self, key: &RecordKey, providers: HashSet<PeerId>) {
        let want = self.shared.cfg.topic_peers;
        let me = self.shared.peer_id;
        let mut open = Vec::new();
        {
            let Some(linked) = self.topics.get_mut(key) else {
                return;
            };
            let st = self.shared.lock();
            linked.retain(|p| st.linked_or_opening(p));
            for p in providers {
                if linked.len() >= want {
                    break;
                }
                if p == me || linked.contains(&p) || agent_id_of(&p).is_none() {
                    continue;
                }
                linked.insert(p);
                if !st.linked_or_opening(&p) {
                    open.push(p);
                }
            }
        }
        for p in open {
            self.open(p, None, Duration::ZERO);
        }
    }

    /// A direct connection to `peer` exists (hole punching, or any dial): if this side
    /// opened a link to it over a relay, move the link (see the module docs).
    fn upgraded(&mut self, swarm: &mut Swarm<Behaviour>, peer: PeerId) {
        let Some(agent) = agent_id_of(&peer) else {
            return;
        };
        let (moved, relayed) = {
            let mut st = self.shared.lock();
            let relayed: Vec<ConnectionId> = st
                .conns
                .get(&peer)
                .map(|c| {
                    c.iter()
                        .filter(|(_, a)| super::is_relayed(a))
                        .map(|(id, _)| *id)
                        .collect()
                })
                .unwrap_or_default();
            let entry = st.by_peer.get(&agent).and_then(|l| st.links.get(l));
            let on_relay = entry.is_some_and(|e| e.outbound && e.relayed);
            let moved = if on_relay {
                let link = st.by_peer.get(&agent).copied();
                link.and_then(|l| st.remove_link(l))
            } else {
                None
            };
            (moved, relayed)
        };
        let Some(entry) = moved else {
            return;
        };
        tracing::info!(peer = %agent.short(), "moving a relayed link onto a direct connection");
        let _ = entry.stop.send(crate::host::LinkDown::Duplicate);
        for c in relayed {
            swarm.close_connection(c);
        }
        self.open(peer, None, REOPEN_PAUSE);
    }

    fn swarm_event(&mut self, swarm: &mut Swarm<Behaviour>, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                let addr = endpoint.get_remote_address().clone();
                let direct = !super::is_relayed(&addr);
                self.shared
                    .lock()
                    .conns
                    .entry(peer_id)
                    .or_default()
                    .push((connection_id, addr));
                if direct {
                    self.upgraded(swarm, peer_id);
                }
                if let Some(remote) = self.dials.remove(&connection_id) {
                    if agent_id_of(&peer_id).is_none() {
                        let reason = format!("peer {peer_id} has no Ed25519 key");
                        swarm.close_connection(connection_id);
                        return self.refuse(remote, reason);
                    }
                    if self.linked(&peer_id) {
                        return self.refuse(remote, format!("already linked to {peer_id}"));
                    }
                    self.open(peer_id, Some(remote), Duration::ZERO);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                ..
            } => {
                let mut st = self.shared.lock();
                if let Some(c) = st.conns.get_mut(&peer_id) {
                    c.retain(|(id, _)| *id != connection_id);
                    if c.is_empty() {
                        st.conns.remove(&peer_id);
                    }
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                if let Some(remote) = self.dials.remove(&connection_id) {
                    self.refuse(remote, error_chain(&error));
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) if info.protocols.contains(&KAD_PROTOCOL) => {
                let kad = &mut swarm.behaviour_mut().kad;
                for a in info.listen_addrs {
                    kad.add_address(&peer_id, a);
                }
                if !self.routed {
                    // The first routing entry: now announcements and lookups reach someone.
                    self.routed = true;
                    self.refresh(swarm);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                result:
                    QueryResult::GetProviders(Ok(GetProvidersOk::FoundProviders { key, providers })),
                ..
            })) => self.providers(&key, providers),
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(dcutr::Event {
                remote_peer_id,
                result,
            })) => match result {
                // The direct connection itself moves the link (ConnectionEstablished).
                Ok(_) => tracing::debug!(peer = %remote_peer_id, "hole punching succeeded"),
                Err(e) => {
                    tracing::debug!(peer = %remote_peer_id, error = %e, "hole punching failed")
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::RelayClient(
                relay::client::Event::ReservationReqAccepted { relay_peer_id, .. },
            )) => tracing::info!(relay = %relay_peer_id, "relay reservation accepted"),
            SwarmEvent::NewListenAddr {
                address,
                listener_id,
            } => {
                tracing::debug!(%address, "libp2p listening");
                if let Some(r) = self
                    .relays
                    .iter_mut()
                    .find(|r| r.listener == Some(listener_id))
                {
                    r.backoff = RELAY_BACKOFF;
                }
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                let now = tokio::time::Instant::now();
                if let Some(r) = self
                    .relays
                    .iter_mut()
                    .find(|r| r.listener == Some(listener_id))
                {
                    tracing::info!(relay = %r.addr, ?reason, "relay listener closed; asking again later");
                    r.closed(now);
                }
            }
            SwarmEvent::ExternalAddrConfirmed { address } => {
                tracing::info!(%address, "external address confirmed");
            }
            _ => {}
        }
    }
}

/// Announce this node under a topic key and look the key's providers up (only announce
/// once someone can hear it: before, the record would stay local).
fn announce_and_look_up(
    kad: &mut kad::Behaviour<kad::store::MemoryStore>,
    key: &RecordKey,
    routed: bool,
) {
    if let Err(e) = kad.start_providing(key.clone()) {
        tracing::warn!(error = %e, "cannot announce a topic in the DHT");
    }
    if routed {
        kad.get_providers(key.clone());
    }
}

/// An error and its sources, one line (libp2p's dial errors say little without their causes).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(c) = source {
        s.push_str(": ");
        s.push_str(&c.to_string());
        source = c.source();
    }
    s
}
