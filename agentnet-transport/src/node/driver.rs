//! The driver task: the one place the agent lives. It feeds the agent commands, transport
//! events, timeouts and completions, and drains it as the drive contract asks (see the
//! [module docs](super)).

use super::*;
use futures::FutureExt;

pub(super) enum Command {
    Announce(
        Box<CapabilityDescriptor>,
        oneshot::Sender<Result<(Topic, u64), NodeError>>,
    ),
    Serve(
        Box<CapabilityDescriptor>,
        ServePolicy,
        Handler,
        oneshot::Sender<Result<(), NodeError>>,
    ),
    Withdraw(String, oneshot::Sender<bool>),
    Subscribe(Topic, oneshot::Sender<Result<(), NodeError>>),
    Interest(InterestProfile, oneshot::Sender<()>),
    Discover {
        intent: String,
        requirements: Requirements,
        k: usize,
        reply: oneshot::Sender<Vec<Candidate>>,
    },
    Request(
        Box<TaskRequest>,
        oneshot::Sender<Result<RequestHandle, NodeError>>,
    ),
    Descriptors(usize, oneshot::Sender<Vec<CapabilityDescriptor>>),
    Workflow(Box<crate::agent::Workflow>, super::workflow::WorkflowReply),
    Intent(
        Box<crate::agent::IntentRequest>,
        oneshot::Sender<Result<RequestHandle, NodeError>>,
    ),
    State(u16, bool, u32, oneshot::Sender<Result<usize, NodeError>>),
    Reputation(AgentId, Topic, oneshot::Sender<(f64, bool)>),
    ReputationTable(oneshot::Sender<Vec<(Topic, AgentId, f64, bool)>>),
    Connect(String, oneshot::Sender<Result<(), NodeError>>),
    Peers(oneshot::Sender<Vec<LinkInfo>>),
    Stats(oneshot::Sender<NodeStats>),
    Topics(oneshot::Sender<Vec<(Topic, bool)>>),
    Shutdown(oneshot::Sender<()>),
}

/// Completions of effects run on their own tasks.
pub(super) enum Done {
    Executed(RequestId, Executed),
    Llm(RequestId, Result<String, String>),
    Embedded(RequestId, Result<Vec<Vec<f32>>, String>),
}

/// What the driver keeps for a request a handle waits on.
pub(super) struct Waiter {
    pub(super) stages: mpsc::UnboundedSender<Stage>,
    pub(super) outcome: oneshot::Sender<TaskOutcome>,
}

/// A request whose candidates are being dialed.
pub(super) struct Dialing {
    pub(super) until: Instant,
    pub(super) wanted: Vec<AgentId>,
    pub(super) start: Start,
}

/// What starts once the dialing ends.
pub(super) enum Start {
    Request(
        Box<TaskRequest>,
        oneshot::Sender<Result<RequestHandle, NodeError>>,
    ),
    Workflow(Box<crate::agent::Workflow>, super::workflow::WorkflowReply),
}

pub(super) struct Redial {
    pub(super) link: Option<LinkId>,
    /// Who answered at this address last. While any link to that peer is up (one the peer
    /// dialed, or one dialed through another name for the same host), the address is not
    /// redialed: a second link to a linked peer is only ever closed as a duplicate.
    pub(super) peer: Option<AgentId>,
    pub(super) at: Instant,
    pub(super) delay: Duration,
}

pub(super) struct Driver {
    pub(super) cfg: NodeConfig,
    pub(super) agent: Agent,
    pub(super) transport: Box<dyn Transport>,
    pub(super) store: Box<dyn Store>,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) llm: Option<Arc<dyn LanguageModel>>,
    /// Runs `Effect::Embed` when the encoder is a remote one.
    pub(super) embedder: Option<Arc<dyn Embedder>>,
    /// Discoveries and requests waiting for their intent's vector (see `embed`).
    pub(super) warming: Vec<super::embed::Warming>,
    pub(super) addr: Option<String>,
    pub(super) events: broadcast::Sender<NodeEvent>,
    pub(super) done: mpsc::UnboundedSender<Done>,
    pub(super) handlers: BTreeMap<String, Handler>,
    pub(super) waiters: BTreeMap<RequestId, Waiter>,
    /// Requests waiting for links to candidates being dialed (until the deadline).
    pub(super) dialing: Vec<Dialing>,
    /// Callers waiting for a workflow's end.
    pub(super) workflow_waiters:
        BTreeMap<RequestId, oneshot::Sender<crate::agent::WorkflowOutcome>>,
    pub(super) links: BTreeMap<LinkId, LinkInfo>,
    pub(super) bootstrap: BTreeMap<String, Redial>,
    pub(super) stats: NodeStats,
    pub(super) prune_at: Instant,
    /// Topics followed only because a peer follows them (`follow_peer_topics`), in the order
    /// followed, with the link that named them.
    pub(super) peer_topics: Vec<(Topic, LinkId)>,
    /// Peers whose link the gossip plane banned, until when. A ban closes the link and holds
    /// for the peer, not the link: a reconnect is closed again until it ends. Bounded by
    /// [`MAX_BANNED_PEERS`]; when full the ban ending first makes room.
    pub(super) banned: BTreeMap<AgentId, Instant>,
    /// The topic set last handed to [`Transport::set_topics`].
    pub(super) topics_sent: Vec<Topic>,
    /// Tasks running, for the load this node states ([`NodeConfig::capacity`]).
    pub(super) load: super::load::Load,
}

