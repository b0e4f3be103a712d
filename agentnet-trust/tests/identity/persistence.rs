//! Persistence and determinism: persisted frames restore the same state; same inputs, same
//! outputs.

use super::*;

#[test]
fn persisted_frames_restore_the_same_state() {
    let (a, b, anchor) = (key(1), key(2), key(50));
    let cfg = RegistryConfig::with_anchors([anchor.id()]);
    let mut r = IdentityRegistry::new(cfg.clone()).unwrap();
    let g = genesis(&a);
    let rot = BindingEntry::rotation(&g, &a, &b, b.x25519().public(), wall_ms(1)).unwrap();
    let c = BindingEntry::config_change(&rot, &b, inputs("model-b"), wall_ms(2)).unwrap();
    let c_alt = BindingEntry::config_change(&rot, &b, inputs("model-c"), wall_ms(2)).unwrap();
    let other = key(3);
    let og = genesis(&other);
    let att = IssuerAttestation::sign(
        &anchor,
        principal(),
        key(1).id(),
        wall_ms(0),
        wall_ms(3_600_000),
    )
    .unwrap();
    for f in [&g, &rot, &c, &c_alt, &og] {
        r.handle_entry(uptime_secs(100), &f.to_frame()).unwrap();
    }
    r.handle_attestation(uptime_secs(100), &att.to_frame())
        .unwrap();
    let persisted: Vec<Bytes> = drain(&mut r)
        .into_iter()
        .filter_map(|e| match e {
            IdentityEvent::Persist { frame } => Some(frame),
            _ => None,
        })
        .collect();
    assert_eq!(persisted.len(), 6);

    let mut back = IdentityRegistry::new(cfg.clone()).unwrap();
    let report = back.restore(at(10), persisted);
    assert_eq!(report.accepted, 6);
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert!(drain(&mut back).is_empty(), "restore queues no events");
    for k in [a.id(), b.id(), other.id()] {
        assert_eq!(back.resolve(&k), r.resolve(&k));
    }
    assert_eq!(back.resolve(&a.id()).unwrap().status, ChainStatus::Forked);
    assert_eq!(back.fork_proof(&chain_id(&g)), r.fork_proof(&chain_id(&g)));
    assert_eq!(back.export(), r.export());

    // A snapshot restores too, and junk in the store is reported, not fatal.
    let mut snap = r.export();
    snap.push(Bytes::from_static(b"\x01\x02\x01garbage"));
    let mut again = IdentityRegistry::new(cfg).unwrap();
    let report = again.restore(at(10), snap);
    assert_eq!(report.accepted, 6);
    assert_eq!(report.refused.len(), 1);
    assert_eq!(again.export(), r.export());
}

#[test]
fn same_inputs_same_outputs() {
    let run = || {
        let mut r = IdentityRegistry::new(RegistryConfig::default()).unwrap();
        let mut out = Vec::new();
        for i in 0..6u8 {
            let k = key(i + 1);
            let g = genesis(&k);
            out.push(format!(
                "{:?}",
                r.handle_entry(uptime_secs(100), &g.to_frame())
            ));
            let n = key(i + 101);
            let rot = BindingEntry::rotation(&g, &k, &n, n.x25519().public(), wall_ms(1)).unwrap();
            out.push(format!(
                "{:?}",
                r.handle_entry(uptime_secs(100), &rot.to_frame())
            ));
        }
        out.extend(drain(&mut r).iter().map(|e| format!("{e:?}")));
        out.push(format!("{:?}", r.export()));
        out
    };
    assert_eq!(run(), run());
}
