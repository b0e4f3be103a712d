//! Durable node state: the identity key, and the records the agent asks to keep
//! ([`Effect::Persist`](agentnet_core::Effect)).
//!
//! The store is **engine-agnostic**: it keeps tables of [`Record`]s (table name, key, value,
//! optional expiry) without knowing what they mean. The [`Agent`](crate::agent::Agent) names
//! its tables ([`agent::tables`](crate::agent::tables)) and takes every record back through
//! [`Agent::restore`](crate::agent::Agent::restore) at start-up.
//!
//! [`Store`] is synchronous: every implementation here finishes a write in well under a
//! millisecond to a few milliseconds (one `fsync`), and the node writes everything one turn of
//! its loop produced as one batch, before it sends that turn's frames. Two implementations
//! ship:
//!
//! * [`RedbStore`] — the default for a node with a data directory: one
//!   [redb](https://docs.rs/redb) file, `agentnet.redb`, written with immediate durability (a
//!   batch is on disk when [`Store::write`] returns).
//! * [`MemoryStore`] — nothing survives the process; for tests and throwaway nodes.
//!
//! What must survive a restart, and why: the **identity seed** (the node *is* its key); the
//! agent's **own log heads** (a restarted node that forgot its head would sign a second header
//! at a seq it already used — an equivocation); its **identity chain** (so its canonical id and
//! reputation follow it); **open sessions** (deposits and deadlines); its **ledger** and the
//! **fraud proofs** it holds; and what it had accepted from the network (so a restart does not
//! forget the network until anti-entropy catches up). Expired records are deleted by
//! [`Store::prune`].
//!
//! The data directory holds the identity's secret seed unencrypted (the file is created mode
//! `0600`, new directories `0700`, on Unix): protect it like an SSH
//! private key.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use agentnet_core::{Record, WallTime};
use bytes::Bytes;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use thiserror::Error;

/// Why a store operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database failed.
    #[error("store: {0}")]
    Db(String),
    /// Another process (or another store in this one) has the data directory open.
    #[error("data directory {0} is in use (is a node already running from it?)")]
    InUse(String),
    /// A stored record does not decode.
    #[error("corrupt record in {table}: {detail}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// What is wrong.
        detail: String,
    },
}

fn db<E: fmt::Display>(e: E) -> StoreError {
    StoreError::Db(e.to_string())
}

/// One durable change. The identity seed never shows in `Debug` output and is wiped when
/// the change is dropped.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum Write {
    /// The identity seed (written once, when the node first starts in a directory).
    Identity([u8; 32]),
    /// Put or (with `value: None`) delete one record.
    Record(Record),
}

impl fmt::Debug for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Identity(_) => f.write_str("Identity(<secret seed>)"),
            Write::Record(r) => f.debug_tuple("Record").field(r).finish(),
        }
    }
}

impl Drop for Write {
    fn drop(&mut self) {
        if let Write::Identity(seed) = self {
            zeroize::Zeroize::zeroize(seed);
        }
    }
}

/// Changes made durable together.
pub type Batch = Vec<Write>;

/// Everything a node reads back at start-up. The seed never shows in `Debug` output and is
/// wiped when this is dropped.
#[derive(Clone, Default, PartialEq)]
pub struct Restored {
    /// The identity seed, if one was stored.
    pub identity: Option<[u8; 32]>,
    /// Every record, in (table, key) order.
    pub records: Vec<Record>,
}

impl fmt::Debug for Restored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Restored")
            .field("identity", &self.identity.map(|_| "<secret seed>"))
            .field("records", &self.records)
            .finish()
    }
}

impl Drop for Restored {
    fn drop(&mut self) {
        if let Some(seed) = &mut self.identity {
            zeroize::Zeroize::zeroize(seed);
        }
    }
}

/// Durable node state. See the [module docs](self).
pub trait Store: Send + fmt::Debug {
    /// Apply `batch` atomically; when this returns `Ok`, the batch survives a crash.
    fn write(&mut self, batch: &[Write]) -> Result<(), StoreError>;
    /// Read everything back (start-up).
    fn load(&self) -> Result<Restored, StoreError>;
    /// Delete records that expired at `now`; returns how many.
    fn prune(&mut self, now: WallTime) -> Result<usize, StoreError>;
    /// Whether what is written survives the process. Default `true`; [`MemoryStore`] says
    /// `false`, and a node refuses to pair it with an identity that outlives the process
    /// (see [`NodeBuilder::identity`](crate::NodeBuilder::identity)).
    fn is_durable(&self) -> bool {
        true
    }
}

