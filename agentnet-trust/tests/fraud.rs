//! Evidence verification and fraud proofs, end to end through the public API.
//!
//! Required by the issue: every fraud-proof kind verifies when genuine and fails when any byte
//! is altered (`*_any_altered_byte_*`, exhaustively and by proptest).

use std::sync::OnceLock;

use agentnet_core::descriptor::Topic;
use agentnet_core::log_header::{EntryKind, LogHeader};
use agentnet_core::test_support::EPOCH_MS;
use agentnet_core::wire::{self, Limits, WireError};
use agentnet_core::{AgentId, Hash, Keypair, Signature, Signed, SignedObject, WallTime};
use agentnet_trust::baid::{AgentConfig, BaidInputs, BindingEntry, PrincipalCommitment};
use agentnet_trust::evidence::{
    Answer, Attestation, AttestationRejected, AttestationVerifier, AttestedClaim, Commitment,
    EvidenceFault, EvidencePackage, EvidencePolicy, EvidenceReport, MAX_RECEIPTS,
    RejectAllAttestations, TaskId, ToolReceipt, VerifiedEvidence, payload_hash, verify_evidence,
    verify_evidence_frame, verify_signed_evidence,
};
use agentnet_trust::evidence::{EvidenceError, ReceiptChain};
use agentnet_trust::fraud::{FraudError, FraudKind, FraudProof, ProofPart};
use bytes::Bytes;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

/// Wall time `ms` ms from `EPOCH_MS`; signed, because receipts here are stamped before the start
/// too (`test_support::wall_ms` only goes forward).
fn t(ms: i64) -> WallTime {
    WallTime::from_unix_millis((EPOCH_MS as i64 + ms) as u64)
}

fn provider() -> Keypair {
    Keypair::from_seed([1; 32])
}

fn stranger() -> Keypair {
    Keypair::from_seed([2; 32])
}

fn enclave() -> Keypair {
    Keypair::from_seed([3; 32])
}

fn task() -> TaskId {
    TaskId(payload_hash(b"task: summarise the report"))
}

fn out(i: u32) -> Hash {
    payload_hash(format!("output {i}").as_bytes())
}

fn limits() -> Limits {
    Limits::default()
}

/// Receipt fields that tests vary.
#[derive(Clone)]
struct R {
    task: TaskId,
    step: u32,
    tool: &'static str,
    output: Hash,
    prev: Option<Hash>,
    start: i64,
    end: i64,
}

impl R {
    fn honest(step: u32, prev: Option<Hash>) -> Self {
        R {
            task: task(),
            step,
            tool: ["fetch", "summarise", "format"][step as usize % 3],
            output: out(step),
            prev,
            start: i64::from(step) * 100,
            end: i64::from(step) * 100 + 50,
        }
    }

    fn sign(&self, kp: &Keypair) -> Signed<ToolReceipt> {
        Signed::sign(
            kp,
            ToolReceipt {
                agent: kp.id(),
                task: self.task,
                step: self.step,
                tool: self.tool.into(),
                input_hash: payload_hash(b"input"),
                output_hash: self.output,
                started_at: t(self.start),
                ended_at: t(self.end),
                prev: self.prev,
            },
        )
        .unwrap()
    }
}

/// Three honest receipts, with `edit(i, &mut R, &mut signer)` applied before signing receipt
/// `i`; links follow whatever was signed.
fn chain_with(mut edit: impl FnMut(usize, &mut R, &mut Keypair)) -> Vec<Signed<ToolReceipt>> {
    let mut out: Vec<Signed<ToolReceipt>> = Vec::new();
    for i in 0..3u32 {
        let mut r = R::honest(i, out.last().map(Signed::hash));
        let mut kp = provider();
        edit(i as usize, &mut r, &mut kp);
        out.push(r.sign(&kp));
    }
    out
}

fn envelopes(rs: &[Signed<ToolReceipt>]) -> Vec<Bytes> {
    rs.iter().map(|r| Bytes::from(r.to_envelope())).collect()
}

