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

/// When a change is worth reporting.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SalienceConfig {
    /// Smallest absolute change `|Δpos| + |Δneg|` reported. Default 0.5 (half an outcome);
    /// range 0..=100.
    pub min_change: f64,
    /// Smallest change relative to the last reported `pos + neg` (decayed). Default 0.25;
    /// range 0..=10.
    pub min_relative: f64,
    /// Send a full row every this many reports (1 = always full, which is what a plain
    /// EigenTrust deployment does). A backstop for lost deltas. Default 64; range
    /// 1..=1 000 000.
    pub full_every: u64,
    /// Half-life of tallies, the same on every agent (the ledgers' half-life). Default 7 days;
    /// range 1 s..=10 years.
    pub half_life: Duration,
}

impl Default for SalienceConfig {
    fn default() -> Self {
        SalienceConfig {
            min_change: 0.5,
            min_relative: 0.25,
            full_every: 64,
            half_life: DEFAULT_HALF_LIFE,
        }
    }
}

const DEFAULT_HALF_LIFE: Duration = Duration::from_secs(7 * 24 * 3600);

impl SalienceConfig {
    /// Check every field against its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range("min_change", self.min_change, 0.0..=100.0, "0..=100")?;
        check_range("min_relative", self.min_relative, 0.0..=10.0, "0..=10")?;
        check_range("full_every", self.full_every, 1..=1_000_000, "1..=1000000")?;
        check_range(
            "half_life",
            self.half_life,
            Duration::from_secs(1)..=Duration::from_secs(10 * 365 * 86_400),
            "1 s..=10 years",
        )
    }

    /// Report every row in full every time (no salience filter).
    pub const ALWAYS_FULL: SalienceConfig = SalienceConfig {
        min_change: 0.0,
        min_relative: 0.0,
        full_every: 1,
        half_life: DEFAULT_HALF_LIFE,
    };
}

/// The reporter's side: turns ledger rows into signed full or delta reports.
#[derive(Clone, Debug, Default)]
pub struct ReportBuilder {
    config: SalienceConfig,
    /// Per topic: last seq and time, and what the receivers believe each peer's tallies
    /// were when last reported.
    sent: BTreeMap<Topic, Sent>,
}

#[derive(Clone, Debug, Default)]
struct Sent {
    seq: u64,
    at: WallTime,
    force_full: bool,
    believed: BTreeMap<AgentId, Tally>,
}

impl ReportBuilder {
    /// A builder with the given salience rule. Refuses a config with a field outside its
    /// documented range ([`SalienceConfig::validate`]).
    pub fn new(config: SalienceConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(ReportBuilder {
            config,
            sent: BTreeMap::new(),
        })
    }

    /// Make the next report for `topic` a full row (e.g. a receiver said it missed a delta).
    pub fn force_full(&mut self, topic: &Topic) {
        if let Some(s) = self.sent.get_mut(topic) {
            s.force_full = true;
        }
    }

    /// Build the next report for `topic` from the current `row` (peer, tallies as of `now`),
    /// or `None` if nothing changed saliently. Rows longer than [`MAX_REPORT_ENTRIES`] keep
    /// the peers with the largest tallies. A `now` earlier than the last report's time is
    /// taken as that time.
    pub fn next_report<S: Signer + ?Sized>(
        &mut self,
        signer: &S,
        topic: &Topic,
        row: &[(AgentId, Tally)],
        now: WallTime,
    ) -> Result<Option<Signed<TrustReport>>, ReportError> {
        let me = signer.agent_id();
        let mut current: Vec<(AgentId, (f32, f32))> = row
            .iter()
            .filter(|(p, t)| *p != me && (t.pos > 0.0 || t.neg > 0.0))
            .map(|(p, t)| (*p, (t.pos as f32, t.neg as f32)))
            .collect();
        if current.len() > MAX_REPORT_ENTRIES {
            current.sort_by(|a, b| {
                let (x, y) = (a.1.0 + a.1.1, b.1.0 + b.1.1);
                y.total_cmp(&x).then(a.0.cmp(&b.0))
            });
            current.truncate(MAX_REPORT_ENTRIES);
        }
        current.sort_by_key(|e| e.0);
        let half_life = self.config.half_life;
        let sent = self.sent.entry(topic.clone()).or_default();
        let now = now.max(sent.at);
        let seq = sent.seq + 1;
        let full = sent.seq == 0 || sent.force_full || seq.is_multiple_of(self.config.full_every);
        let entries: Vec<ReportEntry> = if full {
            current
                .iter()
                .map(|(peer, (pos, neg))| ReportEntry::new(*peer, *pos as f64, *neg as f64))
                .filter(|e| !e.is_zero())
                .collect()
        } else {
            let current_map: BTreeMap<AgentId, (f32, f32)> = current.iter().copied().collect();
            let mut out = Vec::new();
            let believed = &sent.believed;
            let peers: std::collections::BTreeSet<AgentId> =
                believed.keys().chain(current_map.keys()).copied().collect();
            for peer in peers {
                let old = believed
                    .get(&peer)
                    .map(|t| t.at_time(now, half_life))
                    .map(|t| (t.pos as f32, t.neg as f32));
                let new = current_map.get(&peer).copied();
                let salient = match (old, new) {
                    (None, Some(_)) | (Some(_), None) => true,
                    (Some((op, on)), Some((np, nn))) => {
                        let d = ((np - op).abs() + (nn - on).abs()) as f64;
                        let base = (op + on) as f64;
                        d >= self.config.min_change && d >= self.config.min_relative * base
                    }
                    (None, None) => false,
                };
                if salient {
                    let (pos, neg) = new.unwrap_or((0.0, 0.0));
                    out.push(ReportEntry::new(peer, pos as f64, neg as f64));
                }
            }
            if out.is_empty() {
                return Ok(None);
            }
            out
        };
        let report = TrustReport {
            reporter: me,
            topic: topic.clone(),
            seq,
            at: now,
            base: (!full).then_some(sent.seq),
            entries,
        };
        report.validate()?;
        let signed = Signed::sign(signer, report)?;
        // Only now, with the report built, update what receivers will believe.
        sent.seq = seq;
        sent.at = now;
        sent.force_full = false;
        if full {
            sent.believed.clear();
        }
        for e in &signed.value().entries {
            if e.is_zero() {
                sent.believed.remove(&e.peer);
            } else {
                sent.believed.insert(
                    e.peer,
                    Tally {
                        pos: e.pos_weight(),
                        neg: e.neg_weight(),
                        at: now,
                    },
                );
            }
        }
        Ok(Some(signed))
    }
}

