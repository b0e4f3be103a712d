use super::*;
use crate::identity::Keypair;
use crate::test_support::uptime_secs;
use crate::time::Instant;

fn cd(kp: &Keypair) -> CapabilityDescriptor {
    CapabilityDescriptor::builder(
        kp.id(),
        "image.generate",
        "creative/image",
        "Generate an image from a text prompt",
    )
    .tags(["image", "diffusion"])
    .modes(["text/plain"], ["image/png"])
    .build(uptime_secs(10))
    .unwrap()
}

#[test]
fn valid_descriptor_ingests() {
    let kp = Keypair::from_seed([1; 32]);
    let s = Signed::sign(&kp, cd(&kp)).unwrap();
    let got = ingest(
        &s.to_frame(),
        uptime_secs(10),
        &DescriptorRules::default(),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(got.value(), &cd(&kp));
    assert!(got.is_fresh(uptime_secs(10), Duration::ZERO));
}

#[test]
fn freshness_window() {
    let kp = Keypair::from_seed([1; 32]);
    let d = cd(&kp);
    let r = DescriptorRules::default();
    assert!(d.validate(uptime_secs(10), &r).is_ok());
    let later = uptime_secs(10).advance(Duration::from_secs(15));
    assert!(!d.is_fresh(later, r.max_skew));
    assert_eq!(
        d.validate(later, &r),
        Err(DescriptorError::Expired { ago_ms: 0 })
    );
    let earlier = Now::new(
        Instant::ZERO,
        d.issued_at.saturating_sub(Duration::from_secs(31)),
    );
    assert!(matches!(
        d.validate(earlier, &r),
        Err(DescriptorError::FromTheFuture { .. })
    ));
    assert!(
        d.validate(
            Now::new(
                Instant::ZERO,
                d.issued_at.saturating_sub(Duration::from_secs(29))
            ),
            &r
        )
        .is_ok()
    );
    assert_eq!(
        d.refresh_at(0.5),
        d.issued_at + Duration::from_millis(7_500)
    );
}

#[test]
fn field_validation() {
    let kp = Keypair::from_seed([1; 32]);
    let base = cd(&kp);
    type Mutation = Box<dyn Fn(&mut CapabilityDescriptor)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (Box::new(|d| d.capability.clear()), "missing capability"),
        (
            Box::new(|d| d.capability = "Image Gen".into()),
            "bad capability",
        ),
        (Box::new(|d| d.topic = Topic("a//b".into())), "bad topic"),
        (
            Box::new(|d| d.intent.summary = "   ".into()),
            "blank summary",
        ),
        (
            Box::new(|d| d.intent.summary = "x".repeat(600)),
            "long summary",
        ),
        (
            Box::new(|d| d.intent.tags = vec!["t".into(); 17]),
            "too many tags",
        ),
        (Box::new(|d| d.io.outputs.clear()), "no outputs"),
        (
            Box::new(|d| d.qos.success_bp = Some(10_001)),
            "success over 100%",
        ),
        (
            Box::new(|d| d.constraints.jurisdictions = vec!["usa".into()]),
            "bad jurisdiction",
        ),
        (Box::new(|d| d.trust.tiers = vec![2, 1]), "unsorted tiers"),
        (Box::new(|d| d.trust.tiers = vec![4]), "tier out of range"),
        (
            Box::new(|d| d.constraints.retention = Retention::Days(0)),
            "zero-day retention",
        ),
    ];
    for (mutate, what) in cases {
        let mut d = base.clone();
        mutate(&mut d);
        assert!(d.validate_fields().is_err(), "{what} should be refused");
    }
    let mut d = base.clone();
    d.ttl_ms = 10;
    assert!(matches!(
        d.validate(uptime_secs(10), &DescriptorRules::default()),
        Err(DescriptorError::OutOfRange {
            field: "ttl_ms",
            ..
        })
    ));
}

#[test]
fn newer_supersedes_older() {
    let kp = Keypair::from_seed([1; 32]);
    let a = Signed::sign(&kp, cd(&kp)).unwrap();
    let mut d2 = cd(&kp);
    d2.issued_at = d2.issued_at + Duration::from_secs(1);
    let b = Signed::sign(&kp, d2).unwrap();
    assert!(supersedes(&b, &a));
    assert!(!supersedes(&a, &b));
    assert!(!supersedes(&a, &a));
    // Same stamp, different content: exactly one direction wins.
    let mut d3 = cd(&kp);
    d3.qos.load_bp = Some(5_000);
    let c = Signed::sign(&kp, d3).unwrap();
    assert!(supersedes(&a, &c) ^ supersedes(&c, &a));
    // Another capability never supersedes.
    let mut d4 = cd(&kp);
    d4.capability = "image.edit".into();
    d4.issued_at = d4.issued_at + Duration::from_secs(5);
    assert!(!supersedes(&Signed::sign(&kp, d4).unwrap(), &a));
}

#[test]
fn topics() {
    let t = Topic::new("creative/image").unwrap();
    assert!(t.is_within(&Topic::new("creative").unwrap()));
    assert!(
        !Topic::new("creatives/image")
            .unwrap()
            .is_within(&Topic::new("creative").unwrap())
    );
    assert!(Topic::new("Creative").is_err());
    assert!(Topic::new("a/b/c/d/e/f/g/h/i").is_err());
}

#[test]
fn topics_are_checked_when_decoded() {
    let l = crate::wire::Limits::default();
    let t = Topic::new("creative/image").unwrap();
    let bytes = crate::wire::encode_cbor(&t).unwrap();
    assert_eq!(crate::wire::decode_cbor::<Topic>(&bytes, &l).unwrap(), t);
    for bad in ["", "\u{1b}[2J", "UPPER", "a//b", &"x".repeat(200)] {
        let bytes = crate::wire::encode_cbor(&bad.to_string()).unwrap();
        assert!(
            crate::wire::decode_cbor::<Topic>(&bytes, &l).is_err(),
            "{bad:?} decoded"
        );
    }
}
