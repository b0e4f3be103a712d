use super::*;
use agentnet_core::Keypair;
use agentnet_core::test_support::wall_ms;

fn chain(kp: &Keypair, task: TaskId, n: usize) -> ReceiptChain {
    let mut c = ReceiptChain::new(kp.id(), task);
    for i in 0..n {
        let out = payload_hash(format!("out{i}").as_bytes());
        c.record(
            kp,
            "search",
            payload_hash(b"in"),
            out,
            wall_ms(i as u64 * 10),
            wall_ms(i as u64 * 10 + 5),
        )
        .unwrap();
    }
    c
}

#[test]
fn builder_links_and_refuses_dishonest_packages() {
    let kp = Keypair::from_seed([1; 32]);
    let task = TaskId(Hash([7; 32]));
    let c = chain(&kp, task, 3);
    let r = c.receipts();
    assert_eq!(r[0].prev, None);
    assert_eq!(r[1].prev, Some(r[0].hash()));
    assert_eq!(r[2].step, 2);
    let last = c.last_output().unwrap();
    assert!(c.finish(&kp, last, None).is_ok());
    assert_eq!(
        c.finish(&kp, Hash([0; 32]), None),
        Err(EvidenceError::ResultNotChainEnd)
    );
    let other = Keypair::from_seed([2; 32]);
    assert_eq!(
        EvidencePackage::build(&other, task, last, r, None),
        Err(EvidenceError::NotAChain(0))
    );
    let mut skipped = r.to_vec();
    skipped.remove(1);
    assert_eq!(
        EvidencePackage::build(&kp, task, last, &skipped, None),
        Err(EvidenceError::NotAChain(1))
    );
    assert_eq!(
        EvidencePackage::build(&kp, task, last, &[], None),
        Err(EvidenceError::EmptyChain)
    );
    let mut c2 = ReceiptChain::new(kp.id(), task);
    assert_eq!(
        c2.record(
            &kp,
            "x",
            Hash([0; 32]),
            Hash([0; 32]),
            wall_ms(5),
            wall_ms(1)
        )
        .unwrap_err(),
        EvidenceError::EndBeforeStart
    );
    assert!(matches!(
        c2.record(
            &kp,
            "",
            Hash([0; 32]),
            Hash([0; 32]),
            wall_ms(1),
            wall_ms(1)
        ),
        Err(EvidenceError::Bounds(_))
    ));
    assert!(matches!(
        c2.record(
            &other,
            "x",
            Hash([0; 32]),
            Hash([0; 32]),
            wall_ms(1),
            wall_ms(1)
        ),
        Err(EvidenceError::Signed(SignedError::SignerMismatch { .. }))
    ));
}

#[test]
fn claim_of_chain_equals_claim_of_package() {
    let kp = Keypair::from_seed([1; 32]);
    let c = chain(&kp, TaskId(Hash([7; 32])), 2);
    let res = c.last_output().unwrap();
    let p = c.finish(&kp, res, None).unwrap();
    assert_eq!(c.claim(res), p.claim());
    assert_ne!(c.claim(res).digest(), c.claim(Hash([1; 32])).digest());
}

#[test]
fn policy_validation() {
    let p = EvidencePolicy::new(
        TaskId::default(),
        AgentId::from_bytes([0; 32]),
        Hash::default(),
        wall_ms(0),
        wall_ms(1),
    );
    assert_eq!(p.validate(), Ok(()));
    let bad = EvidencePolicy {
        max_receipts: 0,
        ..p.clone()
    };
    assert_eq!(bad.validate(), Err(PolicyError::MaxReceipts(0)));
    let bad = EvidencePolicy {
        not_after: wall_ms(0),
        not_before: wall_ms(1),
        ..p.clone()
    };
    assert_eq!(bad.validate(), Err(PolicyError::EmptyWindow));
    let mut bad = p;
    for i in 0..=MAX_REQUIRED_TOOLS {
        bad = bad.with_required_tool(&format!("t{i}"));
    }
    assert!(matches!(
        bad.validate(),
        Err(PolicyError::TooManyRequiredTools(_))
    ));
}

#[test]
fn commitments_open_only_with_the_same_value_and_subject() {
    let kp = Keypair::from_seed([3; 32]);
    let s = Hash([4; 32]);
    let c = Commitment::new(kp.id(), s, b"42", wall_ms(0));
    let a = Answer::sign(&kp, s, b"42".to_vec(), wall_ms(1)).unwrap();
    assert!(c.is_opened_by(&a));
    let b = Answer::sign(&kp, s, b"43".to_vec(), wall_ms(1)).unwrap();
    assert!(!c.is_opened_by(&b));
    let other_subject = Answer::sign(&kp, Hash([5; 32]), b"42".to_vec(), wall_ms(1)).unwrap();
    assert!(!c.is_opened_by(&other_subject));
    assert!(matches!(
        Answer::sign(&kp, s, vec![0; MAX_ANSWER_LEN + 1], wall_ms(1)),
        Err(EvidenceError::Bounds(_))
    ));
}
