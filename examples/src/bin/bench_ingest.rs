//! Descriptor ingest against raw Ed25519 verification, side by side in one run.
//!
//! Measures, on the same ~500-byte signed descriptor:
//! - `raw_verify`: `ed25519-dalek` alone — parse the 32 public-key bytes and `verify_strict`
//!   the signed message (what any receiver of a signature must do at minimum);
//! - `raw_verify_preparsed`: `verify_strict` with the key already decompressed;
//! - `ingest`: the full agentnet receive path — frame checks, envelope, signature, body
//!   decode, provider = signer, field validation and freshness;
//! - `raw_verify_x128` vs `ingest_batch_128`: 128 different descriptors, raw one-by-one
//!   verification against agentnet's batched ingest.
//!
//! Each pair is measured twice: **cold key** (every contender decompresses the signer's public
//! key on every verification) and **warm key** (raw verification with the key decompressed in
//! advance, against agentnet's ingest with its bounded `KeyCache`, the path engines use since
//! providers re-announce every few seconds).
//!
//! Repetitions alternate between the contenders so that frequency scaling and noise hit both
//! alike; the median of the repetitions is reported. Prints JSON on stdout, progress on stderr.
//!
//! `cargo run --release -p agentnet-examples --bin bench_ingest -- [--reps N] [--json]`

use agentnet_examples::report::median;
use std::hint::black_box;
use std::time::Instant as WallClock;

use agentnet_core::descriptor::{self, CapabilityDescriptor, DescriptorRules, QosVector};
use agentnet_core::identity::{KeyCache, Keypair, signing_input};
use agentnet_core::signed::{Signed, SignedObject};
use agentnet_core::time::{Instant, Now, WallTime};
use agentnet_core::wire::Limits;
use bytes::Bytes;
use ed25519_dalek::VerifyingKey;

fn now() -> Now {
    Now::new(
        Instant::from_secs(1),
        WallTime::from_unix_millis(1_800_000_000_000),
    )
}

fn descriptor(kp: &Keypair, i: usize) -> CapabilityDescriptor {
    let summary = format!("Generate an image from a text prompt, style variant {i}");
    CapabilityDescriptor::builder(kp.id(), "image.generate", "creative/image", summary)
        .tags(["image", "diffusion"])
        .modes(["text/plain"], ["image/png"])
        .qos(QosVector::stated(2_500, 9_700, 20_000, 9_950, 1_200))
        .endpoints([format!("tcp://10.0.0.{}:4100", i % 250)])
        .build(now())
        .expect("valid descriptor")
}

struct Sample {
    frames: Vec<Bytes>,
    keys: Vec<[u8; 32]>,
    msgs: Vec<Vec<u8>>,
    sigs: Vec<ed25519_dalek::Signature>,
}

fn samples(n: usize) -> Sample {
    let mut s = Sample {
        frames: vec![],
        keys: vec![],
        msgs: vec![],
        sigs: vec![],
    };
    for i in 0..n {
        let kp = Keypair::from_seed([(i % 251) as u8 + 1; 32]);
        let signed = Signed::sign(&kp, descriptor(&kp, i)).expect("sign");
        s.keys.push(*kp.id().as_bytes());
        s.msgs
            .push(signing_input(CapabilityDescriptor::CONTEXT, signed.body()));
        s.sigs.push(ed25519_dalek::Signature::from_bytes(
            signed.signature().as_bytes(),
        ));
        s.frames.push(signed.to_frame());
    }
    s
}

