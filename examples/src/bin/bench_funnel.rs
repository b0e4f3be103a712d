//! Task funnel throughput: completed tasks per second through whole production agents in the
//! simulator, at each verification tier, and the share of that time spent checking Ed25519
//! signatures.
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin bench_funnel -- [--json] [--tasks N]
//!     [--input-bytes B] [--providers P] [--concurrency C]
//! ```
//!
//! # Setup (one fresh world per tier and repetition)
//!
//! `Sim<SimHost>`: the production [`Agent`] (every plane, no I/O) with the simulator's host.
//! One requester and `--providers` honest providers (default 4) serving one capability whose
//! handler upper-cases its input, fully connected, zero loss, constant 10 ms links, the
//! simulator's trace hash off. Warm-up: 3 virtual seconds (link handshakes, identity chains,
//! descriptors arrive; the requester must see every provider), then `--concurrency` tasks that
//! are not measured. Then `--tasks` tasks (default 300) of `--input-bytes` (default 1 KiB)
//! each, with up to `--concurrency` requests in flight (default 16; the agent's own bound,
//! `FunnelConfig::max_requests`, is raised to it if smaller): a new request starts as soon as
//! one completes. Each result is
//! checked against the upper-cased input.
//!
//! - **tier 1**: `Tier::Reputation` (the reputation gate, the signed session, sealed chunked
//!   payloads, the result checked against its signed hash);
//! - **tier 2**: `Tier::Canary` with one fresh canary per request (of the same size as the
//!   input), so every attempt runs two sessions, the canary and the real task, interleaved;
//! - **tier 3**: `Tier::Evidence`: the provider signs a receipt chain and an evidence package,
//!   the requester verifies it.
//!
//! `seconds` is host wall time (`std::time::Instant`) of the measured loop only. Every agent
//! (requester and providers) runs in this one thread, so it is the whole network's time per
//! task, including background work during the run (gossip refreshes, trust reports,
//! reputation rounds).
//!
//! The three tiers alternate for `--reps` repetitions (default 5), so that background load on
//! a shared machine hits all of them alike; each figure reported is the median over the
//! repetitions (per-repetition values are in `per_rep`).
//!
//! # Signature share: how it is measured
//!
//! The agent is sans-IO and reads no clock, so verification time is not timed in place.
//! Instead it is counted and priced:
//!
//! 1. **Count.** This binary needs the `count-verifications` feature of `agentnet-core`
//!    (enabled by this package's default feature of the same name), which counts, process-wide,
//!    every strict single verification (`AgentId::verify`, `KeyCache::verify`), every signature
//!    inside a batch equation (`verify_batch*`), every public-key decompression and the signed
//!    bytes. The counters are read before and after the measured loop; everything between is
//!    the tier's tasks (and the background work that ran while they did).
//! 2. **Price.** Right after each measured run, a timing loop of `--verify-iters` calls on
//!    this machine measures, for a message of the run's mean signed length and the same domain
//!    separation: a strict verification with the key already decompressed (`KeyCache::verify`,
//!    warm), a key decompression with its validity checks (`AgentId::verifying_key`) and, if the
//!    run used batches, a batch of the run's mean batch size (`verify_batch_cached`, per
//!    signature).
//! 3. **Share.** `signature_seconds = single × verify + batched × batch_per_signature +
//!    decompressions × decompress`, and `signature_share = signature_seconds / seconds`, per
//!    repetition; the median is reported.
//!
//! `verifications_per_task` counts signatures (single + batched) over every agent in the
//! network per completed task. The timing loop runs with hot caches (same key, same message),
//! so in-situ verifications may cost slightly more than priced: the share is a close lower
//! estimate. Signing (about a third of a verification each) is not counted.
//!
//! # Output
//!
//! Progress goes to stderr. With `--json`, stdout gets only one JSON object: `tier1`, `tier2`,
//! `tier3` (each with `tasks` per repetition, median `seconds`, `tasks_per_sec`,
//! `verifications_per_task`, `signature_share`, then the counts per task, the prices, the
//! simulator's totals per task and the per-repetition values), `machine` and `config`;
//! without it, a short table.

use agentnet_examples::report::median;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant as WallClock};

use agentnet_core::descriptor::{CapabilityDescriptor, Topic};
use agentnet_core::identity::{
    AgentId, BatchItem, KeyCache, Keypair, VerificationCounts, verification_counts,
    verify_batch_cached,
};
use agentnet_core::sim::{NodeId, Sim, SimConfig};
use agentnet_core::{RequestId, Signature};
use agentnet_gossip::{InterestProfile, Requirements};
use agentnet_mech::mechanism::Tier;
use agentnet_transport::agent::sim::SimHost;
use agentnet_transport::agent::{
    Agent, AgentConfig, AgentError, AgentEvent, CanaryCase, Executed, ServePolicy, TaskRequest,
};
use bytes::Bytes;
use clap::Parser;
use serde_json::{Value, json};

