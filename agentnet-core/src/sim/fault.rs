//! Faults, churn, engine factories and the simulator's errors.

use core::time::Duration;

use crate::config::{ConfigError, check_range};
use crate::time::Now;

use super::NodeId;
use super::link::LinkModel;

/// A change to the simulated world, applied now by the matching [`Sim`](super::Sim) method or
/// later by [`Sim::schedule`](super::Sim::schedule).
#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// [`Sim::partition`](super::Sim::partition) with these groups.
    Partition(Vec<Vec<NodeId>>),
    /// [`Sim::heal`](super::Sim::heal).
    Heal,
    /// [`Sim::crash`](super::Sim::crash).
    Crash(NodeId),
    /// [`Sim::restart`](super::Sim::restart).
    Restart(NodeId),
    /// [`Sim::connect`](super::Sim::connect).
    Connect(NodeId, NodeId),
    /// [`Sim::disconnect`](super::Sim::disconnect).
    Disconnect(NodeId, NodeId),
    /// [`Sim::set_link_model`](super::Sim::set_link_model).
    SetLinkModel(NodeId, NodeId, LinkModel),
    /// [`Sim::set_default_link_model`](super::Sim::set_default_link_model).
    SetDefaultLinkModel(LinkModel),
}

/// Churn: a fraction of the nodes alternately crash and restart, staying up and down for
/// exponentially distributed times drawn from the simulator's churn stream.
#[derive(Clone, Debug, PartialEq)]
pub struct ChurnConfig {
    /// Fraction of all current nodes that churn; range 0..=1. The nodes are picked uniformly
    /// at random; `round(fraction · nodes)` of them.
    pub fraction: f64,
    /// Mean time a churning node stays up before crashing. Range 1 µs..=1 year.
    pub mean_up: Duration,
    /// Mean time a churning node stays down before restarting. Range 1 µs..=1 year.
    pub mean_down: Duration,
}

impl ChurnConfig {
    /// Check every field against its documented range
    /// ([`Sim::start_churn`](super::Sim::start_churn) refuses a config that fails).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let period = Duration::from_micros(1)..=Duration::from_secs(365 * 86_400);
        check_range("fraction", self.fraction, 0.0..=1.0, "0..=1")?;
        check_range("mean_up", self.mean_up, period.clone(), "1 µs..=1 year")?;
        check_range("mean_down", self.mean_down, period, "1 µs..=1 year")
    }
}

/// Builds the engine of a node being (re)started.
///
/// The simulator drops a crashed node's engine entirely, so the factory alone decides what
/// survives a crash: a factory that keeps, say, a `BTreeMap<NodeId, Vec<u8>>` of persisted
/// state and hands it to the new engine models durable storage; one that builds from scratch
/// models a node that loses everything. Any closure `FnMut(NodeId, Now, u32) -> E` is a factory.
pub trait EngineFactory<E> {
    /// The engine for `node`, starting at `now`. `incarnation` is 0 for a node's first engine
    /// (built by [`Sim::spawn`](super::Sim::spawn)) and counts up by one per restart.
    fn build(&mut self, node: NodeId, now: Now, incarnation: u32) -> E;
}

impl<E, F: FnMut(NodeId, Now, u32) -> E> EngineFactory<E> for F {
    fn build(&mut self, node: NodeId, now: Now, incarnation: u32) -> E {
        self(node, now, incarnation)
    }
}

/// Why a [`Sim`](super::Sim) operation was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// No node has this id.
    #[error("no node {0}")]
    UnknownNode(NodeId),
    /// The node is down.
    #[error("node {0} is down")]
    NodeDown(NodeId),
    /// The node is already up.
    #[error("node {0} is already up")]
    NodeUp(NodeId),
    /// Restarting, spawning or churning needs an [`EngineFactory`], and none was set.
    #[error("no engine factory set")]
    NoFactory,
    /// A configuration field is outside its documented range.
    #[error(transparent)]
    Config(#[from] ConfigError),
}