/// Limits of a [`ReportBook`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportBookConfig {
    /// Most reporters whose rows are held per topic. Default 100 000; range 1..=10 000 000.
    pub max_reporters: usize,
    /// Half-life used to age held entries; must match the reporters'
    /// [`SalienceConfig::half_life`]. Default 7 days; range 1 s..=10 years.
    pub half_life: Duration,
}

impl ReportBookConfig {
    /// Check every field against its documented range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_range(
            "max_reporters",
            self.max_reporters,
            1..=10_000_000,
            "1..=10000000",
        )?;
        check_range(
            "half_life",
            self.half_life,
            Duration::from_secs(1)..=Duration::from_secs(10 * 365 * 86_400),
            "1 s..=10 years",
        )
    }
}

impl Default for ReportBookConfig {
    fn default() -> Self {
        ReportBookConfig {
            max_reporters: 100_000,
            half_life: DEFAULT_HALF_LIFE,
        }
    }
}

/// A reporter's row as held by a receiver.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HeldRow {
    /// Last applied report seq.
    pub seq: u64,
    /// Time of the last applied report.
    pub at: WallTime,
    /// Whether a delta was missed (the row waits for a full report).
    pub stale: bool,
    /// Peer → tallies as reported (with the time they were reported).
    pub entries: BTreeMap<AgentId, Tally>,
    /// The reporter's weight at its last report (what decides who keeps a place when the
    /// topic is full; 0 for rows restored after a restart).
    pub weight: f64,
}

/// The receiver's side: the latest row of every reporter per topic.
#[derive(Clone, Debug, Default)]
pub struct ReportBook {
    config: ReportBookConfig,
    rows: BTreeMap<Topic, BTreeMap<AgentId, HeldRow>>,
}

impl ReportBook {
    /// An empty book. Refuses a config with a field outside its documented range
    /// ([`ReportBookConfig::validate`]).
    pub fn new(config: ReportBookConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(ReportBook {
            config,
            rows: BTreeMap::new(),
        })
    }

    /// Apply a verified report from a reporter of weight 0 (see
    /// [`apply_weighted`](Self::apply_weighted)). Returns the number of entries applied.
    pub fn apply(&mut self, report: &Signed<TrustReport>) -> Result<usize, ReportError> {
        self.apply_weighted(report, 0.0)
    }

    /// Apply a verified report from a reporter the host gives `weight` (its reputation in the
    /// report's topic, say; non-finite or negative counts as 0). Returns the number of entries
    /// applied.
    ///
    /// **Room when full.** A topic holds at most [`ReportBookConfig::max_reporters`] rows.
    /// Reporters are free keys, so refusing newcomers once full would hand the table to
    /// whoever filled it first. Instead a newcomer takes the place of the row whose reporter
    /// weighs least (then the one updated longest ago) if it weighs at least as much; it is
    /// refused ([`ReportError::Full`]) only when every held reporter weighs more. A row
    /// weighs what its reporter weighed at its last report. In EigenTrust a row counts in
    /// proportion to its reporter's trust, so the rows a flood of weightless keys can push
    /// out are the ones that counted for nothing; reporters with standing keep their rows.
    pub fn apply_weighted(
        &mut self,
        report: &Signed<TrustReport>,
        weight: f64,
    ) -> Result<usize, ReportError> {
        let r = report.value();
        r.validate()?;
        let weight = if weight.is_finite() && weight > 0.0 {
            weight
        } else {
            0.0
        };
        let topic_rows = self.rows.entry(r.topic.clone()).or_default();
        if !topic_rows.contains_key(&r.reporter) && topic_rows.len() >= self.config.max_reporters {
            let lightest = topic_rows
                .iter()
                .min_by(|a, b| {
                    a.1.weight
                        .total_cmp(&b.1.weight)
                        .then(a.1.at.cmp(&b.1.at))
                        .then(a.0.cmp(b.0))
                })
                .map(|(k, row)| (*k, row.weight));
            match lightest {
                Some((victim, w)) if w <= weight => {
                    topic_rows.remove(&victim);
                }
                _ => return Err(ReportError::Full),
            }
        }
        let row = topic_rows.entry(r.reporter).or_default();
        if r.seq <= row.seq {
            return Err(ReportError::Stale {
                seq: r.seq,
                have: row.seq,
            });
        }
        if r.at < row.at {
            return Err(ReportError::Malformed("report time went backwards"));
        }
        let tally = |e: &ReportEntry| Tally {
            pos: e.pos_weight(),
            neg: e.neg_weight(),
            at: r.at,
        };
        match r.base {
            None => {
                row.entries = r.entries.iter().map(|e| (e.peer, tally(e))).collect();
                row.stale = false;
            }
            Some(base) => {
                if row.stale || base != row.seq {
                    let have = (row.seq > 0).then_some(row.seq);
                    row.stale = true;
                    return Err(ReportError::Gap { base, have });
                }
                let added = r
                    .entries
                    .iter()
                    .filter(|e| !e.is_zero() && !row.entries.contains_key(&e.peer))
                    .count();
                let removed = r
                    .entries
                    .iter()
                    .filter(|e| e.is_zero() && row.entries.contains_key(&e.peer))
                    .count();
                if row.entries.len() + added - removed > MAX_REPORT_ENTRIES {
                    return Err(ReportError::Malformed(
                        "row would exceed MAX_REPORT_ENTRIES",
                    ));
                }
                for e in &r.entries {
                    if e.is_zero() {
                        row.entries.remove(&e.peer);
                    } else {
                        row.entries.insert(e.peer, tally(e));
                    }
                }
            }
        }
        row.seq = r.seq;
        row.at = r.at;
        row.weight = weight;
        Ok(r.entries.len())
    }

