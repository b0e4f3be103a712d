//! Evidence: the honest path, and each fault class reported with its index and nothing else.

use super::*;

#[test]
fn honest_chain_verifies() {
    let pkg = honest_package();
    let v = check(&pkg, &policy()).unwrap();
    assert_eq!(v.provider(), provider().id());
    assert_eq!(v.task(), task());
    assert_eq!(v.result_hash(), out(2));
    assert_eq!(v.package_hash(), pkg.hash());
    assert_eq!(v.receipt_count(), 3);
    assert!(!v.attested());
    // The same through a frame, and from an already verified `Signed`.
    let f = verify_evidence_frame(
        &pkg.to_frame(),
        &policy(),
        &RejectAllAttestations,
        &limits(),
    );
    assert_eq!(f, Ok(v.clone()));
    let s = verify_signed_evidence(pkg.clone(), &policy(), &RejectAllAttestations, &limits());
    assert_eq!(s, Ok(v));
    // Required tools that are present are fine.
    let p = policy()
        .with_required_tool("fetch")
        .with_required_tool("format");
    assert!(check(&pkg, &p).is_ok());
    // A hand-assembled chain equals the builder's.
    let by_hand = raw_package(
        &provider(),
        task(),
        out(2),
        envelopes(&chain_with(|_, _, _| {})),
        None,
    );
    assert!(check(&by_hand, &policy()).is_ok());
}

#[test]
fn builder_refuses_a_self_contradicting_package() {
    let kp = provider();
    let rs = chain_with(|_, _, _| {});
    assert_eq!(
        EvidencePackage::build(&kp, task(), out(7), &rs, None),
        Err(EvidenceError::ResultNotChainEnd)
    );
}

fn faults_for_chain(rs: &[Signed<ToolReceipt>]) -> Vec<EvidenceFault> {
    let result = rs.last().map(|r| r.output_hash).unwrap_or(out(2));
    faults_of(check(
        &raw_package(&provider(), task(), result, envelopes(rs), None),
        &EvidencePolicy {
            delivered_result: result,
            ..policy()
        },
    ))
}

#[test]
fn bad_receipt_signature_is_reported_at_its_index_without_cascade() {
    let rs = chain_with(|_, _, _| {});
    let mut envs = envelopes(&rs);
    let mut e1 = envs[1].to_vec();
    e1[40] ^= 0x01; // inside the signature
    envs[1] = Bytes::from(e1);
    let f = faults_of(check(
        &raw_package(&provider(), task(), out(2), envs, None),
        &policy(),
    ));
    assert_eq!(f, vec![EvidenceFault::BadReceiptSignature { index: 1 }]);
}

#[test]
fn receipt_by_someone_else_is_reported() {
    let rs = chain_with(|i, _, kp| {
        if i == 1 {
            *kp = stranger();
        }
    });
    assert_eq!(
        faults_for_chain(&rs),
        vec![EvidenceFault::ReceiptNotByProvider {
            index: 1,
            signer: stranger().id()
        }]
    );
}

#[test]
fn receipt_for_another_task_is_reported() {
    let other = TaskId(Hash([9; 32]));
    let rs = chain_with(|i, r, _| {
        if i == 2 {
            r.task = other;
        }
    });
    assert_eq!(
        faults_for_chain(&rs),
        vec![EvidenceFault::ReceiptWrongTask {
            index: 2,
            found: other
        }]
    );
}

#[test]
fn step_out_of_order_is_reported() {
    let rs = chain_with(|i, r, _| {
        if i == 1 {
            r.step = 5;
        }
    });
    assert_eq!(
        faults_for_chain(&rs),
        vec![EvidenceFault::StepOutOfOrder {
            index: 1,
            expected: 1,
            found: 5
        }]
    );
}