const TOPIC: &str = "text/style";
const CAPABILITY: &str = "text.shout";
const INTENT: &str = "make my text loud";
/// A run that makes no progress for this long (virtual time) is stuck.
const STALL: Duration = Duration::from_secs(120);

/// Completed tasks per second through `Sim<SimHost>` at tiers 1-3, and the share of wall time
/// spent in Ed25519 verification (see the source's doc comment for the method).
#[derive(Parser, Debug, Clone)]
#[command(
    version,
    about = "Completed tasks per second through whole agents in the simulator at tiers 1-3, \
             and the share of wall time spent verifying Ed25519 signatures (see the source's \
             doc comment for the method)"
)]
struct Args {
    /// Print one JSON object on stdout (otherwise a short table).
    #[arg(long)]
    json: bool,
    /// Measured tasks per tier and repetition.
    #[arg(long, default_value_t = 300)]
    tasks: usize,
    /// Bytes of task input (and of each canary).
    #[arg(long, default_value_t = 1024)]
    input_bytes: usize,
    /// Honest providers.
    #[arg(long, default_value_t = 4)]
    providers: usize,
    /// Requests in flight at once (the requester's `FunnelConfig::max_requests`, default 64,
    /// is raised to this if smaller).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Calls per verification timing loop (one loop after each measured run).
    #[arg(long, default_value_t = 2000)]
    verify_iters: u32,
    /// Repetitions of each tier, each in a fresh world (tiers alternate; medians reported).
    #[arg(long, default_value_t = 5)]
    reps: usize,
    /// Simulator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn seed_of(n: usize, run: u64) -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..8].copy_from_slice(&(n as u64 + 1).to_le_bytes());
    s[8..16].copy_from_slice(&run.to_le_bytes());
    s[31] = 0xf0;
    s
}

/// A fresh network: node 0 requests, the others serve, all connected, warmed up.
fn world(args: &Args, run: u64) -> (Sim<SimHost>, NodeId) {
    let mut sim = Sim::new(SimConfig {
        trace: false,
        ..SimConfig::seeded(args.seed.wrapping_add(run))
    });
    let now = sim.now();
    let mut ids = Vec::new();
    for n in 0..=args.providers {
        let s = seed_of(n, run);
        let mut config = AgentConfig::seeded(s);
        config.funnel.max_requests = config.funnel.max_requests.max(args.concurrency);
        let agent = Agent::new(Keypair::from_seed(s), config, now).expect("valid config");
        let id = if n == 0 {
            let id = sim.add_node(SimHost::new(agent, None));
            sim.command(id, |h, now| {
                h.agent_mut().set_interest(InterestProfile::everything());
                h.agent_mut()
                    .subscribe(now, Topic::new(TOPIC).expect("topic"))
            })
            .expect("up")
            .expect("subscribe");
            id
        } else {
            let upper = Box::new(|_: &_, input: &Bytes| Executed::Done {
                result: Bytes::from(input.to_ascii_uppercase()),
                tools: Vec::new(),
            });
            let id = sim.add_node(SimHost::new(agent, Some(upper)));
            let offer = CapabilityDescriptor::builder(
                Keypair::from_seed(s).id(),
                CAPABILITY,
                TOPIC,
                "Rewrite text in capitals, loud and clear",
            )
            .ttl(Duration::from_secs(3600))
            .build(now)
            .expect("descriptor");
            sim.command(id, |h, now| {
                h.agent_mut().serve(now, offer, ServePolicy::default())
            })
            .expect("up")
            .expect("serve");
            id
        };
        ids.push(id);
    }
    for a in 0..ids.len() {
        for b in a + 1..ids.len() {
            sim.connect(ids[a], ids[b]);
        }
    }
    sim.run_for(Duration::from_secs(3));
    let requester = ids[0];
    let host = sim.engine(requester).expect("up");
    let seen = host
        .agent()
        .discover(sim.now(), INTENT, &Requirements::default(), 64)
        .len();
    let routes = host.agent().peers().count();
    assert!(
        seen == args.providers && routes == args.providers,
        "warm-up incomplete: {seen} descriptors, {routes} verified peers, {} providers",
        args.providers
    );
    sim.drain_events();
    (sim, requester)
}