    /// The rows held for `topic`, by reporter.
    pub fn rows(&self, topic: &Topic) -> impl Iterator<Item = (&AgentId, &HeldRow)> {
        self.rows.get(topic).into_iter().flat_map(|m| m.iter())
    }

    /// `reporter`'s row in `topic` aged to `now`: `(peer, pos, neg)` by peer, ready for
    /// [`Reputation::set_row`](crate::mg::Reputation::set_row). Empty if unknown.
    pub fn row_at(
        &self,
        topic: &Topic,
        reporter: &AgentId,
        now: WallTime,
    ) -> Vec<(AgentId, f32, f32)> {
        let half_life = self.config.half_life;
        self.rows
            .get(topic)
            .and_then(|m| m.get(reporter))
            .map_or_else(Vec::new, |row| {
                row.entries
                    .iter()
                    .map(|(p, t)| {
                        let t = t.at_time(now, half_life);
                        (*p, t.pos as f32, t.neg as f32)
                    })
                    .collect()
            })
    }

    /// Drop every row of `reporter` (e.g. after it was convicted).
    pub fn forget(&mut self, reporter: &AgentId) {
        for m in self.rows.values_mut() {
            m.remove(reporter);
        }
    }
}

// =============================================================================================
// Persistence
// =============================================================================================

/// The version byte in front of every [`ReportBuilder`] and [`ReportBook`] record.
pub const REPORT_RECORD_VERSION: u8 = 1;

/// The longest record either side writes or takes back: a topic and [`MAX_REPORT_ENTRIES`]
/// entries of about 55 bytes fit with room to spare. Bytes.
pub const MAX_REPORT_RECORD_LEN: usize = 128 * 1024;

/// Decoding limits of records: [`MAX_REPORT_RECORD_LEN`], strings of at most 1 KiB (topics
/// are at most 128 bytes, ids 32), at most [`MAX_REPORT_ENTRIES`] entries, nesting 4.
const RECORD_LIMITS: Limits = Limits {
    max_frame: MAX_REPORT_RECORD_LEN,
    max_bytes_len: 1024,
    max_items: MAX_REPORT_ENTRIES,
    max_depth: 4,
    accept_kind: None,
};

/// Why a record was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordError {
    /// The record has no bytes (not even its version byte).
    #[error("empty record")]
    Empty,
    /// The record is longer than [`MAX_REPORT_RECORD_LEN`].
    #[error("record of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// The record's length.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// The record was written by a build with another record format.
    #[error("unsupported record version {found} (this build reads {REPORT_RECORD_VERSION})")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// Truncated, over a limit, or not a record of this kind.
    #[error("malformed record: {0}")]
    Malformed(WireError),
    /// Well-formed but impossible: an invalid topic, seq 0, entries unsorted, duplicated,
    /// zero, about the reporter itself or dated after the record.
    #[error("invalid record: {0}")]
    Invalid(&'static str),
    /// A second record for a topic (builder) or for a (topic, reporter) row (book), or one
    /// for state already held.
    #[error("duplicate record")]
    Duplicate,
    /// The topic already holds [`ReportBookConfig::max_reporters`] rows.
    #[error("too many reporters in topic")]
    Full,
}

/// Why [`ReportBuilder::restore`] or [`ReportBook::restore`] refused its records. Nothing
/// was restored.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("record {index} refused: {error}")]
#[non_exhaustive]
pub struct ReportRestoreError {
    /// The record's index in the input.
    pub index: usize,
    /// Why.
    pub error: RecordError,
}

/// One held tally as `[peer, pos, neg, at]`, weights in thousandths as reports carry them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct HeldEntry(AgentId, u32, u32, WallTime);

impl HeldEntry {
    fn of(peer: &AgentId, t: &Tally) -> Self {
        let e = ReportEntry::new(*peer, t.pos, t.neg);
        HeldEntry(*peer, e.pos, e.neg, t.at)
    }

    fn tally(&self) -> Tally {
        let e = ReportEntry {
            peer: self.0,
            pos: self.1,
            neg: self.2,
        };
        Tally {
            pos: e.pos_weight(),
            neg: e.neg_weight(),
            at: self.3,
        }
    }
}

