//! Money: one integer type for every price, cost, deposit, payment and value at risk, in every
//! plane (descriptor prices and QoS costs, discovery price filters, selection's observed costs,
//! mechanisms and session settlements).
//!
//! Amounts are integers of micro-units of whatever unit the parties price in (a descriptor's
//! `price.unit`, a mechanism's currency): integers so that settlement arithmetic is exact and
//! every node computes the same split, micro-units so that sub-cent prices of model calls are
//! representable. `u64` micro-units reach 1.8 × 10^13 whole units.

/// An amount of money in micro-units (1 unit = [`UNIT`] µ).
pub type Micros = u64;

/// One whole unit of money, in [`Micros`].
pub const UNIT: Micros = 1_000_000;

/// `m` in whole units, as `f64` (exact for every amount written with at most six decimals).
pub fn units(m: Micros) -> f64 {
    m as f64 / UNIT as f64
}