#[test]
fn broken_links_are_reported() {
    let rs = chain_with(|i, r, _| {
        if i == 1 {
            r.prev = Some(Hash([9; 32]));
        }
    });
    assert_eq!(
        faults_for_chain(&rs),
        vec![EvidenceFault::BrokenLink { index: 1 }]
    );
    let rs = chain_with(|i, r, _| {
        if i == 0 {
            r.prev = Some(Hash([9; 32]));
        }
    });
    assert_eq!(
        faults_for_chain(&rs),
        vec![EvidenceFault::BrokenLink { index: 0 }]
    );
    // Reordered receipts: both moved ones break the links and the steps.
    let rs = chain_with(|_, _, _| {});
    let reordered = vec![rs[0].clone(), rs[2].clone(), rs[1].clone()];
    let f = faults_for_chain(&reordered);
    assert!(f.contains(&EvidenceFault::BrokenLink { index: 1 }));
    assert!(f.contains(&EvidenceFault::BrokenLink { index: 2 }));
    assert!(f.contains(&EvidenceFault::StepOutOfOrder {
        index: 1,
        expected: 1,
        found: 2
    }));
}

#[test]
fn times_are_checked() {
    let rs = chain_with(|i, r, _| {
        if i == 1 {
            r.start = -60_000; // a minute before the task started; skew is 30 s
        }
    });
    assert_eq!(
        faults_for_chain(&rs),
        vec![EvidenceFault::OutsideWindow { index: 1 }]
    );
    let rs = chain_with(|i, r, _| {
        if i == 2 {
            r.end = 1_000 + 31_000; // ends after delivery + skew
        }
    });
    assert_eq!(
        faults_for_chain(&rs),
        vec![EvidenceFault::OutsideWindow { index: 2 }]
    );
    // Within the skew is fine.
    let rs = chain_with(|i, r, _| {
        if i == 0 {
            r.start = -29_000;
        }
    });
    let result = rs[2].output_hash;
    assert!(
        check(
            &raw_package(&provider(), task(), result, envelopes(&rs), None),
            &policy()
        )
        .is_ok()
    );
    let rs = chain_with(|i, r, _| {
        if i == 1 {
            r.start = 170;
            r.end = 160;
        }
    });
    assert_eq!(
        faults_for_chain(&rs),
        vec![EvidenceFault::StartAfterEnd { index: 1 }]
    );
}

#[test]
fn result_faults_are_reported() {
    let rs = chain_with(|_, _, _| {});
    // The package claims a result the chain did not produce (and the requester got it).
    let claimed = payload_hash(b"something else");
    let pkg = raw_package(&provider(), task(), claimed, envelopes(&rs), None);
    let p = EvidencePolicy {
        delivered_result: claimed,
        ..policy()
    };
    assert_eq!(
        faults_of(check(&pkg, &p)),
        vec![EvidenceFault::FinalOutputMismatch {
            final_output: out(2),
            result_hash: claimed
        }]
    );
    // The requester received bytes other than what the package names.
    let got = payload_hash(b"what arrived");
    let p = EvidencePolicy {
        delivered_result: got,
        ..policy()
    };
    assert_eq!(
        faults_of(check(&honest_package(), &p)),
        vec![EvidenceFault::ResultMismatch {
            delivered: got,
            claimed: out(2)
        }]
    );
}