/// Runs `f` `iters` times and returns operations per second.
fn rate(iters: usize, ops_per_iter: usize, mut f: impl FnMut()) -> f64 {
    let t = WallClock::now();
    for _ in 0..iters {
        f();
    }
    (iters * ops_per_iter) as f64 / t.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reps = args
        .iter()
        .position(|a| a == "--reps")
        .and_then(|i| args.get(i + 1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(7usize);
    let rules = DescriptorRules::default();
    let limits = Limits::default();
    let one = samples(1);
    let many = samples(128);
    let frame_len = one.frames[0].len();
    eprintln!("descriptor frame: {frame_len} bytes; {reps} alternating repetitions");

    // Sanity: every contender accepts the inputs.
    assert!(descriptor::ingest(&one.frames[0], now(), &rules, &limits).is_ok());
    assert!(
        descriptor::ingest_batch(&many.frames, now(), &rules, &limits)
            .iter()
            .all(Result::is_ok)
    );

    let single_iters = 4_000;
    let batch_iters = 40;
    let (mut raw, mut raw_pre, mut ingest, mut raw128, mut batch128) =
        (vec![], vec![], vec![], vec![], vec![]);
    let (mut ingest_warm, mut raw128_pre, mut batch128_warm) = (vec![], vec![], vec![]);
    let many_vks: Vec<VerifyingKey> = many
        .keys
        .iter()
        .map(|k| VerifyingKey::from_bytes(k).expect("key"))
        .collect();
    let mut cache = KeyCache::default();
    let vk0 = VerifyingKey::from_bytes(&one.keys[0]).expect("key");
    for r in 0..reps {
        eprint!("\rrepetition {}/{reps}", r + 1);
        raw.push(rate(single_iters, 1, || {
            let vk = VerifyingKey::from_bytes(black_box(&one.keys[0])).expect("key");
            vk.verify_strict(black_box(&one.msgs[0]), &one.sigs[0])
                .expect("valid");
        }));
        raw_pre.push(rate(single_iters, 1, || {
            vk0.verify_strict(black_box(&one.msgs[0]), &one.sigs[0])
                .expect("valid");
        }));
        ingest.push(rate(single_iters, 1, || {
            black_box(
                descriptor::ingest(black_box(&one.frames[0]), now(), &rules, &limits)
                    .expect("valid"),
            );
        }));
        ingest_warm.push(rate(single_iters, 1, || {
            black_box(
                descriptor::ingest_cached(
                    black_box(&one.frames[0]),
                    now(),
                    &rules,
                    &limits,
                    &mut cache,
                )
                .expect("valid"),
            );
        }));
        raw128_pre.push(rate(batch_iters, 128, || {
            for ((vk, msg), sig) in many_vks.iter().zip(&many.msgs).zip(&many.sigs) {
                vk.verify_strict(black_box(msg), sig).expect("valid");
            }
        }));
        batch128_warm.push(rate(batch_iters, 128, || {
            let out = descriptor::ingest_batch_cached(
                black_box(&many.frames),
                now(),
                &rules,
                &limits,
                &mut cache,
            );
            black_box(out);
        }));
        raw128.push(rate(batch_iters, 128, || {
            for i in 0..128 {
                let vk = VerifyingKey::from_bytes(black_box(&many.keys[i])).expect("key");
                vk.verify_strict(black_box(&many.msgs[i]), &many.sigs[i])
                    .expect("valid");
            }
        }));
        batch128.push(rate(batch_iters, 128, || {
            let out = descriptor::ingest_batch(black_box(&many.frames), now(), &rules, &limits);
            black_box(out);
        }));
    }
    eprintln!();
    let (raw, raw_pre, ingest, raw128, batch128) = (
        median(&raw),
        median(&raw_pre),
        median(&ingest),
        median(&raw128),
        median(&batch128),
    );
    let (ingest_warm, raw128_pre, batch128_warm) = (
        median(&ingest_warm),
        median(&raw128_pre),
        median(&batch128_warm),
    );
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    let json = serde_json::json!({
        "descriptor_frame_bytes": frame_len,
        "repetitions": reps,
        "cold_key": {
            "raw_verify_per_s": raw.round(),
            "ingest_per_s": ingest.round(),
            "ingest_ratio": r3(ingest / raw),
            "raw_verify_x128_per_s": raw128.round(),
            "ingest_batch128_per_s": batch128.round(),
            "batch_ratio": r3(batch128 / raw128),
        },
        "warm_key": {
            "raw_verify_per_s": raw_pre.round(),
            "ingest_per_s": ingest_warm.round(),
            "ingest_ratio": r3(ingest_warm / raw_pre),
            "raw_verify_x128_per_s": raw128_pre.round(),
            "ingest_batch128_per_s": batch128_warm.round(),
            "batch_ratio": r3(batch128_warm / raw128_pre),
        },
        "targets": {"ingest_ratio": 0.85, "batch_ratio": 1.8},
    });
    println!("{}", serde_json::to_string_pretty(&json).expect("json"));
}
