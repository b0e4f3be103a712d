//! Hostile input: arbitrary and corrupted frames never panic, and wire errors are typed.

use super::*;

/// A genesis, a rotation and an attestation, as frames (built once).
fn valid_frames() -> &'static [Bytes] {
    static FRAMES: OnceLock<Vec<Bytes>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        let (a, b) = (key(1), key(2));
        let g = genesis(&a);
        let rot = BindingEntry::rotation(&g, &a, &b, b.x25519().public(), wall_ms(1)).unwrap();
        let att = IssuerAttestation::sign(
            &key(50),
            principal(),
            key(1).id(),
            wall_ms(0),
            wall_ms(60_000),
        )
        .unwrap();
        vec![g.to_frame(), rot.to_frame(), att.to_frame()]
    })
}

proptest! {
    /// Arbitrary bytes never panic and never change the state.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700), kind in 0u8..3) {
        let mut r = IdentityRegistry::new(RegistryConfig::with_anchors([key(50).id()])).unwrap();
        let mut frame = bytes.clone();
        if kind > 0 && frame.len() >= 3 {
            // Give the frame a valid header so the payload checks are exercised too.
            let k = if kind == 1 { BindingEntry::KIND } else { IssuerAttestation::KIND };
            frame[0] = 1;
            frame[1..3].copy_from_slice(&k.0.to_be_bytes());
        }
        let frame = Bytes::from(frame);
        prop_assert!(r.handle_entry(uptime_secs(100), &frame).is_err());
        prop_assert!(r.handle_attestation(uptime_secs(100), &frame).is_err());
        prop_assert!(r.handle_message(uptime_secs(100), LinkId(1), frame.clone()).is_err());
        prop_assert_eq!(r.chain_count(), 0);
        prop_assert_eq!(r.attestation_count(), 0);
        prop_assert!(r.poll_event().is_none());
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Corrupting one byte of a valid frame never panics; anything accepted is consistent.
    #[test]
    fn corrupted_frames_never_panic(which in 0usize..3, pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let frames = valid_frames();
        let mut r = IdentityRegistry::new(RegistryConfig::with_anchors([key(50).id()])).unwrap();
        let mut v = frames[which].to_vec();
        let i = pos.index(v.len());
        v[i] ^= delta;
        let corrupted = Bytes::from(v);
        let _ = r.handle_message(uptime_secs(100), LinkId(1), corrupted.clone());
        if which == 0 {
            // A corrupted genesis can only be accepted if it is still the genuine one.
            if r.chain_count() > 0 {
                prop_assert_eq!(r.export()[0].clone(), frames[0].clone());
            }
        }
        // Feed the genuine chain after the corrupted frame: state was not poisoned.
        r.handle_entry(uptime_secs(100), &frames[0]).unwrap();
        r.handle_entry(uptime_secs(100), &frames[1]).unwrap();
        prop_assert_eq!(r.resolve(&key(1).id()).unwrap().current_key, key(2).id());
    }
}

#[test]
fn wire_errors_are_typed() {
    let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    assert_eq!(
        r.handle_message(uptime_secs(100), LinkId(1), Bytes::new()),
        Err(IdentityError::Wire(WireError::TruncatedHeader { len: 0 }))
    );
    let g = genesis(&key(1));
    let att = IssuerAttestation::sign(&key(50), principal(), key(1).id(), wall_ms(0), wall_ms(1))
        .unwrap();
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &att.to_frame()),
        Err(IdentityError::Signed(
            agentnet_core::signed::SignedError::Wire(WireError::WrongKind { .. })
        ))
    ));
    let mut frame = g.to_frame().to_vec();
    frame[0] = 9;
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &Bytes::from(frame)),
        Err(IdentityError::Signed(_))
    ));
}
