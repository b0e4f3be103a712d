//! Durable node state: the identity key, the own log heads, and the headers and descriptors
//! the node had accepted.
//!
//! [`Store`] is synchronous: every implementation here finishes a write in well under a
//! millisecond to a few milliseconds (one `fsync`), and the node batches everything one turn
//! of its loop produced into one [`Batch`]. Two implementations ship:
//!
//! * [`RedbStore`] — the default for a node with a data directory: one
//!   [redb](https://docs.rs/redb) file, `agentnet.redb`, written with immediate durability (a
//!   batch is on disk when [`Store::write`] returns).
//! * [`MemoryStore`] — nothing survives the process; for tests and throwaway nodes.
//!
//! What must survive a restart, and why: the **identity seed** (the node *is* its key); the
//! **own log heads** (a restarted node that forgot its head would sign a second header at a
//! seq it already used — an equivocation; the node acknowledges a head to its gossip engine
//! only after the batch holding it is durable); the **accepted headers and descriptors**
//! (so a restart does not forget the network until anti-entropy catches up). Expired records
//! are deleted by [`Store::prune`].
//!
//! The data directory holds the identity's secret seed unencrypted: protect it like an SSH
//! private key.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use agentnet_core::descriptor::Topic;
use agentnet_core::{AgentId, WallTime};
use agentnet_gossip::OwnHead;
use bytes::Bytes;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use thiserror::Error;

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backing database failed.
    #[error("database: {0}")]
    Db(String),
    /// A stored record could not be decoded (the file is damaged or from another version).
    #[error("corrupt record in {table}: {detail}")]
    Corrupt {
        /// The table.
        table: &'static str,
        /// What was wrong.
        detail: String,
    },
}

fn db<E: fmt::Display>(e: E) -> StoreError {
    StoreError::Db(e.to_string())
}

/// One durable change.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Write {
    /// The identity seed (written once, when the node first starts in a directory).
    Identity([u8; 32]),
    /// The head of one of the node's own logs (replaces the previous head of that topic).
    OwnHead(OwnHead),
    /// An accepted header frame of another author.
    Header {
        /// Topic of the log.
        topic: Topic,
        /// The author.
        author: AgentId,
        /// The entry's seq.
        seq: u64,
        /// When the header expires (the record is pruned after).
        expires: WallTime,
        /// The signed header frame.
        frame: Bytes,
    },
    /// An accepted descriptor (its signed frame), replacing the previous one for the same
    /// (provider, capability).
    Descriptor {
        /// The provider.
        provider: AgentId,
        /// The capability name.
        capability: String,
        /// When it expires.
        expires: WallTime,
        /// The signed descriptor frame.
        frame: Bytes,
    },
}

/// Changes made durable together.
pub type Batch = Vec<Write>;

/// Everything a node reads back at start-up.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Restored {
    /// The identity seed, if one was stored.
    pub identity: Option<[u8; 32]>,
    /// Own log heads, one per topic.
    pub own_heads: Vec<OwnHead>,
    /// Accepted header frames, in (topic, author, seq) order.
    pub headers: Vec<Bytes>,
    /// Accepted descriptor frames.
    pub descriptors: Vec<Bytes>,
}

/// Durable node state. See the [module docs](self).
pub trait Store: Send + fmt::Debug {
    /// Apply `batch` atomically; when this returns `Ok`, the batch survives a crash.
    fn write(&mut self, batch: &[Write]) -> Result<(), StoreError>;
    /// Read everything back (start-up).
    fn load(&self) -> Result<Restored, StoreError>;
    /// Delete headers and descriptors that expired at `now`; returns how many.
    fn prune(&mut self, now: WallTime) -> Result<usize, StoreError>;
}

