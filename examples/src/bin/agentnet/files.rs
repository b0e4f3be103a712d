//! The files the CLI reads: capability descriptor files (TOML or JSON) and canary files
//! (JSON lines).

use super::*;

/// A descriptor file.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub(crate) struct DescriptorFile {
    pub(crate) capability: String,
    pub(crate) topic: String,
    pub(crate) summary: String,
    #[serde(default)]
    pub(crate) tags: Vec<String>,
    #[serde(default)]
    pub(crate) inputs: Vec<String>,
    #[serde(default)]
    pub(crate) outputs: Vec<String>,
    #[serde(default = "default_ttl")]
    pub(crate) ttl_secs: u64,
    #[serde(default)]
    pub(crate) side_effects: Option<SideEffects>,
    #[serde(default)]
    pub(crate) qos: QosFile,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct QosFile {
    pub(crate) latency_ms: Option<u32>,
    pub(crate) success_bp: Option<u16>,
    pub(crate) cost_micros: Option<u64>,
    pub(crate) availability_bp: Option<u16>,
    pub(crate) load_bp: Option<u16>,
}

pub(crate) fn default_ttl() -> u64 {
    600
}

pub(crate) fn read_descriptor(path: &Path) -> Result<DescriptorFile, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let parsed: DescriptorFile = if path.extension().is_some_and(|e| e == "toml") {
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
    };
    Ok(parsed)
}

pub(crate) fn build(
    node: &Node,
    f: &DescriptorFile,
) -> Result<CapabilityDescriptor, Box<dyn Error>> {
    build_for(node.id(), f)
}

/// The descriptor a file makes for `provider` (unsigned; checked against every bound).
pub(crate) fn build_for(
    provider: agentnet_core::AgentId,
    f: &DescriptorFile,
) -> Result<CapabilityDescriptor, Box<dyn Error>> {
    let d = QosVector::default();
    let qos = QosVector {
        latency_ms: f.qos.latency_ms.unwrap_or(d.latency_ms),
        success_bp: f.qos.success_bp.unwrap_or(d.success_bp),
        cost_micros: f.qos.cost_micros.unwrap_or(d.cost_micros),
        availability_bp: f.qos.availability_bp.unwrap_or(d.availability_bp),
        load_bp: f.qos.load_bp.unwrap_or(d.load_bp),
    };
    let constraints = Constraints {
        side_effects: f.side_effects.unwrap_or(SideEffects::None),
        ..Constraints::default()
    };
    let mut b = CapabilityDescriptor::builder(
        provider,
        f.capability.as_str(),
        &f.topic,
        f.summary.as_str(),
    )
    .tags(f.tags.iter().map(String::as_str))
    .qos(qos)
    .constraints(constraints)
    .ttl(Duration::from_secs(f.ttl_secs));
    if !f.inputs.is_empty() || !f.outputs.is_empty() {
        let or_text = |m: &[String]| {
            if m.is_empty() {
                vec!["text/plain".to_owned()]
            } else {
                m.to_vec()
            }
        };
        b = b.modes(or_text(&f.inputs), or_text(&f.outputs));
    }
    Ok(b.build(SystemClock::new().now())?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CanaryLine {
    pub(crate) input: String,
    pub(crate) expected: String,
}

pub(crate) fn read_canaries(path: &Path) -> Result<Vec<CanaryCase>, Box<dyn Error>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let c: CanaryLine = serde_json::from_str(line)
            .map_err(|e| format!("{} line {}: {e}", path.display(), i + 1))?;
        out.push(CanaryCase::new(c.input, c.expected).ignoring_trailing_newline());
    }
    Ok(out)
}