/// A package signed as-is (no honesty checks), for building faulty evidence.
fn raw_package(
    kp: &Keypair,
    task: TaskId,
    result_hash: Hash,
    receipts: Vec<Bytes>,
    attestation: Option<Attestation>,
) -> Signed<EvidencePackage> {
    Signed::sign(
        kp,
        EvidencePackage {
            agent: kp.id(),
            task,
            result_hash,
            receipts,
            attestation,
        },
    )
    .unwrap()
}

fn honest_package() -> Signed<EvidencePackage> {
    let kp = provider();
    let mut c = ReceiptChain::new(kp.id(), task());
    for i in 0..3u32 {
        c.record(
            &kp,
            ["fetch", "summarise", "format"][i as usize],
            payload_hash(b"input"),
            out(i),
            t(i64::from(i) * 100),
            t(i64::from(i) * 100 + 50),
        )
        .unwrap();
    }
    c.finish(&kp, out(2), None).unwrap()
}

fn policy() -> EvidencePolicy {
    EvidencePolicy::new(task(), provider().id(), out(2), t(0), t(1_000))
}

fn check(
    pkg: &Signed<EvidencePackage>,
    policy: &EvidencePolicy,
) -> Result<VerifiedEvidence, EvidenceReport> {
    verify_evidence(
        &pkg.to_envelope(),
        policy,
        &RejectAllAttestations,
        &limits(),
    )
}

fn faults_of(r: Result<VerifiedEvidence, EvidenceReport>) -> Vec<EvidenceFault> {
    r.expect_err("expected the package to be refused")
        .faults()
        .to_vec()
}

/// A stand-in attestation protocol: the "enclave" signs the claim digest with its Ed25519 key.
struct EnclaveVerifier {
    enclave: AgentId,
}

const ENCLAVE_FORMAT: &str = "test-enclave-ed25519";
const ENCLAVE_CONTEXT: &str = "agentnet/test/enclave-report";

impl AttestationVerifier for EnclaveVerifier {
    fn verify(
        &self,
        claim: &AttestedClaim,
        attestation: &Attestation,
    ) -> Result<(), AttestationRejected> {
        if attestation.format != ENCLAVE_FORMAT {
            return Err(AttestationRejected::Unsupported {
                format: attestation.format.clone(),
                reason: "only the test enclave is trusted".into(),
            });
        }
        let sig: [u8; 64] = attestation
            .bytes
            .as_slice()
            .try_into()
            .map_err(|_| AttestationRejected::Invalid("report must be 64 bytes".into()))?;
        self.enclave
            .verify(ENCLAVE_CONTEXT, claim.digest().as_bytes(), &Signature(sig))
            .map_err(|e| AttestationRejected::Invalid(e.to_string()))
    }
}

fn attest(by: &Keypair, claim: &AttestedClaim) -> Attestation {
    Attestation {
        format: ENCLAVE_FORMAT.into(),
        bytes: by
            .sign_bytes(ENCLAVE_CONTEXT, claim.digest().as_bytes())
            .0
            .to_vec(),
    }
}

