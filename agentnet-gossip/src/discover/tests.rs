use super::*;
use agentnet_core::Keypair;
use agentnet_core::descriptor::{Constraints, Price, PrivacyScope, Retention, SideEffects};
use agentnet_core::semantic::{HashedNgramConfig, HashedNgramEncoder};
use agentnet_core::test_support::{keypair, now};

fn desc(k: &Keypair, cap: &str, summary: &str, ttl_s: u64, at: Now) -> CapabilityDescriptor {
    CapabilityDescriptor::builder(k.id(), cap, "topic/x", summary)
        .tags(["tag"])
        .ttl(Duration::from_secs(ttl_s))
        .build(at)
        .unwrap()
}

fn signed(k: &Keypair, d: CapabilityDescriptor) -> Signed<CapabilityDescriptor> {
    Signed::sign(k, d).unwrap()
}

fn sd(k: &Keypair, cap: &str, ttl_s: u64) -> Signed<CapabilityDescriptor> {
    signed(k, desc(k, cap, "do a thing", ttl_s, now()))
}

fn emb() -> Embedding {
    Embedding::from_slice(&[1.0; 16])
}

#[test]
fn default_requirements_admit_everything() {
    let d = desc(&keypair(1), "a.b", "summary", 15, now());
    assert!(Requirements::default().admits(&d));
}

#[test]
fn requirements_filter_each_field() {
    let base = desc(&keypair(1), "a.b", "summary", 15, now());
    let t = |s: &str| Topic::new(s).unwrap();
    type Mutate = fn(&mut CapabilityDescriptor);
    // (requirements, mutation that must fail them, mutation that must pass them)
    let cases: Vec<(Requirements, Mutate, Mutate)> = vec![
        (
            Requirements {
                topic: Some(t("topic")),
                ..Default::default()
            },
            |d| d.topic = Topic::new("other/x").unwrap(),
            |d| d.topic = Topic::new("topic/x/y").unwrap(),
        ),
        (
            Requirements {
                max_price_micros: Some(100),
                ..Default::default()
            },
            |d| {
                d.constraints.price = Some(Price {
                    amount_micros: 101,
                    unit: "USD".into(),
                })
            },
            |d| {
                d.constraints.price = Some(Price {
                    amount_micros: 100,
                    unit: "USD".into(),
                })
            },
        ),
        (
            Requirements {
                price_unit: Some("USD".into()),
                ..Default::default()
            },
            |d| {
                d.constraints.price = Some(Price {
                    amount_micros: 1,
                    unit: "credits".into(),
                })
            },
            |d| {
                d.constraints.price = Some(Price {
                    amount_micros: 1,
                    unit: "USD".into(),
                })
            },
        ),
        (
            Requirements {
                min_privacy: Some(PrivacyScope::Confidential),
                ..Default::default()
            },
            |d| d.constraints.privacy = PrivacyScope::Public,
            |d| d.constraints.privacy = PrivacyScope::LocalOnly,
        ),
        (
            Requirements {
                jurisdictions: vec!["DE".into(), "FR".into()],
                ..Default::default()
            },
            |d| d.constraints.jurisdictions = vec!["DE".into(), "US".into()],
            |d| d.constraints.jurisdictions = vec!["FR".into(), "DE".into()],
        ),
        (
            Requirements {
                jurisdictions: vec!["DE".into()],
                ..Default::default()
            },
            |d| d.constraints.jurisdictions = vec![],
            |d| d.constraints.jurisdictions = vec!["DE".into()],
        ),
        (
            Requirements {
                max_retention_days: Some(7),
                ..Default::default()
            },
            |d| d.constraints.retention = Retention::Days(8),
            |d| d.constraints.retention = Retention::Days(7),
        ),
        (
            Requirements {
                max_retention_days: Some(7),
                ..Default::default()
            },
            |d| d.constraints.retention = Retention::Indefinite,
            |d| d.constraints.retention = Retention::None,
        ),
        (
            Requirements {
                max_side_effects: Some(SideEffects::ReadOnly),
                ..Default::default()
            },
            |d| d.constraints.side_effects = SideEffects::Reversible,
            |d| d.constraints.side_effects = SideEffects::ReadOnly,
        ),
        (
            Requirements {
                input_mode: Some("image/png".into()),
                ..Default::default()
            },
            |d| d.io.inputs = vec!["text/plain".into()],
            |d| d.io.inputs = vec!["text/plain".into(), "image/png".into()],
        ),
        (
            Requirements {
                output_mode: Some("image/png".into()),
                ..Default::default()
            },
            |d| d.io.outputs = vec!["text/plain".into()],
            |d| d.io.outputs = vec!["image/png".into()],
        ),
        (
            Requirements {
                min_success_bp: Some(9_000),
                ..Default::default()
            },
            |d| d.qos.success_bp = Some(8_999),
            |d| d.qos.success_bp = Some(9_000),
        ),
        (
            Requirements {
                max_latency_ms: Some(500),
                ..Default::default()
            },
            |d| d.qos.latency_ms = Some(501),
            |d| d.qos.latency_ms = Some(500),
        ),
    ];
    // A claim left out does not meet a stated bound: unknown is not good enough.
    let silent = base.clone();
    assert_eq!(silent.qos.success_bp, None);
    for req in [
        Requirements {
            min_success_bp: Some(1),
            ..Default::default()
        },
        Requirements {
            max_latency_ms: Some(u32::MAX),
            ..Default::default()
        },
    ] {
        assert!(!req.admits(&silent), "{req:?}");
    }
    for (i, (req, fail, pass)) in cases.into_iter().enumerate() {
        let mut d = base.clone();
        fail(&mut d);
        assert!(!req.admits(&d), "case {i} should refuse");
        let mut d = base.clone();
        pass(&mut d);
        assert!(req.admits(&d), "case {i} should admit");
    }
    // Free descriptors pass price limits and units.
    let req = Requirements {
        max_price_micros: Some(0),
        price_unit: Some("USD".into()),
        ..Default::default()
    };
    assert!(base.constraints.price.is_none());
    assert!(req.admits(&base));
    // Several requirements together.
    let mut d = base.clone();
    d.constraints = Constraints {
        privacy: PrivacyScope::Confidential,
        jurisdictions: vec!["FR".into()],
        ..Constraints::default()
    };
    let req = Requirements {
        topic: Some(t("topic/x")),
        min_privacy: Some(PrivacyScope::Confidential),
        jurisdictions: vec!["FR".into()],
        max_side_effects: Some(SideEffects::None),
        ..Default::default()
    };
    assert!(req.admits(&d));
}

