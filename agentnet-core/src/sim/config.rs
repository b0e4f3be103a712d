//! Simulator configuration.

use crate::time::{Instant, Now, WallTime};

use super::NodeId;
use super::link::LinkModel;

/// The default frame classifier: reads the agentnet frame header, where byte 0 is the protocol
/// version and bytes 1..3 are the message kind as a big-endian `u16`. Frames shorter than three
/// bytes are kind 0.
pub fn frame_kind(frame: &[u8]) -> u16 {
    match frame {
        [_, hi, lo, ..] => u16::from_be_bytes([*hi, *lo]),
        _ => 0,
    }
}

/// How a [`Sim`](super::Sim) behaves. Build with struct update syntax over
/// [`SimConfig::default()`] or [`SimConfig::seeded`].
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Key of every random stream the simulator draws from (link sampling, churn,
    /// [`Sim::rng`](super::Sim::rng)). Same seed and same inputs give the same run, bit for bit.
    /// Default: all zeros. Any value.
    pub seed: [u8; 32],
    /// Virtual time at creation: both the monotonic instant (µs) and the wall clock (Unix ms).
    /// The two advance together. Default: `Instant::ZERO` and 2023-11-14T22:13:20Z
    /// (`1_700_000_000_000` ms), so engines that check issued-at or expiry stamps see a
    /// realistic wall clock.
    pub start: Now,
    /// The link model of every link without an override. Default: [`LinkModel::default()`]
    /// (constant 10 ms, no jitter, loss or duplication). Can be changed while running with
    /// [`Sim::set_default_link_model`](super::Sim::set_default_link_model).
    pub link: LinkModel,
    /// Per-pair link models, applied to the link between the two nodes (both directions) when
    /// it is connected. Node ids are assigned densely from 0 in `add_node` order, so they can
    /// be named before the nodes exist. Later entries for the same pair win. Default: empty.
    pub link_overrides: Vec<(NodeId, NodeId, LinkModel)>,
    /// Most engine events held for [`Sim::drain_events`](super::Sim::drain_events) between
    /// drains; further events are counted in [`Metrics::events_dropped`](super::Metrics) and
    /// discarded (they still enter the trace hash). Default: 1,000,000. `0` keeps none.
    pub max_events: usize,
    /// Most `handle_message` errors held (as `Display` text) for
    /// [`Sim::drain_errors`](super::Sim::drain_errors) between drains; errors are always
    /// counted per node regardless. Default: 1,024. `0` keeps none.
    pub max_errors: usize,
    /// Whether to compute the trace hash at all. Turning it off saves the hashing cost in large
    /// runs; [`Sim::trace_hash`](super::Sim::trace_hash) then returns the digest of nothing.
    /// Default: `true`.
    pub trace: bool,
    /// Whether each engine event's `Debug` text (and each error's `Display` text) goes into
    /// the trace hash (only when [`trace`](Self::trace) is on). Default: `true`.
    pub trace_events: bool,
    /// Maps a frame to its message kind for the per-kind [`Metrics`](super::Metrics).
    /// Default: [`frame_kind`] (the agentnet frame header). Must be deterministic.
    pub classify: fn(&[u8]) -> u16,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: [0; 32],
            start: Now::new(Instant::ZERO, WallTime::from_unix_millis(1_700_000_000_000)),
            link: LinkModel::default(),
            link_overrides: Vec::new(),
            max_events: 1_000_000,
            max_errors: 1_024,
            trace: true,
            trace_events: true,
            classify: frame_kind,
        }
    }
}

impl SimConfig {
    /// The default configuration with a seed made from `seed` (little-endian in the first
    /// eight bytes, zeros after).
    pub fn seeded(seed: u64) -> Self {
        let mut s = [0u8; 32];
        s[..8].copy_from_slice(&seed.to_le_bytes());
        SimConfig {
            seed: s,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_kind_reads_the_header() {
        assert_eq!(frame_kind(&[1, 0x12, 0x34, 9, 9]), 0x1234);
        assert_eq!(frame_kind(&[1, 0, 7]), 7);
        assert_eq!(frame_kind(&[1, 2]), 0);
        assert_eq!(frame_kind(&[]), 0);
    }

    #[test]
    fn seeded_differs_by_seed() {
        assert_ne!(SimConfig::seeded(1).seed, SimConfig::seeded(2).seed);
        assert_eq!(SimConfig::seeded(0).seed, SimConfig::default().seed);
    }
}