fn header_key(topic: &Topic, author: &AgentId, seq: u64) -> Vec<u8> {
    let t = topic.as_str().as_bytes();
    let mut k = Vec::with_capacity(1 + t.len() + 32 + 8);
    k.push(t.len() as u8);
    k.extend_from_slice(t);
    k.extend_from_slice(author.as_bytes());
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn descriptor_key(provider: &AgentId, capability: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(32 + capability.len());
    k.extend_from_slice(provider.as_bytes());
    k.extend_from_slice(capability.as_bytes());
    k
}

/// `expires (8 bytes, big endian) ‖ frame`.
fn expiring(expires: WallTime, frame: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + frame.len());
    v.extend_from_slice(&expires.as_unix_millis().to_be_bytes());
    v.extend_from_slice(frame);
    v
}

fn split_expiring(table: &'static str, v: &[u8]) -> Result<(WallTime, Bytes), StoreError> {
    if v.len() < 8 {
        return Err(StoreError::Corrupt {
            table,
            detail: "record shorter than its expiry".into(),
        });
    }
    let (e, f) = v.split_at(8);
    let ms = u64::from_be_bytes(e.try_into().expect("8 bytes"));
    Ok((WallTime::from_unix_millis(ms), Bytes::copy_from_slice(f)))
}

/// `seq (8, BE) ‖ header length (4, BE) ‖ header ‖ body-present (1) ‖ body`.
fn encode_head(h: &OwnHead) -> Vec<u8> {
    let mut v = Vec::with_capacity(13 + h.header.len() + h.body.as_ref().map_or(0, Bytes::len));
    v.extend_from_slice(&h.seq.to_be_bytes());
    v.extend_from_slice(&(h.header.len() as u32).to_be_bytes());
    v.extend_from_slice(&h.header);
    match &h.body {
        Some(b) => {
            v.push(1);
            v.extend_from_slice(b);
        }
        None => v.push(0),
    }
    v
}

fn decode_head(topic: &str, v: &[u8]) -> Result<OwnHead, StoreError> {
    let bad = |d: &str| StoreError::Corrupt {
        table: "own_heads",
        detail: d.to_string(),
    };
    let topic = Topic::new(topic).map_err(|e| bad(&e.to_string()))?;
    if v.len() < 13 {
        return Err(bad("record too short"));
    }
    let seq = u64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
    let hl = u32::from_be_bytes(v[8..12].try_into().expect("4 bytes")) as usize;
    let rest = &v[12..];
    if rest.len() < hl + 1 {
        return Err(bad("header length past the end"));
    }
    let header = Bytes::copy_from_slice(&rest[..hl]);
    let body = match rest[hl] {
        0 => None,
        1 => Some(Bytes::copy_from_slice(&rest[hl + 1..])),
        _ => return Err(bad("bad body flag")),
    };
    Ok(OwnHead {
        topic,
        seq,
        header,
        body,
    })
}

/// Keeps everything in memory; nothing survives the process.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    identity: Option<[u8; 32]>,
    heads: BTreeMap<String, OwnHead>,
    headers: BTreeMap<Vec<u8>, (WallTime, Bytes)>,
    descriptors: BTreeMap<Vec<u8>, (WallTime, Bytes)>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn write(&mut self, batch: &[Write]) -> Result<(), StoreError> {
        for w in batch {
            match w {
                Write::Identity(s) => self.identity = Some(*s),
                Write::OwnHead(h) => {
                    let newer = self
                        .heads
                        .get(h.topic.as_str())
                        .is_none_or(|old| old.seq < h.seq);
                    if newer {
                        self.heads.insert(h.topic.as_str().to_string(), h.clone());
                    }
                }
                Write::Header {
                    topic,
                    author,
                    seq,
                    expires,
                    frame,
                } => {
                    self.headers
                        .insert(header_key(topic, author, *seq), (*expires, frame.clone()));
                }
                Write::Descriptor {
                    provider,
                    capability,
                    expires,
                    frame,
                } => {
                    self.descriptors.insert(
                        descriptor_key(provider, capability),
                        (*expires, frame.clone()),
                    );
                }
            }
        }
        Ok(())
    }

    fn load(&self) -> Result<Restored, StoreError> {
        Ok(Restored {
            identity: self.identity,
            own_heads: self.heads.values().cloned().collect(),
            headers: self.headers.values().map(|(_, f)| f.clone()).collect(),
            descriptors: self.descriptors.values().map(|(_, f)| f.clone()).collect(),
        })
    }

    fn prune(&mut self, now: WallTime) -> Result<usize, StoreError> {
        let before = self.headers.len() + self.descriptors.len();
        self.headers.retain(|_, (e, _)| now < *e);
        self.descriptors.retain(|_, (e, _)| now < *e);
        Ok(before - self.headers.len() - self.descriptors.len())
    }
}

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const HEADS: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("own_heads");
const HEADERS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("headers");
const DESCRIPTORS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("descriptors");

