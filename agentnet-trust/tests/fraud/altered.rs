//! Fraud proofs: any altered byte breaks the proof, for every kind (exhaustively and by proptest).

use super::*;

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
