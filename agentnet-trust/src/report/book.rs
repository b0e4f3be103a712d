//! The receiver's side: [`ReportBookConfig`], [`HeldRow`] and [`ReportBook`], the latest row of
//! every reporter per topic.

use super::*;

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
    pub(super) config: ReportBookConfig,
    pub(super) rows: BTreeMap<Topic, BTreeMap<AgentId, HeldRow>>,
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
    /// [`Reputation::set_row`](crate::reputation::Reputation::set_row). Empty if unknown.
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
