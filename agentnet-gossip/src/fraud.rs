//! Equivocation proofs: two signed headers by one author for the same (topic, seq).
//!
//! An honest author never writes two different entries at one position of its log, so two
//! validly signed, different headers at the same (author, topic, seq) prove misbehaviour. The
//! proof carries both header envelopes exactly as signed and is **self-verifying**: anyone can
//! check it with no other state ([`EquivocationProof::verify`]), so it can be gossiped and
//! handed to the trust plane, which slashes the author.
//!
//! The proof is core's generic [`ForkProof`](agentnet_core::fork::ForkProof) over
//! [`LogHeader`](crate::LogHeader) (the same construct proves identity-chain forks in the trust
//! plane); this module names it for the gossip plane. Verification is strict and one signature
//! at a time (never batched), so every honest verifier reaches the same verdict on the same
//! bytes.

pub use agentnet_core::log_header::{EQUIVOCATION_KIND, Equivocation, EquivocationProof};

/// Why an equivocation proof is not valid.
pub type ProofError = agentnet_core::log_header::EquivocationError;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::{LogHeader, test_header};
    use agentnet_core::descriptor::Topic;
    use agentnet_core::wire::Limits;
    use agentnet_core::{Hash, Keypair, Signed};

    fn header(kp: &Keypair, seq: u64, body: &[u8]) -> Signed<LogHeader> {
        let prev = (seq > 1).then_some(Hash([9; 32]));
        let h = LogHeader {
            topic: Topic::new("code/review").unwrap(),
            ..test_header(kp, seq, prev, body)
        };
        Signed::sign(kp, h).unwrap()
    }

    #[test]
    fn proof_of_gossip_headers_names_author_topic_and_seq() {
        let kp = Keypair::from_seed([5; 32]);
        let p = EquivocationProof::new(&header(&kp, 3, b"one"), &header(&kp, 3, b"two")).unwrap();
        let (_, e) = EquivocationProof::from_frame(&p.to_frame(), &Limits::default()).unwrap();
        assert_eq!(
            e,
            Equivocation {
                author: kp.id(),
                topic: Topic::new("code/review").unwrap(),
                seq: 3
            }
        );
        let other_topic = Signed::sign(
            &kp,
            LogHeader {
                topic: Topic::new("code/lint").unwrap(),
                ..test_header(&kp, 3, Some(Hash([9; 32])), b"two")
            },
        )
        .unwrap();
        assert_eq!(
            EquivocationProof::new(&header(&kp, 3, b"one"), &other_topic),
            Err(ProofError::NotConflicting("different topics"))
        );
    }
}
