//! The records an `Agent` persisted, fed back to `Agent::restore` after a fuzzer edit: genuine
//! records (collected once from an agent that subscribed, served a capability and ran for a
//! while) kept, dropped, duplicated, moved to another table, truncated, bit-flipped or replaced
//! by arbitrary bytes, plus arbitrary records. Never a panic; the untouched export restores
//! with nothing refused; and the restored agent keeps working (links, timers, a new
//! announcement).
#![no_main]

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Duration;

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::{Effect, Engine, Instant, Keypair, LinkId, Now, Record, WallTime};
use agentnet_transport::agent::{Agent, AgentConfig, ServePolicy, tables};
use bytes::Bytes;
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

const TABLES: [&str; 13] = [
    tables::GOSSIP_TOPIC,
    tables::GOSSIP_HEAD,
    tables::GOSSIP_HEADER,
    tables::GOSSIP_DESCRIPTOR,
    tables::IDENTITY_ENTRY,
    tables::LEDGER_ROW,
    tables::FRAUD_PROOF,
    tables::SESSION,
    tables::JOB,
    tables::OWN_ATTESTATION,
    tables::REPORTS,
    tables::SELECTION_OBSERVED,
    "no.such.table",
];

#[derive(Arbitrary, Debug)]
enum Edit {
    Keep(u8),
    Table(u8, u8),
    Truncate(u8, u16),
    Flip(u8, u16, u8),
    Replace(u8, Vec<u8>),
    Key(u8, Vec<u8>),
    New {
        table: u8,
        key: Vec<u8>,
        value: Vec<u8>,
    },
}

fn start() -> Now {
    Now::new(
        Instant::from_secs(1),
        WallTime::from_unix_millis(1_800_000_000_000),
    )
}

fn fresh(now: Now) -> Agent {
    Agent::new(
        Keypair::from_seed([1; 32]),
        AgentConfig::seeded([2; 32]),
        now,
    )
    .expect("agent")
}

fn descriptor(agent: &Agent, now: Now, cap: &str) -> CapabilityDescriptor {
    CapabilityDescriptor::builder(agent.id(), cap, "fuzz/store", "store fuzzing")
        .ttl(Duration::from_secs(600))
        .build(now)
        .expect("descriptor")
}

/// Run effects: persist into `out`, acknowledge, fail everything else.
fn pump(agent: &mut Agent, now: Now, out: &mut Vec<Record>) {
    for _ in 0..32 {
        let mut any = false;
        while agent.poll_transmit().is_some() {}
        while agent.poll_event().is_some() {}
        while let Some(e) = agent.poll_effect() {
            any = true;
            match e {
                Effect::Persist { id, records } => {
                    out.extend(records);
                    let _ = agent.handle_persisted(now, id);
                }
                Effect::Llm { id, .. } => {
                    let _ = agent.handle_llm_failure(now, id, "no model");
                }
                _ => {}
            }
        }
        if !any {
            return;
        }
    }
}

fn genuine() -> &'static Vec<Record> {
    static RECORDS: OnceLock<Vec<Record>> = OnceLock::new();
    RECORDS.get_or_init(|| {
        let mut now = start();
        let mut a = fresh(now);
        let mut out = Vec::new();
        a.subscribe(now, Topic::new("fuzz/other").unwrap())
            .expect("subscribe");
        let d = descriptor(&a, now, "store.one");
        a.serve(now, d, ServePolicy::default()).expect("serve");
        a.handle_link_up(now, LinkId(1));
        for _ in 0..20 {
            now = now.advance(Duration::from_millis(500));
            a.handle_timeout(now);
            pump(&mut a, now, &mut out);
        }
        // The last write of a key wins, as in a store.
        let mut latest = std::collections::BTreeMap::new();
        for r in out {
            latest.insert((r.table.to_string(), r.key.clone()), r);
        }
        let records: Vec<Record> = latest.into_values().filter(|r| r.value.is_some()).collect();
        let mut check = fresh(start());
        let report = check.restore(start(), records.clone());
        assert_eq!(
            report.refused, 0,
            "the genuine export is refused: {:?}",
            report.reasons
        );
        records
    })
}

fuzz_target!(|edits: Vec<Edit>| {
    let base = genuine();
    let pick = |i: u8| base[usize::from(i) % base.len()].clone();
    let mut records = Vec::new();
    for edit in edits.into_iter().take(64) {
        let r = match edit {
            Edit::Keep(i) => pick(i),
            Edit::Table(i, t) => Record {
                table: Cow::Borrowed(TABLES[usize::from(t) % TABLES.len()]),
                ..pick(i)
            },
            Edit::Truncate(i, n) => {
                let mut r = pick(i);
                r.value = r.value.map(|v| v.slice(..usize::from(n).min(v.len())));
                r
            }
            Edit::Flip(i, at, x) => {
                let mut r = pick(i);
                r.value = r.value.map(|v| {
                    let mut b = v.to_vec();
                    if !b.is_empty() {
                        let j = usize::from(at) % b.len();
                        b[j] ^= x | 1;
                    }
                    Bytes::from(b)
                });
                r
            }
            Edit::Replace(i, v) => Record {
                value: Some(Bytes::from(v)),
                ..pick(i)
            },
            Edit::Key(i, k) => Record {
                key: Bytes::from(k),
                ..pick(i)
            },
            Edit::New { table, key, value } => Record {
                table: Cow::Borrowed(TABLES[usize::from(table) % TABLES.len()]),
                key: Bytes::from(key),
                value: Some(Bytes::from(value)),
                expires: None,
            },
        };
        records.push(r);
    }
    let mut now = start();
    let mut a = fresh(now);
    let _ = a.restore(now, records);
    let mut sink = Vec::new();
    pump(&mut a, now, &mut sink);
    a.handle_link_up(now, LinkId(1));
    for _ in 0..4 {
        now = now.advance(Duration::from_millis(700));
        a.handle_timeout(now);
        pump(&mut a, now, &mut sink);
    }
    // Still able to announce (a corrupt own log may make it refuse with an error, not panic).
    let d = descriptor(&a, now, "store.two");
    let _ = a.announce(now, d);
    pump(&mut a, now, &mut sink);
    a.handle_link_down(now, LinkId(1));
});