#[test]
fn package_level_faults_are_reported() {
    let p = EvidencePolicy {
        provider: stranger().id(),
        ..policy()
    };
    assert_eq!(
        faults_of(check(&honest_package(), &p)),
        vec![EvidenceFault::WrongProvider {
            expected: stranger().id(),
            found: provider().id()
        }]
    );
    let other = TaskId(Hash([8; 32]));
    let p = EvidencePolicy {
        task: other,
        ..policy()
    };
    assert_eq!(
        faults_of(check(&honest_package(), &p)),
        vec![EvidenceFault::WrongTask {
            expected: other,
            found: task()
        }]
    );
    let p = policy().with_required_tool("compile");
    assert_eq!(
        faults_of(check(&honest_package(), &p)),
        vec![EvidenceFault::RequiredToolMissing {
            tool: "compile".into()
        }]
    );
    let p = EvidencePolicy {
        max_receipts: 2,
        ..policy()
    };
    assert_eq!(
        faults_of(check(&honest_package(), &p)),
        vec![EvidenceFault::TooManyReceipts { count: 3, max: 2 }]
    );
    let empty = raw_package(&provider(), task(), out(2), vec![], None);
    assert_eq!(
        faults_of(check(&empty, &policy())),
        vec![EvidenceFault::NoReceipts]
    );
    let bad_policy = EvidencePolicy {
        max_receipts: 0,
        ..policy()
    };
    assert!(matches!(
        faults_of(check(&honest_package(), &bad_policy))[..],
        [EvidenceFault::InvalidPolicy(_)]
    ));
}

#[test]
fn malformed_receipt_is_reported_at_its_index() {
    let rs = chain_with(|_, _, _| {});
    let mut envs = envelopes(&rs);
    envs[2] = Bytes::from_static(&[0x83, 0x01]);
    let f = faults_of(check(
        &raw_package(&provider(), task(), out(2), envs, None),
        &policy(),
    ));
    assert!(
        matches!(f[..], [EvidenceFault::MalformedReceipt { index: 2, .. }]),
        "{f:?}"
    );
    // A validly signed receipt with an out-of-bounds tool name is malformed too.
    let long = chain_with(|i, r, _| {
        if i == 0 {
            r.tool = Box::leak("x".repeat(200).into_boxed_str());
        }
    });
    let f = faults_for_chain(&long);
    assert!(
        matches!(f[..], [EvidenceFault::MalformedReceipt { index: 0, .. }]),
        "{f:?}"
    );
}

#[test]
fn a_package_with_several_faults_reports_all_of_them() {
    let other = TaskId(Hash([9; 32]));
    let rs = vec![
        R {
            step: 0,
            ..R::honest(0, None)
        }
        .sign(&provider()),
    ];
    let mut rs = rs;
    // r1: wrong task; r2: outside the window, wrong step; r3: by a stranger; r4: bad signature.
    rs.push(
        R {
            task: other,
            ..R::honest(1, Some(rs[0].hash()))
        }
        .sign(&provider()),
    );
    rs.push(
        R {
            step: 7,
            start: 900_000,
            end: 900_001,
            ..R::honest(2, Some(rs[1].hash()))
        }
        .sign(&provider()),
    );
    rs.push(R::honest(3, Some(rs[2].hash())).sign(&stranger()));
    rs.push(R::honest(4, Some(rs[3].hash())).sign(&provider()));
    let mut envs = envelopes(&rs);
    let mut last = envs[4].to_vec();
    last[3] ^= 0x01; // inside the signer key
    envs[4] = Bytes::from(last);
    let claimed = payload_hash(b"claimed");
    let pkg = raw_package(&provider(), task(), claimed, envs, None);
    let p = policy().with_attestation().with_required_tool("compile");
    let f = faults_of(check(&pkg, &p));
    assert_eq!(
        f,
        vec![
            EvidenceFault::ResultMismatch {
                delivered: out(2),
                claimed
            },
            EvidenceFault::ReceiptWrongTask {
                index: 1,
                found: other
            },
            EvidenceFault::StepOutOfOrder {
                index: 2,
                expected: 2,
                found: 7
            },
            EvidenceFault::OutsideWindow { index: 2 },
            EvidenceFault::ReceiptNotByProvider {
                index: 3,
                signer: stranger().id()
            },
            EvidenceFault::BadReceiptSignature { index: 4 },
            EvidenceFault::RequiredToolMissing {
                tool: "compile".into()
            },
            EvidenceFault::AttestationMissing,
        ]
    );
    for fault in &f {
        if let Some(i) = fault.index() {
            assert!((1..=4).contains(&i));
        }
    }
}