/// The file a [`RedbStore`] keeps in its directory.
pub const STORE_FILE: &str = "agentnet.redb";

/// A [redb](https://docs.rs/redb) database in a data directory. See the [module docs](self).
pub struct RedbStore {
    db: Database,
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Open (or create) the store in `dir`, creating the directory if needed.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(db)?;
        let database = Database::create(dir.join(STORE_FILE)).map_err(db)?;
        let tx = database.begin_write().map_err(db)?;
        {
            tx.open_table(META).map_err(db)?;
            tx.open_table(HEADS).map_err(db)?;
            tx.open_table(HEADERS).map_err(db)?;
            tx.open_table(DESCRIPTORS).map_err(db)?;
        }
        tx.commit().map_err(db)?;
        Ok(RedbStore { db: database })
    }
}

impl Store for RedbStore {
    fn write(&mut self, batch: &[Write]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self.db.begin_write().map_err(db)?;
        {
            let mut meta = tx.open_table(META).map_err(db)?;
            let mut heads = tx.open_table(HEADS).map_err(db)?;
            let mut headers = tx.open_table(HEADERS).map_err(db)?;
            let mut descriptors = tx.open_table(DESCRIPTORS).map_err(db)?;
            for w in batch {
                match w {
                    Write::Identity(s) => {
                        meta.insert("identity", s.as_slice()).map_err(db)?;
                    }
                    Write::OwnHead(h) => {
                        let old_seq = match heads.get(h.topic.as_str()).map_err(db)? {
                            Some(v) => Some(decode_head(h.topic.as_str(), v.value())?.seq),
                            None => None,
                        };
                        if old_seq.is_none_or(|s| s < h.seq) {
                            heads
                                .insert(h.topic.as_str(), encode_head(h).as_slice())
                                .map_err(db)?;
                        }
                    }
                    Write::Header {
                        topic,
                        author,
                        seq,
                        expires,
                        frame,
                    } => {
                        let k = header_key(topic, author, *seq);
                        headers
                            .insert(k.as_slice(), expiring(*expires, frame).as_slice())
                            .map_err(db)?;
                    }
                    Write::Descriptor {
                        provider,
                        capability,
                        expires,
                        frame,
                    } => {
                        let k = descriptor_key(provider, capability);
                        descriptors
                            .insert(k.as_slice(), expiring(*expires, frame).as_slice())
                            .map_err(db)?;
                    }
                }
            }
        }
        tx.commit().map_err(db)
    }

    fn load(&self) -> Result<Restored, StoreError> {
        let tx = self.db.begin_read().map_err(db)?;
        let meta = tx.open_table(META).map_err(db)?;
        let identity = match meta.get("identity").map_err(db)? {
            Some(v) => Some(
                <[u8; 32]>::try_from(v.value()).map_err(|_| StoreError::Corrupt {
                    table: "meta",
                    detail: "identity seed is not 32 bytes".into(),
                })?,
            ),
            None => None,
        };
        let mut out = Restored {
            identity,
            ..Restored::default()
        };
        for r in tx.open_table(HEADS).map_err(db)?.iter().map_err(db)? {
            let (k, v) = r.map_err(db)?;
            out.own_heads.push(decode_head(k.value(), v.value())?);
        }
        for r in tx.open_table(HEADERS).map_err(db)?.iter().map_err(db)? {
            let (_, v) = r.map_err(db)?;
            out.headers.push(split_expiring("headers", v.value())?.1);
        }
        for r in tx.open_table(DESCRIPTORS).map_err(db)?.iter().map_err(db)? {
            let (_, v) = r.map_err(db)?;
            out.descriptors
                .push(split_expiring("descriptors", v.value())?.1);
        }
        Ok(out)
    }

