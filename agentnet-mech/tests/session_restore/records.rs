//! Bad records: garbage, truncated, oversized and forged records are refused, restore is bounded,
//! every change is persisted before its event; plus the fuzz properties over records.

use super::*;

/// Alice's and Bob's records after the delegation.
fn records() -> (Bytes, Bytes) {
    let (a, b, id) = delegated(Tier::Reputation);
    (a.store[&id].clone(), b.store[&id].clone())
}

fn restore_one(seed: u8, record: Bytes) -> Result<Sessions, RestoreError> {
    let mut e = Sessions::new(
        SessionConfig::default(),
        Box::new(Keypair::from_seed([seed; 32])),
    )
    .unwrap();
    let r = e.restore(Now::new(Instant::ZERO, wall_ms(30)), [record]);
    match &r.errors[..] {
        [] => {
            assert_eq!((r.restored, r.refused), (1, 0));
            Ok(e)
        }
        [(0, err)] => {
            assert_eq!((r.restored, r.refused), (0, 1));
            assert!(e.is_empty());
            assert!(e.poll_event().is_none() && e.poll_transmit().is_none());
            Err(err.clone())
        }
        other => panic!("{other:?}"),
    }
}

/// The record's CBOR map and a way back to bytes.
fn open_record(r: &Bytes) -> Vec<(Value, Value)> {
    let v: Value = ciborium::from_reader(&r[1..]).unwrap();
    v.into_map().unwrap()
}

fn seal_record(map: Vec<(Value, Value)>) -> Bytes {
    let mut out = vec![RECORD_VERSION];
    ciborium::into_writer(&Value::Map(map), &mut out).unwrap();
    Bytes::from(out)
}

fn field<'a>(map: &'a mut [(Value, Value)], name: &str) -> &'a mut Value {
    &mut map
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(name))
        .unwrap()
        .1
}

#[test]
fn garbage_truncated_and_oversized_records_are_refused() {
    let (rec, _) = records();
    assert!(restore_one(1, rec.clone()).is_ok());
    assert_eq!(
        restore_one(1, Bytes::new()).err(),
        Some(RestoreError::Empty)
    );
    let mut v2 = rec.to_vec();
    v2[0] = 2;
    assert_eq!(
        restore_one(1, Bytes::from(v2)).err(),
        Some(RestoreError::UnsupportedVersion { found: 2 })
    );
    for cut in 1..rec.len() {
        assert!(
            matches!(
                restore_one(1, rec.slice(..cut)).err(),
                Some(RestoreError::Malformed(_))
            ),
            "cut at {cut}"
        );
    }
    let huge = Bytes::from(vec![RECORD_VERSION; 4 * 65_536 + 1_025]);
    assert!(matches!(
        restore_one(1, huge).err(),
        Some(RestoreError::TooLarge { .. })
    ));
    // Trailing bytes, unknown fields, a missing message.
    let mut long = rec.to_vec();
    long.push(0);
    assert!(matches!(
        restore_one(1, Bytes::from(long)).err(),
        Some(RestoreError::Malformed(WireError::TrailingBytes { .. }))
    ));
    let mut map = open_record(&rec);
    map.push((Value::Text("extra".into()), Value::Integer(1.into())));
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Malformed(WireError::Schema(_)))
    ));
    let map: Vec<_> = open_record(&rec)
        .into_iter()
        .filter(|(k, _)| k.as_text() != Some("offer"))
        .collect();
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Malformed(WireError::Schema(_)))
    ));
}

#[test]
fn forged_records_are_refused() {
    let (rec, bob_rec) = records();
    // Bob's commitment, stored in Alice's record: find its signature and flip one bit.
    let map = open_record(&rec);
    let commit = map
        .iter()
        .find(|(k, _)| k.as_text() == Some("commit"))
        .unwrap()
        .1
        .as_array()
        .unwrap()
        .clone();
    let sig = commit[1].as_bytes().unwrap().clone();
    let at = rec.windows(64).position(|w| w == &sig[..]).unwrap();
    let mut bad = rec.to_vec();
    bad[at] ^= 1;
    assert!(matches!(
        restore_one(1, Bytes::from(bad)).err(),
        Some(RestoreError::Forged {
            message: "COMMIT",
            error: SignedError::BadSignature(_)
        })
    ));
    // A changed body (the deposit, say) breaks the signature just the same.
    let body = commit[2].as_bytes().unwrap().clone();
    let at = rec
        .windows(body.len())
        .position(|w| w == &body[..])
        .unwrap();
    let mut bad = rec.to_vec();
    bad[at + body.len() - 1] ^= 1;
    assert!(matches!(
        restore_one(1, Bytes::from(bad)).err(),
        Some(RestoreError::Forged {
            message: "COMMIT",
            ..
        })
    ));
    // A commitment Mallory signed in Bob's name: author and signer differ.
    let mut map = open_record(&rec);
    let fake = Signed::sign(
        &mallory(),
        Commit {
            session: SessionId(Hash([1; 32])),
            provider: mallory().id(),
            offer: Hash([2; 32]),
            accept: true,
            deposit: DEPOSIT,
        },
    )
    .unwrap();
    *field(&mut map, "commit") = Value::Array(vec![
        Value::Bytes(bob().id().as_bytes().to_vec()),
        Value::Bytes(fake.signature().0.to_vec()),
        Value::Bytes(fake.body().to_vec()),
    ]);
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Forged {
            message: "COMMIT",
            ..
        })
    ));
    // Mallory's own, valid commitment: not the provider's, not this session's.
    let mut map = open_record(&rec);
    *field(&mut map, "commit") = Value::Array(vec![
        Value::Bytes(mallory().id().as_bytes().to_vec()),
        Value::Bytes(fake.signature().0.to_vec()),
        Value::Bytes(fake.body().to_vec()),
    ]);
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Inconsistent { .. })
    ));
    // A delegation without the commitment before it.
    let mut map = open_record(&rec);
    *field(&mut map, "commit") = Value::Null;
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Inconsistent { .. })
    ));
    // Times that do not fit the phase.
    let mut map = open_record(&rec);
    *field(&mut map, "deliver_by") = Value::Null;
    assert!(matches!(
        restore_one(1, seal_record(map)).err(),
        Some(RestoreError::Inconsistent { .. })
    ));
    // Another agent's record.
    assert!(matches!(
        restore_one(3, rec.clone()).err(),
        Some(RestoreError::NotOurs(_))
    ));
    // Bob's record is Bob's, not Alice's: each side restores its own.
    assert!(restore_one(2, bob_rec.clone()).is_ok());
    assert!(restore_one(1, bob_rec).is_ok(), "Alice is its requester");
}