/// Deterministic lowercase text of `len` bytes for task `i` of stream `salt`.
fn text(len: usize, i: usize, salt: u64) -> Bytes {
    let mut x = (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt;
    let mut v = Vec::with_capacity(len);
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.push(b'a' + (x % 26) as u8);
    }
    Bytes::from(v)
}

fn task(tier: Tier, i: usize, input_bytes: usize) -> TaskRequest {
    let t = TaskRequest::new(INTENT, text(input_bytes, i, 1)).tier(tier);
    if tier == Tier::Canary {
        let input = text(input_bytes, i, 2);
        let expected = Bytes::from(input.to_ascii_uppercase());
        t.canaries(vec![CanaryCase::new(input, expected)])
    } else {
        t
    }
}

#[derive(Default)]
struct Run {
    tasks: usize,
    failed: usize,
    fallbacks: usize,
    seconds: f64,
    virtual_seconds: f64,
    sim_steps: u64,
    frames: u64,
    frame_bytes: u64,
    counts: VerificationCounts,
}

/// `n` tasks at `tier`, up to `concurrency` in flight; `first` numbers the inputs.
fn drive(
    sim: &mut Sim<SimHost>,
    requester: NodeId,
    tier: Tier,
    first: usize,
    n: usize,
    args: &Args,
) -> Run {
    let (steps0, v0) = (sim.steps(), sim.now().mono);
    let (frames0, bytes0) = (
        sim.metrics().total.delivered,
        sim.metrics().total.bytes_delivered,
    );
    let c0 = verification_counts();
    let t0 = WallClock::now();
    let mut run = Run::default();
    let mut expected: BTreeMap<RequestId, Bytes> = BTreeMap::new();
    let mut started = 0;
    let mut last_progress = sim.now().mono;
    while run.tasks + run.failed < n {
        while started < n && expected.len() < args.concurrency {
            let t = task(tier, first + started, args.input_bytes);
            let want = Bytes::from(t.input.to_ascii_uppercase());
            match sim.command(requester, |h, now| h.agent_mut().request(now, t)) {
                Some(Ok(id)) => {
                    expected.insert(id, want);
                    started += 1;
                }
                Some(Err(AgentError::TooManyRequests(_))) => break,
                other => panic!("request refused: {other:?}"),
            }
        }
        assert!(
            sim.step(),
            "the simulator went idle with requests in flight"
        );
        if !sim.events().is_empty() {
            for (_, node, e) in sim.drain_events() {
                let AgentEvent::Completed(o) = e else {
                    continue;
                };
                if node != requester {
                    continue;
                }
                let want = expected.remove(&o.request).expect("a request of ours");
                match &o.result {
                    Ok(r) if *r == want => run.tasks += 1,
                    _ => run.failed += 1,
                }
                run.fallbacks += o.fallback_count();
                last_progress = sim.now().mono;
            }
        }
        assert!(
            sim.now().mono - last_progress < STALL,
            "no request completed for {STALL:?} of virtual time"
        );
    }
    run.seconds = t0.elapsed().as_secs_f64();
    run.counts = verification_counts().since(&c0);
    run.virtual_seconds = (sim.now().mono - v0).as_secs_f64();
    run.sim_steps = sim.steps() - steps0;
    run.frames = sim.metrics().total.delivered - frames0;
    run.frame_bytes = sim.metrics().total.bytes_delivered - bytes0;
    run
}

/// Prices of the counted operations on this machine, in seconds each.
#[derive(Clone, Copy, Debug)]
struct Prices {
    verify: f64,
    decompress: f64,
    batch_per_signature: f64,
    batch_size: usize,
}