#[test]
fn supersession_newer_replaces_older_refused_duplicate() {
    let k = keypair(1);
    let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
    let v1 = signed(&k, desc(&k, "a.b", "first", 15, now()));
    let later = now().advance(Duration::from_secs(1));
    let v2 = signed(&k, desc(&k, "a.b", "second", 15, later));
    assert_eq!(idx.insert(now(), v1.clone(), emb()), IndexInsert::New);
    assert_eq!(idx.insert(now(), v1.clone(), emb()), IndexInsert::Duplicate);
    assert_eq!(idx.insert(later, v2.clone(), emb()), IndexInsert::Replaced);
    idx.assert_consistent();
    assert_eq!(idx.len(), 1);
    assert_eq!(idx.get(&k.id(), "a.b"), Some(&v2));
    assert_eq!(idx.next_expiry(), Some(v2.expires_at()));
    assert_eq!(idx.insert(later, v1, emb()), IndexInsert::Older);
    assert_eq!(idx.insert(later, v2.clone(), emb()), IndexInsert::Duplicate);
    assert_eq!(idx.get(&k.id(), "a.b"), Some(&v2));
    // Same stamp, different content: the hash decides, deterministically.
    let v3 = signed(&k, desc(&k, "a.b", "third", 15, later));
    let expected = if compare_versions(&v3, &v2) == Ordering::Greater {
        IndexInsert::Replaced
    } else {
        IndexInsert::Older
    };
    assert_eq!(idx.insert(later, v3, emb()), expected);
    idx.assert_consistent();
    assert_eq!(idx.len(), 1);
    // Another capability of the same provider is a new key.
    assert_eq!(
        idx.insert(later, sd(&k, "a.c", 15), emb()),
        IndexInsert::New
    );
    assert_eq!(idx.len(), 2);
    assert!(idx.remove(&k.id(), "a.c"));
    assert!(!idx.remove(&k.id(), "a.c"));
    idx.assert_consistent();
}

