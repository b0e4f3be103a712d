//! The baseline the gossip experiments compare against: plain flooding of signed objects.
//!
//! Every node forwards every new, valid frame to all of its links except the one it came in
//! on. It does honest work — duplicate suppression by frame hash, strict signature
//! verification and a caller-supplied validity check before forwarding — so the comparison
//! with the bodyless gossip engine is about the dissemination strategy, not about skipped
//! checks.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::marker::PhantomData;

use agentnet_core::identity::KeyCache;
use agentnet_core::wire::Limits;
use agentnet_core::{Engine, Hash, Instant, LinkId, Now, Signed, SignedObject, Transmit};
use bytes::Bytes;

/// Domain of the frame ids the baseline deduplicates on.
const FLOOD_ID: &str = agentnet_core::hash::domain::FLOOD_FRAME;

/// A flooded object arrived for the first time and passed its checks.
#[derive(Clone, Debug)]
pub struct Delivered<T> {
    /// The frame's id.
    pub id: Hash,
    /// The verified object.
    pub object: Signed<T>,
}

/// Why a frame was refused.
#[derive(Debug, thiserror::Error)]
pub enum FloodError {
    /// Bad envelope or signature.
    #[error(transparent)]
    Signed(#[from] agentnet_core::signed::SignedError),
    /// The validity check refused it.
    #[error("invalid object")]
    Invalid,
}

/// A flooding node for objects of type `T`.
pub struct FloodEngine<T> {
    links: BTreeSet<LinkId>,
    seen: BTreeMap<Hash, ()>,
    order: VecDeque<Hash>,
    seen_cap: usize,
    keys: KeyCache,
    limits: Limits,
    valid: fn(&Signed<T>, Now) -> bool,
    out: VecDeque<Transmit>,
    events: VecDeque<Delivered<T>>,
    _t: PhantomData<T>,
}

impl<T> core::fmt::Debug for FloodEngine<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FloodEngine")
            .field("links", &self.links.len())
            .field("seen", &self.seen.len())
            .finish_non_exhaustive()
    }
}

impl<T: SignedObject> FloodEngine<T> {
    /// A node remembering up to `seen_cap` frame ids and forwarding only objects `valid`
    /// accepts.
    pub fn new(seen_cap: usize, valid: fn(&Signed<T>, Now) -> bool) -> Self {
        FloodEngine {
            links: BTreeSet::new(),
            seen: BTreeMap::new(),
            order: VecDeque::new(),
            seen_cap: seen_cap.max(1),
            keys: KeyCache::default(),
            limits: Limits::default(),
            valid,
            out: VecDeque::new(),
            events: VecDeque::new(),
            _t: PhantomData,
        }
    }

    fn remember(&mut self, id: Hash) -> bool {
        if self.seen.insert(id, ()).is_some() {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > self.seen_cap
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        true
    }

    fn forward(&mut self, except: Option<LinkId>, frame: &Bytes) {
        for l in &self.links {
            if Some(*l) != except {
                self.out.push_back(Transmit {
                    link: *l,
                    payload: frame.clone(),
                });
            }
        }
    }

    /// Originate `frame` (an object this node signed): send it on every link.
    pub fn inject(&mut self, frame: Bytes) {
        if self.remember(Hash::digest(FLOOD_ID, &frame)) {
            self.forward(None, &frame);
        }
    }
}

impl<T: SignedObject> Engine for FloodEngine<T> {
    type Event = Delivered<T>;
    type Error = FloodError;

    fn handle_message(&mut self, now: Now, from: LinkId, payload: Bytes) -> Result<(), FloodError> {
        let id = Hash::digest(FLOOD_ID, &payload);
        if self.seen.contains_key(&id) {
            return Ok(());
        }
        let object = Signed::<T>::from_frame_cached(&payload, &self.limits, &mut self.keys)?;
        if !(self.valid)(&object, now) {
            return Err(FloodError::Invalid);
        }
        self.remember(id);
        self.forward(Some(from), &payload);
        self.events.push_back(Delivered { id, object });
        Ok(())
    }

    fn handle_timeout(&mut self, _now: Now) {}

    fn handle_link_up(&mut self, _now: Now, link: LinkId) {
        self.links.insert(link);
    }

    fn handle_link_down(&mut self, _now: Now, link: LinkId) {
        self.links.remove(&link);
    }

    fn poll_transmit(&mut self) -> Option<Transmit> {
        self.out.pop_front()
    }

    fn poll_event(&mut self) -> Option<Delivered<T>> {
        self.events.pop_front()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        None
    }
}