/// Most peers a node remembers as banned.
const MAX_BANNED_PEERS: usize = 1024;

/// Transport events handled in one turn at most, before the turn's effects run (one durable
/// store batch, then the frames). Under a flood of frames the node writes to disk once per
/// this many frames, not once per frame; a quiet node still writes at once.
const MAX_EVENTS_PER_TURN: usize = 256;

impl Driver {
    pub(super) async fn run(
        mut self,
        mut cmds: mpsc::Receiver<Command>,
        mut done: mpsc::UnboundedReceiver<Done>,
    ) {
        let now = self.clock.now();
        self.redial(now);
        self.flush(now);
        self.sync_topics();
        loop {
            let now = self.clock.now();
            let deadline = self.deadline();
            let wait = deadline.saturating_duration_since(now.mono);
            tokio::select! {
                cmd = cmds.recv() => {
                    let Some(cmd) = cmd else { break };
                    if let Some(done) = self.command(cmd) {
                        self.flush(self.clock.now());
                        let _ = done.send(());
                        break;
                    }
                }
                d = done.recv() => {
                    if let Some(d) = d {
                        self.completion(d);
                    }
                }
                ev = self.transport.next_event() => {
                    let Some(ev) = ev else { break };
                    self.transport_event(ev);
                    // Take what else is ready now into the same turn (a `Transport`'s
                    // `next_event` is cancel-safe: a future dropped unfinished loses nothing).
                    let mut closed = false;
                    for _ in 1..MAX_EVENTS_PER_TURN {
                        match self.transport.next_event().now_or_never() {
                            Some(Some(ev)) => self.transport_event(ev),
                            Some(None) => {
                                closed = true;
                                break;
                            }
                            None => break,
                        }
                    }
                    if closed {
                        self.flush(self.clock.now());
                        break;
                    }
                }
                () = tokio::time::sleep(wait) => {}
            }
            let now = self.clock.now();
            if self.agent.poll_timeout().is_some_and(|t| t <= now.mono) {
                self.agent.handle_timeout(now);
            }
            if self.prune_at <= now.mono {
                self.prune_at = now.mono + self.cfg.prune_interval;
                if let Err(e) = self.store.prune(now.wall) {
                    self.emit(NodeEvent::StoreFailed(e.to_string()));
                }
            }
            self.redial(now);
            self.restate_load(now);
            self.start_dialed(now);
            self.unpark_warmed(now);
            self.flush(now);
            self.sync_topics();
        }
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for l in links {
            self.transport.close(l);
        }
    }

    fn deadline(&self) -> Instant {
        let mut d = self.prune_at;
        if let Some(t) = self.agent.poll_timeout() {
            d = d.min(t);
        }
        for r in self.bootstrap.values() {
            if r.link.is_none() {
                d = d.min(r.at);
            }
        }
        for w in &self.dialing {
            d = d.min(w.until);
        }
        for w in &self.warming {
            d = d.min(w.until);
        }
        if let Some(t) = self.load_deadline() {
            d = d.min(t);
        }
        d
    }

    /// Tell the transport the followed topics when they changed (a transport with its own
    /// peer discovery announces them; see [`Transport::set_topics`]).
    fn sync_topics(&mut self) {
        if self.agent.gossip().topics().eq(self.topics_sent.iter()) {
            return;
        }
        self.topics_sent = self.agent.gossip().topics().cloned().collect();
        self.transport.set_topics(&self.topics_sent);
    }

