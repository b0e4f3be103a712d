//! Commit / reveal: a signed commitment to an answer, and the answer that opens it (canaries
//! and fraud proofs use both).

use super::*;

/// A signed promise of an answer to come: "my answer to `subject` hashes to `value_hash`".
///
/// Commit/reveal: an agent first publishes a [`Commitment`] (so it cannot change its answer
/// after seeing others', e.g. sealed bids or independent canary answers), then the
/// [`Answer`]. Protocol rule: an agent commits **at most once per subject**, and subjects are
/// chosen unique per round (e.g. the hash of task id and round number). So an honest agent
/// never signs an answer that does not open its commitment for the same subject, and such a
/// pair is a fraud proof ([`FraudProof::answer_contradiction`]).
///
/// The commitment binds the subject: `value_hash = BLAKE3("agentnet/v1/committed-value",
/// subject ‖ value)`. It hides the value only as well as the value has entropy; an agent whose
/// answer is guessable (a yes/no, a small number) and must stay hidden until the reveal puts
/// a random salt inside the value (e.g. 16 leading bytes that the application strips).
///
/// [`FraudProof::answer_contradiction`]: crate::fraud::FraudProof::answer_contradiction
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commitment {
    /// The committing agent; must be the signer.
    pub agent: AgentId,
    /// What the commitment is about (a task, question or round id).
    pub subject: Hash,
    /// [`Commitment::value_hash`] of the answer to come.
    pub value_hash: Hash,
    /// When the commitment was made (the agent's clock).
    pub issued_at: WallTime,
}

impl SignedObject for Commitment {
    const CONTEXT: &'static str = agentnet_core::hash::domain::COMMITMENT;
    const KIND: MessageKind = crate::wire::COMMITMENT;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

impl Commitment {
    /// The commitment to answering `value` on `subject`.
    pub fn new(agent: AgentId, subject: Hash, value: &[u8], issued_at: WallTime) -> Self {
        Commitment {
            agent,
            subject,
            value_hash: Self::value_hash(&subject, value),
            issued_at,
        }
    }

    /// The committed hash of `value` on `subject` (see the type docs).
    pub fn value_hash(subject: &Hash, value: &[u8]) -> Hash {
        let mut h = Hasher::new(COMMITTED_VALUE_DOMAIN);
        h.update(subject.as_bytes()).update(value);
        h.finalize()
    }

    /// Whether `answer` opens this commitment: same agent, same subject, matching value.
    pub fn is_opened_by(&self, answer: &Answer) -> bool {
        self.agent == answer.agent
            && self.subject == answer.subject
            && self.value_hash == answer.value_hash()
    }
}

/// A signed answer, revealing the value a [`Commitment`] promised.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// The answering agent; must be the signer.
    pub agent: AgentId,
    /// What the answer is about (the commitment's subject).
    pub subject: Hash,
    /// The answer, at most [`MAX_ANSWER_LEN`] bytes.
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
    /// When the answer was given (the agent's clock).
    pub issued_at: WallTime,
}

impl SignedObject for Answer {
    const CONTEXT: &'static str = agentnet_core::hash::domain::ANSWER;
    const KIND: MessageKind = crate::wire::ANSWER;
    fn author(&self) -> Option<AgentId> {
        Some(self.agent)
    }
}

impl Answer {
    /// The value's hash as a commitment would state it.
    pub fn value_hash(&self) -> Hash {
        Commitment::value_hash(&self.subject, &self.value)
    }

    /// Check the documented size bound.
    pub fn check_bounds(&self) -> Result<(), WireError> {
        if self.value.len() > MAX_ANSWER_LEN {
            return Err(WireError::Schema(format!(
                "answer of {} bytes exceeds {MAX_ANSWER_LEN}",
                self.value.len()
            )));
        }
        Ok(())
    }

    /// Sign an answer, refusing one over the size bound.
    pub fn sign<S: Signer + ?Sized>(
        signer: &S,
        subject: Hash,
        value: Vec<u8>,
        issued_at: WallTime,
    ) -> Result<Signed<Answer>, EvidenceError> {
        let a = Answer {
            agent: signer.agent_id(),
            subject,
            value,
            issued_at,
        };
        a.check_bounds().map_err(EvidenceError::Bounds)?;
        Ok(Signed::sign(signer, a)?)
    }
}
