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

use std::collections::BTreeMap;

use agentnet_core::descriptor::Topic;
use agentnet_core::signed::{SignedError, SignedObject};
use agentnet_core::wire::MessageKind;
use agentnet_core::{AgentId, Signed, Signer, WallTime};
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
    const CONTEXT: &'static str = "agentnet/v1/trust-report";
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
    /// [`ReportBookConfig::max_reporters`] rows held for this topic.
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
    /// A builder with the given salience rule.
    pub fn new(config: SalienceConfig) -> Self {
        ReportBuilder {
            config,
            sent: BTreeMap::new(),
        }
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
        let full =
            sent.seq == 0 || sent.force_full || seq.is_multiple_of(self.config.full_every.max(1));
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
    /// [`SalienceConfig::half_life`]. Default 7 days.
    pub half_life: Duration,
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
}

/// The receiver's side: the latest row of every reporter per topic.
#[derive(Clone, Debug, Default)]
pub struct ReportBook {
    config: ReportBookConfig,
    rows: BTreeMap<Topic, BTreeMap<AgentId, HeldRow>>,
}

impl ReportBook {
    /// An empty book.
    pub fn new(config: ReportBookConfig) -> Self {
        ReportBook {
            config,
            rows: BTreeMap::new(),
        }
    }

    /// Apply a verified report. Returns the number of entries applied.
    pub fn apply(&mut self, report: &Signed<TrustReport>) -> Result<usize, ReportError> {
        let r = report.value();
        r.validate()?;
        let topic_rows = self.rows.entry(r.topic.clone()).or_default();
        if !topic_rows.contains_key(&r.reporter) && topic_rows.len() >= self.config.max_reporters {
            return Err(ReportError::Full);
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

#[cfg(test)]
mod tests {
    use super::*;
    use agentnet_core::Keypair;

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
        let mut b = ReportBuilder::new(SalienceConfig::default());
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
        });
        let mut book = ReportBook::new(ReportBookConfig {
            half_life,
            ..Default::default()
        });
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
    }
}