/// A builder's state for one topic. Field order is the encoding order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuilderRecord {
    topic: Topic,
    seq: u64,
    at: WallTime,
    force_full: bool,
    believed: Vec<HeldEntry>,
}

/// One row of a book. Field order is the encoding order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BookRecord {
    topic: Topic,
    reporter: AgentId,
    seq: u64,
    at: WallTime,
    stale: bool,
    entries: Vec<HeldEntry>,
}

fn encode_record<T: Serialize>(record: &T) -> Bytes {
    let mut out = vec![REPORT_RECORD_VERSION];
    // Encoding into memory cannot fail: integers, booleans, strings and arrays only.
    out.extend(wire::encode_cbor(record).unwrap_or_default());
    Bytes::from(out)
}

/// Size, version, structure (before anything is allocated), then the schema.
fn decode_record<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, RecordError> {
    if bytes.len() > MAX_REPORT_RECORD_LEN {
        return Err(RecordError::TooLarge {
            len: bytes.len(),
            max: MAX_REPORT_RECORD_LEN,
        });
    }
    let (&version, body) = bytes.split_first().ok_or(RecordError::Empty)?;
    if version != REPORT_RECORD_VERSION {
        return Err(RecordError::UnsupportedVersion { found: version });
    }
    wire::decode_cbor(body, &RECORD_LIMITS).map_err(RecordError::Malformed)
}

/// The checks every record's header and entries pass; returns the entries as tallies.
fn check_entries(
    seq: u64,
    at: WallTime,
    entries: &[HeldEntry],
    reporter: Option<&AgentId>,
) -> Result<BTreeMap<AgentId, Tally>, RecordError> {
    // The record's topic obeys the topic rule: `Topic` checks it when decoded.
    if seq == 0 {
        return Err(RecordError::Invalid("seq starts at 1"));
    }
    if entries.len() > MAX_REPORT_ENTRIES {
        return Err(RecordError::Invalid("too many entries"));
    }
    if entries.windows(2).any(|w| w[0].0 >= w[1].0) {
        return Err(RecordError::Invalid("entries not sorted by peer"));
    }
    let mut out = BTreeMap::new();
    for e in entries {
        if e.1 == 0 && e.2 == 0 {
            return Err(RecordError::Invalid("zero entry"));
        }
        if e.3 > at {
            return Err(RecordError::Invalid("entry dated after the record"));
        }
        if reporter == Some(&e.0) {
            return Err(RecordError::Invalid("self-report"));
        }
        out.insert(e.0, e.tally());
    }
    Ok(out)
}

/// Apply `decode` to every record (with its index), stopping at the first refusal.
fn decode_all<T>(
    records: impl IntoIterator<Item = Bytes>,
    mut decode: impl FnMut(&[u8]) -> Result<T, RecordError>,
) -> Result<Vec<T>, ReportRestoreError> {
    records
        .into_iter()
        .enumerate()
        .map(|(index, r)| decode(&r).map_err(|error| ReportRestoreError { index, error }))
        .collect()
}

impl ReportBuilder {
    /// The builder's state, one record per topic it has reported on, in topic order. See the
    /// module docs, "Persistence", for when to store it.
    pub fn export(&self) -> Vec<Bytes> {
        self.sent
            .iter()
            .filter(|(_, s)| s.seq > 0)
            .map(|(topic, s)| {
                encode_record(&BuilderRecord {
                    topic: topic.clone(),
                    seq: s.seq,
                    at: s.at,
                    force_full: s.force_full,
                    believed: s
                        .believed
                        .iter()
                        .map(|(p, t)| HeldEntry::of(p, t))
                        .collect(),
                })
            })
            .collect()
    }

    /// Take back the state [`export`](Self::export) gave, after a restart: the next report
    /// for each topic is the one the exported builder would have made. All or nothing: the
    /// first malformed, oversized or inconsistent record, or a second record for a topic (or
    /// one for a topic this builder already reports on), refuses them all and changes
    /// nothing. Returns the number of topics restored.
    pub fn restore(
        &mut self,
        records: impl IntoIterator<Item = Bytes>,
    ) -> Result<usize, ReportRestoreError> {
        let mut seen = std::collections::BTreeSet::new();
        let decoded = decode_all(records, |bytes| {
            let r: BuilderRecord = decode_record(bytes)?;
            let believed = check_entries(r.seq, r.at, &r.believed, None)?;
            if self.sent.contains_key(&r.topic) || !seen.insert(r.topic.clone()) {
                return Err(RecordError::Duplicate);
            }
            Ok((
                r.topic,
                Sent {
                    seq: r.seq,
                    at: r.at,
                    force_full: r.force_full,
                    believed,
                },
            ))
        })?;
        let n = decoded.len();
        self.sent.extend(decoded);
        Ok(n)
    }
}

impl ReportBook {
    /// Every held row as a record, in (topic, reporter) order.
    pub fn export(&self) -> Vec<Bytes> {
        self.rows
            .iter()
            .flat_map(|(topic, rows)| {
                rows.iter()
                    .filter(|(_, row)| row.seq > 0)
                    .map(move |(reporter, row)| {
                        encode_record(&BookRecord {
                            topic: topic.clone(),
                            reporter: *reporter,
                            seq: row.seq,
                            at: row.at,
                            stale: row.stale,
                            entries: row
                                .entries
                                .iter()
                                .map(|(p, t)| HeldEntry::of(p, t))
                                .collect(),
                        })
                    })
            })
            .collect()
    }