/// One round of the verification timing loop: messages of `len` signed bytes, batches of
/// `batch_size` (below 2: no batches to price).
fn prices(len: usize, batch_size: usize, iters: u32) -> Prices {
    const CONTEXT: &str = "agentnet/bench/funnel";
    let iters = iters.max(1);
    let keys: Vec<Keypair> = (0..batch_size.max(1))
        .map(|i| Keypair::from_seed([i as u8 + 1; 32]))
        .collect();
    let ids: Vec<AgentId> = keys.iter().map(Keypair::id).collect();
    let msgs: Vec<Vec<u8>> = (0..keys.len()).map(|i| text(len, i, 3).to_vec()).collect();
    let sigs: Vec<Signature> = keys
        .iter()
        .zip(&msgs)
        .map(|(k, m)| k.sign_bytes(CONTEXT, m))
        .collect();
    let items: Vec<BatchItem<'_>> = (0..keys.len())
        .map(|i| BatchItem {
            signer: &ids[i],
            context: CONTEXT,
            bytes: &msgs[i],
            signature: &sigs[i],
        })
        .collect();
    let mut cache = KeyCache::default();
    cache.get(&ids[0]).expect("valid");
    let t = WallClock::now();
    for _ in 0..iters {
        cache
            .verify(black_box(&ids[0]), CONTEXT, black_box(&msgs[0]), &sigs[0])
            .expect("valid");
    }
    let verify = t.elapsed().as_secs_f64() / f64::from(iters);
    let t = WallClock::now();
    for _ in 0..iters {
        black_box(black_box(&ids[0]).verifying_key().expect("valid"));
    }
    let decompress = t.elapsed().as_secs_f64() / f64::from(iters);
    let mut batch_per_signature = 0.0;
    if batch_size >= 2 {
        let rounds = (iters as usize / batch_size).max(1);
        let t = WallClock::now();
        for _ in 0..rounds {
            verify_batch_cached(black_box(&items), &mut cache).expect("valid");
        }
        batch_per_signature = t.elapsed().as_secs_f64() / (rounds * batch_size) as f64;
    }
    Prices {
        verify,
        decompress,
        batch_per_signature,
        batch_size,
    }
}

/// One repetition of one tier: the measured run and the prices taken right after it.
struct Rep {
    run: Run,
    prices: Prices,
}

impl Rep {
    /// Priced verification time of the run (seconds).
    fn signature_seconds(&self) -> f64 {
        let (c, p) = (&self.run.counts, &self.prices);
        c.single as f64 * p.verify
            + c.batched as f64 * p.batch_per_signature
            + c.key_decompressions as f64 * p.decompress
    }

    fn share(&self) -> f64 {
        self.signature_seconds() / self.run.seconds
    }

    fn tasks_per_sec(&self) -> f64 {
        self.run.tasks as f64 / self.run.seconds
    }
}

fn report(name: &str, reps: &[Rep]) -> Value {
    let med = |f: &dyn Fn(&Rep) -> f64| median(&reps.iter().map(f).collect::<Vec<_>>());
    let sum = |f: &dyn Fn(&Run) -> u64| reps.iter().map(|r| f(&r.run)).sum::<u64>();
    let tasks: u64 = sum(&|r| r.tasks as u64);
    let per_task = |x: u64| x as f64 / tasks.max(1) as f64;
    let counts = reps
        .iter()
        .fold(VerificationCounts::default(), |a, r| VerificationCounts {
            single: a.single + r.run.counts.single,
            batched: a.batched + r.run.counts.batched,
            batches: a.batches + r.run.counts.batches,
            key_decompressions: a.key_decompressions + r.run.counts.key_decompressions,
            bytes: a.bytes + r.run.counts.bytes,
        });
    let (tps, share, seconds) = (
        med(&|r| r.tasks_per_sec()),
        med(&|r| r.share()),
        med(&|r| r.run.seconds),
    );
    let (verify, decompress, batch) = (
        med(&|r| r.prices.verify),
        med(&|r| r.prices.decompress),
        med(&|r| r.prices.batch_per_signature),
    );
    eprintln!(
        "{name}: median {tps:.0} tasks/s; {:.2} verifications/task ({} batched), {:.2} key \
         decompressions/task; verify {:.1} µs, decompress {:.1} µs; signature share {:.1} %",
        per_task(counts.signatures()),
        counts.batched,
        per_task(counts.key_decompressions),
        verify * 1e6,
        decompress * 1e6,
        share * 100.0
    );
    json!({
        "tasks": reps.first().map_or(0, |r| r.run.tasks),
        "seconds": seconds,
        "tasks_per_sec": tps,
        "verifications_per_task": per_task(counts.signatures()),
        "signature_share": share,
        "reps": reps.len(),
        "failed": sum(&|r| r.failed as u64),
        "fallbacks": sum(&|r| r.fallbacks as u64),
        "per_rep": {
            "seconds": reps.iter().map(|r| r.run.seconds).collect::<Vec<_>>(),
            "tasks_per_sec": reps.iter().map(Rep::tasks_per_sec).collect::<Vec<_>>(),
            "signature_share": reps.iter().map(Rep::share).collect::<Vec<_>>(),
            "signature_seconds": reps.iter().map(Rep::signature_seconds).collect::<Vec<_>>(),
        },
        "counts_per_task": {
            "single": per_task(counts.single),
            "batched": per_task(counts.batched),
            "batches": per_task(counts.batches),
            "key_decompressions": per_task(counts.key_decompressions),
            "mean_signed_bytes": counts.bytes as f64 / counts.signatures().max(1) as f64,
        },
        "prices_us": {
            "verify_strict_cached_key": verify * 1e6,
            "key_decompression": decompress * 1e6,
            "batch_per_signature": batch * 1e6,
            "batch_size": reps.iter().map(|r| r.prices.batch_size).max(),
        },
        "sim_per_task": {
            "virtual_seconds": reps.iter().map(|r| r.run.virtual_seconds).sum::<f64>()
                / tasks.max(1) as f64,
            "steps": per_task(sum(&|r| r.sim_steps)),
            "frames": per_task(sum(&|r| r.frames)),
            "frame_bytes": per_task(sum(&|r| r.frame_bytes)),
        },
    })
}

fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|m| m.trim().to_string())
    });
    json!({
        "cpu": cpu,
        "cores": std::thread::available_parallelism().map_or(1, |c| c.get()),
        "threads_used": 1,
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "optimized": !cfg!(debug_assertions),
    })
}

fn main() {
    let args = Args::parse();
    assert!(args.tasks > 0, "--tasks must be at least 1");
    assert!(
        (1..=4096).contains(&args.concurrency),
        "--concurrency must be in 1..=4096"
    );
    assert!(args.providers > 0, "--providers must be at least 1");
    if cfg!(debug_assertions) {
        eprintln!("warning: debug build; use --release for meaningful numbers");
    }
    eprintln!(
        "{} providers, {} tasks per tier of {} bytes, {} in flight",
        args.providers, args.tasks, args.input_bytes, args.concurrency
    );
    const TIERS: [(&str, Tier); 3] = [
        ("tier1", Tier::Reputation),
        ("tier2", Tier::Canary),
        ("tier3", Tier::Evidence),
    ];
    let reps = args.reps.max(1);
    let mut results: Vec<Vec<Rep>> = TIERS.iter().map(|_| Vec::new()).collect();
    for rep in 0..reps {
        for (i, (name, tier)) in TIERS.into_iter().enumerate() {
            let (mut sim, requester) = world(&args, (rep * TIERS.len() + i) as u64);
            let warm = drive(&mut sim, requester, tier, 0, args.concurrency, &args);
            assert_eq!(warm.failed, 0, "{name}: warm-up tasks failed");
            let run = drive(
                &mut sim,
                requester,
                tier,
                args.concurrency,
                args.tasks,
                &args,
            );
            drop(sim);
            let c = &run.counts;
            let len = (c.bytes as f64 / c.signatures().max(1) as f64).round() as usize;
            let batch = if c.batches > 0 {
                (c.batched as f64 / c.batches as f64).round() as usize
            } else {
                0
            };
            let prices = prices(len, batch, args.verify_iters);
            let r = Rep { run, prices };
            eprintln!(
                "rep {}/{reps} {name}: {} tasks in {:.3} s = {:.0} tasks/s, {:.2} \
                 verifications/task, signature share {:.1} %",
                rep + 1,
                r.run.tasks,
                r.run.seconds,
                r.tasks_per_sec(),
                r.run.counts.signatures() as f64 / r.run.tasks.max(1) as f64,
                r.share() * 100.0
            );
            results[i].push(r);
        }
    }
    let mut out = serde_json::Map::new();
    for ((name, _), reps) in TIERS.iter().zip(&results) {
        out.insert(name.to_string(), report(name, reps));
    }
    out.insert("machine".to_string(), machine());
    out.insert(
        "config".to_string(),
        json!({
            "providers": args.providers,
            "input_bytes": args.input_bytes,
            "concurrency": args.concurrency,
            "tasks_per_rep": args.tasks,
            "reps": reps,
            "verify_iters": args.verify_iters,
            "link": "constant 10 ms, no loss",
            "exec_delay_ms": 20,
            "seed": args.seed,
        }),
    );
    let out = Value::Object(out);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out).expect("serialise"));
    } else {
        println!("tier   tasks  seconds  tasks/s  verifications/task  signature share");
        for name in ["tier1", "tier2", "tier3"] {
            let t = &out[name];
            println!(
                "{name}  {:>6}  {:>7.2}  {:>7.0}  {:>18.1}  {:>14.1} %",
                t["tasks"],
                t["seconds"].as_f64().unwrap_or(0.0),
                t["tasks_per_sec"].as_f64().unwrap_or(0.0),
                t["verifications_per_task"].as_f64().unwrap_or(0.0),
                t["signature_share"].as_f64().unwrap_or(0.0) * 100.0
            );
        }
    }
}
