//! Verifying an evidence package against a policy: every fault found, not only the first.

use super::*;

/// What the requester expects of a package. Everything here comes from the requester's own
/// view: the task it issued, whom it gave it to, the bytes it received and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidencePolicy {
    /// The task the requester issued.
    pub task: TaskId,
    /// The provider it delegated to.
    pub provider: AgentId,
    /// [`payload_hash`] of the result bytes the requester actually received.
    pub delivered_result: Hash,
    /// Whether an accepted attestation is required. Default `false`.
    pub require_attestation: bool,
    /// Tools that must appear in the chain (any step). Default empty; at most
    /// [`MAX_REQUIRED_TOOLS`].
    pub required_tools: BTreeSet<String>,
    /// When the task started (requester's clock); receipts may not start earlier.
    pub not_before: WallTime,
    /// When the result was delivered (requester's clock); receipts may not end later.
    pub not_after: WallTime,
    /// Clock skew allowed on both ends of the window. Default 30 s; range 0..=10 min.
    pub max_skew: Duration,
    /// Most receipts accepted. Receipts; default 32; range 1..=[`MAX_RECEIPTS`]. A package
    /// with more is refused without examining its receipts, so the cost of verification is
    /// bounded by this number of signature checks plus one.
    pub max_receipts: usize,
}

/// Why an [`EvidencePolicy`] is unusable (a local configuration error; verification fails
/// closed).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// More than [`MAX_REQUIRED_TOOLS`] required tools.
    #[error("{0} required tools exceed {MAX_REQUIRED_TOOLS}")]
    TooManyRequiredTools(usize),
    /// `max_receipts` outside 1..=[`MAX_RECEIPTS`].
    #[error("max_receipts {0} outside 1..={MAX_RECEIPTS}")]
    MaxReceipts(usize),
    /// `max_skew` above 10 minutes.
    #[error("max_skew {0:?} above 10 min")]
    Skew(Duration),
    /// `not_after` is before `not_before`.
    #[error("time window ends before it starts")]
    EmptyWindow,
}

impl EvidencePolicy {
    /// Largest allowed [`EvidencePolicy::max_skew`].
    pub const MAX_SKEW: Duration = Duration::from_secs(600);

    /// A policy with the defaults: no attestation, no required tools, 30 s skew, 32 receipts.
    pub fn new(
        task: TaskId,
        provider: AgentId,
        delivered_result: Hash,
        not_before: WallTime,
        not_after: WallTime,
    ) -> Self {
        EvidencePolicy {
            task,
            provider,
            delivered_result,
            require_attestation: false,
            required_tools: BTreeSet::new(),
            not_before,
            not_after,
            max_skew: Duration::from_secs(30),
            max_receipts: 32,
        }
    }

    /// This policy, also requiring an accepted attestation.
    #[must_use]
    pub fn with_attestation(mut self) -> Self {
        self.require_attestation = true;
        self
    }

    /// This policy, also requiring `tool` to appear in the chain.
    #[must_use]
    pub fn with_required_tool(mut self, tool: &str) -> Self {
        self.required_tools.insert(tool.to_owned());
        self
    }

    /// Check the documented ranges.
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.required_tools.len() > MAX_REQUIRED_TOOLS {
            return Err(PolicyError::TooManyRequiredTools(self.required_tools.len()));
        }
        if !(1..=MAX_RECEIPTS).contains(&self.max_receipts) {
            return Err(PolicyError::MaxReceipts(self.max_receipts));
        }
        if self.max_skew > Self::MAX_SKEW {
            return Err(PolicyError::Skew(self.max_skew));
        }
        if self.not_after < self.not_before {
            return Err(PolicyError::EmptyWindow);
        }
        Ok(())
    }
}

