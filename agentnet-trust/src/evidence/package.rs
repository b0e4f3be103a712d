//! The evidence package: the signed bundle binding a task's receipt chain and result hash.

use super::*;

/// A provider-signed bundle binding a receipt chain to a task and to the delivered result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidencePackage {
    /// The provider; must be the signer and the signer of every receipt.
    pub agent: AgentId,
    /// The task.
    pub task: TaskId,
    /// [`payload_hash`] of the result the provider delivered.
    pub result_hash: Hash,
    /// The receipt envelopes ([`Signed::to_envelope`]) exactly as signed, in step order;
    /// 1..=[`MAX_RECEIPTS`].
    #[serde(with = "agentnet_core::bytes_serde::bytes_list")]
    pub receipts: Vec<Bytes>,
    /// An optional attestation over [`EvidencePackage::claim`].
    pub attestation: Option<Attestation>,
}

impl SignedObject for EvidencePackage {
    const CONTEXT: &'static str = agentnet_core::hash::domain::EVIDENCE_PACKAGE;
    const KIND: MessageKind = crate::wire::EVIDENCE;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

impl EvidencePackage {
    /// Sign a package over `receipts`, refusing anything an honest provider would not sign:
    /// an empty or oversized chain, receipts not by the signer or not for `task`, a broken
    /// chain, a result that is not the last output, or an out-of-bounds attestation.
    pub fn build<S: Signer + ?Sized>(
        signer: &S,
        task: TaskId,
        result_hash: Hash,
        receipts: &[Signed<ToolReceipt>],
        attestation: Option<Attestation>,
    ) -> Result<Signed<EvidencePackage>, EvidenceError> {
        let agent = signer.agent_id();
        if receipts.is_empty() {
            return Err(EvidenceError::EmptyChain);
        }
        if receipts.len() > MAX_RECEIPTS {
            return Err(EvidenceError::TooManyReceipts);
        }
        let mut prev = None;
        for (i, r) in receipts.iter().enumerate() {
            if r.signer() != agent || r.task != task || r.step as usize != i || r.prev != prev {
                return Err(EvidenceError::NotAChain(i));
            }
            r.check_bounds().map_err(EvidenceError::Bounds)?;
            prev = Some(r.hash());
        }
        if receipts.last().map(|r| r.output_hash) != Some(result_hash) {
            return Err(EvidenceError::ResultNotChainEnd);
        }
        if let Some(a) = &attestation {
            a.check_bounds().map_err(EvidenceError::Bounds)?;
        }
        let package = EvidencePackage {
            agent,
            task,
            result_hash,
            receipts: receipts
                .iter()
                .map(|r| Bytes::from(r.to_envelope()))
                .collect(),
            attestation,
        };
        Ok(Signed::sign(signer, package)?)
    }

    /// Digest of the receipt envelopes: each envelope's length (u64 LE) then its bytes, in
    /// order, in the domain `"agentnet/v1/receipt-list"`.
    pub fn receipts_digest(&self) -> Hash {
        let mut h = Hasher::new(RECEIPT_LIST_DOMAIN);
        for env in &self.receipts {
            h.update_u64(env.len() as u64).update(env);
        }
        h.finalize()
    }

    /// The statement the package's attestation must cover.
    pub fn claim(&self) -> AttestedClaim {
        AttestedClaim {
            provider: self.agent,
            task: self.task,
            result_hash: self.result_hash,
            receipts_digest: self.receipts_digest(),
        }
    }

    /// Check the bounds a decoder cannot express (receipt count, attestation sizes).
    pub fn check_bounds(&self) -> Result<(), WireError> {
        if self.receipts.len() > MAX_RECEIPTS {
            return Err(WireError::Schema(format!(
                "{} receipts exceed {MAX_RECEIPTS}",
                self.receipts.len()
            )));
        }
        if let Some(a) = &self.attestation {
            a.check_bounds()?;
        }
        Ok(())
    }
}
