//! Evidence: attestations required, rejected and accepted.

use super::*;

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