/// One thing wrong with a package. `index` is the receipt's position in the package.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvidenceFault {
    /// The requester's policy is out of range; nothing was checked.
    #[error("invalid policy: {0}")]
    InvalidPolicy(PolicyError),
    /// The package envelope or body is malformed or over a limit; nothing else was checked.
    #[error("malformed package: {0}")]
    MalformedPackage(WireError),
    /// The package signature does not verify; its content is attributable to no one, so
    /// nothing else was checked.
    #[error("package signature does not verify: {0}")]
    BadPackageSignature(SignatureError),
    /// The package names an author other than its signer; nothing else was checked.
    #[error("package signed by {signer} names {author} as its author")]
    PackageSignerMismatch {
        /// Who signed.
        signer: AgentId,
        /// Whom the package names.
        author: AgentId,
    },
    /// The package is by someone other than the provider the requester delegated to.
    #[error("package by {found}, expected {expected}")]
    WrongProvider {
        /// The provider the requester delegated to.
        expected: AgentId,
        /// The package's signer.
        found: AgentId,
    },
    /// The package is for another task.
    #[error("package for {found}, expected {expected}")]
    WrongTask {
        /// The requester's task.
        expected: TaskId,
        /// The package's task.
        found: TaskId,
    },
    /// The package claims a result other than the bytes the requester received.
    #[error("package claims result {claimed}, requester received {delivered}")]
    ResultMismatch {
        /// Hash of what the requester received.
        delivered: Hash,
        /// The package's `result_hash`.
        claimed: Hash,
    },
    /// The package has no receipts.
    #[error("package has no receipts")]
    NoReceipts,
    /// The package has more receipts than the policy allows; receipts were not examined.
    #[error("{count} receipts exceed the limit of {max}")]
    TooManyReceipts {
        /// Receipts in the package.
        count: usize,
        /// The policy's limit.
        max: usize,
    },
    /// A receipt envelope or body is malformed or out of bounds.
    #[error("receipt {index} is malformed: {error}")]
    MalformedReceipt {
        /// Receipt position.
        index: usize,
        /// What is wrong.
        error: WireError,
    },
    /// A receipt's signature does not verify, or it names an agent other than its signer.
    #[error("receipt {index} is not validly signed")]
    BadReceiptSignature {
        /// Receipt position.
        index: usize,
    },
    /// A receipt is validly signed, but not by the package's provider.
    #[error("receipt {index} is signed by {signer}, not the provider")]
    ReceiptNotByProvider {
        /// Receipt position.
        index: usize,
        /// Who signed it.
        signer: AgentId,
    },
    /// A receipt names another task.
    #[error("receipt {index} is for {found}")]
    ReceiptWrongTask {
        /// Receipt position.
        index: usize,
        /// The task it names.
        found: TaskId,
    },
    /// A receipt's step is not its position.
    #[error("receipt {index} has step {found}, expected {expected}")]
    StepOutOfOrder {
        /// Receipt position.
        index: usize,
        /// Expected step (the position).
        expected: u32,
        /// Step found.
        found: u32,
    },
    /// A receipt's `prev` is not the hash of the receipt before it (or is set on step 0).
    #[error("receipt {index} does not link to the receipt before it")]
    BrokenLink {
        /// Receipt position.
        index: usize,
    },
    /// A receipt ends before it starts.
    #[error("receipt {index} ends before it starts")]
    StartAfterEnd {
        /// Receipt position.
        index: usize,
    },
    /// A receipt lies outside the task's time window.
    #[error("receipt {index} lies outside the task's time window")]
    OutsideWindow {
        /// Receipt position.
        index: usize,
    },
    /// The last receipt's output is not the package's result (provable: see
    /// [`crate::fraud`]).
    #[error("last receipt outputs {final_output}, package claims {result_hash}")]
    FinalOutputMismatch {
        /// The last receipt's output hash.
        final_output: Hash,
        /// The package's result hash.
        result_hash: Hash,
    },
    /// A required tool appears in no valid receipt.
    #[error("required tool {tool:?} is missing")]
    RequiredToolMissing {
        /// The tool.
        tool: String,
    },
    /// The policy requires an attestation and the package has none.
    #[error("attestation required but missing")]
    AttestationMissing,
    /// The attestation was refused (see [`AttestationVerifier`] for when this is a fault).
    #[error("attestation rejected: {0}")]
    AttestationRejected(AttestationRejected),
}

impl EvidenceFault {
    /// The receipt position the fault is about, if any.
    pub fn index(&self) -> Option<usize> {
        match self {
            EvidenceFault::MalformedReceipt { index, .. }
            | EvidenceFault::BadReceiptSignature { index }
            | EvidenceFault::ReceiptNotByProvider { index, .. }
            | EvidenceFault::ReceiptWrongTask { index, .. }
            | EvidenceFault::StepOutOfOrder { index, .. }
            | EvidenceFault::BrokenLink { index }
            | EvidenceFault::StartAfterEnd { index }
            | EvidenceFault::OutsideWindow { index } => Some(*index),
            _ => None,
        }
    }

