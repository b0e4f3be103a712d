//! Tool receipts and receipt chains: one signed record per tool call, linked in order.

use super::*;

/// A signed record of one tool call, made by the agent that ran the tool. See the module docs
/// for the chain rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolReceipt {
    /// The agent that ran the tool; must be the signer.
    pub agent: AgentId,
    /// The task the call belongs to.
    pub task: TaskId,
    /// Position in the chain, from 0 without gaps.
    pub step: u32,
    /// The tool's name, 1..=[`MAX_TOOL_NAME_LEN`] bytes.
    pub tool: String,
    /// [`payload_hash`] of the tool input.
    pub input_hash: Hash,
    /// [`payload_hash`] of the tool output.
    pub output_hash: Hash,
    /// When the call started (the agent's wall clock).
    pub started_at: WallTime,
    /// When the call ended; not before `started_at`.
    pub ended_at: WallTime,
    /// [`Signed::hash`] of the previous receipt; `None` exactly for step 0.
    pub prev: Option<Hash>,
}

impl SignedObject for ToolReceipt {
    const CONTEXT: &'static str = agentnet_core::hash::domain::TOOL_RECEIPT;
    const KIND: MessageKind = crate::wire::TOOL_RECEIPT;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

impl ToolReceipt {
    /// Check the protocol bounds a decoder cannot express (tool name length).
    pub fn check_bounds(&self) -> Result<(), WireError> {
        check_name("tool name", &self.tool, MAX_TOOL_NAME_LEN)
    }
}

pub(super) fn check_name(what: &str, s: &str, max: usize) -> Result<(), WireError> {
    if s.is_empty() || s.len() > max {
        return Err(WireError::Schema(format!(
            "{what} of {} bytes outside 1..={max}",
            s.len()
        )));
    }
    Ok(())
}

/// Why an evidence object could not be built.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvidenceError {
    /// Signing failed, or the signer is not the agent the object names.
    #[error(transparent)]
    Signed(#[from] SignedError),
    /// A field is outside its documented bounds (tool name, attestation, answer size).
    #[error("out of bounds: {0}")]
    Bounds(WireError),
    /// The chain already holds [`MAX_RECEIPTS`] receipts.
    #[error("a chain holds at most {MAX_RECEIPTS} receipts")]
    TooManyReceipts,
    /// A package needs at least one receipt.
    #[error("a package needs at least one receipt")]
    EmptyChain,
    /// A receipt ends before it starts.
    #[error("a tool call cannot end before it starts")]
    EndBeforeStart,
    /// The receipts do not form a chain by the signer for the task (receipt index).
    #[error("receipt {0} does not continue the chain")]
    NotAChain(usize),
    /// The last receipt's output is not the result (an honest package never says so).
    #[error("the last receipt's output is not the delivered result")]
    ResultNotChainEnd,
}

/// Builds a receipt chain for one task, signing each receipt with the correct step and
/// previous-receipt link. The honest way to produce evidence.
#[derive(Clone, Debug)]
pub struct ReceiptChain {
    agent: AgentId,
    task: TaskId,
    receipts: Vec<Signed<ToolReceipt>>,
}

impl ReceiptChain {
    /// An empty chain for `task`, to be signed by `agent`.
    pub fn new(agent: AgentId, task: TaskId) -> Self {
        ReceiptChain {
            agent,
            task,
            receipts: Vec::new(),
        }
    }

    /// Sign and append the receipt for the next tool call. `signer` must hold `agent`'s key.
    pub fn record<S: Signer + ?Sized>(
        &mut self,
        signer: &S,
        tool: &str,
        input_hash: Hash,
        output_hash: Hash,
        started_at: WallTime,
        ended_at: WallTime,
    ) -> Result<&Signed<ToolReceipt>, EvidenceError> {
        if self.receipts.len() >= MAX_RECEIPTS {
            return Err(EvidenceError::TooManyReceipts);
        }
        if ended_at < started_at {
            return Err(EvidenceError::EndBeforeStart);
        }
        let receipt = ToolReceipt {
            agent: self.agent,
            task: self.task,
            step: self.receipts.len() as u32,
            tool: tool.to_owned(),
            input_hash,
            output_hash,
            started_at,
            ended_at,
            prev: self.receipts.last().map(Signed::hash),
        };
        receipt.check_bounds().map_err(EvidenceError::Bounds)?;
        let signed = Signed::sign(signer, receipt)?;
        self.receipts.push(signed);
        Ok(self.receipts.last().expect("just pushed"))
    }

    /// The receipts so far, in order.
    pub fn receipts(&self) -> &[Signed<ToolReceipt>] {
        &self.receipts
    }

    /// Number of receipts so far.
    pub fn len(&self) -> usize {
        self.receipts.len()
    }

    /// Whether no receipt was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.receipts.is_empty()
    }

    /// The last tool output, which an honest package delivers as its result.
    pub fn last_output(&self) -> Option<Hash> {
        self.receipts.last().map(|r| r.output_hash)
    }

    /// The statement an attestation for this chain and `result_hash` must cover.
    pub fn claim(&self, result_hash: Hash) -> AttestedClaim {
        AttestedClaim::for_chain(self.agent, self.task, result_hash, &self.receipts)
    }

    /// Sign the package delivering `result_hash` (which must be the last output).
    pub fn finish<S: Signer + ?Sized>(
        &self,
        signer: &S,
        result_hash: Hash,
        attestation: Option<Attestation>,
    ) -> Result<Signed<EvidencePackage>, EvidenceError> {
        EvidencePackage::build(signer, self.task, result_hash, &self.receipts, attestation)
    }
}