#[test]
fn expired_and_future_descriptors_are_refused() {
    let k = keypair(1);
    let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
    let d = sd(&k, "a.b", 10);
    let after = now().advance(Duration::from_secs(10));
    assert_eq!(idx.insert(after, d.clone(), emb()), IndexInsert::Expired);
    // Issued 31 s ahead of our clock: outside the skew window.
    let future = signed(
        &k,
        desc(&k, "a.c", "x", 60, now().advance(Duration::from_secs(31))),
    );
    assert_eq!(idx.insert(now(), future, emb()), IndexInsert::Expired);
    let near = signed(
        &k,
        desc(&k, "a.d", "x", 60, now().advance(Duration::from_secs(29))),
    );
    assert_eq!(idx.insert(now(), near, emb()), IndexInsert::New);
    assert!(idx.get(&k.id(), "a.b").is_none());
    idx.assert_consistent();
}

#[test]
fn prune_and_next_expiry() {
    let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
    assert_eq!(idx.next_expiry(), None);
    let (a, b, c) = (keypair(1), keypair(2), keypair(3));
    idx.insert(now(), sd(&a, "a.x", 10), emb());
    idx.insert(now(), sd(&b, "b.x", 20), emb());
    idx.insert(now(), sd(&c, "c.x", 20), emb());
    idx.insert(now(), sd(&a, "a.y", 30), emb());
    idx.assert_consistent();
    let at = |s: u64| now().wall + Duration::from_secs(s);
    assert_eq!(idx.next_expiry(), Some(at(10)));
    assert_eq!(idx.prune(at(9)), 0);
    assert_eq!(idx.len(), 4);
    assert_eq!(idx.prune(at(10)), 1, "expires_at <= now is dropped");
    idx.assert_consistent();
    assert!(idx.get(&a.id(), "a.x").is_none());
    assert_eq!(idx.next_expiry(), Some(at(20)));
    assert_eq!(idx.prune(at(25)), 2);
    idx.assert_consistent();
    assert_eq!(idx.len(), 1);
    assert_eq!(idx.next_expiry(), Some(at(30)));
    assert_eq!(idx.prune(at(1_000)), 1);
    assert!(idx.is_empty());
    assert_eq!(idx.next_expiry(), None);
    idx.assert_consistent();
}

#[test]
fn query_skips_stale_unpruned_entries() {
    let k = keypair(1);
    let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
    idx.insert(now(), sd(&k, "a.x", 10), emb());
    idx.insert(now(), sd(&k, "a.y", 20), emb());
    let later = now().advance(Duration::from_secs(15));
    let got = idx.query(later, &emb(), &Requirements::default(), -1.0, 10);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].descriptor.capability, "a.y");
    assert_eq!(idx.len(), 2, "query does not prune");
}

#[test]
fn per_provider_and_total_caps_with_eviction() {
    let (a, b, c) = (keypair(1), keypair(2), keypair(3));
    let mut idx = DiscoveryIndex::new(IndexLimits {
        max_entries: 3,
        max_per_provider: 2,
    })
    .unwrap();
    assert_eq!(
        idx.insert(now(), sd(&a, "a.x", 10), emb()),
        IndexInsert::New
    );
    assert_eq!(
        idx.insert(now(), sd(&a, "a.y", 40), emb()),
        IndexInsert::New
    );
    assert_eq!(
        idx.insert(now(), sd(&a, "a.z", 50), emb()),
        IndexInsert::Full
    );
    assert_eq!(
        idx.insert(now(), sd(&b, "b.x", 20), emb()),
        IndexInsert::New
    );
    idx.assert_consistent();
    assert_eq!(idx.len(), 3);
    // Full; the unproven provider with the most entries (a) loses its entry expiring
    // soonest (a.x), whatever the newcomer's TTL.
    assert_eq!(idx.insert(now(), sd(&c, "c.x", 5), emb()), IndexInsert::New);
    idx.assert_consistent();
    assert_eq!(idx.len(), 3);
    assert!(idx.get(&a.id(), "a.x").is_none());
    // Every provider holds one entry; the newest (c) is the victim, and a newcomer from c
    // itself would only displace c: refused, long TTL or not.
    assert_eq!(
        idx.insert(now(), sd(&c, "c.y", 3600), emb()),
        IndexInsert::Full
    );
    // A new provider displaces the newest unproven provider's entry (c.x); a provider
    // holding as many entries as the victim does not (a.z).
    let d = keypair(4);
    assert_eq!(idx.insert(now(), sd(&d, "d.x", 5), emb()), IndexInsert::New);
    assert!(idx.get(&c.id(), "c.x").is_none());
    assert_eq!(
        idx.insert(now(), sd(&a, "a.z", 30), emb()),
        IndexInsert::Full
    );
    idx.assert_consistent();
    // Refreshing a held entry never needs room.
    let refreshed = signed(
        &a,
        desc(
            &a,
            "a.y",
            "again",
            30,
            now().advance(Duration::from_secs(1)),
        ),
    );
    assert_eq!(idx.insert(now(), refreshed, emb()), IndexInsert::Replaced);
    idx.assert_consistent();
    assert_eq!(idx.remove_provider(&a.id()).len(), 1);
    assert!(idx.remove_provider(&a.id()).is_empty());
    idx.assert_consistent();
    assert_eq!(idx.len(), 2);
    assert!(idx.get(&b.id(), "b.x").is_some() && idx.get(&d.id(), "d.x").is_some());
}

