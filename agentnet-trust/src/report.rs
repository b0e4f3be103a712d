//! Signed, sparse, per-topic trust reports: how agents share local trust.
//!
//! EigenTrust needs every agent's local-trust row. Agents publish theirs as
//! [`TrustReport`]s: one topic, the reporter's tallies for the peers it has verified
//! experience of as of the report's time, signed by the reporter.
//!
//! To keep the control plane small a reporter sends only **salient changes**
//! ([`ReportBuilder`]). Tallies decay with a half-life every agent knows
//! ([`SalienceConfig::half_life`], the same as the ledgers'), so a receiver ages each entry
//! itself from the time it was reported ([`ReportBook::row_at`]); decay alone never needs a
//! message. A peer's entry goes out when its current tallies differ from what the receivers
//! will compute by decaying the last reported value by at least
//! [`SalienceConfig::min_change`] in absolute terms *and* [`SalienceConfig::min_relative`] of
//! that value, or when it is new, or when it dropped to zero. Every
//! [`SalienceConfig::full_every`] reports, or after [`ReportBuilder::force_full`], a full row
//! goes out so a receiver that missed a delta resynchronises.
//!
//! Deltas chain: each report names the sequence number of the report it updates (`base`).
//! A receiver ([`ReportBook`]) applies a delta only on top of exactly that report; otherwise it
//! keeps the row it has, marks it stale and waits for the next full report. Reports are
//! signed opinions, not evidence: the reputation computation weights each row by its
//! reporter's own trust, which is what makes a colluding clique's mutual praise worth little.
//!
//! Bounds: a report carries at most [`MAX_REPORT_ENTRIES`] entries; [`ReportBook`] keeps at
//! most [`ReportBookConfig::max_reporters`] rows per topic and refuses the rest, and at most
//! [`MAX_REPORT_ENTRIES`] peers per row (a delta that would grow a row beyond it is refused).
//!
//! # Persistence
//!
//! Both sides keep state a restart must not lose. The builder's per-topic sequence numbers
//! and what receivers believe are what make its next report acceptable and correct: receivers
//! refuse a seq they already hold, and apply a delta on top of the report it names. The
//! book's rows are peers' opinions that are otherwise only resent in full every
//! [`SalienceConfig::full_every`] reports. [`ReportBuilder::export`] and
//! [`ReportBook::export`] give the state as records (one per topic, one per held row; a
//! version byte, [`REPORT_RECORD_VERSION`], then canonical CBOR with tallies in thousandths,
//! exactly as they travel); [`ReportBuilder::restore`] and [`ReportBook::restore`] take them
//! back after a restart, all or nothing, refusing malformed, oversized or inconsistent
//! records with a [`ReportRestoreError`]. A restored builder continues exactly where it
//! stopped: its next report is the one it would have made without the restart.
//!
//! The host's rule: **store the builder's export after [`ReportBuilder::next_report`] returns
//! a report and before sending that report.** A builder restored from an older state would
//! reuse a seq receivers already hold (refused as stale), and its next delta would name as
//! base a report they hold with other contents. The book is less fragile: a book restored
//! from an older state holds older seqs, so the next delta finds a gap and the row waits for
//! the next full report; storing its export after the reports it applied, in batches, is
//! enough.

use std::collections::BTreeMap;

use agentnet_core::config::{ConfigError, check_range};
use agentnet_core::descriptor::Topic;
use agentnet_core::signed::{SignedError, SignedObject};
use agentnet_core::wire::{self, Limits, MessageKind, WireError};
use agentnet_core::{AgentId, Signed, Signer, WallTime};
use bytes::Bytes;
use core::time::Duration;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ledger::Tally;

/// Most entries in one report.
pub const MAX_REPORT_ENTRIES: usize = 1024;

/// One peer's tallies as reported (decayed to the report's time by the reporter).
///
/// Weights travel as integers in thousandths of an outcome: the wire format admits no
/// floating point (one value, one encoding), and a thousandth is far below what salience
/// filtering cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportEntry {
    /// The peer (canonical id).
    pub peer: AgentId,
    /// Weight of good verified outcomes, in thousandths.
    pub pos: u32,
    /// Weight of bad verified outcomes, in thousandths.
    pub neg: u32,
}

