//! Simulator kernel benchmark.
//!
//! ```text
//! cargo run --release -p agentnet-examples --bin bench_sim -- --json
//! ```
//!
//! Measures, in one run:
//!
//! 1. **Hold model** at 10^5 pending events (pop the earliest, push it back at a later time) on
//!    `agentnet_core::sim::EventQueue` and on a bare `BinaryHeap<Reverse<(u64, u64, u32)>>`
//!    with identical seeded workloads, alternating repetitions; reports ops/s of each and
//!    `ratio = queue / heap`.
//! 2. **Scale**: N trivial engines (default 100,000) on a sparse random graph, each with a
//!    periodic timer that sends a small frame to one neighbour, run for some virtual seconds:
//!    setup and run wall time, events/s, and peak resident memory (`VmHWM`).
//!
//! Flags: `--json` (JSON on stdout), `--engines N`, `--virtual-secs S`, `--reps R`,
//! `--ops N`, `--pending N`. Progress goes to stderr.

use agentnet_examples::report::median;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use agentnet_core::sim::{EventQueue, LinkModel, NodeId, Sim, SimConfig, SimRng, Ticker};

struct Args {
    json: bool,
    engines: u32,
    virtual_secs: u64,
    reps: usize,
    ops: usize,
    pending: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        json: false,
        engines: 100_000,
        virtual_secs: 10,
        reps: 5,
        ops: 5_000_000,
        pending: 100_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = |name: &str| -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} needs a non-negative integer"))
        };
        match flag.as_str() {
            "--json" => a.json = true,
            "--engines" => a.engines = value("--engines") as u32,
            "--virtual-secs" => a.virtual_secs = value("--virtual-secs"),
            "--reps" => a.reps = value("--reps").max(1) as usize,
            "--ops" => a.ops = value("--ops") as usize,
            "--pending" => a.pending = value("--pending") as usize,
            "--help" | "-h" => {
                eprintln!(
                    "bench_sim [--json] [--engines N] [--virtual-secs S] [--reps R] [--ops N] [--pending N]"
                );
                std::process::exit(0);
            }
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

// ----- hold model -----

/// Seeded time increments (µs), exponential with mean 1 ms, at least 1. Both queues read the
/// same table in the same order.
fn increments(n: usize) -> Vec<u64> {
    let mut rng = SimRng::from_seed([42; 32]);
    (0..n)
        .map(|_| rng.exponential(1_000.0) as u64 + 1)
        .collect()
}

const INC_MASK: usize = (1 << 20) - 1;

fn hold_queue(pending: usize, ops: usize, incs: &[u64]) -> (f64, u64) {
    let mut q = EventQueue::new();
    for i in 0..pending {
        q.push(incs[i & INC_MASK] * 2, i as u32);
    }
    let mut check = 0u64;
    let t0 = std::time::Instant::now();
    for j in pending..pending + ops {
        let (t, x) = q.pop().expect("non-empty");
        check = check.wrapping_add(t ^ u64::from(x));
        q.push(t + incs[j & INC_MASK], x);
    }
    let secs = t0.elapsed().as_secs_f64();
    (ops as f64 / secs, black_box(check))
}

fn hold_heap(pending: usize, ops: usize, incs: &[u64]) -> (f64, u64) {
    let mut q = BinaryHeap::new();
    let mut seq = 0u64;
    for i in 0..pending {
        q.push(Reverse((incs[i & INC_MASK] * 2, seq, i as u32)));
        seq += 1;
    }
    let mut check = 0u64;
    let t0 = std::time::Instant::now();
    for j in pending..pending + ops {
        let Reverse((t, _, x)) = q.pop().expect("non-empty");
        check = check.wrapping_add(t ^ u64::from(x));
        q.push(Reverse((t + incs[j & INC_MASK], seq, x)));
        seq += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    (ops as f64 / secs, black_box(check))
}

// ----- scale run -----

fn vm_hwm_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct ScaleResult {
    setup_secs: f64,
    run_secs: f64,
    events: u64,
    delivered: u64,
    timers: u64,
    trace: String,
}

fn scale(engines: u32, virtual_secs: u64) -> ScaleResult {
    let t0 = std::time::Instant::now();
    let mut sim = Sim::new(SimConfig {
        link: LinkModel::uniform(Duration::from_millis(5), Duration::from_millis(50))
            .with_loss(0.01),
        trace_events: false,
        ..SimConfig::seeded(2024)
    });
    let period = Duration::from_millis(100);
    for _ in 0..engines {
        let phase = sim.rng().below(100_000);
        let next = sim.now().mono + Duration::from_micros(phase);
        sim.add_node(Ticker::new(next, period));
    }
    // A ring plus one random chord per node: average degree about 4.
    for i in 0..engines {
        sim.connect(NodeId(i), NodeId((i + 1) % engines));
        let j = sim.rng().below(u64::from(engines)) as u32;
        sim.connect(NodeId(i), NodeId(j));
    }
    let setup_secs = t0.elapsed().as_secs_f64();
    let t1 = std::time::Instant::now();
    let events = sim.run_for(Duration::from_secs(virtual_secs));
    let run_secs = t1.elapsed().as_secs_f64();
    let m = sim.metrics();
    ScaleResult {
        setup_secs,
        run_secs,
        events,
        delivered: m.total.delivered,
        timers: m.timers_fired,
        trace: sim.trace_hash().to_hex(),
    }
}

fn main() {
    let args = parse_args();
    let incs = increments(INC_MASK + 1);

    eprintln!(
        "hold model: {} pending, {} ops x {} alternating reps",
        args.pending, args.ops, args.reps
    );
    // Warm-up (page faults, caches) for both, not measured.
    hold_queue(args.pending, args.ops / 10, &incs);
    hold_heap(args.pending, args.ops / 10, &incs);
    let (mut q_rates, mut h_rates) = (Vec::new(), Vec::new());
    for rep in 0..args.reps {
        let (q, cq) = hold_queue(args.pending, args.ops, &incs);
        let (h, ch) = hold_heap(args.pending, args.ops, &incs);
        assert_eq!(cq, ch, "both queues must pop the same sequence");
        eprintln!(
            "  rep {rep}: event_queue {:.1} Mops/s, binary_heap {:.1} Mops/s",
            q / 1e6,
            h / 1e6
        );
        q_rates.push(q);
        h_rates.push(h);
    }
    let (q_med, h_med) = (median(&q_rates), median(&h_rates));
    let ratio = q_med / h_med;
    eprintln!("  median ratio queue/heap = {ratio:.2}");

    eprintln!(
        "scale: {} engines, {} virtual seconds",
        args.engines, args.virtual_secs
    );
    let s = scale(args.engines, args.virtual_secs);
    let hwm = vm_hwm_kib();
    let events_per_sec = s.events as f64 / s.run_secs;
    eprintln!(
        "  setup {:.2}s, run {:.2}s, {} events ({:.2} M events/s), {} delivered, peak RSS {} MiB",
        s.setup_secs,
        s.run_secs,
        s.events,
        events_per_sec / 1e6,
        s.delivered,
        hwm.map_or(0, |k| k / 1024)
    );

    let out = serde_json::json!({
        "hold_model": {
            "pending": args.pending,
            "ops_per_rep": args.ops,
            "reps": args.reps,
            "event_queue_ops_per_sec": q_rates,
            "binary_heap_ops_per_sec": h_rates,
            "event_queue_median_ops_per_sec": q_med,
            "binary_heap_median_ops_per_sec": h_med,
            "ratio": ratio,
            "target_ratio": 0.8,
            "pass": ratio >= 0.8,
        },
        "scale": {
            "engines": args.engines,
            "virtual_secs": args.virtual_secs,
            "setup_wall_secs": s.setup_secs,
            "run_wall_secs": s.run_secs,
            "events": s.events,
            "events_per_sec": events_per_sec,
            "timers_fired": s.timers,
            "delivered": s.delivered,
            "peak_rss_kib": hwm,
            "trace_hash": s.trace,
        },
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out).expect("serialise"));
    } else {
        println!("{out}");
    }
}
