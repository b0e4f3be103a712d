//! A corrupt store file: a genuine `RedbStore` (identity seed and records written through the
//! public API) whose `agentnet.redb` file is then truncated, bit-flipped or overwritten by the
//! fuzzer, opened and loaded again. Never a panic (a typed `StoreError` or a load); whatever
//! loads can be handed to `Agent::restore`.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use agentnet_core::{Instant, Keypair, Now, Record, WallTime};
use agentnet_transport::agent::{Agent, AgentConfig, tables};
use agentnet_transport::store::{RedbStore, STORE_FILE, Store, Write};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Edit {
    Flip { at: u32, mask: u8 },
    Write { at: u32, bytes: Vec<u8> },
    Truncate(u32),
}

fn dir() -> PathBuf {
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("agentnet-fuzz-store-{}", std::process::id()))
}

/// The bytes of a genuine store file, made once.
fn genuine() -> &'static Vec<u8> {
    static FILE: OnceLock<Vec<u8>> = OnceLock::new();
    FILE.get_or_init(|| {
        let d = dir();
        let _ = std::fs::remove_dir_all(&d);
        let mut s = RedbStore::open(&d).expect("open a fresh store");
        let mut batch = vec![Write::Identity([3; 32])];
        for i in 0..24u8 {
            let mut r = Record::put(
                tables::GOSSIP_TOPIC,
                vec![b'a' + i % 26; 1 + usize::from(i)],
                vec![i; usize::from(i) * 7],
            );
            if i % 3 == 0 {
                r.expires = Some(WallTime::from_unix_millis(1_800_000_000_000 + u64::from(i)));
            }
            batch.push(Write::Record(r));
        }
        s.write(&batch).expect("write");
        drop(s);
        let bytes = std::fs::read(d.join(STORE_FILE)).expect("read the store file");
        let _ = std::fs::remove_dir_all(&d);
        bytes
    })
}

fuzz_target!(|edits: Vec<Edit>| {
    let mut bytes = genuine().clone();
    for e in edits.into_iter().take(16) {
        match e {
            Edit::Flip { at, mask } if !bytes.is_empty() => {
                let i = at as usize % bytes.len();
                bytes[i] ^= mask;
            }
            Edit::Write { at, bytes: b } if !bytes.is_empty() => {
                let i = at as usize % bytes.len();
                let n = b.len().min(bytes.len() - i);
                bytes[i..i + n].copy_from_slice(&b[..n]);
            }
            Edit::Truncate(n) => bytes.truncate(n as usize % (bytes.len() + 1)),
            _ => {}
        }
    }
    let d = dir();
    std::fs::create_dir_all(&d).expect("store dir");
    std::fs::write(d.join(STORE_FILE), &bytes).expect("write the store file");
    // redb panics on some damaged files and `RedbStore::open` and `load` turn that into an
    // error, but libFuzzer's panic hook aborts before anything unwinds: a quiet hook stands in
    // during them (a panic they do not catch still aborts the run).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let loaded = RedbStore::open(&d).and_then(|s| s.load());
    std::panic::set_hook(hook);
    if let Ok(restored) = loaded {
        let now = Now::new(
            Instant::from_secs(1),
            WallTime::from_unix_millis(1_800_000_000_000),
        );
        if let Ok(mut a) = Agent::new(
            Keypair::from_seed([1; 32]),
            AgentConfig::seeded([2; 32]),
            now,
        ) {
            let _ = a.restore(now, restored.records.clone());
        }
    }
    let _ = std::fs::remove_dir_all(&d);
});