#[test]
fn sybil_descriptors_do_not_displace_providers_with_standing() {
    let honest = keypair(1);
    let mut idx = DiscoveryIndex::new(IndexLimits {
        max_entries: 4,
        max_per_provider: 4,
    })
    .unwrap();
    // Long-TTL Sybils, then a provider with standing and a short TTL: the newest entry
    // and the one expiring soonest, so only its standing keeps it.
    for n in 10..13 {
        idx.insert(now(), sd(&keypair(n), "s.x", 3600), emb());
    }
    let h = sd(&honest, "h.x", 10);
    assert_eq!(
        idx.insert_with_standing(now(), h, emb(), true),
        IndexInsert::New
    );
    for n in 13..40 {
        let _ = idx.insert(now(), sd(&keypair(n), "s.x", 3600), emb());
        idx.assert_consistent();
        assert!(idx.get(&honest.id(), "h.x").is_some(), "after sybil {n}");
    }
    assert_eq!(idx.len(), 4);
    // An honest newcomer without standing still gets in, evicting an unproven entry,
    // and the provider with standing stays.
    let newcomer = keypair(50);
    assert_eq!(
        idx.insert(now(), sd(&newcomer, "n.x", 10), emb()),
        IndexInsert::New
    );
    assert!(idx.get(&newcomer.id(), "n.x").is_some());
    assert!(idx.get(&honest.id(), "h.x").is_some());
    // A Sybil with many entries loses them first.
    let greedy = keypair(60);
    idx.insert(now(), sd(&greedy, "g.a", 3600), emb());
    assert_eq!(
        idx.insert(now(), sd(&greedy, "g.b", 3600), emb()),
        IndexInsert::Full,
        "a provider as large as the largest unproven one recycles nothing"
    );
    // When everything held has standing, an unproven newcomer is refused.
    let mut idx = DiscoveryIndex::new(IndexLimits {
        max_entries: 1,
        max_per_provider: 1,
    })
    .unwrap();
    let h = sd(&honest, "h.x", 10);
    idx.insert_with_standing(now(), h, emb(), true);
    assert_eq!(
        idx.insert(now(), sd(&keypair(9), "s.x", 3600), emb()),
        IndexInsert::Full
    );
    // Until the host withdraws the standing.
    idx.set_standing(&honest.id(), false);
    assert_eq!(
        idx.insert(now(), sd(&keypair(9), "s.x", 3600), emb()),
        IndexInsert::New
    );
    idx.assert_consistent();
}

#[test]
fn query_ranks_by_similarity() {
    let enc = HashedNgramEncoder::default();
    let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
    let offers = [
        (
            1,
            "text.translate-fr",
            "translate english text to french",
            ["translation", "french"],
        ),
        (
            2,
            "text.translate-de",
            "translate english text to german",
            ["translation", "german"],
        ),
        (
            3,
            "image.generate",
            "generate an image from a text prompt",
            ["image", "diffusion"],
        ),
        (
            4,
            "code.review",
            "review rust code for security bugs",
            ["code", "security"],
        ),
    ];
    for (seed, cap, summary, tags) in offers {
        let k = keypair(seed);
        let d = CapabilityDescriptor::builder(k.id(), cap, "topic/x", summary)
            .tags(tags)
            .ttl(Duration::from_secs(60))
            .build(now())
            .unwrap();
        let e = enc.encode(&intent_text(&d));
        assert_eq!(idx.insert(now(), signed(&k, d), e), IndexInsert::New);
    }
    let q = enc.encode("translation to french");
    let got = idx.query(now(), &q, &Requirements::default(), -1.0, 10);
    assert_eq!(got.len(), 4);
    assert_eq!(got[0].descriptor.capability, "text.translate-fr");
    assert_eq!(got[1].descriptor.capability, "text.translate-de");
    assert!(got.windows(2).all(|w| w[0].similarity >= w[1].similarity));
    assert_eq!(got[0].qos, got[0].descriptor.qos);
    // k and min_similarity cut the list.
    let top = idx.query(now(), &q, &Requirements::default(), -1.0, 1);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].descriptor.capability, "text.translate-fr");
    let cut = idx.query(now(), &q, &Requirements::default(), got[1].similarity, 10);
    assert_eq!(cut.len(), 2);
    assert!(
        idx.query(now(), &q, &Requirements::default(), -1.0, 0)
            .is_empty()
    );
    // Requirements filter before ranking.
    let req = Requirements {
        output_mode: Some("image/png".into()),
        ..Default::default()
    };
    assert!(idx.query(now(), &q, &req, -1.0, 10).is_empty());
}

