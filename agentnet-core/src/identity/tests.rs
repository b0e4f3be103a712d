use super::*;
#[test]
fn keys_with_a_torsion_component_are_refused() {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use curve25519_dalek::edwards::CompressedEdwardsY;
    let kp = Keypair::from_seed([9; 32]);
    let a = CompressedEdwardsY(*kp.id().as_bytes())
        .decompress()
        .expect("a real key");
    assert!(kp.id().verifying_key().is_ok());
    let msg = b"the same secret, another id";
    let sig = kp.sign_bytes("agentnet/test/torsion", msg);
    for t in &EIGHT_TORSION[1..] {
        let id = AgentId::from_bytes((a + t).compress().to_bytes());
        assert_ne!(id, kp.id());
        assert_eq!(id.verifying_key(), Err(SignatureError::InvalidKey), "{t:?}");
        assert!(id.verify("agentnet/test/torsion", msg, &sig).is_err());
        assert!(AgentId::from_bytes_checked(*id.as_bytes()).is_err());
        let mut cache = KeyCache::new(4);
        assert!(cache.get(&id).is_err());
    }
}

#[test]
fn small_order_table_matches_the_curve() {
    // Every entry we block decompresses (if at all) to a small-order point, and the order-8
    // entries really are of small order.
    let mut candidates: Vec<[u8; 32]> = Vec::new();
    for &(first, last) in &[(0u8, 0u8), (1, 0), (0xec, 0x7f)] {
        let mut e = [0u8; 32];
        e[0] = first;
        if first == 0xec {
            e[1..31].fill(0xff);
        }
        e[31] = last;
        candidates.push(e);
    }
    let order8_a = hex32("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05");
    let order8_b = hex32("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
    candidates.push(order8_a);
    candidates.push(order8_b);
    for mut e in candidates {
        for sign in [0u8, 0x80] {
            e[31] = (e[31] & 0x7f) | sign;
            assert!(is_small_order_encoding(&e));
            if let Ok(vk) = VerifyingKey::from_bytes(&e) {
                assert!(vk.is_weak(), "{e:02x?} should be small order");
            }
        }
    }
    // Both order-8 encodings really decompress to small-order points.
    assert!(VerifyingKey::from_bytes(&order8_a).unwrap().is_weak());
    assert!(VerifyingKey::from_bytes(&order8_b).unwrap().is_weak());
    // A real key is not blocked.
    let kp = Keypair::from_seed([9; 32]);
    assert!(!is_small_order_encoding(kp.id().as_bytes()));
}

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

#[test]
fn did_key_round_trip() {
    let kp = Keypair::from_seed([1; 32]);
    let did = kp.id().to_string();
    assert!(did.starts_with("did:key:z6Mk"));
    assert_eq!(did.parse::<AgentId>().unwrap(), kp.id());
}

#[test]
fn did_key_rejects_garbage() {
    assert_eq!(
        "did:web:x".parse::<AgentId>(),
        Err(IdentityError::NotDidKey)
    );
    assert_eq!(
        "did:key:z0OIl".parse::<AgentId>(),
        Err(IdentityError::Base58)
    );
    // An X25519 did:key (multicodec 0xec) is not an agent id.
    assert!(matches!(
        "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW".parse::<AgentId>(),
        Err(IdentityError::WrongMulticodec(_))
    ));
    let short = format!(
        "did:key:z{}",
        bs58::encode([0xed, 0x01, 1, 2, 3]).into_string()
    );
    assert_eq!(short.parse::<AgentId>(), Err(IdentityError::KeyLength(3)));
    let long = format!("did:key:z{}", "1".repeat(200));
    assert!(matches!(
        long.parse::<AgentId>(),
        Err(IdentityError::KeyLength(_))
    ));
}

#[test]
fn signatures_are_domain_separated() {
    let kp = Keypair::from_seed([2; 32]);
    let sig = kp.sign_bytes("descriptor", b"hello");
    assert!(kp.id().verify("descriptor", b"hello", &sig).is_ok());
    assert_eq!(
        kp.id().verify("header", b"hello", &sig),
        Err(SignatureError::Invalid)
    );
    assert_eq!(
        kp.id().verify("descriptor", b"hellp", &sig),
        Err(SignatureError::Invalid)
    );
    let other = Keypair::from_seed([3; 32]);
    assert_eq!(
        other.id().verify("descriptor", b"hello", &sig),
        Err(SignatureError::Invalid)
    );
    // The trait path signs the same bytes.
    let via_trait = Signer::sign(&kp, "descriptor", b"hello").unwrap();
    assert_eq!(via_trait, sig);
}

#[test]
fn weak_and_noncanonical_keys_are_refused() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        AgentId::from_bytes(identity).verifying_key(),
        Err(SignatureError::InvalidKey)
    );
    let mut noncanon = [0xffu8; 32];
    noncanon[31] = 0x7f;
    assert_eq!(
        AgentId::from_bytes(noncanon).verifying_key(),
        Err(SignatureError::InvalidKey)
    );
}

