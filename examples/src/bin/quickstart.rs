//! agentnet quickstart: six agents, their identities and signed capability descriptors, one
//! discovery by intent in plain words, and a sealed task handed to the winner.
//!
//! Everything runs in one process on embedded defaults: no model, no network setup. Later
//! releases grow this into a live network (gossip over TCP + Noise, verification, delegation,
//! settlement); today it exercises the foundation those stand on.
//!
//! `cargo run --release --bin quickstart`

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentnet_core::descriptor::{
    self, CapabilityDescriptor, Constraints, DescriptorRules, PrivacyScope, QosVector, SideEffects,
};
use agentnet_core::identity::{KeyCache, Keypair};
use agentnet_core::seal::{self, KeyBinding};
use agentnet_core::semantic::{HashedNgramEncoder, SemanticEncoder};
use agentnet_core::signed::Signed;
use agentnet_core::time::{Instant, Now, WallTime};
use agentnet_core::wire::Limits;
use bytes::Bytes;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

/// (name, capability, topic, summary, tags, QoS, side effects)
type Spec = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    QosVector,
    SideEffects,
);

struct Agent {
    name: &'static str,
    keys: Keypair,
}

fn main() {
    let started = std::time::Instant::now();
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970");
    let now = Now::new(
        Instant::ZERO,
        WallTime::from_unix_millis(wall.as_millis() as u64),
    );
    // A fixed seed keeps the transcript reproducible; a real agent draws its seed from the OS
    // once and stores it.
    let mut rng = ChaCha20Rng::from_seed(*b"agentnet quickstart seed 0000001");

    println!("agentnet quickstart\n===================\n");
    let specs: [Spec; 6] = [
        (
            "pixel",
            "image.generate",
            "creative/image",
            "Generate an image from a text prompt",
            &["image", "diffusion", "art"],
            QosVector {
                latency_ms: 4_000,
                success_bp: 9_600,
                cost_micros: 40_000,
                availability_bp: 9_900,
                load_bp: 3_000,
            },
            SideEffects::None,
        ),
        (
            "canvas",
            "image.generate",
            "creative/image",
            "Text-to-image generation with upscaling",
            &["image", "upscale"],
            QosVector {
                latency_ms: 9_000,
                success_bp: 9_900,
                cost_micros: 15_000,
                availability_bp: 9_500,
                load_bp: 6_000,
            },
            SideEffects::None,
        ),
        (
            "herald",
            "content.publish",
            "creative/publishing",
            "Publish an article with images to a blog",
            &["publish", "blog", "cms"],
            QosVector {
                latency_ms: 1_500,
                success_bp: 9_800,
                cost_micros: 5_000,
                availability_bp: 9_990,
                load_bp: 1_000,
            },
            SideEffects::Irreversible,
        ),
        (
            "babel",
            "text.translate",
            "language/translation",
            "Translate documents between English and French",
            &["translation", "french"],
            QosVector {
                latency_ms: 800,
                success_bp: 9_700,
                cost_micros: 2_000,
                availability_bp: 9_990,
                load_bp: 2_000,
            },
            SideEffects::None,
        ),
        (
            "lint",
            "code.review",
            "code/review",
            "Review Rust code for security bugs",
            &["code", "security", "rust"],
            QosVector {
                latency_ms: 20_000,
                success_bp: 9_000,
                cost_micros: 80_000,
                availability_bp: 9_800,
                load_bp: 4_000,
            },
            SideEffects::ReadOnly,
        ),
        (
            "scribe",
            "text.summarize",
            "language/summarization",
            "Summarize long reports into key points",
            &["summary", "text"],
            QosVector {
                latency_ms: 1_200,
                success_bp: 9_500,
                cost_micros: 3_000,
                availability_bp: 9_900,
                load_bp: 500,
            },
            SideEffects::None,
        ),
    ];

    let encoder = HashedNgramEncoder::default();
    let agents: Vec<Agent> = specs
        .iter()
        .map(|s| Agent {
            name: s.0,
            keys: Keypair::generate(&mut rng),
        })
        .collect();

    println!("1. Identities (Ed25519 keys, did:key ids) and signed X25519 key bindings");
    let mut bindings = Vec::new();
    for a in &agents {
        let b = Signed::sign(
            &a.keys,
            KeyBinding {
                agent: a.keys.id(),
                x25519: a.keys.x25519().public(),
                issued_at: now.wall,
            },
        )
        .expect("sign binding");
        println!("   {:<7} {}", a.name, a.keys.id());
        bindings.push(b.to_frame());
    }

    println!("\n2. Each agent announces a signed, expiring capability descriptor");
    let mut frames: Vec<Bytes> = Vec::new();
    let mut wire_bytes = 0usize;
    for (a, s) in agents.iter().zip(&specs) {
        let intent = encoder.encode(s.3).quantize().expect("quantize");
        let d = CapabilityDescriptor::builder(a.keys.id(), s.1, s.2, s.3)
            .tags(s.4.iter().copied())
            .qos(s.5)
            .constraints(Constraints {
                side_effects: s.6,
                privacy: PrivacyScope::Public,
                ..Constraints::default()
            })
            .embedding(intent)
            .ttl(Duration::from_secs(15))
            .build(now)
            .expect("valid descriptor");
        let signed = Signed::sign(&a.keys, d).expect("sign descriptor");
        let f = signed.to_frame();
        wire_bytes += f.len();
        println!(
            "   {:<7} {:<16} topic {:<24} {:>4} bytes  id {}  expires in 15 s",
            a.name,
            s.1,
            s.2,
            f.len(),
            &signed.hash().to_hex()[..12]
        );
        frames.push(f);
    }

    println!(
        "\n3. A requester ingests them: frame, signature (one batch), decode, validate, freshness"
    );
    let mut cache = KeyCache::default();
    let accepted: Vec<Signed<CapabilityDescriptor>> = descriptor::ingest_batch_cached(
        &frames,
        now,
        &DescriptorRules::default(),
        &Limits::default(),
        &mut cache,
    )
    .into_iter()
    .map(|r| r.expect("valid descriptor"))
    .collect();
    // A forged copy (one byte changed) is refused with a typed error.
    let mut forged = frames[0].to_vec();
    let last = forged.len() - 5;
    forged[last] ^= 0x01;
    let refused = descriptor::ingest(
        &Bytes::from(forged),
        now,
        &DescriptorRules::default(),
        &Limits::default(),
    )
    .expect_err("forgery must fail");
    println!(
        "   accepted {} descriptors ({} bytes); a tampered copy was refused: {refused}",
        accepted.len(),
        wire_bytes
    );

    let query = "I need someone to turn my text prompt into a picture";
    println!("\n4. Discovery by intent: \"{query}\"");
    let q = encoder.encode(query);
    let mut ranked: Vec<(f32, &Signed<CapabilityDescriptor>, &str)> = accepted
        .iter()
        .zip(&agents)
        .filter(|(d, _)| d.constraints.side_effects <= SideEffects::Reversible)
        .map(|(d, a)| {
            let text = encoder.encode(&format!("{} {}", d.intent.summary, d.intent.tags.join(" ")));
            (q.cosine(&text), d, a.name)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    println!("   (hard filter: side effects at most reversible; then similarity of intent)");
    for (score, d, name) in ranked.iter().take(4) {
        println!(
            "   {score:>6.3}  {name:<7} {:<16} latency {:>6} ms  success {:>5.1}%  cost {:>6} µ",
            d.capability,
            d.qos.latency_ms,
            f64::from(d.qos.success_bp) / 100.0,
            d.qos.cost_micros
        );
    }
    let (best_score, best, best_name) = ranked[0];

    println!("\n5. The requester seals a private task to the winner's X25519 key");
    let binding = Signed::<KeyBinding>::from_frame(
        &bindings[agents
            .iter()
            .position(|a| a.name == best_name)
            .expect("winner")],
        &Limits::default(),
    )
    .expect("binding verifies");
    assert_eq!(binding.agent, best.provider);
    let task = b"prompt: a lighthouse at dawn, watercolour";
    let boxed = seal::seal(&binding.x25519, task, b"task-0001", &mut rng).expect("seal");
    let winner = agents.iter().find(|a| a.name == best_name).expect("winner");
    let opened = seal::open(winner.keys.x25519(), &boxed, b"task-0001").expect("open");
    let eavesdropper = agents.iter().find(|a| a.name != best_name).expect("other");
    println!(
        "   sealed {} bytes -> {} bytes; {} opened it: {:?}",
        task.len(),
        boxed.len(),
        best_name,
        String::from_utf8_lossy(&opened)
    );
    println!(
        "   {} could not: {}",
        eavesdropper.name,
        seal::open(eavesdropper.keys.x25519(), &boxed, b"task-0001")
            .expect_err("not the recipient")
    );

    println!("\nSummary");
    println!(
        "   agents: {}, descriptors accepted: {}, best match: {best_name} ({}, score {best_score:.3})",
        agents.len(),
        accepted.len(),
        best.capability
    );
    println!(
        "   finished in {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
}