    fn emit(&self, e: NodeEvent) {
        // No receivers is fine: the handle may not be listening.
        let _ = self.events.send(e);
    }

    fn redial(&mut self, now: Now) {
        let max = self.cfg.redial_max;
        let mut dial = Vec::new();
        let linked: std::collections::BTreeSet<AgentId> =
            self.links.values().map(|l| l.peer).collect();
        for (addr, r) in self.bootstrap.iter_mut() {
            if r.peer.is_some_and(|p| linked.contains(&p)) {
                continue;
            }
            if r.link.is_none() && r.at <= now.mono {
                dial.push(addr.clone());
                r.at = now.mono + r.delay;
                r.delay = (r.delay * 2).min(max);
            }
        }
        for a in dial {
            if let Err(e) = self.transport.connect(&a) {
                // Refused before any dial (an address the transport cannot parse): it never
                // will work, so it leaves the list instead of being retried forever.
                self.bootstrap.remove(&a);
                tracing::warn!(addr = %a, error = %e, "bootstrap address dropped");
                self.emit(NodeEvent::Refused {
                    remote: a,
                    reason: format!("{e}; dropped from the bootstrap list"),
                });
            }
        }
    }

    /// Fill a descriptor's endpoints from the listen address when it names none.
    fn with_endpoints(&self, mut d: CapabilityDescriptor) -> CapabilityDescriptor {
        if d.endpoints.is_empty()
            && let Some(a) = &self.addr
        {
            d.endpoints.push(a.clone());
        }
        d
    }

