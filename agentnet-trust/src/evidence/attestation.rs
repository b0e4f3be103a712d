//! Attestations inside an evidence package, the claim they bind, and the pluggable verifier.

use super::*;

/// A third-party statement about how the result was produced (e.g. a TEE quote), in a format
/// the [`AttestationVerifier`] recognises. It covers an [`AttestedClaim`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// Format name, e.g. `"sgx-dcap-quote"`; 1..=[`MAX_ATTESTATION_FORMAT_LEN`] bytes.
    pub format: String,
    /// The format-specific bytes, at most [`MAX_ATTESTATION_LEN`].
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

impl Attestation {
    /// Check the documented size bounds.
    pub fn check_bounds(&self) -> Result<(), WireError> {
        check_name(
            "attestation format",
            &self.format,
            MAX_ATTESTATION_FORMAT_LEN,
        )?;
        if self.bytes.len() > MAX_ATTESTATION_LEN {
            return Err(WireError::Schema(format!(
                "attestation of {} bytes exceeds {MAX_ATTESTATION_LEN}",
                self.bytes.len()
            )));
        }
        Ok(())
    }
}

/// What an attestation vouches for: this provider produced this result for this task through
/// exactly these receipts. It cannot cover the package itself (the package contains it), so
/// it covers the receipts by digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttestedClaim {
    /// The provider.
    pub provider: AgentId,
    /// The task.
    pub task: TaskId,
    /// The delivered result.
    pub result_hash: Hash,
    /// [`EvidencePackage::receipts_digest`] of the receipts.
    pub receipts_digest: Hash,
}

impl AttestedClaim {
    /// The claim for a chain of signed receipts.
    pub fn for_chain(
        provider: AgentId,
        task: TaskId,
        result_hash: Hash,
        receipts: &[Signed<ToolReceipt>],
    ) -> Self {
        let mut h = Hasher::new(RECEIPT_LIST_DOMAIN);
        for r in receipts {
            let env = r.to_envelope();
            h.update_u64(env.len() as u64).update(&env);
        }
        AttestedClaim {
            provider,
            task,
            result_hash,
            receipts_digest: h.finalize(),
        }
    }

    /// Fixed layout `provider ‖ task ‖ result_hash ‖ receipts_digest` (128 bytes), for
    /// attestation formats that sign a message.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[..32].copy_from_slice(self.provider.as_bytes());
        b[32..64].copy_from_slice(self.task.0.as_bytes());
        b[64..96].copy_from_slice(self.result_hash.as_bytes());
        b[96..].copy_from_slice(self.receipts_digest.as_bytes());
        b
    }

    /// A 32-byte digest of [`AttestedClaim::to_bytes`], for formats with a small report-data
    /// field (TEE quotes).
    pub fn digest(&self) -> Hash {
        Hash::digest(ATTESTED_CLAIM_DOMAIN, &self.to_bytes())
    }
}

/// Why an [`AttestationVerifier`] refused an attestation.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttestationRejected {
    /// The verifier does not check this format (nothing is known about the attestation).
    #[error("attestation format {format:?} is not supported: {reason}")]
    Unsupported {
        /// The format named by the attestation.
        format: String,
        /// Why (e.g. "no attestation format is trusted").
        reason: String,
    },
    /// The verifier checked the attestation and it is false or malformed.
    #[error("attestation is invalid: {0}")]
    Invalid(String),
}

/// Checks attestations. Implementations must be deterministic and pure (a TEE-quote verifier
/// takes its trusted roots and collateral as configuration, never fetches them).
///
/// Policy: an attestation the verifier finds [`Invalid`](AttestationRejected::Invalid) is a
/// fault even when the policy does not require one (the provider made a false claim); one it
/// does not [`support`](AttestationRejected::Unsupported) is a fault only when the policy
/// requires an attestation — otherwise the evidence is accepted as unattested.
pub trait AttestationVerifier {
    /// Accept `attestation` as vouching for `claim`, or say why not.
    fn verify(
        &self,
        claim: &AttestedClaim,
        attestation: &Attestation,
    ) -> Result<(), AttestationRejected>;
}

/// The default verifier: trusts no attestation format, so it accepts none and says so. With
/// it, policies that require attestation fail closed and all others treat evidence as
/// unattested.
#[derive(Clone, Copy, Debug, Default)]
pub struct RejectAllAttestations;

impl AttestationVerifier for RejectAllAttestations {
    fn verify(
        &self,
        _claim: &AttestedClaim,
        attestation: &Attestation,
    ) -> Result<(), AttestationRejected> {
        Err(AttestationRejected::Unsupported {
            format: attestation.format.clone(),
            reason: "no attestation format is trusted (RejectAllAttestations)".into(),
        })
    }
}