#[test]
fn query_tie_breaks_on_qos_then_key() {
    let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
    let mk = |seed: u8, cap: &str, success_bp: u16, latency_ms: u32| {
        let k = keypair(seed);
        let d = CapabilityDescriptor::builder(k.id(), cap, "topic/x", "same intent")
            .qos(QosVector {
                success_bp: Some(success_bp),
                latency_ms: Some(latency_ms),
                ..QosVector::default()
            })
            .build(now())
            .unwrap();
        signed(&k, d)
    };
    let entries = [
        mk(1, "c.slow", 9_000, 900),
        mk(2, "c.fast", 9_000, 100),
        mk(3, "c.best", 9_900, 2_000),
        mk(4, "c.tie-b", 9_000, 100),
        mk(4, "c.tie-a", 9_000, 100),
    ];
    for d in entries.iter().cloned() {
        assert_eq!(idx.insert(now(), d, emb()), IndexInsert::New);
    }
    let got = idx.query(now(), &emb(), &Requirements::default(), 0.0, 10);
    let caps: Vec<_> = got
        .iter()
        .map(|c| c.descriptor.capability.as_str())
        .collect();
    assert_eq!(caps[0], "c.best");
    assert_eq!(caps[4], "c.slow");
    // The three (9 000 bp, 100 ms) entries are ordered by (provider, capability).
    let mut middle: Vec<_> = got[1..4]
        .iter()
        .map(|c| (c.descriptor.provider, c.descriptor.capability.clone()))
        .collect();
    let sorted = {
        let mut m = middle.clone();
        m.sort();
        m
    };
    assert_eq!(middle, sorted);
    middle.dedup();
    assert_eq!(middle.len(), 3);
    // Partial selection agrees with the full order.
    let top2 = idx.query(now(), &emb(), &Requirements::default(), 0.0, 2);
    assert_eq!(
        top2.iter().map(|c| c.descriptor.hash()).collect::<Vec<_>>(),
        got[..2]
            .iter()
            .map(|c| c.descriptor.hash())
            .collect::<Vec<_>>()
    );
}

#[test]
fn states_drop_unavailable_providers_before_the_cut_and_override_load() {
    let mut idx = DiscoveryIndex::new(IndexLimits::default()).unwrap();
    let mk = |seed: u8, success_bp: u16| {
        let k = keypair(seed);
        let d = CapabilityDescriptor::builder(k.id(), "c.x", "topic/x", "same intent")
            .qos(QosVector {
                success_bp: Some(success_bp),
                load_bp: Some(1_000),
                ..QosVector::default()
            })
            .build(now())
            .unwrap();
        signed(&k, d)
    };
    for d in [mk(1, 9_900), mk(2, 9_000), mk(3, 8_000)] {
        idx.insert(now(), d, emb());
    }
    let state = |seed: u8, available: bool| ProviderState {
        provider: keypair(seed).id(),
        load_bp: 8_800,
        available,
        queued: 0,
        issued_at: now().wall,
        ttl_ms: 5_000,
    };
    let (busy, loaded) = (state(1, false), state(2, true));
    let states = |p: &AgentId| [&busy, &loaded].into_iter().find(|s| s.provider == *p);
    let req = Requirements::default();
    // The best provider is busy: the single best answer is the next one, not nothing.
    let top = idx.query_with_states(now(), &emb(), &req, 0.0, 1, states);
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].descriptor.provider, keypair(2).id());
    assert_eq!(top[0].qos.load_bp, Some(8_800), "the state's load");
    assert_eq!(top[0].state.as_ref(), Some(&loaded));
    let all = idx.query_with_states(now(), &emb(), &req, 0.0, 10, states);
    let who: Vec<_> = all.iter().map(|c| c.descriptor.provider).collect();
    assert_eq!(who, vec![keypair(2).id(), keypair(3).id()]);
    assert_eq!(
        all[1].qos.load_bp,
        Some(1_000),
        "no state: the descriptor's claim"
    );
    assert!(all[1].state.is_none());
    // Without states every provider is there, with its own claims.
    let plain = idx.query(now(), &emb(), &req, 0.0, 10);
    assert_eq!(plain.len(), 3);
    assert!(plain.iter().all(|c| c.qos.load_bp == Some(1_000)));
}