    /// Whether the fault means the receipts are not one intact chain by the provider for the
    /// task (chain rules 1–3). Only a package with no such fault can prove a contradiction.
    pub fn breaks_chain(&self) -> bool {
        matches!(
            self,
            EvidenceFault::NoReceipts
                | EvidenceFault::TooManyReceipts { .. }
                | EvidenceFault::MalformedReceipt { .. }
                | EvidenceFault::BadReceiptSignature { .. }
                | EvidenceFault::ReceiptNotByProvider { .. }
                | EvidenceFault::ReceiptWrongTask { .. }
                | EvidenceFault::StepOutOfOrder { .. }
                | EvidenceFault::BrokenLink { .. }
        )
    }
}

/// The outcome of a failed [`verify_evidence`]: every fault found, in a fixed order
/// (package-level faults, then receipts by index, then the chain end, required tools and the
/// attestation), plus the package itself when its signature verified — which is what
/// [`FraudProof::from_evidence_report`](crate::fraud::FraudProof::from_evidence_report)
/// needs to turn a provable fault into a fraud proof.
///
/// The list is bounded: at most a handful of faults per receipt, and at most
/// [`EvidencePolicy::max_receipts`] receipts are examined.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("evidence refused with {} fault(s); first: {}", .faults.len(), .faults.first().map(ToString::to_string).unwrap_or_default())]
pub struct EvidenceReport {
    faults: Vec<EvidenceFault>,
    // Boxed so a `Result<VerifiedEvidence, EvidenceReport>` stays small.
    package: Option<Box<Signed<EvidencePackage>>>,
}

impl EvidenceReport {
    /// Every fault found (never empty).
    pub fn faults(&self) -> &[EvidenceFault] {
        &self.faults
    }

    /// The package, if its signature verified (so its content is attributable to its signer).
    pub fn package(&self) -> Option<&Signed<EvidencePackage>> {
        self.package.as_deref()
    }

    /// Whether some fault satisfies `pred`.
    pub fn has(&self, pred: impl Fn(&EvidenceFault) -> bool) -> bool {
        self.faults.iter().any(pred)
    }

    /// The failure as something the ledger may count against the provider, if it is
    /// attributable to it: the package's signature verified (the provider signed what failed),
    /// the package is by the provider the requester delegated to, and the requester's own
    /// policy was valid. Otherwise `None` — a forged or garbled package, or one signed by
    /// someone else, says nothing about the provider.
    pub fn rejection(&self) -> Option<EvidenceRejection> {
        let package = self.package.as_ref()?;
        if self.has(|f| {
            matches!(
                f,
                EvidenceFault::InvalidPolicy(_) | EvidenceFault::WrongProvider { .. }
            )
        }) {
            return None;
        }
        Some(EvidenceRejection {
            provider: package.signer(),
            task: package.task,
            package_hash: package.hash(),
            faults: self.faults.len(),
        })
    }
}

/// A failed package attributable to its provider (see [`EvidenceReport::rejection`], the only
/// constructor). The ledger counts it as a failed interaction; it is not a fraud proof, since
/// most faults depend on the requester's own view (what it received, when).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceRejection {
    provider: AgentId,
    task: TaskId,
    package_hash: Hash,
    faults: usize,
}

impl EvidenceRejection {
    /// The provider that signed the failed package.
    pub fn provider(&self) -> AgentId {
        self.provider
    }

    /// The task the package was for.
    pub fn task(&self) -> TaskId {
        self.task
    }

    /// [`Signed::hash`] of the package.
    pub fn package_hash(&self) -> Hash {
        self.package_hash
    }

    /// How many faults the verifier found.
    pub fn fault_count(&self) -> usize {
        self.faults
    }
}

/// A package that passed [`verify_evidence`]. Only `verify_evidence` constructs one, so an API
/// that takes `VerifiedEvidence` (the ledger's positive task outcomes) can only be fed by
/// verified interactions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedEvidence {
    provider: AgentId,
    task: TaskId,
    result_hash: Hash,
    package_hash: Hash,
    receipt_count: usize,
    attested: bool,
}

impl VerifiedEvidence {
    /// The provider that signed the package and every receipt.
    pub fn provider(&self) -> AgentId {
        self.provider
    }

    /// The task.
    pub fn task(&self) -> TaskId {
        self.task
    }

    /// The delivered result's hash (equal to what the requester received).
    pub fn result_hash(&self) -> Hash {
        self.result_hash
    }

    /// [`Signed::hash`] of the package.
    pub fn package_hash(&self) -> Hash {
        self.package_hash
    }

    /// Number of receipts in the chain.
    pub fn receipt_count(&self) -> usize {
        self.receipt_count
    }

    /// Whether the attestation verifier accepted an attestation.
    pub fn attested(&self) -> bool {
        self.attested
    }
}