/// The key of a record in the flat key space: table name, a zero byte, the record's key.
fn flat_key(table: &str, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(table.len() + 1 + key.len());
    k.extend_from_slice(table.as_bytes());
    k.push(0);
    k.extend_from_slice(key);
    k
}

/// Stored value: expiry flag (1 byte), expiry in Unix ms (u64 LE), then the value.
fn encode_value(expires: Option<WallTime>, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(9 + value.len());
    v.push(u8::from(expires.is_some()));
    v.extend_from_slice(&expires.map_or(0, WallTime::as_unix_millis).to_le_bytes());
    v.extend_from_slice(value);
    v
}

fn decode(k: &[u8], v: &[u8]) -> Result<Record, StoreError> {
    let corrupt = |detail: &str| StoreError::Corrupt {
        table: "records",
        detail: detail.into(),
    };
    let split = k
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| corrupt("key has no table separator"))?;
    let table = core::str::from_utf8(&k[..split]).map_err(|_| corrupt("table name not UTF-8"))?;
    if v.len() < 9 || v[0] > 1 {
        return Err(corrupt("value header"));
    }
    let ms = u64::from_le_bytes(v[1..9].try_into().expect("8 bytes"));
    Ok(Record {
        table: Cow::Owned(table.to_string()),
        key: Bytes::copy_from_slice(&k[split + 1..]),
        value: Some(Bytes::copy_from_slice(&v[9..])),
        expires: (v[0] == 1).then(|| WallTime::from_unix_millis(ms)),
    })
}

fn expired(v: &[u8], now: WallTime) -> bool {
    v.len() >= 9
        && v[0] == 1
        && WallTime::from_unix_millis(u64::from_le_bytes(v[1..9].try_into().expect("8 bytes")))
            <= now
}

/// Everything in memory; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    identity: Option<[u8; 32]>,
    records: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Store for MemoryStore {
    fn is_durable(&self) -> bool {
        false
    }

    fn write(&mut self, batch: &[Write]) -> Result<(), StoreError> {
        for w in batch {
            match w {
                Write::Identity(s) => self.identity = Some(*s),
                Write::Record(r) => {
                    let k = flat_key(&r.table, &r.key);
                    match &r.value {
                        Some(v) => {
                            self.records.insert(k, encode_value(r.expires, v));
                        }
                        None => {
                            self.records.remove(&k);
                        }
                    }
                }
            }
        }
        Ok(())
    }

    fn load(&self) -> Result<Restored, StoreError> {
        Ok(Restored {
            identity: self.identity,
            records: self
                .records
                .iter()
                .map(|(k, v)| decode(k, v))
                .collect::<Result<_, _>>()?,
        })
    }

    fn prune(&mut self, now: WallTime) -> Result<usize, StoreError> {
        let before = self.records.len();
        self.records.retain(|_, v| !expired(v, now));
        Ok(before - self.records.len())
    }
}

const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
const RECORDS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("records");

/// The file a [`RedbStore`] keeps in its directory.
pub const STORE_FILE: &str = "agentnet.redb";

/// A [redb](https://docs.rs/redb) database in a data directory. See the [module docs](self).
pub struct RedbStore {
    /// Always `Some` until dropped (taken in `drop`, see there).
    db: Option<Database>,
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Closing a database commits its allocator state, and redb can panic doing so on a
        // damaged file; a panic escaping a destructor can abort the process. Keep it here.
        if let Some(db) = self.db.take() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(db)));
        }
    }
}

impl fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbStore").finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Open (or create) the store in `dir`, creating the directory if needed.
    ///
    /// The file holds the identity seed: on Unix it is created (or tightened to) mode `0600`,
    /// and directories this call creates get mode `0700`, so other local users can read
    /// neither. An existing directory keeps its mode (it may be one the user chose to share).
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let file = dir.join(STORE_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(db)?;
            std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .mode(0o600)
                .open(&file)
                .map_err(db)?;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(db)?;
        }
        #[cfg(not(unix))]
        std::fs::create_dir_all(dir).map_err(db)?;
        // redb has asserted (panicked) on some damaged files instead of returning an error —
        // redb 3.1.3 on a file shorter than its header's layout (e.g. truncated by a full
        // disk), and in the first commit after a flipped header byte; 4.6 returns errors for
        // those it knows of, and this stays as a guard. A damaged store must be a typed
        // error at start-up, not a crash.
        let opened = std::panic::catch_unwind(|| -> Result<Database, StoreError> {
            let database = Database::create(&file).map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => {
                    StoreError::InUse(dir.display().to_string())
                }
                e => db(e),
            })?;
            let tx = database.begin_write().map_err(db)?;
            {
                tx.open_table(META).map_err(db)?;
                tx.open_table(RECORDS).map_err(db)?;
            }
            tx.commit().map_err(db)?;
            Ok(database)
        });
        let database = opened
            .map_err(|_| StoreError::Db(format!("{}: damaged database file", file.display())))??;
        Ok(RedbStore { db: Some(database) })
    }
}