impl ReportEntry {
    /// An entry from weights in outcome units (rounded to thousandths; negative or NaN
    /// weights become 0, huge ones saturate).
    pub fn new(peer: AgentId, pos: f64, neg: f64) -> Self {
        let q = |v: f64| (v * 1000.0).round().clamp(0.0, u32::MAX as f64) as u32;
        ReportEntry {
            peer,
            pos: q(pos),
            neg: q(neg),
        }
    }

    /// Good-outcome weight in outcome units.
    pub fn pos_weight(&self) -> f64 {
        self.pos as f64 / 1000.0
    }

    /// Bad-outcome weight in outcome units.
    pub fn neg_weight(&self) -> f64 {
        self.neg as f64 / 1000.0
    }

    fn is_zero(&self) -> bool {
        self.pos == 0 && self.neg == 0
    }
}

/// A reporter's local-trust row for one topic, or the salient changes to it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrustReport {
    /// Who reports (must be the signer).
    pub reporter: AgentId,
    /// The topic.
    pub topic: Topic,
    /// This report's sequence number for (reporter, topic), from 1.
    pub seq: u64,
    /// When the tallies were taken (the reporter's clock); receivers decay from here. Never
    /// earlier than the previous report's.
    pub at: WallTime,
    /// `None` for a full row; `Some(s)` for a delta on top of report `s`.
    pub base: Option<u64>,
    /// The entries, sorted by peer, no duplicates. In a delta, a peer with `pos = neg = 0`
    /// is removed from the row; a full report carries no zero entries.
    pub entries: Vec<ReportEntry>,
}

impl SignedObject for TrustReport {
    const CONTEXT: &'static str = agentnet_core::hash::domain::TRUST_REPORT;
    const KIND: MessageKind = crate::wire::TRUST_REPORT;
    fn author(&self) -> Option<AgentId> {
        Some(self.reporter)
    }
}

/// Why a report was refused.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReportError {
    /// Signature or encoding.
    #[error(transparent)]
    Signed(#[from] SignedError),
    /// Entries unsorted, duplicated, negative, non-finite, too many, or about the reporter.
    #[error("malformed report: {0}")]
    Malformed(&'static str),
    /// A report with this or a later sequence number was already applied.
    #[error("stale report seq {seq} (have {have})")]
    Stale {
        /// The report's seq.
        seq: u64,
        /// The latest applied.
        have: u64,
    },
    /// A delta on top of a report we do not hold; the row is stale until the next full one.
    #[error("delta on seq {base}, have {have:?}")]
    Gap {
        /// The delta's base.
        base: u64,
        /// What we hold.
        have: Option<u64>,
    },
    /// [`ReportBookConfig::max_reporters`] rows held for this topic, every one from a
    /// reporter weighing more than this one (see [`ReportBook::apply_weighted`]).
    #[error("too many reporters in topic")]
    Full,
}

impl TrustReport {
    /// Check structure (the signature is checked by [`Signed`]).
    pub fn validate(&self) -> Result<(), ReportError> {
        if self.seq == 0 {
            return Err(ReportError::Malformed("seq starts at 1"));
        }
        if let Some(b) = self.base
            && b >= self.seq
        {
            return Err(ReportError::Malformed("base must precede seq"));
        }
        if self.entries.len() > MAX_REPORT_ENTRIES {
            return Err(ReportError::Malformed("too many entries"));
        }
        for w in self.entries.windows(2) {
            if w[0].peer >= w[1].peer {
                // Sorted and unique, so one row has one encoding.
                return Err(ReportError::Malformed("entries not sorted by peer"));
            }
        }
        for e in &self.entries {
            if self.base.is_none() && e.is_zero() {
                return Err(ReportError::Malformed("zero entry in a full report"));
            }
            if e.peer == self.reporter {
                return Err(ReportError::Malformed("self-report"));
            }
        }
        Ok(())
    }
}

mod book;
mod builder;
mod persist;

pub use book::*;
pub use builder::*;
pub use persist::*;

#[cfg(test)]
mod tests;