#[test]
fn intent_text_joins_summary_and_tags() {
    let k = keypair(1);
    let d = CapabilityDescriptor::builder(k.id(), "a.b", "topic/x", "Do things")
        .tags(["one", "two"])
        .build(now())
        .unwrap();
    assert_eq!(intent_text(&d), "Do things one two");
    let bare = desc(&k, "a.b", "Do things", 15, now());
    let mut bare = bare;
    bare.intent.tags.clear();
    assert_eq!(intent_text(&bare), "Do things");
}

#[test]
fn interest_profile_wants_related_sketches() {
    let enc = HashedNgramEncoder::default();
    let p = InterestProfile::from_texts(
        &enc,
        &["translate documents to french", ""],
        DEFAULT_INTEREST_THRESHOLD,
    );
    assert_eq!(p.intents.len(), 1, "empty text is skipped");
    let topic = Topic::new("language/translation").unwrap();
    let related = TaggedSketch::new(&enc, &enc.encode("french translation of documents"));
    let unrelated = TaggedSketch::new(&enc, &enc.encode("review rust code for security bugs"));
    let rel = p.intents[0].similarity(&related).unwrap();
    let unrel = p.intents[0].similarity(&unrelated).unwrap();
    assert!(rel >= 0.6, "related similarity {rel}");
    assert!(unrel <= 0.3, "unrelated similarity {unrel}");
    assert!(p.wants(&topic, Some(&related)));
    assert!(!p.wants(&topic, Some(&unrelated)));
    assert!(
        !p.wants(&topic, None),
        "no sketch matches only `everything`"
    );

    // Topic restriction.
    let p = p.with_topics(vec![Topic::new("language").unwrap()]);
    assert!(p.wants(&topic, Some(&related)));
    assert!(!p.wants(&Topic::new("code/review").unwrap(), Some(&related)));

    // none / everything.
    assert!(!InterestProfile::none().wants(&topic, Some(&related)));
    assert!(!InterestProfile::none().wants(&topic, None));
    assert_eq!(InterestProfile::default(), InterestProfile::none());
    assert!(InterestProfile::everything().wants(&topic, None));
    assert!(InterestProfile::everything().wants(&topic, Some(&unrelated)));
    let narrowed = InterestProfile::everything().with_topics(vec![Topic::new("code").unwrap()]);
    assert!(!narrowed.wants(&topic, None));
    assert!(narrowed.wants(&Topic::new("code/review").unwrap(), None));
}

/// A sketch from another encoder is never compared: it says nothing, so the topic decides
/// (wanted by a profile with intents on a followed topic, whatever its bits).
#[test]
fn interest_profile_never_compares_sketches_of_another_encoder() {
    let enc = HashedNgramEncoder::default();
    let mut cfg = HashedNgramConfig::default();
    cfg.dim = 128;
    let other = HashedNgramEncoder::new(cfg).unwrap();
    assert_ne!(enc.tag(), other.tag(), "different settings, different ids");
    let p = InterestProfile::from_texts(&enc, &["translate documents to french"], 0.5)
        .with_topics(vec![Topic::new("language").unwrap()]);
    let topic = Topic::new("language/translation").unwrap();
    // The same words, sketched by the other encoder; and an unrelated text by it.
    let same_words = TaggedSketch::new(&other, &other.encode("translate documents to french"));
    let unrelated = TaggedSketch::new(&other, &other.encode("review rust code"));
    assert_eq!(p.intents[0].similarity(&same_words), None);
    assert!(p.wants(&topic, Some(&same_words)));
    assert!(
        p.wants(&topic, Some(&unrelated)),
        "not judged by bits it cannot read"
    );
    assert!(
        !p.wants(&Topic::new("code").unwrap(), Some(&unrelated)),
        "topic still filters"
    );
    assert!(!InterestProfile::none().wants(&topic, Some(&unrelated)));
    // Forging the tag makes the bits comparable again: sketches are hints, not a boundary.
    let forged = TaggedSketch {
        encoder: enc.tag(),
        sketch: unrelated.sketch,
    };
    assert!(p.intents[0].similarity(&forged).is_some());
}
