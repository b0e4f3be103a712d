//! Persistence of [`ReportBuilder`] and [`ReportBook`] state as versioned records (see the module
//! docs, "Persistence").

use super::*;

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
pub(super) struct HeldEntry(
    pub(super) AgentId,
    pub(super) u32,
    pub(super) u32,
    pub(super) WallTime,
);

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
pub(super) struct BuilderRecord {
    pub(super) topic: Topic,
    pub(super) seq: u64,
    pub(super) at: WallTime,
    pub(super) force_full: bool,
    pub(super) believed: Vec<HeldEntry>,
}

/// One row of a book. Field order is the encoding order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BookRecord {
    pub(super) topic: Topic,
    pub(super) reporter: AgentId,
    pub(super) seq: u64,
    pub(super) at: WallTime,
    pub(super) stale: bool,
    pub(super) entries: Vec<HeldEntry>,
}

pub(super) fn encode_record<T: Serialize>(record: &T) -> Bytes {
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
