//! Bounds: every bound overflows with a typed error.

use super::*;

#[test]
fn every_bound_overflows_with_a_typed_error() {
    let mut cfg = RegistryConfig::with_anchors([key(50).id()]);
    cfg.max_chains = 1;
    cfg.max_entries_per_chain = 3;
    cfg.max_attestations = 1;
    cfg.max_proof_bytes = 100;
    cfg.max_queued_events = 16;
    let mut r = IdentityRegistry::new(cfg).unwrap();
    let a = key(1);
    let g = genesis(&a);
    r.handle_entry(uptime_secs(100), &g.to_frame()).unwrap();
    drain(&mut r);

    // Chains: a full table of chains with standing refuses (one without would give way).
    assert!(r.vouch(&a.id()));
    assert_eq!(
        r.handle_entry(uptime_secs(100), &genesis(&key(2)).to_frame()),
        Err(IdentityError::TableFull {
            table: Table::Chains,
            max: 1
        })
    );
    assert_eq!(
        drain(&mut r),
        vec![IdentityEvent::TableFull {
            table: Table::Chains,
            max: 1
        }]
    );
    assert_eq!(r.chain_count(), 1);

    // Entries per chain: the last slot is kept for a revocation.
    let c1 = BindingEntry::config_change(&g, &a, inputs("model-b"), wall_ms(1)).unwrap();
    r.handle_entry(uptime_secs(100), &c1.to_frame()).unwrap();
    let c2 = BindingEntry::config_change(&c1, &a, inputs("model-c"), wall_ms(2)).unwrap();
    assert_eq!(
        r.handle_entry(uptime_secs(100), &c2.to_frame()),
        Err(IdentityError::TableFull {
            table: Table::ChainEntries,
            max: 3
        })
    );
    let rev = BindingEntry::revocation(&c1, &a, wall_ms(2)).unwrap();
    r.handle_entry(uptime_secs(100), &rev.to_frame()).unwrap();
    assert_eq!(r.entries(&chain_id(&g)).count(), 3);

    // Attestations.
    let anchor = key(50);
    let p2 = PrincipalCommitment::new(b"second", &[0; 32]);
    let a1 = IssuerAttestation::sign(
        &anchor,
        principal(),
        key(1).id(),
        wall_ms(0),
        wall_ms(60_000),
    )
    .unwrap();
    let a2 =
        IssuerAttestation::sign(&anchor, p2, key(1).id(), wall_ms(0), wall_ms(60_000)).unwrap();
    r.handle_attestation(uptime_secs(100), &a1.to_frame())
        .unwrap();
    assert_eq!(
        r.handle_attestation(uptime_secs(100), &a2.to_frame()),
        Err(IdentityError::TableFull {
            table: Table::Attestations,
            max: 1
        })
    );

    // Proof size.
    let big = ExecutionProof {
        system: "x".into(),
        bytes: vec![0; 100],
    };
    assert_eq!(
        r.submit_proof(uptime_secs(100), &a.id(), &big),
        Err(IdentityError::ProofTooLarge { len: 101, max: 100 })
    );

    // Event queue: an undrained queue refuses input instead of dropping events.
    let mut r = IdentityRegistry::new({
        let mut c = RegistryConfig::default();
        c.max_queued_events = 16;
        c
    })
    .unwrap();
    let mut refused = None;
    for i in 0..20u8 {
        match r.handle_entry(uptime_secs(100), &genesis(&key(100 + i)).to_frame()) {
            Ok(_) => {}
            Err(e) => {
                refused = Some((i, e));
                break;
            }
        }
    }
    assert_eq!(refused, Some((8, IdentityError::EventQueueFull)));
    assert_eq!(drain(&mut r).len(), 16, "nothing accepted went unreported");

    // Frame size.
    let mut small = RegistryConfig::default();
    small.limits.max_frame = 64;
    let mut r = IdentityRegistry::new(small).unwrap();
    assert!(matches!(
        r.handle_entry(uptime_secs(100), &g.to_frame()),
        Err(IdentityError::Signed(_))
    ));
}