/// Verify a package envelope ([`Signed::to_envelope`] bytes) against the requester's policy.
///
/// Signatures are verified strictly, one at a time (never batched), so the verdict is the one
/// any third party reaches on the same bytes. A package whose envelope or signature fails is
/// not read further. Otherwise every check runs and every fault is reported.
pub fn verify_evidence(
    package: &[u8],
    policy: &EvidencePolicy,
    attestations: &dyn AttestationVerifier,
    limits: &Limits,
) -> Result<VerifiedEvidence, EvidenceReport> {
    let refuse = |fault| EvidenceReport {
        faults: vec![fault],
        package: None,
    };
    if let Err(e) = policy.validate() {
        return Err(refuse(EvidenceFault::InvalidPolicy(e)));
    }
    let signed = match Signed::<EvidencePackage>::from_envelope(package, limits) {
        Ok(s) => s,
        Err(e) => return Err(refuse(signed_fault(e))),
    };
    verify_signed_evidence(signed, policy, attestations, limits)
}

/// [`verify_evidence`] for a frame of kind [`crate::wire::EVIDENCE`].
pub fn verify_evidence_frame(
    frame: &Bytes,
    policy: &EvidencePolicy,
    attestations: &dyn AttestationVerifier,
    limits: &Limits,
) -> Result<VerifiedEvidence, EvidenceReport> {
    match wire::decode_frame_of(frame, crate::wire::EVIDENCE, limits) {
        Ok(payload) => verify_evidence(&payload, policy, attestations, limits),
        Err(e) => Err(EvidenceReport {
            faults: vec![EvidenceFault::MalformedPackage(e)],
            package: None,
        }),
    }
}

/// [`verify_evidence`] for a package whose signature was already verified (it arrived as a
/// [`Signed`]). The receipts inside are still verified one by one.
pub fn verify_signed_evidence(
    package: Signed<EvidencePackage>,
    policy: &EvidencePolicy,
    attestations: &dyn AttestationVerifier,
    limits: &Limits,
) -> Result<VerifiedEvidence, EvidenceReport> {
    let mut faults = Vec::new();
    if let Err(e) = policy.validate() {
        faults.push(EvidenceFault::InvalidPolicy(e));
        return Err(EvidenceReport {
            faults,
            package: Some(Box::new(package)),
        });
    }
    if let Err(e) = package.check_bounds() {
        faults.push(EvidenceFault::MalformedPackage(e));
        return Err(EvidenceReport {
            faults,
            package: Some(Box::new(package)),
        });
    }
    let pkg = package.value();
    if package.signer() != policy.provider {
        faults.push(EvidenceFault::WrongProvider {
            expected: policy.provider,
            found: package.signer(),
        });
    }
    if pkg.task != policy.task {
        faults.push(EvidenceFault::WrongTask {
            expected: policy.task,
            found: pkg.task,
        });
    }
    if pkg.result_hash != policy.delivered_result {
        faults.push(EvidenceFault::ResultMismatch {
            delivered: policy.delivered_result,
            claimed: pkg.result_hash,
        });
    }

    let mut tools_seen: BTreeSet<String> = BTreeSet::new();
    if pkg.receipts.len() > policy.max_receipts {
        // Bounded work: an oversized package costs one signature check, not thousands.
        faults.push(EvidenceFault::TooManyReceipts {
            count: pkg.receipts.len(),
            max: policy.max_receipts,
        });
    } else {
        let lo = policy.not_before.saturating_sub(policy.max_skew);
        let hi = policy.not_after.saturating_add(policy.max_skew);
        let chain = examine_chain(pkg, limits, Some((lo, hi)));
        faults.extend(chain.faults);
        for r in chain.receipts.iter().flatten() {
            // Only receipts by the provider for this task count towards required tools.
            if r.signer() == pkg.agent && r.task == pkg.task {
                tools_seen.insert(r.tool.clone());
            }
        }
        if let Some(f) = chain.end_mismatch {
            faults.push(f);
        }
    }
    for tool in &policy.required_tools {
        if !tools_seen.contains(tool) {
            faults.push(EvidenceFault::RequiredToolMissing { tool: tool.clone() });
        }
    }

    let mut attested = false;
    match &pkg.attestation {
        None if policy.require_attestation => faults.push(EvidenceFault::AttestationMissing),
        None => {}
        Some(a) => match attestations.verify(&pkg.claim(), a) {
            Ok(()) => attested = true,
            Err(AttestationRejected::Unsupported { .. }) if !policy.require_attestation => {
                // Not a fault: the requester did not ask for an attestation and cannot judge
                // this one, so the evidence simply counts as unattested.
            }
            Err(e) => faults.push(EvidenceFault::AttestationRejected(e)),
        },
    }

    if !faults.is_empty() {
        return Err(EvidenceReport {
            faults,
            package: Some(Box::new(package)),
        });
    }
    Ok(VerifiedEvidence {
        provider: package.signer(),
        task: pkg.task,
        result_hash: pkg.result_hash,
        package_hash: package.hash(),
        receipt_count: pkg.receipts.len(),
        attested,
    })
}

