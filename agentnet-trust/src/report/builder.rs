//! The reporter's side: [`SalienceConfig`] and [`ReportBuilder`], which turns ledger rows into
//! signed full or delta reports.

use super::*;

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

pub(super) const DEFAULT_HALF_LIFE: Duration = Duration::from_secs(7 * 24 * 3600);

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
    pub(super) sent: BTreeMap<Topic, Sent>,
}

#[derive(Clone, Debug, Default)]
pub(super) struct Sent {
    pub(super) seq: u64,
    pub(super) at: WallTime,
    pub(super) force_full: bool,
    pub(super) believed: BTreeMap<AgentId, Tally>,
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
