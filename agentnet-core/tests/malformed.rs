//! Every class of malformed input a peer can send returns its own typed error, and nothing
//! panics. Each case starts from a valid signed-descriptor frame and breaks one thing.

use agentnet_core::descriptor::{self, CapabilityDescriptor, DescriptorError, DescriptorRules};
use agentnet_core::identity::{AgentId, Keypair, Signature, SignatureError, Signer};
use agentnet_core::signed::{Signed, SignedError, SignedObject};
use agentnet_core::test_support::{keypair, uptime_secs};
use agentnet_core::time::{Instant, Now, WallTime};
use agentnet_core::wire::{self, Limits, MessageKind, PROTOCOL_VERSION, WireError};
use bytes::Bytes;

fn cd(kp: &Keypair) -> CapabilityDescriptor {
    CapabilityDescriptor::builder(
        kp.id(),
        "text.translate",
        "language/translation",
        "Translate documents into French",
    )
    .tags(["translation", "french"])
    .build(uptime_secs(5))
    .unwrap()
}

fn frame() -> Bytes {
    Signed::sign(&keypair(42), cd(&keypair(42)))
        .unwrap()
        .to_frame()
}

fn ingest(f: &Bytes) -> Result<Signed<CapabilityDescriptor>, DescriptorError> {
    descriptor::ingest(
        f,
        uptime_secs(5),
        &DescriptorRules::default(),
        &Limits::default(),
    )
}

fn wire_err(r: Result<Signed<CapabilityDescriptor>, DescriptorError>) -> WireError {
    match r {
        Err(DescriptorError::Signed(SignedError::Wire(e))) => e,
        other => panic!("expected a wire error, got {other:?}"),
    }
}

#[test]
fn valid_frame_is_accepted() {
    assert!(ingest(&frame()).is_ok());
}

#[test]
fn truncated() {
    let f = frame();
    assert_eq!(
        wire_err(ingest(&f.slice(..2))),
        WireError::TruncatedHeader { len: 2 }
    );
    for cut in [3, 10, 60, f.len() / 2, f.len() - 1] {
        let e = wire_err(ingest(&f.slice(..cut)));
        assert!(
            matches!(
                e,
                WireError::Truncated { .. } | WireError::LengthExceedsInput { .. }
            ),
            "cut {cut}: {e:?}"
        );
    }
}

#[test]
fn oversized() {
    let f = frame();
    let limits = Limits {
        max_frame: f.len() - 1,
        ..Limits::default()
    };
    let r = descriptor::ingest(&f, uptime_secs(5), &DescriptorRules::default(), &limits);
    assert!(matches!(wire_err(r), WireError::FrameTooLarge { .. }));
    // A summary over the descriptor bound is refused by validation even if the wire allows it.
    let mut d = cd(&keypair(42));
    d.intent.summary = "x".repeat(2_000);
    let f = Signed::sign(&keypair(42), d).unwrap().to_frame();
    assert!(matches!(
        ingest(&f),
        Err(DescriptorError::TooLong {
            field: "intent.summary",
            ..
        })
    ));
}

#[test]
fn wrong_version() {
    let mut v = frame().to_vec();
    v[0] = PROTOCOL_VERSION + 1;
    assert_eq!(
        wire_err(ingest(&Bytes::from(v))),
        WireError::UnsupportedVersion {
            found: PROTOCOL_VERSION + 1
        }
    );
}

#[test]
fn wrong_kind() {
    let mut v = frame().to_vec();
    v[1..3].copy_from_slice(&MessageKind::KEY_BINDING.0.to_be_bytes());
    assert_eq!(
        wire_err(ingest(&Bytes::from(v))),
        WireError::WrongKind {
            expected: MessageKind::SIGNED_DESCRIPTOR.0,
            found: MessageKind::KEY_BINDING.0
        }
    );
}

#[test]
fn bad_signature() {
    let mut v = frame().to_vec();
    // The signature occupies envelope bytes 37..101, i.e. frame bytes 40..104.
    v[50] ^= 0x01;
    assert!(matches!(
        ingest(&Bytes::from(v)),
        Err(DescriptorError::Signed(SignedError::BadSignature(
            SignatureError::Invalid
        )))
    ));
}