fn signed_fault(e: SignedError) -> EvidenceFault {
    match e {
        SignedError::Wire(w) => EvidenceFault::MalformedPackage(w),
        SignedError::BadSignature(s) => EvidenceFault::BadPackageSignature(s),
        SignedError::SignerMismatch { signer, author } => {
            EvidenceFault::PackageSignerMismatch { signer, author }
        }
        // Not produced on the receive path; report it as a malformed package all the same.
        other => EvidenceFault::MalformedPackage(WireError::Schema(other.to_string())),
    }
}

/// The result of walking a package's receipts.
pub(crate) struct ChainExamination {
    /// Receipt faults in index order (chain rules 1–4).
    pub(crate) faults: Vec<EvidenceFault>,
    /// Each receipt that verified and is within bounds, by index.
    pub(crate) receipts: Vec<Option<Signed<ToolReceipt>>>,
    /// Chain rule 5, when the last receipt could be read and breaks it.
    pub(crate) end_mismatch: Option<EvidenceFault>,
}

/// Walk the receipts of a package whose signature verified: verify each strictly and alone,
/// check signer, task, step and link, and (if `window` is given) the time window. The caller
/// bounds the receipt count. A receipt that cannot be read yields one fault, and the next
/// receipt's link is not judged (its predecessor's hash is unknown), so faults do not cascade.
pub(crate) fn examine_chain(
    pkg: &EvidencePackage,
    limits: &Limits,
    window: Option<(WallTime, WallTime)>,
) -> ChainExamination {
    let mut faults = Vec::new();
    let mut receipts = Vec::with_capacity(pkg.receipts.len());
    if pkg.receipts.is_empty() {
        faults.push(EvidenceFault::NoReceipts);
    }
    // Some(Some(h)) / Some(None): the previous receipt's hash (None before step 0);
    // None: the previous receipt could not be read.
    let mut prev: Option<Option<Hash>> = Some(None);
    for (index, env) in pkg.receipts.iter().enumerate() {
        let r = match Signed::<ToolReceipt>::from_envelope(env, limits) {
            Ok(r) => r,
            Err(SignedError::Wire(error)) => {
                faults.push(EvidenceFault::MalformedReceipt { index, error });
                receipts.push(None);
                prev = None;
                continue;
            }
            Err(_) => {
                faults.push(EvidenceFault::BadReceiptSignature { index });
                receipts.push(None);
                prev = None;
                continue;
            }
        };
        if let Err(error) = r.check_bounds() {
            faults.push(EvidenceFault::MalformedReceipt { index, error });
            receipts.push(None);
            prev = None;
            continue;
        }
        if r.signer() != pkg.agent {
            faults.push(EvidenceFault::ReceiptNotByProvider {
                index,
                signer: r.signer(),
            });
        }
        if r.task != pkg.task {
            faults.push(EvidenceFault::ReceiptWrongTask {
                index,
                found: r.task,
            });
        }
        let expected = u32::try_from(index).unwrap_or(u32::MAX);
        if r.step != expected {
            faults.push(EvidenceFault::StepOutOfOrder {
                index,
                expected,
                found: r.step,
            });
        }
        if let Some(p) = prev
            && r.prev != p
        {
            faults.push(EvidenceFault::BrokenLink { index });
        }
        if r.ended_at < r.started_at {
            faults.push(EvidenceFault::StartAfterEnd { index });
        }
        if let Some((lo, hi)) = window {
            let inside = |t: WallTime| lo <= t && t <= hi;
            if !inside(r.started_at) || !inside(r.ended_at) {
                faults.push(EvidenceFault::OutsideWindow { index });
            }
        }
        prev = Some(Some(r.hash()));
        receipts.push(Some(r));
    }
    let end_mismatch = match receipts.last() {
        Some(Some(last)) if last.output_hash != pkg.result_hash => {
            Some(EvidenceFault::FinalOutputMismatch {
                final_output: last.output_hash,
                result_hash: pkg.result_hash,
            })
        }
        _ => None,
    };
    ChainExamination {
        faults,
        receipts,
        end_mismatch,
    }
}
