//! Fraud proofs: non-contradictions are refused at construction and at verification, and
//! non-canonical or wrong-kind frames are refused.

use super::*;

#[test]
fn non_contradictions_are_refused_at_construction() {
    let kp = provider();
    let l = limits();
    // Equivocation: same header, other seq, other author.
    let h = header(&kp, 3, b"one");
    assert!(matches!(
        FraudProof::equivocation(&h, &h),
        Err(FraudError::Equivocation(_))
    ));
    assert!(FraudProof::equivocation(&h, &header(&kp, 4, b"two")).is_err());
    assert!(FraudProof::equivocation(&h, &header(&stranger(), 3, b"two")).is_err());
    // Chain fork: one entry twice, or an entry and its own successor.
    let g = genesis();
    let a = BindingEntry::config_change(&g, &kp, baid_inputs(2), t(1)).unwrap();
    assert!(matches!(
        FraudProof::chain_fork(&a, &a),
        Err(FraudError::ChainFork(_))
    ));
    assert!(FraudProof::chain_fork(&g, &a).is_err());
    let b = BindingEntry::config_change(&a, &kp, baid_inputs(3), t(2)).unwrap();
    assert!(FraudProof::chain_fork(&a, &b).is_err());
    // Receipt contradiction: an honest package.
    assert!(matches!(
        FraudProof::receipt_contradiction(&honest_package(), &l),
        Err(FraudError::NotAContradiction(_))
    ));
    // ... a chain with a gap, a foreign receipt, a bad link, another task, no receipts.
    let edits: [fn(usize, &mut R, &mut Keypair); 4] = [
        |i, r, _| {
            if i == 1 {
                r.step = 4
            }
        },
        |i, _, kp| {
            if i == 2 {
                *kp = stranger()
            }
        },
        |i, r, _| {
            if i == 2 {
                r.prev = None
            }
        },
        |i, r, _| {
            if i == 0 {
                r.task = TaskId(Hash([1; 32]))
            }
        },
    ];
    for edit in edits {
        let rs = chain_with(edit);
        let pkg = raw_package(&kp, task(), payload_hash(b"z"), envelopes(&rs), None);
        assert!(
            matches!(
                FraudProof::receipt_contradiction(&pkg, &l),
                Err(FraudError::BrokenChain(_))
            ),
            "{:?}",
            FraudProof::receipt_contradiction(&pkg, &l)
        );
    }
    let empty = raw_package(&kp, task(), payload_hash(b"z"), vec![], None);
    assert_eq!(
        FraudProof::receipt_contradiction(&empty, &l),
        Err(FraudError::BrokenChain(EvidenceFault::NoReceipts))
    );
    // Answer contradiction: an answer that opens the commitment, another subject, another
    // agent.
    let c = commitment(&kp, b"yes");
    let yes = Answer::sign(&kp, subject(), b"yes".to_vec(), t(5)).unwrap();
    assert!(matches!(
        FraudProof::answer_contradiction(&c, &yes),
        Err(FraudError::NotAContradiction(_))
    ));
    let elsewhere = Answer::sign(&kp, Hash([7; 32]), b"no".to_vec(), t(5)).unwrap();
    assert!(FraudProof::answer_contradiction(&c, &elsewhere).is_err());
    let theirs = Answer::sign(&stranger(), subject(), b"no".to_vec(), t(5)).unwrap();
    assert!(FraudProof::answer_contradiction(&c, &theirs).is_err());
}

#[test]
fn hand_built_non_contradictions_fail_verification() {
    let kp = provider();
    let l = limits();
    let c = commitment(&kp, b"yes");
    let yes = Answer::sign(&kp, subject(), b"yes".to_vec(), t(5)).unwrap();
    let p = FraudProof::AnswerContradiction {
        commitment: Bytes::from(c.to_envelope()),
        answer: Bytes::from(yes.to_envelope()),
    };
    assert!(matches!(
        p.verify(&l),
        Err(FraudError::NotAContradiction(_))
    ));
    assert!(FraudProof::from_frame(&p.to_frame(), &l).is_err());
    // Parts swapped: each fails to decode as the other type's signature domain.
    let no = Answer::sign(&kp, subject(), b"no".to_vec(), t(5)).unwrap();
    let swapped = FraudProof::AnswerContradiction {
        commitment: Bytes::from(no.to_envelope()),
        answer: Bytes::from(c.to_envelope()),
    };
    assert!(matches!(
        swapped.verify(&l),
        Err(FraudError::Part {
            part: ProofPart::Commitment,
            ..
        })
    ));
    let honest = FraudProof::ReceiptContradiction {
        package: Bytes::from(honest_package().to_envelope()),
    };
    assert!(matches!(
        honest.verify(&l),
        Err(FraudError::NotAContradiction(_))
    ));
}

#[test]
fn non_canonical_and_wrong_kind_frames_are_refused() {
    let l = limits();
    // An extra map entry that serde would ignore: same proof value, different bytes.
    let proof = answer_contradiction();
    let FraudProof::AnswerContradiction { commitment, answer } = &proof else {
        unreachable!()
    };
    #[derive(serde::Serialize)]
    struct Padded<'a> {
        #[serde(with = "serde_bytes")]
        commitment: &'a [u8],
        #[serde(with = "serde_bytes")]
        answer: &'a [u8],
        extra: u8,
    }
    #[derive(serde::Serialize)]
    enum Outer<'a> {
        AnswerContradiction(Padded<'a>),
    }
    let padded = wire::encode_frame(
        agentnet_trust::wire::FRAUD_PROOF,
        &Outer::AnswerContradiction(Padded {
            commitment,
            answer,
            extra: 0,
        }),
    )
    .unwrap();
    assert_eq!(
        FraudProof::from_frame(&padded, &l).unwrap_err(),
        FraudError::NotCanonical
    );
    // The right payload under another kind.
    let f = proof.to_frame();
    let mut v = f.to_vec();
    v[2] ^= 0x01;
    assert!(matches!(
        FraudProof::from_frame(&Bytes::from(v), &l),
        Err(FraudError::Wire(WireError::WrongKind { .. }))
    ));
    assert!(FraudProof::from_frame(&Bytes::from_static(&[1, 2]), &l).is_err());
    let small = Limits { max_frame: 64, ..l };
    assert!(matches!(
        FraudProof::from_frame(&f, &small),
        Err(FraudError::Wire(WireError::FrameTooLarge { .. }))
    ));
}