    /// Take back the rows [`export`](Self::export) gave, after a restart. All or nothing:
    /// the first malformed, oversized or inconsistent record, a second record for a row (or
    /// one for a row already held), or one beyond [`ReportBookConfig::max_reporters`] in its
    /// topic refuses them all and changes nothing. Returns the number of rows restored.
    pub fn restore(
        &mut self,
        records: impl IntoIterator<Item = Bytes>,
    ) -> Result<usize, ReportRestoreError> {
        let mut staged: BTreeMap<Topic, BTreeMap<AgentId, HeldRow>> = BTreeMap::new();
        let max = self.config.max_reporters;
        let rows = &self.rows;
        decode_all(records, |bytes| {
            let r: BookRecord = decode_record(bytes)?;
            let entries = check_entries(r.seq, r.at, &r.entries, Some(&r.reporter))?;
            let held = rows.get(&r.topic);
            if held.is_some_and(|m| m.contains_key(&r.reporter)) {
                return Err(RecordError::Duplicate);
            }
            let new = staged.entry(r.topic).or_default();
            if new.contains_key(&r.reporter) {
                return Err(RecordError::Duplicate);
            }
            if held.map_or(0, BTreeMap::len) + new.len() >= max {
                return Err(RecordError::Full);
            }
            new.insert(
                r.reporter,
                HeldRow {
                    seq: r.seq,
                    at: r.at,
                    stale: r.stale,
                    entries,
                    weight: 0.0,
                },
            );
            Ok(())
        })?;
        let mut n = 0;
        for (topic, rows) in staged {
            n += rows.len();
            self.rows.entry(topic).or_default().extend(rows);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentnet_core::Keypair;

    #[test]
    fn out_of_range_configs_are_refused_by_name() {
        let e = ReportBuilder::new(SalienceConfig {
            full_every: 0,
            ..SalienceConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.field, "full_every");
        let e = ReportBuilder::new(SalienceConfig {
            min_change: f64::NAN,
            ..SalienceConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.field, "min_change");
        let e = ReportBook::new(ReportBookConfig {
            max_reporters: 0,
            ..ReportBookConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.field, "max_reporters");
        let e = ReportBook::new(ReportBookConfig {
            half_life: Duration::ZERO,
            ..ReportBookConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.field, "half_life");
        SalienceConfig::ALWAYS_FULL.validate().unwrap();
    }

    fn t0() -> WallTime {
        WallTime::from_unix_millis(0)
    }

    fn tally(pos: f64, neg: f64) -> Tally {
        Tally {
            pos,
            neg,
            at: WallTime::from_unix_millis(0),
        }
    }

    #[test]
    fn only_salient_changes_travel_and_the_receiver_reconstructs_the_row() {
        let kp = Keypair::from_seed([1; 32]);
        let peers: Vec<AgentId> = (2..6u8).map(|i| Keypair::from_seed([i; 32]).id()).collect();
        let topic = Topic::new("code/review").unwrap();
        let mut b = ReportBuilder::new(SalienceConfig::default()).unwrap();
        let mut book = ReportBook::default();
        let row1: Vec<_> = peers.iter().map(|p| (*p, tally(4.0, 0.0))).collect();
        let r1 = b.next_report(&kp, &topic, &row1, t0()).unwrap().unwrap();
        assert_eq!(r1.base, None);
        assert_eq!(book.apply(&r1).unwrap(), 4);
        // A tiny drift is not salient.
        let mut row2 = row1.clone();
        row2[0].1 = tally(4.1, 0.0);
        assert!(b.next_report(&kp, &topic, &row2, t0()).unwrap().is_none());
        // One failure is.
        row2[1].1 = tally(4.0, 2.0);
        let r2 = b.next_report(&kp, &topic, &row2, t0()).unwrap().unwrap();
        assert_eq!(r2.base, Some(1));
        assert_eq!(r2.entries.len(), 1);
        book.apply(&r2).unwrap();
        let held = book.rows(&topic).next().unwrap().1;
        let e = held.entries[&peers[1]];
        assert_eq!((e.pos, e.neg), (4.0, 2.0));
        // A delta whose base we missed marks the row stale until the next full report.
        row2.pop();
        let r3 = b.next_report(&kp, &topic, &row2, t0()).unwrap().unwrap();
        let mut other = ReportBook::default();
        other.apply(&r1).unwrap();
        assert!(matches!(other.apply(&r3), Err(ReportError::Gap { .. })));
        book.apply(&r3).unwrap();
        assert!(
            !book
                .rows(&topic)
                .next()
                .unwrap()
                .1
                .entries
                .contains_key(&peers[3])
        );
        // Replays are stale.
        assert!(matches!(book.apply(&r3), Err(ReportError::Stale { .. })));
    }

    #[test]
    fn decay_alone_sends_nothing_and_receivers_age_entries_themselves() {
        let kp = Keypair::from_seed([1; 32]);
        let p = Keypair::from_seed([2; 32]).id();
        let topic = Topic::new("code/review").unwrap();
        let half_life = Duration::from_secs(100);
        let mut b = ReportBuilder::new(SalienceConfig {
            half_life,
            ..Default::default()
        })
        .unwrap();
        let mut book = ReportBook::new(ReportBookConfig {
            half_life,
            ..Default::default()
        })
        .unwrap();
        let at = |s: u64| WallTime::from_unix_millis(s * 1000);
        let r1 = b
            .next_report(&kp, &topic, &[(p, tally(8.0, 0.0))], at(0))
            .unwrap()
            .unwrap();
        book.apply(&r1).unwrap();
        // 100 s later the ledger holds 4.0: exactly what the receiver computes by itself.
        let aged = Tally {
            pos: 4.0,
            neg: 0.0,
            at: at(100),
        };
        assert!(
            b.next_report(&kp, &topic, &[(p, aged)], at(100))
                .unwrap()
                .is_none()
        );
        let row = book.row_at(&topic, &kp.id(), at(100));
        assert!((row[0].1 - 4.0).abs() < 1e-4);
        // A new outcome on top of the decayed value is news.
        let fresh = Tally {
            pos: 5.0,
            neg: 1.0,
            at: at(100),
        };
        let r2 = b
            .next_report(&kp, &topic, &[(p, fresh)], at(100))
            .unwrap()
            .unwrap();
        assert_eq!(r2.base, Some(1));
        book.apply(&r2).unwrap();
        assert_eq!(book.row_at(&topic, &kp.id(), at(100))[0], (p, 5.0, 1.0));
        // Forcing a full report resends the row.
        b.force_full(&topic);
        let r3 = b
            .next_report(&kp, &topic, &[(p, fresh)], at(100))
            .unwrap()
            .unwrap();
        assert_eq!(r3.base, None);
    }

    #[test]
    fn malformed_reports_are_refused() {
        let kp = Keypair::from_seed([1; 32]);
        let p = Keypair::from_seed([2; 32]).id();
        let topic = Topic::new("t").unwrap();
        let bad = |entries: Vec<ReportEntry>, seq, base| TrustReport {
            reporter: kp.id(),
            topic: topic.clone(),
            seq,
            at: t0(),
            base,
            entries,
        };
        let e = |peer, pos| ReportEntry { peer, pos, neg: 0 };
        for r in [
            bad(vec![], 0, None),
            bad(vec![], 2, Some(2)),
            bad(vec![e(p, 0)], 1, None),
            bad(vec![e(p, 1000), e(p, 1000)], 1, None),
            bad(vec![e(kp.id(), 1000)], 1, None),
        ] {
            let s = Signed::sign(&kp, r).unwrap();
            assert!(ReportBook::default().apply(&s).is_err());
        }
    }

    // ----- persistence ----------------------------------------------------------------------

    fn at(s: u64) -> WallTime {
        WallTime::from_unix_millis(s * 1000)
    }

    fn t(pos: f64, neg: f64, s: u64) -> Tally {
        Tally {
            pos,
            neg,
            at: at(s),
        }
    }

    /// A builder that reported on two topics (full, then a delta; the second topic with a
    /// full report forced next), the book that applied every report, and the reports.
    fn reported() -> (ReportBuilder, ReportBook, Vec<Signed<TrustReport>>) {
        let kp = Keypair::from_seed([1; 32]);
        let p: Vec<AgentId> = (2..6u8).map(|i| Keypair::from_seed([i; 32]).id()).collect();
        let (code, art) = (
            Topic::new("code/review").unwrap(),
            Topic::new("art").unwrap(),
        );
        let mut b = ReportBuilder::new(SalienceConfig::default()).unwrap();
        let mut book = ReportBook::default();
        let mut sent = Vec::new();
        let rows = [
            (
                &code,
                vec![(p[0], t(4.0, 0.0, 0)), (p[1], t(1.5, 0.25, 0))],
                0,
            ),
            (&art, vec![(p[2], t(2.0, 0.0, 1))], 1),
            (
                &code,
                vec![(p[0], t(4.0, 3.0, 10)), (p[2], t(1.0, 0.0, 10))],
                10,
            ),
        ];
        for (topic, row, s) in rows {
            let r = b.next_report(&kp, topic, &row, at(s)).unwrap().unwrap();
            book.apply(&r).unwrap();
            sent.push(r);
        }
        assert_eq!(sent[2].base, Some(1), "a delta");
        b.force_full(&art);
        (b, book, sent)
    }

    #[test]
    fn a_full_topic_keeps_reporters_with_weight_and_weightless_keys_take_turns() {
        let topic = Topic::new("code/review").unwrap();
        let peer = Keypair::from_seed([200; 32]).id();
        let report = |seed: u8, s: u64| {
            let mut b = ReportBuilder::new(SalienceConfig::default()).unwrap();
            let kp = Keypair::from_seed([seed; 32]);
            b.next_report(&kp, &topic, &[(peer, t(1.0, 0.0, s))], at(s))
                .unwrap()
                .unwrap()
        };
        let mut book = ReportBook::new(ReportBookConfig {
            max_reporters: 3,
            ..ReportBookConfig::default()
        })
        .unwrap();
        // Two reporters with standing and one without fill the topic.
        book.apply_weighted(&report(1, 1), 0.2).unwrap();
        book.apply_weighted(&report(2, 2), 0.1).unwrap();
        book.apply(&report(3, 3)).unwrap();
        // A flood of weightless keys: each takes the weightless place in turn, never one
        // of the weighted reporters'.
        for seed in 10..60 {
            book.apply(&report(seed, u64::from(seed))).unwrap();
        }
        let held: Vec<AgentId> = book.rows(&topic).map(|(r, _)| *r).collect();
        assert_eq!(held.len(), 3);
        for seed in [1, 2, 59] {
            assert!(
                held.contains(&Keypair::from_seed([seed; 32]).id()),
                "{seed}"
            );
        }
        // A newcomer weighing more than the lightest takes its place; one weighing less than
        // every held reporter is refused.
        book.apply_weighted(&report(70, 70), 0.15).unwrap();
        assert!(
            !book
                .rows(&topic)
                .any(|(r, _)| *r == Keypair::from_seed([59; 32]).id())
        );
        assert!(matches!(
            book.apply_weighted(&report(71, 71), 0.05),
            Err(ReportError::Full)
        ));
        assert_eq!(book.rows(&topic).count(), 3);
    }

    #[test]
    fn a_restored_builder_makes_the_report_it_would_have_made() {
        let kp = Keypair::from_seed([1; 32]);
        let p: Vec<AgentId> = (2..6u8).map(|i| Keypair::from_seed([i; 32]).id()).collect();
        let (code, art) = (
            Topic::new("code/review").unwrap(),
            Topic::new("art").unwrap(),
        );
        let (mut b, mut book, _) = reported();
        let records = b.export();
        assert_eq!(records.len(), 2);
        assert!(records.iter().all(|r| r[0] == REPORT_RECORD_VERSION));
        let mut restored = ReportBuilder::new(SalienceConfig::default()).unwrap();
        assert_eq!(restored.restore(records.clone()), Ok(2));
        // Deterministic: the restored state exports the same bytes.
        assert_eq!(restored.export(), records);
        // The next delta in "code" (one more failure for p[1], p[2] gone), decayed inputs.
        let row = [(p[0], t(3.9, 2.9, 20)), (p[1], t(1.0, 2.0, 20))];
        let next = b.next_report(&kp, &code, &row, at(20)).unwrap();
        let again = restored.next_report(&kp, &code, &row, at(20)).unwrap();
        let (next, again) = (next.unwrap(), again.unwrap());
        assert_eq!(next.to_frame(), again.to_frame());
        assert_eq!((again.seq, again.base), (3, Some(2)));
        // Receivers take it: not stale, on top of the report they hold.
        assert!(book.apply(&again).is_ok());
        // The forced full report in "art" survives the restart too.
        let row = [(p[2], t(2.0, 0.0, 30))];
        let next = b.next_report(&kp, &art, &row, at(30)).unwrap().unwrap();
        let again = restored
            .next_report(&kp, &art, &row, at(30))
            .unwrap()
            .unwrap();
        assert_eq!(next.to_frame(), again.to_frame());
        assert_eq!(again.base, None);
        // Nothing salient: nothing on either side.
        let row = [(p[2], t(2.0, 0.0, 30))];
        assert!(b.next_report(&kp, &art, &row, at(30)).unwrap().is_none());
        assert!(
            restored
                .next_report(&kp, &art, &row, at(30))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn a_restored_book_keeps_the_rows_and_takes_the_next_delta() {
        let kp = Keypair::from_seed([1; 32]);
        let p: Vec<AgentId> = (2..6u8).map(|i| Keypair::from_seed([i; 32]).id()).collect();
        let code = Topic::new("code/review").unwrap();
        let (mut b, book, sent) = reported();
        let records = book.export();
        assert_eq!(records.len(), 2);
        let mut restored = ReportBook::default();
        assert_eq!(restored.restore(records.clone()), Ok(2));
        assert_eq!(restored.export(), records);
        for topic in [&code, &Topic::new("art").unwrap()] {
            let a: Vec<_> = book.rows(topic).collect();
            let b: Vec<_> = restored.rows(topic).collect();
            assert_eq!(a, b);
            assert_eq!(
                book.row_at(topic, &kp.id(), at(1000)),
                restored.row_at(topic, &kp.id(), at(1000))
            );
        }
        // Replays are still stale; the next delta applies.
        assert!(matches!(
            restored.apply(&sent[2]),
            Err(ReportError::Stale { seq: 2, have: 2 })
        ));
        let row = [(p[0], t(1.0, 9.0, 20))];
        let next = b.next_report(&kp, &code, &row, at(20)).unwrap().unwrap();
        assert_eq!(next.base, Some(2));
        assert!(restored.apply(&next).is_ok());
        // An empty book exports nothing and restores from nothing.
        assert!(ReportBook::default().export().is_empty());
        assert_eq!(ReportBook::default().restore(Vec::new()), Ok(0));
    }

    #[test]
    fn bad_report_records_are_refused_and_change_nothing() {
        let (b, book, _) = reported();
        let (good_b, good_book) = (b.export(), book.export());
        let refused = |records: Vec<Bytes>| {
            let mut fresh = ReportBuilder::default();
            let r = fresh.restore(records);
            assert!(fresh.export().is_empty(), "all or nothing");
            r.unwrap_err()
        };
        let refused_book = |records: Vec<Bytes>| {
            let mut fresh = ReportBook::new(ReportBookConfig {
                max_reporters: 1,
                ..Default::default()
            })
            .unwrap();
            let r = fresh.restore(records);
            assert!(fresh.export().is_empty(), "all or nothing");
            r.unwrap_err()
        };
        let err = |index, error| ReportRestoreError { index, error };
        // Garbage, truncation, versions, sizes.
        assert_eq!(
            refused(vec![good_b[0].clone(), Bytes::new()]),
            err(1, RecordError::Empty)
        );
        let mut v = good_b[0].to_vec();
        v[0] = 9;
        assert_eq!(
            refused(vec![Bytes::from(v)]),
            err(0, RecordError::UnsupportedVersion { found: 9 })
        );
        for cut in 1..good_b[0].len() {
            assert!(matches!(
                refused(vec![good_b[0].slice(..cut)]).error,
                RecordError::Malformed(_)
            ));
        }
        for cut in 1..good_book[0].len() {
            assert!(matches!(
                refused_book(vec![good_book[0].slice(..cut)]).error,
                RecordError::Malformed(_)
            ));
        }
        let huge = Bytes::from(vec![REPORT_RECORD_VERSION; MAX_REPORT_RECORD_LEN + 1]);
        assert!(matches!(
            refused(vec![huge]).error,
            RecordError::TooLarge { .. }
        ));
        // A book record is not a builder record, nor the other way round.
        assert!(matches!(
            refused(vec![good_book[0].clone()]).error,
            RecordError::Malformed(WireError::Schema(_))
        ));
        assert!(matches!(
            refused_book(vec![good_b[0].clone()]).error,
            RecordError::Malformed(WireError::Schema(_))
        ));
        // Duplicates and bounds.
        assert_eq!(
            refused(vec![good_b[0].clone(), good_b[0].clone()]),
            err(1, RecordError::Duplicate)
        );
        let row = |reporter| {
            encode_record(&BookRecord {
                topic: Topic::new("t").unwrap(),
                reporter,
                seq: 1,
                at: at(5),
                stale: false,
                entries: vec![],
            })
        };
        let (r1, r2) = (AgentId::from_bytes([5; 32]), AgentId::from_bytes([6; 32]));
        assert_eq!(
            refused_book(vec![row(r1), row(r2)]),
            err(1, RecordError::Full)
        );
        assert_eq!(
            refused_book(vec![row(r1), row(r1)]),
            err(1, RecordError::Duplicate)
        );
        let mut held = book.clone();
        assert_eq!(
            held.restore(vec![good_book[1].clone()]),
            Err(err(0, RecordError::Duplicate))
        );
        // Well-formed, impossible contents.
        #[derive(Serialize)]
        struct BadTopic {
            topic: String,
            seq: u64,
            at: WallTime,
            force_full: bool,
            believed: Vec<HeldEntry>,
        }
        let (p, q) = (AgentId::from_bytes([7; 32]), AgentId::from_bytes([8; 32]));
        let topic = Topic::new("t").unwrap();
        let builder = |seq, believed: Vec<HeldEntry>| {
            encode_record(&BuilderRecord {
                topic: topic.clone(),
                seq,
                at: at(5),
                force_full: false,
                believed,
            })
        };
        for (record, why) in [
            (builder(0, vec![]), "seq starts at 1"),
            (
                builder(
                    1,
                    vec![HeldEntry(q, 1, 0, at(1)), HeldEntry(p, 1, 0, at(1))],
                ),
                "entries not sorted by peer",
            ),
            (builder(1, vec![HeldEntry(p, 0, 0, at(1))]), "zero entry"),
            (
                builder(1, vec![HeldEntry(p, 1, 0, at(6))]),
                "entry dated after the record",
            ),
        ] {
            assert_eq!(refused(vec![record]), err(0, RecordError::Invalid(why)));
        }
        // A topic that breaks the topic rule does not even decode.
        let bad_topic = encode_record(&BadTopic {
            topic: "Not A Topic".into(),
            seq: 1,
            at: at(5),
            force_full: false,
            believed: vec![],
        });
        assert!(matches!(
            refused(vec![bad_topic]),
            ReportRestoreError {
                index: 0,
                error: RecordError::Malformed(_)
            }
        ));
        let self_report = encode_record(&BookRecord {
            topic: topic.clone(),
            reporter: p,
            seq: 1,
            at: at(5),
            stale: false,
            entries: vec![HeldEntry(p, 1, 0, at(5))],
        });
        assert_eq!(
            refused_book(vec![self_report]),
            err(0, RecordError::Invalid("self-report"))
        );
    }

    #[test]
    fn a_row_cannot_grow_past_the_entry_bound() {
        let kp = Keypair::from_seed([1; 32]);
        let topic = Topic::new("t").unwrap();
        let id = |i: u16| {
            let mut b = [0u8; 32];
            b[..2].copy_from_slice(&i.to_be_bytes());
            AgentId::from_bytes(b)
        };
        let entries: Vec<ReportEntry> = (0..MAX_REPORT_ENTRIES as u16)
            .map(|i| ReportEntry {
                peer: id(i + 10),
                pos: 1000,
                neg: 0,
            })
            .collect();
        let report = |seq, base, entries| TrustReport {
            reporter: kp.id(),
            topic: topic.clone(),
            seq,
            at: t0(),
            base,
            entries,
        };
        let mut book = ReportBook::default();
        book.apply(&Signed::sign(&kp, report(1, None, entries)).unwrap())
            .unwrap();
        let grow = vec![ReportEntry {
            peer: id(1),
            pos: 1000,
            neg: 0,
        }];
        let delta = Signed::sign(&kp, report(2, Some(1), grow)).unwrap();
        assert!(matches!(book.apply(&delta), Err(ReportError::Malformed(_))));
        // Swapping one peer for another keeps the row within the bound.
        let swap = vec![
            ReportEntry {
                peer: id(1),
                pos: 1000,
                neg: 0,
            },
            ReportEntry {
                peer: id(10),
                pos: 0,
                neg: 0,
            },
        ];
        let delta = Signed::sign(&kp, report(2, Some(1), swap)).unwrap();
        assert!(book.apply(&delta).is_ok());
        // The full row exports and restores within the record limits.
        let records = book.export();
        assert_eq!(ReportBook::default().restore(records), Ok(1));
    }
}