impl Store for RedbStore {
    fn write(&mut self, batch: &[Write]) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let tx = self.database()?.begin_write().map_err(db)?;
        {
            let mut meta = tx.open_table(META).map_err(db)?;
            let mut records = tx.open_table(RECORDS).map_err(db)?;
            for w in batch {
                match w {
                    Write::Identity(s) => {
                        meta.insert("identity", s.as_slice()).map_err(db)?;
                    }
                    Write::Record(r) => {
                        let k = flat_key(&r.table, &r.key);
                        match &r.value {
                            Some(v) => {
                                records
                                    .insert(k.as_slice(), encode_value(r.expires, v).as_slice())
                                    .map_err(db)?;
                            }
                            None => {
                                records.remove(k.as_slice()).map_err(db)?;
                            }
                        }
                    }
                }
            }
        }
        tx.commit().map_err(db)
    }

    fn load(&self) -> Result<Restored, StoreError> {
        // redb indexes pages with lengths read from the file and panics on a damaged one
        // (seen with redb 3.1.3: a slice range past a page's end); see `open`.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.load_unguarded()))
            .map_err(|_| StoreError::Db("damaged database file".into()))?
    }

    fn prune(&mut self, now: WallTime) -> Result<usize, StoreError> {
        self.prune_unguarded(now)
    }
}

impl RedbStore {
    fn database(&self) -> Result<&Database, StoreError> {
        self.db
            .as_ref()
            .ok_or_else(|| StoreError::Db("the database is closed".into()))
    }

    fn load_unguarded(&self) -> Result<Restored, StoreError> {
        let tx = self.database()?.begin_read().map_err(db)?;
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
            records: Vec::new(),
        };
        for r in tx.open_table(RECORDS).map_err(db)?.iter().map_err(db)? {
            let (k, v) = r.map_err(db)?;
            out.records.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    fn prune_unguarded(&mut self, now: WallTime) -> Result<usize, StoreError> {
        let tx = self.database()?.begin_write().map_err(db)?;
        let n = {
            let mut t = tx.open_table(RECORDS).map_err(db)?;
            t.extract_if(|_, v| expired(v, now)).map_err(db)?.count()
        };
        tx.commit().map_err(db)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(table: &'static str, key: &'static [u8], value: &'static [u8]) -> Write {
        Write::Record(Record::put(table, key, value))
    }

    fn exercise(s: &mut dyn Store) {
        s.write(&[
            Write::Identity([1; 32]),
            put("a", b"k1", b"v1"),
            put("a", b"k2", b"v2"),
            put("b", b"k1", b"w1"),
            Write::Record(
                Record::put("c", &b"old"[..], &b"x"[..])
                    .expiring(WallTime::from_unix_millis(1_000)),
            ),
            Write::Record(
                Record::put("c", &b"new"[..], &b"y"[..])
                    .expiring(WallTime::from_unix_millis(5_000)),
            ),
        ])
        .unwrap();
        // A put replaces, a delete removes; tables with a common prefix stay apart.
        s.write(&[
            put("a", b"k1", b"v1b"),
            Write::Record(Record::delete("a", &b"k2"[..])),
            put("aa", b"k2", b"z"),
        ])
        .unwrap();
        let r = s.load().unwrap();
        assert_eq!(r.identity, Some([1; 32]));
        let flat: Vec<(String, Vec<u8>, Vec<u8>)> = r
            .records
            .iter()
            .map(|r| {
                (
                    r.table.to_string(),
                    r.key.to_vec(),
                    r.value.clone().unwrap().to_vec(),
                )
            })
            .collect();
        assert_eq!(
            flat,
            vec![
                ("a".into(), b"k1".to_vec(), b"v1b".to_vec()),
                ("aa".into(), b"k2".to_vec(), b"z".to_vec()),
                ("b".into(), b"k1".to_vec(), b"w1".to_vec()),
                ("c".into(), b"new".to_vec(), b"y".to_vec()),
                ("c".into(), b"old".to_vec(), b"x".to_vec()),
            ]
        );
        assert_eq!(
            r.records[3].expires,
            Some(WallTime::from_unix_millis(5_000))
        );
        assert_eq!(s.prune(WallTime::from_unix_millis(2_000)).unwrap(), 1);
        let r = s.load().unwrap();
        assert_eq!(r.records.len(), 4, "only the expired record went");
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
        assert_eq!(r.records.len(), 4);
    }

    #[test]
    fn a_truncated_store_file_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = RedbStore::open(dir.path()).unwrap();
            exercise(&mut s);
        }
        let file = dir.path().join(STORE_FILE);
        let bytes = std::fs::read(&file).unwrap();
        for keep in [bytes.len() / 2, 4096, 600] {
            std::fs::write(&file, &bytes[..keep.min(bytes.len())]).unwrap();
            // Opening may repair or refuse; it must not panic.
            if let Ok(s) = RedbStore::open(dir.path()) {
                let _ = s.load();
            }
        }
    }