/// An envelope `[signer, signature, body]` built by hand (to forge what `Signed` refuses).
fn hand_envelope(signer: &AgentId, sig: &Signature, body: &[u8]) -> Vec<u8> {
    wire::encode_cbor(&(
        serde_bytes::Bytes::new(signer.as_bytes()),
        serde_bytes::Bytes::new(sig.as_bytes()),
        serde_bytes::Bytes::new(body),
    ))
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Evidence: honest path
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Evidence: each fault class, with its index, and nothing else
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Evidence: attestations
// ---------------------------------------------------------------------------------------------

fn attested_package(by: &Keypair, claim_result: Hash) -> Signed<EvidencePackage> {
    let rs = chain_with(|_, _, _| {});
    let claim = AttestedClaim::for_chain(provider().id(), task(), claim_result, &rs);
    EvidencePackage::build(&provider(), task(), out(2), &rs, Some(attest(by, &claim))).unwrap()
}

#[test]
fn attestation_required_rejected_and_accepted() {
    let enclave_verifier = EnclaveVerifier {
        enclave: enclave().id(),
    };
    let lim = limits();
    let req = policy().with_attestation();
    // Required but missing.
    assert_eq!(
        faults_of(check(&honest_package(), &req)),
        vec![EvidenceFault::AttestationMissing]
    );
    // Required; the default verifier trusts no format.
    let good = attested_package(&enclave(), out(2));
    let f = faults_of(check(&good, &req));
    assert!(
        matches!(
            f[..],
            [EvidenceFault::AttestationRejected(
                AttestationRejected::Unsupported { .. }
            )]
        ),
        "{f:?}"
    );
    // Not required: an attestation nobody can judge is ignored.
    let v = check(&good, &policy()).unwrap();
    assert!(!v.attested());
    // The stand-in enclave verifier accepts a genuine report.
    let v = verify_evidence(&good.to_envelope(), &req, &enclave_verifier, &lim).unwrap();
    assert!(v.attested());
    // A report by another key, or over another claim, is invalid — a fault even when not
    // required, since the provider made a false claim.
    for bad in [
        attested_package(&stranger(), out(2)),
        attested_package(&enclave(), out(9)),
    ] {
        for p in [&req, &policy()] {
            let f = faults_of(verify_evidence(
                &bad.to_envelope(),
                p,
                &enclave_verifier,
                &lim,
            ));
            assert!(
                matches!(
                    f[..],
                    [EvidenceFault::AttestationRejected(
                        AttestationRejected::Invalid(_)
                    )]
                ),
                "{f:?}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Evidence: malformed input and attribution
// ---------------------------------------------------------------------------------------------

#[test]
fn malformed_and_oversized_packages_give_typed_errors() {
    let l = limits();
    let v = &RejectAllAttestations;
    let one = |r: Result<VerifiedEvidence, EvidenceReport>| {
        let rep = r.unwrap_err();
        assert_eq!(rep.faults().len(), 1);
        assert!(rep.package().is_none());
        assert!(rep.rejection().is_none());
        rep.faults()[0].clone()
    };
    assert!(matches!(
        one(verify_evidence(&[], &policy(), v, &l)),
        EvidenceFault::MalformedPackage(_)
    ));
    let env = honest_package().to_envelope();
    assert!(matches!(
        one(verify_evidence(&env[..env.len() - 1], &policy(), v, &l)),
        EvidenceFault::MalformedPackage(_)
    ));
    let small = Limits {
        max_frame: 200,
        ..l
    };
    let frame = honest_package().to_frame();
    assert!(matches!(
        one(verify_evidence_frame(&frame, &policy(), v, &small)),
        EvidenceFault::MalformedPackage(WireError::FrameTooLarge { .. })
    ));
    let wrong_kind = wire::frame_from_payload(ToolReceipt::KIND, &env);
    assert!(matches!(
        one(verify_evidence_frame(&wrong_kind, &policy(), v, &l)),
        EvidenceFault::MalformedPackage(WireError::WrongKind { .. })
    ));
    // More receipts than the protocol allows: refused before any receipt is looked at.
    let many = raw_package(
        &provider(),
        task(),
        out(2),
        vec![Bytes::from_static(b"x"); MAX_RECEIPTS + 1],
        None,
    );
    let rep = check(&many, &policy()).unwrap_err();
    assert!(matches!(
        rep.faults()[..],
        [EvidenceFault::MalformedPackage(WireError::Schema(_))]
    ));
    // Tampered package signature.
    let mut bad = env.clone();
    bad[60] ^= 0x01;
    assert!(matches!(
        one(verify_evidence(&bad, &policy(), v, &l)),
        EvidenceFault::BadPackageSignature(_)
    ));
    // A body naming the provider, signed by a stranger.
    let body = honest_package().body().clone();
    let sig = stranger().sign_bytes(EvidencePackage::CONTEXT, &body);
    let forged = hand_envelope(&stranger().id(), &sig, &body);
    assert_eq!(
        one(verify_evidence(&forged, &policy(), v, &l)),
        EvidenceFault::PackageSignerMismatch {
            signer: stranger().id(),
            author: provider().id()
        }
    );
}

#[test]
fn rejections_are_attributed_only_to_the_signer() {
    let p = policy().with_required_tool("compile");
    let rep = check(&honest_package(), &p).unwrap_err();
    let r = rep
        .rejection()
        .expect("provider signed the failing package");
    assert_eq!(r.provider(), provider().id());
    assert_eq!(r.task(), task());
    assert_eq!(r.package_hash(), honest_package().hash());
    assert_eq!(r.fault_count(), 1);
    // A package by someone other than the delegate says nothing about the delegate.
    let p = EvidencePolicy {
        provider: stranger().id(),
        ..policy()
    };
    assert!(
        check(&honest_package(), &p)
            .unwrap_err()
            .rejection()
            .is_none()
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_package_decoder(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048)
    ) {
        let l = limits();
        let _ = verify_evidence(&bytes, &policy(), &RejectAllAttestations, &l);
        let _ = Signed::<EvidencePackage>::from_envelope(&bytes, &l);
        let framed = wire::frame_from_payload(agentnet_trust::wire::EVIDENCE, &bytes);
        let _ = verify_evidence_frame(&framed, &policy(), &RejectAllAttestations, &l);
        let _ = verify_evidence_frame(&Bytes::from(bytes), &policy(), &RejectAllAttestations, &l);
    }

    #[test]
    fn altered_packages_are_refused_without_panicking(
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let env = honest_package_envelope();
        let mut v = env.to_vec();
        let i = pos.index(v.len());
        v[i] ^= xor;
        prop_assert!(verify_evidence(&v, &policy(), &RejectAllAttestations, &limits()).is_err());
    }
}

fn honest_package_envelope() -> &'static [u8] {
    static ENV: OnceLock<Vec<u8>> = OnceLock::new();
    ENV.get_or_init(|| honest_package().to_envelope())
}

// ---------------------------------------------------------------------------------------------
// Fraud proofs: genuine proofs of every kind
// ---------------------------------------------------------------------------------------------

fn header(kp: &Keypair, seq: u64, body: &[u8]) -> Signed<LogHeader> {
    Signed::sign(
        kp,
        LogHeader {
            author: kp.id(),
            topic: Topic::new("code/review").unwrap(),
            seq,
            prev: (seq > 1).then_some(Hash([4; 32])),
            kind: EntryKind::DESCRIPTOR,
            body_hash: Hash::digest("agentnet/test/body", body),
            body_len: body.len() as u32,
            issued_at: t(0),
            ttl_ms: 15_000,
            sketch: None,
        },
    )
    .unwrap()
}

fn equivocation() -> FraudProof {
    let kp = provider();
    FraudProof::equivocation(&header(&kp, 3, b"one"), &header(&kp, 3, b"two")).unwrap()
}

fn contradicting_package() -> Signed<EvidencePackage> {
    let rs = chain_with(|_, _, _| {});
    raw_package(
        &provider(),
        task(),
        payload_hash(b"not what the chain produced"),
        envelopes(&rs),
        None,
    )
}

fn receipt_contradiction() -> FraudProof {
    FraudProof::receipt_contradiction(&contradicting_package(), &limits()).unwrap()
}

fn subject() -> Hash {
    Hash([6; 32])
}

fn commitment(kp: &Keypair, value: &[u8]) -> Signed<Commitment> {
    Signed::sign(kp, Commitment::new(kp.id(), subject(), value, t(0))).unwrap()
}

fn answer_contradiction() -> FraudProof {
    let kp = provider();
    let a = Answer::sign(&kp, subject(), b"no".to_vec(), t(10)).unwrap();
    FraudProof::answer_contradiction(&commitment(&kp, b"yes"), &a).unwrap()
}

fn principal() -> PrincipalCommitment {
    PrincipalCommitment::new(b"acme corp", &[9; 32])
}

fn baid_inputs(tag: u8) -> BaidInputs {
    BaidInputs {
        code_hash: Hash([tag; 32]),
        config_digest: AgentConfig {
            model_id: "model".into(),
            weights_hash: Hash([1; 32]),
            prompt_template_hash: Hash([2; 32]),
            tool_policy_hash: Hash([3; 32]),
        }
        .digest(),
        principal: principal(),
        salt: [4; 32],
    }
}

fn genesis() -> Signed<BindingEntry> {
    let k = provider();
    BindingEntry::genesis(&k, k.x25519().public(), baid_inputs(1), t(0)).unwrap()
}

fn chain_fork() -> FraudProof {
    let k = provider();
    let g = genesis();
    let a = BindingEntry::config_change(&g, &k, baid_inputs(2), t(1)).unwrap();
    let b = BindingEntry::config_change(&g, &k, baid_inputs(3), t(1)).unwrap();
    FraudProof::chain_fork(&a, &b).unwrap()
}

fn all_kinds() -> Vec<(FraudKind, FraudProof)> {
    vec![
        (FraudKind::Equivocation, equivocation()),
        (FraudKind::ChainFork, chain_fork()),
        (FraudKind::ReceiptContradiction, receipt_contradiction()),
        (FraudKind::AnswerContradiction, answer_contradiction()),
    ]
}

#[test]
fn genuine_proofs_verify_and_name_the_offender() {
    for (kind, proof) in all_kinds() {
        let o = proof
            .verify(&limits())
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        assert_eq!(o.offender, provider().id(), "{kind}");
        assert_eq!(o.kind, kind);
        assert_eq!(proof.kind(), kind);
        assert_eq!(o.proof, proof.id());
        // Only a chain fork names the principal; the others leave it to the registry.
        let expected = (kind == FraudKind::ChainFork).then(principal);
        assert_eq!(o.principal, expected, "{kind}");
    }
}

#[test]
fn proofs_round_trip_through_frames() {
    for (kind, proof) in all_kinds() {
        let frame = proof.to_frame();
        assert_eq!(
            wire::peek_kind(&frame),
            Some(agentnet_trust::wire::FRAUD_PROOF)
        );
        let (back, offence) = FraudProof::from_frame(&frame, &limits()).unwrap();
        assert_eq!(back, proof, "{kind}");
        assert_eq!(back.id(), proof.id());
        assert_eq!(offence, proof.verify(&limits()).unwrap());
        assert_eq!(back.to_frame(), frame);
    }
    // Distinct proofs have distinct ids.
    let ids: std::collections::BTreeSet<Hash> = all_kinds().iter().map(|(_, p)| p.id()).collect();
    assert_eq!(ids.len(), 4);
}

#[test]
fn evidence_reports_become_proofs_only_when_provable() {
    let pkg = contradicting_package();
    let p = EvidencePolicy {
        delivered_result: pkg.result_hash,
        ..policy()
    };
    let rep = check(&pkg, &p).unwrap_err();
    let proof = FraudProof::from_evidence_report(&rep, &limits()).unwrap();
    assert_eq!(proof, receipt_contradiction());
    // The requester received other bytes than the package names: not provable.
    let p = EvidencePolicy {
        delivered_result: payload_hash(b"x"),
        ..policy()
    };
    let rep = check(&honest_package(), &p).unwrap_err();
    assert!(matches!(
        FraudProof::from_evidence_report(&rep, &limits()),
        Err(FraudError::NotAContradiction(_))
    ));
    // A forged package (bad signature) proves nothing about anyone.
    let mut env = pkg.to_envelope();
    env[60] ^= 1;
    let rep = verify_evidence(&env, &policy(), &RejectAllAttestations, &limits()).unwrap_err();
    assert!(FraudProof::from_evidence_report(&rep, &limits()).is_err());
    // A contradiction on a broken chain is not provable (the receipts bind nothing).
    let rs = chain_with(|i, _, kp| {
        if i == 1 {
            *kp = stranger();
        }
    });
    let broken = raw_package(
        &provider(),
        task(),
        payload_hash(b"y"),
        envelopes(&rs),
        None,
    );
    let p = EvidencePolicy {
        delivered_result: payload_hash(b"y"),
        ..policy()
    };
    let rep = check(&broken, &p).unwrap_err();
    assert!(rep.has(|f| matches!(f, EvidenceFault::FinalOutputMismatch { .. })));
    assert!(matches!(
        FraudProof::from_evidence_report(&rep, &limits()),
        Err(FraudError::BrokenChain(
            EvidenceFault::ReceiptNotByProvider { index: 1, .. }
        ))
    ));
}

// ---------------------------------------------------------------------------------------------
// Fraud proofs: non-contradictions are refused
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Fraud proofs: any altered byte breaks the proof
// ---------------------------------------------------------------------------------------------

fn frames() -> &'static [(FraudKind, Bytes)] {
    static FRAMES: OnceLock<Vec<(FraudKind, Bytes)>> = OnceLock::new();
    FRAMES.get_or_init(|| {
        all_kinds()
            .into_iter()
            .map(|(k, p)| (k, p.to_frame()))
            .collect()
    })
}

/// Flip bit 0 of every byte of the proof frame of `kind`: each result must be refused.
fn every_byte_matters(kind: FraudKind) {
    let l = limits();
    let (_, frame) = frames()
        .iter()
        .find(|(k, _)| *k == kind)
        .expect("a frame per kind");
    assert!(FraudProof::from_frame(frame, &l).is_ok());
    for i in 0..frame.len() {
        let mut v = frame.to_vec();
        v[i] ^= 0x01;
        assert!(
            FraudProof::from_frame(&Bytes::from(v), &l).is_err(),
            "{kind}: flipping byte {i} of {} still verifies",
            frame.len()
        );
    }
}

// One test per kind, so the harness runs them in parallel.
#[test]
fn any_altered_byte_breaks_an_equivocation_proof() {
    every_byte_matters(FraudKind::Equivocation);
}

#[test]
fn any_altered_byte_breaks_a_chain_fork_proof() {
    every_byte_matters(FraudKind::ChainFork);
}

#[test]
fn any_altered_byte_breaks_a_receipt_contradiction_proof() {
    every_byte_matters(FraudKind::ReceiptContradiction);
}

#[test]
fn any_altered_byte_breaks_an_answer_contradiction_proof() {
    every_byte_matters(FraudKind::AnswerContradiction);
}

proptest! {
    #[test]
    fn any_altered_byte_breaks_every_kind_of_proof(
        which in 0usize..4,
        pos in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let (kind, frame) = &frames()[which];
        let mut v = frame.to_vec();
        let i = pos.index(v.len());
        v[i] ^= xor;
        let r = FraudProof::from_frame(&Bytes::from(v), &limits());
        prop_assert!(r.is_err(), "{}: byte {} ^ {:#04x} still verifies", kind, i, xor);
    }
}

#[test]
fn default_limits_hold_a_package_of_the_default_policy_size() {
    let kp = provider();
    let max = policy().max_receipts;
    let mut c = ReceiptChain::new(kp.id(), task());
    for i in 0..max as u32 {
        c.record(
            &kp,
            "a-tool-with-a-longish-name",
            payload_hash(b"input"),
            out(i),
            t(i64::from(i)),
            t(i64::from(i) + 1),
        )
        .unwrap();
    }
    let last = c.last_output().unwrap();
    let pkg = c.finish(&kp, last, None).unwrap();
    let p = EvidencePolicy {
        delivered_result: last,
        ..policy()
    };
    let v = verify_evidence_frame(&pkg.to_frame(), &p, &RejectAllAttestations, &limits()).unwrap();
    assert_eq!(v.receipt_count(), max);
    // Its dishonest twin makes a proof that fits the default limits too.
    let twin = raw_package(&kp, task(), out(999), pkg.receipts.clone(), None);
    let proof = FraudProof::receipt_contradiction(&twin, &limits()).unwrap();
    assert!(FraudProof::from_frame(&proof.to_frame(), &limits()).is_ok());
}
