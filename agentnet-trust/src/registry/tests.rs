use super::*;
use crate::baid::BaidInputs;
use agentnet_core::test_support::uptime_secs;
use agentnet_core::{Hash, Keypair};
use core::time::Duration;

fn inputs() -> BaidInputs {
    BaidInputs {
        code_hash: Hash([1; 32]),
        config_digest: Hash([2; 32]),
        principal: PrincipalCommitment::new(b"acme", &[3; 32]),
        salt: [4; 32],
    }
}

#[test]
fn engine_shape_and_expiry_timer() {
    let anchor = Keypair::from_seed([9; 32]);
    let mut r = IdentityRegistry::new(RegistryConfig::with_anchors([anchor.id()])).unwrap();
    let n = uptime_secs(10);
    assert_eq!(r.poll_timeout(), None);
    assert_eq!(r.poll_transmit(), None);
    let a = IssuerAttestation::sign(
        &anchor,
        inputs().principal,
        Keypair::from_seed([1; 32]).id(),
        n.wall,
        n.wall + Duration::from_secs(60),
    )
    .unwrap();
    r.handle_message(n, LinkId(1), a.to_frame()).unwrap();
    assert_eq!(
        r.poll_timeout(),
        Some(n.mono + Duration::from_secs(60)),
        "expiry maps onto the monotonic clock"
    );
    assert!(matches!(
        r.poll_event(),
        Some(IdentityEvent::Persist { .. })
    ));
    assert!(matches!(
        r.poll_event(),
        Some(IdentityEvent::AttestationAccepted { .. })
    ));
    r.handle_timeout(n.advance(Duration::from_secs(59)));
    assert_eq!(r.attestation_count(), 1);
    r.handle_timeout(n.advance(Duration::from_secs(60)));
    assert_eq!(r.attestation_count(), 0);
    assert!(matches!(
        r.poll_event(),
        Some(IdentityEvent::AttestationExpired { .. })
    ));
    assert_eq!(r.poll_timeout(), None);
    // Other kinds are refused with a typed error.
    let other = wire::frame_from_payload(crate::wire::EVIDENCE, &[0xf6]);
    assert_eq!(
        r.handle_message(n, LinkId(1), other),
        Err(IdentityError::Wire(WireError::UnknownKind(
            crate::wire::EVIDENCE.0
        )))
    );
}

#[test]
fn out_of_range_config_is_refused_by_name() {
    RegistryConfig::default().validate().unwrap();
    let e = IdentityRegistry::new(RegistryConfig {
        max_entries_per_chain: 1,
        ..RegistryConfig::default()
    })
    .unwrap_err();
    assert_eq!(e.field, "max_entries_per_chain");
    let e = RegistryConfig {
        max_skew: Duration::from_secs(601),
        ..RegistryConfig::default()
    }
    .validate()
    .unwrap_err();
    assert_eq!(e.field, "max_skew");
}

#[test]
fn event_queue_full_refuses_without_change() {
    let mut r = IdentityRegistry::new(RegistryConfig {
        max_queued_events: 16,
        ..RegistryConfig::default()
    })
    .unwrap();
    let n = uptime_secs(10);
    for i in 0..8u8 {
        let k = Keypair::from_seed([i + 1; 32]);
        let g = BindingEntry::genesis(&k, k.x25519().public(), inputs(), n.wall).unwrap();
        r.handle_signed_entry(n, g).unwrap();
    }
    let k = Keypair::from_seed([99; 32]);
    let g = BindingEntry::genesis(&k, k.x25519().public(), inputs(), n.wall).unwrap();
    assert_eq!(
        r.handle_entry(n, &g.to_frame()),
        Err(IdentityError::EventQueueFull)
    );
    assert_eq!(r.chain_count(), 8);
    while r.poll_event().is_some() {}
    assert!(r.handle_entry(n, &g.to_frame()).is_ok());
}

#[test]
fn config_is_refused_not_clamped() {
    let e = IdentityRegistry::new(RegistryConfig {
        max_chains: 0,
        ..RegistryConfig::default()
    })
    .unwrap_err();
    assert_eq!(e.to_string(), "max_chains = 0 is outside 1..=1000000");
    let e = IdentityRegistry::new(RegistryConfig {
        max_queued_events: 15,
        ..RegistryConfig::default()
    })
    .unwrap_err();
    assert_eq!(e.field, "max_queued_events");
}