    fn prune(&mut self, now: WallTime) -> Result<usize, StoreError> {
        let tx = self.db.begin_write().map_err(db)?;
        let mut n = 0;
        {
            for def in [HEADERS, DESCRIPTORS] {
                let mut t = tx.open_table(def).map_err(db)?;
                let removed = t
                    .extract_if(|_, v| {
                        v.len() >= 8 && split_expiring("", v).is_ok_and(|(e, _)| e <= now)
                    })
                    .map_err(db)?
                    .count();
                n += removed;
            }
        }
        tx.commit().map_err(db)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(topic: &str, seq: u64) -> OwnHead {
        OwnHead {
            topic: Topic::new(topic).unwrap(),
            seq,
            header: Bytes::from(vec![seq as u8; 40]),
            body: seq.is_multiple_of(2).then(|| Bytes::from_static(b"body")),
        }
    }

    fn exercise(s: &mut dyn Store) {
        let t = Topic::new("t/a").unwrap();
        let a = AgentId::from_bytes([7; 32]);
        s.write(&[
            Write::Identity([1; 32]),
            Write::OwnHead(head("t/a", 3)),
            Write::OwnHead(head("t/b", 4)),
            Write::Header {
                topic: t.clone(),
                author: a,
                seq: 1,
                expires: WallTime::from_unix_millis(1_000),
                frame: Bytes::from_static(b"h1"),
            },
            Write::Header {
                topic: t.clone(),
                author: a,
                seq: 2,
                expires: WallTime::from_unix_millis(5_000),
                frame: Bytes::from_static(b"h2"),
            },
            Write::Descriptor {
                provider: a,
                capability: "x".into(),
                expires: WallTime::from_unix_millis(5_000),
                frame: Bytes::from_static(b"d1"),
            },
        ])
        .unwrap();
        // An older head never replaces a newer one; a newer descriptor replaces the older.
        s.write(&[
            Write::OwnHead(head("t/a", 2)),
            Write::Descriptor {
                provider: a,
                capability: "x".into(),
                expires: WallTime::from_unix_millis(6_000),
                frame: Bytes::from_static(b"d2"),
            },
        ])
        .unwrap();
        let r = s.load().unwrap();
        assert_eq!(r.identity, Some([1; 32]));
        assert_eq!(r.own_heads, vec![head("t/a", 3), head("t/b", 4)]);
        assert_eq!(
            r.headers,
            vec![Bytes::from_static(b"h1"), Bytes::from_static(b"h2")]
        );
        assert_eq!(r.descriptors, vec![Bytes::from_static(b"d2")]);
        assert_eq!(s.prune(WallTime::from_unix_millis(2_000)).unwrap(), 1);
        let r = s.load().unwrap();
        assert_eq!(r.headers, vec![Bytes::from_static(b"h2")]);
        assert_eq!(r.own_heads.len(), 2, "own heads are never pruned");
    }

    #[test]
    fn memory_store() {
        exercise(&mut MemoryStore::new());
    }

    #[test]
    fn redb_store_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = RedbStore::open(dir.path()).unwrap();
            exercise(&mut s);
        }
        let s = RedbStore::open(dir.path()).unwrap();
        let r = s.load().unwrap();
        assert_eq!(r.identity, Some([1; 32]));
        assert_eq!(r.own_heads, vec![head("t/a", 3), head("t/b", 4)]);
        assert_eq!(r.headers.len(), 1);
    }

    #[test]
    fn corrupt_records_are_typed_errors() {
        assert!(matches!(
            decode_head("t/a", &[0; 5]),
            Err(StoreError::Corrupt { .. })
        ));
        let mut v = encode_head(&head("t/a", 2));
        v.truncate(20);
        assert!(decode_head("t/a", &v).is_err());
        assert!(split_expiring("headers", &[1, 2]).is_err());
    }
}