#[test]
fn evidence_that_no_longer_verifies_refuses_the_record() {
    let (mut a, mut b, id) = delegated(Tier::Evidence);
    b.engine
        .deliver(b.now(100), id, result(), Some(honest_package(task_id(1))))
        .unwrap();
    carry(&mut b, &mut a, 100);
    let rec = a.store[&id].clone();
    assert!(restore_one(1, rec.clone()).is_ok());
    // The same record under a policy that requires attestations.
    let mut cfg = SessionConfig::default();
    cfg.require_attestation = true;
    let mut e = Sessions::new(cfg, Box::new(alice())).unwrap();
    let r = e.restore(Now::new(Instant::ZERO, wall_ms(150)), [rec]);
    assert_eq!(r.errors, vec![(0, RestoreError::Evidence(id))]);
}

#[test]
fn restore_is_bounded_and_reports_the_first_errors() {
    let (mut a, mut b) = (alice_host(), bob_host());
    for n in 1..=3 {
        a.engine
            .offer(a.now(0), bob().id(), LINK, task(n), rules(Tier::Reputation))
            .unwrap();
    }
    carry(&mut a, &mut b, 0);
    let recs: Vec<Bytes> = a.store.values().cloned().collect();
    let mut cfg = SessionConfig::default();
    cfg.max_sessions = 2;
    let mut e = Sessions::new(cfg, Box::new(alice())).unwrap();
    let r = e.restore(a.now(1), recs.clone());
    assert_eq!((r.restored, r.refused), (2, 1));
    assert_eq!(r.errors, vec![(2, RestoreError::Full { max: 2 })]);
    // A record given twice.
    let mut e = Sessions::new(SessionConfig::default(), Box::new(alice())).unwrap();
    let r = e.restore(a.now(1), [recs[0].clone(), recs[0].clone()]);
    assert!(matches!(r.errors[..], [(1, RestoreError::Duplicate(_))]));
    // Many bad records: all counted, the first few kept.
    let mut e = Sessions::new(SessionConfig::default(), Box::new(alice())).unwrap();
    let r = e.restore(a.now(1), (0..20).map(|_| Bytes::new()));
    assert_eq!((r.restored, r.refused), (0, 20));
    assert_eq!(r.errors.len(), MAX_RESTORE_ERRORS);
    assert_eq!(r.errors[3], (3, RestoreError::Empty));
}

#[test]
fn every_change_is_persisted_before_the_event_that_describes_it() {
    let (mut a, mut b) = (alice_host(), bob_host());
    let id = a
        .engine
        .offer(a.now(0), bob().id(), LINK, task(1), rules(Tier::Reputation))
        .unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| a.engine.poll_event()).collect();
    assert!(matches!(
        ev[..],
        [Event::Persist {
            record: Some(_),
            ..
        }]
    ));
    let frame = a.engine.poll_transmit().unwrap();
    b.engine
        .handle_message(b.now(0), LINK, frame.payload)
        .unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| b.engine.poll_event()).collect();
    assert!(
        matches!(
            ev[..],
            [
                Event::Persist {
                    record: Some(_),
                    ..
                },
                Event::Offered { .. }
            ]
        ),
        "{ev:?}"
    );
    b.engine.decline(b.now(1), id).unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| b.engine.poll_event()).collect();
    assert_eq!(ev, vec![Event::Persist { id, record: None }]);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary bytes as records never panic, and whatever is refused changes nothing.
    #[test]
    fn arbitrary_records_never_panic(
        raw in proptest::collection::vec(any::<u8>(), 0..700),
        versioned in any::<bool>(),
    ) {
        let mut bytes = raw;
        if versioned {
            bytes.insert(0, RECORD_VERSION);
        }
        let mut e = Sessions::new(SessionConfig::default(), Box::new(alice())).unwrap();
        let r = e.restore(Now::new(Instant::ZERO, wall_ms(30)), [Bytes::from(bytes)]);
        prop_assert_eq!(r.restored + r.refused, 1);
        prop_assert_eq!(e.len(), r.restored);
    }

    /// Every single-bit corruption of a genuine record is refused or restores a session of
    /// this agent; never a panic.
    #[test]
    fn corrupted_records_never_panic(
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
        provider in any::<bool>(),
    ) {
        let (a, b) = records();
        let rec = if provider { b } else { a };
        let mut f = rec.to_vec();
        let i = pos.index(f.len());
        f[i] ^= 1 << bit;
        let seed = if provider { 2 } else { 1 };
        let mut e = Sessions::new(
            SessionConfig::default(),
            Box::new(Keypair::from_seed([seed; 32])),
        ).unwrap();
        let r = e.restore(Now::new(Instant::ZERO, wall_ms(30)), [Bytes::from(f)]);
        prop_assert_eq!(r.restored + r.refused, 1);
        prop_assert_eq!(e.len(), r.restored);
    }
}
