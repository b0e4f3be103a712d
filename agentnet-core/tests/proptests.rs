//! Property tests: round-trips (encode/decode, sign/verify, seal/open) and the decoders on
//! arbitrary bytes (the same decoders the fuzz targets drive).

use agentnet_core::descriptor::{
    self, CapabilityDescriptor, Constraints, DescriptorRules, PrivacyScope, QosVector, Retention,
    SideEffects,
};
use agentnet_core::identity::{AgentId, Keypair};
use agentnet_core::seal::{self, KeyBinding};
use agentnet_core::signed::Signed;
use agentnet_core::test_support::uptime_secs;
use agentnet_core::time::WallTime;
use agentnet_core::wire::{self, Limits, MessageKind};
use bytes::Bytes;
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9]{0,10}"
}

prop_compose! {
    fn arb_descriptor()(
        seed in any::<[u8; 32]>(),
        cap in "[a-z]{1,8}\\.[a-z]{1,8}",
        topic in proptest::collection::vec("[a-z0-9_-]{1,8}", 1..4),
        summary in "[A-Za-z ]{1,80}[a-z]",
        tags in proptest::collection::vec(word(), 0..5),
        latency in proptest::option::of(any::<u32>()),
        success in proptest::option::of(0u16..=10_000),
        cost in proptest::option::of(any::<u64>()),
        price in proptest::option::of((any::<u64>(), "[A-Z]{3}")),
        privacy in prop_oneof![Just(PrivacyScope::Public), Just(PrivacyScope::Confidential), Just(PrivacyScope::LocalOnly)],
        retention in prop_oneof![Just(Retention::None), (1u16..).prop_map(Retention::Days), Just(Retention::Indefinite)],
        side in prop_oneof![Just(SideEffects::None), Just(SideEffects::ReadOnly), Just(SideEffects::Reversible), Just(SideEffects::Irreversible)],
        ttl_s in 1u64..3600,
    ) -> (Keypair, CapabilityDescriptor) {
        let kp = Keypair::from_seed(seed);
        let d = CapabilityDescriptor::builder(kp.id(), cap, &topic.join("/"), summary)
            .tags(tags)
            .qos(QosVector { latency_ms: latency, success_bp: success, cost_micros: cost, availability_bp: Some(10_000), load_bp: None })
            .constraints(Constraints {
                price: price.map(|(amount_micros, unit)| descriptor::Price { amount_micros, unit }),
                privacy,
                jurisdictions: vec!["FR".into()],
                retention,
                side_effects: side,
            })
            .ttl(core::time::Duration::from_secs(ttl_s))
            .build(uptime_secs(1))
            .expect("generated descriptors are valid");
        (kp, d)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn descriptor_sign_encode_decode_round_trip((kp, d) in arb_descriptor()) {
        let s = Signed::sign(&kp, d.clone()).unwrap();
        let f = s.to_frame();
        let back = descriptor::ingest(&f, uptime_secs(1), &DescriptorRules::default(), &Limits::default()).unwrap();
        prop_assert_eq!(back.value(), &d);
        prop_assert_eq!(back.hash(), s.hash());
        // Re-encoding the decoded value gives the same bytes: the encoding is canonical.
        prop_assert_eq!(wire::encode_cbor(back.value()).unwrap(), s.body().to_vec());
    }

    #[test]
    fn sign_verify_round_trip(seed in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..512), flip in any::<prop::sample::Index>()) {
        let kp = Keypair::from_seed(seed);
        let sig = kp.sign_bytes("agentnet/test", &msg);
        prop_assert!(kp.id().verify("agentnet/test", &msg, &sig).is_ok());
        if !msg.is_empty() {
            let mut m = msg.clone();
            let i = flip.index(m.len());
            m[i] ^= 0x80;
            prop_assert!(kp.id().verify("agentnet/test", &m, &sig).is_err());
        }
        let did = kp.id().to_string();
        prop_assert_eq!(did.parse::<AgentId>().unwrap(), kp.id());
    }

    #[test]
    fn seal_open_round_trip(seed in any::<[u8; 32]>(), rng_seed in any::<[u8; 32]>(), msg in proptest::collection::vec(any::<u8>(), 0..2048), aad in proptest::collection::vec(any::<u8>(), 0..64)) {
        let kp = Keypair::from_seed(seed);
        let mut rng = ChaCha20Rng::from_seed(rng_seed);
        let b = seal::seal(&kp.x25519().public(), &msg, &aad, &mut rng).unwrap();
        prop_assert_eq!(seal::open(kp.x25519(), &b, &aad).unwrap(), msg);
    }

    #[test]
    fn key_binding_round_trip(seed in any::<[u8; 32]>(), t in any::<u64>()) {
        let kp = Keypair::from_seed(seed);
        let b = KeyBinding { agent: kp.id(), x25519: kp.x25519().public(), issued_at: WallTime::from_unix_millis(t) };
        let s = Signed::sign(&kp, b.clone()).unwrap();
        let back = Signed::<KeyBinding>::from_frame(&s.to_frame(), &Limits::default()).unwrap();
        prop_assert_eq!(back.value(), &b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Arbitrary bytes never panic any decoder, and whatever `check_cbor` accepts, ciborium can
    /// parse as a generic value (the pre-scan never lets through what the decoder chokes on).
    #[test]
    fn decoders_survive_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let limits = Limits::default();
        let b = Bytes::from(bytes.clone());
        let _ = wire::decode_frame(&b, &limits);
        let _ = descriptor::ingest(&b, uptime_secs(1), &DescriptorRules::default(), &limits);
        let _ = descriptor::ingest_batch(std::slice::from_ref(&b), uptime_secs(1), &DescriptorRules::default(), &limits);
        let _ = Signed::<KeyBinding>::from_envelope(&bytes, &limits);
        let _ = seal::open(Keypair::from_seed([1; 32]).x25519(), &bytes, b"");
        if wire::check_cbor(&bytes, &limits).is_ok() {
            let v: Result<ciborium::Value, _> = ciborium::from_reader(&bytes[..]);
            prop_assert!(v.is_ok());
        }
    }

    /// Arbitrary payloads behind a valid descriptor header, and single-byte mutations of a
    /// valid frame, are refused without panicking.
    #[test]
    fn mutated_frames_are_refused(pos in any::<prop::sample::Index>(), val in any::<u8>(), tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let kp = Keypair::from_seed([3; 32]);
        let d = CapabilityDescriptor::builder(kp.id(), "code.review", "code/review", "Review Rust code").build(uptime_secs(1)).unwrap();
        let f = Signed::sign(&kp, d).unwrap().to_frame();
        let mut v = f.to_vec();
        let i = pos.index(v.len());
        if v[i] != val {
            v[i] = val;
            prop_assert!(descriptor::ingest(&Bytes::from(v), uptime_secs(1), &DescriptorRules::default(), &Limits::default()).is_err());
        }
        let g = wire::frame_from_payload(MessageKind::SIGNED_DESCRIPTOR, &tail);
        let _ = descriptor::ingest(&g, uptime_secs(1), &DescriptorRules::default(), &Limits::default());
    }
}