    #[test]
    fn a_store_file_with_damaged_pages_loads_or_fails_without_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = RedbStore::open(dir.path()).unwrap();
            exercise(&mut s);
        }
        let file = dir.path().join(STORE_FILE);
        let bytes = std::fs::read(&file).unwrap();
        // Overwrite a few bytes at page offsets (redb pages are 4 KiB) and just past them.
        for page in 0..(bytes.len() / 4096).min(16) {
            for off in [0, 2, 4, 8, 9] {
                let at = page * 4096 + off;
                let mut b = bytes.clone();
                for x in b.iter_mut().skip(at).take(6) {
                    *x = 0xff;
                }
                std::fs::write(&file, &b).unwrap();
                if let Ok(s) = RedbStore::open(dir.path()) {
                    let _ = s.load();
                }
            }
        }
    }

    #[test]
    fn a_damaged_page_order_is_an_error_not_an_abort() {
        // A store file the fuzzer damaged so that a page pointer carries page order 31: redb
        // 3.1 allocated 2^31 pages (8 TiB) to read it and the process aborted, which no
        // unwinding can catch. Kept as runs of non-zero bytes (u64 file length, then u64
        // offset, u32 length, bytes); redb 4.6 refuses the page order.
        let runs: &[u8] = include_bytes!("../tests/fixtures/damaged-page-order.runs");
        let u64_at = |i: usize| u64::from_le_bytes(runs[i..i + 8].try_into().unwrap());
        let mut file = vec![0u8; u64_at(0) as usize];
        let mut i = 8;
        while i < runs.len() {
            let at = u64_at(i) as usize;
            let n = u32::from_le_bytes(runs[i + 8..i + 12].try_into().unwrap()) as usize;
            file[at..at + n].copy_from_slice(&runs[i + 12..i + 12 + n]);
            i += 12 + n;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(STORE_FILE), &file).unwrap();
        assert!(RedbStore::open(dir.path()).and_then(|s| s.load()).is_err());
    }

    #[test]
    fn a_store_file_with_a_flipped_header_byte_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut s = RedbStore::open(dir.path()).unwrap();
            exercise(&mut s);
        }
        let file = dir.path().join(STORE_FILE);
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[128] ^= 39;
        std::fs::write(&file, &bytes).unwrap();
        // Refused or opened (redb may repair), never a panic.
        if let Ok(s) = RedbStore::open(dir.path()) {
            let _ = s.load();
        }
    }

    #[cfg(unix)]
    #[test]
    fn the_store_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a").join("b");
        drop(RedbStore::open(&dir).unwrap());
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&dir.join(STORE_FILE)), 0o600);
        // A file left readable by an older version (or a copy) is tightened on open, and
        // the store in it still opens.
        std::fs::set_permissions(dir.join(STORE_FILE), std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let mut s = RedbStore::open(&dir).unwrap();
        s.write(&[Write::Identity([3; 32])]).unwrap();
        assert_eq!(mode(&dir.join(STORE_FILE)), 0o600);
        assert_eq!(s.load().unwrap().identity, Some([3; 32]));
    }

    #[test]
    fn the_seed_never_shows_in_debug_output() {
        let w = format!("{:?}", Write::Identity([0xab; 32]));
        let r = format!(
            "{:?}",
            Restored {
                identity: Some([0xab; 32]),
                records: Vec::new()
            }
        );
        for s in [w, r] {
            assert!(s.contains("<secret seed>"), "{s}");
            assert!(!s.contains("171") && !s.contains("ab"), "{s}");
        }
    }

    #[test]
    fn corrupt_records_are_typed_errors() {
        assert!(matches!(
            decode(b"no-separator", &[0; 9]),
            Err(StoreError::Corrupt { .. })
        ));
        assert!(decode(b"t\0k", &[2; 9]).is_err());
        assert!(decode(b"t\0k", &[0; 3]).is_err());
        assert!(decode(&[0xff, 0, 1], &[0; 9]).is_err());
        assert!(decode(b"t\0k", &[0; 9]).is_ok());
    }
}
