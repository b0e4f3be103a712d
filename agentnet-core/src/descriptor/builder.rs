//! [`DescriptorBuilder`]: building a [`CapabilityDescriptor`] from defaults.

use super::*;

/// Builds a [`CapabilityDescriptor`] with sensible defaults (text in, text out, public,
/// no side effects, default QoS, TTL 15 s).
#[derive(Clone, Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct DescriptorBuilder {
    d: CapabilityDescriptor,
    topic: String,
}

impl DescriptorBuilder {
    /// Start with the required fields.
    pub fn new(
        provider: AgentId,
        capability: impl Into<String>,
        topic: &str,
        summary: impl Into<String>,
    ) -> Self {
        DescriptorBuilder {
            topic: topic.to_string(),
            d: CapabilityDescriptor {
                provider,
                capability: capability.into(),
                topic: Topic(String::new()),
                intent: Intent {
                    summary: summary.into(),
                    tags: Vec::new(),
                    embedding: None,
                },
                io: IoModes {
                    inputs: vec!["text/plain".into()],
                    outputs: vec!["text/plain".into()],
                    schema: None,
                },
                constraints: Constraints::default(),
                qos: QosVector::default(),
                trust: TrustClaims::default(),
                endpoints: Vec::new(),
                issued_at: WallTime::UNIX_EPOCH,
                ttl_ms: DEFAULT_TTL.as_millis() as u32,
                retracted: false,
            },
        }
    }

    /// Keywords.
    pub fn tags<I: IntoIterator<Item = S>, S: Into<String>>(mut self, tags: I) -> Self {
        self.d.intent.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Attach a quantized embedding of the summary, tagged with its encoder.
    pub fn embedding(mut self, e: TaggedEmbedding) -> Self {
        self.d.intent.embedding = Some(e);
        self
    }

    /// Input and output media types.
    pub fn modes<I: IntoIterator<Item = S>, O: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        inputs: I,
        outputs: O,
    ) -> Self {
        self.d.io.inputs = inputs.into_iter().map(Into::into).collect();
        self.d.io.outputs = outputs.into_iter().map(Into::into).collect();
        self
    }

    /// Hard constraints.
    pub fn constraints(mut self, c: Constraints) -> Self {
        self.d.constraints = c;
        self
    }

    /// Quality of service.
    pub fn qos(mut self, q: QosVector) -> Self {
        self.d.qos = q;
        self
    }

    /// Trust claims.
    pub fn trust(mut self, t: TrustClaims) -> Self {
        self.d.trust = t;
        self
    }

    /// Endpoints.
    pub fn endpoints<I: IntoIterator<Item = S>, S: Into<String>>(mut self, e: I) -> Self {
        self.d.endpoints = e.into_iter().map(Into::into).collect();
        self
    }

    /// Lifetime (default [`DEFAULT_TTL`]); saturates at `u32::MAX` ms.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.d.ttl_ms = u32::try_from(ttl.as_millis()).unwrap_or(u32::MAX);
        self
    }

    /// Stamp with `now.wall` and check the fields.
    pub fn build(mut self, now: Now) -> Result<CapabilityDescriptor, DescriptorError> {
        self.d.topic = Topic::new(self.topic)?;
        self.d.issued_at = now.wall;
        self.d.validate_fields()?;
        Ok(self.d)
    }
}