/// A descriptor frame around a hand-built envelope `[signer, signature, body]`.
fn envelope_frame(signer: &AgentId, sig: &Signature, body: &[u8]) -> Bytes {
    let mut env = vec![0x83, 0x58, 0x20];
    env.extend_from_slice(signer.as_bytes());
    env.extend_from_slice(&[0x58, 0x40]);
    env.extend_from_slice(sig.as_bytes());
    env.extend_from_slice(&[0x59, (body.len() >> 8) as u8, body.len() as u8]);
    env.extend_from_slice(body);
    wire::frame_from_payload(MessageKind::SIGNED_DESCRIPTOR, &env)
}

#[test]
fn signature_by_another_key() {
    // Mallory signs Alice's descriptor body and claims to be Alice: the signature fails.
    let alice = keypair(42);
    let mallory = Keypair::from_seed([7; 32]);
    let body = wire::encode_cbor(&cd(&alice)).unwrap();
    let sig = mallory.sign(CapabilityDescriptor::CONTEXT, &body).unwrap();
    let f = envelope_frame(&alice.id(), &sig, &body);
    assert!(matches!(
        ingest(&f),
        Err(DescriptorError::Signed(SignedError::BadSignature(
            SignatureError::Invalid
        )))
    ));
    // Mallory signs Alice's descriptor as herself: the signature is fine but she is not the
    // provider it names.
    let f = envelope_frame(&mallory.id(), &sig, &body);
    assert!(matches!(
        ingest(&f),
        Err(DescriptorError::Signed(SignedError::SignerMismatch { .. }))
    ));
}

#[test]
fn any_tampered_byte_is_refused() {
    let f = frame();
    for i in 0..f.len() {
        let mut v = f.to_vec();
        v[i] = v[i].wrapping_add(1);
        assert!(
            ingest(&Bytes::from(v)).is_err(),
            "tampered byte {i} accepted"
        );
    }
}

#[test]
fn deep_nesting() {
    let mut payload = vec![0x81u8; 500];
    payload.push(0x00);
    let f = wire::frame_from_payload(MessageKind::SIGNED_DESCRIPTOR, &payload);
    assert_eq!(
        wire_err(ingest(&f)),
        WireError::TooDeep {
            max: Limits::default().max_depth
        }
    );
}

#[test]
fn huge_declared_length() {
    // An envelope claiming a 4 GiB body.
    let mut env = vec![0x83, 0x58, 0x20];
    env.extend_from_slice(&[1; 32]);
    env.extend_from_slice(&[0x58, 0x40]);
    env.extend_from_slice(&[2; 64]);
    env.extend_from_slice(&[0x5a, 0xff, 0xff, 0xff, 0xff]);
    let f = wire::frame_from_payload(MessageKind::SIGNED_DESCRIPTOR, &env);
    assert!(matches!(
        wire_err(ingest(&f)),
        WireError::StringTooLong { .. }
    ));
    // And an array claiming 2^32 entries.
    let f = wire::frame_from_payload(
        MessageKind::SIGNED_DESCRIPTOR,
        &[0x9a, 0xff, 0xff, 0xff, 0xff],
    );
    assert!(matches!(
        wire_err(ingest(&f)),
        WireError::TooManyItems { .. }
    ));
}

#[test]
fn stale_and_future_descriptors() {
    let f = frame();
    let late = uptime_secs(5).advance(core::time::Duration::from_secs(60));
    assert!(matches!(
        descriptor::ingest(&f, late, &DescriptorRules::default(), &Limits::default()),
        Err(DescriptorError::Expired { .. })
    ));
    let early = Now::new(Instant::ZERO, WallTime::from_unix_millis(1_700_000_000_000));
    assert!(matches!(
        descriptor::ingest(&f, early, &DescriptorRules::default(), &Limits::default()),
        Err(DescriptorError::FromTheFuture { .. })
    ));
}