    fn command(&mut self, cmd: Command) -> Option<oneshot::Sender<()>> {
        let now = self.clock.now();
        match cmd {
            Command::Announce(d, reply) => {
                self.make_room(now, &d.topic);
                let d = self.with_endpoints(*d);
                let r = self.agent.announce(now, d).map_err(NodeError::from);
                let _ = reply.send(r);
            }
            Command::Serve(d, policy, handler, reply) => {
                self.make_room(now, &d.topic);
                let d = self.with_endpoints(*d);
                let cap = d.capability.clone();
                let r = self.agent.serve(now, d, policy).map_err(NodeError::from);
                if r.is_ok() {
                    self.handlers.insert(cap, handler);
                }
                let _ = reply.send(r);
            }
            Command::Withdraw(cap, reply) => {
                self.handlers.remove(&cap);
                let _ = reply.send(self.agent.unserve(&cap));
            }
            Command::Subscribe(t, reply) => {
                self.make_room(now, &t);
                let r = self.agent.subscribe(now, t).map_err(NodeError::from);
                let _ = reply.send(r);
            }
            Command::Interest(p, reply) => {
                self.agent.set_interest(p);
                let _ = reply.send(());
            }
            Command::Discover {
                intent,
                requirements,
                k,
                reply,
            } => {
                if !self.warm(now, &intent) {
                    self.park(
                        now,
                        Command::Discover {
                            intent,
                            requirements,
                            k,
                            reply,
                        },
                    );
                    return None;
                }
                let _ = reply.send(self.agent.discover(now, &intent, &requirements, k));
            }
            Command::Request(task, reply) => {
                if !self.warm(now, &task.intent) {
                    self.park(now, Command::Request(task, reply));
                    return None;
                }
                self.request_now(now, task, reply);
            }
            Command::Descriptors(max, reply) => {
                let skew = agentnet_gossip::discover::FRESHNESS_SKEW;
                let list = self
                    .agent
                    .gossip()
                    .index()
                    .iter()
                    .filter(|d| !d.retracted && d.is_fresh(now, skew))
                    .take(max)
                    .map(|d| d.value().clone())
                    .collect();
                let _ = reply.send(list);
            }
            Command::Workflow(wf, reply) => self.workflow_command(now, wf, reply),
            Command::Intent(req, reply) => self.intent_command(now, req, reply),
            Command::State(load, available, queued, reply) => {
                let r = self.agent.announce_state(now, load, available, queued);
                let _ = reply.send(r.map_err(NodeError::from));
            }
            Command::Reputation(agent, topic, reply) => {
                let _ = reply.send((
                    self.agent.reputation(&agent, &topic),
                    self.agent.is_convicted(&agent),
                ));
            }
            Command::ReputationTable(reply) => {
                let table = self
                    .agent
                    .reputation_table()
                    .into_iter()
                    .map(|(t, a, s)| {
                        let convicted = self.agent.is_convicted(&a);
                        (t, a, s, convicted)
                    })
                    .collect();
                let _ = reply.send(table);
            }
            Command::Connect(addr, reply) => {
                let r = self.transport.connect(&addr).map_err(NodeError::from);
                let _ = reply.send(r);
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.links.values().cloned().collect());
            }
            Command::Topics(reply) => {
                let list = self
                    .agent
                    .gossip()
                    .topics()
                    .map(|t| (t.clone(), self.peer_topics.iter().any(|(p, _)| p == t)))
                    .collect();
                let _ = reply.send(list);
            }
            Command::Stats(reply) => {
                let mut s = self.stats.clone();
                s.links = self.links.len();
                s.planes = self.agent.traffic();
                s.headers = self.agent.gossip().header_count();
                s.descriptors = self.agent.gossip().index().len();
                let _ = reply.send(s);
            }
            Command::Shutdown(done) => return Some(done),
        }
        None
    }

    /// Run a request: dial its candidates first if some are not linked yet.
    pub(super) fn request_now(
        &mut self,
        now: Now,
        task: Box<TaskRequest>,
        reply: oneshot::Sender<Result<RequestHandle, NodeError>>,
    ) {
        let wanted = self.dial_candidates(now, &task);
        self.after_dials(now, wanted, Start::Request(task, reply));
    }

    /// Start `start` once the candidates in `wanted` are linked (at once if there are none),
    /// or when the dial wait ends.
    pub(super) fn after_dials(&mut self, now: Now, wanted: Vec<AgentId>, start: Start) {
        if wanted.is_empty() {
            self.begin(now, start);
        } else {
            self.dialing.push(Dialing {
                until: now.mono + self.cfg.dial_wait,
                wanted,
                start,
            });
        }
    }

    fn begin(&mut self, now: Now, start: Start) {
        match start {
            Start::Request(task, reply) => self.start_request(now, task, reply),
            Start::Workflow(wf, reply) => self.start_workflow(now, *wf, reply),
        }
    }

    /// Dial the endpoints of candidates for `task` this node has no verified route to yet,
    /// so the funnel can reach providers it only heard of through relays; returns them. Links
    /// already up are reused.
    pub(super) fn dial_candidates(&mut self, now: Now, task: &TaskRequest) -> Vec<AgentId> {
        let k = self.cfg.agent.funnel.max_candidates;
        let found = self
            .agent
            .discover(now, &task.intent, &task.requirements, k);
        let mut wanted = Vec::new();
        for c in found {
            let p = c.descriptor.provider;
            let linked = self.links.values().any(|l| l.peer == p);
            if p == self.agent.id() || linked {
                if linked && !self.agent.peers().any(|(a, _)| *a == p) {
                    // Linked but the handshake is still under way: wait for it too.
                    wanted.push(p);
                }
                continue;
            }
            if let Some(ep) = c.descriptor.endpoints.first()
                && self.transport.connect(ep).is_ok()
            {
                wanted.push(p);
            }
        }
        wanted
    }

    /// Start requests and workflows whose candidates are reachable now, or whose wait ran
    /// out.
    fn start_dialed(&mut self, now: Now) {
        let mut i = 0;
        while i < self.dialing.len() {
            let d = &self.dialing[i];
            let reachable = d
                .wanted
                .iter()
                .all(|w| self.agent.peers().any(|(a, _)| a == w));
            if reachable || d.until <= now.mono {
                let d = self.dialing.swap_remove(i);
                self.begin(now, d.start);
            } else {
                i += 1;
            }
        }
    }

    fn start_request(
        &mut self,
        now: Now,
        task: Box<TaskRequest>,
        reply: oneshot::Sender<Result<RequestHandle, NodeError>>,
    ) {
        let r = self
            .agent
            .request(now, *task)
            .map(|id| self.handle_for(id))
            .map_err(NodeError::from);
        let _ = reply.send(r);
    }

    /// A handle on request `id`: its stages and outcome are forwarded to it.
    pub(super) fn handle_for(&mut self, id: RequestId) -> RequestHandle {
        let (stx, srx) = mpsc::unbounded_channel();
        let (otx, orx) = oneshot::channel();
        self.waiters.insert(
            id,
            Waiter {
                stages: stx,
                outcome: otx,
            },
        );
        RequestHandle {
            id,
            stages: srx,
            outcome: orx,
        }
    }

    fn completion(&mut self, d: Done) {
        let now = self.clock.now();
        let r = match d {
            Done::Executed(id, out) => {
                self.load_changed(now, false);
                self.agent.handle_executed(now, id, out)
            }
            Done::Llm(id, Ok(text)) => self.agent.handle_llm_response(now, id, &text),
            Done::Llm(id, Err(why)) => self.agent.handle_llm_failure(now, id, &why),
            Done::Embedded(id, r) => self.agent.handle_embedded(now, id, r),
        };
        if let Err(e) = r {
            tracing::debug!(error = %e, "a completion was refused");
        }
    }

    fn transport_event(&mut self, ev: crate::host::TransportEvent) {
        use crate::host::TransportEvent as T;
        let now = self.clock.now();
        match ev {
            T::LinkUp(info) => {
                if let Some(&until) = self.banned.get(&info.peer) {
                    if now.mono < until {
                        self.transport.close(info.link);
                        self.emit(NodeEvent::Refused {
                            remote: info.remote,
                            reason: format!("{} is banned", info.peer),
                        });
                        return;
                    }
                    self.banned.remove(&info.peer);
                }
                // An outbound link's `remote` is the address as dialed (the transport
                // contract), so a bootstrap entry given by host name matches its own link.
                if info.outbound
                    && let Some(r) = self.bootstrap.get_mut(&info.remote)
                {
                    r.link = Some(info.link);
                    r.peer = Some(info.peer);
                    r.delay = self.cfg.redial_initial;
                }
                self.links.insert(info.link, info.clone());
                self.agent.handle_link_up(now, info.link);
                self.emit(NodeEvent::LinkUp(info));
            }
            T::LinkDown { link, reason } => {
                let Some(info) = self.links.remove(&link) else {
                    return;
                };
                for r in self.bootstrap.values_mut() {
                    if r.link == Some(link) {
                        r.link = None;
                        r.at = now.mono + r.delay;
                    }
                }
                self.agent.handle_link_down(now, link);
                self.emit(NodeEvent::LinkDown {
                    link,
                    peer: info.peer,
                    reason,
                });
            }
            T::Frame { link, frame } => self.frame(now, link, frame),
            T::SendDropped { link, frames } => self.emit(NodeEvent::SendDropped { link, frames }),
            T::Refused { remote, reason } => self.emit(NodeEvent::Refused { remote, reason }),
        }
    }

    fn frame(&mut self, now: Now, link: LinkId, frame: Bytes) {
        let Some(kind) = peek_kind(&frame) else {
            self.stats.refused += 1;
            return;
        };
        self.stats
            .received
            .entry(kind)
            .or_default()
            .add(frame.len());
        let follow = self.cfg.follow_peer_topics && kind == agentnet_gossip::wire::kind::SUBSCRIBE;
        if let Err(e) = self.agent.handle_message(now, link, frame) {
            self.stats.refused += 1;
            tracing::debug!(%link, error = %e, "the agent refused a frame");
        }
        if follow {
            self.follow_topics_of(now, link);
        }
    }

    /// Follow the topics `link`'s peer follows, within the peer-topic bounds. A peer names
    /// topics for free, so they get only the room the bounds give them: a total cap, a cap
    /// per link, and none of the room the node needs for its own (see [`Self::make_room`]).
    fn follow_topics_of(&mut self, now: Now, link: LinkId) {
        let known: Vec<Topic> = self.agent.gossip().topics().cloned().collect();
        for t in self.agent.gossip().link_topics(link) {
            if known.contains(&t) {
                continue;
            }
            let from_link = self.peer_topics.iter().filter(|(_, l)| *l == link).count();
            if self.peer_topics.len() >= self.cfg.max_peer_topics
                || from_link >= self.cfg.max_peer_topics_per_link
            {
                break;
            }
            if self.agent.subscribe_volatile(now, t.clone()).is_ok() {
                self.peer_topics.push((t, link));
            }
        }
    }

    /// Before an own command on `topic`: a topic followed for a peer becomes the node's own,
    /// and if the topic table is full the most recently followed peer topic is left.
    fn make_room(&mut self, now: Now, topic: &Topic) {
        if let Some(i) = self.peer_topics.iter().position(|(t, _)| t == topic) {
            // Followed for a peer, now the node's own: subscribing again persists it.
            self.peer_topics.remove(i);
            let _ = self.agent.subscribe(now, topic.clone());
            return;
        }
        let full = self.agent.gossip().topics().count() >= self.cfg.agent.gossip.max_topics;
        let followed = self.agent.gossip().topics().any(|t| t == topic);
        if full
            && !followed
            && let Some((t, _)) = self.peer_topics.pop()
        {
            self.agent.unsubscribe(now, &t);
        }
    }

    /// Drain the agent as the drive contract asks, pass after pass until a pass yields
    /// nothing: collect the pass's frames, publish its events, run its effects — every
    /// `Persist` of the pass as one durable batch, acknowledged once it is on disk — and only
    /// then send the pass's frames.
    fn flush(&mut self, now: Now) {
        loop {
            let mut idle = true;
            let mut frames = Vec::new();
            while let Some(t) = self.agent.poll_transmit() {
                idle = false;
                frames.push(t);
            }
            while let Some(ev) = self.agent.poll_event() {
                idle = false;
                self.agent_event(ev);
            }
            let mut batch = Vec::new();
            let mut ids = Vec::new();
            while let Some(effect) = self.agent.poll_effect() {
                idle = false;
                match effect {
                    Effect::Persist { id, records } => {
                        ids.push(id);
                        batch.extend(records.into_iter().map(Write::Record));
                    }
                    Effect::Execute {
                        id,
                        task,
                        input,
                        deadline,
                    } => self.execute(now, id, task, input, deadline),
                    Effect::Llm {
                        id,
                        prompt,
                        deadline,
                    } => self.ask_model(now, id, prompt, deadline),
                    Effect::Embed {
                        id,
                        texts,
                        deadline,
                    } => self.embed(now, id, texts, deadline),
                    _ => {}
                }
            }
            if !ids.is_empty() {
                match self.store.write(&batch) {
                    Ok(()) => {
                        for id in ids {
                            let _ = self.agent.handle_persisted(now, id);
                        }
                    }
                    Err(e) => {
                        // Unacknowledged: what depends on it stays unsent.
                        tracing::warn!(error = %e, "store write failed");
                        self.emit(NodeEvent::StoreFailed(e.to_string()));
                    }
                }
            }
            for t in frames {
                if let Some(kind) = peek_kind(&t.payload) {
                    self.stats
                        .sent
                        .entry(kind)
                        .or_default()
                        .add(t.payload.len());
                }
                // An unknown link raced with its LinkDown, which is on its way.
                let _ = self.transport.send(t.link, t.payload);
            }
            if idle {
                break;
            }
        }
    }

    fn agent_event(&mut self, ev: AgentEvent) {
        match ev {
            AgentEvent::Gossip(g) => {
                if let GossipEvent::LinkBanned { link } = &g {
                    self.ban(*link);
                }
                self.emit(NodeEvent::Gossip(g))
            }
            AgentEvent::Progress { request, stage } => {
                if let Some(w) = self.waiters.get(&request) {
                    let _ = w.stages.send(stage.clone());
                }
                self.emit(NodeEvent::Agent(AgentEvent::Progress { request, stage }));
            }
            AgentEvent::Completed(o) => {
                if let Some(w) = self.waiters.remove(&o.request) {
                    let _ = w.outcome.send((*o).clone());
                }
                self.emit(NodeEvent::Agent(AgentEvent::Completed(o)));
            }
            AgentEvent::WorkflowCompleted(o) => {
                self.workflow_completed(&o);
                self.emit(NodeEvent::Agent(AgentEvent::WorkflowCompleted(o)));
            }
            AgentEvent::IntentReceived {
                ref endpoints,
                ref bid,
                ..
            } => {
                if bid.is_some() && !endpoints.is_empty() {
                    self.dial_requester(endpoints);
                }
                self.emit(NodeEvent::Agent(ev));
            }
            other => self.emit(NodeEvent::Agent(other)),
        }
    }

    /// The gossip plane banned `link`: close it, and keep its peer out until the ban ends.
    fn ban(&mut self, link: LinkId) {
        let Some(peer) = self.links.get(&link).map(|l| l.peer) else {
            return;
        };
        let until = self.clock.now().mono + self.cfg.agent.gossip.ban_duration;
        if !self.banned.contains_key(&peer)
            && self.banned.len() >= MAX_BANNED_PEERS
            && let Some(first) = self.banned.iter().min_by_key(|(_, u)| **u).map(|(p, _)| *p)
        {
            self.banned.remove(&first);
        }
        self.banned.insert(peer, until);
        self.transport.close(link);
    }
}
