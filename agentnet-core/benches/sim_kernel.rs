//! Simulator kernel benchmarks.
//!
//! `hold_model_1e5`: the event queue against a bare `BinaryHeap` on the same workload, side by
//! side: 10^5 pending entries; each operation pops the earliest and pushes it back at a later
//! time drawn from the same seeded table. `sim_ticker_1k`: a whole simulated second of 1,000
//! periodic engines.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use agentnet_core::sim::{EventQueue, LinkModel, NodeId, Sim, SimConfig, SimRng, Ticker};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const PENDING: usize = 100_000;
const OPS_PER_ITER: usize = 1_000;
const TABLE: usize = 1 << 16;

fn increments() -> Vec<u64> {
    let mut rng = SimRng::from_seed([42; 32]);
    (0..TABLE)
        .map(|_| rng.exponential(1_000.0) as u64 + 1)
        .collect()
}

fn hold_model(c: &mut Criterion) {
    let incs = increments();
    let mut g = c.benchmark_group("hold_model_1e5");
    g.throughput(Throughput::Elements(OPS_PER_ITER as u64));

    g.bench_function("event_queue", |b| {
        let mut q = EventQueue::new();
        for i in 0..PENDING {
            q.push(incs[i % TABLE] * 2, i as u32);
        }
        let mut j = PENDING;
        b.iter(|| {
            for _ in 0..OPS_PER_ITER {
                let (t, x) = q.pop().expect("non-empty");
                q.push(t + incs[j % TABLE], black_box(x));
                j += 1;
            }
        });
    });

    g.bench_function("binary_heap", |b| {
        let mut q = BinaryHeap::new();
        let mut seq = 0u64;
        for i in 0..PENDING {
            q.push(Reverse((incs[i % TABLE] * 2, seq, i as u32)));
            seq += 1;
        }
        let mut j = PENDING;
        b.iter(|| {
            for _ in 0..OPS_PER_ITER {
                let Reverse((t, _, x)) = q.pop().expect("non-empty");
                q.push(Reverse((t + incs[j % TABLE], seq, black_box(x))));
                seq += 1;
                j += 1;
            }
        });
    });
    g.finish();
}

fn sim_ticker(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim_ticker_1k");
    g.sample_size(20);
    g.bench_function("one_virtual_second", |b| {
        b.iter(|| {
            let mut sim = Sim::new(SimConfig {
                link: LinkModel::uniform(Duration::from_millis(5), Duration::from_millis(50))
                    .with_loss(0.01),
                ..SimConfig::seeded(1)
            });
            let n = 1_000u32;
            for _ in 0..n {
                let next = sim.now().mono + Duration::from_micros(sim.rng().below(100_000));
                sim.add_node(Ticker::new(next, Duration::from_millis(100)));
            }
            for i in 0..n {
                sim.connect(NodeId(i), NodeId((i + 1) % n));
            }
            black_box(sim.run_for(Duration::from_secs(1)))
        });
    });
    g.finish();
}

criterion_group!(benches, hold_model, sim_ticker);
criterion_main!(benches);
