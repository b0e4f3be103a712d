//! Every trust-plane decoder on arbitrary frames (as sent, and behind each kind's header):
//! never panic; the identity registry and the report book stay usable.
#![no_main]

use agentnet_core::signed::Signed;
use agentnet_core::time::{Instant, Now, WallTime};
use agentnet_core::wire::{self, Limits};
use agentnet_trust::baid::{BindingEntry, IssuerAttestation};
use agentnet_trust::evidence::{
    Answer, Commitment, EvidencePackage, EvidencePolicy, RejectAllAttestations, TaskId,
    ToolReceipt, verify_evidence_frame,
};
use agentnet_trust::fraud::FraudProof;
use agentnet_trust::registry::{IdentityRegistry, RegistryConfig};
use agentnet_trust::report::{ReportBook, ReportBookConfig, TrustReport};
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = Now::new(Instant::from_secs(1), WallTime::from_unix_millis(1_800_000_000_000));
    let limits = Limits::default();
    let mut registry = IdentityRegistry::new(RegistryConfig::default()).unwrap();
    let mut book = ReportBook::new(ReportBookConfig::default()).unwrap();
    let kinds = [
        agentnet_trust::wire::BINDING,
        agentnet_trust::wire::FRAUD_PROOF,
        agentnet_trust::wire::ATTESTATION,
        agentnet_trust::wire::TOOL_RECEIPT,
        agentnet_trust::wire::EVIDENCE,
        agentnet_trust::wire::COMMITMENT,
        agentnet_trust::wire::ANSWER,
        agentnet_trust::wire::TRUST_REPORT,
    ];
    let mut frames = vec![Bytes::copy_from_slice(data)];
    frames.extend(kinds.iter().map(|k| wire::frame_from_payload(*k, data)));
    let policy = EvidencePolicy::new(
        TaskId(agentnet_core::Hash([1; 32])),
        agentnet_core::AgentId::from_bytes([2; 32]),
        agentnet_core::Hash([3; 32]),
        WallTime::from_unix_millis(0),
        WallTime::from_unix_millis(u64::MAX / 2),
    );
    for f in &frames {
        let _ = Signed::<BindingEntry>::from_frame(f, &limits);
        let _ = Signed::<IssuerAttestation>::from_frame(f, &limits);
        let _ = Signed::<ToolReceipt>::from_frame(f, &limits);
        let _ = Signed::<EvidencePackage>::from_frame(f, &limits);
        let _ = Signed::<Commitment>::from_frame(f, &limits);
        let _ = Signed::<Answer>::from_frame(f, &limits);
        if let Ok(r) = Signed::<TrustReport>::from_frame(f, &limits) {
            let _ = book.apply(&r);
        }
        let _ = FraudProof::from_frame(f, &limits);
        let _ = verify_evidence_frame(f, &policy, &RejectAllAttestations, &limits);
        let _ = registry.handle_entry(now, f);
        let _ = registry.handle_attestation(now, f);
    }
});