#[test]
fn batch_accepts_valid_and_reports_invalid() {
    let kps: Vec<Keypair> = (0..8u8).map(|i| Keypair::from_seed([i + 10; 32])).collect();
    let ids: Vec<AgentId> = kps.iter().map(Keypair::id).collect();
    let msgs: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 40]).collect();
    let mut sigs: Vec<Signature> = kps
        .iter()
        .zip(&msgs)
        .map(|(k, m)| k.sign_bytes("t", m))
        .collect();
    let items = |sigs: &[Signature]| -> Vec<Result<(), SignatureError>> {
        let v: Vec<BatchItem<'_>> = (0..8)
            .map(|i| BatchItem {
                signer: &ids[i],
                context: "t",
                bytes: &msgs[i],
                signature: &sigs[i],
            })
            .collect();
        verify_each(&v)
    };
    assert!(items(&sigs).iter().all(Result::is_ok));
    sigs[5].0[10] ^= 1;
    let r = items(&sigs);
    assert!(r[5].is_err());
    assert_eq!(r.iter().filter(|x| x.is_err()).count(), 1);
}

#[test]
fn key_cache_is_bounded_and_agrees() {
    let mut cache = KeyCache::new(8);
    for i in 0..40u8 {
        let kp = Keypair::from_seed([i; 32]);
        let sig = kp.sign_bytes("t", b"m");
        assert!(cache.verify(&kp.id(), "t", b"m", &sig).is_ok());
        assert!(cache.verify(&kp.id(), "t", b"n", &sig).is_err());
        assert!(cache.len() <= 8);
    }
    let mut weak = [0u8; 32];
    weak[0] = 1;
    assert_eq!(
        cache.get(&AgentId::from_bytes(weak)),
        Err(SignatureError::InvalidKey)
    );
}

#[cfg(feature = "count-verifications")]
#[test]
fn verifications_are_counted() {
    // The counters are process-wide and tests run in parallel: check lower bounds.
    let before = verification_counts();
    let kp = Keypair::from_seed([6; 32]);
    let id = kp.id();
    let sig = kp.sign_bytes("t", b"hello");
    assert!(id.verify("t", b"hello", &sig).is_ok());
    let mut cache = KeyCache::new(8);
    assert!(cache.verify(&id, "t", b"hello", &sig).is_ok());
    let item = BatchItem {
        signer: &id,
        context: "t",
        bytes: b"hello",
        signature: &sig,
    };
    assert!(verify_batch(&[item, item, item]).is_ok());
    let d = verification_counts().since(&before);
    assert!(d.single >= 2, "{d:?}");
    assert!(d.batched >= 3 && d.batches >= 1, "{d:?}");
    assert!(d.key_decompressions >= 5, "{d:?}");
    assert!(d.bytes >= 25, "{d:?}");
    assert!(d.signatures() >= 5, "{d:?}");
}

#[test]
fn batch_refuses_small_order_r() {
    let kp = Keypair::from_seed([4; 32]);
    let other = Keypair::from_seed([5; 32]);
    let mut forged = kp.sign_bytes("t", b"m");
    forged.0[..32].copy_from_slice(&[0u8; 32]);
    let good = other.sign_bytes("t", b"m");
    let (a, b) = (kp.id(), other.id());
    let v = [
        BatchItem {
            signer: &a,
            context: "t",
            bytes: b"m",
            signature: &forged,
        },
        BatchItem {
            signer: &b,
            context: "t",
            bytes: b"m",
            signature: &good,
        },
    ];
    assert!(verify_batch(&v).is_err());
}
