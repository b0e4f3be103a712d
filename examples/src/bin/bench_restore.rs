//! Restart cost of a node whose store is full: how long a restart takes, and how much it reads,
//! when the gossip tables are at their bounds.
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin bench_restore -- --json
//! ```
//!
//! The store holds no more than the engines hold (what they evict is deleted from it), so a
//! restart reads at most what the engines' bounds allow. This fills an `Agent`'s header table to
//! `max_headers` (default 65 536: 1 024 authors × 64 entries, the per-author cap, in one topic)
//! through its real receive path, applies every `Persist` it asks for to a `RedbStore` in a
//! temporary directory (one batch per 256 frames, as the `Node` does under a flood), then
//! measures, each repeated `--reps` times (median reported):
//!
//! - `load_ms`: `RedbStore::load` (every record into memory);
//! - `restore_ms`: `Agent::new` plus `Agent::restore` of those records (every header and
//!   identity entry verified again);
//! - `records`, `store_bytes` (the database file), `record_bytes` (keys plus values loaded),
//!   and the process's peak resident memory (`VmHWM`, Linux only).
//!
//! Flags: `--json`, `--authors N` (default 1 024), `--per-author N` (default 64, at most the
//! per-author cap), `--reps N` (default 3). Progress on stderr.

use agentnet_examples::report::median;
use std::time::Instant as WallClock;

use agentnet_core::descriptor::Topic;
use agentnet_core::effect::Effect;
use agentnet_core::time::{Instant, Now, WallTime};
use agentnet_core::{Engine, Hash, Keypair, LinkId, Signed};
use agentnet_gossip::header::{EntryKind, LogHeader};
use agentnet_transport::agent::{Agent, AgentConfig};
use agentnet_transport::store::{RedbStore, Store, Write};
use bytes::Bytes;

struct Args {
    json: bool,
    authors: u32,
    per_author: u64,
    reps: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        json: false,
        authors: 1024,
        per_author: 64,
        reps: 3,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut num = |name: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a number"))
        };
        match flag.as_str() {
            "--json" => a.json = true,
            "--authors" => a.authors = num("--authors") as u32,
            "--per-author" => a.per_author = num("--per-author"),
            "--reps" => a.reps = num("--reps").max(1) as usize,
            other => panic!("unknown flag {other} (see the file's docs)"),
        }
    }
    a
}

fn now() -> Now {
    Now::new(
        Instant::from_secs(1),
        WallTime::from_unix_millis(1_800_000_000_000),
    )
}

fn config() -> AgentConfig {
    let mut c = AgentConfig::seeded([5; 32]);
    // One link delivers the whole table as fast as it can: no rate limit in the way.
    c.gossip.link_rate = 1_000_000;
    c.gossip.link_burst = 1_000_000;
    c.gossip.verify_rate = 1_000_000;
    c.gossip.verify_burst = 1_000_000;
    c.gossip.author_rate = 10_000;
    c.gossip.author_burst = 100_000;
    c
}

/// Run the agent's effects: persist into `store` (acknowledged once written).
fn apply(agent: &mut Agent, store: &mut RedbStore) {
    while agent.poll_transmit().is_some() || agent.poll_event().is_some() {}
    let mut batch = Vec::new();
    let mut ids = Vec::new();
    while let Some(e) = agent.poll_effect() {
        if let Effect::Persist { id, records } = e {
            ids.push(id);
            batch.extend(records.into_iter().map(Write::Record));
        }
    }
    if !ids.is_empty() {
        store.write(&batch).expect("store write");
        for id in ids {
            let _ = agent.handle_persisted(now(), id);
        }
    }
}

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let args = parse_args();
    let dir = tempfile::tempdir().expect("temporary directory");
    let topic = Topic::new("creative/image").expect("topic");
    let mut agent = Agent::new(Keypair::from_seed([5; 32]), config(), now()).expect("agent");
    agent.subscribe(now(), topic.clone()).expect("subscribe");
    agent.handle_link_up(now(), LinkId(1));
    let mut store = RedbStore::open(dir.path()).expect("store");
    apply(&mut agent, &mut store);

    eprintln!(
        "filling: {} authors x {} entries",
        args.authors, args.per_author
    );
    let mut frames = 0usize;
    for a in 0..args.authors {
        let mut seed = [11u8; 32];
        seed[..4].copy_from_slice(&a.to_be_bytes());
        let kp = Keypair::from_seed(seed);
        let mut prev: Option<Hash> = None;
        for seq in 1..=args.per_author {
            let h = LogHeader {
                author: kp.id(),
                topic: topic.clone(),
                seq,
                prev,
                kind: EntryKind::DESCRIPTOR,
                body_hash: agentnet_gossip::wire::body_hash(&seq.to_be_bytes()),
                body_len: 8,
                issued_at: now().wall,
                ttl_ms: 3_600_000,
                sketch: None,
            };
            let signed = Signed::sign(&kp, h).expect("sign");
            prev = Some(signed.hash());
            let _ = agent.handle_message(now(), LinkId(1), signed.to_frame());
            frames += 1;
            if frames.is_multiple_of(256) {
                apply(&mut agent, &mut store);
            }
        }
        if a % 128 == 127 {
            eprintln!(
                "  {} authors, {} headers held",
                a + 1,
                agent.gossip().header_count()
            );
        }
    }
    apply(&mut agent, &mut store);
    let held = agent.gossip().header_count();
    drop(agent);
    drop(store);
    let store_bytes = std::fs::metadata(dir.path().join("agentnet.redb"))
        .map(|m| m.len())
        .unwrap_or(0);

    let (mut load_ms, mut restore_ms) = (Vec::new(), Vec::new());
    let (mut records, mut record_bytes, mut restored, mut refused) = (0, 0, 0, 0);
    let mut restored_headers = 0;
    for rep in 0..args.reps {
        eprintln!("restart {}/{}", rep + 1, args.reps);
        let store = RedbStore::open(dir.path()).expect("store");
        let t = WallClock::now();
        let mut loaded = store.load().expect("load");
        load_ms.push(t.elapsed().as_secs_f64() * 1e3);
        records = loaded.records.len();
        record_bytes = loaded
            .records
            .iter()
            .map(|r| r.key.len() + r.value.as_ref().map_or(0, Bytes::len))
            .sum::<usize>();
        let t = WallClock::now();
        // The restarted node runs the defaults: restore must not be held to the rate
        // limits that guard the wire.
        let cfg = AgentConfig::seeded([5; 32]);
        let mut agent = Agent::new(Keypair::from_seed([5; 32]), cfg, now()).expect("agent");
        let report = agent.restore(now(), std::mem::take(&mut loaded.records));
        restore_ms.push(t.elapsed().as_secs_f64() * 1e3);
        restored = report.restored;
        refused = report.refused;
        restored_headers = agent.gossip().header_count();
    }
    let out = serde_json::json!({
        "frames_offered": frames,
        "headers_held": held,
        "headers_after_restore": restored_headers,
        "records": records,
        "record_bytes": record_bytes,
        "store_bytes": store_bytes,
        "restored": restored,
        "refused": refused,
        "load_ms": median(&load_ms),
        "restore_ms": median(&restore_ms),
        "peak_rss_kib": vm_hwm_kib(),
    });
    if args.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out).expect("json"));
    }
}
